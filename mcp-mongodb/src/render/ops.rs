//! `current_ops` and `connections_by_app`, both from `currentOp`.

use std::collections::BTreeMap;

use bson::Document;

use crate::allow::Allowlist;
use crate::fmt::{clip, num, text};
use crate::render::Report;
use crate::shape::command_shape;

/// Seconds an operation has been running.
fn seconds(op: &Document) -> f64 {
    num(op, "microsecs_running")
        .map(|us| us / 1e6)
        .or_else(|| num(op, "secs_running"))
        .unwrap_or(0.0)
}

/// What an operation is waiting for, when it says: a lock (`waitingForLock`), its write
/// concern (`msg: "waiting for write concern"`, as a `w: majority` insert shows while
/// secondaries lag), or flow control (`waitingForFlowControl`, the primary throttling
/// writes because the majority commit point lags). `-` when running.
fn wait_of(op: &Document) -> &'static str {
    if op.get_bool("waitingForLock").unwrap_or(false) {
        "lock"
    } else if op.get_bool("waitingForFlowControl").unwrap_or(false) {
        "flow-control"
    } else if text(op, "msg").is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("write concern") || m.contains("waiting for replication")
    }) {
        "write-concern"
    } else {
        "-"
    }
}

/// Long-running operations, longest first.
pub fn current_ops(ops: &[Document], min_seconds: f64, allow: &Allowlist) -> Report {
    let active: Vec<&Document> = ops
        .iter()
        .filter(|o| o.get_bool("active").unwrap_or(true))
        .collect();
    let mut hidden = 0;
    let mut slow: Vec<&Document> = Vec::new();
    for op in &active {
        if seconds(op) < min_seconds {
            continue;
        }
        if !allow.ns_allowed(text(op, "ns").unwrap_or("")) {
            hidden += 1;
            continue;
        }
        slow.push(op);
    }
    slow.sort_by(|a, b| seconds(b).total_cmp(&seconds(a)));
    let waits = |what: &str| slow.iter().filter(|o| wait_of(o) == what).count();
    let waiting = waits("lock");
    let (write_concern, flow_control) = (waits("write-concern"), waits("flow-control"));
    let collscans = slow
        .iter()
        .filter(|o| text(o, "planSummary").is_some_and(|p| p.contains("COLLSCAN")))
        .count();
    let rows: Vec<Vec<String>> = slow
        .iter()
        .map(|op| {
            let command = crate::fmt::sub(op, "originatingCommand")
                .filter(|_| text(op, "op") == Some("getmore"))
                .or_else(|| crate::fmt::sub(op, "command"));
            let (name, shape) = command.map(command_shape).unwrap_or_default();
            let plan = text(op, "planSummary").unwrap_or("-");
            vec![
                format!("{:.1}s", seconds(op)),
                if name.is_empty() {
                    text(op, "op").unwrap_or("?").to_string()
                } else {
                    name
                },
                text(op, "ns")
                    .filter(|s| !s.is_empty())
                    .unwrap_or("-")
                    .to_string(),
                clip(plan, 40),
                wait_of(op).to_string(),
                // Whole: the client is who to call (`backfill-listing-embeddings` vs `…-embedd…`).
                clip(text(op, "appName").unwrap_or("-"), 64),
                text(op, "client").unwrap_or("-").to_string(),
                op.get("opid").map(|v| v.to_string()).unwrap_or_default(),
                shape,
            ]
        })
        .collect();
    let mut summary = format!(
        "{} operation(s) running >= {min_seconds}s (of {} active); {waiting} waiting for a lock; {collscans} COLLSCAN",
        rows.len(),
        active.len()
    );
    if write_concern > 0 {
        summary.push_str(&format!("; {write_concern} waiting for write concern"));
    }
    if flow_control > 0 {
        summary.push_str(&format!("; {flow_control} held by flow control"));
    }
    if hidden > 0 {
        summary.push_str(&format!(
            "; {hidden} on namespaces outside the allowlist not shown"
        ));
    }
    if rows.is_empty() {
        return Report::summary(summary);
    }
    Report::table(
        &summary,
        &[
            "RUNNING", "OP", "NS", "PLAN", "WAIT", "APP", "CLIENT", "OPID", "SHAPE",
        ],
        &rows,
    )
}

/// Connections grouped by client application, most first.
pub fn connections_by_app(ops: &[Document]) -> Report {
    #[derive(Default)]
    struct App {
        conns: usize,
        active: usize,
        hosts: BTreeMap<String, usize>,
        longest: f64,
    }
    let mut apps: BTreeMap<String, App> = BTreeMap::new();
    let mut total = 0;
    for op in ops {
        // Internal threads have no client address.
        let Some(client) = text(op, "client").or_else(|| text(op, "client_s")) else {
            continue;
        };
        total += 1;
        let host = client
            .rsplit_once(':')
            .map_or(client, |(h, _)| h)
            .to_string();
        let name = text(op, "appName")
            .filter(|s| !s.is_empty())
            .unwrap_or("(no appName)")
            .to_string();
        let app = apps.entry(name).or_default();
        app.conns += 1;
        if op.get_bool("active").unwrap_or(false) {
            app.active += 1;
            app.longest = app.longest.max(seconds(op));
        }
        *app.hosts.entry(host).or_default() += 1;
    }
    let mut sorted: Vec<(String, App)> = apps.into_iter().collect();
    sorted.sort_by(|a, b| b.1.conns.cmp(&a.1.conns).then(a.0.cmp(&b.0)));
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|(name, app)| {
            let top = app
                .hosts
                .iter()
                .max_by_key(|(h, n)| (**n, std::cmp::Reverse((*h).clone())))
                .map(|(h, n)| format!("{h} ({n})"))
                .unwrap_or_default();
            vec![
                clip(name, 40),
                app.conns.to_string(),
                app.active.to_string(),
                if app.active > 0 {
                    format!("{:.1}s", app.longest)
                } else {
                    "-".into()
                },
                app.hosts.len().to_string(),
                top,
            ]
        })
        .collect();
    let summary = format!(
        "{total} client connection(s) from {} application(s)",
        rows.len()
    );
    if rows.is_empty() {
        return Report::summary(summary);
    }
    Report::table(
        &summary,
        &["APP", "CONNS", "ACTIVE", "LONGEST", "HOSTS", "TOP HOST"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::current_ops;
    use crate::allow::Allowlist;

    /// Inserts waiting for `w: majority` while the secondaries lag, and one held by flow
    /// control, say so; they looked merely slow ("LOCK -").
    #[test]
    fn operations_say_what_they_wait_for() {
        let op = |id: i32, secs: i64, extra: bson::Document| {
            let mut d = doc! {"opid": id, "active": true, "op": "insert", "ns": "fit.activities",
            "microsecs_running": secs * 1_000_000, "appName": "activity-sync",
            "command": {"insert": "activities", "writeConcern": {"w": "majority", "wtimeout": 5000}}};
            d.extend(extra);
            d
        };
        let ops = vec![
            op(1, 4, doc! {"msg": "waiting for write concern"}),
            op(2, 3, doc! {"waitingForFlowControl": true}),
            op(3, 2, doc! {"waitingForLock": true}),
            op(4, 2, doc! {}),
        ];
        let r = current_ops(&ops, 1.0, &Allowlist::default());
        assert!(
            r.header.starts_with(
                "4 operation(s) running >= 1s (of 4 active); 1 waiting for a lock; 0 COLLSCAN; \
                 1 waiting for write concern; 1 held by flow control"
            ),
            "{}",
            r.header
        );
        let wait: Vec<&str> = r
            .lines
            .iter()
            .map(|l| l.split_whitespace().nth(4).unwrap_or(""))
            .collect();
        assert_eq!(
            wait,
            ["write-concern", "flow-control", "lock", "-"],
            "{:?}",
            r.lines
        );
    }
}
