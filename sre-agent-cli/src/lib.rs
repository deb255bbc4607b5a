//! The `sre-agent` command's library: configuration, offline scenarios,
//! evaluation, reports and Slack posting. `src/main.rs` is the thin binary.
//!
//! Everything here is a small layer over `sre-orchestrator`: the CLI and the
//! Slack bot run the same `investigate` and differ only in where alerts come
//! from and where RCAs go.

pub mod config;
pub mod eval;
pub mod exit;
pub mod learn;
pub mod memory;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod simulate;
pub mod slack;
pub mod telemetry;
