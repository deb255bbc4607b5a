//! The causal ranking: from signals to suspects, causes before consequences.
//!
//! Signals about one (component, kind) add up into a suspect with
//! diminishing returns (ten copies of one warning do not outweigh one clear
//! finding). The raw sum is then adjusted by factors an on-call engineer
//! applies by reflex, each one explicit here so that it can be argued about:
//!
//! * **Explaining away.** When one suspect explains another of the same
//!   component (a missing Secret explains the crash loop; the liveness probe
//!   that kills the container explains the restarts; an unbound claim explains
//!   the pod that cannot be scheduled), the consequence is folded into its
//!   cause: its evidence follows the cause and it is no longer a rival. See
//!   [`explains`].
//! * **Onset before symptoms.** A cause cannot start after its effect: a
//!   suspect whose every signal started well after the first symptom (the
//!   alert, the first degraded service, the first failing pod) is discounted,
//!   and a deploy that happened after the errors began is not a bad deploy.
//! * **Position in the dependency graph.** The deepest degraded service on the
//!   alerting service's call path explains those above it.
//! * **Baseline.** A condition that was already there long before the window
//!   (a crash loop for days, a node condition older than the incident) is not
//!   this incident: it is discounted and may never be the root cause.
//! * **Reach.** A suspect must touch the affected path: a node matters through
//!   the pods it hosts, a workload through being the alert's subject, on its
//!   call path, or named by the errors of something on it.
//!
//! The result is a list of suspects, most likely first, and a verdict on
//! whether the best one is good enough to be called the root cause at all.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::Scope;
use super::rules::{Signal, Suspect, same_component};

/// Kinds that describe symptoms, never root causes.
pub const SYMPTOMS: &[&str] = &[
    "recent_deploy",
    "traffic_spike",
    "rollout_stuck",
    "degraded",
];

/// Kinds that describe a state rather than a reason: any more specific kind
/// of the same component explains them.
const STATES: &[&str] = &[
    "crash_loop",
    "new_error",
    "error_surge",
    "latency_regression",
];

/// Kinds specific enough to explain a workload's failing state. CPU
/// throttling is not one: pods at their CPU limit are how load, a busy
/// neighbour or a garbage collector shows, not why.
pub(super) const REASONS: &[&str] = &[
    "oom_killed",
    "missing_config",
    "image_pull_error",
    "certificate_expired",
    "credentials_expired",
    "volume_full",
    "pvc_unbound",
    "quota_exceeded",
    "probe_failing",
    "unschedulable",
    "connection_pool_exhausted",
    "missing_index",
    "lock_contention",
    "replication_lag",
    "authorization_denied",
    "network_policy_blocked",
    "rate_limited",
    "consumer_lag",
    "init_container_stuck",
    "hpa_maxed",
    "hpa_misconfigured",
    "noisy_neighbor",
    "bad_deploy",
    "evicted",
];

/// Kinds that explain a failed Job: a Job's failure is named by the Job
/// unless its reason is a class with its own fix.
pub(super) const JOB_REASONS: &[&str] = &[
    "oom_killed",
    "missing_config",
    "image_pull_error",
    "volume_full",
    "quota_exceeded",
    "pvc_unbound",
    "unschedulable",
    "credentials_expired",
    "certificate_expired",
    "authorization_denied",
];

/// Kinds that say what a rollout broke (see [`explains`]).
const DEPLOY_MECHANISMS: &[&str] = &[
    "missing_config",
    "oom_killed",
    "cpu_throttling",
    "image_pull_error",
    "init_container_stuck",
    "credentials_expired",
    "certificate_expired",
];

/// Whether a suspect of kind `cause` explains one of kind `effect` on the
/// same component.
pub fn explains(cause: &str, effect: &str) -> bool {
    if cause == effect {
        return false;
    }
    match (cause, effect) {
        // The kubelet's probe kills the container: the restarts follow.
        ("probe_failing", "crash_loop") => true,
        ("oom_killed", "probe_failing") => true,
        // A store whose disk is full stops (Cassandra's disk_failure_policy,
        // PostgreSQL's PANIC on a WAL write) or hangs on its writes: its
        // probes fail because of it.
        ("volume_full", "probe_failing") => true,
        // An autoscaler that cannot add pods leaves each one at its limit.
        ("hpa_maxed" | "hpa_misconfigured", "cpu_throttling") => true,
        // A consumer held at a (lowered) CPU limit falls behind.
        ("cpu_throttling", "consumer_lag") => true,
        // The scheduler waits for the claim.
        ("pvc_unbound", "unschedulable") => true,
        // A member whose disk is full cannot write what it replicates: it
        // falls out of sync (Kafka shrinks the ISR, and producers asking
        // for acks=all get NOT_ENOUGH_REPLICAS).
        ("volume_full", "replication_lag") => true,
        // A pool that cannot open connections (the password was rotated,
        // the server's certificate expired, the server is unreachable)
        // empties, and its waiters time out as if it were exhausted.
        (
            "credentials_expired" | "certificate_expired" | "dependency_unreachable",
            "connection_pool_exhausted",
        ) => true,
        // A pod that is never created or never scheduled is not failing a probe.
        ("quota_exceeded" | "unschedulable" | "pvc_unbound", "probe_failing") => true,
        // Evictions and image pulls are not probe problems either.
        ("image_pull_error" | "missing_config", "probe_failing") => true,
        // A workload that is down for a reason of its own is unreachable
        // to its callers because of it.
        (c, "dependency_unreachable") if REASONS.contains(&c) || c == "crash_loop" => true,
        // A rollout is the change; what it broke, when a specific mechanism
        // shows it (a missing setting, a lower memory or CPU limit, an image
        // that cannot be pulled), is the cause an engineer acts on, with the
        // rollout as its timeline.
        (c, "bad_deploy") => DEPLOY_MECHANISMS.contains(&c),
        (c, "job_failed") => JOB_REASONS.contains(&c),
        ("job_failed", e) => STATES.contains(&e) || e == "dependency_unreachable",
        (c, e) => REASONS.contains(&c) && STATES.contains(&e),
    }
}

/// What the ranking knows about the incident besides the signals.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// Degraded services (error rate or latency up).
    pub degraded: Vec<String>,
    /// The degraded call path from the alerting service down.
    pub path: Vec<String>,
    /// Workloads in trouble in the window (unhealthy pods, failed jobs), the
    /// alert's subject first.
    pub affected: Vec<String>,
    /// Nodes that host a pod of an affected workload, when known.
    pub nodes: Option<BTreeSet<String>>,
    /// Components named as peers by the errors of affected workloads.
    pub peers: Vec<String>,
    /// Workloads with a pod on a node that hosts an affected pod.
    pub neighbours: Vec<String>,
    /// The first symptom: the earliest start of anything failing in the
    /// alert's reach (or the alert's start).
    pub first_symptom: Option<Timestamp>,
    /// The workloads behind the Ingress routes serving the URLs the alert
    /// names (a blackbox probe's target): the alert is about them as much
    /// as about its `service` label.
    pub served: Vec<String>,
}

/// Groups signals into suspects and ranks them.
pub fn rank(scope: &Scope, signals: &[Signal], reach: &Reach) -> Vec<Suspect> {
    let mut groups: Vec<Suspect> = Vec::new();
    for s in signals.iter().filter(|s| !SYMPTOMS.contains(&s.kind)) {
        match groups
            .iter_mut()
            .find(|g| g.kind == s.kind && same_component(&g.component, &s.component))
        {
            Some(g) => g.signals.push(s.clone()),
            None => groups.push(Suspect {
                component: s.component.clone(),
                kind: s.kind,
                score: 0.0,
                signals: vec![s.clone()],
            }),
        }
    }
    for g in &mut groups {
        g.signals.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        g.score = raw_score(&g.signals);
    }
    let mut groups = explain_away(groups);
    for g in &mut groups {
        g.score *= reach_factor(scope, reach, g)
            * onset_factor(reach, g, scope.onset_horizon(g.kind, &g.component))
            * super::priors::factor(&scope.priors, g);
        if super::kinds::category(g.kind) == Some(scope.category) {
            g.score *= 1.1;
        }
        g.score = (g.score * 100.0).round() / 100.0;
    }
    yield_to_measured_starvation(&mut groups, reach);
    for g in &mut groups {
        if pressure_not_failure(g) {
            g.kind = "evicted";
        }
        if denied_its_own_run(g) {
            g.kind = "job_failed";
        }
    }
    groups.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.component.cmp(&b.component))
    });
    // `SRE_AGENT_LOG=sre_agent::engine=debug` shows why one suspect beat
    // another.
    tracing::debug!(target: "sre_agent::engine", "first symptom {:?}, path {:?}", reach.first_symptom, reach.path);
    for g in groups.iter().take(8) {
        tracing::debug!(
            target: "sre_agent::engine",
            "suspect {}/{} score {:.2}: {}",
            g.component,
            g.kind,
            g.score,
            g.signals
                .iter()
                .take(8)
                .map(|s| format!("[{:.1} {} {}] {}", s.weight, s.source, s.at.map_or("-".into(), |t| t.to_string()), s.detail.chars().take(90).collect::<String>()))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    groups
}

/// Whether a node's case is pressure, not failure: the kubelet is alive and
/// reports a pressure condition (DiskPressure, MemoryPressure, PIDPressure)
/// and evicts pods to relieve it, and nothing says the node stopped
/// answering. The engine follows both through one kind, `node_failure`,
/// because they reach the same pods the same way; they are named apart at
/// the end, as the kinds' vocabulary does (`evicted`: the node was low on a
/// resource; `node_failure`: NotReady, the kubelet stopped posting) and as
/// an SRE would: one is fixed by freeing the node's disk or memory, the
/// other by replacing the node.
fn pressure_not_failure(g: &Suspect) -> bool {
    if g.kind != "node_failure" {
        return false;
    }
    let details: Vec<String> = g.signals.iter().map(|s| s.detail.to_lowercase()).collect();
    // What the node's pods said, moved to it, says nothing of the node
    // itself (a readiness probe's "not ready" is the pod's).
    let failed = details
        .iter()
        .filter(|d| !d.contains(" runs on failed node "))
        .any(|d| super::hog::DOWN_WORDS.iter().any(|w| d.contains(w)));
    let pressed = details
        .iter()
        .any(|d| super::hog::PRESSURE_WORDS.iter().any(|w| d.contains(w)));
    pressed && !failed
}

/// Whether a failed Job's own run was refused by an API it called (S3 or
/// KMS `AccessDenied`, a 403 from a cloud API in its log): the refusal
/// explains the failure, and weighs as its reason, but what broke is the
/// Job, named so. `authorization_denied` is a policy in the traffic's way
/// refusing a service's callers (an Istio AuthorizationPolicy); a policy
/// that refused a Job's calls takes the refusal away from the Job and is
/// named itself.
fn denied_its_own_run(g: &Suspect) -> bool {
    g.kind == "authorization_denied"
        && g.signals
            .iter()
            .any(|s| s.kind == "job_failed" && same_component(&s.component, &g.component))
}

/// Slowness with no reason of its own yields to a measured starvation.
///
/// "The deepest degraded service on the call path" is the right answer when
/// the path is the whole story, but traces only show the calls they show: a
/// service fed through a queue or a socket (market data, a stream processor)
/// waits on a producer no span links it to. When a degraded workload's CPU
/// throttling *rose* in the window by a metric (not a chronic level), and it
/// began no later than the slowness, a service that is only slow, whose
/// evidence is its latency and nothing that says why (no signature, no log,
/// no resource finding), is discounted: an engineer follows the measured
/// mechanism before the unexplained symptom.
fn yield_to_measured_starvation(groups: &mut [Suspect], reach: &Reach) {
    let is = |list: &[String], c: &str| list.iter().any(|x| same_component(x, c));
    let starved: Vec<(String, Timestamp)> = groups
        .iter()
        .filter(|g| g.kind == "cpu_throttling")
        .filter(|g| is(&reach.degraded, &g.component) || is(&reach.affected, &g.component))
        .filter_map(|g| {
            let rose = g
                .signals
                .iter()
                .filter(|s| s.weight > 0.0 && s.source.ends_with("query_metric"))
                .filter_map(|s| s.at)
                .min()?;
            Some((g.component.clone(), rose))
        })
        .collect();
    let Some(earliest) = starved.iter().map(|(_, at)| *at).min() else {
        return;
    };
    // Its callers timing out on it is how a starved service looks from
    // outside (`context deadline exceeded (Client.Timeout exceeded while
    // awaiting headers)`): slow, not unreachable. A refusal or a failed
    // lookup is another matter.
    for g in groups.iter_mut().filter(|g| {
        g.kind == "dependency_unreachable"
            && starved.iter().any(|(c, _)| same_component(c, &g.component))
    }) {
        // (A detail may be cut before the error's words: one that says
        // timeout, and none that says otherwise.)
        let says = |words: &[&str]| {
            g.signals.iter().filter(|s| s.weight > 0.0).any(|s| {
                let d = s.detail.to_lowercase();
                words.iter().any(|w| d.contains(w))
            })
        };
        let waited = says(&["timeout", "timed out", "deadline exceeded"])
            && !says(&[
                "refused",
                "no such host",
                "nxdomain",
                "no route",
                "reset by peer",
            ]);
        if waited {
            g.score = (g.score * 0.75 * 100.0).round() / 100.0;
        }
    }
    for g in groups.iter_mut().filter(|g| g.kind == "latency_regression") {
        let only_slow = g.signals.iter().filter(|s| s.weight > 0.0).all(|s| {
            s.source.ends_with("service_dependencies") || s.source.ends_with("service_health")
        });
        let began = g
            .signals
            .iter()
            .filter(|s| s.weight > 0.0)
            .filter_map(|s| s.at)
            .min()
            .or(reach.first_symptom);
        if only_slow && began.is_none_or(|b| earliest <= b + SignedDuration::from_mins(1)) {
            g.score = (g.score * 0.75 * 100.0).round() / 100.0;
        }
    }
}

/// The strongest signal counts fully, the rest less and less.
fn raw_score(signals: &[Signal]) -> f64 {
    signals
        .iter()
        .enumerate()
        .map(|(i, s)| s.weight / (1.0 + i as f64 * 0.5))
        .sum()
}

/// Folds consequences into their causes (same component). Each suspect
/// explained by another is attached to its strongest explainer, and chains
/// (OOM → failing probe → restarts) fold into the first cause.
fn explain_away(groups: Vec<Suspect>) -> Vec<Suspect> {
    let n = groups.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    // The kubelet restarts a container for its liveness or startup probe,
    // never for its readiness probe: a container that crashes while it is
    // not ready crashes for a reason of its own, and is not ready because
    // it crashes.
    let kills = |g: &Suspect| {
        g.signals.iter().any(|s| {
            let d = s.detail.to_lowercase();
            d.contains("liveness") || d.contains("startup probe")
        })
    };
    let explains_here = |a: &Suspect, b: &Suspect| match (a.kind, b.kind) {
        ("probe_failing", "crash_loop") => kills(a),
        ("crash_loop", "probe_failing") => !kills(b),
        ("cpu_throttling", "latency_regression") => starved_first(a, b),
        ("cpu_throttling", "dependency_unreachable") => starved_first(a, b) && !refused(b),
        // A process held at its CPU limit holds each pooled connection
        // many times longer (its commands wait for CPU between the bytes):
        // the pool runs dry from inside.
        ("cpu_throttling", "connection_pool_exhausted") => starved_first(a, b),
        // Pods an autoscaler does not (or cannot) add to answer their
        // probes too late: timeouts, not refusals, are the load showing.
        ("hpa_misconfigured" | "hpa_maxed", "probe_failing") => probes_timed_out(b),
        (x, y) => explains(x, y),
    };
    for j in 0..n {
        parent[j] = (0..n)
            .filter(|&i| {
                i != j
                    && established(&groups[i])
                    && same_component(&groups[i].component, &groups[j].component)
                    && explains_here(&groups[i], &groups[j])
                    && !explains_here(&groups[j], &groups[i])
            })
            .max_by(|&a, &b| groups[a].score.total_cmp(&groups[b].score));
    }
    let root = |mut i: usize| {
        // Bounded: a cycle (which `explains` should never make) stops here.
        for _ in 0..n {
            match parent[i] {
                Some(p) => i = p,
                None => break,
            }
        }
        i
    };
    let mut out: Vec<Option<Suspect>> = groups.iter().cloned().map(Some).collect();
    for j in 0..n {
        let r = root(j);
        if r == j || parent[j].is_none() {
            continue;
        }
        let effect = groups[j].clone();
        out[j] = None;
        if let Some(cause) = out[r].as_mut() {
            cause.score += 0.5 * effect.score;
            for s in effect.signals {
                let mut s = s;
                s.weight = 0.0;
                if !s.detail.starts_with("consequence: ") {
                    s.detail = format!("consequence: {}", s.detail);
                }
                cause.signals.push(s);
            }
        }
    }
    out.into_iter().flatten().collect()
}

/// Whether most of a probe suspect's failures got no answer in time.
fn probes_timed_out(g: &Suspect) -> bool {
    let own: Vec<&Signal> = g.signals.iter().filter(|s| s.weight > 0.0).collect();
    let timed_out = own
        .iter()
        .filter(|s| super::combine::probe_timed_out(&s.detail))
        .count();
    !own.is_empty() && timed_out * 2 > own.len()
}

/// Whether a suspect is a confirmed finding rather than a hint: only those
/// explain other suspects ("memory at 99% of the limit" is not an OOM kill
/// and explains no latency).
/// Whether `throttled` is a measured starvation that began no later than
/// `slow`: its CPU throttling *rose* by a metric (a chronic level or a pod
/// at its limit in one sample is how load shows, not why), at most a minute
/// after the first sign of the slowness. A service starved of CPU then
/// explains its own slowness, and its callers' timeouts on it: an engineer
/// who sees the throttling climb first does not call the service "slow" or
/// "unreachable" and stop there.
fn starved_first(throttled: &Suspect, slow: &Suspect) -> bool {
    let rose = throttled
        .signals
        .iter()
        .filter(|s| s.weight > 0.0 && s.source.ends_with("query_metric"))
        .filter_map(|s| s.at)
        .min();
    let began = slow
        .signals
        .iter()
        .filter(|s| s.weight > 0.0)
        .filter_map(|s| s.at)
        .min();
    match (rose, began) {
        (Some(rose), Some(began)) => rose <= began + SignedDuration::from_mins(1),
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether a suspect's evidence says its callers were turned away (refused,
/// reset, no such host, no route) rather than left waiting: a starved
/// service is slow to answer, it does not refuse.
fn refused(g: &Suspect) -> bool {
    g.signals.iter().filter(|s| s.weight > 0.0).any(|s| {
        let d = s.detail.to_lowercase();
        [
            "refused",
            "no such host",
            "nxdomain",
            "no route",
            "reset by peer",
            "name or service not known",
        ]
        .iter()
        .any(|w| d.contains(w))
    })
}

fn established(g: &Suspect) -> bool {
    g.signals.iter().any(|s| s.weight >= 2.0)
}

/// How much the suspect touches what is failing.
fn reach_factor(scope: &Scope, reach: &Reach, g: &Suspect) -> f64 {
    let c = &g.component;
    let is = |list: &[String]| list.iter().any(|x| same_component(x, c));
    if let Some(depth) = reach.path.iter().position(|p| same_component(p, c)) {
        return 1.3 + 0.3 * depth as f64;
    }
    if scope
        .service
        .as_deref()
        .is_some_and(|s| same_component(s, c))
        || is(&reach.served)
    {
        return 1.3;
    }
    // Named as a peer by the errors, or by the alert's own words (the
    // consumer of the queue that backs up, the producer of stale data).
    if is(&reach.peers) || super::named::names(&scope.alert_words, c) {
        return 1.25;
    }
    // A failed batch Job is "in trouble in the window" by definition; that
    // alone does not put it in this alert's reach (its own alert pages for
    // it), nor does the reason it failed for (a Job denied its bucket is
    // the Job's story). Named, a peer, or on the path, it is (above); a Job
    // serves no requests, so one that is none of these touches the alert's
    // service only as a busy neighbour on its node (below), or not at all.
    let batch = g.signals.iter().any(|s| s.kind == "job_failed");
    if (is(&reach.affected) && !batch) || is(&reach.degraded) {
        return 1.15;
    }
    if batch && g.kind != "noisy_neighbor" && scope.service.is_some() {
        return 0.35;
    }
    match g.kind {
        // A node matters through the pods it hosts.
        "node_failure" => match &reach.nodes {
            Some(nodes) if nodes.iter().any(|n| same_component(n, c)) => 1.2,
            Some(nodes) if !nodes.is_empty() => 0.35,
            _ => 0.9,
        },
        // A neighbour matters when it shares a node with the affected pods.
        "noisy_neighbor" => {
            if is(&reach.neighbours) {
                1.2
            } else if reach.nodes.as_ref().is_some_and(|n| !n.is_empty()) {
                0.6
            } else {
                0.9
            }
        }
        // Shared data stores: related through the services that use them.
        "missing_index" | "lock_contention" | "replication_lag" => 1.0,
        // Named by a caller's errors: related by construction.
        "dependency_unreachable"
        | "certificate_expired"
        | "credentials_expired"
        | "network_policy_blocked"
        | "authorization_denied" => 1.0,
        // A service's own slowness or errors off the traced call path, named
        // by nothing on it: the traces show the alert's requests never go
        // there.
        "latency_regression" | "new_error" | "error_surge" if reach.path.len() >= 2 => 0.35,
        _ => 0.6,
    }
}

/// Cause before effect, and nothing from long before the window.
fn onset_factor(reach: &Reach, g: &Suspect, horizon: Timestamp) -> f64 {
    let own: Vec<Timestamp> = g
        .signals
        .iter()
        .filter(|s| s.weight > 0.0)
        .filter_map(|s| s.at)
        .collect();
    // A cause is no younger than the consequences folded into it: an
    // undated finding (a missing setting in a crashed container's log)
    // whose crash loop has been backing off for days is days old.
    let folded: Vec<Timestamp> = g
        .signals
        .iter()
        .filter(|s| s.weight == 0.0)
        .filter_map(|s| s.at)
        .collect();
    let times = if own.is_empty() { &folded } else { &own };
    let (Some(first), Some(last)) = (times.iter().chain(folded.iter()).min(), times.iter().max())
    else {
        return 1.0;
    };
    let mut f = 1.0;
    // Everything it shows started before the incident's horizon: an older
    // story (a crash loop for days, an old condition).
    if *last < horizon {
        f *= 0.3;
    } else if *first < horizon {
        f *= 0.6;
    }
    // Started well after the first symptom: it cannot have caused it.
    if let Some(symptom) = reach.first_symptom
        && first.duration_since(symptom) > SignedDuration::from_mins(3)
    {
        f *= 0.5;
    }
    f
}

/// Whether the best suspect is good enough to be called the root cause, and
/// how sure the engine is. `None` means "no root cause in the window": the
/// RCA then names leads, not a cause.
pub fn verdict(scope: &Scope, suspects: &[Suspect], gaps: usize) -> Option<f64> {
    let top = suspects.first()?;
    // A failed scheduled run that already leads the ranking may be older
    // than the window: scheduled work fails at night and is felt when the
    // day's work needs what it should have made. (Only here, once it
    // leads: in the ranking an older failed run stays an older story.)
    let horizon = if top.kind == "job_failed" {
        scope.stale_horizon()
    } else {
        scope.onset_horizon(top.kind, &top.component)
    };
    // Evidence older than the window never becomes the root cause.
    // It takes a signal of substance within the window. When the suspect's
    // substantial signals carry times, those times decide: an undated one
    // (a container state, a hint like "near its memory limit now") does not
    // make an OOM kill of a month ago this incident's cause.
    let substantial: Vec<&super::rules::Signal> =
        top.signals.iter().filter(|s| s.weight >= 1.0).collect();
    let dated: Vec<Timestamp> = substantial.iter().filter_map(|s| s.at).collect();
    let recent = if dated.is_empty() {
        !substantial.is_empty()
    } else {
        dated.iter().any(|at| *at >= horizon)
    };
    if !recent || top.score < 1.5 {
        return None;
    }
    let second = suspects.get(1).map_or(0.0, |s| s.score);
    let margin = ((top.score - second) / top.score).clamp(0.0, 1.0);
    // Strength of the case: saturates, so that piling up signals cannot
    // push confidence to certainty on its own.
    let strength = 1.0 - (-top.score / 6.0).exp();
    let mut confidence = strength * (0.55 + 0.45 * margin);
    confidence -= 0.07 * gaps.min(3) as f64;
    Some(confidence.clamp(0.1, 0.95))
}

#[cfg(test)]
#[path = "rank_tests.rs"]
mod tests;
