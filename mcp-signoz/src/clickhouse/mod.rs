//! The ClickHouse store: SigNoz's own tables, queried directly.
//!
//! Every value a caller supplies travels as a ClickHouse query parameter
//! (`{name:Type}` in the SQL, `param_name` on the wire), never as SQL text;
//! only table names, which come from configuration, are formatted in. Every
//! query carries `max_execution_time` and runs under a client-side timeout.
//! The client is built at start-up but connects on first use, so a server
//! starts (and lists its tools) with ClickHouse down.
//!
//! Tables read (SigNoz ≥ 0.55 with the v2 logs / v3 traces / v4 metrics
//! schema; see [`crate::schema`]): `signoz_logs.logs_v2`,
//! `signoz_traces.signoz_index_v3`, `signoz_metrics.time_series_v4` and
//! `signoz_metrics.samples_v4`, through their `distributed_` tables unless
//! `--clickhouse-local-tables`.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clickhouse::Row;
use serde::Deserialize;

use crate::model::{
    CallGraph, ErrorQuery, ErrorRow, LogQuery, LogRow, MetricInfo, MetricQuery, MetricSteps, Nanos,
    Order, RedGroup, RedQuery, RedRow, SECOND, SeriesQuery, SeriesRow, SpanQuery, SpanRow,
    SpanScope, StepRow, TimeRange,
};
use crate::store::{Store, StoreError, StoreResult};

mod ast;
mod deps;
pub mod endpoint;
pub mod guard;

pub use ast::check_ast;

/// How to reach SigNoz's ClickHouse.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// HTTP(S) URL, e.g. `http://localhost:8123`.
    pub url: String,
    /// User (a read-only user is the documented set-up).
    pub user: String,
    /// Password.
    pub password: Option<String>,
    /// Query the `distributed_*` tables (SigNoz's default, also on one node).
    pub distributed: bool,
    /// Timeout of every query.
    pub timeout: Duration,
    /// Tables raw SQL may read (`db.table`).
    pub raw_sql_tables: Vec<String>,
    /// Most bytes a raw SQL result may hold.
    pub raw_sql_max_bytes: usize,
    /// A fixed "now" instead of the wall clock.
    pub now: Option<Nanos>,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://localhost:8123".into(),
            user: "default".into(),
            password: None,
            distributed: true,
            timeout: Duration::from_secs(30),
            raw_sql_tables: crate::schema::RAW_SQL_TABLES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            raw_sql_max_bytes: 1 << 20,
            now: None,
        }
    }
}

/// Fully qualified table names in use.
#[derive(Debug, Clone)]
struct Tables {
    logs: String,
    spans: String,
    series: String,
    samples: String,
    dependency_graph: String,
}

/// SigNoz's ClickHouse as a [`Store`].
pub struct ClickHouseStore {
    client: clickhouse::Client,
    config: ClickHouseConfig,
    tables: Tables,
    /// Set once ClickHouse said the dependency aggregates do not exist.
    no_dependency_table: AtomicBool,
    /// Whether the logs table has SigNoz's JSON body column (`body_v2`),
    /// asked once on first use.
    json_body: tokio::sync::OnceCell<bool>,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("url", &endpoint::display_url(&self.config.url))
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

const SVC: &str = "`resource_string_service$$name`";
const BUCKET_SECONDS: i64 = 1800;

fn qualified(db: &str, table: &str, distributed: bool) -> String {
    if distributed {
        format!("{db}.distributed_{table}")
    } else {
        format!("{db}.{table}")
    }
}

impl ClickHouseStore {
    /// A store for `config`; does not connect.
    pub fn new(config: ClickHouseConfig) -> Self {
        let mut client = clickhouse::Client::default()
            .with_url(config.url.clone())
            .with_user(config.user.clone())
            .with_setting(
                "max_execution_time",
                config.timeout.as_secs().max(1).to_string(),
            );
        if let Some(p) = &config.password {
            client = client.with_password(p.clone());
        }
        let d = config.distributed;
        let tables = Tables {
            logs: qualified("signoz_logs", "logs_v2", d),
            spans: qualified("signoz_traces", "signoz_index_v3", d),
            series: qualified("signoz_metrics", "time_series_v4", d),
            samples: qualified("signoz_metrics", "samples_v4", d),
            dependency_graph: qualified("signoz_traces", "dependency_graph_minutes_v2", d),
        };
        Self {
            client,
            config,
            tables,
            no_dependency_table: AtomicBool::new(false),
            json_body: tokio::sync::OnceCell::new(),
        }
    }

    /// A crate error as a store error naming this store's URL.
    fn ch_err(&self, e: clickhouse::error::Error) -> StoreError {
        endpoint::store_error(&self.config.url, e)
    }

    async fn fetch<T>(&self, q: clickhouse::query::Query) -> StoreResult<Vec<T>>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let timeout = self.config.timeout;
        match tokio::time::timeout(timeout, q.fetch_all::<T>()).await {
            Ok(r) => r.map_err(|e| self.ch_err(e)),
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }

    /// Whether the logs table has SigNoz's JSON body column; asked once.
    /// A refusal (no access to `system.columns`) counts as no; an unreachable
    /// ClickHouse is an error and is asked again next time.
    async fn has_json_body(&self) -> StoreResult<bool> {
        let found = self
            .json_body
            .get_or_try_init(|| async {
                let (db, table) = self
                    .tables
                    .logs
                    .split_once('.')
                    .unwrap_or(("signoz_logs", &self.tables.logs));
                let q = self
                    .client
                    .query(
                        "SELECT count() AS n FROM system.columns \
                         WHERE database = {db:String} AND table = {table:String} AND name = {col:String}",
                    )
                    .param("db", db)
                    .param("table", table)
                    .param("col", crate::schema::JSON_BODY_COLUMN);
                match self.fetch::<CountCh>(q).await {
                    Ok(rows) => Ok(rows.first().is_some_and(|r| r.n > 0)),
                    Err(e @ StoreError::ClickHouse { .. }) => {
                        tracing::warn!(error = %e, "cannot tell whether logs have a JSON body column; reading `body` only");
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(*found)
    }

    /// What log queries read `FROM`: the logs table, or, when it has the
    /// JSON body column, a view of it whose `body` falls back to that
    /// column's text (so filters, ordering and severity read it too).
    async fn log_source(&self) -> StoreResult<String> {
        let logs = &self.tables.logs;
        Ok(if self.has_json_body().await? {
            format!(
                "(SELECT * EXCEPT (body), {} AS body FROM {logs} AS t WHERE {LOG_TIME})",
                crate::schema::SQL_LOG_BODY
            )
        } else {
            logs.clone()
        })
    }

    /// A span-table time filter using the primary key's `ts_bucket_start`.
    fn span_time(&self, q: clickhouse::query::Query, r: TimeRange) -> clickhouse::query::Query {
        q.param("t0", r.start)
            .param("t1", r.end)
            .param("b0", (r.start / SECOND - BUCKET_SECONDS).max(0))
            .param("b1", r.end / SECOND)
    }
}

const SPAN_TIME: &str = "timestamp >= fromUnixTimestamp64Nano({t0:Int64}) \
     AND timestamp < fromUnixTimestamp64Nano({t1:Int64}) \
     AND ts_bucket_start >= {b0:UInt64} AND ts_bucket_start <= {b1:UInt64}";

const LOG_TIME: &str = "timestamp >= {t0:UInt64} AND timestamp < {t1:UInt64} \
     AND ts_bucket_start >= {b0:UInt64} AND ts_bucket_start <= {b1:UInt64}";

const SPAN_COLUMNS: &str = "toInt64(toUnixTimestamp64Nano(timestamp)) AS ts, \
     toString(trace_id) AS trace_id, span_id, parent_span_id, toString(name) AS name, kind, \
     duration_nano, status_code, status_message, has_error, \
     CAST(attributes_string, 'Map(String, String)') AS attributes_string, \
     CAST(attributes_number, 'Map(String, Float64)') AS attributes_number, \
     CAST(attributes_bool, 'Map(String, Bool)') AS attributes_bool, \
     CAST(resources_string, 'Map(String, String)') AS resources_string, \
     if(has_error, arrayFilter(e -> JSONExtractString(e, 'name') = 'exception', events), \
        CAST([], 'Array(String)')) AS events";

#[derive(Row, Deserialize)]
struct RedCh {
    key: String,
    bucket: i64,
    calls: u64,
    errors: u64,
    q: Vec<f64>,
}

#[derive(Row, Deserialize)]
struct ErrorCh {
    operation: String,
    message: String,
    count: u64,
    trace_id: String,
}

#[derive(Row, Deserialize)]
struct SpanCh {
    ts: i64,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: i8,
    duration_nano: u64,
    status_code: i16,
    status_message: String,
    has_error: bool,
    attributes_string: Vec<(String, String)>,
    attributes_number: Vec<(String, f64)>,
    attributes_bool: Vec<(String, bool)>,
    resources_string: Vec<(String, String)>,
    events: Vec<String>,
}

impl From<SpanCh> for SpanRow {
    fn from(s: SpanCh) -> Self {
        SpanRow {
            timestamp: s.ts,
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            name: s.name,
            kind: s.kind,
            duration_nano: s.duration_nano,
            status_code: s.status_code,
            status_message: s.status_message,
            has_error: s.has_error,
            attributes_string: s.attributes_string.into_iter().collect(),
            attributes_number: s.attributes_number.into_iter().collect(),
            attributes_bool: s.attributes_bool.into_iter().collect(),
            resources_string: s.resources_string.into_iter().collect(),
            events: s.events,
        }
    }
}

#[derive(Row, Deserialize)]
struct LogCh {
    ts: u64,
    trace_id: String,
    span_id: String,
    severity_text: String,
    severity_number: u8,
    body: String,
    attributes_string: Vec<(String, String)>,
    attributes_number: Vec<(String, f64)>,
    attributes_bool: Vec<(String, bool)>,
    resources_string: Vec<(String, String)>,
    scope_name: String,
}

#[derive(Row, Deserialize)]
struct MetricCh {
    name: String,
    kind: String,
    m_unit: String,
    m_temporality: String,
    m_monotonic: bool,
    series: u64,
    m_description: String,
}

#[derive(Row, Deserialize)]
struct SeriesCh {
    s_name: String,
    s_temporality: String,
    s_kind: String,
    s_monotonic: bool,
    s_unit: String,
    s_description: String,
    fingerprint: u64,
    s_labels: String,
}

impl SeriesCh {
    fn into_row(self) -> SeriesRow {
        SeriesRow {
            labels: serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&self.s_labels)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
            metric_name: self.s_name,
            temporality: self.s_temporality,
            kind: self.s_kind,
            is_monotonic: self.s_monotonic,
            unit: self.s_unit,
            description: self.s_description,
            fingerprint: self.fingerprint,
        }
    }
}

#[derive(Row, Deserialize)]
struct StepCh {
    fingerprint: u64,
    step: i64,
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    last: f64,
}

#[derive(Row, Deserialize)]
struct CountCh {
    n: u64,
}

#[derive(Row, Deserialize)]
struct NowCh {
    now: i64,
}

fn hour_floor_ms(ns: Nanos) -> i64 {
    let ms = ns / 1_000_000;
    ms - ms.rem_euclid(3_600_000)
}

fn ceil_ms(ns: Nanos) -> i64 {
    ns / 1_000_000 + i64::from(ns % 1_000_000 != 0)
}

/// Appends `AND (…)` conditions for attribute filters `a{i}`/`n{i}`/`b{i}`.
fn attr_conditions(sql: &mut String, filters: &[crate::model::AttrFilter]) {
    for (i, f) in filters.iter().enumerate() {
        sql.push_str(&format!(
            " AND (attributes_string[{{ak{i}:String}}] = {{av{i}:String}} \
             OR resources_string[{{ak{i}:String}}] = {{av{i}:String}}"
        ));
        if f.number().is_some() {
            sql.push_str(&format!(
                " OR (mapContains(attributes_number, {{ak{i}:String}}) \
                 AND attributes_number[{{ak{i}:String}}] = {{an{i}:Float64}})"
            ));
        }
        if f.boolean().is_some() {
            sql.push_str(&format!(
                " OR (mapContains(attributes_bool, {{ak{i}:String}}) \
                 AND attributes_bool[{{ak{i}:String}}] = {{ab{i}:Bool}})"
            ));
        }
        sql.push(')');
    }
}

fn attr_params(
    mut q: clickhouse::query::Query,
    filters: &[crate::model::AttrFilter],
) -> clickhouse::query::Query {
    for (i, f) in filters.iter().enumerate() {
        q = q
            .param(&format!("ak{i}"), &f.key)
            .param(&format!("av{i}"), &f.value);
        if let Some(n) = f.number() {
            q = q.param(&format!("an{i}"), n);
        }
        if let Some(b) = f.boolean() {
            q = q.param(&format!("ab{i}"), b);
        }
    }
    q
}

impl Store for ClickHouseStore {
    fn describe(&self) -> String {
        format!(
            "ClickHouse {} ({} tables)",
            endpoint::display_url(&self.config.url),
            if self.config.distributed {
                "distributed"
            } else {
                "local"
            }
        )
    }

    async fn now(&self) -> StoreResult<Nanos> {
        if let Some(now) = self.config.now {
            return Ok(now);
        }
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .ok();
        match system {
            Some(n) => Ok(n),
            None => {
                let q = self
                    .client
                    .query("SELECT toInt64(toUnixTimestamp64Nano(now64(9))) AS now");
                let rows: Vec<NowCh> = self.fetch(q).await?;
                Ok(rows.first().map_or(0, |r| r.now))
            }
        }
    }

    async fn red(&self, q: &RedQuery) -> StoreResult<Vec<RedRow>> {
        let key = match q.group {
            RedGroup::Service => SVC.to_string(),
            RedGroup::Operation => "name".to_string(),
        };
        let mut sql = format!(
            "SELECT toString({key}) AS key, \
             toInt64({{t0:Int64}} + intDiv(toInt64(toUnixTimestamp64Nano(timestamp)) - {{t0:Int64}}, {{step:Int64}}) * {{step:Int64}}) AS bucket, \
             count() AS calls, countIf(has_error) AS errors, \
             arrayMap(x -> toFloat64(x), quantiles(0.5, 0.95, 0.99)(duration_nano)) AS q \
             FROM {} WHERE {SPAN_TIME}",
            self.tables.spans
        );
        if q.service.is_some() {
            sql.push_str(&format!(" AND {SVC} = {{service:String}}"));
        }
        if q.scope == SpanScope::Entry {
            sql.push_str(" AND kind IN (2, 5)");
        }
        sql.push_str(" GROUP BY key, bucket ORDER BY key, bucket");
        let step = q.step.filter(|s| *s > 0).unwrap_or(q.range.len().max(1));
        let mut query = self
            .span_time(self.client.query(&sql), q.range)
            .param("step", step);
        if let Some(s) = &q.service {
            query = query.param("service", s);
        }
        let rows: Vec<RedCh> = self.fetch(query).await?;
        Ok(rows
            .into_iter()
            .map(|r| RedRow {
                key: r.key,
                bucket: r.bucket,
                calls: r.calls,
                errors: r.errors,
                p50: r.q.first().copied().unwrap_or(0.0),
                p95: r.q.get(1).copied().unwrap_or(0.0),
                p99: r.q.get(2).copied().unwrap_or(0.0),
            })
            .collect())
    }

    async fn errors(&self, q: &ErrorQuery) -> StoreResult<Vec<ErrorRow>> {
        // No status message: the exception event names the error, exactly as
        // `structured::exception_summary` reads it.
        let sql = format!(
            "SELECT toString(name) AS operation, \
             if(status_message != '', status_message, {sum}) AS message, count() AS count, \
             toString(min(trace_id)) AS trace_id FROM {} \
             WHERE {SPAN_TIME} AND {SVC} = {{service:String}} AND has_error \
             GROUP BY operation, message ORDER BY count DESC, operation, message \
             LIMIT {{limit:UInt64}}",
            self.tables.spans,
            sum = *crate::structured::SQL_EXCEPTION_SUMMARY,
        );
        let query = self
            .span_time(self.client.query(&sql), q.range)
            .param("service", &q.service)
            .param("limit", q.limit as u64);
        let rows: Vec<ErrorCh> = self.fetch(query).await?;
        Ok(rows
            .into_iter()
            .map(|r| ErrorRow {
                operation: r.operation,
                message: r.message,
                count: r.count,
                trace_id: r.trace_id,
            })
            .collect())
    }

    async fn spans(&self, q: &SpanQuery) -> StoreResult<Vec<SpanRow>> {
        let mut sql = format!(
            "SELECT {SPAN_COLUMNS} FROM {} WHERE {SPAN_TIME}",
            self.tables.spans
        );
        if q.service.is_some() {
            sql.push_str(&format!(" AND {SVC} = {{service:String}}"));
        }
        if q.operation.is_some() {
            sql.push_str(" AND name = {operation:String}");
        }
        if q.min_duration.is_some() {
            sql.push_str(" AND duration_nano >= {min_duration:UInt64}");
        }
        if q.errors_only {
            sql.push_str(" AND has_error");
        }
        attr_conditions(&mut sql, &q.attributes);
        sql.push_str(match q.order {
            Order::Newest => " ORDER BY timestamp DESC, span_id",
            Order::Oldest => " ORDER BY timestamp, span_id",
            Order::Slowest => " ORDER BY duration_nano DESC, span_id",
        });
        sql.push_str(" LIMIT {limit:UInt64}");
        let mut query = self
            .span_time(self.client.query(&sql), q.range)
            .param("limit", q.limit as u64);
        if let Some(s) = &q.service {
            query = query.param("service", s);
        }
        if let Some(o) = &q.operation {
            query = query.param("operation", o);
        }
        if let Some(d) = q.min_duration {
            query = query.param("min_duration", d);
        }
        query = attr_params(query, &q.attributes);
        let rows: Vec<SpanCh> = self.fetch(query).await?;
        Ok(rows.into_iter().map(SpanRow::from).collect())
    }

    async fn trace(&self, trace_id: &str, limit: usize) -> StoreResult<Vec<SpanRow>> {
        let sql = format!(
            "SELECT {SPAN_COLUMNS} FROM {} WHERE trace_id = {{trace_id:String}} \
             ORDER BY timestamp, span_id LIMIT {{limit:UInt64}}",
            self.tables.spans
        );
        let query = self
            .client
            .query(&sql)
            .param("trace_id", trace_id.to_ascii_lowercase())
            .param("limit", limit as u64);
        let rows: Vec<SpanCh> = self.fetch(query).await?;
        Ok(rows.into_iter().map(SpanRow::from).collect())
    }

    async fn dependencies(&self, range: TimeRange) -> StoreResult<CallGraph> {
        self.call_graph(range).await
    }

    async fn logs(&self, q: &LogQuery) -> StoreResult<Vec<LogRow>> {
        if let Some(r) = &q.regex {
            // Fail fast with a clear message; ClickHouse (RE2) would too, less clearly.
            regex::Regex::new(r)
                .map_err(|e| StoreError::Invalid(format!("bad regex `{r}`: {e}")))?;
        }
        let mut sql = format!(
            "SELECT timestamp AS ts, trace_id, span_id, toString(severity_text) AS severity_text, \
             severity_number, body, \
             CAST(attributes_string, 'Map(String, String)') AS attributes_string, \
             CAST(attributes_number, 'Map(String, Float64)') AS attributes_number, \
             CAST(attributes_bool, 'Map(String, Bool)') AS attributes_bool, \
             CAST(resources_string, 'Map(String, String)') AS resources_string, scope_name \
             FROM {} WHERE {LOG_TIME}",
            self.log_source().await?
        );
        if q.service.is_some() {
            sql.push_str(" AND resources_string['service.name'] = {service:String}");
        }
        if q.min_severity.is_some() {
            // Records without a severity (JSON or logfmt the collector did not
            // parse) are judged by the level in their text, exactly as the
            // embedded store does. `?` is the crate's bind marker: doubled.
            sql.push_str(&format!(
                " AND (severity_number >= {{sev:UInt8}} OR (severity_number = 0 AND {} >= {{sev:UInt8}}))",
                crate::severity::SQL_EFFECTIVE_SEVERITY.replace('?', "??")
            ));
        }
        if q.contains.is_some() {
            sql.push_str(" AND (positionCaseInsensitive(body, {contains:String}) > 0");
            for key in crate::model::SEARCHED_EXCEPTION_KEYS {
                sql.push_str(&format!(
                    " OR positionCaseInsensitive(attributes_string['{key}'], {{contains:String}}) > 0"
                ));
            }
            sql.push(')');
        }
        if q.regex.is_some() {
            sql.push_str(" AND match(body, {regex:String})");
        }
        if q.trace_id.is_some() {
            sql.push_str(" AND trace_id = {trace_id:String}");
        }
        attr_conditions(&mut sql, &q.attributes);
        sql.push_str(match q.order {
            Order::Oldest => " ORDER BY timestamp, resources_string['service.name'], body",
            Order::Newest | Order::Slowest => {
                " ORDER BY timestamp DESC, resources_string['service.name'], body"
            }
        });
        sql.push_str(" LIMIT {limit:UInt64}");
        let mut query = self
            .client
            .query(&sql)
            .param("t0", q.range.start.max(0) as u64)
            .param("t1", q.range.end.max(0) as u64)
            .param("b0", (q.range.start / SECOND - BUCKET_SECONDS).max(0))
            .param("b1", q.range.end / SECOND)
            .param("limit", q.limit as u64);
        if let Some(s) = &q.service {
            query = query.param("service", s);
        }
        if let Some(n) = q.min_severity {
            query = query.param("sev", n);
        }
        if let Some(c) = &q.contains {
            query = query.param("contains", c);
        }
        if let Some(r) = &q.regex {
            query = query.param("regex", r);
        }
        if let Some(t) = &q.trace_id {
            query = query.param("trace_id", t.to_ascii_lowercase());
        }
        query = attr_params(query, &q.attributes);
        let rows: Vec<LogCh> = self.fetch(query).await?;
        Ok(rows
            .into_iter()
            .map(|r| LogRow {
                timestamp: r.ts as i64,
                trace_id: r.trace_id,
                span_id: r.span_id,
                severity_text: r.severity_text,
                severity_number: r.severity_number,
                body: r.body,
                attributes_string: r.attributes_string.into_iter().collect(),
                attributes_number: r.attributes_number.into_iter().collect(),
                attributes_bool: r.attributes_bool.into_iter().collect(),
                resources_string: r.resources_string.into_iter().collect(),
                scope_name: r.scope_name,
            })
            .collect())
    }

    async fn metrics(
        &self,
        range: TimeRange,
        contains: Option<&str>,
    ) -> StoreResult<Vec<MetricInfo>> {
        let mut sql = format!(
            "SELECT toString(metric_name) AS name, toString(any(type)) AS kind, \
             toString(any(unit)) AS m_unit, toString(any(temporality)) AS m_temporality, \
             any(is_monotonic) AS m_monotonic, uniqExact(fingerprint) AS series, \
             toString(any(description)) AS m_description FROM {} \
             WHERE unix_milli >= {{h0:Int64}} AND unix_milli < {{m1:Int64}}",
            self.tables.series
        );
        if contains.is_some() {
            sql.push_str(" AND positionCaseInsensitive(metric_name, {contains:String}) > 0");
        }
        sql.push_str(" GROUP BY metric_name ORDER BY name");
        let mut query = self
            .client
            .query(&sql)
            .param("h0", hour_floor_ms(range.start))
            .param("m1", ceil_ms(range.end));
        if let Some(c) = contains {
            query = query.param("contains", c);
        }
        let rows: Vec<MetricCh> = self.fetch(query).await?;
        Ok(rows
            .into_iter()
            .map(|r| MetricInfo {
                name: r.name,
                kind: r.kind,
                unit: r.m_unit,
                temporality: r.m_temporality,
                is_monotonic: r.m_monotonic,
                series: r.series,
                description: r.m_description,
            })
            .collect())
    }

    async fn metric_series(&self, q: &SeriesQuery) -> StoreResult<Vec<SeriesRow>> {
        let sql = format!(
            "SELECT toString(any(metric_name)) AS s_name, toString(any(temporality)) AS s_temporality, \
             toString(any(type)) AS s_kind, any(is_monotonic) AS s_monotonic, toString(any(unit)) AS s_unit, \
             toString(any(description)) AS s_description, fingerprint, any(labels) AS s_labels FROM {} \
             WHERE metric_name = {{metric:String}} AND unix_milli >= {{h0:Int64}} AND unix_milli < {{m1:Int64}} \
             GROUP BY fingerprint ORDER BY fingerprint LIMIT {{limit:UInt64}}",
            self.tables.series
        );
        let query = self
            .client
            .query(&sql)
            .param("metric", &q.metric)
            .param("h0", hour_floor_ms(q.range.start))
            .param("m1", ceil_ms(q.range.end))
            .param("limit", q.limit as u64);
        let rows: Vec<SeriesCh> = self.fetch(query).await?;
        Ok(rows.into_iter().map(SeriesCh::into_row).collect())
    }

    async fn metric_steps(&self, q: &MetricQuery) -> StoreResult<MetricSteps> {
        let mut sql = format!(
            "SELECT toString(any(metric_name)) AS s_name, toString(any(temporality)) AS s_temporality, \
             toString(any(type)) AS s_kind, any(is_monotonic) AS s_monotonic, toString(any(unit)) AS s_unit, \
             toString(any(description)) AS s_description, fingerprint, any(labels) AS s_labels FROM {} \
             WHERE metric_name = {{metric:String}} AND unix_milli >= {{h0:Int64}} AND unix_milli < {{m1:Int64}}",
            self.tables.series
        );
        for i in 0..q.filters.len() {
            sql.push_str(&format!(
                " AND JSONExtractString(labels, {{lk{i}:String}}) = {{lv{i}:String}}"
            ));
        }
        sql.push_str(" GROUP BY fingerprint ORDER BY fingerprint LIMIT {limit:UInt64}");
        let mut query = self
            .client
            .query(&sql)
            .param("metric", &q.metric)
            .param("h0", hour_floor_ms(q.range.start))
            .param("m1", ceil_ms(q.range.end))
            .param("limit", q.max_series as u64);
        for (i, f) in q.filters.iter().enumerate() {
            query = query
                .param(&format!("lk{i}"), &f.key)
                .param(&format!("lv{i}"), &f.value);
        }
        let series: Vec<SeriesCh> = self.fetch(query).await?;
        let series: BTreeMap<u64, SeriesRow> = series
            .into_iter()
            .map(|s| (s.fingerprint, s.into_row()))
            .collect();
        if series.is_empty() {
            return Ok(MetricSteps::default());
        }
        let step_ms = (q.step / 1_000_000).max(1);
        let start_ms = q.range.start / 1_000_000;
        // Flag bit 0 is OTLP's "no recorded value" (a series that ended: a
        // pod died). Such a sample holds 0 and would halve a gauge's last
        // step; SigNoz's query builder drops it the same way.
        let sql = format!(
            "SELECT fingerprint, toInt64(floor((unix_milli - {{s0:Int64}}) / {{step:Int64}})) AS step, \
             count() AS count, min(value) AS min, max(value) AS max, sum(value) AS sum, \
             argMax(value, unix_milli) AS last FROM {} \
             WHERE metric_name = {{metric:String}} AND fingerprint IN {{fps:Array(UInt64)}} \
             AND unix_milli >= {{m0:Int64}} AND unix_milli < {{m1:Int64}} \
             AND bitAnd(flags, 1) = 0 \
             GROUP BY fingerprint, step ORDER BY fingerprint, step",
            self.tables.samples
        );
        let fps: Vec<u64> = series.keys().copied().collect();
        let query = self
            .client
            .query(&sql)
            .param("s0", start_ms)
            .param("step", step_ms)
            .param("metric", &q.metric)
            .param("fps", fps)
            .param("m0", start_ms - step_ms)
            .param("m1", q.range.end / 1_000_000);
        let rows: Vec<StepCh> = self.fetch(query).await?;
        Ok(MetricSteps {
            series,
            steps: rows
                .into_iter()
                .map(|r| StepRow {
                    fingerprint: r.fingerprint,
                    step: r.step,
                    count: r.count,
                    min: r.min,
                    max: r.max,
                    sum: r.sum,
                    last: r.last,
                })
                .collect(),
        })
    }

    async fn raw_sql(&self, sql: &str, max_rows: usize) -> StoreResult<String> {
        // Lexically first, before anything reaches ClickHouse (even EXPLAIN):
        // no INTO OUTFILE, FORMAT, SETTINGS, SET/SYSTEM/KILL/…, no functions
        // that touch files or the network, one statement.
        guard::check_sql(sql)?;
        let sql = sql
            .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
            .trim();
        // Let ClickHouse's own parser say which tables the query reads.
        let explain = self.readonly(self.client.query_raw(&format!("EXPLAIN AST {sql}")), 1000);
        let ast = self.fetch_text(explain, "TSVRaw").await?;
        check_ast(&ast, sql, &self.config.raw_sql_tables)?;
        let query = self.readonly(self.client.query_raw(sql), max_rows);
        self.fetch_text(query, "TSVWithNames").await
    }
}

impl ClickHouseStore {
    fn readonly(&self, q: clickhouse::query::Query, max_rows: usize) -> clickhouse::query::Query {
        q.with_setting("readonly", "1")
            .with_setting("max_result_rows", max_rows.to_string())
            .with_setting(
                "max_result_bytes",
                self.config.raw_sql_max_bytes.to_string(),
            )
            .with_setting("result_overflow_mode", "break")
    }

    async fn fetch_text(&self, q: clickhouse::query::Query, format: &str) -> StoreResult<String> {
        let timeout = self.config.timeout;
        let limit = self.config.raw_sql_max_bytes;
        let work = async {
            let mut cursor = q.fetch_bytes(format).map_err(|e| self.ch_err(e))?;
            let mut out = Vec::new();
            while let Some(chunk) = cursor.next().await.map_err(|e| self.ch_err(e))? {
                out.extend_from_slice(&chunk);
                if out.len() > limit {
                    // Whole lines only: a row cut inside a value could cut a
                    // secret so that redaction no longer recognises it.
                    let keep = out[..limit]
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |i| i + 1);
                    out.truncate(keep);
                    break;
                }
            }
            Ok::<_, StoreError>(String::from_utf8_lossy(&out).into_owned())
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }
}
