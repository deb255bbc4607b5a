//! The MCP face of [`crate::ops`]: one read-only tool per operation.

use std::sync::Arc;

use mcp_kit::rmcp::handler::server::router::tool::ToolRouter;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::model::{ContentBlock, IntoContents};
use mcp_kit::rmcp::{tool, tool_router};
use mcp_kit::{KitServer, ServerDescription};

use crate::backend::AnyStore;
use crate::ops::{
    DepsArgs, HealthArgs, LogsArgs, MetricArgs, MetricsArgs, OpError, OpResult, PatternsArgs,
    ServicesArgs, Signoz, SqlArgs, TraceArgs, TracesArgs,
};

/// The SigNoz MCP server.
#[derive(Clone)]
pub struct SignozServer {
    ops: Arc<Signoz<AnyStore>>,
    raw_sql: bool,
}

impl SignozServer {
    /// A server over `ops`; `raw_sql` enables `query_sql`.
    pub fn new(ops: Signoz<AnyStore>, raw_sql: bool) -> Self {
        Self {
            ops: Arc::new(ops),
            raw_sql,
        }
    }

    /// The operations, for in-process callers.
    pub fn ops(&self) -> &Signoz<AnyStore> {
        &self.ops
    }
}

/// A tool that fails answers with this message as its one text block, in a
/// result marked `isError`: rmcp turns a tool's [`OpResult`] into that (the
/// kit's convention, see `mcp_kit`'s crate docs), so the tools need no
/// adapter of their own.
impl IntoContents for OpError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// Tool names, for `--disable-tools` and docs.
pub const RAW_SQL_TOOL: &str = "query_sql";

#[tool_router]
impl SignozServer {
    #[tool(
        description = "Services with request rate, error rate and p50/p95/p99 latency from entry spans over a window (default last 15m), worst first.",
        annotations(read_only_hint = true)
    )]
    async fn services(&self, Parameters(a): Parameters<ServicesArgs>) -> OpResult {
        self.ops.services(&a).await
    }

    #[tool(
        description = "One service's RED in time buckets vs a baseline window (default the hour before; with the default window, the hour before the change began when that predates the window), its top erroring operations and error messages.",
        annotations(read_only_hint = true)
    )]
    async fn service_health(&self, Parameters(a): Parameters<HealthArgs>) -> OpResult {
        self.ops.service_health(&a).await
    }

    #[tool(
        description = "Search logs by service, severity, text, regex, attributes, trace id and time; one line per record (message, exception/error, top frame).",
        annotations(read_only_hint = true)
    )]
    async fn search_logs(&self, Parameters(a): Parameters<LogsArgs>) -> OpResult {
        self.ops.search_logs(&a).await
    }

    #[tool(
        description = "Mine log templates (message plus exception/error text) in a window and mark each NEW, SURGED, GONE or STEADY vs a baseline window before it; counts, first/last seen, services, sample trace. Best first step in an incident.",
        annotations(read_only_hint = true)
    )]
    async fn log_patterns(&self, Parameters(a): Parameters<PatternsArgs>) -> OpResult {
        self.ops.log_patterns(&a).await
    }

    #[tool(
        description = "Search spans by service, operation, min duration, errors only and attributes; one line per span with its trace id, error spans with status message and exception.",
        annotations(read_only_hint = true)
    )]
    async fn search_traces(&self, Parameters(a): Parameters<TracesArgs>) -> OpResult {
        self.ops.search_traces(&a).await
    }

    #[tool(
        description = "One trace as a compact span tree with the critical path and error spans marked.",
        annotations(read_only_hint = true)
    )]
    async fn get_trace(&self, Parameters(a): Parameters<TraceArgs>) -> OpResult {
        self.ops.get_trace(&a).await
    }

    #[tool(
        description = "Service call graph from parent/child spans (and databases from client spans) with calls, errors and p99 per edge.",
        annotations(read_only_hint = true)
    )]
    async fn service_dependencies(&self, Parameters(a): Parameters<DepsArgs>) -> OpResult {
        self.ops.service_dependencies(&a).await
    }

    #[tool(
        description = "List metric names with type, unit and series count, or one metric's labels and values.",
        annotations(read_only_hint = true)
    )]
    async fn list_metrics(&self, Parameters(a): Parameters<MetricsArgs>) -> OpResult {
        self.ops.list_metrics(&a).await
    }

    #[tool(
        description = "Query a metric over time with label filters, group by, sum/avg/min/max across series and per-second rate for counters.",
        annotations(read_only_hint = true)
    )]
    async fn query_metric(&self, Parameters(a): Parameters<MetricArgs>) -> OpResult {
        self.ops.query_metric(&a).await
    }

    #[tool(
        description = "Read-only SQL on SigNoz's ClickHouse tables (enabled by --allow-raw-sql); result as TSV.",
        annotations(read_only_hint = true)
    )]
    async fn query_sql(&self, Parameters(a): Parameters<SqlArgs>) -> OpResult {
        if !self.raw_sql {
            return Err(OpError::RawSqlDisabled);
        }
        self.ops.query_sql(&a).await
    }
}

impl KitServer for SignozServer {
    fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }

    fn description() -> ServerDescription {
        ServerDescription {
            name: "mcp-signoz",
            version: env!("CARGO_PKG_VERSION"),
            instructions: "SigNoz logs, traces and metrics. For an incident: `services` (who is \
unhealthy), `service_health` (since when, which operation, which error), `log_patterns` (NEW or \
SURGED log templates: the strongest signal), then `search_traces` / `get_trace` and \
`search_logs` with the trace id. Times: `now-15m`, `-2h`, RFC 3339 or epoch seconds, UTC.",
        }
    }
}
