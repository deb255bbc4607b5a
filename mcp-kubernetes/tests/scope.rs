//! Fidelity and reach beyond one namespace, on the bundled snapshots through the real
//! `kube` client: the list and `workload_health` agree on which pods are unhealthy, problem
//! start times are bounded by what the cluster records, missing endpoint data is unknown
//! rather than zero, a namespace that does not exist is said to not exist, and the
//! cluster-wide tools (`events` with reasons, `nodes`, `list node=`, PVs, StorageClasses,
//! Certificates) answer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mcp_kubernetes::Target;
use mcp_kubernetes::ops::{events, health, list, nodes};
use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use serde_json::{Value, json};

fn scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path().join("k8s"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

async fn serve(dir: &Path) -> (FixtureServer, Target) {
    let server = FixtureServer::start(Snapshot::load(dir).unwrap())
        .await
        .unwrap();
    let t = Target::new(server.client().unwrap(), "snap").with_clock(server.now().await);
    (server, t)
}

/// Pod names a `workload_health` report names (single pods and grouped ones), leaving out
/// findings that only events support on ready pods (failing probes at INFO).
fn pods_named_by_health(report: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut lines = report.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("INFO") || line.starts_with(' ') || line.starts_with('#') {
            continue;
        }
        let Some(obj) = line.split_whitespace().nth(1) else {
            continue;
        };
        if let Some(pod) = obj.split("/Pod/").nth(1) {
            out.insert(pod.to_string());
        } else if line.contains(" (pods) ") {
            // "    N pods: a, b, c" follows.
            if let Some(next) = lines.peek()
                && let Some((_, names)) = next.trim().split_once("pods: ")
            {
                out.extend(names.split(", ").map(str::to_string));
            }
        }
    }
    out
}

/// The pods the default list counts as needing attention: the first rows of its table
/// (problems are listed first), as many as its header says.
fn pods_listed(out: &str) -> BTreeSet<String> {
    let attention: usize = out
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" pods")?;
            let n = rest.trim_start_matches(':').trim_start_matches(',').trim();
            n.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no count in:\n{out}"));
    out.lines()
        .skip_while(|l| !l.starts_with("NAMESPACE"))
        .skip(1)
        .take(attention)
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// One judgement, two callers: on every bundled snapshot the default pod list names exactly
/// the pods `workload_health` names (with the list's restart threshold of 3). On
/// `oom-after-limit-change` that includes a ready pod with 2 restarts whose last exit was
/// OOMKilled, which the list used to summarise as healthy.
#[tokio::test]
async fn pod_list_and_workload_health_name_the_same_unhealthy_pods() {
    let mut dirs = scenarios();
    dirs.push(common::shop_dir());
    let mut compared = 0;
    for dir in dirs {
        let (_server, t) = serve(&dir).await;
        let h = health::workload_health(
            &t,
            &health::HealthOptions {
                restart_threshold: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let l = list::list(
            &t,
            &list::ListOptions {
                kind: "pods".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let named = pods_named_by_health(&h);
        let listed = pods_listed(&l);
        assert_eq!(listed, named, "{}\n{h}\n{l}", dir.display());
        compared += named.len();
        if dir.ends_with("oom-after-limit-change/k8s") {
            let row = l
                .lines()
                .find(|r| r.contains("cart-gswwnm4m6-c7sz9"))
                .unwrap_or_else(|| panic!("ready OOMKilled pod not listed:\n{l}"));
            assert!(row.contains("OOMKilled") && row.contains("1/1"), "{row}");
        }
    }
    assert!(compared >= 25, "{compared}");
}

/// "UnavailableReplicas (since 30d ago)" for a 21-minute-old problem: the Available=False
/// transition recorded 30 days ago predates the rollout the Progressing condition records as
/// complete 21 minutes ago, so the problem cannot be older than that. And a Deployment short
/// of replicas that stays Available (within maxUnavailable) gets its start from its unready
/// pods instead of none at all.
#[tokio::test]
async fn unavailable_replicas_start_is_bounded_by_the_last_complete_rollout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let (_s, t) = serve(&root.join("oom-after-limit-change/k8s")).await;
    let h = health::workload_health(&t, &health::HealthOptions::default())
        .await
        .unwrap();
    let line = h
        .lines()
        .find(|l| l.contains("Deployment/cart  UnavailableReplicas"))
        .unwrap_or_else(|| panic!("{h}"));
    assert!(line.ends_with("(since 21m ago)"), "{line}");

    let (_s, t) = serve(&root.join("image-pull-wrong-tag/k8s")).await;
    let h = health::workload_health(&t, &health::HealthOptions::default())
        .await
        .unwrap();
    let line = h
        .lines()
        .find(|l| l.contains("Deployment/payments  UnavailableReplicas"))
        .unwrap_or_else(|| panic!("{h}"));
    assert!(!line.ends_with("(since -)"), "{line}");
}

/// Copies a snapshot without its Endpoints objects (as `kubectl cluster-info dump` lays a
/// cluster out: no endpoints.json), plus `extra` objects.
fn without_endpoints(src: &Path, extra: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            if let Some(items) = v["items"].as_array_mut() {
                items.retain(|i| i["kind"] != "Endpoints");
            }
            std::fs::write(dir.path().join(p.file_name().unwrap()), v.to_string()).unwrap();
        } else if p.is_file() {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let extra = json!({"apiVersion": "v1", "kind": "List", "items": extra});
    std::fs::write(dir.path().join("extra.json"), extra.to_string()).unwrap();
    dir
}

#[tokio::test]
async fn missing_endpoint_data_is_unknown_not_zero() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios/crashloop-missing-env/k8s");
    // No Endpoints at all: no Service is reported without endpoints; the report says why.
    let dump = without_endpoints(&src, &[]);
    let (_s, t) = serve(dump.path()).await;
    let h = health::workload_health(&t, &health::HealthOptions::default())
        .await
        .unwrap();
    assert!(!h.contains("NoReadyEndpoints"), "{h}");
    assert!(
        h.contains("# skipped endpoint readiness of 12 services"),
        "{h}"
    );
    // EndpointSlices, when recorded, are read instead: one empty slice is a real finding.
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "checkout-abc12", "namespace": "shop",
            "labels": {"kubernetes.io/service-name": "checkout"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": false}}]});
    let dump = without_endpoints(&src, &[slice]);
    let (_s, t) = serve(dump.path()).await;
    let h = health::workload_health(&t, &health::HealthOptions::default())
        .await
        .unwrap();
    let found: Vec<&str> = h
        .lines()
        .filter(|l| l.contains("NoReadyEndpoints"))
        .collect();
    assert_eq!(found.len(), 1, "{h}");
    assert!(found[0].contains("Service/checkout"), "{h}");
    assert!(
        h.contains("0 ready, 1 not ready (from EndpointSlices)"),
        "{h}"
    );
    assert!(
        h.contains("# skipped endpoint readiness of 11 services"),
        "{h}"
    );
}

#[tokio::test]
async fn a_namespace_that_does_not_exist_is_named_as_such() {
    let f = common::shop().await;
    let pods = list::ListOptions {
        kind: "pods".into(),
        namespace: Some("shpo".into()),
        ..Default::default()
    };
    let e = list::list(&f.target, &pods).await.unwrap_err().to_string();
    assert!(
        e.contains("namespace \"shpo\" does not exist") && e.contains("shop"),
        "{e}"
    );
    let e = health::workload_health(
        &f.target,
        &health::HealthOptions {
            namespace: Some("shpo".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("does not exist"), "{e}");
    let e = events::events(
        &f.target,
        &events::EventsOptions {
            namespace: Some("shpo".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("does not exist"), "{e}");
    // A namespace that exists but holds none of the kind is still "no …".
    let cms = list::ListOptions {
        kind: "configmaps".into(),
        namespace: Some("payments".into()),
        ..Default::default()
    };
    let out = list::list(&f.target, &cms).await.unwrap();
    assert!(
        out.starts_with("no configmaps in namespace payments"),
        "{out}"
    );
}

#[tokio::test]
async fn events_across_namespaces_filtered_by_reasons() {
    let f = common::shop().await;
    let o = events::EventsOptions {
        reasons: Some("failedscheduling, NodeNotReady".into()),
        ..Default::default()
    };
    let out = events::events(&f.target, &o).await.unwrap();
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{out}");
    for r in &rows {
        assert!(
            r.contains("FailedScheduling") || r.contains("NodeNotReady"),
            "{r}"
        );
    }
    // Both reasons, and the cluster-scoped Node event among them.
    assert!(
        out.contains("FailedScheduling") && out.contains("Node/node-6"),
        "{out}"
    );
    assert!(
        out.contains("reasons failedscheduling, NodeNotReady"),
        "{out}"
    );
}

#[tokio::test]
async fn nodes_show_their_pods_conditions_and_taints() {
    let f = common::shop().await;
    let out = nodes::nodes(&f.target, &nodes::NodesOptions::default())
        .await
        .unwrap();
    // Every scheduled pod is counted on its node.
    let raw: Value = serde_json::from_str(
        &std::fs::read_to_string(common::shop_dir().join("pods.json")).unwrap(),
    )
    .unwrap();
    let on_node5 = raw["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["spec"]["nodeName"] == "node-5")
        .count();
    let row = out.lines().find(|l| l.starts_with("node-5 ")).unwrap();
    assert_eq!(
        row.split_whitespace().nth(3),
        Some(on_node5.to_string().as_str()),
        "{row}"
    );
    assert!(out.contains("condition MemoryPressure=True"), "{out}");
    assert!(
        out.contains("node.kubernetes.io/unreachable:NoExecute"),
        "{out}"
    );
    assert!(
        out.contains("unhealthy shop/cart-59b7d8c6f-f246m Running 1/1 ready [last exit OOMKilled"),
        "{out}"
    );
    let only = nodes::nodes(
        &f.target,
        &nodes::NodesOptions {
            problems_only: true,
            name: None,
            label_selector: None,
            pods_per_node: Some(2),
        },
    )
    .await
    .unwrap();
    assert!(
        only.contains("node-6") && only.contains("more unhealthy pods"),
        "{only}"
    );
    // The same pods through `list node=`.
    let listed = list::list(
        &f.target,
        &list::ListOptions {
            kind: "pods".into(),
            node: Some("node-5".into()),
            all_pods: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(listed.contains(&format!("{on_node5} pods,")), "{listed}");
}

#[tokio::test]
async fn storage_and_certificates_have_their_own_columns() {
    let extra = [
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-data-0", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "fast", "claimRef": {"namespace": "shop", "name": "data-postgres-0"}},
            "status": {"phase": "Bound"}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "disk.csi.azure.com", "volumeBindingMode": "WaitForFirstConsumer"}),
    ];
    let dir = without_endpoints(&common::shop_dir(), &extra);
    let (_s, t) = serve(dir.path()).await;
    let get = |kind: &str| {
        let t = t.clone();
        let kind = kind.to_string();
        async move {
            list::list(
                &t,
                &list::ListOptions {
                    kind,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let pv = get("pv").await;
    assert!(
        pv.contains("CLAIM") && pv.contains("shop/data-postgres-0") && pv.contains("RWO"),
        "{pv}"
    );
    let sc = get("sc").await;
    assert!(
        sc.contains("disk.csi.azure.com")
            && sc.contains("WaitForFirstConsumer")
            && sc.contains("yes"),
        "{sc}"
    );
    let certs = get("certificates.cert-manager.io").await;
    assert!(
        certs.contains("NOT-AFTER") && certs.contains("ISSUER"),
        "{certs}"
    );
}
