//! The one trait both backends implement.
//!
//! Each method is a *primitive* the tools compose: the heavy reduction
//! (filtering, grouping, quantiles, per-step reduction of samples) happens in
//! the store, next to the data — in SQL for ClickHouse — and only bounded
//! results cross the trait. Everything above it (baselines, ranking, rates,
//! template mining, span trees, rendering) is shared code in [`crate::ops`],
//! so the two stores cannot disagree about anything but the primitives, and
//! the contract suite (`tests/contract.rs`) pins those.
//!
//! Semantics every implementation must keep:
//!
//! * ranges are half-open, `[start, end)`, in nanoseconds;
//! * quantiles interpolate linearly between the two nearest ranks
//!   (ClickHouse's `quantile`, exact up to 8,192 values per group);
//! * results are sorted completely (ties broken by name or id), so equal
//!   data gives byte-equal output from either store.

use std::future::Future;

use crate::model::{
    CallGraph, ErrorQuery, ErrorRow, LogQuery, LogRow, MetricInfo, MetricQuery, MetricSteps, Nanos,
    RedQuery, RedRow, SeriesQuery, SeriesRow, SpanQuery, SpanRow, TimeRange,
};

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// ClickHouse answered with an error.
    #[error("ClickHouse at {url}: {message}")]
    ClickHouse {
        /// Its URL, without credentials.
        url: String,
        /// What it said.
        message: String,
    },
    /// ClickHouse could not be reached.
    #[error(
        "cannot reach ClickHouse at {url}: {cause}. Check --clickhouse-url and that ClickHouse \
         is up and reachable from this server"
    )]
    Unreachable {
        /// Its URL, without credentials.
        url: String,
        /// The innermost cause (connection refused, DNS, TLS).
        cause: String,
    },
    /// The query took longer than the configured timeout.
    #[error("query timed out after {0:?}; narrow the time range or filters")]
    Timeout(std::time::Duration),
    /// An argument the store cannot use (a bad regex, a table not allowed).
    #[error("{0}")]
    Invalid(String),
    /// The store does not offer this (e.g. raw SQL on the embedded store).
    #[error("{0}")]
    Unsupported(String),
    /// Telemetry files could not be read.
    #[error("{0}")]
    Load(String),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What every backend answers. See the module docs for the semantics.
pub trait Store: Send + Sync {
    /// A one-line description, e.g. `ClickHouse http://localhost:8123 (distributed tables)`.
    fn describe(&self) -> String;

    /// The instant relative times (`now-1h`) count back from: the wall clock
    /// for a live ClickHouse, the end of the data for loaded files.
    fn now(&self) -> impl Future<Output = StoreResult<Nanos>> + Send;

    /// Calls, errors and latency quantiles of spans, grouped and bucketed.
    /// Sorted by key, then bucket.
    fn red(&self, q: &RedQuery) -> impl Future<Output = StoreResult<Vec<RedRow>>> + Send;

    /// Error spans of a service grouped by (operation, status message), most
    /// frequent first.
    fn errors(&self, q: &ErrorQuery) -> impl Future<Output = StoreResult<Vec<ErrorRow>>> + Send;

    /// Spans matching a search, in the asked order.
    fn spans(&self, q: &SpanQuery) -> impl Future<Output = StoreResult<Vec<SpanRow>>> + Send;

    /// All spans of one trace (at most `limit`), by start time then span id.
    fn trace(
        &self,
        trace_id: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<SpanRow>>> + Send;

    /// The service call graph in a range: parent→child service edges from
    /// span parentage, plus service→database edges from client spans with
    /// `db.system`. Sorted by parent, child. A store may answer for the
    /// window's whole minutes from pre-aggregated data; the graph says which
    /// window it covers.
    fn dependencies(&self, range: TimeRange)
    -> impl Future<Output = StoreResult<CallGraph>> + Send;

    /// Log records matching a search, in the asked order.
    fn logs(&self, q: &LogQuery) -> impl Future<Output = StoreResult<Vec<LogRow>>> + Send;

    /// Metrics with samples in a range whose name contains `contains`
    /// (case-insensitive), by name.
    fn metrics(
        &self,
        range: TimeRange,
        contains: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<MetricInfo>>> + Send;

    /// The label sets of a metric's series (at most `limit`), by fingerprint.
    fn metric_series(
        &self,
        q: &SeriesQuery,
    ) -> impl Future<Output = StoreResult<Vec<SeriesRow>>> + Send;

    /// A metric's matching series and their samples reduced per step. The
    /// first step (index -1) is the one before the range, so rates can start
    /// at the range start.
    fn metric_steps(
        &self,
        q: &MetricQuery,
    ) -> impl Future<Output = StoreResult<MetricSteps>> + Send;

    /// Runs read-only SQL and returns TSV with a header. Only ClickHouse.
    fn raw_sql(
        &self,
        sql: &str,
        max_rows: usize,
    ) -> impl Future<Output = StoreResult<String>> + Send;
}

/// Linear-interpolation quantile of sorted values (ClickHouse's `quantile`
/// for up to 8,192 values): position `level × (n − 1)`.
pub fn quantile_sorted(sorted: &[f64], level: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = level * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_clickhouse() {
        // Values from `SELECT quantile(x)(arrayJoin([1..10]))` in ClickHouse 26.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_sorted(&v, 0.5), 5.5);
        assert!((quantile_sorted(&v, 0.95) - 9.55).abs() < 1e-9);
        assert!((quantile_sorted(&v, 0.99) - 9.91).abs() < 1e-9);
        assert_eq!(quantile_sorted(&[], 0.5), 0.0);
    }
}
