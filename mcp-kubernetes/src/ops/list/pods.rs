//! Pods as a table: unhealthy or flapping pods one per line with their reason; past
//! `POD_SUMMARY_THRESHOLD` pods, healthy ones summarised per owning workload. Apart from the
//! other kinds' tables because pods are what a listing is read for and need this care.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::POD_SUMMARY_THRESHOLD;
use super::table::images;
use crate::ops::pods;
use crate::value::{Table, age, clip, name, namespace, s};

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

pub(super) fn render_pods(now: Timestamp, pods_: &[Value], all: bool, with_ns: bool) -> String {
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
