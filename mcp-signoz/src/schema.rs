//! SigNoz's ClickHouse tables as this crate reads them.
//!
//! Targets SigNoz 0.55 and later (signoz-otel-collector ≥ 0.111 with the
//! schema migrator's v2 logs, v3 traces and v4 metrics tables), checked
//! against the migrator of signoz-otel-collector v0.144. Columns read:
//!
//! * `signoz_logs.logs_v2`: `ts_bucket_start`, `timestamp` (UInt64 ns),
//!   `trace_id`, `span_id`, `severity_text`, `severity_number`, `body`,
//!   `attributes_string|number|bool`, `resources_string`, `scope_name`;
//! * `signoz_traces.signoz_index_v3`: `ts_bucket_start`, `timestamp`
//!   (DateTime64(9)), `trace_id`, `span_id`, `parent_span_id`, `name`, `kind`,
//!   `duration_nano`, `status_code`, `status_message`, `has_error`, the
//!   attribute maps, `resources_string`, `resource_string_service$$name` and
//!   `events` (the `exception` events of error spans);
//! * `signoz_metrics.time_series_v4`: `metric_name`, `temporality`, `type`,
//!   `is_monotonic`, `unit`, `description`, `fingerprint`, `unix_milli`,
//!   `labels` (JSON text);
//! * `signoz_metrics.samples_v4`: `metric_name`, `fingerprint`, `unix_milli`,
//!   `value`, `flags` (bit 0: no recorded value; such samples are skipped);
//! * when present: `signoz_logs.logs_v2.body_v2` (the JSON body, see
//!   [`JSON_BODY_COLUMN`]) and `signoz_traces.dependency_graph_minutes_v2`
//!   (per-minute call-graph edges, see `clickhouse::deps`).
//!
//! Newer SigNoz versions add a `resource` JSON column beside
//! `resources_string`; the collector still writes both, and this crate reads
//! the map, which every version has.
//!
//! [`TEST_DDL`] creates these tables (with the `distributed_` names as views,
//! since an embedded engine has no cluster) for tests and local experiments;
//! [`seed_rows`] turns telemetry into the rows SigNoz's collector would
//! insert.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{SECOND, Telemetry};

/// SigNoz's JSON body column (`signoz_logs.logs_v2.body_v2`, added by
/// migration 2001 of the collector's schema migrator: `JSON(message String,
/// max_dynamic_paths = 0)`). With the JSON-body feature on, the collector
/// writes a map body there and leaves `body` empty; SigNoz's own log queries
/// then read `toString(body_v2)` as the body.
pub const JSON_BODY_COLUMN: &str = "body_v2";

/// A record's body in SQL over `logs_v2` aliased `t`: `body`, or the JSON body
/// as text when `body` is empty and `body_v2` holds something (an unset
/// `body_v2` prints as `{"message":""}`: its typed path is always there).
pub const SQL_LOG_BODY: &str = "if(t.body != '' OR toString(t.body_v2) IN ('{}', '{\"message\":\"\"}'), \
     t.body, toString(t.body_v2))";

/// Whether a `body_v2` value's text is the unset JSON body (see [`SQL_LOG_BODY`]).
pub fn json_body_is_empty(text: &str) -> bool {
    matches!(text.trim(), "" | "{}" | r#"{"message":""}"#)
}

/// Tables the raw SQL tool may read by default.
pub const RAW_SQL_TABLES: &[&str] = &[
    "signoz_logs.logs_v2",
    "signoz_logs.distributed_logs_v2",
    "signoz_traces.signoz_index_v3",
    "signoz_traces.distributed_signoz_index_v3",
    "signoz_metrics.time_series_v4",
    "signoz_metrics.distributed_time_series_v4",
    "signoz_metrics.samples_v4",
    "signoz_metrics.distributed_samples_v4",
];

/// DDL of the tables read, after SigNoz's schema migrator, one statement per
/// entry. `distributed_*` tables are views here.
pub const TEST_DDL: &[&str] = &[
    "CREATE DATABASE IF NOT EXISTS signoz_logs",
    "CREATE DATABASE IF NOT EXISTS signoz_traces",
    "CREATE DATABASE IF NOT EXISTS signoz_metrics",
    "CREATE TABLE IF NOT EXISTS signoz_logs.logs_v2 (
        ts_bucket_start UInt64 CODEC(DoubleDelta, LZ4),
        resource_fingerprint String CODEC(ZSTD(1)),
        timestamp UInt64 CODEC(DoubleDelta, LZ4),
        observed_timestamp UInt64 CODEC(DoubleDelta, LZ4),
        id String CODEC(ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        trace_flags UInt32,
        severity_text LowCardinality(String) CODEC(ZSTD(1)),
        severity_number UInt8,
        body String CODEC(ZSTD(2)),
        body_v2 JSON(message String, max_dynamic_paths = 0) CODEC(ZSTD(1)),
        body_promoted JSON CODEC(ZSTD(1)),
        attributes_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        attributes_number Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
        attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
        resources_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        resource JSON(max_dynamic_paths = 100) CODEC(ZSTD(1)),
        scope_name String CODEC(ZSTD(1)),
        scope_version String CODEC(ZSTD(1)),
        scope_string Map(LowCardinality(String), String) CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(timestamp / 1000000000)
    ORDER BY (ts_bucket_start, resource_fingerprint, severity_text, timestamp, id)",
    "CREATE VIEW IF NOT EXISTS signoz_logs.distributed_logs_v2 AS SELECT * FROM signoz_logs.logs_v2",
    "CREATE TABLE IF NOT EXISTS signoz_traces.signoz_index_v3 (
        ts_bucket_start UInt64 CODEC(DoubleDelta, LZ4),
        resource_fingerprint String CODEC(ZSTD(1)),
        timestamp DateTime64(9) CODEC(DoubleDelta, LZ4),
        trace_id FixedString(32) CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        trace_state String CODEC(ZSTD(1)),
        parent_span_id String CODEC(ZSTD(1)),
        flags UInt32 CODEC(T64, ZSTD(1)),
        name LowCardinality(String) CODEC(ZSTD(1)),
        kind Int8 CODEC(T64, ZSTD(1)),
        kind_string String CODEC(ZSTD(1)),
        duration_nano UInt64 CODEC(T64, ZSTD(1)),
        status_code Int16 CODEC(T64, ZSTD(1)),
        status_message String CODEC(ZSTD(1)),
        status_code_string String CODEC(ZSTD(1)),
        attributes_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        attributes_number Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
        attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
        resources_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        resource JSON(max_dynamic_paths = 100) CODEC(ZSTD(1)),
        events Array(String) CODEC(ZSTD(2)),
        links String CODEC(ZSTD(1)),
        response_status_code LowCardinality(String) CODEC(ZSTD(1)),
        external_http_url LowCardinality(String) CODEC(ZSTD(1)),
        http_url LowCardinality(String) CODEC(ZSTD(1)),
        external_http_method LowCardinality(String) CODEC(ZSTD(1)),
        http_method LowCardinality(String) CODEC(ZSTD(1)),
        http_host LowCardinality(String) CODEC(ZSTD(1)),
        db_name LowCardinality(String) CODEC(ZSTD(1)),
        db_operation LowCardinality(String) CODEC(ZSTD(1)),
        has_error Bool CODEC(T64, ZSTD(1)),
        is_remote LowCardinality(String) CODEC(ZSTD(1)),
        `resource_string_service$$name` LowCardinality(String) DEFAULT resources_string['service.name'] CODEC(ZSTD(1)),
        `attribute_string_http$$route` LowCardinality(String) DEFAULT attributes_string['http.route'] CODEC(ZSTD(1)),
        `attribute_string_db$$system` LowCardinality(String) DEFAULT attributes_string['db.system'] CODEC(ZSTD(1)),
        `attribute_string_peer$$service` LowCardinality(String) DEFAULT attributes_string['peer.service'] CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(timestamp)
    ORDER BY (ts_bucket_start, resource_fingerprint, has_error, name, timestamp)",
    "CREATE VIEW IF NOT EXISTS signoz_traces.distributed_signoz_index_v3 AS SELECT * FROM signoz_traces.signoz_index_v3",
    "CREATE TABLE IF NOT EXISTS signoz_metrics.time_series_v4 (
        env LowCardinality(String) DEFAULT 'default',
        temporality LowCardinality(String) DEFAULT 'Unspecified',
        metric_name LowCardinality(String),
        description LowCardinality(String) DEFAULT '' CODEC(ZSTD(1)),
        unit LowCardinality(String) DEFAULT '' CODEC(ZSTD(1)),
        type LowCardinality(String) DEFAULT '' CODEC(ZSTD(1)),
        is_monotonic Bool DEFAULT false CODEC(ZSTD(1)),
        fingerprint UInt64 CODEC(Delta(8), ZSTD(1)),
        unix_milli Int64 CODEC(Delta(8), ZSTD(1)),
        labels String CODEC(ZSTD(5)),
        attrs Map(LowCardinality(String), String) DEFAULT map() CODEC(ZSTD(1)),
        scope_attrs Map(LowCardinality(String), String) DEFAULT map() CODEC(ZSTD(1)),
        resource_attrs Map(LowCardinality(String), String) DEFAULT map() CODEC(ZSTD(1)),
        __normalized Bool DEFAULT true CODEC(ZSTD(1))
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toDate(unix_milli / 1000)
    ORDER BY (env, temporality, metric_name, fingerprint, unix_milli)",
    "CREATE VIEW IF NOT EXISTS signoz_metrics.distributed_time_series_v4 AS SELECT * FROM signoz_metrics.time_series_v4",
    "CREATE TABLE IF NOT EXISTS signoz_metrics.samples_v4 (
        env LowCardinality(String) DEFAULT 'default',
        temporality LowCardinality(String) DEFAULT 'Unspecified',
        metric_name LowCardinality(String),
        fingerprint UInt64 CODEC(Delta(8), ZSTD(1)),
        unix_milli Int64 CODEC(DoubleDelta, ZSTD(1)),
        value Float64 CODEC(Gorilla, ZSTD(1)),
        flags UInt32 DEFAULT 0 CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(unix_milli / 1000)
    ORDER BY (env, temporality, metric_name, fingerprint, unix_milli)",
    "CREATE VIEW IF NOT EXISTS signoz_metrics.distributed_samples_v4 AS SELECT * FROM signoz_metrics.samples_v4",
];

/// Rows to insert, as `JSONEachRow` text per table.
#[derive(Debug, Clone, Default)]
pub struct SeedRows {
    /// `(table, JSONEachRow text)` pairs.
    pub tables: Vec<(&'static str, String)>,
}

fn bucket(ts_ns: i64) -> i64 {
    let s = ts_ns.div_euclid(SECOND);
    s - s.rem_euclid(1800)
}

fn datetime64(ns: i64) -> String {
    let frac = ns.rem_euclid(SECOND);
    match jiff::Timestamp::from_second(ns.div_euclid(SECOND)) {
        Ok(ts) => format!("{}.{frac:09}", ts.strftime("%Y-%m-%d %H:%M:%S")),
        Err(_) => "1970-01-01 00:00:00.000000000".into(),
    }
}

fn fingerprint_resource(res: &BTreeMap<String, String>) -> String {
    res.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Rows as JSONEachRow: one JSON object a line.
fn json_lines(rows: impl IntoIterator<Item = Value>) -> String {
    rows.into_iter().map(|row| format!("{row}\n")).collect()
}

/// The rows SigNoz's collector would insert for `t` (timestamps of spans as
/// UTC DateTime64 text: insert them with `session_timezone = 'UTC'`).
pub fn seed_rows(t: &Telemetry) -> SeedRows {
    let logs = json_lines(t.logs.iter().enumerate().map(|(i, l)| {
        json!({
            "ts_bucket_start": bucket(l.timestamp),
            "resource_fingerprint": fingerprint_resource(&l.resources_string),
            "timestamp": l.timestamp,
            "observed_timestamp": l.timestamp,
            "id": format!("{:020}{:012}", l.timestamp, i),
            "trace_id": l.trace_id,
            "span_id": l.span_id,
            "severity_text": l.severity_text,
            "severity_number": l.severity_number,
            "body": l.body,
            "attributes_string": l.attributes_string,
            "attributes_number": l.attributes_number,
            "attributes_bool": l.attributes_bool,
            "resources_string": l.resources_string,
            "scope_name": l.scope_name,
        })
    }));
    let spans = json_lines(t.spans.iter().map(|s| {
        json!({
            "ts_bucket_start": bucket(s.timestamp),
            "resource_fingerprint": fingerprint_resource(&s.resources_string),
            "timestamp": datetime64(s.timestamp),
            "trace_id": s.trace_id,
            "span_id": s.span_id,
            "parent_span_id": s.parent_span_id,
            "name": s.name,
            "kind": s.kind,
            "kind_string": crate::model::span_kind::name(s.kind),
            "duration_nano": s.duration_nano,
            "status_code": s.status_code,
            "status_message": s.status_message,
            "status_code_string": match s.status_code { 1 => "Ok", 2 => "Error", _ => "Unset" },
            "attributes_string": s.attributes_string,
            "attributes_number": s.attributes_number,
            "attributes_bool": s.attributes_bool,
            "resources_string": s.resources_string,
            "events": s.events,
            "has_error": s.has_error,
        })
    }));
    let by_fp: BTreeMap<u64, &crate::model::SeriesRow> =
        t.series.iter().map(|s| (s.fingerprint, s)).collect();
    let mut hours: BTreeMap<(u64, i64), ()> = BTreeMap::new();
    let mut samples = Vec::new();
    for s in &t.samples {
        let Some(series) = by_fp.get(&s.fingerprint) else {
            continue;
        };
        hours.insert(
            (
                s.fingerprint,
                s.unix_milli - s.unix_milli.rem_euclid(3_600_000),
            ),
            (),
        );
        samples.push(json!({
            "temporality": series.temporality,
            "metric_name": series.metric_name,
            "fingerprint": s.fingerprint,
            "unix_milli": s.unix_milli,
            "value": s.value,
            "flags": s.flags,
        }));
    }
    let mut series_rows = Vec::new();
    for (fp, hour) in hours.keys() {
        let Some(s) = by_fp.get(fp) else { continue };
        let labels: BTreeMap<&String, Value> = s
            .labels
            .iter()
            .map(|(k, v)| (k, Value::String(v.clone())))
            .collect();
        series_rows.push(json!({
            "temporality": s.temporality,
            "metric_name": s.metric_name,
            "description": s.description,
            "unit": s.unit,
            "type": s.kind,
            "is_monotonic": s.is_monotonic,
            "fingerprint": s.fingerprint,
            "unix_milli": hour,
            "labels": serde_json::to_string(&labels).unwrap_or_default(),
        }));
    }
    SeedRows {
        tables: vec![
            ("signoz_logs.logs_v2", logs),
            ("signoz_traces.signoz_index_v3", spans),
            ("signoz_metrics.time_series_v4", json_lines(series_rows)),
            ("signoz_metrics.samples_v4", json_lines(samples)),
        ],
    }
}
