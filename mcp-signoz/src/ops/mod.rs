//! The tools, as plain async functions over any [`Store`]: what the MCP server
//! exposes and what the orchestrator calls in-process.
//!
//! Each takes an argument struct (the same one the MCP tool's schema is made
//! from) and returns compact text, or an [`OpError`] whose message says what to
//! change.

use mcp_kit::budget::Budget;
use mcp_kit::untrusted;

use crate::model::{AttrFilter, Nanos, Order, SECOND, TimeRange};
use crate::store::{Store, StoreError};
use crate::time::{self, fmt_ts};
pub use crate::trace_view::render_trace;

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
    /// `query_sql` was called on a server started without `--allow-raw-sql`.
    #[error("raw SQL is disabled; restart the server with --allow-raw-sql")]
    RawSqlDisabled,
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

mod args;
mod logs;
mod metrics;
mod services;
mod sql;
mod traces;

pub use args::{
    DepsArgs, HealthArgs, LogsArgs, MetricArgs, MetricsArgs, PatternsArgs, ServicesArgs, SqlArgs,
    TraceArgs, TracesArgs,
};

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
}
