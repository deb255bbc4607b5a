//! Tests of `combine`: findings that explain one another across components
//! (victims, rollouts, peers, autoscalers, capacity).

use super::*;
use crate::engine::Scope;
use crate::engine::world::{Pod, World};

fn scope() -> Scope {
    Scope::test()
}

fn signal(component: &str, kind: &'static str) -> Signal {
    Signal::test(component, kind, "x")
}

fn ctx(scope: &Scope, signals: Vec<Signal>) -> Ctx<'_> {
    Ctx::with_signals(scope, signals)
}

#[test]
fn an_autoscaler_left_behind_by_a_rename_belongs_to_the_renamed_workload() {
    let mut world = World::default();
    for owner in ["search-query-rewriter", "search-api"] {
        world.pods.push(Pod {
            name: format!("{owner}-1"),
            owner: owner.into(),
            ..Default::default()
        });
    }
    let scope = scope();
    let mut c = ctx(
        &scope,
        vec![
            signal("query-rewriter", "hpa_misconfigured"),
            signal("search", "hpa_misconfigured"),
        ],
    );
    orphaned_autoscalers(&mut c, &world, &Default::default());
    assert_eq!(c.signals[0].component, "search-query-rewriter");
    // Two workloads carry `search`: no guess.
    assert_eq!(c.signals[1].component, "search");

    // A rename that kept no part of the name: the rollout history says it.
    for owner in ["donor-booking", "intake"] {
        world.pods.push(Pod {
            name: format!("{owner}-1"),
            owner: owner.into(),
            ..Default::default()
        });
    }
    let history = |name: &str, text: &str| {
        super::super::collect::Output::test(
            "k8s.rollout_history",
            serde_json::json!({ "name": name }),
            text,
        )
    };
    let pack = super::super::collect::EvidencePack {
        outputs: vec![
            history(
                "donor-booking",
                "1  14d ago  helm install donor-booking 4.0.0 (renamed from donor-scheduler)",
            ),
            history("intake", "1  30d ago  split intake from donor-scheduler-v2"),
        ],
        ..Default::default()
    };
    let mut c = ctx(&scope, vec![signal("donor-scheduler", "hpa_misconfigured")]);
    orphaned_autoscalers(&mut c, &world, &pack);
    assert_eq!(
        c.signals[0].component, "donor-booking",
        "{:?}",
        c.signals[0]
    );
    assert!(
        c.signals[0]
            .detail
            .contains("rollout history of donor-booking names donor-scheduler")
    );
    // Named by no history: it stays the autoscaler's own.
    let mut c = ctx(
        &scope,
        vec![signal("fulfilment-worker", "hpa_misconfigured")],
    );
    orphaned_autoscalers(&mut c, &world, &pack);
    assert_eq!(c.signals[0].component, "fulfilment-worker");
}

/// Replicas pinned at their cores while the autoscaler cannot read their
/// CPU: the readiness probes that time out are the starvation showing, and
/// the autoscaler's old warnings matter since then. Probes that fail
/// otherwise stay what they are.
#[test]
fn an_autoscaler_that_cannot_scale_pinned_pods_explains_their_probe_timeouts() {
    let scope = scope();
    let at = |s: &str| s.parse::<jiff::Timestamp>().ok();
    let mut hpa = signal("gate-api", "hpa_misconfigured");
    hpa.at = at("2025-12-28T14:21:09Z");
    let mut probe = Signal::test(
        "gate-api",
        "probe_failing",
        "Readiness probe failed: Get \"http://10.0.0.1:8080/health\": context deadline exceeded",
    );
    probe.at = at("2026-01-01T11:46:10Z");
    let refused = Signal::test(
        "kiosk-bff",
        "probe_failing",
        "Readiness probe failed: connect: connection refused",
    );
    let mut c = ctx(&scope, vec![hpa.clone(), probe.clone(), refused.clone()]);
    capacity(
        &mut c,
        &[],
        &[("gate-api".into(), 2), ("kiosk-bff".into(), 1)],
    );
    assert_eq!(c.signals[1].kind, "cpu_throttling");
    assert!(
        c.signals[1]
            .detail
            .starts_with("probe failing on a pod pinned at 2 cores")
    );
    assert_eq!(c.signals[0].weight, 6.0);
    assert_eq!(c.signals[0].at, probe.at);
    assert!(
        c.signals[0]
            .detail
            .contains("its pods are pinned at 2 cores each")
    );
    assert_eq!(c.signals[2].kind, "probe_failing");
    // Not pinned: nothing moves.
    let mut c = ctx(&scope, vec![hpa, probe, refused]);
    capacity(&mut c, &[], &[]);
    assert_eq!(c.signals[1].kind, "probe_failing");
    assert_eq!(c.signals[0].weight, 4.0);
}

/// An autoscaler that could not read its metric for days matters from the
/// bucket its workload, left unscaled, slowed in: its own spans date it.
#[test]
fn an_autoscaler_blind_for_days_matters_since_its_workload_slowed() {
    let scope = scope();
    let mut hpa = signal("qa-checker", "hpa_misconfigured");
    hpa.at = "2025-12-28T16:41:00Z".parse().ok();
    let bucket = |start: &str, p99: f64| crate::engine::parse::Bucket {
        start: start.into(),
        calls: 60.0,
        err_pct: Some(0.0),
        p99_ms: Some(p99),
    };
    let health = crate::engine::parse::ServiceHealth {
        err_pct: (Some(0.0), Some(0.0)),
        p50_ms: (Some(2070.0), Some(61.5)),
        p99_ms: (Some(3250.0), Some(122.0)),
        buckets: vec![
            bucket("11:26:00", 120.0),
            bucket("11:31:00", 1790.0),
            bucket("11:36:00", 2780.0),
            bucket("11:41:00", 3210.0),
        ],
        bucket_secs: 300,
        ..Default::default()
    };
    let run = |degraded: &[String]| {
        let mut c = ctx(&scope, vec![hpa.clone()]);
        c.health.insert("qa-checker".into(), health.clone());
        capacity(&mut c, degraded, &[]);
        (c.signals[0].weight, c.signals[0].at)
    };
    assert_eq!(
        run(&["qa-checker".to_string()]),
        (6.0, "2026-01-01T11:31:00Z".parse().ok())
    );
    // Not degraded: an old warning stays old.
    assert_eq!(run(&[]), (4.0, hpa.at));
}

/// A caller whose calls to the alert's service fail is a victim of it; a
/// caller of another service, or one whose calls succeed, is not.
#[test]
fn a_caller_failing_on_the_paged_service_is_its_victim() {
    let mut scope = scope();
    scope.service = Some("csms-api".into());
    let edge = |caller: &str, callee: &str, err_pct: f64| Edge {
        caller: caller.into(),
        callee: callee.into(),
        err_pct,
        calls: 100.0,
        ..Default::default()
    };
    let edges = [
        edge("ocpp-gateway", "csms-api", 40.0),
        edge("driver-bff", "csms-api", 0.0),
        edge("driver-bff", "tariff-service", 30.0),
    ];
    let mut c = ctx(
        &scope,
        vec![
            signal("ocpp-gateway", "new_error"),
            signal("driver-bff", "new_error"),
        ],
    );
    victims(&mut c, &[], &edges);
    assert_eq!(
        c.blames.get("ocpp-gateway").map(String::as_str),
        Some("csms-api")
    );
    assert!(!c.blames.contains_key("driver-bff"));
}

/// A victim of a victim: the paged service's caller fails through it, and
/// it through a failed Job; the caller's errors are the Job's failure seen
/// from further up, and weigh less, though the paged service itself shows
/// no cause of its own.
#[test]
fn a_victim_of_a_victim_weighs_less() {
    let mut scope = scope();
    scope.service = Some("insights-api".into());
    let edges = [Edge {
        caller: "mobile-bff".into(),
        callee: "insights-api".into(),
        err_pct: 12.0,
        calls: 100.0,
        ..Default::default()
    }];
    let run = |job_failed: bool| {
        let mut signals = vec![signal("mobile-bff", "new_error")];
        if job_failed {
            signals.push(signal("nightly-aggregates", "job_failed"));
        }
        let mut c = ctx(&scope, signals);
        c.blames
            .insert("insights-api".into(), "nightly-aggregates".into());
        victims(&mut c, &[], &edges);
        c.signals
            .iter()
            .find(|s| s.component == "mobile-bff")
            .map(|s| s.weight)
    };
    assert_eq!(run(true), Some(2.0));
    // Nothing failed further down: its errors stand.
    assert_eq!(run(false), Some(4.0));
}

#[test]
fn a_clients_unnamed_403s_are_about_the_callee_it_names() {
    let scope = scope();
    let mut c = ctx(
        &scope,
        vec![
            signal("worker", "authorization_denied"),
            signal("grading", "authorization_denied"),
            signal("worker", "new_error"),
        ],
    );
    c.self_reports.push("worker".into());
    c.blames.insert("worker".into(), "grading".into());
    peer_side(&mut c);
    assert_eq!(c.signals[0].component, "grading");
    assert!(
        c.signals[0]
            .detail
            .starts_with("worker reports it about grading")
    );
    // Other kinds stay with the client.
    assert_eq!(c.signals[2].component, "worker");
}

#[test]
fn a_crash_that_was_a_peer_down_for_its_own_reason_is_the_peers() {
    let scope = scope();
    let mut c = ctx(
        &scope,
        vec![
            signal("robot-dispatcher", "crash_loop"),
            signal("robot-state-redis", "pvc_unbound"),
            signal("label-printer", "crash_loop"),
        ],
    );
    c.died_of
        .push(("robot-dispatcher".into(), "robot-state-redis".into()));
    victims(&mut c, &[], &[]);
    assert!(c.signals[0].weight < 2.0);
    assert_eq!(c.signals[2].weight, 4.0);
    assert_eq!(c.blames["robot-dispatcher"], "robot-state-redis");
    // A peer that is only "unreachable" explains no crash.
    let mut c = ctx(
        &scope,
        vec![
            signal("robot-dispatcher", "crash_loop"),
            signal("robot-state-redis", "dependency_unreachable"),
        ],
    );
    c.died_of
        .push(("robot-dispatcher".into(), "robot-state-redis".into()));
    victims(&mut c, &[], &[]);
    assert_eq!(c.signals[0].weight, 4.0);
    // Unless it is a Service that selects no pod: its selector is why.
    let mut c = ctx(
        &scope,
        vec![
            signal("robot-dispatcher", "crash_loop"),
            signal("robot-state-redis", "dependency_unreachable"),
        ],
    );
    c.died_of
        .push(("robot-dispatcher".into(), "robot-state-redis".into()));
    c.selects_nothing.push("robot-state-redis".into());
    victims(&mut c, &[], &[]);
    assert!(c.signals[0].weight < 2.0);
    // An init container that cannot finish for a peer down for a reason
    // of its own is held back by it, as a crash is.
    let mut c = ctx(
        &scope,
        vec![
            signal("billing-api", "init_container_stuck"),
            signal("vault", "probe_failing"),
        ],
    );
    c.died_of.push(("billing-api".into(), "vault".into()));
    victims(&mut c, &[], &[]);
    assert!(c.signals[0].weight < 2.0);
    assert_eq!(c.blames["billing-api"], "vault");
}

#[test]
fn a_workload_not_ready_for_want_of_a_peer_fails_through_it() {
    let scope = scope();
    let probe = |detail: &str| Signal {
        detail: detail.into(),
        ..signal("randomisation-api", "probe_failing")
    };
    let readiness = "Readiness probe failed: HTTP probe failed with statuscode: 503";
    let mut c = ctx(
        &scope,
        vec![
            probe(readiness),
            signal("randomisation-api", "dependency_unreachable"),
            signal("rtsm-db", "dependency_unreachable"),
        ],
    );
    c.cannot_reach
        .push(("randomisation-api".into(), "rtsm-db".into()));
    victims(&mut c, &[], &[]);
    assert!(c.signals[0].weight < 2.0, "{:?}", c.signals);
    assert!(c.signals[1].weight < 2.0, "its callers' failures follow");
    assert_eq!(c.signals[2].weight, 4.0);
    assert_eq!(c.blames["randomisation-api"], "rtsm-db");
    // A liveness probe kills the container: a failure of its own.
    let mut c = ctx(
        &scope,
        vec![
            probe("Liveness probe failed: HTTP probe failed with statuscode: 500"),
            signal("rtsm-db", "dependency_unreachable"),
        ],
    );
    c.cannot_reach
        .push(("randomisation-api".into(), "rtsm-db".into()));
    victims(&mut c, &[], &[]);
    assert_eq!(c.signals[0].weight, 4.0);
    // Nor does a peer its logs never said it could not reach.
    let mut c = ctx(
        &scope,
        vec![
            probe(readiness),
            signal("rtsm-db", "dependency_unreachable"),
        ],
    );
    victims(&mut c, &[], &[]);
    assert_eq!(c.signals[0].weight, 4.0);
}

/// A client whose queries crawl on a collection without its index: its
/// readiness probe times out and its consumers lag for the store's sake.
#[test]
fn a_client_blaming_a_store_with_a_cause_is_unready_and_behind_through_it() {
    let scope = scope();
    let mut c = ctx(
        &scope,
        vec![
            Signal {
                detail: "Readiness probe failed: Get \"http://10.0.0.7:8080/ready\": context deadline exceeded".into(),
                ..signal("mnp-lookup", "probe_failing")
            },
            signal("mnp-lookup", "consumer_lag"),
            signal("npdb.ported_numbers", "missing_index"),
        ],
    );
    c.blames
        .insert("mnp-lookup".into(), "npdb.ported_numbers".into());
    victims(&mut c, &[], &[]);
    assert!(c.signals[0].weight < 2.0, "{:?}", c.signals);
    assert!(c.signals[1].weight < 4.0, "{:?}", c.signals);
    assert_eq!(c.signals[2].weight, 4.0);
}

#[test]
fn a_liveness_probe_that_times_out_after_its_peer_went_down_fails_through_it() {
    let scope = scope();
    let at = |t: &str| Some(t.parse::<Timestamp>().expect("ts"));
    let probes = |liveness: &str| {
        [
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            liveness,
            "Container schedule-api failed liveness probe, will be restarted",
        ]
        .map(|detail| Signal {
            detail: detail.into(),
            at: at("2026-02-21T02:42:00Z"),
            ..signal("schedule-api", "probe_failing")
        })
    };
    let timeout = "Liveness probe failed: Get \"http://10.244.1.110:8080/actuator/health/liveness\": \
         context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    let run = |liveness: &str, peer_since: &str| {
        let mut signals = probes(liveness).to_vec();
        signals.push(Signal {
            at: at(peer_since),
            ..signal("rehearsal-pg", "pvc_unbound")
        });
        let mut c = ctx(&scope, signals);
        c.cannot_reach
            .push(("schedule-api".into(), "rehearsal-pg".into()));
        victims(&mut c, &[], &[]);
        c.signals
            .iter()
            .filter(|s| s.kind == "probe_failing")
            .map(|s| s.weight)
            .collect::<Vec<f64>>()
    };
    // The claim could not bind a minute before the probes failed: the
    // probes time out waiting on the database that never started.
    let moved = run(timeout, "2026-02-21T02:41:00Z");
    assert!(moved.iter().all(|w| *w < 2.0), "{moved:?}");
    // A peer that failed after the probes explains none of them.
    let later = run(timeout, "2026-02-21T02:45:00Z");
    assert!(later.iter().all(|w| *w == 4.0), "{later:?}");
    // A liveness probe answered with an error is the workload's own.
    let own = run(
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
        "2026-02-21T02:41:00Z",
    );
    assert!(own.iter().all(|w| *w == 4.0), "{own:?}");
}

#[test]
fn a_rollout_after_the_errors_began_is_no_bad_deploy_even_with_untimed_log_lines() {
    let scope = scope();
    let at = |t: &str| Some(t.parse::<Timestamp>().expect("ts"));
    let mut c = ctx(
        &scope,
        vec![
            Signal {
                at: at("2026-01-01T11:50:00Z"),
                ..signal("zone-api", "recent_deploy")
            },
            // Folded into another cause, it still dates the errors.
            Signal {
                weight: 0.0,
                at: at("2026-01-01T11:44:00Z"),
                ..signal("zone-api", "new_error")
            },
            signal("zone-api", "new_error"),
        ],
    );
    deploys(&mut c, &[], &[], &[]);
    assert!(
        !c.signals.iter().any(|s| s.kind == "bad_deploy"),
        "{:?}",
        c.signals
    );
    // The same rollout before the errors is one.
    c.signals[1].at = at("2026-01-01T11:55:00Z");
    deploys(&mut c, &[], &[], &[]);
    assert!(c.signals.iter().any(|s| s.kind == "bad_deploy"));
}

/// A new error the deployed service shares with one that did not change
/// (the same template's last words) is a shared dependency's, not the
/// rollout's; shared only with another service rolled out too, it stays.
#[test]
fn a_new_error_an_unchanged_service_shares_is_no_bad_deploy() {
    let scope = scope();
    let at = |t: &str| Some(t.parse::<Timestamp>().expect("ts"));
    let signals = vec![
        Signal {
            at: at("2026-01-01T11:41:00Z"),
            ..signal("circulation-api", "recent_deploy")
        },
        Signal {
            at: at("2026-01-01T11:48:20Z"),
            source: "signoz.log_patterns".into(),
            ..signal("circulation-api", "new_error")
        },
    ];
    let tail = "dj_exc_value django.db.utils.OperationalError: connection timeout expired";
    let tails = |other: &str| {
        vec![
            (vec!["circulation-api".to_string()], tail.to_string()),
            (vec![other.to_string()], tail.to_string()),
        ]
    };
    let bad = |c: &Ctx<'_>| {
        c.signals
            .iter()
            .any(|s| s.kind == "bad_deploy" && s.weight > 0.0)
    };
    let mut c = ctx(&scope, signals.clone());
    deploys(&mut c, &[], &[], &tails("lending-web"));
    assert!(!bad(&c), "{:?}", c.signals);
    let mut both = signals.clone();
    both.push(Signal {
        at: at("2026-01-01T11:40:00Z"),
        ..signal("lending-web", "recent_deploy")
    });
    let mut c = ctx(&scope, both);
    deploys(&mut c, &[], &[], &tails("lending-web"));
    assert!(bad(&c));
    let mut c = ctx(&scope, signals);
    deploys(&mut c, &[], &[], &[]);
    assert!(bad(&c));
}

/// Errors that began twenty minutes after a rollout, while the callee the
/// service blames fails through a cause of its own (two steps down), are
/// that cause's; the same errors right after the rollout are the rollout's.
#[test]
fn errors_long_after_a_rollout_that_blame_a_failing_peer_are_not_the_rollouts() {
    let scope = scope();
    let at = |t: &str| Some(t.parse::<Timestamp>().expect("ts"));
    let mut c = ctx(
        &scope,
        vec![
            Signal {
                at: at("2026-01-01T11:30:00Z"),
                ..signal("billing-api", "recent_deploy")
            },
            Signal {
                at: at("2026-01-01T11:51:00Z"),
                ..signal("billing-api", "new_error")
            },
            signal("billing-gcs", "authorization_denied"),
        ],
    );
    c.blames
        .insert("billing-api".into(), "statement-renderer".into());
    c.blames
        .insert("statement-renderer".into(), "billing-gcs".into());
    deploys(&mut c, &[], &[], &[]);
    assert!(
        !c.signals.iter().any(|s| s.kind == "bad_deploy"),
        "{:?}",
        c.signals
    );
    c.signals[1].at = at("2026-01-01T11:33:00Z");
    deploys(&mut c, &[], &[], &[]);
    assert!(c.signals.iter().any(|s| s.kind == "bad_deploy"));
}

/// A client whose calls to a quiet callee began to fail with its own
/// rollout (reset sockets after a keep-alive change) is the rollout's
/// doing; the same reports while the callee fails for its own reason,
/// or that began long after the rollout, or against a callee never
/// measured, are not.
#[test]
fn a_clients_failing_calls_that_began_with_its_rollout_are_the_rollouts_when_the_callee_is_quiet() {
    let scope = scope();
    let at = |t: &str| Some(t.parse::<Timestamp>().expect("ts"));
    let run_with = |first_error: &str, callee_cause: bool, measured: bool| {
        let mut signals = vec![
            Signal {
                at: at("2025-09-25T12:51:00Z"),
                ..signal("webhook-relay", "recent_deploy")
            },
            Signal {
                at: at(first_error),
                ..signal("webhook-relay", "dependency_unreachable")
            },
            signal("billing-events", "dependency_unreachable"),
        ];
        if callee_cause {
            signals.push(signal("billing-events", "oom_killed"));
        }
        let mut c = ctx(&scope, signals);
        c.blames
            .insert("webhook-relay".into(), "billing-events".into());
        if measured {
            c.health.insert("billing-events".into(), Default::default());
        }
        deploys(&mut c, &[], &[], &[]);
        c.signals
            .iter()
            .any(|s| s.kind == "bad_deploy" && s.component == "webhook-relay")
    };
    let run = |first_error: &str, callee_cause: bool| run_with(first_error, callee_cause, true);
    // A callee whose health was never read (a third party) is not known
    // to be quiet.
    assert!(!run_with("2025-09-25T12:51:01Z", false, false));
    assert!(run("2025-09-25T12:51:01Z", false));
    assert!(!run("2025-09-25T12:51:01Z", true));
    assert!(!run("2025-09-25T13:20:00Z", false));
    // Failing before the rollout: not its doing.
    assert!(!run("2025-09-25T12:40:00Z", false));
}

/// A refusal relayed up the call path (`403 RBAC: access denied` in the
/// spans of the service above the refused call) fails through the
/// deepest degraded service, like its errors: halved; the deepest
/// one's own is not.
#[test]
fn a_refusal_relayed_up_the_path_is_the_deeper_ones() {
    let scope = scope();
    let mut c = ctx(
        &scope,
        vec![
            signal("rental-web", "authorization_denied"),
            signal("deposit-svc", "authorization_denied"),
        ],
    );
    let path = [
        "rental-web".to_string(),
        "rental-api".into(),
        "deposit-svc".into(),
    ];
    victims(&mut c, &path, &[]);
    assert!(
        (c.signals[0].weight - 2.0).abs() < 1e-9,
        "{:?}",
        c.signals[0]
    );
    assert!(
        (c.signals[1].weight - 4.0).abs() < 1e-9,
        "{:?}",
        c.signals[1]
    );
}

/// A Job whose run could not verify a service's expired certificate
/// fails with that certificate's owner, as the reason that moved there;
/// a Job whose reason stayed its own keeps its failure.
#[test]
fn a_failed_job_fails_with_the_component_its_reason_moved_to() {
    let scope = scope();
    let mut tls = signal("courier-api", "certificate_expired");
    tls.detail = "tea-sync-nightly: x509: certificate has expired".into();
    let mut c = ctx(
        &scope,
        vec![
            signal("tea-sync-nightly", "job_failed"),
            tls,
            signal("report-export", "job_failed"),
        ],
    );
    let moves = [("tea-sync-nightly".to_string(), "courier-api".to_string())];
    jobs_fail_through(&mut c, &moves);
    let on = |c: &Ctx<'_>, comp: &str, kind: &str| {
        c.signals
            .iter()
            .filter(|s| s.component == comp && s.kind == kind)
            .map(|s| s.weight)
            .sum::<f64>()
    };
    assert!((on(&c, "courier-api", "certificate_expired") - 8.0).abs() < 1e-9);
    assert!((on(&c, "tea-sync-nightly", "job_failed") - 1.2).abs() < 1e-9);
    assert!((on(&c, "report-export", "job_failed") - 4.0).abs() < 1e-9);
    // No reason of its kind on the cause: nothing moves.
    let mut c = ctx(&scope, vec![signal("tea-sync-nightly", "job_failed")]);
    jobs_fail_through(&mut c, &moves);
    assert!((on(&c, "tea-sync-nightly", "job_failed") - 4.0).abs() < 1e-9);
}

/// Two senders refused by one provider's rate limit: the one whose calls
/// dominate and whose traffic rose spent it; the other is its victim.
/// Without the rise, neither is blamed for the other.
#[test]
fn a_shared_limit_is_spent_by_the_caller_whose_burst_dominates() {
    use crate::engine::parse::{Edge, ServiceHealth};
    let scope = Scope {
        window_secs: 1590,
        ..scope()
    };
    let edge = |caller: &str, calls: f64| Edge {
        caller: caller.into(),
        callee: "twilio".into(),
        calls,
        errors: calls / 2.0,
        ..Default::default()
    };
    let edges = [
        edge("reminder-dispatcher", 1073.0),
        edge("sms-gateway", 203.0),
    ];
    let run = |before: f64| {
        let mut c = ctx(
            &scope,
            vec![
                signal("reminder-dispatcher", "rate_limited"),
                signal("sms-gateway", "rate_limited"),
            ],
        );
        c.health.insert(
            "reminder-dispatcher".into(),
            ServiceHealth {
                calls: (Some(579.0), Some(before)),
                ..Default::default()
            },
        );
        shared_limit(&mut c, &edges);
        (c.signals[1].weight, c.blames.get("sms-gateway").cloned())
    };
    assert_eq!(run(661.0), (2.0, Some("reminder-dispatcher".to_string())));
    assert_eq!(run(1400.0), (4.0, None));
}

/// The blame chain both victims and rollouts walk: down what each blames,
/// no further than asked, ending where it comes back to its start or a
/// component blames itself.
#[test]
fn the_blame_chain_ends_at_a_loop_or_after_its_steps() {
    let scope = scope();
    let mut ctx = ctx(&scope, Vec::new());
    for (victim, culprit) in [
        ("web", "api"),
        ("api", "postings"),
        ("postings", "pg-main"),
        ("pg-main", "web"),
        ("batch", "batch"),
    ] {
        ctx.blames.insert(victim.into(), culprit.into());
    }
    let chain = |start: &str, steps: usize| -> Vec<String> {
        ctx.blamed_beyond(start, steps).cloned().collect()
    };
    assert_eq!(chain("web", 9), ["api", "postings", "pg-main"]);
    assert_eq!(chain("web", 2), ["api", "postings"]);
    assert_eq!(chain("api", 9), ["postings", "pg-main", "web"]);
    assert!(chain("batch", 3).is_empty());
    assert!(chain("unknown", 3).is_empty());
}
