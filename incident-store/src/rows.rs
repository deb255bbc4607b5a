//! Reading rows of either backend into the store's types.
//!
//! The SQL is shared wherever the dialects agree, so the row types differ
//! only by backend; [`RowExt`] gives both the same few typed getters and the
//! mapping functions are written once over it.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::StoreError;
use super::model::{
    AuditEntry, Feedback, Incident, IncidentStatus, RemediationRun, SlackMessage, Verdict, Workflow,
};

use sre_orchestrator::router::Category;

/// The typed getters the mapping functions need.
pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(col)
            }
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(col)
            }
            fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
                self.try_get(col)
            }
        }
    };
}

impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);

/// The columns [`incident`] reads, from `incidents` aliased `i`.
pub(crate) const INCIDENT_COLUMNS: &str = "i.id, i.fingerprint, i.on_demand, i.category, \
     i.status, i.alert_json, i.rca_json, i.error, i.verdict, i.duplicates, i.requested_by, \
     i.reply_channel, i.reply_thread, i.slack_channel, i.slack_ts, i.slack_permalink, \
     i.created_at, i.updated_at, i.last_seen_at, i.resolved_at, i.workflow, i.owner";

/// A stored time (Unix milliseconds).
pub(crate) fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("time {ms} out of range: {e}")))
}

fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(ts).transpose()
}

fn verdict(text: Option<String>) -> Result<Option<Verdict>, StoreError> {
    text.map(|v| Verdict::parse(&v).ok_or_else(|| StoreError::Corrupt(format!("verdict `{v}`"))))
        .transpose()
}

pub(crate) fn slack<R: RowExt>(row: &R) -> Result<Option<SlackMessage>, StoreError> {
    Ok(
        match (row.opt_text("slack_channel")?, row.opt_text("slack_ts")?) {
            (Some(channel), Some(ts)) => Some(SlackMessage {
                channel,
                ts,
                permalink: row.opt_text("slack_permalink")?,
            }),
            _ => None,
        },
    )
}

/// An [`Incident`] from a row with [`INCIDENT_COLUMNS`].
pub(crate) fn incident<R: RowExt>(row: &R) -> Result<Incident, StoreError> {
    let id = row.int("id")?;
    let alert = serde_json::from_str(&row.text("alert_json")?)
        .map_err(|e| StoreError::Corrupt(format!("incident {id}: stored alert: {e}")))?;
    // An RCA written by an incompatible version should not make the incident
    // unreadable: the rest of it is still worth showing.
    let rca = match row.opt_text("rca_json")? {
        Some(json) => match serde_json::from_str(&json) {
            Ok(rca) => Some(rca),
            Err(e) => {
                tracing::warn!(incident = id, error = %e, "stored RCA does not parse; ignoring it");
                None
            }
        },
        None => None,
    };
    let status = row.text("status")?;
    let workflow = row.text("workflow")?;
    Ok(Incident {
        id,
        fingerprint: row.text("fingerprint")?,
        on_demand: row.flag("on_demand")?,
        alert,
        category: row.opt_text("category")?.and_then(|c| Category::parse(&c)),
        status: IncidentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("incident {id}: status `{status}`")))?,
        rca,
        error: row.opt_text("error")?,
        verdict: verdict(row.opt_text("verdict")?)?,
        duplicates: u64::try_from(row.int("duplicates")?).unwrap_or(0),
        requested_by: row.opt_text("requested_by")?,
        reply_channel: row.opt_text("reply_channel")?,
        reply_thread: row.opt_text("reply_thread")?,
        slack: slack(row)?,
        created_at: ts(row.int("created_at")?)?,
        updated_at: ts(row.int("updated_at")?)?,
        last_seen_at: ts(row.int("last_seen_at")?)?,
        resolved_at: opt_ts(row.opt_int("resolved_at")?)?,
        workflow: Workflow::parse(&workflow)
            .ok_or_else(|| StoreError::Corrupt(format!("incident {id}: workflow `{workflow}`")))?,
        owner: row.opt_text("owner")?,
    })
}

pub(crate) fn feedback<R: RowExt>(row: &R) -> Result<Feedback, StoreError> {
    let v = row.text("verdict")?;
    Ok(Feedback {
        id: row.int("id")?,
        incident_id: row.int("incident_id")?,
        verdict: Verdict::parse(&v)
            .ok_or_else(|| StoreError::Corrupt(format!("feedback verdict `{v}`")))?,
        user: row.text("user_name")?,
        comment: row.opt_text("comment")?,
        at: ts(row.int("created_at")?)?,
    })
}

pub(crate) fn audit<R: RowExt>(row: &R) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.int("id")?,
        at: ts(row.int("at")?)?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        target: row.text("target")?,
        result: row.text("result")?,
    })
}

pub(crate) fn remediation_run<R: RowExt>(row: &R) -> Result<RemediationRun, StoreError> {
    let arguments = row.text("arguments")?;
    Ok(RemediationRun {
        incident_id: row.int("incident_id")?,
        step: usize::try_from(row.int("step")?)
            .map_err(|_| StoreError::Corrupt("negative remediation step".into()))?,
        tool: row.text("tool")?,
        arguments: serde_json::from_str(&arguments)?,
        approved_by: row.text("approved_by")?,
        started_at: ts(row.int("started_at")?)?,
        finished_at: opt_ts(row.opt_int("finished_at")?)?,
        status: row.text("status")?,
        result: row.opt_text("result")?,
    })
}
