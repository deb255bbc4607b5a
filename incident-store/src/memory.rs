//! People's feedback on incidents, and the memory it feeds: past incidents
//! similar to a new one.

use std::collections::{BTreeMap, HashMap};

use super::rows::{self, INCIDENT_COLUMNS};
use super::{Backend, Feedback, PastIncident, Store, StoreError, Verdict, now_ms, text};
use sre_orchestrator::alert::{Alert, AlertSource};

/// Candidates considered per signal by [`Store::similar_incidents`].
const SIMILAR_CANDIDATES: i64 = 50;

impl Store {
    /// Records a person's verdict on an incident's RCA; the latest verdict
    /// is the incident's. Returns the feedback id.
    pub async fn record_feedback(
        &self,
        incident_id: i64,
        verdict: Verdict,
        user: &str,
        comment: Option<&str>,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let found = sqlx::query("UPDATE incidents SET verdict = $2, updated_at = $3 WHERE id = $1")
                .bind(incident_id)
                .bind(verdict.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if found == 0 {
                tx.rollback().await?;
                return Err(StoreError::NotFound(incident_id));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO feedback (incident_id, verdict, user_name, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(incident_id)
            .bind(verdict.as_str())
            .bind(user)
            .bind(comment)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(incident = incident_id, verdict = verdict.as_str(), user, "feedback recorded");
            Ok(id)
        })
    }

    /// All feedback on an incident, oldest first.
    pub async fn feedback(&self, incident_id: i64) -> Result<Vec<Feedback>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT id, incident_id, verdict, user_name, comment, created_at FROM feedback \
                 WHERE incident_id = $1 ORDER BY id",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(rows::feedback)
            .collect()
        })
    }

    /// Past investigated incidents like this alert, most useful first:
    /// same service and same alert name weigh most, then text similarity
    /// (full-text rank over the alert's words), and a root cause people
    /// confirmed beats an unjudged one. Incidents whose RCA was judged wrong
    /// are kept but listed last, with their verdict, so the caller can say
    /// "previously judged wrong" rather than repeat the mistake.
    pub async fn similar_incidents(
        &self,
        alert: &Alert,
        limit: u32,
    ) -> Result<Vec<PastIncident>, StoreError> {
        // An on-demand request's name (`on-demand`) says nothing.
        let by_name = alert.source != AlertSource::OnDemand;
        let structural_sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.rca_json IS NOT NULL \
             AND (i.service = $1 OR ($3 AND i.alert_name = $2)) \
             ORDER BY i.created_at DESC LIMIT {SIMILAR_CANDIDATES}"
        );
        let mut about = vec![alert.name.clone(), alert.summary.clone()];
        about.extend(alert.service.clone());
        about.extend(alert.description.clone());
        about.extend(alert.question.clone());
        let words = text::keywords(&about.join(" "), 16);
        let (text_sql, text_query) = match self.backend() {
            Backend::Sqlite => (
                format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents_fts \
                     JOIN incidents i ON i.id = incidents_fts.rowid \
                     WHERE incidents_fts MATCH $1 AND i.rca_json IS NOT NULL \
                     ORDER BY bm25(incidents_fts, 3.0, 3.0, 2.0, 1.0) LIMIT {SIMILAR_CANDIDATES}"
                ),
                text::fts5_any(&words),
            ),
            Backend::Postgres => (
                format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents i \
                     CROSS JOIN websearch_to_tsquery('english', $1) q \
                     WHERE i.search_vector @@ q AND i.rca_json IS NOT NULL \
                     ORDER BY ts_rank(i.search_vector, q) DESC LIMIT {SIMILAR_CANDIDATES}"
                ),
                text::websearch_any(&words),
            ),
        };
        let (structural, textual) = on_pool!(self, pool => {
            let structural = sqlx::query(&structural_sql)
                .bind(alert.service.as_deref())
                .bind(&alert.name)
                .bind(by_name)
                .fetch_all(pool)
                .await?
                .iter()
                .map(rows::incident)
                .collect::<Result<Vec<_>, _>>()?;
            let textual = if words.is_empty() {
                Vec::new()
            } else {
                sqlx::query(&text_sql)
                    .bind(&text_query)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(rows::incident)
                    .collect::<Result<Vec<_>, _>>()?
            };
            (structural, textual)
        });

        // Text rank by position (the backends' scores are not comparable).
        let mut text_score: HashMap<i64, f64> = HashMap::new();
        let n = textual.len().max(1) as f64;
        for (i, inc) in textual.iter().enumerate() {
            text_score.entry(inc.id).or_insert(1.0 - i as f64 / n);
        }
        let mut seen = BTreeMap::new();
        for inc in structural.into_iter().chain(textual) {
            seen.entry(inc.id).or_insert(inc);
        }
        let mut actions: HashMap<i64, Vec<String>> = HashMap::new();
        let mut out: Vec<PastIncident> = seen
            .into_values()
            .filter_map(|inc| {
                let rca = inc.rca?;
                actions.insert(
                    inc.id,
                    rca.remediation.iter().map(|r| r.action.clone()).collect(),
                );
                let same_service = alert.service.is_some()
                    && inc.alert.service.as_deref() == alert.service.as_deref();
                let same_alert = by_name && inc.alert.name == alert.name;
                let mut score = 2.0 * text_score.get(&inc.id).copied().unwrap_or(0.0);
                if same_service {
                    score += 4.0;
                }
                if same_alert {
                    score += 3.0;
                }
                if inc.verdict == Some(Verdict::Confirmed) {
                    score += 2.0;
                }
                Some(PastIncident {
                    incident_id: inc.id,
                    created_at: inc.created_at,
                    alert_name: inc.alert.name,
                    service: inc.alert.service,
                    category: inc.category,
                    summary: rca.summary,
                    root_cause: rca.root_cause,
                    verdict: inc.verdict,
                    same_service,
                    same_alert,
                    score,
                    fixed_by: None,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            let wrong = |p: &PastIncident| p.verdict == Some(Verdict::Wrong);
            wrong(a)
                .cmp(&wrong(b))
                .then(b.score.total_cmp(&a.score))
                .then(b.created_at.cmp(&a.created_at))
        });
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for p in &mut out {
            let run = self
                .remediation_runs(p.incident_id)
                .await?
                .into_iter()
                .find(|r| r.status == "succeeded");
            p.fixed_by = run.and_then(|r| {
                let action = actions.get(&p.incident_id)?.get(r.step)?;
                Some(format!("{action} (ran {})", r.tool))
            });
        }
        Ok(out)
    }
}
