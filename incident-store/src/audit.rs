//! The audit log, remediation runs, and the counts behind the metrics.

use super::rows::{self};
use super::{
    AuditEntry, Counts, IncidentStatus, RemediationRun, RemediationStart, Store, StoreError, found,
    now_ms,
};

/// `(status, count)` rows.
type StatusCounts = Vec<(String, i64)>;

impl Store {
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
    /// retried by the store: a step interrupted mid-way stays `running` (or
    /// `interrupted`, when the shutdown could record it) for a person to look
    /// at, since re-running a write blindly could do harm.
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
        found(done, incident_id)
    }

    /// Marks a run that is still `running` as `interrupted`: the bot shut
    /// down (its drain time ran out) before the write tool answered, so
    /// nobody knows whether the write happened. Returns whether a row
    /// changed (a result recorded just in time is kept). Such a run is never
    /// retried: a person checks the target and decides.
    pub async fn interrupt_remediation(
        &self,
        incident_id: i64,
        step: usize,
        why: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let step_no = i64::try_from(step).map_err(|_| StoreError::NotFound(incident_id))?;
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE remediation_runs SET status = 'interrupted', result = $3, finished_at = $4 \
                 WHERE incident_id = $1 AND step = $2 AND status = 'running'",
            )
            .bind(incident_id)
            .bind(step_no)
            .bind(why)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
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
