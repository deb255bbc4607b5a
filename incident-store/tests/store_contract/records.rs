//! The store's contract on what it keeps: Slack bookkeeping, search and
//! listing, memory of past incidents, runbooks and the audit log.

use std::time::Duration;

use incident_store::{
    Backend, IncidentFilter, IncidentStatus, MARK_END, MARK_START, StoreError, Verdict,
};
use sre_orchestrator::alert::{ANN_SLACK_CHANNEL, ANN_SLACK_THREAD};
use sre_orchestrator::router::Category;

use super::*;

pub async fn slack_message_bookkeeping(backend: Backend) {
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

pub async fn search_and_list(backend: Backend) {
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

    let ids = |v: Vec<incident_store::SearchHit>| {
        v.into_iter().map(|h| h.incident.id).collect::<Vec<_>>()
    };
    // Each hit says where it matched, the words found marked.
    let hits = s.search("expiring", 10).await.unwrap();
    let snippet = &hits[0].snippet;
    let marked = format!(
        "{}expired{}",
        incident_store::MARK_START,
        incident_store::MARK_END
    );
    assert!(snippet.contains(&marked), "{snippet:?}");
    assert!(snippet.contains("TLS certificate"), "{snippet:?}");
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
    let only = |f: IncidentFilter| async move {
        s.list_incidents(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
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

pub async fn memory_prefers_confirmed(backend: Backend) {
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

pub async fn runbooks(backend: Backend) {
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
        hits[0]
            .snippet
            .contains(&format!("{MARK_START}memory{MARK_END}")),
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

pub async fn audit_log(backend: Backend) {
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

pub async fn slack_thread_lookup(backend: Backend) {
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

pub async fn memory_names_what_fixed_it(backend: Backend) {
    use sre_orchestrator::rca::{Remediation, Risk};
    let env = open(backend, options()).await;
    let s = &env.store;
    let step = |action: &str| Remediation {
        action: action.into(),
        risk: Risk::Low,
        command: None,
        tool: None,
    };
    let mut r = rca("oom", "cart", "oom_killed", "cart OOMKilled", "3 restarts");
    r.remediation = vec![
        step("Raise cart's memory limit"),
        step("Roll cart back to revision 41"),
    ];
    let args = serde_json::json!({"kind": "deployment", "name": "cart"});
    // The first time: the scale-up failed, the rollback worked.
    let fixed = investigate(s, &firing("PodCrash", "cart", "fp-fix-1"), &r).await;
    s.start_remediation(fixed, 0, "k8s.scale", &args, "U1")
        .await
        .unwrap();
    s.finish_remediation(fixed, 0, false, "forbidden")
        .await
        .unwrap();
    s.start_remediation(fixed, 1, "k8s.rollout_undo", &args, "U1")
        .await
        .unwrap();
    s.finish_remediation(fixed, 1, true, "rolled back")
        .await
        .unwrap();
    // Another time: only a run that never finished, which fixed nothing.
    let unfinished = investigate(s, &firing("PodCrash", "cart", "fp-fix-2"), &r).await;
    s.start_remediation(unfinished, 1, "k8s.rollout_undo", &args, "U1")
        .await
        .unwrap();

    let past = s
        .similar_incidents(&firing("PodCrash", "cart", "fp-fix-3"), 5)
        .await
        .unwrap();
    let by_id = |id: i64| past.iter().find(|p| p.incident_id == id).unwrap();
    assert_eq!(
        by_id(fixed).fixed_by.as_deref(),
        Some("Roll cart back to revision 41 (ran k8s.rollout_undo)")
    );
    assert_eq!(by_id(unfinished).fixed_by, None);
}
