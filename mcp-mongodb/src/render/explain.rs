//! `explain`: the winning plan in brief and the index that would help.

use bson::{Bson, Document};

use crate::fmt::{count, count_or_na, get, num, sub, text};
use crate::shape::{key_pattern, suggest_index};

/// Finds the query planner section and the execution stats of an explain
/// reply: top-level (find, or a pipeline pushed down whole), or inside the
/// first `$cursor` stage of an aggregate, or the first shard.
fn sections(reply: &Document) -> (Option<&Document>, Option<&Document>) {
    if let Some(qp) = sub(reply, "queryPlanner") {
        return (Some(qp), sub(reply, "executionStats"));
    }
    if let Some(Bson::Array(stages)) = reply.get("stages")
        && let Some(cursor) = stages
            .first()
            .and_then(Bson::as_document)
            .and_then(|s| sub(s, "$cursor"))
    {
        return (sub(cursor, "queryPlanner"), sub(cursor, "executionStats"));
    }
    if let Some(shards) = sub(reply, "shards")
        && let Some((_, Bson::Document(first))) = shards.iter().next()
    {
        return sections(first);
    }
    (None, None)
}

/// A plan tree as a chain: `FETCH > IXSCAN status_1 { status: 1 }`.
fn chain(stage: &Document, out: &mut Vec<String>) {
    let name = text(stage, "stage").unwrap_or("?");
    let mut label = name.to_string();
    if let Some(index) = text(stage, "indexName") {
        label.push(' ');
        label.push_str(index);
        if let Some(keys) = sub(stage, "keyPattern") {
            label.push(' ');
            label.push_str(&key_pattern(keys));
        }
    }
    out.push(label);
    if let Some(input) = sub(stage, "inputStage") {
        chain(input, out);
    } else if let Some(Bson::Array(inputs)) = stage.get("inputStages") {
        let branches: Vec<String> = inputs
            .iter()
            .filter_map(Bson::as_document)
            .map(|s| {
                let mut b = Vec::new();
                chain(s, &mut b);
                b.join(" > ")
            })
            .collect();
        out.push(format!("({})", branches.join(" | ")));
    }
}

/// The request being explained, for the header and the index suggestion.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `find` or `aggregate`.
    pub op: &'a str,
    /// `db.collection`.
    pub ns: String,
    /// The query shape.
    pub shape: String,
    /// The filter (a find's, or an aggregate's first `$match`).
    pub filter: Document,
    /// The sort, if any.
    pub sort: Option<Document>,
}

/// Renders an explain reply.
pub fn render(reply: &Document, request: &Request<'_>) -> String {
    let mut lines = vec![format!(
        "explain {} {} {}",
        request.op, request.ns, request.shape
    )];
    let (planner, stats) = sections(reply);
    let winning = planner.and_then(|p| p.get("winningPlan"));
    let mut stages = Vec::new();
    match winning {
        Some(Bson::Document(plan)) => {
            // Slot-based engine (7.0+) nests the classic tree in `queryPlan`.
            let plan = sub(plan, "queryPlan").unwrap_or(plan);
            chain(plan, &mut stages);
            lines.push(format!("plan        {}", stages.join(" > ")));
        }
        Some(Bson::Array(details)) => {
            let parts: Vec<String> = details
                .iter()
                .filter_map(Bson::as_document)
                .filter_map(|d| text(d, "detail").map(str::to_string))
                .collect();
            lines.push(format!(
                "plan        (not in MongoDB's format; this server reports) {}",
                parts.join("; ")
            ));
        }
        _ => lines.push(format!(
            "plan        n/a (no queryPlanner.winningPlan in the reply; keys: {})",
            reply.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
    let collscan = stages.iter().any(|s| s.starts_with("COLLSCAN"));
    let in_memory_sort = stages.iter().any(|s| s == "SORT");

    let docs = stats.and_then(|s| num(s, "totalDocsExamined"));
    let keys = stats.and_then(|s| num(s, "totalKeysExamined"));
    let returned = stats.and_then(|s| num(s, "nReturned"));
    match stats {
        Some(s) => {
            let ratio = match (docs, returned) {
                (Some(d), Some(r)) if d > 0.0 => {
                    format!(
                        "  ({} docs examined per document returned)",
                        count(d / r.max(1.0))
                    )
                }
                _ => String::new(),
            };
            lines.push(format!(
                "examined    keys {}, docs {}; returned {} in {}ms{ratio}",
                count_or_na(keys),
                count_or_na(docs),
                count_or_na(returned),
                count_or_na(num(s, "executionTimeMillis")),
            ));
        }
        None => lines.push(
            "examined    n/a (plan only; call with execute=true for keys/docs examined)".into(),
        ),
    }
    if let Some(Bson::Array(rejected)) = planner.and_then(|p| get(p, "rejectedPlans"))
        && !rejected.is_empty()
    {
        lines.push(format!("rejected    {} other plan(s)", rejected.len()));
    }

    let mut flags = Vec::new();
    if collscan {
        flags.push("COLLSCAN: reads every document of the collection");
    }
    if in_memory_sort {
        flags.push("SORT: sorts in memory (no index gives the order)");
    }
    let wasteful = match (docs.or(keys), returned) {
        (Some(e), Some(r)) => e >= 100.0 && e >= 10.0 * r.max(1.0),
        _ => false,
    };
    if wasteful && !collscan {
        flags.push("EXAMINED>>RETURNED: the index used is not selective for this query");
    }
    for f in &flags {
        lines.push(format!("flag        {f}"));
    }
    if collscan || in_memory_sort || wasteful {
        match suggest_index(&request.filter, request.sort.as_ref()) {
            Some(index) => {
                let pattern = key_pattern(&index);
                let coll = request
                    .ns
                    .split_once('.')
                    .map_or(request.ns.as_str(), |(_, c)| c);
                lines.push(format!(
                    "suggest     index {pattern} (equality fields, then sort, then range)"
                ));
                lines.push(format!(
                    "            db.getCollection({coll:?}).createIndex({pattern})  (build it on a quiet replica first if the collection is large)"
                ));
            }
            None => lines.push(
                "suggest     no single-index suggestion (filter has no plain fields: $or/$expr/$text need their own indexes)"
                    .into(),
            ),
        }
    } else if !stages.is_empty() {
        lines.push("verdict     the plan uses an index efficiently".into());
    }
    lines.join("\n")
}
