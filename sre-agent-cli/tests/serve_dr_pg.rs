//! Backups, disaster recovery and the shared-cache question, on real
//! PostgreSQL clusters with `sre-agent serve` as real processes and the
//! Slack fake (docs/operations.md, "Backups and restore", "Disaster
//! recovery", "A shared cache?" quote the figures these tests print).
//!
//! * `backup_pg_dump_restore_serve_sees_everything`: a store with finished
//!   incidents (duplicates, a resolution) is dumped with `pg_dump -Fc` while
//!   `serve` runs, restored with `pg_restore` into a second, empty cluster,
//!   and a new `serve` on the copy shows every incident, RCA and job state
//!   unchanged, runs none of them again and queues new alerts after them.
//! * `failover_sync_replication_loses_nothing` and
//!   `failover_async_replication_rpo_is_the_lag`: a primary and a standby
//!   (`pg_basebackup -R`, streaming replication on loopback); `serve` A on
//!   the primary takes a stream of alerts; while jobs are queued and in
//!   flight the primary is stopped with `-m immediate` and A is SIGKILLed
//!   (the region is lost), the standby is promoted and `serve` B started on
//!   it; the alert sender (Alertmanager's part) retries what was not
//!   acknowledged, against B. Every alert ends with exactly one incident, one
//!   RCA and one Slack message; only the jobs A held are investigated twice.
//! * `two_replicas_tool_calls_per_incident`: how many tool calls two replicas
//!   on one store repeat for one incident (none: one replica investigates
//!   an incident), and how many a shared cache could save across incidents.
//!
//! Run with `--nocapture` to see the figures (lines starting `DR-FIGURES`,
//! `BACKUP-FIGURES`, `CACHE-FIGURES`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
// The throwaway PostgreSQL cluster of the store's tests, shared rather than copied.
mod support_dr;
#[path = "../../incident-store/tests/support_pg/mod.rs"]
mod support_pg;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use incident_store::{Incident, IncidentStatus, Store};
use mcp_slack::fake::{BOT_ID, FakeSlack};
use serde_json::Value;
use support::{http, wait_for};
use support_dr::replication::*;
use support_dr::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_pg_dump_restore_serve_sees_everything() {
    const ALERTS: usize = 8;
    let _drill = DRILL.lock().await;
    let started = Instant::now();
    let source = support_pg::shared();
    let db = source.fresh_database().await;
    let fake = FakeSlack::start().await.unwrap();
    let client = http();
    let mut a = serve(&db, &fake, "region-a", &[]);
    let store = Store::connect(&db).await.unwrap();

    // Incidents in every final state: done, done with duplicates, resolved.
    for i in 0..ALERTS {
        let fp = format!("backup-fp-{i}");
        post_alert(
            &client,
            &a.url(""),
            &fp,
            &format!("BackupAlert{i}"),
            "firing",
        )
        .await
        .expect("acknowledged");
        if i % 3 == 0 {
            post_alert(
                &client,
                &a.url(""),
                &fp,
                &format!("BackupAlert{i}"),
                "firing",
            )
            .await
            .expect("duplicate acknowledged");
        }
    }
    let done = wait_for(
        "every alert investigated on the source",
        Duration::from_secs(90),
        || {
            let store = store.clone();
            async move {
                let all = store.list_incidents(&all_incidents_filter()).await.unwrap();
                (all.len() == ALERTS && all.iter().all(|i| i.status == IncidentStatus::Done))
                    .then_some(all)
            }
        },
    )
    .await;
    let resolved = post_alert(
        &client,
        &a.url(""),
        "backup-fp-1",
        "BackupAlert1",
        "resolved",
    )
    .await
    .expect("resolution acknowledged");
    assert_eq!(resolved["results"][0]["result"]["outcome"], "resolved");
    let before = rows(&db).await;
    assert_eq!(before.incidents.len(), ALERTS);
    assert!(before.incidents.iter().any(|r| r.2 == "resolved"));
    assert!(
        before.incidents.iter().any(|r| r.3 > 0),
        "duplicates counted"
    );
    assert!(
        before
            .incidents
            .iter()
            .all(|r| r.4.is_some() && r.5.is_some())
    );
    assert!(before.jobs.iter().all(|j| j.2 == "done" && j.3 == 1));
    let posts_before = ok_posts(&fake);
    let updates_before = fake.calls_to("chat.update").len();

    // --- The backup: online, while A runs --------------------------------------
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("sre-agent.dump");
    let t_dump = Instant::now();
    client_tool(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            &db,
            "--file",
            dump.to_str().unwrap(),
        ],
    );
    let dump_ms = t_dump.elapsed().as_millis();
    let dump_bytes = std::fs::metadata(&dump).unwrap().len();
    assert!(
        a.terminate(Duration::from_secs(30)),
        "A stops:\n{}",
        a.log()
    );
    store.close().await;

    // --- The restore: into a new, empty database on another server --------------
    let target = support_pg::PgCluster::start();
    create_database(&target.url("postgres"), "sre_agent").await;
    let restored = target.url("sre_agent");
    let t_restore = Instant::now();
    client_tool(
        "pg_restore",
        &[
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            &restored,
            dump.to_str().unwrap(),
        ],
    );
    let restore_ms = t_restore.elapsed().as_millis();
    assert_eq!(rows(&restored).await, before, "the copy holds every row");

    // --- serve B on the copy ----------------------------------------------------
    let b = serve(&restored, &fake, "region-b", &[]);
    let portal = client
        .get(b.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for i in &done {
        assert!(portal.contains(&i.alert.name), "{} listed", i.alert.name);
        let page = client
            .get(b.url(&format!("/incidents/{}", i.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let rca = i.rca.as_ref().unwrap();
        assert!(
            page.contains("Root cause: ") && page.contains(&rca.root_cause.component),
            "incident {} shows its RCA",
            i.id
        );
    }
    // A new alert on B: queued after the restored ones (the identity
    // sequences came along), investigated, and the only job B runs.
    let fresh = post_alert(
        &client,
        &b.url(""),
        "after-restore",
        "AfterRestore",
        "firing",
    )
    .await
    .expect("acknowledged by B");
    let fresh_id = fresh["results"][0]["result"]["incident_id"]
        .as_i64()
        .unwrap();
    assert!(fresh_id > done.iter().map(|i| i.id).max().unwrap());
    let copy = Store::connect(&restored).await.unwrap();
    support::wait_done(&copy, fresh_id, Duration::from_secs(60)).await;
    let after = rows(&restored).await;
    assert_eq!(after.migrations, before.migrations);
    assert_eq!(
        &after.incidents[..ALERTS],
        &before.incidents[..],
        "restored incidents untouched"
    );
    assert_eq!(
        &after.jobs[..ALERTS],
        &before.jobs[..],
        "no restored job run again"
    );
    assert_eq!(
        metric(
            &client,
            &b,
            "sre_agent_investigations_total{outcome=\"done\"}"
        )
        .await,
        1,
        "B investigated only the new alert"
    );
    assert_eq!(investigated(&b.log()), vec![fresh_id]);
    assert_eq!(ok_posts(&fake), posts_before + 1, "one new Slack message");
    assert_eq!(fake.calls_to("chat.update").len(), updates_before + 1);
    eprintln!(
        "BACKUP-FIGURES incidents={ALERTS} dump_bytes={dump_bytes} pg_dump_ms={dump_ms} \
         pg_restore_ms={restore_ms} test_s={:.1}",
        started.elapsed().as_secs_f64()
    );
}

/// The two-region drill; `sync` sets `synchronous_standby_names`.
async fn failover_drill(sync: bool) {
    const TOTAL: usize = 30;
    const KILL_AFTER: usize = 10;
    let _drill = DRILL.lock().await;
    let started = Instant::now();
    let mode = if sync { "sync" } else { "async" };

    let mut primary = Node::primary().await;
    let p_admin = pool(&primary.url("postgres")).await;
    if sync {
        // Before the base backup, so the standby inherits it, as a standby
        // configured like its primary does.
        sqlx::query("ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'")
            .execute(&p_admin)
            .await
            .unwrap();
        sqlx::query("SELECT pg_reload_conf()")
            .execute(&p_admin)
            .await
            .unwrap();
    }
    let standby = Node::standby_of(&primary);
    wait_for("the standby streaming", Duration::from_secs(60), || {
        let p = p_admin.clone();
        async move {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT application_name, state, sync_state FROM pg_stat_replication",
            )
            .fetch_all(&p)
            .await
            .unwrap();
            rows.iter()
                .any(|(name, state, sync_state)| {
                    name == "standby1"
                        && state == "streaming"
                        && sync_state == if sync { "sync" } else { "async" }
                })
                .then_some(())
        }
    })
    .await;
    p_admin.close().await;

    let fake = FakeSlack::start().await.unwrap();
    let client = http();
    // Both replicas as one deployment would run them; the delay keeps jobs
    // queued and in flight when the region goes.
    let extra = ["--test-investigation-delay-ms", "700"];
    let mut a = serve(&primary.url("sre_agent"), &fake, "region-a", &extra);
    let p = pool_with(&primary.url("sre_agent"), Duration::from_secs(1)).await;
    let s = pool(&standby.url("sre_agent")).await;

    let target = Arc::new(Mutex::new((a.url(""), "A")));
    let acked: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = lag_sampler(p.clone(), s.clone(), Arc::clone(&acked), Arc::clone(&stop));
    let sender = alert_stream(
        TOTAL,
        Duration::from_millis(150),
        Arc::clone(&target),
        Arc::clone(&acked),
    );

    // --- Region A is lost while jobs are queued and in flight -------------------
    let at_kill = wait_for(
        "queued, running and done jobs on the primary",
        Duration::from_secs(60),
        || {
            let p = p.clone();
            let acked = Arc::clone(&acked);
            async move {
                let n = acked.lock().unwrap().len();
                let c = job_counts(&p).await;
                let has = |s: &str| c.get(s).copied().unwrap_or(0) > 0;
                (n >= KILL_AFTER && has("queued") && has("running") && has("done")).then_some(c)
            }
        },
    )
    .await;
    let t_kill = Instant::now();
    primary.stop_immediate();
    a.kill9();
    let acked_by_a: Vec<Ack> = acked.lock().unwrap().clone();
    assert!(acked_by_a.len() < TOTAL, "the region was lost mid-stream");
    assert!(acked_by_a.iter().all(|a| a.by == "A"));

    // --- Failover: promote the standby, start B on it ---------------------------
    standby
        .tool(
            "pg_ctl",
            &["-D", &standby.data(), "-w", "-t", "60", "promote"],
        )
        .unwrap();
    let t_promoted = Instant::now();
    if sync {
        // The promoted server inherited synchronous_standby_names: with no
        // standby of its own, every commit would wait forever.
        let inherited: String = sqlx::query_scalar("SHOW synchronous_standby_names")
            .fetch_one(&s)
            .await
            .unwrap();
        assert_eq!(inherited, "FIRST 1 (standby1)");
        sqlx::query("ALTER SYSTEM SET synchronous_standby_names = ''")
            .execute(&s)
            .await
            .unwrap();
        sqlx::query("SELECT pg_reload_conf()")
            .execute(&s)
            .await
            .unwrap();
    }
    let t_writable = Instant::now();
    let b = serve(&standby.url("sre_agent"), &fake, "region-b", &extra);
    let t_b_up = Instant::now();
    // (The sampler's last query to the lost primary ends at its pool's
    // connect timeout, 1 s.)
    stop.store(true, Ordering::SeqCst);
    let (samples, reported_lag_ms) = sampler.await.unwrap();
    // What survived: the acknowledged alerts the new primary has.
    let present: BTreeSet<String> = sqlx::query_scalar("SELECT fingerprint FROM incidents")
        .fetch_all(&s)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let lost: Vec<&Ack> = acked_by_a
        .iter()
        .filter(|a| !present.contains(&a.fingerprint))
        .collect();
    let confirmed = samples.last().map_or(0, |c| c.acked_before);
    assert!(
        lost.iter().all(|l| {
            acked_by_a
                .iter()
                .position(|a| a.fingerprint == l.fingerprint)
                .unwrap()
                >= confirmed
        }),
        "an alert acknowledged before the standby confirmed replaying it was lost: {lost:?}"
    );
    if sync {
        assert!(lost.is_empty(), "synchronous replication lost {lost:?}");
    }

    *target.lock().unwrap() = (b.url(""), "B");
    wait_for(
        "B's first finished investigation",
        Duration::from_secs(60),
        || {
            let client = client.clone();
            let b = &b;
            async move {
                (metric(
                    &client,
                    b,
                    "sre_agent_investigations_total{outcome=\"done\"}",
                )
                .await
                    > 0)
                .then_some(())
            }
        },
    )
    .await;
    let t_first = Instant::now();
    sender.await.unwrap();
    let store = Store::connect(&standby.url("sre_agent")).await.unwrap();
    let expected = TOTAL - lost.len();
    let done: Vec<Incident> =
        wait_for("every alert investigated", Duration::from_secs(120), || {
            let store = store.clone();
            async move {
                let all = store.list_incidents(&all_incidents_filter()).await.unwrap();
                (all.len() == expected && all.iter().all(|i| i.status == IncidentStatus::Done))
                    .then_some(all)
            }
        })
        .await;
    let t_all = Instant::now();

    // --- Nothing lost, nothing run twice beyond the jobs A held ------------------
    let acked_all: Vec<Ack> = acked.lock().unwrap().clone();
    assert_eq!(
        acked_all.len(),
        TOTAL,
        "every alert acknowledged in the end"
    );
    let fingerprints: BTreeSet<&str> = done.iter().map(|i| i.fingerprint.as_str()).collect();
    assert_eq!(fingerprints.len(), done.len(), "one incident per alert");
    for ack in acked_all
        .iter()
        .filter(|a| !lost.iter().any(|l| l.fingerprint == a.fingerprint))
    {
        assert!(
            fingerprints.contains(ack.fingerprint.as_str()),
            "{ack:?} has its incident"
        );
    }
    assert!(
        done.iter().all(|i| i.rca.is_some()),
        "every incident has its RCA"
    );
    let jobs: Vec<(i64, i64, String, i64, Option<String>)> =
        sqlx::query_as("SELECT id, incident_id, status, attempts, worker FROM jobs ORDER BY id")
            .fetch_all(&s)
            .await
            .unwrap();
    assert_eq!(jobs.len(), done.len());
    assert!(jobs.iter().all(|j| j.2 == "done" && j.3 <= 2), "{jobs:?}");
    let by_a: BTreeSet<i64> = jobs
        .iter()
        .filter(|j| j.4.as_deref().is_some_and(|w| w.starts_with("region-a/")))
        .map(|j| j.1)
        .collect();
    let by_b: BTreeSet<i64> = jobs
        .iter()
        .filter(|j| j.4.as_deref().is_some_and(|w| w.starts_with("region-b/")))
        .map(|j| j.1)
        .collect();
    assert_eq!(by_a.len() + by_b.len(), jobs.len());
    let b_started = investigated(&b.log());
    let b_set: BTreeSet<i64> = b_started.iter().copied().collect();
    assert_eq!(
        b_set.len(),
        b_started.len(),
        "B started no investigation twice"
    );
    assert_eq!(b_set, by_b, "B finished every job it started");
    assert_eq!(
        metric(
            &client,
            &b,
            "sre_agent_investigations_total{outcome=\"done\"}"
        )
        .await as usize,
        by_b.len()
    );
    assert!(b_set.is_disjoint(&by_a), "B re-ran nothing A had finished");
    // Taken over: jobs A held when the region went (claimed, not finished),
    // investigated again by B as a second attempt. At most A's concurrency.
    let taken_over: BTreeSet<i64> = jobs.iter().filter(|j| j.3 == 2).map(|j| j.1).collect();
    assert!(taken_over.len() <= 2, "A held at most 2 jobs: {jobs:?}");
    assert!(taken_over.is_subset(&by_b));
    // One Slack message per incident, carrying its RCA: a taken-over job
    // edits the message A posted.
    let bot_messages: Vec<Value> = fake
        .messages(CHANNEL)
        .into_iter()
        .filter(|m| m["bot_id"].as_str() == Some(BOT_ID))
        // The RCA's pictures follow in a message of their own.
        .filter(|m| m["subtype"] != "file_share")
        .collect();
    if lost.is_empty() {
        assert_eq!(
            ok_posts(&fake),
            done.len(),
            "one Slack message per incident"
        );
        assert_eq!(bot_messages.len(), done.len());
    }
    for i in &done {
        let ts = &i.slack.as_ref().expect("its Slack message").ts;
        let m = bot_messages
            .iter()
            .find(|m| m["ts"].as_str() == Some(ts.as_str()))
            .expect("the message exists");
        assert!(m["blocks"].to_string().contains("Root cause analysis"));
    }

    let max_replay = samples.iter().map(|c| c.replay_ms).fold(0f64, f64::max);
    let mut sorted: Vec<f64> = samples.iter().map(|c| c.replay_ms).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    eprintln!(
        "DR-FIGURES mode={mode} alerts={TOTAL} acked_by_a={} lost={} jobs_at_kill={at_kill:?} \
         lag_samples={} replay_lag_median_ms={median:.1} replay_lag_max_ms={max_replay:.1} \
         pg_stat_replication_replay_lag_max_ms={reported_lag_ms:.1} kill_to_promoted_ms={} \
         promoted_to_writable_ms={} promoted_to_b_listening_ms={} promoted_to_first_done_ms={} kill_to_all_done_ms={} \
         taken_over={} done_by_a={} done_by_b={} test_s={:.1}",
        acked_by_a.len(),
        lost.len(),
        samples.len(),
        (t_promoted - t_kill).as_millis(),
        (t_writable - t_promoted).as_millis(),
        (t_b_up - t_promoted).as_millis(),
        (t_first - t_promoted).as_millis(),
        (t_all - t_kill).as_millis(),
        taken_over.len(),
        by_a.len(),
        by_b.len(),
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_sync_replication_loses_nothing() {
    failover_drill(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_async_replication_rpo_is_the_lag() {
    failover_drill(false).await;
}

// --- Would a shared cache (Redis) save tool calls? ------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_tool_calls_per_incident() {
    const ALERTS: usize = 16;
    let _drill = DRILL.lock().await;
    let started = Instant::now();
    let cluster = support_pg::shared();
    let db = cluster.fresh_database().await;
    let fake = FakeSlack::start().await.unwrap();
    let client = http();
    let a = serve(&db, &fake, "replica-a", &[]);
    let b = serve(&db, &fake, "replica-b", &[]);
    let store = Store::connect(&db).await.unwrap();
    // An alert storm: distinct alerts on the same service, each sent to
    // both replicas (Alertmanager in HA sends every notification twice).
    for i in 0..ALERTS {
        for s in [&a, &b] {
            post_alert(
                &client,
                &s.url(""),
                &format!("cache-fp-{i}"),
                &format!("StormAlert{i}"),
                "firing",
            )
            .await
            .expect("acknowledged");
        }
    }
    let done = wait_for("every alert investigated", Duration::from_secs(120), || {
        let store = store.clone();
        async move {
            let all = store.list_incidents(&all_incidents_filter()).await.unwrap();
            (all.len() == ALERTS && all.iter().all(|i| i.status == IncidentStatus::Done))
                .then_some(all)
        }
    })
    .await;
    let p = pool(&db).await;
    let workers: BTreeMap<i64, (String, i64)> =
        sqlx::query_as::<_, (i64, String, i64)>("SELECT incident_id, worker, attempts FROM jobs")
            .fetch_all(&p)
            .await
            .unwrap()
            .into_iter()
            .map(|(i, w, n)| (i, (w, n)))
            .collect();
    assert!(
        workers.values().all(|(_, n)| *n == 1),
        "one attempt per job: {workers:?}"
    );

    // Each incident's tool calls, from its transcript.
    let mut per_incident: Vec<usize> = Vec::new();
    let mut within_repeats = 0usize;
    let mut all_keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut replica_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut tools: BTreeMap<String, usize> = BTreeMap::new();
    for i in &done {
        let t = store.transcript(i.id).await.unwrap().expect("transcript");
        let calls: Vec<String> = t["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "tool_call")
            .map(|e| format!("{} {}", e["tool"].as_str().unwrap(), e["args"]))
            .collect();
        let distinct: BTreeSet<&String> = calls.iter().collect();
        within_repeats += calls.len() - distinct.len();
        for c in &calls {
            *tools
                .entry(c.split(' ').next().unwrap().to_string())
                .or_default() += 1;
        }
        per_incident.push(calls.len());
        let replica = workers[&i.id].0.split('/').next().unwrap().to_string();
        for c in calls {
            *all_keys.entry(c.clone()).or_default() += 1;
            replica_keys.entry(replica.clone()).or_default().insert(c);
        }
    }
    let recorded: usize = per_incident.iter().sum();
    let mut made = 0u64;
    for s in [&a, &b] {
        made += metric(&client, s, "sre_agent_tool_call_duration_seconds_count").await;
    }
    assert!(recorded > 0);
    // Every call a replica made is in the transcript of the one incident it
    // investigated: no incident was investigated by both replicas.
    assert_eq!(
        made as usize, recorded,
        "tool calls made = tool calls recorded"
    );
    assert_eq!(replica_keys.len(), 2, "both replicas investigated");
    per_incident.sort_unstable();
    let distinct_all = all_keys.len();
    let distinct_per_replica: usize = replica_keys.values().map(BTreeSet::len).sum();
    eprintln!(
        "CACHE-FIGURES incidents={ALERTS} notifications={} tool_calls={recorded} \
         per_incident_min={} per_incident_median={} per_incident_max={} \
         repeated_across_replicas_same_incident={} repeated_within_one_incident={within_repeats} \
         distinct_calls_all_incidents={distinct_all} distinct_calls_per_replica_sum={distinct_per_replica} \
         test_s={:.1} tools={tools:?}",
        ALERTS * 2,
        per_incident[0],
        per_incident[per_incident.len() / 2],
        per_incident[per_incident.len() - 1],
        made as usize - recorded,
        started.elapsed().as_secs_f64()
    );
}
