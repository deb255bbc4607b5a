//! The server as hosts see it: the kit's conformance harness over the real binary serving
//! the snapshot, the kit's redaction and budget over tool output, lazy connection, clear
//! errors for unreachable clusters and RBAC denials, and the snapshot folder formats.
//!
//! No real API server can run here; the fixture API server (127.0.0.1, port 0) stands in.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

#[allow(dead_code)]
#[path = "../../fixtures/k8s/generate.rs"]
mod generate;

use std::sync::Arc;

use mcp_kit::rmcp::model::{CallToolResult, ContentBlock};
use mcp_kit::{Budget, Guarded, ToolPolicy};
use mcp_kubernetes::clusters::{Clusters, ConnectOptions};
use mcp_kubernetes::ops::{list, logs};
use mcp_kubernetes::server::KubeServer;
use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use mcp_kubernetes::{K8sError, Policy, Target};
use serde_json::json;

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

async fn snapshot_server(policy: Policy) -> KubeServer {
    let opts = ConnectOptions {
        snapshot: Some(common::shop_dir()),
        ..Default::default()
    };
    KubeServer::new(Arc::new(Clusters::connect(&opts, policy).await.unwrap()))
}

#[test]
fn conforms_with_official_mcp_clients_over_stdio_and_http() {
    let report = mcp_kit::conformance::Conformance::new(env!("CARGO_BIN_EXE_mcp-kubernetes"))
        .arg("--snapshot")
        .arg(common::shop_dir().to_string_lossy().to_string())
        .call("contexts", json!({}))
        .call("list", json!({"kind": "pods", "namespace": "shop"}))
        .call("workload_health", json!({"namespace": "shop"}))
        .call("workload_health", json!({"min_severity": "critical"}))
        .call(
            "events",
            json!({"reasons": "FailedScheduling,BackOff", "event_type": "Warning"}),
        )
        .call("nodes", json!({"problems_only": true}))
        // A host that sends null for an optional argument is still understood.
        .call(
            "list",
            json!({"kind": "pods", "node": "node-5", "namespace": null}),
        )
        .invalid("list", json!({"namespace": "shop"}), "kind")
        .invalid("logs", json!({"pod": "x", "tail": "many"}), "tail")
        .write_tool("scale")
        .write_tool("delete_pod")
        .run_all()
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "PASS schemas",
        "PASS portable-schemas",
        "PASS clean-close",
        "Inspector portable schemas: ok",
        "PASS absent:scale",
        "PASS present:delete_pod",
        "PASS unauthorized",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

#[tokio::test]
async fn write_tools_are_hidden_without_allow_writes_and_annotated_destructive() {
    let server = snapshot_server(Policy::default()).await;
    let ro = Guarded::new(server.clone(), &ToolPolicy::default(), Budget::default()).unwrap();
    let names: Vec<String> = ro
        .exposed_tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "contexts",
            "describe",
            "events",
            "list",
            "logs",
            "namespaces",
            "nodes",
            "resource_usage",
            "rollout_history",
            "workload_health"
        ]
    );
    let rw = Guarded::new(
        server,
        &ToolPolicy {
            allow_writes: true,
            ..Default::default()
        },
        Budget::default(),
    )
    .unwrap();
    for t in rw.exposed_tools() {
        let a = t.annotations.clone().unwrap();
        let write =
            ["rollout_restart", "scale", "rollout_undo", "delete_pod"].contains(&t.name.as_ref());
        assert_eq!(a.read_only_hint, Some(!write), "{}", t.name);
        if write {
            assert_eq!(a.destructive_hint, Some(true), "{}", t.name);
        }
        let schema = serde_json::Value::Object((*t.input_schema).clone());
        if t.name != "contexts" {
            assert!(
                schema["properties"]["context"]["description"].is_string(),
                "{} takes a documented context",
                t.name
            );
        }
    }
}

#[tokio::test]
async fn kit_redaction_and_budget_apply_to_tool_output() {
    let server = snapshot_server(Policy::default()).await;
    let guarded = Guarded::new(server.clone(), &ToolPolicy::default(), Budget::default()).unwrap();
    let t = server.clusters().target(None).await.unwrap();
    let pods = list::list(
        &t,
        &list::ListOptions {
            kind: "pods".into(),
            namespace: Some("shop".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let web = pods.lines().find(|l| l.contains("Deployment/web")).unwrap();
    assert!(web.contains("125"));
    // The web pod that has logs.
    let dir = common::shop_dir().join("logs/shop");
    let pod = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .find(|n| n.starts_with("web-"))
        .unwrap();
    let raw = logs::logs(
        &t,
        &logs::LogsOptions {
            namespace: Some("shop".into()),
            pod,
            tail: Some(5),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // The planted secret is in the recorded log; the tool masks it before it
    // picks lines (so no tail can start inside a secret), and the kit again.
    assert!(
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|d| std::fs::read_dir(d.path())
                .unwrap()
                .filter_map(Result::ok)
                .any(|f| std::fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .contains("DB_PASSWORD=hunter2"))),
        "the planted secret is in the log itself"
    );
    assert!(!raw.contains("hunter2"), "{raw}");
    let out = text(&guarded.finish(CallToolResult::success(vec![ContentBlock::text(raw)])));
    assert!(
        !out.contains("hunter2") && out.contains("DB_PASSWORD=[REDACTED"),
        "{out}"
    );
    // yaml of 300 pods is far over the budget: cut honestly.
    let yaml = list::list(
        &t,
        &list::ListOptions {
            kind: "pods".into(),
            namespace: Some("shop".into()),
            output: list::Output::Yaml,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let out = text(
        &guarded.finish(CallToolResult::success(vec![ContentBlock::text(
            yaml.clone(),
        )])),
    );
    assert!(
        out.len() < yaml.len() / 10 && out.contains("[truncated"),
        "{}",
        &out[out.len().saturating_sub(400)..]
    );
}

#[tokio::test]
async fn connection_is_lazy_and_unreachable_clusters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\nclusters:\n- name: eu\n  cluster: {server: \"http://127.0.0.1:9\"}\n- name: us\n  cluster: {server: \"http://127.0.0.1:9\"}\ncontexts:\n- name: prod-eu\n  context: {cluster: eu, user: u, namespace: shop}\n- name: prod-us\n  context: {cluster: us, user: u}\nusers:\n- name: u\n  user: {token: abc}\n").unwrap();
    let opts = ConnectOptions {
        kubeconfig: Some(kc),
        timeout: Some(std::time::Duration::from_secs(3)),
        ..Default::default()
    };
    let clusters = Clusters::connect(&opts, Policy::default()).await.unwrap();
    let ctx = clusters.contexts();
    assert!(
        ctx.contains("*  prod-eu") && ctx.contains("prod-us"),
        "{ctx}"
    );
    let t = clusters.target(Some("prod-us")).await.unwrap();
    let err = list::list(
        &t,
        &list::ListOptions {
            kind: "pods".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, K8sError::Unreachable { .. })
            && msg.contains("\"prod-us\"")
            && msg.contains("127.0.0.1:9"),
        "{msg}"
    );
    let err = clusters.target(Some("nope")).await.unwrap_err();
    assert!(err.to_string().contains("prod-eu, prod-us"), "{err}");
}

/// The kubeconfig is parsed on first use, not at start; a `--context` its text lacks is still
/// a start-up error, and one that is there but is no context is reported on first use.
#[tokio::test]
async fn kubeconfig_is_parsed_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\nclusters:\n- name: eu\n  cluster: {server: \"http://127.0.0.1:9\"}\ncontexts:\n- name: prod-eu\n  context: {cluster: eu, user: u}\nusers:\n- name: u\n  user: {token: abc}\n").unwrap();
    let opts = |context: Option<&str>| ConnectOptions {
        kubeconfig: Some(kc.clone()),
        context: context.map(str::to_string),
        ..Default::default()
    };
    let err = Clusters::connect(&opts(Some("prod-us")), Policy::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("\"prod-us\" is not in the kubeconfig"),
        "{err}"
    );
    // "eu" occurs in the text (a cluster name): accepted at start, refused on use.
    let clusters = Clusters::connect(&opts(Some("eu")), Policy::default())
        .await
        .unwrap();
    let err = clusters.target(None).await.unwrap_err();
    assert!(err.to_string().contains("unknown context \"eu\""), "{err}");
    let clusters = Clusters::connect(&opts(None), Policy::default())
        .await
        .unwrap();
    assert_eq!(clusters.default_context(), Some("prod-eu"));
    // A file that does not parse: the server starts, and every use says why it cannot work.
    std::fs::write(&kc, "clusters: [unclosed\n").unwrap();
    let clusters = Clusters::connect(&opts(None), Policy::default())
        .await
        .unwrap();
    assert!(
        clusters
            .contexts()
            .starts_with("no clusters available: cannot read kubeconfig"),
        "{}",
        clusters.contexts()
    );
    let err = clusters.target(None).await.unwrap_err();
    assert!(err.to_string().contains("cannot read kubeconfig"), "{err}");
}

#[tokio::test]
async fn rbac_denials_name_the_verb_and_resource() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snapshot.yaml"),
        "context: restricted\nforbidden: [nodes, pods/log]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pods.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop, creationTimestamp: '2025-01-01T00:00:00Z'}\nspec: {containers: [{name: app, image: x}]}\nstatus: {phase: Running}\n").unwrap();
    let server = FixtureServer::start(Snapshot::load(dir.path()).unwrap())
        .await
        .unwrap();
    let t = Target::new(server.client().unwrap(), "restricted");
    let err = list::list(
        &t,
        &list::ListOptions {
            kind: "nodes".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("context \"restricted\"")
            && err.contains("verb \"list\" on resource \"nodes\" (cluster-wide)"),
        "{err}"
    );
    let err = logs::logs(
        &t,
        &logs::LogsOptions {
            namespace: Some("shop".into()),
            pod: "a".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("verb \"get\" on resource \"pods/log\" in namespace \"shop\""),
        "{err}"
    );
    // Health still runs, and says what it could not check.
    let h = mcp_kubernetes::ops::health::workload_health(&t, &Default::default())
        .await
        .unwrap();
    assert!(h.contains("# skipped nodes: forbidden"), "{h}");
    let err = mcp_kubernetes::ops::usage::resource_usage(&t, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, K8sError::MetricsUnavailable { .. }), "{err}");
}

#[tokio::test]
async fn kubectl_get_yaml_and_cluster_info_dump_layouts_load() {
    let dir = tempfile::tempdir().unwrap();
    // `kubectl get pods -A -o yaml` output.
    std::fs::write(dir.path().join("all.yaml"), "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: one, namespace: ns1, creationTimestamp: '2025-01-01T00:00:00Z'}\n  spec: {containers: [{name: c, image: i}]}\n  status: {phase: Running, containerStatuses: [{name: c, ready: true, restartCount: 0, state: {running: {}}}]}\n").unwrap();
    // `kubectl cluster-info dump --output-directory` layout: NS/pods.json (items without kind) and NS/POD/logs.txt.
    std::fs::create_dir_all(dir.path().join("ns2/two")).unwrap();
    std::fs::write(dir.path().join("ns2/pods.json"), r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"two","namespace":"ns2","creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"phase":"Pending"}}]}"#).unwrap();
    std::fs::write(dir.path().join("ns2/two/logs.txt"), "hello from the dump\n").unwrap();
    let server = FixtureServer::start(Snapshot::load(dir.path()).unwrap())
        .await
        .unwrap();
    let t = Target::new(server.client().unwrap(), "dump").with_clock(server.now().await);
    let out = list::list(
        &t,
        &list::ListOptions {
            kind: "pods".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        out.contains("ns1        one") && out.contains("ns2        two") && out.contains("Pending"),
        "{out}"
    );
    let l = logs::logs(
        &t,
        &logs::LogsOptions {
            namespace: Some("ns2".into()),
            pod: "two".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(l.contains("hello from the dump"), "{l}");
}

#[test]
fn checked_in_fixture_matches_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    generate::generate(dir.path());
    for f in [
        "cluster.json",
        "pods.json",
        "workloads.json",
        "events.json",
        "metrics.json",
        "snapshot.yaml",
    ] {
        let fresh = std::fs::read_to_string(dir.path().join(f)).unwrap();
        let repo = std::fs::read_to_string(common::shop_dir().join(f)).unwrap();
        assert!(
            fresh == repo,
            "{f} is stale: run `cargo run -p mcp-kubernetes --example gen-k8s-fixtures`"
        );
    }
}

/// An MCP host starts its servers at launch: nothing may reach the API server
/// before a tool is called (not even discovery). The listener stands in for
/// the API server and counts connections; the first call must reach it, or
/// the check proves nothing.
#[test]
fn no_connection_to_the_cluster_before_the_first_tool_call() {
    use mcp_kit::conformance::{CountingBackend, backend_untouched_until_first_call};
    let api = CountingBackend::bind().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: c\n  cluster: {{server: \"http://{}\"}}\ncontexts:\n- name: prod\n  context: {{cluster: c, user: u, namespace: shop}}\nusers:\n- name: u\n  user: {{token: abc}}\n",
            api.addr().unwrap()
        ),
    )
    .unwrap();
    let report = backend_untouched_until_first_call(
        env!("CARGO_BIN_EXE_mcp-kubernetes").as_ref(),
        &["--kubeconfig", &kc.to_string_lossy(), "--timeout-secs", "5"],
        &[],
        &api,
        "list",
        json!({"kind": "pods", "namespace": "shop"}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report}");
}
