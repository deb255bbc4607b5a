//! A callee's rollout that its callers' new errors follow.
//!
//! A service can break its callers while its own spans stay green: it
//! answers 200 with a body they can no longer read (`balance` became
//! `{"amount":25.00,"currency":"EUR"}`), a field renamed, an enum value
//! added. The callee logs nothing wrong; the caller logs a new error and
//! fails, and by everything measured on it the caller looks like the cause.
//! An engineer asks what changed next to the caller when its error began,
//! and finds the callee rolled out within the same minute. So does the
//! engine: when a caller's new error begins within minutes of a rollout of a
//! service it calls (a call the traces show), the caller did not roll out
//! itself just before, and the error names that callee (a distinctive word
//! of its name that is not one of the caller's own) or says the caller could
//! not read what it got (`decode`, `unmarshal`, `deserialize`, `parse`), the
//! error and the caller's error surge are the callee's bad deploy.

use jiff::SignedDuration;

use super::moves::move_signals;
use super::named::{distinctive, split_case, words};
use super::parse::Edge;
use super::rules::{Ctx, Signal, same_component};

/// How long before a rollout's coarse time (`14m ago`, a minute's
/// precision) a caller's error may begin and still follow it.
const BEFORE: SignedDuration = SignedDuration::from_mins(2);

/// How long after a rollout a caller's new error is still its first effect.
const AFTER: SignedDuration = SignedDuration::from_mins(5);

/// A caller's own rollout this close before its error explains it instead.
const OWN_ROLLOUT: SignedDuration = SignedDuration::from_mins(30);

/// Words of a client that could not read the answer it got.
const UNREADABLE: &[&str] = &[
    "decode",
    "decoding",
    "unmarshal",
    "deserialize",
    "deserialise",
    "deserialization",
    "parse",
    "parsing",
    "cannot convert",
    "can't convert",
    "unexpected token",
    "unknown field",
    "missing field",
    // kotlinx.serialization under Ktor (`JsonConvertException: Illegal
    // input: Unexpected JSON token at offset 237`), Jackson (`Unexpected
    // character ('<' (code 60))`), serde (`invalid type: string "E-0C2",
    // expected u16`, `unknown variant`), System.Text.Json (`The JSON value
    // could not be converted to System.Int32`), Json.NET (`Error converting
    // value`), JSON.parse (`"<html>" is not valid JSON`), pydantic v2
    // (`Input should be a valid integer`).
    "unexpected json token",
    "illegal input",
    "unexpected character",
    "invalid type:",
    "unknown variant",
    "could not be converted",
    "error converting value",
    "is not valid json",
    "input should be a valid",
    // A dynamic language reading a field the answer no longer has.
    "cannot read properties of undefined",
    "cannot read property",
    "undefined is not an object",
    "'nonetype' object is not subscriptable",
    "undefined method `[]' for nil",
];

/// What describes a changed contract: the callee's name, or a client that
/// could not read the answer.
fn about(detail: &str, callee: &str, caller: &str) -> bool {
    let said = words(&split_case(detail));
    let own = words(&split_case(caller));
    let names_callee = words(&split_case(callee))
        .iter()
        .filter(|w| distinctive(w) && !own.contains(w))
        .any(|w| said.contains(w));
    let lower = detail.to_lowercase();
    names_callee || UNREADABLE.iter().any(|u| lower.contains(u))
}

/// Moves to a callee's rollout the new errors of the callers that began
/// with it (see the module docs); returns (caller, callee) for each move.
pub(super) fn broken_callers(ctx: &mut Ctx<'_>, edges: &[Edge]) -> Vec<(String, String)> {
    let rollouts: Vec<Signal> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "recent_deploy" && s.at.is_some())
        .cloned()
        .collect();
    let mut moved = Vec::new();
    for d in &rollouts {
        let Some(t) = d.at else { continue };
        let callers: Vec<&str> = edges
            .iter()
            .filter(|e| !e.db && same_component(&e.callee, &d.component))
            .filter(|e| !same_component(&e.caller, &d.component))
            .map(|e| e.caller.as_str())
            .collect();
        for caller in callers {
            let first = ctx
                .signals
                .iter()
                .filter(|s| s.kind == "new_error" && same_component(&s.component, caller))
                .filter(|s| about(&s.detail, &d.component, caller))
                .filter_map(|s| s.at)
                .min();
            let Some(first) = first else { continue };
            if first < t - BEFORE || first > t + AFTER {
                continue;
            }
            let own_rollout = rollouts.iter().any(|r| {
                same_component(&r.component, caller)
                    && r.at
                        .is_some_and(|at| at <= first + BEFORE && at >= first - OWN_ROLLOUT)
            });
            if own_rollout {
                continue;
            }
            let callee = d.component.clone();
            let pairs = move_signals(
                &mut ctx.signals,
                &callee,
                |_, s| {
                    same_component(&s.component, caller)
                        && matches!(s.kind, "new_error" | "error_surge")
                        && s.weight > 0.0
                },
                |s| {
                    format!(
                        "{} began failing as {callee} rolled out ({}): {}",
                        s.component, d.detail, s.detail
                    )
                },
            );
            for s in ctx.signals.iter_mut().filter(|s| {
                s.component == callee
                    && matches!(s.kind, "new_error" | "error_surge")
                    && s.detail.contains(&format!("as {callee} rolled out"))
            }) {
                s.kind = "bad_deploy";
            }
            moved.extend(pairs);
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;
    use jiff::Timestamp;

    fn edge(caller: &str, callee: &str) -> Edge {
        Edge {
            caller: caller.into(),
            callee: callee.into(),
            ..Default::default()
        }
    }

    fn at(t: &str) -> Option<Timestamp> {
        t.parse().ok()
    }

    /// The ledger rolled out at `rollout`; redemption-api (which may have
    /// rolled out at `own`) logged `error` from `error_at`.
    fn moved(
        error: &str,
        rollout: &str,
        error_at: &str,
        own: Option<&str>,
    ) -> Vec<(String, String)> {
        let scope = Scope::test();
        let mut ctx = Ctx::new(&scope);
        ctx.signal(
            "giftcard-ledger",
            "recent_deploy",
            1.0,
            "k8s.rollout_history",
            "revision 3 rolled out 14m ago: image 2.7.4 → 2.8.0".into(),
            at(rollout),
        );
        if let Some(own) = own {
            ctx.signal(
                "redemption-api",
                "recent_deploy",
                1.0,
                "k8s.rollout_history",
                "revision 7 rolled out".into(),
                at(own),
            );
        }
        ctx.signal(
            "redemption-api",
            "new_error",
            5.0,
            "signoz.log_patterns",
            format!("NEW log template in redemption-api: {error}"),
            at(error_at),
        );
        ctx.signal(
            "redemption-api",
            "error_surge",
            4.0,
            "signoz.service_dependencies",
            "redemption-api is failing".into(),
            None,
        );
        let pairs = broken_callers(&mut ctx, &[edge("redemption-api", "giftcard-ledger")]);
        if !pairs.is_empty() {
            let on = |c: &str| -> f64 {
                ctx.signals
                    .iter()
                    .filter(|s| s.component == c && s.kind != "recent_deploy")
                    .map(|s| s.weight)
                    .sum()
            };
            assert!(on("giftcard-ledger") > 2.0 * on("redemption-api"));
            assert!(
                ctx.signals
                    .iter()
                    .any(|s| s.component == "giftcard-ledger" && s.kind == "bad_deploy")
            );
        }
        pairs
    }

    #[test]
    fn a_callers_new_error_that_began_as_its_callee_rolled_out_is_the_callees_deploy() {
        let error =
            "decode ledger balance response — error decoding string: can't convert to decimal";
        assert_eq!(
            moved(error, "2025-12-08T17:22:00Z", "2025-12-08T17:21:41Z", None),
            [("redemption-api".to_string(), "giftcard-ledger".to_string())]
        );
        // An unreadable answer names no one, and still says it.
        assert_eq!(
            moved(
                "json: cannot unmarshal object into Go value of type float64",
                "2025-12-08T17:22:00Z",
                "2025-12-08T17:23:10Z",
                None
            )
            .len(),
            1
        );
        // A dynamic language reading a field the answer no longer has.
        assert_eq!(
            moved(
                "TypeError: Cannot read properties of undefined (reading 'length')",
                "2025-12-08T17:22:00Z",
                "2025-12-08T17:22:36Z",
                None
            )
            .len(),
            1
        );
        // Too long after the rollout: something else.
        assert!(moved(error, "2025-12-08T17:22:00Z", "2025-12-08T17:40:00Z", None).is_empty());
        // Before it: not its doing.
        assert!(moved(error, "2025-12-08T17:22:00Z", "2025-12-08T17:15:00Z", None).is_empty());
        // The caller rolled out just before: its own deploy.
        assert!(
            moved(
                error,
                "2025-12-08T17:22:00Z",
                "2025-12-08T17:21:41Z",
                Some("2025-12-08T17:10:00Z")
            )
            .is_empty()
        );
        // An error that is about neither.
        assert!(
            moved(
                "redis: connection pool timeout",
                "2025-12-08T17:22:00Z",
                "2025-12-08T17:21:41Z",
                None
            )
            .is_empty()
        );
    }
}
