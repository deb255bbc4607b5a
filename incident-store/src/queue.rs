//! The durable job queue: claims with a lease, renewals, and every write
//! about a job fenced by (worker, attempt).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::rows::{self, INCIDENT_COLUMNS};
use super::{Backend, Job, Store, StoreError, millis, now_ms, text};
use sre_orchestrator::rca::Rca;

/// Picks and claims the next job, in one statement. `$1` now, `$2` worker,
/// `$3` lease end. The `{lock}` is `FOR UPDATE SKIP LOCKED` on PostgreSQL
/// (concurrent claimers skip each other's rows instead of queueing on them);
/// SQLite needs nothing, as a write transaction holds the whole file.
const CLAIM_SQL: &str = "UPDATE jobs SET status = 'running', worker = $2, lease_until = $3, \
     attempts = attempts + 1, updated_at = $1 \
     WHERE id = (SELECT id FROM jobs WHERE attempts < max_attempts \
       AND ((status = 'queued' AND run_after <= $1) OR (status = 'running' AND lease_until < $1)) \
       ORDER BY run_after, id LIMIT 1 {lock}) \
     RETURNING id, incident_id, attempts, max_attempts";

/// The fencing condition every worker write carries: `$1` job, `$2` worker,
/// `$3` attempt.
const FENCE: &str = "id = $1 AND worker = $2 AND attempts = $3 AND status = 'running'";

/// Stores a finished investigation on its incident: `$1` incident, `$2` RCA
/// JSON, `$3` its search text, `$4` transcript JSON, `$5` category, `$6` now.
/// The incident is done, or resolved if its alert resolved meanwhile.
pub(super) const RECORD_RCA_SQL: &str = "UPDATE incidents SET rca_json = $2, rca_text = $3, \
     transcript_json = $4, category = $5, error = NULL, updated_at = $6, \
     status = CASE WHEN resolved_at IS NULL THEN 'done' ELSE 'resolved' END WHERE id = $1";

/// A finished investigation as the incident row stores it: serialised once,
/// before the transaction, by the two writers of an RCA (a worker completing
/// its job, and `investigate` recording one it ran itself).
pub(super) struct RcaRow {
    pub(super) json: String,
    pub(super) text: String,
    pub(super) transcript: String,
    pub(super) category: &'static str,
}

impl RcaRow {
    pub(super) fn new<T: Serialize + ?Sized>(
        rca: &Rca,
        transcript: &T,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            json: serde_json::to_string(rca)?,
            text: text::rca_text(rca),
            transcript: serde_json::to_string(transcript)?,
            category: rca.category.as_str(),
        })
    }
}

/// Runs [`RECORD_RCA_SQL`] for `$incident` in the open transaction `$tx`
/// (a macro, as the transaction's type is one per database).
macro_rules! record_rca {
    ($tx:ident, $incident:expr, $row:expr, $now:expr) => {{
        let row: &$crate::queue::RcaRow = $row;
        sqlx::query($crate::queue::RECORD_RCA_SQL)
            .bind($incident)
            .bind(&row.json)
            .bind(&row.text)
            .bind(&row.transcript)
            .bind(row.category)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(super) use record_rca;

/// `sqlx::query($sql)` with the fence's three values bound (`$1` job, `$2`
/// worker, `$3` attempt); the statement's own values follow as `$4`…
macro_rules! fenced {
    ($sql:expr, $job:expr) => {
        sqlx::query($sql)
            .bind($job.id)
            .bind(&$job.worker)
            .bind(i64::from($job.attempt))
    };
}

/// Runs a fenced job update (`$sql` with [`FENCE`]; `$4`… are `$args`) in
/// the open transaction `$tx`; when the fence matched nothing the worker
/// lost its lease: the transaction is rolled back and the function returns
/// [`StoreError::LeaseLost`].
macro_rules! fenced_in_tx {
    ($tx:ident, $job:expr, $sql:expr $(, $arg:expr)*) => {{
        let done = fenced!($sql, $job)
            $(.bind($arg))*
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if done == 0 {
            $tx.rollback().await?;
            return Err(lease_lost($job));
        }
    }};
}

impl Store {
    /// Claims the next runnable job for `worker`, holding it for `lease`:
    /// a queued job whose retry time has come, or a running job whose lease
    /// expired (its worker is presumed dead). Each claim is an attempt; a
    /// job whose last allowed attempt's lease expired is marked failed here.
    /// The incident becomes `investigating`. `None` when there is no work.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        let until = now.saturating_add(millis(lease));
        let claim = CLAIM_SQL.replace(
            "{lock}",
            match self.backend() {
                Backend::Postgres => "FOR UPDATE SKIP LOCKED",
                Backend::Sqlite => "",
            },
        );
        let claimed = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let dead: Vec<(i64, i64)> = sqlx::query_as(
                "UPDATE jobs SET status = 'failed', worker = NULL, lease_until = NULL, \
                 last_error = 'the lease of its last attempt expired', updated_at = $1 \
                 WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts \
                 RETURNING id, incident_id",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for (job_id, incident_id) in &dead {
                tracing::warn!(job = job_id, incident = incident_id, "job failed: every attempt's lease expired");
                sqlx::query(
                    "UPDATE incidents SET status = 'failed', updated_at = $2, \
                     error = 'the investigation never finished: every attempt timed out \
                     (worker crashed or hung)' \
                     WHERE id = $1 AND status IN ('queued', 'investigating')",
                )
                .bind(incident_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let picked: Option<(i64, i64, i64, i64)> = sqlx::query_as(&claim)
                .bind(now)
                .bind(worker)
                .bind(until)
                .fetch_optional(&mut *tx)
                .await?;
            let claimed = match picked {
                Some((job_id, incident_id, attempts, max_attempts)) => {
                    sqlx::query(
                        "UPDATE incidents SET status = 'investigating', updated_at = $2 \
                         WHERE id = $1 AND status IN ('queued', 'investigating')",
                    )
                    .bind(incident_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let row = sqlx::query(&format!(
                        "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = $1"
                    ))
                    .bind(incident_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    Some((job_id, attempts, max_attempts, rows::incident(&row)?))
                }
                None => None,
            };
            tx.commit().await?;
            claimed
        });
        Ok(match claimed {
            Some((id, attempts, max_attempts, incident)) => {
                let attempt = u32::try_from(attempts).unwrap_or(u32::MAX);
                tracing::info!(
                    job = id,
                    incident = incident.id,
                    worker,
                    attempt,
                    "job claimed"
                );
                Some(Job {
                    id,
                    attempt,
                    max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
                    worker: worker.to_string(),
                    lease_until: rows::ts(until)?,
                    incident,
                })
            }
            None => None,
        })
    }

    /// Extends the job's lease to `lease` from now; returns the new end.
    /// [`StoreError::LeaseLost`] when another worker has taken the job over:
    /// stop working on it. A lease that expired but was not taken over is
    /// still this worker's and is renewed.
    pub async fn renew_lease(&self, job: &Job, lease: Duration) -> Result<Timestamp, StoreError> {
        let now = now_ms();
        let until = now.saturating_add(millis(lease));
        let sql = format!("UPDATE jobs SET lease_until = $4, updated_at = $5 WHERE {FENCE}");
        let done = on_pool!(self, pool => {
            fenced!(&sql, job)
                .bind(until)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(lease_lost(job));
        }
        rows::ts(until)
    }

    /// Records the job's result: the RCA, the investigation's transcript
    /// (any serialisable value) and the category, and marks the incident
    /// done (or resolved, if the alert resolved meanwhile). Fenced: a worker
    /// that lost the lease gets [`StoreError::LeaseLost`] and nothing is
    /// written, so a job is completed exactly once.
    pub async fn complete_job<T: Serialize + ?Sized>(
        &self,
        job: &Job,
        rca: &Rca,
        transcript: &T,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let row = RcaRow::new(rca, transcript)?;
        let fenced = format!(
            "UPDATE jobs SET status = 'done', lease_until = NULL, last_error = NULL, \
             updated_at = $4 WHERE {FENCE}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            fenced_in_tx!(tx, job, &fenced, now);
            record_rca!(tx, job.incident.id, &row, now);
            tx.commit().await?;
        });
        tracing::info!(job = job.id, incident = job.incident.id, "job completed");
        Ok(())
    }

    /// Records a failed attempt. With `retry`, and attempts left, the job is
    /// queued again after a backoff ([`StoreOptions::retry_backoff`](crate::StoreOptions::retry_backoff), doubled
    /// per attempt, at most an hour) and `true` is returned; otherwise the
    /// job and incident are failed and `false` is returned. Fenced like
    /// [`Store::complete_job`].
    pub async fn fail_job(&self, job: &Job, error: &str, retry: bool) -> Result<bool, StoreError> {
        let now = now_ms();
        let again = retry && job.attempt < job.max_attempts;
        let backoff = self
            .options
            .retry_backoff
            .saturating_mul(1 << job.attempt.saturating_sub(1).min(16))
            .min(Duration::from_secs(3600));
        let run_after = now.saturating_add(millis(backoff));
        let (set, incident_status) = if again {
            ("status = 'queued', worker = NULL", "queued")
        } else {
            ("status = 'failed'", "failed")
        };
        self.end_attempt(
            job,
            set,
            now,
            run_after,
            error,
            incident_status,
            Some(error),
        )
        .await?;
        if again {
            tracing::warn!(
                job = job.id,
                attempt = job.attempt,
                error,
                "job attempt failed; will retry"
            );
        } else {
            tracing::warn!(job = job.id, attempt = job.attempt, error, "job failed");
        }
        Ok(again)
    }

    /// Gives a job back because this replica is shutting down, not because
    /// the attempt failed: it is queued again at once, and the attempt is
    /// not counted against `max_attempts` (a rolling deploy must not use up
    /// an alert's retries). The attempt counter itself still grows, since it
    /// is the fencing token. Fenced like [`Store::complete_job`].
    pub async fn release_job(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let set = "status = 'queued', worker = NULL, max_attempts = max_attempts + 1";
        self.end_attempt(job, set, now, now, reason, "queued", None)
            .await?;
        tracing::info!(job = job.id, attempt = job.attempt, reason, "job released");
        Ok(())
    }

    /// Ends the attempt `job` holds, fenced: `set` says what becomes of the
    /// job (the lease is dropped and `run_after`/`last_error` recorded in
    /// every case), and the incident, still queued or investigating, takes
    /// `incident_status` (and `incident_error`, when given) in the same
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    async fn end_attempt(
        &self,
        job: &Job,
        set: &str,
        now: i64,
        run_after: i64,
        last_error: &str,
        incident_status: &str,
        incident_error: Option<&str>,
    ) -> Result<(), StoreError> {
        let job_sql = format!(
            "UPDATE jobs SET {set}, lease_until = NULL, run_after = $5, last_error = $6, \
             updated_at = $4 WHERE {FENCE}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            fenced_in_tx!(tx, job, &job_sql, now, run_after, last_error);
            sqlx::query(
                "UPDATE incidents SET status = $2, error = coalesce($3, error), updated_at = $4 \
                 WHERE id = $1 AND status IN ('queued', 'investigating')",
            )
            .bind(job.incident.id)
            .bind(incident_status)
            .bind(incident_error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

fn lease_lost(job: &Job) -> StoreError {
    tracing::warn!(job = job.id, worker = %job.worker, attempt = job.attempt, "job lease lost");
    StoreError::LeaseLost {
        job_id: job.id,
        worker: job.worker.clone(),
        attempt: job.attempt,
    }
}
