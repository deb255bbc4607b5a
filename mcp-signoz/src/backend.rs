//! Either backend, chosen at start-up. Apart from [`crate::store`] so the
//! seam the backends implement does not depend on the backends: `store`
//! knows only the model, `clickhouse` and `embedded` know `store`, and this
//! module alone knows all three.

use crate::model::{
    CallGraph, ErrorQuery, ErrorRow, LogQuery, LogRow, MetricInfo, MetricQuery, MetricSteps, Nanos,
    RedQuery, RedRow, SeriesQuery, SeriesRow, SpanQuery, SpanRow, TimeRange,
};
use crate::store::{Store, StoreResult};

/// Either backend, chosen at start-up; implements [`Store`] by delegation.
#[derive(Clone)]
pub enum AnyStore {
    /// SigNoz's ClickHouse.
    ClickHouse(std::sync::Arc<crate::clickhouse::ClickHouseStore>),
    /// Telemetry files loaded in memory.
    Embedded(std::sync::Arc<crate::embedded::EmbeddedStore>),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::ClickHouse($s) => $e,
            AnyStore::Embedded($s) => $e,
        }
    };
}

impl Store for AnyStore {
    fn describe(&self) -> String {
        delegate!(self, s => s.describe())
    }
    async fn now(&self) -> StoreResult<Nanos> {
        delegate!(self, s => s.now().await)
    }
    async fn red(&self, q: &RedQuery) -> StoreResult<Vec<RedRow>> {
        delegate!(self, s => s.red(q).await)
    }
    async fn errors(&self, q: &ErrorQuery) -> StoreResult<Vec<ErrorRow>> {
        delegate!(self, s => s.errors(q).await)
    }
    async fn spans(&self, q: &SpanQuery) -> StoreResult<Vec<SpanRow>> {
        delegate!(self, s => s.spans(q).await)
    }
    async fn trace(&self, trace_id: &str, limit: usize) -> StoreResult<Vec<SpanRow>> {
        delegate!(self, s => s.trace(trace_id, limit).await)
    }
    async fn dependencies(&self, range: TimeRange) -> StoreResult<CallGraph> {
        delegate!(self, s => s.dependencies(range).await)
    }
    async fn logs(&self, q: &LogQuery) -> StoreResult<Vec<LogRow>> {
        delegate!(self, s => s.logs(q).await)
    }
    async fn metrics(
        &self,
        range: TimeRange,
        contains: Option<&str>,
    ) -> StoreResult<Vec<MetricInfo>> {
        delegate!(self, s => s.metrics(range, contains).await)
    }
    async fn metric_series(&self, q: &SeriesQuery) -> StoreResult<Vec<SeriesRow>> {
        delegate!(self, s => s.metric_series(q).await)
    }
    async fn metric_steps(&self, q: &MetricQuery) -> StoreResult<MetricSteps> {
        delegate!(self, s => s.metric_steps(q).await)
    }
    async fn raw_sql(&self, sql: &str, max_rows: usize) -> StoreResult<String> {
        delegate!(self, s => s.raw_sql(sql, max_rows).await)
    }
}
