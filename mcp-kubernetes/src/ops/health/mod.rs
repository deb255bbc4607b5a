//! `workload_health`: deterministic findings over a namespace (or every allowed namespace).
//!
//! No model, no heuristics that change between runs: each check reads object status the way
//! an SRE would and emits a [`Finding`] with the object, a severity, a reason, the evidence
//! lines it was based on and when it started. Pods of one workload failing for the same
//! reason are reported once, naming every pod.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::describe::rollout_status;
use super::endpoints::{ENDPOINTS_MASK, SLICES_MASK};
use super::events::EventGroup;
use crate::error::Result;
use crate::pods;
use crate::projection::Mask;
use crate::target::{Listed, ResourceInfo, Target, kinds};
use crate::value::{ago, arr, clip, i, map_pairs, message, name, namespace, opt_i, opt_s, s, ts};

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

pub use crate::pods::Severity;

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

/// A pod's problems ([`pods::problems`], the judgement `list` shares) as findings.
fn pod_findings(cx: &Ctx, p: &Value, threshold: i64, out: &mut Vec<Finding>) {
    let obj = format!("Pod/{}", name(p));
    let events = cx.events_of(namespace(p), &obj);
    for mut problem in pods::problems(p, cx.now, threshold, events) {
        // A pod stuck terminating on a node that stopped reporting: the kubelet that
        // would confirm the deletion is gone, so say which node and how it is.
        if problem.reason == "StuckTerminating"
            && let Some(down) = cx.nodes_down.get(s(p, "/spec/nodeName"))
            && let Some(first) = problem.evidence.first_mut()
        {
            *first = first.replacen(" on node ", " on NotReady node ", 1);
            problem.evidence.insert(1, format!("node {down}"));
        }
        push(
            out,
            problem.severity,
            p,
            obj.clone(),
            &problem.reason,
            problem.evidence,
            problem.since,
        );
    }
}

fn cond<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
}

/// For each workload (`(namespace, "Kind/name")`), since when its longest-unready current pod
/// has been unready: the Ready condition's last transition, or the pod's creation when it
/// never became ready. A lower bound of how long the workload has been short of replicas.
fn unready_since(pods_: &[Value]) -> BTreeMap<(String, String), Timestamp> {
    let mut out: BTreeMap<(String, String), Timestamp> = BTreeMap::new();
    for p in pods_ {
        let (r, tot) = pods::ready(p);
        if r >= tot || p.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let since = cond(p, "Ready")
            .filter(|c| s(c, "/status") != "True")
            .and_then(|c| ts(c, "/lastTransitionTime"))
            .or_else(|| crate::value::created(p));
        let Some(since) = since else { continue };
        let (kind, wl) = pods::workload(p);
        let key = (namespace(p).to_string(), format!("{kind}/{wl}"));
        let slot = out.entry(key).or_insert(since);
        *slot = (*slot).min(since);
    }
    out
}

/// Since when a Deployment has had fewer available replicas than it wants.
///
/// The Available condition only flips to False below the *minimum* availability (replicas
/// minus maxUnavailable), so a Deployment short of replicas can stay Available=True, and a
/// False condition can carry a transition time that predates the last completed rollout
/// (the condition is rewritten without a transition when only its reason or message
/// change, and generated or restored objects carry stale times). The start is therefore:
/// the Available=False transition, else the longest-unready pod; and never before the last
/// moment the Deployment is recorded as fully available — the Progressing condition's
/// `NewReplicaSetAvailable` update, which the controller writes when every replica of the
/// new ReplicaSet is available.
fn deployment_unavailable_since(o: &Value, pods_since: Option<Timestamp>) -> Option<Timestamp> {
    let available_false = cond(o, "Available")
        .filter(|c| s(c, "/status") == "False")
        .and_then(|c| ts(c, "/lastTransitionTime"));
    let complete_at = cond(o, "Progressing")
        .filter(|c| s(c, "/status") == "True" && s(c, "/reason") == "NewReplicaSetAvailable")
        .and_then(|c| ts(c, "/lastUpdateTime").or_else(|| ts(c, "/lastTransitionTime")));
    let since = available_false.or(pods_since)?;
    Some(match complete_at {
        Some(done) if done > since => done,
        _ => since,
    })
}

/// `ReplicaFailure=True` conditions of ReplicaSets (a pod the controller could not create:
/// `FailedCreate … exceeded quota: …`, a PodSecurity or webhook refusal), by owning
/// Deployment `(namespace, "Deployment/name")`, newest ReplicaSet's first.
fn replica_failures(replicasets: &[Value]) -> BTreeMap<(String, String), (String, &Value)> {
    let mut out: BTreeMap<(String, String), (String, &Value)> = BTreeMap::new();
    for rs in replicasets {
        let Some(c) = cond(rs, "ReplicaFailure").filter(|c| s(c, "/status") == "True") else {
            continue;
        };
        let Some(("Deployment", dep)) = crate::value::controller_owner(rs) else {
            continue;
        };
        let key = (namespace(rs).to_string(), format!("Deployment/{dep}"));
        let newer = out
            .get(&key)
            .is_none_or(|(_, old)| ts(c, "/lastTransitionTime") > ts(old, "/lastTransitionTime"));
        if newer {
            out.insert(key, (format!("ReplicaSet/{}", name(rs)), c));
        }
    }
    out
}

fn workload_findings(
    kind: &str,
    o: &Value,
    unready: &BTreeMap<(String, String), Timestamp>,
    rs_failures: &BTreeMap<(String, String), (String, &Value)>,
    out: &mut Vec<Finding>,
) {
    let obj = format!("{kind}/{}", name(o));
    let key = (namespace(o).to_string(), obj.clone());
    let pods_since = unready.get(&key).copied();
    let status = rollout_status(kind, o);
    if kind == "Deployment" {
        // Pods the controller cannot create (quota, admission): the Deployment's own
        // ReplicaFailure condition, else its ReplicaSet's.
        let failure = cond(o, "ReplicaFailure")
            .filter(|c| s(c, "/status") == "True")
            .map(|c| (None, c))
            .or_else(|| rs_failures.get(&key).map(|(rs, c)| (Some(rs.as_str()), *c)));
        if let Some((rs, c)) = failure {
            let want = opt_i(o, "/spec/replicas").unwrap_or(1);
            let avail = i(o, "/status/availableReplicas");
            let from = rs.map(|r| format!(" (on {r})")).unwrap_or_default();
            let ev = vec![
                format!(
                    "ReplicaFailure=True {}{from}: {}",
                    s(c, "/reason"),
                    message(s(c, "/message"))
                ),
                format!("{avail} of {want} replicas available; rollout: {status}"),
            ];
            let sev = if avail == 0 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            push(
                out,
                sev,
                o,
                obj.clone(),
                opt_s(c, "/reason").unwrap_or("ReplicaFailure"),
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
        if let Some(c) =
            cond(o, "Progressing").filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded")
        {
            let ev = vec![message(s(c, "/message")), format!("rollout: {status}")];
            push(
                out,
                Severity::Critical,
                o,
                obj.clone(),
                "ProgressDeadlineExceeded",
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
        let want = opt_i(o, "/spec/replicas").unwrap_or(1);
        let avail = i(o, "/status/availableReplicas");
        if want > 0 && avail < want {
            let sev = if avail == 0 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let since = deployment_unavailable_since(o, pods_since);
            let ev = vec![format!(
                "{avail} of {want} replicas available, {} updated, {} ready",
                i(o, "/status/updatedReplicas"),
                i(o, "/status/readyReplicas")
            )];
            push(out, sev, o, obj, "UnavailableReplicas", ev, since);
        }
    } else if kind == "StatefulSet" {
        let want = opt_i(o, "/spec/replicas").unwrap_or(1);
        let ready = i(o, "/status/readyReplicas");
        if want > 0 && ready < want {
            let sev = if ready == 0 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            push(
                out,
                sev,
                o,
                obj,
                "UnavailableReplicas",
                vec![format!(
                    "{ready} of {want} replicas ready; rollout: {status}"
                )],
                pods_since,
            );
        }
    } else {
        let unavailable = i(o, "/status/numberUnavailable");
        let mis = i(o, "/status/numberMisscheduled");
        if unavailable > 0 {
            push(
                out,
                Severity::Warning,
                o,
                obj.clone(),
                "UnavailablePods",
                vec![format!(
                    "{unavailable} of {} pods unavailable",
                    i(o, "/status/desiredNumberScheduled")
                )],
                pods_since,
            );
        }
        if mis > 0 {
            push(
                out,
                Severity::Info,
                o,
                obj,
                "Misscheduled",
                vec![format!("{mis} pods running where they should not")],
                None,
            );
        }
    }
}

fn job_findings(o: &Value, out: &mut Vec<Finding>) {
    if let Some(c) = cond(o, "Failed").filter(|c| s(c, "/status") == "True") {
        let ev = vec![
            format!("{}: {}", s(c, "/reason"), message(s(c, "/message"))),
            format!(
                "failed pods {}, succeeded {}, backoffLimit {}",
                i(o, "/status/failed"),
                i(o, "/status/succeeded"),
                opt_i(o, "/spec/backoffLimit").unwrap_or(6)
            ),
        ];
        push(
            out,
            Severity::Critical,
            o,
            format!("Job/{}", name(o)),
            "JobFailed",
            ev,
            ts(c, "/lastTransitionTime"),
        );
    }
}

fn pvc_findings(cx: &Ctx, o: &Value, out: &mut Vec<Finding>) {
    if s(o, "/status/phase") == "Pending" {
        let obj = format!("PersistentVolumeClaim/{}", name(o));
        let mut ev = vec![format!(
            "storageClass {}, requested {}",
            opt_s(o, "/spec/storageClassName").unwrap_or("<default>"),
            s(o, "/spec/resources/requests/storage")
        )];
        if let Some(e) = cx.events_of(namespace(o), &obj).first() {
            ev.push(format!(
                "{} ({}x): {}",
                e.reason,
                e.count,
                message(&e.message)
            ));
        }
        push(
            out,
            Severity::Warning,
            o,
            obj,
            "PVCPending",
            ev,
            crate::value::created(o),
        );
    }
}

fn node_findings(o: &Value, out: &mut Vec<Finding>) {
    let obj = format!("Node/{}", name(o));
    match cond(o, "Ready") {
        Some(c) if s(c, "/status") != "True" => {
            let ev = vec![format!(
                "Ready={} {}: {}",
                s(c, "/status"),
                s(c, "/reason"),
                message(s(c, "/message"))
            )];
            push(
                out,
                Severity::Critical,
                o,
                obj.clone(),
                "NodeNotReady",
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
        _ => {}
    }
    for c in arr(o, "/status/conditions") {
        let ty = s(c, "/type");
        if (ty.ends_with("Pressure") || ty == "NetworkUnavailable") && s(c, "/status") == "True" {
            let ev = vec![format!("{ty}: {}", message(s(c, "/message")))];
            push(
                out,
                Severity::Warning,
                o,
                obj.clone(),
                ty,
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
    }
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        push(
            out,
            Severity::Info,
            o,
            obj,
            "Cordoned",
            vec!["spec.unschedulable=true".into()],
            None,
        );
    }
}

/// Reasons of `AbleToScale=False` / `ScalingActive=False` that mean the HPA cannot act: it
/// cannot read its target's scale subresource (`FailedGetScale`: the target was renamed or
/// deleted), cannot read a metric (`FailedGetResourceMetric` and the other `FailedGet…`
/// reasons), or cannot write the scale (`FailedUpdateScale`).
fn hpa_broken(o: &Value) -> Option<&Value> {
    arr(o, "/status/conditions").iter().find(|c| {
        matches!(s(c, "/type"), "AbleToScale" | "ScalingActive")
            && s(c, "/status") == "False"
            && s(c, "/reason").starts_with("Failed")
    })
}

fn hpa_findings(o: &Value, out: &mut Vec<Finding>) {
    let target = format!(
        "{}/{}",
        s(o, "/spec/scaleTargetRef/kind"),
        s(o, "/spec/scaleTargetRef/name")
    );
    if let Some(c) = hpa_broken(o) {
        let mut ev = vec![format!(
            "{}={} {}: {}",
            s(c, "/type"),
            s(c, "/status"),
            s(c, "/reason"),
            message(s(c, "/message"))
        )];
        // The other failed condition, when both are (a missing target fails both).
        for other in arr(o, "/status/conditions") {
            if !std::ptr::eq(other, c)
                && matches!(s(other, "/type"), "AbleToScale" | "ScalingActive")
                && s(other, "/status") == "False"
            {
                ev.push(format!(
                    "{}={} {}: {}",
                    s(other, "/type"),
                    s(other, "/status"),
                    s(other, "/reason"),
                    message(s(other, "/message"))
                ));
            }
        }
        ev.push(format!(
            "target {target}; replicas current {}, desired {} (min {}, max {})",
            i(o, "/status/currentReplicas"),
            i(o, "/status/desiredReplicas"),
            opt_i(o, "/spec/minReplicas").unwrap_or(1),
            i(o, "/spec/maxReplicas")
        ));
        push(
            out,
            Severity::Warning,
            o,
            format!("HorizontalPodAutoscaler/{}", name(o)),
            s(c, "/reason"),
            ev,
            ts(c, "/lastTransitionTime"),
        );
    }
    let max = i(o, "/spec/maxReplicas");
    let cur = i(o, "/status/currentReplicas");
    if max > 0 && cur >= max {
        let mut ev = vec![format!("{cur}/{max} replicas for {target}")];
        let since = cond(o, "ScalingLimited")
            .filter(|c| s(c, "/status") == "True")
            .map(|c| {
                ev.push(format!("ScalingLimited: {}", message(s(c, "/message"))));
                ts(c, "/lastTransitionTime")
            });
        for m in arr(o, "/status/currentMetrics") {
            if let Some(r) = m.pointer("/resource") {
                ev.push(format!(
                    "{} utilization {}%",
                    s(r, "/name"),
                    i(r, "/current/averageUtilization")
                ));
            }
        }
        push(
            out,
            Severity::Warning,
            o,
            format!("HorizontalPodAutoscaler/{}", name(o)),
            "HPAAtMax",
            ev,
            since.flatten(),
        );
    }
}

fn service_findings(
    svc: &Value,
    endpoints: &super::endpoints::Index,
    pods_: &[Value],
    out: &mut Vec<Finding>,
) {
    use super::endpoints::Readiness;
    if !super::endpoints::has_selector(svc) {
        return;
    }
    // Without an Endpoints object or EndpointSlice the count is unknown, not zero (see
    // `ops::endpoints`); the report says so in a `skipped` line instead.
    let Readiness::Known {
        ready: 0,
        not_ready,
        source,
    } = endpoints.readiness(svc)
    else {
        return;
    };
    let selector = svc.pointer("/spec/selector").and_then(Value::as_object);
    let ns = namespace(svc);
    let sel = map_pairs(svc, "/spec/selector");
    let matching = pods_
        .iter()
        .filter(|p| namespace(p) == ns)
        .filter(|p| {
            selector.is_some_and(|m| {
                m.iter().all(|(k, v)| {
                    p.pointer(&format!(
                        "/metadata/labels/{}",
                        k.replace('~', "~0").replace('/', "~1")
                    )) == Some(v)
                })
            })
        })
        .collect::<Vec<_>>();
    // A Service whose only pod is Pending "matches 1 pods" yet has nothing to route to: say
    // how many of the matched pods are Ready, and what the others are doing.
    let ready_pods = matching
        .iter()
        .filter(|p| cond(p, "Ready").is_some_and(|c| s(c, "/status") == "True"))
        .count();
    let matched = match matching.len() {
        0 => "matches 0 pods".to_string(),
        1 => format!(
            "matches 1 pod ({}), {ready_pods} ready",
            pods::status(matching[0])
        ),
        n => {
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            for p in &matching {
                *states.entry(pods::status(p)).or_default() += 1;
            }
            let states: Vec<String> = states.iter().map(|(k, v)| format!("{v} {k}")).collect();
            format!(
                "matches {n} pods ({}), {ready_pods} ready",
                states.join(", ")
            )
        }
    };
    let from = if source == "Endpoints" {
        String::new()
    } else {
        format!(" (from {source})")
    };
    let ev = vec![format!(
        "selector {sel} {matched}; endpoints: 0 ready, {not_ready} not ready{from}"
    )];
    push(
        out,
        Severity::Critical,
        svc,
        format!("Service/{}", name(svc)),
        "NoReadyEndpoints",
        ev,
        None,
    );
}

/// Groups pod findings of one workload with the same reason into one finding naming every pod.
fn group_pods(findings: Vec<Finding>, pods_: &[Value]) -> Vec<Finding> {
    let owner: BTreeMap<(String, String), (String, String)> = pods_
        .iter()
        .map(|p| {
            (
                (namespace(p).to_string(), format!("Pod/{}", name(p))),
                pods::workload(p),
            )
        })
        .collect();
    let mut grouped: BTreeMap<(String, String, String), Vec<Finding>> = BTreeMap::new();
    let mut out = Vec::new();
    for f in findings {
        match owner.get(&(f.namespace.clone(), f.object.clone())) {
            Some((k, n)) if k != "(none)" => grouped
                .entry((f.namespace.clone(), format!("{k}/{n}"), f.reason.clone()))
                .or_default()
                .push(f),
            _ => out.push(f),
        }
    }
    for ((ns, wl, reason), fs) in grouped {
        if fs.len() == 1 {
            for mut f in fs {
                f.evidence.insert(0, format!("owner {wl}"));
                out.push(f);
            }
            continue;
        }
        let names: Vec<String> = fs
            .iter()
            .map(|f| f.object.trim_start_matches("Pod/").to_string())
            .collect();
        let mut evidence = vec![format!("{} pods: {}", names.len(), names.join(", "))];
        evidence.extend(
            fs[0]
                .evidence
                .iter()
                .map(|e| format!("e.g. {}: {e}", names[0])),
        );
        out.push(Finding {
            severity: fs
                .iter()
                .map(|f| f.severity)
                .min()
                .unwrap_or(Severity::Warning),
            namespace: ns,
            object: format!("{wl} (pods)"),
            reason,
            evidence,
            since: fs.iter().filter_map(|f| f.since).min(),
        });
    }
    out
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

/// The fields the checks read, per kind: everything else (`managedFields`, env, volumes,
/// probes, pod templates, a node's image list…) is skipped while parsing, so a call holds a
/// fraction of the objects (see [`Mask`]). `masks_cover_what_the_checks_read` below compares
/// the output with the one computed from whole objects on every bundled snapshot.
mod masks {
    use crate::projection::Mask::{self, All, Fields};

    const STATUS: (&str, Mask) = ("status", All);
    const NAME_NS: [(&str, Mask); 2] = [("name", All), ("namespace", All)];
    /// `resources.limits.memory` is in the OOMKilled evidence.
    const CONTAINERS: Mask = Fields(&[
        ("name", All),
        ("image", All),
        (
            "resources",
            Fields(&[("limits", Fields(&[("memory", All)]))]),
        ),
    ]);
    const CONTAINER_STATUSES: Mask = Fields(&[
        ("name", All),
        ("ready", All),
        ("restartCount", All),
        ("state", All),
        ("lastState", All),
    ]);

    pub const PODS: Mask = Fields(&[
        (
            "metadata",
            Fields(&[
                NAME_NS[0],
                NAME_NS[1],
                ("creationTimestamp", All),
                ("deletionTimestamp", All),
                ("deletionGracePeriodSeconds", All),
                ("finalizers", All),
                ("labels", All),
                ("ownerReferences", All),
            ]),
        ),
        (
            "spec",
            Fields(&[
                ("containers", CONTAINERS),
                ("initContainers", CONTAINERS),
                ("nodeName", All),
            ]),
        ),
        (
            "status",
            Fields(&[
                ("phase", All),
                ("reason", All),
                ("message", All),
                ("startTime", All),
                ("conditions", All),
                ("containerStatuses", CONTAINER_STATUSES),
                ("initContainerStatuses", CONTAINER_STATUSES),
            ]),
        ),
    ]);
    /// Deployments, StatefulSets, DaemonSets (`rollout_status` reads `metadata.generation`).
    pub const WORKLOADS: Mask = Fields(&[
        (
            "metadata",
            Fields(&[NAME_NS[0], NAME_NS[1], ("generation", All)]),
        ),
        ("spec", Fields(&[("replicas", All)])),
        STATUS,
    ]);
    /// ReplicaSets: only their owner and `ReplicaFailure` condition are read.
    pub const REPLICASETS: Mask = Fields(&[
        (
            "metadata",
            Fields(&[NAME_NS[0], NAME_NS[1], ("ownerReferences", All)]),
        ),
        ("status", Fields(&[("conditions", All)])),
    ]);
    pub const JOBS: Mask = Fields(&[
        Mask::META,
        ("spec", Fields(&[("backoffLimit", All)])),
        STATUS,
    ]);
    pub const CRONJOBS: Mask = Fields(&[
        Mask::META,
        (
            "spec",
            Fields(&[
                ("schedule", All),
                ("suspend", All),
                ("concurrencyPolicy", All),
            ]),
        ),
        STATUS,
    ]);
    pub const PVCS: Mask = Fields(&[
        (
            "metadata",
            Fields(&[NAME_NS[0], NAME_NS[1], ("creationTimestamp", All)]),
        ),
        (
            "spec",
            Fields(&[("storageClassName", All), ("resources", All)]),
        ),
        STATUS,
    ]);
    pub const HPAS: Mask = Fields(&[
        Mask::META,
        (
            "spec",
            Fields(&[
                ("minReplicas", All),
                ("maxReplicas", All),
                ("scaleTargetRef", All),
            ]),
        ),
        STATUS,
    ]);
    pub const SERVICES: Mask = Fields(&[
        Mask::META,
        ("spec", Fields(&[("type", All), ("selector", All)])),
    ]);
    /// What `events::dedupe` reads.
    pub const EVENTS: Mask = Fields(&[
        (
            "metadata",
            Fields(&[NAME_NS[1], ("creationTimestamp", All)]),
        ),
        (
            "involvedObject",
            Fields(&[("kind", All), NAME_NS[0], NAME_NS[1]]),
        ),
        ("type", All),
        ("reason", All),
        ("message", All),
        ("count", All),
        ("series", All),
        ("firstTimestamp", All),
        ("lastTimestamp", All),
        ("eventTime", All),
    ]);
    pub const NODES: Mask = Fields(&[
        Mask::META,
        ("spec", Fields(&[("unschedulable", All)])),
        ("status", Fields(&[("conditions", All)])),
    ]);
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
