//! How a pod is doing, computed the way kubectl computes its STATUS column, plus the
//! facts an investigation starts from: readiness, restarts, the last termination and the
//! workload that owns the pod.
//!
//! [`problems`] is the one judgement of whether a pod needs attention: `workload_health`
//! turns its answers into findings and `list` names exactly those pods individually (see
//! [`is_healthy`]), so the two tools never disagree about which pods are unhealthy.

use jiff::Timestamp;
use serde_json::Value;

use super::events::EventGroup;
use crate::value::{ago, arr, i, message, opt_s, s, ts};

/// Restart count from which a ready pod is still listed individually as flapping.
pub const FLAPPING_RESTARTS: i64 = 3;

/// How long a pod may stay Pending (scheduled, or not yet judged by the scheduler) before
/// it is a problem rather than a pod that is starting.
pub const PENDING_GRACE_SECS: i64 = 300;

/// How long past its deletion deadline (`metadata.deletionTimestamp`, the request time plus
/// the grace period) a pod may still exist before it is stuck rather than shutting down: the
/// kubelet of a NotReady node never confirms the deletion, and a finalizer can hold it.
pub const TERMINATING_GRACE_SECS: i64 = 300;

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

/// One reason a pod needs attention.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Severity.
    pub severity: Severity,
    /// Short reason, e.g. `CrashLoopBackOff`, `OOMKilled`, `Unschedulable`.
    pub reason: String,
    /// Evidence lines.
    pub evidence: Vec<String>,
    /// When it started, as far as the pod (and its events) record it.
    pub since: Option<Timestamp>,
}

fn first_event(events: &[EventGroup], reasons: &[&str]) -> Option<Timestamp> {
    events
        .iter()
        .filter(|e| reasons.contains(&e.reason.as_str()))
        .filter_map(|e| e.first)
        .min()
}

/// Why `pod` needs attention; empty when it does not. `restart_threshold` is the restart
/// count from which a running container is reported (`HighRestarts`); `events` are the
/// pod's deduplicated events (empty when the caller has not read them: they only add
/// start times, evidence and failing-probe problems).
pub fn problems(
    p: &Value,
    now: Timestamp,
    restart_threshold: i64,
    events: &[EventGroup],
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut add = |severity, reason: &str, evidence, since| {
        out.push(Problem {
            severity,
            reason: reason.to_string(),
            evidence,
            since,
        })
    };
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
                ago(now, ts(t, "/finishedAt"))
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
                    ev.push(format!("termination message: {}", message(m)));
                }
                let since = first_event(events, &["BackOff"]).or(started);
                add(Severity::Critical, "CrashLoopBackOff", ev, since);
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
                    ev.push(message(m));
                } else if let Some(e) = events.iter().find(|e| e.reason == "Failed") {
                    ev.push(message(&e.message));
                }
                let since = first_event(events, &["Failed", "BackOff"]).or(started);
                add(Severity::Critical, "ImagePullBackOff", ev, since);
                found = true;
            }
            "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
                let ev = vec![format!(
                    "container {cname}: {}",
                    message(s(c, "/state/waiting/message"))
                )];
                let since = first_event(events, &["Failed"]).or(started);
                add(Severity::Critical, waiting, ev, since);
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
                ago(now, ts(t, "/finishedAt"))
            )];
            add(Severity::Critical, "OOMKilled", ev, ts(t, "/finishedAt"));
            found = true;
        }
        if !found && restarts >= restart_threshold {
            let ev = vec![last_line.unwrap_or(format!("container {cname}: restarts {restarts}"))];
            add(Severity::Warning, "HighRestarts", ev, started);
            found = true;
        }
    }
    if let Some(deadline) = ts(p, "/metadata/deletionTimestamp") {
        let over = now.as_second() - deadline.as_second();
        if over > TERMINATING_GRACE_SECS {
            // `deletionTimestamp` is the request time plus the grace period.
            let asked = deadline.as_second() - i(p, "/metadata/deletionGracePeriodSeconds");
            let mut ev = vec![format!(
                "Terminating {} on node {}",
                crate::value::fmt_secs(now.as_second() - asked),
                opt_s(p, "/spec/nodeName").unwrap_or("<none>")
            )];
            let finalizers: Vec<&str> = arr(p, "/metadata/finalizers")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if !finalizers.is_empty() {
                ev.push(format!("finalizers: {}", finalizers.join(", ")));
            }
            add(Severity::Warning, "StuckTerminating", ev, Some(deadline));
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
                    message(s(c, "/message"))
                )];
                if let Some(e) = events.iter().find(|e| e.reason == "FailedScheduling") {
                    if e.message.trim() != s(c, "/message").trim() {
                        ev.push(format!("scheduler ({}x): {}", e.count, message(&e.message)));
                    } else {
                        ev.push(format!("FailedScheduling seen {}x", e.count));
                    }
                }
                let since = ts(c, "/lastTransitionTime").or(started);
                add(Severity::Warning, "Unschedulable", ev, since);
            }
            None => {
                let age_secs = crate::value::created(p)
                    .map(|c| now.as_second() - c.as_second())
                    .unwrap_or(0);
                if age_secs > PENDING_GRACE_SECS {
                    let mut ev = vec![format!(
                        "pending for {}: {}",
                        crate::value::fmt_secs(age_secs),
                        status(p)
                    )];
                    ev.extend(init_blocker(p, now));
                    add(Severity::Warning, "Pending", ev, crate::value::created(p));
                }
            }
        }
        found = true;
    }
    if phase == "Failed" {
        let mut ev = Vec::new();
        if let Some(r) = opt_s(p, "/status/reason") {
            ev.push(format!("{r}: {}", message(s(p, "/status/message"))));
        }
        if let Some(t) = last_termination(p) {
            ev.push(format!(
                "container {}: exit {} ({}) {}",
                t.container,
                t.reason,
                t.exit_code,
                ago(now, t.finished)
            ));
        }
        let reason = opt_s(p, "/status/reason").unwrap_or("PodFailed");
        // When it failed, not when it was created: a pod evicted a minute ago
        // may be days old. The event of its reason (`Evicted`), else its last
        // container's end, else when it stopped being ready.
        let since = first_event(events, &[reason])
            .or_else(|| last_termination(p).and_then(|t| t.finished))
            .or_else(|| {
                arr(p, "/status/conditions")
                    .iter()
                    .find(|c| s(c, "/type") == "Ready" && s(c, "/status") != "True")
                    .and_then(|c| ts(c, "/lastTransitionTime"))
            })
            .or_else(|| crate::value::created(p));
        add(Severity::Warning, reason, ev, since);
        found = true;
    }
    // Failing probes: Unhealthy events.
    let probe_events: Vec<&EventGroup> =
        events.iter().filter(|e| e.reason == "Unhealthy").collect();
    if !probe_events.is_empty() {
        let ev: Vec<String> = probe_events
            .iter()
            .take(2)
            .map(|e| format!("{}x {}", e.count, message(&e.message)))
            .collect();
        let since = probe_events.iter().filter_map(|e| e.first).min();
        let (r, tot) = ready(p);
        let sev = if r < tot {
            Severity::Warning
        } else {
            Severity::Info
        };
        add(sev, "ProbeFailing", ev, since);
        found = true;
    }
    if !found && phase == "Running" && p.pointer("/metadata/deletionTimestamp").is_none() {
        let (r, tot) = ready(p);
        if r < tot {
            let since = arr(p, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Ready")
                .and_then(|c| ts(c, "/lastTransitionTime"));
            add(
                Severity::Warning,
                "NotReady",
                vec![format!("{r}/{tot} containers ready")],
                since,
            );
        }
    }
    out
}

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

/// The init container that holds a pod in `Init:N/M`, and why: the first one that has not
/// completed, with its state (running since, or waiting and why), restarts and last
/// termination. `None` when every init container completed (or there are none).
pub fn init_blocker(pod: &Value, now: Timestamp) -> Option<String> {
    let specs = arr(pod, "/spec/initContainers");
    let statuses = arr(pod, "/status/initContainerStatuses");
    let total = specs.len().max(statuses.len());
    for idx in 0..total {
        let cname = specs
            .get(idx)
            .map(|c| s(c, "/name"))
            .or_else(|| statuses.get(idx).map(|c| s(c, "/name")))
            .unwrap_or("?");
        let Some(c) = statuses.iter().find(|c| s(c, "/name") == cname) else {
            return Some(format!(
                "init container {cname} ({} of {total}): not started",
                idx + 1
            ));
        };
        let done = c
            .pointer("/state/terminated")
            .is_some_and(|t| i(t, "/exitCode") == 0);
        if done {
            continue;
        }
        let state = if let Some(r) = c.pointer("/state/running") {
            format!("running since {}", ago(now, ts(r, "/startedAt")))
        } else if let Some(w) = c.pointer("/state/waiting") {
            let why = opt_s(w, "/message")
                .map(|m| format!(": {}", crate::value::clip(m, 160)))
                .unwrap_or_default();
            format!(
                "waiting {}{why}",
                opt_s(w, "/reason").unwrap_or("(no reason)")
            )
        } else if let Some(t) = c.pointer("/state/terminated") {
            format!(
                "exited {} ({})",
                opt_s(t, "/reason").unwrap_or("Error"),
                i(t, "/exitCode")
            )
        } else {
            "state unknown".to_string()
        };
        let mut line = format!(
            "init container {cname} ({} of {total}): {state}, restarts {}",
            idx + 1,
            i(c, "/restartCount")
        );
        if let Some(t) = c.pointer("/lastState/terminated") {
            line.push_str(&format!(
                ", last exit {} ({}) {}",
                opt_s(t, "/reason").unwrap_or("Terminated"),
                i(t, "/exitCode"),
                ago(now, ts(t, "/finishedAt"))
            ));
            if let Some(m) = opt_s(t, "/message") {
                line.push_str(&format!(": {}", crate::value::clip(m, 160)));
            }
        }
        return Some(line);
    }
    None
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

/// Total restarts over all containers, init containers included (kubectl's RESTARTS column
/// counts both: a pod whose init container failed twice shows 2).
pub fn restarts(pod: &Value) -> i64 {
    arr(pod, "/status/containerStatuses")
        .iter()
        .chain(arr(pod, "/status/initContainerStatuses"))
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

/// Whether a pod needs no attention: [`problems`] finds none (with the flapping restart
/// threshold and no events), the same judgement `workload_health` makes. A pod that is
/// starting (Pending for less than [`PENDING_GRACE_SECS`] and not refused by the
/// scheduler) or terminating (less than [`TERMINATING_GRACE_SECS`] past its deletion
/// deadline) is not a problem yet.
pub fn is_healthy(pod: &Value, now: Timestamp) -> bool {
    problems(pod, now, FLAPPING_RESTARTS, &[]).is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An evicted pod is dated by its eviction, not by its creation nine days
    /// before (a blind set's author read "Evicted (since 9d ago)" for an
    /// eviction 95 seconds old).
    #[test]
    fn a_failed_pod_is_dated_by_its_failure() {
        let now: Timestamp = "2026-12-19T10:40:00Z".parse().unwrap();
        let pod = serde_json::json!({
            "metadata": {"name": "picking-7x-2hkhb", "namespace": "collect",
                         "creationTimestamp": "2026-12-10T08:00:00Z"},
            "status": {"phase": "Failed", "reason": "Evicted",
                       "message": "The node was low on resource: ephemeral-storage.",
                       "startTime": "2026-12-10T08:00:02Z",
                       "conditions": [{"type": "Ready", "status": "False",
                                       "lastTransitionTime": "2026-12-19T10:38:25Z"}]}
        });
        let found = problems(&pod, now, 3, &[]);
        let evicted = found.iter().find(|p| p.reason == "Evicted").unwrap();
        assert_eq!(evicted.since, "2026-12-19T10:38:25Z".parse().ok());
        // Without conditions or events, its creation is all there is.
        let mut bare = pod.clone();
        bare["status"]["conditions"] = serde_json::json!([]);
        let found = problems(&bare, now, 3, &[]);
        assert_eq!(found[0].since, "2026-12-10T08:00:00Z".parse().ok());
    }
}
