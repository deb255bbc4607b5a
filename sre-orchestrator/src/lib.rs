//! The orchestrator: turns MCP servers into an investigation.
//!
//! An alert arrives ([`alert`]: Alertmanager and SigNoz webhooks, Slack
//! alert messages, slash commands, on-demand requests). The [`router`]
//! classifies it by rules, asking the LLM only when the rules are unsure.
//! Then, in [`investigate`]:
//!
//! 1. the deterministic [`engine`] gathers an evidence pack in parallel
//!    through whatever MCP servers the [`registry`] reached (stdio, HTTP or
//!    in-process), turns it into signals, follows the trace dependency graph
//!    to the deepest degraded service, and ranks suspects;
//! 2. with an LLM ([`llm`]), a specialist [`agent`] for the category starts
//!    from that pack and may call read-only tools to confirm or overturn it;
//!    without one, or when the LLM fails, runs out of time, or gives an
//!    answer that does not survive [`verify`], the engine's RCA is the
//!    answer, labelled as such;
//! 3. everything ends in one typed [`rca::Rca`].
//!
//! Every tool call and LLM exchange goes through two small traits
//! ([`transcript::ToolSource`], [`transcript::ChatModel`]) so that an
//! investigation can be recorded and replayed without any backend
//! ([`transcript`]). What the Slack bot remembers (incidents, the durable job
//! queue, memory of past incidents, runbooks, the audit log) is the
//! `incident-store` crate's, which builds on this one's types.
//!
//! Design rule: a failing source degrades one piece of evidence, never the
//! investigation. Failures become [`rca::DataGap`]s that the RCA shows.

/// The `tracing` target of the spans worth exporting: one per
/// investigation, per tool call ([`Registry::call`](crate::registry::Registry::call))
/// and per LLM request ([`LlmClient::chat`](crate::llm::LlmClient::chat)).
/// `sre-agent` sends exactly these to an OTLP collector when configured and
/// keeps them out of its logs. Their fields are names, counts and outcomes:
/// never tool arguments or results, prompts, or credentials.
pub const TRACE_TARGET: &str = "sre_agent::trace";

/// An OpenTelemetry client span on [`TRACE_TARGET`] for a call leaving the
/// process (an LLM request, a tool call): the fields every such span has
/// (its name and status, recorded once known, and the error type), then the
/// call's own `$fields`.
macro_rules! client_span {
    ($name:literal, $($fields:tt)*) => {
        tracing::info_span!(
            target: $crate::TRACE_TARGET,
            $name,
            otel.name = tracing::field::Empty,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            $($fields)*
        )
    };
}

pub mod agent;
pub mod alert;
pub mod engine;
#[cfg(feature = "fake")]
pub mod fake_llm;
pub mod investigate;
pub mod llm;
pub mod panel;
pub mod rca;
pub mod registry;
pub mod router;
pub mod subject;
pub mod transcript;
pub mod verify;

/// Installs the workspace's one rustls crypto provider (ring) for this
/// process, once. HTTP clients built by this crate call it first; binaries may
/// call it at start-up. A provider installed earlier by the host program wins.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
