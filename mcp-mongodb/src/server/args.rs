//! The tools' arguments: one struct per tool (their doc comments are the schema the host's
//! model reads) and the conversion of their JSON filters, sorts and pipelines to BSON, which
//! refuses what the server must never run (see [`shape::check_forbidden`]) before anything
//! reaches MongoDB. Apart from the tools so the contract a host sees reads in one place.

use bson::{Bson, Document};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::shape;

/// Arguments of `server_status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ServerStatusArgs {
    /// Seconds between the two samples used for per-second rates (0-10,
    /// default 1; 0 gives averages since start-up).
    #[schemars(range(min = 0, max = 10))]
    pub sample_seconds: Option<u32>,
}

/// Arguments of `current_ops`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CurrentOpsArgs {
    /// Only operations running at least this many seconds (default 1).
    #[schemars(range(min = 0.0))]
    pub min_seconds: Option<f64>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<String>,
}

/// Arguments of `slow_queries`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SlowQueriesArgs {
    /// Database whose profiler (system.profile) to read; without it, or when
    /// its profiler is off, "Slow query" lines of the server log are used.
    pub database: Option<String>,
    /// Only operations that took at least this many milliseconds (default 0).
    pub min_ms: Option<u64>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<String>,
}

/// Arguments of `server_log`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ServerLogArgs {
    /// Only this component, case-insensitive: COMMAND, INDEX, NETWORK, REPL,
    /// STORAGE, ACCESS, CONTROL, … (default: all).
    pub component: Option<String>,
    /// Least severe level kept: F, E, W or I (fatal, error, warning, info;
    /// default: all).
    pub severity: Option<String>,
    /// Only lines containing this text, case-insensitive (an index name, a
    /// namespace, an application name, "dropIndexes").
    pub contains: Option<String>,
    /// Most lines returned, the newest (default 50, at most 500).
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
    /// Keep "Slow query" lines too (default false: slow_queries groups them).
    pub include_slow: Option<bool>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<String>,
}

/// Arguments of `explain`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExplainArgs {
    /// The collection read.
    #[serde(flatten)]
    pub ns: CollectionArgs,
    /// Find filter (Extended JSON); ignored when `pipeline` is given.
    pub filter: Option<Map<String, Value>>,
    /// Find sort: {"createdAt": -1}, or for several keys an array in order,
    /// [{"status": 1}, {"createdAt": -1}].
    #[serde(default)]
    #[schemars(schema_with = "sort_schema")]
    pub sort: Option<Value>,
    /// Aggregation pipeline to explain instead of a find.
    pub pipeline: Option<Vec<Map<String, Value>>>,
    /// Run the query to count keys/docs examined (default true, bounded by
    /// max_time_ms); false gives the plan only.
    pub execute: Option<bool>,
    /// Server-side time limit in ms (default and ceiling: the server's
    /// --max-time-ms).
    #[schemars(range(min = 1))]
    pub max_time_ms: Option<u64>,
}

/// Arguments naming one collection (flattened into the arguments of every
/// tool that reads one).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CollectionArgs {
    /// Database name.
    pub database: String,
    /// Collection name.
    pub collection: String,
}

/// Arguments naming one database.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DatabaseArgs {
    /// Database name.
    pub database: String,
}

/// Arguments of `find`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FindArgs {
    /// The collection read.
    #[serde(flatten)]
    pub ns: CollectionArgs,
    /// Filter (Extended JSON, e.g. {"status": "open", "createdAt": {"$gte": {"$date": "2024-05-01T00:00:00Z"}}}).
    pub filter: Option<Map<String, Value>>,
    /// Fields to return, e.g. {"status": 1, "total": 1}.
    pub projection: Option<Map<String, Value>>,
    /// Sort: {"createdAt": -1}, or for several keys an array in order,
    /// [{"status": 1}, {"createdAt": -1}].
    #[serde(default)]
    #[schemars(schema_with = "sort_schema")]
    pub sort: Option<Value>,
    /// Most documents to return (default 20; capped by --max-documents).
    #[schemars(range(min = 1))]
    pub limit: Option<u32>,
    /// The time limit and the cursor.
    #[serde(flatten)]
    pub read: ReadBounds,
}

/// Arguments of `aggregate`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AggregateArgs {
    /// The collection read.
    #[serde(flatten)]
    pub ns: CollectionArgs,
    /// Pipeline stages (Extended JSON); $out, $merge, $where, $function,
    /// $accumulator and $changeStream are refused. A $sort on several keys is an array in
    /// order: {"$sort": [{"a": 1}, {"b": -1}]}.
    pub pipeline: Vec<Map<String, Value>>,
    /// Most documents to return (default 20; a $limit is appended).
    #[schemars(range(min = 1))]
    pub limit: Option<u32>,
    /// The time limit and the cursor.
    #[serde(flatten)]
    pub read: ReadBounds,
}

/// Arguments of `count`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CountArgs {
    /// The collection read.
    #[serde(flatten)]
    pub ns: CollectionArgs,
    /// Filter (Extended JSON); empty counts every document.
    pub filter: Option<Map<String, Value>>,
    /// Server-side time limit in ms (default and ceiling: --max-time-ms).
    #[schemars(range(min = 1))]
    pub max_time_ms: Option<u64>,
}

/// How long a `find` or `aggregate` may run and where a cut result goes on
/// (flattened into both).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadBounds {
    /// Server-side time limit in ms (default and ceiling: --max-time-ms).
    #[schemars(range(min = 1))]
    pub max_time_ms: Option<u64>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<String>,
}

/// Arguments of tools that only page.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PageArgs {
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<String>,
}

/// JSON arguments to a BSON document (Extended JSON accepted).
pub(super) fn to_doc(map: Option<Map<String, Value>>, what: &str) -> Result<Document> {
    let Some(map) = map else {
        return Ok(Document::new());
    };
    shape::check_forbidden(&Value::Object(map.clone()), what)?;
    match Bson::try_from(Value::Object(map)) {
        Ok(Bson::Document(d)) => Ok(d),
        Ok(_) => Err(Error::BadArgument(format!("`{what}` must be an object"))),
        Err(e) => Err(Error::BadArgument(format!(
            "`{what}` is not valid Extended JSON: {e}"
        ))),
    }
}

/// The schema of a `sort` argument: an object, or an array of objects (see
/// [`to_sort`]). As a bare `Value` it would have no type at all, which hosts
/// read as "anything" (the MCP Inspector warns that it constrains nothing).
/// A field with its own schema function must say `#[serde(default)]` to stay
/// optional: schemars cannot see the `Option` through it.
fn sort_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "object", "additionalProperties": true},
            {"type": "array", "items": {"type": "object", "additionalProperties": true}}
        ]
    })
}

/// A sort: a one-key object, or an array of one-key objects in order. JSON
/// objects reach the server with their keys reordered (rmcp parses arguments
/// into sorted maps), so a several-key object is refused rather than
/// silently sorted in the wrong order.
pub(super) fn to_sort(value: Option<Value>, what: &str) -> Result<Option<Document>> {
    let several = |n: usize| {
        Error::BadArgument(format!(
            "`{what}` has {n} keys in one object, and JSON object key order does not survive the \
             trip to this server; pass them in order as an array, e.g. \
             [{{\"status\": 1}}, {{\"createdAt\": -1}}]"
        ))
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.len() > 1 => Err(several(map.len())),
        Some(Value::Object(map)) => to_doc(Some(map), what).map(Some),
        Some(Value::Array(items)) => {
            let mut sort = Document::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::Object(map) if map.len() == 1 => {
                        sort.extend(to_doc(Some(map), &format!("{what}[{i}]"))?);
                    }
                    _ => {
                        return Err(Error::BadArgument(format!(
                            "`{what}[{i}]` must be an object with one key, like {{\"createdAt\": -1}}"
                        )));
                    }
                }
            }
            Ok(Some(sort))
        }
        Some(_) => Err(Error::BadArgument(format!(
            "`{what}` must be an object like {{\"createdAt\": -1}} or an array of them"
        ))),
    }
}

pub(super) fn to_pipeline(stages: Vec<Map<String, Value>>) -> Result<Vec<Document>> {
    let value = Value::Array(stages.into_iter().map(Value::Object).collect());
    shape::check_forbidden(&value, "pipeline")?;
    let Value::Array(stages) = value else {
        return Ok(Vec::new());
    };
    stages
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if let Value::Object(map) = &s
                && map.len() == 1
                && let Some(sort) = map.get("$sort")
            {
                let sort = to_sort(Some(sort.clone()), &format!("pipeline[{i}].$sort"))?
                    .unwrap_or_default();
                let mut stage = Document::new();
                stage.insert("$sort", sort);
                return Ok(stage);
            }
            match Bson::try_from(s) {
                Ok(Bson::Document(d)) if d.len() == 1 => Ok(d),
                Ok(_) => Err(Error::BadArgument(format!(
                    "`pipeline[{i}]` must be an object with exactly one stage, like {{\"$match\": {{…}}}}"
                ))),
                Err(e) => Err(Error::BadArgument(format!(
                    "`pipeline[{i}]` is not valid Extended JSON: {e}"
                ))),
            }
        })
        .collect()
}
