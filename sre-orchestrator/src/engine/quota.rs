//! A spent quota: the object that holds workloads back.
//!
//! Two objects cap what a workload may grow to and say so by name. The
//! controller may not create a pod when the namespace's ResourceQuota is
//! spent (`exceeded quota: lanes-compute, requested: …`); a node
//! provisioner will not add a node when the pool it would come from is at
//! its limit (Karpenter's `all available instance types exceed limits for
//! nodepool: "general-purpose"`, on the pending pod). Either object is
//! what gets changed (raised, or freed by stopping what fills it), so the
//! refusals move to it ([`quota_objects`]); the workload keeps a weak copy
//! and fails through it. A workload kept from scaling out starves on the
//! pods it has; when that began with the refusals, the starvation is the
//! quota's doing too ([`starved_by_quota`]).

use jiff::SignedDuration;

use super::rules::{Ctx, same_component};

/// An object that caps what workloads may grow to, and how its refusals
/// read.
struct Ceiling {
    /// The kind of the refusals it makes (and keeps when they move to it).
    kind: &'static str,
    /// The object's kind, as people call it.
    object: &'static str,
    /// The object a refusal names.
    named: fn(&str) -> Option<String>,
    /// Whether the held workload's other signals of `kind` are the same
    /// story, told without the name: the scheduler's `Insufficient cpu`
    /// for the pod the provisioner would not make room for.
    same_story: fn(&str) -> bool,
}

const CEILINGS: &[Ceiling] = &[
    Ceiling {
        kind: "quota_exceeded",
        object: "ResourceQuota",
        named: quota_named,
        same_story: |_| false,
    },
    Ceiling {
        kind: "unschedulable",
        object: "NodePool",
        named: pool_named,
        same_story: |detail| detail.contains("Insufficient") || detail.contains("Too many pods"),
    },
];

/// A pod the controller may not create because a ResourceQuota is spent
/// (`exceeded quota: lanes-compute, requested: limits.memory=3Gi, used: …`),
/// or one left pending because the node pool it needs is at its limit, is
/// held back by that object: the kinds' vocabulary names it, and it is
/// what is changed to let the pods in (raised, or freed by whatever fills
/// it). The workload keeps a weak copy: it is where the capacity is
/// missing, and the next place to look.
/// Returns (workload, quota) for each move.
pub(super) fn quota_objects(ctx: &mut Ctx<'_>) -> Vec<(String, String)> {
    let mut held = Vec::new();
    for ceiling in CEILINGS {
        let mut named: Vec<(String, String)> = ctx
            .signals
            .iter()
            .filter(|s| s.kind == ceiling.kind)
            .filter_map(|s| Some(((ceiling.named)(&s.detail)?, s.component.clone())))
            .collect();
        named.sort();
        named.dedup();
        let mut quotas: Vec<&str> = named.iter().map(|(q, _)| q.as_str()).collect();
        quotas.dedup();
        for quota in quotas {
            let workloads: Vec<&str> = named
                .iter()
                .filter(|(q, _)| q == quota)
                .map(|(_, w)| w.as_str())
                .collect();
            let moves = super::moves::move_signals(
                &mut ctx.signals,
                quota,
                |_, s| {
                    s.kind == ceiling.kind
                        && match (ceiling.named)(&s.detail) {
                            Some(q) => q == quota,
                            None => {
                                workloads.contains(&s.component.as_str())
                                    && (ceiling.same_story)(&s.detail)
                            }
                        }
                },
                |s| {
                    format!(
                        "{} {quota} holds back {}: {}",
                        ceiling.object, s.component, s.detail
                    )
                },
            );
            // The refusal that names the object is the evidence to show
            // first; the same story told without the name comes after.
            for s in ctx.signals.iter_mut().filter(|s| {
                s.component == quota
                    && s.kind == ceiling.kind
                    && (ceiling.named)(&s.detail).is_none()
            }) {
                s.weight *= 0.8;
            }
            held.extend(moves);
        }
    }
    held
}

/// A workload the quota keeps from scaling out starves on the pods it has:
/// at their CPU limit, their probes timing out, its autoscaler asking for
/// replicas it cannot get. When that began with the refusals, it is the
/// quota's doing and moves there (a weak copy stays). "With" spans the
/// autoscaler's reaction: it asks for replicas *because* the pods starve,
/// so under a rising load the starvation comes first, by the minutes the
/// load takes to cross the autoscaler's target; starvation long before
/// the first refusal (an hour) is a story of its own.
pub(super) fn starved_by_quota(ctx: &mut Ctx<'_>, held: &[(String, String)]) {
    const STARVED: &[&str] = &["cpu_throttling", "probe_failing", "hpa_maxed"];
    for (workload, quota) in held {
        // The autoscaler's reaction window, when it did react (it asked
        // for more replicas, or the traffic rose); two minutes otherwise.
        let load_rose = ctx
            .signals
            .iter()
            .any(|s| s.kind == "traffic_spike" && same_component(&s.component, workload))
            || ctx.timeline.iter().any(|t| {
                t.event
                    .starts_with("SuccessfulRescale HorizontalPodAutoscaler/")
                    && t.event.contains("above target")
                    && t.event["SuccessfulRescale HorizontalPodAutoscaler/".len()..]
                        .split(':')
                        .next()
                        .is_some_and(|hpa| same_component(hpa, workload))
            });
        let slack = SignedDuration::from_mins(if load_rose { 15 } else { 2 });
        let first = |kinds: &[&str]| {
            ctx.signals
                .iter()
                .filter(|s| kinds.contains(&s.kind) && same_component(&s.component, workload))
                .filter_map(|s| s.at)
                .min()
        };
        let refusals = |c: &Ceiling| {
            ctx.signals
                .iter()
                .filter(|s| s.kind == c.kind && same_component(&s.component, quota))
                .map(|s| s.at)
                .collect::<Vec<_>>()
        };
        let Some((ceiling, refused)) = CEILINGS.iter().find_map(|c| {
            let at = refusals(c);
            (!at.is_empty()).then(|| (c, at.into_iter().flatten().min()))
        }) else {
            continue;
        };
        if let (Some(starving), Some(refused)) = (first(STARVED), refused)
            && starving < refused - slack
        {
            continue;
        }
        let past = format!("cannot scale out past {} {quota}", ceiling.object);
        super::moves::move_signals(
            &mut ctx.signals,
            quota,
            |_, s| STARVED.contains(&s.kind) && same_component(&s.component, workload),
            |s| format!("{} {past}, and its pods starve: {}", s.component, s.detail),
        );
        for s in ctx.signals.iter_mut().filter(|s| {
            s.component == *quota && STARVED.contains(&s.kind) && s.detail.contains(&past)
        }) {
            s.kind = ceiling.kind;
        }
    }
}

/// The node pool a provisioner will not grow (Karpenter v1's `all
/// available instance types exceed limits for nodepool: "NAME"`, before
/// v1 `… for provisioner: "NAME"`).
fn pool_named(detail: &str) -> Option<String> {
    let (_, rest) = detail
        .split_once("exceed limits for nodepool")
        .or_else(|| detail.split_once("exceed limits for provisioner"))?;
    let name: String = rest
        .trim_start_matches([':', ' ', '"', '\\'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The quota an admission refusal names (`exceeded quota: NAME,`).
fn quota_named(detail: &str) -> Option<String> {
    let name: String = detail
        .split_once("exceeded quota: ")?
        .1
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;
    use crate::engine::rules::Signal;

    fn signal(component: &str, kind: &'static str) -> Signal {
        Signal::test(component, kind, "x")
    }

    fn ctx(scope: &Scope, signals: Vec<Signal>) -> Ctx<'_> {
        Ctx::with_signals(scope, signals)
    }

    fn scope() -> Scope {
        Scope::test()
    }

    #[test]
    fn the_quota_an_admission_refusal_names_holds_the_workload_back() {
        let scope = scope();
        let refused = |workload: &str, quota: &str| Signal {
            detail: format!(
                "event FailedCreate on ReplicaSet/{workload}-6d8f9c7b5 (x4): Error creating: pods \"{workload}-6d8f9c7b5-x2\" is forbidden: exceeded quota: {quota}, requested: limits.memory=3Gi, used: limits.memory=23Gi, limited: limits.memory=24Gi"
            ),
            ..signal(workload, "quota_exceeded")
        };
        let mut c = ctx(
            &scope,
            vec![
                refused("scoreboard-hub", "lanes-compute"),
                refused("lane-sensors", "lanes-compute"),
                signal("scoreboard-hub", "probe_failing"),
            ],
        );
        let held = quota_objects(&mut c);
        assert_eq!(
            held,
            vec![
                ("scoreboard-hub".to_string(), "lanes-compute".to_string()),
                ("lane-sensors".to_string(), "lanes-compute".to_string())
            ]
        );
        let weight = |component: &str, kind: &str| -> f64 {
            c.signals
                .iter()
                .filter(|s| s.component == component && s.kind == kind)
                .map(|s| s.weight)
                .sum()
        };
        assert!(
            weight("lanes-compute", "quota_exceeded")
                > 3.0 * weight("scoreboard-hub", "quota_exceeded")
        );
        // What else the workload shows stays its own.
        assert_eq!(weight("scoreboard-hub", "probe_failing"), 4.0);
        // Without the quota's name, nothing moves.
        let mut c = ctx(&scope, vec![signal("scoreboard-hub", "quota_exceeded")]);
        assert!(quota_objects(&mut c).is_empty());
    }

    /// A provisioner that will not grow the node pool its pending pods need
    /// holds them back by that pool's name; the scheduler's `Insufficient
    /// cpu` for the same workload is the same story, a taint mismatch of
    /// another workload is not.
    #[test]
    fn a_node_pool_at_its_limit_holds_its_pending_pods_back() {
        let scope = scope();
        let pending = |workload: &str, detail: &str| Signal {
            detail: detail.into(),
            ..signal(workload, "unschedulable")
        };
        let mut c = ctx(
            &scope,
            vec![
                pending(
                    "search-api",
                    "event FailedScheduling on Pod/search-api-m5k-4mrgr (x26): Failed to schedule pod, all available instance types exceed limits for nodepool: \"general-purpose\"",
                ),
                pending(
                    "search-api",
                    "pod search-api-m5k-4mrgr: not scheduled: 0/8 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 6 Insufficient cpu.",
                ),
                pending(
                    "trainer",
                    "pod trainer-0: not scheduled: 0/8 nodes are available: 8 node(s) didn't match Pod's node affinity/selector.",
                ),
            ],
        );
        let held = quota_objects(&mut c);
        assert_eq!(
            held,
            vec![("search-api".to_string(), "general-purpose".to_string())]
        );
        let count = |component: &str| {
            c.signals
                .iter()
                .filter(|s| s.component == component && s.weight >= 3.0)
                .count()
        };
        assert_eq!(count("general-purpose"), 2);
        assert_eq!(count("trainer"), 1);
        assert!(c.signals.iter().any(|s| {
            s.component == "general-purpose"
                && s.detail
                    .starts_with("NodePool general-purpose holds back search-api")
        }));
        assert_eq!(
            pool_named("all available instance types exceed limits for provisioner: \"default\"")
                .as_deref(),
            Some("default")
        );
    }

    #[test]
    fn a_workload_kept_from_scaling_out_starves_through_the_quota() {
        let scope = scope();
        let at = |t: &str| t.parse().ok();
        let run = |starving_since: &str, scaled_up: bool| {
            let mut c = ctx(
                &scope,
                vec![
                    Signal {
                        at: at("2026-04-01T06:03:12Z"),
                        detail: "ResourceQuota compute-quota holds back licence-api: exceeded quota: compute-quota".into(),
                        ..signal("compute-quota", "quota_exceeded")
                    },
                    Signal {
                        at: at(starving_since),
                        detail: "probe failing on a pod at its CPU limit: Liveness probe failed: context deadline exceeded".into(),
                        ..signal("licence-api", "cpu_throttling")
                    },
                ],
            );
            if scaled_up {
                c.timeline.push(crate::rca::TimelineEvent {
                    at: "2026-04-01T05:58:00Z".parse().expect("ts"),
                    source: "k8s.events".into(),
                    event: "SuccessfulRescale HorizontalPodAutoscaler/licence-api: New size: 6; reason: cpu resource utilization (percentage of request) above target".into(),
                });
            }
            starved_by_quota(&mut c, &[("licence-api".into(), "compute-quota".into())]);
            c.signals
                .iter()
                .filter(|s| s.component == "compute-quota" && s.kind == "quota_exceeded")
                .count()
        };
        // Starving since the refusals: the quota's doing.
        assert_eq!(run("2026-04-01T06:06:41Z", false), 2);
        // Starving as the load rose, minutes before the autoscaler asked
        // for the replicas the quota refused: the quota's doing; without
        // a scale-up asked for, minutes before is its own.
        assert_eq!(run("2026-04-01T05:54:00Z", true), 2);
        assert_eq!(run("2026-04-01T05:54:00Z", false), 1);
        // Starving an hour before the first refusal: its own.
        assert_eq!(run("2026-04-01T05:00:00Z", true), 1);
    }
}
