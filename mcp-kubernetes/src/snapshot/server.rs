//! The fixture API server: serves a [`Snapshot`] over HTTP on `127.0.0.1`, port 0, so the
//! ordinary `kube` client (and therefore every tool) runs unchanged against a recording.
//!
//! It implements what the tools use: discovery (`/api`, `/apis`, `/api/v1`,
//! `/apis/GROUP/VERSION`), list and get with label/field selectors and `limit`/`continue`
//! paging, the pod `log` subresource (`container`, `previous`, `tailLines`, `sinceSeconds`,
//! `limitBytes`, `timestamps`), `metrics.k8s.io` when the snapshot holds usage data, and — so
//! the write tools can be tested — merge patches and deletes held in memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::RwLock;

use super::selector::{FieldSelector, LabelSelector};
use super::store::{METRICS_GROUP, ResourceDef, Snapshot};
use crate::error::K8sError;
use crate::value::{arr, name, namespace, s};

type Shared = Arc<RwLock<Snapshot>>;

/// A running fixture API server. Dropping it stops the server.
#[derive(Debug)]
pub struct FixtureServer {
    addr: SocketAddr,
    snapshot: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FixtureServer {
    /// Binds `127.0.0.1:0` and serves the snapshot in a background task.
    pub async fn start(snapshot: Snapshot) -> Result<Self, K8sError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| K8sError::Snapshot(format!("cannot bind the fixture API server: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| K8sError::Snapshot(format!("fixture API server address: {e}")))?;
        let shared: Shared = Arc::new(RwLock::new(snapshot));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("fixture API server stopped: {e}");
            }
        });
        tracing::debug!("fixture API server listening on {addr}");
        Ok(Self {
            addr,
            snapshot: shared,
            task,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The snapshot's clock.
    pub async fn now(&self) -> Timestamp {
        self.snapshot.read().await.now
    }

    /// A `kube::Client` talking to this server over plain HTTP.
    pub fn client(&self) -> Result<kube::Client, K8sError> {
        let uri: http_uri::Uri = format!("http://{}", self.addr)
            .parse()
            .map_err(|e| K8sError::Snapshot(format!("fixture URL: {e}")))?;
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.read_timeout = Some(std::time::Duration::from_secs(30));
        kube::Client::try_from(config)
            .map_err(|e| K8sError::Snapshot(format!("fixture client: {e}")))
    }
}

use axum::http as http_uri;

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn not_found(what: &str, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{what} \"{name}\" not found"),
    )
}

fn resource_list(snap: &Snapshot, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> = snap
        .resources
        .iter()
        .filter(|d| d.group == group && d.version == version)
        .filter(|d| d.group != METRICS_GROUP || snap.has_metrics())
        .collect();
    if defs.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for d in &defs {
        let verbs: &[&str] = if d.group == METRICS_GROUP {
            &["get", "list"]
        } else {
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        };
        resources.push(json!({
            "name": d.plural, "singularName": d.kind.to_lowercase(), "namespaced": d.namespaced,
            "kind": d.kind, "verbs": verbs, "shortNames": d.short_names,
        }));
        let subs: &[&str] = match (d.group.as_str(), d.plural.as_str()) {
            ("", "pods") => &["log", "status", "eviction"],
            ("apps", "deployments" | "statefulsets" | "replicasets") => &["scale", "status"],
            _ => &[],
        };
        for sub in subs {
            resources.push(json!({
                "name": format!("{}/{sub}", d.plural), "singularName": "", "namespaced": d.namespaced,
                "kind": d.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = defs[0].api_version();
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn group_list(snap: &Snapshot) -> Value {
    let mut groups: Vec<(String, String)> = snap
        .resources
        .iter()
        .filter(|d| !d.group.is_empty())
        .filter(|d| d.group != METRICS_GROUP || snap.has_metrics())
        .map(|d| (d.group.clone(), d.version.clone()))
        .collect();
    groups.sort();
    groups.dedup_by(|a, b| a.0 == b.0);
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Applies an RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let segs: Vec<&str> = uri.path().split('/').filter(|x| !x.is_empty()).collect();
    tracing::trace!("fixture {method} {uri}");
    if method == Method::GET {
        let snap = shared.read().await;
        match segs.as_slice() {
            ["version"] => {
                return axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-snapshot", "platform": "snapshot"}))
                    .into_response();
            }
            ["api"] => {
                return axum::Json(json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}))
                .into_response();
            }
            ["apis"] => return axum::Json(group_list(&snap)).into_response(),
            ["api", v] => {
                return match resource_list(&snap, "", v) {
                    Some(l) => axum::Json(l).into_response(),
                    None => status(
                        StatusCode::NOT_FOUND,
                        "NotFound",
                        "the server could not find the requested resource".into(),
                    ),
                };
            }
            ["apis", g, v] => {
                return match resource_list(&snap, g, v) {
                    Some(l) => axum::Json(l).into_response(),
                    None => status(
                        StatusCode::NOT_FOUND,
                        "NotFound",
                        "the server could not find the requested resource".into(),
                    ),
                };
            }
            _ => {}
        }
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource".into(),
            );
        }
    };
    let (ns, plural, obj_name, sub) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None, None),
        ["namespaces", ns, plural, n] => (Some(*ns), *plural, Some(*n), None),
        ["namespaces", ns, plural, n, sub] => (Some(*ns), *plural, Some(*n), Some(*sub)),
        [plural] => (None, *plural, None, None),
        [plural, n] => (None, *plural, Some(*n), None),
        [plural, n, sub] => (None, *plural, Some(*n), Some(*sub)),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource".into(),
            );
        }
    };
    let def = {
        let snap = shared.read().await;
        snap.resources
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .filter(|d| d.group != METRICS_GROUP || snap.has_metrics())
            .cloned()
    };
    let Some(def) = def else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource".into(),
        );
    };
    let key = (def.group.clone(), def.plural.clone());
    let qualified = format!("{}{}", def.plural, group_suffix(&def));
    let resource_name = match sub {
        Some(sub) => format!("{}/{sub}", def.plural),
        None => def.plural.clone(),
    };
    if shared
        .read()
        .await
        .forbidden
        .iter()
        .any(|f| *f == qualified || *f == format!("{}{}", resource_name, group_suffix(&def)))
    {
        let verb = match (&method, obj_name) {
            (&Method::GET, None) => "list",
            (&Method::GET, Some(_)) => "get",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, _) => "delete",
            _ => "update",
        };
        let scope = match ns {
            Some(ns) => format!(" in the namespace \"{ns}\""),
            None => " at the cluster scope".to_string(),
        };
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "{qualified} is forbidden: User \"system:serviceaccount:sre:agent\" cannot {verb} resource \"{resource_name}\" in API group \"{}\"{scope}",
                def.group
            ),
        );
    }
    let matches_name = |o: &Value, n: &str| {
        name(o) == n && (!def.namespaced || ns.is_none_or(|x| namespace(o) == x))
    };

    match (method, obj_name, sub) {
        (Method::GET, None, None) => {
            let snap = shared.read().await;
            let labels = match LabelSelector::parse(
                q.get("labelSelector").map(String::as_str).unwrap_or(""),
            ) {
                Ok(l) => l,
                Err(e) => return status(StatusCode::BAD_REQUEST, "BadRequest", e),
            };
            let fields = match FieldSelector::parse(
                q.get("fieldSelector").map(String::as_str).unwrap_or(""),
            ) {
                Ok(f) => f,
                Err(e) => return status(StatusCode::BAD_REQUEST, "BadRequest", e),
            };
            let all = snap.objects.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            let items: Vec<&Value> = all
                .iter()
                .filter(|o| ns.is_none_or(|n| namespace(o) == n))
                .filter(|o| labels.matches(o) && fields.matches(o))
                .collect();
            let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
            let limit: usize = q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .filter(|l| *l > 0)
                .unwrap_or(usize::MAX);
            let page: Vec<&Value> = items.iter().skip(start).take(limit).copied().collect();
            let next = start.saturating_add(page.len());
            let mut meta = json!({"resourceVersion": "1"});
            if next < items.len() {
                meta["continue"] = json!(next.to_string());
                meta["remainingItemCount"] = json!(items.len() - next);
            }
            // Serialised from the stored objects by reference: `json!` would deep-copy them all.
            axum::Json(ListBody {
                kind: format!("{}List", def.kind),
                api_version: def.api_version(),
                metadata: meta,
                items: page,
            })
            .into_response()
        }
        (Method::GET, Some(n), None | Some("status") | Some("scale")) => {
            let snap = shared.read().await;
            match snap
                .objects
                .get(&key)
                .and_then(|l| l.iter().find(|o| matches_name(o, n)))
            {
                Some(o) => axum::Json(o).into_response(),
                None => not_found(&format!("{}{}", def.plural, group_suffix(&def)), n),
            }
        }
        (Method::GET, Some(n), Some("log")) if def.plural == "pods" && def.group.is_empty() => {
            let snap = shared.read().await;
            let Some(pod) = snap
                .objects
                .get(&key)
                .and_then(|l| l.iter().find(|o| matches_name(o, n)))
            else {
                return not_found("pods", n);
            };
            pod_log(&snap, pod, &q)
        }
        (Method::PATCH, Some(n), None | Some("scale") | Some("status")) => {
            let patch: Value = match serde_json::from_slice(&body) {
                Ok(p) => p,
                Err(e) => {
                    return status(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("invalid patch: {e}"),
                    );
                }
            };
            let mut snap = shared.write().await;
            let Some(obj) = snap
                .objects
                .get_mut(&key)
                .and_then(|l| l.iter_mut().find(|o| matches_name(o, n)))
            else {
                return not_found(&def.plural, n);
            };
            merge_patch(obj, &patch);
            let generation = crate::value::i(obj, "/metadata/generation") + 1;
            obj["metadata"]["generation"] = json!(generation);
            let rv = s(obj, "/metadata/resourceVersion")
                .parse::<i64>()
                .unwrap_or(1)
                + 1;
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            axum::Json(obj.clone()).into_response()
        }
        (Method::DELETE, Some(n), None) => {
            let mut snap = shared.write().await;
            let Some(list) = snap.objects.get_mut(&key) else {
                return not_found(&def.plural, n);
            };
            match list.iter().position(|o| matches_name(o, n)) {
                Some(pos) => axum::Json(list.remove(pos)).into_response(),
                None => not_found(&def.plural, n),
            }
        }
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the fixture API server does not support this request".into(),
        ),
    }
}

/// A list reply, borrowing its items from the snapshot.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    kind: String,
    api_version: String,
    metadata: Value,
    items: Vec<&'a Value>,
}

fn group_suffix(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        String::new()
    } else {
        format!(".{}", def.group)
    }
}

/// Splits a log line into its optional RFC 3339 timestamp prefix and the rest.
pub fn split_timestamp(line: &str) -> (Option<Timestamp>, &str) {
    if let Some((first, rest)) = line.split_once(' ')
        && first.len() >= 20
        && first.as_bytes().get(4) == Some(&b'-')
        && let Ok(t) = first.parse::<Timestamp>()
    {
        return (Some(t), rest);
    }
    (None, line)
}

fn pod_log(snap: &Snapshot, pod: &Value, q: &HashMap<String, String>) -> Response {
    let pod_name = name(pod);
    let containers: Vec<&str> = arr(pod, "/spec/containers")
        .iter()
        .map(|c| s(c, "/name"))
        .collect();
    let container = match q.get("container") {
        Some(c) => {
            let known = containers.contains(&c.as_str())
                || arr(pod, "/spec/initContainers")
                    .iter()
                    .any(|x| s(x, "/name") == c);
            if !known {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("container {c} is not valid for pod {pod_name}"),
                );
            }
            c.clone()
        }
        None => match crate::value::opt_s(
            pod,
            "/metadata/annotations/kubectl.kubernetes.io~1default-container",
        ) {
            Some(c) => c.to_string(),
            None if containers.len() == 1 => containers[0].to_string(),
            None => {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                        containers.join(" ")
                    ),
                );
            }
        },
    };
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let ns = namespace(pod).to_string();
    let text = snap
        .logs
        .get(&(
            ns.clone(),
            pod_name.to_string(),
            container.clone(),
            previous,
        ))
        .or_else(|| {
            let is_default = containers.first() == Some(&container.as_str());
            snap.logs
                .get(&(ns.clone(), pod_name.to_string(), String::new(), previous))
                .filter(|_| is_default)
        });
    let Some(text) = text else {
        if previous {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
                ),
            );
        }
        return ([(header::CONTENT_TYPE, "text/plain")], String::new()).into_response();
    };
    let since = q.get("sinceSeconds").and_then(|x| x.parse::<i64>().ok());
    let timestamps = q.get("timestamps").is_some_and(|p| p == "true");
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let (t, rest) = split_timestamp(line);
        if let (Some(since), Some(t)) = (since, t)
            && t.as_second() < snap.now.as_second() - since
        {
            continue;
        }
        lines.push(if timestamps {
            line.to_string()
        } else {
            rest.to_string()
        });
    }
    if let Some(tail) = q.get("tailLines").and_then(|x| x.parse::<usize>().ok())
        && lines.len() > tail
    {
        lines.drain(..lines.len() - tail);
    }
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    if let Some(limit) = q.get("limitBytes").and_then(|x| x.parse::<usize>().ok())
        && out.len() > limit
    {
        let mut cut = limit;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    ([(header::CONTENT_TYPE, "text/plain")], out).into_response()
}
