//! The orchestrator: turns MCP servers into an investigation.
//!
//! An alert arrives ([`alert`]); the [`router`] decides which specialist
//! should look at it; the investigation ends in a typed root-cause analysis
//! ([`rca`]). This crate is being built (issue #7): what exists so far is the
//! input side (alert parsing for Alertmanager and SigNoz webhooks, on-demand
//! requests and slash commands), rule-based routing, and the RCA type with its
//! Markdown rendering. The tool registry, the LLM client, the specialist loop
//! and the deterministic analysis engine are not written yet.

pub mod alert;
pub mod rca;
pub mod registry;
pub mod router;
