//! One investigation, end to end: route, gather, rank, and (with an LLM)
//! let the specialist confirm or overturn.
//!
//! This is the one entry point the CLI, the Slack bot and the evaluation
//! share, so all three produce the same RCA for the same evidence.

use std::time::Instant;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing::field::Empty;

use crate::agent::{self, Specialist};
use crate::alert::Alert;
use crate::engine::{self, Deterministic, Observer, Progress, Scope};
use crate::llm::{Message, Usage};
use crate::rca::{Mode, Rca};
use crate::router::{self, Category, Route};
use crate::transcript::{ChatModel, ToolSource};

/// The `tracing` target of the spans worth exporting: one per
/// investigation, per tool call ([`Registry::call`](crate::registry::Registry::call))
/// and per LLM request ([`LlmClient::chat`](crate::llm::LlmClient::chat)).
/// `sre-agent` sends exactly these to an OTLP collector when configured and
/// keeps them out of its logs. Their fields are names, counts and outcomes:
/// never tool arguments or results, prompts, or credentials.
pub const TRACE_TARGET: &str = "sre_agent::trace";

/// How to investigate.
#[derive(Debug, Clone)]
pub struct Options {
    /// "Now" (the real time live; the recorded time for scenarios).
    pub now: Timestamp,
    /// The namespace when the alert does not name one.
    pub default_namespace: Option<String>,
    /// Most specialist steps.
    pub max_steps: usize,
    /// Extra context for the specialist (similar past incidents, runbooks).
    pub context: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            now: Timestamp::now(),
            default_namespace: None,
            max_steps: 8,
            context: None,
        }
    }
}

/// What an investigation produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The routing decision.
    pub route: Route,
    /// The RCA.
    pub rca: Rca,
    /// Model steps (0 without an LLM).
    pub llm_steps: usize,
    /// Tokens used.
    pub llm_usage: Usage,
    /// Tool calls made (deterministic and specialist).
    pub tool_calls: usize,
    /// Wall time, ms.
    pub elapsed_ms: u64,
}

/// Asks the model to pick a category when the rules are unsure. Any failure
/// keeps the rules' choice.
async fn route_with_model(alert: &Alert, rules: Route, model: &dyn ChatModel) -> Route {
    let prompt = format!(
        "Classify this alert into exactly one of: network, database, infrastructure, application, resource. \
         Answer with the one word.\nalert: {} — {}\nlabels: {:?}",
        alert.name, alert.summary, alert.labels
    );
    let messages = [Message::user(prompt)];
    match model.chat(&messages, &[]).await {
        Ok(c) => {
            let answer = c.message.content.unwrap_or_default().to_lowercase();
            match Category::ALL
                .iter()
                .find(|cat| answer.contains(cat.as_str()))
            {
                Some(&category) => Route {
                    category,
                    unsure: false,
                    matched: vec![format!("llm: {}", answer.trim())],
                    ..rules
                },
                None => rules,
            }
        }
        Err(_) => rules,
    }
}

/// Investigates one alert.
pub async fn investigate(
    alert: &Alert,
    tools: &dyn ToolSource,
    model: Option<&dyn ChatModel>,
    options: &Options,
    observer: &dyn Observer,
) -> Outcome {
    let span = tracing::info_span!(
        target: TRACE_TARGET,
        "investigation",
        alert.name = %alert.name,
        alert.fingerprint = %alert.fingerprint,
        alert.service = Empty,
        k8s.namespace.name = Empty,
        route.category = Empty,
        rca.mode = Empty,
        rca.category = Empty,
        rca.component = Empty,
        rca.kind = Empty,
        rca.confidence = Empty,
        rca.incomplete = Empty,
        tool_calls = Empty,
        llm.steps = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
    );
    if !span.is_disabled() {
        if let Some(service) = &alert.service {
            span.record("alert.service", service.as_str());
        }
        if let Some(ns) = alert
            .namespace
            .as_deref()
            .or(options.default_namespace.as_deref())
        {
            span.record("k8s.namespace.name", ns);
        }
    }
    let outcome = run(alert, tools, model, options, observer)
        .instrument(span.clone())
        .await;
    if !span.is_disabled() {
        let rca = &outcome.rca;
        span.record("route.category", outcome.route.category.as_str());
        span.record(
            "rca.mode",
            match rca.mode {
                Mode::Deterministic => "deterministic",
                Mode::Llm => "llm",
            },
        );
        span.record("rca.category", rca.category.as_str());
        span.record("rca.component", rca.root_cause.component.as_str());
        span.record("rca.kind", rca.root_cause.kind.as_str());
        span.record("rca.confidence", rca.confidence);
        span.record("rca.incomplete", rca.incomplete.is_some());
        span.record("tool_calls", outcome.tool_calls as u64);
        span.record("llm.steps", outcome.llm_steps as u64);
        if outcome.llm_steps > 0 {
            span.record("gen_ai.usage.input_tokens", outcome.llm_usage.prompt_tokens);
            span.record(
                "gen_ai.usage.output_tokens",
                outcome.llm_usage.completion_tokens,
            );
        }
    }
    outcome
}

async fn run(
    alert: &Alert,
    tools: &dyn ToolSource,
    model: Option<&dyn ChatModel>,
    options: &Options,
    observer: &dyn Observer,
) -> Outcome {
    let started = Instant::now();
    let mut route = router::route(alert);
    if route.unsure
        && let Some(m) = model
    {
        route = route_with_model(alert, route, m).await;
    }
    observer.progress(&Progress::Routed {
        category: route.category,
        unsure: route.unsure,
    });
    let scope = Scope::for_alert(
        alert,
        &route,
        options.now,
        options.default_namespace.as_deref(),
    );
    let det: Deterministic = engine::run(tools, &scope, observer)
        .instrument(tracing::info_span!(
            target: TRACE_TARGET,
            "deterministic_analysis"
        ))
        .await;
    let mut tool_calls = det.pack.outputs.len();
    let (rca, llm_steps, llm_usage) = match model {
        None => (det.rca.clone(), 0, Usage::default()),
        Some(m) => {
            // The specialist follows the evidence: the top suspect's category
            // when there is a clear one, the router's otherwise.
            let category = det
                .analysis
                .suspects
                .first()
                .and_then(|s| engine::kinds::category(s.kind))
                .unwrap_or(route.category);
            let mut specialist = Specialist::for_category(category);
            specialist.max_steps = options.max_steps;
            let out = agent::run(
                &specialist,
                m,
                tools,
                alert,
                &det,
                options.context.as_deref(),
                observer,
            )
            .await;
            tool_calls += out.tool_calls;
            (out.rca, out.steps, out.usage)
        }
    };
    Outcome {
        route,
        rca,
        llm_steps,
        llm_usage,
        tool_calls,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}
