//! `describe`: one object with what an investigation needs first — conditions, the owner
//! chain, related events (deduplicated, with counts) and, per kind, the facts that matter:
//! container states and last terminations for pods; rollout status, ReplicaSets and pod
//! health for workloads; endpoints for Services; pressure and capacity for Nodes.

mod generic;
mod pod;
mod sections;
mod workload;

pub use self::workload::{pods_summary, revision, rollout_status, selector_string};

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use self::generic::{generic_section, generic_spec};
use self::pod::pod_section;
use self::sections::{hpa_section, job_section, node_section, quota_section, service_section};
use self::workload::workload_section;
use super::list::Output;
use crate::error::{K8sError, Result};
use crate::sanitize::{sanitize, secret_keys};
use crate::target::{Target, kinds};
use crate::value::{Table, age, ago, arr, clip, name, namespace, s, ts};

/// Options of [`describe`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct DescribeOptions {
    /// Resource type (`pod`, `deploy`, `node`, `certificates.cert-manager.io`…).
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Namespace (namespaced kinds); defaults to the context's namespace.
    pub namespace: Option<String>,
    /// `table` (the description, default), or the sanitized object as `yaml`/`json`.
    #[serde(default)]
    pub output: Output,
}

/// Describes one object; see [`DescribeOptions`].
pub async fn describe(t: &Target, o: &DescribeOptions) -> Result<String> {
    if o.kind.is_empty() || o.name.is_empty() {
        return Err(K8sError::InvalidArgument(
            "kind and name are required".into(),
        ));
    }
    let r = t.resolve(&o.kind).await?;
    let default_ns = t.client().default_namespace().to_string();
    let ns = r.namespaced.then(|| {
        o.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(default_ns)
    });
    let obj = t.get(&r, ns.as_deref(), &o.name).await?;
    match o.output {
        Output::Yaml | Output::Json => {
            let mut v = obj;
            sanitize(&mut v);
            mcp_kit::redact::redact_json(&mut v);
            return Ok(if o.output == Output::Json {
                format!("{v}\n")
            } else {
                serde_yaml_ng::to_string(&v).unwrap_or_default()
            });
        }
        Output::Table => {}
    }
    let now = t.now();
    let mut out = format!(
        "{} {} (context {})\ncreated {}",
        r.kind,
        crate::value::ns_name(&obj),
        t.context(),
        ago(now, crate::value::created(&obj))
    );
    if let Some(changed) = super::detail::last_changed_text(now, &obj) {
        out.push_str(&format!(" · {changed}"));
    }
    if let Some(del) = ts(&obj, "/metadata/deletionTimestamp") {
        out.push_str(&format!(" · deletion requested {}", ago(now, Some(del))));
    }
    out.push('\n');
    // Whole, up to a bound no sane object reaches: a node's labels (zone,
    // instance type, pool, launch template) run past a few hundred
    // characters, and the one asked about is often the last.
    let labels = crate::value::labels(&obj);
    if !labels.is_empty() {
        out.push_str(&format!("labels: {}\n", clip(&labels, 2000)));
    }
    let chain = owner_chain(t, &obj).await;
    if !chain.is_empty() {
        out.push_str(&format!("owners: {}\n", chain.join(" → ")));
    }
    // Names of objects whose events belong in this description.
    let mut related: BTreeSet<String> = BTreeSet::new();
    related.insert(format!("{}/{}", r.kind, name(&obj)));

    let body = match (r.group.as_str(), r.plural.as_str()) {
        ("", "pods") => pod_section(now, &obj),
        ("apps", "deployments" | "statefulsets" | "daemonsets") => {
            workload_section(t, &r, &obj, &mut related).await?
        }
        ("", "services") => service_section(t, &obj).await,
        ("", "nodes") => node_section(t, &obj).await,
        ("", "secrets") => format!(
            "type: {}\nkeys (values never shown): {}\n",
            s(&obj, "/type"),
            secret_keys(&obj).join(", ")
        ),
        ("batch", "jobs") => job_section(now, &obj),
        ("", "persistentvolumeclaims") => format!(
            "phase: {} · storageClass: {} · requested: {} · capacity: {} · volume: {} · access: {}\n",
            s(&obj, "/status/phase"),
            s(&obj, "/spec/storageClassName"),
            s(&obj, "/spec/resources/requests/storage"),
            s(&obj, "/status/capacity/storage"),
            s(&obj, "/spec/volumeName"),
            arr(&obj, "/spec/accessModes")
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        ),
        ("", "resourcequotas") => quota_section(&obj),
        ("networking.k8s.io", "networkpolicies") => {
            let types = super::list::policy_types(&obj);
            let pods = super::list::label_selector(obj.pointer("/spec/podSelector"));
            format!(
                "pod selector: {}\npolicy types: {}\ningress (from): {}\negress (to): {}\n{}",
                if pods.is_empty() { "<all pods>" } else { &pods },
                types.join(", "),
                super::list::policy_rules(&obj, &types, "Ingress"),
                super::list::policy_rules(&obj, &types, "Egress"),
                generic_spec(&obj)
            )
        }
        ("autoscaling", "horizontalpodautoscalers") => hpa_section(now, &obj),
        _ => generic_section(&obj),
    };
    out.push_str(&conditions(now, &obj));
    out.push_str(&body);

    // Related events (the object, and for workloads their ReplicaSets and pods).
    if let Some(ns) = ns.as_deref() {
        let fs = if related.len() == 1 {
            Some(format!("involvedObject.name={}", name(&obj)))
        } else {
            None
        };
        match t
            .list(&kinds::events(), Some(ns), None, fs.as_deref())
            .await
        {
            Ok(ev) => {
                let items: Vec<Value> = ev
                    .items
                    .into_iter()
                    .filter(|e| {
                        related.contains(&format!(
                            "{}/{}",
                            s(e, "/involvedObject/kind"),
                            s(e, "/involvedObject/name")
                        ))
                    })
                    .collect();
                let groups = super::events::dedupe(&items);
                if groups.is_empty() {
                    out.push_str("events: none recorded (events expire after about an hour)\n");
                } else {
                    out.push_str("events (deduplicated, newest first):\n");
                    out.push_str(&super::events::render(now, &groups, false, 25, "  "));
                }
            }
            Err(e) => out.push_str(&format!("events: not readable: {e}\n")),
        }
    } else if r.plural == "nodes" {
        match t
            .list(
                &kinds::events(),
                None,
                None,
                Some(&format!(
                    "involvedObject.kind=Node,involvedObject.name={}",
                    name(&obj)
                )),
            )
            .await
        {
            Ok(ev) => {
                let groups = super::events::dedupe(&ev.items);
                if !groups.is_empty() {
                    out.push_str("events (deduplicated, newest first):\n");
                    out.push_str(&super::events::render(now, &groups, false, 25, "  "));
                }
            }
            Err(e) => out.push_str(&format!("events: not readable: {e}\n")),
        }
    }
    Ok(out)
}

async fn owner_chain(t: &Target, obj: &Value) -> Vec<String> {
    let mut chain = Vec::new();
    let mut cur = obj.clone();
    for _ in 0..4 {
        let owners = arr(&cur, "/metadata/ownerReferences");
        let Some(o) = owners
            .iter()
            .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
            .or_else(|| owners.first())
        else {
            break;
        };
        let (kind, oname) = (s(o, "/kind").to_string(), s(o, "/name").to_string());
        chain.push(format!("{kind}/{oname}"));
        let Ok(r) = t.resolve_gvk(s(o, "/apiVersion"), &kind).await else {
            break;
        };
        let ns = r.namespaced.then(|| namespace(&cur).to_string());
        match t.get(&r, ns.as_deref(), &oname).await {
            Ok(next) => cur = next,
            Err(K8sError::NotFound { .. }) => {
                if let Some(last) = chain.last_mut() {
                    last.push_str(" (gone)");
                }
                break;
            }
            Err(_) => break,
        }
    }
    chain
}

fn conditions(now: Timestamp, obj: &Value) -> String {
    let conds = arr(obj, "/status/conditions");
    if conds.is_empty() {
        return String::new();
    }
    let mut t = Table::new(&["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]);
    for c in conds {
        t.row(vec![
            s(c, "/type").into(),
            s(c, "/status").into(),
            s(c, "/reason").into(),
            age(
                now,
                ts(c, "/lastTransitionTime").or_else(|| ts(c, "/lastHeartbeatTime")),
            ),
            crate::value::message(s(c, "/message")),
        ]);
    }
    format!("conditions:\n{}", t.render("  "))
}
