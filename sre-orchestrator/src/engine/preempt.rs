//! Pods the scheduler removed to make room for a pod of higher priority.
//!
//! When a pending pod's PriorityClass outranks pods already running and no
//! node has room, kube-scheduler deletes enough of them (the victims) and
//! records on each a `Normal` event, `Preempted`:
//! `Preempted by pod 8c216c79-… on node ip-10-90-10-11…` (by UID in
//! current releases; `Preempted by ml/embedding-backfill-… on node …` in
//! older ones).
//! The victims' controllers recreate them, and on a full node group their
//! replacements stay `Pending` with `Insufficient cpu`: the workload runs
//! short, and what the page shows is a service that lost capacity without
//! a crash, an OOM kill or a rollout. An engineer who sees pods that were
//! running vanish looks at the events for `Preempted`, looks up the pod the
//! event names (on the node it names), and finds a batch job or a new
//! workload given a high priority: that workload took the room.
//!
//! The events are read cluster-wide (the preemptor rarely lives beside its
//! victims, and the event is `Normal`, so a call for warnings misses it); a
//! preemptor named by UID is looked up among the pods of the nodes the
//! events name. Each workload that preempted others gets a
//! `noisy_neighbor` signal, and its victims' unschedulable replacements
//! (for want of room, after the first preemption) move to it: they are
//! pending for the room it took.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::collect::Output;
use super::moves::move_signals;
use super::rules::{Signal, owner_of, same_component};
use super::world::{Pod, World};

/// At most this many nodes' pods are listed to find preemptors named by UID.
const NODE_READS: usize = 3;

/// Who preempted, as the event names it.
#[derive(Debug, Clone, PartialEq)]
enum By {
    /// `Preempted by pod <uid> on node …`.
    Uid(String),
    /// `Preempted by <namespace>/<name> on node …`.
    Named(String, String),
}

/// One `Preempted` event.
#[derive(Debug, Clone)]
struct Preemption {
    /// The victim's workload.
    victim: String,
    by: By,
    node: String,
    at: Option<Timestamp>,
}

/// A workload that preempted others: one of its pods (for the detail), the
/// workloads it preempted, on which nodes, and when first.
struct Preemptor<'w> {
    pod: &'w Pod,
    victims: Vec<String>,
    nodes: Vec<String>,
    first: Option<Timestamp>,
}

/// Reads the scheduler's message.
fn parse(message: &str) -> Option<(By, String)> {
    let rest = message.strip_prefix("Preempted by ")?;
    let (who, node) = rest.split_once(" on node ")?;
    let node = node.trim().trim_end_matches('.').to_string();
    let by = match who.strip_prefix("pod ") {
        Some(uid) => By::Uid(uid.trim().to_string()),
        None => {
            let (ns, name) = who.trim().split_once('/')?;
            By::Named(ns.to_string(), name.to_string())
        }
    };
    Some((by, node))
}

fn preemptions(world: &World) -> Vec<Preemption> {
    world
        .events
        .iter()
        .filter(|e| e.reason == "Preempted" && e.object_kind == "Pod")
        .filter_map(|e| {
            let (by, node) = parse(&e.message)?;
            Some(Preemption {
                victim: owner_of(&e.object),
                by,
                node,
                at: e.first.or(e.last),
            })
        })
        .collect()
}

fn preemptor<'w>(world: &'w World, by: &By) -> Option<&'w Pod> {
    world.pods.iter().find(|p| match by {
        By::Uid(uid) => p.uid.as_deref() == Some(uid.as_str()),
        By::Named(ns, name) => &p.namespace == ns && &p.name == name,
    })
}

/// The `list` arguments of round one: the cluster's `Preempted` events, up
/// to `page` of them.
pub(super) fn events_read(page: usize) -> Value {
    json!({ "kind": "events", "field_selector": "reason=Preempted", "output": "json", "compact": true, "limit": page })
}

/// The `list` arguments that find the preemptors the events name by UID
/// only: the pods of the nodes they ran on (a few nodes; one preemptor's
/// pods usually preempted on several).
pub(super) fn node_reads(outputs: &[Output], page: usize) -> Vec<Value> {
    unresolved_nodes(&World::from_outputs(outputs))
        .into_iter()
        .take(NODE_READS)
        .map(|node| json!({ "kind": "pods", "node": node, "output": "json", "compact": true, "limit": page }))
        .collect()
}

/// The nodes of the preemptions whose preemptor is not among the pods read.
fn unresolved_nodes(world: &World) -> Vec<String> {
    let mut nodes: Vec<String> = Vec::new();
    for p in preemptions(world) {
        if preemptor(world, &p.by).is_none() && !nodes.contains(&p.node) {
            nodes.push(p.node);
        }
    }
    nodes
}

/// Gives each workload that preempted others since `since` a
/// `noisy_neighbor` signal and moves to it its victims' replacements that
/// could not be scheduled for want of room after it came (see the module
/// docs); returns (victim, preemptor) for each move.
pub(super) fn attribute(
    signals: &mut Vec<Signal>,
    world: &World,
    since: Timestamp,
) -> Vec<(String, String)> {
    let mut by: Vec<Preemptor<'_>> = Vec::new();
    for p in preemptions(world) {
        if p.at.is_some_and(|at| at < since) {
            continue;
        }
        let Some(pod) = preemptor(world, &p.by) else {
            continue;
        };
        if same_component(&pod.owner, &p.victim) {
            continue;
        }
        let i = match by.iter().position(|q| q.pod.owner == pod.owner) {
            Some(i) => i,
            None => {
                by.push(Preemptor {
                    pod,
                    victims: Vec::new(),
                    nodes: Vec::new(),
                    first: None,
                });
                by.len() - 1
            }
        };
        let entry = &mut by[i];
        if !entry.victims.contains(&p.victim) {
            entry.victims.push(p.victim.clone());
        }
        if !entry.nodes.contains(&p.node) {
            entry.nodes.push(p.node.clone());
        }
        entry.first = match (entry.first, p.at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut moved = Vec::new();
    for Preemptor {
        pod,
        victims,
        nodes,
        first,
    } in by
    {
        let owner = pod.owner.clone();
        let class = pod
            .priority_class
            .as_deref()
            .map(|c| format!(" (PriorityClass {c})"))
            .unwrap_or_default();
        signals.push(Signal {
            component: owner.clone(),
            kind: "noisy_neighbor",
            weight: 1.0 + 0.5 * victims.len().min(4) as f64,
            source: "k8s.events".into(),
            detail: format!(
                "{owner}{class} preempted pods of {} on {} node(s) ({})",
                victims.join(", "),
                nodes.len(),
                nodes.join(", ")
            ),
            at: first,
        });
        let after = |s: &Signal| match (first, s.at) {
            (Some(first), Some(at)) => at.as_second() >= first.as_second() - 60,
            _ => true,
        };
        let start = signals.len();
        moved.extend(move_signals(
            signals,
            &owner,
            |_, s| {
                s.kind == "unschedulable"
                    && s.detail.to_lowercase().contains("insufficient")
                    && victims.iter().any(|v| same_component(v, &s.component))
                    && after(s)
            },
            |s| {
                format!(
                    "{} was preempted by {owner}{class} and cannot come back for want of room: {}",
                    s.component, s.detail
                )
            },
        ));
        // What moved is the room the preemptor took, not its own scheduling.
        for s in signals[..start].iter_mut().filter(|s| {
            s.component == owner
                && s.kind == "unschedulable"
                && s.detail.contains(" was preempted by ")
        }) {
            s.kind = "noisy_neighbor";
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::engine::world::Event;

    #[test]
    fn both_wordings_of_the_scheduler_are_read() {
        assert_eq!(
            parse(
                "Preempted by pod 8c216c79-d12a-452c-a2a9-612bba22005f on node ip-10-90-10-11.ec2.internal"
            ),
            Some((
                By::Uid("8c216c79-d12a-452c-a2a9-612bba22005f".into()),
                "ip-10-90-10-11.ec2.internal".into()
            ))
        );
        assert_eq!(
            parse("Preempted by ml/embedding-backfill-29420640-ls8mp on node gke-pool-1-abcd"),
            Some((
                By::Named("ml".into(), "embedding-backfill-29420640-ls8mp".into()),
                "gke-pool-1-abcd".into()
            ))
        );
        assert_eq!(parse("Preempting other pods"), None);
    }

    fn preempted(victim: &str, uid: &str, node: &str, at: &str) -> Event {
        Event {
            kind_of_event: "Normal".into(),
            reason: "Preempted".into(),
            message: format!("Preempted by pod {uid} on node {node}"),
            object_kind: "Pod".into(),
            object: victim.into(),
            namespace: "recs".into(),
            count: 1,
            first: Some(at.parse().unwrap()),
            last: Some(at.parse().unwrap()),
            host: None,
        }
    }

    fn pending(component: &str, at: &str, why: &str) -> Signal {
        Signal {
            component: component.into(),
            kind: "unschedulable",
            weight: 4.5,
            source: "k8s.pods".into(),
            detail: format!("pod {component}-x: not scheduled: {why}"),
            at: Some(at.parse().unwrap()),
        }
    }

    fn world() -> World {
        let mut w = World::default();
        for (name, uid, node) in [
            ("backfill-29420640-ls8mp", "u-1", "n1"),
            ("backfill-29420640-c4kx4", "u-2", "n2"),
        ] {
            w.pods.push(Pod {
                name: name.into(),
                namespace: "ml".into(),
                owner: "backfill".into(),
                node: Some(node.into()),
                uid: Some(uid.into()),
                priority_class: Some("ml-critical".into()),
                ..Pod::default()
            });
        }
        w.events = vec![
            preempted(
                "recs-api-79zchhm7tm-bvzmf",
                "u-1",
                "n1",
                "2025-12-09T02:12:48Z",
            ),
            preempted(
                "feed-ranker-6ffjqff7dg-86fpm",
                "u-2",
                "n2",
                "2025-12-09T02:14:00Z",
            ),
        ];
        w
    }

    /// The victims' replacements, pending for room after the preemption,
    /// are the preemptor's doing; one pending before it, or for a taint,
    /// is not.
    #[test]
    fn victims_pending_for_room_move_to_the_workload_that_preempted_them() {
        let world = world();
        const ROOM: &str = "0/5 nodes are available: 5 Insufficient cpu.";
        let mut signals = vec![
            pending("recs-api", "2025-12-09T02:13:00Z", ROOM),
            pending("feed-ranker", "2025-12-09T02:14:12Z", ROOM),
            pending("feed-ranker", "2025-12-09T01:00:00Z", ROOM),
            pending(
                "recs-api",
                "2025-12-09T02:20:00Z",
                "1 node(s) had untolerated taint",
            ),
        ];
        let moved = attribute(
            &mut signals,
            &world,
            "2025-12-09T01:30:00Z".parse().unwrap(),
        );
        assert_eq!(
            moved,
            vec![
                ("recs-api".to_string(), "backfill".to_string()),
                ("feed-ranker".to_string(), "backfill".to_string())
            ]
        );
        let on: Vec<&Signal> = signals
            .iter()
            .filter(|s| s.component == "backfill")
            .collect();
        assert_eq!(on.len(), 3);
        assert!(on.iter().all(|s| s.kind == "noisy_neighbor"));
        assert!(
            on.iter()
                .any(|s| s.detail.contains("PriorityClass ml-critical")
                    && s.detail.contains("recs-api, feed-ranker"))
        );
        // The old pending pod and the tainted one stay where they were.
        assert_eq!(
            signals
                .iter()
                .filter(|s| s.kind == "unschedulable" && (s.weight - 4.5).abs() < 1e-9)
                .count(),
            2
        );
    }

    /// A preemption before the incident's horizon, or whose preemptor is
    /// not among the pods read, blames nobody.
    #[test]
    fn old_or_unresolved_preemptions_blame_nobody() {
        let mut world = world();
        let mut signals = vec![pending(
            "recs-api",
            "2025-12-09T02:13:00Z",
            "Insufficient cpu",
        )];
        assert!(
            attribute(
                &mut signals,
                &world,
                "2025-12-09T03:00:00Z".parse().unwrap()
            )
            .is_empty()
        );
        world.pods.clear();
        assert!(
            attribute(
                &mut signals,
                &world,
                "2025-12-09T01:00:00Z".parse().unwrap()
            )
            .is_empty()
        );
        assert_eq!(signals.len(), 1);
        // Unresolved: the nodes the events name are read, once each.
        assert_eq!(unresolved_nodes(&world), vec!["n1", "n2"]);
    }
}
