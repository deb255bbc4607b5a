//! One investigation, end to end: route, gather, rank, and (with an LLM)
//! let the specialist confirm or overturn.
//!
//! This is the one entry point the CLI, the Slack bot and the evaluation
//! share, so all three produce the same RCA for the same evidence.
//!
//! # The LLM can only make the RCA better
//!
//! The deterministic RCA is ready in a fraction of a second; the LLM phase
//! (routing help, then the specialists) can take minutes, or forever when an
//! endpoint accepts connections and never answers. So the whole LLM phase
//! runs under one deadline ([`LlmPhase::deadline`], 90 s by default, set by
//! `--llm-deadline`): it counts the time the model is being asked (routing
//! help, then the specialist; not the deterministic stage), every request
//! and retry inside it is bounded by what is left (see
//! [`crate::llm::within_deadline`]), and when it passes the deterministic
//! RCA is returned with a data gap saying the LLM timed out. Whatever the
//! specialist concludes in time must still pass [`crate::verify`] to
//! replace the engine's conclusion.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing::field::Empty;

use crate::agent::{Case, RunContext};
use crate::alert::Alert;
use crate::engine::{self, Deterministic, Observer, Progress, Scope};
use crate::llm::{Message, Usage};
use crate::panel;
use crate::rca::{Mode, Rca};
use crate::router::{self, Category, Route};
use crate::transcript::{ChatModel, ToolSource};

pub use crate::TRACE_TARGET;

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
    /// What gathering the deterministic evidence may spend.
    pub limits: engine::collect::Limits,
    /// People's verdicts on past causes of the same alert, a bounded prior
    /// on the ranking ([`engine::priors`]).
    pub priors: Vec<engine::priors::Prior>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            now: Timestamp::now(),
            default_namespace: None,
            max_steps: 8,
            context: None,
            limits: engine::collect::Limits::default(),
            priors: Vec::new(),
        }
    }
}

/// How long the LLM may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmPhase {
    /// The whole LLM phase (routing help and specialist, all requests,
    /// retries and tool calls), from the first request.
    pub deadline: Duration,
}

/// The default [`LlmPhase::deadline`].
pub const DEFAULT_LLM_DEADLINE: Duration = Duration::from_secs(90);

impl Default for LlmPhase {
    fn default() -> Self {
        Self {
            deadline: DEFAULT_LLM_DEADLINE,
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

/// Investigates one alert, with the default LLM deadline.
pub async fn investigate(
    alert: &Alert,
    tools: &dyn ToolSource,
    model: Option<&dyn ChatModel>,
    options: &Options,
    observer: &dyn Observer,
) -> Outcome {
    investigate_with(alert, tools, model, options, &LlmPhase::default(), observer).await
}

/// Investigates one alert, the LLM phase bounded by `phase`.
pub async fn investigate_with(
    alert: &Alert,
    tools: &dyn ToolSource,
    model: Option<&dyn ChatModel>,
    options: &Options,
    phase: &LlmPhase,
    observer: &dyn Observer,
) -> Outcome {
    let span = investigation_span(alert, options);
    let outcome = async {
        let started = Instant::now();
        // The LLM phase's clock runs while the model is being asked: routing
        // help, then the specialist (the deterministic stage in between is not
        // the LLM's time).
        let mut llm_spent = Duration::ZERO;
        let mut route = router::route(alert);
        if route.unsure
            && let Some(m) = model
        {
            let begun = tokio::time::Instant::now();
            let until = begun + phase.deadline;
            let asked = crate::llm::within_deadline(until, route_with_model(alert, route.clone(), m));
            route = tokio::time::timeout_at(until, asked).await.unwrap_or(route);
            llm_spent = begun.elapsed();
        }
        observer.progress(&Progress::Routed {
            category: route.category,
            unsure: route.unsure,
        });
        let mut scope = Scope::for_alert(
            alert,
            &route,
            options.now,
            options.default_namespace.as_deref(),
        );
        scope.limits = options.limits;
        scope.priors = options.priors.clone();
        let det: Deterministic = engine::run(tools, &scope, observer)
            .instrument(tracing::info_span!(
                target: TRACE_TARGET,
                "deterministic_analysis"
            ))
            .await;
        let mut tool_calls = det.pack.outputs.len();
        // The route follows the evidence: the alert's words chose where to look
        // first; what was found decides the category (a "checkout errors" alert
        // whose cause is a database pool is a database incident).
        if det.rca.root_cause.kind != "unknown" && det.rca.category != route.category {
            route.matched.push(format!(
                "evidence: {} ({}) is a {} cause, not {}",
                det.rca.root_cause.component, det.rca.root_cause.kind, det.rca.category, route.category
            ));
            route.category = det.rca.category;
            route.unsure = false;
        }
        let (rca, llm_steps, llm_usage) = match model {
            None => (det.rca.clone(), 0, Usage::default()),
            Some(m) => {
                // The specialists follow the evidence: the top suspect's
                // category leads, and rival categories get a second opinion
                // (see [`crate::panel`]).
                let categories = panel::categories(&route, &det.analysis.suspects, &det.rca);
                let until = tokio::time::Instant::now() + phase.deadline.saturating_sub(llm_spent);
                let ctx = RunContext {
                    deadline: Some(until),
                    namespace: scope.namespace.clone(),
                    extra_context: options.context.clone(),
                };
                let panel_run = async {
                    let case = Case {
                        model: m,
                        tools,
                        alert,
                        det: &det,
                        ctx: &ctx,
                        observer,
                    };
                    let opinions = panel::consult(&categories, options.max_steps, case).await;
                    panel::decide(opinions, m, alert, &det, Some(until), observer).await
                };
                let specialist_run = crate::llm::within_deadline(until, panel_run);
                // The specialists watch the deadline themselves; this bound is
                // for a model or tool source that ignores cancellation points.
                let grace = Duration::from_millis(250);
                match tokio::time::timeout_at(until + grace, specialist_run).await {
                    Ok(out) => {
                        tool_calls += out.tool_calls;
                        (out.rca, out.steps, out.usage)
                    }
                    Err(_) => {
                        let mut rca = det.rca.clone();
                        rca.data_gaps.push(crate::rca::DataGap {
                            source: "llm".into(),
                            reason: format!(
                                "the LLM timed out: the LLM phase did not finish within its {}s deadline; this is the deterministic analysis",
                                phase.deadline.as_secs_f64()
                            ),
                        });
                        (rca, 0, Usage::default())
                    }
                }
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
    .instrument(span.clone())
    .await;
    record_outcome(&span, &outcome);
    outcome
}

/// The investigation's span, with what the alert says; the rest of its
/// fields are [`record_outcome`]'s.
fn investigation_span(alert: &Alert, options: &Options) -> tracing::Span {
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
    span
}

/// Records what the investigation concluded on its span.
fn record_outcome(span: &tracing::Span, outcome: &Outcome) {
    if span.is_disabled() {
        return;
    }
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
