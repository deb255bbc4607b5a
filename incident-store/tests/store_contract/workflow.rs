//! The workflow people drive: moves and their refusals, concurrent moves,
//! owners and notes, and the alert's own resolving and firing again.

use incident_store::{Backend, IncidentFilter, Move, Moved, NOTE_MAX_CHARS, NoteError, Workflow};
use sre_orchestrator::alert::AlertStatus;

use super::{HOUR, alert, firing, investigate, open, options, rca};

fn done(from: Workflow, to: Workflow) -> Moved {
    Moved::Done { from, to }
}

pub async fn workflow_moves_and_refusals(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let r = rca("oom", "cart", "oom_killed", "cart OOMKilled", "3 restarts");
    let id = investigate(s, &firing("PodCrash", "cart", "fp-w1"), &r).await;
    let inc = s.get_incident(id).await.unwrap().unwrap();
    assert_eq!((inc.workflow, inc.owner), (Workflow::Open, None));

    assert_eq!(
        s.move_incident(id, Move::Acknowledge, "alice@example.com")
            .await
            .unwrap(),
        done(Workflow::Open, Workflow::Acknowledged)
    );
    // A second acknowledge (a double click, a colleague) changes nothing.
    let again = s
        .move_incident(id, Move::Acknowledge, "bob@example.com")
        .await
        .unwrap();
    assert_eq!(
        again,
        Moved::Refused {
            state: Workflow::Acknowledged,
            reason: "already acknowledged".into()
        }
    );
    let reopen = s
        .move_incident(id, Move::Reopen, "bob@example.com")
        .await
        .unwrap();
    assert!(
        matches!(&reopen, Moved::Refused { reason, .. } if reason == "cannot reopen from acknowledged"),
        "{reopen:?}"
    );
    assert_eq!(
        s.move_incident(id, Move::Mitigate, "alice@example.com")
            .await
            .unwrap(),
        done(Workflow::Acknowledged, Workflow::Mitigated)
    );
    assert_eq!(
        s.move_incident(id, Move::Resolve, "alice@example.com")
            .await
            .unwrap(),
        done(Workflow::Mitigated, Workflow::Resolved)
    );
    // The investigation's status is its own: the RCA is still `done`.
    let inc = s.get_incident(id).await.unwrap().unwrap();
    assert_eq!(inc.workflow, Workflow::Resolved);
    assert_eq!(inc.status.as_str(), "done");
    let listed = s
        .list_incidents(&IncidentFilter {
            workflow: Some(Workflow::Resolved),
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), [id]);
    assert!(
        s.list_incidents(&IncidentFilter {
            workflow: Some(Workflow::Open),
            ..IncidentFilter::default()
        })
        .await
        .unwrap()
        .is_empty()
    );

    // Every move, refused ones too, is in the audit log with who.
    let log = s.audit_log(20).await.unwrap();
    let lines: Vec<(String, String, String)> = log
        .iter()
        .rev()
        .map(|e| (e.actor.clone(), e.action.clone(), e.result.clone()))
        .collect();
    let line = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        lines,
        [
            line(
                "alice@example.com",
                "incident.acknowledge",
                "open → acknowledged"
            ),
            line(
                "bob@example.com",
                "incident.acknowledge",
                "refused: already acknowledged"
            ),
            line(
                "bob@example.com",
                "incident.reopen",
                "refused: cannot reopen from acknowledged"
            ),
            line(
                "alice@example.com",
                "incident.mitigate",
                "acknowledged → mitigated"
            ),
            line(
                "alice@example.com",
                "incident.resolve",
                "mitigated → resolved"
            ),
        ]
    );
    assert!(log.iter().all(|e| e.target == format!("incident #{id}")));
    assert!(matches!(
        s.move_incident(id + 1000, Move::Acknowledge, "x").await,
        Err(incident_store::StoreError::NotFound(_))
    ));
}

pub async fn concurrent_moves_have_one_winner(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let id = s
        .enqueue_alert(&firing("HighLatency", "api", "fp-w2"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let s = s.clone();
            tokio::spawn(async move {
                s.move_incident(id, Move::Acknowledge, &format!("user{n}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Moved::Done { .. } => winners += 1,
            Moved::Refused { state, reason } => {
                assert_eq!(state, Workflow::Acknowledged);
                assert_eq!(reason, "already acknowledged");
            }
        }
    }
    assert_eq!(winners, 1);
}

pub async fn owners_and_notes(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let id = s
        .enqueue_alert(&firing("DiskFull", "db", "fp-w3"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    s.assign(id, Some("carol@example.com"), "alice@example.com")
        .await
        .unwrap();
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().owner.as_deref(),
        Some("carol@example.com")
    );
    s.assign(id, None, "carol@example.com").await.unwrap();
    assert_eq!(s.get_incident(id).await.unwrap().unwrap().owner, None);

    let first = s
        .add_note(id, "carol@example.com", "  rolled back to r41  ")
        .await
        .unwrap();
    assert_eq!(first.body, "rolled back to r41");
    s.add_note(id, "bob@example.com", "https://grafana.example/d/db")
        .await
        .unwrap();
    assert!(matches!(
        s.add_note(id, "bob@example.com", " \n ").await,
        Err(NoteError::Empty)
    ));
    let long = "x".repeat(NOTE_MAX_CHARS + 1);
    assert!(matches!(
        s.add_note(id, "bob@example.com", &long).await,
        Err(NoteError::TooLong(n)) if n == NOTE_MAX_CHARS + 1
    ));
    assert!(matches!(
        s.add_note(id + 1000, "bob@example.com", "hi").await,
        Err(NoteError::Store(incident_store::StoreError::NotFound(_)))
    ));
    // Notes are searched with the incident, the words found marked.
    let hits = s.search("rolled back", 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.incident.id).collect::<Vec<_>>(), [id]);
    assert!(
        hits[0].snippet.contains(&format!(
            "{}rolled{}",
            incident_store::MARK_START,
            incident_store::MARK_END
        )),
        "{:?}",
        hits[0].snippet
    );
    let notes = s.notes(id).await.unwrap();
    assert_eq!(
        notes
            .iter()
            .map(|n| (n.author.as_str(), n.link()))
            .collect::<Vec<_>>(),
        [
            ("carol@example.com", None),
            ("bob@example.com", Some("https://grafana.example/d/db"))
        ]
    );
    let actions: Vec<String> = s
        .audit_log(10)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| format!("{} {} {}", e.actor, e.action, e.result))
        .collect();
    assert_eq!(
        actions,
        [
            "alice@example.com incident.assign carol@example.com",
            "carol@example.com incident.assign (nobody)",
            &format!("carol@example.com incident.note note {}", first.id),
            &format!("bob@example.com incident.note note {}", first.id + 1),
        ]
    );
}

pub async fn the_workflow_follows_the_alert(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let r = rca("oom", "cart", "oom_killed", "cart OOMKilled", "3 restarts");
    let id = investigate(s, &firing("PodCrash", "cart", "fp-w4"), &r).await;
    s.move_incident(id, Move::Acknowledge, "alice@example.com")
        .await
        .unwrap();
    s.enqueue_alert(
        &alert("PodCrash", "cart", "fp-w4", AlertStatus::Resolved),
        "{}",
        HOUR,
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().workflow,
        Workflow::Resolved
    );
    let last = &s.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (last.actor.as_str(), last.result.as_str()),
        ("alertmanager", "acknowledged → resolved")
    );
    // Firing again within the dedup window reopens it.
    s.enqueue_alert(&firing("PodCrash", "cart", "fp-w4"), "{}", HOUR)
        .await
        .unwrap();
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().workflow,
        Workflow::Open
    );
    // A repeat notification of an alert that never resolved leaves what a
    // person set alone.
    s.move_incident(id, Move::Mitigate, "alice@example.com")
        .await
        .unwrap();
    s.enqueue_alert(&firing("PodCrash", "cart", "fp-w4"), "{}", HOUR)
        .await
        .unwrap();
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().workflow,
        Workflow::Mitigated
    );
}
