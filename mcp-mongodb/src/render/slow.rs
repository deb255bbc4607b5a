//! `slow_queries`: profiler entries or "Slow query" log lines, grouped by
//! query shape.

use std::collections::HashMap;

use bson::{Bson, Document};

use crate::allow::Allowlist;
use crate::fmt::{clip, millis, num, short, text};
use crate::render::Report;
use crate::shape::command_shape;

/// One slow operation, from either source.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowOp {
    /// `db.collection`.
    pub ns: String,
    /// `find`, `aggregate`, `update`, …
    pub op: String,
    /// The query shape.
    pub shape: String,
    /// Duration in milliseconds.
    pub millis: f64,
    /// Documents examined.
    pub docs_examined: f64,
    /// Index keys examined.
    pub keys_examined: f64,
    /// Documents returned.
    pub returned: f64,
    /// The plan summary (`COLLSCAN`, `IXSCAN { a: 1 }`).
    pub plan: String,
    /// The client application.
    pub app: String,
    /// The error the operation ended with (`64 WriteConcernFailed`), empty when none.
    pub error: String,
}

fn from_fields(entry: &Document, millis_key: &str, fallback_op: &str) -> Option<SlowOp> {
    let command = crate::fmt::sub(entry, "command");
    let (mut op, shape) = command.map(command_shape).unwrap_or_default();
    if op == "getMore" {
        // The shape of a getMore is the shape of the query it continues.
        if let Some(orig) = crate::fmt::sub(entry, "originatingCommand") {
            let (o, s) = command_shape(orig);
            return Some(SlowOp {
                op: format!("{o} getMore"),
                shape: s,
                ..base(entry, millis_key)?
            });
        }
    }
    if op.is_empty() || op == "?" {
        op = fallback_op.to_string();
    }
    Some(SlowOp {
        op,
        shape,
        ..base(entry, millis_key)?
    })
}

fn base(entry: &Document, millis_key: &str) -> Option<SlowOp> {
    Some(SlowOp {
        ns: text(entry, "ns").unwrap_or("").to_string(),
        op: String::new(),
        shape: String::new(),
        millis: num(entry, millis_key)?,
        docs_examined: num(entry, "docsExamined").unwrap_or(0.0),
        keys_examined: num(entry, "keysExamined").unwrap_or(0.0),
        returned: num(entry, "nreturned")
            .or_else(|| num(entry, "nReturned"))
            .unwrap_or(0.0),
        plan: text(entry, "planSummary").unwrap_or("-").to_string(),
        app: text(entry, "appName").unwrap_or("").to_string(),
        error: error_of(entry),
    })
}

/// The profiler's (and the slow-query log's) `errCode`/`errName`: `64 WriteConcernFailed`,
/// `50 MaxTimeMSExpired`; empty when the operation succeeded.
fn error_of(entry: &Document) -> String {
    let code = num(entry, "errCode").filter(|c| *c != 0.0);
    let name = text(entry, "errName").filter(|n| !n.is_empty());
    match (code, name) {
        (Some(c), Some(n)) => format!("{c:.0} {n}"),
        (Some(c), None) => format!("{c:.0}"),
        (None, Some(n)) => n.to_string(),
        (None, None) => String::new(),
    }
}

/// A `system.profile` document.
pub fn from_profile(entry: &Document) -> Option<SlowOp> {
    let op = text(entry, "op").unwrap_or("?").to_string();
    from_fields(entry, "millis", &op)
}

/// A structured log line (MongoDB 4.4+) if it is a "Slow query" entry.
pub fn from_log_line(line: &str) -> Option<SlowOp> {
    // Parsed straight into BSON to keep key order (and Extended JSON types).
    let Ok(Bson::Document(entry)) = serde_json::from_str::<Bson>(line) else {
        return None;
    };
    if text(&entry, "msg") != Some("Slow query") {
        return None;
    }
    let attr = crate::fmt::sub(&entry, "attr")?;
    let op = text(attr, "type").unwrap_or("?").to_string();
    from_fields(attr, "durationMillis", &op)
}

/// The 95th percentile (nearest rank) of sorted values.
fn p95(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((0.95 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Groups slow operations by namespace, operation and shape; the costliest
/// (total time) first. `source` describes where they came from.
pub fn render(ops: Vec<SlowOp>, min_ms: f64, allow: &Allowlist, source: &str) -> Report {
    struct Group {
        key: (String, String, String),
        durations: Vec<f64>,
        docs: f64,
        keys: f64,
        returned: f64,
        plans: HashMap<String, usize>,
        apps: HashMap<String, usize>,
        errors: HashMap<String, usize>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    let mut hidden = 0;
    let mut considered = 0;
    for op in ops {
        if op.millis < min_ms {
            continue;
        }
        if !allow.ns_allowed(&op.ns) {
            hidden += 1;
            continue;
        }
        considered += 1;
        let key = (op.ns.clone(), op.op.clone(), op.shape.clone());
        let at = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(Group {
                key,
                durations: Vec::new(),
                docs: 0.0,
                keys: 0.0,
                returned: 0.0,
                plans: HashMap::new(),
                apps: HashMap::new(),
                errors: HashMap::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[at];
        g.durations.push(op.millis);
        g.docs += op.docs_examined;
        g.keys += op.keys_examined;
        g.returned += op.returned;
        *g.plans.entry(op.plan).or_default() += 1;
        if !op.app.is_empty() {
            *g.apps.entry(op.app).or_default() += 1;
        }
        if !op.error.is_empty() {
            *g.errors.entry(op.error).or_default() += 1;
        }
    }
    for g in &mut groups {
        g.durations.sort_by(f64::total_cmp);
    }
    let total = |g: &Group| g.durations.iter().sum::<f64>();
    groups.sort_by(|a, b| total(b).total_cmp(&total(a)));
    let most = |m: &HashMap<String, usize>| {
        m.iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    // An ERRORS column only when some operation failed: `40× 64 WriteConcernFailed`.
    let any_error = groups.iter().any(|g| !g.errors.is_empty());
    let errors = |g: &Group| {
        let mut e: Vec<(&String, &usize)> = g.errors.iter().collect();
        e.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if e.is_empty() {
            "-".to_string()
        } else {
            e.iter()
                .map(|(k, n)| format!("{n}× {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let plan = most(&g.plans);
            let mut flags = Vec::new();
            if g.plans.keys().any(|p| p.contains("COLLSCAN")) {
                flags.push("COLLSCAN");
            }
            if g.docs >= 1000.0 && g.docs >= 100.0 * g.returned.max(1.0) {
                flags.push("EXAMINED>>RETURNED");
            }
            let mut row = vec![
                g.durations.len().to_string(),
                millis(total(g)),
                millis(p95(&g.durations)),
                millis(g.durations.last().copied().unwrap_or(0.0)),
                format!("{}/{}", short(g.docs), short(g.returned)),
                short(g.keys),
                clip(&plan, 32),
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(",")
                },
            ];
            if any_error {
                row.push(clip(&errors(g), 60));
            }
            row.extend([
                g.key.0.clone(),
                g.key.1.clone(),
                clip(&most(&g.apps), 64),
                g.key.2.clone(),
            ]);
            row
        })
        .collect();
    let mut summary = format!(
        "{} slow operation(s) >= {min_ms}ms in {} shape(s); source: {source}",
        considered,
        rows.len()
    );
    if hidden > 0 {
        summary.push_str(&format!(
            "; {hidden} on namespaces outside the allowlist not shown"
        ));
    }
    if rows.is_empty() {
        return Report::summary(summary);
    }
    let mut head: Vec<&str> = vec![
        "COUNT",
        "TOTAL",
        "P95",
        "MAX",
        "DOCS EXAM/RET",
        "KEYS",
        "PLAN",
        "FLAGS",
    ];
    if any_error {
        head.push("ERRORS");
    }
    head.extend(["NS", "OP", "APP", "SHAPE"]);
    Report::table(&summary, &head, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&v), 95.0);
        assert_eq!(p95(&[7.0]), 7.0);
        assert_eq!(p95(&[1.0, 2.0, 3.0]), 3.0);
    }

    #[test]
    fn log_lines_other_than_slow_queries_are_ignored() {
        assert!(from_log_line(r#"{"msg":"Connection accepted","attr":{}}"#).is_none());
        assert!(from_log_line("not json").is_none());
        let op = from_log_line(
            r#"{"msg":"Slow query","attr":{"type":"command","ns":"a.b","command":{"find":"b","filter":{"x":1}},"durationMillis":120,"planSummary":"COLLSCAN","docsExamined":5000,"nreturned":1}}"#,
        )
        .unwrap();
        assert_eq!(
            (op.op.as_str(), op.shape.as_str(), op.millis),
            ("find", "{x: ?}", 120.0)
        );
    }
}
