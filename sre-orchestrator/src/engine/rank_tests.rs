//! Tests of `rank`: how suspects are grouped, explained away, weighed by
//! reach and onset, and when the best is good enough to be called the cause.

use super::*;

fn signal(component: &str, kind: &'static str, weight: f64) -> Signal {
    Signal {
        component: component.into(),
        kind,
        weight,
        source: "test".into(),
        detail: format!("{component} {kind}"),
        at: None,
    }
}

fn scope() -> Scope {
    Scope::test()
}

#[test]
fn a_reason_explains_its_workloads_state() {
    let signals = vec![
        signal("api", "crash_loop", 3.0),
        signal("api", "missing_config", 2.0),
    ];
    let ranked = rank(&scope(), &signals, &Reach::default());
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    assert_eq!(ranked[0].kind, "missing_config");
    assert!(
        ranked[0]
            .signals
            .iter()
            .any(|s| s.detail.starts_with("consequence: "))
    );
}

/// An autoscaler that cannot add pods explains their probes timing out
/// (the load showing), not their probes refused (a wrong port or path).
#[test]
fn an_autoscaler_that_cannot_scale_explains_probe_timeouts() {
    let probe = |detail: &str| Signal {
        detail: detail.into(),
        ..signal("workouts-api", "probe_failing", 4.3)
    };
    let signals = |detail: &str| {
        vec![
            signal("workouts-api", "hpa_misconfigured", 5.8),
            probe(detail),
            probe(detail),
        ]
    };
    let timed_out = signals(
        "Readiness probe failed: Get \"http://10.0.0.1:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    );
    let ranked = rank(&scope(), &timed_out, &Reach::default());
    assert_eq!(ranked[0].kind, "hpa_misconfigured", "{ranked:?}");
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    let refused =
        signals("Readiness probe failed: dial tcp 10.0.0.1:8080: connect: connection refused");
    let ranked = rank(&scope(), &refused, &Reach::default());
    assert_eq!(ranked.len(), 2, "{ranked:?}");
}

/// A Job whose own run a cloud API refused failed as a Job; a workload's
/// refusal stays a refusal.
#[test]
fn a_job_refused_by_an_api_it_called_is_a_failed_job() {
    let signals = vec![
        signal("track-archiver", "job_failed", 4.5),
        signal("track-archiver", "authorization_denied", 3.2),
    ];
    let ranked = rank(&scope(), &signals, &Reach::default());
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    assert_eq!(ranked[0].kind, "job_failed");
    let signals = vec![signal("checkout", "authorization_denied", 3.2)];
    let ranked = rank(&scope(), &signals, &Reach::default());
    assert_eq!(ranked[0].kind, "authorization_denied");
}

#[test]
fn the_probe_explains_restarts_but_not_the_other_way_round() {
    assert!(explains("probe_failing", "crash_loop"));
    assert!(!explains("crash_loop", "probe_failing"));
    assert!(explains("pvc_unbound", "unschedulable"));
    assert!(explains("job_failed", "dependency_unreachable"));
    assert!(explains("oom_killed", "job_failed"));
    assert!(explains("volume_full", "probe_failing"));
    assert!(!explains("probe_failing", "volume_full"));
    assert!(!explains("new_error", "job_failed"));
}

#[test]
fn a_node_hosting_none_of_the_affected_pods_is_a_bystander() {
    let signals = vec![
        signal("node-a", "node_failure", 4.0),
        signal("api", "crash_loop", 3.0),
    ];
    let reach = Reach {
        nodes: Some(BTreeSet::from(["node-b".to_string()])),
        ..Reach::default()
    };
    let ranked = rank(&scope(), &signals, &reach);
    assert_eq!(ranked[0].component, "api");
}

#[test]
fn slowness_off_the_traced_path_is_another_story() {
    // The alert's requests go portal → booking; the monitor's new
    // timeouts are louder, but nothing on the path calls it or names it.
    let signals = vec![
        signal("monitor", "latency_regression", 5.0),
        signal("booking", "hpa_misconfigured", 2.5),
    ];
    let reach = Reach {
        path: vec!["portal".into(), "booking".into()],
        ..Reach::default()
    };
    assert_eq!(rank(&scope(), &signals, &reach)[0].component, "booking");
    // Without traces there is no path to be off: the louder one leads.
    assert_eq!(
        rank(&scope(), &signals, &Reach::default())[0].component,
        "monitor"
    );
}

#[test]
fn old_evidence_is_no_root_cause() {
    let mut old = signal("ads", "oom_killed", 5.0);
    old.at = Some("2025-02-01T00:00:00Z".parse().expect("ts"));
    let ranked = rank(&scope(), &[old], &Reach::default());
    assert_eq!(verdict(&scope(), &ranked, 0), None);
    let fresh = signal("api", "oom_killed", 5.0);
    let ranked = rank(&scope(), &[fresh], &Reach::default());
    let c = verdict(&scope(), &ranked, 0).expect("a verdict");
    assert!(c > 0.5, "{c}");
}

/// For an alert about stale data, a run that failed hours before the window
/// is this incident's cause, not an older story; for any other alert it is.
#[test]
fn stale_data_reaches_back_to_the_run_that_failed() {
    let mut failed = signal("nightly-rollup", "job_failed", 4.5);
    failed.at = Some("2026-01-01T03:20:00Z".parse().expect("ts"));
    let mut stale = scope();
    let other = rank(&stale, std::slice::from_ref(&failed), &Reach::default());
    assert_eq!(verdict(&stale, &other, 0), None);
    stale.staleness = true;
    assert!(stale.onset_horizon("job_failed", "nightly-export") < stale.horizon());
    // A crash loop of two days is an older story still.
    assert_eq!(stale.onset_horizon("crash_loop", "api"), stale.horizon());
    let ranked = rank(&stale, &[failed], &Reach::default());
    assert!(
        ranked[0].score > 2.0 * other[0].score,
        "{ranked:?} {other:?}"
    );
    assert!(verdict(&stale, &ranked, 0).is_some());
}

/// A certificate that expired hours before the window is felt only when a
/// connection opens (a pod recreated, the morning's traffic): it is still
/// this incident's cause; a probe failing as long ago is an older story.
#[test]
fn a_lapsed_certificate_reaches_back_past_the_window() {
    let mut expired = signal("broker", "certificate_expired", 5.0);
    expired.at = Some("2026-01-01T02:14:00Z".parse().expect("ts"));
    let s = scope();
    assert!(s.onset_horizon("certificate_expired", "broker") < s.horizon());
    assert_eq!(s.onset_horizon("credentials_expired", "db"), s.horizon());
    assert_eq!(s.onset_horizon("probe_failing", "broker"), s.horizon());
    let ranked = rank(&s, &[expired], &Reach::default());
    assert!(verdict(&s, &ranked, 0).is_some(), "{ranked:?}");
}

/// A failed scheduled run that leads the ranking is named though it failed
/// hours before the window (a night's close run, felt as shops open); in
/// the ranking it stays an older story.
#[test]
fn a_leading_failed_run_from_the_night_is_named() {
    let mut failed = signal("business-day-close", "job_failed", 20.0);
    failed.at = Some("2026-01-01T00:35:00Z".parse().expect("ts"));
    let s = scope();
    let reach = Reach {
        affected: vec!["business-day-close".into()],
        ..Reach::default()
    };
    let ranked = rank(&s, std::slice::from_ref(&failed), &reach);
    assert!(verdict(&s, &ranked, 0).is_some(), "{ranked:?}");
    // The same failure as a crash loop of the night is not this incident's.
    let mut crashed = failed.clone();
    crashed.kind = "crash_loop";
    let ranked = rank(&s, &[crashed], &reach);
    assert_eq!(verdict(&s, &ranked, 0), None);
}

/// An alert that names a scheduled Job by its whole name is about the work
/// that Job did not do: its failed run reaches back as far as for stale
/// data; one word of the name in common does not.
#[test]
fn an_alert_naming_a_job_reaches_back_to_its_failed_run() {
    let mut s = scope();
    s.alert_words = vec!["claims".into(), "pending".into(), "adjudication".into()];
    assert!(s.onset_horizon("job_failed", "claims-adjudication") < s.horizon());
    assert_eq!(s.onset_horizon("job_failed", "claims-export"), s.horizon());
    assert_eq!(
        s.onset_horizon("crash_loop", "claims-adjudication"),
        s.horizon()
    );
}

#[test]
fn only_a_probe_that_kills_explains_the_restarts() {
    let with = |detail: &str| {
        let mut probe = signal("md", "probe_failing", 4.0);
        probe.detail = detail.into();
        vec![probe, signal("md", "crash_loop", 3.0)]
    };
    // A liveness probe restarts the container: the probe is the cause.
    let ranked = rank(
        &scope(),
        &with("Liveness probe failed: timeout"),
        &Reach::default(),
    );
    assert_eq!((ranked.len(), ranked[0].kind), (1, "probe_failing"));
    // A readiness probe never restarts anything: the crash is the cause
    // and the failing readiness its consequence.
    let ranked = rank(
        &scope(),
        &with("Readiness probe failed: timeout"),
        &Reach::default(),
    );
    assert_eq!((ranked.len(), ranked[0].kind), (1, "crash_loop"));
}

#[test]
fn a_pool_that_cannot_authenticate_looks_exhausted() {
    let signals = vec![
        signal("claims-api", "connection_pool_exhausted", 6.0),
        signal("claims-api", "credentials_expired", 4.0),
    ];
    let ranked = rank(&scope(), &signals, &Reach::default());
    assert_eq!(ranked[0].kind, "credentials_expired");
}

#[test]
fn unexplained_slowness_yields_to_a_throttling_that_rose_first() {
    let at = |t: &str| t.parse::<Timestamp>().ok();
    let slow = Signal {
        source: "signoz.service_dependencies".into(),
        ..signal("book-builder", "latency_regression", 4.0)
    };
    let throttled = Signal {
        source: "signoz.query_metric".into(),
        at: at("2026-11-23T14:29:00Z"),
        ..signal("feed-handler", "cpu_throttling", 4.0)
    };
    let usage = Signal {
        source: "k8s.resource_usage".into(),
        ..signal("feed-handler", "cpu_throttling", 1.5)
    };
    let reach = Reach {
        path: vec!["quote-api".into(), "book-builder".into()],
        degraded: vec!["book-builder".into(), "feed-handler".into()],
        first_symptom: at("2026-11-23T14:30:00Z"),
        ..Reach::default()
    };
    let ranked = rank(
        &scope(),
        &[slow.clone(), throttled.clone(), usage.clone()],
        &reach,
    );
    assert_eq!(ranked[0].component, "feed-handler", "{ranked:?}");
    // Throttling seen only as a level (no metric that rose) does not move it.
    let ranked = rank(&scope(), &[slow.clone(), usage.clone()], &reach);
    assert_eq!(ranked[0].component, "book-builder", "{ranked:?}");
    // Nor does slowness that says why (a log signature of its own).
    let reason = Signal {
        source: "signoz.log_patterns".into(),
        ..signal("book-builder", "latency_regression", 3.0)
    };
    let ranked = rank(&scope(), &[slow, reason, throttled, usage], &reach);
    assert_eq!(ranked[0].component, "book-builder", "{ranked:?}");
}

#[test]
fn callers_timing_out_on_a_starved_service_are_its_starvation() {
    let at = |t: &str| t.parse::<Timestamp>().ok();
    let timeouts = Signal {
        source: "signoz.log_patterns".into(),
        detail: r#"optimize bid failed — Post "http://bid-optimizer:8000/optimize": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"#.into(),
        ..signal("bid-optimizer", "dependency_unreachable", 4.5)
    };
    let throttled = Signal {
        source: "signoz.query_metric".into(),
        at: at("2026-03-17T13:39:00Z"),
        ..signal("bid-optimizer", "cpu_throttling", 4.0)
    };
    let reach = Reach {
        degraded: vec!["bid-optimizer".into()],
        first_symptom: at("2026-03-17T13:40:00Z"),
        ..Reach::default()
    };
    let ranked = rank(&scope(), &[timeouts.clone(), throttled.clone()], &reach);
    assert_eq!(ranked[0].kind, "cpu_throttling", "{ranked:?}");
    // Refused connections are not slowness.
    let refused = Signal {
        detail: "dial tcp 10.0.3.7:8000: connect: connection refused".into(),
        ..timeouts
    };
    let ranked = rank(&scope(), &[refused, throttled], &reach);
    assert_eq!(ranked[0].kind, "dependency_unreachable", "{ranked:?}");
}

/// A pool that ran dry on a process whose throttling rose first is the
/// starvation seen from inside; one that ran dry before the throttling
/// rose is not.
#[test]
fn a_pool_dry_on_a_starved_process_is_its_starvation() {
    let at = |t: &str| t.parse::<Timestamp>().ok();
    let pool = Signal {
        source: "signoz.log_patterns".into(),
        at: at("2026-01-23T18:45:18Z"),
        detail: "assignment failed — redis: connection pool timeout".into(),
        ..signal("rider-dispatch", "connection_pool_exhausted", 5.7)
    };
    let throttled = Signal {
        source: "signoz.query_metric".into(),
        at: at("2026-01-23T18:39:30Z"),
        ..signal("rider-dispatch", "cpu_throttling", 4.0)
    };
    let reach = Reach {
        degraded: vec!["rider-dispatch".into()],
        first_symptom: at("2026-01-23T18:45:19Z"),
        ..Reach::default()
    };
    let ranked = rank(&scope(), &[pool.clone(), throttled.clone()], &reach);
    assert_eq!(ranked[0].kind, "cpu_throttling", "{ranked:?}");
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    let later = Signal {
        at: at("2026-01-23T18:50:00Z"),
        ..throttled
    };
    let ranked = rank(&scope(), &[pool, later], &reach);
    assert_eq!(ranked[0].kind, "connection_pool_exhausted", "{ranked:?}");
}

#[test]
fn a_measured_starvation_explains_its_own_slowness_and_its_callers_waits() {
    let at = |t: &str| t.parse::<Timestamp>().ok();
    // The service logs its own slowness (a reason for nothing), its
    // callers log a read that timed out (the detail cut before saying
    // so), and its CPU throttling rose by a metric two minutes before.
    let slow = Signal {
        source: "signoz.log_patterns".into(),
        at: at("2026-04-21T14:24:00Z"),
        detail: "NEW log template in pass-predictor: visibility took 1.03s (budget 1.0s)".into(),
        ..signal("pass-predictor", "latency_regression", 5.2)
    };
    let waits = Signal {
        source: "signoz.log_patterns".into(),
        at: at("2026-04-21T14:26:00Z"),
        detail: "NEW log template in contact-scheduler: ResourceAccessException: I/O er".into(),
        ..signal("pass-predictor", "dependency_unreachable", 5.0)
    };
    let throttled = Signal {
        source: "signoz.query_metric".into(),
        at: at("2026-04-21T14:22:40Z"),
        ..signal("pass-predictor", "cpu_throttling", 4.0)
    };
    let reach = Reach {
        path: vec!["contact-scheduler".into(), "pass-predictor".into()],
        degraded: vec!["pass-predictor".into()],
        first_symptom: at("2026-04-21T14:24:00Z"),
        ..Reach::default()
    };
    let all = [slow.clone(), waits.clone(), throttled.clone()];
    let ranked = rank(&scope(), &all, &reach);
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    assert_eq!(ranked[0].kind, "cpu_throttling", "{ranked:?}");
    // Throttling that rose only after the slowness began is not why.
    let late = Signal {
        at: at("2026-04-21T14:40:00Z"),
        ..throttled.clone()
    };
    let ranked = rank(&scope(), &[slow.clone(), waits.clone(), late], &reach);
    assert_ne!(ranked[0].kind, "cpu_throttling", "{ranked:?}");
    // Callers turned away (refused) are not waiting on a slow service.
    let refused = Signal {
        detail: "dial tcp 10.0.3.4:8000: connect: connection refused".into(),
        ..waits
    };
    let ranked = rank(&scope(), &[slow, refused, throttled], &reach);
    assert!(
        ranked
            .iter()
            .any(|g| g.kind == "dependency_unreachable" && g.score > 0.0),
        "{ranked:?}"
    );
}

#[test]
fn a_node_under_pressure_is_named_evicted_a_node_gone_is_not() {
    let node = |details: &[&str]| Suspect {
        component: "node-a".into(),
        kind: "node_failure",
        score: 1.0,
        signals: details
            .iter()
            .map(|d| Signal {
                detail: (*d).into(),
                ..signal("node-a", "node_failure", 2.0)
            })
            .collect(),
    };
    // The kubelet evicts to relieve its disk: pressure.
    assert!(pressure_not_failure(&node(&[
        "CRITICAL Node/node-a: DiskPressure — kubelet has disk pressure",
        "event EvictionThresholdMet on Node/node-a: Attempting to reclaim ephemeral-storage",
    ])));
    // It had pressure, then stopped posting: a failure.
    assert!(!pressure_not_failure(&node(&[
        "CRITICAL Node/node-a: DiskPressure — kubelet has disk pressure",
        "CRITICAL Node/node-a: NotReady — Kubelet stopped posting node status",
    ])));
    // Nothing says which: left as it is.
    assert!(!pressure_not_failure(&node(&[
        "event Rebooted on Node/node-a"
    ])));
}

/// A batch Job that failed for a reason of its own (its bucket denied it),
/// named by nothing the alert's service does, is another page's story: a
/// weaker cause that reaches the service leads. Named by the alert, it is
/// this one's.
#[test]
fn an_unrelated_jobs_own_failure_is_another_story() {
    let mut job = signal("sitemap-builder", "job_failed", 3.0);
    job.detail = "consequence: Job/sitemap-builder-1: BackoffLimitExceeded".into();
    let signals = vec![
        signal("sitemap-builder", "authorization_denied", 6.0),
        job,
        signal("listing-api", "bad_deploy", 3.0),
    ];
    let reach = Reach {
        peers: vec!["listing-api".into()],
        ..Reach::default()
    };
    let mut scope = scope();
    scope.service = Some("web-ssr".into());
    let ranked = rank(&scope, &signals, &reach);
    assert_eq!(ranked[0].component, "listing-api", "{ranked:?}");
    // The alert names the Job: its failure is the alert's.
    scope.alert_words = vec!["sitemap-builder".into()];
    let ranked = rank(&scope, &signals, &reach);
    assert_eq!(ranked[0].component, "sitemap-builder", "{ranked:?}");
}
