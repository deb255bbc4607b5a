//! Checks on RBAC: what the roles grant, read-only by default and the exact
//! grants `--allow-writes` needs.

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::Problems;
use crate::objects::{Object, name};
use crate::workload::{container_args, containers, deployments, has_flag, pod_spec};

const READ_VERBS: &[&str] = &["get", "list", "watch"];

fn rules(objects: &[Object]) -> impl Iterator<Item = (String, &PolicyRule)> {
    objects.iter().flat_map(|o| {
        let rules = match o {
            Object::ClusterRole(r) => r.rules.as_deref().unwrap_or_default(),
            Object::Role(r) => r.rules.as_deref().unwrap_or_default(),
            _ => &[],
        };
        rules.iter().map(move |r| (o.id(), r))
    })
}

/// Every `(apiGroup, resource)` of `required` can be listed by some role in
/// `objects`: what the investigation reads must not be Forbidden in a real
/// cluster. (Kubernetes answers a missing grant with 403, which the engine
/// reports as a data gap; the tool would work in a test and not in prod.)
pub fn check_grants_reads(objects: &[Object], required: &[(&str, &str)]) -> Problems {
    let mut out = Vec::new();
    for (group, resource) in required {
        let granted = rules(objects).any(|(_, rule)| {
            rule.api_groups
                .iter()
                .flatten()
                .any(|g| g == group || g == "*")
                && rule
                    .resources
                    .iter()
                    .flatten()
                    .any(|r| r == resource || r == "*")
                && rule.verbs.iter().any(|v| v == "list" || v == "*")
        });
        if !granted {
            let group = if group.is_empty() { "core" } else { group };
            out.push(format!("no role lets the agent list {resource} ({group})"));
        }
    }
    out
}

/// Read-only: no RBAC verb but get/list/watch, no wildcard, no Secrets, and
/// no container started with `--allow-writes`.
pub fn check_read_only(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for (id, rule) in rules(objects) {
        for verb in &rule.verbs {
            if !READ_VERBS.contains(&verb.as_str()) {
                out.push(format!("{id}: verb `{verb}` in the read-only set"));
            }
        }
        for r in rule.resources.iter().flatten() {
            if r == "*" || r == "secrets" {
                out.push(format!("{id}: resource `{r}` in the read-only set"));
            }
        }
        if rule.api_groups.iter().flatten().any(|g| g == "*") {
            out.push(format!("{id}: apiGroups `*`"));
        }
        if rule.non_resource_urls.is_some() {
            out.push(format!("{id}: nonResourceURLs"));
        }
    }
    for d in deployments(objects) {
        for c in containers(d) {
            if has_flag(&container_args(c), "--allow-writes") {
                out.push(format!(
                    "Deployment/{} container {}: --allow-writes in the read-only set",
                    name(&d.metadata),
                    c.name
                ));
            }
        }
    }
    out
}

/// The writes component: mcp-kubernetes has `--allow-writes`, and a role bound
/// to its service account allows exactly what its write tools do (patch
/// workloads, delete pods) and no other write.
pub fn check_writes_enabled(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    let Some(k8s) = deployments(objects).find(|d| name(&d.metadata) == "mcp-kubernetes") else {
        return vec!["no Deployment/mcp-kubernetes".into()];
    };
    if !containers(k8s).any(|c| has_flag(&container_args(c), "--allow-writes")) {
        out.push("Deployment/mcp-kubernetes: no --allow-writes".into());
    }
    let sa = pod_spec(k8s)
        .and_then(|p| p.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let bound: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| {
            let (role, subjects) = match o {
                Object::ClusterRoleBinding(b) => (&b.role_ref, &b.subjects),
                Object::RoleBinding(b) => (&b.role_ref, &b.subjects),
                _ => return None,
            };
            subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "ServiceAccount" && s.name == sa)
                .then(|| format!("{}/{}", role.kind, role.name))
        })
        .collect();
    let allowed = |rule: &PolicyRule, verb: &str, group: &str, resource: &str| {
        rule.verbs.iter().any(|v| v == verb)
            && rule.api_groups.iter().flatten().any(|g| g == group)
            && rule.resources.iter().flatten().any(|r| r == resource)
    };
    let bound_rules: Vec<(String, &PolicyRule)> = rules(objects)
        .filter(|(id, _)| bound.contains(id))
        .collect();
    for (verb, group, resource) in [
        ("patch", "apps", "deployments"),
        ("patch", "apps", "statefulsets"),
        ("patch", "apps", "daemonsets"),
        ("delete", "", "pods"),
    ] {
        if !bound_rules
            .iter()
            .any(|(_, r)| allowed(r, verb, group, resource))
        {
            out.push(format!(
                "no role bound to ServiceAccount/{sa} allows {verb} {group}/{resource}"
            ));
        }
    }
    for (id, rule) in &bound_rules {
        for verb in &rule.verbs {
            if !READ_VERBS.contains(&verb.as_str()) && verb != "patch" && verb != "delete" {
                out.push(format!(
                    "{id}: verb `{verb}` beyond what the write tools use"
                ));
            }
        }
        for r in rule.resources.iter().flatten() {
            if r == "*" || r == "secrets" {
                out.push(format!("{id}: resource `{r}`"));
            }
        }
    }
    out
}
