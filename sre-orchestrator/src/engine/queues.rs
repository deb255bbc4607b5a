//! A service that waits for a queue's consumer.
//!
//! Work handed to a queue comes back later, done by a consumer no call
//! links to the service that waits for it: `loan-api` publishes appraisal
//! requests, `appraisal-worker` consumes them, and when the worker falls
//! behind, `loan-api` answers `appraisal not ready after 8000ms
//! (status=QUEUED)`. Traces show `loan-api` as the deepest slow service on
//! the call path, because the wait ends there; the consumer's lag is on no
//! path. An engineer reads the error, sees what it waits for, finds the
//! consumer of that name behind, and looks there. So does the engine: a
//! degraded service whose own errors (as `service_health` lists them) name
//! a lagging consumer, by a distinctive word of its name that is not one of
//! the service's own, fails through that consumer, when the lag began
//! before the service's trouble did. Errors that say only that what the
//! service reads is stale (`odds snapshot stale (age 11s > max 10s)`) name
//! no one; when a single consumer fell behind before them, the stale data
//! is what that consumer did not write in time. The call path the traces
//! show then goes on through the queue to the consumer ([`through_the_queue`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::collect::EvidencePack;
use super::named::{distinctive, says_stale, split_case, words};
use super::rules::{Ctx, same_component};

/// The least weight of a lag that can explain another service's wait.
const LAGGING: f64 = 2.0;

/// For each degraded service whose errors name a consumer that lags (see
/// the module docs), records that it fails through the consumer; returns
/// the consumers so linked.
pub(super) fn waiting_on_consumers(
    ctx: &mut Ctx<'_>,
    pack: &EvidencePack,
    degraded: &[String],
) -> Vec<String> {
    let mut consumers: Vec<(String, Option<Timestamp>)> = Vec::new();
    for s in ctx
        .signals
        .iter()
        .filter(|s| s.kind == "consumer_lag" && s.weight >= LAGGING)
    {
        match consumers.iter_mut().find(|(c, _)| *c == s.component) {
            Some((_, at)) => {
                if let Some(t) = s.at {
                    *at = Some(at.map_or(t, |a| a.min(t)));
                }
            }
            None => consumers.push((s.component.clone(), s.at)),
        }
    }
    let mut linked = Vec::new();
    for waiting in degraded {
        if ctx.blames.contains_key(waiting) {
            continue;
        }
        let own = words(&split_case(waiting));
        // When its trouble began: its first dated signal, else the alert.
        let first_trouble = ctx
            .signals
            .iter()
            .filter(|s| same_component(&s.component, waiting))
            .filter_map(|s| s.at)
            .min()
            .or(ctx.scope.alert_at);
        let health: Vec<&str> = pack
            .of("service_health")
            .filter(|o| o.args.get("service").and_then(Value::as_str) == Some(waiting.as_str()))
            .map(|o| o.outcome.text.as_str())
            .collect();
        let said: Vec<String> = health.iter().flat_map(|t| words(&split_case(t))).collect();
        // The consumers that lagged before its trouble began.
        let first: Vec<&(String, Option<Timestamp>)> = consumers
            .iter()
            .filter(|(consumer, lag_at)| {
                !same_component(consumer, waiting)
                    && match (lag_at, first_trouble) {
                        (Some(lag), Some(trouble)) => *lag <= trouble,
                        _ => true,
                    }
            })
            .collect();
        let named = first
            .iter()
            .find(|(consumer, _)| {
                words(&split_case(consumer))
                    .iter()
                    .filter(|w| distinctive(w) && !own.contains(w))
                    .any(|w| said.contains(w))
            })
            // Errors that say what they read is stale (`odds snapshot stale
            // (age 11s > max 10s)`) wait for whoever writes it: when one
            // consumer alone fell behind first, that one.
            // So do errors that say the queue it writes to is full (a
            // work-queue stream that discards new messages at its limit):
            // its one consumer that fell behind first did not drain it.
            .or_else(|| match first.as_slice() {
                [only] if health.iter().any(|t| says_stale(t) || says_full(t)) => Some(only),
                _ => None,
            });
        if let Some((consumer, _)) = named {
            ctx.blames.insert(waiting.clone(), consumer.clone());
            if !linked.contains(consumer) {
                linked.push(consumer.clone());
            }
        }
    }
    linked
}

/// The deepest service on the call path waits for a queue's consumer
/// (`waited_on`, linked by [`waiting_on_consumers`]): the path goes on
/// through the queue, one step deeper, as the call it stands for would. No
/// span links the two; the error does. The consumer is then weighed as
/// the deepest service on the path, and what waits on it as its victims.
pub(super) fn through_the_queue(
    path: &mut Vec<String>,
    blames: &BTreeMap<String, String>,
    waited_on: &[String],
) {
    if let Some(consumer) = path
        .last()
        .and_then(|deepest| blames.get(deepest))
        .filter(|c| waited_on.contains(c))
        .cloned()
    {
        path.push(consumer);
    }
}

/// Whether a text says the queue or stream written to is at its limit:
/// NATS JetStream's `maximum messages exceeded` / `maximum bytes exceeded`
/// (a stream with `DiscardNew`).
fn says_full(text: &str) -> bool {
    let t = text.to_lowercase();
    ["maximum messages exceeded", "maximum bytes exceeded"]
        .iter()
        .any(|cue| t.contains(cue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;
    use crate::engine::collect::Output;

    fn health(service: &str, text: &str) -> Output {
        Output::test(
            "signoz.service_health",
            serde_json::json!({ "service": service }),
            text,
        )
    }

    fn at(t: &str) -> Option<Timestamp> {
        t.parse().ok()
    }

    /// What `loan-api` waits for lags, and lagged first.
    fn linked(errors: &str, lag_at: &str, trouble_at: &str) -> Vec<String> {
        let scope = Scope::test();
        let mut ctx = Ctx::new(&scope);
        ctx.signal(
            "appraisal-worker",
            "consumer_lag",
            4.0,
            "signoz.query_metric",
            "kafka_consumergroup_lag of appraisal-workers grows".into(),
            at(lag_at),
        );
        ctx.signal(
            "loan-api",
            "new_error",
            1.0,
            "signoz.log_patterns",
            "NEW log template in loan-api".into(),
            at(trouble_at),
        );
        let pack = EvidencePack {
            outputs: vec![health("loan-api", errors)],
            ..Default::default()
        };
        let out = waiting_on_consumers(&mut ctx, &pack, &["loan-api".to_string()]);
        assert_eq!(
            ctx.blames.contains_key("loan-api"),
            !out.is_empty(),
            "a link is a blame"
        );
        out
    }

    #[test]
    fn the_call_path_goes_on_through_the_queue_its_deepest_service_waits_on() {
        let blames = BTreeMap::from([
            ("csms-api".to_string(), "billing-rating".to_string()),
            ("ocpp-gateway".to_string(), "csms-api".to_string()),
        ]);
        let waited_on = ["billing-rating".to_string()];
        let mut path = vec!["csms-api".to_string()];
        through_the_queue(&mut path, &blames, &waited_on);
        assert_eq!(path, ["csms-api", "billing-rating"]);
        // A blame that is no queue's wait (the caller of the paged service)
        // does not lengthen the path.
        let mut path = vec!["ocpp-gateway".to_string()];
        through_the_queue(&mut path, &blames, &waited_on);
        assert_eq!(path, ["ocpp-gateway"]);
        // Nor does a consumer waited on by a service above the deepest.
        let mut path = vec!["csms-api".to_string(), "tariff-service".to_string()];
        through_the_queue(&mut path, &blames, &waited_on);
        assert_eq!(path, ["csms-api", "tariff-service"]);
        // No path, nothing to go on from.
        let mut path = Vec::new();
        through_the_queue(&mut path, &blames, &waited_on);
        assert!(path.is_empty());
    }

    #[test]
    fn a_service_whose_errors_name_a_lagging_consumer_waits_for_it() {
        let errors = "Top errors: appraisal not ready after 8000ms (status=QUEUED) ×363";
        assert_eq!(
            linked(errors, "2025-09-13T10:22:30Z", "2025-09-13T10:33:00Z"),
            ["appraisal-worker"]
        );
        // The lag began after the service's trouble: it is not why.
        assert!(linked(errors, "2025-09-13T10:40:00Z", "2025-09-13T10:33:00Z").is_empty());
        // Errors that do not name it.
        assert!(
            linked(
                "Top errors: connection refused ×40",
                "2025-09-13T10:22:30Z",
                "2025-09-13T10:33:00Z"
            )
            .is_empty()
        );
        // "worker" names no one.
        assert!(
            linked(
                "Top errors: worker pool exhausted ×40",
                "2025-09-13T10:22:30Z",
                "2025-09-13T10:33:00Z"
            )
            .is_empty()
        );
    }

    /// Errors that say what the service reads is stale wait for the one
    /// consumer that fell behind before them, named or not; not for one that
    /// fell behind after.
    #[test]
    fn stale_reads_wait_for_the_one_consumer_that_fell_behind_first() {
        let errors = "Top errors: odds snapshot stale (age 11s > max 10s), market suspended ×25";
        assert_eq!(
            linked(errors, "2025-09-13T10:22:30Z", "2025-09-13T10:33:00Z"),
            ["appraisal-worker"]
        );
        assert!(linked(errors, "2025-09-13T10:40:00Z", "2025-09-13T10:33:00Z").is_empty());
    }

    /// A publisher refused because the stream it writes to is full waits
    /// for the one consumer that fell behind first; another error does not.
    #[test]
    fn a_full_stream_waits_for_the_one_consumer_that_fell_behind_first() {
        let full = "Top errors: NATS.Client.JetStream.NATSJetStreamException: maximum messages exceeded ×152";
        assert_eq!(
            linked(full, "2025-11-05T17:58:00Z", "2025-11-05T18:22:04Z"),
            ["appraisal-worker"]
        );
        let other = "Top errors: NullReferenceException: Object reference not set ×152";
        assert!(linked(other, "2025-11-05T17:58:00Z", "2025-11-05T18:22:04Z").is_empty());
    }
}
