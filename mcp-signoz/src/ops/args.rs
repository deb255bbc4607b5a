//! The argument structs of the tools: each is also the MCP tool's input
//! schema, so its field docs are what a model reads.

use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `services`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicesArgs {
    /// Window start: `now-15m` (default), `-1h`, RFC 3339 or epoch seconds.
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
}

/// Arguments of `service_health`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthArgs {
    /// Service name (resource attribute service.name).
    pub service: String,
    /// Window start (default `now-15m`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
    /// Length of the baseline window (default `1h`). It ends where the window starts;
    /// with the default window (no `from`/`to`) it ends instead where the change the
    /// window shows began, when that was earlier (the output says so).
    pub baseline: Option<String>,
    /// Bucket width for the time series, e.g. `1m` (default: about 15 buckets).
    pub step: Option<String>,
}

/// Arguments of `search_logs`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// Only this service (service.name).
    pub service: Option<String>,
    /// Minimum severity: trace, debug, info, warn, error or fatal.
    pub severity: Option<String>,
    /// Body, exception type, message or stack trace (its cause chain) contains this text (case-insensitive).
    pub contains: Option<String>,
    /// Body matches this regular expression (RE2 syntax).
    pub regex: Option<String>,
    /// Attribute filters `key=value` (log or resource attributes), all must match.
    pub attributes: Option<Vec<String>>,
    /// Only logs of this trace id.
    pub trace_id: Option<String>,
    /// Window start (default `now-15m`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
    /// Most records (default 100, at most 1000).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// `newest` (default) or `oldest` first.
    pub order: Option<String>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<u32>,
}

/// Arguments of `log_patterns`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternsArgs {
    /// Only this service (service.name); all services when absent.
    pub service: Option<String>,
    /// Minimum severity: trace, debug, info, warn, error or fatal.
    pub severity: Option<String>,
    /// Body, exception type, message or stack trace (its cause chain) contains this text (case-insensitive).
    pub contains: Option<String>,
    /// Attribute filters `key=value`, all must match.
    pub attributes: Option<Vec<String>>,
    /// Incident window start (default `now-15m`).
    pub from: Option<String>,
    /// Incident window end (default `now`).
    pub to: Option<String>,
    /// Length of the baseline window just before (default `1h`; `0` for none).
    pub baseline: Option<String>,
    /// Most templates shown (default 25).
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
}

/// Arguments of `search_traces`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TracesArgs {
    /// Only spans of this service.
    pub service: Option<String>,
    /// Only spans with this operation (span name), exactly.
    pub operation: Option<String>,
    /// Only spans at least this long, e.g. `500ms`, `2s`.
    pub min_duration: Option<String>,
    /// Only error spans.
    pub errors_only: Option<bool>,
    /// Attribute filters `key=value` (span or resource attributes), all must match.
    pub attributes: Option<Vec<String>>,
    /// Window start (default `now-15m`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
    /// Most spans (default 50, at most 500).
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
    /// `newest` (default), `oldest` or `slowest` first.
    pub order: Option<String>,
    /// Continue a cut result: the cursor from its footer.
    pub cursor: Option<u32>,
}

/// Arguments of `get_trace`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceArgs {
    /// Trace id: 32 hex digits.
    pub trace_id: String,
}

/// Arguments of `service_dependencies`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DepsArgs {
    /// Window start (default `now-15m`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
    /// Only edges touching this service.
    pub service: Option<String>,
}

/// Arguments of `list_metrics`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsArgs {
    /// Only metrics whose name contains this (case-insensitive).
    pub contains: Option<String>,
    /// Show this metric's labels and their values instead of the list.
    pub metric: Option<String>,
    /// Window start (default `now-1h`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
}

/// Arguments of `query_metric`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricArgs {
    /// Metric name, e.g. `http.server.request.count`.
    pub metric: String,
    /// Label filters `key=value`, all must match.
    pub filters: Option<Vec<String>>,
    /// Labels to group by (default: one total).
    pub group_by: Option<Vec<String>>,
    /// Across series: sum, avg, min or max (default: sum for counters, avg otherwise).
    pub aggregation: Option<String>,
    /// Per-second rate of a counter (default: true for counters).
    pub rate: Option<bool>,
    /// Step, e.g. `1m` (default: about 15 steps).
    pub step: Option<String>,
    /// Window start (default `now-1h`).
    pub from: Option<String>,
    /// Window end (default `now`).
    pub to: Option<String>,
}

/// Arguments of `query_sql`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlArgs {
    /// One read-only SELECT on SigNoz's tables (logs_v2, signoz_index_v3, time_series_v4, samples_v4).
    pub sql: String,
    /// Most rows returned (default 100, at most 10000).
    #[schemars(range(min = 1, max = 10000))]
    pub max_rows: Option<u32>,
}
