//! More of what kubectl (or the YAML) shows that the tools must show too, from scenario
//! authors' notes (issue #20): a pod stuck Terminating on a dead node, the init container
//! behind `Init:0/1`, when an object was last edited in place, how many of a Service's pods
//! are Ready, whole change-causes, a Deployment's requests and limits, and a quota's
//! annotations and usage. Served through the fixture API server and the real `kube` client.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use mcp_kubernetes::ops::{describe, health, history, list};
use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use mcp_kubernetes::{Policy, Target};
use serde_json::{Value, json};

const NOW: &str = "2025-06-25T12:20:00Z";

fn change_cause() -> String {
    format!(
        "kubectl set env deploy/ledger LEDGER_BATCH=500 --record; CHG-4411 {} ROLLBACK-PLAN-AT-END",
        "approved by the payments on-call after the nightly batch review ".repeat(3)
    )
}

fn objects() -> Vec<Value> {
    let owner = |rs: &str| json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "controller": true}]);
    let ready_cond = |st: &str| json!([{"type": "Ready", "status": st, "lastTransitionTime": "2025-06-25T12:00:00Z"}]);
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.", "lastTransitionTime": "2025-06-25T12:06:00Z"}]}}),
        // Deleted 12 minutes ago (grace 30 s) on the dead node: stuck.
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "ledger-7d9c-aaaaa", "namespace": "ops", "creationTimestamp": "2025-06-24T10:00:00Z",
                "deletionTimestamp": "2025-06-25T12:08:30Z", "deletionGracePeriodSeconds": 30,
                "labels": {"app": "ledger", "pod-template-hash": "7d9c"}, "ownerReferences": owner("ledger-7d9c")},
            "spec": {"nodeName": "node-b", "containers": [{"name": "app", "image": "pay/ledger:3"}]},
            "status": {"phase": "Running", "conditions": ready_cond("False"),
                "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"running": {"startedAt": "2025-06-24T10:00:05Z"}}}]}}),
        // Deleted a minute ago on a healthy node: shutting down, not stuck.
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "ledger-7d9c-bbbbb", "namespace": "ops", "creationTimestamp": "2025-06-24T10:00:00Z",
                "deletionTimestamp": "2025-06-25T12:19:30Z", "deletionGracePeriodSeconds": 30,
                "labels": {"app": "ledger", "pod-template-hash": "7d9c"}, "ownerReferences": owner("ledger-7d9c")},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "pay/ledger:3"}]},
            "status": {"phase": "Running", "conditions": ready_cond("True"),
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2025-06-24T10:00:05Z"}}}]}}),
        // Pending for 20 minutes behind its second init container, which keeps failing.
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "billing-6f5-ccccc", "namespace": "ops", "creationTimestamp": "2025-06-25T12:00:00Z",
                "labels": {"app": "billing", "pod-template-hash": "6f5"}, "ownerReferences": owner("billing-6f5")},
            "spec": {"nodeName": "node-a", "initContainers": [{"name": "fetch-config", "image": "busybox"}, {"name": "wait-for-db", "image": "busybox"}],
                "containers": [{"name": "app", "image": "pay/billing:9"}]},
            "status": {"phase": "Pending", "startTime": "2025-06-25T12:00:00Z", "conditions": ready_cond("False"),
                "initContainerStatuses": [
                    {"name": "fetch-config", "ready": true, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2025-06-25T12:00:10Z"}}},
                    {"name": "wait-for-db", "ready": false, "restartCount": 3,
                        "state": {"running": {"startedAt": "2025-06-25T12:14:00Z"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2025-06-25T12:13:50Z", "message": "postgres.ops:5432 unreachable after 300s"}}}],
                "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "billing", "namespace": "ops", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"type": "ClusterIP", "selector": {"app": "billing"}, "ports": [{"port": 80}]}}),
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "billing", "namespace": "ops"}, "subsets": []}),
        // A Deployment edited in place (no new ReplicaSet), with requests and limits.
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "billing", "namespace": "ops", "uid": "dep-billing", "generation": 7, "creationTimestamp": "2025-01-01T00:00:00Z",
                "managedFields": [
                    {"manager": "helm", "operation": "Update", "apiVersion": "apps/v1", "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}},
                    {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1", "time": "2025-06-25T12:02:10Z", "fieldsType": "FieldsV1", "fieldsV1": {}},
                    {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "apiVersion": "apps/v1", "time": "2025-06-25T12:19:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "billing"}},
                "template": {"metadata": {"labels": {"app": "billing"}}, "spec": {
                    "initContainers": [{"name": "wait-for-db", "image": "busybox:1.36", "resources": {"requests": {"cpu": "10m"}}}],
                    "containers": [{"name": "app", "image": "registry.example/pay/billing:9",
                        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
                        {"name": "sidecar", "image": "envoy:1.30"}]}}},
            "status": {"observedGeneration": 7, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "billing-config", "namespace": "ops", "creationTimestamp": "2025-01-01T00:00:00Z",
                "managedFields": [{"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "time": "2025-06-25T12:02:10Z", "fieldsType": "FieldsV1", "fieldsV1": {}}]},
            "data": {"DB_HOST": "postgres.ops"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "untouched", "namespace": "ops", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "data": {"A": "1"}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute", "namespace": "ops", "creationTimestamp": "2024-08-29T12:20:00Z",
                "annotations": {"platform.example/reason": "CHG-9912 lowered after the cost review; raise via #platform",
                    "platform.example/api-token": "sk-live-abcdefghijklmnopqrstuvwxyz0123456789"}},
            "spec": {"hard": {"requests.cpu": "8", "pods": "20"}},
            "status": {"hard": {"requests.cpu": "8", "pods": "20"}, "used": {"requests.cpu": "8", "pods": "11"}}}),
        // A Deployment with two revisions, the newer with a long change-cause.
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "ledger", "namespace": "ops", "uid": "dep-ledger", "generation": 2, "creationTimestamp": "2025-01-01T00:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2"},
                "managedFields": [
                    {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "time": "2025-06-25T12:18:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}},
                    {"manager": "kubectl-scale", "operation": "Update", "apiVersion": "apps/v1", "time": "2025-06-25T12:05:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ledger"}},
                "template": {"metadata": {"labels": {"app": "ledger"}}, "spec": {"containers": [{"name": "app", "image": "pay/ledger:3"}]}}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "ledger-5b8", "namespace": "ops", "creationTimestamp": "2025-06-01T00:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "ledger", "uid": "dep-ledger", "controller": true}]},
            "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "app", "image": "pay/ledger:2"}]}}},
            "status": {"replicas": 0}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "ledger-7d9c", "namespace": "ops", "creationTimestamp": "2025-06-24T10:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "2", "kubernetes.io/change-cause": change_cause()},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "ledger", "uid": "dep-ledger", "controller": true}]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "pay/ledger:3"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1}}),
        // An Argo Rollout paused at its first canary step: revision 2 takes a quarter.
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "quotes", "namespace": "ops", "uid": "ro-quotes", "creationTimestamp": "2025-01-01T00:00:00Z",
                "annotations": {"rollout.argoproj.io/revision": "2"}},
            "spec": {"replicas": 4, "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {"duration": "30m"}}, {"setWeight": 50}]}},
                "template": {"spec": {"containers": [{"name": "app", "image": "pay/quotes:4.19.0"}]}}},
            "status": {"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                "stableRS": "6c7f", "currentPodHash": "9a1b", "replicas": 4, "readyReplicas": 4}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "quotes-6c7f", "namespace": "ops", "creationTimestamp": "2025-06-20T09:00:00Z",
                "annotations": {"rollout.argoproj.io/revision": "1"},
                "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "quotes", "uid": "ro-quotes", "controller": true}]},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": "pay/quotes:4.18.2"}]}}},
            "status": {"replicas": 3, "readyReplicas": 3}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "quotes-9a1b", "namespace": "ops", "creationTimestamp": "2025-06-25T11:58:00Z",
                "annotations": {"rollout.argoproj.io/revision": "2"},
                "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "quotes", "uid": "ro-quotes", "controller": true}]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "image": "pay/quotes:4.19.0",
                "env": [{"name": "MEDIA_ENVELOPE", "value": "true"}]}]}}},
            "status": {"replicas": 1, "readyReplicas": 1}}),
    ]
}

struct Fixture {
    _dir: tempfile::TempDir,
    _server: FixtureServer,
    target: Target,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snapshot.yaml"),
        format!("capturedAt: {NOW}\ncontext: edits\n"),
    )
    .unwrap();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects()});
    std::fs::write(dir.path().join("objects.json"), list.to_string()).unwrap();
    let server = FixtureServer::start(Snapshot::load(dir.path()).unwrap())
        .await
        .unwrap();
    let target = Target::new(server.client().unwrap(), "edits")
        .with_policy(Arc::new(Policy::default()))
        .with_clock(server.now().await);
    Fixture {
        _dir: dir,
        _server: server,
        target,
    }
}

async fn health(f: &Fixture) -> String {
    health::workload_health(
        &f.target,
        &health::HealthOptions {
            namespace: Some("ops".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn describe(f: &Fixture, kind: &str, name: &str) -> String {
    describe::describe(
        &f.target,
        &describe::DescribeOptions {
            kind: kind.into(),
            name: name.into(),
            namespace: Some("ops".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn list(f: &Fixture, kind: &str) -> String {
    list::list(
        &f.target,
        &list::ListOptions {
            kind: kind.into(),
            namespace: Some("ops".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The block of a finding: its header line and the evidence lines under it.
fn finding<'a>(out: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = out.lines().skip_while(|l| !l.contains(header));
    let mut block: Vec<&str> = lines.next().into_iter().collect();
    block.extend(lines.take_while(|l| l.starts_with("    ")));
    block
}

/// A pod Terminating 12 minutes on a NotReady node is flagged with the node and its state;
/// one deleted a minute ago on a healthy node is not.
#[tokio::test]
async fn stuck_terminating_pod_on_a_dead_node_is_flagged() {
    let f = fixture().await;
    let out = health(&f).await;
    let block = finding(&out, "StuckTerminating").join("\n");
    assert!(block.contains("WARNING"), "{out}");
    assert!(
        block.contains("Terminating 12m on NotReady node node-b"),
        "{out}"
    );
    assert!(
        block.contains("node Ready=Unknown NodeStatusUnknown 14m ago"),
        "{out}"
    );
    assert!(block.contains("ledger-7d9c-aaaaa"), "{out}");
    assert!(!out.contains("ledger-7d9c-bbbbb"), "{out}");
    // The pod table names it too (list and workload_health judge pods alike).
    let pods = list(&f, "pods").await;
    assert!(pods.contains("ledger-7d9c-aaaaa"), "{pods}");
}

/// `Init:1/2` names the init container that blocks, its state, restarts and last exit.
#[tokio::test]
async fn pending_init_names_the_blocking_init_container() {
    let f = fixture().await;
    let out = health(&f).await;
    let block = finding(&out, "Pending").join("\n");
    assert!(block.contains("Init:1/2"), "{out}");
    assert!(
        block.contains(
            "init container wait-for-db (2 of 2): running since 6m ago, restarts 3, last exit Error (1) 6m ago: postgres.ops:5432 unreachable after 300s"
        ),
        "{out}"
    );
    assert!(!block.contains("fetch-config"), "{out}");
}

/// A Service whose only pod is Pending says the pod is not Ready.
#[tokio::test]
async fn service_without_endpoints_counts_ready_pods() {
    let f = fixture().await;
    let out = health(&f).await;
    let block = finding(&out, "Service/billing").join("\n");
    assert!(
        block.contains("selector app=billing matches 1 pod (Init:1/2), 0 ready; endpoints: 0 ready, 0 not ready"),
        "{out}"
    );
}

/// In-place edits carry their time and manager: in describe, and in the ConfigMap table.
#[tokio::test]
async fn in_place_edits_show_when_and_by_whom() {
    let f = fixture().await;
    let out = describe(&f, "deployment", "billing").await;
    let head = out.lines().nth(1).unwrap();
    assert!(
        head.contains("last changed 2025-06-25T12:02:10Z (17m ago) by kubectl-edit"),
        "{out}"
    );
    let out = describe(&f, "configmap", "billing-config").await;
    assert!(out.contains("by kubectl-edit"), "{out}");
    let out = list(&f, "configmaps").await;
    let edited = out
        .lines()
        .find(|l| l.starts_with("billing-config"))
        .unwrap();
    assert!(edited.ends_with("17m kubectl-edit"), "{out}");
    let untouched = out.lines().find(|l| l.starts_with("untouched")).unwrap();
    assert!(!untouched.contains("kubectl"), "{out}");
    assert!(out.lines().nth(1).unwrap().contains("CHANGED"), "{out}");
}

/// `describe deployment` shows each container's image, requests and limits.
#[tokio::test]
async fn describe_deployment_shows_requests_and_limits() {
    let f = fixture().await;
    let out = describe(&f, "deploy", "billing").await;
    assert!(
        out.contains(
            "  app  pay/billing:9 · requests cpu=250m,memory=256Mi · limits memory=512Mi\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  sidecar  envoy:1.30 · requests - · limits -\n"),
        "{out}"
    );
    assert!(
        out.contains("  init wait-for-db  busybox:1.36 · requests cpu=10m · limits -\n"),
        "{out}"
    );
}

/// The whole change-cause up to ~300 characters.
#[tokio::test]
async fn rollout_history_keeps_long_change_causes() {
    let f = fixture().await;
    let out = history::rollout_history(
        &f.target,
        &history::HistoryOptions {
            kind: "deployment".into(),
            name: "ledger".into(),
            namespace: Some("ops".into()),
        },
    )
    .await
    .unwrap();
    assert!(change_cause().len() > 200 && change_cause().len() <= 300);
    assert!(out.contains(&change_cause()), "{out}");
    // A change after the newest revision that made none (the controller's own writes
    // aside) is said, with its time and manager.
    assert!(
        out.contains("# last changed 2025-06-25T12:05:00Z (15m ago) by kubectl-scale (Update), after the newest revision"),
        "{out}"
    );
}

/// A quota's annotations (redacted) in describe, and used/hard per resource in the list.
#[tokio::test]
async fn quota_annotations_and_usage_are_shown() {
    let f = fixture().await;
    let out = describe(&f, "resourcequota", "compute").await;
    assert!(
        out.contains("annotation platform.example/reason: CHG-9912 lowered after the cost review; raise via #platform"),
        "{out}"
    );
    assert!(
        out.contains("annotation platform.example/api-token:"),
        "{out}"
    );
    assert!(!out.contains("abcdefghijklmnopqrstuvwxyz"), "{out}");
    let out = list(&f, "resourcequotas").await;
    let row = out.lines().find(|l| l.starts_with("compute")).unwrap();
    assert!(row.contains("pods=11/20, requests.cpu=8/8 FULL"), "{out}");
}

/// An Argo Rollout's revisions are its ReplicaSets, as a Deployment's are; its canary
/// state heads the history (a paused canary serving a quarter of the traffic).
#[tokio::test]
async fn rollout_history_reads_an_argo_rollout() {
    let f = fixture().await;
    let out = history::rollout_history(
        &f.target,
        &history::HistoryOptions {
            kind: "rollout".into(),
            name: "quotes".into(),
            namespace: Some("ops".into()),
        },
    )
    .await
    .unwrap();
    assert!(out.contains("2 revisions, current 2"), "{out}");
    assert!(
        out.contains("# Rollout phase Paused (CanaryPauseStep), step 2 of 3 (pause), canary weight 25%; stable pods 6c7f, new pods 9a1b"),
        "{out}"
    );
    assert!(
        out.contains("1 → 2 (22m ago): app image pay/quotes:4.18.2 → pay/quotes:4.19.0; app env added: MEDIA_ENVELOPE"),
        "{out}"
    );
    // Changing a Rollout is not this server's business: rollback stays built-in only.
    assert!(history::workload_kind(&f.target, "rollout").await.is_err());
}
