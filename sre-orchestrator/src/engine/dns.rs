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

use regex::Regex;

use super::rules::{Signal, same_component};
use super::world::World;

/// What stays with the name, as a share of the moved weight.
const LEFT_BEHIND: f64 = 0.3;

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

/// The cluster's DNS component: the workload behind the Service at
/// `address` (the one the errors name), else behind the one Service that
/// serves port 53; its Service's name when its pods were not read.
fn resolver(world: &World, address: &str) -> Option<String> {
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
    Some(
        world
            .backends(svc)
            .next()
            .map_or_else(|| svc.name.clone(), |p| p.owner.clone()),
    )
}

/// Moves resolver failures to the resolver (see the module docs); returns
/// (name, resolver) for each move.
pub fn attribute(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    let failing: Vec<(usize, String)> = signals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "dependency_unreachable")
        .filter_map(|(i, s)| resolver_failure(&s.detail).map(|a| (i, a)))
        .collect();
    let Some(address) = failing
        .iter()
        .map(|(_, a)| a.clone())
        .find(|a| !a.is_empty())
        .or_else(|| failing.first().map(|(_, a)| a.clone()))
    else {
        return Vec::new();
    };
    let Some(dns) = resolver(world, &address) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = failing
        .iter()
        .map(|(i, _)| signals[*i].component.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    // The resolver's own trouble (its pods crash, are OOMKilled, pending).
    let troubled = signals.iter().any(|s| {
        same_component(&s.component, &dns)
            && s.weight >= 1.0
            && !matches!(s.kind, "dependency_unreachable" | "latency_regression")
    });
    if names.len() < 2 && !troubled {
        return Vec::new();
    }
    let mut moved = Vec::new();
    let mut left = Vec::new();
    for (i, _) in failing {
        let s = &mut signals[i];
        if same_component(&s.component, &dns) {
            continue;
        }
        let mut stays = s.clone();
        stays.weight *= LEFT_BEHIND;
        left.push(stays);
        let pair = (s.component.clone(), dns.clone());
        if !moved.contains(&pair) {
            moved.push(pair);
        }
        s.detail = format!(
            "the resolver fails, not the name {}: {}",
            s.component, s.detail
        );
        s.component = dns.clone();
    }
    signals.extend(left);
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::{Pod, Service};

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
}
