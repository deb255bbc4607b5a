//! Reading incidents (one, a filtered page, a full-text search) and the
//! bookkeeping of where each one was posted in Slack.

use super::rows::{self, INCIDENT_COLUMNS, RowExt};
use super::{
    Incident, IncidentFilter, Pool, SearchHit, SlackMessage, Store, StoreError, found, now_ms, text,
};
use sre_orchestrator::router::Category;

impl Store {
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
        self.set_column(incident_id, "category", Some(category.as_str()))
            .await
    }

    /// Sets one text column of the incident (`None` clears it) and its
    /// `updated_at`. `column` is one of the code's own names, never input.
    pub(super) async fn set_column(
        &self,
        incident_id: i64,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = format!("UPDATE incidents SET {column} = $2, updated_at = $3 WHERE id = $1");
        let now = now_ms();
        let done = on_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(incident_id)
                .bind(value)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(done, incident_id)
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
        if let Some(workflow) = filter.workflow {
            push(
                &mut sql,
                "i.workflow =",
                Arg::Text(workflow.as_str().into()),
            );
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

    /// Full-text search over alert name, service, summary, RCA (summary,
    /// root cause, evidence) and people's notes, best match first. Every word must match;
    /// `or` between words makes either do. Words are stemmed (`crashing`
    /// finds `crash`). Each hit carries a snippet of the matching text with
    /// the matched words between [`MARK_START`] and [`MARK_END`].
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, StoreError> {
        let limit = i64::from(limit.max(1));
        let rows = match &self.pool {
            Pool::Sqlite(pool) => {
                let Some(expr) = text::fts5_search(query) else {
                    return Ok(Vec::new());
                };
                // Column -1: the column whose text matched best.
                let sql = format!(
                    "SELECT {INCIDENT_COLUMNS}, \
                     snippet(incidents_fts, -1, $3, $4, '…', 24) AS snippet \
                     FROM incidents_fts JOIN incidents i ON i.id = incidents_fts.rowid \
                     WHERE incidents_fts MATCH $1 \
                     ORDER BY bm25(incidents_fts, 3.0, 3.0, 2.0, 1.0), i.id DESC LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(expr)
                    .bind(limit)
                    .bind(MARK_START)
                    .bind(MARK_END)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(hit).collect::<Result<Vec<_>, _>>()?
            }
            Pool::Postgres(pool) => {
                if text::words(query).is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {INCIDENT_COLUMNS}, ts_headline('english', \
                     concat_ws(' · ', coalesce(i.rca_text, i.summary), i.notes_text), q, $3) AS snippet \
                     FROM incidents i \
                     CROSS JOIN websearch_to_tsquery('english', $1) q \
                     WHERE i.search_vector @@ q \
                     ORDER BY ts_rank(i.search_vector, q) DESC, i.id DESC LIMIT $2"
                );
                let options = format!(
                    "StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=8, \
                     MaxFragments=2, FragmentDelimiter=\" … \""
                );
                let rows = sqlx::query(&sql)
                    .bind(query)
                    .bind(limit)
                    .bind(options)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(hit).collect::<Result<Vec<_>, _>>()?
            }
        };
        Ok(rows)
    }
}

/// Opens a matched word in a [`SearchHit::snippet`] (a control character,
/// which the indexed text never holds, so the caller escapes the rest and
/// marks up only these).
pub const MARK_START: &str = "\u{2}";
/// Closes a matched word in a [`SearchHit::snippet`].
pub const MARK_END: &str = "\u{3}";

fn hit<R: RowExt>(row: &R) -> Result<SearchHit, StoreError> {
    Ok(SearchHit {
        incident: rows::incident(row)?,
        snippet: row.opt_text("snippet")?.unwrap_or_default(),
    })
}
