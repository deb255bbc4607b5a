//! Checks on how workloads reach each other: autoscalers, Service selectors and
//! ports, and the NetworkPolicies around the MCP servers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::Problems;
use crate::objects::{Object, name, ns};
use crate::workload::{
    Workload, deployments, map_selector, pod_labels, port_matches, selects, workloads,
};

/// The bot's autoscaler: Deployment `sre-agent`, 2..10 replicas, CPU 70 %,
/// memory 80 % average utilisation; and every autoscaler targets a Deployment.
pub fn check_hpa(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    let mut bot_found = false;
    for o in objects {
        let Object::Hpa(h) = o else { continue };
        let Some(spec) = &h.spec else {
            out.push(format!("{}: no spec", o.id()));
            continue;
        };
        let target = &spec.scale_target_ref;
        let Some(d) = deployments(objects).find(|d| {
            target.kind == "Deployment"
                && name(&d.metadata) == target.name
                && ns(&d.metadata) == ns(&h.metadata)
        }) else {
            out.push(format!(
                "{}: targets {} {}, which does not exist",
                o.id(),
                target.kind,
                target.name
            ));
            continue;
        };
        if target.name != "sre-agent" {
            continue;
        }
        bot_found = true;
        if spec.min_replicas != Some(2) {
            out.push(format!(
                "{}: minReplicas {:?}, expected 2",
                o.id(),
                spec.min_replicas
            ));
        }
        if spec.max_replicas != 10 {
            out.push(format!(
                "{}: maxReplicas {}, expected 10",
                o.id(),
                spec.max_replicas
            ));
        }
        let replicas = d.spec.as_ref().and_then(|s| s.replicas);
        if replicas.is_some_and(|r| r < spec.min_replicas.unwrap_or(1)) {
            out.push(format!("{}: Deployment replicas below minReplicas", o.id()));
        }
        let mut targets = BTreeMap::new();
        for m in spec.metrics.iter().flatten() {
            match (&m.type_[..], &m.resource) {
                ("Resource", Some(r)) if r.target.type_ == "Utilization" => {
                    targets.insert(r.name.clone(), r.target.average_utilization);
                }
                _ => out.push(format!("{}: unexpected metric {:?}", o.id(), m.type_)),
            }
        }
        let expected = BTreeMap::from([
            ("cpu".to_string(), Some(70)),
            ("memory".to_string(), Some(80)),
        ]);
        if targets != expected {
            out.push(format!(
                "{}: targets {targets:?}, expected cpu 70 % and memory 80 %",
                o.id()
            ));
        }
    }
    if !bot_found && !out.iter().any(|p| p.contains("sre-agent")) {
        out.push("no HorizontalPodAutoscaler for Deployment/sre-agent".into());
    }
    out
}

/// Selectors: each Deployment's selects its own pods; every Service's and
/// PodDisruptionBudget's selects a Deployment's pods; every Service port's
/// target port is a container port of those pods.
pub fn check_selectors(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        let sel = d.spec.as_ref().map(|s| &s.selector);
        if !sel.is_some_and(|s| selects(s, &pod_labels(d)) && *s != LabelSelector::default()) {
            out.push(format!(
                "Deployment/{}: selector does not select its own pod template",
                name(&d.metadata)
            ));
        }
    }
    for o in objects {
        let (selector, namespace) = match o {
            Object::Service(s) => {
                let sel = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.clone())
                    .unwrap_or_default();
                (map_selector(&sel), ns(&s.metadata))
            }
            Object::Pdb(p) => (
                p.spec
                    .as_ref()
                    .and_then(|s| s.selector.clone())
                    .unwrap_or_default(),
                ns(&p.metadata),
            ),
            _ => continue,
        };
        if selector == LabelSelector::default() || selector == map_selector(&BTreeMap::new()) {
            out.push(format!("{}: empty selector", o.id()));
            continue;
        }
        let matched: Vec<Workload> = workloads(objects)
            .filter(|w| w.namespace == namespace && selects(&selector, &w.labels))
            .collect();
        if matched.is_empty() {
            out.push(format!("{}: selector matches no workload's pods", o.id()));
        }
        if let Object::Service(s) = o {
            for p in s.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
                let target = p.target_port.clone().unwrap_or(IntOrString::Int(p.port));
                for w in &matched {
                    if !w.containers().any(|c| port_matches(&target, c)) {
                        out.push(format!(
                            "{}: port {} targets {target:?}, not a port of {}",
                            o.id(),
                            p.port,
                            w.id
                        ));
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn is_mcp_server(d: &Deployment) -> bool {
    pod_labels(d)
        .get("app.kubernetes.io/component")
        .is_some_and(|c| c == "mcp-server")
}

/// MCP servers accept ingress only from the bot's pods: some policy isolates
/// their ingress, and every ingress rule that applies to them names only
/// peers whose pod selector matches the bot (`bot`) and no other Deployment.
pub fn check_network_policies(objects: &[Object], bot: &str) -> Problems {
    let mut out = Vec::new();
    let policies: Vec<&NetworkPolicy> = objects
        .iter()
        .filter_map(|o| match o {
            Object::NetworkPolicy(p) => Some(p.as_ref()),
            _ => None,
        })
        .collect();
    let Some(bot_d) = deployments(objects).find(|d| name(&d.metadata) == bot) else {
        return vec![format!("no Deployment/{bot}")];
    };
    let bot_labels = pod_labels(bot_d);
    for d in deployments(objects).filter(|d| is_mcp_server(d)) {
        let labels = pod_labels(d);
        let who = format!("Deployment/{}", name(&d.metadata));
        let applying: Vec<&NetworkPolicy> = policies
            .iter()
            .copied()
            .filter(|p| ns(&p.metadata) == ns(&d.metadata))
            .filter(|p| {
                p.spec.as_ref().is_some_and(|s| {
                    let isolates_ingress = match &s.policy_types {
                        Some(t) => t.iter().any(|t| t == "Ingress"),
                        None => true,
                    };
                    isolates_ingress
                        && selects(&s.pod_selector.clone().unwrap_or_default(), &labels)
                })
            })
            .collect();
        if applying.is_empty() {
            out.push(format!("{who}: no NetworkPolicy restricts its ingress"));
        }
        for p in applying {
            let pid = format!("NetworkPolicy/{}", name(&p.metadata));
            for rule in p.spec.iter().flat_map(|s| s.ingress.iter().flatten()) {
                let peers = rule.from.clone().unwrap_or_default();
                if peers.is_empty() {
                    out.push(format!("{pid}: lets anyone reach {who}"));
                }
                for peer in peers {
                    let only_bot = peer.ip_block.is_none()
                        && peer.namespace_selector.is_none()
                        && peer.pod_selector.as_ref().is_some_and(|sel| {
                            selects(sel, &bot_labels)
                                && deployments(objects)
                                    .filter(|o| name(&o.metadata) != bot)
                                    .all(|o| !selects(sel, &pod_labels(o)))
                        });
                    if !only_bot {
                        out.push(format!("{pid}: lets a peer other than the bot reach {who}"));
                    }
                }
            }
        }
    }
    out
}
