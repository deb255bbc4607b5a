//! The failure kinds the engine names, and what it says and suggests for each.
//!
//! Kinds are short machine-comparable strings (the evaluation compares them
//! with each scenario's `expected.kind`); the vocabulary is documented in
//! `fixtures/scenarios/README.md`.

use super::rules::Suspect;
use crate::rca::{Remediation, Risk, ToolAction};
use crate::router::Category;

/// Every root-cause kind the engine can name, with its category.
pub const ALL: &[(&str, Category)] = &[
    ("oom_killed", Category::Resource),
    ("hpa_maxed", Category::Resource),
    ("noisy_neighbor", Category::Resource),
    ("cpu_throttling", Category::Resource),
    ("bad_deploy", Category::Application),
    ("missing_config", Category::Application),
    ("crash_loop", Category::Application),
    ("new_error", Category::Application),
    ("latency_regression", Category::Application),
    ("error_surge", Category::Application),
    ("missing_index", Category::Database),
    ("connection_pool_exhausted", Category::Database),
    ("dependency_unreachable", Category::Network),
    ("certificate_expired", Category::Network),
    ("credentials_expired", Category::Network),
    ("node_failure", Category::Infrastructure),
    ("image_pull_error", Category::Infrastructure),
    ("unschedulable", Category::Infrastructure),
    ("evicted", Category::Infrastructure),
    ("probe_failing", Category::Application),
    ("job_failed", Category::Application),
    ("pvc_unbound", Category::Infrastructure),
    ("volume_full", Category::Infrastructure),
    ("quota_exceeded", Category::Resource),
    ("hpa_misconfigured", Category::Resource),
    ("network_policy_blocked", Category::Network),
    ("rate_limited", Category::Network),
    ("authorization_denied", Category::Network),
    ("replication_lag", Category::Database),
    ("lock_contention", Category::Database),
    ("init_container_stuck", Category::Application),
    ("consumer_lag", Category::Application),
];

/// The category of a kind.
pub fn category(kind: &str) -> Option<Category> {
    ALL.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c)
}

/// A few words for a summary line.
pub fn headline(kind: &str) -> &'static str {
    match kind {
        "oom_killed" => "containers OOMKilled",
        "hpa_maxed" => "autoscaler pinned at max replicas under load",
        "noisy_neighbor" => "CPU starved by a noisy neighbour",
        "cpu_throttling" => "CPU throttled at its limit",
        "bad_deploy" => "a bad deploy",
        "missing_config" => "missing configuration crashes the container",
        "crash_loop" => "containers crash-looping",
        "new_error" => "a new error in the application",
        "latency_regression" => "latency regression in a dependency",
        "error_surge" => "errors in a dependency",
        "missing_index" => "slow collection scans (missing index)",
        "connection_pool_exhausted" => "database connection pool exhausted",
        "dependency_unreachable" => "a dependency is unreachable",
        "certificate_expired" => "an expired TLS certificate",
        "credentials_expired" => "expired credentials",
        "node_failure" => "a failing node",
        "image_pull_error" => "image cannot be pulled",
        "unschedulable" => "pods cannot be scheduled",
        "evicted" => "pods evicted",
        "probe_failing" => "probes failing",
        "job_failed" => "a job failed",
        "pvc_unbound" => "a volume claim cannot bind",
        "volume_full" => "a volume is full",
        "quota_exceeded" => "a resource quota blocks new pods",
        "hpa_misconfigured" => "the autoscaler cannot scale its target",
        "network_policy_blocked" => "a NetworkPolicy drops the traffic",
        "rate_limited" => "requests are rate-limited",
        "authorization_denied" => "requests are denied authorization",
        "replication_lag" => "database replication lags or has no primary",
        "lock_contention" => "database lock contention",
        "init_container_stuck" => "an init container does not finish",
        "consumer_lag" => "a queue consumer falls behind",
        _ => "an unclassified failure",
    }
}

/// One or two sentences on a suspect, built from its strongest evidence.
pub fn describe(s: &Suspect) -> String {
    let c = &s.component;
    let lead = match s.kind {
        "oom_killed" => {
            format!("{c} is being OOMKilled: its containers exceed their memory limit.")
        }
        "hpa_maxed" => format!(
            "{c}'s autoscaler is at its maximum replicas while load keeps rising, so it cannot scale out further."
        ),
        "noisy_neighbor" => format!(
            "{c} consumes most of its node's CPU without a CPU limit, starving the workloads next to it."
        ),
        "cpu_throttling" => format!("{c} runs at its CPU limit and is throttled."),
        "bad_deploy" => format!(
            "The latest rollout of {c} introduced failures: new errors began right after it."
        ),
        "missing_config" => {
            format!("{c} crashes at start-up because configuration it needs is missing.")
        }
        "crash_loop" => format!("{c}'s containers keep crashing."),
        "new_error" => format!("{c} started logging a new error."),
        "latency_regression" => {
            format!("{c} became slow, and the services that call it wait on it.")
        }
        "error_surge" => format!("{c} is failing, and the services that call it fail with it."),
        "missing_index" => format!(
            "Queries on {c} scan the whole collection (COLLSCAN) because no index supports them, saturating the database."
        ),
        "connection_pool_exhausted" => format!(
            "{c} has run out of database connections in its pool; requests wait and time out."
        ),
        "dependency_unreachable" => {
            format!("{c} cannot be reached by its callers (DNS or connection failures).")
        }
        "certificate_expired" => {
            format!("The TLS certificate of {c} has expired, so calls to it fail the handshake.")
        }
        "credentials_expired" => {
            format!("The credentials used against {c} are expired or invalid.")
        }
        "node_failure" => {
            format!("Node {c} is unhealthy, and the pods on it are failing or being evicted.")
        }
        "evicted" if is_node(s) => format!(
            "Node {c} is short of disk or memory: its kubelet reports the pressure and evicts pods to reclaim it."
        ),
        "quota_exceeded" => format!(
            "ResourceQuota {c} is spent: the controllers may not create the pods the workloads need."
        ),
        "image_pull_error" => format!("{c}'s new pods cannot pull their image."),
        "unschedulable" if is_pool(s) => format!(
            "NodePool {c} is at its limit: its provisioner launches no node for the pods waiting on it."
        ),
        "unschedulable" => format!("{c}'s pods cannot be scheduled."),
        _ => format!("{c}: {}.", headline(s.kind)),
    };
    match s.signals.iter().find(|x| x.weight > 0.0) {
        Some(top) => format!("{lead} Strongest evidence: {}", top.detail),
        None => lead,
    }
}

/// Whether a suspect is a node: its evidence names it as one (a health
/// finding or event on `Node/NAME`). Evictions name either the node short
/// of a resource or the workload that took it; the words differ.
fn is_node(s: &Suspect) -> bool {
    let object = format!("Node/{}", s.component);
    s.signals.iter().any(|x| x.detail.contains(&object))
}

/// Whether a suspect is a node pool its provisioner will not grow (see
/// `quota::quota_objects`): the workloads it holds back are named so.
fn is_pool(s: &Suspect) -> bool {
    let object = format!("NodePool {} holds back", s.component);
    s.signals.iter().any(|x| x.detail.starts_with(&object))
}

/// Whether a suspect is a Calico GlobalNetworkPolicy (see
/// `World::blocking_policy`): the evidence names it so.
fn is_global_policy(s: &Suspect) -> bool {
    names_object(s, "GlobalNetworkPolicy")
}

/// The namespace of the suspect when it is a namespaced Calico
/// NetworkPolicy (`Blocker::why` says where it lives).
fn calico_policy_namespace(s: &Suspect) -> Option<&str> {
    let object = format!("Calico NetworkPolicy {} in namespace ", s.component);
    s.signals.iter().find_map(|x| {
        let (_, rest) = x.detail.split_once(&object)?;
        rest.split_whitespace().next()
    })
}

/// Whether the suspect's evidence names it as an object of `kind`.
fn names_object(s: &Suspect, kind: &str) -> bool {
    let object = format!("{kind} {}", s.component);
    s.signals.iter().any(|x| x.detail.contains(&object))
}

/// Suggested steps. Never executed by the investigation.
pub fn remediation(s: &Suspect, namespace: Option<&str>) -> Vec<Remediation> {
    let ns = namespace.map(|n| format!(" -n {n}")).unwrap_or_default();
    let c = &s.component;
    let step = |action: String, risk: Risk, command: Option<String>| Remediation {
        action,
        risk,
        command,
        tool: None,
    };
    // The same step as mcp-kubernetes' write tool, for `serve` to run after
    // an approval. Arguments name the workload exactly as the command does.
    let workload = |tool: &str, extra: serde_json::Value| {
        let mut arguments = serde_json::json!({"kind": "deployment", "name": c});
        if let Some(ns) = namespace {
            arguments["namespace"] = ns.into();
        }
        if let (Some(args), serde_json::Value::Object(more)) = (arguments.as_object_mut(), extra) {
            args.extend(more);
        }
        Some(ToolAction {
            tool: tool.to_string(),
            arguments,
        })
    };
    let runnable = |mut r: Remediation, tool: Option<ToolAction>| {
        r.tool = tool;
        r
    };
    match s.kind {
        "oom_killed" => vec![
            step(
                format!("Check {c}'s memory usage against its limit and the last change to it"),
                Risk::Low,
                Some(format!("kubectl{ns} rollout history deployment/{c}")),
            ),
            runnable(
                step(
                    format!("Roll {c} back to the previous revision, or raise its memory limit"),
                    Risk::Medium,
                    Some(format!("kubectl{ns} rollout undo deployment/{c}")),
                ),
                workload("rollout_undo", serde_json::json!({})),
            ),
        ],
        "bad_deploy" | "missing_config" | "image_pull_error" | "crash_loop" | "new_error" => vec![
            step(
                format!("Compare {c}'s current and previous revision"),
                Risk::Low,
                Some(format!("kubectl{ns} rollout history deployment/{c}")),
            ),
            runnable(
                step(
                    format!("Roll {c} back to the last good revision"),
                    Risk::Medium,
                    Some(format!("kubectl{ns} rollout undo deployment/{c}")),
                ),
                workload("rollout_undo", serde_json::json!({})),
            ),
        ],
        "hpa_maxed" => vec![
            step(
                "Confirm the traffic increase is legitimate (not a retry storm or a bot)"
                    .to_string(),
                Risk::Low,
                None,
            ),
            step(
                format!("Raise {c}'s HPA maxReplicas if the cluster has room"),
                Risk::Medium,
                Some(format!(
                    "kubectl{ns} patch hpa {c} -p '{{\"spec\":{{\"maxReplicas\":<N>}}}}'"
                )),
            ),
        ],
        "noisy_neighbor" => vec![
            step(
                format!("Give {c} a CPU limit, or move it to its own node pool"),
                Risk::Medium,
                None,
            ),
            runnable(
                step(
                    format!("Pause or scale down {c} while the incident lasts"),
                    Risk::Medium,
                    Some(format!("kubectl{ns} scale deployment/{c} --replicas=0")),
                ),
                workload("scale", serde_json::json!({"replicas": 0})),
            ),
        ],
        "cpu_throttling" => vec![step(
            format!("Raise {c}'s CPU limit or scale it out"),
            Risk::Medium,
            None,
        )],
        "missing_index" => vec![
            step(
                format!(
                    "Explain the slow query shape on {c} and create the index it needs (build it in the background, off-peak if the collection is large)"
                ),
                Risk::Medium,
                None,
            ),
            step(
                "Kill runaway COLLSCAN operations if the database is saturated".to_string(),
                Risk::Medium,
                None,
            ),
        ],
        "connection_pool_exhausted" => vec![
            step(
                format!("Find what holds {c}'s connections (long-running operations, leaks)"),
                Risk::Low,
                None,
            ),
            runnable(
                step(
                    format!("Raise {c}'s maxPoolSize or restart it to release leaked connections"),
                    Risk::Medium,
                    Some(format!("kubectl{ns} rollout restart deployment/{c}")),
                ),
                workload("rollout_restart", serde_json::json!({})),
            ),
        ],
        "dependency_unreachable" => vec![step(
            format!("Check {c}'s Service, endpoints and DNS name"),
            Risk::Low,
            Some(format!("kubectl{ns} get endpoints {c}")),
        )],
        "certificate_expired" | "credentials_expired" => vec![step(
            format!("Renew {c}'s certificate or credentials and reload it"),
            Risk::Medium,
            None,
        )],
        "node_failure" => vec![
            step(
                format!("Cordon {c} and drain it so its pods move elsewhere"),
                Risk::Medium,
                Some(format!(
                    "kubectl cordon {c} && kubectl drain {c} --ignore-daemonsets --delete-emptydir-data"
                )),
            ),
            step(
                format!("Check {c}'s kubelet, disk and memory"),
                Risk::Low,
                Some(format!("kubectl describe node {c}")),
            ),
        ],
        "latency_regression" | "error_surge" => vec![step(
            format!(
                "Investigate {c} first: it is the deepest degraded service; its callers recover when it does"
            ),
            Risk::Low,
            None,
        )],
        "unschedulable" if is_pool(s) => vec![
            step(
                format!(
                    "Compare NodePool {c}'s limits with the resources its nodes already hold, and see what changed (a lowered limit, a pool grown by another workload)"
                ),
                Risk::Low,
                Some(format!("kubectl get nodepool {c} -o yaml")),
            ),
            step(
                format!(
                    "Raise NodePool {c}'s limits (or let the pending pods use another pool); the pods schedule once a node joins"
                ),
                Risk::Medium,
                None,
            ),
        ],
        "unschedulable" => vec![
            step(
                format!(
                    "Read the scheduler's reason for {c}'s pending pods (short of CPU or memory, taints, node selectors, an unbound volume)"
                ),
                Risk::Low,
                Some(format!(
                    "kubectl{ns} get events --field-selector reason=FailedScheduling"
                )),
            ),
            step(
                format!(
                    "Add capacity (or let the cluster autoscaler), or lower {c}'s requests if they exceed what it uses"
                ),
                Risk::Medium,
                None,
            ),
        ],
        "evicted" if is_node(s) => vec![
            step(
                format!(
                    "Find what fills {c} (container logs, images, emptyDir volumes, or a pod's memory) and free it"
                ),
                Risk::Low,
                Some(format!("kubectl describe node {c}")),
            ),
            step(
                format!(
                    "Cordon {c} while it is freed, so the kubelet stops evicting what is scheduled back onto it"
                ),
                Risk::Medium,
                Some(format!("kubectl cordon {c}")),
            ),
        ],
        "evicted" => vec![
            step(
                format!(
                    "Read what the node ran short of when {c}'s pods were evicted (memory, ephemeral storage)"
                ),
                Risk::Low,
                Some(format!(
                    "kubectl{ns} get events --field-selector reason=Evicted"
                )),
            ),
            step(
                format!(
                    "Set {c}'s memory and ephemeral-storage requests to its real usage, so it is placed where it fits"
                ),
                Risk::Medium,
                None,
            ),
        ],
        "probe_failing" => vec![
            step(
                format!(
                    "Check {c}'s probe path, port and timings against how long it takes to start"
                ),
                Risk::Low,
                Some(format!("kubectl{ns} describe deployment/{c}")),
            ),
            step(
                format!("If the probe or the app changed in the last rollout, roll {c} back"),
                Risk::Medium,
                Some(format!("kubectl{ns} rollout undo deployment/{c}")),
            ),
        ],
        "job_failed" => vec![
            step(
                format!("Read the failed pods' logs of job {c}"),
                Risk::Low,
                Some(format!("kubectl{ns} logs job/{c} --all-containers")),
            ),
            step(
                format!(
                    "Fix the cause, then run {c} again (its owner CronJob, or a copy of the Job)"
                ),
                Risk::Medium,
                None,
            ),
        ],
        "pvc_unbound" => vec![
            step(
                format!("Read why {c}'s claim does not bind (StorageClass, provisioner, capacity)"),
                Risk::Low,
                Some(format!(
                    "kubectl{ns} get pvc,events --field-selector involvedObject.kind=PersistentVolumeClaim"
                )),
            ),
            step(
                format!(
                    "Point {c}'s claim at an existing StorageClass, or create the one it names"
                ),
                Risk::Medium,
                None,
            ),
        ],
        "volume_full" => vec![
            step(
                format!("Check the usage of {c}'s volumes"),
                Risk::Low,
                Some(format!("kubectl{ns} get pvc")),
            ),
            step(
                format!("Expand {c}'s claim (if its StorageClass allows expansion) or free space"),
                Risk::Medium,
                None,
            ),
        ],
        "quota_exceeded" => vec![
            step(
                format!(
                    "Compare ResourceQuota {c}'s used and hard limits with what the held-back pods request, and see what fills it (a batch Job, a forgotten canary, a recent edit of the quota)"
                ),
                Risk::Low,
                Some(format!("kubectl{ns} describe resourcequota {c}")),
            ),
            step(
                format!("Raise {c}, or free it (stop what fills it, lower requests or replicas)"),
                Risk::Medium,
                None,
            ),
        ],
        "hpa_misconfigured" => vec![step(
            format!("Check {c}'s HPA target reference and metrics"),
            Risk::Low,
            Some(format!("kubectl{ns} describe hpa {c}")),
        )],
        "network_policy_blocked" if is_global_policy(s) => vec![
            step(
                format!(
                    "Read Calico GlobalNetworkPolicy {c}: the namespaces and pods it applies to, and its rules in order (the first that matches decides)"
                ),
                Risk::Low,
                Some(format!(
                    "kubectl get globalnetworkpolicies.crd.projectcalico.org {c} -o yaml"
                )),
            ),
            step(
                format!("Allow the blocked connections in {c} before its deny (or roll it back)"),
                Risk::Medium,
                None,
            ),
        ],
        "network_policy_blocked" if let Some(home) = calico_policy_namespace(s) => vec![
            step(
                format!(
                    "Read Calico NetworkPolicy {c}: the pods it selects and its rules in order (the first that matches decides; a selected pod admits nothing else)"
                ),
                Risk::Low,
                Some(format!(
                    "kubectl -n {home} get networkpolicies.projectcalico.org {c} -o yaml"
                )),
            ),
            step(
                format!("Allow the blocked connections in {c} (or roll it back)"),
                Risk::Medium,
                None,
            ),
        ],
        "network_policy_blocked" => vec![
            step(
                format!("Read NetworkPolicy {c}: which pods it selects and whom it admits"),
                Risk::Low,
                Some(format!("kubectl{ns} describe networkpolicy {c}")),
            ),
            step(
                format!("Admit the calling pods in {c}'s ingress rules"),
                Risk::Medium,
                None,
            ),
        ],
        "rate_limited" | "authorization_denied" => vec![step(
            format!("Check the limits or permissions {c} applies to its callers, and what changed"),
            Risk::Low,
            None,
        )],
        "replication_lag" | "lock_contention" => vec![step(
            format!(
                "Inspect {c}'s replication state and blocking sessions before killing anything"
            ),
            Risk::Low,
            None,
        )],
        "init_container_stuck" => vec![step(
            format!("Read the logs of {c}'s init containers"),
            Risk::Low,
            Some(format!("kubectl{ns} describe deployment/{c}")),
        )],
        "consumer_lag" => vec![step(
            format!(
                "Check {c}'s consumer group lag and rebalances; scale consumers if they are healthy"
            ),
            Risk::Low,
            None,
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspect(kind: &'static str) -> Suspect {
        Suspect {
            component: "checkout".into(),
            kind,
            score: 1.0,
            signals: Vec::new(),
        }
    }

    /// Every kind the engine can conclude comes with something to do, and
    /// every runnable step names the same workload and namespace as its
    /// command.
    #[test]
    fn every_kind_has_steps_and_runnable_steps_match_their_command() {
        for (kind, _) in ALL {
            let steps = remediation(&suspect(kind), Some("shop"));
            assert!(
                steps.iter().any(|s| s.action.contains("checkout")),
                "{kind} has no remediation naming the component: {steps:?}"
            );
            for step in &steps {
                if let Some(tool) = &step.tool {
                    let command = step.command.as_deref().unwrap_or_default();
                    assert!(command.contains("-n shop"), "{kind}: {step:?}");
                    assert!(command.contains("deployment/checkout"), "{kind}: {step:?}");
                    assert_eq!(tool.arguments["namespace"], "shop", "{kind}");
                    assert_eq!(tool.arguments["name"], "checkout", "{kind}");
                }
            }
        }
    }
}
