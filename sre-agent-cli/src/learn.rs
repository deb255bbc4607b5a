//! The learning replay (`sre-agent eval --learn`): does people's feedback
//! change the next answer, and only where it should?
//!
//! The sets are run once as they are. Each answer then gets the verdict a
//! person would give it — "confirmed" when the root cause was the true one,
//! "wrong root cause" otherwise — and the sets are run again with those
//! verdicts as the ranking's prior, through the same code `investigate` and
//! `serve` use ([`crate::memory::priors`] over past incidents of the same
//! alert, then `engine::priors`). Twice:
//!
//! * **new incidents**: each scenario sees the verdicts on the *other*
//!   scenarios of the same alert (name and service) only, as a new incident
//!   would see its predecessors';
//! * **recurring incidents**: each also sees the verdict on its own first
//!   answer, as an incident that comes back would.
//!
//! A scenario with no judged past of the same alert gets no prior, so its
//! second answer must equal its first: the replay checks that it does.

use incident_store::{PastIncident, Verdict};
use serde::Serialize;

use crate::eval::{self, Accuracy, Report, ScenarioScore};
use crate::memory;
use crate::scenario::Scenario;

/// What the replay found.
#[derive(Debug, Clone, Serialize)]
pub struct Learning {
    /// The first run, without memory.
    pub first: Report,
    /// With the verdicts on the other incidents of the same alert.
    pub new_incidents: Pass,
    /// With the verdicts on every incident of the same alert, its own too.
    pub recurring: Pass,
}

/// One run with feedback.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    /// The run.
    pub report: Report,
    /// Scenarios that had a judged past (a prior).
    pub matched: usize,
    /// Of those, right at top 1 in the first run and in this one.
    pub matched_top1: (usize, usize),
    /// Scenarios without a judged past whose answer changed (must be none).
    pub unmatched_changed: Vec<String>,
    /// Scenarios that could not run in this pass or the first.
    pub errors: Vec<String>,
}

/// The alert identity verdicts are shared by: name and service.
type AlertKey = (String, Option<String>);

/// A first answer as the store would remember it, with the verdict a person
/// would give.
fn remembered(id: usize, key: &AlertKey, score: &ScenarioScore) -> Option<PastIncident> {
    let (component, kind) = score.got.rsplit_once('/')?;
    Some(PastIncident {
        incident_id: id as i64 + 1,
        created_at: jiff::Timestamp::UNIX_EPOCH,
        alert_name: key.0.clone(),
        service: key.1.clone(),
        category: None,
        summary: String::new(),
        root_cause: sre_orchestrator::rca::RootCause {
            component: component.to_string(),
            kind: kind.to_string(),
            description: String::new(),
        },
        verdict: Some(if score.rank == Some(1) {
            Verdict::Confirmed
        } else {
            Verdict::Wrong
        }),
        same_service: true,
        same_alert: true,
        score: 1.0,
        fixed_by: None,
    })
}

/// Runs the replay over `sets` (name, path, scenarios).
pub async fn replay(sets: &[(String, String, Vec<Scenario>)]) -> Learning {
    let first = eval::run_sets(sets, None).await;
    let all: Vec<(&String, &Scenario)> = sets
        .iter()
        .flat_map(|(name, _, scenarios)| scenarios.iter().map(move |s| (name, s)))
        .collect();
    let keys: Vec<Option<AlertKey>> = all
        .iter()
        .map(|(_, s)| s.alert().ok().map(|a| (a.name, a.service)))
        .collect();
    // The scores come in the order of `all` (run_sets keeps it).
    let past: Vec<Option<PastIncident>> = keys
        .iter()
        .zip(&first.scenarios)
        .enumerate()
        .map(|(i, (key, score))| {
            key.as_ref()
                .filter(|_| score.error.is_none())
                .and_then(|k| remembered(i, k, score))
        })
        .collect();
    let new_incidents = pass(sets, &all, &keys, &past, &first, false).await;
    let recurring = pass(sets, &all, &keys, &past, &first, true).await;
    Learning {
        first,
        new_incidents,
        recurring,
    }
}

async fn pass(
    sets: &[(String, String, Vec<Scenario>)],
    all: &[(&String, &Scenario)],
    keys: &[Option<AlertKey>],
    past: &[Option<PastIncident>],
    first: &Report,
    own: bool,
) -> Pass {
    let mut scores = Vec::new();
    let (mut matched, mut before, mut after) = (0, 0, 0);
    let mut unmatched_changed = Vec::new();
    let mut errors = Vec::new();
    for (i, (set, scenario)) in all.iter().enumerate() {
        let judged: Vec<PastIncident> = past
            .iter()
            .enumerate()
            .filter(|(j, p)| {
                p.is_some() && (own || *j != i) && keys[*j].is_some() && keys[*j] == keys[i]
            })
            .filter_map(|(_, p)| p.clone())
            .collect();
        let priors = memory::priors(&judged);
        let mut score = eval::run_one_with(scenario, None, &priors).await;
        score.set = (*set).clone();
        let was = &first.scenarios[i];
        if score.error.is_some() || was.error.is_some() {
            errors.push(format!("{}/{}", score.set, score.name));
        } else if priors.is_empty() {
            if score.got != was.got || score.rank != was.rank {
                unmatched_changed.push(format!("{}/{}", score.set, score.name));
            }
        } else {
            matched += 1;
            before += usize::from(was.rank == Some(1));
            after += usize::from(score.rank == Some(1));
        }
        scores.push(score);
    }
    Pass {
        report: eval::summarize(
            scores,
            sets.iter()
                .map(|(n, p, _)| (n.clone(), p.clone()))
                .collect(),
        ),
        matched,
        matched_top1: (before, after),
        unmatched_changed,
        errors,
    }
}

fn row(out: &mut String, name: &str, a: &Accuracy, first: &Accuracy) {
    out.push_str(&format!(
        "{:<28} {:>5} {:>6.1}% {:>+6.1} {:>6.1}% {:>+6.1}\n",
        name,
        a.scenarios,
        a.top1 * 100.0,
        (a.top1 - first.top1) * 100.0,
        a.top3 * 100.0,
        (a.top3 - first.top3) * 100.0,
    ));
}

/// The replay as a table: per set, top-1 and top-3 of each run with the
/// change from the first.
pub fn table(l: &Learning) -> String {
    let mut out = format!(
        "{:<28} {:>5} {:>7} {:>6} {:>7} {:>6}\n",
        "SET / RUN", "N", "TOP1", "Δ", "TOP3", "Δ"
    );
    for (i, set) in l.first.sets.iter().enumerate() {
        row(&mut out, &set.name, &set.overall, &set.overall);
        for (label, p) in [
            ("  + feedback, new", &l.new_incidents),
            ("  + feedback, recurring", &l.recurring),
        ] {
            if let Some(s) = p.report.sets.get(i) {
                row(&mut out, label, &s.overall, &set.overall);
            }
        }
    }
    for (label, p) in [
        ("new incidents", &l.new_incidents),
        ("recurring incidents", &l.recurring),
    ] {
        let listed = |names: &[String]| {
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        };
        out.push_str(&format!(
            "{label}: {} scenario(s) had a judged past of the same alert, top-1 {} → {}; \
             {} without one changed{}; {} could not run{}\n",
            p.matched,
            p.matched_top1.0,
            p.matched_top1.1,
            p.unmatched_changed.len(),
            listed(&p.unmatched_changed),
            p.errors.len(),
            listed(&p.errors),
        ));
    }
    out
}
