//! The operations against the `shop-300` snapshot, through the real `kube` client.
//!
//! No real Kubernetes API server can run on the machines these tests run on: each test
//! starts the crate's fixture API server on 127.0.0.1 (port 0) and talks to it over HTTP
//! with `kube::Client`, the same code path as against a live cluster. `insta` snapshots
//! record what people read; the assertions check facts computed independently from the
//! fixture's raw JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use mcp_kubernetes::ops::{describe, events, health, history, list, logs, usage, write};
use mcp_kubernetes::{K8sError, Policy};
use serde_json::Value;

const SECRETS: [&str; 3] = ["hunter2", "aHVudGVyMg", "c2stbGl2ZS1h"];

fn raw_pods() -> Vec<Value> {
    let text = std::fs::read_to_string(common::shop_dir().join("pods.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["items"].as_array().unwrap().clone()
}

/// The reason kubectl would show, computed directly from the raw JSON (independently of the crate).
fn raw_problem(p: &Value) -> Option<String> {
    let cs = p["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &cs {
        if let Some(r) = c["state"]["waiting"]["reason"].as_str() {
            return Some(r.to_string());
        }
        if let Some(r) = c["state"]["terminated"]["reason"].as_str() {
            return Some(r.to_string());
        }
    }
    let phase = p["status"]["phase"].as_str().unwrap_or("");
    if phase != "Running" {
        return Some(phase.to_string());
    }
    for c in &cs {
        if c["restartCount"].as_i64().unwrap_or(0) >= 3 {
            return Some(
                c["lastState"]["terminated"]["reason"]
                    .as_str()
                    .unwrap_or("restarts")
                    .to_string(),
            );
        }
        if c["ready"].as_bool() != Some(true) {
            return Some("Running".to_string());
        }
    }
    None
}

fn lopts(kind: &str, output: list::Output) -> list::ListOptions {
    list::ListOptions {
        kind: kind.into(),
        namespace: Some("shop".into()),
        output,
        ..Default::default()
    }
}

#[tokio::test]
async fn default_pod_list_of_300_pods_is_small_and_names_every_unhealthy_pod() {
    let f = common::shop().await;
    let out = list::list(&f.target, &lopts("pods", list::Output::Table))
        .await
        .unwrap();
    let pods = raw_pods();
    assert_eq!(pods.len(), 300);
    let mut unhealthy = 0;
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        if let Some(reason) = raw_problem(p) {
            unhealthy += 1;
            let line = out
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
            assert!(
                line.contains(&reason),
                "{name} should show {reason}: {line}"
            );
        } else {
            assert!(
                !out.contains(name),
                "healthy pod {name} should be summarised, not listed"
            );
        }
    }
    assert!(unhealthy >= 15, "fixture plants failures");
    for owner in ["Deployment/web", "Deployment/api", "StatefulSet/postgres"] {
        assert!(out.contains(owner), "{owner} summary missing");
    }
    assert!(
        out.len() <= 20_000,
        "default pod list is {} bytes",
        out.len()
    );
    println!("default list of 300 pods: {} bytes", out.len());
    insta::assert_snapshot!("list_pods_shop", out);
}

#[tokio::test]
async fn no_output_mode_contains_a_planted_secret() {
    let f = common::shop().await;
    let mut outputs = Vec::new();
    for kind in [
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "controllerrevisions",
        "secrets",
        "configmaps",
        "jobs",
    ] {
        for output in [list::Output::Table, list::Output::Yaml, list::Output::Json] {
            outputs.push(list::list(&f.target, &lopts(kind, output)).await.unwrap());
        }
    }
    let crash = raw_pods()
        .into_iter()
        .find(|p| raw_problem(p).as_deref() == Some("CrashLoopBackOff"))
        .unwrap();
    for (kind, name) in [
        ("pod", crash["metadata"]["name"].as_str().unwrap()),
        ("deploy", "api"),
        ("sts", "postgres"),
        ("secret", "db-credentials"),
    ] {
        for output in [list::Output::Table, list::Output::Yaml, list::Output::Json] {
            let o = describe::DescribeOptions {
                kind: kind.into(),
                name: name.into(),
                namespace: Some("shop".into()),
                output,
            };
            outputs.push(describe::describe(&f.target, &o).await.unwrap());
        }
    }
    for (kind, name) in [("deploy", "api"), ("sts", "postgres")] {
        let o = history::HistoryOptions {
            kind: kind.into(),
            name: name.into(),
            namespace: Some("shop".into()),
        };
        outputs.push(history::rollout_history(&f.target, &o).await.unwrap());
    }
    let yaml_pods = &outputs[1];
    assert!(
        yaml_pods.len() > 100_000 && yaml_pods.contains("DB_PASSWORD"),
        "yaml mode keeps env names"
    );
    assert!(
        !yaml_pods.contains("managedFields") && !yaml_pods.contains("last-applied-configuration")
    );
    for out in &outputs {
        for secret in SECRETS {
            assert!(
                !out.contains(secret),
                "{secret} leaked in:\n{}",
                &out[..out.len().min(3000)]
            );
        }
    }
}

#[tokio::test]
async fn secrets_are_refused_unless_enabled() {
    let f = common::shop_with(Policy::default()).await;
    let err = list::list(&f.target, &lopts("secrets", list::Output::Table))
        .await
        .unwrap_err();
    assert!(matches!(err, K8sError::SecretsDisabled), "{err}");
    let o = describe::DescribeOptions {
        kind: "secret".into(),
        name: "db-credentials".into(),
        namespace: Some("shop".into()),
        ..Default::default()
    };
    assert!(matches!(
        describe::describe(&f.target, &o).await.unwrap_err(),
        K8sError::SecretsDisabled
    ));
}

#[tokio::test]
async fn workload_health_finds_every_planted_failure() {
    let f = common::shop().await;
    let o = health::HealthOptions {
        namespace: Some("shop".into()),
        ..Default::default()
    };
    let report = health::health_findings(&f.target, &o).await.unwrap();
    let has = |object: &str, reason: &str| {
        report
            .findings
            .iter()
            .any(|x| x.object.starts_with(object) && x.reason == reason)
    };
    assert!(has("Deployment/api (pods)", "CrashLoopBackOff"));
    assert!(has("Deployment/api", "ProgressDeadlineExceeded"));
    assert!(has("Deployment/cart (pods)", "OOMKilled"));
    assert!(has("Deployment/search (pods)", "ImagePullBackOff"));
    assert!(has("Deployment/worker (pods)", "Unschedulable"));
    assert!(has("Deployment/recommender (pods)", "ProbeFailing"));
    assert!(has("Job/db-migrate", "JobFailed"));
    assert!(has("PersistentVolumeClaim/uploads", "PVCPending"));
    assert!(has("Node/node-6", "NodeNotReady"));
    assert!(has("Node/node-5", "MemoryPressure"));
    assert!(has("HorizontalPodAutoscaler/web", "HPAAtMax"));
    assert!(has("Service/legacy-gateway", "NoReadyEndpoints"));
    assert!(has("Certificate/shop-tls", "CertificateNotReady"));
    assert!(
        !report
            .findings
            .iter()
            .any(|x| x.object.contains("Deployment/web (pods)")),
        "web is healthy"
    );
    let unsched = report
        .findings
        .iter()
        .find(|x| x.reason == "Unschedulable")
        .unwrap();
    assert!(
        unsched
            .evidence
            .iter()
            .any(|e| e.contains("Insufficient memory")),
        "scheduler reason is evidence"
    );
    assert!(
        report
            .findings
            .windows(2)
            .all(|w| w[0].severity <= w[1].severity),
        "most severe first"
    );
    let text = health::workload_health(&f.target, &o).await.unwrap();
    insta::assert_snapshot!("health_shop", text);
}

#[tokio::test]
async fn describe_shows_crash_facts_and_owner_chain() {
    let f = common::shop().await;
    let crash = raw_pods()
        .into_iter()
        .find(|p| {
            raw_problem(p).as_deref() == Some("CrashLoopBackOff")
                && p["metadata"]["name"].as_str().unwrap().starts_with("api-")
        })
        .unwrap();
    let name = crash["metadata"]["name"].as_str().unwrap();
    let o = describe::DescribeOptions {
        kind: "po".into(),
        name: name.into(),
        namespace: Some("shop".into()),
        ..Default::default()
    };
    let out = describe::describe(&f.target, &o).await.unwrap();
    assert!(
        out.contains("owners: ReplicaSet/api-7f9c6d5b48 → Deployment/api"),
        "{out}"
    );
    assert!(out.contains("Error exit 1"), "{out}");
    assert!(out.contains("CrashLoopBackOff"));
    // Settings show their values; DB_PASSWORD's is hidden.
    assert!(out.contains("env (secret-looking values hidden): DB_PASSWORD, LOG_LEVEL=info, SERVICE_NAME=api, API_TOKEN(secret db-credentials/api-token)"), "{out}");
    // 61 + 4 BackOff occurrences recorded in two Event objects become one line.
    let backoff: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("Warning  BackOff"))
        .collect();
    assert_eq!(backoff.len(), 1, "{out}");
    assert!(backoff[0].contains(" 65 "), "{}", backoff[0]);
    insta::assert_snapshot!("describe_pod_crashloop", out);

    let o = describe::DescribeOptions {
        kind: "Deployment".into(),
        name: "api".into(),
        namespace: Some("shop".into()),
        ..Default::default()
    };
    let out = describe::describe(&f.target, &o).await.unwrap();
    assert!(out.contains("rollout: STUCK"), "{out}");
    assert!(out.contains("api-7f9c6d5b48  3"), "{out}");
    insta::assert_snapshot!("describe_deployment_api", out);
}

#[tokio::test]
async fn list_custom_resources_and_cluster_kinds_via_discovery() {
    let f = common::shop().await;
    let out = list::list(
        &f.target,
        &lopts("certificates.cert-manager.io", list::Output::Table),
    )
    .await
    .unwrap();
    assert!(out.contains("shop-tls") && out.contains("False"), "{out}");
    let out2 = list::list(&f.target, &lopts("cert", list::Output::Table))
        .await
        .unwrap();
    assert_eq!(out, out2, "short names resolve through discovery");
    let nodes = list::list(&f.target, &lopts("nodes", list::Output::Table))
        .await
        .unwrap();
    assert!(
        nodes.contains("node-6  NotReady") && nodes.contains("MemoryPressure"),
        "{nodes}"
    );
    let err = list::list(&f.target, &lopts("widgets", list::Output::Table))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown resource type \"widgets\""),
        "{err}"
    );
    let sel = list::ListOptions {
        label_selector: Some("app=api".into()),
        field_selector: Some("status.phase=Running".into()),
        ..lopts("pods", list::Output::Table)
    };
    let out = list::list(&f.target, &sel).await.unwrap();
    assert!(out.contains("60 pods: 5 need attention"), "{out}");
    insta::assert_snapshot!(
        "list_deployments",
        list::list(&f.target, &lopts("deploy", list::Output::Table))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn logs_previous_grep_tail_since_and_patterns() {
    let f = common::shop().await;
    let crash = raw_pods()
        .into_iter()
        .find(|p| {
            raw_problem(p).as_deref() == Some("CrashLoopBackOff")
                && p["metadata"]["name"].as_str().unwrap().starts_with("api-")
        })
        .unwrap();
    let pod = crash["metadata"]["name"].as_str().unwrap().to_string();
    let base = logs::LogsOptions {
        namespace: Some("shop".into()),
        pod: pod.clone(),
        previous: true,
        ..Default::default()
    };
    let out = logs::logs(
        &f.target,
        &logs::LogsOptions {
            grep: Some("error|panic".into()),
            ..base.clone()
        },
    )
    .await
    .unwrap();
    assert!(out.contains("2 of 43 lines matched"), "{out}");
    assert!(out.contains("ERROR panic: config key payments.endpoint missing"));
    assert!(
        out.contains("<untrusted-data"),
        "log text is framed as untrusted"
    );
    let out = logs::logs(
        &f.target,
        &logs::LogsOptions {
            tail: Some(3),
            ..base.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("ERROR") || l.contains("INFO"))
            .count(),
        3,
        "{out}"
    );
    let current = logs::logs(
        &f.target,
        &logs::LogsOptions {
            previous: false,
            ..base.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        current.contains("(no log lines in this window)"),
        "{current}"
    );
    let web = raw_pods()
        .into_iter()
        .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with("web-"))
        .unwrap();
    let web = web["metadata"]["name"].as_str().unwrap().to_string();
    let wb = logs::LogsOptions {
        namespace: Some("shop".into()),
        pod: web,
        ..Default::default()
    };
    let recent = logs::logs(
        &f.target,
        &logs::LogsOptions {
            since: Some("10m".into()),
            tail: Some(1000),
            ..wb.clone()
        },
    )
    .await
    .unwrap();
    let all = logs::logs(
        &f.target,
        &logs::LogsOptions {
            tail: Some(1000),
            ..wb.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        all.contains("301 lines") && recent.contains("51 lines"),
        "{recent}"
    );
    let capped = logs::logs(
        &f.target,
        &logs::LogsOptions {
            tail: Some(1000),
            max_bytes: Some(1000),
            ..wb.clone()
        },
    )
    .await
    .unwrap();
    assert!(
        capped.contains("older lines dropped by max_bytes=1000")
            && capped.contains("loaded config"),
        "newest lines kept"
    );
    let patterns = logs::logs(
        &f.target,
        &logs::LogsOptions {
            mode: logs::LogMode::Patterns,
            tail: Some(1000),
            ..wb
        },
    )
    .await
    .unwrap();
    let raw = std::fs::read_to_string(
        common::shop_dir().join(format!("logs/shop/{}/web.log", wb_pod(&patterns))),
    )
    .unwrap();
    let gets = raw
        .lines()
        .filter(|l| l.contains(" INFO GET /products/"))
        .count();
    assert!(
        patterns.contains(&format!("{gets:>7}  INFO GET <*>")),
        "{gets} GET lines expected in:\n{patterns}"
    );
    insta::assert_snapshot!("logs_patterns_web", patterns);
    let bad = logs::logs(
        &f.target,
        &logs::LogsOptions {
            container: Some("nope".into()),
            ..base
        },
    )
    .await
    .unwrap_err();
    assert!(
        bad.to_string().contains("has no container \"nope\""),
        "{bad}"
    );
}

fn wb_pod(out: &str) -> String {
    out.split_whitespace()
        .nth(2)
        .unwrap()
        .trim_start_matches("shop/")
        .to_string()
}

#[tokio::test]
async fn events_are_filtered_deduplicated_and_newest_first() {
    let f = common::shop().await;
    let o = events::EventsOptions {
        namespace: Some("shop".into()),
        object: Some("pvc/uploads".into()),
        ..Default::default()
    };
    let out = events::events(&f.target, &o).await.unwrap();
    assert!(
        out.contains("ProvisioningFailed")
            && out.contains("1 groups from 1 events (22 occurrences)"),
        "{out}"
    );
    let o = events::EventsOptions {
        namespace: Some("shop".into()),
        event_type: Some("Normal".into()),
        ..Default::default()
    };
    let out = events::events(&f.target, &o).await.unwrap();
    assert!(
        !out.contains("Warning") && out.contains("ScalingReplicaSet"),
        "{out}"
    );
    let o = events::EventsOptions {
        namespace: Some("shop".into()),
        since: Some("1m".into()),
        ..Default::default()
    };
    let recent = events::events(&f.target, &o).await.unwrap();
    assert!(
        recent.contains("Unhealthy") && !recent.contains("ScalingReplicaSet"),
        "{recent}"
    );
    let ages: Vec<i64> = recent
        .lines()
        .skip(2)
        .filter_map(|l| {
            l.split_whitespace()
                .next()?
                .trim_end_matches('s')
                .parse()
                .ok()
        })
        .collect();
    assert!(
        ages.windows(2).all(|w| w[0] <= w[1]),
        "newest first: {ages:?}"
    );
    insta::assert_snapshot!("events_recent", recent);
}

#[tokio::test]
async fn rollout_history_shows_what_changed() {
    let f = common::shop().await;
    let o = history::HistoryOptions {
        kind: "deployment".into(),
        name: "api".into(),
        namespace: Some("shop".into()),
    };
    let out = history::rollout_history(&f.target, &o).await.unwrap();
    assert!(
        out.contains("2 → 3") && out.contains("api image shop/api:3.0.2 → shop/api:3.1.0"),
        "{out}"
    );
    assert!(out.contains("env value changed: DB_PASSWORD (values hidden)"));
    insta::assert_snapshot!("history_api", out);
    let o = history::HistoryOptions {
        kind: "sts".into(),
        name: "postgres".into(),
        namespace: Some("shop".into()),
    };
    let out = history::rollout_history(&f.target, &o).await.unwrap();
    assert!(
        out.contains("postgres image postgres:16.2 → postgres:16.3") && out.contains("current 2"),
        "{out}"
    );
    let o = history::HistoryOptions {
        kind: "pods".into(),
        name: "x".into(),
        namespace: Some("shop".into()),
    };
    assert!(history::rollout_history(&f.target, &o).await.is_err());
}

#[tokio::test]
async fn resource_usage_from_metrics_api() {
    let f = common::shop().await;
    let o = usage::UsageOptions {
        namespace: Some("shop".into()),
        limit: Some(5),
        ..Default::default()
    };
    let out = usage::resource_usage(&f.target, &o).await.unwrap();
    let first = out.lines().nth(2).unwrap();
    assert!(
        first.starts_with("cart-") && first.contains("98%"),
        "OOM-prone cart pods top the memory list: {out}"
    );
    let o = usage::UsageOptions {
        kind: usage::UsageKind::Nodes,
        ..Default::default()
    };
    let out = usage::resource_usage(&f.target, &o).await.unwrap();
    assert!(out.lines().nth(2).unwrap().starts_with("node-5"), "{out}");
    insta::assert_snapshot!("usage_nodes", out);
}

/// A mesh sidecar without a CPU limit leaves the pod with none; the app
/// container held at its own limit still shows, marked as the share of the
/// containers that set one.
#[tokio::test]
async fn resource_usage_shows_the_limited_containers_beside_an_unlimited_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snapshot.yaml"),
        "capturedAt: 2026-08-26T00:48:00Z\ncontext: mine\n",
    )
    .unwrap();
    let container = |name: &str, cpu: Option<&str>| {
        let mut c = serde_json::json!({"name": name, "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}});
        if let Some(cpu) = cpu {
            c["resources"]["limits"] = serde_json::json!({"cpu": cpu, "memory": "4Gi"});
        }
        c
    };
    let pods = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "items": [
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "solver-1", "namespace": "dispatch"},
         "spec": {"containers": [container("solver", Some("4")), container("linkerd-proxy", None)]},
         "status": {"phase": "Running"}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "api-1", "namespace": "dispatch"},
         "spec": {"containers": [container("api", Some("1"))]},
         "status": {"phase": "Running"}},
    ]});
    let usage = |pod: &str, containers: serde_json::Value| {
        serde_json::json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": "dispatch"},
            "timestamp": "2026-08-26T00:47:45Z", "window": "30s", "containers": containers})
    };
    let metrics = serde_json::json!([
        usage(
            "solver-1",
            serde_json::json!([
            {"name": "solver", "usage": {"cpu": "3990m", "memory": "1Gi"}},
            {"name": "linkerd-proxy", "usage": {"cpu": "40m", "memory": "30Mi"}}])
        ),
        usage(
            "api-1",
            serde_json::json!([{"name": "api", "usage": {"cpu": "250m", "memory": "512Mi"}}])
        ),
    ]);
    std::fs::write(dir.path().join("pods.json"), pods.to_string()).unwrap();
    std::fs::write(dir.path().join("metrics.json"), metrics.to_string()).unwrap();
    let snap = mcp_kubernetes::snapshot::Snapshot::load(dir.path()).unwrap();
    let server = mcp_kubernetes::snapshot::FixtureServer::start(snap)
        .await
        .unwrap();
    let target = mcp_kubernetes::Target::new(server.client().unwrap(), "mine");
    let o = usage::UsageOptions {
        namespace: Some("dispatch".into()),
        sort_by: usage::SortBy::Cpu,
        ..Default::default()
    };
    let out = usage::resource_usage(&target, &o).await.unwrap();
    let solver = out.lines().find(|l| l.starts_with("solver-1")).unwrap();
    // 3990m of the solver's 4 cores; the sidecar's 40m counts in CPU.
    assert!(
        solver.contains("4030m") && solver.contains("100%*"),
        "{out}"
    );
    // Memory: 1 GiB of the solver's 4 GiB, the only container with a limit.
    assert!(solver.contains("25%*"), "{out}");
    let api = out.lines().find(|l| l.starts_with("api-1")).unwrap();
    assert!(api.contains("25%") && !api.contains('*'), "{out}");
    assert!(
        out.contains("* of the containers that set a limit"),
        "{out}"
    );
}

#[tokio::test]
async fn namespace_policy_is_enforced_for_reads() {
    let f = common::shop_with(Policy {
        deny_namespaces: vec!["shop".into()],
        ..Policy::default()
    })
    .await;
    let err = list::list(&f.target, &lopts("pods", list::Output::Table))
        .await
        .unwrap_err();
    assert!(matches!(err, K8sError::NamespaceDenied { .. }), "{err}");
    let all = list::list(
        &f.target,
        &list::ListOptions {
            kind: "pods".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        !all.contains("api-") && all.contains("hidden by this server's namespace policy"),
        "{all}"
    );
    let ns = mcp_kubernetes::ops::namespaces::namespaces(&f.target)
        .await
        .unwrap();
    assert!(!ns.contains("shop ") && ns.contains("payments"), "{ns}");
    let f = common::shop_with(Policy {
        allow_namespaces: vec!["payments".into()],
        ..Policy::default()
    })
    .await;
    let h = health::workload_health(&f.target, &health::HealthOptions::default())
        .await
        .unwrap();
    assert!(h.contains("checked 0 pods"), "{h}");
}

#[tokio::test]
async fn writes_change_the_cluster_and_respect_the_write_allowlist() {
    let f = common::shop().await;
    let t = &f.target;
    let w = |kind: &str, name: &str| write::WorkloadRef {
        kind: kind.into(),
        name: name.into(),
        namespace: Some("shop".into()),
    };
    let out = write::scale(
        t,
        &write::ScaleOptions {
            workload: w("deploy", "worker"),
            replicas: 22,
        },
    )
    .await
    .unwrap();
    assert!(out.contains("from 25 to 22"), "{out}");
    let d = list::list(t, &lopts("deploy", list::Output::Json))
        .await
        .unwrap();
    assert!(
        d.lines()
            .any(|l| l.contains("\"name\":\"worker\"") && l.contains("\"replicas\":22")),
        "scale applied"
    );
    write::rollout_restart(t, &w("deploy", "web"))
        .await
        .unwrap();
    let web = describe::describe(
        t,
        &describe::DescribeOptions {
            kind: "deploy".into(),
            name: "web".into(),
            namespace: Some("shop".into()),
            output: list::Output::Json,
        },
    )
    .await
    .unwrap();
    assert!(web.contains("kubectl.kubernetes.io/restartedAt"));
    let out = write::rollout_undo(
        t,
        &write::UndoOptions {
            workload: w("deploy", "api"),
            to_revision: None,
        },
    )
    .await
    .unwrap();
    assert!(
        out.contains("to revision 2") && out.contains("api image shop/api:3.1.0 → shop/api:3.0.2"),
        "{out}"
    );
    let api = describe::describe(
        t,
        &describe::DescribeOptions {
            kind: "deploy".into(),
            name: "api".into(),
            namespace: Some("shop".into()),
            output: list::Output::Json,
        },
    )
    .await
    .unwrap();
    assert!(
        api.contains("shop/api:3.0.2")
            && api.contains("FEATURE_CHECKOUT_V2")
            && !api.contains("PAYMENTS_ENDPOINT_FILE"),
        "{api}"
    );
    let crash = raw_pods()
        .into_iter()
        .find(|p| raw_problem(p).as_deref() == Some("CrashLoopBackOff"))
        .unwrap();
    let pod = crash["metadata"]["name"].as_str().unwrap().to_string();
    let out = write::delete_pod(
        t,
        &write::DeletePodOptions {
            pod: pod.clone(),
            namespace: Some("shop".into()),
        },
    )
    .await
    .unwrap();
    assert!(out.contains("will create a replacement"), "{out}");
    let o = describe::DescribeOptions {
        kind: "pod".into(),
        name: pod.clone(),
        namespace: Some("shop".into()),
        ..Default::default()
    };
    assert!(matches!(
        describe::describe(t, &o).await.unwrap_err(),
        K8sError::NotFound { .. }
    ));

    let f = common::shop_with(Policy {
        write_namespaces: vec!["payments".into()],
        ..Policy::default()
    })
    .await;
    let err = write::scale(
        &f.target,
        &write::ScaleOptions {
            workload: w("deploy", "web"),
            replicas: 0,
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("writes allowed only in: payments"),
        "{err}"
    );
}
