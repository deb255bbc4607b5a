//! Controller findings: Deployments, StatefulSets and DaemonSets short of replicas or stuck
//! rolling out, failed Jobs, and HorizontalPodAutoscalers that cannot act or are at their
//! maximum. Together because each reads a controller's status and conditions against what
//! its spec asks for.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::{Finding, Severity, cond, push};
use crate::ops::describe::rollout_status;
use crate::value::{arr, i, message, name, namespace, opt_i, opt_s, s, ts};

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
pub(super) fn replica_failures(
    replicasets: &[Value],
) -> BTreeMap<(String, String), (String, &Value)> {
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

/// How bad a controller short of replicas is: critical when none is left
/// (`left` available or ready), a warning while some still serve.
fn short_of_replicas(left: i64) -> Severity {
    if left == 0 {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

pub(super) fn workload_findings(
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
            let sev = short_of_replicas(avail);
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
            let sev = short_of_replicas(avail);
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
            let sev = short_of_replicas(ready);
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

pub(super) fn job_findings(o: &Value, out: &mut Vec<Finding>) {
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

pub(super) fn hpa_findings(o: &Value, out: &mut Vec<Finding>) {
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
