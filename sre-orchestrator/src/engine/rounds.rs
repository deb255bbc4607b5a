//! Running the evidence pack's rounds of calls within a budget, and saying
//! what is missing.
//!
//! A round's calls run concurrently; each answer is recorded, failed or
//! not. What the budget leaves unasked, what failed and which kind of
//! server is not connected at all become data gaps, one per server and
//! reason: the report says what the engine could not see, so an answer
//! from half the evidence is never mistaken for one from all of it.

use std::time::Instant;

use serde_json::{Value, json};

use super::collect::{Output, find};
use super::leads::ON_DEMAND;
use super::{Observer, Progress};
use crate::rca::DataGap;
use crate::transcript::{ToolInfo, ToolSource};

/// Pages followed per list after the first.
const MAX_PAGES: usize = 6;

/// The offset a paged list's footer names for its next page.
fn next_offset(text: &str) -> Option<usize> {
    let (_, rest) = text.rsplit_once("next page: offset=")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Where a JSON list's next call should start: after the objects this
/// answer holds when the response budget cut it (pods with sidecars are
/// large: twenty of them overflow a default budget, and the ones cut are
/// as likely to be the failing ones), else where its footer says the next
/// page begins.
pub(super) fn resume_offset(o: &Output) -> Option<usize> {
    let text = &o.outcome.text;
    if text.contains("[truncated by the response budget") {
        let got = text.lines().filter(|l| l.starts_with('{')).count();
        let from = o.args.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
        return (got > 0).then_some(from + got);
    }
    next_offset(text)
}

/// What gathering one investigation's evidence may spend: a runaway
/// cluster (thousands of pods, megabytes of logs) must not make the
/// investigation slow or large. What is left unasked is a data gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tool calls.
    pub calls: usize,
    /// Bytes of tool output.
    pub bytes: usize,
}

impl Default for Limits {
    /// Three to four times what a wide investigation spends (~40–70 calls,
    /// ~0.2–1 MB on the evaluation sets).
    fn default() -> Self {
        Limits {
            calls: 200,
            bytes: 4 << 20,
        }
    }
}

/// What has been spent so far, and what was left unasked.
pub(super) struct Spend {
    limits: Limits,
    calls: usize,
    bytes: usize,
    skipped: Vec<String>,
}

impl Spend {
    pub(super) fn new(limits: Limits) -> Self {
        Spend {
            limits,
            calls: 0,
            bytes: 0,
            skipped: Vec::new(),
        }
    }

    /// The calls of a round that fit what is left.
    fn admit(&mut self, mut calls: Vec<(String, Value)>) -> Vec<(String, Value)> {
        let room = if self.bytes >= self.limits.bytes {
            0
        } else {
            self.limits.calls.saturating_sub(self.calls)
        };
        if calls.len() > room {
            for (tool, args) in calls.drain(room..) {
                self.skipped.push(format!("{tool} {args}"));
            }
        }
        self.calls += calls.len();
        calls
    }

    /// The data gap that says the budget was reached, if it was.
    fn gap(&self) -> Option<DataGap> {
        let first = self.skipped.first()?;
        Some(DataGap {
            source: "evidence budget".into(),
            reason: format!(
                "stopped after {} tool calls and {} KB of output (limits: {} calls, {} KB); {} calls not made, the first: {}",
                self.calls,
                self.bytes / 1024,
                self.limits.calls,
                self.limits.bytes / 1024,
                self.skipped.len(),
                first_line(first),
            ),
        })
    }
}

/// Runs one round of calls, as many as the budget admits, concurrently.
pub(super) async fn run_round(
    source: &dyn ToolSource,
    calls: Vec<(String, Value)>,
    observer: &dyn Observer,
    spend: &mut Spend,
) -> Vec<Output> {
    let calls = spend.admit(calls);
    let futures = calls.into_iter().map(|(tool, args)| async move {
        let started = Instant::now();
        let outcome = source.call(&tool, args.clone()).await;
        observer.progress(&Progress::Source {
            tool: tool.clone(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            ok: !outcome.is_error,
        });
        let name = tool
            .split_once('.')
            .map_or(tool.as_str(), |(_, n)| n)
            .to_string();
        Output {
            tool,
            name,
            args,
            outcome,
        }
    });
    let outputs = futures::future::join_all(futures).await;
    spend.bytes += outputs.iter().map(|o| o.outcome.text.len()).sum::<usize>();
    outputs
}

/// Follows the `next page: offset=` footers of the JSON lists: the cluster
/// model must be whole, and a list cut by the response budget hides the
/// very pods that are failing.
pub(super) async fn follow_pages(
    source: &dyn ToolSource,
    outputs: &mut Vec<Output>,
    observer: &dyn Observer,
    spend: &mut Spend,
) {
    for _ in 0..MAX_PAGES {
        let next: Vec<(String, Value)> = outputs
            .iter()
            .filter(|o| o.name == "list" && !o.outcome.is_error)
            .filter_map(|o| {
                let offset = resume_offset(o)?;
                let mut args = o.args.clone();
                args["offset"] = json!(offset);
                let asked = |a: &Value| {
                    a.get("offset").and_then(Value::as_u64) == Some(offset as u64)
                        && a.get("kind") == args.get("kind")
                        && a.get("namespace") == args.get("namespace")
                };
                (!outputs.iter().any(|p| p.name == "list" && asked(&p.args)))
                    .then(|| (o.tool.clone(), args))
            })
            .collect();
        if next.is_empty() {
            break;
        }
        outputs.extend(run_round(source, next, observer, spend).await);
    }
}

/// What the investigation could not see: the sources' own gaps, the
/// budget's, the calls that failed (one gap per server and reason: five
/// tools failing on one missing kubeconfig is one problem) and the kinds
/// of server not connected at all.
pub(super) fn data_gaps(
    source: &dyn ToolSource,
    tools: &[ToolInfo],
    outputs: &[Output],
    spend: &Spend,
) -> Vec<DataGap> {
    let mut gaps = source.gaps();
    gaps.extend(spend.gap());
    let mut failed: Vec<(String, String, Vec<String>)> = Vec::new();
    // A container with no previous instance, or not started yet, has no
    // logs: that is an answer, not a missing source.
    // Nor is a cluster without cert-manager.
    for o in outputs.iter().filter(|o| {
        o.outcome.is_error
            && o.name != "logs"
            && !o
                .args
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| ON_DEMAND.iter().any(|(kind, _)| *kind == k))
    }) {
        let server = o.tool.split_once('.').map_or("", |(s, _)| s).to_string();
        if gaps.iter().any(|g| g.source == server) {
            continue;
        }
        let reason = first_line(&o.outcome.text);
        match failed
            .iter_mut()
            .find(|(s, r, _)| *s == server && *r == reason)
        {
            Some((_, _, names)) => {
                if !names.contains(&o.name) {
                    names.push(o.name.clone());
                }
            }
            None => failed.push((server, reason, vec![o.name.clone()])),
        }
    }
    for (server, reason, names) in failed {
        gaps.push(DataGap {
            source: format!("{server} ({})", names.join(", ")),
            reason,
        });
    }
    for (server, what) in [
        ("workload_health", "Kubernetes"),
        ("service_health", "SigNoz telemetry"),
    ] {
        if find(tools, server).is_none() && !gaps.iter().any(|g| g.reason.contains(what)) {
            gaps.push(DataGap {
                source: what.to_string(),
                reason: format!("no {what} server is connected"),
            });
        }
    }
    gaps
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line.to_string()
    }
}
