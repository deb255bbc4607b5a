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
#[cfg(feature = "fake")]
pub mod fake_llm;
pub mod llm;
pub mod rca;
pub mod registry;
pub mod router;

/// Installs the workspace's one rustls crypto provider (ring) for this
/// process, once. HTTP clients built by this crate call it first; binaries may
/// call it at start-up. A provider installed earlier by the host program wins.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
