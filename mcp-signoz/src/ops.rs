//! The tools, as plain async functions over any [`Store`]: what the MCP server
//! exposes and what the orchestrator calls in-process.
//!
//! Each takes an argument struct (the same one the MCP tool's schema is made
//! from) and returns compact text, or an [`OpError`] whose message says what to
//! change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use log_patterns::{ChangeKind, CompareOptions, Window, WindowedMiner};
use mcp_kit::budget::Budget;
use mcp_kit::untrusted;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{
    AttrFilter, ErrorQuery, LogQuery, MetricQuery, Nanos, Order, RedGroup, RedQuery, RedRow,
    SECOND, SpanQuery, SpanScope, TimeRange, span_kind,
};
use crate::render::{Table, num, one_line, pct, rate};
use crate::severity::effective_severity;
use crate::store::{Store, StoreError};
use crate::structured::log_view;
use crate::time::{self, fmt_duration, fmt_hms, fmt_range, fmt_span, fmt_ts};
pub use crate::trace_view::render_trace;
use crate::trace_view::{error_detail, status};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A time could not be read.
    #[error(transparent)]
    Time(#[from] time::TimeError),
    /// An argument is wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Result of a tool.
pub type OpResult = Result<String, OpError>;

/// Limits of the tools.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Response budget (results are paged to fit it).
    pub budget: Budget,
    /// Most log lines mined per window by `log_patterns`.
    pub max_pattern_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            budget: Budget::default(),
            max_pattern_lines: 100_000,
        }
    }
}

/// The SigNoz tools over a store.
#[derive(Debug, Clone)]
pub struct Signoz<S> {
    store: S,
    limits: Limits,
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

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
    /// Body, exception type or exception message contains this text (case-insensitive).
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
    /// Body, exception type or exception message contains this text (case-insensitive).
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

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const MINUTE: Nanos = 60 * SECOND;

fn attrs(list: &Option<Vec<String>>) -> Result<Vec<AttrFilter>, OpError> {
    list.iter()
        .flatten()
        .map(|s| {
            AttrFilter::parse(s).ok_or_else(|| {
                OpError::Invalid(format!("attribute filter `{s}` must be key=value"))
            })
        })
        .collect()
}

/// Severity name → lowest OTLP severity number.
pub fn severity_number(name: &str) -> Result<u8, OpError> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "trace" => 1,
        "debug" => 5,
        "info" | "information" => 9,
        "warn" | "warning" => 13,
        "error" | "err" => 17,
        "fatal" | "critical" => 21,
        other => {
            return Err(OpError::Invalid(format!(
                "severity `{other}`: use trace, debug, info, warn, error or fatal"
            )));
        }
    })
}

fn order(text: Option<&str>, spans: bool) -> Result<Order, OpError> {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("newest") | Some("desc") => Ok(Order::Newest),
        Some("oldest") | Some("asc") => Ok(Order::Oldest),
        Some("slowest") if spans => Ok(Order::Slowest),
        Some(o) => Err(OpError::Invalid(format!(
            "order `{o}`: use newest, oldest{}",
            if spans { " or slowest" } else { "" }
        ))),
    }
}

fn duration_arg(text: &str, what: &str) -> Result<Nanos, OpError> {
    time::parse_duration(text).map_err(|e| OpError::Invalid(format!("{what}: {e}")))
}

/// A step giving about `n` buckets, rounded to a friendly size.
fn auto_step(range: TimeRange, n: i64) -> Nanos {
    let raw = (range.len() / n).max(SECOND);
    const STEPS: [Nanos; 12] = [
        SECOND,
        5 * SECOND,
        10 * SECOND,
        15 * SECOND,
        30 * SECOND,
        MINUTE,
        2 * MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        60 * MINUTE,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= raw)
        .unwrap_or(60 * MINUTE)
}

/// Frames `body` as untrusted data unless it is empty.
fn framed(source: &str, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        untrusted::frame(source, body)
    }
}

impl<S: Store> Signoz<S> {
    /// Tools over `store` with `limits`.
    pub fn new(store: S, limits: Limits) -> Self {
        Self { store, limits }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    async fn window(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        default: Nanos,
    ) -> Result<TimeRange, OpError> {
        let now = self.store.now().await?;
        let (start, end) = time::bounds(from, to, now, default)?;
        if end <= start {
            return Err(OpError::Invalid(format!(
                "empty time range: from {}Z is not before to {}Z; `from` must be before `to`",
                fmt_ts(start),
                fmt_ts(end)
            )));
        }
        Ok(TimeRange::new(start, end))
    }

    /// Pages `lines` under `header` to the budget, framing the lines as
    /// untrusted data and keeping the footer outside the frame.
    fn paged(
        &self,
        intro: &str,
        source: &str,
        header: &str,
        lines: &[String],
        cursor: usize,
        narrow: &str,
    ) -> String {
        let budget = Budget::new(
            self.limits
                .budget
                .max_tokens()
                .saturating_sub(60 + intro.len() / 3),
        );
        let page = budget.page(header, lines, cursor, narrow);
        let (body, footer) = match page.text.rfind("\n[truncated by the response budget") {
            Some(i) if page.next_cursor.is_some() => {
                (page.text[..i].to_string(), page.text[i..].to_string())
            }
            _ => (page.text, String::new()),
        };
        format!("{intro}\n{}{footer}", framed(source, &body))
    }

    // -----------------------------------------------------------------------
    // services
    // -----------------------------------------------------------------------

    /// Every service's request rate, error rate and latency from its entry
    /// spans, worst first.
    pub async fn services(&self, a: &ServicesArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let mut rows = self
            .store
            .red(&RedQuery {
                range,
                service: None,
                scope: SpanScope::Entry,
                group: RedGroup::Service,
                step: None,
            })
            .await?;
        if rows.is_empty() {
            return Ok(format!(
                "No entry spans (kind Server or Consumer) in {}. Widen the window with `from`.",
                fmt_range(&range)
            ));
        }
        rows.sort_by(|a, b| {
            let ea = a.errors as f64 / a.calls.max(1) as f64;
            let eb = b.errors as f64 / b.calls.max(1) as f64;
            eb.total_cmp(&ea)
                .then(b.calls.cmp(&a.calls))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut t = Table::new(&[
            "SERVICE", ">RATE", ">CALLS", ">ERRORS", ">ERR%", ">P50", ">P95", ">P99",
        ]);
        for r in &rows {
            t.row(vec![
                r.key.clone(),
                rate(r.calls, range.len()),
                r.calls.to_string(),
                r.errors.to_string(),
                pct(r.errors, r.calls),
                fmt_duration(r.p50),
                fmt_duration(r.p95),
                fmt_duration(r.p99),
            ]);
        }
        Ok(format!(
            "Services in {} — entry spans (Server/Consumer), worst error rate first\n{}",
            fmt_range(&range),
            t.render()
        ))
    }

    // -----------------------------------------------------------------------
    // service_health
    // -----------------------------------------------------------------------

    /// One service: RED in time buckets against a baseline window, its top
    /// erroring operations and top error messages.
    pub async fn service_health(&self, a: &HealthArgs) -> OpResult {
        if a.service.trim().is_empty() {
            return Err(OpError::Invalid("`service` must not be empty".into()));
        }
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let base_len = match &a.baseline {
            Some(b) => duration_arg(b, "baseline")?,
            None => 60 * MINUTE,
        };
        let default_window = a.from.is_none() && a.to.is_none();
        let step = match &a.step {
            Some(s) => duration_arg(s, "step")?.max(SECOND),
            None => auto_step(range, 15),
        };
        let q = |range, step, group, scope| RedQuery {
            range,
            service: Some(a.service.clone()),
            scope,
            group,
            step,
        };
        let now_rows = self
            .store
            .red(&q(range, None, RedGroup::Service, SpanScope::Entry))
            .await?;
        // The default window's baseline ends before the change the window shows, when
        // that began earlier (see `baseline`); a chosen window keeps it just before.
        let (baseline, onset) = if default_window {
            let lookback = TimeRange::new(range.start - crate::baseline::LOOKBACK, range.start);
            let steps = self
                .store
                .red(&q(
                    lookback,
                    Some(crate::baseline::STEP),
                    RedGroup::Service,
                    SpanScope::Entry,
                ))
                .await?;
            crate::baseline::default_baseline(range, now_rows.first(), &steps, base_len)
        } else {
            (TimeRange::new(range.start - base_len, range.start), None)
        };
        let base_rows = self
            .store
            .red(&q(baseline, None, RedGroup::Service, SpanScope::Entry))
            .await?;
        let buckets = self
            .store
            .red(&q(range, Some(step), RedGroup::Service, SpanScope::Entry))
            .await?;
        let mut ops = self
            .store
            .red(&q(range, None, RedGroup::Operation, SpanScope::All))
            .await?;
        let errors = self
            .store
            .errors(&ErrorQuery {
                range,
                service: a.service.clone(),
                limit: 10,
            })
            .await?;
        let cur = now_rows.first();
        let base = base_rows.first();
        if cur.is_none() && base.is_none() && ops.is_empty() {
            return Ok(format!(
                "No spans for service `{}` in {} or its {} baseline. Check the name with `services`.",
                a.service,
                fmt_range(&range),
                fmt_span(base_len)
            ));
        }
        let mut out = format!(
            "Service {} — window {} vs baseline {}\n",
            a.service,
            fmt_range(&range),
            fmt_range(&baseline)
        );
        if let Some(onset) = onset {
            out.push_str(&format!(
                "Baseline: moved to end at {}Z, where the window's change began ({} before the window already look like it); pass from/to to compare other windows\n",
                fmt_hms(onset),
                fmt_span(range.start - onset)
            ));
        }
        // Summary.
        let mut t = Table::new(&["", ">RATE", ">CALLS", ">ERR%", ">P50", ">P95", ">P99"]);
        let summary = |label: &str, r: Option<&RedRow>, len: Nanos| match r {
            Some(r) => vec![
                label.to_string(),
                rate(r.calls, len),
                r.calls.to_string(),
                pct(r.errors, r.calls),
                fmt_duration(r.p50),
                fmt_duration(r.p95),
                fmt_duration(r.p99),
            ],
            None => vec![label.to_string(), "0/s".into(), "0".into()],
        };
        t.row(summary("window", cur, range.len()));
        t.row(summary("baseline", base, baseline.len()));
        out.push_str(&t.render());
        out.push('\n');
        out.push_str(&verdict(cur, base, range.len(), baseline.len()));
        out.push('\n');
        // Buckets.
        if !buckets.is_empty() {
            out.push_str(&format!("\nEntry spans per {}:\n", fmt_span(step)));
            let mut t = Table::new(&["TIME", ">CALLS", ">ERRORS", ">ERR%", ">P50", ">P99"]);
            let by_bucket: BTreeMap<Nanos, &RedRow> =
                buckets.iter().map(|r| (r.bucket, r)).collect();
            let mut b = range.start;
            while b < range.end {
                match by_bucket.get(&b) {
                    Some(r) => t.row(vec![
                        fmt_hms(b),
                        r.calls.to_string(),
                        r.errors.to_string(),
                        pct(r.errors, r.calls),
                        fmt_duration(r.p50),
                        fmt_duration(r.p99),
                    ]),
                    None => t.row(vec![fmt_hms(b), "0".into(), "0".into(), "-".into()]),
                }
                b += step;
            }
            out.push_str(&t.render());
            out.push('\n');
        }
        // Operations.
        ops.retain(|o| o.errors > 0);
        ops.sort_by(|a, b| b.errors.cmp(&a.errors).then_with(|| a.key.cmp(&b.key)));
        if ops.is_empty() {
            out.push_str("\nNo error spans in the window.");
            return Ok(out);
        }
        out.push_str("\nTop erroring operations (all spans of the service):\n");
        let mut t = Table::new(&["OPERATION", ">CALLS", ">ERRORS", ">ERR%", ">P99"]);
        for o in ops.iter().take(8) {
            t.row(vec![
                o.key.clone(),
                o.calls.to_string(),
                o.errors.to_string(),
                pct(o.errors, o.calls),
                fmt_duration(o.p99),
            ]);
        }
        out.push_str(&t.render());
        if !errors.is_empty() {
            out.push_str("\n\nTop error messages (span status):\n");
            let mut t = Table::new(&[">COUNT", "OPERATION", "EXAMPLE TRACE", "MESSAGE"]);
            for e in &errors {
                t.row(vec![
                    e.count.to_string(),
                    e.operation.clone(),
                    e.trace_id.clone(),
                    one_line(
                        if e.message.is_empty() {
                            "(no message)"
                        } else {
                            &e.message
                        },
                        200,
                    ),
                ]);
            }
            out.push_str(&framed("span status messages", &t.render()));
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------
    // logs
    // -----------------------------------------------------------------------

    fn log_query(
        &self,
        range: TimeRange,
        service: &Option<String>,
        severity: &Option<String>,
        contains: &Option<String>,
        attributes: &Option<Vec<String>>,
    ) -> Result<LogQuery, OpError> {
        Ok(LogQuery {
            range,
            service: service.clone().filter(|s| !s.is_empty()),
            min_severity: severity
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(severity_number)
                .transpose()?,
            contains: contains.clone().filter(|s| !s.is_empty()),
            attributes: attrs(attributes)?,
            ..LogQuery::default()
        })
    }

    /// Log records, one line each.
    pub async fn search_logs(&self, a: &LogsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let limit = a.limit.unwrap_or(100).clamp(1, 1000) as usize;
        let order = order(a.order.as_deref(), false)?;
        let mut q = self.log_query(range, &a.service, &a.severity, &a.contains, &a.attributes)?;
        q.regex = a.regex.clone().filter(|s| !s.is_empty());
        q.trace_id = a.trace_id.clone().filter(|s| !s.is_empty());
        q.limit = limit;
        q.order = order;
        let rows = self.store.logs(&q).await?;
        if rows.is_empty() {
            return Ok(format!(
                "No logs match in {}. Widen the window (`from`) or loosen the filters.",
                fmt_range(&range)
            ));
        }
        let svc_width = rows.iter().map(|r| r.service().len()).max().unwrap_or(0);
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                // Structured bodies and exception attributes read as
                // `message — Type: error (top frame) key=value…`; plain
                // bodies as they are.
                let mut line = format!(
                    "{} {:<5} {:<svc_width$} {}",
                    fmt_ts(r.timestamp),
                    sev_short(&r.severity_text, effective_severity(r)),
                    r.service(),
                    one_line(&log_view(r).record_line(), 2000)
                );
                if !r.trace_id.is_empty() {
                    line.push_str(&format!(" trace={}", r.trace_id));
                }
                line
            })
            .collect();
        let more = if rows.len() == limit {
            format!(" (limit {limit} reached; raise `limit` or narrow the window)")
        } else {
            String::new()
        };
        let intro = format!(
            "{} log records in {}, {} first{more}",
            rows.len(),
            fmt_range(&range),
            if order == Order::Oldest {
                "oldest"
            } else {
                "newest"
            }
        );
        Ok(self.paged(
            &intro,
            "signoz logs",
            "",
            &lines,
            a.cursor.unwrap_or(0) as usize,
            "service, severity, contains, a shorter window, a lower limit",
        ))
    }

    /// Log templates in a window, each marked NEW, SURGED, GONE or STEADY
    /// against a baseline window just before it.
    pub async fn log_patterns(&self, a: &PatternsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let base_len = match a.baseline.as_deref() {
            // `0` is a duration like any other; `none` says the same in words.
            Some("none") => 0,
            Some(b) => duration_arg(b, "baseline")?,
            None => 60 * MINUTE,
        };
        let baseline = TimeRange::new(range.start - base_len, range.start);
        let cap = self.limits.max_pattern_lines;
        let mut q = self.log_query(range, &a.service, &a.severity, &a.contains, &a.attributes)?;
        q.limit = cap;
        q.order = Order::Oldest;
        let incident = self.store.logs(&q).await?;
        let base_rows = if base_len > 0 {
            q.range = baseline;
            self.store.logs(&q).await?
        } else {
            Vec::new()
        };
        if incident.is_empty() && base_rows.is_empty() {
            return Ok(format!(
                "No logs match in {} or the baseline. Widen the window or loosen the filters.",
                fmt_range(&range)
            ));
        }
        let mut miner = WindowedMiner::default();
        // Templates are mined from the readable text (message plus error,
        // see `structured`), so JSON timestamps do not split a template and a
        // new exception behind an old message is a new template.
        // Per raw template id: services, and the first incident line (time,
        // readable line, trace).
        let mut services: HashMap<u32, BTreeSet<String>> = HashMap::new();
        let mut firsts: HashMap<u32, (Nanos, String, &str)> = HashMap::new();
        for r in &base_rows {
            let text = log_view(r).template_text();
            let id = miner.add_at(Window::Baseline, &text, r.timestamp / 1_000_000);
            services
                .entry(id.0)
                .or_default()
                .insert(r.service().to_string());
        }
        for r in &incident {
            let view = log_view(r);
            let id = miner.add_at(
                Window::Incident,
                &view.template_text(),
                r.timestamp / 1_000_000,
            );
            services
                .entry(id.0)
                .or_default()
                .insert(r.service().to_string());
            firsts
                .entry(id.0)
                .or_insert_with(|| (r.timestamp, view.line(), r.trace_id.as_str()));
        }
        let changes = miner.compare(&CompareOptions {
            baseline_span_ms: (base_len > 0).then_some((base_len / 1_000_000) as u64),
            incident_span_ms: Some((range.len() / 1_000_000) as u64),
            ..CompareOptions::default()
        });
        // Fold per-id extras onto surviving templates.
        let root = |id: u32| miner.miner().resolve(log_patterns::TemplateId(id)).0;
        let mut svc_by_root: HashMap<u32, BTreeSet<String>> = HashMap::new();
        for (id, s) in services {
            svc_by_root.entry(root(id)).or_default().extend(s);
        }
        let mut first_by_root: HashMap<u32, (Nanos, String, &str)> = HashMap::new();
        for (id, f) in firsts {
            match first_by_root.entry(root(id)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(f);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    if (f.0, &f.1) < (o.get().0, &o.get().1) {
                        o.insert(f);
                    }
                }
            }
        }
        let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
        let limit = a.limit.unwrap_or(25).clamp(1, 500) as usize;
        let mut intro = format!(
            "Log patterns: {} lines in {} vs {} in the {} baseline before it; {} templates: {} NEW, {} SURGED, {} GONE, {} STEADY",
            incident.len(),
            fmt_range(&range),
            base_rows.len(),
            fmt_span(base_len),
            changes.len(),
            count(ChangeKind::New),
            count(ChangeKind::Surged),
            count(ChangeKind::Gone),
            count(ChangeKind::Steady),
        );
        if incident.len() == cap || base_rows.len() == cap {
            intro.push_str(&format!(
                "\n(only the first {cap} lines of a window were mined; narrow the filters for exact counts)"
            ));
        }
        if base_len == 0 {
            intro.push_str("\n(no baseline: every template is NEW)");
        }
        let mut t = Table::new(&[
            "KIND", ">BASE", ">NOW", ">RATIO", "FIRST", "LAST", "SERVICES", "TEMPLATE",
        ]);
        let mut samples = Vec::new();
        for c in changes.iter().take(limit) {
            let kind = match c.kind {
                ChangeKind::New => "NEW",
                ChangeKind::Surged => "SURGED",
                ChangeKind::Gone => "GONE",
                ChangeKind::Steady => "STEADY",
            };
            let svcs = svc_by_root
                .get(&c.id.0)
                .map(|s| s.iter().cloned().collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            let ts = |ms: Option<i64>| ms.map_or("-".to_string(), |m| fmt_hms(m * 1_000_000));
            t.row(vec![
                kind.to_string(),
                c.baseline_count.to_string(),
                c.incident_count.to_string(),
                c.ratio.map_or("-".into(), |r| format!("{}x", num(r))),
                ts(c.incident_first_seen),
                ts(c.incident_last_seen),
                svcs,
                one_line(&c.template, 300),
            ]);
            if matches!(c.kind, ChangeKind::New | ChangeKind::Surged)
                && samples.len() < 5
                && let Some((ts, line, trace)) = first_by_root.get(&c.id.0)
            {
                let trace = if trace.is_empty() {
                    String::new()
                } else {
                    format!(" trace={trace}")
                };
                samples.push(format!(
                    "{kind} {}: {}{trace}",
                    fmt_hms(*ts),
                    one_line(line, 500)
                ));
            }
        }
        let mut body = t.render();
        if changes.len() > limit {
            body.push_str(&format!(
                "\n… {} more templates (raise `limit`)",
                changes.len() - limit
            ));
        }
        if !samples.is_empty() {
            body.push_str("\n\nFirst line of each NEW/SURGED template in the window:\n");
            body.push_str(&samples.join("\n"));
        }
        Ok(format!(
            "{intro}\nRATIO is the rate in the window over the baseline rate; FIRST/LAST are in the window (UTC).\n{}",
            framed("log templates", &body)
        ))
    }

    // -----------------------------------------------------------------------
    // traces
    // -----------------------------------------------------------------------

    /// Spans matching a search, one line each.
    pub async fn search_traces(&self, a: &TracesArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let limit = a.limit.unwrap_or(50).clamp(1, 500) as usize;
        let order = order(a.order.as_deref(), true)?;
        let q = SpanQuery {
            range,
            service: a.service.clone().filter(|s| !s.is_empty()),
            operation: a.operation.clone().filter(|s| !s.is_empty()),
            min_duration: a
                .min_duration
                .as_deref()
                .map(|d| duration_arg(d, "min_duration").map(|n| n.max(0) as u64))
                .transpose()?,
            errors_only: a.errors_only.unwrap_or(false),
            attributes: attrs(&a.attributes)?,
            limit,
            order,
        };
        let rows = self.store.spans(&q).await?;
        if rows.is_empty() {
            return Ok(format!(
                "No spans match in {}. Widen the window or loosen the filters.",
                fmt_range(&range)
            ));
        }
        let mut t = Table::new(&[
            "TIME",
            "TRACE",
            "SERVICE",
            "OPERATION",
            "KIND",
            ">DURATION",
            "STATUS",
        ]);
        for s in &rows {
            t.row(vec![
                fmt_ts(s.timestamp),
                s.trace_id.clone(),
                s.service().to_string(),
                s.name.clone(),
                span_kind::name(s.kind).to_string(),
                fmt_duration(s.duration_nano as f64),
                status(s),
            ]);
        }
        let (header, mut lines) = t.lines();
        // An error span's exception goes under its row, in the same page.
        for (line, s) in lines.iter_mut().zip(&rows) {
            if let Some(d) = error_detail(s) {
                line.push_str("\n  ");
                line.push_str(&d);
            }
        }
        let intro = format!(
            "{} spans in {}, {} first{}",
            rows.len(),
            fmt_range(&range),
            match order {
                Order::Newest => "newest",
                Order::Oldest => "oldest",
                Order::Slowest => "slowest",
            },
            if rows.len() == limit {
                format!(" (limit {limit} reached)")
            } else {
                String::new()
            }
        );
        Ok(self.paged(
            &intro,
            "signoz spans",
            &header,
            &lines,
            a.cursor.unwrap_or(0) as usize,
            "service, operation, errors_only, min_duration, a shorter window",
        ))
    }

    /// One trace as a span tree with the critical path and errors marked.
    pub async fn get_trace(&self, a: &TraceArgs) -> OpResult {
        let id = a.trace_id.trim().to_ascii_lowercase();
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(OpError::Invalid(format!(
                "trace_id `{}` must be 32 hex digits",
                a.trace_id
            )));
        }
        const MAX_SPANS: usize = 2000;
        let spans = self.store.trace(&id, MAX_SPANS).await?;
        if spans.is_empty() {
            return Ok(format!("Trace {id} not found."));
        }
        Ok(render_trace(&id, &spans, spans.len() == MAX_SPANS))
    }

    /// The service call graph with calls, errors and p99 per edge.
    pub async fn service_dependencies(&self, a: &DepsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let graph = self.store.dependencies(range).await?;
        // Per-minute aggregates answer for the window's whole minutes.
        let range = graph.range;
        let mut edges = graph.edges;
        if let Some(s) = a.service.as_deref().filter(|s| !s.is_empty()) {
            edges.retain(|e| e.parent == s || e.child == s);
        }
        if edges.is_empty() {
            return Ok(format!(
                "No calls between services in {} (spans need parent/child links across services).",
                fmt_range(&range)
            ));
        }
        // UNREACHED and SERVER only when some edge has them: the usual graph stays as it was.
        let any_unreached = edges.iter().any(|e| e.unreached > 0);
        let any_server = edges.iter().any(|e| !e.server.is_empty());
        // CLIENT-P99 and NOTE likewise: only when the caller's side tells something the
        // callee's spans do not (a client p99 well above P99, calls with no server span).
        let any_client = edges.iter().any(client_side_slower);
        let notes: Vec<String> = edges.iter().map(edge_note).collect();
        let any_note = notes.iter().any(|n| !n.is_empty());
        let mut head = vec![
            "CALLER", "CALLEE", ">CALLS", ">RATE", ">ERRORS", ">ERR%", ">P99",
        ];
        if any_client {
            head.push(">CLIENT-P99");
        }
        if any_unreached {
            head.push(">UNREACHED");
        }
        if any_server {
            head.push("SERVER");
        }
        if any_note {
            head.push("NOTE");
        }
        let mut t = Table::new(&head);
        for (e, note) in edges.iter().zip(&notes) {
            // The callee cell stays `<db.system> (db)` for databases (what readers of this
            // table match on); the server is its own column.
            let mut row = vec![
                e.parent.clone(),
                if e.external {
                    format!("{} (db)", e.child)
                } else {
                    e.child.clone()
                },
                e.calls.to_string(),
                rate(e.calls, range.len()),
                e.errors.to_string(),
                pct(e.errors, e.calls),
                fmt_duration(e.p99),
            ];
            if any_client {
                row.push(e.client_p99.map_or("-".into(), fmt_duration));
            }
            if any_unreached {
                row.push(e.unreached.to_string());
            }
            if any_server {
                row.push(if e.server.is_empty() {
                    "-".into()
                } else {
                    e.server.clone()
                });
            }
            if any_note {
                row.push(if note.is_empty() {
                    "-".into()
                } else {
                    note.clone()
                });
            }
            t.row(row);
        }
        let mut source = if graph.aggregated {
            "SigNoz's per-minute aggregates, whole minutes; P99: callee span duration; (db): \
             a callee that is no service in the window (db.system, messaging.system)"
                .to_string()
        } else {
            "P99: callee span duration; (db): client spans with db.system".to_string()
        };
        if any_unreached {
            source.push_str(
                "; UNREACHED: client spans the callee never recorded (dropped, refused or \
                 denied before it, or an untraced peer), named from peer.service, \
                 server.address, net.peer.name or the URL host, counted in CALLS and ERRORS",
            );
        }
        if any_server {
            source.push_str("; SERVER: the database's server.address or net.peer.name");
        }
        if any_client {
            source.push_str(
                "; CLIENT-P99: the caller's client spans (the unanswered ones too when at \
                 least 1% of calls), where dial and connect timeouts show",
            );
        }
        Ok(format!(
            "Service calls in {} ({source})\n{}",
            fmt_range(&range),
            t.render()
        ))
    }

    // -----------------------------------------------------------------------
    // metrics
    // -----------------------------------------------------------------------

    /// Metric names (or one metric's labels).
    pub async fn list_metrics(&self, a: &MetricsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 60 * MINUTE)
            .await?;
        if let Some(metric) = a.metric.as_deref().filter(|m| !m.is_empty()) {
            let series = self.store.metric_series(metric, range, 10_000).await?;
            if series.is_empty() {
                return Ok(format!(
                    "Metric `{metric}` has no series in {}. List names with `contains`.",
                    fmt_range(&range)
                ));
            }
            let mut labels: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for s in &series {
                for (k, v) in &s.labels {
                    if !k.starts_with("__") {
                        labels.entry(k).or_default().insert(v);
                    }
                }
            }
            let first = &series[0];
            let mut t = Table::new(&["LABEL", ">VALUES", "EXAMPLES"]);
            for (k, vs) in &labels {
                let ex: Vec<&str> = vs.iter().take(6).copied().collect();
                let more = if vs.len() > 6 { ", …" } else { "" };
                t.row(vec![
                    k.to_string(),
                    vs.len().to_string(),
                    format!("{}{more}", ex.join(", ")),
                ]);
            }
            return Ok(format!(
                "{metric}: {} {}{}, unit {}, {} series in {}\n{}",
                first.kind,
                first.temporality,
                if first.is_monotonic { " counter" } else { "" },
                if first.unit.is_empty() {
                    "-"
                } else {
                    &first.unit
                },
                series.len(),
                fmt_range(&range),
                t.render()
            ));
        }
        let metrics = self
            .store
            .metrics(range, a.contains.as_deref().filter(|c| !c.is_empty()))
            .await?;
        if metrics.is_empty() {
            return Ok(format!("No metrics in {}.", fmt_range(&range)));
        }
        let mut t = Table::new(&["METRIC", "TYPE", "UNIT", ">SERIES", "DESCRIPTION"]);
        for m in &metrics {
            let kind = match (m.kind.as_str(), m.is_monotonic) {
                ("Sum", true) => format!("counter/{}", m.temporality.to_ascii_lowercase()),
                ("Sum", false) => "updown".to_string(),
                (k, _) => k.to_ascii_lowercase(),
            };
            t.row(vec![
                m.name.clone(),
                kind,
                if m.unit.is_empty() {
                    "-".into()
                } else {
                    m.unit.clone()
                },
                m.series.to_string(),
                one_line(&m.description, 80),
            ]);
        }
        let (header, lines) = t.lines();
        Ok(self.paged(
            &format!("{} metrics in {}", metrics.len(), fmt_range(&range)),
            "signoz metric names",
            &header,
            &lines,
            0,
            "contains",
        ))
    }

    /// A metric over time: filtered, grouped, aggregated across series, as a
    /// rate for counters.
    pub async fn query_metric(&self, a: &MetricArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 60 * MINUTE)
            .await?;
        let step = match &a.step {
            Some(s) => duration_arg(s, "step")?.max(SECOND),
            None => auto_step(range, 15),
        };
        if range.len() / step > 500 {
            return Err(OpError::Invalid(format!(
                "{} steps of {} is too many; use a larger `step` (at most 500 steps)",
                range.len() / step,
                fmt_span(step)
            )));
        }
        let steps = self
            .store
            .metric_steps(&MetricQuery {
                metric: a.metric.clone(),
                filters: attrs(&a.filters)?,
                range,
                step,
                max_series: 2000,
            })
            .await?;
        let Some(first) = steps.series.values().next() else {
            return Ok(format!(
                "No series of `{}` match in {}. Check the name and labels with `list_metrics`.",
                a.metric,
                fmt_range(&range)
            ));
        };
        let counter =
            first.is_monotonic || (first.kind == "Histogram" && !a.metric.ends_with(".bucket"));
        let delta = first.temporality == "Delta";
        let want_rate = a.rate.unwrap_or(counter);
        let agg = a
            .aggregation
            .as_deref()
            .unwrap_or(if counter { "sum" } else { "avg" })
            .to_ascii_lowercase();
        if !matches!(agg.as_str(), "sum" | "avg" | "min" | "max") {
            return Err(OpError::Invalid(format!(
                "aggregation `{agg}`: use sum, avg, min or max"
            )));
        }
        let group_by: Vec<String> = a.group_by.clone().unwrap_or_default();
        let step_s = step as f64 / 1e9;
        // Per series: value per step.
        let mut per_group: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        let mut i = 0;
        let rows = &steps.steps;
        while i < rows.len() {
            let fp = rows[i].fingerprint;
            let mut j = i;
            while j < rows.len() && rows[j].fingerprint == fp {
                j += 1;
            }
            let series_rows = &rows[i..j];
            i = j;
            let Some(series) = steps.series.get(&fp) else {
                continue;
            };
            let key = if group_by.is_empty() {
                "total".to_string()
            } else {
                group_by
                    .iter()
                    .map(|g| series.labels.get(g).map_or("-", String::as_str))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let g = per_group.entry(key).or_default();
            let mut prev: Option<(i64, f64)> = None;
            for r in series_rows {
                let value = if want_rate {
                    if delta {
                        Some(r.sum / step_s)
                    } else {
                        let inc = match prev {
                            Some((p_step, p_last)) if p_step == r.step - 1 => {
                                // A drop is a counter reset: count from zero.
                                if r.last >= p_last {
                                    r.last - p_last
                                } else {
                                    r.last
                                }
                            }
                            // No sample in the step before (a new series or a
                            // gap): the increase within this step.
                            _ => r.last - r.min,
                        };
                        let v = Some(inc / step_s);
                        prev = Some((r.step, r.last));
                        v
                    }
                } else if counter {
                    Some(if delta { r.sum } else { r.last })
                } else {
                    Some(r.sum / r.count.max(1) as f64)
                };
                if r.step >= 0
                    && let Some(v) = value
                {
                    g.entry(r.step).or_default().push(v);
                }
            }
        }
        let reduce = |vs: &Vec<f64>| -> f64 {
            match agg.as_str() {
                "sum" => vs.iter().sum(),
                "min" => vs.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => vs.iter().sum::<f64>() / vs.len().max(1) as f64,
            }
        };
        // Rank groups by mean value, keep at most 8 columns.
        let mut groups: Vec<(String, f64)> = per_group
            .iter()
            .map(|(k, steps)| {
                let vals: Vec<f64> = steps.values().map(reduce).collect();
                (
                    k.clone(),
                    vals.iter().sum::<f64>() / vals.len().max(1) as f64,
                )
            })
            .collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let dropped = groups.len().saturating_sub(8);
        groups.truncate(8);
        let unit = if first.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", first.unit)
        };
        let what = if want_rate {
            format!("per-second rate{unit}/s")
        } else {
            format!("value{unit}")
        };
        let mut out = format!(
            "{} — {agg} of {} across {} series{}, {what}, step {}, {}\n",
            a.metric,
            if want_rate { "rates" } else { "values" },
            steps.series.len(),
            if group_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", group_by.join(","))
            },
            fmt_span(step),
            fmt_range(&range)
        );
        let mut headers: Vec<String> = vec!["TIME".into()];
        headers.extend(groups.iter().map(|(k, _)| format!(">{k}")));
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new(&header_refs);
        let n_steps = (range.len() + step - 1) / step;
        for s in 0..n_steps {
            let mut row = vec![fmt_hms(range.start + s * step)];
            for (k, _) in &groups {
                row.push(
                    per_group
                        .get(k)
                        .and_then(|m| m.get(&s))
                        .map_or("-".to_string(), |vs| num(reduce(vs))),
                );
            }
            t.row(row);
        }
        out.push_str(&t.render());
        if dropped > 0 {
            out.push_str(&format!(
                "\n… {dropped} smaller groups not shown (filter or group by fewer labels)"
            ));
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------
    // raw SQL
    // -----------------------------------------------------------------------

    /// Read-only SQL on SigNoz's tables, as TSV.
    pub async fn query_sql(&self, a: &SqlArgs) -> OpResult {
        let max_rows = a.max_rows.unwrap_or(100).clamp(1, 10_000) as usize;
        let text = self.store.raw_sql(&a.sql, max_rows).await?;
        // `result_overflow_mode=break` stops at a block boundary: cut exactly.
        let lines: Vec<String> = text
            .lines()
            .take(max_rows + 1)
            .map(str::to_string)
            .collect();
        let rows = lines.len().saturating_sub(1);
        Ok(self.paged(
            &format!("{rows} rows (read-only, at most {max_rows})"),
            "clickhouse query result",
            "",
            &lines,
            0,
            "a LIMIT, fewer columns",
        ))
    }
}

fn sev_short(text: &str, number: u8) -> String {
    let t = if text.is_empty() {
        crate::otlp::severity_text(number)
    } else {
        text
    };
    let up = t.to_ascii_uppercase();
    match up.as_str() {
        "WARNING" => "WARN".into(),
        "INFORMATION" => "INFO".into(),
        "CRITICAL" => "FATAL".into(),
        _ => up.chars().take(5).collect(),
    }
}

/// Whether an edge's client-side p99 is well above its P99 (1.5x and 50 ms more): time
/// spent before or around the callee that its own spans do not show.
fn client_side_slower(e: &crate::model::EdgeRow) -> bool {
    e.client_p99
        .is_some_and(|c| c >= e.p99 * 1.5 && c - e.p99 >= 50e6)
}

/// What an edge's unanswered calls were: connection failures the client recorded, or
/// calls no server span answered at all (a peer that is not traced, or that the calls
/// never reached). Empty when every call was answered.
fn edge_note(e: &crate::model::EdgeRow) -> String {
    if e.external || e.unreached == 0 {
        String::new()
    } else if e.conn_errors > 0 {
        format!(
            "connection errors: {} (timeout/refused/reset)",
            e.conn_errors
        )
    } else if e.unreached == e.calls {
        "no server spans (untraced peer or never reached)".into()
    } else {
        String::new()
    }
}

fn verdict(cur: Option<&RedRow>, base: Option<&RedRow>, cur_len: Nanos, base_len: Nanos) -> String {
    let (Some(c), Some(b)) = (cur, base) else {
        return match (cur, base) {
            (Some(_), None) => {
                "Verdict: no baseline traffic to compare with (new service or new window).".into()
            }
            (None, Some(_)) => {
                "Verdict: NO TRAFFIC in the window, though the baseline had some.".into()
            }
            _ => "Verdict: no traffic.".into(),
        };
    };
    let err = |r: &RedRow| r.errors as f64 * 100.0 / r.calls.max(1) as f64;
    let rate = |r: &RedRow, len: Nanos| r.calls as f64 / (len as f64 / 1e9);
    let mut notes = Vec::new();
    let de = err(c) - err(b);
    if de >= 1.0 {
        notes.push(format!(
            "error rate up {de:.1} points ({:.1}% → {:.1}%)",
            err(b),
            err(c)
        ));
    } else if de <= -1.0 {
        notes.push(format!("error rate down {:.1} points", -de));
    }
    if b.p99 > 0.0 {
        let r = c.p99 / b.p99;
        if r >= 1.5 {
            notes.push(format!(
                "p99 {}x ({} → {})",
                num(r),
                fmt_duration(b.p99),
                fmt_duration(c.p99)
            ));
        }
    }
    let (rc, rb) = (rate(c, cur_len), rate(b, base_len));
    if rb > 0.0 {
        let r = rc / rb;
        if r >= 2.0 || r <= 0.5 {
            notes.push(format!(
                "traffic {}x ({}/s → {}/s)",
                num(r),
                num(rb),
                num(rc)
            ));
        }
    }
    if notes.is_empty() {
        "Verdict: in line with the baseline.".into()
    } else {
        format!("Verdict: {}.", notes.join("; "))
    }
}
