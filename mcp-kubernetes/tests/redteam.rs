//! The red-team table (`mcp_kit::redteam`) planted in a recorded cluster and
//! read back through the tools as a host reads them (after the kit's
//! `finish`): ConfigMap data (one value per row, and all rows in one file),
//! annotations, the last-applied-configuration annotation, env values, event
//! messages and container logs, through `list` (json, yaml, table),
//! `describe` (json, yaml, table), `events` and `logs`. Prints
//! `leaked N / planted M, masked look-alikes K / L` per channel.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use mcp_kit::redteam::{LOOK_ALIKES, PLANTED, Report, normalize};
use mcp_kit::rmcp::model::{CallToolResult, ContentBlock};
use mcp_kit::{Budget, Guarded, ToolPolicy};
use mcp_kubernetes::clusters::{Clusters, ConnectOptions};
use mcp_kubernetes::ops::{describe, events, list, logs};
use mcp_kubernetes::server::KubeServer;
use mcp_kubernetes::{Policy, Target};
use serde_json::{Value, json};

const NS: &str = "rt";

fn event(name: &str, object: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": NS, "creationTimestamp": "2025-06-01T11:58:00Z"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": object, "namespace": NS},
        "reason": "Failed", "type": "Warning", "count": 1, "message": message,
        "firstTimestamp": "2025-06-01T11:58:00Z", "lastTimestamp": "2025-06-01T11:59:00Z",
        "source": {"component": "kubelet"}})
}

fn pod(name: &str, annotations: Value, env: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"),
            "creationTimestamp": "2025-06-01T10:00:00Z", "annotations": annotations},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1", "env": env}]},
        "status": {"phase": "Running", "startTime": "2025-06-01T10:00:00Z",
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                "image": "app:1", "state": {"running": {"startedAt": "2025-06-01T10:00:00Z"}}}]}})
}

fn write_snapshot(dir: &std::path::Path) {
    let planted: serde_json::Map<String, Value> = PLANTED
        .iter()
        .enumerate()
        .map(|(i, (_, t, _))| (format!("p-{i:03}"), json!(t)))
        .collect();
    let looks: serde_json::Map<String, Value> = LOOK_ALIKES
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (format!("l-{i:03}"), json!(t)))
        .collect();
    let file: String = PLANTED.iter().map(|(_, t, _)| format!("{t}\n")).collect();
    let last_applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "rt-file", "namespace": NS}, "data": planted})
    .to_string();
    let env: Vec<Value> = PLANTED
        .iter()
        .enumerate()
        .map(|(i, (_, t, _))| json!({"name": format!("VAR_{i}"), "value": t}))
        .collect();
    let mut items = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "rt-entries", "namespace": NS}, "data": planted}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "rt-looks", "namespace": NS, "annotations": looks}, "data": looks}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "rt-file", "namespace": NS, "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": last_applied}},
            "data": {"app.conf": file}}),
        pod("rt-pod", Value::Object(planted.clone()), Value::Array(env)),
    ];
    for (i, (_, t, _)) in PLANTED.iter().enumerate() {
        items.push(event(&format!("rt-pod.p{i:03}"), "rt-pod", t));
    }
    for (i, (_, t)) in LOOK_ALIKES.iter().enumerate() {
        let name = format!("lk-{i:03}");
        items.push(pod(&name, json!({}), json!([])));
        items.push(event(&format!("{name}.e"), &name, t));
    }
    std::fs::write(
        dir.join("snapshot.yaml"),
        "capturedAt: 2025-06-01T12:00:00Z\ncontext: redteam\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("objects.json"),
        json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
    .unwrap();
    let logs = dir.join("logs").join(NS).join("rt-pod");
    std::fs::create_dir_all(&logs).unwrap();
    let mut log: String = PLANTED.iter().map(|(_, t, _)| format!("{t}\n")).collect();
    log.extend(LOOK_ALIKES.iter().map(|(_, t)| format!("{t}\n")));
    std::fs::write(logs.join("app.log"), log).unwrap();
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

/// Every string (keys and values) of the JSON lines or YAML documents of a
/// `list`/`describe` output.
fn strings(out: &str, yaml: bool) -> Vec<String> {
    let mut docs: Vec<Value> = Vec::new();
    if yaml {
        let body: String = out
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        for d in serde_yaml_ng::Deserializer::from_str(&body) {
            let v: Value = serde::Deserialize::deserialize(d).expect("valid YAML");
            docs.push(v);
        }
    } else {
        for l in out.lines().filter(|l| l.starts_with('{')) {
            docs.push(serde_json::from_str(l).expect("valid JSON"));
        }
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                out.push(k.clone());
                walk(x, out)
            }),
            _ => {}
        }
    }
    let mut all = Vec::new();
    docs.iter().for_each(|d| walk(d, &mut all));
    all
}

#[tokio::test]
async fn red_team_through_every_tool_and_output_mode() {
    let dir = tempfile::tempdir().unwrap();
    write_snapshot(dir.path());
    let opts = ConnectOptions {
        snapshot: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let policy = Policy::default();
    let server = KubeServer::new(Arc::new(Clusters::connect(&opts, policy).await.unwrap()));
    // A budget no output reaches: what is measured is redaction, not cuts.
    let guarded = Guarded::new(
        server.clone(),
        &ToolPolicy::default(),
        Budget::new(5_000_000),
    )
    .unwrap();
    let t: Target = server.clusters().target(None).await.unwrap();
    let host =
        |raw: String| text(&guarded.finish(CallToolResult::success(vec![ContentBlock::text(raw)])));
    let all_planted =
        |r: &mut Report, out: &str| (0..PLANTED.len()).for_each(|i| r.planted(i, out));

    let mut reports = Vec::new();
    for (output, yaml) in [(list::Output::Json, false), (list::Output::Yaml, true)] {
        let mode = if yaml { "yaml" } else { "json" };
        // ConfigMaps: values, a file, last-applied, annotations.
        let out = host(
            list::list(
                &t,
                &list::ListOptions {
                    kind: "configmaps".into(),
                    namespace: Some(NS.into()),
                    output,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        let mut r = Report::new(format!("list configmaps output={mode}"));
        all_planted(&mut r, &out);
        let values = strings(&out, yaml);
        for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
            let n = values.iter().filter(|s| s.as_str() == *look).count();
            // Once as data, once as annotation.
            r.look_alike(i, n >= 2);
        }
        reports.push(r);
        // Pods: annotations and env.
        let out = host(
            list::list(
                &t,
                &list::ListOptions {
                    kind: "pods".into(),
                    namespace: Some(NS.into()),
                    output,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        let mut r = Report::new(format!("list pods output={mode}"));
        all_planted(&mut r, &out);
        strings(&out, yaml);
        reports.push(r);
        // Events.
        let out = host(
            list::list(
                &t,
                &list::ListOptions {
                    kind: "events".into(),
                    namespace: Some(NS.into()),
                    output,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        let mut r = Report::new(format!("list events output={mode}"));
        all_planted(&mut r, &out);
        let values = strings(&out, yaml);
        for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
            r.look_alike(i, values.iter().any(|s| s.as_str() == *look));
        }
        reports.push(r);
        // describe, one object at a time.
        let mut r = Report::new(format!("describe output={mode}"));
        for (kind, name) in [
            ("configmap", "rt-entries"),
            ("configmap", "rt-file"),
            ("pod", "rt-pod"),
        ] {
            let out = host(
                describe::describe(
                    &t,
                    &describe::DescribeOptions {
                        kind: kind.into(),
                        name: name.into(),
                        namespace: Some(NS.into()),
                        output,
                    },
                )
                .await
                .unwrap(),
            );
            all_planted(&mut r, &out);
            strings(&out, yaml);
        }
        let out = host(
            describe::describe(
                &t,
                &describe::DescribeOptions {
                    kind: "configmap".into(),
                    name: "rt-looks".into(),
                    namespace: Some(NS.into()),
                    output,
                },
            )
            .await
            .unwrap(),
        );
        let values = strings(&out, yaml);
        for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
            r.look_alike(
                i,
                values.iter().filter(|s| s.as_str() == *look).count() >= 2,
            );
        }
        reports.push(r);
    }

    // Tables: list, describe (with the pod's events), events, logs.
    let mut r = Report::new("list table");
    for kind in ["configmaps", "pods", "events"] {
        let out = host(
            list::list(
                &t,
                &list::ListOptions {
                    kind: kind.into(),
                    namespace: Some(NS.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        all_planted(&mut r, &out);
    }
    reports.push(r);
    let mut r = Report::new("describe table");
    for (kind, name) in [("configmap", "rt-file"), ("pod", "rt-pod")] {
        let out = host(
            describe::describe(
                &t,
                &describe::DescribeOptions {
                    kind: kind.into(),
                    name: name.into(),
                    namespace: Some(NS.into()),
                    output: list::Output::Table,
                },
            )
            .await
            .unwrap(),
        );
        all_planted(&mut r, &out);
    }
    for i in 0..LOOK_ALIKES.len() {
        let out = host(
            describe::describe(
                &t,
                &describe::DescribeOptions {
                    kind: "pod".into(),
                    name: format!("lk-{i:03}"),
                    namespace: Some(NS.into()),
                    output: list::Output::Table,
                },
            )
            .await
            .unwrap(),
        );
        r.look_alike_in_text(i, &out);
    }
    reports.push(r);

    let mut r = Report::new("events");
    let out = host(
        events::events(
            &t,
            &events::EventsOptions {
                namespace: Some(NS.into()),
                limit: Some(1_000),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    all_planted(&mut r, &out);
    for i in 0..LOOK_ALIKES.len() {
        let out = host(
            events::events(
                &t,
                &events::EventsOptions {
                    namespace: Some(NS.into()),
                    object: Some(format!("pod/lk-{i:03}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        r.look_alike_in_text(i, &out);
    }
    reports.push(r);

    for (mode, grep) in [("tail", None), ("grep", Some(".".to_string()))] {
        let mut r = Report::new(format!("logs {mode}"));
        let out = host(
            logs::logs(
                &t,
                &logs::LogsOptions {
                    namespace: Some(NS.into()),
                    pod: "rt-pod".into(),
                    tail: Some(5_000),
                    max_bytes: Some(1_000_000),
                    grep,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
        all_planted(&mut r, &out);
        let norm = normalize(&out);
        for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
            r.look_alike(i, norm.contains(&normalize(look)));
        }
        reports.push(r);
    }

    let mut total = Report::new("mcp-kubernetes, all tools and modes");
    let mut ok = true;
    for r in reports {
        ok &= r.print();
        total.absorb(r);
    }
    ok &= total.print();
    assert!(ok, "{}", total.summary());
}
