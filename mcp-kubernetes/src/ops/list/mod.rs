//! `list`: objects of any kind as a compact table (the columns people look at), or
//! sanitized YAML/JSON on request. Pods get special care: unhealthy or flapping pods are
//! listed one per line with their reason, healthy ones are summarised per owning workload.

mod pods;
mod selectors;
mod table;

pub use self::selectors::{label_selector, policy_rules, policy_types};
pub use self::table::short_image;

use serde::Deserialize;

use self::table::render_table;
use crate::error::{K8sError, Result};
use crate::sanitize::sanitize;
use crate::target::{Listed, ResourceInfo, Target};

/// Output format of `list` and `describe --output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// Compact aligned table (default).
    #[default]
    Table,
    /// Sanitized YAML documents.
    Yaml,
    /// Sanitized JSON, one object per line.
    Json,
}

/// Options of [`list`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct ListOptions {
    /// Resource type: plural, singular, kind or short name; `plural.group` to disambiguate.
    pub kind: String,
    /// Namespace; all namespaces the policy allows when absent.
    pub namespace: Option<String>,
    /// Label selector, e.g. `app=web,tier!=db`.
    pub label_selector: Option<String>,
    /// Field selector, e.g. `status.phase=Pending`.
    pub field_selector: Option<String>,
    /// Output format.
    #[serde(default)]
    pub output: Output,
    /// For pods: list every pod instead of summarising healthy pods per owner.
    #[serde(default)]
    pub all_pods: bool,
    /// For pods: only those on this node (any namespace unless `namespace` is given); the
    /// same as `field_selector=spec.nodeName=NODE`.
    pub node: Option<String>,
    /// With `output` json or yaml: keep only what an investigation reads (names, owners,
    /// labels, node, addresses, images, resources, ports, volumes, states, conditions),
    /// about a third of the full object.
    #[serde(default)]
    pub compact: bool,
    /// With `output` json or yaml: skip this many objects (paging; the footer names the next offset).
    pub offset: Option<usize>,
    /// With `output` json or yaml: at most this many objects.
    pub limit: Option<usize>,
}

/// Pods listed individually up to this many before healthy ones get summarised.
pub const POD_SUMMARY_THRESHOLD: usize = 40;

/// Lists objects; see [`ListOptions`].
pub async fn list(t: &Target, o: &ListOptions) -> Result<String> {
    if o.kind.trim().is_empty() {
        return Err(K8sError::InvalidArgument(
            "kind is required (e.g. pods, deployments, nodes)".into(),
        ));
    }
    let r = t.resolve(&o.kind).await?;
    if r.group.is_empty() && r.plural == "events" && o.output == Output::Table {
        let eo = super::events::EventsOptions {
            namespace: o.namespace.clone(),
            field_selector: o.field_selector.clone(),
            ..Default::default()
        };
        return super::events::events(t, &eo).await;
    }
    let ns = o.namespace.as_deref().filter(|n| !n.is_empty());
    let mut fields: Vec<String> = o
        .field_selector
        .iter()
        .filter(|f| !f.trim().is_empty())
        .cloned()
        .collect();
    if let Some(node) = o.node.as_deref().filter(|n| !n.is_empty()) {
        if !(r.group.is_empty() && r.plural == "pods") {
            return Err(K8sError::InvalidArgument(
                "node= filters pods only (use kind=pods)".into(),
            ));
        }
        fields.push(format!("spec.nodeName={node}"));
    }
    let fields = fields.join(",");
    let listed = t
        .list(
            &r,
            ns,
            o.label_selector.as_deref(),
            Some(fields.as_str()).filter(|f| !f.is_empty()),
        )
        .await?;
    if let (true, Some(ns)) = (r.namespaced, ns)
        && listed.items.is_empty()
        && t.namespace_exists(ns).await == Some(false)
    {
        return Err(t.no_such_namespace(ns).await);
    }
    let scope = scope_text(&r, ns, t.context());
    match o.output {
        Output::Yaml | Output::Json => Ok(render_page(listed, o, &scope)),
        Output::Table => Ok(render_table(t.now(), &r, ns, &listed, o.all_pods, &scope)),
    }
}

fn scope_text(r: &ResourceInfo, ns: Option<&str>, context: &str) -> String {
    let what = r.qualified();
    match (r.namespaced, ns) {
        (true, Some(ns)) => format!("{what} in namespace {ns} (context {context})"),
        (true, None) => format!("{what} in all allowed namespaces (context {context})"),
        (false, _) => format!("{what} (cluster-scoped, context {context})"),
    }
}

fn footer(listed: &Listed) -> String {
    let mut out = String::new();
    if listed.capped {
        out.push_str(&format!(
            "# stopped after {} objects; narrow with a namespace or selector\n",
            listed.items.len()
        ));
    }
    if listed.filtered_namespaces > 0 {
        out.push_str(&format!(
            "# objects in {} namespace(s) hidden by this server's namespace policy\n",
            listed.filtered_namespaces
        ));
    }
    out
}

/// Renders one page of sanitized (and, on request, compacted) documents.
fn render_page(mut listed: Listed, o: &ListOptions, scope: &str) -> String {
    let total = listed.items.len();
    let offset = o.offset.unwrap_or(0).min(total);
    let limit = o.limit.unwrap_or(usize::MAX).max(1);
    listed.items = listed.items.drain(offset..).take(limit).collect();
    if o.compact {
        listed.items.iter_mut().for_each(super::compact::compact);
    }
    let shown = listed.items.len();
    let mut out = render_docs(&listed, o.output, scope);
    if offset > 0 || offset + shown < total {
        out.push_str(&format!(
            "# objects {}-{} of {total}",
            offset + usize::from(shown > 0),
            offset + shown
        ));
        if offset + shown < total {
            out.push_str(&format!("; next page: offset={}", offset + shown));
        }
        out.push('\n');
    }
    out
}

/// Renders sanitized YAML or JSON.
pub fn render_docs(listed: &Listed, output: Output, scope: &str) -> String {
    let mut out = format!("# {} {scope}\n", listed.items.len());
    for item in &listed.items {
        let mut v = item.clone();
        sanitize(&mut v);
        // Redacted on values, before serializing: a file inside a ConfigMap
        // is read raw, not through JSON escapes or YAML quoting.
        mcp_kit::redact::redact_json(&mut v);
        match output {
            Output::Json => {
                out.push_str(&v.to_string());
                out.push('\n');
            }
            _ => {
                out.push_str("---\n");
                out.push_str(
                    &serde_yaml_ng::to_string(&v)
                        .unwrap_or_else(|e| format!("# unrenderable: {e}\n")),
                );
            }
        }
    }
    out.push_str(&footer(listed));
    out
}
