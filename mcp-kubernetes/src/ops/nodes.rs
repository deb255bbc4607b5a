//! `nodes`: every node (or one) with its conditions, taints, what its pods request against
//! what it can allocate, and the pods it hosts from every namespace — unhealthy ones by name,
//! the rest counted per namespace and owner. It answers "what else runs where this service
//! runs" (a noisy neighbour, a node under pressure evicting pods, a taint keeping pods away)
//! in one call, without a per-namespace walk.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::error::Result;
use crate::ops::pods;
use crate::target::{Target, kinds};
use crate::value::{
    Table, age, ago, arr, clip, cond, cpu_millis, mem_bytes, name, namespace, s, ts,
};

/// Options of [`nodes`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct NodesOptions {
    /// One node by name; every node when absent.
    pub name: Option<String>,
    /// Label selector over nodes, e.g. `node-role.kubernetes.io/worker` or `pool=spot`.
    pub label_selector: Option<String>,
    /// Only nodes with a problem: not Ready, a pressure condition, cordoned, a NoExecute or
    /// NoSchedule taint, or an unhealthy pod on them.
    #[serde(default)]
    pub problems_only: bool,
    /// Most pods named per node (unhealthy first; default 10).
    pub pods_per_node: Option<usize>,
}

struct NodeView<'a> {
    node: &'a Value,
    pods: Vec<&'a Value>,
}

/// `Ready` or `NotReady`, with `,SchedulingDisabled` when cordoned: the
/// STATUS column kubectl shows, in `nodes` and in `list` of nodes.
pub(crate) fn node_status(node: &Value) -> String {
    let ready = cond(node, "Ready")
        .map(|c| s(c, "/status"))
        .unwrap_or("Unknown");
    let mut status = if ready == "True" {
        "Ready".to_string()
    } else {
        "NotReady".to_string()
    };
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Conditions that are not in their healthy state (Ready=True, the rest False).
fn bad_conditions(now: Timestamp, n: &Value) -> Vec<String> {
    arr(n, "/status/conditions")
        .iter()
        .filter(|c| {
            let healthy = if s(c, "/type") == "Ready" {
                "True"
            } else {
                "False"
            };
            s(c, "/status") != healthy
        })
        .map(|c| {
            format!(
                "{}={} {} (since {}): {}",
                s(c, "/type"),
                s(c, "/status"),
                s(c, "/reason"),
                ago(now, ts(c, "/lastTransitionTime")),
                clip(s(c, "/message"), 140)
            )
        })
        .collect()
}

fn taints(n: &Value) -> Vec<String> {
    arr(n, "/spec/taints")
        .iter()
        .map(|t| {
            let value = crate::value::opt_s(t, "/value")
                .map(|v| format!("={v}"))
                .unwrap_or_default();
            format!("{}{value}:{}", s(t, "/key"), s(t, "/effect"))
        })
        .collect()
}

/// Sum of container requests of running (not finished) pods: (cpu millicores, memory bytes).
fn requested(ps: &[&Value]) -> (f64, f64) {
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for p in ps {
        if matches!(s(p, "/status/phase"), "Succeeded" | "Failed") {
            continue;
        }
        for c in arr(p, "/spec/containers") {
            cpu += cpu_millis(s(c, "/resources/requests/cpu")).unwrap_or(0.0);
            mem += mem_bytes(s(c, "/resources/requests/memory")).unwrap_or(0.0);
        }
    }
    (cpu, mem)
}

fn pct(used: f64, of: Option<f64>) -> String {
    match of {
        Some(total) if total > 0.0 => format!("{:.0}%", used * 100.0 / total),
        _ => "-".into(),
    }
}

/// Lists nodes with their pods; see [`NodesOptions`].
pub async fn nodes(t: &Target, o: &NodesOptions) -> Result<String> {
    let now = t.now();
    let only = o.name.as_deref().filter(|n| !n.is_empty());
    let node_list = match only {
        Some(n) => vec![t.get(&kinds::nodes(), None, n).await?],
        None => {
            t.list(&kinds::nodes(), None, o.label_selector.as_deref(), None)
                .await?
                .items
        }
    };
    // Pods from every namespace the policy allows: one list, grouped by node.
    let pod_field = only.map(|n| format!("spec.nodeName={n}"));
    let (pod_list, pods_note) = match t
        .list(&kinds::pods(), None, None, pod_field.as_deref())
        .await
    {
        Ok(l) => {
            let note = (l.filtered_namespaces > 0).then(|| {
                format!(
                    "# pods in {} namespace(s) hidden by this server's namespace policy\n",
                    l.filtered_namespaces
                )
            });
            (l.items, note)
        }
        Err(e) => (Vec::new(), Some(format!("# pods not readable: {e}\n"))),
    };
    let mut by_node: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for p in &pod_list {
        by_node.entry(s(p, "/spec/nodeName")).or_default().push(p);
    }
    let mut views: Vec<NodeView> = node_list
        .iter()
        .map(|n| NodeView {
            node: n,
            pods: by_node.remove(name(n)).unwrap_or_default(),
        })
        .collect();
    let node_problem = |v: &NodeView| {
        !bad_conditions(now, v.node).is_empty()
            || v.node
                .pointer("/spec/unschedulable")
                .and_then(Value::as_bool)
                == Some(true)
            || arr(v.node, "/spec/taints")
                .iter()
                .any(|t| matches!(s(t, "/effect"), "NoExecute" | "NoSchedule"))
            || v.pods.iter().any(|p| !pods::is_healthy(p, now))
    };
    let total = views.len();
    if o.problems_only {
        views.retain(node_problem);
    }
    let mut out = format!(
        "# {} of {total} nodes (context {}){}; pods from every readable namespace\n",
        views.len(),
        t.context(),
        if o.problems_only {
            " with a problem"
        } else {
            ""
        },
    );
    out.push_str(pods_note.as_deref().unwrap_or(""));
    if views.is_empty() {
        out.push_str(if o.problems_only {
            "no node has a problem (all Ready, no pressure, cordon or NoSchedule/NoExecute taint, no unhealthy pod)\n"
        } else {
            "no nodes\n"
        });
        return Ok(out);
    }
    let mut table = Table::new(&[
        "NODE",
        "STATUS",
        "AGE",
        "PODS",
        "UNHEALTHY",
        "CPU-REQ",
        "MEM-REQ",
        "TAINTS",
    ]);
    for v in &views {
        let n = v.node;
        let (cpu, mem) = requested(&v.pods);
        let unhealthy = v.pods.iter().filter(|p| !pods::is_healthy(p, now)).count();
        table.row(vec![
            name(n).to_string(),
            node_status(n),
            age(now, crate::value::created(n)),
            v.pods.len().to_string(),
            unhealthy.to_string(),
            pct(cpu, cpu_millis(s(n, "/status/allocatable/cpu"))),
            pct(mem, mem_bytes(s(n, "/status/allocatable/memory"))),
            clip(&taints(n).join(","), 60),
        ]);
    }
    out.push_str(&table.render(""));
    let per_node = o.pods_per_node.unwrap_or(10);
    for v in &views {
        out.push_str(&node_detail(now, v, per_node));
    }
    if !by_node.is_empty() {
        let elsewhere: usize = by_node
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|(_, ps)| ps.len())
            .sum();
        let pending = by_node.get("").map(Vec::len).unwrap_or(0);
        if only.is_none() && (elsewhere > 0 || pending > 0) {
            out.push_str(&format!(
                "# {pending} pods not scheduled on any node{}\n",
                if elsewhere > 0 {
                    format!(", {elsewhere} on nodes not shown")
                } else {
                    String::new()
                }
            ));
        }
    }
    Ok(out)
}

fn node_detail(now: Timestamp, v: &NodeView, per_node: usize) -> String {
    let n = v.node;
    let mut out = format!("\n{}:\n", name(n));
    for c in bad_conditions(now, n) {
        out.push_str(&format!("  condition {c}\n"));
    }
    let ts_ = taints(n);
    if !ts_.is_empty() {
        out.push_str(&format!("  taints: {}\n", ts_.join(", ")));
    }
    let (cpu, mem) = requested(&v.pods);
    out.push_str(&format!(
        "  requests: cpu {:.0}m of {} allocatable · memory {} of {}\n",
        cpu,
        s(n, "/status/allocatable/cpu"),
        crate::value::fmt_mem(mem),
        mem_bytes(s(n, "/status/allocatable/memory"))
            .map(crate::value::fmt_mem)
            .unwrap_or_default()
    ));
    let mut owners: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut namespaces: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unhealthy: Vec<String> = Vec::new();
    for p in &v.pods {
        *namespaces.entry(namespace(p)).or_default() += 1;
        let (k, w) = pods::workload(p);
        *owners
            .entry((namespace(p).to_string(), format!("{k}/{w}")))
            .or_default() += 1;
        if !pods::is_healthy(p, now) {
            let note = pods::note(p, now);
            let (r, tot) = pods::ready(p);
            // On a node that stopped reporting, the containers' statuses are the last the
            // kubelet sent ("1/1 ready" on a dead node); the node controller marks the
            // pod itself not Ready, and that is what Services and controllers go by.
            let pod_not_ready = cond(p, "Ready").is_some_and(|c| s(c, "/status") == "False");
            let ready = if pod_not_ready && r > 0 {
                format!("{r}/{tot} ready at the kubelet's last report, pod Ready=False")
            } else {
                format!("{r}/{tot} ready")
            };
            unhealthy.push(format!(
                "{}/{} {} {ready}{}",
                namespace(p),
                name(p),
                pods::status(p),
                if note.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", clip(&note, 100))
                }
            ));
        }
    }
    out.push_str(&format!(
        "  pods: {} ({})\n",
        v.pods.len(),
        namespaces
            .iter()
            .map(|(ns, c)| format!("{ns} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let shown = unhealthy.len().min(per_node);
    for u in &unhealthy[..shown] {
        out.push_str(&format!("  unhealthy {u}\n"));
    }
    if unhealthy.len() > shown {
        out.push_str(&format!(
            "  … {} more unhealthy pods (list kind=pods node={})\n",
            unhealthy.len() - shown,
            name(n)
        ));
    }
    let mut top: Vec<(&(String, String), &usize)> = owners.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let room = per_node.saturating_sub(shown).max(3);
    let listed: Vec<String> = top
        .iter()
        .take(room)
        .map(|((ns, w), c)| format!("{ns}/{w} {c}"))
        .collect();
    if !listed.is_empty() {
        out.push_str(&format!(
            "  owners: {}{}\n",
            listed.join(", "),
            if top.len() > room {
                format!(", … {} more", top.len() - room)
            } else {
                String::new()
            }
        ));
    }
    out
}
