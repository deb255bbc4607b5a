//! The pressure that follows a pod: which workload fills what its
//! neighbours are evicted for.
//!
//! When a node runs short of disk or memory, the kubelet evicts pods and
//! says, in each eviction, which container used the most of that resource
//! (`Container picking-service was using 9412104Ki, request is 0, has larger
//! consumption of ephemeral-storage`). A node that fills up on its own (a
//! runaway system log, unreclaimable images) evicts whatever runs there,
//! and the pressure stays with the node. A workload that fills its node
//! (an unrotated debug log, a cache without a limit) is evicted, lands on
//! another node, and fills that one too: the pressure moves with the pod.
//! That is the test an engineer applies: one workload's usage dwarfs every
//! other evicted container's, and its evictions happened on two nodes or
//! more. Then the evictions and the nodes' pressure are that workload's
//! doing, and the signals move to it.

use std::collections::{BTreeMap, BTreeSet};

use super::moves::move_signals;
use super::rules::Signal;
use super::world::World;

/// How many times the next workload's usage the hog's must be.
const DWARFS: f64 = 5.0;

/// The least usage that can fill a node's share of a resource, in bytes.
const ENOUGH: f64 = 1024.0 * 1024.0 * 1024.0;

/// One eviction as the kubelet worded it.
#[derive(Debug, Clone, PartialEq)]
struct Eviction {
    /// `ephemeral-storage` or `memory`.
    resource: String,
    /// The container it names as the largest consumer.
    container: String,
    /// Its usage, bytes.
    used: f64,
}

/// Reads `The node was low on resource: R. … Container C was using Q, …`.
fn eviction(message: &str) -> Option<Eviction> {
    let resource = message
        .split_once("low on resource: ")?
        .1
        .split(['.', ',', ' '])
        .next()?
        .to_string();
    let rest = message.split_once("Container ")?.1;
    let (container, rest) = rest.split_once(" was using ")?;
    let quantity = rest.split([',', ' ']).next()?;
    Some(Eviction {
        resource,
        container: container.to_string(),
        used: bytes(quantity)?,
    })
}

/// A Kubernetes quantity (`9412104Ki`, `1.5Gi`, `2G`, `512`) in bytes.
fn bytes(quantity: &str) -> Option<f64> {
    let split = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return None,
    };
    Some(number * factor)
}

/// What one workload's evictions add up to.
#[derive(Debug, Default)]
struct Evicted {
    most: f64,
    nodes: BTreeSet<String>,
    pods: BTreeSet<String>,
}

/// Finds the workload whose usage fills the nodes its pods are evicted
/// from (see the module docs) and moves the evictions of others and the
/// pressure of those nodes to it, with a signal of its own; returns (from,
/// to) for each move.
pub fn pressure_follows_the_pod(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    // By resource, by workload.
    let mut seen: BTreeMap<String, BTreeMap<String, Evicted>> = BTreeMap::new();
    for e in world
        .events
        .iter()
        .filter(|e| e.reason == "Evicted" && e.object_kind == "Pod")
    {
        let Some(ev) = eviction(&e.message) else {
            continue;
        };
        let pod = world.pods.iter().find(|p| p.name == e.object);
        let Some(node) = e.host.clone().or_else(|| pod.and_then(|p| p.node.clone())) else {
            continue;
        };
        // The container the kubelet names is the evicted pod's own.
        let owner = world.owner(&e.object);
        let entry = seen
            .entry(ev.resource)
            .or_default()
            .entry(owner)
            .or_default();
        entry.most = entry.most.max(ev.used);
        entry.nodes.insert(node);
        entry.pods.insert(e.object.clone());
    }
    let mut moved = Vec::new();
    for (resource, by_workload) in seen {
        let mut ranked: Vec<(&String, &Evicted)> = by_workload.iter().collect();
        ranked.sort_by(|a, b| b.1.most.total_cmp(&a.1.most));
        let Some((hog, usage)) = ranked.first().copied() else {
            continue;
        };
        let next = ranked.get(1).map_or(0.0, |(_, e)| e.most);
        if usage.most < ENOUGH || usage.most < DWARFS * next || usage.nodes.len() < 2 {
            continue;
        }
        let hog = hog.clone();
        let nodes: Vec<String> = usage.nodes.iter().cloned().collect();
        let word = if resource == "memory" {
            "memory"
        } else {
            "disk"
        };
        signals.push(Signal {
            component: hog.clone(),
            kind: "evicted",
            weight: 5.0,
            source: "k8s.events".into(),
            detail: format!(
                "{hog} used {:.1} GiB of {resource} when evicted ({}x any other evicted container), and the {word} pressure followed its pods to {} nodes: {}",
                usage.most / ENOUGH,
                if next > 0.0 {
                    format!("{:.0}", usage.most / next)
                } else {
                    "no".into()
                },
                nodes.len(),
                nodes.join(", ")
            ),
            at: None,
        });
        let others: Vec<String> = by_workload.keys().filter(|w| **w != hog).cloned().collect();
        moved.extend(move_signals(
            signals,
            &hog,
            |_, s| {
                (s.kind == "node_failure" && nodes.contains(&s.component) && {
                    let d = s.detail.to_lowercase();
                    d.contains(word) || d.contains(&resource)
                }) || (s.kind == "evicted" && others.contains(&s.component))
            },
            |s| {
                format!(
                    "{} is short of {word} that {hog} fills: {}",
                    s.component, s.detail
                )
            },
        ));
        // What the nodes showed is the hog's eviction of others, not a
        // failure of its own nodes.
        for s in signals
            .iter_mut()
            .filter(|s| s.component == hog && s.kind == "node_failure")
        {
            s.kind = "evicted";
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::{Event, Pod};

    fn evicted(pod: &str, node: &str, container: &str, used: &str) -> Event {
        Event {
            kind_of_event: "Warning".into(),
            reason: "Evicted".into(),
            message: format!(
                "The node was low on resource: ephemeral-storage. Threshold quantity: 2146223340, available: 1873208Ki. Container {container} was using {used}, request is 0, has larger consumption of ephemeral-storage. "
            ),
            object_kind: "Pod".into(),
            object: pod.into(),
            namespace: "collect".into(),
            count: 1,
            first: None,
            last: None,
            host: Some(node.into()),
        }
    }

    fn signal(component: &str, kind: &'static str, detail: &str) -> Signal {
        Signal {
            component: component.into(),
            kind,
            weight: 4.0,
            source: "test".into(),
            detail: detail.into(),
            at: None,
        }
    }

    fn world(events: Vec<Event>) -> World {
        let mut w = World::default();
        for (pod, owner) in [
            ("picking-service-48m6dxtw6-2hkhb", "picking-service"),
            ("picking-service-48m6dxtw6-9xk2p", "picking-service"),
            ("slot-booking-api-lm7f9bx2hb-6xpvd", "slot-booking-api"),
        ] {
            w.pods.push(Pod {
                name: pod.into(),
                owner: owner.into(),
                namespace: "collect".into(),
                ..Default::default()
            });
        }
        w.events = events;
        w
    }

    #[test]
    fn quantities_and_messages_are_read() {
        assert_eq!(bytes("9412104Ki"), Some(9412104.0 * 1024.0));
        assert_eq!(bytes("1.5Gi"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(bytes("2G"), Some(2e9));
        assert_eq!(bytes("12Qi"), None);
        let e = eviction("The node was low on resource: memory. Threshold quantity: 500Mi, available: 412Mi. Container sessionizer was using 9436488Ki, request is 1Gi, has larger consumption of memory. ").unwrap();
        assert_eq!(
            (e.resource.as_str(), e.container.as_str()),
            ("memory", "sessionizer")
        );
    }

    #[test]
    fn the_workload_whose_pressure_follows_it_takes_the_nodes_pressure() {
        let w = world(vec![
            evicted(
                "picking-service-48m6dxtw6-2hkhb",
                "node-a",
                "picking-service",
                "9412104Ki",
            ),
            evicted(
                "slot-booking-api-lm7f9bx2hb-6xpvd",
                "node-a",
                "slot-booking-api",
                "540112Ki",
            ),
            evicted(
                "picking-service-48m6dxtw6-9xk2p",
                "node-b",
                "picking-service",
                "8790112Ki",
            ),
        ]);
        let mut signals = vec![
            signal(
                "node-a",
                "node_failure",
                "DiskPressure: kubelet has disk pressure",
            ),
            signal(
                "node-b",
                "node_failure",
                "DiskPressure: kubelet has disk pressure",
            ),
            signal(
                "node-c",
                "node_failure",
                "NotReady: kubelet stopped posting node status",
            ),
            signal("slot-booking-api", "evicted", "evicted: ephemeral-storage"),
        ];
        let moved = pressure_follows_the_pod(&mut signals, &w);
        assert_eq!(moved.len(), 3, "{moved:?}");
        let on = |c: &str| -> f64 {
            signals
                .iter()
                .filter(|s| s.component == c)
                .map(|s| s.weight)
                .sum()
        };
        assert!(on("picking-service") > 3.0 * on("node-a"), "{signals:?}");
        // A node failing for its own reason keeps it.
        assert_eq!(on("node-c"), 4.0);
        assert!(signals.iter().any(|s| {
            s.component == "picking-service"
                && s.detail
                    .contains("followed its pods to 2 nodes: node-a, node-b")
        }));
    }

    #[test]
    fn pressure_that_stays_on_one_node_or_has_no_single_hog_stays_with_the_node() {
        // One node only: the node may be what fills up.
        let one = world(vec![
            evicted(
                "picking-service-48m6dxtw6-2hkhb",
                "node-a",
                "picking-service",
                "9412104Ki",
            ),
            evicted(
                "slot-booking-api-lm7f9bx2hb-6xpvd",
                "node-a",
                "slot-booking-api",
                "540112Ki",
            ),
        ]);
        let mut signals = vec![signal("node-a", "node_failure", "DiskPressure")];
        assert!(pressure_follows_the_pod(&mut signals, &one).is_empty());
        // Two heavy users alike: no one workload to blame.
        let alike = world(vec![
            evicted(
                "picking-service-48m6dxtw6-2hkhb",
                "node-a",
                "picking-service",
                "6291456Ki",
            ),
            evicted(
                "picking-service-48m6dxtw6-9xk2p",
                "node-b",
                "picking-service",
                "6291456Ki",
            ),
            evicted(
                "slot-booking-api-lm7f9bx2hb-6xpvd",
                "node-a",
                "slot-booking-api",
                "6291456Ki",
            ),
        ]);
        assert!(pressure_follows_the_pod(&mut signals, &alike).is_empty());
        assert_eq!(signals.len(), 1);
    }
}
