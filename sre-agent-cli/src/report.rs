//! Rendering an investigation for people: the terminal report, and the
//! progress display shown while it runs.

use std::time::Instant;

use console::{Style, style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sre_orchestrator::engine::{Observer, Progress};
use sre_orchestrator::investigate::Outcome;
use sre_orchestrator::rca::{Mode, Risk};

/// The readable terminal report. `colour` adds ANSI styles.
pub fn terminal(outcome: &Outcome, colour: bool) -> String {
    let rca = &outcome.rca;
    let s = |st: &Style, text: &str| -> String {
        if colour {
            st.apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let red = Style::new().red().bold();
    let yellow = Style::new().yellow();
    let green = Style::new().green();
    let mut out = String::new();
    out.push_str(&format!("{}\n", s(&bold, &rca.summary)));
    let mode = match rca.mode {
        Mode::Deterministic => "deterministic analysis (no LLM)",
        Mode::Llm => "LLM specialist over deterministic evidence",
    };
    out.push_str(&format!(
        "{}\n\n",
        s(
            &dim,
            &format!(
                "{} · routed to {} · {} tool calls · {} ms{}",
                mode,
                outcome.route.category,
                outcome.tool_calls,
                outcome.elapsed_ms,
                if outcome.llm_usage.total_tokens > 0 {
                    format!(
                        " · {} LLM tokens in {} steps",
                        outcome.llm_usage.total_tokens, outcome.llm_steps
                    )
                } else {
                    String::new()
                }
            )
        )
    ));
    out.push_str(&format!(
        "{} {} {}  confidence {:.0}%\n",
        s(&red, "ROOT CAUSE"),
        s(&bold, &rca.root_cause.component),
        s(&yellow, &format!("[{}]", rca.root_cause.kind)),
        rca.confidence * 100.0
    ));
    out.push_str(&format!("  {}\n", rca.root_cause.description));
    if let Some(why) = &rca.incomplete {
        out.push_str(&format!(
            "  {}\n",
            s(&yellow, &format!("incomplete: {why}"))
        ));
    }
    if !rca.alternatives.is_empty() {
        out.push_str(&format!("\n{}\n", s(&bold, "Other candidates")));
        for (i, a) in rca.alternatives.iter().enumerate() {
            out.push_str(&format!("  {}. {} [{}]\n", i + 2, a.component, a.kind));
        }
    }
    if !rca.evidence.is_empty() {
        out.push_str(&format!("\n{}\n", s(&bold, "Evidence")));
        for e in &rca.evidence {
            out.push_str(&format!(
                "  • {} {}\n",
                s(&dim, &format!("[{}]", e.source)),
                e.detail
            ));
        }
    }
    if !rca.timeline.is_empty() {
        out.push_str(&format!("\n{}\n", s(&bold, "Timeline (UTC)")));
        for t in &rca.timeline {
            let at = t.at.strftime("%m-%d %H:%M:%S").to_string();
            out.push_str(&format!(
                "  {}  {} {}\n",
                s(&dim, &at),
                s(&dim, &format!("{:<12}", t.source)),
                t.event
            ));
        }
    }
    if !rca.remediation.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            s(&bold, "What to do (suggestions; nothing was executed)")
        ));
        for (i, r) in rca.remediation.iter().enumerate() {
            let risk = match r.risk {
                Risk::Low => s(&green, "low risk"),
                Risk::Medium => s(&yellow, "medium risk"),
                Risk::High => s(&red, "high risk"),
            };
            out.push_str(&format!("  {}. {} ({risk})\n", i + 1, r.action));
            if let Some(cmd) = &r.command {
                out.push_str(&format!("     $ {cmd}\n"));
            }
        }
    }
    if !rca.affected_services.is_empty() {
        out.push_str(&format!(
            "\n{} {}\n",
            s(&bold, "Affected:"),
            rca.affected_services.join(", ")
        ));
    }
    if !rca.data_gaps.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            s(&yellow, "Data gaps (sources that failed or were missing)")
        ));
        for g in &rca.data_gaps {
            out.push_str(&format!("  - {}: {}\n", g.source, g.reason));
        }
    }
    out
}

/// Shows progress on stderr with a spinner; hidden when stderr is not a
/// terminal (indicatif's stderr target does that), so scripts and pipes get
/// clean output.
pub struct ProgressDisplay {
    bar: ProgressBar,
    started: Instant,
}

impl ProgressDisplay {
    /// A spinner on stderr (or hidden when `hidden`).
    pub fn new(hidden: bool) -> Self {
        let target = if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(st) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
            bar.set_style(st);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message("starting");
        Self {
            bar,
            started: Instant::now(),
        }
    }

    /// A line above the spinner.
    pub fn line(&self, text: &str) {
        self.bar.println(text);
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for ProgressDisplay {
    fn progress(&self, event: &Progress) {
        let at = self.started.elapsed().as_millis();
        let text = match event {
            Progress::Routed { category, unsure } => format!(
                "routed to {category}{}",
                if *unsure { " (rules unsure)" } else { "" }
            ),
            Progress::Source {
                tool,
                elapsed_ms,
                ok,
            } => format!(
                "{} {tool} {elapsed_ms} ms",
                if *ok {
                    style("✓").green()
                } else {
                    style("✗").red()
                }
            ),
            Progress::Analysed { top } => format!(
                "deterministic analysis: top suspect {}",
                top.as_deref().unwrap_or("none")
            ),
            Progress::LlmStep {
                step,
                tool_calls,
                tokens,
            } => {
                format!("LLM step {step}: {tool_calls} tool calls, {tokens} tokens")
            }
            Progress::Note(n) => n.clone(),
        };
        self.bar.set_message(text.clone());
        self.bar.println(format!("{:>6} ms  {text}", at));
    }
}
