//! Tests of `stores`.

use super::*;
use crate::engine::world::Pod;

fn signal(component: &str, kind: &'static str, detail: &str) -> Signal {
    Signal {
        component: component.into(),
        kind,
        weight: 5.0,
        source: "test".into(),
        detail: detail.into(),
        at: None,
    }
}

fn pg_world() -> World {
    let mut world = World::default();
    world.services.push(super::super::world::Service {
        name: "agro-pg-rw".into(),
        namespace: "agro-data".into(),
        selector: [("role".to_string(), "primary".to_string())].into(),
        ports: vec![("tcp".into(), 5432)],
        ..Default::default()
    });
    world.pods.push(Pod {
        name: "agro-pg-0".into(),
        owner: "agro-pg".into(),
        namespace: "agro-data".into(),
        ..Default::default()
    });
    world
}

fn db_call(caller: &str, errors: f64) -> Edge {
    Edge {
        caller: caller.into(),
        callee: "postgresql".into(),
        db: true,
        calls: 600.0,
        errors,
        server: Some("agro-pg-rw.agro-data.svc".into()),
        ..Default::default()
    }
}

fn at(t: &str) -> Option<jiff::Timestamp> {
    t.parse().ok()
}

/// A `ScalingReplicaSet` event of `workload`'s Deployment at `time`.
fn rolled_out(world: &mut World, workload: &str, namespace: &str, time: &str) {
    world.events.push(super::super::world::Event {
        kind_of_event: "Normal".into(),
        reason: "ScalingReplicaSet".into(),
        message: format!("Scaled up replica set {workload}-7d9 to 2"),
        object_kind: "Deployment".into(),
        object: workload.into(),
        namespace: namespace.into(),
        count: 1,
        first: at(time),
        last: at(time),
        host: None,
    });
}

#[test]
fn clients_refused_by_one_store_point_at_the_store() {
    let refused = "FATAL: password authentication failed for user \"agro_app\" (SQLSTATE 28P01)";
    let mut signals = vec![
        signal("soil-ingest", "credentials_expired", refused),
        signal("irrigation-planner", "credentials_expired", refused),
    ];
    let edges = [
        db_call("soil-ingest", 583.0),
        db_call("irrigation-planner", 522.0),
    ];
    let moved = shared_rejection(&mut signals, &edges, &EvidencePack::default(), &pg_world());
    assert_eq!(moved.len(), 2, "{moved:?}");
    // The Service's selector matches no pod: the workload it is named
    // after is the store.
    assert!(moved.iter().all(|(_, store)| store == "agro-pg"));
    let on_store: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.component == "agro-pg")
        .collect();
    assert_eq!(on_store.len(), 2);
    assert!(
        on_store[0]
            .detail
            .starts_with("2 clients are refused by agro-pg")
    );
    // Each client keeps a share, as a lead.
    assert!(
        signals
            .iter()
            .any(|s| s.component == "soil-ingest" && s.weight == 1.5)
    );
}

#[test]
fn one_refused_client_or_calls_that_do_not_fail_stay_with_the_client() {
    let refused = "FATAL: password authentication failed for user \"reports\"";
    let mut one = vec![signal("reports", "credentials_expired", refused)];
    let edges = [db_call("reports", 40.0), db_call("billing", 0.0)];
    assert!(shared_rejection(&mut one, &edges, &EvidencePack::default(), &pg_world()).is_empty());
    // Two refused clients, but only one's calls to the store fail.
    let mut two = vec![
        signal("reports", "credentials_expired", refused),
        signal(
            "billing",
            "credentials_expired",
            "401 from the payment provider",
        ),
    ];
    assert!(shared_rejection(&mut two, &edges, &EvidencePack::default(), &pg_world()).is_empty());
    assert!(two.iter().all(|s| s.component != "agro-pg"));
}

#[test]
fn a_full_claim_is_its_statefulsets_and_a_client_relays_it() {
    let mut world = World::default();
    world.services.push(super::super::world::Service {
        name: "rabbitmq".into(),
        ..Default::default()
    });
    world.pods.push(Pod {
        name: "media-db-0".into(),
        owner: "media-db".into(),
        claims: vec!["data-media-db-0".into()],
        ..Default::default()
    });
    world.pods.push(Pod {
        name: "uploader-7d9f8-abcde".into(),
        owner: "uploader".into(),
        ..Default::default()
    });
    assert_eq!(
        statefulset_of_claim("data-rabbitmq-0", &world).as_deref(),
        Some("rabbitmq")
    );
    assert_eq!(statefulset_of_claim("rabbitmq-data", &world), None);
    let edges = vec![Edge {
        caller: "uploader".into(),
        callee: "postgresql (db)".into(),
        db: true,
        err_pct: 40.0,
        p99_ms: Some(8.0),
        calls: 10.0,
        ..Default::default()
    }];
    let mut signals = vec![
        signal(
            "data-media-db-0",
            "volume_full",
            "k8s.volume.available near 0",
        ),
        signal(
            "uploader",
            "volume_full",
            "could not extend file: No space left on device",
        ),
    ];
    let moved = attribute(&mut signals, &edges, &EvidencePack::default(), &world, &[]);
    assert_eq!(signals[0].component, "media-db");
    assert_eq!(signals[1].component, "media-db");
    assert_eq!(
        moved,
        vec![("uploader".to_string(), "media-db".to_string())]
    );
}

#[test]
fn a_client_that_names_no_one_cannot_reach_its_one_troubled_store() {
    let mut world = World::default();
    for (name, owner) in [
        ("chat-redis-0", "chat-redis"),
        ("chat-svc-7d9f8-abcde", "chat-svc"),
    ] {
        world.pods.push(Pod {
            name: name.into(),
            owner: owner.into(),
            ..Default::default()
        });
    }
    let edges = vec![Edge {
        caller: "chat-svc".into(),
        callee: "redis (db)".into(),
        db: true,
        err_pct: 60.0,
        p99_ms: Some(11_000.0),
        calls: 100.0,
        ..Default::default()
    }];
    let unreachable = || {
        vec![signal(
            "chat-svc",
            "dependency_unreachable",
            "Reached the max retries per request limit (which is 20)",
        )]
    };
    let mut signals = unreachable();
    attribute(
        &mut signals,
        &edges,
        &EvidencePack::default(),
        &world,
        &["chat-svc".to_string()],
    );
    assert_eq!(signals[0].component, "chat-redis");
    // Not its own report (others' errors name it): it stays.
    let mut signals = unreachable();
    attribute(&mut signals, &edges, &EvidencePack::default(), &world, &[]);
    assert_eq!(signals[0].component, "chat-svc");
}

/// A client that cannot connect, whose troubled database calls name the
/// pooler in front of the database as their server, cannot reach the
/// pooler: not the database its system names.
#[test]
fn a_client_that_cannot_connect_cannot_reach_the_server_its_spans_name() {
    let mut world = World::default();
    for (pod, owner, ns, app) in [
        ("lending-postgres-0", "lending-postgres", "data", "postgres"),
        ("pgbouncer-7d9f8-abcde", "pgbouncer", "data", "pgbouncer"),
        (
            "circulation-api-5c6d7-xyz12",
            "circulation-api",
            "lending",
            "circulation-api",
        ),
    ] {
        world.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: ns.into(),
            labels: [("app".to_string(), app.to_string())].into(),
            ..Default::default()
        });
    }
    for (svc, port) in [("lending-postgres", 5432), ("pgbouncer", 6432)] {
        world.services.push(super::super::world::Service {
            name: svc.into(),
            namespace: "data".into(),
            selector: [(
                "app".to_string(),
                svc.trim_start_matches("lending-").to_string(),
            )]
            .into(),
            ports: vec![("tcp".into(), port)],
            ..Default::default()
        });
    }
    let edges = vec![Edge {
        caller: "circulation-api".into(),
        callee: "postgresql (db)".into(),
        db: true,
        err_pct: 2.0,
        p99_ms: Some(3000.0),
        calls: 454.0,
        errors: 9.0,
        server: Some("pgbouncer.data.svc.cluster.local".into()),
        ..Default::default()
    }];
    let mut signals = vec![signal(
        "circulation-api",
        "dependency_unreachable",
        "django.db.utils.OperationalError: connection timeout expired",
    )];
    attribute(
        &mut signals,
        &edges,
        &EvidencePack::default(),
        &world,
        &["circulation-api".to_string()],
    );
    assert_eq!(signals[0].component, "pgbouncer");
}

#[test]
fn replication_timeouts_move_to_the_one_store_the_client_uses() {
    let mut world = World::default();
    for (name, owner) in [("mongo-0", "mongo"), ("orders-7d9f8-abcde", "orders")] {
        world.pods.push(Pod {
            name: name.into(),
            owner: owner.into(),
            ..Default::default()
        });
    }
    let edges = vec![
        Edge {
            caller: "orders".into(),
            callee: "mongodb (db)".into(),
            db: true,
            err_pct: 30.0,
            p99_ms: Some(5000.0),
            calls: 10.0,
            ..Default::default()
        },
        Edge {
            caller: "orders".into(),
            callee: "redis (db)".into(),
            db: true,
            err_pct: 0.0,
            p99_ms: Some(1.0),
            calls: 10.0,
            ..Default::default()
        },
    ];
    let mut signals = vec![
        signal(
            "orders",
            "replication_lag",
            "WriteConcernFailed: waiting for replication timed out",
        ),
        signal("orders", "new_error", "boom"),
    ];
    let moved = attribute(&mut signals, &edges, &EvidencePack::default(), &world, &[]);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].1, "mongo");
    assert_eq!(signals[0].component, "mongo");
    assert_eq!(signals[1].component, "orders");
    // Two candidate stores: the client keeps it.
    world.pods.push(Pod {
        name: "mongo-archive-0".into(),
        owner: "mongo-archive".into(),
        ..Default::default()
    });
    let mut signals = vec![signal(
        "orders",
        "replication_lag",
        "waiting for replication timed out",
    )];
    assert!(attribute(&mut signals, &edges, &EvidencePack::default(), &world, &[]).is_empty());
    assert_eq!(signals[0].component, "orders");
}

#[test]
fn a_pool_that_runs_dry_after_its_store_failed_is_the_stores_failure() {
    let mut world = World::default();
    for (name, owner) in [
        ("game-pg-0", "game-pg"),
        ("match-api-7d9f8-abcde", "match-api"),
    ] {
        world.pods.push(Pod {
            name: name.into(),
            owner: owner.into(),
            ..Default::default()
        });
    }
    // The one Service on PostgreSQL's port is the store.
    world.services.push(crate::engine::world::Service {
        name: "game-pg".into(),
        ports: vec![("tcp".into(), 5432)],
        ..Default::default()
    });
    let edges = vec![Edge {
        caller: "match-api".into(),
        callee: "postgresql (db)".into(),
        db: true,
        err_pct: 39.0,
        calls: 100.0,
        ..Default::default()
    }];
    let at = |t: &str| Some(t.parse::<jiff::Timestamp>().unwrap());
    let pool = || Signal {
        at: at("2025-12-20T19:35:00Z"),
        ..signal(
            "match-api",
            "connection_pool_exhausted",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms",
        )
    };
    let full = |when: &str| Signal {
        at: at(when),
        ..signal("game-pg", "volume_full", "k8s.volume.available 0")
    };
    let mut signals = vec![pool(), full("2025-12-20T19:31:00Z")];
    let pack = EvidencePack::default();
    let moved = pools_behind_failed_stores(&mut signals, &edges, &pack, &world);
    assert_eq!(
        moved,
        vec![("match-api".to_string(), "game-pg".to_string())]
    );
    assert!(signals[0].weight < 2.0, "{:?}", signals[0]);
    assert!(
        signals[0]
            .detail
            .starts_with("game-pg (volume_full) leaves")
    );
    // A store that failed only later, or not at all, leaves the pool
    // the client's own.
    let mut later = vec![pool(), full("2025-12-20T19:50:00Z")];
    assert!(pools_behind_failed_stores(&mut later, &edges, &pack, &world).is_empty());
    let mut healthy = vec![pool()];
    assert!(pools_behind_failed_stores(&mut healthy, &edges, &pack, &world).is_empty());
    assert_eq!(healthy[0].weight, pool().weight);
}

#[test]
fn a_client_relaying_its_callees_replication_error_points_at_the_callees_store() {
    let mut world = World::default();
    world.pods.push(Pod {
        name: "tickets-mongo-0".into(),
        owner: "tickets-mongo".into(),
        ..Default::default()
    });
    let edges = vec![
        Edge {
            caller: "checkout-api".into(),
            callee: "seat-hold".into(),
            err_pct: 27.0,
            calls: 100.0,
            ..Default::default()
        },
        Edge {
            caller: "checkout-api".into(),
            callee: "pricing".into(),
            calls: 100.0,
            ..Default::default()
        },
        Edge {
            caller: "seat-hold".into(),
            callee: "mongodb (db)".into(),
            db: true,
            err_pct: 22.0,
            calls: 100.0,
            ..Default::default()
        },
    ];
    let mut signals = vec![signal(
        "checkout-api",
        "replication_lag",
        r#"503: {"error":"hold write failed","reason":"waiting for replication timed out"}"#,
    )];
    let moved = attribute(&mut signals, &edges, &EvidencePack::default(), &world, &[]);
    assert_eq!(moved.len(), 1);
    assert_eq!(signals[0].component, "tickets-mongo");
    // Without the troubled hop there is no store to point at.
    let mut signals = vec![signal("checkout-api", "replication_lag", "x")];
    let quiet: Vec<Edge> = edges
        .iter()
        .cloned()
        .map(|e| Edge { err_pct: 0.0, ..e })
        .collect();
    assert!(attribute(&mut signals, &quiet, &EvidencePack::default(), &world, &[]).is_empty());
}

#[test]
fn clients_that_break_together_after_their_store_rolled_out_point_at_the_rollout() {
    let mut world = pg_world();
    rolled_out(&mut world, "agro-pg", "agro-data", "2026-12-08T10:14:40Z");
    let failing = |c: &str, t: &str| Signal {
        at: at(t),
        ..signal(
            c,
            "new_error",
            "26000: prepared statement \"_auto2\" does not exist",
        )
    };
    let edges = [
        db_call("soil-ingest", 80.0),
        db_call("irrigation-planner", 60.0),
    ];
    let mut signals = vec![
        failing("soil-ingest", "2026-12-08T10:15:01Z"),
        failing("irrigation-planner", "2026-12-08T10:15:07Z"),
    ];
    let moved = shared_rollout(&mut signals, &edges, &EvidencePack::default(), &world);
    assert_eq!(moved.len(), 2, "{signals:#?}");
    assert!(
        signals
            .iter()
            .any(|s| s.component == "agro-pg" && s.kind == "bad_deploy" && s.weight >= 5.0)
    );
    // Errors that began long after the rollout are no effect of it.
    let mut late = vec![
        failing("soil-ingest", "2026-12-08T11:15:01Z"),
        failing("irrigation-planner", "2026-12-08T11:15:07Z"),
    ];
    assert!(shared_rollout(&mut late, &edges, &EvidencePack::default(), &world).is_empty());
    // One client breaking after a rollout may be its own bug.
    let mut one = vec![failing("soil-ingest", "2026-12-08T10:15:01Z")];
    assert!(shared_rollout(&mut one, &edges[..1], &EvidencePack::default(), &world).is_empty());
}

/// One client's pool that ran dry minutes after the pooler or store its database calls
/// go through was rolled out is that rollout's doing, its kind kept; not when it ran dry
/// an hour later, when the client was rolled out too, or when the store itself failed.
#[test]
fn a_pool_that_ran_dry_after_its_store_rolled_out_points_at_the_store() {
    let mut world = pg_world();
    world.pods.push(Pod {
        name: "soil-ingest-5d8f-x2".into(),
        owner: "soil-ingest".into(),
        namespace: "farm".into(),
        ..Default::default()
    });
    rolled_out(&mut world, "agro-pg", "agro-data", "2026-12-08T10:14:40Z");
    let dry = |t: &str| Signal {
        at: at(t),
        ..signal(
            "soil-ingest",
            "connection_pool_exhausted",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms",
        )
    };
    let edges = [db_call("soil-ingest", 240.0)];
    let pack = EvidencePack::default();
    let mut signals = vec![dry("2026-12-08T10:17:00Z")];
    let moved = pools_after_store_rollout(&mut signals, &edges, &pack, &world);
    assert_eq!(
        moved,
        vec![("soil-ingest".to_string(), "agro-pg".to_string())]
    );
    assert_eq!(
        (signals[0].component.as_str(), signals[0].kind),
        ("agro-pg", "connection_pool_exhausted")
    );
    assert!(
        signals[0]
            .detail
            .starts_with("agro-pg was rolled out at 10:14")
    );
    // A weak copy stays with the client.
    assert!(
        signals
            .iter()
            .any(|s| s.component == "soil-ingest" && s.weight < 2.0)
    );

    let mut late = vec![dry("2026-12-08T11:17:00Z")];
    assert!(pools_after_store_rollout(&mut late, &edges, &pack, &world).is_empty());

    let mut failed = vec![
        dry("2026-12-08T10:17:00Z"),
        signal(
            "agro-pg",
            "volume_full",
            "could not extend file: No space left on device",
        ),
    ];
    assert!(pools_after_store_rollout(&mut failed, &edges, &pack, &world).is_empty());

    rolled_out(&mut world, "soil-ingest", "farm", "2026-12-08T10:12:00Z");
    let mut both = vec![dry("2026-12-08T10:17:00Z")];
    assert!(pools_after_store_rollout(&mut both, &edges, &pack, &world).is_empty());
}
