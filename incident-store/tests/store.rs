//! The incident store's contract, run against both backends: SQLite in a
//! temporary folder and a real PostgreSQL (see `support_pg`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_contract;
mod support_pg;

use incident_store::{Backend, Enqueued, Store};

use store_contract::jobs::*;
use store_contract::records::*;
use store_contract::workflow::*;
use store_contract::{HOUR, firing};

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
    memory_names_what_fixed_it,
    runbooks,
    audit_log,
    slack_thread_lookup,
    remediation_runs_once,
    released_jobs_keep_their_retries,
    workflow_moves_and_refusals,
    concurrent_moves_have_one_winner,
    owners_and_notes,
    the_workflow_follows_the_alert,
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
