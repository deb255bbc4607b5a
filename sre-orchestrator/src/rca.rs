//! The root-cause analysis: what every investigation ends in.
//!
//! One typed, serialisable structure whatever produced it (the deterministic
//! engine, an LLM specialist, or both), so the terminal report, the Slack
//! message, the portal and the evaluation all read the same thing. It is
//! honest about itself: [`Rca::mode`] says whether an LLM was involved,
//! [`Rca::confidence`] how sure it is, and [`Rca::data_gaps`] which sources
//! failed or were missing — an RCA that silently ignored a dead backend would
//! be worse than none at 3 a.m.

use serde::{Deserialize, Serialize};

use crate::router::Category;

/// How the RCA was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Rules and correlation only, no LLM.
    Deterministic,
    /// An LLM specialist, starting from the deterministic evidence.
    Llm,
}

/// The component and kind of failure found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    /// The failing component (a service, pod, node, database, collection…).
    pub component: String,
    /// A short machine-comparable kind, e.g. `oom_killed`, `bad_deploy`,
    /// `missing_index`, `dns_failure`, `node_not_ready`.
    pub kind: String,
    /// One or two sentences for people.
    pub description: String,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where it came from (`k8s.workload_health`, `signoz.log_patterns`…).
    pub source: String,
    /// What it shows, in one line.
    pub detail: String,
    /// A link, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One event on the incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When.
    pub at: jiff::Timestamp,
    /// Which source saw it.
    pub source: String,
    /// What happened.
    pub event: String,
}

/// How risky a remediation step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Safe to do now (read-only or trivially reversible).
    Low,
    /// Changes production; reversible.
    Medium,
    /// Changes production in ways that are hard to undo.
    High,
}

/// A suggested step. Never executed by the investigation itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    /// What to do.
    pub action: String,
    /// How risky it is.
    pub risk: Risk,
    /// A command that would do it, for a person to review and run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The same step as an MCP write tool call, which `sre-agent serve` can
    /// run after an approver's click (when writes are enabled). Only the
    /// deterministic engine fills it in, from its own findings; an LLM's
    /// free-text suggestions never become runnable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolAction>,
}

/// A write tool call that would carry out a remediation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolAction {
    /// The tool's own name (`rollout_undo`), found on whichever connected
    /// server offers it as a write tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: serde_json::Value,
}

/// A source that failed or was missing during the investigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataGap {
    /// The source (server or tool).
    pub source: String,
    /// What went wrong.
    pub reason: String,
}

/// What the pictures draw: figures the engine measured, kept with the RCA so
/// that a page drawn later, when the sources have moved on, shows what the
/// investigation saw. Empty when the telemetry had none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The degraded call path, the alerting service first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<Hop>,
    /// The alerting service's calls and errors per interval of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
}

impl Figures {
    /// Nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.path.is_empty() && self.series.is_none()
    }
}

/// One service on the call path, with its figures in the window and in the
/// baseline before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// The service.
    pub service: String,
    /// Error percentage in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_pct: Option<f64>,
    /// Error percentage in the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_err_pct: Option<f64>,
    /// p99 latency in the window, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// p99 latency in the baseline, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_p99_ms: Option<f64>,
}

/// A service's key figures over the window, one point per interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The service.
    pub service: String,
    /// The intervals' width, seconds.
    pub interval_secs: i64,
    /// Oldest first.
    pub points: Vec<Point>,
}

/// One interval of a [`Series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The interval's start.
    pub at: jiff::Timestamp,
    /// Requests (entry spans).
    pub calls: f64,
    /// Error percentage; none without calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_pct: Option<f64>,
}

/// A root-cause analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rca {
    /// One line: what broke.
    pub summary: String,
    /// The specialist category that investigated.
    pub category: Category,
    /// The root cause found.
    pub root_cause: RootCause,
    /// Other candidates, most likely first (the evaluation scores top-3).
    #[serde(default)]
    pub alternatives: Vec<RootCause>,
    /// 0.0–1.0.
    pub confidence: f64,
    /// The evidence, strongest first.
    pub evidence: Vec<Evidence>,
    /// What happened when, oldest first.
    pub timeline: Vec<TimelineEvent>,
    /// What to do.
    pub remediation: Vec<Remediation>,
    /// Services affected.
    pub affected_services: Vec<String>,
    /// Sources that failed or were missing.
    pub data_gaps: Vec<DataGap>,
    /// Deterministic or LLM.
    pub mode: Mode,
    /// Set when the investigation stopped early (step or token budget
    /// exhausted): what it could not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// What the pictures draw (the call path, the alerting service's
    /// errors over the window).
    #[serde(default, skip_serializing_if = "Figures::is_empty")]
    pub figures: Figures,
}

impl Rca {
    /// Renders the RCA as Markdown for terminals, files and the portal.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("# {}\n\n", self.summary));
        let mode = match self.mode {
            Mode::Deterministic => "deterministic analysis (no LLM)",
            Mode::Llm => "LLM specialist over deterministic evidence",
        };
        out.push_str(&format!(
            "**Root cause:** `{}` — {} ({})  \n**Confidence:** {:.0}% · **Category:** {} · **Mode:** {}\n\n",
            self.root_cause.component,
            self.root_cause.description,
            self.root_cause.kind,
            self.confidence * 100.0,
            self.category,
            mode,
        ));
        if let Some(why) = &self.incomplete {
            out.push_str(&format!("> **Incomplete:** {why}\n\n"));
        }
        if !self.evidence.is_empty() {
            out.push_str("## Evidence\n\n");
            for e in &self.evidence {
                match &e.link {
                    Some(link) => out.push_str(&format!(
                        "- **{}**: {} ([link]({link}))\n",
                        e.source, e.detail
                    )),
                    None => out.push_str(&format!("- **{}**: {}\n", e.source, e.detail)),
                }
            }
            out.push('\n');
        }
        if !self.timeline.is_empty() {
            out.push_str("## Timeline\n\n| time (UTC) | source | event |\n|---|---|---|\n");
            for t in &self.timeline {
                let at = t.at.strftime("%Y-%m-%d %H:%M:%S");
                out.push_str(&format!(
                    "| {at} | {} | {} |\n",
                    t.source,
                    t.event.replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
        if !self.remediation.is_empty() {
            out.push_str("## What to do\n\n");
            for (i, r) in self.remediation.iter().enumerate() {
                let risk = match r.risk {
                    Risk::Low => "low risk",
                    Risk::Medium => "medium risk",
                    Risk::High => "high risk",
                };
                out.push_str(&format!("{}. {} ({risk})\n", i + 1, r.action));
                if let Some(cmd) = &r.command {
                    out.push_str(&format!("   ```sh\n   {cmd}\n   ```\n"));
                }
            }
            out.push('\n');
        }
        if !self.alternatives.is_empty() {
            out.push_str("## Other candidates\n\n");
            for a in &self.alternatives {
                out.push_str(&format!(
                    "- `{}` — {} ({})\n",
                    a.component, a.description, a.kind
                ));
            }
            out.push('\n');
        }
        if !self.affected_services.is_empty() {
            out.push_str(&format!(
                "**Affected services:** {}\n\n",
                self.affected_services.join(", ")
            ));
        }
        if !self.data_gaps.is_empty() {
            out.push_str("## Data gaps\n\n");
            for g in &self.data_gaps {
                out.push_str(&format!("- {}: {}\n", g.source, g.reason));
            }
            out.push('\n');
        }
        out.push_str(
            "_Remediation steps are suggestions; nothing was changed by this investigation._\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rca {
        Rca {
            summary:
                "checkout is crash-looping: OOMKilled after its memory limit was lowered to 256Mi"
                    .into(),
            category: Category::Resource,
            root_cause: RootCause {
                component: "deployment/checkout".into(),
                kind: "oom_killed".into(),
                description: "The container exceeds its 256Mi limit under normal load.".into(),
            },
            alternatives: vec![RootCause {
                component: "node/ip-10-0-1-23".into(),
                kind: "memory_pressure".into(),
                description: "The node reported MemoryPressure.".into(),
            }],
            confidence: 0.86,
            evidence: vec![
                Evidence {
                    source: "k8s.workload_health".into(),
                    detail: "checkout-7d9f: OOMKilled (exit 137), 14 restarts".into(),
                    link: None,
                },
                Evidence {
                    source: "k8s.rollout_history".into(),
                    detail: "revision 12: memory limit 512Mi → 256Mi".into(),
                    link: Some("http://portal/x".into()),
                },
            ],
            timeline: vec![TimelineEvent {
                at: "2026-11-20T14:00:05Z".parse().unwrap(),
                source: "k8s".into(),
                event: "rollout of revision 12 | limits changed".into(),
            }],
            remediation: vec![Remediation {
                action: "Roll back to revision 11".into(),
                risk: Risk::Medium,
                command: Some(
                    "kubectl -n shop rollout undo deployment/checkout --to-revision=11".into(),
                ),
                tool: None,
            }],
            affected_services: vec!["checkout".into(), "frontend".into()],
            data_gaps: vec![DataGap {
                source: "mongodb".into(),
                reason: "server unreachable (db:27017)".into(),
            }],
            mode: Mode::Deterministic,
            incomplete: None,
            figures: Default::default(),
        }
    }

    #[test]
    fn markdown_report() {
        insta::assert_snapshot!(sample().to_markdown());
    }

    #[test]
    fn round_trips_through_json() {
        let rca = sample();
        let json = serde_json::to_string(&rca).unwrap();
        let back: Rca = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rca);
        assert!(json.contains("\"mode\":\"deterministic\""));
    }
}
