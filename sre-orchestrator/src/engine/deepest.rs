//! The deepest degraded service on the alert's call path, a suspect in its
//! own right: "it is slow or failing, and everything above it waits on
//! it". The generic explanation, so it weighs less than a specific one for
//! the same service (throttled, OOMKilled, a bad deploy), and it is only
//! what the evidence says of it: slow or failing by its own spans; its
//! callers' calls lost on the way when its own spans are well; its
//! callers' calls failing fast when it records no spans at all (a SaaS
//! API, a cloud endpoint), where a caller refused for its own rate or
//! identity is the likelier story; its callers' calls failing while they
//! are no slower than before, when it records no spans, answered with
//! errors (a third party's 409 for what it was sent), not "it is slow".

use super::parse::{self, Edge};
use super::rules::{Ctx, same_component};

/// Adds the deepest service of `path` (the alert's degraded call path,
/// caller first) as a suspect, weighed by what explains it.
pub(super) fn suspect(ctx: &mut Ctx<'_>, path: &[String], edges: &[Edge]) {
    // The deepest degraded service is a suspect in its own right: "it is
    // slow/failing and everything above it waits on it".
    if path.len() >= 2
        && let Some(deepest) = path.last()
    {
        let h = ctx.health.get(deepest).cloned().unwrap_or_default();
        // "It is slow" is the generic explanation; a specific one for the
        // same service (throttled, OOMKilled, a bad deploy…) beats it.
        let explained = ctx.has_cause(
            deepest,
            &[
                "latency_regression",
                "error_surge",
                "new_error",
                "probe_failing",
            ],
            1.0,
        ) || ctx.blames.get(deepest).is_some_and(|culprit| {
            // It fails through a component with a cause of its own.
            ctx.has_cause(culprit, &[], 2.0)
        });
        let generic_weight = if explained {
            1.5
        } else {
            3.0 + path.len() as f64 * 0.5
        };
        // On the path only through its callers' failed calls, while its own
        // spans say it is well (no more errors, no slower) and its traffic
        // fell: the calls are lost on the way to it (a policy, a route, a
        // dead address), they do not wait on it. "It is slow" would be
        // false; what is true is weaker, and yields to a cause on the way.
        let well_itself = well_by_its_own_spans(ctx.health.get(deepest));
        let caller = &path[path.len() - 2];
        let call = edges
            .iter()
            .find(|e| &e.caller == caller && &e.callee == deepest);
        let failed = call.map_or(0.0, |e| e.err_pct);
        // An untraced callee (a SaaS API, a cloud endpoint) has no spans of
        // its own: when its callers' calls fail fast, nothing says it is
        // slow, and their failures are often their own (a 429 for their
        // rate, a 403 for their identity).
        let untraced = !ctx.health.contains_key(deepest);
        let fails_fast = untraced && call.is_some_and(|e| e.p99_ms.is_some_and(|p| p < 250.0));
        let caller_refused = ctx.signals.iter().any(|s| {
            same_component(&s.component, caller)
                && matches!(
                    s.kind,
                    "rate_limited" | "credentials_expired" | "authorization_denied"
                )
                && s.weight >= 2.0
        });
        // Failing as its latency fell: its callers give up sooner than it
        // answers (a deadline cut by their rollout), and it records their
        // cancellations.
        let cut_short = h.cut_short();
        // An untraced callee whose caller is no slower than before, by its
        // own spans, while the calls fail: nothing says it is slow; it
        // answers them, with errors (a third party's 409 or 422 for what
        // it was sent).
        let answers_with_errors =
            untraced && failed > 0.0 && ctx.health.get(caller).is_some_and(|h| !h.slower());
        let generic_weight = if (fails_fast && caller_refused) || cut_short {
            1.5
        } else {
            generic_weight
        };
        // Its own spans recorded the calls its callers saw fail, answered
        // fast: they reached it, and it turned them away with an answer its
        // spans do not count as an error (an HTTP 409 or 403, which
        // OpenTelemetry leaves unmarked on a server span). Why it refuses
        // is in its own lines, not in the network.
        let answered_fast = call.is_some_and(|e| {
            e.failed_as_answered >= 0.8 * e.errors.max(1.0)
                && e.p99_ms.is_some_and(|p| p < 1000.0)
                && e.unreached < 1.0
        });
        let (kind, detail, generic_weight) = if well_itself && answered_fast {
            (
                "error_surge",
                format!(
                    "{caller}'s calls to {deepest} fail ({failed:.0}% of them) though {deepest} recorded them and answered fast ({}): it turns them away with answers its spans do not count as errors",
                    h.verdict
                ),
                generic_weight * 0.6,
            )
        } else if well_itself {
            (
                "dependency_unreachable",
                format!(
                    "{caller}'s calls to {deepest} fail ({failed:.0}% of them) while {deepest}'s own spans are well ({}): the calls do not reach it",
                    h.verdict
                ),
                generic_weight * 0.6,
            )
        } else if fails_fast {
            (
                "dependency_unreachable",
                format!(
                    "{caller}'s calls to {deepest} fail fast ({failed:.0}% of them); {deepest} records no spans of its own (an external or untraced service)"
                ),
                generic_weight * 0.6,
            )
        } else if answers_with_errors {
            (
                "error_surge",
                format!(
                    "{caller}'s calls to {deepest} fail ({failed:.0}% of them) and take no longer than before ({caller}: {}); {deepest} records no spans of its own: it answers them with errors",
                    ctx.health.get(caller).map_or("", |h| h.verdict.as_str())
                ),
                generic_weight * 0.6,
            )
        } else if cut_short {
            (
                "error_surge",
                format!(
                    "{deepest} is failing as its latency fell: {}; its callers give up sooner than it answers",
                    h.verdict
                ),
                generic_weight,
            )
        } else if h.err_delta() >= 3.0 && !h.slower() {
            (
                "error_surge",
                format!("{deepest} is failing: {}", h.verdict),
                generic_weight,
            )
        } else {
            (
                "latency_regression",
                format!("{deepest} is slow: {}", h.verdict),
                generic_weight,
            )
        };
        ctx.signal(
            deepest,
            kind,
            generic_weight,
            "signoz.service_dependencies",
            format!(
                "{} ← deepest degraded service on the call path {}",
                detail,
                path.join(" → ")
            ),
            None,
        );
    }
}

/// Whether a service's own spans say it is well: measured (it has spans),
/// no more errors than before and not slower. A service on the degraded path
/// only through its callers' failed calls is then not where they wait.
fn well_by_its_own_spans(h: Option<&parse::ServiceHealth>) -> bool {
    h.is_some_and(|h| h.err_delta() < 3.0 && !h.slower())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;
    use crate::engine::rules::Signal;

    /// Errors that came as the latency fell are callers giving up sooner.
    #[test]
    fn errors_as_latency_falls_are_cut_short() {
        let bucket = |start: &str, err: f64, p99: f64| parse::Bucket {
            start: start.into(),
            calls: 30.0,
            err_pct: Some(err),
            p99_ms: Some(p99),
        };
        let mut h = parse::ServiceHealth {
            err_pct: (Some(18.6), Some(0.0)),
            p99_ms: (Some(2960.0), Some(3090.0)),
            buckets: vec![
                bucket("09:27:00", 0.0, 3060.0),
                bucket("09:29:00", 0.0, 2820.0),
                bucket("09:31:00", 30.0, 2310.0),
                bucket("09:33:00", 43.3, 802.0),
                bucket("09:35:00", 23.3, 802.0),
                bucket("09:37:00", 33.3, 802.0),
            ],
            bucket_secs: 120,
            ..Default::default()
        };
        assert!(h.cut_short());
        // Failing at its usual pace: its own errors.
        for b in &mut h.buckets {
            b.p99_ms = Some(3000.0);
        }
        assert!(!h.cut_short());
    }

    /// An untraced callee whose callers' calls fail fast is not called slow;
    /// beside a caller refused for its own rate it weighs little.
    #[test]
    fn an_untraced_callee_failing_fast_is_no_slowness() {
        let scope = Scope::test();
        let path: Vec<String> = ["dispatcher", "notifier", "slack.com"]
            .map(String::from)
            .to_vec();
        let edges = vec![Edge {
            caller: "notifier".into(),
            callee: "slack.com".into(),
            err_pct: 88.0,
            p99_ms: Some(139.0),
            calls: 1336.0,
            errors: 1180.0,
            unreached: 1336.0,
            ..Default::default()
        }];
        let of = |signals: Vec<Signal>| {
            let mut ctx = Ctx::with_signals(&scope, signals);
            suspect(&mut ctx, &path, &edges);
            let s = ctx.signals.last().cloned().expect("a signal");
            (s.component, s.kind, s.weight)
        };
        let (component, kind, alone) = of(Vec::new());
        assert_eq!(
            (component.as_str(), kind),
            ("slack.com", "dependency_unreachable")
        );
        let refused = Signal {
            weight: 5.0,
            ..Signal::test("notifier", "rate_limited", "HTTP 429")
        };
        let (_, _, beside) = of(vec![refused]);
        assert!(beside < alone, "{beside} vs {alone}");
        // Calls that wait on it are slowness, measured by its callers.
        let slow = vec![Edge {
            p99_ms: Some(9000.0),
            ..edges[0].clone()
        }];
        let mut ctx = Ctx::with_signals(&scope, Vec::new());
        suspect(&mut ctx, &path, &slow);
        assert_eq!(
            ctx.signals.last().map(|s| s.kind),
            Some("latency_regression")
        );
    }

    /// An untraced callee whose calls fail while its caller is no slower
    /// than before answers them with errors; slower callers wait on it.
    #[test]
    fn an_untraced_callee_whose_caller_is_no_slower_answers_with_errors() {
        let scope = Scope::test();
        let path: Vec<String> = ["circulation-api", "drm-gateway", "api.northshelf.example"]
            .map(String::from)
            .to_vec();
        let edges = vec![Edge {
            caller: "drm-gateway".into(),
            callee: "api.northshelf.example".into(),
            err_pct: 19.5,
            p99_ms: Some(575.0),
            calls: 118.0,
            errors: 23.0,
            unreached: 118.0,
            ..Default::default()
        }];
        let kind_with = |caller_p50: f64, caller_p99: f64| {
            let mut ctx = Ctx::with_signals(&scope, Vec::new());
            ctx.health.insert(
                "drm-gateway".into(),
                parse::ServiceHealth {
                    err_pct: (Some(19.5), Some(11.1)),
                    p50_ms: (Some(caller_p50), Some(222.0)),
                    p99_ms: (Some(caller_p99), Some(482.0)),
                    ..Default::default()
                },
            );
            suspect(&mut ctx, &path, &edges);
            ctx.signals.last().map(|s| s.kind)
        };
        assert_eq!(kind_with(217.0, 581.0), Some("error_surge"));
        assert_eq!(kind_with(900.0, 2400.0), Some("latency_regression"));
    }

    /// A callee whose own spans recorded the calls its caller saw fail,
    /// and answered them fast, turned them away: the calls reached it. The
    /// same failures with calls it never recorded are lost on the way.
    #[test]
    fn calls_a_callee_recorded_and_answered_reached_it() {
        let mut scope = Scope::test();
        scope.service = Some("frontdesk-api".into());
        let path: Vec<String> = ["frontdesk-api", "folio-service"]
            .map(String::from)
            .to_vec();
        let answered = Edge {
            caller: "frontdesk-api".into(),
            callee: "folio-service".into(),
            err_pct: 84.8,
            p99_ms: Some(17.0),
            calls: 224.0,
            errors: 190.0,
            failed_as_answered: 190.0,
            ..Default::default()
        };
        let kind_with = |edge: Edge| {
            let mut ctx = Ctx::with_signals(&scope, Vec::new());
            ctx.health.insert(
                "folio-service".into(),
                parse::ServiceHealth {
                    err_pct: (Some(0.0), Some(0.0)),
                    p99_ms: (Some(17.0), Some(16.0)),
                    ..Default::default()
                },
            );
            suspect(&mut ctx, &path, &[edge]);
            ctx.signals.last().map(|s| (s.kind, s.detail.clone()))
        };
        let (kind, detail) = kind_with(answered.clone()).expect("a signal");
        assert_eq!(kind, "error_surge");
        assert!(
            detail.contains("recorded them and answered fast"),
            "{detail}"
        );
        let lost = Edge {
            failed_as_answered: 0.0,
            unreached: 190.0,
            ..answered
        };
        assert_eq!(
            kind_with(lost).map(|(k, _)| k),
            Some("dependency_unreachable")
        );
    }

    #[test]
    fn a_callee_well_by_its_own_spans() {
        let health = |err: (f64, f64), p99: (f64, f64)| parse::ServiceHealth {
            err_pct: (Some(err.0), Some(err.1)),
            p99_ms: (Some(p99.0), Some(p99.1)),
            ..Default::default()
        };
        // Its callers' calls time out; it sees fewer requests, all fine.
        assert!(well_by_its_own_spans(Some(&health(
            (0.0, 0.0),
            (40.0, 38.0)
        ))));
        // Slow or failing by its own spans: it is where they wait.
        assert!(!well_by_its_own_spans(Some(&health(
            (0.0, 0.0),
            (900.0, 40.0)
        ))));
        assert!(!well_by_its_own_spans(Some(&health(
            (12.0, 0.5),
            (40.0, 38.0)
        ))));
        // No spans of its own (a broker, a database): nothing says it is well.
        assert!(!well_by_its_own_spans(None));
    }
}
