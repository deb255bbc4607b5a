//! Query shapes, refused operators and index suggestions.
//!
//! A **query shape** is a query with its literal values replaced by `?`:
//! `{status: "open", total: {$gt: 100}}` becomes `{status: ?, total: {$gt: ?}}`.
//! Shapes group the thousand variants of one slow query into one line, and
//! they keep customer data (the literals) out of what the tools print.
//! Field paths (`"$customer"`) and sort directions are structure, not data,
//! and are kept.

use bson::{Bson, Document};

use crate::error::Error;

/// Stages and operators that write or run server-side code.
pub const FORBIDDEN: &[(&str, &str)] = &[
    ("$out", "writes the results to a collection"),
    ("$merge", "writes the results to a collection"),
    ("$where", "runs JavaScript on the server"),
    ("$function", "runs JavaScript on the server"),
    ("$accumulator", "runs JavaScript on the server"),
    (
        "$changeStream",
        "opens a change stream: a cursor that never ends and reads every later write, past the document limit",
    ),
];

/// Command names recognised in a command document.
const COMMANDS: &[&str] = &[
    "find",
    "aggregate",
    "count",
    "distinct",
    "findAndModify",
    "findandmodify",
    "update",
    "delete",
    "insert",
    "getMore",
];

/// Longest shape printed, in characters.
const MAX_SHAPE: usize = 160;

/// The shape of any value: literals become `?`.
pub fn shape(value: &Bson) -> String {
    let mut out = String::new();
    write_shape(value, &mut out, false);
    crate::fmt::clip(&out, MAX_SHAPE)
}

/// The shape of a document.
pub fn shape_doc(doc: &Document) -> String {
    shape(&Bson::Document(doc.clone()))
}

fn write_shape(value: &Bson, out: &mut String, keep_numbers: bool) {
    match value {
        Bson::Document(doc) => {
            out.push('{');
            for (i, (key, value)) in doc.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push_str(": ");
                // `$sort` directions and `$project` inclusions are structure.
                let keep = matches!(key.as_str(), "$sort" | "$project" | "sort" | "$meta");
                write_shape(value, out, keep || keep_numbers);
            }
            out.push('}');
        }
        Bson::Array(items) => {
            if items.iter().all(|i| !matches!(i, Bson::Document(_))) {
                out.push_str("[?]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_shape(item, out, keep_numbers);
            }
            out.push(']');
        }
        Bson::String(s) if s.starts_with('$') => out.push_str(s),
        Bson::Int32(i) if keep_numbers => out.push_str(&i.to_string()),
        Bson::Int64(i) if keep_numbers => out.push_str(&i.to_string()),
        Bson::Double(f) if keep_numbers => out.push_str(&f.to_string()),
        Bson::Boolean(b) if keep_numbers => out.push_str(&b.to_string()),
        _ => out.push('?'),
    }
}

/// The operation and shape of a command as the profiler, the log and
/// `currentOp` report it (`find`, `aggregate`, `update`, …).
pub fn command_shape(command: &Document) -> (String, String) {
    // The command name is the first key on the wire, but a reply that went
    // through a JSON object may have its keys reordered: look for it.
    let name = COMMANDS
        .iter()
        .find(|c| command.contains_key(**c))
        .copied()
        .or_else(|| {
            command
                .keys()
                .next()
                .map(String::as_str)
                .filter(|k| !k.starts_with('$'))
        })
        .unwrap_or("?");
    let field = |k: &str| command.get(k);
    let shape = match name {
        "find" => {
            let mut s = field("filter").map(shape).unwrap_or_else(|| "{}".into());
            if let Some(sort @ Bson::Document(_)) = field("sort") {
                // Sort directions are structure: kept.
                let mut out = String::new();
                write_shape(sort, &mut out, true);
                s.push_str(" sort ");
                s.push_str(&crate::fmt::clip(&out, 60));
            }
            s
        }
        "aggregate" => field("pipeline").map(shape).unwrap_or_default(),
        "count" => field("query").map(shape).unwrap_or_else(|| "{}".into()),
        "distinct" => format!(
            "{} {}",
            field("key").and_then(Bson::as_str).unwrap_or("?"),
            field("query").map(shape).unwrap_or_else(|| "{}".into())
        ),
        "findAndModify" | "findandmodify" => {
            field("query").map(shape).unwrap_or_else(|| "{}".into())
        }
        "update" | "delete" => match field("updates").or_else(|| field("deletes")) {
            Some(Bson::Array(items)) => items
                .first()
                .and_then(Bson::as_document)
                .and_then(|d| d.get("q"))
                .map(shape)
                .unwrap_or_default(),
            _ => String::new(),
        },
        "getMore" => {
            return ("getMore".into(), String::new());
        }
        // A profiler/log entry of an update or delete carries {q, u}.
        _ if command.contains_key("q") => {
            let op = if command.contains_key("u") {
                "update"
            } else {
                "delete"
            };
            return (op.into(), field("q").map(shape).unwrap_or_default());
        }
        _ => String::new(),
    };
    (name.to_string(), shape)
}

/// Refuses any stage or operator in [`FORBIDDEN`] anywhere in `value`;
/// `root` names the argument (`filter`, `pipeline`).
pub fn check_forbidden(value: &serde_json::Value, root: &str) -> Result<(), Error> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Result<(), Error> {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    if let Some((op, why)) = FORBIDDEN.iter().find(|(op, _)| op == key) {
                        return Err(Error::Forbidden {
                            operator: (*op).to_string(),
                            path: path.clone(),
                            why,
                        });
                    }
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    walk(inner, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(inner, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let mut path = root.to_string();
    walk(value, &mut path)
}

/// A collection a pipeline reads besides its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The stage: `$lookup`, `$graphLookup` or `$unionWith`.
    pub stage: &'static str,
    /// Where in the argument, e.g. `pipeline[1].$lookup.from`.
    pub path: String,
    /// Its database, when the stage names one (`{db, coll}`); otherwise
    /// the pipeline's own.
    pub db: Option<String>,
    /// The collection.
    pub coll: String,
}

/// Collections a pipeline reads besides its own (`$lookup.from`,
/// `$graphLookup.from`, `$unionWith`), searched recursively, with the
/// database when a stage names another one (`$lookup: {from: {db, coll}}`,
/// `$unionWith: {db, coll}`). A reference whose shape cannot be read
/// (`from: 5`, `{db}` without `coll`) is refused rather than passed on.
/// `root` names the argument (`pipeline`).
pub fn referenced_namespaces(
    value: &serde_json::Value,
    root: &str,
) -> Result<Vec<Reference>, Error> {
    use serde_json::Value;
    fn bad(stage: &str, path: &str, what: &str) -> Error {
        Error::BadArgument(format!(
            "refused: `{stage}` at {path} {what}; name the collection with a string, or another \
             database's with {{\"db\": \"…\", \"coll\": \"…\"}}"
        ))
    }
    /// A `{db, coll}` object: both strings; `db` may be absent when
    /// `coll_required` is false only if `coll` is absent too (a `$unionWith`
    /// over `$documents`).
    fn db_coll(
        stage: &'static str,
        path: &str,
        spec: &serde_json::Map<String, Value>,
        out: &mut Vec<Reference>,
    ) -> Result<(), Error> {
        let db = match spec.get("db") {
            None => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return Err(bad(stage, path, "has a `db` that is not a string")),
        };
        match spec.get("coll") {
            Some(Value::String(c)) => {
                out.push(Reference {
                    stage,
                    path: path.to_string(),
                    db,
                    coll: c.clone(),
                });
                Ok(())
            }
            Some(_) => Err(bad(stage, path, "has a `coll` that is not a string")),
            None if db.is_some() => Err(bad(stage, path, "names a `db` without a `coll`")),
            None => Ok(()),
        }
    }
    fn walk(value: &Value, path: &mut String, out: &mut Vec<Reference>) -> Result<(), Error> {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    match (key.as_str(), inner) {
                        (stage @ ("$lookup" | "$graphLookup"), Value::Object(spec)) => {
                            let stage = if stage == "$lookup" {
                                "$lookup"
                            } else {
                                "$graphLookup"
                            };
                            let from = format!("{path}.from");
                            match spec.get("from") {
                                None => {}
                                Some(Value::String(c)) => out.push(Reference {
                                    stage,
                                    path: from,
                                    db: None,
                                    coll: c.clone(),
                                }),
                                Some(Value::Object(f)) => {
                                    if !matches!(f.get("coll"), Some(Value::String(_))) {
                                        return Err(bad(
                                            stage,
                                            &from,
                                            "has a `from` object without a string `coll`",
                                        ));
                                    }
                                    db_coll(stage, &from, f, out)?;
                                }
                                Some(_) => {
                                    return Err(bad(
                                        stage,
                                        &from,
                                        "has a `from` that is neither a string nor {db, coll}",
                                    ));
                                }
                            }
                        }
                        ("$unionWith", Value::String(c)) => out.push(Reference {
                            stage: "$unionWith",
                            path: path.clone(),
                            db: None,
                            coll: c.clone(),
                        }),
                        ("$unionWith", Value::Object(spec)) => {
                            db_coll("$unionWith", path, spec, out)?;
                        }
                        ("$unionWith", _) => {
                            return Err(bad(
                                "$unionWith",
                                path,
                                "is neither a collection name nor {coll, pipeline}",
                            ));
                        }
                        _ => {}
                    }
                    walk(inner, path, out)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(inner, path, out)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let mut out = Vec::new();
    let mut path = root.to_string();
    walk(value, &mut path, &mut out)?;
    Ok(out)
}

/// How a field is used in a query, for the ESR (equality, sort, range) rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Equality,
    Range,
}

fn field_uses(filter: &Document, out: &mut Vec<(String, Use)>) {
    for (key, value) in filter {
        if key == "$and" {
            if let Bson::Array(items) = value {
                for item in items.iter().filter_map(Bson::as_document) {
                    field_uses(item, out);
                }
            }
            continue;
        }
        if key.starts_with('$') {
            // $or/$nor/$expr/$text: no single index prefix to suggest.
            continue;
        }
        let kind = match value {
            Bson::Document(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                if ops.keys().all(|k| k == "$eq" || k == "$in") {
                    Use::Equality
                } else {
                    Use::Range
                }
            }
            _ => Use::Equality,
        };
        if !out.iter().any(|(f, _)| f == key) {
            out.push((key.clone(), kind));
        }
    }
}

/// The index the ESR rule suggests for a filter and sort: equality fields
/// first, then the sort fields in order, then range fields. `None` when the
/// query has no indexable field.
pub fn suggest_index(filter: &Document, sort: Option<&Document>) -> Option<Document> {
    let mut uses = Vec::new();
    field_uses(filter, &mut uses);
    let mut index = Document::new();
    for (field, _) in uses.iter().filter(|(_, u)| *u == Use::Equality) {
        index.insert(field.clone(), 1);
    }
    if let Some(sort) = sort {
        for (field, dir) in sort {
            if index.contains_key(field) {
                continue;
            }
            let dir = crate::fmt::as_f64(dir).map_or(1, |d| if d < 0.0 { -1 } else { 1 });
            index.insert(field.clone(), dir);
        }
    }
    for (field, _) in uses.iter().filter(|(_, u)| *u == Use::Range) {
        if !index.contains_key(field) {
            index.insert(field.clone(), 1);
        }
    }
    (!index.is_empty() && index.keys().any(|k| k != "_id")).then_some(index)
}

/// An index key pattern as MongoDB prints it: `{ status: 1, createdAt: -1 }`.
pub fn key_pattern(keys: &Document) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Bson::String(s) => format!("{s:?}"),
                other => crate::fmt::as_f64(other)
                    .map(|f| format!("{f}"))
                    .unwrap_or_else(|| other.to_string()),
            };
            format!("{k}: {v}")
        })
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use serde_json::json;

    #[test]
    fn literals_become_placeholders() {
        let q = doc! {"status": "open", "total": {"$gt": 100}, "tags": {"$in": ["a", "b"]}};
        assert_eq!(
            shape_doc(&q),
            "{status: ?, total: {$gt: ?}, tags: {$in: [?]}}"
        );
        let s = shape_doc(&doc! {"customerId": "alice@example.com"});
        assert!(!s.contains("alice"), "{s}");
    }

    #[test]
    fn pipelines_keep_structure() {
        let p = Bson::Array(vec![
            Bson::Document(doc! {"$match": {"status": "open"}}),
            Bson::Document(doc! {"$group": {"_id": "$customer", "n": {"$sum": 1}}}),
            Bson::Document(doc! {"$sort": {"n": -1}}),
        ]);
        assert_eq!(
            shape(&p),
            "[{$match: {status: ?}}, {$group: {_id: $customer, n: {$sum: ?}}}, {$sort: {n: -1}}]"
        );
    }

    #[test]
    fn command_shapes() {
        let (op, s) =
            command_shape(&doc! {"find": "orders", "filter": {"a": 1}, "sort": {"b": -1}});
        assert_eq!(op, "find");
        assert_eq!(s, "{a: ?} sort {b: -1}");
        let (op, s) = command_shape(&doc! {"q": {"x": 5}, "u": {"$set": {"y": 1}}});
        assert_eq!((op.as_str(), s.as_str()), ("update", "{x: ?}"));
    }

    #[test]
    fn forbidden_found_at_any_depth() {
        let p = json!([{"$match": {"a": 1}}, {"$lookup": {"from": "x", "pipeline": [{"$merge": "y"}]}}]);
        let e = check_forbidden(&p, "pipeline").unwrap_err().to_string();
        assert!(e.contains("`$merge`"), "{e}");
        assert!(e.contains("pipeline[1].$lookup.pipeline[0]"), "{e}");
        let f = json!({"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}});
        assert!(check_forbidden(&f, "filter").is_err());
        let w = json!({"$or": [{"a": 1}, {"$where": "sleep(1000)"}]});
        assert!(
            check_forbidden(&w, "filter")
                .unwrap_err()
                .to_string()
                .contains("JavaScript")
        );
        assert!(check_forbidden(&json!({"outcome": "$out"}), "filter").is_ok());
        let c = json!([{"$changeStream": {"fullDocument": "updateLookup"}}]);
        let e = check_forbidden(&c, "pipeline").unwrap_err().to_string();
        assert!(
            e.contains("`$changeStream`") && e.contains("never ends"),
            "{e}"
        );
    }

    fn refs(p: &serde_json::Value) -> Vec<(Option<String>, String, String)> {
        referenced_namespaces(p, "pipeline")
            .unwrap()
            .into_iter()
            .map(|r| (r.db, r.coll, r.path))
            .collect()
    }

    #[test]
    fn references_found() {
        let p = json!([{"$lookup": {"from": "users"}}, {"$unionWith": {"coll": "archive"}}, {"$facet": {"a": [{"$unionWith": "b"}]}}]);
        let colls: Vec<String> = refs(&p).into_iter().map(|r| r.1).collect();
        assert_eq!(colls, vec!["users", "archive", "b"]);
    }

    #[test]
    fn cross_database_references_found() {
        let p = json!([
            {"$lookup": {"from": {"db": "billing", "coll": "invoices"}, "as": "i"}},
            {"$facet": {"x": [{"$unionWith": {"db": "hr", "coll": "people", "pipeline": []}}]}},
            {"$graphLookup": {"from": "tree"}},
            {"$unionWith": {"pipeline": [{"$documents": [{"a": 1}]}]}}
        ]);
        assert_eq!(
            refs(&p),
            vec![
                (
                    Some("billing".into()),
                    "invoices".into(),
                    "pipeline[0].$lookup.from".into()
                ),
                (
                    Some("hr".into()),
                    "people".into(),
                    "pipeline[1].$facet.x[0].$unionWith".into()
                ),
                (None, "tree".into(), "pipeline[2].$graphLookup.from".into()),
            ]
        );
        for bad in [
            json!([{"$lookup": {"from": {"db": "billing"}}}]),
            json!([{"$lookup": {"from": 5}}]),
            json!([{"$lookup": {"from": {"db": 1, "coll": "x"}}}]),
            json!([{"$unionWith": {"db": "billing"}}]),
            json!([{"$unionWith": {"db": "billing", "coll": 7}}]),
            json!([{"$unionWith": 3}]),
        ] {
            let e = referenced_namespaces(&bad, "pipeline")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("refused: `$"), "{bad}: {e}");
        }
    }

    #[test]
    fn esr_rule() {
        let f = doc! {"createdAt": {"$gte": 1}, "status": "open", "customerId": {"$in": [1, 2]}};
        let idx = suggest_index(&f, Some(&doc! {"total": -1})).unwrap();
        assert_eq!(
            key_pattern(&idx),
            "{ status: 1, customerId: 1, total: -1, createdAt: 1 }"
        );
        assert!(suggest_index(&doc! {}, None).is_none());
        assert!(suggest_index(&doc! {"_id": 1}, None).is_none());
    }
}
