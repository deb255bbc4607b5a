//! `sre-agent eval`: every scenario investigated, the ranking scored
//! against the recorded true cause.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sre_orchestrator::engine::Quiet;
use sre_orchestrator::investigate::{Options, investigate};
use sre_orchestrator::transcript::ChatModel;

use crate::scenario::Scenario;

/// One scenario's score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioScore {
    /// The scenario.
    pub name: String,
    /// The true cause's category.
    pub category: String,
    /// `component/kind` expected.
    pub expected: String,
    /// `component/kind` found first.
    pub got: String,
    /// Rank of the true cause among root cause + alternatives (1-based).
    pub rank: Option<usize>,
    /// Wall time of the investigation, ms (server start-up excluded).
    pub investigate_ms: u64,
    /// Wall time of starting the servers on the scenario's data, ms.
    pub load_ms: u64,
    /// An error, when the scenario could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Accuracy figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Scenarios scored.
    pub scenarios: usize,
    /// Share with the true cause first.
    pub top1: f64,
    /// Share with the true cause in the first three.
    pub top3: f64,
}

/// The evaluation report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Per scenario.
    pub scenarios: Vec<ScenarioScore>,
    /// Overall.
    pub overall: Accuracy,
    /// Per category.
    pub by_category: BTreeMap<String, Accuracy>,
}

fn accuracy<'a>(scores: impl Iterator<Item = &'a ScenarioScore>) -> Accuracy {
    let mut a = Accuracy::default();
    let (mut t1, mut t3) = (0usize, 0usize);
    for s in scores {
        a.scenarios += 1;
        if s.rank == Some(1) {
            t1 += 1;
        }
        if s.rank.is_some_and(|r| r <= 3) {
            t3 += 1;
        }
    }
    if a.scenarios > 0 {
        a.top1 = t1 as f64 / a.scenarios as f64;
        a.top3 = t3 as f64 / a.scenarios as f64;
    }
    a
}

/// Runs one scenario.
pub async fn run_one(scenario: &Scenario, model: Option<&dyn ChatModel>) -> ScenarioScore {
    let expected = scenario.manifest.expected.clone();
    let mut score = ScenarioScore {
        name: scenario.name.clone(),
        category: expected
            .as_ref()
            .map(|e| e.category.to_string())
            .unwrap_or_default(),
        expected: expected
            .as_ref()
            .map(|e| format!("{}/{}", e.component, e.kind))
            .unwrap_or_default(),
        got: String::new(),
        rank: None,
        investigate_ms: 0,
        load_ms: 0,
        error: None,
    };
    let alert = match scenario.alert() {
        Ok(a) => a,
        Err(e) => {
            score.error = Some(format!("{e:#}"));
            return score;
        }
    };
    let started = std::time::Instant::now();
    let registry = match scenario.registry(Duration::from_secs(30), false).await {
        Ok(r) => r,
        Err(e) => {
            score.error = Some(format!("{e:#}"));
            return score;
        }
    };
    score.load_ms = started.elapsed().as_millis() as u64;
    let options = Options {
        now: scenario.manifest.now,
        default_namespace: scenario.manifest.namespace.clone(),
        ..Options::default()
    };
    let outcome = investigate(&alert, &registry, model, &options, &Quiet).await;
    score.investigate_ms = outcome.elapsed_ms;
    score.got = format!(
        "{}/{}",
        outcome.rca.root_cause.component, outcome.rca.root_cause.kind
    );
    score.rank = expected.and_then(|e| e.rank_in(&outcome.rca));
    registry.shutdown().await;
    score
}

/// Runs every scenario, one after the other (their timings stay comparable).
pub async fn run(scenarios: &[Scenario], model: Option<&dyn ChatModel>) -> Report {
    let mut scores = Vec::new();
    for s in scenarios {
        scores.push(run_one(s, model).await);
    }
    let overall = accuracy(scores.iter().filter(|s| s.error.is_none()));
    let mut by_category = BTreeMap::new();
    let cats: std::collections::BTreeSet<String> =
        scores.iter().map(|s| s.category.clone()).collect();
    for c in cats {
        by_category.insert(
            c.clone(),
            accuracy(
                scores
                    .iter()
                    .filter(|s| s.category == c && s.error.is_none()),
            ),
        );
    }
    Report {
        scenarios: scores,
        overall,
        by_category,
    }
}

/// The report as a table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<28} {:<15} {:<42} {:<42} {:>4} {:>7} {:>7}\n",
        "SCENARIO", "CATEGORY", "EXPECTED", "GOT", "RANK", "LOAD", "INVEST"
    ));
    for s in &report.scenarios {
        let rank = s.rank.map_or("-".to_string(), |r| r.to_string());
        let got = match &s.error {
            Some(e) => format!("ERROR: {e}"),
            None => s.got.clone(),
        };
        out.push_str(&format!(
            "{:<28} {:<15} {:<42} {:<42} {:>4} {:>5}ms {:>5}ms\n",
            s.name, s.category, s.expected, got, rank, s.load_ms, s.investigate_ms
        ));
    }
    out.push_str("\nCATEGORY         N   TOP-1   TOP-3\n");
    for (c, a) in &report.by_category {
        out.push_str(&format!(
            "{:<15} {:>2}  {:>5.0}%  {:>5.0}%\n",
            c,
            a.scenarios,
            a.top1 * 100.0,
            a.top3 * 100.0
        ));
    }
    out.push_str(&format!(
        "{:<15} {:>2}  {:>5.0}%  {:>5.0}%\n",
        "overall",
        report.overall.scenarios,
        report.overall.top1 * 100.0,
        report.overall.top3 * 100.0
    ));
    out
}

/// Checks a report against a recorded baseline: accuracy may not drop.
pub fn check_baseline(report: &Report, baseline: &Accuracy) -> Result<(), String> {
    let mut problems = Vec::new();
    if report.overall.top1 + 1e-9 < baseline.top1 {
        problems.push(format!(
            "top-1 accuracy {:.0}% is below the baseline {:.0}%",
            report.overall.top1 * 100.0,
            baseline.top1 * 100.0
        ));
    }
    if report.overall.top3 + 1e-9 < baseline.top3 {
        problems.push(format!(
            "top-3 accuracy {:.0}% is below the baseline {:.0}%",
            report.overall.top3 * 100.0,
            baseline.top3 * 100.0
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
