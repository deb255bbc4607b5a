//! `resource_usage`: live CPU and memory from `metrics.k8s.io`, set against requests and
//! limits (pods) or allocatable capacity (nodes). Says plainly when the metrics API is absent.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{K8sError, Result};
use crate::target::{Target, kinds};
use crate::value::{Table, arr, cpu_millis, fmt_mem, mem_bytes, name, namespace, s};

/// What to measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UsageKind {
    /// Pods (default).
    #[default]
    Pods,
    /// Nodes.
    Nodes,
}

/// Sort order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Memory, highest first (default).
    #[default]
    Memory,
    /// CPU, highest first.
    Cpu,
}

/// Options of [`resource_usage`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct UsageOptions {
    /// `pods` or `nodes`.
    #[serde(default)]
    pub kind: UsageKind,
    /// Namespace for pods; all allowed namespaces when absent.
    pub namespace: Option<String>,
    /// Label selector for pods.
    pub label_selector: Option<String>,
    /// Sort order.
    #[serde(default)]
    pub sort_by: SortBy,
    /// Rows shown (default 30).
    pub limit: Option<usize>,
}

fn metrics_err(t: &Target, e: K8sError) -> K8sError {
    match e {
        K8sError::NotFound { .. } => K8sError::MetricsUnavailable {
            context: t.context().into(),
            detail: "the API server does not serve metrics.k8s.io".into(),
        },
        K8sError::Api {
            code: 503, message, ..
        } => K8sError::MetricsUnavailable {
            context: t.context().into(),
            detail: format!("metrics.k8s.io is registered but not answering ({message})"),
        },
        other => other,
    }
}

fn pct(used: f64, of: Option<f64>) -> String {
    match of {
        Some(of) if of > 0.0 => format!("{:.0}%", used / of * 100.0),
        _ => "-".into(),
    }
}

/// A pod's use against its limit, when its containers do not all set one
/// (a mesh sidecar without a CPU limit leaves the pod with none): the
/// containers that set one, their use against their limits, marked `*`.
/// The app held at its limit beside an unlimited sidecar is throttled all
/// the same, and a bare `-` would hide it.
fn limited_containers(
    pod: &Value,
    usage: &Value,
    limit_ptr: &str,
    usage_ptr: &str,
    parse: fn(&str) -> Option<f64>,
) -> Option<String> {
    let (mut used, mut limit) = (0.0, 0.0);
    for c in arr(pod, "/spec/containers") {
        let Some(l) = parse(s(c, limit_ptr)) else {
            continue;
        };
        let u = arr(usage, "/containers")
            .iter()
            .find(|m| s(m, "/name") == s(c, "/name"))
            .and_then(|m| parse(s(m, usage_ptr)))?;
        used += u;
        limit += l;
    }
    (limit > 0.0).then(|| format!("{}*", pct(used, Some(limit))))
}

fn sum_containers(pod: &Value, ptr: &str, parse: fn(&str) -> Option<f64>) -> Option<f64> {
    let cs = arr(pod, "/spec/containers");
    let vals: Vec<Option<f64>> = cs.iter().map(|c| parse(s(c, ptr))).collect();
    if vals.is_empty() || vals.iter().any(Option::is_none) {
        None
    } else {
        Some(vals.into_iter().flatten().sum())
    }
}

/// Reports usage; see [`UsageOptions`].
pub async fn resource_usage(t: &Target, o: &UsageOptions) -> Result<String> {
    let catalog = t.catalog().await?;
    if !catalog.iter().any(|r| r.group == "metrics.k8s.io") {
        return Err(K8sError::MetricsUnavailable {
            context: t.context().into(),
            detail: "no metrics.k8s.io group in API discovery".into(),
        });
    }
    let limit = o.limit.unwrap_or(30).max(1);
    let ns = o.namespace.as_deref().filter(|n| !n.is_empty());
    match o.kind {
        UsageKind::Nodes => {
            let m = t
                .list(&kinds::node_metrics(), None, None, None)
                .await
                .map_err(|e| metrics_err(t, e))?;
            let nodes = t.list(&kinds::nodes(), None, None, None).await?;
            let alloc: BTreeMap<&str, &Value> = nodes.items.iter().map(|n| (name(n), n)).collect();
            let mut rows: Vec<(f64, f64, &Value)> = m
                .items
                .iter()
                .map(|x| {
                    (
                        cpu_millis(s(x, "/usage/cpu")).unwrap_or(0.0),
                        mem_bytes(s(x, "/usage/memory")).unwrap_or(0.0),
                        x,
                    )
                })
                .collect();
            sort(&mut rows, o.sort_by);
            let mut tb = Table::new(&["NODE", "CPU", "CPU%", "MEMORY", "MEMORY%"]);
            for (cpu, mem, x) in rows.iter().take(limit) {
                let node = alloc.get(name(x));
                tb.row(vec![
                    name(x).into(),
                    format!("{}m", cpu.round() as i64),
                    pct(
                        *cpu,
                        node.and_then(|n| cpu_millis(s(n, "/status/allocatable/cpu"))),
                    ),
                    fmt_mem(*mem),
                    pct(
                        *mem,
                        node.and_then(|n| mem_bytes(s(n, "/status/allocatable/memory"))),
                    ),
                ]);
            }
            Ok(format!(
                "# node usage (context {}), % of allocatable, sorted by {:?}: {} nodes{}\n{}",
                t.context(),
                o.sort_by,
                rows.len(),
                if rows.len() > limit {
                    format!(", top {limit} shown")
                } else {
                    String::new()
                },
                tb.render("")
            ))
        }
        UsageKind::Pods => {
            let m = t
                .list(&kinds::pod_metrics(), ns, o.label_selector.as_deref(), None)
                .await
                .map_err(|e| metrics_err(t, e))?;
            let pods_ = t
                .list(&kinds::pods(), ns, o.label_selector.as_deref(), None)
                .await?;
            let specs: BTreeMap<(&str, &str), &Value> = pods_
                .items
                .iter()
                .map(|p| ((namespace(p), name(p)), p))
                .collect();
            let mut rows: Vec<(f64, f64, &Value)> = m
                .items
                .iter()
                .map(|x| {
                    let cs = arr(x, "/containers");
                    (
                        cs.iter()
                            .filter_map(|c| cpu_millis(s(c, "/usage/cpu")))
                            .sum(),
                        cs.iter()
                            .filter_map(|c| mem_bytes(s(c, "/usage/memory")))
                            .sum(),
                        x,
                    )
                })
                .collect();
            sort(&mut rows, o.sort_by);
            let mut tb = Table::new(&[
                "NAMESPACE",
                "POD",
                "CPU",
                "CPU/REQ",
                "CPU/LIM",
                "MEMORY",
                "MEM/REQ",
                "MEM/LIM",
            ]);
            let (mut tc, mut tm) = (0.0, 0.0);
            for (cpu, mem, _) in &rows {
                tc += cpu;
                tm += mem;
            }
            let mut starred = false;
            for (cpu, mem, x) in rows.iter().take(limit) {
                let spec = specs.get(&(namespace(x), name(x)));
                let get = |ptr: &str, f: fn(&str) -> Option<f64>| {
                    spec.and_then(|p| sum_containers(p, ptr, f))
                };
                let mut of_limit =
                    |used: f64, ptr: &str, usage_ptr: &str, f: fn(&str) -> Option<f64>| match get(
                        ptr, f,
                    ) {
                        Some(l) => pct(used, Some(l)),
                        None => {
                            match spec.and_then(|p| limited_containers(p, x, ptr, usage_ptr, f)) {
                                Some(cell) => {
                                    starred = true;
                                    cell
                                }
                                None => "-".into(),
                            }
                        }
                    };
                let cpu_lim = of_limit(*cpu, "/resources/limits/cpu", "/usage/cpu", cpu_millis);
                let mem_lim =
                    of_limit(*mem, "/resources/limits/memory", "/usage/memory", mem_bytes);
                tb.row(vec![
                    if ns.is_none() {
                        namespace(x).to_string()
                    } else {
                        String::new()
                    },
                    name(x).into(),
                    format!("{}m", cpu.round() as i64),
                    pct(*cpu, get("/resources/requests/cpu", cpu_millis)),
                    cpu_lim,
                    fmt_mem(*mem),
                    pct(*mem, get("/resources/requests/memory", mem_bytes)),
                    mem_lim,
                ]);
            }
            Ok(format!(
                "# pod usage in {} (context {}), sorted by {:?}: {} pods using {}m CPU, {} memory in total{}\n{}",
                ns.map(|n| format!("namespace {n}"))
                    .unwrap_or("all allowed namespaces".into()),
                t.context(),
                o.sort_by,
                rows.len(),
                tc.round() as i64,
                fmt_mem(tm),
                if rows.len() > limit {
                    format!("; top {limit} shown")
                } else {
                    String::new()
                },
                tb.render(""),
            ) + if starred {
                "* of the containers that set a limit: another container of the pod sets none, so the pod as a whole has no limit\n"
            } else {
                ""
            })
        }
    }
}

fn sort(rows: &mut [(f64, f64, &Value)], by: SortBy) {
    rows.sort_by(|a, b| {
        let (x, y) = match by {
            SortBy::Cpu => (a.0, b.0),
            SortBy::Memory => (a.1, b.1),
        };
        y.total_cmp(&x).then_with(|| name(a.2).cmp(name(b.2)))
    });
}
