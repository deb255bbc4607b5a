//! MCP server for SigNoz: logs, traces and metrics from SigNoz's ClickHouse, with log-pattern mining.
//!
//! **Status: not built yet.** This crate is a placeholder in the workspace so the
//! layout users will know exists from the start; it exposes nothing. Its work is
//! tracked in issue #4.
