//! `list`: objects of any kind as a compact table (the columns people look at), or
//! sanitized YAML/JSON on request. Pods get special care: unhealthy or flapping pods are
//! listed one per line with their reason, healthy ones are summarised per owning workload.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{K8sError, Result};
use crate::pods;
use crate::sanitize::{sanitize, secret_keys};
use crate::target::{Listed, ResourceInfo, Target};
use crate::value::{Table, age, arr, clip, i, map_pairs, name, namespace, opt_s, s};

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

fn cond<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
}

fn images(o: &Value, ptr: &str) -> String {
    arr(o, ptr)
        .iter()
        .map(|c| short_image(s(c, "/image")))
        .collect::<Vec<_>>()
        .join(",")
}

fn access_modes(o: &Value) -> String {
    arr(o, "/spec/accessModes")
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Drops the registry host from an image reference (`registry.example.com/team/api:1.2` → `team/api:1.2`).
pub fn short_image(image: &str) -> String {
    match image.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest.to_string()
        }
        _ => image.to_string(),
    }
}

fn pod_row(p: &Value, now: Timestamp, with_ns: bool) -> Vec<String> {
    let (r, tot) = pods::ready(p);
    let restarts = pods::restarts(p);
    let mut row = Vec::new();
    if with_ns {
        row.push(namespace(p).to_string());
    }
    row.extend([
        name(p).to_string(),
        format!("{r}/{tot}"),
        pods::status(p),
        restarts.to_string(),
        age(now, crate::value::created(p)),
        s(p, "/spec/nodeName").to_string(),
    ]);
    row
}

fn render_pods(now: Timestamp, pods_: &[Value], all: bool, with_ns: bool) -> String {
    let summarise = !all && pods_.len() > POD_SUMMARY_THRESHOLD;
    let mut headers = vec![];
    if with_ns {
        headers.push("NAMESPACE");
    }
    headers.extend(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "NOTE"]);
    let mut table = Table::new(&headers);
    // (namespace, kind, name) -> healthy pods
    let mut healthy: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    let mut unhealthy = 0usize;
    let mut rows: Vec<(bool, Vec<String>)> = Vec::new();
    for p in pods_ {
        let ok = pods::is_healthy(p, now);
        if summarise && ok {
            let (k, n) = pods::workload(p);
            healthy
                .entry((namespace(p).to_string(), k, n))
                .or_default()
                .push(p);
            continue;
        }
        if !ok {
            unhealthy += 1;
        }
        let mut row = pod_row(p, now, with_ns);
        row.push(if ok {
            String::new()
        } else {
            pods::note(p, now)
        });
        rows.push((ok, row));
    }
    // Problems first, then by name (stable input order is namespace/name).
    rows.sort_by_key(|(ok, _)| *ok);
    for (_, row) in rows {
        table.row(row);
    }
    let healthy_count: usize = healthy.values().map(Vec::len).sum();
    let total = pods_.len();
    let mut out = if summarise {
        format!(
            "{total} pods: {unhealthy} need attention (listed), {healthy_count} healthy (summarised by owner)\n"
        )
    } else {
        format!("{total} pods, {unhealthy} need attention\n")
    };
    if !table.is_empty() {
        out.push_str(&table.render(""));
    }
    if !healthy.is_empty() {
        out.push_str(
            "\nhealthy pods by owner (nothing workload_health would report: ready, under 3 restarts, no OOMKill; or completed or starting):\n",
        );
        let mut t = Table::new(&[
            "NAMESPACE",
            "OWNER",
            "PODS",
            "STATUS",
            "RESTARTS",
            "AGE",
            "NODES",
            "IMAGES",
        ]);
        for ((ns, kind, owner), ps) in &healthy {
            let restarts: i64 = ps.iter().map(|p| pods::restarts(p)).sum();
            let mut ages: Vec<i64> = ps
                .iter()
                .filter_map(|p| crate::value::created(p))
                .map(|c| now.as_second() - c.as_second())
                .collect();
            ages.sort_unstable();
            let age_range = match (ages.first(), ages.last()) {
                (Some(a), Some(b)) if crate::value::fmt_secs(*a) != crate::value::fmt_secs(*b) => {
                    format!(
                        "{}-{}",
                        crate::value::fmt_secs(*a),
                        crate::value::fmt_secs(*b)
                    )
                }
                (Some(a), _) => crate::value::fmt_secs(*a),
                _ => "-".into(),
            };
            let mut nodes: Vec<&str> = ps.iter().map(|p| s(p, "/spec/nodeName")).collect();
            nodes.sort_unstable();
            nodes.dedup();
            let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
            for p in ps {
                *statuses.entry(pods::status(p)).or_default() += 1;
            }
            let mut imgs: Vec<String> = ps.iter().map(|p| images(p, "/spec/containers")).collect();
            imgs.sort();
            imgs.dedup();
            t.row(vec![
                if with_ns { ns.clone() } else { String::new() },
                format!("{kind}/{owner}"),
                ps.len().to_string(),
                statuses
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                restarts.to_string(),
                age_range,
                nodes.len().to_string(),
                clip(&imgs.join(" | "), 80),
            ]);
        }
        out.push_str(&t.render("  "));
        out.push_str("  (list with all_pods=true or a label selector to see them individually)\n");
    }
    out
}

/// Renders one table row from an object.
type RowFn = Box<dyn Fn(&Value) -> Vec<String>>;

/// A label selector (`matchLabels` and `matchExpressions`) as kubectl prints it; `""` for
/// the empty selector, which matches everything.
pub fn label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return String::new();
    };
    let mut parts: Vec<String> = sel
        .pointer("/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    for e in arr(sel, "/matchExpressions") {
        let vals: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        let k = s(e, "/key");
        parts.push(match s(e, "/operator") {
            "In" => format!("{k} in ({})", vals.join(",")),
            "NotIn" => format!("{k} notin ({})", vals.join(",")),
            "Exists" => k.to_string(),
            "DoesNotExist" => format!("!{k}"),
            _ => continue,
        });
    }
    parts.join(",")
}

/// A NetworkPolicy's policy types: `spec.policyTypes`, else what the API server defaults
/// (Ingress, plus Egress when there are egress rules).
pub fn policy_types(o: &Value) -> Vec<String> {
    let declared: Vec<String> = arr(o, "/spec/policyTypes")
        .iter()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    if !declared.is_empty() {
        return declared;
    }
    let mut t = vec!["Ingress".to_string()];
    if o.pointer("/spec/egress").is_some() {
        t.push("Egress".into());
    }
    t
}

/// One direction of a NetworkPolicy in short: `-` when the policy does not restrict it,
/// `DENY ALL` when it does with no rule, else each rule's peers and ports (`app=web,
/// ns(team=x) pods(app=y), 10.0.0.0/8 except 10.1.0.0/16 on 8080/TCP`), rules separated
/// by `;`.
pub fn policy_rules(o: &Value, types: &[String], direction: &str) -> String {
    if !types.iter().any(|t| t == direction) {
        return "-".into();
    }
    let (rules_ptr, peers_key) = if direction == "Ingress" {
        ("/spec/ingress", "from")
    } else {
        ("/spec/egress", "to")
    };
    let rules = arr(o, rules_ptr);
    if rules.is_empty() {
        return "DENY ALL".into();
    }
    let rules: Vec<String> = rules
        .iter()
        .map(|r| {
            let peers: Vec<String> = arr(r, &format!("/{peers_key}"))
                .iter()
                .map(|p| {
                    if let Some(ip) = p.get("ipBlock") {
                        let except: Vec<&str> = arr(ip, "/except")
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        if except.is_empty() {
                            s(ip, "/cidr").to_string()
                        } else {
                            format!("{} except {}", s(ip, "/cidr"), except.join(","))
                        }
                    } else {
                        let ns = p.get("namespaceSelector").map(|n| {
                            match label_selector(Some(n)).as_str() {
                                "" => "all namespaces".to_string(),
                                sel => match sel.strip_prefix("kubernetes.io/metadata.name=") {
                                    Some(one) if !one.contains(',') => format!("ns {one}"),
                                    _ => format!("ns({sel})"),
                                },
                            }
                        });
                        let in_ns = p.get("namespaceSelector").is_some();
                        let pods = p.get("podSelector").map(|n| {
                            match (label_selector(Some(n)).as_str(), in_ns) {
                                ("", true) => "all pods".to_string(),
                                ("", false) => "all pods of this namespace".to_string(),
                                (sel, _) => format!("pods({sel})"),
                            }
                        });
                        match (ns, pods) {
                            (Some(n), Some(p)) => format!("{n} {p}"),
                            (Some(n), None) => n,
                            (None, Some(p)) => p,
                            (None, None) => "?".into(),
                        }
                    }
                })
                .collect();
            let ports: Vec<String> = arr(r, "/ports")
                .iter()
                .map(|p| {
                    let port = p
                        .get("port")
                        .map(|x| x.to_string().trim_matches('"').to_string())
                        .unwrap_or("*".into());
                    let end = crate::value::opt_i(p, "/endPort")
                        .map(|e| format!("-{e}"))
                        .unwrap_or_default();
                    format!("{port}{end}/{}", opt_s(p, "/protocol").unwrap_or("TCP"))
                })
                .collect();
            let who = if peers.is_empty() {
                "anywhere".to_string()
            } else {
                peers.join(", ")
            };
            if ports.is_empty() {
                who
            } else {
                format!("{who} on {}", ports.join(","))
            }
        })
        .collect();
    rules.join("; ")
}

fn render_table(
    now: Timestamp,
    r: &ResourceInfo,
    ns: Option<&str>,
    listed: &Listed,
    all: bool,
    scope: &str,
) -> String {
    let items = &listed.items;
    let with_ns = r.namespaced && ns.is_none();
    if items.is_empty() {
        return format!("no {scope}\n{}", footer(listed));
    }
    if r.group.is_empty() && r.plural == "pods" {
        return format!(
            "# {scope}\n{}{}",
            render_pods(now, items, all, with_ns),
            footer(listed)
        );
    }
    let (headers, row): (Vec<&str>, RowFn) = match (r.group.as_str(), r.plural.as_str()) {
        ("apps", "deployments") => (
            vec![
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "IMAGES",
                "NOTE",
            ],
            Box::new(move |o| {
                let stuck = cond(o, "Progressing")
                    .filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded");
                let unavailable = cond(o, "Available").filter(|c| s(c, "/status") == "False");
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        i(o, "/spec/replicas")
                    ),
                    i(o, "/status/updatedReplicas").to_string(),
                    i(o, "/status/availableReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                    if stuck.is_some() {
                        "ProgressDeadlineExceeded".into()
                    } else if unavailable.is_some() {
                        "unavailable".into()
                    } else if o.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
                        "paused".into()
                    } else {
                        String::new()
                    },
                ]
            }),
        ),
        ("apps", "statefulsets") => (
            vec!["NAME", "READY", "UP-TO-DATE", "AGE", "IMAGES"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        i(o, "/spec/replicas")
                    ),
                    i(o, "/status/updatedReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("apps", "daemonsets") => (
            vec![
                "NAME",
                "DESIRED",
                "CURRENT",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "IMAGES",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    i(o, "/status/desiredNumberScheduled").to_string(),
                    i(o, "/status/currentNumberScheduled").to_string(),
                    i(o, "/status/numberReady").to_string(),
                    i(o, "/status/updatedNumberScheduled").to_string(),
                    i(o, "/status/numberAvailable").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("apps", "replicasets") => (
            vec![
                "NAME", "DESIRED", "CURRENT", "READY", "AGE", "OWNER", "IMAGES",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    i(o, "/spec/replicas").to_string(),
                    i(o, "/status/replicas").to_string(),
                    i(o, "/status/readyReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    crate::value::controller_owner(o)
                        .map(|(k, n)| format!("{k}/{n}"))
                        .unwrap_or_default(),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("batch", "jobs") => (
            vec!["NAME", "STATUS", "COMPLETIONS", "FAILED", "AGE"],
            Box::new(move |o| {
                let st = if cond(o, "Failed").is_some_and(|c| s(c, "/status") == "True") {
                    format!(
                        "Failed ({})",
                        s(cond(o, "Failed").unwrap_or(&Value::Null), "/reason")
                    )
                } else if cond(o, "Complete").is_some_and(|c| s(c, "/status") == "True") {
                    "Complete".into()
                } else if cond(o, "Suspended").is_some_and(|c| s(c, "/status") == "True") {
                    "Suspended".into()
                } else {
                    "Running".into()
                };
                vec![
                    name(o).into(),
                    st,
                    format!(
                        "{}/{}",
                        i(o, "/status/succeeded"),
                        crate::value::opt_i(o, "/spec/completions").unwrap_or(1)
                    ),
                    i(o, "/status/failed").to_string(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("batch", "cronjobs") => (
            vec![
                "NAME",
                "SCHEDULE",
                "SUSPEND",
                "ACTIVE",
                "LAST-SCHEDULE",
                "AGE",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/spec/schedule").into(),
                    (o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)).to_string(),
                    arr(o, "/status/active").len().to_string(),
                    crate::value::ago(now, crate::value::ts(o, "/status/lastScheduleTime")),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "services") => (
            vec!["NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "AGE"],
            Box::new(move |o| {
                let ports = arr(o, "/spec/ports")
                    .iter()
                    .map(|p| {
                        let port = i(p, "/port");
                        match crate::value::opt_i(p, "/nodePort") {
                            Some(np) => format!("{port}:{np}/{}", s(p, "/protocol")),
                            None => format!("{port}/{}", s(p, "/protocol")),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                vec![
                    name(o).into(),
                    s(o, "/spec/type").into(),
                    s(o, "/spec/clusterIP").into(),
                    ports,
                    map_pairs(o, "/spec/selector"),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "nodes") => (
            vec![
                "NAME", "STATUS", "ROLES", "AGE", "VERSION", "PRESSURE", "TAINTS",
            ],
            Box::new(move |o| {
                let ready = cond(o, "Ready")
                    .map(|c| s(c, "/status"))
                    .unwrap_or("Unknown");
                let mut st = if ready == "True" {
                    "Ready".to_string()
                } else {
                    "NotReady".to_string()
                };
                if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
                    st.push_str(",SchedulingDisabled");
                }
                let roles = o
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.keys()
                            .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                let pressure = arr(o, "/status/conditions")
                    .iter()
                    .filter(|c| {
                        s(c, "/type").ends_with("Pressure") || s(c, "/type") == "NetworkUnavailable"
                    })
                    .filter(|c| s(c, "/status") == "True")
                    .map(|c| s(c, "/type").to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let taints = arr(o, "/spec/taints")
                    .iter()
                    .map(|t| format!("{}:{}", s(t, "/key"), s(t, "/effect")))
                    .collect::<Vec<_>>()
                    .join(",");
                vec![
                    name(o).into(),
                    st,
                    if roles.is_empty() {
                        "<none>".into()
                    } else {
                        roles
                    },
                    age(now, crate::value::created(o)),
                    s(o, "/status/nodeInfo/kubeletVersion").into(),
                    pressure,
                    clip(&taints, 60),
                ]
            }),
        ),
        ("", "persistentvolumes") => (
            vec![
                "NAME",
                "CAPACITY",
                "ACCESS",
                "RECLAIM",
                "STATUS",
                "CLAIM",
                "STORAGECLASS",
                "AGE",
            ],
            Box::new(move |o| {
                let claim = match opt_s(o, "/spec/claimRef/name") {
                    Some(n) => format!("{}/{n}", s(o, "/spec/claimRef/namespace")),
                    None => String::new(),
                };
                vec![
                    name(o).into(),
                    s(o, "/spec/capacity/storage").into(),
                    access_modes(o),
                    s(o, "/spec/persistentVolumeReclaimPolicy").into(),
                    s(o, "/status/phase").into(),
                    claim,
                    s(o, "/spec/storageClassName").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("storage.k8s.io", "storageclasses") => (
            vec![
                "NAME",
                "PROVISIONER",
                "RECLAIM",
                "BINDING",
                "EXPANSION",
                "DEFAULT",
                "AGE",
            ],
            Box::new(move |o| {
                let default = s(
                    o,
                    "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
                ) == "true";
                vec![
                    name(o).into(),
                    s(o, "/provisioner").into(),
                    opt_s(o, "/reclaimPolicy").unwrap_or("Delete").into(),
                    opt_s(o, "/volumeBindingMode").unwrap_or("Immediate").into(),
                    (o.pointer("/allowVolumeExpansion").and_then(Value::as_bool) == Some(true))
                        .to_string(),
                    if default { "yes".into() } else { String::new() },
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("cert-manager.io", "certificates") => (
            vec![
                "NAME",
                "READY",
                "SECRET",
                "ISSUER",
                "NOT-AFTER",
                "RENEWAL",
                "REASON",
                "AGE",
            ],
            Box::new(move |o| {
                let ready = cond(o, "Ready");
                let rel = |t: Option<Timestamp>| match t {
                    Some(t) if t <= now => crate::value::ago(now, Some(t)),
                    Some(t) => format!(
                        "in {}",
                        crate::value::fmt_secs(t.as_second() - now.as_second())
                    ),
                    None => "-".into(),
                };
                let expiry = crate::value::ts(o, "/status/notAfter");
                let not_after = match expiry {
                    Some(t) if t <= now => format!("EXPIRED {}", rel(Some(t))),
                    other => rel(other),
                };
                vec![
                    name(o).into(),
                    ready.map(|c| s(c, "/status")).unwrap_or("Unknown").into(),
                    s(o, "/spec/secretName").into(),
                    format!(
                        "{}/{}",
                        s(o, "/spec/issuerRef/kind"),
                        s(o, "/spec/issuerRef/name")
                    ),
                    not_after,
                    rel(crate::value::ts(o, "/status/renewalTime")),
                    ready
                        .filter(|c| s(c, "/status") != "True")
                        .map(|c| clip(&format!("{}: {}", s(c, "/reason"), s(c, "/message")), 80))
                        .unwrap_or_default(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "namespaces") => (
            vec!["NAME", "STATUS", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/status/phase").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "STORAGECLASS",
                "AGE",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/status/phase").into(),
                    s(o, "/spec/volumeName").into(),
                    s(o, "/status/capacity/storage").into(),
                    s(o, "/spec/storageClassName").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("autoscaling", "horizontalpodautoscalers") => (
            vec!["NAME", "REFERENCE", "MIN", "MAX", "REPLICAS", "AGE", "NOTE"],
            Box::new(move |o| {
                let max = i(o, "/spec/maxReplicas");
                let cur = i(o, "/status/currentReplicas");
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        s(o, "/spec/scaleTargetRef/kind"),
                        s(o, "/spec/scaleTargetRef/name")
                    ),
                    crate::value::opt_i(o, "/spec/minReplicas")
                        .unwrap_or(1)
                        .to_string(),
                    max.to_string(),
                    cur.to_string(),
                    age(now, crate::value::created(o)),
                    if cur >= max && max > 0 {
                        "at max".into()
                    } else {
                        String::new()
                    },
                ]
            }),
        ),
        ("", "resourcequotas") => (
            vec!["NAME", "USED/HARD", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    super::detail::quota_usage(o),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "configmaps") => (
            vec!["NAME", "KEYS", "AGE", "CHANGED"],
            Box::new(move |o| {
                let keys: Vec<String> = ["/data", "/binaryData"]
                    .iter()
                    .filter_map(|p| o.pointer(p).and_then(Value::as_object))
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                vec![
                    name(o).into(),
                    clip(&keys.join(","), 80),
                    age(now, crate::value::created(o)),
                    super::detail::changed_column(now, o),
                ]
            }),
        ),
        ("", "secrets") => (
            vec!["NAME", "TYPE", "KEYS (values never shown)", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/type").into(),
                    clip(&secret_keys(o).join(","), 80),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("networking.k8s.io", "networkpolicies") => (
            vec![
                "NAME",
                "POD-SELECTOR",
                "POLICY-TYPES",
                "INGRESS (from)",
                "EGRESS (to)",
                "AGE",
                "CHANGED",
            ],
            Box::new(move |o| {
                let types = policy_types(o);
                let pods = label_selector(o.pointer("/spec/podSelector"));
                vec![
                    name(o).into(),
                    if pods.is_empty() {
                        "<all pods>".into()
                    } else {
                        clip(&pods, 60)
                    },
                    types.join(","),
                    clip(&policy_rules(o, &types, "Ingress"), 160),
                    clip(&policy_rules(o, &types, "Egress"), 160),
                    age(now, crate::value::created(o)),
                    super::detail::changed_column(now, o),
                ]
            }),
        ),
        ("networking.k8s.io", "ingresses") => (
            vec!["NAME", "CLASS", "HOSTS", "ADDRESS", "AGE"],
            Box::new(move |o| {
                let hosts: Vec<&str> = arr(o, "/spec/rules")
                    .iter()
                    .map(|r| s(r, "/host"))
                    .collect();
                let addrs: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
                    .iter()
                    .map(|a| opt_s(a, "/ip").unwrap_or(s(a, "/hostname")))
                    .collect();
                vec![
                    name(o).into(),
                    s(o, "/spec/ingressClassName").into(),
                    clip(&hosts.join(","), 60),
                    addrs.join(","),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        _ => (
            vec!["NAME", "READY", "STATUS", "AGE"],
            Box::new(move |o| {
                let ready = cond(o, "Ready")
                    .map(|c| s(c, "/status").to_string())
                    .unwrap_or_default();
                let status = opt_s(o, "/status/phase")
                    .or_else(|| opt_s(o, "/status/state"))
                    .map(String::from)
                    .or_else(|| {
                        arr(o, "/status/conditions")
                            .iter()
                            .find(|c| s(c, "/status") == "False" && s(c, "/type") != "Ready")
                            .map(|c| format!("{}=False", s(c, "/type")))
                    })
                    .or_else(|| {
                        cond(o, "Ready")
                            .and_then(|c| opt_s(c, "/reason"))
                            .map(String::from)
                    })
                    .unwrap_or_default();
                vec![
                    name(o).into(),
                    ready,
                    clip(&status, 50),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
    };
    let mut h = Vec::new();
    if with_ns {
        h.push("NAMESPACE");
    }
    h.extend(headers);
    let mut table = Table::new(&h);
    for o in items {
        let mut r = Vec::new();
        if with_ns {
            r.push(namespace(o).to_string());
        }
        r.extend(row(o));
        table.row(r);
    }
    format!(
        "# {} {scope}\n{}{}",
        items.len(),
        table.render(""),
        footer(listed)
    )
}
