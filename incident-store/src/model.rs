//! The store's public data types.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::StoreError;
use sre_orchestrator::alert::Alert;
use sre_orchestrator::rca::{Rca, RootCause};
use sre_orchestrator::router::Category;

/// Which database a [`Store`](super::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// One SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL database, possibly shared by several replicas.
    Postgres,
}

/// Tuning for [`Store::connect_with`](super::Store::connect_with).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How many times a job is claimed before it is given up as failed
    /// (a claim whose lease expires counts: the worker probably crashed).
    pub max_attempts: u32,
    /// The delay before the first retry of a failed job; doubled on each
    /// further attempt, capped at an hour.
    pub retry_backoff: Duration,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Bring the schema up to date on connect. Off for a reader that must
    /// not change a database it shares with others (`investigate` on a
    /// laptop against the team's store): the schema is then only checked,
    /// and a store older than this build is refused with
    /// [`StoreError::SchemaBehind`](super::StoreError::SchemaBehind).
    pub migrate: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_attempts: 3,
            retry_backoff: Duration::from_secs(30),
            max_connections: 8,
            migrate: true,
        }
    }
}

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its job.
    Investigating,
    /// The RCA is in.
    Done,
    /// The investigation gave up.
    Failed,
    /// Investigated, and the alert has since resolved.
    Resolved,
}

impl IncidentStatus {
    /// All statuses, in life order.
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Queued,
        IncidentStatus::Investigating,
        IncidentStatus::Done,
        IncidentStatus::Failed,
        IncidentStatus::Resolved,
    ];

    /// The lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Queued => "queued",
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Done => "done",
            IncidentStatus::Failed => "failed",
            IncidentStatus::Resolved => "resolved",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person's judgement of an RCA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The root cause was right.
    Confirmed,
    /// The root cause was wrong.
    Wrong,
}

impl Verdict {
    /// The lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Wrong => "wrong",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Verdict> {
        match name.trim().to_ascii_lowercase().as_str() {
            "confirmed" => Some(Verdict::Confirmed),
            "wrong" => Some(Verdict::Wrong),
            _ => None,
        }
    }
}

/// What intake did with an alert or request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Enqueued {
    /// A new incident, with a job queued to investigate it.
    New {
        /// The new incident.
        incident_id: i64,
        /// Its job.
        job_id: i64,
    },
    /// Already known: the same fingerprint within the dedup window, or the
    /// same idempotency key. Counted on the existing incident; no new job.
    Duplicate {
        /// The existing incident.
        incident_id: i64,
    },
    /// A resolved notification: the open incident of that fingerprint was
    /// marked resolved. `None` when there was no open incident (it fired
    /// before the agent was watching, or was resolved already).
    Resolved {
        /// The incident marked resolved.
        incident_id: Option<i64>,
    },
}

impl Enqueued {
    /// The incident concerned, if any.
    pub fn incident_id(&self) -> Option<i64> {
        match *self {
            Enqueued::New { incident_id, .. } | Enqueued::Duplicate { incident_id } => {
                Some(incident_id)
            }
            Enqueued::Resolved { incident_id } => incident_id,
        }
    }

    /// The job queued, when one was.
    pub fn job_id(&self) -> Option<i64> {
        match *self {
            Enqueued::New { job_id, .. } => Some(job_id),
            _ => None,
        }
    }

    /// True when nothing new was queued because it was already known.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Enqueued::Duplicate { .. })
    }
}

/// An on-demand request (slash command, mention, CLI), for
/// [`Store::enqueue_request`](super::Store::enqueue_request).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Makes the request idempotent: Slack retries a delivery with the same
    /// event id / trigger id, and the same key never creates a second job.
    pub idempotency_key: Option<String>,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Where to answer (e.g. a Slack channel id).
    pub reply_channel: Option<String>,
    /// The thread to answer in (e.g. a Slack thread ts).
    pub reply_thread: Option<String>,
    /// The request as received, kept for the record.
    pub raw_payload: String,
}

/// The Slack message that shows an incident, so a retried job edits it
/// instead of posting a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackMessage {
    /// Channel id.
    pub channel: String,
    /// Message timestamp (Slack's message id).
    pub ts: String,
    /// Link to the message.
    pub permalink: Option<String>,
}

/// One incident, without its (large) transcript and raw payload; see
/// [`Store::transcript`](super::Store::transcript) and
/// [`Store::raw_payload`](super::Store::raw_payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Id.
    pub id: i64,
    /// The alert's fingerprint (dedup identity).
    pub fingerprint: String,
    /// True for on-demand requests (never deduplicated).
    pub on_demand: bool,
    /// The alert (or request) as normalised at intake.
    pub alert: Alert,
    /// The specialist category, once known (router or RCA).
    pub category: Option<Category>,
    /// Where it is in its life.
    pub status: IncidentStatus,
    /// The RCA, once done. `None` also when a stored RCA no longer parses
    /// (written by an incompatible version; logged).
    pub rca: Option<Rca>,
    /// The last error, when an attempt failed.
    pub error: Option<String>,
    /// The latest feedback verdict.
    pub verdict: Option<Verdict>,
    /// Notifications of the same alert folded into this incident.
    pub duplicates: u64,
    /// Who asked (on-demand).
    pub requested_by: Option<String>,
    /// Where to answer (on-demand).
    pub reply_channel: Option<String>,
    /// The thread to answer in (on-demand).
    pub reply_thread: Option<String>,
    /// The Slack message showing it, once posted.
    pub slack: Option<SlackMessage>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When the alert was last received.
    pub last_seen_at: Timestamp,
    /// When the alert resolved.
    pub resolved_at: Option<Timestamp>,
    /// Where people are with it.
    #[serde(default)]
    pub workflow: Workflow,
    /// Who owns it, once assigned.
    #[serde(default)]
    pub owner: Option<String>,
}

/// An incident found by [`Store::search`](super::Store::search).
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The incident.
    pub incident: Incident,
    /// The matching text around the words found, each between
    /// [`MARK_START`](super::MARK_START) and [`MARK_END`](super::MARK_END).
    pub snippet: String,
}

/// Which incidents [`Store::list_incidents`](super::Store::list_incidents)
/// returns, newest first. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Exact service.
    pub service: Option<String>,
    /// Category.
    pub category: Option<Category>,
    /// Status.
    pub status: Option<IncidentStatus>,
    /// Workflow state.
    pub workflow: Option<Workflow>,
    /// Created at or after.
    pub since: Option<Timestamp>,
    /// At most this many (0 means 50).
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

/// A claimed job: the worker owns it until its lease runs out.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// This claim's number (1 for the first); with [`Job::worker`] it is the
    /// fencing token checked by every later write.
    pub attempt: u32,
    /// Claims allowed in all.
    pub max_attempts: u32,
    /// The worker that claimed it.
    pub worker: String,
    /// When the lease runs out unless renewed.
    pub lease_until: Timestamp,
    /// The incident to investigate (with its Slack message, if an earlier
    /// attempt posted one).
    pub incident: Incident,
}

/// One feedback entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Id.
    pub id: i64,
    /// The incident judged.
    pub incident_id: i64,
    /// The judgement.
    pub verdict: Verdict,
    /// Who judged.
    pub user: String,
    /// Why, if they said.
    pub comment: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A past incident that looks like the current one (memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastIncident {
    /// Its id.
    pub incident_id: i64,
    /// When it happened.
    pub created_at: Timestamp,
    /// The alert's name.
    pub alert_name: String,
    /// Its service.
    pub service: Option<String>,
    /// Its category.
    pub category: Option<Category>,
    /// The RCA's one-line summary.
    pub summary: String,
    /// The root cause found then.
    pub root_cause: RootCause,
    /// What people said about it: prefer `Confirmed`; a `Wrong` one is
    /// listed last so the caller can say it was previously judged wrong.
    pub verdict: Option<Verdict>,
    /// Same service as the current alert.
    pub same_service: bool,
    /// Same alert name as the current alert.
    pub same_alert: bool,
    /// The ranking score (higher is more similar).
    pub score: f64,
    /// What fixed it: the first remediation step that was approved, ran and
    /// succeeded then, as "action (ran server.tool)". A failed or unfinished
    /// run fixed nothing, and is not named.
    #[serde(default)]
    pub fixed_by: Option<String>,
}

/// What [`Store::index_runbooks`](super::Store::index_runbooks) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookIndexReport {
    /// Files indexed for the first time.
    pub added: usize,
    /// Files whose content changed.
    pub updated: usize,
    /// Files unchanged since the last run.
    pub unchanged: usize,
    /// Files gone from the folder, removed from the index.
    pub removed: usize,
}

/// A runbook section matching a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunbookHit {
    /// The runbook's title.
    pub title: String,
    /// The file.
    pub path: String,
    /// The matching section's heading.
    pub heading: String,
    /// A short excerpt around the match, the matched words between
    /// [`MARK_START`](super::MARK_START) and [`MARK_END`](super::MARK_END).
    pub snippet: String,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who (a Slack user, `agent`…).
    pub actor: String,
    /// What (`remediation.approve`…).
    pub action: String,
    /// On what (an incident, a deployment…).
    pub target: String,
    /// How it went.
    pub result: String,
}

/// One approved remediation step run through a write tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationRun {
    /// The incident.
    pub incident_id: i64,
    /// The step's index in the RCA's remediation.
    pub step: usize,
    /// The tool that ran it (`server.tool`).
    pub tool: String,
    /// Its arguments.
    pub arguments: serde_json::Value,
    /// Who approved it.
    pub approved_by: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended, if it has.
    pub finished_at: Option<Timestamp>,
    /// `running`, `succeeded`, `failed`, or `interrupted` (the bot shut down
    /// before the tool answered: whether the write happened is unknown).
    pub status: String,
    /// The tool's answer (or error).
    pub result: Option<String>,
}

/// What [`Store::start_remediation`](super::Store::start_remediation) found.
#[derive(Debug, Clone, PartialEq)]
pub enum RemediationStart {
    /// This caller claimed the step and must run it, then record the result.
    Started,
    /// The step was claimed before (running or finished).
    Already(RemediationRun),
}

/// Counts for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Incidents per status (every status present, zeros included).
    pub incidents: Vec<(IncidentStatus, u64)>,
    /// Jobs waiting for a worker (including ones in retry backoff).
    pub queued_jobs: u64,
    /// Jobs held by a worker.
    pub running_jobs: u64,
}

impl Counts {
    /// Incidents with this status.
    pub fn incidents_with(&self, status: IncidentStatus) -> u64 {
        self.incidents
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// Where people are with an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Workflow {
    /// Nobody has taken it yet.
    #[default]
    Open,
    /// Someone is on it.
    Acknowledged,
    /// The impact is stopped; the cause may still be there.
    Mitigated,
    /// Over: fixed, or the alert resolved.
    Resolved,
}

impl Workflow {
    /// All states, in order.
    pub const ALL: [Workflow; 4] = [
        Workflow::Open,
        Workflow::Acknowledged,
        Workflow::Mitigated,
        Workflow::Resolved,
    ];

    /// The lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Open => "open",
            Workflow::Acknowledged => "acknowledged",
            Workflow::Mitigated => "mitigated",
            Workflow::Resolved => "resolved",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Workflow> {
        Workflow::ALL
            .into_iter()
            .find(|w| w.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// A move people make on an incident's [`Workflow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    /// "I'm on it" (from open).
    Acknowledge,
    /// The impact is stopped (from open or acknowledged).
    Mitigate,
    /// It is over (from any state but resolved).
    Resolve,
    /// It is back (from mitigated or resolved).
    Reopen,
}

impl Move {
    /// All moves.
    pub const ALL: [Move; 4] = [
        Move::Acknowledge,
        Move::Mitigate,
        Move::Resolve,
        Move::Reopen,
    ];

    /// The verb, as in forms, slash commands and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Move::Acknowledge => "acknowledge",
            Move::Mitigate => "mitigate",
            Move::Resolve => "resolve",
            Move::Reopen => "reopen",
        }
    }

    /// Parses a verb; `ack` is accepted for acknowledge.
    pub fn parse(verb: &str) -> Option<Move> {
        let verb = verb.trim().to_ascii_lowercase();
        if verb == "ack" {
            return Some(Move::Acknowledge);
        }
        Move::ALL.into_iter().find(|m| m.as_str() == verb)
    }

    /// The state the move leads to.
    pub fn to(self) -> Workflow {
        match self {
            Move::Acknowledge => Workflow::Acknowledged,
            Move::Mitigate => Workflow::Mitigated,
            Move::Resolve => Workflow::Resolved,
            Move::Reopen => Workflow::Open,
        }
    }

    /// The states the move may start from.
    pub fn from(self) -> &'static [Workflow] {
        match self {
            Move::Acknowledge => &[Workflow::Open],
            Move::Mitigate => &[Workflow::Open, Workflow::Acknowledged],
            Move::Resolve => &[Workflow::Open, Workflow::Acknowledged, Workflow::Mitigated],
            Move::Reopen => &[Workflow::Mitigated, Workflow::Resolved],
        }
    }

    /// The moves allowed from `state`, for a page or a message to offer.
    pub fn allowed(state: Workflow) -> Vec<Move> {
        Move::ALL
            .into_iter()
            .filter(|m| m.from().contains(&state))
            .collect()
    }
}

/// What a [`Store::move_incident`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// The incident moved.
    Done {
        /// The state before.
        from: Workflow,
        /// The state now.
        to: Workflow,
    },
    /// The incident was not in a state the move starts from (someone else
    /// was first, or the move makes no sense there); nothing changed.
    Refused {
        /// The state it is in.
        state: Workflow,
        /// Why, in words for the person who asked.
        reason: String,
    },
}

/// A person's note on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub body: String,
    /// When.
    pub at: Timestamp,
}

impl Note {
    /// The note's link, when the note is nothing but one `http(s)://` URL
    /// (a dashboard, a ticket, a postmortem document): shown as a link.
    pub fn link(&self) -> Option<&str> {
        let body = self.body.trim();
        ((body.starts_with("https://") || body.starts_with("http://"))
            && !body.contains(char::is_whitespace))
        .then_some(body)
    }
}

/// The longest note kept, in characters: a note is a line or a paragraph,
/// not a log dump.
pub const NOTE_MAX_CHARS: usize = 4000;

/// Why a note was not kept.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// Nothing to keep.
    #[error("the note is empty")]
    Empty,
    /// Too long.
    #[error("the note has {0} characters; at most {NOTE_MAX_CHARS} are kept")]
    TooLong(usize),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
