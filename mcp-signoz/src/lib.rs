//! An MCP server for SigNoz: the questions an on-call engineer asks at 3 a.m.,
//! answered from SigNoz's ClickHouse in a few hundred tokens.
//!
//! # Design
//!
//! **Go to the data, not the API.** SigNoz keeps everything in ClickHouse
//! (`signoz_logs.logs_v2`, `signoz_traces.signoz_index_v3`,
//! `signoz_metrics.time_series_v4` + `samples_v4`). Querying those tables
//! directly, with a read-only ClickHouse user, needs no SigNoz API key, works
//! on every SigNoz edition, and lets the heavy lifting (filters, grouping,
//! quantiles, per-step reduction of samples) run next to the data. Every value
//! a caller supplies is a bound query parameter, every query has a timeout,
//! and the connection is made on first use, so the server starts and lists its
//! tools with ClickHouse down.
//!
//! **One trait, two stores, one behaviour.** [`store::Store`] is a handful of
//! primitives (RED by group and bucket, error groups, span and log search, a
//! trace, the call graph, metric names, series and per-step reductions).
//! [`clickhouse::ClickHouseStore`] implements them in SQL;
//! [`embedded::EmbeddedStore`] implements them over telemetry files (OTLP/JSON
//! from the collector's file exporter, or SigNoz `JSONEachRow` exports) held in
//! memory — the offline demo's backend and a way to investigate an exported
//! incident anywhere. Everything above the trait — baselines and verdicts,
//! ranking, counter rates, template mining, span trees, rendering — is shared
//! code in [`ops`], and one contract suite runs every case against both stores
//! (the ClickHouse one on the real engine, embedded via chdb), so they cannot
//! drift.
//!
//! **Answers, not rows.** Tools return compact text: aligned columns, one line
//! per record, units on every number, a verdict where one is possible. The
//! strongest single signal in an incident is a log *shape* that was not there
//! an hour ago, so `log_patterns` mines templates in the incident window and a
//! baseline window with the shared miner ([`log_patterns`]) and ranks them NEW,
//! SURGED, GONE, STEADY, with the services that log them and a trace id to
//! follow. Text from the observed systems is framed as untrusted data; the kit
//! ([`mcp_kit`]) adds redaction, the response budget and argument validation
//! to every result.
//!
//! **Read the inside of errors.** The cause is usually in the details, not in
//! a log body like `Request failed`: OpenTelemetry `exception.*` attributes,
//! the message and error fields of JSON/logfmt bodies (Spring Boot, ECS, zap,
//! pino, logrus, Python loggers), span status messages and `exception`
//! events. [`structured`] reads them into one form, `message — Type: error`
//! plus the top stack frame; templates are mined from it, log and span lines
//! show it, and [`severity`] takes a record's level from its body when the
//! collector parsed none — in SQL too, so both stores agree.
//!
//! **Usable in-process.** [`ops::Signoz`] is generic over the store and takes
//! the same argument structs as the MCP tools, so the orchestrator calls it
//! directly, without MCP.

pub mod backend;
pub mod baseline;
pub mod clickhouse;
pub mod embedded;
pub mod model;
pub mod ops;
pub mod otlp;
pub mod render;
pub mod schema;
pub mod server;
pub mod severity;
pub mod stack;
pub mod store;
pub mod structured;
pub mod time;
pub mod trace_view;

pub use backend::AnyStore;
pub use clickhouse::{ClickHouseConfig, ClickHouseStore};
pub use embedded::EmbeddedStore;
pub use ops::{Limits, Signoz};
pub use server::SignozServer;
pub use store::{Store, StoreError};
