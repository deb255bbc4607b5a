//! What kubectl shows that the tools must show too: found by checking realistic incident
//! fixtures through the server. Each test serves a small snapshot written here (an HPA whose
//! target is gone, a Deployment held back by a ResourceQuota, a custom resource with status,
//! an init container that restarted, NetworkPolicies) through the fixture API server and the
//! real `kube` client.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use mcp_kubernetes::ops::{describe, health, list, logs, namespaces, nodes};
use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use mcp_kubernetes::{Policy, Target};
use serde_json::{Value, json};

const NOW: &str = "2025-06-25T12:20:00Z";

/// A quota message longer than the old 220-character cut, with its reason at the end.
fn quota_message() -> String {
    format!(
        "pods \"courier-location-5jf4jgcmt8-6nvr8\" is forbidden: exceeded quota: compute-resources, requested: requests.cpu=1, used: requests.cpu=39500m, limited: requests.cpu=40; {}; the namespace is at its limit",
        "admission detail ".repeat(12).trim_end()
    )
}

fn objects() -> Vec<Value> {
    let long_config_error = format!(
        "couldn't find key DB_PASSWORD in Secret dispatch/courier-db: {} (secret rotated by external-secrets)",
        "the key was removed by the last sync "
            .repeat(15)
            .trim_end()
    );
    let huge_message = format!("HEAD {} TAIL-REASON", "x".repeat(3000));
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        // An HPA whose Deployment was renamed: it cannot read the target's scale.
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "query-rewriter", "namespace": "dispatch", "creationTimestamp": "2024-12-05T19:10:00Z"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "query-rewriter"},
                "minReplicas": 3, "maxReplicas": 16,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
            "status": {"currentReplicas": 4, "desiredReplicas": 4, "lastScaleTime": "2025-06-17T18:15:00Z",
                "conditions": [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
                    "message": "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"query-rewriter\" not found",
                    "lastTransitionTime": "2025-06-17T18:21:40Z"}]}}),
        // An HPA that cannot read its metric.
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "eta", "namespace": "dispatch", "creationTimestamp": "2024-12-05T19:10:00Z"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eta"},
                "minReplicas": 2, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                    {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "50"}}}]},
            "status": {"currentReplicas": 2, "desiredReplicas": 5,
                "currentMetrics": [{"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"}, "current": {"averageValue": "131"}}}],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "message": "the HPA controller was able to get the target's current scale", "lastTransitionTime": "2025-06-25T12:00:00Z"},
                    {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                    "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container eta of Pod eta-7d9c-abcde",
                    "lastTransitionTime": "2025-06-25T12:05:00Z"}]}}),
        // A healthy HPA: no finding.
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "courier-location", "namespace": "dispatch", "creationTimestamp": "2024-12-05T19:10:00Z"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "courier-location"}, "minReplicas": 4, "maxReplicas": 20},
            "status": {"currentReplicas": 14, "desiredReplicas": 14,
                "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches current size", "lastTransitionTime": "2025-06-25T12:00:00Z"}]}}),
        // A Deployment held back by the quota; the failure is on its ReplicaSet only.
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "courier-location", "namespace": "dispatch", "generation": 4, "uid": "dep-1", "creationTimestamp": "2024-12-05T19:10:00Z"},
            "spec": {"replicas": 14, "selector": {"matchLabels": {"app": "courier-location"}}},
            "status": {"observedGeneration": 4, "replicas": 8, "updatedReplicas": 8, "readyReplicas": 8, "availableReplicas": 8, "unavailableReplicas": 6,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastTransitionTime": "2025-06-20T10:00:00Z"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "courier-location-5jf4jgcmt8", "namespace": "dispatch", "creationTimestamp": "2025-06-20T10:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "courier-location", "uid": "dep-1", "controller": true}]},
            "spec": {"replicas": 14},
            "status": {"replicas": 8, "readyReplicas": 8, "availableReplicas": 8,
                "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": quota_message(), "lastTransitionTime": "2025-06-25T12:04:52Z"}]}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute-resources", "namespace": "dispatch", "creationTimestamp": "2024-08-29T12:20:00Z"},
            "spec": {"hard": {"requests.cpu": "40", "requests.memory": "96Gi", "pods": "60"}},
            "status": {"hard": {"requests.cpu": "40", "requests.memory": "96Gi", "pods": "60"},
                "used": {"requests.cpu": "40", "requests.memory": "77Gi", "pods": "23"}}}),
        // A custom resource with a failed job in its status.
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "flinkdeployments.flink.apache.org"},
            "spec": {"group": "flink.apache.org", "scope": "Namespaced",
                "names": {"kind": "FlinkDeployment", "plural": "flinkdeployments", "singular": "flinkdeployment"},
                "versions": [{"name": "v1beta1", "served": true, "storage": true}]}}),
        json!({"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
            "metadata": {"name": "sessionizer", "namespace": "dispatch", "creationTimestamp": "2024-08-20T18:55:00Z"},
            "spec": {"flinkVersion": "v1_18", "job": {"parallelism": 8, "state": "running"}},
            "status": {"lifecycleState": "DEPLOYED", "jobManagerDeploymentStatus": "READY",
                "jobStatus": {"jobName": "sessionizer", "state": "FAILED", "updateTime": "1750100060000"},
                "error": "{\"type\":\"org.apache.flink.runtime.JobException\",\"message\":\"Recovery is suppressed by NoRestartBackoffTimeStrategy\",\"throwableList\":[{\"type\":\"java.util.concurrent.TimeoutException\",\"message\":\"Slot request bulk is not fulfillable! Could not allocate the required slot within slot request timeout\"}]}",
                "reconciliationStatus": {"state": "DEPLOYED"}, "clusterInfo": null, "taskManager": {"labelSelector": "component=taskmanager,app=sessionizer", "replicas": 2},
                "conditions": [{"type": "Ready", "status": "False", "reason": "JobFailed", "message": "job failed", "lastTransitionTime": "2025-06-25T11:00:00Z"}]}}),
        // A pod whose init container restarted twice and whose app container cannot start.
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "courier-location-5jf4jgcmt8-aaaaa", "namespace": "dispatch", "creationTimestamp": "2025-06-25T12:00:00Z",
                "labels": {"app": "courier-location", "pod-template-hash": "5jf4jgcmt8"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "courier-location-5jf4jgcmt8", "controller": true}]},
            "spec": {"initContainers": [{"name": "migrate", "image": "registry.example/migrate:1"}],
                "containers": [{"name": "app", "image": "registry.example/courier:2"}, {"name": "proxy", "image": "envoy:1.30"}]},
            "status": {"phase": "Pending", "startTime": "2025-06-25T12:00:00Z",
                "initContainerStatuses": [{"name": "migrate", "ready": true, "restartCount": 2,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2025-06-25T12:03:00Z"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2025-06-25T12:02:00Z"}}}],
                "containerStatuses": [
                    {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CreateContainerConfigError", "message": long_config_error}}},
                    {"name": "proxy", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CreateContainerError", "message": huge_message}}}]}}),
        // NetworkPolicies.
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-egress", "namespace": "dispatch", "creationTimestamp": "2025-06-25T12:00:00Z"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-redis", "namespace": "dispatch", "creationTimestamp": "2024-12-05T19:10:00Z"},
            "spec": {"podSelector": {"matchLabels": {"app": "redis"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}}},
                    {"podSelector": {"matchLabels": {"app": "courier-location"}}}], "ports": [{"port": 6379, "protocol": "TCP"}]}],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]}}),
    ]
}

struct Fixture {
    _dir: tempfile::TempDir,
    _server: FixtureServer,
    target: Target,
}

async fn fixture() -> Fixture {
    fixture_of(objects()).await
}

async fn fixture_of(objects: Vec<Value>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snapshot.yaml"),
        format!("capturedAt: {NOW}\ncontext: fidelity\n"),
    )
    .unwrap();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    std::fs::write(dir.path().join("objects.json"), list.to_string()).unwrap();
    let logs_dir = dir
        .path()
        .join("logs/dispatch/courier-location-5jf4jgcmt8-aaaaa");
    std::fs::create_dir_all(&logs_dir).unwrap();
    std::fs::write(logs_dir.join("app.log"), "starting\n").unwrap();
    let server = FixtureServer::start(Snapshot::load(dir.path()).unwrap())
        .await
        .unwrap();
    let target = Target::new(server.client().unwrap(), "fidelity")
        .with_policy(Arc::new(Policy::default()))
        .with_clock(server.now().await);
    Fixture {
        _dir: dir,
        _server: server,
        target,
    }
}

async fn describe(f: &Fixture, kind: &str, name: &str) -> String {
    describe::describe(
        &f.target,
        &describe::DescribeOptions {
            kind: kind.into(),
            name: name.into(),
            namespace: Some("dispatch".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// 1 and 6: an HPA that cannot find its target or read its metric, and a Deployment held
/// back by a quota, are findings with their reason and whole message; long messages are
/// whole up to ~1,000 characters, longer ones keep head and tail.
#[tokio::test]
async fn health_reports_broken_hpas_quota_failures_and_whole_messages() {
    let f = fixture().await;
    let out = health::workload_health(
        &f.target,
        &health::HealthOptions {
            namespace: Some("dispatch".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        out.contains("HorizontalPodAutoscaler/query-rewriter  FailedGetScale"),
        "{out}"
    );
    assert!(
        out.contains("deployments/scale.apps \"query-rewriter\" not found"),
        "{out}"
    );
    assert!(
        out.contains("HorizontalPodAutoscaler/eta  FailedGetResourceMetric"),
        "{out}"
    );
    assert!(
        !out.contains("HorizontalPodAutoscaler/courier-location"),
        "{out}"
    );
    assert!(
        out.contains("Deployment/courier-location  FailedCreate"),
        "{out}"
    );
    // The whole quota message (over 220 characters), tail included.
    assert!(quota_message().len() > 230);
    assert!(out.contains(&quota_message()), "{out}");
    assert!(
        out.contains("couldn't find key DB_PASSWORD")
            && out.contains("(secret rotated by external-secrets)")
    );
    // Over 1,000 characters: head and tail, and the cut is said.
    assert!(out.contains("HEAD x") && out.contains("TAIL-REASON") && out.contains("chars cut"));
    insta::assert_snapshot!("health_hpa_quota", out);
}

/// 2: a ResourceQuota shows used beside hard, and which resource is exhausted.
#[tokio::test]
async fn describe_quota_shows_used_beside_hard() {
    let f = fixture().await;
    let out = describe(&f, "quota", "compute-resources").await;
    insta::assert_snapshot!("describe_quota", out);
    let cpu = out.lines().find(|l| l.starts_with("requests.cpu")).unwrap();
    assert!(cpu.contains("40") && cpu.contains("EXHAUSTED"), "{out}");
    let mem = out
        .lines()
        .find(|l| l.starts_with("requests.memory"))
        .unwrap();
    assert!(mem.contains("77Gi") && mem.contains("96Gi") && !mem.contains("EXHAUSTED"));
}

/// 3: a custom resource's status beyond its conditions.
#[tokio::test]
async fn describe_custom_resource_shows_its_status() {
    let f = fixture().await;
    let out = describe(&f, "flinkdeployment", "sessionizer").await;
    insta::assert_snapshot!("describe_flinkdeployment", out);
    assert!(out.contains("jobStatus.state: FAILED"), "{out}");
    assert!(
        out.contains("Slot request bulk is not fulfillable"),
        "{out}"
    );
    assert!(out.contains("taskManager.replicas: 2"), "{out}");
    assert!(!out.contains("clusterInfo"), "nulls are left out: {out}");
}

/// 4: an HPA's current and desired replicas and its metrics, current beside target.
#[tokio::test]
async fn describe_hpa_shows_replicas_and_metrics() {
    let f = fixture().await;
    let out = describe(&f, "hpa", "eta").await;
    insta::assert_snapshot!("describe_hpa", out);
    assert!(out.contains("current 2 · desired 5"), "{out}");
    let cpu = out
        .lines()
        .find(|l| l.trim_start().starts_with("resource cpu"))
        .unwrap();
    assert!(cpu.contains("<unknown>") && cpu.contains("70%"), "{cpu}");
    let rps = out
        .lines()
        .find(|l| l.contains("pods http_requests_per_second"))
        .unwrap();
    assert!(rps.contains("131") && rps.contains("50"), "{rps}");
}

/// 5: restarts count init containers (as kubectl's RESTARTS does); the logs header names
/// init containers too.
#[tokio::test]
async fn init_container_restarts_count_and_are_named() {
    let f = fixture().await;
    let out = list::list(
        &f.target,
        &list::ListOptions {
            kind: "pods".into(),
            namespace: Some("dispatch".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let row = out
        .lines()
        .find(|l| l.starts_with("courier-location-5jf4jgcmt8-aaaaa"))
        .unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    // NAME READY STATUS RESTARTS …: 2 (init) + 1 (proxy).
    assert_eq!(cols[3], "3", "{out}");
    let out = logs::logs(
        &f.target,
        &logs::LogsOptions {
            namespace: Some("dispatch".into()),
            pod: "courier-location-5jf4jgcmt8-aaaaa".into(),
            container: Some("app".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let head = out.lines().next().unwrap();
    assert!(
        head.contains("[containers: app, proxy; init containers: migrate]"),
        "{head}"
    );
}

/// 7: the NetworkPolicy table shows the pod selector, the policy types and the peers.
#[tokio::test]
async fn network_policy_table_shows_selector_types_and_peers() {
    let f = fixture().await;
    let out = list::list(
        &f.target,
        &list::ListOptions {
            kind: "netpol".into(),
            namespace: Some("dispatch".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    insta::assert_snapshot!("list_netpol", out);
    let deny = out
        .lines()
        .find(|l| l.starts_with("default-deny-egress"))
        .unwrap();
    assert!(deny.contains("<all pods>") && deny.contains("Egress") && deny.contains("DENY ALL"));
    let redis = out.lines().find(|l| l.starts_with("allow-redis")).unwrap();
    assert!(
        redis.contains("app=redis") && redis.contains("Ingress,Egress"),
        "{redis}"
    );
    assert!(
        redis.contains("ns platform, pods(app=courier-location) on 6379/TCP"),
        "{redis}"
    );
    assert!(redis.contains("0.0.0.0/0 except 10.0.0.0/8"), "{redis}");
}

/// A node that stopped reporting: its pod keeps the containers' last statuses (ready) while
/// the node controller marked the pod not Ready and it is being deleted. `nodes` says
/// which of the two it is reading instead of a bare "Terminating 1/1 ready".
#[tokio::test]
async fn pods_on_a_lost_node_are_not_shown_as_plainly_ready() {
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "pool-b-7x2k", "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2025-06-25T12:06:00Z"}]},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi"}, "conditions": [
            {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
             "message": "Kubelet stopped posting node status.", "lastTransitionTime": "2025-06-25T12:05:30Z"}]}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "adt-listener-6b9f-k2x8p", "namespace": "dispatch",
            "creationTimestamp": "2025-06-20T08:00:00Z", "deletionTimestamp": "2025-06-25T12:11:00Z"},
        "spec": {"nodeName": "pool-b-7x2k", "containers": [{"name": "app", "image": "r.io/adt:3"}]},
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "False", "reason": "NodeNotReady", "lastTransitionTime": "2025-06-25T12:06:00Z"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2025-06-20T08:00:05Z"}}}]}});
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        node,
        pod,
    ])
    .await;
    let out = nodes::nodes(&f.target, &nodes::NodesOptions::default())
        .await
        .unwrap();
    let line = out
        .lines()
        .find(|l| l.contains("adt-listener-6b9f-k2x8p"))
        .unwrap_or_else(|| panic!("no pod line in\n{out}"));
    assert!(
        line.contains("1/1 ready at the kubelet's last report, pod Ready=False"),
        "{out}"
    );
}
/// image, requests and limits.
#[tokio::test]
async fn describe_job_shows_annotations_and_container_resources() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "ledger-reconcile-manual-x7k", "namespace": "dispatch",
            "creationTimestamp": "2025-06-25T11:50:00Z",
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"huge\": true}"}},
        "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "reconcile", "image": "r.io/ledger/reconcile:5.2",
                "resources": {"requests": {"cpu": "2", "memory": "6Gi"}, "limits": {"memory": "6Gi"}}}]}}},
        "status": {"active": 1, "startTime": "2025-06-25T11:50:02Z"}});
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        job,
    ])
    .await;
    let out = describe(&f, "job", "ledger-reconcile-manual-x7k").await;
    assert!(
        out.contains("annotation cronjob.kubernetes.io/instantiate: manual"),
        "{out}"
    );
    assert!(!out.contains("last-applied-configuration"), "{out}");
    assert!(
        out.contains(
            "reconcile  ledger/reconcile:5.2 · requests cpu=2,memory=6Gi · limits memory=6Gi"
        ),
        "{out}"
    );
    assert!(
        out.contains("active 1 · failed 0 (backoffLimit 2)"),
        "{out}"
    );
}

/// `describe pod` shows the pod's annotations (what an admission controller set) and
/// each container's command line, as `kubectl describe pod` does.
#[tokio::test]
async fn describe_pod_shows_annotations_and_command_lines() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "hut-availability-5c9d-x2", "namespace": "dispatch",
            "creationTimestamp": "2025-06-25T11:00:00Z",
            "annotations": {"kubernetes.io/limit-ranger": "LimitRanger plugin set: cpu limit for container app"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "r.io/huts:2",
            "command": ["/app/backfill"], "args": ["--batch-size=50000", "--write-concern=1"]}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2025-06-25T11:00:05Z"}}}]}});
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        pod,
    ])
    .await;
    let out = describe(&f, "pod", "hut-availability-5c9d-x2").await;
    assert!(
        out.contains("annotation kubernetes.io/limit-ranger: LimitRanger plugin set: cpu limit for container app"),
        "{out}"
    );
    assert!(
        out.contains("command: /app/backfill --batch-size=50000 --write-concern=1"),
        "{out}"
    );
}

/// `namespaces` lists each namespace's labels (what a NetworkPolicy's namespaceSelector
/// matches on), without the name label every namespace carries.
#[tokio::test]
async fn namespaces_show_their_labels() {
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "berths",
            "labels": {"kubernetes.io/metadata.name": "berths", "team": "berths"}}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "harbour-shop",
            "labels": {"kubernetes.io/metadata.name": "harbour-shop", "platform.example.io/data-access": "granted"}},
            "status": {"phase": "Active"}}),
    ])
    .await;
    let out = namespaces::namespaces(&f.target).await.unwrap();
    let row = |n: &str| {
        out.lines()
            .find(|l| l.starts_with(n))
            .unwrap_or_else(|| panic!("no {n} in\n{out}"))
            .to_string()
    };
    assert!(
        row("harbour-shop").ends_with("platform.example.io/data-access=granted"),
        "{out}"
    );
    assert!(row("berths").ends_with("team=berths"), "{out}");
    assert!(!out.contains("metadata.name"), "{out}");
}

/// cert-manager Certificates: one past its `notAfter` is a critical finding dated from its
/// expiry, with the issuer's refusal and the names it covers; one whose renewal fails but
/// that still has days left is a warning; a Ready one is no finding. A cluster without
/// cert-manager (every other test here) lists no certificates at all.
#[tokio::test]
async fn health_reports_expired_and_failing_certificates() {
    let cert = |name: &str, not_after: &str, ready: &str, reason: &str, message: &str| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "namespace": "dispatch", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"secretName": format!("{name}-tls"), "dnsNames": [format!("{name}.dispatch.svc")],
                "issuerRef": {"kind": "ClusterIssuer", "name": "internal-ca"}},
            "status": {"notAfter": not_after, "conditions": [
                {"type": "Ready", "status": ready, "reason": reason, "message": message,
                 "lastTransitionTime": "2025-06-25T11:00:00Z"},
                {"type": "Issuing", "status": "False", "reason": "Failed",
                 "message": "The certificate request has failed to complete and will be retried: issuer internal-ca not ready",
                 "lastTransitionTime": "2025-06-24T11:00:00Z"}]}})
    };
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        cert(
            "courier-mtls",
            "2025-06-25T12:05:00Z",
            "False",
            "Expired",
            "Certificate expired on Wed, 25 Jun 2025 12:05:00 UTC",
        ),
        cert(
            "eta-grpc",
            "2025-06-28T12:20:00Z",
            "False",
            "Failed",
            "renewal failed",
        ),
        cert(
            "healthy",
            "2025-09-01T00:00:00Z",
            "True",
            "Ready",
            "Certificate is up to date and has not expired",
        ),
    ])
    .await;
    let out = health::workload_health(&f.target, &health::HealthOptions::default())
        .await
        .unwrap();
    assert!(
        out.contains(
            "CRITICAL  dispatch/Certificate/courier-mtls  CertificateExpired  (since 15m ago)"
        ),
        "{out}"
    );
    assert!(
        out.contains("notAfter 2025-06-25T12:05:00Z (expired 15m ago)"),
        "{out}"
    );
    assert!(out.contains("issuer internal-ca not ready"), "{out}");
    assert!(
        out.contains("issuer ClusterIssuer/internal-ca; names courier-mtls.dispatch.svc"),
        "{out}"
    );
    assert!(
        out.contains("WARNING   dispatch/Certificate/eta-grpc  CertificateNotReady")
            && out.contains("notAfter 2025-06-28T12:20:00Z (in 3d)"),
        "{out}"
    );
    assert!(!out.contains("Certificate/healthy"), "{out}");
    assert!(out.contains("3 certificates"), "{out}");
    let none = fixture().await;
    let out = health::workload_health(&none.target, &health::HealthOptions::default())
        .await
        .unwrap();
    assert!(!out.contains("certificates"), "{out}");
}

/// A Service whose Endpoints carry no last-change time is dated from when its replacement
/// pods were created when all of them are still Pending (the old ones went then); behind a
/// Running pod that is not Ready it stays undated rather than guessed.
#[tokio::test]
async fn no_ready_endpoints_is_dated_from_pending_replacements_only() {
    let svc = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "dispatch"},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
    };
    let eps = |name: &str, ip: &str| {
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": "dispatch"},
            "subsets": [{"notReadyAddresses": [{"ip": ip}], "ports": [{"port": 80}]}]})
    };
    let pod = |name: &str, app: &str, created: &str, phase: &str, ready: Option<&str>| {
        let mut conditions = vec![];
        if let Some(t) = ready {
            conditions.push(json!({"type": "Ready", "status": "False", "lastTransitionTime": t}));
        }
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "dispatch", "labels": {"app": app}, "creationTimestamp": created},
            "spec": {"containers": [{"name": app, "image": format!("{app}:1")}]},
            "status": {"phase": phase, "conditions": conditions}})
    };
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        svc("plc-bridge"),
        eps("plc-bridge", "10.0.0.7"),
        pod(
            "plc-bridge-0",
            "plc-bridge",
            "2025-06-25T11:58:00Z",
            "Pending",
            None,
        ),
        pod(
            "plc-bridge-1",
            "plc-bridge",
            "2025-06-25T12:02:00Z",
            "Pending",
            None,
        ),
        svc("tariffs"),
        eps("tariffs", "10.0.0.8"),
        pod(
            "tariffs-0",
            "tariffs",
            "2024-01-01T00:00:00Z",
            "Running",
            Some("2024-01-01T00:00:25Z"),
        ),
    ])
    .await;
    let out = health::workload_health(&f.target, &health::HealthOptions::default())
        .await
        .unwrap();
    let line = |svc: &str| {
        out.lines()
            .find(|l| l.contains(&format!("Service/{svc}  NoReadyEndpoints")))
            .unwrap_or_else(|| panic!("no {svc} in\n{out}"))
            .to_string()
    };
    assert!(line("plc-bridge").ends_with("(since 18m ago)"), "{out}");
    assert!(line("tariffs").ends_with("(since -)"), "{out}");
}

/// An ExternalSecret that cannot sync is a warning naming the Secret it writes, its store and
/// its last refresh: a rotated password that never reached the pods shows here first.
#[tokio::test]
async fn health_reports_external_secrets_that_do_not_sync() {
    let es = |name: &str, ready: &str, reason: &str| {
        json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "dispatch", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"refreshInterval": "1h", "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                "target": {"name": format!("{name}-creds"), "template": {"data": {"dsn": "postgres://app:{{ .password }}@db/app"}}},
                "data": [{"secretKey": "password", "remoteRef": {"key": "db/app"}}]},
            "status": {"refreshTime": "2025-06-24T12:20:00Z", "conditions": [
                {"type": "Ready", "status": ready, "reason": reason, "message": "could not get secret data from provider",
                 "lastTransitionTime": "2025-06-25T11:50:00Z"}]}})
    };
    let f = fixture_of(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dispatch"}}),
        es("courier-db", "False", "SecretSyncedError"),
        es("eta-db", "True", "SecretSynced"),
    ])
    .await;
    let out = health::workload_health(&f.target, &health::HealthOptions::default())
        .await
        .unwrap();
    assert!(
        out.contains(
            "WARNING   dispatch/ExternalSecret/courier-db  ExternalSecretNotSynced  (since 30m ago)"
        ),
        "{out}"
    );
    assert!(
        out.contains("Ready=False SecretSyncedError: could not get secret data from provider"),
        "{out}"
    );
    assert!(
        out.contains("target secret courier-db-creds; store ClusterSecretStore/vault; refresh every 1h; last refreshed 24h ago"),
        "{out}"
    );
    assert!(!out.contains("ExternalSecret/eta-db"), "{out}");
    // The template (a connection string with its placeholder) is not read, let alone shown.
    assert!(!out.contains("postgres://"), "{out}");
}
