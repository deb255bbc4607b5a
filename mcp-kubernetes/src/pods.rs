//! How a pod is doing, computed the way kubectl computes its STATUS column, plus the
//! facts an investigation starts from: readiness, restarts, the last termination and the
//! workload that owns the pod.

use jiff::Timestamp;
use serde_json::Value;

use crate::value::{arr, i, opt_s, s, ts};

/// Restart count from which a ready pod is still listed individually as flapping.
pub const FLAPPING_RESTARTS: i64 = 3;

/// kubectl's STATUS column for a pod (`Running`, `CrashLoopBackOff`, `Init:0/1`, `OOMKilled`, …).
pub fn status(pod: &Value) -> String {
    let mut reason = opt_s(pod, "/status/reason")
        .or_else(|| opt_s(pod, "/status/phase"))
        .unwrap_or("Unknown")
        .to_string();
    let inits = arr(pod, "/status/initContainerStatuses");
    let n_init = arr(pod, "/spec/initContainers").len().max(inits.len());
    let mut initializing = false;
    for (idx, c) in inits.iter().enumerate() {
        if let Some(t) = c.pointer("/state/terminated") {
            if i(t, "/exitCode") == 0 {
                continue;
            }
            reason = match opt_s(t, "/reason") {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", i(t, "/exitCode")),
            };
        } else if let Some(r) =
            opt_s(c, "/state/waiting/reason").filter(|r| *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{idx}/{n_init}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in arr(pod, "/status/containerStatuses").iter().rev() {
            if let Some(r) = opt_s(c, "/state/waiting/reason") {
                reason = r.to_string();
            } else if let Some(t) = c.pointer("/state/terminated") {
                reason = match opt_s(t, "/reason") {
                    Some(r) => r.to_string(),
                    None => format!("ExitCode:{}", i(t, "/exitCode")),
                };
            } else if c.pointer("/state/running").is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if s(pod, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    reason
}

/// (ready containers, containers).
pub fn ready(pod: &Value) -> (usize, usize) {
    let statuses = arr(pod, "/status/containerStatuses");
    let total = arr(pod, "/spec/containers").len().max(statuses.len());
    let ready = statuses
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    (ready, total)
}

/// Total restarts over all containers.
pub fn restarts(pod: &Value) -> i64 {
    arr(pod, "/status/containerStatuses")
        .iter()
        .map(|c| i(c, "/restartCount"))
        .sum()
}

/// The most recent termination of any container.
#[derive(Debug, Clone, PartialEq)]
pub struct Termination {
    /// Container name.
    pub container: String,
    /// Reason (`OOMKilled`, `Error`, `Completed`).
    pub reason: String,
    /// Exit code.
    pub exit_code: i64,
    /// When it finished.
    pub finished: Option<Timestamp>,
}

/// The latest `lastState.terminated` (or current `state.terminated`) among the pod's containers.
pub fn last_termination(pod: &Value) -> Option<Termination> {
    let mut best: Option<Termination> = None;
    for c in arr(pod, "/status/containerStatuses") {
        for ptr in ["/lastState/terminated", "/state/terminated"] {
            if let Some(t) = c.pointer(ptr) {
                let cand = Termination {
                    container: s(c, "/name").to_string(),
                    reason: opt_s(t, "/reason").unwrap_or("Terminated").to_string(),
                    exit_code: i(t, "/exitCode"),
                    finished: ts(t, "/finishedAt"),
                };
                if best.as_ref().is_none_or(|b| cand.finished > b.finished) {
                    best = Some(cand);
                }
            }
        }
    }
    best
}

/// Whether a pod needs no attention: running with every container ready (and not flapping), or completed.
pub fn is_healthy(pod: &Value) -> bool {
    let st = status(pod);
    if st == "Completed" || st == "Succeeded" {
        return true;
    }
    let (r, t) = ready(pod);
    st == "Running" && r == t && restarts(pod) < FLAPPING_RESTARTS
}

/// The workload a pod belongs to: `(kind, name)`. A ReplicaSet created by a Deployment is
/// mapped to the Deployment using the `pod-template-hash` label, without extra API calls.
pub fn workload(pod: &Value) -> (String, String) {
    match crate::value::controller_owner(pod) {
        Some(("ReplicaSet", rs)) => {
            let hash = s(pod, "/metadata/labels/pod-template-hash");
            match rs.strip_suffix(hash).and_then(|x| x.strip_suffix('-')) {
                Some(dep) if !hash.is_empty() => ("Deployment".into(), dep.to_string()),
                _ => ("ReplicaSet".into(), rs.to_string()),
            }
        }
        Some(("Job", job)) => {
            // CronJob jobs are named CRONJOB-<digits>.
            match job.rsplit_once('-') {
                Some((cj, n)) if n.len() >= 8 && n.chars().all(|c| c.is_ascii_digit()) => {
                    ("CronJob".into(), cj.to_string())
                }
                _ => ("Job".into(), job.to_string()),
            }
        }
        Some((k, n)) => (k.to_string(), n.to_string()),
        None => ("(none)".into(), "standalone pods".into()),
    }
}

/// A short note on why a pod is unhealthy: waiting messages, last termination, unschedulable reason.
pub fn note(pod: &Value, now: Timestamp) -> String {
    let mut parts = Vec::new();
    if let Some(t) = last_termination(pod) {
        parts.push(format!(
            "last exit {} ({}) {}{}",
            t.reason,
            t.exit_code,
            crate::value::ago(now, t.finished),
            if arr(pod, "/spec/containers").len() > 1 {
                format!(" [{}]", t.container)
            } else {
                String::new()
            }
        ));
    }
    for c in arr(pod, "/status/containerStatuses")
        .iter()
        .chain(arr(pod, "/status/initContainerStatuses"))
    {
        if let Some(msg) = opt_s(c, "/state/waiting/message") {
            let reason = s(c, "/state/waiting/reason");
            if reason != "CrashLoopBackOff" {
                parts.push(crate::value::clip(msg, 110));
            }
        }
    }
    for cond in arr(pod, "/status/conditions") {
        if s(cond, "/type") == "PodScheduled" && s(cond, "/status") == "False" {
            parts.push(crate::value::clip(
                &format!("{}: {}", s(cond, "/reason"), s(cond, "/message")),
                140,
            ));
        }
    }
    if let Some(msg) = opt_s(pod, "/status/message") {
        parts.push(crate::value::clip(msg, 110));
    }
    parts.join("; ")
}
