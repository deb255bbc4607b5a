//! A spent ResourceQuota: the object that holds workloads back.
//!
//! The controller may not create a pod when the namespace's quota is spent,
//! and says so by name (`exceeded quota: lanes-compute, requested: …`). The
//! kinds' vocabulary names the quota object for `quota_exceeded`, and it is
//! what gets changed (raised, or freed by stopping what fills it), so the
//! refusals move to it ([`quota_objects`]); the workload keeps a weak copy
//! and fails through it. A workload kept from scaling out starves on the
//! pods it has; when that began with the refusals, the starvation is the
//! quota's doing too ([`starved_by_quota`]).

use jiff::SignedDuration;

use super::rules::{Ctx, same_component};

/// A pod the controller may not create because a ResourceQuota is spent
/// (`exceeded quota: lanes-compute, requested: limits.memory=3Gi, used: …`)
/// is held back by that quota: the kinds' vocabulary names the quota
/// object, and it is what is changed to let the pods in (raised, or freed
/// by whatever fills it). The workload keeps a weak copy: it is where the
/// capacity is missing, and the next place to look.
/// Returns (workload, quota) for each move.
pub(super) fn quota_objects(ctx: &mut Ctx<'_>) -> Vec<(String, String)> {
    let mut quotas: Vec<String> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "quota_exceeded")
        .filter_map(|s| quota_named(&s.detail))
        .collect();
    quotas.sort();
    quotas.dedup();
    let mut held = Vec::new();
    for quota in quotas {
        let moves = super::moves::move_signals(
            &mut ctx.signals,
            &quota,
            |_, s| {
                s.kind == "quota_exceeded"
                    && quota_named(&s.detail).as_deref() == Some(quota.as_str())
            },
            |s| {
                format!(
                    "ResourceQuota {quota} holds back {}: {}",
                    s.component, s.detail
                )
            },
        );
        held.extend(moves);
    }
    held
}

/// A workload the quota keeps from scaling out starves on the pods it has:
/// at their CPU limit, their probes timing out, its autoscaler asking for
/// replicas it cannot get. When that began with the refusals (not before),
/// it is the quota's doing and moves there (a weak copy stays).
pub(super) fn starved_by_quota(ctx: &mut Ctx<'_>, held: &[(String, String)]) {
    const STARVED: &[&str] = &["cpu_throttling", "probe_failing", "hpa_maxed"];
    let slack = SignedDuration::from_mins(2);
    for (workload, quota) in held {
        let first = |kinds: &[&str]| {
            ctx.signals
                .iter()
                .filter(|s| kinds.contains(&s.kind) && same_component(&s.component, workload))
                .filter_map(|s| s.at)
                .min()
        };
        let refused = ctx
            .signals
            .iter()
            .filter(|s| s.kind == "quota_exceeded" && same_component(&s.component, quota))
            .filter_map(|s| s.at)
            .min();
        if let (Some(starving), Some(refused)) = (first(STARVED), refused)
            && starving < refused - slack
        {
            continue;
        }
        super::moves::move_signals(
            &mut ctx.signals,
            quota,
            |_, s| STARVED.contains(&s.kind) && same_component(&s.component, workload),
            |s| {
                format!(
                    "{} cannot scale out past ResourceQuota {quota}, and its pods starve: {}",
                    s.component, s.detail
                )
            },
        );
        for s in ctx.signals.iter_mut().filter(|s| {
            s.component == *quota
                && STARVED.contains(&s.kind)
                && s.detail.contains("cannot scale out past")
        }) {
            s.kind = "quota_exceeded";
        }
    }
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

    #[test]
    fn a_workload_kept_from_scaling_out_starves_through_the_quota() {
        let scope = scope();
        let at = |t: &str| t.parse().ok();
        let run = |starving_since: &str| {
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
            starved_by_quota(&mut c, &[("licence-api".into(), "compute-quota".into())]);
            c.signals
                .iter()
                .filter(|s| s.component == "compute-quota" && s.kind == "quota_exceeded")
                .count()
        };
        // Starving since the refusals: the quota's doing.
        assert_eq!(run("2026-04-01T06:06:41Z"), 2);
        // Starving an hour before the first refusal: its own.
        assert_eq!(run("2026-04-01T05:00:00Z"), 1);
    }
}
