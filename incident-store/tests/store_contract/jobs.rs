//! The store's contract on the job queue: deduplication, idempotency,
//! leases and fencing, retries, remediations, and what a reader may do.

use std::time::Duration;

use incident_store::{
    Backend, Enqueued, IncidentStatus, RemediationStart, Request, Store, StoreError, StoreOptions,
};
use sre_orchestrator::alert::AlertStatus;
use sre_orchestrator::router::Category;

use super::*;

pub async fn dedup_within_window(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let a = firing("KubePodCrashLooping", "checkout", "fp-1");
    let first = s.enqueue_alert(&a, r#"{"raw":1}"#, HOUR).await.unwrap();
    let Enqueued::New {
        incident_id,
        job_id,
    } = first
    else {
        panic!("expected a new incident, got {first:?}")
    };
    assert!(job_id > 0);
    let again = s.enqueue_alert(&a, "{}", HOUR).await.unwrap();
    assert_eq!(again, Enqueued::Duplicate { incident_id });
    assert!(again.is_duplicate() && again.job_id().is_none());
    let other = s
        .enqueue_alert(&firing("KubePodCrashLooping", "cart", "fp-2"), "{}", HOUR)
        .await
        .unwrap();
    assert!(matches!(other, Enqueued::New { .. }));

    let inc = s.get_incident(incident_id).await.unwrap().unwrap();
    assert_eq!(inc.duplicates, 1);
    assert_eq!(inc.status, IncidentStatus::Queued);
    assert_eq!(inc.alert, a);
    assert!(!inc.on_demand);
    assert_eq!(
        s.raw_payload(incident_id).await.unwrap().as_deref(),
        Some(r#"{"raw":1}"#)
    );
    let counts = s.counts().await.unwrap();
    assert_eq!(counts.queued_jobs, 2);
    assert_eq!(counts.incidents_with(IncidentStatus::Queued), 2);

    // Outside the window (and with no window) the same alert is new again.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let later = s
        .enqueue_alert(&a, "{}", Duration::from_millis(30))
        .await
        .unwrap();
    assert!(matches!(later, Enqueued::New { .. }), "{later:?}");
    let no_window = s.enqueue_alert(&a, "{}", Duration::ZERO).await.unwrap();
    assert!(matches!(no_window, Enqueued::New { .. }));
    assert_eq!(s.counts().await.unwrap().queued_jobs, 4);
}

pub async fn resolved_updates_open_incident(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let a = firing("HighLatency", "payments", "fp-r");
    let done = investigate(s, &a, &rca("slow", "payments", "slow_query", "d", "e")).await;
    assert_eq!(
        s.get_incident(done).await.unwrap().unwrap().status,
        IncidentStatus::Done
    );

    let resolved = alert("HighLatency", "payments", "fp-r", AlertStatus::Resolved);
    let out = s.enqueue_alert(&resolved, "{}", HOUR).await.unwrap();
    assert_eq!(
        out,
        Enqueued::Resolved {
            incident_id: Some(done)
        }
    );
    let inc = s.get_incident(done).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert!(inc.resolved_at.is_some());
    assert!(inc.rca.is_some(), "the RCA stays");
    assert_eq!(
        s.counts().await.unwrap().queued_jobs,
        0,
        "no job for a resolution"
    );

    // Nothing open: nothing to resolve.
    let unknown = alert("X", "y", "fp-unknown", AlertStatus::Resolved);
    assert_eq!(
        s.enqueue_alert(&unknown, "{}", HOUR).await.unwrap(),
        Enqueued::Resolved { incident_id: None }
    );
    // Firing again within the window: a duplicate that reopens it.
    let again = s.enqueue_alert(&a, "{}", HOUR).await.unwrap();
    assert_eq!(again, Enqueued::Duplicate { incident_id: done });
    let inc = s.get_incident(done).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Done);
    assert!(inc.resolved_at.is_none());

    // Resolved while still queued: the investigation still runs, and the
    // incident ends resolved.
    let b = firing("DiskFull", "db", "fp-q");
    let queued = s
        .enqueue_alert(&b, "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    s.enqueue_alert(
        &alert("DiskFull", "db", "fp-q", AlertStatus::Resolved),
        "{}",
        HOUR,
    )
    .await
    .unwrap();
    let inc = s.get_incident(queued).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Queued);
    assert!(inc.resolved_at.is_some());
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    s.complete_job(&job, &rca("disk", "db", "disk_full", "d", "e"), &())
        .await
        .unwrap();
    assert_eq!(
        s.get_incident(queued).await.unwrap().unwrap().status,
        IncidentStatus::Resolved
    );
}

pub async fn idempotency_key(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let a = sre_orchestrator::alert::parse_command("service=checkout why 500s?").unwrap();
    let req = Request {
        idempotency_key: Some("Ev123".into()),
        requested_by: Some("U42".into()),
        reply_channel: Some("C1".into()),
        reply_thread: Some("1700000000.000100".into()),
        raw_payload: "text=service%3Dcheckout".into(),
    };
    let first = s.enqueue_request(&a, &req).await.unwrap();
    let Enqueued::New { incident_id, .. } = first else {
        panic!("{first:?}")
    };
    let retry = s.enqueue_request(&a, &req).await.unwrap();
    assert_eq!(retry, Enqueued::Duplicate { incident_id });
    // Without a key, and for the same alert, never deduplicated.
    let plain = Request::default();
    assert!(matches!(
        s.enqueue_request(&a, &plain).await.unwrap(),
        Enqueued::New { .. }
    ));
    assert!(matches!(
        s.enqueue_request(&a, &plain).await.unwrap(),
        Enqueued::New { .. }
    ));
    assert_eq!(s.counts().await.unwrap().queued_jobs, 3);

    let inc = s.get_incident(incident_id).await.unwrap().unwrap();
    assert!(inc.on_demand);
    assert_eq!(inc.requested_by.as_deref(), Some("U42"));
    assert_eq!(inc.reply_channel.as_deref(), Some("C1"));
    assert_eq!(inc.reply_thread.as_deref(), Some("1700000000.000100"));
    assert_eq!(inc.alert.question.as_deref(), Some("why 500s?"));
    assert_eq!(
        s.raw_payload(incident_id).await.unwrap().as_deref(),
        Some("text=service%3Dcheckout")
    );
}

pub async fn lease_expiry_and_fencing(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let id = s
        .enqueue_alert(&firing("OOM", "checkout", "fp-l"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let a = s
        .claim_job("worker-a", Duration::from_millis(500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.attempt, a.worker.as_str()), (1, "worker-a"));
    assert_eq!(a.incident.status, IncidentStatus::Investigating);
    assert!(
        s.claim_job("worker-b", HOUR).await.unwrap().is_none(),
        "held"
    );
    assert_eq!(s.counts().await.unwrap().running_jobs, 1);

    tokio::time::sleep(Duration::from_millis(600)).await;
    let b = s.claim_job("worker-b", HOUR).await.unwrap().unwrap();
    assert_eq!((b.id, b.attempt), (a.id, 2));

    // The stale worker can do nothing with the job any more.
    let r = rca("oom", "checkout", "oom_killed", "d", "e");
    for err in [
        s.complete_job(&a, &r, &()).await.unwrap_err(),
        s.renew_lease(&a, HOUR).await.unwrap_err(),
        s.fail_job(&a, "boom", true).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::LeaseLost { job_id, attempt: 1, .. } if *job_id == a.id),
            "{err}"
        );
    }
    let until = s.renew_lease(&b, Duration::from_secs(120)).await.unwrap();
    assert!(until > b.incident.created_at);
    s.complete_job(&b, &r, &serde_json::json!({"turns": 3}))
        .await
        .unwrap();
    // Exactly once: completing again fails too.
    assert!(matches!(
        s.complete_job(&b, &r, &()).await,
        Err(StoreError::LeaseLost { .. })
    ));
    let inc = s.get_incident(id).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Done);
    assert_eq!(inc.rca.as_ref(), Some(&r));
    assert_eq!(inc.category, Some(Category::Application));
    assert_eq!(
        s.transcript(id).await.unwrap(),
        Some(serde_json::json!({"turns": 3}))
    );
    let counts = s.counts().await.unwrap();
    assert_eq!((counts.queued_jobs, counts.running_jobs), (0, 0));
}

pub async fn attempts_run_out(backend: Backend) {
    let env = open(
        backend,
        StoreOptions {
            max_attempts: 2,
            retry_backoff: Duration::ZERO,
            ..options()
        },
    )
    .await;
    let s = &env.store;
    // Leases that expire every time: the job fails after max_attempts claims.
    let crashed = s
        .enqueue_alert(&firing("A", "svc", "fp-crash"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    for attempt in 1..=2 {
        let job = s
            .claim_job("w", Duration::from_millis(20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.attempt, attempt);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert!(s.claim_job("w", HOUR).await.unwrap().is_none());
    let inc = s.get_incident(crashed).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Failed);
    assert!(inc.error.unwrap().contains("timed out"));

    // Reported failures: retried while attempts remain, then failed.
    let failing = s
        .enqueue_alert(&firing("B", "svc", "fp-fail"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    assert!(s.fail_job(&job, "LLM timeout", true).await.unwrap());
    let inc = s.get_incident(failing).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Queued);
    assert_eq!(inc.error.as_deref(), Some("LLM timeout"));
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    assert_eq!(job.attempt, 2);
    assert!(!s.fail_job(&job, "LLM timeout again", true).await.unwrap());
    let inc = s.get_incident(failing).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Failed);
    assert!(s.claim_job("w", HOUR).await.unwrap().is_none());
    assert_eq!(
        s.counts()
            .await
            .unwrap()
            .incidents_with(IncidentStatus::Failed),
        2
    );

    // A retry waits for its backoff.
    let env = open(backend, options()).await;
    let s = &env.store;
    s.enqueue_alert(&firing("C", "svc", "fp-later"), "{}", HOUR)
        .await
        .unwrap();
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    assert!(s.fail_job(&job, "transient", true).await.unwrap());
    assert!(
        s.claim_job("w", HOUR).await.unwrap().is_none(),
        "backing off"
    );
    assert_eq!(s.counts().await.unwrap().queued_jobs, 1);
}

pub async fn remediation_runs_once(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let id = investigate(
        s,
        &firing("A", "cart", "fp-fix"),
        &rca("x", "cart", "oom_killed", "d", "e"),
    )
    .await;
    let args = serde_json::json!({"kind": "deployment", "name": "cart", "namespace": "shop"});
    assert_eq!(
        s.start_remediation(id, 1, "k8s.rollout_undo", &args, "U1")
            .await
            .unwrap(),
        RemediationStart::Started
    );
    // A double click, or the same click on another replica: not run again.
    let RemediationStart::Already(run) = s
        .start_remediation(id, 1, "k8s.rollout_undo", &args, "U2")
        .await
        .unwrap()
    else {
        panic!("a second claim of the same step must not start it")
    };
    assert_eq!(
        (run.approved_by.as_str(), run.status.as_str()),
        ("U1", "running")
    );
    assert_eq!(run.arguments, args);
    // Another step of the same incident is its own run.
    assert_eq!(
        s.start_remediation(id, 0, "k8s.scale", &args, "U2")
            .await
            .unwrap(),
        RemediationStart::Started
    );
    s.finish_remediation(id, 1, true, "rolled back to revision 3")
        .await
        .unwrap();
    s.finish_remediation(id, 0, false, "forbidden")
        .await
        .unwrap();
    let runs = s.remediation_runs(id).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.step, r.status.as_str(), r.result.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            (0, "failed", Some("forbidden")),
            (1, "succeeded", Some("rolled back to revision 3"))
        ]
    );
    assert!(runs[1].finished_at.is_some_and(|f| f >= runs[1].started_at));
    assert!(matches!(
        s.finish_remediation(id, 7, true, "x").await,
        Err(StoreError::NotFound(_))
    ));
    // A run cut short by a shutdown is marked interrupted, never retried; a
    // run that already has its result keeps it.
    assert_eq!(
        s.start_remediation(id, 2, "k8s.restart", &args, "U1")
            .await
            .unwrap(),
        RemediationStart::Started
    );
    assert!(s.interrupt_remediation(id, 2, "shut down").await.unwrap());
    assert!(!s.interrupt_remediation(id, 1, "shut down").await.unwrap());
    let runs = s.remediation_runs(id).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.step, r.status.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "failed"), (1, "succeeded"), (2, "interrupted")]
    );
    assert!(matches!(
        s.start_remediation(id, 2, "k8s.restart", &args, "U2").await,
        Ok(RemediationStart::Already(r)) if r.status == "interrupted"
    ));
}

pub async fn released_jobs_keep_their_retries(backend: Backend) {
    let env = open(
        backend,
        StoreOptions {
            max_attempts: 2,
            retry_backoff: Duration::ZERO,
            ..options()
        },
    )
    .await;
    let s = &env.store;
    let id = s
        .enqueue_alert(&firing("A", "svc", "fp-release"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    // Three shutdowns mid-investigation (a rolling deploy) ...
    let mut last = None;
    for attempt in 1..=3 {
        let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
        assert_eq!(job.attempt, attempt, "the fencing token still grows");
        assert_eq!(
            s.get_incident(id).await.unwrap().unwrap().status,
            IncidentStatus::Investigating
        );
        s.release_job(&job, "released: shutting down")
            .await
            .unwrap();
        assert_eq!(
            s.get_incident(id).await.unwrap().unwrap().status,
            IncidentStatus::Queued
        );
        last = Some(job);
    }
    // ... and a stale release is fenced off.
    assert!(matches!(
        s.release_job(&last.unwrap(), "late").await,
        Err(StoreError::LeaseLost { .. })
    ));
    // The job still has both of its real attempts.
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    assert!(s.fail_job(&job, "LLM timeout", true).await.unwrap());
    let job = s.claim_job("w", HOUR).await.unwrap().unwrap();
    assert!(!s.fail_job(&job, "LLM timeout again", true).await.unwrap());
    assert_eq!(
        s.get_incident(id).await.unwrap().unwrap().status,
        IncidentStatus::Failed
    );
}

/// `investigate` keeps what it found: a recorded investigation is a
/// finished incident that the next similar alert finds in memory, and it
/// leaves no job for a worker.
pub async fn recorded_investigations_are_memory(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let alert = firing("KubePodCrashLooping", "cart", "fp-laptop");
    let transcript = serde_json::json!({"steps": []});
    let id = s
        .record_investigation(
            &alert,
            &rca("cart OOM", "cart", "oom_killed", "d", "e"),
            &transcript,
        )
        .await
        .unwrap();
    let incident = s.get_incident(id).await.unwrap().unwrap();
    assert_eq!(incident.status, IncidentStatus::Done);
    assert_eq!(incident.rca.unwrap().root_cause.kind, "oom_killed");
    assert!(s.claim_job("w", HOUR).await.unwrap().is_none());
    let past = s
        .similar_incidents(&firing("KubePodCrashLooping", "cart", "fp-2"), 5)
        .await
        .unwrap();
    assert_eq!(
        past.iter()
            .map(|p| (p.incident_id, p.root_cause.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![(id, "oom_killed")]
    );
}

/// A reader that must not change a shared database: opened without
/// migrating, a store whose schema is behind is refused (and left as it
/// was); an up-to-date one opens.
pub async fn a_reader_never_migrates(backend: Backend) {
    let reader = StoreOptions {
        migrate: false,
        ..options()
    };
    let (url, _keep): (String, Box<dyn std::any::Any>) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("store.db").display());
            (url, Box::new(dir))
        }
        Backend::Postgres => {
            let cluster = support_pg::shared();
            (cluster.fresh_database().await, Box::new(cluster))
        }
    };
    let err = Store::connect_with(&url, reader.clone()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaBehind { have: 0, need } if need > 0),
        "{err}"
    );
    assert!(err.to_string().contains("serve"), "{err}");
    // Still nothing there: the refused reader migrated nothing.
    let again = Store::connect_with(&url, reader.clone()).await.unwrap_err();
    assert!(
        matches!(again, StoreError::SchemaBehind { have: 0, .. }),
        "{again}"
    );
    let writer = Store::connect_with(&url, options()).await.unwrap();
    let id = writer
        .enqueue_alert(&firing("A", "cart", "fp"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    writer.close().await;
    let s = Store::connect_with(&url, reader).await.unwrap();
    assert!(s.get_incident(id).await.unwrap().is_some());
}
