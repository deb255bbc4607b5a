//! The incident store: what `sre-agent serve` remembers.
//!
//! Its own crate because only `serve` (and `investigate`'s local memory)
//! needs it, and because it needs nothing of the orchestrator but the
//! records it keeps (alerts, RCAs, categories): the engine and the agent
//! build without a database driver, and the store's schema changes without
//! touching them.
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
//! What people do about an incident (acknowledge, mitigate, resolve,
//! reopen, assign, note) is its workflow, apart from the investigation's
//! status: each move is one conditional update, so concurrent moves leave
//! one winner and the rest are told why nothing changed (`workflow`).
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

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use incidents::{MARK_END, MARK_START};
pub use model::{
    AuditEntry, Backend, Counts, Enqueued, Feedback, Incident, IncidentFilter, IncidentStatus, Job,
    Move, Moved, NOTE_MAX_CHARS, Note, NoteError, PastIncident, RemediationRun, RemediationStart,
    Request, RunbookHit, RunbookIndexReport, SearchHit, SlackMessage, StoreOptions, Verdict,
    Workflow,
};

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
    /// A store opened without migrating has an older schema than this build
    /// reads.
    #[error(
        "the store's schema is at migration {have}, this build needs {need}; it was not changed \
         (opened without migrating): start `sre-agent serve` (which migrates) against it first"
    )]
    SchemaBehind {
        /// The newest migration the store has applied (0: none).
        have: i64,
        /// The newest migration this build knows.
        need: i64,
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
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

mod audit;
mod incidents;
mod intake;
mod memory;
mod queue;
mod runbooks;
mod workflow;

/// The newest migration `migrator` knows.
fn newest(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

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
        let need;
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
                let migrator = sqlx::migrate!("./migrations/sqlite");
                if options.migrate {
                    migrator.run(&pool).await?;
                }
                need = newest(&migrator);
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
                let migrator = sqlx::migrate!("./migrations/postgres");
                if options.migrate {
                    migrator.run(&pool).await?;
                }
                need = newest(&migrator);
                Pool::Postgres(pool)
            }
            other => return Err(StoreError::BadUrl(other.to_string())),
        };
        let store = Store { pool, options };
        if !store.options.migrate {
            store.check_schema(need).await?;
        }
        tracing::info!(backend = ?store.backend(), "incident store ready");
        Ok(store)
    }

    /// Checks, without changing anything, that the database has applied
    /// migration `need` (sqlx's own bookkeeping table); a newer schema is
    /// accepted, since migrations only add.
    async fn check_schema(&self, need: i64) -> Result<(), StoreError> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        // A database that never saw a migration has no bookkeeping table:
        // the query fails, which reads as "nothing applied".
        let have: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(0)
        });
        if have < need {
            return Err(StoreError::SchemaBehind { have, need });
        }
        Ok(())
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
}

/// `Ok` when an update by incident id changed a row, else
/// [`StoreError::NotFound`].
fn found(rows_affected: u64, incident_id: i64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound(incident_id));
    }
    Ok(())
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
