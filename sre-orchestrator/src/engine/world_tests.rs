//! Tests of `world`: the cluster model read from the evidence.

use super::*;

/// A workload whose events name it a Rollout is read as one; any other
/// as a Deployment.
#[test]
fn argo_rollouts_are_known_by_their_events() {
    let mut world = World::default();
    for (kind, name, ns) in [
        ("Rollout", "listing-api", "listings"),
        ("Rollout", "listing-api", "listings"),
        ("Deployment", "pgpool", "listings"),
        ("Rollout", "web-ssr", "web"),
    ] {
        world.events.push(Event {
            object_kind: kind.into(),
            object: name.into(),
            namespace: ns.into(),
            ..Default::default()
        });
    }
    assert_eq!(world.workload_kind("listings", "listing-api"), "rollout");
    assert_eq!(world.workload_kind("listings", "pgpool"), "deployment");
    assert_eq!(world.workload_kind("listings", "web-ssr"), "deployment");
    assert_eq!(
        world.argo_rollouts("listings").collect::<Vec<_>>(),
        ["listing-api"]
    );
}

#[test]
fn replicaset_names_lose_their_hash() {
    assert_eq!(replicaset_owner("web-app-7shf7xcws6"), "web-app");
    assert_eq!(replicaset_owner("api-server"), "api-server");
}

#[test]
fn a_probed_url_reaches_the_backend_of_its_most_specific_ingress_path() {
    let ingress = serde_json::json!({
        "kind": "Ingress",
        "metadata": {"name": "ondemand", "namespace": "hpc"},
        "spec": {
            "defaultBackend": {"service": {"name": "fallback"}},
            "rules": [{"host": "ondemand.uni.example", "http": {"paths": [
                {"path": "/pun/sys/myjobs", "pathType": "Prefix", "backend": {"service": {"name": "job-composer"}}},
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "ood-portal"}}},
                {"path": "/status", "pathType": "Exact", "backend": {"service": {"name": "status"}}}
            ]}}, {"host": "*.tenants.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "tenant-web"}}}
            ]}}]
        }
    });
    let mut w = World {
        routes: ingress_routes(&ingress),
        ..World::default()
    };
    w.services.push(Service {
        name: "job-composer".into(),
        namespace: "hpc".into(),
        selector: BTreeMap::from([("app".to_string(), "composer".to_string())]),
        ..Default::default()
    });
    w.pods.push(Pod {
        name: "job-composer-7r56-gq".into(),
        owner: "job-composer".into(),
        namespace: "hpc".into(),
        labels: BTreeMap::from([("app".to_string(), "composer".to_string())]),
        ..Default::default()
    });
    let served = |host: &str, path: &str| w.served_by(host, path);
    assert_eq!(
        served("ondemand.uni.example", "/pun/sys/myjobs/list"),
        ["job-composer"]
    );
    assert_eq!(
        served("ondemand.uni.example", "/pun/sys/myjobs"),
        ["job-composer"]
    );
    // By whole path elements, not characters.
    assert_eq!(
        served("ondemand.uni.example", "/pun/sys/myjobsx"),
        ["ood-portal"]
    );
    assert_eq!(served("ondemand.uni.example", "/status"), ["status"]);
    assert_eq!(served("ondemand.uni.example", "/status/x"), ["ood-portal"]);
    assert_eq!(served("a.tenants.example", "/"), ["tenant-web"]);
    assert_eq!(served("a.b.tenants.example", "/"), ["fallback"]);
    assert_eq!(served("elsewhere.example", "/x"), ["fallback"]);
    assert!(
        World::default()
            .served_by("ondemand.uni.example", "/")
            .is_empty()
    );
}

#[test]
fn a_service_account_names_the_workloads_that_run_as_it() {
    let mut w = World::default();
    for (pod, owner, ns, sa) in [
        ("d-1", "dispatcher", "farm", "farm-dispatcher"),
        ("d-2", "dispatcher", "farm", "farm-dispatcher"),
        ("u-1", "farm-ui", "farm", "default"),
        ("o-1", "other", "slicing", "farm-dispatcher"),
    ] {
        w.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: ns.into(),
            service_account: sa.into(),
            ..Default::default()
        });
    }
    let who = "system:serviceaccount:farm:farm-dispatcher";
    assert_eq!(w.running_as(who), Some(vec!["dispatcher".to_string()]));
    assert_eq!(
        w.resolve(who).map(|(s, ws)| (s.is_none(), ws)),
        Some((true, vec!["dispatcher".to_string()]))
    );
    assert_eq!(w.running_as("system:serviceaccount:farm:nobody"), None);
    assert_eq!(w.running_as("jane@example.com"), None);
}

#[test]
fn a_cluster_dns_name_is_the_workload_behind_its_service() {
    let mut w = World::default();
    let labels = |app: &str| BTreeMap::from([("app".to_string(), app.to_string())]);
    for (pod, owner) in [("nats-0", "nats"), ("nats-1", "nats"), ("api-x", "api")] {
        w.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: "messaging".into(),
            labels: labels(owner),
            ..Default::default()
        });
    }
    w.services.push(Service {
        name: "nats".into(),
        namespace: "messaging".into(),
        selector: labels("nats"),
        ..Default::default()
    });
    let owner = |h: &str| w.cluster_dns_owner(h);
    assert_eq!(owner("nats.messaging.svc").as_deref(), Some("nats"));
    assert_eq!(
        owner("nats.messaging.svc.cluster.local:4222").as_deref(),
        Some("nats")
    );
    assert_eq!(owner("nats-0.nats.messaging.svc").as_deref(), Some("nats"));
    // Not the cluster's to claim: a bare or external name, an unknown Service.
    assert_eq!(owner("nats"), None);
    assert_eq!(owner("api.shipengine.com"), None);
    assert_eq!(owner("ghost.messaging.svc"), None);
}

#[test]
fn a_component_lives_in_the_one_namespace_its_objects_agree_on() {
    let mut w = World::default();
    for (pod, owner, ns) in [
        ("a-1", "api", "shop"),
        ("k-0", "kafka", "data"),
        ("x-1", "web", "a"),
        ("x-2", "web", "b"),
    ] {
        w.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: ns.into(),
            ..Default::default()
        });
    }
    w.policies.push(Policy {
        name: "kafka-clients".into(),
        namespace: "data".into(),
        ..Default::default()
    });
    assert_eq!(w.namespace_of("kafka"), Some("data"));
    assert_eq!(w.namespace_of("kafka-clients"), Some("data"));
    assert_eq!(w.namespace_of("api"), Some("shop"));
    // Two namespaces: no answer rather than a wrong one.
    assert_eq!(w.namespace_of("web"), None);
    assert_eq!(w.namespace_of("nothing"), None);
}

#[test]
fn the_one_store_of_a_system_near_its_client() {
    let mut w = World::default();
    let labels = |app: &str| BTreeMap::from([("app".to_string(), app.to_string())]);
    for (pod, owner, ns) in [
        ("playout-redis-0", "playout-redis", "playout"),
        ("carts-loader-x", "carts-loader", "playout"),
        ("cache-redis-0", "cache-redis", "web"),
    ] {
        w.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: ns.into(),
            labels: labels(owner),
            ..Default::default()
        });
    }
    for (svc, ns) in [("playout-redis", "playout"), ("cache-redis", "web")] {
        w.services.push(Service {
            name: svc.into(),
            namespace: ns.into(),
            selector: labels(svc),
            ports: vec![("redis".into(), 6379)],
            ..Default::default()
        });
    }
    // The client's own namespace first, though the cluster has two.
    assert_eq!(
        w.store_of_system("redis", "playout", "carts-loader")
            .as_deref(),
        Some("playout-redis")
    );
    // Elsewhere two stores answer: no guess.
    assert_eq!(w.store_of_system("redis", "billing", "invoicer"), None);
    // A store is not its own client's store.
    assert_eq!(w.store_of_system("redis", "playout", "playout-redis"), None);
    assert_eq!(
        w.store_of_system("postgresql", "playout", "carts-loader"),
        None
    );
}

#[test]
fn a_service_serves_the_system_its_pods_port_is_for() {
    // Port 80 named `http` in front of PgBouncer's 6432.
    let svc = Service {
        name: "pgbouncer".into(),
        ports: vec![("http".into(), 80)],
        target_ports: vec![6432],
        ..Default::default()
    };
    assert!(svc.serves("pgbouncer"));
    assert!(!svc.serves("postgresql") && !svc.serves("redis"));
    let named = Service {
        ports: vec![("pgbouncer".into(), 5433)],
        ..Default::default()
    };
    assert!(named.serves("pgbouncer"));
}

/// Calls denied both ways (an old cluster-wide egress allow-list and a
/// new ingress policy on the callee) are blamed on the newer policy: the
/// old one did not break them today.
#[test]
fn of_two_calico_policies_that_drop_a_call_the_newer_is_the_change() {
    let mut w = World::default();
    let labels = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
    for (pod, owner, ns, l) in [
        (
            "search-api-1",
            "search-api",
            "review",
            labels("app", "search-api"),
        ),
        (
            "opensearch-0",
            "opensearch",
            "search",
            labels("app.kubernetes.io/instance", "opensearch"),
        ),
    ] {
        w.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: ns.into(),
            labels: l,
            phase: "Running".into(),
            ..Default::default()
        });
        w.namespaces
            .insert(ns.into(), labels("kubernetes.io/metadata.name", ns));
    }
    let svc = Service {
        name: "opensearch".into(),
        namespace: "search".into(),
        selector: labels("app.kubernetes.io/instance", "opensearch"),
        ports: vec![("http".into(), 9200)],
        pod_ports: Some(vec![9200]),
        ..Default::default()
    };
    w.services.push(svc.clone());
    w.calico.push(crate::engine::calico::GlobalPolicy::from_value(&serde_json::json!({
        "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "allow-cluster-dns", "creationTimestamp": "2025-10-19T14:42:00Z"},
        "spec": {"order": 10, "selector": "all()", "types": ["Egress"],
                 "egress": [{"action": "Allow", "protocol": "UDP",
                             "destination": {"selector": "k8s-app == 'kube-dns'", "ports": [53]}}]}
    })));
    w.calico.push(crate::engine::calico::GlobalPolicy::from_value(&serde_json::json!({
        "kind": "NetworkPolicy",
        "metadata": {"name": "opensearch-allow-indexers", "namespace": "search",
                     "creationTimestamp": "2026-11-03T14:21:31Z"},
        "spec": {"order": 100, "selector": "app.kubernetes.io/instance == 'opensearch'",
                 "types": ["Ingress"],
                 "ingress": [{"action": "Allow", "protocol": "TCP",
                              "source": {"selector": "app.kubernetes.io/name == 'index-writer'"}}]}
    })));
    let b = w.blocking_policy(&svc, "search-api").expect("a blocker");
    assert_eq!(
        (b.name.as_str(), b.namespace.as_str()),
        ("opensearch-allow-indexers", "search")
    );
    assert!(
        b.why("opensearch", "search-api").starts_with(
            "Calico NetworkPolicy opensearch-allow-indexers in namespace search drops"
        )
    );
}

/// Last week's finished runs of a CronJob are not unhealthy: tonight's
/// failed run is the one whose logs are read, though the older runs sort
/// first by name and a workload gets two pods.
#[test]
fn a_cronjobs_failed_run_is_read_before_its_finished_ones() {
    let run = |name: &str, phase: &str, exit: i64| Pod {
        name: name.into(),
        namespace: "reports".into(),
        owner: "weekly-mailer".into(),
        phase: phase.into(),
        created: "2026-10-26T06:00:00Z".parse().ok(),
        containers: vec![Container {
            name: "mailer".into(),
            terminated: Some(("x".into(), exit, String::new())),
            ..Default::default()
        }],
        ..Default::default()
    };
    let world = World {
        pods: vec![
            run("weekly-mailer-1-a", "Succeeded", 0),
            run("weekly-mailer-2-a", "Succeeded", 0),
            run("weekly-mailer-3-a", "Failed", 1),
        ],
        ..Default::default()
    };
    assert!(!world.pods[0].unhealthy());
    assert!(world.pods[2].unhealthy());
    let since = "2026-10-26T06:05:00Z".parse().unwrap();
    let read: Vec<String> = world
        .log_targets(None, since, 12)
        .into_iter()
        .map(|(_, pod, _, _)| pod)
        .collect();
    assert!(read.iter().all(|p| p == "weekly-mailer-3-a"), "{read:?}");
    assert!(!read.is_empty());
}
