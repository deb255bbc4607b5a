//! The incident store's contract, run against both backends: SQLite in a
//! temporary folder and a real PostgreSQL (see `support_pg`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_pg;

use std::collections::BTreeMap;
use std::time::Duration;

use sre_orchestrator::alert::{
    ANN_SLACK_CHANNEL, ANN_SLACK_THREAD, Alert, AlertSource, AlertStatus,
};
use sre_orchestrator::rca::{Evidence, Mode, Rca, RootCause};
use sre_orchestrator::router::Category;
use sre_orchestrator::store::{
    Backend, Enqueued, IncidentFilter, IncidentStatus, RemediationStart, Request, Store,
    StoreError, StoreOptions, Verdict,
};

const HOUR: Duration = Duration::from_secs(3600);

/// A connected store and whatever keeps its database alive.
struct Env {
    store: Store,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn open(backend: Backend, options: StoreOptions) -> Env {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("store.db").display());
            let store = Store::connect_with(&url, options).await.unwrap();
            Env {
                store,
                _keep: Box::new(dir),
            }
        }
        Backend::Postgres => {
            let cluster = support_pg::shared();
            let url = cluster.fresh_database().await;
            let store = Store::connect_with(&url, options).await.unwrap();
            assert_eq!(store.backend(), Backend::Postgres);
            Env {
                store,
                _keep: Box::new(cluster),
            }
        }
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    }
}

fn alert(name: &str, service: &str, fingerprint: &str, status: AlertStatus) -> Alert {
    Alert {
        source: AlertSource::Alertmanager,
        name: name.into(),
        status,
        severity: Some("critical".into()),
        service: Some(service.into()),
        namespace: Some("shop".into()),
        summary: format!("{name} on {service}"),
        description: None,
        labels: BTreeMap::from([("alertname".into(), name.into())]),
        annotations: BTreeMap::new(),
        starts_at: None,
        fingerprint: fingerprint.into(),
        link: None,
        question: None,
        lookback_secs: None,
    }
}

fn firing(name: &str, service: &str, fingerprint: &str) -> Alert {
    alert(name, service, fingerprint, AlertStatus::Firing)
}

fn rca(summary: &str, component: &str, kind: &str, description: &str, evidence: &str) -> Rca {
    Rca {
        summary: summary.into(),
        category: Category::Application,
        root_cause: RootCause {
            component: component.into(),
            kind: kind.into(),
            description: description.into(),
        },
        alternatives: vec![],
        confidence: 0.8,
        evidence: vec![Evidence {
            source: "k8s.workload_health".into(),
            detail: evidence.into(),
            link: None,
        }],
        timeline: vec![],
        remediation: vec![],
        affected_services: vec![component.into()],
        data_gaps: vec![],
        mode: Mode::Deterministic,
        incomplete: None,
    }
}

/// Enqueues, claims and completes one alert; returns the incident id.
async fn investigate(store: &Store, alert: &Alert, rca: &Rca) -> i64 {
    let id = store
        .enqueue_alert(alert, "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let job = store.claim_job("w", HOUR).await.unwrap().unwrap();
    assert_eq!(job.incident.id, id);
    store
        .complete_job(&job, rca, &serde_json::json!({"steps": []}))
        .await
        .unwrap();
    id
}

async fn dedup_within_window(backend: Backend) {
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

async fn resolved_updates_open_incident(backend: Backend) {
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

async fn idempotency_key(backend: Backend) {
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

async fn lease_expiry_and_fencing(backend: Backend) {
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

async fn attempts_run_out(backend: Backend) {
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

async fn slack_message_bookkeeping(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let id = s
        .enqueue_alert(&firing("A", "svc", "fp-s"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    assert_eq!(s.slack_message(id).await.unwrap(), None);
    let job = s
        .claim_job("w", Duration::from_millis(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.incident.slack, None);
    let posted = s.set_slack_message(id, "C1", "111.1", None).await.unwrap();
    assert_eq!(
        (posted.channel.as_str(), posted.ts.as_str()),
        ("C1", "111.1")
    );
    // The permalink, learnt later, is added to the same message.
    let linked = s
        .set_slack_message(id, "C1", "111.1", Some("https://x.slack.com/p111"))
        .await
        .unwrap();
    assert_eq!(
        linked.permalink.as_deref(),
        Some("https://x.slack.com/p111")
    );
    // A second message does not replace the first: the caller learns which.
    let kept = s.set_slack_message(id, "C1", "222.2", None).await.unwrap();
    assert_eq!(kept, linked);
    // The retried job sees the message to update.
    tokio::time::sleep(Duration::from_millis(40)).await;
    let retry = s.claim_job("w2", HOUR).await.unwrap().unwrap();
    assert_eq!(retry.incident.slack, Some(linked));
    assert!(matches!(
        s.set_slack_message(999_999, "C", "1", None).await,
        Err(StoreError::NotFound(999_999))
    ));
}

async fn search_and_list(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let tls = investigate(
        s,
        &firing("ProbeFailure", "payments", "fp-tls"),
        &rca(
            "Payments gateway unreachable",
            "payments-gateway",
            "certificate_expired",
            "The gateway's TLS certificate expired at 02:00.",
            "x509: certificate has expired or is not yet valid",
        ),
    )
    .await;
    let oom = investigate(
        s,
        &firing("KubePodCrashLooping", "checkout", "fp-oom"),
        &rca(
            "Checkout pods OOM-killed",
            "checkout",
            "oom_killed",
            "Memory limit 256Mi is below the working set.",
            "container checkout terminated: OOMKilled",
        ),
    )
    .await;
    s.enqueue_alert(&firing("HighErrorRate", "cart", "fp-q"), "{}", HOUR)
        .await
        .unwrap();

    let ids =
        |v: Vec<sre_orchestrator::store::Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    // A word of the RCA (stemmed: "expiring" finds "expired").
    assert_eq!(ids(s.search("certificate", 10).await.unwrap()), [tls]);
    assert_eq!(ids(s.search("expiring", 10).await.unwrap()), [tls]);
    assert_eq!(ids(s.search("memory limit", 10).await.unwrap()), [oom]);
    assert_eq!(ids(s.search("checkout", 10).await.unwrap()), [oom]);
    assert_eq!(
        ids(s.search("x509 or OOMKilled", 10).await.unwrap()).len(),
        2
    );
    assert!(s.search("memory certificate", 10).await.unwrap().is_empty());
    assert!(s.search("nothingmatcheshere", 10).await.unwrap().is_empty());
    // User input is never query syntax.
    assert!(s.search("\"*(:-) AND NEAR", 10).await.unwrap().is_empty());
    assert!(s.search("  ", 10).await.unwrap().is_empty());

    let all = s.list_incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].id > all[2].id, "newest first");
    let only = |f: IncidentFilter| async move { ids(s.list_incidents(&f).await.unwrap()) };
    assert_eq!(
        only(IncidentFilter {
            service: Some("checkout".into()),
            ..Default::default()
        })
        .await,
        [oom]
    );
    assert_eq!(
        only(IncidentFilter {
            status: Some(IncidentStatus::Done),
            category: Some(Category::Application),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        only(IncidentFilter {
            status: Some(IncidentStatus::Queued),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    assert_eq!(
        only(IncidentFilter {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await,
        [oom]
    );
    assert!(
        only(IncidentFilter {
            since: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    // The router's category, before any RCA.
    let queued = all[0].id;
    s.set_category(queued, Category::Network).await.unwrap();
    assert_eq!(
        only(IncidentFilter {
            category: Some(Category::Network),
            ..Default::default()
        })
        .await,
        [queued]
    );
}

async fn memory_prefers_confirmed(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let name = "HighErrorRate";
    let wrong = investigate(
        s,
        &firing(name, "checkout", "fp-1"),
        &rca(
            "DNS failure",
            "coredns",
            "dns_failure",
            "NXDOMAIN for the payments host",
            "e",
        ),
    )
    .await;
    let unjudged = investigate(
        s,
        &firing(name, "checkout", "fp-2"),
        &rca(
            "Pods OOM-killed",
            "checkout",
            "oom_killed",
            "memory limit",
            "e",
        ),
    )
    .await;
    let confirmed = investigate(
        s,
        &firing(name, "checkout", "fp-3"),
        &rca(
            "Bad deploy v2.3.1",
            "checkout",
            "bad_deploy",
            "null pointer in v2.3.1",
            "e",
        ),
    )
    .await;
    // Same words, other service and alert: found by text, ranked lower.
    let textual = investigate(
        s,
        &firing("LatencySLOBurn", "cart", "fp-4"),
        &rca(
            "checkout calls time out",
            "cart",
            "timeout",
            "error rate up on checkout calls",
            "e",
        ),
    )
    .await;
    let unrelated = investigate(
        s,
        &firing("DiskFull", "mongodb", "fp-5"),
        &rca("Disk full", "mongodb", "disk_full", "oplog grew", "e"),
    )
    .await;

    s.record_feedback(wrong, Verdict::Wrong, "alice", Some("it was the deploy"))
        .await
        .unwrap();
    s.record_feedback(confirmed, Verdict::Wrong, "bob", None)
        .await
        .unwrap();
    s.record_feedback(
        confirmed,
        Verdict::Confirmed,
        "carol",
        Some("rolled back, fixed"),
    )
    .await
    .unwrap();
    let fb = s.feedback(confirmed).await.unwrap();
    assert_eq!(fb.len(), 2);
    assert_eq!(
        (fb[1].verdict, fb[1].user.as_str()),
        (Verdict::Confirmed, "carol")
    );
    assert_eq!(fb[1].comment.as_deref(), Some("rolled back, fixed"));
    assert_eq!(
        s.get_incident(confirmed).await.unwrap().unwrap().verdict,
        Some(Verdict::Confirmed),
        "the latest verdict counts"
    );
    assert!(matches!(
        s.record_feedback(424_242, Verdict::Wrong, "x", None).await,
        Err(StoreError::NotFound(424_242))
    ));

    let now = firing(name, "checkout", "fp-now");
    let past = s.similar_incidents(&now, 10).await.unwrap();
    let order: Vec<i64> = past.iter().map(|p| p.incident_id).collect();
    assert_eq!(order, [confirmed, unjudged, textual, wrong], "{past:#?}");
    assert!(!order.contains(&unrelated));
    assert_eq!(past[0].verdict, Some(Verdict::Confirmed));
    assert_eq!(past[0].root_cause.kind, "bad_deploy");
    assert!(past[0].same_service && past[0].same_alert);
    assert!(!past[2].same_service && !past[2].same_alert);
    assert_eq!(past[3].verdict, Some(Verdict::Wrong));
    assert_eq!(past[3].root_cause.kind, "dns_failure");
    assert_eq!(s.similar_incidents(&now, 2).await.unwrap().len(), 2);
}

async fn runbooks(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("checkout.md"),
        "# Checkout OOM\n\nWhen checkout restarts.\n\n## Symptoms\nPods are OOMKilled.\n\n\
         ## Fix\nRaise the memory limit:\n```sh\n# not a heading\nkubectl set resources deploy/checkout --limits=memory=512Mi\n```\n",
    )
    .unwrap();
    std::fs::write(p.join("dns.md"), "Restart the DNS resolver pods.\n").unwrap();
    std::fs::create_dir_all(p.join("db")).unwrap();
    std::fs::write(
        p.join("db/mongo.markdown"),
        "# Mongo slow queries\n## Diagnose\nLook for a missing index with explain.\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.join(".git")).unwrap();
    std::fs::write(p.join(".git/ignored.md"), "# Hidden\nresolver\n").unwrap();
    std::fs::write(p.join("notes.txt"), "resolver memory index").unwrap();

    let report = s.index_runbooks(p).await.unwrap();
    assert_eq!(
        (
            report.added,
            report.updated,
            report.unchanged,
            report.removed
        ),
        (3, 0, 0, 0)
    );

    let hits = s.search_runbooks("memory limit", 5).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].title, "Checkout OOM");
    assert_eq!(hits[0].heading, "Fix");
    assert!(hits[0].path.ends_with("checkout.md"));
    assert!(
        hits[0].snippet.contains("**memory**"),
        "{}",
        hits[0].snippet
    );
    let dns = s.search_runbooks("resolver", 5).await.unwrap();
    assert_eq!(dns.len(), 1, "hidden folders and other files are skipped");
    assert_eq!(
        (dns[0].title.as_str(), dns[0].heading.as_str()),
        ("dns", "dns")
    );
    assert_eq!(
        s.search_runbooks("missing index", 5).await.unwrap()[0].heading,
        "Diagnose"
    );
    assert!(s.search_runbooks("", 5).await.unwrap().is_empty());

    // Re-indexing: unchanged files untouched, changes picked up, removals dropped.
    let same = s.index_runbooks(p).await.unwrap();
    assert_eq!(
        (same.added, same.updated, same.unchanged, same.removed),
        (0, 0, 3, 0)
    );
    std::fs::write(
        p.join("checkout.md"),
        "# Checkout OOM\n## Fix\nScale out the deployment.\n",
    )
    .unwrap();
    std::fs::remove_file(p.join("dns.md")).unwrap();
    std::fs::write(
        p.join("tls.md"),
        "# TLS\nRenew the certificate with cert-manager.\n",
    )
    .unwrap();
    let again = s.index_runbooks(&p.join(".")).await.unwrap();
    assert_eq!(
        (again.added, again.updated, again.unchanged, again.removed),
        (1, 1, 1, 1)
    );
    assert!(s.search_runbooks("memory", 5).await.unwrap().is_empty());
    assert!(s.search_runbooks("resolver", 5).await.unwrap().is_empty());
    assert_eq!(s.search_runbooks("scale out", 5).await.unwrap().len(), 1);
    assert_eq!(
        s.search_runbooks("certificate", 5).await.unwrap()[0].title,
        "TLS"
    );

    assert!(matches!(
        s.index_runbooks(&p.join("missing")).await,
        Err(StoreError::Io { .. })
    ));
}

async fn audit_log(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    s.audit("U1", "remediation.approve", "incident/1", "approved")
        .await
        .unwrap();
    s.audit("agent", "remediation.run", "deploy/checkout", "ok")
        .await
        .unwrap();
    s.audit("U2", "remediation.reject", "incident/2", "rejected")
        .await
        .unwrap();
    let log = s.audit_log(2).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "remediation.reject");
    assert_eq!(
        (
            log[1].actor.as_str(),
            log[1].target.as_str(),
            log[1].result.as_str()
        ),
        ("agent", "deploy/checkout", "ok")
    );
    assert!(log[0].id > log[1].id && log[0].at >= log[1].at);
    assert_eq!(s.audit_log(10).await.unwrap().len(), 3);
}

async fn slack_thread_lookup(backend: Backend) {
    let env = open(backend, options()).await;
    let s = &env.store;
    // An alert posted in Slack: answered (and found) in its own thread.
    let mut in_slack = firing("A", "svc", "fp-thread");
    in_slack
        .annotations
        .insert(ANN_SLACK_CHANNEL.into(), "C9".into());
    in_slack
        .annotations
        .insert(ANN_SLACK_THREAD.into(), "500.5".into());
    let posted = s
        .enqueue_alert(&in_slack, "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let incident = s.get_incident(posted).await.unwrap().unwrap();
    assert_eq!(
        (
            incident.reply_channel.as_deref(),
            incident.reply_thread.as_deref()
        ),
        (Some("C9"), Some("500.5"))
    );
    // A webhook alert: found by the RCA message the bot posted.
    let hooked = s
        .enqueue_alert(&firing("B", "svc", "fp-hook"), "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    s.set_slack_message(hooked, "C1", "700.7", None)
        .await
        .unwrap();
    let by = |c: &'static str, t: &'static str| async move {
        s.incident_by_slack_thread(c, t)
            .await
            .unwrap()
            .map(|i| i.id)
    };
    assert_eq!(by("C9", "500.5").await, Some(posted));
    assert_eq!(by("C1", "700.7").await, Some(hooked));
    // The same ts in another channel is another thread.
    assert_eq!(by("C2", "700.7").await, None);
    assert_eq!(by("C9", "700.7").await, None);
}

async fn remediation_runs_once(backend: Backend) {
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

async fn released_jobs_keep_their_retries(backend: Backend) {
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

/// Each contract test, once per backend.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// `investigate` keeps what it found: a recorded investigation is a
/// finished incident that the next similar alert finds in memory, and it
/// leaves no job for a worker.
async fn recorded_investigations_are_memory(backend: Backend) {
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
async fn a_reader_never_migrates(backend: Backend) {
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

contract!(
    recorded_investigations_are_memory,
    a_reader_never_migrates,
    dedup_within_window,
    resolved_updates_open_incident,
    idempotency_key,
    lease_expiry_and_fencing,
    attempts_run_out,
    slack_message_bookkeeping,
    search_and_list,
    memory_prefers_confirmed,
    runbooks,
    audit_log,
    slack_thread_lookup,
    remediation_runs_once,
    released_jobs_keep_their_retries,
);

// --- SQLite specifics --------------------------------------------------------

#[tokio::test]
async fn sqlite_file_is_created_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/store.db");
    let url = format!("sqlite://{}", path.display());
    let id = {
        let s = Store::connect(&url).await.unwrap();
        assert_eq!(s.backend(), Backend::Sqlite);
        let id = s
            .enqueue_alert(&firing("A", "svc", "fp"), "{}", HOUR)
            .await
            .unwrap()
            .incident_id()
            .unwrap();
        s.close().await;
        id
    };
    assert!(path.is_file());
    // Reopening runs the migrations again (a no-op) and finds everything.
    let s = Store::connect(&url).await.unwrap();
    assert!(s.get_incident(id).await.unwrap().is_some());
    assert_eq!(
        s.enqueue_alert(&firing("A", "svc", "fp"), "{}", HOUR)
            .await
            .unwrap(),
        Enqueued::Duplicate { incident_id: id }
    );
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let s = Store::connect("sqlite::memory:").await.unwrap();
    s.enqueue_alert(&firing("A", "svc", "fp"), "{}", HOUR)
        .await
        .unwrap();
    assert!(s.claim_job("w", HOUR).await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_two_stores_on_one_file_do_not_double_queue() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let a = Store::connect(&url).await.unwrap();
    let b = Store::connect(&url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut new = 0;
            for n in 0..25 {
                let fp = format!("fp-{}", (n * 7 + i) % 10);
                if let Enqueued::New { .. } = store
                    .enqueue_alert(&firing("A", "svc", &fp), "{}", HOUR)
                    .await
                    .unwrap()
                {
                    new += 1;
                }
            }
            new
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 10);
    assert_eq!(a.counts().await.unwrap().queued_jobs, 10);
}

#[tokio::test]
async fn bad_urls_are_explained() {
    let err = Store::connect("mysql://root:secret@db/x")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`mysql`") && msg.contains("sqlite://"),
        "{msg}"
    );
    assert!(!msg.contains("secret"));
}
