//! Tests of `across`: what a blocking policy, a failed node, a noisy
//! neighbour or a certificate takes from its victims.

use super::*;
use crate::engine::world::Pod;

#[test]
fn a_failed_node_takes_the_unreachability_of_what_it_hosted() {
    let mut world = World::default();
    world.pods.push(Pod {
        name: "db-0".into(),
        owner: "db".into(),
        node: Some("worker-4".into()),
        ..Default::default()
    });
    let signal = |component: &str, kind: &'static str| Signal {
        component: component.into(),
        kind,
        weight: 4.0,
        source: "test".into(),
        detail: "x".into(),
        at: None,
    };
    let mut signals = vec![
        signal("worker-4", "node_failure"),
        signal("db", "dependency_unreachable"),
        signal("cache", "dependency_unreachable"),
        signal("db", "unschedulable"),
    ];
    attribute(&mut signals, &world);
    assert_eq!(signals[1].component, "worker-4");
    assert_eq!(signals[1].kind, "node_failure");
    // Its replacement, with no room left without the node.
    assert_eq!(signals[3].component, "worker-4");
    // Not hosted there: untouched.
    assert_eq!(signals[2].component, "cache");
    // A weak copy stays with the victim.
    let stays = signals.iter().find(|s| s.component == "db").unwrap();
    assert!((stays.weight - 4.0 * LEFT_BEHIND).abs() < 1e-9);
}

#[test]
fn a_failing_certificate_names_the_peer_of_hostless_handshake_errors() {
    let mut world = World::default();
    for (pod, owner) in [("allocator-0", "session-allocator"), ("mm-1", "matchmaker")] {
        world.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            ..Default::default()
        });
    }
    let signal = |component: &str| Signal {
        component: component.into(),
        kind: "certificate_expired",
        weight: 4.0,
        source: "test".into(),
        detail: "x".into(),
        at: None,
    };
    let mut signals = vec![signal("session-allocator-tls"), signal("matchmaker")];
    attribute(&mut signals, &world);
    assert_eq!(signals[0].component, "session-allocator");
    assert_eq!(signals[1].component, "session-allocator");
    assert!(
        signals
            .iter()
            .any(|s| s.component == "matchmaker" && s.weight < 4.0)
    );
    assert_eq!(certificate_owner("payments-tls", &world), None);
}

#[test]
fn a_public_host_name_is_the_certificate_that_covers_it() {
    use crate::engine::world::Certificate;
    let mut world = World::default();
    let cert = |name: &str, dns: &str, not_after: &str| Certificate {
        name: name.into(),
        namespace: "clubs".into(),
        dns_names: vec![dns.into()],
        not_after: not_after.parse().ok(),
        not_ready: None,
    };
    world.certificates = vec![
        cert(
            "staff-portal-tls",
            "staff.clubhub.example",
            "2026-10-01T00:00:00Z",
        ),
        cert(
            "public-api-tls",
            "api.clubhub.example",
            "2026-08-11T09:10:00Z",
        ),
        cert("wild-tls", "*.partners.example", "2026-09-01T00:00:00Z"),
    ];
    assert_eq!(
        covering_certificate("API.clubhub.example.", &world),
        Some("public-api-tls")
    );
    assert_eq!(
        covering_certificate("relay.partners.example", &world),
        Some("wild-tls")
    );
    assert_eq!(covering_certificate("a.b.partners.example", &world), None);
    assert_eq!(covering_certificate("partners.example", &world), None);
    let mut signals = vec![Signal {
        component: "api.clubhub.example".into(),
        kind: "certificate_expired",
        weight: 4.0,
        source: "test".into(),
        detail: "x509: certificate has expired".into(),
        at: None,
    }];
    certificates(&mut signals, &world);
    assert_eq!(signals[0].component, "public-api-tls");
    assert!(
        signals[0]
            .detail
            .starts_with("Certificate public-api-tls covers api.clubhub.example"),
        "{}",
        signals[0].detail
    );
}

#[test]
fn an_expired_certificate_is_found_on_the_service_its_dns_names_serve() {
    use crate::engine::world::{Certificate, Service};
    let mut world = World::default();
    for (pod, owner, app) in [
        ("gw-1", "smpp-gateway", "smpp"),
        ("router-1", "router", "router"),
    ] {
        world.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: "msg".into(),
            labels: [("app".to_string(), app.to_string())].into(),
            ..Default::default()
        });
    }
    world.services.push(Service {
        name: "smpp".into(),
        namespace: "msg".into(),
        selector: [("app".to_string(), "smpp".to_string())].into(),
        ..Default::default()
    });
    let now: jiff::Timestamp = "2026-11-18T07:00:00Z".parse().unwrap();
    let cert = |name: &str, not_after: &str| Certificate {
        name: name.into(),
        namespace: "msg".into(),
        // Named after nothing in the cluster: only its DNS names tell.
        dns_names: vec!["smpp.msg.svc.cluster.local".into()],
        not_after: not_after.parse().ok(),
        not_ready: Some("Ready=False Expired: Certificate has expired".into()),
    };
    world.certificates = vec![
        cert("edge-cert-2026", "2026-11-18T06:52:00Z"),
        // Still valid, renewal failing: not today's cause.
        cert("other-cert", "2026-12-30T00:00:00Z"),
    ];
    let mut signals = expired_certificates(&world, now, &[], &[]);
    assert_eq!(signals.len(), 1);
    // The alert's own endpoint (a probe of https://smpp.msg.svc…) weighs more.
    let own = expired_certificates(
        &world,
        now,
        &["smpp.msg.svc.cluster.local".to_string()],
        &[],
    );
    assert!(own[0].weight > signals[0].weight, "{}", own[0].detail);
    assert!(
        own[0].detail.contains("the alert's own endpoint"),
        "{}",
        own[0].detail
    );
    // So does one on the Ingress host that routes to the alert's service.
    world.routes.push(crate::engine::objects::IngressRoute {
        namespace: "msg".into(),
        host: Some("smpp.msg.svc.cluster.local".into()),
        path: "/".into(),
        service: "smpp".into(),
        ..Default::default()
    });
    let fronting = world.hosts_in_front_of("smpp-gateway");
    assert_eq!(fronting, ["smpp.msg.svc.cluster.local"]);
    assert!(world.hosts_in_front_of("router").is_empty());
    let in_front = expired_certificates(&world, now, &[], &fronting);
    assert_eq!(in_front[0].weight, own[0].weight);
    assert!(
        in_front[0]
            .detail
            .contains("in front of the alert's service"),
        "{}",
        in_front[0].detail
    );
    assert!(
        signals[0]
            .detail
            .contains("expired at 2026-11-18T06:52:00Z")
    );
    // cert-manager's reason on a CertificateRequest of that Certificate,
    // and the client's hostless handshake error.
    signals.push(Signal {
        component: "edge-cert-2026-5".into(),
        kind: "missing_config",
        weight: 4.0,
        source: "k8s.events".into(),
        detail: "secrets \"ca-keypair\" not found".into(),
        at: "2026-11-03T07:00:00Z".parse().ok(),
    });
    signals.push(Signal {
        component: "router".into(),
        kind: "certificate_expired",
        weight: 4.0,
        source: "test".into(),
        detail: "x509: certificate has expired".into(),
        at: None,
    });
    attribute(&mut signals, &world);
    let on = |c: &str| {
        signals
            .iter()
            .filter(|s| s.component == c && s.weight >= 4.0)
            .count()
    };
    // The workload behind the Service presents it.
    assert_eq!(on("smpp-gateway"), 3, "{signals:#?}");
    // The renewal failures say why, not when: they do not date the cause.
    assert!(
        signals
            .iter()
            .filter(|s| s.component == "smpp-gateway" && s.source == "k8s.events")
            .all(|s| s.at.is_none() && s.kind == "certificate_expired")
    );
}

#[test]
fn a_new_egress_policy_over_failing_callers_is_the_change() {
    use crate::engine::world::Policy;
    let mut world = World::default();
    for (pod, owner) in [("sub-1", "forms-submission"), ("web-1", "forms-web")] {
        world.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            namespace: "forms".into(),
            ..Default::default()
        });
    }
    let at = |t: &str| -> Option<jiff::Timestamp> { t.parse().ok() };
    let policy = |name: &str, created: &str, to: usize| Policy {
        name: name.into(),
        namespace: "forms".into(),
        egress_restricted: true,
        to: vec![None; to],
        created: at(created),
        ..Default::default()
    };
    world.policies = vec![
        policy("allow-dns", "2025-11-05T13:03:40Z", 1),
        policy("default-deny-egress", "2025-11-05T13:03:40Z", 0),
        // Old: part of the baseline, not a change.
        policy("legacy-egress", "2025-01-01T00:00:00Z", 0),
    ];
    let timeout = Signal {
        component: "forms-submission".into(),
        kind: "dependency_unreachable",
        weight: 4.0,
        source: "test".into(),
        detail: "HttpClient.Timeout of 10 seconds elapsing".into(),
        at: at("2025-11-05T13:04:10Z"),
    };
    let horizon = "2025-11-05T12:00:00Z".parse().unwrap();
    let found = new_egress_policies(std::slice::from_ref(&timeout), &world, horizon);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].component, "default-deny-egress");
    assert!(found[0].detail.contains("forms-submission"));
    // Failures that began before the policy existed are not its doing.
    let mut earlier = timeout.clone();
    earlier.at = at("2025-11-05T12:30:00Z");
    assert!(new_egress_policies(&[earlier], &world, horizon).is_empty());
    // The policy takes the callers' timeouts.
    let mut signals = vec![timeout];
    signals.extend(found);
    attribute(&mut signals, &world);
    assert!(signals.iter().any(|s| s.component == "default-deny-egress"
        && s.kind == "network_policy_blocked"
        && s.source == "test"));
}

#[test]
fn a_new_mesh_policy_takes_the_refusals_of_what_it_guards() {
    use crate::engine::world::MeshPolicy;
    let mut world = World::default();
    world.pods.push(Pod {
        name: "grading-1".into(),
        owner: "grading".into(),
        namespace: "lms".into(),
        labels: [("app".to_string(), "grading".to_string())].into(),
        ..Default::default()
    });
    let policy = |name: &str, created: &str| MeshPolicy {
        name: name.into(),
        namespace: "lms".into(),
        selector: [("app".to_string(), "grading".to_string())].into(),
        action: "ALLOW".into(),
        created: created.parse().ok(),
        ..Default::default()
    };
    world.authz = vec![
        policy("grading-old", "2025-01-01T00:00:00Z"),
        policy("grading-allow", "2025-09-24T20:24:00Z"),
    ];
    let mut signals = vec![Signal {
        component: "grading".into(),
        kind: "authorization_denied",
        weight: 4.0,
        source: "test".into(),
        detail: "403 RBAC: access denied".into(),
        at: None,
    }];
    new_mesh_policies(
        &mut signals,
        &world,
        "2025-09-24T19:00:00Z".parse().unwrap(),
    );
    let on = |c: &str| {
        signals
            .iter()
            .filter(|s| s.component == c && s.weight >= 4.0)
            .count()
    };
    assert_eq!(on("grading-allow"), 2, "{signals:#?}");
    assert_eq!(on("grading-old"), 0);
}

#[test]
fn the_one_certificate_that_expired_in_the_incident_takes_unplaced_expiry_errors() {
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let mut world = World::default();
    world.pods.push(Pod {
        name: "replenishment-api-4k6t2d2zjv-8fs7k".into(),
        owner: "replenishment-api".into(),
        ..Default::default()
    });
    let cert = |name: &str, expired: &str| crate::engine::world::Certificate {
        name: name.into(),
        namespace: "integration".into(),
        not_after: Some(t(expired)),
        ..Default::default()
    };
    world
        .certificates
        .push(cert("edi-client-mtls", "2026-07-21T06:00:00Z"));
    // Long expired, unused: not this incident's.
    world
        .certificates
        .push(cert("legacy-sftp", "2026-03-01T00:00:00Z"));
    let reported = || Signal {
        component: "replenishment-api".into(),
        kind: "certificate_expired",
        weight: 5.5,
        source: "k8s.logs".into(),
        detail: "502 Bad Gateway: remote error: tls: expired certificate".into(),
        at: None,
    };
    let horizon = t("2026-07-21T05:10:00Z");
    let now = t("2026-07-21T06:20:00Z");
    let mut signals = vec![reported()];
    let moved = certificate_in_incident(&mut signals, &world, &[], horizon, now);
    assert_eq!(
        moved,
        vec![(
            "replenishment-api".to_string(),
            "edi-client-mtls".to_string()
        )]
    );
    assert_eq!(signals[0].component, "edi-client-mtls");
    assert!(
        signals
            .iter()
            .any(|s| s.component == "replenishment-api" && s.weight < 2.0)
    );
    // A service known by its spans only (its namespace not listed) reports
    // as a workload does; a peer host it names is no reporter.
    let from_spans = |component: &str| Signal {
        component: component.into(),
        source: "signoz.log_patterns".into(),
        ..reported()
    };
    let mut signals = vec![
        from_spans("hr-zones-worker"),
        from_spans("api.push.apple.com"),
    ];
    let moved = certificate_in_incident(
        &mut signals,
        &world,
        &["hr-zones-worker".to_string()],
        horizon,
        now,
    );
    assert_eq!(
        moved,
        vec![("hr-zones-worker".to_string(), "edi-client-mtls".to_string())]
    );
    // Two certificates expired in the incident: which one is unknown.
    world
        .certificates
        .push(cert("wms-ingress-tls", "2026-07-21T05:30:00Z"));
    let mut signals = vec![reported()];
    assert!(certificate_in_incident(&mut signals, &world, &[], horizon, now).is_empty());
    assert_eq!(signals[0].component, "replenishment-api");
}

/// A client that runs from time to time (a CronJob) first fails on its
/// next run after the expiry, before the window: the Certificate that
/// expired in the day before that failure is still the incident's; one
/// that expired long before is not.
#[test]
fn a_certificate_that_expired_before_a_periodic_clients_first_failure_takes_its_errors() {
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let mut world = World::default();
    world.pods.push(Pod {
        name: "partner-sync-29199270-zgh8l".into(),
        owner: "partner-sync".into(),
        ..Default::default()
    });
    let cert = |name: &str, expired: &str| crate::engine::world::Certificate {
        name: name.into(),
        namespace: "partner-api".into(),
        not_after: Some(t(expired)),
        ..Default::default()
    };
    world
        .certificates
        .push(cert("partner-api-tls", "2026-07-08T04:12:09Z"));
    world
        .certificates
        .push(cert("legacy-sftp", "2026-03-01T00:00:00Z"));
    let failed = |at: &str| Signal {
        component: "partner-sync".into(),
        kind: "certificate_expired",
        weight: 4.6,
        source: "k8s.logs".into(),
        detail: "Faraday::SSLError: certificate verify failed (certificate has expired)".into(),
        at: Some(t(at)),
    };
    let horizon = t("2026-07-08T06:00:00Z");
    let now = t("2026-07-08T06:31:00Z");
    let mut signals = vec![
        failed("2026-07-08T05:45:06Z"),
        failed("2026-07-08T06:30:06Z"),
    ];
    let moved = certificate_in_incident(&mut signals, &world, &[], horizon, now);
    assert_eq!(moved.len(), 1, "{signals:#?}");
    assert!(
        signals
            .iter()
            .all(|s| s.component == "partner-api-tls" || s.weight < 2.0)
    );
    // Failures that began more than a day after the expiry: another story.
    let mut signals = vec![failed("2026-07-09T06:30:06Z")];
    let late = t("2026-07-09T06:31:00Z");
    assert!(
        certificate_in_incident(&mut signals, &world, &[], t("2026-07-09T06:00:00Z"), late)
            .is_empty()
    );
}

/// A neighbour without a CPU limit that takes the node: the probes of the
/// pods beside it that stopped answering in time after it started are its
/// starvation; a probe that failed before it started, or that was answered
/// with an error, stays where it is.
#[test]
fn a_noisy_neighbour_takes_the_probe_timeouts_that_began_after_it() {
    let mut world = World::default();
    for (pod, owner, created) in [
        ("reindex-29237075-b4682", "reindex", "2026-08-03T10:35:00Z"),
        ("estimator-1", "estimator", "2026-07-01T00:00:00Z"),
        ("pricing-1", "pricing", "2026-07-01T00:00:00Z"),
        ("flaky-1", "flaky", "2026-07-01T00:00:00Z"),
    ] {
        world.pods.push(Pod {
            name: pod.into(),
            owner: owner.into(),
            node: Some("node-a".into()),
            created: created.parse().ok(),
            ..Default::default()
        });
    }
    let signal = |component: &str, kind: &'static str, detail: &str, at: Option<&str>| Signal {
        component: component.into(),
        kind,
        weight: 4.0,
        source: "test".into(),
        detail: detail.into(),
        at: at.and_then(|t| t.parse().ok()),
    };
    let timeout = "Readiness probe failed: Get \"http://10.1.2.3:8080/ready\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    let mut signals = vec![
        signal(
            "reindex",
            "noisy_neighbor",
            "uses 7612m CPU with no CPU limit",
            None,
        ),
        signal(
            "estimator",
            "probe_failing",
            timeout,
            Some("2026-08-03T10:37:00Z"),
        ),
        signal(
            "pricing",
            "probe_failing",
            "Readiness probe failed: HTTP probe failed with statuscode: 500",
            Some("2026-08-03T10:38:00Z"),
        ),
        signal(
            "flaky",
            "probe_failing",
            timeout,
            Some("2026-08-03T05:35:00Z"),
        ),
        // The kill that followed the starved liveness probe, and one of a
        // pod whose probes were answered with an error.
        signal(
            "estimator",
            "probe_failing",
            "event Killing on Pod/estimator-1 (x1): Container estimator failed liveness probe, will be restarted",
            Some("2026-08-03T10:41:00Z"),
        ),
        signal(
            "pricing",
            "probe_failing",
            "event Killing on Pod/pricing-1 (x1): Container pricing failed liveness probe, will be restarted",
            Some("2026-08-03T10:41:00Z"),
        ),
    ];
    attribute(&mut signals, &world);
    assert_eq!(
        (signals[1].component.as_str(), signals[1].kind),
        ("reindex", "noisy_neighbor")
    );
    assert_eq!(signals[2].component, "pricing");
    assert_eq!(signals[3].component, "flaky");
    assert_eq!(signals[4].component, "reindex");
    assert_eq!(signals[5].component, "pricing");
}
