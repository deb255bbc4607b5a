//! `/metrics`: Prometheus (OpenMetrics) text, with prometheus-client.

use std::sync::Mutex;
use std::time::Duration;

use incident_store::{Counts, Enqueued};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sre_orchestrator::llm::Usage;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    source: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    source: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn investigation_histogram() -> Histogram {
    // 0.25 s … ~17 min.
    Histogram::new(exponential_buckets(0.25, 2.0, 13))
}

fn tool_histogram() -> Histogram {
    // 5 ms … ~80 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// The bot's metrics.
pub struct Metrics {
    registry: Registry,
    alerts: Family<AlertLabels, Counter>,
    rejected: Family<RejectLabels, Counter>,
    investigations: Family<OutcomeLabels, Counter>,
    duration: HistogramFamily<OutcomeLabels>,
    tokens: Family<KindLabels, Counter>,
    tool_calls: HistogramFamily<ServerLabels>,
    tool_errors: Family<ServerLabels, Counter>,
    feedback: Family<KindLabels, Counter>,
    slack_errors: Family<KindLabels, Counter>,
    remediations: Family<OutcomeLabels, Counter>,
    incidents: Family<StatusLabels, Gauge>,
    queued: Gauge,
    running: Gauge,
    socket_connections: Gauge,
    /// Kept up to date by Socket Mode; copied into the gauge at each scrape.
    socket_live: mcp_slack::intake::socket_mode::LiveConnections,
    // prometheus-client's encoder takes `&Registry`; the lock keeps two
    // scrapes from interleaving the gauge refresh and the encoding.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sre_agent");
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts_received",
            "Alert notifications and requests received, by source and what intake did",
            alerts.clone(),
        );
        let rejected = Family::<RejectLabels, Counter>::default();
        registry.register(
            "requests_rejected",
            "Requests refused before intake, by source and reason (host, unauthorized, content_type, rate_limited)",
            rejected.clone(),
        );
        let investigations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "investigations",
            "Investigations finished, by outcome (done, failed, lease_lost, released)",
            investigations.clone(),
        );
        let duration: HistogramFamily<OutcomeLabels> =
            Family::new_with_constructor(investigation_histogram);
        registry.register(
            "investigation_duration_seconds",
            "Investigation wall time, by outcome",
            duration.clone(),
        );
        let tokens = Family::<KindLabels, Counter>::default();
        registry.register(
            "llm_tokens",
            "LLM tokens used, by kind (prompt, completion)",
            tokens.clone(),
        );
        let tool_calls: HistogramFamily<ServerLabels> =
            Family::new_with_constructor(tool_histogram);
        registry.register(
            "tool_call_duration_seconds",
            "MCP tool-call latency, by server",
            tool_calls.clone(),
        );
        let tool_errors = Family::<ServerLabels, Counter>::default();
        registry.register(
            "tool_call_errors",
            "MCP tool calls that failed, by server",
            tool_errors.clone(),
        );
        let feedback = Family::<KindLabels, Counter>::default();
        registry.register(
            "feedback",
            "RCA feedback received, by verdict",
            feedback.clone(),
        );
        let slack_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "slack_errors",
            "Slack Web API calls that failed, by method",
            slack_errors.clone(),
        );
        let remediations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "remediations_run",
            "Approved remediation steps run through a write tool, by outcome (succeeded, failed)",
            remediations.clone(),
        );
        let incidents = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "incidents",
            "Incidents in the store, by status",
            incidents.clone(),
        );
        let queued = Gauge::default();
        registry.register(
            "jobs_queued",
            "Jobs waiting for a worker (all replicas)",
            queued.clone(),
        );
        let running = Gauge::default();
        registry.register(
            "jobs_running",
            "Jobs held by a worker (all replicas)",
            running.clone(),
        );
        let socket_connections = Gauge::default();
        registry.register(
            "slack_socket_connections",
            "Slack Socket Mode connections open on this replica (with --socket-mode, 0 means Slack events are not reaching it; always 0 without)",
            socket_connections.clone(),
        );
        Metrics {
            registry,
            alerts,
            rejected,
            investigations,
            duration,
            tokens,
            tool_calls,
            tool_errors,
            feedback,
            slack_errors,
            remediations,
            incidents,
            queued,
            running,
            socket_connections,
            socket_live: Default::default(),
            scrape: Mutex::new(()),
        }
    }

    /// Counts one refused request (`source`: the webhook, or `any` for the
    /// host check on every route).
    pub fn webhook_rejected(&self, source: &str, reason: &str) {
        self.rejected
            .get_or_create(&RejectLabels {
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts one intake result.
    pub fn alert(&self, source: &str, outcome: &Enqueued) {
        let outcome = match outcome {
            Enqueued::New { .. } => "new",
            Enqueued::Duplicate { .. } => "duplicate",
            Enqueued::Resolved { .. } => "resolved",
        };
        self.alerts
            .get_or_create(&AlertLabels {
                source: source.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts one finished investigation.
    pub fn investigation(&self, outcome: &str, elapsed: Duration) {
        let labels = OutcomeLabels {
            outcome: outcome.into(),
        };
        self.investigations.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Adds LLM usage.
    pub fn llm_usage(&self, usage: &Usage) {
        for (kind, n) in [
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
        ] {
            if n > 0 {
                self.tokens
                    .get_or_create(&KindLabels { kind: kind.into() })
                    .inc_by(n);
            }
        }
    }

    /// Times one tool call.
    pub fn tool_call(&self, server: &str, is_error: bool, elapsed: Duration) {
        let labels = ServerLabels {
            server: server.into(),
        };
        self.tool_calls
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if is_error {
            self.tool_errors.get_or_create(&labels).inc();
        }
    }

    /// Counts one feedback verdict.
    pub fn feedback(&self, verdict: &str) {
        self.feedback
            .get_or_create(&KindLabels {
                kind: verdict.into(),
            })
            .inc();
    }

    /// Counts one approved remediation run.
    pub fn remediation(&self, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        self.remediations
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts one failed Slack call.
    pub fn slack_error(&self, method: &str) {
        self.slack_errors
            .get_or_create(&KindLabels {
                kind: method.into(),
            })
            .inc();
    }

    /// Refreshes the store gauges.
    pub fn observe_counts(&self, counts: &Counts) {
        for (status, n) in &counts.incidents {
            self.incidents
                .get_or_create(&StatusLabels {
                    status: status.as_str().into(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.queued
            .set(i64::try_from(counts.queued_jobs).unwrap_or(i64::MAX));
        self.running
            .set(i64::try_from(counts.running_jobs).unwrap_or(i64::MAX));
    }

    /// The count Socket Mode keeps up to date for `slack_socket_connections`.
    pub fn socket_connections(&self) -> mcp_slack::intake::socket_mode::LiveConnections {
        self.socket_live.clone()
    }

    /// The text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let _guard = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.socket_connections
            .set(i64::try_from(self.socket_live.get()).unwrap_or(i64::MAX));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
