//! The data both stores speak: SigNoz's rows, the questions asked of them and
//! the answers.
//!
//! Rows mirror SigNoz's ClickHouse columns (`signoz_logs.logs_v2`,
//! `signoz_traces.signoz_index_v3`, `signoz_metrics.time_series_v4` +
//! `samples_v4`) with the same names, so a `FORMAT JSONEachRow` export of those
//! tables loads into the embedded store as is, and the embedded store's
//! contents can seed a ClickHouse with exactly what the collector would have
//! written.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

/// One second in nanoseconds.
pub const SECOND: Nanos = 1_000_000_000;

/// A half-open time range `[start, end)` in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Nanos,
    /// Exclusive end.
    pub end: Nanos,
}

impl TimeRange {
    /// A range; `end` is raised to `start` when it is before it.
    pub fn new(start: Nanos, end: Nanos) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    /// Length in nanoseconds.
    pub fn len(&self) -> Nanos {
        self.end - self.start
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `ts` lies in the range.
    pub fn contains(&self, ts: Nanos) -> bool {
        ts >= self.start && ts < self.end
    }

    /// The range of the same length just before this one.
    pub fn previous(&self) -> Self {
        Self::new(self.start - self.len(), self.start)
    }

    /// This range and the one of the same length before it: where a
    /// service that records nothing in this range was last seen (a callee
    /// down for the whole window is the one its callers' unanswered calls
    /// are about, named by its address).
    pub fn with_previous(&self) -> Self {
        Self::new(self.previous().start, self.end)
    }
}

/// OTLP span kinds as SigNoz stores them in `kind` (Int8).
pub mod span_kind {
    /// Unspecified.
    pub const UNSPECIFIED: i8 = 0;
    /// Internal.
    pub const INTERNAL: i8 = 1;
    /// Server: a request received.
    pub const SERVER: i8 = 2;
    /// Client: a request sent.
    pub const CLIENT: i8 = 3;
    /// Producer: a message sent.
    pub const PRODUCER: i8 = 4;
    /// Consumer: a message received.
    pub const CONSUMER: i8 = 5;

    /// SigNoz's `kind_string` for a kind.
    pub fn name(kind: i8) -> &'static str {
        match kind {
            INTERNAL => "Internal",
            SERVER => "Server",
            CLIENT => "Client",
            PRODUCER => "Producer",
            CONSUMER => "Consumer",
            _ => "Unspecified",
        }
    }
}

/// The `service.name` among resource attributes (empty when missing).
fn service_name(resources: &BTreeMap<String, String>) -> &str {
    resources.get("service.name").map_or("", String::as_str)
}

/// A log record: a row of `signoz_logs.logs_v2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogRow {
    /// Event time, ns (`timestamp` UInt64).
    #[serde(deserialize_with = "crate::model::de_nanos")]
    pub timestamp: Nanos,
    /// Trace id, 32 hex digits or empty.
    pub trace_id: String,
    /// Span id, 16 hex digits or empty.
    pub span_id: String,
    /// `severity_text` as sent (`ERROR`, `Information`, …).
    pub severity_text: String,
    /// OTLP severity number 1–24 (0: unset).
    pub severity_number: u8,
    /// The log body.
    pub body: String,
    /// String attributes.
    pub attributes_string: BTreeMap<String, String>,
    /// Numeric attributes.
    pub attributes_number: BTreeMap<String, f64>,
    /// Boolean attributes.
    pub attributes_bool: BTreeMap<String, bool>,
    /// Resource attributes (`service.name`, `k8s.pod.name`, …).
    pub resources_string: BTreeMap<String, String>,
    /// Instrumentation scope name.
    pub scope_name: String,
}

impl LogRow {
    /// The record's `service.name`.
    pub fn service(&self) -> &str {
        service_name(&self.resources_string)
    }
}

/// A span: a row of `signoz_traces.signoz_index_v3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SpanRow {
    /// Start time, ns (`timestamp` DateTime64(9)).
    #[serde(deserialize_with = "crate::model::de_nanos")]
    pub timestamp: Nanos,
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Parent span id, empty for a root.
    pub parent_span_id: String,
    /// Operation name.
    pub name: String,
    /// OTLP span kind ([`span_kind`]).
    pub kind: i8,
    /// Duration, ns.
    pub duration_nano: u64,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status_code: i16,
    /// Status message (set on errors).
    pub status_message: String,
    /// Whether the span is an error (`status_code = 2`).
    pub has_error: bool,
    /// String attributes.
    pub attributes_string: BTreeMap<String, String>,
    /// Numeric attributes.
    pub attributes_number: BTreeMap<String, f64>,
    /// Boolean attributes.
    pub attributes_bool: BTreeMap<String, bool>,
    /// Resource attributes.
    pub resources_string: BTreeMap<String, String>,
    /// Span events as SigNoz stores them: one JSON object per event,
    /// `{"name":"exception","timeUnixNano":…,"attributeMap":{"exception.type":…}}`.
    pub events: Vec<String>,
}

impl SpanRow {
    /// The span's `service.name`.
    pub fn service(&self) -> &str {
        service_name(&self.resources_string)
    }
}

/// A metric time series: a row of `signoz_metrics.time_series_v4` (one per
/// series; SigNoz repeats it once per hour).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SeriesRow {
    /// The metric's name.
    pub metric_name: String,
    /// `Cumulative`, `Delta` or `Unspecified`.
    pub temporality: String,
    /// `Gauge`, `Sum`, `Histogram`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether a `Sum` only goes up (a counter).
    pub is_monotonic: bool,
    /// Unit, e.g. `ms`, `By`, `1`.
    pub unit: String,
    /// Description.
    pub description: String,
    /// Series id: a hash of name and labels.
    pub fingerprint: u64,
    /// All labels: point attributes, resource attributes and `__name__`.
    pub labels: BTreeMap<String, String>,
}

/// A sample: a row of `signoz_metrics.samples_v4`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SampleRow {
    /// Series id.
    pub fingerprint: u64,
    /// Time, ms since the epoch.
    pub unix_milli: i64,
    /// Value.
    pub value: f64,
    /// OTLP data point flags; bit 0 (`FLAG_NO_RECORDED_VALUE`) marks a
    /// sample without a value (a series that ended, e.g. a pod that died),
    /// which every reader skips, as SigNoz's own queries do.
    pub flags: u32,
}

impl SampleRow {
    /// Whether the sample carries a value (flag bit 0 clear).
    pub fn has_value(&self) -> bool {
        self.flags & 1 == 0
    }
}

/// Everything one store holds.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    /// Log records.
    pub logs: Vec<LogRow>,
    /// Spans.
    pub spans: Vec<SpanRow>,
    /// Metric series.
    pub series: Vec<SeriesRow>,
    /// Metric samples.
    pub samples: Vec<SampleRow>,
}

/// Accepts nanoseconds as an integer, a numeric string, or a
/// `YYYY-MM-DD hh:mm:ss[.fffffffff]` UTC string (ClickHouse's DateTime64 text).
pub(crate) fn de_nanos<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match &v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| serde::de::Error::custom("bad timestamp")),
        serde_json::Value::String(s) => parse_datetime_text(s)
            .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {s:?}"))),
        _ => Err(serde::de::Error::custom(
            "timestamp must be a number or string",
        )),
    }
}

/// Parses `YYYY-MM-DD[ T]hh:mm:ss[.fffffffff]` as UTC (ClickHouse's DateTime64
/// text), or a numeric string of nanoseconds. The model's own reading of
/// timestamps (rows from ClickHouse, recorded fixtures); `time` builds its
/// user-facing grammar on it, so the model needs nothing from `time`.
pub fn parse_datetime_text(text: &str) -> Option<Nanos> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let civil: jiff::civil::DateTime = text.replace(' ', "T").parse().ok()?;
    let ts = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Which spans count as a service's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanScope {
    /// Entry spans: kind Server or Consumer (what SigNoz's service list counts).
    #[default]
    Entry,
    /// Every span of the service.
    All,
}

/// How [`RedQuery`] rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedGroup {
    /// One row per service.
    #[default]
    Service,
    /// One row per operation (span name).
    Operation,
}

/// Rate, errors and duration of spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedQuery {
    /// Time range.
    pub range: TimeRange,
    /// Only this service.
    pub service: Option<String>,
    /// Which spans.
    pub scope: SpanScope,
    /// Grouping.
    pub group: RedGroup,
    /// Bucket width in ns; `None` for one bucket over the whole range.
    pub step: Option<Nanos>,
}

/// One row of a [`RedQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct RedRow {
    /// Service or operation name.
    pub key: String,
    /// Bucket start (ns), or the range start without a step.
    pub bucket: Nanos,
    /// Spans.
    pub calls: u64,
    /// Error spans.
    pub errors: u64,
    /// Median duration, ns.
    pub p50: f64,
    /// 95th percentile duration, ns.
    pub p95: f64,
    /// 99th percentile duration, ns.
    pub p99: f64,
}

/// Error spans grouped by operation and status message.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorQuery {
    /// Time range.
    pub range: TimeRange,
    /// The service.
    pub service: String,
    /// Most groups returned.
    pub limit: usize,
}

/// One group of error spans.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    /// Operation.
    pub operation: String,
    /// Status message.
    pub message: String,
    /// Spans.
    pub count: u64,
    /// The smallest trace id of the group (deterministic, for drilling down).
    pub trace_id: String,
}

/// An attribute filter `key=value`, matched against string, number and bool
/// attributes and the resource.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrFilter {
    /// Attribute key.
    pub key: String,
    /// Wanted value, as text.
    pub value: String,
}

impl AttrFilter {
    /// Parses `key=value`.
    pub fn parse(text: &str) -> Option<Self> {
        let (k, v) = text.split_once('=')?;
        let k = k.trim();
        (!k.is_empty()).then(|| Self {
            key: k.to_string(),
            value: v.trim().to_string(),
        })
    }

    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        self.value.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// The value as a boolean, when it is one.
    pub fn boolean(&self) -> Option<bool> {
        match self.value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// Whether a row's maps match.
    pub fn matches(
        &self,
        strings: &BTreeMap<String, String>,
        numbers: &BTreeMap<String, f64>,
        bools: &BTreeMap<String, bool>,
        resources: &BTreeMap<String, String>,
    ) -> bool {
        strings.get(&self.key) == Some(&self.value)
            || resources.get(&self.key) == Some(&self.value)
            || self
                .number()
                .is_some_and(|n| numbers.get(&self.key) == Some(&n))
            || self
                .boolean()
                .is_some_and(|b| bools.get(&self.key) == Some(&b))
    }
}

/// Order of returned records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Slowest first (spans only).
    Slowest,
}

/// The exception attributes `search_logs`' `contains` reads besides the body:
/// an exception-only record's text is in them, and the stack trace holds its
/// cause chain (`Caused by: … (max_client_conn)`, which a line shows as
/// `← caused by`). Both stores search the same ones.
pub const SEARCHED_EXCEPTION_KEYS: [&str; 3] = [
    "exception.message",
    "exception.type",
    "exception.stacktrace",
];

/// A log search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    /// Time range.
    pub range: TimeRange,
    /// Only this service.
    pub service: Option<String>,
    /// Only records at or above this OTLP severity number.
    pub min_severity: Option<u8>,
    /// Body or one of [`SEARCHED_EXCEPTION_KEYS`] contains this text,
    /// case-insensitively.
    pub contains: Option<String>,
    /// Body matches this regular expression (RE2 syntax).
    pub regex: Option<String>,
    /// Attribute filters, all must match.
    pub attributes: Vec<AttrFilter>,
    /// Only this trace.
    pub trace_id: Option<String>,
    /// Most records returned.
    pub limit: usize,
    /// Order (newest or oldest first).
    pub order: Order,
}

/// A span search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpanQuery {
    /// Time range.
    pub range: TimeRange,
    /// Only this service.
    pub service: Option<String>,
    /// Only this operation (exact name).
    pub operation: Option<String>,
    /// Only spans at least this long, ns.
    pub min_duration: Option<u64>,
    /// Only error spans.
    pub errors_only: bool,
    /// Attribute filters, all must match.
    pub attributes: Vec<AttrFilter>,
    /// Most spans returned.
    pub limit: usize,
    /// Newest, oldest or slowest first.
    pub order: Order,
}

/// A call-graph edge.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    /// Calling service.
    pub parent: String,
    /// Called service, or the database system for a client span to a
    /// database (`db.system`).
    pub child: String,
    /// Whether the callee is a database seen only from client spans.
    pub external: bool,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// 99th percentile duration of the callee's span, ns (of the caller's client spans
    /// when no call reached the callee).
    pub p99: f64,
    /// Calls the callee never recorded: client spans with no child span in another
    /// service (dropped by a NetworkPolicy, refused, denied at a sidecar, or a callee
    /// that is not traced). Counted in `calls` and `errors` too.
    pub unreached: u64,
    /// The database server (`server.address`, `net.peer.name`) of a database edge; empty
    /// when not recorded or not a database.
    pub server: String,
    /// 99th percentile duration of the caller's client spans, ns: of the answered calls
    /// whose parent span is a client span, raised to the p99 of the unanswered ones
    /// when those are at least 1% of the calls (a client-side 5 s dial timeout the
    /// callee's own spans never show). `None` when no client span was read (per-minute
    /// aggregates hold none).
    pub client_p99: Option<f64>,
    /// Unanswered client spans whose status or exception says the connection failed
    /// (timeout, refused, reset, unreachable: [`CONNECTION_ERROR_WORDS`]).
    pub conn_errors: u64,
    /// Errors the caller's client spans recorded: on the answered calls whose parent
    /// is a client span, plus the unanswered calls' errors. A caller that gives up
    /// after 1.5 s on a callee that answers OK after 3 s errs here only, never in
    /// `errors` (the callee's status). `None` when no client span was read
    /// (per-minute aggregates hold none).
    pub client_errors: Option<u64>,
}

impl EdgeRow {
    /// An edge between services that every callee answered: `calls` calls,
    /// `errors` of them failed, the callee's p99 `p99`; no client spans
    /// read. The stores set what else they know with struct update syntax.
    pub fn new(parent: String, child: String, calls: u64, errors: u64, p99: f64) -> Self {
        EdgeRow {
            parent,
            child,
            external: false,
            calls,
            errors,
            p99,
            unreached: 0,
            server: String::new(),
            client_p99: None,
            conn_errors: 0,
            client_errors: None,
        }
    }
}

/// Lower-case words of a client span's status message or exception event that mean the
/// connection failed rather than the callee answering badly. Both stores match them
/// (ClickHouse with `multiSearchAny` over the lower-cased text).
pub const CONNECTION_ERROR_WORDS: &[&str] = &[
    "timeout",
    "timed out",
    "refused",
    "reset by peer",
    "unreachable",
    "no route to host",
    "deadline exceeded",
    "econnrefused",
    "econnreset",
    "etimedout",
    "no such host",
    "broken pipe",
];

/// Whether `text` (a status message or an exception event) names a connection failure.
pub fn is_connection_error(text: &str) -> bool {
    // ASCII lower-casing, as ClickHouse's `lower` does.
    let lower = text.to_ascii_lowercase();
    CONNECTION_ERROR_WORDS.iter().any(|w| lower.contains(w))
}

/// Client spans of one caller to one peer that no span of another service answers, as
/// read from the spans (before the peer is resolved to a service).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreachedRow {
    /// Calling service.
    pub parent: String,
    /// The peer as the client span names it ([`peer_of`]).
    pub peer: String,
    /// Client spans.
    pub calls: u64,
    /// Of which errors.
    pub errors: u64,
    /// 99th percentile duration of the client spans, ns.
    pub p99: f64,
    /// Of which connection failures ([`is_connection_error`]).
    pub conn_errors: u64,
}

/// The attributes naming the peer of a client span, most specific first; the URL ones
/// are reduced to their host.
pub const PEER_ATTRIBUTES: [&str; 5] = [
    "peer.service",
    "server.address",
    "net.peer.name",
    "url.full",
    "http.url",
];

/// The peer a client span calls, from [`PEER_ATTRIBUTES`]: the first one set, a URL
/// reduced to its host (without port or credentials).
pub fn peer_of(attrs: &BTreeMap<String, String>) -> Option<String> {
    PEER_ATTRIBUTES.iter().find_map(|k| {
        let v = attrs.get(*k).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        if k.ends_with("url") || *k == "url.full" {
            url_host(v)
        } else {
            Some(v.to_string())
        }
    })
}

/// The host of a URL (`http://user@x.ns.svc:8080/path` → `x.ns.svc`).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // Up to the port, as the ClickHouse store's query does (an IPv6 literal is not named).
    let host = host.split(':').next().unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A peer as a service name (`services`: those seen in the window or the one before
/// it): itself when it is a service, else the first label of a
/// cluster DNS name (`payments.shop.svc.cluster.local`, `payments.shop.svc`,
/// `payments.shop`) when a service of that name exists, else the peer unchanged.
pub fn resolve_peer(peer: &str, services: &BTreeSet<String>) -> String {
    if services.contains(peer) {
        return peer.to_string();
    }
    let lower = peer.trim_end_matches('.').to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    let cluster_name = parts.len() == 2
        || (parts.len() >= 3 && parts[2] == "svc")
        || (parts.len() >= 3 && parts[2] == "pod");
    if cluster_name
        && let Some(first) = parts.first()
        && let Some(s) = services.iter().find(|s| s.eq_ignore_ascii_case(first))
    {
        return s.clone();
    }
    peer.to_string()
}

/// Adds calls no callee answered to `edges`: each peer resolved to a service
/// ([`resolve_peer`]), its calls and errors added to the edge to that service (created
/// when there is none, with the client spans' p99). Keeps `edges` sorted.
pub fn merge_unreached(
    edges: &mut Vec<EdgeRow>,
    unreached: Vec<UnreachedRow>,
    services: &BTreeSet<String>,
) {
    for u in unreached {
        let child = resolve_peer(&u.peer, services);
        if child == u.parent {
            continue;
        }
        match edges
            .iter_mut()
            .find(|e| !e.external && e.parent == u.parent && e.child == child)
        {
            Some(e) => {
                let fresh = e.calls == e.unreached;
                e.calls += u.calls;
                e.errors += u.errors;
                e.unreached += u.calls;
                e.conn_errors += u.conn_errors;
                e.client_errors = Some(e.client_errors.unwrap_or(0) + u.errors);
                if fresh {
                    e.p99 = e.p99.max(u.p99);
                }
                if fresh || u.calls * 100 >= e.calls {
                    e.client_p99 = Some(e.client_p99.map_or(u.p99, |c| c.max(u.p99)));
                }
            }
            None => edges.push(EdgeRow {
                unreached: u.calls,
                client_p99: Some(u.p99),
                conn_errors: u.conn_errors,
                client_errors: Some(u.errors),
                ..EdgeRow::new(u.parent, child, u.calls, u.errors, u.p99)
            }),
        }
    }
    edges.sort_by(|x, y| {
        (&x.parent, &x.child, x.external, &x.server)
            .cmp(&(&y.parent, &y.child, y.external, &y.server))
    });
}

/// The call graph of a window, and where it was read from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallGraph {
    /// Edges sorted by parent, child, external.
    pub edges: Vec<EdgeRow>,
    /// The window the edges cover: the one asked for, or its whole minutes
    /// when read from per-minute aggregates.
    pub range: TimeRange,
    /// Read from SigNoz's per-minute aggregates (`dependency_graph_minutes_v2`)
    /// rather than joined from raw spans.
    pub aggregated: bool,
}

/// A metric's description.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    /// Name.
    pub name: String,
    /// `Gauge`, `Sum`, `Histogram`, …
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Temporality.
    pub temporality: String,
    /// Counter (monotonic sum).
    pub is_monotonic: bool,
    /// Number of series.
    pub series: u64,
    /// Description.
    pub description: String,
}

/// Which series of a metric to list.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesQuery {
    /// Metric name.
    pub metric: String,
    /// Time range: series with samples in it.
    pub range: TimeRange,
    /// Most series.
    pub limit: usize,
}

/// A metric query: per-series values reduced per step.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// Metric name.
    pub metric: String,
    /// Label filters (`key=value` on the series labels), all must match.
    pub filters: Vec<AttrFilter>,
    /// Time range.
    pub range: TimeRange,
    /// Step, ns (a multiple of one millisecond).
    pub step: Nanos,
    /// Most series.
    pub max_series: usize,
}

/// One series' samples reduced in one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Series id.
    pub fingerprint: u64,
    /// Step index from the range start.
    pub step: i64,
    /// Samples.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of values.
    pub sum: f64,
    /// Value of the latest sample.
    pub last: f64,
}

/// A metric's series and their per-step reductions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSteps {
    /// The series that matched, by fingerprint.
    pub series: BTreeMap<u64, SeriesRow>,
    /// Per-series, per-step reductions, sorted by fingerprint then step.
    pub steps: Vec<StepRow>,
}
