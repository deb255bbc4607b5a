//! Readiness a starting pod had not reached yet.
//!
//! A pod's readiness probe fails until its application has started: a JVM
//! warming up refuses the connection or answers 503 for its first seconds,
//! and the kubelet records `Unhealthy … Readiness probe failed` a few
//! times. Every scale-out and every rollout shows it; it is no fault when
//! the pod became Ready soon after and stayed so. An engineer skips those
//! events, and so does the engine: a handful of readiness failures that
//! all fell within a pod's first minutes (the last one too: failures that
//! go on after them are the pod's trouble, however young it is), of a pod
//! that is Ready now and never restarted, keep a fifth of their weight.

use jiff::SignedDuration;

use super::rules::Signal;
use super::world::World;

/// How long a pod may take to start before its probe failures count: a
/// JVM's warm-up, a cache loaded at start.
const STARTUP: SignedDuration = SignedDuration::from_mins(3);

/// At most this many failures (an event's `(xN)`) are a start-up's.
const STARTUP_FAILURES: u32 = 10;

/// Discounts the readiness failures of pods that were starting (see the
/// module docs), and a workload's summary of them (`ProbeFailing — 8
/// pods`) when every failure it had was a start-up's.
pub(super) fn discount_startup_readiness(signals: &mut [Signal], world: &World) {
    // (component, whether this event was a start-up's)
    let mut events: Vec<(String, bool)> = Vec::new();
    for s in signals.iter_mut().filter(|s| s.kind == "probe_failing") {
        // The workload's summary is judged below, from its events.
        if s.source.ends_with("workload_health") {
            continue;
        }
        // Any other failure of the workload's pods counts against the
        // summary's discount.
        let readiness = s.detail.contains("Readiness probe failed");
        let pod = pod_named(&s.detail).and_then(|name| world.pods.iter().find(|p| p.name == name));
        let (true, Some(pod)) = (readiness, pod) else {
            events.push((s.component.clone(), false));
            continue;
        };
        let name = pod.name.as_str();
        // The last failure, as the pod's Unhealthy events record it: a
        // start-up's failures end within its first minutes.
        let last = world
            .events
            .iter()
            .filter(|e| {
                e.reason == "Unhealthy"
                    && e.object_kind == "Pod"
                    && e.object == name
                    && (e.namespace.is_empty() || e.namespace == pod.namespace)
                    && e.message.contains("Readiness probe failed")
            })
            .filter_map(|e| e.last.or(e.first))
            .max();
        let (Some(created), Some(at), Some(last)) = (pod.created, s.at, last) else {
            events.push((s.component.clone(), false));
            continue;
        };
        let containers: Vec<_> = pod.containers.iter().filter(|c| !c.init).collect();
        let ready_now = !containers.is_empty()
            && containers
                .iter()
                .all(|c| c.ready && c.running && c.restarts == 0);
        let few = times(&s.detail).is_none_or(|n| n <= STARTUP_FAILURES);
        let starting = ready_now
            && few
            && at >= created
            && last >= at
            && last.duration_since(created) <= STARTUP;
        if starting {
            s.weight *= 0.2;
        }
        events.push((s.component.clone(), starting));
    }
    for s in signals.iter_mut().filter(|s| {
        s.kind == "probe_failing"
            && s.source.ends_with("workload_health")
            && s.detail.contains("ProbeFailing")
            && events.iter().any(|(c, _)| *c == s.component)
            && events
                .iter()
                .all(|(c, starting)| *c != s.component || *starting)
    }) {
        s.weight *= 0.2;
    }
}

/// The pod an event line is about (`… on Pod/NAME (x3): …`).
fn pod_named(detail: &str) -> Option<&str> {
    let rest = detail.split_once("Pod/")?.1;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ':')
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| !n.is_empty())
}

/// An event's count (`(x3)`).
fn times(detail: &str) -> Option<u32> {
    let rest = detail.split_once("(x")?.1;
    rest.split_once(')')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::{Container, Event, Pod};

    #[test]
    fn readiness_failures_of_a_starting_pod_that_became_ready_are_discounted() {
        let at = |t: &str| t.parse().ok();
        let pod = |name: &str, ready: bool, restarts: i64| Pod {
            name: name.into(),
            owner: "hotel-search".into(),
            created: at("2026-03-16T20:09:35Z"),
            containers: vec![Container {
                name: "app".into(),
                ready,
                running: true,
                restarts,
                ..Default::default()
            }],
            ..Default::default()
        };
        let unhealthy = |name: &str, last: &str| Event {
            reason: "Unhealthy".into(),
            message: "Readiness probe failed: connection refused".into(),
            object_kind: "Pod".into(),
            object: name.into(),
            first: at("2026-03-16T20:10:01Z"),
            last: at(last),
            ..Default::default()
        };
        let world = World {
            pods: vec![
                pod("hs-a", true, 0),
                pod("hs-b", false, 0),
                pod("hs-c", true, 2),
                pod("hs-d", true, 0),
            ],
            events: vec![
                unhealthy("hs-a", "2026-03-16T20:10:14Z"),
                unhealthy("hs-b", "2026-03-16T20:10:14Z"),
                unhealthy("hs-c", "2026-03-16T20:10:14Z"),
                unhealthy("hs-d", "2026-03-16T20:25:00Z"),
            ],
            ..Default::default()
        };
        let event = |name: &str, first: &str, count: u32| Signal {
            at: at(first),
            ..Signal::test(
                "hotel-search",
                "probe_failing",
                &format!(
                    "event Unhealthy on Pod/{name} (x{count}): Readiness probe failed: Get \"http://10.42.50.26:8080/ready\": connection refused"
                ),
            )
        };
        let mut signals = vec![
            event("hs-a", "2026-03-16T20:10:01Z", 3),
            // Still not ready, restarted, failing on long after its start,
            // failing long after its start, failing a hundred times: each
            // counts.
            event("hs-b", "2026-03-16T20:10:01Z", 3),
            event("hs-c", "2026-03-16T20:10:01Z", 3),
            event("hs-d", "2026-03-16T20:10:01Z", 3),
            event("hs-a", "2026-03-16T20:30:00Z", 3),
            event("hs-a", "2026-03-16T20:10:01Z", 120),
        ];
        discount_startup_readiness(&mut signals, &world);
        let weights: Vec<f64> = signals.iter().map(|s| s.weight).collect();
        assert!(weights[0] < 1.0, "{weights:?}");
        assert!(weights[1..].iter().all(|w| *w >= 4.0), "{weights:?}");
    }
}
