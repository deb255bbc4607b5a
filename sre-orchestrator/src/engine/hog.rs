//! A node's pressure: which evictions and scheduling refusals are the
//! node's doing, and which workload fills what its neighbours are evicted
//! for.
//!
//! [`node_pressure`] links the pods evicted for lack of disk or memory, and
//! those kept off by the pressure taint, to the node short of it; a pod that
//! held little of what the node had to reclaim is only its casualty.
//! [`pressure_follows_the_pod`] then asks the other question:
//! when a node runs short of disk or memory, the kubelet evicts pods and
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
use super::rules::{Ctx, Signal};
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

/// Whether the kubelet's words say the evicted pod was a casualty of its
/// node, not what filled it: the container it names as the pod's largest
/// consumer used less than a quarter of the threshold the node had to get
/// back above (`Threshold quantity: 9774384Ki, … Container page-dispatcher
/// was using 312Ki`). The kubelet evicts by usage above request, so a pod
/// without requests goes first whatever it holds; what filled the node is
/// elsewhere (a hostPath buffer, images, another pod). Returns what the
/// pod used and the threshold, as the kubelet wrote them.
pub(super) fn casualty(message: &str) -> Option<(String, String)> {
    let threshold = message
        .split_once("Threshold quantity: ")?
        .1
        .split([',', ' '])
        .next()?;
    let used = message
        .split_once(" was using ")?
        .1
        .split([',', ' '])
        .next()?;
    (bytes(used)? * 4.0 < bytes(threshold)?).then(|| (used.to_string(), threshold.to_string()))
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

/// The words of a node under pressure that still serves: its conditions,
/// the kubelet's events, the evictions' messages.
pub(super) const PRESSURE_WORDS: &[&str] = &[
    "diskpressure",
    "memorypressure",
    "pidpressure",
    "disk pressure",
    "memory pressure",
    "evictionthresholdmet",
    "attempting to reclaim",
    "low on resource",
    "evicted for lack of",
];

/// The words of a node that stopped serving its pods.
pub(super) const DOWN_WORDS: &[&str] = &[
    "notready",
    "not ready",
    "stopped posting",
    "unknown",
    "unreachable",
    "networkunavailable",
];

/// Evictions and scheduling refusals caused by a node's pressure.
pub(super) fn node_pressure(ctx: &mut Ctx<'_>) {
    // Evictions for lack of disk or memory point at the node under that
    // pressure.
    let pressured: Vec<(String, &'static str)> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "node_failure")
        .filter_map(|s| {
            let d = s.detail.to_lowercase();
            if d.contains("diskpressure") || d.contains("disk pressure") || d.contains("ephemeral")
            {
                Some((s.component.clone(), "disk"))
            } else if d.contains("memorypressure") || d.contains("memory pressure") {
                Some((s.component.clone(), "memory"))
            } else {
                None
            }
        })
        .collect();
    let evictions: Vec<Signal> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "evicted")
        .cloned()
        .collect();
    casualties_of_pressure(ctx, &pressured);
    let mut linked: BTreeSet<(String, String)> = BTreeSet::new();
    for e in &evictions {
        let d = e.detail.to_lowercase();
        let resource = if d.contains("ephemeral") || d.contains("disk") {
            "disk"
        } else if d.contains("memory") {
            "memory"
        } else {
            continue;
        };
        for (node, _) in pressured.iter().filter(|(_, r)| *r == resource) {
            if linked.insert((node.clone(), e.component.clone())) {
                ctx.signal(
                    node,
                    "node_failure",
                    1.5,
                    &e.source,
                    format!(
                        "{} — evicted for lack of {resource}, which {node} is short of",
                        e.detail
                    ),
                    e.at,
                );
            }
        }
    }
    // A pod the scheduler keeps off a node because of that node's condition
    // taint (`node.kubernetes.io/disk-pressure`) is a casualty of the node.
    let taints: &[(&str, &str)] = &[
        ("node.kubernetes.io/disk-pressure", "disk"),
        ("node.kubernetes.io/memory-pressure", "memory"),
    ];
    let mut casualties: Vec<Signal> = Vec::new();
    for s in ctx.signals.iter_mut().filter(|s| s.kind == "unschedulable") {
        let d = s.detail.to_lowercase();
        for (taint, resource) in taints {
            if !d.contains(taint) {
                continue;
            }
            for (node, _) in pressured.iter().filter(|(_, r)| r == resource) {
                casualties.push(Signal {
                    component: node.clone(),
                    kind: "node_failure",
                    weight: 1.5,
                    source: s.source.clone(),
                    detail: format!(
                        "{} — kept off {node} by its {resource}-pressure taint",
                        s.detail
                    ),
                    at: s.at,
                });
                s.weight *= 0.5;
            }
        }
    }
    ctx.signals.extend(casualties);
}

/// A pod evicted while holding little of what its node had to get back
/// (see [`casualty`]) is the node's casualty: its eviction is
/// evidence of the node's pressure, not of its own, and moves there (a weak
/// copy stays, as for every move). Only when one node is under that
/// pressure: the eviction does not say which node it was.
fn casualties_of_pressure(ctx: &mut Ctx<'_>, pressured: &[(String, &'static str)]) {
    let mut copies = Vec::new();
    for s in ctx.signals.iter_mut().filter(|s| s.kind == "evicted") {
        let d = s.detail.to_lowercase();
        let resource = if d.contains("low on resource: ephemeral") {
            "disk"
        } else if d.contains("low on resource: memory") {
            "memory"
        } else {
            continue;
        };
        let nodes: BTreeSet<&String> = pressured
            .iter()
            .filter(|(_, r)| *r == resource)
            .map(|(n, _)| n)
            .collect();
        let (Some(node), 1) = (nodes.first(), nodes.len()) else {
            continue;
        };
        let node = (*node).clone();
        let Some((used, threshold)) = casualty(&s.detail) else {
            continue;
        };
        let mut copy = s.clone();
        copy.weight *= super::moves::LEFT_BEHIND;
        copies.push(copy);
        s.detail = format!(
            "{} — a casualty of {node}: {} used {used} of the {threshold} the node had to reclaim",
            s.detail, s.component
        );
        s.component = node;
        s.kind = "node_failure";
    }
    ctx.signals.extend(copies);
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
        Signal::test(component, kind, detail)
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
    fn a_pod_that_used_little_of_what_its_node_needed_back_is_a_casualty() {
        let message = |used: &str| {
            format!(
                "The node was low on resource: ephemeral-storage. Threshold quantity: 9774384Ki, available: 8121176Ki. Container page-dispatcher was using {used}, request is 0, has larger consumption of ephemeral-storage. "
            )
        };
        assert_eq!(
            casualty(&message("312Ki")),
            Some(("312Ki".to_string(), "9774384Ki".to_string()))
        );
        // It held more than the node had to get back: it filled the node.
        assert_eq!(casualty(&message("12Gi")), None);
        // A threshold in plain bytes reads too.
        assert!(casualty("Threshold quantity: 2146223340, available: 1843556Ki. Container flight-api was using 412688Ki, request is 0").is_some());
        // Without the kubelet's figures, nothing is said.
        assert_eq!(casualty("The node was low on resource: memory."), None);
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
