//! Tests of `locks`: who holds the lock the victims wait for.

use super::*;

#[test]
fn lock_errors_name_their_relation_and_ddl_its_table() {
    assert_eq!(
        relation_in("ERROR: canceling statement due to lock timeout (relation \"providers\")")
            .as_deref(),
        Some("providers")
    );
    assert_eq!(
        relation_in("CONTEXT: while updating tuple (0,1) in relation \"orders\"").as_deref(),
        Some("orders")
    );
    assert_eq!(
        relation_in("still waiting for RowExclusiveLock on relation 16384 of database 16401"),
        None
    );
    assert_eq!(
        locking_statement("ALTER TABLE providers ADD COLUMN archived_at text").as_deref(),
        Some("providers")
    );
    assert_eq!(
        locking_statement("CREATE INDEX idx_a ON public.orders (a)").as_deref(),
        Some("public.orders")
    );
    assert_eq!(locking_statement("SELECT * FROM providers"), None);
    // A migration's name in prose is no tool at work.
    assert_eq!(
        locking_statement("skipping migrations: already at version 42"),
        None
    );
    // Migration tools name the migration, not the table.
    for line in [
        r#"Migrating schema "public" to version "59 - add network token ref""#,
        "INFO  [alembic.runtime.migration] Running upgrade 3f2a1b -> 9c8d7e, add index",
        "  Applying orders.0042_add_status_index...",
        "Running Changeset: db/changelog/042-add-column.yaml::42::dev",
        r#"{"message": "Migrating schema \"public\" to version \"57 - add link\"", "level": "INFO"}"#,
        "   INFO  Running migrations.",
        "  2024_03_01_101500_add_provenance_to_items .................. RUNNING",
        "== 20240301101500-add-archived-flag: migrating =======",
        "info: Microsoft.EntityFrameworkCore.Migrations[20402] Applying migration '20240301101500_AddArchived'.",
        "2024/03/01 10:15:00 Start buffering 42/u add_archived_flag",
    ] {
        assert_eq!(locking_statement(line).as_deref(), Some(""), "{line}");
    }
    assert_eq!(
        session_user("2025-10-21 09:18:01.452 UTC [30112] cms_admin@cms STATEMENT:  ALTER TABLE articles ADD x int;")
            .as_deref(),
        Some("cms-admin")
    );
    assert_eq!(
        session_user("LOG:  duration: 5.1 ms user=billing_svc,db=billing,app=psql STATEMENT: x")
            .as_deref(),
        Some("billing-svc")
    );
    assert!(named_by("cms-admin-db-migrate", "cms-admin"));
    assert!(named_by("loanbook-flyway-v212", "flyway"));
    assert!(!named_by("flywheel-api", "flyway") && !named_by("loanbook-flyways", "flyway"));
    assert!(same_table("public.orders", "orders"));
    assert!(!same_table("orders", "order_items"));
}

fn signal(component: &str, kind: &'static str, detail: &str, at: &str) -> Signal {
    Signal {
        component: component.into(),
        kind,
        weight: 4.0,
        source: "test".into(),
        detail: detail.into(),
        at: at.parse().ok(),
    }
}

#[test]
fn statement_timeouts_during_lock_waits_are_victims_of_the_holder() {
    let mut world = World::default();
    world.pods.push(super::super::world::Pod {
        name: "review-api-migrate-5fm26".into(),
        owner: "review-api-migrate".into(),
        created: "2026-03-03T15:02:03Z".parse().ok(),
        ..Default::default()
    });
    let pack = EvidencePack {
        outputs: vec![logs_output(
            serde_json::json!({"pod": "review-api-migrate-5fm26"}),
            "== 20260302094500 AddPrivilegeBasisToDocuments: migrating ====",
        )],
        ..Default::default()
    };
    let mut signals = vec![
        signal(
            "review-pg",
            "lock_contention",
            "LOG: process 4242 still waiting for AccessShareLock on relation 16412 of database 16384",
            "2026-03-03T15:02:12Z",
        ),
        signal(
            "review-api",
            "new_error",
            "PG::QueryCanceled: ERROR:  canceling statement due to statement timeout",
            "2026-03-03T15:02:21Z",
        ),
        signal(
            "search-svc",
            "latency_regression",
            "p99 up 3x",
            "2026-03-03T15:02:30Z",
        ),
    ];
    let since = "2026-03-03T14:30:00Z".parse().unwrap();
    assert_eq!(
        attribute(&mut signals, &pack, &world, since)
            .map(|(holder, _)| holder)
            .as_deref(),
        Some("review-api-migrate")
    );
    let on_holder = signals
        .iter()
        .filter(|s| s.component == "review-api-migrate")
        .count();
    // The server's wait, the client's timeout, and the holder's own line.
    assert_eq!(on_holder, 3, "{signals:#?}");
    // Slowness that does not say it waited stays where it is.
    assert!(
        signals
            .iter()
            .any(|s| s.component == "search-svc" && s.kind == "latency_regression")
    );
    assert!(statement_timeout(
        "ERROR 3024 (HY000): Query execution was interrupted, maximum statement execution time exceeded"
    ));
    assert!(!statement_timeout("context deadline exceeded"));
}

fn logs_output(args: serde_json::Value, text: &str) -> super::super::collect::Output {
    super::super::collect::Output::test("k8s.logs", args, text)
}

/// PostgreSQL's own words (log_lock_waits, a `%m [%p] %u@%d/%a` prefix):
/// the holder is read from the waits, then who it is from its own lines.
#[test]
fn the_database_names_the_session_holding_row_locks() {
    let waits = "\
2026-11-29 20:15:32.000 UTC [48211] bidding@auction/bidding-engine LOG:  process 48211 still waiting for ShareLock on transaction 918220417 after 1000.040 ms
2026-11-29 20:15:32.000 UTC [48211] bidding@auction/bidding-engine DETAIL:  Process holding the lock: 47102. Wait queue: 48211, 48230.
2026-11-29 20:15:56.000 UTC [48214] bidding@auction/bidding-engine DETAIL:  Process holding the lock: 47102. Wait queue: 48214.
2026-11-29 20:16:02.000 UTC [48300] bidding@auction/bidding-engine DETAIL:  Process holding the lock: 48211. Wait queue: 48300.";
    assert_eq!(busiest_holder(waits).as_deref(), Some("47102"));
    assert_eq!(
        holder_pid(
            "DETAIL:  Process 9 waits for ShareLock on transaction 7; blocked by process 4410."
        ),
        Some("4410")
    );
    let own = "2026-11-29 20:15:03.000 UTC [47102] settlement@auction/settlement-export LOG:  duration: 2841.337 ms  statement: UPDATE lots SET settlement_batch_id = 'SB-1'";
    assert!(of_session(own, "47102") && !of_session(own, "4710"));
    assert_eq!(session_app(own).as_deref(), Some("settlement-export"));
    assert_eq!(
        session_app(
            "LOG:  duration: 5.1 ms user=billing_svc,db=billing,app=nightly_close STATEMENT: x"
        )
        .as_deref(),
        Some("nightly-close")
    );
    assert_eq!(
        session_app("[30112] cms_admin@cms STATEMENT:  ALTER TABLE"),
        None
    );

    // The collector: templates that show waits → the holder lines → that session's lines.
    let store = serde_json::json!({"namespace": "data", "pod": "auction-pg-0", "container": "pg", "mode": "patterns"});
    let templates = logs_output(
        store.clone(),
        "     70  <*> <*> UTC [<*>] bidding@auction/bidding-engine DETAIL: Process holding the lock: <*>. Wait queue: <*>.",
    );
    let reads = holder_reads(std::slice::from_ref(&templates));
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["grep"], HOLDER_GREP);
    assert_eq!(reads[0]["pod"], "auction-pg-0");
    assert!(
        holder_reads(&[logs_output(store, "     3  LOG: checkpoint starting: time")]).is_empty()
    );
    let sessions = session_reads(&[templates, logs_output(reads[0].clone(), waits)]);
    assert_eq!(sessions.len(), 1);
    let grep = sessions[0]["grep"].as_str().unwrap();
    let re = regex::Regex::new(&format!("(?i){grep}")).unwrap();
    assert!(re.is_match(own) && !re.is_match("[471020] x"), "{grep}");
}

/// The database shows the DDL queued for the lock but not whose session
/// it is (a `%m [%p]` prefix): the pod that began a migration just
/// before the first wait is named, on the table the database shows.
#[test]
fn a_migration_that_began_before_the_waits_holds_the_ddl_the_database_shows() {
    use super::super::world::{Pod, Service};
    let mut world = World::default();
    let labels: std::collections::BTreeMap<String, String> =
        [("app".to_string(), "shelf-pg".to_string())].into();
    world.services.push(Service {
        name: "shelf-pg".into(),
        namespace: "data".into(),
        selector: labels.clone(),
        ports: vec![("postgres".into(), 5432)],
        ..Default::default()
    });
    world.pods.push(Pod {
        name: "shelf-pg-0".into(),
        namespace: "data".into(),
        owner: "shelf-pg".into(),
        labels,
        created: "2026-01-10T08:00:00Z".parse().ok(),
        ..Default::default()
    });
    for (name, owner, created) in [
        (
            "catalog-migrate-7xk2p",
            "catalog-migrate",
            "2026-03-03T15:01:00Z",
        ),
        (
            "catalog-migrate-old-5dd",
            "catalog-migrate-old",
            "2026-03-03T15:09:00Z",
        ),
    ] {
        world.pods.push(Pod {
            name: name.into(),
            namespace: "shop".into(),
            owner: owner.into(),
            created: created.parse().ok(),
            ..Default::default()
        });
    }
    let store_log = "\
2026-03-03 15:02:10.000 UTC [48213] LOG:  process 48213 still waiting for AccessExclusiveLock on relation 16842 of database 16401 after 1000.112 ms
2026-03-03 15:02:10.000 UTC [48213] STATEMENT:  alter table \"shelves\" add column \"bay\" bigint null";
    let migration = "2026-03-03 15:01:07  2026_03_01_101500_add_bay_to_shelves .......... RUNNING";
    let pack = EvidencePack {
        outputs: vec![
            logs_output(serde_json::json!({"pod": "shelf-pg-0"}), store_log),
            logs_output(
                serde_json::json!({"pod": "catalog-migrate-old-5dd"}),
                migration,
            ),
            logs_output(
                serde_json::json!({"pod": "catalog-migrate-7xk2p"}),
                migration,
            ),
        ],
        ..Default::default()
    };
    let mut signals = vec![signal(
        "shelf-api",
        "lock_contention",
        "PG::LockNotAvailable: ERROR:  canceling statement due to lock timeout",
        "2026-03-03T15:02:04Z",
    )];
    let since = "2026-03-03T14:30:00Z".parse().unwrap();
    // The pod created after the first wait is not the holder; the one before is.
    assert_eq!(
        attribute(&mut signals, &pack, &world, since)
            .map(|(holder, _)| holder)
            .as_deref(),
        Some("catalog-migrate")
    );
    let holder = signals.iter().find(|s| s.source == "k8s.logs").unwrap();
    assert!(
        holder.detail.contains("DDL on shelves queued"),
        "{}",
        holder.detail
    );
    // Without the migration's log, the table is all the evidence names.
    let mut alone = vec![signal(
        "shelf-api",
        "lock_contention",
        "PG::LockNotAvailable: ERROR:  canceling statement due to lock timeout",
        "2026-03-03T15:02:04Z",
    )];
    let pack = EvidencePack {
        outputs: vec![logs_output(
            serde_json::json!({"pod": "shelf-pg-0"}),
            store_log,
        )],
        ..Default::default()
    };
    assert_eq!(
        attribute(&mut alone, &pack, &world, since)
            .map(|(holder, _)| holder)
            .as_deref(),
        Some("shelves")
    );
}

/// Flyway quotes the schema as its database does: `vt_pms` on MySQL.
#[test]
fn flyway_on_mysql_is_a_migration_at_work() {
    assert_eq!(
        locking_statement(
            "Migrating schema `vt_pms` to version \"2025.06.14.1 - widen folio charge amount\""
        )
        .as_deref(),
        Some("")
    );
    assert_eq!(
        locking_statement("Migrating schema \"public\" to version \"2 - add column\"").as_deref(),
        Some("")
    );
}

/// A date in a one-off Job's name is not the minute a CronJob scheduled it.
#[test]
fn a_dated_one_off_job_is_its_own_owner() {
    use super::super::world::job_owner;
    assert_eq!(
        job_owner("pms-schema-migrate-20250614"),
        "pms-schema-migrate-20250614"
    );
    assert_eq!(job_owner("report-builder-29164818"), "report-builder");
}

/// The Jobs listed when lock waits began: the one-off Job that started in
/// the minutes before the first wait, not the CronJob runs beside it; none
/// when two one-off Jobs did, or none started then.
#[test]
fn the_job_that_started_just_before_the_first_wait() {
    let jobs = |names: &[(&str, &str)]| {
        let lines: Vec<String> = names
            .iter()
            .map(|(n, t)| {
                format!(r#"{{"kind":"Job","metadata":{{"name":"{n}","creationTimestamp":"{t}"}}}}"#)
            })
            .collect();
        EvidencePack {
            outputs: vec![super::super::collect::Output::test(
                "k8s.list",
                serde_json::json!({"kind": "jobs"}),
                &lines.join("\n"),
            )],
            ..Default::default()
        }
    };
    let since: jiff::Timestamp = "2026-03-12T10:00:00Z".parse().expect("ts");
    let first = "2026-03-12T10:38:50Z".parse().ok();
    let pack = jobs(&[
        ("requisition-backfill-4411", "2026-03-12T10:38:13Z"),
        ("gdpr-erasure-29554680", "2026-03-12T10:30:00Z"),
        ("old-backfill", "2026-03-12T09:10:00Z"),
    ]);
    assert_eq!(
        job_started_before(&pack, since, first).as_deref(),
        Some("requisition-backfill-4411")
    );
    let two = jobs(&[
        ("backfill-a", "2026-03-12T10:38:13Z"),
        ("backfill-b", "2026-03-12T10:35:00Z"),
    ]);
    assert_eq!(job_started_before(&two, since, first), None);
    assert_eq!(job_started_before(&pack, since, None), None);
}

/// A client's lock timeout, in any of three databases' words, lists the
/// cluster's Jobs; the log template may be cut before the words its first
/// line keeps whole.
#[test]
fn a_clients_lock_timeout_lists_the_jobs() {
    let patterns = |template: &str, example: &str| {
        super::super::collect::Output::test(
            "signoz.log_patterns",
            serde_json::json!({}),
            &format!(
                "KIND    BASE  NOW  RATIO  FIRST     LAST      SERVICES       TEMPLATE\n\
                 NEW        0   32      -  18:24:55  18:41:17  order-service  {template}\n\n\
                 First line of each NEW/SURGED template in the window:\n\
                 NEW 18:24:55: {example}\n"
            ),
        )
    };
    let cut = patterns(
        "Request POST <*> failed — PessimisticLockingFailureException: could not execute statement [Lock … ution_policy)]",
        "Request POST /internal/orders failed — PessimisticLockingFailureException: could not execute statement [Lock wait timeout exceeded; try restarting transaction]",
    );
    assert!(jobs_read(&[cut], 20).is_some());
    let mssql = patterns(
        "Session timeout sweep failed — Microsoft.Data.SqlClient.SqlException: Lock request time out period exceeded.",
        "Session timeout sweep failed — Microsoft.Data.SqlClient.SqlException: Lock request time out period exceeded.",
    );
    assert!(jobs_read(&[mssql], 20).is_some());
    let other = patterns("Request failed — timeout", "Request failed — timeout");
    assert!(jobs_read(&[other], 20).is_none());
}
