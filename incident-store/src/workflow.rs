//! What people do about an incident: its workflow state (open →
//! acknowledged → mitigated → resolved, and reopened), its owner and their
//! notes. Apart from [`IncidentStatus`](super::IncidentStatus), which is the
//! investigation's own life.
//!
//! Every move is one conditional `UPDATE … WHERE workflow IN (allowed
//! states)`: two people acknowledging at once, or a double click, leave one
//! winner and the other is told what happened ("already acknowledged")
//! instead of writing over it. Every change goes to the audit log with who
//! made it. The workflow's words (`Workflow`, `Move`, `Note`…) are data
//! like the rest of the model and live in `model`; this module is what the
//! store does with them.

use super::model::{Move, Moved, NOTE_MAX_CHARS, Note, NoteError, Workflow};
use super::rows::{self, RowExt};
use super::{Store, StoreError, now_ms};

fn audit_target(incident_id: i64) -> String {
    format!("incident #{incident_id}")
}

impl Store {
    /// Makes `mv` on the incident for `who`: one conditional update, so of
    /// two concurrent moves from the same state one wins and the other is
    /// [`Moved::Refused`] with the state it found. Audited either way.
    pub async fn move_incident(
        &self,
        incident_id: i64,
        mv: Move,
        who: &str,
    ) -> Result<Moved, StoreError> {
        // The state before the move is read first and the update is
        // conditioned on exactly it, so the audit line says what it moved
        // from and a concurrent move in between makes this one refused.
        let Some(current) = self.workflow(incident_id).await? else {
            return Err(StoreError::NotFound(incident_id));
        };
        let mut done = 0;
        if mv.from().contains(&current) {
            let now = now_ms();
            done = on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE incidents SET workflow = $2, updated_at = $3 \
                     WHERE id = $1 AND workflow = $4",
                )
                .bind(incident_id)
                .bind(mv.to().as_str())
                .bind(now)
                .bind(current.as_str())
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        let target = audit_target(incident_id);
        if done == 1 {
            let to = mv.to();
            self.audit(
                who,
                &format!("incident.{}", mv.as_str()),
                &target,
                &format!("{} → {}", current.as_str(), to.as_str()),
            )
            .await?;
            return Ok(Moved::Done { from: current, to });
        }
        // Someone moved it between the read and the update, or the move does
        // not start here: say what it is now.
        let state = self
            .workflow(incident_id)
            .await?
            .ok_or(StoreError::NotFound(incident_id))?;
        let reason = if state == mv.to() {
            format!("already {}", state.as_str())
        } else {
            format!("cannot {} from {}", mv.as_str(), state.as_str())
        };
        self.audit(
            who,
            &format!("incident.{}", mv.as_str()),
            &target,
            &format!("refused: {reason}"),
        )
        .await?;
        Ok(Moved::Refused { state, reason })
    }

    /// The incident's workflow state, `None` if there is no such incident.
    pub async fn workflow(&self, incident_id: i64) -> Result<Option<Workflow>, StoreError> {
        let state: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT workflow FROM incidents WHERE id = $1")
                .bind(incident_id)
                .fetch_optional(pool)
                .await?
        });
        state
            .map(|s| {
                Workflow::parse(&s).ok_or_else(|| {
                    StoreError::Corrupt(format!("incident {incident_id}: workflow `{s}`"))
                })
            })
            .transpose()
    }

    /// Moves the incident to resolved because its alert resolved (`source`,
    /// e.g. `alertmanager`, is the actor in the audit log), or back to open
    /// because it fired again after that. No-op when already there.
    pub(crate) async fn follow_alert(
        &self,
        incident_id: i64,
        resolved: bool,
        source: &str,
    ) -> Result<(), StoreError> {
        let state = self.workflow(incident_id).await?;
        // A firing alert reopens only what its resolving had closed, not an
        // incident a person mitigated while it kept firing.
        let mv = match (resolved, state) {
            (true, Some(s)) if s != Workflow::Resolved => Move::Resolve,
            (false, Some(Workflow::Resolved)) => Move::Reopen,
            _ => return Ok(()),
        };
        self.move_incident(incident_id, mv, source)
            .await
            .map(|_| ())
    }

    /// Sets (or, with `None`, clears) the incident's owner. Audited.
    pub async fn assign(
        &self,
        incident_id: i64,
        owner: Option<&str>,
        who: &str,
    ) -> Result<(), StoreError> {
        let owner = owner.map(str::trim).filter(|o| !o.is_empty());
        self.set_column(incident_id, "owner", owner).await?;
        self.audit(
            who,
            "incident.assign",
            &audit_target(incident_id),
            owner.unwrap_or("(nobody)"),
        )
        .await?;
        Ok(())
    }

    /// Adds a note by `author`; returns it. Audited (without the text, which
    /// stays with the incident).
    pub async fn add_note(
        &self,
        incident_id: i64,
        author: &str,
        body: &str,
    ) -> Result<Note, NoteError> {
        let body = body.trim();
        if body.is_empty() {
            return Err(NoteError::Empty);
        }
        let chars = body.chars().count();
        if chars > NOTE_MAX_CHARS {
            return Err(NoteError::TooLong(chars));
        }
        if self.workflow(incident_id).await?.is_none() {
            return Err(StoreError::NotFound(incident_id).into());
        }
        let now = now_ms();
        // The note and its words in the incident's full-text index, together.
        let id: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(StoreError::from)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO incident_notes (incident_id, author, body, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(incident_id)
            .bind(author)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            sqlx::query(
                "UPDATE incidents SET notes_text = \
                 CASE WHEN notes_text IS NULL THEN $2 ELSE notes_text || ' ' || $2 END, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(incident_id)
            .bind(body)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            tx.commit().await.map_err(StoreError::from)?;
            id
        });
        self.audit(
            author,
            "incident.note",
            &audit_target(incident_id),
            &format!("note {id}"),
        )
        .await?;
        Ok(Note {
            id,
            incident_id,
            author: author.to_string(),
            body: body.to_string(),
            at: rows::ts(now)?,
        })
    }

    /// The incident's notes, oldest first.
    pub async fn notes(&self, incident_id: i64) -> Result<Vec<Note>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT id, incident_id, author, body, created_at FROM incident_notes \
                 WHERE incident_id = $1 ORDER BY id",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(note)
            .collect()
        })
    }
}

fn note<R: RowExt>(row: &R) -> Result<Note, StoreError> {
    Ok(Note {
        id: row.int("id")?,
        incident_id: row.int("incident_id")?,
        author: row.text("author")?,
        body: row.text("body")?,
        at: rows::ts(row.int("created_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn each_state_offers_the_moves_that_start_there() {
        assert_eq!(
            Move::allowed(Workflow::Open),
            [Move::Acknowledge, Move::Mitigate, Move::Resolve]
        );
        assert_eq!(
            Move::allowed(Workflow::Acknowledged),
            [Move::Mitigate, Move::Resolve]
        );
        assert_eq!(
            Move::allowed(Workflow::Mitigated),
            [Move::Resolve, Move::Reopen]
        );
        assert_eq!(Move::allowed(Workflow::Resolved), [Move::Reopen]);
        // No move leads back to where it starts.
        for m in Move::ALL {
            assert!(!m.from().contains(&m.to()), "{m:?}");
        }
    }

    #[test]
    fn verbs_and_states_read_back() {
        for m in Move::ALL {
            assert_eq!(Move::parse(m.as_str()), Some(m));
        }
        assert_eq!(Move::parse(" ACK "), Some(Move::Acknowledge));
        assert_eq!(Move::parse("close"), None);
        for w in Workflow::ALL {
            assert_eq!(Workflow::parse(w.as_str()), Some(w));
        }
    }

    #[test]
    fn a_note_that_is_one_url_is_a_link() {
        let note = |body: &str| Note {
            id: 1,
            incident_id: 1,
            author: "a".into(),
            body: body.into(),
            at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(
            note(" https://grafana.example/d/x ").link(),
            Some("https://grafana.example/d/x")
        );
        assert_eq!(note("see https://grafana.example/d/x").link(), None);
        assert_eq!(note("javascript:alert(1)").link(), None);
    }
}
