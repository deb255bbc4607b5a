//! Intake: an alert or a request becomes an incident with a queued job, a
//! duplicate counted on an open incident, or the resolution of one, atomically.

use std::time::Duration;

use super::queue::{RcaRow, record_rca};
use super::{Backend, Enqueued, Request, Store, StoreError, millis, now_ms};
use sre_orchestrator::alert::{
    ANN_SLACK_CHANNEL, ANN_SLACK_THREAD, Alert, AlertSource, AlertStatus,
};

/// Inserts an incident and its job in `$tx`; evaluates to
/// `Option<(incident_id, job_id)>`, `None` when the idempotency key is
/// taken (the unique index decides, race-free on both backends).
macro_rules! insert_incident {
    ($tx:ident, $new:expr, $max_attempts:expr) => {{
        let n: &NewIncident<'_> = $new;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO incidents (fingerprint, on_demand, idempotency_key, source, alert_name, \
             service, namespace, severity, summary, status, alert_json, raw_payload, \
             requested_by, reply_channel, reply_thread, created_at, updated_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11, $12, $13, $14, \
             $15, $15, $15) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&n.alert.fingerprint)
        .bind(n.on_demand)
        .bind(n.idempotency_key)
        .bind(source_str(n.alert.source))
        .bind(&n.alert.name)
        .bind(n.alert.service.as_deref())
        .bind(n.alert.namespace.as_deref())
        .bind(n.alert.severity.as_deref())
        .bind(&n.alert.summary)
        .bind(&n.alert_json)
        .bind(n.raw_payload)
        .bind(n.requested_by)
        .bind(n.reply_channel)
        .bind(n.reply_thread)
        .bind(n.now)
        .fetch_optional(&mut *$tx)
        .await?;
        match id {
            Some(incident_id) => {
                let job_id: i64 = sqlx::query_scalar(
                    "INSERT INTO jobs (incident_id, status, attempts, max_attempts, run_after, \
                     created_at, updated_at) VALUES ($1, 'queued', 0, $2, $3, $3, $3) RETURNING id",
                )
                .bind(incident_id)
                .bind(i64::from($max_attempts))
                .bind(n.now)
                .fetch_one(&mut *$tx)
                .await?;
                Some((incident_id, job_id))
            }
            None => None,
        }
    }};
}

/// What [`insert_incident!`] stores.
struct NewIncident<'a> {
    alert: &'a Alert,
    alert_json: String,
    raw_payload: &'a str,
    on_demand: bool,
    idempotency_key: Option<&'a str>,
    requested_by: Option<&'a str>,
    reply_channel: Option<&'a str>,
    reply_thread: Option<&'a str>,
    now: i64,
}

/// The advisory-lock class for intake (the first key of the two-key form),
/// so these locks cannot collide with another application's on the same
/// database.
const INTAKE_LOCK_CLASS: i32 = 0x5352_4541; // "SREA"

impl Store {
    /// Records an alert notification, atomically:
    ///
    /// * resolved: marks the open incident of its fingerprint resolved (no job);
    /// * firing, and an incident of the same fingerprint was created within
    ///   `dedup_window`: a [`Enqueued::Duplicate`], counted on that incident
    ///   (which reopens if it had resolved); no job;
    /// * otherwise a new incident and a queued job.
    ///
    /// A zero window never deduplicates. `raw_payload` is kept for the record.
    ///
    /// Race-free: on SQLite the transaction holds the write lock from its
    /// start; on PostgreSQL it takes a transaction-level advisory lock on
    /// the fingerprint first. A unique constraint cannot express "within the
    /// window" (the same fingerprint legitimately has many incidents over
    /// time), and serialisable isolation would make callers retry; the lock
    /// serialises only notifications of the same alert, for a few
    /// statements, and is released by commit, rollback or a dropped
    /// connection alike.
    pub async fn enqueue_alert(
        &self,
        alert: &Alert,
        raw_payload: &str,
        dedup_window: Duration,
    ) -> Result<Enqueued, StoreError> {
        let now = now_ms();
        let since = now.saturating_sub(millis(dedup_window));
        let new = NewIncident {
            alert,
            alert_json: serde_json::to_string(alert)?,
            raw_payload,
            on_demand: false,
            idempotency_key: None,
            requested_by: None,
            // An alert posted in Slack is answered in its own thread.
            reply_channel: alert.annotations.get(ANN_SLACK_CHANNEL).map(String::as_str),
            reply_thread: alert.annotations.get(ANN_SLACK_THREAD).map(String::as_str),
            now,
        };
        let postgres = self.backend() == Backend::Postgres;
        let max_attempts = self.options.max_attempts;
        let (outcome, refired) = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let mut refired = false;
            if postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind(INTAKE_LOCK_CLASS)
                    .bind(&alert.fingerprint)
                    .execute(&mut *tx)
                    .await?;
            }
            let outcome = match alert.status {
                AlertStatus::Resolved => {
                    let open: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM incidents WHERE fingerprint = $1 AND on_demand = FALSE \
                         AND resolved_at IS NULL ORDER BY id DESC LIMIT 1",
                    )
                    .bind(&alert.fingerprint)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(id) = open {
                        // A finished investigation shows as resolved; one still
                        // queued or running keeps its status and becomes
                        // `resolved` when it completes.
                        sqlx::query(
                            "UPDATE incidents SET resolved_at = $2, last_seen_at = $2, \
                             updated_at = $2, \
                             status = CASE WHEN status = 'done' THEN 'resolved' ELSE status END \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Enqueued::Resolved { incident_id: open }
                }
                AlertStatus::Firing => {
                    let existing: Option<(i64, bool)> = if dedup_window.is_zero() {
                        None
                    } else {
                        sqlx::query_as(
                            "SELECT id, resolved_at IS NOT NULL FROM incidents WHERE fingerprint = $1 \
                             AND on_demand = FALSE AND created_at >= $2 \
                             ORDER BY created_at DESC, id DESC LIMIT 1",
                        )
                        .bind(&alert.fingerprint)
                        .bind(since)
                        .fetch_optional(&mut *tx)
                        .await?
                    };
                    match existing {
                        Some((id, had_resolved)) => {
                            refired = had_resolved;
                            sqlx::query(
                                "UPDATE incidents SET duplicates = duplicates + 1, \
                                 last_seen_at = $2, updated_at = $2, resolved_at = NULL, \
                                 status = CASE WHEN status = 'resolved' THEN 'done' \
                                 ELSE status END WHERE id = $1",
                            )
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            Enqueued::Duplicate { incident_id: id }
                        }
                        None => match insert_incident!(tx, &new, max_attempts) {
                            Some((incident_id, job_id)) => Enqueued::New { incident_id, job_id },
                            None => {
                                return Err(StoreError::Corrupt(
                                    "an alert incident conflicted on an idempotency key".into(),
                                ));
                            }
                        },
                    }
                }
            };
            tx.commit().await?;
            (outcome, refired)
        });
        // The workflow follows the alert: resolved when it resolves, open
        // again when it fires after that. Outside the intake transaction:
        // the move is its own conditional update and audit line, and the
        // notification is already safely recorded.
        let source = match alert.source {
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Signoz => "signoz",
            AlertSource::Slack => "slack-alert",
            AlertSource::OnDemand => "on-demand",
        };
        match outcome {
            Enqueued::Resolved {
                incident_id: Some(id),
            } => {
                self.follow_alert(id, true, source).await?;
            }
            Enqueued::Duplicate { incident_id } if refired => {
                self.follow_alert(incident_id, false, source).await?;
            }
            _ => {}
        }
        log_intake(alert, &outcome);
        Ok(outcome)
    }

    /// Records an on-demand request (slash command, mention, CLI). Never
    /// deduplicated by fingerprint: a person asked. With an idempotency key
    /// (Slack's event id or trigger id), a redelivery returns
    /// [`Enqueued::Duplicate`] for the first request's incident instead of
    /// queueing a second job; the key's unique index makes that race-free.
    pub async fn enqueue_request(
        &self,
        alert: &Alert,
        request: &Request,
    ) -> Result<Enqueued, StoreError> {
        let now = now_ms();
        let key = request.idempotency_key.as_deref().filter(|k| !k.is_empty());
        let new = NewIncident {
            alert,
            alert_json: serde_json::to_string(alert)?,
            raw_payload: &request.raw_payload,
            on_demand: true,
            idempotency_key: key,
            requested_by: request.requested_by.as_deref(),
            reply_channel: request.reply_channel.as_deref(),
            reply_thread: request.reply_thread.as_deref(),
            now,
        };
        let max_attempts = self.options.max_attempts;
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let outcome = match insert_incident!(tx, &new, max_attempts) {
                Some((incident_id, job_id)) => Enqueued::New { incident_id, job_id },
                None => {
                    // Only a taken key makes the insert do nothing; on
                    // PostgreSQL the insert waited for the other request to
                    // commit, so its row is visible now.
                    let id: i64 = sqlx::query_scalar(
                        "UPDATE incidents SET duplicates = duplicates + 1, last_seen_at = $2 \
                         WHERE idempotency_key = $1 RETURNING id",
                    )
                    .bind(key)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    Enqueued::Duplicate { incident_id: id }
                }
            };
            tx.commit().await?;
            outcome
        });
        log_intake(alert, &outcome);
        Ok(outcome)
    }
}

impl Store {
    /// Records an investigation that ran outside the queue (`sre-agent
    /// investigate` on a laptop) as a finished incident, so later
    /// investigations find it in memory: the incident, a job already done,
    /// and the RCA, in one transaction. Never deduplicated. Returns the
    /// incident's id.
    pub async fn record_investigation<T: serde::Serialize + ?Sized>(
        &self,
        alert: &Alert,
        rca: &sre_orchestrator::rca::Rca,
        transcript: &T,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        let new = NewIncident {
            alert,
            alert_json: serde_json::to_string(alert)?,
            raw_payload: "",
            on_demand: alert.source == AlertSource::OnDemand,
            idempotency_key: None,
            requested_by: None,
            reply_channel: None,
            reply_thread: None,
            now,
        };
        let row = RcaRow::new(rca, transcript)?;
        let max_attempts = self.options.max_attempts;
        let incident_id = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let Some((incident_id, job_id)) = insert_incident!(tx, &new, max_attempts) else {
                return Err(StoreError::Corrupt(
                    "a recorded investigation conflicted on an idempotency key".into(),
                ));
            };
            sqlx::query(
                "UPDATE jobs SET status = 'done', attempts = 1, worker = 'investigate', \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(job_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            record_rca!(tx, incident_id, &row, now);
            tx.commit().await?;
            incident_id
        });
        tracing::info!(incident = incident_id, alert = %alert.name, "investigation recorded");
        Ok(incident_id)
    }
}

fn source_str(source: AlertSource) -> &'static str {
    match source {
        AlertSource::Alertmanager => "alertmanager",
        AlertSource::Signoz => "signoz",
        AlertSource::Slack => "slack",
        AlertSource::OnDemand => "on_demand",
    }
}

fn log_intake(alert: &Alert, outcome: &Enqueued) {
    match outcome {
        Enqueued::New {
            incident_id,
            job_id,
        } => tracing::info!(
            incident = incident_id, job = job_id, alert = %alert.name,
            fingerprint = %alert.fingerprint, "new incident queued"
        ),
        Enqueued::Duplicate { incident_id } => tracing::debug!(
            incident = incident_id, alert = %alert.name, "duplicate folded into incident"
        ),
        Enqueued::Resolved { incident_id } => tracing::info!(
            incident = ?incident_id, alert = %alert.name, "alert resolved"
        ),
    }
}
