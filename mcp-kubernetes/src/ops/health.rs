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
use super::events::EventGroup;
use crate::error::Result;
use crate::pods;
use crate::projection::Mask;
use crate::target::{Listed, ResourceInfo, Target, kinds};
use crate::value::{ago, arr, clip, i, map_pairs, name, namespace, opt_i, opt_s, s, ts};

/// Options of [`workload_health`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HealthOptions {
    /// Namespace; all allowed namespaces when absent.
    pub namespace: Option<String>,
    /// Restart count from which a pod is reported (default 5).
    pub restart_threshold: Option<i64>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Users are likely affected now.
    Critical,
    /// Degraded or at risk.
    Warning,
    /// Worth knowing.
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        })
    }
}

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
}

impl Ctx<'_> {
    fn events_of(&self, ns: &str, object: &str) -> &[EventGroup] {
        self.events
            .get(&(ns.to_string(), object.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    fn first_event(&self, ns: &str, object: &str, reasons: &[&str]) -> Option<Timestamp> {
        self.events_of(ns, object)
            .iter()
            .filter(|e| reasons.contains(&e.reason.as_str()))
            .filter_map(|e| e.first)
            .min()
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

fn pod_findings(cx: &Ctx, p: &Value, threshold: i64, out: &mut Vec<Finding>) {
    let pname = name(p);
    let ns = namespace(p);
    let obj = format!("Pod/{pname}");
    let started = ts(p, "/status/startTime").or_else(|| crate::value::created(p));
    let mut found = false;
    for c in arr(p, "/status/containerStatuses")
        .iter()
        .chain(arr(p, "/status/initContainerStatuses"))
    {
        let cname = s(c, "/name");
        let restarts = i(c, "/restartCount");
        let waiting = s(c, "/state/waiting/reason");
        let last = c
            .pointer("/lastState/terminated")
            .or_else(|| c.pointer("/state/terminated"));
        let last_line = last.map(|t| {
            format!(
                "container {cname}: last exit {} ({}) {}, restarts {restarts}",
                opt_s(t, "/reason").unwrap_or("Terminated"),
                i(t, "/exitCode"),
                ago(cx.now, ts(t, "/finishedAt"))
            )
        });
        match waiting {
            "CrashLoopBackOff" => {
                let mut ev = vec![
                    last_line
                        .clone()
                        .unwrap_or(format!("container {cname}: restarts {restarts}")),
                ];
                if let Some(m) = last.and_then(|t| opt_s(t, "/message")) {
                    ev.push(format!("termination message: {}", clip(m, 160)));
                }
                let since = cx.first_event(ns, &obj, &["BackOff"]).or(started);
                push(
                    out,
                    Severity::Critical,
                    p,
                    obj.clone(),
                    "CrashLoopBackOff",
                    ev,
                    since,
                );
                found = true;
            }
            "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
                let image = arr(p, "/spec/containers")
                    .iter()
                    .chain(arr(p, "/spec/initContainers"))
                    .find(|x| s(x, "/name") == cname)
                    .map(|x| s(x, "/image"))
                    .unwrap_or("");
                let mut ev = vec![format!("container {cname}: image {image}")];
                if let Some(m) = opt_s(c, "/state/waiting/message") {
                    ev.push(clip(m, 200));
                } else if let Some(e) = cx.events_of(ns, &obj).iter().find(|e| e.reason == "Failed")
                {
                    ev.push(clip(&e.message, 200));
                }
                let since = cx.first_event(ns, &obj, &["Failed", "BackOff"]).or(started);
                push(
                    out,
                    Severity::Critical,
                    p,
                    obj.clone(),
                    "ImagePullBackOff",
                    ev,
                    since,
                );
                found = true;
            }
            "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
                let ev = vec![format!(
                    "container {cname}: {}",
                    clip(s(c, "/state/waiting/message"), 200)
                )];
                push(
                    out,
                    Severity::Critical,
                    p,
                    obj.clone(),
                    waiting,
                    ev,
                    cx.first_event(ns, &obj, &["Failed"]).or(started),
                );
                found = true;
            }
            _ => {}
        }
        if let Some(t) = last.filter(|t| s(t, "/reason") == "OOMKilled") {
            let limit = arr(p, "/spec/containers")
                .iter()
                .find(|x| s(x, "/name") == cname)
                .map(|x| s(x, "/resources/limits/memory"))
                .filter(|l| !l.is_empty())
                .unwrap_or("none");
            let ev = vec![format!(
                "container {cname}: OOMKilled (exit {}) {}, memory limit {limit}, restarts {restarts}",
                i(t, "/exitCode"),
                ago(cx.now, ts(t, "/finishedAt"))
            )];
            push(
                out,
                Severity::Critical,
                p,
                obj.clone(),
                "OOMKilled",
                ev,
                ts(t, "/finishedAt"),
            );
            found = true;
        }
        if !found && restarts >= threshold {
            let ev = vec![last_line.unwrap_or(format!("container {cname}: restarts {restarts}"))];
            push(
                out,
                Severity::Warning,
                p,
                obj.clone(),
                "HighRestarts",
                ev,
                started,
            );
            found = true;
        }
    }
    let phase = s(p, "/status/phase");
    if phase == "Pending" && !found {
        let sched = arr(p, "/status/conditions")
            .iter()
            .find(|c| s(c, "/type") == "PodScheduled" && s(c, "/status") == "False");
        match sched {
            Some(c) => {
                let mut ev = vec![format!(
                    "{}: {}",
                    s(c, "/reason"),
                    clip(s(c, "/message"), 220)
                )];
                if let Some(e) = cx
                    .events_of(ns, &obj)
                    .iter()
                    .find(|e| e.reason == "FailedScheduling")
                {
                    if e.message.trim() != s(c, "/message").trim() {
                        ev.push(format!(
                            "scheduler ({}x): {}",
                            e.count,
                            clip(&e.message, 220)
                        ));
                    } else {
                        ev.push(format!("FailedScheduling seen {}x", e.count));
                    }
                }
                push(
                    out,
                    Severity::Warning,
                    p,
                    obj.clone(),
                    "Unschedulable",
                    ev,
                    ts(c, "/lastTransitionTime").or(started),
                );
            }
            None => {
                let age_secs = crate::value::created(p)
                    .map(|c| cx.now.as_second() - c.as_second())
                    .unwrap_or(0);
                if age_secs > 300 {
                    let ev = vec![format!(
                        "pending for {}: {}",
                        crate::value::fmt_secs(age_secs),
                        pods::status(p)
                    )];
                    push(
                        out,
                        Severity::Warning,
                        p,
                        obj.clone(),
                        "Pending",
                        ev,
                        crate::value::created(p),
                    );
                }
            }
        }
        found = true;
    }
    if phase == "Failed" {
        let mut ev = Vec::new();
        if let Some(r) = opt_s(p, "/status/reason") {
            ev.push(format!("{r}: {}", clip(s(p, "/status/message"), 200)));
        }
        if let Some(t) = pods::last_termination(p) {
            ev.push(format!(
                "container {}: exit {} ({}) {}",
                t.container,
                t.reason,
                t.exit_code,
                ago(cx.now, t.finished)
            ));
        }
        push(
            out,
            Severity::Warning,
            p,
            obj.clone(),
            opt_s(p, "/status/reason").unwrap_or("PodFailed"),
            ev,
            crate::value::created(p),
        );
        found = true;
    }
    // Failing probes: Unhealthy events.
    let probe_events: Vec<&EventGroup> = cx
        .events_of(ns, &obj)
        .iter()
        .filter(|e| e.reason == "Unhealthy")
        .collect();
    if !probe_events.is_empty() {
        let ev: Vec<String> = probe_events
            .iter()
            .take(2)
            .map(|e| format!("{}x {}", e.count, clip(&e.message, 180)))
            .collect();
        let since = probe_events.iter().filter_map(|e| e.first).min();
        let (r, tot) = pods::ready(p);
        let sev = if r < tot {
            Severity::Warning
        } else {
            Severity::Info
        };
        push(out, sev, p, obj.clone(), "ProbeFailing", ev, since);
        found = true;
    }
    if !found && phase == "Running" && p.pointer("/metadata/deletionTimestamp").is_none() {
        let (r, tot) = pods::ready(p);
        if r < tot {
            let since = arr(p, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Ready")
                .and_then(|c| ts(c, "/lastTransitionTime"));
            push(
                out,
                Severity::Warning,
                p,
                obj,
                "NotReady",
                vec![format!("{r}/{tot} containers ready")],
                since,
            );
        }
    }
}

fn cond<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
}

fn workload_findings(kind: &str, o: &Value, out: &mut Vec<Finding>) {
    let obj = format!("{kind}/{}", name(o));
    let status = rollout_status(kind, o);
    if kind == "Deployment" {
        if let Some(c) =
            cond(o, "Progressing").filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded")
        {
            let ev = vec![clip(s(c, "/message"), 220), format!("rollout: {status}")];
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
            let since = cond(o, "Available")
                .filter(|c| s(c, "/status") == "False")
                .and_then(|c| ts(c, "/lastTransitionTime"));
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
                None,
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
                None,
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
            format!("{}: {}", s(c, "/reason"), clip(s(c, "/message"), 200)),
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
                clip(&e.message, 200)
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
                clip(s(c, "/message"), 200)
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
            let ev = vec![format!("{ty}: {}", clip(s(c, "/message"), 200))];
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

fn hpa_findings(o: &Value, out: &mut Vec<Finding>) {
    let max = i(o, "/spec/maxReplicas");
    let cur = i(o, "/status/currentReplicas");
    if max > 0 && cur >= max {
        let mut ev = vec![format!(
            "{cur}/{max} replicas for {}/{}",
            s(o, "/spec/scaleTargetRef/kind"),
            s(o, "/spec/scaleTargetRef/name")
        )];
        let since = cond(o, "ScalingLimited")
            .filter(|c| s(c, "/status") == "True")
            .map(|c| {
                ev.push(format!("ScalingLimited: {}", clip(s(c, "/message"), 160)));
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
    endpoints: &BTreeMap<(String, String), &Value>,
    pods_: &[Value],
    out: &mut Vec<Finding>,
) {
    let ty = s(svc, "/spec/type");
    let selector = svc.pointer("/spec/selector").and_then(Value::as_object);
    if ty == "ExternalName" || selector.is_none_or(|m| m.is_empty()) {
        return;
    }
    let key = (namespace(svc).to_string(), name(svc).to_string());
    let (mut ready, mut not_ready) = (0, 0);
    if let Some(ep) = endpoints.get(&key) {
        for sub in arr(ep, "/subsets") {
            ready += arr(sub, "/addresses").len();
            not_ready += arr(sub, "/notReadyAddresses").len();
        }
    }
    if ready == 0 {
        let sel = map_pairs(svc, "/spec/selector");
        let matching = pods_
            .iter()
            .filter(|p| namespace(p) == key.0)
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
            .count();
        let ev = vec![format!(
            "selector {sel} matches {matching} pods; endpoints: 0 ready, {not_ready} not ready"
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
                ("labels", All),
                ("ownerReferences", All),
            ]),
        ),
        (
            "spec",
            Fields(&[("containers", CONTAINERS), ("initContainers", CONTAINERS)]),
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
    pub const JOBS: Mask = Fields(&[
        Mask::META,
        ("spec", Fields(&[("backoffLimit", All)])),
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
            Fields(&[("maxReplicas", All), ("scaleTargetRef", All)]),
        ),
        STATUS,
    ]);
    pub const SERVICES: Mask = Fields(&[
        Mask::META,
        ("spec", Fields(&[("type", All), ("selector", All)])),
    ]);
    /// Only the number of addresses is read: each is kept as `{}`.
    pub const ENDPOINTS: Mask = Fields(&[
        Mask::META,
        (
            "subsets",
            Fields(&[
                ("addresses", Fields(&[])),
                ("notReadyAddresses", Fields(&[])),
            ]),
        ),
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
            if r.plural != "events" && r.plural != "endpoints" {
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
    report.checked.push(format!("{} pods", pods_.items.len()));
    let pods_ = &pods_.items;
    let r = &mut report;
    let deployments = fetch(how, t, &kinds::deployments(), ns, masks::WORKLOADS, r).await;
    let statefulsets = fetch(how, t, &kinds::statefulsets(), ns, masks::WORKLOADS, r).await;
    let daemonsets = fetch(how, t, &kinds::daemonsets(), ns, masks::WORKLOADS, r).await;
    let jobs = fetch(how, t, &kinds::jobs(), ns, masks::JOBS, r).await;
    let pvcs = fetch(how, t, &kinds::pvcs(), ns, masks::PVCS, r).await;
    let hpas = fetch(how, t, &kinds::hpas(), ns, masks::HPAS, r).await;
    let services = fetch(how, t, &kinds::services(), ns, masks::SERVICES, r).await;
    let endpoints = fetch(how, t, &kinds::endpoints(), ns, masks::ENDPOINTS, r).await;
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
    let cx = Ctx {
        now: t.now(),
        events: &by_object,
    };
    let mut pod_found = Vec::new();
    for p in pods_ {
        pod_findings(&cx, p, threshold, &mut pod_found);
    }
    let mut findings = group_pods(pod_found, pods_);
    for d in &deployments.items {
        workload_findings("Deployment", d, &mut findings);
    }
    for d in &statefulsets.items {
        workload_findings("StatefulSet", d, &mut findings);
    }
    for d in &daemonsets.items {
        workload_findings("DaemonSet", d, &mut findings);
    }
    for j in &jobs.items {
        job_findings(j, &mut findings);
    }
    for p in &pvcs.items {
        pvc_findings(&cx, p, &mut findings);
    }
    for h in &hpas.items {
        hpa_findings(h, &mut findings);
    }
    let ep_map: BTreeMap<(String, String), &Value> = endpoints
        .items
        .iter()
        .map(|e| ((namespace(e).to_string(), name(e).to_string()), e))
        .collect();
    for svc in &services.items {
        service_findings(svc, &ep_map, pods_, &mut findings);
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
    report.findings = findings;
    Ok(report)
}

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
            out.push_str(&format!("    {e}\n"));
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
