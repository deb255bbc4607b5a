//! `workload_health`: deterministic findings over a namespace (or every allowed namespace).
//!
//! No model, no heuristics that change between runs: each check reads object status the way
//! an SRE would and emits a [`Finding`] with the object, a severity, a reason, the evidence
//! lines it was based on and when it started. Pods of one workload failing for the same
//! reason are reported once, naming every pod.

mod infra;
mod masks;
mod pods;
mod workloads;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use self::infra::{
    certificate_findings, external_secret_findings, node_findings, pvc_findings, service_findings,
};
use self::pods::{group_pods, pod_findings, unready_since};
use self::workloads::{hpa_findings, job_findings, replica_failures, workload_findings};
use super::endpoints::{ENDPOINTS_MASK, SLICES_MASK};
use super::events::EventGroup;
use crate::error::Result;
use crate::projection::Mask;
use crate::target::{Listed, ResourceInfo, Target, kinds};
use crate::value::{ago, clip, cond, name, namespace, s, ts};

/// Options of [`workload_health`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HealthOptions {
    /// Namespace; all allowed namespaces when absent.
    pub namespace: Option<String>,
    /// Restart count from which a pod is reported (default 5).
    pub restart_threshold: Option<i64>,
    /// Only findings at least this severe: `critical`, `warning` or `info` (default: all).
    /// Useful cluster-wide (no namespace) to keep the answer short.
    pub min_severity: Option<String>,
}

pub use crate::ops::pods::Severity;

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// `Kind/name`; for grouped pods, the owning workload.
    pub object: String,
    /// Short reason, e.g. `CrashLoopBackOff`.
    pub reason: String,
    /// Evidence lines.
    pub evidence: Vec<String>,
    /// When it started, as far as the cluster records it.
    pub since: Option<Timestamp>,
}

struct Ctx<'a> {
    now: Timestamp,
    events: &'a BTreeMap<(String, String), Vec<EventGroup>>,
    /// Nodes whose Ready condition is not True: name → `Ready=Unknown NodeStatusUnknown`.
    nodes_down: BTreeMap<&'a str, String>,
}

impl Ctx<'_> {
    fn events_of(&self, ns: &str, object: &str) -> &[EventGroup] {
        self.events
            .get(&(ns.to_string(), object.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn push(
    out: &mut Vec<Finding>,
    severity: Severity,
    o: &Value,
    object: String,
    reason: &str,
    evidence: Vec<String>,
    since: Option<Timestamp>,
) {
    out.push(Finding {
        severity,
        namespace: namespace(o).to_string(),
        object,
        reason: reason.into(),
        evidence,
        since,
    });
}

/// The result of [`health_findings`].
#[derive(Debug, Clone, Default)]
pub struct HealthReport {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// What was checked, e.g. `300 pods`.
    pub checked: Vec<String>,
    /// Checks that could not run (RBAC, missing APIs), with the reason.
    pub skipped: Vec<String>,
}

/// How the lists are fetched: masked and shared ([`Target::list_shared`]), or (to check the
/// masks in tests) whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Masked,
    #[cfg(test)]
    Whole,
}

impl Fetch {
    async fn list(
        self,
        t: &Target,
        r: &ResourceInfo,
        ns: Option<&str>,
        mask: Mask,
    ) -> Result<Arc<Listed>> {
        match self {
            Fetch::Masked => t.list_shared(r, ns, mask).await,
            #[cfg(test)]
            Fetch::Whole => t.list(r, ns, None, None).await.map(Arc::new),
        }
    }
}

async fn fetch(
    how: Fetch,
    t: &Target,
    r: &ResourceInfo,
    ns: Option<&str>,
    mask: Mask,
    report: &mut HealthReport,
) -> Arc<Listed> {
    match how.list(t, r, ns, mask).await {
        Ok(l) => {
            if !matches!(r.plural.as_str(), "events" | "endpoints" | "endpointslices") {
                report
                    .checked
                    .push(format!("{} {}", l.items.len(), r.plural));
            }
            l
        }
        Err(e) => {
            report.skipped.push(format!("{}: {e}", r.plural));
            Arc::default()
        }
    }
}

/// cert-manager's Certificates.
const CERTIFICATES: &str = "certificates.cert-manager.io";
/// external-secrets' ExternalSecrets.
const EXTERNAL_SECRETS: &str = "externalsecrets.external-secrets.io";

/// [`fetch`] of a custom resource type the cluster may not serve: nothing (and no `skipped`
/// line) where it does not.
async fn fetch_if_served(
    how: Fetch,
    t: &Target,
    kind: &str,
    ns: Option<&str>,
    mask: Mask,
    report: &mut HealthReport,
) -> Arc<Listed> {
    match t.resolve(kind).await {
        Ok(kind) => fetch(how, t, &kind, ns, mask, report).await,
        Err(_) => Arc::default(),
    }
}

/// Computes the findings; see [`HealthOptions`].
pub async fn health_findings(t: &Target, o: &HealthOptions) -> Result<HealthReport> {
    findings_with(Fetch::Masked, t, o).await
}

async fn findings_with(how: Fetch, t: &Target, o: &HealthOptions) -> Result<HealthReport> {
    let ns = o.namespace.as_deref().filter(|n| !n.is_empty());
    if let Some(ns) = ns {
        t.policy().check_read(ns)?;
    }
    let threshold = o.restart_threshold.unwrap_or(5).max(1);
    let mut report = HealthReport::default();
    // Fail fast (with the clear error) when the cluster cannot be reached at all.
    let pods_ = how.list(t, &kinds::pods(), ns, masks::PODS).await?;
    // "No problems found" in a namespace that does not exist would be a false all-clear.
    if let Some(ns) = ns
        && pods_.items.is_empty()
        && t.namespace_exists(ns).await == Some(false)
    {
        return Err(t.no_such_namespace(ns).await);
    }
    report.checked.push(format!("{} pods", pods_.items.len()));
    let pods_ = &pods_.items;
    let r = &mut report;
    let deployments = fetch(how, t, &kinds::deployments(), ns, masks::WORKLOADS, r).await;
    let replicasets = fetch(how, t, &kinds::replicasets(), ns, masks::REPLICASETS, r).await;
    let statefulsets = fetch(how, t, &kinds::statefulsets(), ns, masks::WORKLOADS, r).await;
    let daemonsets = fetch(how, t, &kinds::daemonsets(), ns, masks::WORKLOADS, r).await;
    let jobs = fetch(how, t, &kinds::jobs(), ns, masks::JOBS, r).await;
    let cronjobs = fetch(how, t, &kinds::cronjobs(), ns, masks::CRONJOBS, r).await;
    let pvcs = fetch(how, t, &kinds::pvcs(), ns, masks::PVCS, r).await;
    let hpas = fetch(how, t, &kinds::hpas(), ns, masks::HPAS, r).await;
    // cert-manager's Certificates and external-secrets' ExternalSecrets, where the cluster
    // serves the type (not installed: nothing to check, and nothing to say).
    let certificates = fetch_if_served(how, t, CERTIFICATES, ns, masks::CERTIFICATES, r).await;
    let external_secrets =
        fetch_if_served(how, t, EXTERNAL_SECRETS, ns, masks::EXTERNAL_SECRETS, r).await;
    let services = fetch(how, t, &kinds::services(), ns, masks::SERVICES, r).await;
    let endpoints = fetch(how, t, &kinds::endpoints(), ns, ENDPOINTS_MASK, r).await;
    let events = fetch(how, t, &kinds::events(), ns, masks::EVENTS, r).await;
    let nodes = fetch(how, t, &kinds::nodes(), None, masks::NODES, r).await;

    let mut by_object: BTreeMap<(String, String), Vec<EventGroup>> = BTreeMap::new();
    for g in super::events::dedupe(&events.items) {
        by_object
            .entry((g.namespace.clone(), g.object.clone()))
            .or_default()
            .push(g);
    }
    drop(events);
    let nodes_down = nodes
        .items
        .iter()
        .filter_map(|n| {
            let c = cond(n, "Ready").filter(|c| s(c, "/status") != "True")?;
            Some((
                name(n),
                format!(
                    "Ready={} {} {}",
                    s(c, "/status"),
                    s(c, "/reason"),
                    ago(t.now(), ts(c, "/lastTransitionTime"))
                ),
            ))
        })
        .collect();
    let cx = Ctx {
        now: t.now(),
        events: &by_object,
        nodes_down,
    };
    let mut pod_found = Vec::new();
    for p in pods_ {
        pod_findings(&cx, p, threshold, &mut pod_found);
    }
    let mut findings = group_pods(pod_found, pods_);
    let unready = unready_since(pods_);
    let rs_failures = replica_failures(&replicasets.items);
    for (kind, list) in [
        ("Deployment", &deployments),
        ("StatefulSet", &statefulsets),
        ("DaemonSet", &daemonsets),
    ] {
        for d in &list.items {
            workload_findings(kind, d, &unready, &rs_failures, &mut findings);
        }
    }
    for j in &jobs.items {
        job_findings(j, &mut findings);
    }
    for c in &cronjobs.items {
        let events = cx.events_of(namespace(c), &format!("CronJob/{}", name(c)));
        findings.extend(super::cronjobs::findings(c, &jobs.items, events, cx.now));
    }
    for p in &pvcs.items {
        pvc_findings(&cx, p, &mut findings);
    }
    for h in &hpas.items {
        hpa_findings(h, &mut findings);
    }
    for c in &certificates.items {
        certificate_findings(&cx, c, &mut findings);
    }
    for e in &external_secrets.items {
        external_secret_findings(&cx, e, &mut findings);
    }
    let ep_index = super::endpoints::Index::new(&endpoints.items);
    let lacking = services
        .items
        .iter()
        .filter(|svc| super::endpoints::has_selector(svc) && ep_index.lacks_endpoints(svc))
        .count();
    // EndpointSlices are read only when some Service has no Endpoints object: one list call
    // fewer on the usual cluster, and the answer for dumps and Endpoints-less clusters.
    let slices = if lacking > 0 {
        fetch(
            how,
            t,
            &kinds::endpointslices(),
            ns,
            SLICES_MASK,
            &mut report,
        )
        .await
    } else {
        Arc::default()
    };
    let ep_index = ep_index.with_slices(&slices.items);
    let unknown: Vec<&str> = services
        .items
        .iter()
        .filter(|svc| super::endpoints::has_selector(svc))
        .filter(|svc| ep_index.readiness(svc) == super::endpoints::Readiness::Unknown)
        .map(name)
        .collect();
    if !unknown.is_empty() {
        report.skipped.push(format!(
            "endpoint readiness of {} services (no Endpoints or EndpointSlice recorded, so unknown rather than zero): {}",
            unknown.len(),
            clip(&unknown.join(", "), 200)
        ));
    }
    for svc in &services.items {
        service_findings(svc, &ep_index, pods_, &mut findings);
    }
    for n in &nodes.items {
        node_findings(n, &mut findings);
    }
    findings.sort_by(|a, b| {
        (a.severity, &a.namespace, &a.object, &a.reason).cmp(&(
            b.severity,
            &b.namespace,
            &b.object,
            &b.reason,
        ))
    });
    if let Some(min) = o.min_severity.as_deref().filter(|m| !m.is_empty()) {
        let min = match min.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            other => {
                return Err(crate::K8sError::InvalidArgument(format!(
                    "min_severity {other:?}: use critical, warning or info"
                )));
            }
        };
        let before = findings.len();
        findings.retain(|f| f.severity <= min);
        if findings.len() < before {
            report.skipped.push(format!(
                "{} findings less severe than {min} (min_severity)",
                before - findings.len()
            ));
        }
    }
    report.findings = findings;
    Ok(report)
}

/// Characters of evidence one report may hold in all before long lines are shortened.
const EVIDENCE_CHARS: usize = 20_000;

/// Renders a health report.
pub fn render(now: Timestamp, scope: &str, context: &str, r: &HealthReport) -> String {
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let mut out = format!(
        "# workload health in {scope} (context {context}): {} findings — {} critical, {} warning, {} info\n# checked {}\n",
        r.findings.len(),
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        r.checked.join(", ")
    );
    for s in &r.skipped {
        out.push_str(&format!("# skipped {s}\n"));
    }
    if r.findings.is_empty() {
        out.push_str("no problems found\n");
    }
    // Messages are whole up to 1,000 characters while the report is short; a long report
    // shares ~20,000 characters of evidence (~5,000 tokens) so it stays within the response
    // budget, never under 240 a line (as `events` does).
    let lines = r.findings.iter().map(|f| f.evidence.len()).sum::<usize>();
    let cap = (EVIDENCE_CHARS / lines.max(1)).clamp(240, crate::value::MESSAGE_MAX + 100);
    for f in &r.findings {
        let obj = if f.namespace.is_empty() {
            f.object.clone()
        } else {
            format!("{}/{}", f.namespace, f.object)
        };
        out.push_str(&format!(
            "{:<8}  {obj}  {}  (since {})\n",
            f.severity.to_string(),
            f.reason,
            ago(now, f.since)
        ));
        for e in &f.evidence {
            if e.chars().count() > cap {
                out.push_str(&format!("    {}\n", crate::value::clip_middle(e, cap)));
            } else {
                out.push_str(&format!("    {e}\n"));
            }
        }
    }
    out
}

/// Runs the checks and renders them; see [`HealthOptions`].
pub async fn workload_health(t: &Target, o: &HealthOptions) -> Result<String> {
    let report = health_findings(t, o).await?;
    let scope = match o.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("namespace {ns}"),
        None => "all allowed namespaces".into(),
    };
    Ok(render(t.now(), &scope, t.context(), &report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    use super::*;
    use crate::snapshot::{FixtureServer, Snapshot};

    /// Every cluster snapshot bundled in `fixtures/`.
    fn snapshots() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut dirs = vec![root.join("k8s/shop-300")];
        for e in std::fs::read_dir(root.join("scenarios")).unwrap() {
            let k8s = e.unwrap().path().join("k8s");
            if k8s.is_dir() {
                dirs.push(k8s);
            }
        }
        dirs.sort();
        dirs
    }

    /// The masks keep every field the checks read: on every bundled snapshot, for the whole
    /// cluster and each namespace, with the default and the lowest restart threshold, the
    /// report is the same as from whole objects.
    #[tokio::test]
    async fn masks_cover_what_the_checks_read() {
        let dirs = snapshots();
        assert!(dirs.len() >= 10, "{dirs:?}");
        let mut compared = 0;
        for dir in dirs {
            let server = FixtureServer::start(Snapshot::load(&dir).unwrap())
                .await
                .unwrap();
            let t = Target::new(server.client().unwrap(), "snap").with_clock(server.now().await);
            let pods = t.list(&kinds::pods(), None, None, None).await.unwrap();
            let mut scopes: Vec<Option<String>> = pods
                .items
                .iter()
                .map(|p| Some(namespace(p).to_string()))
                .collect();
            scopes.sort();
            scopes.dedup();
            scopes.push(None);
            for namespace in scopes {
                for restart_threshold in [None, Some(1)] {
                    let o = HealthOptions {
                        namespace: namespace.clone(),
                        restart_threshold,
                        min_severity: None,
                    };
                    let masked = findings_with(Fetch::Masked, &t, &o).await.unwrap();
                    let whole = findings_with(Fetch::Whole, &t, &o).await.unwrap();
                    assert!(!whole.findings.is_empty() || namespace.is_some());
                    assert_eq!(
                        render(t.now(), "x", "snap", &masked),
                        render(t.now(), "x", "snap", &whole),
                        "{} {o:?}",
                        dir.display()
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared >= 24, "{compared}");
    }

    /// Identical lists in flight at once are fetched once; a write ends the sharing.
    #[tokio::test]
    async fn identical_lists_in_flight_are_shared_until_a_write() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/k8s/shop-300");
        let server = FixtureServer::start(Snapshot::load(&dir).unwrap())
            .await
            .unwrap();
        let t = Target::new(server.client().unwrap(), "snap");
        let pods = kinds::pods();
        let list = || t.list_shared(&pods, Some("shop"), masks::PODS);
        // On this single-threaded runtime the first call's flight exists before the others look.
        let (a, b, c) = tokio::join!(list(), list(), list());
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&a, &c));
        assert_eq!(a.items.len(), 300);
        // Another mask or namespace is another list.
        let other = t.list_shared(&pods, Some("shop"), masks::NODES);
        let (d, e) = tokio::join!(list(), other);
        assert!(!Arc::ptr_eq(&d.unwrap(), &e.unwrap()));
        // A list asked for after a write does not join a flight that started before it.
        let name = name(&a.items[0]).to_string();
        let patch = serde_json::json!({"metadata": {"labels": {"bench": "x"}}});
        let before = list();
        let (before, after) = tokio::join!(before, async {
            t.merge_patch(&pods, "shop", &name, &patch).await.unwrap();
            list().await
        });
        let (before, after) = (before.unwrap(), after.unwrap());
        let labelled = |l: &Listed| {
            l.items
                .iter()
                .any(|p| p.pointer("/metadata/labels/bench").is_some())
        };
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(labelled(&after));
    }
}
