//! Pod findings: each pod's problems as findings, how long workloads have been short of
//! ready pods, and the grouping that reports pods of one workload failing for the same
//! reason once. Apart from the workload checks because a pod's judgement is shared with
//! `list` (see [`pods::problems`]); here it only becomes findings.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::{Ctx, Finding, Severity, cond, push};
use crate::ops::pods;
use crate::value::{name, namespace, s, ts};

/// A pod's problems ([`pods::problems`], the judgement `list` shares) as findings.
pub(super) fn pod_findings(cx: &Ctx, p: &Value, threshold: i64, out: &mut Vec<Finding>) {
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

/// For each workload (`(namespace, "Kind/name")`), since when its longest-unready current pod
/// has been unready: the Ready condition's last transition, or the pod's creation when it
/// never became ready. A lower bound of how long the workload has been short of replicas.
pub(super) fn unready_since(pods_: &[Value]) -> BTreeMap<(String, String), Timestamp> {
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

/// Groups pod findings of one workload with the same reason into one finding naming every pod.
pub(super) fn group_pods(findings: Vec<Finding>, pods_: &[Value]) -> Vec<Finding> {
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
