//! The incident memory both front ends read: similar past incidents (with
//! people's verdicts) and runbook sections.
//!
//! `serve` keeps every incident in its store; `investigate` keeps its own in
//! a local SQLite file ([`default_store_path`]) or reads the team's store
//! (`--store postgres://…`, read only, never migrated), so a question asked
//! from a laptop is answered with what was learnt before.
//! Memory reaches the RCA two ways: as context for the LLM specialist
//! ([`context`]), and, with or without an LLM, as evidence in the RCA when a
//! past incident had the same root cause ([`seen_before`]): "seen before:
//! #12 … confirmed by a person" is what an on-call engineer wants first.
//! People's verdicts on the causes of the *same* alert before are also a
//! bounded prior on the ranking ([`priors`]; the engine's
//! `engine::priors` says how far it goes), with or without an LLM: a cause
//! judged wrong last time is ranked lower, a confirmed one higher.

use std::path::PathBuf;
use std::time::Duration;

use incident_store::{PastIncident, Store, StoreOptions, Verdict};
use sre_orchestrator::alert::Alert;
use sre_orchestrator::engine::priors::{CONFIRMED, Prior, WRONG};
use sre_orchestrator::rca::{Evidence, Rca, RootCause};
use sre_orchestrator::verify::agrees;

/// The memory of `sre-agent investigate`, as opened.
#[derive(Debug)]
pub struct Laptop {
    /// The store.
    pub store: Store,
    /// Where it is, for messages (a file path, or the URL's scheme and host
    /// without credentials).
    pub shown: String,
    /// Whether finished investigations are recorded in it: a local SQLite
    /// file is the user's own; a shared PostgreSQL store (the team's
    /// `serve` database) is only read, and never migrated.
    pub writable: bool,
}

/// The default store of `investigate`: `incidents.db` in `sre-agent/` under
/// `$XDG_DATA_HOME`, else `~/.local/share`. `None` when neither is known.
pub fn default_store_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(base.join("sre-agent").join("incidents.db"))
}

/// Which store `investigate` uses: `flag` is `--store` (a URL, or `off`);
/// without it, the default file, except for recorded data (`--scenario`,
/// `--replay`), whose answer must not depend on this machine's past.
/// `Err` for a value that is no store URL.
pub fn choose_store(flag: Option<&str>, recorded: bool) -> Result<Option<String>, String> {
    match flag.map(str::trim) {
        Some("off" | "none" | "") => Ok(None),
        Some(url) => {
            if url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://")
            {
                Ok(Some(url.to_string()))
            } else {
                Err(format!(
                    "--store `{}` is not a store: give sqlite://PATH, postgres://…, or off",
                    shown_url(url)
                ))
            }
        }
        None if recorded => Ok(None),
        None => Ok(default_store_path().map(|p| format!("sqlite://{}", p.display()))),
    }
}

/// A store URL without its credentials.
fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = host.split(['/', '?']).next().unwrap_or(host);
            if scheme == "sqlite" {
                rest.split('?').next().unwrap_or(rest).to_string()
            } else {
                format!("{scheme}://{host}")
            }
        }
        None => url.split('?').next().unwrap_or(url).to_string(),
    }
}

/// Opens `url` for `investigate` within `timeout`: SQLite read and written
/// (created and migrated if new), PostgreSQL read only and never migrated.
/// Memory is a help, not a need: any failure is returned as a sentence for
/// the user and the investigation goes on without it.
pub async fn open_for_investigate(url: &str, timeout: Duration) -> Result<Laptop, String> {
    let writable = url.starts_with("sqlite:");
    let options = StoreOptions {
        max_connections: 2,
        migrate: writable,
        ..StoreOptions::default()
    };
    let shown = shown_url(url);
    match tokio::time::timeout(timeout, Store::connect_with(url, options)).await {
        Ok(Ok(store)) => Ok(Laptop {
            store,
            shown,
            writable,
        }),
        Ok(Err(e)) => Err(format!("incident memory unavailable ({shown}): {e}")),
        Err(_) => Err(format!(
            "incident memory unavailable ({shown}): no answer within {}s",
            timeout.as_secs()
        )),
    }
}

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
        let fixed = p
            .fixed_by
            .as_deref()
            .map(|f| format!("; fixed then by: {f}"))
            .unwrap_or_default();
        rca.evidence.push(Evidence {
            source: "memory".into(),
            detail: format!(
                "seen before: #{} on {} ({}): the same root cause, {} ({}){verdict}{fixed}",
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

/// The priors of the engine's ranking from `past`: people's verdicts on
/// the causes of earlier incidents of the same alert (same alert name and
/// service). An unjudged past, or another alert's, says nothing about this
/// one's ranking.
pub fn priors(past: &[PastIncident]) -> Vec<Prior> {
    past.iter()
        .filter(|p| p.same_alert && p.same_service && p.root_cause.kind != "unknown")
        .filter_map(|p| {
            let (factor, said) = match p.verdict? {
                Verdict::Confirmed => (CONFIRMED, "confirmed"),
                Verdict::Wrong => (WRONG, "judged wrong"),
            };
            Some(Prior {
                component: p.root_cause.component.clone(),
                kind: p.root_cause.kind.clone(),
                factor,
                because: format!(
                    "#{} on {} ({}): its cause {} ({}) was {said} by a person",
                    p.incident_id,
                    p.created_at.strftime("%Y-%m-%d"),
                    p.alert_name,
                    p.root_cause.component,
                    p.root_cause.kind,
                ),
            })
        })
        .collect()
}

/// Says in `rca` which leads a past "wrong" verdict ranked lower: the
/// engineer sees why the cause they may expect is not first. (A verdict on
/// the root cause itself is said by [`seen_before`].)
pub fn ranked_lower(rca: &mut Rca, priors: &[Prior]) -> usize {
    let mut said = 0;
    for p in priors.iter().filter(|p| p.factor < 1.0) {
        let cause = RootCause {
            component: p.component.clone(),
            kind: p.kind.clone(),
            description: String::new(),
        };
        if rca
            .alternatives
            .iter()
            .any(|a| agrees(&cause, a) || agrees(a, &cause))
        {
            rca.evidence.push(Evidence {
                source: "memory".into(),
                detail: format!("ranked lower: {}", p.because),
                link: None,
            });
            said += 1;
        }
    }
    said
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
    fn investigate_chooses_its_store() {
        assert_eq!(choose_store(Some("off"), false), Ok(None));
        assert_eq!(
            choose_store(Some("sqlite:///tmp/m.db"), true),
            Ok(Some("sqlite:///tmp/m.db".into()))
        );
        // Recorded data keeps no memory unless asked to.
        assert_eq!(choose_store(None, true), Ok(None));
        let err = choose_store(Some("mysql://u:secret@db/x"), false).unwrap_err();
        assert!(
            err.contains("mysql://db") && !err.contains("secret"),
            "{err}"
        );
        assert_eq!(
            shown_url("postgres://sre:pa@ss@db.internal:5432/sre?sslmode=require"),
            "postgres://db.internal:5432"
        );
        assert_eq!(shown_url("sqlite:///home/u/m.db?mode=rwc"), "/home/u/m.db");
    }

    #[tokio::test]
    async fn a_local_store_remembers_between_investigations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("m/incidents.db").display());
        let alert: Alert = serde_json::from_value(serde_json::json!({
            "source": "alertmanager", "name": "KubePodCrashLooping", "status": "firing",
            "service": "cart", "namespace": "shop", "summary": "cart is crash-looping",
            "fingerprint": "fp", "labels": {}, "annotations": {}
        }))
        .expect("alert");
        let mut rca: Rca = serde_json::from_value(serde_json::json!({
            "summary": "s", "category": "resource",
            "root_cause": {"component": "cart", "kind": "oom_killed", "description": "d"},
            "alternatives": [], "confidence": 0.8, "evidence": [], "timeline": [],
            "remediation": [], "affected_services": [], "data_gaps": [], "mode": "deterministic"
        }))
        .expect("rca");
        let first = open_for_investigate(&url, Duration::from_secs(10))
            .await
            .expect("open");
        assert!(first.writable && first.shown.ends_with("m/incidents.db"));
        assert!(similar(&first.store, &alert, None).await.is_empty());
        let id = first
            .store
            .record_investigation(&alert, &rca, &serde_json::json!({}))
            .await
            .expect("record");
        first.store.close().await;
        // The next run, another process in real use, finds it.
        let second = open_for_investigate(&url, Duration::from_secs(10))
            .await
            .expect("reopen");
        let past = similar(&second.store, &alert, None).await;
        assert_eq!(seen_before(&mut rca, &past), 1);
        assert!(
            rca.evidence[0]
                .detail
                .starts_with(&format!("seen before: #{id} ")),
            "{:?}",
            rca.evidence
        );
        // A store that is not there costs a sentence, not the investigation.
        let err = open_for_investigate("postgres://u:pw@127.0.0.1:9/x", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            err.starts_with("incident memory unavailable (postgres://127.0.0.1:9)")
                && !err.contains("pw"),
            "{err}"
        );
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
        // What fixed it then is said with it.
        let mut fixed = memory[2].clone();
        fixed.fixed_by = Some("Roll cart back to revision 41 (ran k8s.rollout_undo)".into());
        rca.evidence.clear();
        seen_before(&mut rca, &[fixed]);
        assert!(
            rca.evidence[0].detail.ends_with(
                "confirmed by a person; fixed then by: Roll cart back to revision 41 (ran k8s.rollout_undo)"
            ),
            "{:?}",
            rca.evidence
        );
        // No root cause: nothing is "the same".
        rca.root_cause.kind = "unknown".into();
        rca.evidence.clear();
        assert_eq!(seen_before(&mut rca, &memory), 0);
    }

    #[test]
    fn verdicts_on_the_same_alert_become_priors_and_a_demotion_is_said() {
        let mut other_alert = past(4, "cart", "oom_killed", Some(Verdict::Wrong));
        other_alert.same_alert = false;
        let mut other_service = past(5, "cart", "oom_killed", Some(Verdict::Wrong));
        other_service.same_service = false;
        let memory = [
            past(3, "cart", "oom_killed", None),
            past(7, "node-1", "node_not_ready", Some(Verdict::Wrong)),
            past(9, "payments", "bad_deploy", Some(Verdict::Confirmed)),
            past(11, "unknown", "unknown", Some(Verdict::Wrong)),
            other_alert,
            other_service,
        ];
        let priors = priors(&memory);
        let said: Vec<(&str, f64)> = priors
            .iter()
            .map(|p| (p.component.as_str(), p.factor))
            .collect();
        // Unjudged, another alert's, another service's, or no cause at all:
        // no prior.
        assert_eq!(said, [("node-1", WRONG), ("payments", CONFIRMED)]);
        assert!(
            priors[0].because.starts_with("#7 on 2026-11-30 (KubePodCrashLooping): its cause node-1 (node_not_ready) was judged wrong"),
            "{}",
            priors[0].because
        );
        let mut rca: Rca = serde_json::from_value(serde_json::json!({
            "summary": "s", "category": "resource",
            "root_cause": {"component": "payments", "kind": "bad_deploy", "description": "d"},
            "alternatives": [{"component": "node/node-1", "kind": "node_not_ready", "description": "d"}],
            "confidence": 0.8, "evidence": [], "timeline": [],
            "remediation": [], "affected_services": [], "data_gaps": [], "mode": "deterministic"
        }))
        .expect("rca");
        assert_eq!(ranked_lower(&mut rca, &priors), 1);
        assert_eq!(
            rca.evidence[0].detail,
            format!("ranked lower: {}", priors[0].because)
        );
        // A judged cause that is no longer a lead is not mentioned.
        rca.alternatives.clear();
        rca.evidence.clear();
        assert_eq!(ranked_lower(&mut rca, &priors), 0);
    }
}
