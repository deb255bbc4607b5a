//! [`Target`]: one cluster context as the operations see it — a `kube::Client` plus the
//! context name (for error messages), the server's [`Policy`], a per-call timeout, a clock
//! and a lazily filled discovery catalog.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;

use crate::error::{K8sError, Result};
use crate::policy::Policy;
use crate::projection::Mask;

/// One resource type found through discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group (`""` for core).
    pub group: String,
    /// Preferred version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
}

/// `group/version`, or `version` for the core group (`""`): an object's
/// `apiVersion`.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

impl ResourceInfo {
    /// `group/version` or `version`.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// `plural` or `plural.group`, the way RBAC and kubectl name it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The `kube` API resource descriptor.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// A resource info for a well-known core/apps kind, usable without discovery.
    pub fn builtin(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: vec![],
        }
    }
}

/// Well-known resource types the operations use directly.
pub mod kinds {
    use super::ResourceInfo;

    /// core/v1 Pod.
    pub fn pods() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Pod", "pods", true)
    }
    /// core/v1 Event.
    pub fn events() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Event", "events", true)
    }
    /// core/v1 Namespace.
    pub fn namespaces() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Namespace", "namespaces", false)
    }
    /// core/v1 Node.
    pub fn nodes() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Node", "nodes", false)
    }
    /// core/v1 Service.
    pub fn services() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Service", "services", true)
    }
    /// core/v1 Endpoints.
    pub fn endpoints() -> ResourceInfo {
        ResourceInfo::builtin("", "v1", "Endpoints", "endpoints", true)
    }
    /// discovery.k8s.io/v1 EndpointSlice.
    pub fn endpointslices() -> ResourceInfo {
        ResourceInfo::builtin(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
        )
    }
    /// core/v1 PersistentVolumeClaim.
    pub fn pvcs() -> ResourceInfo {
        ResourceInfo::builtin(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
        )
    }
    /// apps/v1 Deployment.
    pub fn deployments() -> ResourceInfo {
        ResourceInfo::builtin("apps", "v1", "Deployment", "deployments", true)
    }
    /// apps/v1 ReplicaSet.
    pub fn replicasets() -> ResourceInfo {
        ResourceInfo::builtin("apps", "v1", "ReplicaSet", "replicasets", true)
    }
    /// apps/v1 StatefulSet.
    pub fn statefulsets() -> ResourceInfo {
        ResourceInfo::builtin("apps", "v1", "StatefulSet", "statefulsets", true)
    }
    /// apps/v1 DaemonSet.
    pub fn daemonsets() -> ResourceInfo {
        ResourceInfo::builtin("apps", "v1", "DaemonSet", "daemonsets", true)
    }
    /// apps/v1 ControllerRevision.
    pub fn controllerrevisions() -> ResourceInfo {
        ResourceInfo::builtin(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            true,
        )
    }
    /// batch/v1 Job.
    pub fn jobs() -> ResourceInfo {
        ResourceInfo::builtin("batch", "v1", "Job", "jobs", true)
    }
    /// batch/v1 CronJob.
    pub fn cronjobs() -> ResourceInfo {
        ResourceInfo::builtin("batch", "v1", "CronJob", "cronjobs", true)
    }
    /// autoscaling/v2 HorizontalPodAutoscaler.
    pub fn hpas() -> ResourceInfo {
        ResourceInfo::builtin(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        )
    }
    /// metrics.k8s.io/v1beta1 PodMetrics.
    pub fn pod_metrics() -> ResourceInfo {
        ResourceInfo::builtin("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", true)
    }
    /// metrics.k8s.io/v1beta1 NodeMetrics.
    pub fn node_metrics() -> ResourceInfo {
        ResourceInfo::builtin("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", false)
    }
}

/// Most objects one list call gathers across pages before stopping (and saying so).
pub const MAX_LIST_ITEMS: usize = 20_000;

/// A list result: the objects and whether the cap cut it short.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Objects, each with `kind` and `apiVersion` set.
    pub items: Vec<Value>,
    /// Set when [`MAX_LIST_ITEMS`] was reached.
    pub capped: bool,
    /// Namespaces left out by the server's policy (cluster-wide lists only).
    pub filtered_namespaces: usize,
}

/// What makes two [`Target::list_shared`] calls the same list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListKey {
    group: String,
    version: String,
    plural: String,
    namespace: Option<String>,
    mask: Mask,
    /// [`Target`] writes so far: a list asked for after a write never joins one started before.
    writes: u64,
}

type Flight = Arc<tokio::sync::OnceCell<Result<Arc<Listed>>>>;

/// Lists in flight, shared by identical [`Target::list_shared`] calls.
#[derive(Default)]
struct Flights {
    running: Mutex<HashMap<ListKey, Flight>>,
    writes: AtomicU64,
}

/// Counts a write once it is over (done, failed or cancelled): lists asked for from then on
/// start afresh instead of joining one that may predate the write (see [`Target::list_shared`]).
struct Wrote<'a>(&'a Flights);

impl Drop for Wrote<'_> {
    fn drop(&mut self) {
        self.0.writes.fetch_add(1, Ordering::AcqRel);
    }
}

/// One cluster context, ready for operations.
#[derive(Clone)]
pub struct Target {
    client: kube::Client,
    context: String,
    server: String,
    policy: Arc<Policy>,
    timeout: Duration,
    clock: Option<Timestamp>,
    catalog: Arc<tokio::sync::OnceCell<Arc<Vec<ResourceInfo>>>>,
    flights: Arc<Flights>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A target over `client`, named `context` in messages; no namespace policy, 20 s timeout.
    pub fn new(client: kube::Client, context: impl Into<String>) -> Self {
        Self {
            client,
            context: context.into(),
            server: String::new(),
            policy: Arc::new(Policy::default()),
            timeout: Duration::from_secs(20),
            clock: None,
            catalog: Arc::new(tokio::sync::OnceCell::new()),
            flights: Arc::default(),
        }
    }

    /// Sets the API server URL shown in connection errors.
    pub fn with_server(mut self, server: impl Into<String>) -> Self {
        self.server = server.into();
        self
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: Arc<Policy>) -> Self {
        self.policy = policy;
        // Lists filtered by another policy must not be shared with this target.
        self.flights = Arc::default();
        self
    }

    /// Sets the per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Fixes the clock (snapshots use their capture time so ages stay meaningful).
    pub fn with_clock(mut self, now: Timestamp) -> Self {
        self.clock = Some(now);
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The context name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// "Now" for ages: the fixed clock, or the system time.
    pub fn now(&self) -> Timestamp {
        self.clock.unwrap_or_else(Timestamp::now)
    }

    /// Runs one API call under the timeout, mapping failures to errors that name the
    /// context and (for RBAC) the verb, resource and namespace.
    pub async fn call<T>(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        fut: impl Future<Output = kube::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(K8sError::Timeout {
                context: self.context.clone(),
                server: self.server.clone(),
                secs: self.timeout.as_secs(),
                verb: verb.into(),
                resource: resource.into(),
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.map_err(verb, resource, namespace, e)),
        }
    }

    fn map_err(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        e: kube::Error,
    ) -> K8sError {
        let context = self.context.clone();
        match e {
            kube::Error::Api(st) => match st.code {
                403 => K8sError::Forbidden {
                    context,
                    verb: verb.into(),
                    resource: resource.into(),
                    scope: match namespace {
                        Some(ns) => format!(" in namespace {ns:?}"),
                        None => " (cluster-wide)".into(),
                    },
                    message: st.message.clone(),
                },
                401 => K8sError::Unauthorized {
                    context,
                    message: st.message.clone(),
                },
                404 => K8sError::NotFound {
                    context,
                    message: if st.message.is_empty() {
                        format!("{resource} (HTTP 404)")
                    } else {
                        st.message.clone()
                    },
                },
                code => K8sError::Api {
                    context,
                    verb: verb.into(),
                    resource: resource.into(),
                    code,
                    reason: st.reason.clone(),
                    message: st.message.clone(),
                },
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::RustlsTls(_) => {
                let mut detail = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    detail.push_str(": ");
                    detail.push_str(&s.to_string());
                    src = s.source();
                }
                if detail.contains("elapsed") || detail.contains("timed out") {
                    return K8sError::Timeout {
                        context,
                        server: self.server.clone(),
                        secs: self.timeout.as_secs(),
                        verb: verb.into(),
                        resource: resource.into(),
                    };
                }
                K8sError::Unreachable {
                    context,
                    server: self.server.clone(),
                    detail,
                }
            }
            kube::Error::Auth(a) => K8sError::Unauthorized {
                context,
                message: format!("client-side authentication failed: {a}"),
            },
            other => K8sError::Api {
                context,
                verb: verb.into(),
                resource: resource.into(),
                code: 0,
                reason: "ClientError".into(),
                message: other.to_string(),
            },
        }
    }

    /// The discovery catalog (core v1 plus the preferred version of every group), fetched once.
    pub async fn catalog(&self) -> Result<Arc<Vec<ResourceInfo>>> {
        self.catalog
            .get_or_try_init(|| async { self.discover().await.map(Arc::new) })
            .await
            .cloned()
    }

    async fn discover(&self) -> Result<Vec<ResourceInfo>> {
        let core = self
            .call(
                "get",
                "discovery /api/v1",
                None,
                self.client.list_core_api_resources("v1"),
            )
            .await?;
        let groups = self
            .call(
                "get",
                "discovery /apis",
                None,
                self.client.list_api_groups(),
            )
            .await?;
        let mut out = Vec::new();
        push_resources(&mut out, "", "v1", &core.resources);
        let mut set = tokio::task::JoinSet::new();
        for g in groups.groups {
            let Some(gv) = g.preferred_version.or_else(|| g.versions.first().cloned()) else {
                continue;
            };
            let client = self.client.clone();
            let timeout = self.timeout;
            set.spawn(async move {
                let r = tokio::time::timeout(
                    timeout,
                    client.list_api_group_resources(&gv.group_version),
                )
                .await;
                (g.name, gv.version, r)
            });
        }
        let mut per_group = Vec::new();
        while let Some(joined) = set.join_next().await {
            let Ok((group, version, r)) = joined else {
                continue;
            };
            match r {
                Ok(Ok(list)) => per_group.push((group, version, list.resources)),
                // An unavailable aggregated API (e.g. a broken metrics-server) must not break discovery.
                Ok(Err(e)) => tracing::debug!("discovery of {group}/{version} failed: {e}"),
                Err(_) => tracing::debug!("discovery of {group}/{version} timed out"),
            }
        }
        per_group.sort_by(|a, b| a.0.cmp(&b.0));
        for (group, version, resources) in per_group {
            push_resources(&mut out, &group, &version, &resources);
        }
        Ok(out)
    }

    /// Resolves what a user typed (`pods`, `po`, `Deployment`, `deploy`, `certificates.cert-manager.io`)
    /// to a resource type.
    pub async fn resolve(&self, kind: &str) -> Result<ResourceInfo> {
        let catalog = self.catalog().await?;
        let want = kind.trim().to_lowercase();
        let (name, group) = match want.split_once('.') {
            Some((n, g)) => (n.to_string(), Some(g.to_string())),
            None => (want.clone(), None),
        };
        let rank = |r: &ResourceInfo| match r.group.as_str() {
            "" => 0,
            "apps" | "batch" | "autoscaling" | "networking.k8s.io" | "policy" => 1,
            "metrics.k8s.io" | "events.k8s.io" => 9,
            _ => 5,
        };
        let mut hits: Vec<&ResourceInfo> = catalog
            .iter()
            .filter(|r| {
                group
                    .as_ref()
                    .is_none_or(|g| &r.group == g || r.group.starts_with(&format!("{g}.")))
            })
            .filter(|r| {
                r.plural == name
                    || r.singular == name
                    || r.kind.to_lowercase() == name
                    || r.short_names.iter().any(|s| s.to_lowercase() == name)
            })
            .collect();
        hits.sort_by_key(|r| rank(r));
        if let Some(hit) = hits.first() {
            return Ok((*hit).clone());
        }
        let mut near: Vec<String> = catalog
            .iter()
            .filter(|r| r.plural.contains(&name) || name.contains(&r.singular))
            .map(ResourceInfo::qualified)
            .take(8)
            .collect();
        near.dedup();
        Err(K8sError::UnknownKind {
            kind: kind.to_string(),
            context: self.context.clone(),
            hint: if near.is_empty() {
                "; use the plural name, kind or short name of a type the cluster serves".into()
            } else {
                format!("; did you mean {}?", near.join(", "))
            },
        })
    }

    /// Resolves an `apiVersion` + `kind` pair (as in owner references).
    pub async fn resolve_gvk(&self, api_version: &str, kind: &str) -> Result<ResourceInfo> {
        let catalog = self.catalog().await?;
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        catalog
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .cloned()
            .ok_or_else(|| K8sError::UnknownKind {
                kind: format!("{kind} ({api_version})"),
                context: self.context.clone(),
                hint: String::new(),
            })
    }

    fn check_secrets(&self, r: &ResourceInfo) -> Result<()> {
        if r.group.is_empty() && r.plural == "secrets" && !self.policy.allow_secrets {
            return Err(K8sError::SecretsDisabled);
        }
        Ok(())
    }

    fn api(&self, r: &ResourceInfo, ns: Option<&str>) -> Api<DynamicObject> {
        let ar = r.api_resource();
        match (r.namespaced, ns) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Lists objects of `r`, in `namespace` or across all namespaces the policy allows, following
    /// pagination. Items get `kind`/`apiVersion` filled in.
    pub async fn list(
        &self,
        r: &ResourceInfo,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Listed> {
        self.list_masked(r, namespace, label_selector, field_selector, None)
            .await
    }

    /// Like [`Target::list`] without selectors, with two differences that keep memory small
    /// when many calls list the same big collection at once:
    ///
    /// * each item holds only the fields `mask` keeps (parsed straight from the response, the
    ///   rest never allocated; see [`Mask`]), and `kind`/`apiVersion`;
    /// * identical calls (same type, namespace and mask) made while one is in flight wait for
    ///   it and share its result instead of listing again. A call can thus get a list requested
    ///   up to one round trip before it was made — never one requested before a write made
    ///   through this target.
    pub async fn list_shared(
        &self,
        r: &ResourceInfo,
        namespace: Option<&str>,
        mask: Mask,
    ) -> Result<Arc<Listed>> {
        // The policy checks come first: a refused namespace must not even join a flight.
        self.check_secrets(r)?;
        if let (true, Some(ns)) = (r.namespaced, namespace) {
            self.policy.check_read(ns)?;
        }
        let key = ListKey {
            group: r.group.clone(),
            version: r.version.clone(),
            plural: r.plural.clone(),
            namespace: namespace.filter(|_| r.namespaced).map(str::to_string),
            mask,
            writes: self.flights.writes.load(Ordering::Acquire),
        };
        let flight = self.running().entry(key.clone()).or_default().clone();
        let out = flight
            .get_or_init(|| async {
                self.list_masked(r, namespace, None, None, Some(mask))
                    .await
                    .map(Arc::new)
            })
            .await
            .clone();
        // The first caller to finish ends the flight: later calls list afresh.
        let mut running = self.running();
        if running.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            running.remove(&key);
        }
        out
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<ListKey, Flight>> {
        self.flights
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn list_masked(
        &self,
        r: &ResourceInfo,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
        mask: Option<Mask>,
    ) -> Result<Listed> {
        self.check_secrets(r)?;
        if let (true, Some(ns)) = (r.namespaced, namespace) {
            self.policy.check_read(ns)?;
            return self
                .list_one(r, Some(ns), label_selector, field_selector, mask)
                .await;
        }
        if r.namespaced
            && let Some(allowed) = self.policy.exact_allowlist()
        {
            // Per-namespace reads: works with namespace-scoped RBAC and never touches other namespaces.
            let mut out = Listed::default();
            for ns in allowed {
                let part = self
                    .list_one(r, Some(&ns), label_selector, field_selector, mask)
                    .await?;
                out.items.extend(part.items);
                out.capped |= part.capped;
            }
            return Ok(out);
        }
        let mut all = self
            .list_one(r, None, label_selector, field_selector, mask)
            .await?;
        if self.policy.restricts_namespaces() {
            let before = all.items.len();
            let mut hidden = std::collections::BTreeSet::new();
            all.items.retain(|o| {
                let ns = if r.namespaced {
                    crate::value::namespace(o)
                } else if r.group.is_empty() && r.plural == "namespaces" {
                    crate::value::name(o)
                } else {
                    return true;
                };
                let ok = self.policy.read_allowed(ns);
                if !ok {
                    hidden.insert(ns.to_string());
                }
                ok
            });
            if all.items.len() < before {
                all.filtered_namespaces = hidden.len();
            }
        }
        Ok(all)
    }

    async fn list_one(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
        mask: Option<Mask>,
    ) -> Result<Listed> {
        let api = self.api(r, ns);
        let decode_err = |e: String| K8sError::Api {
            context: self.context.clone(),
            verb: "list".into(),
            resource: r.qualified(),
            code: 0,
            reason: "Decode".into(),
            message: e,
        };
        let mut lp = ListParams::default().limit(500);
        if let Some(l) = label_selector.filter(|l| !l.trim().is_empty()) {
            lp = lp.labels(l);
        }
        if let Some(f) = field_selector.filter(|f| !f.trim().is_empty()) {
            lp = lp.fields(f);
        }
        let mut out = Listed::default();
        loop {
            let continue_token = if let Some(mask) = mask {
                // The same request as `api.list`, parsed under the mask from the text.
                let url = DynamicObject::url_path(
                    &r.api_resource(),
                    if r.namespaced { ns } else { None },
                );
                let req = kube::core::Request::new(url)
                    .list(&lp)
                    .map_err(|e| K8sError::InvalidArgument(e.to_string()))?;
                let text = self
                    .call("list", &r.qualified(), ns, self.client.request_text(req))
                    .await?;
                let (items, token) = mask
                    .parse_list(&text)
                    .map_err(|e| decode_err(e.to_string()))?;
                drop(text);
                out.items.reserve(items.len());
                for mut v in items {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("kind".into(), Value::String(r.kind.clone()));
                        o.insert("apiVersion".into(), Value::String(r.api_version()));
                    }
                    out.items.push(v);
                }
                token
            } else {
                let page = self.call("list", &r.qualified(), ns, api.list(&lp)).await?;
                for o in page.items {
                    let mut v = serde_json::to_value(o).map_err(|e| decode_err(e.to_string()))?;
                    v["kind"] = Value::String(r.kind.clone());
                    v["apiVersion"] = Value::String(r.api_version());
                    out.items.push(v);
                }
                page.metadata.continue_.filter(|c| !c.is_empty())
            };
            if out.items.len() >= MAX_LIST_ITEMS {
                out.capped = true;
                break;
            }
            match continue_token {
                Some(c) => lp.continue_token = Some(c),
                None => break,
            }
        }
        Ok(out)
    }

    /// Gets one object.
    pub async fn get(
        &self,
        r: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value> {
        self.check_secrets(r)?;
        let ns = if r.namespaced { namespace } else { None };
        if r.namespaced {
            let Some(ns) = ns else {
                return Err(K8sError::InvalidArgument(format!(
                    "{} is namespaced: give a namespace",
                    r.qualified()
                )));
            };
            self.policy.check_read(ns)?;
        } else if r.group.is_empty() && r.plural == "namespaces" {
            self.policy.check_read(name)?;
        }
        let api = self.api(r, ns);
        let o = self.call("get", &r.qualified(), ns, api.get(name)).await?;
        let mut v =
            serde_json::to_value(o).map_err(|e| K8sError::InvalidArgument(e.to_string()))?;
        v["kind"] = Value::String(r.kind.clone());
        v["apiVersion"] = Value::String(r.api_version());
        Ok(v)
    }
}

impl Target {
    /// Whether namespace `ns` exists: `Some(false)` only when the API server says it does not
    /// (404), `None` when that cannot be known (RBAC forbids reading namespaces, the server
    /// cannot be reached). Listing in a namespace that does not exist returns an empty list,
    /// which must not read as "nothing there".
    pub async fn namespace_exists(&self, ns: &str) -> Option<bool> {
        match self.get(&kinds::namespaces(), None, ns).await {
            Ok(_) => Some(true),
            Err(K8sError::NotFound { .. }) => Some(false),
            Err(_) => None,
        }
    }

    /// The error for a namespace the API server says does not exist, listing the readable
    /// namespaces when they can be listed.
    pub async fn no_such_namespace(&self, ns: &str) -> K8sError {
        let known = match self.list(&kinds::namespaces(), None, None, None).await {
            Ok(l) => {
                let names: Vec<&str> = l.items.iter().map(crate::value::name).collect();
                format!(
                    "; namespaces this server can read: {}",
                    crate::value::clip(&names.join(", "), 300)
                )
            }
            Err(_) => String::new(),
        };
        K8sError::NotFound {
            context: self.context.clone(),
            message: format!("namespace {ns:?} does not exist{known}"),
        }
    }

    /// Applies a JSON merge patch to one object (policy: writes allowlist) and returns the result.
    pub async fn merge_patch(
        &self,
        r: &ResourceInfo,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Value> {
        self.policy.check_write(namespace)?;
        let _wrote = Wrote(&self.flights);
        let api = self.api(r, Some(namespace));
        let pp = kube::api::PatchParams::default();
        let o = self
            .call(
                "patch",
                &r.qualified(),
                Some(namespace),
                api.patch(name, &pp, &kube::api::Patch::Merge(patch)),
            )
            .await?;
        serde_json::to_value(o).map_err(|e| K8sError::InvalidArgument(e.to_string()))
    }

    /// Deletes one object (policy: writes allowlist).
    pub async fn delete(&self, r: &ResourceInfo, namespace: &str, name: &str) -> Result<()> {
        self.policy.check_write(namespace)?;
        let _wrote = Wrote(&self.flights);
        let api = self.api(r, Some(namespace));
        let dp = kube::api::DeleteParams::default();
        self.call(
            "delete",
            &r.qualified(),
            Some(namespace),
            api.delete(name, &dp),
        )
        .await?;
        Ok(())
    }

    /// The pod log subresource as text.
    pub async fn pod_logs(
        &self,
        namespace: &str,
        pod: &str,
        lp: &kube::api::LogParams,
    ) -> Result<String> {
        self.policy.check_read(namespace)?;
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client.clone(), namespace);
        self.call("get", "pods/log", Some(namespace), api.logs(pod, lp))
            .await
    }
}

fn push_resources(
    out: &mut Vec<ResourceInfo>,
    group: &str,
    version: &str,
    resources: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource],
) {
    for r in resources {
        if r.name.contains('/') || !r.verbs.iter().any(|v| v == "list" || v == "get") {
            continue;
        }
        out.push(ResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: r.kind.clone(),
            plural: r.name.clone(),
            singular: if r.singular_name.is_empty() {
                r.kind.to_lowercase()
            } else {
                r.singular_name.clone()
            },
            namespaced: r.namespaced,
            short_names: r.short_names.clone().unwrap_or_default(),
        });
    }
}
