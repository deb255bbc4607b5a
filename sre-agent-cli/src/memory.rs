//! The incident memory both front ends read: similar past incidents (with
//! people's verdicts) and runbook sections.
//!
//! `serve` keeps every incident in its store; `investigate` keeps its own in
//! a local SQLite file (or in the team's store, with `--store URL`), so a
//! question asked from a laptop is answered with what the team learnt.
//! Memory reaches the RCA two ways: as context for the LLM specialist
//! ([`context`]), and, with or without an LLM, as evidence in the RCA when a
//! past incident had the same root cause ([`seen_before`]): "seen before:
//! #12 … confirmed by a person" is what an on-call engineer wants first.

use sre_orchestrator::alert::Alert;
use sre_orchestrator::rca::{Evidence, Rca};
use sre_orchestrator::store::{PastIncident, Store, Verdict};
use sre_orchestrator::verify::agrees;

/// Words worth searching for, joined with `or` (the store's search syntax
/// wants every word otherwise).
pub fn search_words(text: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        let w = w.to_lowercase();
        if w.len() > 2
            && !words.contains(&w)
            && !matches!(
                w.as_str(),
                "and" | "the" | "for" | "than" | "above" | "below"
            )
        {
            words.push(w);
        }
        if words.len() >= 8 {
            break;
        }
    }
    words.join(" or ")
}

/// Past incidents like `alert`, most similar first, without `exclude`
/// (the incident itself). A store that fails is logged and reads as empty.
pub async fn similar(store: &Store, alert: &Alert, exclude: Option<i64>) -> Vec<PastIncident> {
    match store.similar_incidents(alert, 6).await {
        Ok(past) => past
            .into_iter()
            .filter(|p| Some(p.incident_id) != exclude)
            .take(5)
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "similar incidents unavailable");
            Vec::new()
        }
    }
}

fn verdict_note(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Confirmed) => " [root cause CONFIRMED by a person]",
        Some(Verdict::Wrong) => " [root cause previously judged WRONG]",
        None => "",
    }
}

/// Memory as text for the specialist: similar past incidents and, when
/// `runbooks` are indexed, the runbook sections that match the alert.
pub async fn context(
    store: &Store,
    alert: &Alert,
    past: &[PastIncident],
    runbooks: bool,
) -> Option<String> {
    let mut out = String::new();
    if !past.is_empty() {
        out.push_str("Similar past incidents (most similar first):\n");
        for p in past {
            out.push_str(&format!(
                "- #{} {} ({}{}): {} Root cause then: {} ({}): {}{}\n",
                p.incident_id,
                p.created_at.strftime("%Y-%m-%d"),
                p.alert_name,
                p.service
                    .as_ref()
                    .map(|s| format!(", {s}"))
                    .unwrap_or_default(),
                p.summary,
                p.root_cause.component,
                p.root_cause.kind,
                p.root_cause.description,
                verdict_note(p.verdict),
            ));
        }
    }
    if runbooks {
        let query = search_words(&format!(
            "{} {} {}",
            alert.name,
            alert.service.as_deref().unwrap_or(""),
            alert.summary
        ));
        if !query.is_empty() {
            match store.search_runbooks(&query, 3).await {
                Ok(hits) if !hits.is_empty() => {
                    out.push_str("Runbook sections that may apply:\n");
                    for h in hits {
                        out.push_str(&format!(
                            "- {} § {} ({}): {}\n",
                            h.title, h.heading, h.path, h.snippet
                        ));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "runbook search failed"),
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Adds to `rca` the past incidents that had the same root cause, as
/// evidence (source `memory`), the confirmed ones first; a past verdict of
/// "wrong" on the same cause is said too. Returns how many were added.
pub fn seen_before(rca: &mut Rca, past: &[PastIncident]) -> usize {
    if rca.root_cause.kind == "unknown" {
        return 0;
    }
    let mut same: Vec<&PastIncident> = past
        .iter()
        .filter(|p| agrees(&p.root_cause, &rca.root_cause))
        .collect();
    same.sort_by_key(|p| match p.verdict {
        Some(Verdict::Confirmed) => 0,
        None => 1,
        Some(Verdict::Wrong) => 2,
    });
    for p in same.iter().take(3) {
        let verdict = match p.verdict {
            Some(Verdict::Confirmed) => ", confirmed by a person",
            Some(Verdict::Wrong) => ", but judged WRONG by a person then",
            None => "",
        };
        rca.evidence.push(Evidence {
            source: "memory".into(),
            detail: format!(
                "seen before: #{} on {} ({}): the same root cause, {} ({}){verdict}",
                p.incident_id,
                p.created_at.strftime("%Y-%m-%d"),
                p.alert_name,
                p.root_cause.component,
                p.root_cause.kind,
            ),
            link: None,
        });
    }
    same.len().min(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(id: i64, component: &str, kind: &str, verdict: Option<Verdict>) -> PastIncident {
        serde_json::from_value(serde_json::json!({
            "incident_id": id, "created_at": "2026-11-30T08:00:00Z", "alert_name": "KubePodCrashLooping",
            "service": "cart", "category": null, "summary": "s",
            "root_cause": {"component": component, "kind": kind, "description": "d"},
            "verdict": verdict, "same_service": true, "same_alert": true, "score": 1.0
        }))
        .expect("past incident")
    }

    #[test]
    fn the_same_cause_seen_before_is_evidence_confirmed_first() {
        let mut rca: Rca = serde_json::from_value(serde_json::json!({
            "summary": "s", "category": "resource",
            "root_cause": {"component": "cart", "kind": "oom_killed", "description": "d"},
            "alternatives": [], "confidence": 0.8, "evidence": [], "timeline": [],
            "remediation": [], "affected_services": [], "data_gaps": [], "mode": "deterministic"
        }))
        .expect("rca");
        let memory = [
            past(3, "cart", "oom_killed", None),
            past(9, "payments", "bad_deploy", Some(Verdict::Confirmed)),
            past(
                12,
                "deployment/cart",
                "oom_killed",
                Some(Verdict::Confirmed),
            ),
        ];
        assert_eq!(seen_before(&mut rca, &memory), 2);
        assert_eq!(rca.evidence[0].source, "memory");
        assert!(
            rca.evidence[0].detail.starts_with("seen before: #12 ")
                && rca.evidence[0].detail.ends_with("confirmed by a person"),
            "{:?}",
            rca.evidence
        );
        assert!(rca.evidence[1].detail.starts_with("seen before: #3 "));
        // No root cause: nothing is "the same".
        rca.root_cause.kind = "unknown".into();
        rca.evidence.clear();
        assert_eq!(seen_before(&mut rca, &memory), 0);
    }
}
