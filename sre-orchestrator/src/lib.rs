//! The orchestrator: turns MCP servers into an investigation.
//!
//! An alert arrives ([`alert`]); the [`router`] decides which specialist
//! should look at it; the investigation ends in a typed root-cause analysis
//! ([`rca`]). This crate is being built (issue #7). What exists so far:
//!
//! * the input side: alert parsing for Alertmanager and SigNoz webhooks,
//!   on-demand requests and slash commands ([`alert`]);
//! * rule-based routing to one of five specialist categories ([`router`]);
//! * the tool registry, reaching MCP servers over stdio, streamable HTTP or
//!   in-process, with failures recorded as data gaps ([`registry`]);
//! * the chat-completions client for Azure OpenAI and OpenAI-compatible
//!   endpoints, with retries that honour `Retry-After` ([`llm`]), and a fake
//!   server for tests (feature `fake`);
//! * the RCA type with its Markdown rendering ([`rca`]).
//! * the incident store: incidents, durable job queue, memory, runbooks and
//!   audit log on SQLite or PostgreSQL ([`store`]).
//!
//! Not written yet: the specialist agent loop, the deterministic analysis
//! engine, record/replay.

pub mod agent;
pub mod alert;
pub mod engine;
#[cfg(feature = "fake")]
pub mod fake_llm;
pub mod investigate;
pub mod llm;
pub mod rca;
pub mod registry;
pub mod router;
pub mod store;
pub mod transcript;

/// Installs the workspace's one rustls crypto provider (ring) for this
/// process, once. HTTP clients built by this crate call it first; binaries may
/// call it at start-up. A provider installed earlier by the host program wins.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
