//! What every rendering of this project gets, the kustomize trees and the Helm
//! chart alike: the names, the grants the investigation needs and the checks
//! both run.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::Problems;
use crate::check::check_grants_reads;
use crate::check::{check_bot_config, check_flags, clap_flags};
use crate::check::{check_hpa, check_network_policies, check_selectors};
use crate::check::{check_probes, check_resources, check_security};
use crate::check::{check_secret_refs, check_secrets_are_placeholders};
use crate::objects::{Object, name, ns, parse_all, read_yaml};
use crate::workload::{deployments, pod_labels, selects};
use crate::workspace_root;

/// The bot's Deployment.
pub const BOT: &str = "sre-agent";
/// The bot's config ConfigMap.
pub const BOT_CONFIG: &str = "sre-agent-config";

/// The four servers: Deployment name and source file of its `Cli` struct.
pub const SERVERS: &[(&str, &str)] = &[
    ("mcp-kubernetes", "mcp-kubernetes/src/main.rs"),
    ("mcp-signoz", "mcp-signoz/src/main.rs"),
    ("mcp-mongodb", "mcp-mongodb/src/main.rs"),
    ("mcp-slack", "mcp-slack/src/main.rs"),
];

/// What the investigation lists, by API group: the engine's own calls
/// (`sre-orchestrator/src/engine/collect.rs`: namespaces, pods, services,
/// events, NetworkPolicies, and on demand cert-manager Certificates and
/// Istio AuthorizationPolicies) and what mcp-kubernetes's tools read to
/// answer them (`workload_health`, `rollout_history`, `describe`).
pub const READ_BY_THE_INVESTIGATION: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "pods/log"),
    ("", "events"),
    ("", "nodes"),
    ("", "namespaces"),
    ("", "services"),
    ("", "endpoints"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("", "resourcequotas"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("networking.k8s.io", "networkpolicies"),
    ("discovery.k8s.io", "endpointslices"),
    ("storage.k8s.io", "storageclasses"),
    ("cert-manager.io", "certificates"),
    ("security.istio.io", "authorizationpolicies"),
];

/// The example Secrets (`deploy/kustomize/secret.example.yaml`): the names and
/// keys every rendering may read.
pub fn example_secrets() -> Result<Vec<Object>, String> {
    let path = workspace_root().join("deploy/kustomize/secret.example.yaml");
    parse_all(&read_yaml(&path)?).map_err(|p| p.join("; "))
}

/// Every server is started with flags its `Cli` struct (or mcp-kit's
/// `KitArgs`, or `--config`) declares, and the bot with flags of `serve`
/// (`ServeArgs`) or the agent's global ones.
pub fn check_server_flags(objects: &[Object]) -> Problems {
    let root = workspace_root();
    let read = |f: &str| std::fs::read_to_string(root.join(f));
    let kit = match read("mcp-kit/src/serve.rs") {
        Ok(k) => clap_flags(&k, "KitArgs"),
        Err(e) => return vec![format!("mcp-kit/src/serve.rs: {e}")],
    };
    if !(kit.contains("--allowed-hosts") && kit.contains("--auth-token-file")) {
        return vec![format!("KitArgs flags not found: {kit:?}")];
    }
    let mut out = Vec::new();
    for (server, main) in SERVERS {
        let mut flags = match read(main) {
            Ok(source) => clap_flags(&source, "Cli"),
            Err(e) => {
                out.push(format!("{main}: {e}"));
                continue;
            }
        };
        if flags.is_empty() {
            out.push(format!("no flags found in {main}"));
            continue;
        }
        flags.extend(kit.iter().cloned());
        flags.insert("--config".into());
        out.extend(check_flags(objects, server, &flags));
    }
    // The bot: what `sre-agent serve` flattens together (its own flags, the
    // data sources, the LLM) and the agent's global flags.
    let mut flags = BTreeSet::new();
    for (file, structs) in [
        ("sre-agent-cli/src/serve/mod.rs", &["ServeArgs"][..]),
        ("sre-agent-cli/src/main.rs", &["Cli", "SourceArgs"][..]),
        ("sre-agent-cli/src/cli_llm.rs", &["LlmArgs"][..]),
    ] {
        match read(file) {
            Ok(source) => {
                for name in structs {
                    let found = clap_flags(&source, name);
                    if found.is_empty() {
                        out.push(format!("no flags found for {name} in {file}"));
                    }
                    flags.extend(found);
                }
            }
            Err(e) => out.push(format!("{file}: {e}")),
        }
    }
    out.extend(check_flags(objects, BOT, &flags));
    out
}

/// The checks every rendering must pass, whatever produced it: probes,
/// resources, security, the HPA, selectors, NetworkPolicies, the bot's
/// config, Secret references against `secrets` (the example), placeholders
/// only, what the investigation must be able to list, the servers' flags, and
/// the expected kinds and Deployments. A rendering holds no Secret.
pub fn check_rendering(objects: &[Object], secrets: &[Object]) -> Problems {
    let mut out = Vec::new();
    let mut add = |what: &str, problems: Problems| {
        out.extend(problems.into_iter().map(|p| format!("{what}: {p}")));
    };
    add("probes", check_probes(objects));
    add("resources", check_resources(objects));
    add("security", check_security(objects));
    add("hpa", check_hpa(objects));
    add("selectors", check_selectors(objects));
    add("network policies", check_network_policies(objects, BOT));
    add("bot config", check_bot_config(objects, BOT_CONFIG, BOT));
    add("secret references", check_secret_refs(objects, secrets));
    add("secrets", check_secrets_are_placeholders(objects));
    add(
        "grants",
        check_grants_reads(objects, READ_BY_THE_INVESTIGATION),
    );
    add("flags", check_server_flags(objects));
    for o in objects.iter().filter(|o| matches!(o, Object::Secret(_))) {
        out.push(format!(
            "renders {}; Secrets belong in secret.example.yaml",
            o.id()
        ));
    }
    let kinds: BTreeSet<&str> = objects.iter().map(Object::kind).collect();
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
    ] {
        if !kinds.contains(kind) {
            out.push(format!("no {kind}"));
        }
    }
    let names: BTreeSet<&str> = deployments(objects).map(|d| name(&d.metadata)).collect();
    for d in SERVERS.iter().map(|(s, _)| *s).chain([BOT]) {
        if !names.contains(d) {
            out.push(format!("no Deployment {d}"));
        }
    }
    out
}

/// Every Deployment has an autoscaler (`min`..`max` replicas at CPU `cpu` %
/// and memory `memory` % of the requests) and a PodDisruptionBudget that
/// selects its pods and keeps at least one of them.
pub fn check_every_deployment_scaled(
    objects: &[Object],
    (min, max): (i32, i32),
    (cpu, memory): (i32, i32),
) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        let who = format!("Deployment/{}", name(&d.metadata));
        let hpa = objects.iter().find_map(|o| match o {
            Object::Hpa(h)
                if h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == "Deployment"
                        && s.scale_target_ref.name == name(&d.metadata)
                }) && ns(&h.metadata) == ns(&d.metadata) =>
            {
                h.spec.as_ref()
            }
            _ => None,
        });
        match hpa {
            None => out.push(format!("{who}: no HorizontalPodAutoscaler")),
            Some(spec) => {
                if spec.min_replicas != Some(min) || spec.max_replicas != max {
                    out.push(format!(
                        "{who}: autoscaled {:?}..{}, expected {min}..{max}",
                        spec.min_replicas, spec.max_replicas
                    ));
                }
                let targets: BTreeMap<String, Option<i32>> = spec
                    .metrics
                    .iter()
                    .flatten()
                    .filter_map(|m| m.resource.as_ref())
                    .map(|r| (r.name.clone(), r.target.average_utilization))
                    .collect();
                let expected = BTreeMap::from([
                    ("cpu".to_string(), Some(cpu)),
                    ("memory".to_string(), Some(memory)),
                ]);
                if targets != expected {
                    out.push(format!("{who}: autoscaler targets {targets:?}"));
                }
            }
        }
        let budgeted = objects.iter().any(|o| match o {
            Object::Pdb(p) => {
                ns(&p.metadata) == ns(&d.metadata)
                    && p.spec.as_ref().is_some_and(|s| {
                        s.selector
                            .as_ref()
                            .is_some_and(|sel| selects(sel, &pod_labels(d)))
                            && matches!(s.min_available, Some(IntOrString::Int(n)) if n >= 1)
                    })
            }
            _ => false,
        });
        if !budgeted {
            out.push(format!(
                "{who}: no PodDisruptionBudget keeping one of its pods"
            ));
        }
    }
    out
}
