//! The incident store: what `sre-agent serve` remembers.
//!
//! One place for the incident record, the durable job queue, the memory of
//! past incidents (with people's feedback), a knowledge base of runbooks and
//! an audit log, on SQLite (`sqlite://PATH`: one file, created if missing, no
//! set-up) or PostgreSQL (`postgres://…`, for several replicas). The backend
//! is chosen at run time from the URL; both have the same logical schema
//! (`migrations/sqlite`, `migrations/postgres`, applied on connect).
//!
//! Intake is recorded *before* Slack or the webhook sender is acknowledged,
//! so an accepted alert is never lost, and it is atomic: a notification is
//! either a new incident with a queued job, a duplicate counted on the
//! existing incident, or a resolution of it.
//!
//! Workers [`claim`](Store::claim_job) jobs with a lease. A worker that dies
//! loses the lease and another worker takes the job over (a claim is an
//! attempt; after [`StoreOptions::max_attempts`] the job fails). Every write
//! a worker makes about its job is fenced by (worker, attempt), so a worker
//! whose lease was taken over can never complete, fail or renew the job.
//!
//! Queries are built at run time (there is no database at build time); the
//! SQL is shared where the dialects agree and split where they do not
//! (locking, full-text search). Times are stored as Unix milliseconds taken
//! from the caller's clock: replicas are expected to run NTP, and leases and
//! dedup windows are minutes, not milliseconds.

mod model;
mod rows;
mod text;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use model::{
    AuditEntry, Backend, Counts, Enqueued, Feedback, Incident, IncidentFilter, IncidentStatus, Job,
    PastIncident, RemediationRun, RemediationStart, Request, RunbookHit, RunbookIndexReport,
    SlackMessage, StoreOptions, Verdict,
};

use crate::alert::{ANN_SLACK_CHANNEL, ANN_SLACK_THREAD, Alert, AlertSource, AlertStatus};
use crate::rca::Rca;
use crate::router::Category;
use rows::INCIDENT_COLUMNS;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error(
        "unsupported store URL scheme `{0}`: use sqlite://PATH (one file, created if missing) \
         or postgres://USER:PASSWORD@HOST/DB"
    )]
    BadUrl(String),
    /// The database said no, or could not be reached.
    #[error("store database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("store migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The job's lease was lost: it expired and another worker claimed the
    /// job, or the job was already finished. Whatever this worker found must
    /// not be recorded; the other worker's result will be.
    #[error(
        "job {job_id} is no longer held by worker `{worker}` (attempt {attempt}): its lease \
         expired and it was claimed again, or it already finished"
    )]
    LeaseLost {
        /// The job.
        job_id: i64,
        /// The worker that lost it.
        worker: String,
        /// Its attempt.
        attempt: u32,
    },
    /// No such incident.
    #[error("incident {0} not found")]
    NotFound(i64),
    /// Stored data that cannot be read back.
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// A value could not be serialised.
    #[error("could not serialise for the store: {0}")]
    Json(#[from] serde_json::Error),
    /// Runbooks could not be read.
    #[error("reading runbooks at {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool: the same source
/// compiles once per backend, so shared SQL is written once.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:block) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

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

/// `(status, count)` rows.
type StatusCounts = Vec<(String, i64)>;

/// Candidates considered per signal by [`Store::similar_incidents`].
const SIMILAR_CANDIDATES: i64 = 50;

/// An incident store. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    options: StoreOptions,
}

impl Store {
    /// Connects with default [`StoreOptions`] and brings the schema up to
    /// date. `sqlite://PATH` (the file and its folder are created if
    /// missing; `sqlite::memory:` for a throwaway store) or
    /// `postgres://…` / `postgresql://…`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    /// Connects with explicit options and brings the schema up to date.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        // Only the scheme goes into errors and logs: the rest may hold a password.
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        let pool = match scheme {
            "sqlite" => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let mut opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let mut pool = SqlitePoolOptions::new();
                if in_memory {
                    // Every connection would otherwise be its own empty database.
                    pool = pool
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                } else {
                    let file = opts.get_filename();
                    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                            path: dir.to_path_buf(),
                            source,
                        })?;
                    }
                    // WAL: readers never block the writer; NORMAL sync is
                    // durable across process crashes, which is what a queue needs.
                    opts = opts
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal);
                    pool = pool.max_connections(options.max_connections.max(1));
                }
                let pool = pool.connect_with(opts).await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                // sqlx's migrator takes an advisory lock, so replicas starting
                // together migrate once.
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Pool::Postgres(pool)
            }
            other => return Err(StoreError::BadUrl(other.to_string())),
        };
        let store = Store { pool, options };
        tracing::info!(backend = ?store.backend(), "incident store ready");
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, pool => { pool.close().await })
    }

    /// How write transactions start. SQLite's default `BEGIN` takes the write
    /// lock only at the first write, and a transaction that read first then
    /// fails with SQLITE_BUSY instead of waiting; `IMMEDIATE` takes it up
    /// front, so read-then-write intake is atomic across processes too.
    fn begin_sql(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        }
    }

    // --- Intake -----------------------------------------------------------

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
        let outcome = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
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
                    let existing: Option<i64> = if dedup_window.is_zero() {
                        None
                    } else {
                        sqlx::query_scalar(
                            "SELECT id FROM incidents WHERE fingerprint = $1 \
                             AND on_demand = FALSE AND created_at >= $2 \
                             ORDER BY created_at DESC, id DESC LIMIT 1",
                        )
                        .bind(&alert.fingerprint)
                        .bind(since)
                        .fetch_optional(&mut *tx)
                        .await?
                    };
                    match existing {
                        Some(id) => {
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
            outcome
        });
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

    // --- Job queue --------------------------------------------------------

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
            sqlx::query(&sql)
                .bind(job.id)
                .bind(&job.worker)
                .bind(i64::from(job.attempt))
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
        let rca_json = serde_json::to_string(rca)?;
        let transcript_json = serde_json::to_string(transcript)?;
        let rca_text = text::rca_text(rca);
        let fenced = format!(
            "UPDATE jobs SET status = 'done', lease_until = NULL, last_error = NULL, \
             updated_at = $4 WHERE {FENCE}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let done = sqlx::query(&fenced)
                .bind(job.id)
                .bind(&job.worker)
                .bind(i64::from(job.attempt))
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Err(lease_lost(job));
            }
            sqlx::query(
                "UPDATE incidents SET rca_json = $2, rca_text = $3, transcript_json = $4, \
                 category = $5, error = NULL, updated_at = $6, \
                 status = CASE WHEN resolved_at IS NULL THEN 'done' ELSE 'resolved' END \
                 WHERE id = $1",
            )
            .bind(job.incident.id)
            .bind(&rca_json)
            .bind(&rca_text)
            .bind(&transcript_json)
            .bind(rca.category.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        tracing::info!(job = job.id, incident = job.incident.id, "job completed");
        Ok(())
    }

    /// Records a failed attempt. With `retry`, and attempts left, the job is
    /// queued again after a backoff ([`StoreOptions::retry_backoff`], doubled
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
            let done = sqlx::query(&job_sql)
                .bind(job.id)
                .bind(&job.worker)
                .bind(i64::from(job.attempt))
                .bind(now)
                .bind(run_after)
                .bind(last_error)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Err(lease_lost(job));
            }
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

    // --- Slack bookkeeping ------------------------------------------------

    /// Records the Slack message showing the incident, so a retried job
    /// updates it instead of posting another. The first message recorded
    /// wins (recording the same channel and ts again updates the permalink);
    /// returns the message in effect, so a caller that posted a second one
    /// concurrently can tell and clean up.
    pub async fn set_slack_message(
        &self,
        incident_id: i64,
        channel: &str,
        ts: &str,
        permalink: Option<&str>,
    ) -> Result<SlackMessage, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE incidents SET slack_channel = $2, slack_ts = $3, \
                 slack_permalink = coalesce($4, slack_permalink), updated_at = $5 \
                 WHERE id = $1 AND (slack_ts IS NULL OR (slack_channel = $2 AND slack_ts = $3))",
            )
            .bind(incident_id)
            .bind(channel)
            .bind(ts)
            .bind(permalink)
            .bind(now)
            .execute(pool)
            .await?;
        });
        self.slack_message(incident_id)
            .await?
            .ok_or(StoreError::NotFound(incident_id))
    }

    /// The Slack message showing the incident, if one was recorded.
    pub async fn slack_message(
        &self,
        incident_id: i64,
    ) -> Result<Option<SlackMessage>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT slack_channel, slack_ts, slack_permalink FROM incidents WHERE id = $1",
            )
            .bind(incident_id)
            .fetch_optional(pool)
            .await?;
            match row {
                Some(row) => rows::slack(&row),
                None => Ok(None),
            }
        })
    }

    /// The incident a Slack thread belongs to: the one whose RCA message is
    /// `ts`, or the one answered in thread `ts` (an alert posted in Slack, a
    /// slash command or mention); the newest if several.
    pub async fn incident_by_slack_thread(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i \
             WHERE (i.slack_channel = $1 AND i.slack_ts = $2) \
             OR (i.reply_channel = $1 AND i.reply_thread = $2) ORDER BY i.id DESC LIMIT 1"
        );
        on_pool!(self, pool => {
            match sqlx::query(&sql).bind(channel).bind(ts).fetch_optional(pool).await? {
                Some(row) => rows::incident(&row).map(Some),
                None => Ok(None),
            }
        })
    }

    // --- Incidents --------------------------------------------------------

    /// One incident.
    pub async fn get_incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = $1");
        on_pool!(self, pool => {
            match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
                Some(row) => rows::incident(&row).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Sets the incident's category (the router's decision, before the RCA
    /// confirms or corrects it).
    pub async fn set_category(
        &self,
        incident_id: i64,
        category: Category,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let done = on_pool!(self, pool => {
            sqlx::query("UPDATE incidents SET category = $2, updated_at = $3 WHERE id = $1")
                .bind(incident_id)
                .bind(category.as_str())
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(incident_id));
        }
        Ok(())
    }

    /// The investigation's transcript, as recorded by [`Store::complete_job`].
    pub async fn transcript(
        &self,
        incident_id: i64,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let json = self.text_column(incident_id, "transcript_json").await?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| {
                StoreError::Corrupt(format!("incident {incident_id}: transcript: {e}"))
            })
        })
        .transpose()
    }

    /// The notification or request as received.
    pub async fn raw_payload(&self, incident_id: i64) -> Result<Option<String>, StoreError> {
        self.text_column(incident_id, "raw_payload").await
    }

    async fn text_column(
        &self,
        incident_id: i64,
        column: &'static str,
    ) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT {column} FROM incidents WHERE id = $1");
        let value: Option<Option<String>> = on_pool!(self, pool => {
            sqlx::query_scalar(&sql).bind(incident_id).fetch_optional(pool).await?
        });
        Ok(value.flatten())
    }

    /// Incidents matching the filter, newest first.
    pub async fn list_incidents(
        &self,
        filter: &IncidentFilter,
    ) -> Result<Vec<Incident>, StoreError> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut args = Vec::new();
        let mut sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE TRUE");
        let mut push = |sql: &mut String, clause: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&format!(" AND {clause} ${}", args.len()));
        };
        if let Some(service) = &filter.service {
            push(&mut sql, "i.service =", Arg::Text(service.clone()));
        }
        if let Some(category) = filter.category {
            push(
                &mut sql,
                "i.category =",
                Arg::Text(category.as_str().into()),
            );
        }
        if let Some(status) = filter.status {
            push(&mut sql, "i.status =", Arg::Text(status.as_str().into()));
        }
        if let Some(since) = filter.since {
            push(
                &mut sql,
                "i.created_at >=",
                Arg::Int(since.as_millisecond()),
            );
        }
        let limit = if filter.limit == 0 { 50 } else { filter.limit };
        sql.push_str(&format!(
            " ORDER BY i.created_at DESC, i.id DESC LIMIT {limit} OFFSET {}",
            filter.offset
        ));
        on_pool!(self, pool => {
            let mut query = sqlx::query(&sql);
            for arg in &args {
                query = match arg {
                    Arg::Text(s) => query.bind(s.as_str()),
                    Arg::Int(n) => query.bind(*n),
                };
            }
            query.fetch_all(pool).await?.iter().map(rows::incident).collect()
        })
    }

    /// Full-text search over alert name, service, summary and RCA (summary,
    /// root cause, evidence), best match first. Every word must match;
    /// `or` between words makes either do. Words are stemmed (`crashing`
    /// finds `crash`).
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Incident>, StoreError> {
        let limit = i64::from(limit.max(1));
        match &self.pool {
            Pool::Sqlite(pool) => {
                let Some(expr) = text::fts5_search(query) else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents_fts \
                     JOIN incidents i ON i.id = incidents_fts.rowid \
                     WHERE incidents_fts MATCH $1 \
                     ORDER BY bm25(incidents_fts, 3.0, 3.0, 2.0, 1.0), i.id DESC LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(expr)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(rows::incident).collect()
            }
            Pool::Postgres(pool) => {
                if text::words(query).is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents i \
                     CROSS JOIN websearch_to_tsquery('english', $1) q \
                     WHERE i.search_vector @@ q \
                     ORDER BY ts_rank(i.search_vector, q) DESC, i.id DESC LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(query)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(rows::incident).collect()
            }
        }
    }

    // --- Feedback and memory ----------------------------------------------

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
        let mut out: Vec<PastIncident> = seen
            .into_values()
            .filter_map(|inc| {
                let rca = inc.rca?;
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
        Ok(out)
    }

    // --- Knowledge base ---------------------------------------------------

    /// Indexes the Markdown files (`.md`, `.markdown`) under `dir`,
    /// recursively (hidden folders skipped): each file's title is its first
    /// `# ` heading (else its name), and it is searchable by section.
    /// Idempotent: unchanged files are left alone, changed ones re-indexed,
    /// and files no longer there removed from the index.
    pub async fn index_runbooks(&self, dir: &Path) -> Result<RunbookIndexReport, StoreError> {
        let dir = dir.to_path_buf();
        let (root, files) = tokio::task::spawn_blocking(move || read_runbooks(&dir))
            .await
            .map_err(|e| StoreError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let now = now_ms();
        let mut report = RunbookIndexReport::default();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let known: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, path, sha256 FROM runbooks WHERE root = $1")
                    .bind(&root)
                    .fetch_all(&mut *tx)
                    .await?;
            let mut known: HashMap<String, (i64, String)> =
                known.into_iter().map(|(id, path, sha)| (path, (id, sha))).collect();
            for file in &files {
                let id = match known.remove(&file.path) {
                    Some((_, sha)) if sha == file.sha256 => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some((id, _)) => {
                        sqlx::query("DELETE FROM runbook_sections WHERE runbook_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "UPDATE runbooks SET title = $2, sha256 = $3, indexed_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(&file.parsed.title)
                        .bind(&file.sha256)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        report.updated += 1;
                        id
                    }
                    None => {
                        report.added += 1;
                        sqlx::query_scalar(
                            "INSERT INTO runbooks (root, path, title, sha256, indexed_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(&root)
                        .bind(&file.path)
                        .bind(&file.parsed.title)
                        .bind(&file.sha256)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                for (position, (heading, body)) in file.parsed.sections.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO runbook_sections (runbook_id, position, title, heading, body) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(&file.parsed.title)
                    .bind(heading)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (id, _) in known.values() {
                sqlx::query("DELETE FROM runbook_sections WHERE runbook_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM runbooks WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                report.removed += 1;
            }
            tx.commit().await?;
        });
        tracing::info!(root = %root, ?report, "runbooks indexed");
        Ok(report)
    }

    /// Runbook sections matching the query (same syntax as
    /// [`Store::search`]), best first.
    pub async fn search_runbooks(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<RunbookHit>, StoreError> {
        let limit = i64::from(limit.max(1));
        let rows: Vec<(String, String, String, String)> = match &self.pool {
            Pool::Sqlite(pool) => {
                let Some(expr) = text::fts5_search(query) else {
                    return Ok(Vec::new());
                };
                sqlx::query_as(
                    "SELECT s.title, r.path, s.heading, \
                     snippet(runbook_fts, 2, '**', '**', '…', 24) \
                     FROM runbook_fts \
                     JOIN runbook_sections s ON s.id = runbook_fts.rowid \
                     JOIN runbooks r ON r.id = s.runbook_id \
                     WHERE runbook_fts MATCH $1 \
                     ORDER BY bm25(runbook_fts, 5.0, 3.0, 1.0), s.id LIMIT $2",
                )
                .bind(expr)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Pool::Postgres(pool) => {
                if text::words(query).is_empty() {
                    return Ok(Vec::new());
                }
                sqlx::query_as(
                    "SELECT s.title, r.path, s.heading, \
                     ts_headline('english', s.body, q, \
                       'StartSel=\"**\", StopSel=\"**\", MaxWords=30, MinWords=12, MaxFragments=1') \
                     FROM runbook_sections s \
                     JOIN runbooks r ON r.id = s.runbook_id \
                     CROSS JOIN websearch_to_tsquery('english', $1) q \
                     WHERE s.search_vector @@ q \
                     ORDER BY ts_rank(s.search_vector, q) DESC, s.id LIMIT $2",
                )
                .bind(query)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(title, path, heading, snippet)| RunbookHit {
                title,
                path,
                heading,
                snippet,
            })
            .collect())
    }

    // --- Audit and metrics ------------------------------------------------

    /// Appends to the audit log (remediation approvals and the like).
    /// Returns the entry's id.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        result: &str,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        let id = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO audit_log (at, actor, action, target, result) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(now)
            .bind(actor)
            .bind(action)
            .bind(target)
            .bind(result)
            .fetch_one(pool)
            .await?
        });
        tracing::info!(actor, action, target, result, "audit");
        Ok(id)
    }

    /// Claims remediation step `step` of an incident for running: the first
    /// claim wins ([`RemediationStart::Started`]), later ones (a double
    /// click, another replica) get the run already recorded. A run is never
    /// retried by the store: a step interrupted mid-way stays `running` for a
    /// person to look at, since re-running a write blindly could do harm.
    pub async fn start_remediation(
        &self,
        incident_id: i64,
        step: usize,
        tool: &str,
        arguments: &serde_json::Value,
        approved_by: &str,
    ) -> Result<RemediationStart, StoreError> {
        let now = now_ms();
        let step_no = i64::try_from(step).map_err(|_| StoreError::NotFound(incident_id))?;
        let inserted = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO remediation_runs (incident_id, step, tool, arguments, approved_by, \
                 started_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'running') \
                 ON CONFLICT (incident_id, step) DO NOTHING",
            )
            .bind(incident_id)
            .bind(step_no)
            .bind(tool)
            .bind(arguments.to_string())
            .bind(approved_by)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(RemediationStart::Started);
        }
        let runs = self.remediation_runs(incident_id).await?;
        runs.into_iter()
            .find(|r| r.step == step)
            .map(RemediationStart::Already)
            .ok_or(StoreError::NotFound(incident_id))
    }

    /// Records how a started remediation run ended.
    pub async fn finish_remediation(
        &self,
        incident_id: i64,
        step: usize,
        succeeded: bool,
        result: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let step_no = i64::try_from(step).map_err(|_| StoreError::NotFound(incident_id))?;
        let status = if succeeded { "succeeded" } else { "failed" };
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE remediation_runs SET status = $3, result = $4, finished_at = $5 \
                 WHERE incident_id = $1 AND step = $2",
            )
            .bind(incident_id)
            .bind(step_no)
            .bind(status)
            .bind(result)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(incident_id));
        }
        Ok(())
    }

    /// An incident's remediation runs, by step.
    pub async fn remediation_runs(
        &self,
        incident_id: i64,
    ) -> Result<Vec<RemediationRun>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT incident_id, step, tool, arguments, approved_by, started_at, \
                 finished_at, status, result FROM remediation_runs WHERE incident_id = $1 \
                 ORDER BY step",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(rows::remediation_run)
            .collect()
        })
    }

    /// The latest audit entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT id, at, actor, action, target, result FROM audit_log ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
            .iter()
            .map(rows::audit)
            .collect()
        })
    }

    /// Incidents per status and the queue's depth, for metrics.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let (incidents, jobs): (StatusCounts, StatusCounts) = on_pool!(self, pool => {
            let incidents = sqlx::query_as("SELECT status, COUNT(*) FROM incidents GROUP BY status")
                .fetch_all(pool)
                .await?;
            let jobs = sqlx::query_as(
                "SELECT status, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY status",
            )
            .fetch_all(pool)
            .await?;
            (incidents, jobs)
        });
        let count = |rows: &[(String, i64)], status: &str| {
            rows.iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
        };
        Ok(Counts {
            incidents: IncidentStatus::ALL
                .into_iter()
                .map(|s| (s, count(&incidents, s.as_str())))
                .collect(),
            queued_jobs: count(&jobs, "queued"),
            running_jobs: count(&jobs, "running"),
        })
    }
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn lease_lost(job: &Job) -> StoreError {
    tracing::warn!(job = job.id, worker = %job.worker, attempt = job.attempt, "job lease lost");
    StoreError::LeaseLost {
        job_id: job.id,
        worker: job.worker.clone(),
        attempt: job.attempt,
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

/// A runbook file read from disk.
struct RunbookFile {
    path: String,
    sha256: String,
    parsed: text::ParsedRunbook,
}

/// Reads the Markdown files under `dir` (blocking). Returns the canonical
/// folder, so `./runbooks` and `runbooks` index the same set.
fn read_runbooks(dir: &Path) -> Result<(String, Vec<RunbookFile>), StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let root = std::fs::canonicalize(dir).map_err(io(dir))?;
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let entry = entry.map_err(io(&folder))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let is_markdown = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown")
            });
            if !is_markdown {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let content = String::from_utf8_lossy(&bytes);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(RunbookFile {
                path: path.to_string_lossy().into_owned(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                parsed: text::split_markdown(&content, &stem),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((root.to_string_lossy().into_owned(), files))
}
