//! Two store replicas on one PostgreSQL, hammered concurrently: intake must
//! queue each alert once, and every job must be completed exactly once even
//! while workers steal each other's expired leases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_pg;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use incident_store::{Enqueued, IncidentFilter, IncidentStatus, Store, StoreError, StoreOptions};
use sre_orchestrator::alert::{Alert, AlertSource, AlertStatus};
use sre_orchestrator::rca::{Mode, Rca, RootCause};
use sre_orchestrator::router::Category;

const FINGERPRINTS: u64 = 40;
const TASKS_PER_STORE: u64 = 8;
const ALERTS_PER_TASK: u64 = 200;

fn alert(fingerprint: u64) -> Alert {
    Alert {
        source: AlertSource::Alertmanager,
        name: format!("Alert{fingerprint}"),
        status: AlertStatus::Firing,
        severity: None,
        service: Some(format!("svc-{}", fingerprint % 5)),
        namespace: None,
        summary: "load test".into(),
        description: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        starts_at: None,
        fingerprint: format!("fp-{fingerprint}"),
        link: None,
        question: None,
        lookback_secs: None,
    }
}

fn rca() -> Rca {
    Rca {
        summary: "done".into(),
        category: Category::Application,
        root_cause: RootCause {
            component: "svc".into(),
            kind: "bad_deploy".into(),
            description: "d".into(),
        },
        alternatives: vec![],
        confidence: 0.5,
        evidence: vec![],
        timeline: vec![],
        remediation: vec![],
        affected_services: vec![],
        data_gaps: vec![],
        mode: Mode::Deterministic,
        incomplete: None,
        figures: Default::default(),
    }
}

/// Claims one job and tries to complete it. A third of the claims take a
/// 1 ms lease and dawdle, so other workers steal them and the dawdler's
/// completion must be refused.
async fn work(
    store: &Store,
    worker: &str,
    short: bool,
    completed: &Mutex<HashMap<i64, u32>>,
    lost: &Mutex<u32>,
) -> bool {
    let lease = if short {
        Duration::from_millis(1)
    } else {
        Duration::from_secs(60)
    };
    let Some(job) = store.claim_job(worker, lease).await.unwrap() else {
        return false;
    };
    if short {
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    match store.complete_job(&job, &rca(), &()).await {
        Ok(()) => *completed.lock().unwrap().entry(job.id).or_default() += 1,
        Err(StoreError::LeaseLost { .. }) => *lost.lock().unwrap() += 1,
        Err(e) => panic!("complete: {e}"),
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_queue_once_and_complete_once() {
    let cluster = support_pg::shared();
    let url = cluster.fresh_database().await;
    let options = StoreOptions {
        // Stolen leases are attempts too; this test is about exclusivity.
        max_attempts: 10_000,
        retry_backoff: Duration::ZERO,
        max_connections: 8,
        migrate: true,
    };
    // Both replicas start (and migrate) at once, as a rollout would.
    let (a, b) = tokio::join!(
        Store::connect_with(&url, options.clone()),
        Store::connect_with(&url, options)
    );
    let stores = [a.unwrap(), b.unwrap()];

    let completed = Arc::new(Mutex::new(HashMap::<i64, u32>::new()));
    let lost = Arc::new(Mutex::new(0u32));
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for t in 0..TASKS_PER_STORE {
            let store = store.clone();
            let (completed, lost) = (completed.clone(), lost.clone());
            let worker = format!("replica{s}-task{t}");
            tasks.push(tokio::spawn(async move {
                let mut new = Vec::new();
                let mut seed = (s as u64 + 1) * 1_000_003 + t * 7919;
                for n in 0..ALERTS_PER_TASK {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let fp = (seed >> 33) % FINGERPRINTS;
                    match store
                        .enqueue_alert(&alert(fp), "{}", Duration::from_secs(3600))
                        .await
                        .unwrap()
                    {
                        Enqueued::New { job_id, .. } => new.push((fp, job_id)),
                        Enqueued::Duplicate { .. } => {}
                        other => panic!("{other:?}"),
                    }
                    if n.is_multiple_of(4) {
                        work(&store, &worker, seed.is_multiple_of(3), &completed, &lost).await;
                    }
                }
                new
            }));
        }
    }
    let mut queued: Vec<(u64, i64)> = Vec::new();
    for task in tasks {
        queued.extend(task.await.unwrap());
    }
    // Drain what is left (including leases stolen and not yet finished).
    let mut idle = 0;
    while idle < 20 {
        if work(&stores[0], "drain", false, &completed, &lost).await {
            idle = 0;
        } else {
            idle += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    // Each fingerprint queued exactly once.
    queued.sort();
    let fps: Vec<u64> = queued.iter().map(|(fp, _)| *fp).collect();
    assert_eq!(
        fps,
        (0..FINGERPRINTS).collect::<Vec<_>>(),
        "one job per fingerprint"
    );
    let incidents = stores[1]
        .list_incidents(&IncidentFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(incidents.len() as u64, FINGERPRINTS);
    let folded: u64 = incidents.iter().map(|i| i.duplicates).sum();
    assert_eq!(folded + FINGERPRINTS, 2 * TASKS_PER_STORE * ALERTS_PER_TASK);

    // Each job completed exactly once.
    let completed = completed.lock().unwrap().clone();
    assert_eq!(completed.len() as u64, FINGERPRINTS);
    assert!(
        completed.values().all(|&n| n == 1),
        "a job was completed twice: {completed:?}"
    );
    for (_, job_id) in &queued {
        assert!(completed.contains_key(job_id));
    }
    let counts = stores[0].counts().await.unwrap();
    assert_eq!((counts.queued_jobs, counts.running_jobs), (0, 0));
    assert_eq!(counts.incidents_with(IncidentStatus::Done), FINGERPRINTS);
    eprintln!(
        "{} stale completions refused (stolen leases)",
        lost.lock().unwrap()
    );
}
