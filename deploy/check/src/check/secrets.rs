//! Checks on Secrets: placeholders only, and every key a workload reads exists
//! in the example.

use std::collections::BTreeSet;

use crate::Problems;
use crate::objects::{Object, name};
use crate::workload::{containers, deployments, pod_spec};

/// Secrets hold placeholders only: every `stringData` value contains
/// `REPLACE_ME`, and `data` (base64, where a real value hides) is empty.
pub fn check_secrets_are_placeholders(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for o in objects {
        let Object::Secret(s) = o else { continue };
        if s.data.as_ref().is_some_and(|d| !d.is_empty()) {
            out.push(format!(
                "{}: has `data`; use placeholders in stringData",
                o.id()
            ));
        }
        for (key, value) in s.string_data.iter().flatten() {
            if !value.contains("REPLACE_ME") {
                out.push(format!(
                    "{}: key `{key}` holds a real-looking value (no REPLACE_ME)",
                    o.id()
                ));
            }
        }
    }
    out
}

/// Every Secret key a Deployment reads exists in `secrets` (the example).
pub fn check_secret_refs(objects: &[Object], secrets: &[Object]) -> Problems {
    let keys: BTreeSet<(String, String)> = secrets
        .iter()
        .filter_map(|o| match o {
            Object::Secret(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            let n = name(&s.metadata).to_string();
            s.string_data
                .iter()
                .flat_map(|m| m.keys())
                .chain(s.data.iter().flat_map(|m| m.keys()))
                .map(move |k| (n.clone(), k.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out = Vec::new();
    for d in deployments(objects) {
        let who = format!("Deployment/{}", name(&d.metadata));
        for c in containers(d) {
            for env in c.env.iter().flatten() {
                if let Some(r) = env
                    .value_from
                    .as_ref()
                    .and_then(|v| v.secret_key_ref.as_ref())
                    && !keys.contains(&(r.name.clone(), r.key.clone()))
                {
                    out.push(format!(
                        "{who}: env {} reads Secret {} key {}, which the example lacks",
                        env.name, r.name, r.key
                    ));
                }
            }
        }
        for v in pod_spec(d)
            .and_then(|p| p.volumes.as_ref())
            .into_iter()
            .flatten()
        {
            let Some(s) = &v.secret else { continue };
            let secret = s.secret_name.clone().unwrap_or_default();
            let items: Vec<String> = s.items.iter().flatten().map(|i| i.key.clone()).collect();
            if items.is_empty() && !keys.iter().any(|(n, _)| *n == secret) {
                out.push(format!(
                    "{who}: volume {} mounts unknown Secret {secret}",
                    v.name
                ));
            }
            for key in items {
                if !keys.contains(&(secret.clone(), key.clone())) {
                    out.push(format!(
                        "{who}: volume {} reads Secret {secret} key {key}, which the example lacks",
                        v.name
                    ));
                }
            }
        }
    }
    out
}
