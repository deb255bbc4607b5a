//! What people said about past causes, as a bounded prior on the ranking.
//!
//! When the same alert fired before and a person judged its root cause
//! ("confirmed" or "wrong root cause"), that verdict is worth something the
//! next time: an engineer who was told "it was not the node" looks
//! elsewhere first. It is worth less than the evidence in front of them,
//! though: a cause that was wrong last week can be the cause today. So a
//! verdict multiplies the score of the suspect it names (same component,
//! same kind) by a bounded factor ([`CONFIRMED`], [`WRONG`]): it reorders
//! suspects whose evidence is close, never one whose evidence is far ahead,
//! and it adds no suspect the evidence did not raise. An incident with no
//! judged past is ranked exactly as without memory.
//!
//! The priors come from the incident store (`sre-agent-cli`'s memory: past
//! incidents of the same alert with a person's verdict); the engine only
//! applies them.

use super::rules::{Suspect, same_component};

/// The factor for a cause a person confirmed.
pub const CONFIRMED: f64 = 1.3;
/// The factor for a cause a person judged wrong.
pub const WRONG: f64 = 0.6;

/// A person's verdict on a past cause of the same alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    /// The past root cause's component.
    pub component: String,
    /// Its kind.
    pub kind: String,
    /// [`CONFIRMED`] or [`WRONG`].
    pub factor: f64,
    /// Where it comes from, for people ("#12 on 2026-11-20: … judged wrong").
    pub because: String,
}

impl Prior {
    /// Whether the prior is about `suspect`.
    pub fn names(&self, suspect: &Suspect) -> bool {
        self.kind == suspect.kind && same_component(&self.component, &suspect.component)
    }
}

/// The factor for `suspect`: the product of the verdicts about it, kept
/// within [`WRONG`]..=[`CONFIRMED`] however many there are (ten confirmations
/// of a cause are one prior, not a landslide).
pub fn factor(priors: &[Prior], suspect: &Suspect) -> f64 {
    priors
        .iter()
        .filter(|p| p.names(suspect))
        .map(|p| p.factor)
        .product::<f64>()
        .clamp(WRONG, CONFIRMED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspect(component: &str, kind: &'static str) -> Suspect {
        Suspect {
            component: component.into(),
            kind,
            score: 1.0,
            signals: Vec::new(),
        }
    }

    fn prior(component: &str, kind: &str, factor: f64) -> Prior {
        Prior {
            component: component.into(),
            kind: kind.into(),
            factor,
            because: String::new(),
        }
    }

    /// The ranking of two suspects of `weights`, with `priors` in scope.
    fn ranked(weights: (f64, f64), priors: Vec<Prior>) -> Vec<String> {
        let signal = |component: &str, kind: &'static str, weight: f64| super::super::Signal {
            component: component.into(),
            kind,
            weight,
            source: "k8s.workload_health".into(),
            detail: format!("{component} {kind}"),
            at: None,
        };
        let scope = super::super::Scope {
            priors,
            ..super::super::Scope::test()
        };
        let signals = [
            signal("cart", "oom_killed", weights.0),
            signal("orders", "crash_loop", weights.1),
        ];
        super::super::rank::rank(&scope, &signals, &Default::default())
            .into_iter()
            .map(|s| format!("{}/{}", s.component, s.kind))
            .collect()
    }

    #[test]
    fn a_verdict_reorders_close_calls_only() {
        let wrong = || vec![prior("cart", "oom_killed", WRONG)];
        let confirmed = || vec![prior("orders", "crash_loop", CONFIRMED)];
        // Without memory: the evidence decides.
        assert_eq!(ranked((4.0, 3.0), vec![])[0], "cart/oom_killed");
        // Close: last time's verdict decides.
        assert_eq!(ranked((4.0, 3.0), wrong())[0], "orders/crash_loop");
        assert_eq!(ranked((4.0, 3.0), confirmed())[0], "orders/crash_loop");
        // Far ahead: the evidence still decides, and the judged cause stays
        // a lead.
        let far = ranked((4.0, 1.0), wrong());
        assert_eq!(far[0], "cart/oom_killed");
        assert_eq!(far.len(), 2);
        // A verdict on a cause the evidence did not raise adds nothing.
        let other = ranked(
            (4.0, 3.0),
            vec![prior("node-1", "node_not_ready", CONFIRMED)],
        );
        assert_eq!(other, ["cart/oom_killed", "orders/crash_loop"]);
    }

    #[test]
    fn a_verdict_applies_to_its_own_cause_only_and_stays_bounded() {
        let priors = [
            prior("cart", "oom_killed", WRONG),
            prior("cart", "oom_killed", WRONG),
            prior("checkout-api", "bad_deploy", CONFIRMED),
            prior("checkout", "bad_deploy", CONFIRMED),
        ];
        assert_eq!(factor(&priors, &suspect("cart", "oom_killed")), WRONG);
        // Same component under another name, same kind.
        assert_eq!(
            factor(&priors, &suspect("checkout", "bad_deploy")),
            CONFIRMED
        );
        // Same component, another kind; another component: untouched.
        assert_eq!(factor(&priors, &suspect("cart", "cpu_throttling")), 1.0);
        assert_eq!(factor(&[], &suspect("cart", "oom_killed")), 1.0);
        // A confirmation and a rejection of the same cause cancel out.
        let mixed = [
            prior("db", "missing_index", CONFIRMED),
            prior("db", "missing_index", WRONG),
        ];
        let f = factor(&mixed, &suspect("db", "missing_index"));
        assert!((f - CONFIRMED * WRONG).abs() < 1e-9, "{f}");
    }
}
