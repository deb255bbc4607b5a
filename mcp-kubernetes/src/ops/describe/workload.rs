//! The section of a Deployment, StatefulSet or DaemonSet (replicas, rollout, selector,
//! images, ReplicaSets by revision, a summary of its pods), and the helpers other tools share
//! with it: `rollout_status` (`workload_health`), `revision` (`rollout_history`),
//! `pods_summary` (the Node section).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::ops::detail;
use crate::ops::list::{self, short_image};
use crate::ops::pods;
use crate::target::{ResourceInfo, Target, kinds};
use crate::value::{Table, age, arr, clip, i, name, namespace, opt_i, opt_s, s};

/// A label selector string from a `spec.selector` (matchLabels and matchExpressions).
pub fn selector_string(obj: &Value) -> String {
    list::label_selector(obj.pointer("/spec/selector"))
}

/// kubectl's rollout status for a Deployment, StatefulSet or DaemonSet, in one line.
pub fn rollout_status(kind: &str, o: &Value) -> String {
    let generation = i(o, "/metadata/generation");
    let observed = i(o, "/status/observedGeneration");
    if generation > observed {
        return "waiting for the controller to observe the latest spec".into();
    }
    match kind {
        "Deployment" => {
            let progressing = arr(o, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Progressing");
            if let Some(p) = progressing.filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded") {
                return format!("STUCK: {}", clip(s(p, "/message"), 200));
            }
            let want = opt_i(o, "/spec/replicas").unwrap_or(1);
            let updated = i(o, "/status/updatedReplicas");
            let total = i(o, "/status/replicas");
            let available = i(o, "/status/availableReplicas");
            // Pods the controller cannot create (a quota, an admission webhook) hold any
            // progress back; say so beside the numbers.
            let blocked = arr(o, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "ReplicaFailure" && s(c, "/status") == "True")
                .map(|c| format!(" (blocked: ReplicaFailure {})", s(c, "/reason")))
                .unwrap_or_default();
            if updated < want && total == updated {
                // No old revision's pods: more replicas were asked for (an autoscaler,
                // a scale), not a new revision being rolled out.
                format!("scaling out: {updated} of {want} replicas created{blocked}")
            } else if updated < want {
                format!("in progress: {updated} of {want} new replicas updated{blocked}")
            } else if total > updated {
                format!(
                    "in progress: {} old replicas pending termination",
                    total - updated
                )
            } else if available < updated {
                format!("in progress: {available} of {updated} updated replicas available")
            } else {
                "complete".into()
            }
        }
        "StatefulSet" => {
            let want = opt_i(o, "/spec/replicas").unwrap_or(1);
            let ready = i(o, "/status/readyReplicas");
            let updated = i(o, "/status/updatedReplicas");
            if ready < want {
                format!("in progress: {ready} of {want} pods ready")
            } else if s(o, "/status/updateRevision") != s(o, "/status/currentRevision")
                && updated < want
            {
                format!("in progress: {updated} of {want} pods at the update revision")
            } else {
                "complete".into()
            }
        }
        _ => {
            let want = i(o, "/status/desiredNumberScheduled");
            let updated = i(o, "/status/updatedNumberScheduled");
            let available = i(o, "/status/numberAvailable");
            if updated < want {
                format!("in progress: {updated} of {want} updated pods scheduled")
            } else if available < want {
                format!("in progress: {available} of {want} updated pods available")
            } else {
                "complete".into()
            }
        }
    }
}

/// One line summarising pods: counts per status and the names of unhealthy ones.
pub fn pods_summary(now: Timestamp, ps: &[Value]) -> String {
    let mut by_status: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in ps {
        let st = if pods::is_healthy(p, now) {
            "healthy".to_string()
        } else {
            pods::status(p)
        };
        by_status.entry(st).or_default().push(p);
    }
    let mut parts = Vec::new();
    for (st, list) in &by_status {
        if st == "healthy" {
            parts.push(format!("{} healthy", list.len()));
        } else {
            let names: Vec<String> = list
                .iter()
                .take(8)
                .map(|p| {
                    let n = pods::note(p, now);
                    if n.is_empty() {
                        name(p).to_string()
                    } else {
                        format!("{} [{}]", name(p), clip(&n, 90))
                    }
                })
                .collect();
            let more = if list.len() > 8 {
                format!(" and {} more", list.len() - 8)
            } else {
                String::new()
            };
            parts.push(format!("{} {st}: {}{more}", list.len(), names.join(", ")));
        }
    }
    format!("pods: {} — {}\n", ps.len(), parts.join("; "))
}

/// `label count · label count …` for the status counts at `fields`
/// (`(label, pointer)`; a missing count is 0).
fn counts(o: &Value, fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(label, ptr)| format!("{label} {}", i(o, ptr)))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) async fn workload_section(
    t: &Target,
    r: &ResourceInfo,
    o: &Value,
    related: &mut BTreeSet<String>,
) -> Result<String> {
    let now = t.now();
    let ns = namespace(o);
    let mut out = String::new();
    match r.kind.as_str() {
        "Deployment" => {
            // A rolling update's bounds: a number or a percentage, 25% unless set.
            let bound = |ru: &Value, key: &str| {
                ru.get(key)
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or("25%".into())
            };
            out.push_str(&format!(
                "replicas: desired {} · {}\nstrategy: {}{}\n",
                opt_i(o, "/spec/replicas").unwrap_or(1),
                counts(
                    o,
                    &[
                        ("updated", "/status/updatedReplicas"),
                        ("ready", "/status/readyReplicas"),
                        ("available", "/status/availableReplicas"),
                        ("unavailable", "/status/unavailableReplicas"),
                    ]
                ),
                opt_s(o, "/spec/strategy/type").unwrap_or("RollingUpdate"),
                o.pointer("/spec/strategy/rollingUpdate")
                    .map(|ru| format!(
                        " (maxSurge {}, maxUnavailable {})",
                        bound(ru, "maxSurge"),
                        bound(ru, "maxUnavailable")
                    ))
                    .unwrap_or_default()
            ))
        }
        "StatefulSet" => out.push_str(&format!(
            "replicas: desired {} · {} · revision current {} update {}\n",
            opt_i(o, "/spec/replicas").unwrap_or(1),
            counts(
                o,
                &[
                    ("ready", "/status/readyReplicas"),
                    ("current", "/status/currentReplicas"),
                    ("updated", "/status/updatedReplicas"),
                ]
            ),
            s(o, "/status/currentRevision"),
            s(o, "/status/updateRevision"),
        )),
        _ => out.push_str(&format!(
            "pods: {}\n",
            counts(
                o,
                &[
                    ("desired", "/status/desiredNumberScheduled"),
                    ("current", "/status/currentNumberScheduled"),
                    ("ready", "/status/numberReady"),
                    ("updated", "/status/updatedNumberScheduled"),
                    ("available", "/status/numberAvailable"),
                    ("unavailable", "/status/numberUnavailable"),
                    ("misscheduled", "/status/numberMisscheduled"),
                ]
            ),
        )),
    }
    out.push_str(&format!("rollout: {}\n", rollout_status(&r.kind, o)));
    let sel = selector_string(o);
    out.push_str(&format!("selector: {sel}\n"));
    let imgs: Vec<String> = arr(o, "/spec/template/spec/containers")
        .iter()
        .map(|c| format!("{}={}", s(c, "/name"), s(c, "/image")))
        .collect();
    out.push_str(&format!("images: {}\n", imgs.join(", ")));
    if let Some(spec) = o.pointer("/spec/template/spec") {
        out.push_str(&detail::template_containers(spec));
    }
    if r.kind == "Deployment" {
        let uid = s(o, "/metadata/uid");
        let rs = t.list(&kinds::replicasets(), Some(ns), None, None).await?;
        let mut mine: Vec<&Value> = rs
            .items
            .iter()
            .filter(|x| {
                arr(x, "/metadata/ownerReferences").iter().any(|or| {
                    s(or, "/uid") == uid && !uid.is_empty()
                        || (s(or, "/kind") == "Deployment" && s(or, "/name") == name(o))
                })
            })
            .collect();
        mine.sort_by_key(|x| std::cmp::Reverse(revision(x)));
        let mut tb = Table::new(&[
            "REPLICASET",
            "REVISION",
            "DESIRED",
            "READY",
            "AGE",
            "IMAGES",
        ]);
        for x in &mine {
            related.insert(format!("ReplicaSet/{}", name(x)));
            tb.row(vec![
                name(x).into(),
                revision(x).to_string(),
                i(x, "/spec/replicas").to_string(),
                i(x, "/status/readyReplicas").to_string(),
                age(now, crate::value::created(x)),
                arr(x, "/spec/template/spec/containers")
                    .iter()
                    .map(|c| short_image(s(c, "/image")))
                    .collect::<Vec<_>>()
                    .join(","),
            ]);
        }
        if !mine.is_empty() {
            out.push_str(&format!(
                "replicasets (newest revision first):\n{}",
                tb.render("  ")
            ));
        }
    }
    if !sel.is_empty() {
        let ps = t.list(&kinds::pods(), Some(ns), Some(&sel), None).await?;
        for p in &ps.items {
            related.insert(format!("Pod/{}", name(p)));
        }
        out.push_str(&pods_summary(now, &ps.items));
    }
    Ok(out)
}

/// The revision annotation of a ReplicaSet, Deployment or Argo Rollout:
/// `deployment.kubernetes.io/revision`, else `rollout.argoproj.io/revision` (0 when absent).
pub fn revision(rs: &Value) -> i64 {
    [
        "/metadata/annotations/deployment.kubernetes.io~1revision",
        "/metadata/annotations/rollout.argoproj.io~1revision",
    ]
    .iter()
    .find_map(|p| s(rs, p).parse().ok())
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::rollout_status;
    use serde_json::json;

    /// More replicas asked for with no old revision's pods is a scale-out, not a rollout;
    /// a ReplicaFailure holding it back is named beside the numbers.
    #[test]
    fn a_blocked_scale_out_is_not_a_rollout_in_progress() {
        let scale = |conditions: serde_json::Value| {
            json!({"metadata": {"generation": 7}, "spec": {"replicas": 14},
                "status": {"observedGeneration": 7, "replicas": 8, "updatedReplicas": 8,
                    "availableReplicas": 8, "conditions": conditions}})
        };
        assert_eq!(
            rollout_status("Deployment", &scale(json!([]))),
            "scaling out: 8 of 14 replicas created"
        );
        let quota = json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"a\" is forbidden: exceeded quota: compute"}]);
        assert_eq!(
            rollout_status("Deployment", &scale(quota)),
            "scaling out: 8 of 14 replicas created (blocked: ReplicaFailure FailedCreate)"
        );
        // A new revision with old pods still running is a rollout.
        let rollout = json!({"spec": {"replicas": 4},
            "status": {"replicas": 5, "updatedReplicas": 1, "availableReplicas": 4}});
        assert_eq!(
            rollout_status("Deployment", &rollout),
            "in progress: 1 of 4 new replicas updated"
        );
    }
}
