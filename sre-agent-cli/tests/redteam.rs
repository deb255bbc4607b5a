//! The red-team table (`mcp_kit::redteam`) planted where an investigation
//! reads and quotes: the crashed container's previous log and the pod's
//! events of a bundled scenario. `sre-agent investigate` runs on it as users
//! run it (the binary, the servers in-process) and every output it has is
//! searched for the planted secrets: the text, JSON and Markdown reports and
//! the `--record` transcript. Prints `leaked N / planted M` per output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use mcp_kit::redteam::{PLANTED, normalize};
use serde_json::{Value, json};
use support::agent::copy_tree;

const POD: &str = "checkout-mc7rjmwk65-nqr7h";

/// The crash-loop scenario with every planted text in the crashed
/// container's last words and in its pod's events.
fn planted_scenario(dir: &Path) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    copy_tree(&root.join("crashloop-missing-env"), dir);
    let log = dir.join(format!("k8s/logs/shop/{POD}/checkout.previous.log"));
    let mut text = std::fs::read_to_string(&log).unwrap();
    let fatal = text
        .find("FATAL")
        .and_then(|i| text[..i].rfind('\n'))
        .unwrap();
    let planted: String = PLANTED
        .iter()
        .map(|(_, t, _)| format!("2025-06-09T13:41:58.450Z ERROR config dump: {t}\n"))
        .collect();
    text.insert_str(fatal + 1, &planted);
    std::fs::write(&log, text).unwrap();
    let events = dir.join("k8s/events.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&events).unwrap()).unwrap();
    let items = doc["items"].as_array_mut().unwrap();
    for (i, (_, t, _)) in PLANTED.iter().enumerate() {
        items.push(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{POD}.rt{i:03}"), "namespace": "shop"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": POD, "namespace": "shop"},
            "reason": "Failed", "type": "Warning", "count": 1,
            "message": format!("Error: container failed: {t}"),
            "firstTimestamp": "2025-06-09T13:42:00Z", "lastTimestamp": "2025-06-09T13:50:00Z",
            "source": {"component": "kubelet"}}));
    }
    std::fs::write(&events, doc.to_string()).unwrap();
}

/// The planted secrets found in `output`, as written or JSON-escaped.
fn leaks(output: &str) -> Vec<&'static str> {
    let seen = normalize(output);
    PLANTED
        .iter()
        .map(|(_, _, secret)| *secret)
        .filter(|secret| {
            let quoted = serde_json::to_string(secret).unwrap();
            let escaped = &quoted[1..quoted.len() - 1];
            output.contains(secret) || output.contains(escaped) || seen.contains(&normalize(secret))
        })
        .collect()
}

#[test]
fn no_planted_secret_reaches_any_investigate_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("scenario");
    planted_scenario(&dir);
    let record = tmp.path().join("record.json");
    let mut outputs: Vec<(String, String)> = Vec::new();
    for format in ["text", "json", "markdown"] {
        let mut args = vec![
            "investigate".to_string(),
            "--scenario".into(),
            dir.display().to_string(),
            "--no-llm".into(),
            "--format".into(),
            format.into(),
        ];
        if format == "json" {
            args.extend(["--record".into(), record.display().to_string()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_sre-agent"))
            .args(&args)
            .env_remove("SRE_AGENT_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((format.into(), String::from_utf8_lossy(&out.stdout).into()));
        outputs.push((
            format!("{format} (stderr)"),
            String::from_utf8_lossy(&out.stderr).into(),
        ));
    }
    outputs.push(("--record".into(), std::fs::read_to_string(&record).unwrap()));
    // The planted lines were read: the transcript holds the crashed
    // container's log, with its planted lines masked.
    let (_, transcript) = outputs.last().unwrap();
    assert!(
        transcript.contains("config dump: "),
        "the planted log was not read"
    );
    assert!(transcript.contains("[REDACTED"), "nothing was masked");
    let mut failed = Vec::new();
    for (name, output) in &outputs {
        let leaked = leaks(output);
        eprintln!(
            "{name}: leaked {} / planted {}",
            leaked.len(),
            PLANTED.len()
        );
        if !leaked.is_empty() {
            failed.push(format!("{name}: {leaked:?}"));
        }
    }
    assert!(failed.is_empty(), "leaked:\n{}", failed.join("\n"));
}
