//! When name resolution itself fails.
//!
//! `lookup payments.shop.svc.cluster.local on 10.96.0.10:53: server
//! misbehaving` names two things: the name looked up and the resolver that
//! could not answer. A name that does not exist (`no such host`, NXDOMAIN)
//! is the name's problem: its Service was deleted or misspelled. A resolver
//! that times out, misbehaves or asks to try again (`EAI_AGAIN`,
//! `Temporary failure in name resolution`) is the resolver's, and when
//! clients report it for several different names, or for one name while
//! the resolver's own pods are in trouble, an engineer stops looking at the
//! names and looks at CoreDNS. This module takes that step: such signals
//! move from the names to the cluster's DNS workload (the one behind the
//! Service that serves port 53, preferring the address the errors name).
//!
//! A name outside the cluster (`permits.city.internal`) that stops
//! resolving right after the resolver was rolled out is the resolver's too,
//! even as NXDOMAIN: an add-on update that resets the Corefile drops the
//! stub zones and forwarders an operator added by hand, and the names they
//! served vanish. A name shaped like a Service (`orders`,
//! `orders.shop.svc.cluster.local`) that does not exist stays the name's.

use jiff::{SignedDuration, Timestamp};
use regex::Regex;

use super::rules::{Signal, same_component};
use super::world::World;

/// The resolver's address when the text blames the resolver, or `Some("")`
/// when it does without naming one; `None` when it is not a resolver
/// failure.
fn resolver_failure(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?i)lookup \S+ on (\d{1,3}(?:\.\d{1,3}){3}):53: (?:server misbehaving|i/o timeout|read udp|no route to host|connection refused)|read udp [\d.:]+->(\d{1,3}(?:\.\d{1,3}){3}):53: i/o timeout|(EAI_AGAIN|Temporary failure in name resolution|SERVFAIL|dns query timed out|DNS resolution timed out)",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(text)?;
    Some(
        c.get(1)
            .or_else(|| c.get(2))
            .map_or_else(String::new, |m| m.as_str().to_string()),
    )
}

/// Whether `text` says a name does not exist (rather than that the
/// resolver failed to answer).
fn name_not_found(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)no such host|NXDOMAIN|ENOTFOUND|Name or service not known|could not resolve host|UnknownHostException|nodename nor servname|Name does not resolve",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// Whether `name` is shaped like a name the cluster itself serves (a
/// Service's short name or its `.svc` / `.cluster.local` form).
fn cluster_shaped(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_lowercase();
    !n.contains('.') || n.ends_with(".svc") || n.contains(".svc.") || n.ends_with(".cluster.local")
}

/// How long before the first failed lookup a rollout of the resolver
/// counts as its cause, and how long after (the first failures surface
/// only as pooled connections are redialled, and a log line's or bucket's
/// time can come before the rollout's event).
const CHANGED_BEFORE: SignedDuration = SignedDuration::from_hours(1);
const CHANGED_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// When the resolver's workload was last rolled out or scaled, from the
/// events of its namespace (`ScalingReplicaSet` on its Deployment).
pub(super) fn rolled_out(world: &World, namespace: &str, workload: &str) -> Vec<Timestamp> {
    world
        .events
        .iter()
        .filter(|e| e.namespace == namespace && e.reason == "ScalingReplicaSet")
        .filter(|e| same_component(&e.object, workload))
        .filter_map(|e| e.first.or(e.last))
        .collect()
}

/// The cluster's DNS component: the workload behind the Service at
/// `address` (the one the errors name), else behind the one Service that
/// serves port 53; its Service's name when its pods were not read. Also
/// the Service's namespace.
fn resolver(world: &World, address: &str) -> Option<(String, String)> {
    let dns: Vec<&super::world::Service> = world
        .services
        .iter()
        .filter(|s| s.ports.iter().any(|(_, p)| *p == 53))
        .collect();
    let svc = dns
        .iter()
        .find(|s| !address.is_empty() && s.cluster_ip.as_deref() == Some(address))
        .or(match dns.as_slice() {
            [one] => Some(one),
            _ => None,
        })?;
    Some((
        world
            .backends(svc)
            .next()
            .map_or_else(|| svc.name.clone(), |p| p.owner.clone()),
        svc.namespace.clone(),
    ))
}

/// Whether `name` (a resolver) is in trouble of its own: its pods crash,
/// are OOMKilled, pending; not merely slow or unreachable.
fn in_trouble(signals: &[Signal], name: &str) -> bool {
    signals.iter().any(|s| {
        same_component(&s.component, name)
            && s.weight >= 1.0
            && !matches!(s.kind, "dependency_unreachable" | "latency_regression")
    })
}

/// Moves resolver failures to the resolver (see the module docs); returns
/// (name, resolver) for each move.
pub fn attribute(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    let lookups: Vec<(usize, Option<String>)> = signals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "dependency_unreachable")
        .filter_map(|(i, s)| match resolver_failure(&s.detail) {
            Some(a) => Some((i, Some(a))),
            None if name_not_found(&s.detail) && !cluster_shaped(&s.component) => Some((i, None)),
            None => None,
        })
        .collect();
    let address = lookups
        .iter()
        .filter_map(|(_, a)| a.clone())
        .find(|a| !a.is_empty())
        .unwrap_or_default();
    // A node-local cache (NodeLocal DNSCache runs on the host's network, no
    // Service in front of it) answers the pods before the cluster's DNS
    // does: when the errors name no address and a resolver by name is in
    // trouble while the Service's is not, the lookups failed there.
    let local = || {
        let mut troubled: Vec<&str> = signals
            .iter()
            .map(|s| s.component.as_str())
            .filter(|c| c.contains("dns") && in_trouble(signals, c))
            .collect();
        troubled.sort_unstable();
        troubled.dedup();
        match troubled.as_slice() {
            [one] => world
                .pods
                .iter()
                .find(|p| same_component(&p.owner, one))
                .map(|p| (one.to_string(), p.namespace.clone())),
            _ => None,
        }
    };
    let Some((dns, dns_namespace)) = (match resolver(world, &address) {
        Some(r) if !address.is_empty() || in_trouble(signals, &r.0) => Some(r),
        other => local().or(other),
    }) else {
        return Vec::new();
    };
    // Just rolled out: every failed lookup of a name outside the cluster,
    // NXDOMAIN included, is the resolver's.
    let first_failure = lookups.iter().filter_map(|(i, _)| signals[*i].at).min();
    let changed = first_failure.is_some_and(|first| {
        rolled_out(world, &dns_namespace, &dns)
            .iter()
            .any(|at| *at >= first - CHANGED_BEFORE && *at <= first + CHANGED_AFTER)
    });
    let failing: Vec<(usize, String)> = lookups
        .into_iter()
        .filter_map(|(i, a)| match a {
            Some(a) => Some((i, a)),
            None if changed => Some((i, String::new())),
            None => None,
        })
        .collect();
    if failing.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = failing
        .iter()
        .map(|(i, _)| signals[*i].component.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let troubled = in_trouble(signals, &dns);
    if names.len() < 2 && !troubled && !changed {
        return Vec::new();
    }
    let failing: Vec<usize> = failing.into_iter().map(|(i, _)| i).collect();
    super::moves::move_signals(
        signals,
        &dns,
        |i, s| failing.contains(&i) && !same_component(&s.component, &dns),
        |s| {
            if changed {
                format!(
                    "the resolver {dns} was rolled out just before lookups began to fail, not the name {}: {}",
                    s.component, s.detail
                )
            } else {
                format!(
                    "the resolver fails, not the name {}: {}",
                    s.component, s.detail
                )
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::{Event, Pod, Service};

    fn unreachable(component: &str, detail: &str) -> Signal {
        Signal {
            component: component.into(),
            kind: "dependency_unreachable",
            weight: 4.0,
            source: "test".into(),
            detail: detail.into(),
            at: None,
        }
    }

    fn world() -> World {
        let mut w = World::default();
        w.services.push(Service {
            name: "kube-dns".into(),
            namespace: "kube-system".into(),
            selector: [("k8s-app".to_string(), "kube-dns".to_string())].into(),
            cluster_ip: Some("10.96.0.10".into()),
            ports: vec![("dns".into(), 53), ("dns-tcp".into(), 53)],
            ..Default::default()
        });
        w.pods.push(Pod {
            name: "coredns-5d78c9869d-abcde".into(),
            owner: "coredns".into(),
            namespace: "kube-system".into(),
            labels: [("k8s-app".to_string(), "kube-dns".to_string())].into(),
            ..Default::default()
        });
        w
    }

    #[test]
    fn many_names_failing_at_the_resolver_are_the_resolvers() {
        let mut signals = vec![
            unreachable(
                "payments",
                "dial tcp: lookup payments.shop.svc.cluster.local on 10.96.0.10:53: server misbehaving",
            ),
            unreachable(
                "ledger",
                "dial tcp: lookup ledger.core.svc.cluster.local on 10.96.0.10:53: read udp 10.244.1.7:41234->10.96.0.10:53: i/o timeout",
            ),
        ];
        let moved = attribute(&mut signals, &world());
        assert_eq!(moved.len(), 2);
        assert_eq!(
            signals
                .iter()
                .filter(|s| s.component == "coredns" && s.weight == 4.0)
                .count(),
            2
        );
    }

    /// No address in the errors, CoreDNS quiet and the node-local cache
    /// OOMKilled: the lookups failed at the cache.
    #[test]
    fn a_node_local_cache_in_trouble_is_the_resolver_that_failed() {
        let mut world = world();
        world.pods.push(Pod {
            name: "node-local-dns-55v2l".into(),
            owner: "node-local-dns".into(),
            namespace: "kube-system".into(),
            ..Default::default()
        });
        let mut oom = unreachable(
            "node-local-dns",
            "container node-cache terminated: OOMKilled",
        );
        oom.kind = "oom_killed";
        let mut signals = vec![
            unreachable(
                "influxdb",
                "Cannot connect to host influxdb.telemetry.svc.cluster.local:8086 [Temporary failure in name resolution]",
            ),
            unreachable("dosing", "[Errno -3] Temporary failure in name resolution"),
            oom.clone(),
        ];
        let moved = attribute(&mut signals, &world);
        assert!(
            moved.iter().all(|(_, to)| to == "node-local-dns") && moved.len() == 2,
            "{moved:?}"
        );
        // Without the cache's trouble, the Service's resolver.
        let mut signals = vec![
            unreachable("influxdb", "[Temporary failure in name resolution]"),
            unreachable("dosing", "[Errno -3] Temporary failure in name resolution"),
        ];
        let moved = attribute(&mut signals, &world);
        assert!(
            moved.iter().all(|(_, to)| to == "coredns") && moved.len() == 2,
            "{moved:?}"
        );
    }

    #[test]
    fn a_name_that_does_not_exist_stays_the_names() {
        let mut signals = vec![
            unreachable(
                "inventory",
                "dial tcp: lookup inventory on 10.96.0.10:53: no such host",
            ),
            unreachable("orders", "getaddrinfo ENOTFOUND orders"),
        ];
        assert!(attribute(&mut signals, &world()).is_empty());
        // One name timing out at a healthy resolver: not enough to blame it.
        let mut one = vec![unreachable(
            "payments",
            "lookup payments on 10.96.0.10:53: server misbehaving",
        )];
        assert!(attribute(&mut one, &world()).is_empty());
        // The same with the resolver crash-looping: it is the resolver.
        let mut crash = unreachable("coredns", "BackOff");
        crash.kind = "crash_loop";
        one.push(crash);
        assert_eq!(attribute(&mut one, &world()).len(), 1);
    }

    fn at(text: &str) -> Option<Timestamp> {
        text.parse().ok()
    }

    /// An NXDOMAIN for a name outside the cluster, first seen at 07:32.
    fn vanished(component: &str, name: &str) -> Signal {
        let mut s = unreachable(
            component,
            &format!("registry lookup failed: lookup {name} on 10.96.0.10:53: no such host"),
        );
        s.at = at("2026-10-06T07:32:31Z");
        s
    }

    fn rolled_out_at(time: &str) -> World {
        let mut w = world();
        w.events.push(Event {
            kind_of_event: "Normal".into(),
            reason: "ScalingReplicaSet".into(),
            message: "Scaled up replica set coredns-6grjwldlqv to 1".into(),
            object_kind: "Deployment".into(),
            object: "coredns".into(),
            namespace: "kube-system".into(),
            count: 1,
            first: at(time),
            last: at(time),
            host: None,
        });
        w
    }

    #[test]
    fn an_outside_name_that_vanishes_as_the_resolver_rolls_out_is_the_resolvers() {
        let mut signals = vec![vanished("permits.city.internal", "permits.city.internal")];
        let moved = attribute(&mut signals, &rolled_out_at("2026-10-06T07:31:20Z"));
        assert_eq!(
            moved,
            vec![("permits.city.internal".to_string(), "coredns".to_string())]
        );
        assert!(signals[0].detail.contains("rolled out just before"));
        // A rollout seen a minute after the first failure still counts (the
        // failures surface as connections are redialled).
        let mut signals = vec![vanished("permits.city.internal", "permits.city.internal")];
        assert_eq!(
            attribute(&mut signals, &rolled_out_at("2026-10-06T07:33:30Z")).len(),
            1
        );
    }

    #[test]
    fn without_a_fresh_rollout_or_for_a_service_name_nxdomain_stays_the_names() {
        // No rollout at all, or one hours earlier.
        for w in [world(), rolled_out_at("2026-10-06T04:00:00Z")] {
            let mut signals = vec![vanished("permits.city.internal", "permits.city.internal")];
            assert!(attribute(&mut signals, &w).is_empty());
        }
        // A Service's name that does not exist: deleted or misspelt, even
        // right after the resolver rolled out.
        let mut signals = vec![vanished("inventory", "inventory.shop.svc.cluster.local")];
        assert!(attribute(&mut signals, &rolled_out_at("2026-10-06T07:31:20Z")).is_empty());
    }
}
