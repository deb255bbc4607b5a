//! `sre-agent eval`: every scenario investigated, the ranking scored
//! against the recorded true cause, over one or several scenario sets.
//!
//! Per scenario it records the rank of the true cause, the stated
//! confidence, the category the alert was routed to and the RCA's category;
//! per set and overall, top-1/top-3 accuracy by category, a reliability
//! table (stated confidence against the share that was right) and the
//! router's accuracy. A baseline file (`--baseline`, JSON or TOML) holds
//! floors overall and per set, and optionally the scenarios each set got
//! right, so a drop names the scenarios that regressed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sre_orchestrator::engine::Quiet;
use sre_orchestrator::engine::priors::Prior;
use sre_orchestrator::investigate::{Options, investigate};
use sre_orchestrator::transcript::ChatModel;

use crate::scenario::Scenario;

/// One scenario's score.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScenarioScore {
    /// The scenario.
    pub name: String,
    /// The set it belongs to (the folder's name).
    #[serde(default)]
    pub set: String,
    /// The true cause's category.
    pub category: String,
    /// `component/kind` expected.
    pub expected: String,
    /// `component/kind` found first.
    pub got: String,
    /// Rank of the true cause among root cause + alternatives (1-based).
    pub rank: Option<usize>,
    /// The RCA's stated confidence (0–1).
    #[serde(default)]
    pub confidence: f64,
    /// The category the router sent the investigation to.
    #[serde(default)]
    pub routed: String,
    /// The RCA's category (the specialist that concluded).
    #[serde(default)]
    pub rca_category: String,
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

/// One row of the reliability table: scenarios whose stated confidence
/// falls in [lo, hi), and the share of them that were right (rank 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Lower bound (inclusive).
    pub lo: f64,
    /// Upper bound (exclusive; the last bucket includes 1.0).
    pub hi: f64,
    /// Scenarios in the bucket.
    pub scenarios: usize,
    /// Share right at rank 1 (0 when empty).
    pub correct: f64,
    /// Mean stated confidence in the bucket.
    pub mean_confidence: f64,
}

/// How often the router picked the expected category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouterAccuracy {
    /// Scenarios with an expected category.
    pub scenarios: usize,
    /// Routed to the expected category.
    pub correct: usize,
    /// `correct / scenarios`.
    pub accuracy: f64,
    /// The RCA's category equals the expected one (the route may change
    /// during an investigation; this is the category it concluded with).
    pub rca_correct: usize,
}

/// One set's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetSummary {
    /// The set's name (its folder's name).
    pub name: String,
    /// Its folder.
    pub path: String,
    /// Overall.
    pub overall: Accuracy,
    /// Per category.
    pub by_category: BTreeMap<String, Accuracy>,
    /// Router accuracy.
    pub router: RouterAccuracy,
}

/// The evaluation report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Per scenario (every set).
    pub scenarios: Vec<ScenarioScore>,
    /// Overall (every set).
    pub overall: Accuracy,
    /// Per category (every set).
    pub by_category: BTreeMap<String, Accuracy>,
    /// Per set.
    #[serde(default)]
    pub sets: Vec<SetSummary>,
    /// Stated confidence against the share right, every set.
    #[serde(default)]
    pub reliability: Vec<Bucket>,
    /// Router accuracy, every set.
    #[serde(default)]
    pub router: RouterAccuracy,
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

fn by_category(scores: &[&ScenarioScore]) -> BTreeMap<String, Accuracy> {
    let cats: std::collections::BTreeSet<String> =
        scores.iter().map(|s| s.category.clone()).collect();
    cats.into_iter()
        .map(|c| {
            let a = accuracy(
                scores
                    .iter()
                    .copied()
                    .filter(|s| s.category == c && s.error.is_none()),
            );
            (c, a)
        })
        .collect()
}

/// The confidence buckets of the reliability table.
pub const BUCKETS: &[(f64, f64)] = &[(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.85), (0.85, 1.0)];

/// The reliability table of `scores`.
pub fn reliability<'a>(scores: impl Iterator<Item = &'a ScenarioScore>) -> Vec<Bucket> {
    let mut rows: Vec<(usize, usize, f64)> = vec![(0, 0, 0.0); BUCKETS.len()];
    for s in scores {
        let i = BUCKETS
            .iter()
            .position(|(lo, hi)| s.confidence >= *lo && s.confidence < *hi)
            .unwrap_or(BUCKETS.len() - 1);
        rows[i].0 += 1;
        if s.rank == Some(1) {
            rows[i].1 += 1;
        }
        rows[i].2 += s.confidence;
    }
    BUCKETS
        .iter()
        .zip(rows)
        .map(|(&(lo, hi), (n, ok, sum))| Bucket {
            lo,
            hi,
            scenarios: n,
            correct: if n > 0 { ok as f64 / n as f64 } else { 0.0 },
            mean_confidence: if n > 0 { sum / n as f64 } else { 0.0 },
        })
        .collect()
}

fn router<'a>(scores: impl Iterator<Item = &'a ScenarioScore>) -> RouterAccuracy {
    let mut r = RouterAccuracy::default();
    for s in scores {
        if s.category.is_empty() {
            continue;
        }
        r.scenarios += 1;
        if s.routed == s.category {
            r.correct += 1;
        }
        if s.rca_category == s.category {
            r.rca_correct += 1;
        }
    }
    if r.scenarios > 0 {
        r.accuracy = r.correct as f64 / r.scenarios as f64;
    }
    r
}

/// Runs one scenario.
pub async fn run_one(scenario: &Scenario, model: Option<&dyn ChatModel>) -> ScenarioScore {
    run_one_with(scenario, model, &[]).await
}

/// [`run_one`] with people's verdicts on past causes as the ranking's prior
/// (see [`crate::learn`]).
pub async fn run_one_with(
    scenario: &Scenario,
    model: Option<&dyn ChatModel>,
    priors: &[Prior],
) -> ScenarioScore {
    let expected = scenario.manifest.expected.clone();
    let mut score = ScenarioScore {
        name: scenario.name.clone(),
        set: String::new(),
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
        confidence: 0.0,
        routed: String::new(),
        rca_category: String::new(),
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
        priors: priors.to_vec(),
        ..Options::default()
    };
    let outcome = investigate(&alert, &registry, model, &options, &Quiet).await;
    score.investigate_ms = outcome.elapsed_ms;
    score.got = format!(
        "{}/{}",
        outcome.rca.root_cause.component, outcome.rca.root_cause.kind
    );
    score.confidence = outcome.rca.confidence;
    // The route is the router's first decision (from the alert); the RCA's
    // category is where the investigation concluded.
    score.routed = outcome.route.category.to_string();
    score.rca_category = outcome.rca.category.to_string();
    score.rank = expected.and_then(|e| e.rank_in(&outcome.rca));
    registry.shutdown().await;
    score
}

/// Runs every scenario of one set, one after the other (their timings stay
/// comparable).
pub async fn run(scenarios: &[Scenario], model: Option<&dyn ChatModel>) -> Report {
    run_sets(&[(String::new(), String::new(), scenarios.to_vec())], model).await
}

/// Runs several sets: (name, path, scenarios), one scenario at a time.
pub async fn run_sets(
    sets: &[(String, String, Vec<Scenario>)],
    model: Option<&dyn ChatModel>,
) -> Report {
    run_sets_jobs(sets, model, 1).await
}

/// [`run_sets`] with up to `jobs` scenarios at once, the scores in the same
/// order. A scenario spends much of its time waiting on its in-process
/// servers, and its analysis is CPU work: without an LLM each runs as a task
/// of its own on the runtime's workers, so a large set finishes sooner on
/// two cores. Timings are then no longer comparable with a run of one at a
/// time.
pub async fn run_sets_jobs(
    sets: &[(String, String, Vec<Scenario>)],
    model: Option<&dyn ChatModel>,
    jobs: usize,
) -> Report {
    use futures::StreamExt;
    let runs = sets
        .iter()
        .flat_map(|(name, _, scenarios)| scenarios.iter().map(move |s| (name.clone(), s.clone())));
    let scores: Vec<ScenarioScore> = match model {
        None if jobs > 1 => {
            futures::stream::iter(runs.map(|(set, scenario)| async move {
                let name = scenario.name.clone();
                let task = tokio::spawn(async move { run_one(&scenario, None).await });
                let mut sc = task.await.unwrap_or_else(|e| ScenarioScore {
                    name,
                    error: Some(format!("the scenario's task failed: {e}")),
                    ..ScenarioScore::default()
                });
                sc.set = set;
                sc
            }))
            .buffered(jobs)
            .collect()
            .await
        }
        // A model is borrowed, not shared across tasks: one at a time.
        _ => {
            let mut scores = Vec::new();
            for (set, scenario) in runs {
                let mut sc = run_one(&scenario, model).await;
                sc.set = set;
                scores.push(sc);
            }
            scores
        }
    };
    summarize(
        scores,
        sets.iter()
            .map(|(n, p, _)| (n.clone(), p.clone()))
            .collect(),
    )
}

/// Builds the report's figures from scores; `sets` is (name, path).
pub fn summarize(scores: Vec<ScenarioScore>, sets: Vec<(String, String)>) -> Report {
    let ok: Vec<&ScenarioScore> = scores.iter().filter(|s| s.error.is_none()).collect();
    let overall = accuracy(ok.iter().copied());
    let all: Vec<&ScenarioScore> = scores.iter().collect();
    let by_cat = by_category(&all);
    let mut summaries = Vec::new();
    for (name, path) in sets {
        let mine: Vec<&ScenarioScore> = scores.iter().filter(|s| s.set == name).collect();
        summaries.push(SetSummary {
            overall: accuracy(mine.iter().copied().filter(|s| s.error.is_none())),
            by_category: by_category(&mine),
            router: router(mine.iter().copied().filter(|s| s.error.is_none())),
            name,
            path,
        });
    }
    Report {
        reliability: reliability(ok.iter().copied()),
        router: router(ok.iter().copied()),
        scenarios: scores,
        overall,
        by_category: by_cat,
        sets: summaries,
    }
}

/// The name of a set: its folder's name.
pub fn set_name(dir: &Path) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

fn scenario_rows(out: &mut String, scores: &[&ScenarioScore]) {
    out.push_str(&format!(
        "{:<28} {:<15} {:<42} {:<42} {:>4} {:>5} {:<15} {:>7} {:>7}\n",
        "SCENARIO", "CATEGORY", "EXPECTED", "GOT", "RANK", "CONF", "ROUTED", "LOAD", "INVEST"
    ));
    for s in scores {
        let rank = s.rank.map_or("-".to_string(), |r| r.to_string());
        let got = match &s.error {
            Some(e) => format!("ERROR: {e}"),
            None => s.got.clone(),
        };
        out.push_str(&format!(
            "{:<28} {:<15} {:<42} {:<42} {:>4} {:>4.0}% {:<15} {:>5}ms {:>5}ms\n",
            s.name,
            s.category,
            s.expected,
            got,
            rank,
            s.confidence * 100.0,
            s.routed,
            s.load_ms,
            s.investigate_ms
        ));
    }
}

fn category_rows(out: &mut String, by_category: &BTreeMap<String, Accuracy>, overall: &Accuracy) {
    out.push_str("\nCATEGORY         N   TOP-1   TOP-3\n");
    for (c, a) in by_category {
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
        overall.scenarios,
        overall.top1 * 100.0,
        overall.top3 * 100.0
    ));
}

/// The report as tables: per set, the scenarios and the accuracy by
/// category; with several sets, a table of the sets and their total; then
/// the reliability table and the router's accuracy.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let multi = report.sets.len() > 1;
    if multi {
        for set in &report.sets {
            out.push_str(&format!("== {} ({}) ==\n", set.name, set.path));
            let mine: Vec<&ScenarioScore> = report
                .scenarios
                .iter()
                .filter(|s| s.set == set.name)
                .collect();
            scenario_rows(&mut out, &mine);
            category_rows(&mut out, &set.by_category, &set.overall);
            out.push('\n');
        }
        out.push_str("SET                          N   TOP-1   TOP-3  ROUTER\n");
        for set in &report.sets {
            out.push_str(&format!(
                "{:<26} {:>4}  {:>5.0}%  {:>5.0}%  {:>5.0}%\n",
                set.name,
                set.overall.scenarios,
                set.overall.top1 * 100.0,
                set.overall.top3 * 100.0,
                set.router.accuracy * 100.0
            ));
        }
        out.push_str(&format!(
            "{:<26} {:>4}  {:>5.0}%  {:>5.0}%  {:>5.0}%\n",
            "total",
            report.overall.scenarios,
            report.overall.top1 * 100.0,
            report.overall.top3 * 100.0,
            report.router.accuracy * 100.0
        ));
    } else {
        let all: Vec<&ScenarioScore> = report.scenarios.iter().collect();
        scenario_rows(&mut out, &all);
        category_rows(&mut out, &report.by_category, &report.overall);
    }
    out.push_str("\nCONFIDENCE      N  RIGHT  MEAN-CONF\n");
    for b in &report.reliability {
        out.push_str(&format!(
            "{:.2}-{:.2}  {:>5}  {:>4.0}%  {:>8.0}%\n",
            b.lo,
            b.hi,
            b.scenarios,
            b.correct * 100.0,
            b.mean_confidence * 100.0
        ));
    }
    let r = &report.router;
    out.push_str(&format!(
        "\nrouter: {}/{} alerts routed to the expected category ({:.0}%); RCA category right {}/{}\n",
        r.correct, r.scenarios, r.accuracy * 100.0, r.rca_correct, r.scenarios
    ));
    out
}

/// Floors for one set in a baseline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetFloor {
    /// Scenarios in the set when the floor was recorded.
    #[serde(default)]
    pub scenarios: usize,
    /// Top-1 floor.
    pub top1: f64,
    /// Top-3 floor.
    pub top3: f64,
    /// Scenarios right at rank 1 when recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correct: Vec<String>,
}

/// A baseline file: the old format (`{"scenarios", "top1", "top3"}`, floors
/// on the overall figures) plus optional floors per set name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Scenarios overall when recorded.
    #[serde(default)]
    pub scenarios: usize,
    /// Overall top-1 floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top1: Option<f64>,
    /// Overall top-3 floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top3: Option<f64>,
    /// Floors per set name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sets: BTreeMap<String, SetFloor>,
}

impl Baseline {
    /// Reads a baseline file: TOML when the name ends in `.toml`, else JSON.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).with_context(|| format!("{} is not a baseline", path.display()))
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a baseline", path.display()))
        }
    }

    /// The baseline a report would record: its figures as floors, per set
    /// with the scenarios it got right.
    pub fn from_report(report: &Report) -> Self {
        let mut sets = BTreeMap::new();
        for s in &report.sets {
            if s.name.is_empty() {
                continue;
            }
            sets.insert(
                s.name.clone(),
                SetFloor {
                    scenarios: s.overall.scenarios,
                    top1: s.overall.top1,
                    top3: s.overall.top3,
                    correct: report
                        .scenarios
                        .iter()
                        .filter(|x| x.set == s.name && x.rank == Some(1))
                        .map(|x| x.name.clone())
                        .collect(),
                },
            );
        }
        Self {
            scenarios: report.overall.scenarios,
            top1: Some(report.overall.top1),
            top3: Some(report.overall.top3),
            sets,
        }
    }
}

/// Checks a report against a recorded baseline: accuracy may not drop.
pub fn check_baseline(report: &Report, baseline: &Accuracy) -> Result<(), String> {
    check(
        report,
        &Baseline {
            scenarios: baseline.scenarios,
            top1: Some(baseline.top1),
            top3: Some(baseline.top3),
            sets: BTreeMap::new(),
        },
    )
    .map_err(|f| f.message)
}

/// A failed baseline check.
#[derive(Debug, Clone)]
pub struct BelowFloor {
    /// What fell below which floor.
    pub message: String,
    /// Scenarios right in the baseline and wrong now, as `set/name`.
    pub regressed: Vec<String>,
}

/// Scenarios a baseline lists as right and the report has wrong, as
/// `set/name: expected … got …`.
pub fn regressions(report: &Report, baseline: &Baseline) -> Vec<String> {
    let mut out = Vec::new();
    for (set, floor) in &baseline.sets {
        for name in &floor.correct {
            if let Some(s) = report
                .scenarios
                .iter()
                .find(|s| &s.set == set && &s.name == name)
                && s.rank != Some(1)
            {
                out.push(format!(
                    "{set}/{name}: expected {} got {} (rank {})",
                    s.expected,
                    s.got,
                    s.rank.map_or("-".into(), |r| r.to_string())
                ));
            }
        }
    }
    out
}

/// Checks a report against a baseline's floors (overall and per set).
pub fn check(report: &Report, baseline: &Baseline) -> Result<(), BelowFloor> {
    let mut problems = Vec::new();
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let overall = [
        ("top-1", report.overall.top1, baseline.top1),
        ("top-3", report.overall.top3, baseline.top3),
    ];
    for (what, got, floor) in overall {
        if let Some(floor) = floor
            && got + 1e-9 < floor
        {
            problems.push(format!(
                "{what} accuracy {} is below the baseline {}",
                pct(got),
                pct(floor)
            ));
        }
    }
    for (name, floor) in &baseline.sets {
        let Some(set) = report.sets.iter().find(|s| &s.name == name) else {
            continue;
        };
        if set.overall.top1 + 1e-9 < floor.top1 {
            problems.push(format!(
                "{name}: top-1 accuracy {} is below the baseline {}",
                pct(set.overall.top1),
                pct(floor.top1)
            ));
        }
        if set.overall.top3 + 1e-9 < floor.top3 {
            problems.push(format!(
                "{name}: top-3 accuracy {} is below the baseline {}",
                pct(set.overall.top3),
                pct(floor.top3)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BelowFloor {
            message: problems.join("; "),
            regressed: regressions(report, baseline),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(set: &str, name: &str, rank: Option<usize>, conf: f64) -> ScenarioScore {
        ScenarioScore {
            name: name.into(),
            set: set.into(),
            category: "network".into(),
            expected: "a/x".into(),
            got: "b/y".into(),
            rank,
            confidence: conf,
            routed: "network".into(),
            rca_category: "application".into(),
            investigate_ms: 0,
            load_ms: 0,
            error: None,
        }
    }

    #[test]
    fn per_set_floors_fail_and_name_the_regressed_scenarios() {
        let r = summarize(
            vec![
                score("a", "s1", Some(1), 0.9),
                score("a", "s2", Some(2), 0.2),
                score("b", "t1", None, 0.6),
            ],
            vec![("a".into(), "/a".into()), ("b".into(), "/b".into())],
        );
        assert_eq!(r.sets[0].overall.scenarios, 2);
        assert!((r.sets[0].overall.top1 - 0.5).abs() < 1e-9);
        assert_eq!(r.router.correct, 3);
        assert_eq!(r.router.rca_correct, 0);
        assert_eq!(r.reliability[0].scenarios, 1);
        assert_eq!(r.reliability[4].scenarios, 1);
        assert!((r.reliability[4].correct - 1.0).abs() < 1e-9);
        let mut b = Baseline::from_report(&r);
        assert_eq!(b.sets["a"].correct, vec!["s1".to_string()]);
        assert!(check(&r, &b).is_ok());
        if let Some(f) = b.sets.get_mut("a") {
            f.correct.push("s2".into());
            f.top1 = 0.9;
        }
        let err = check(&r, &b)
            .err()
            .map(|e| (e.message, e.regressed))
            .unwrap_or_default();
        assert!(err.0.contains("a: top-1"), "{}", err.0);
        assert_eq!(err.1.len(), 1);
        assert!(err.1[0].starts_with("a/s2"));
        // The old format still reads and checks the overall figures.
        let old: Baseline =
            serde_json::from_str(r#"{"scenarios": 12, "top1": 1.0, "top3": 1.0}"#).unwrap();
        assert!(check(&r, &old).is_err());
    }
}
