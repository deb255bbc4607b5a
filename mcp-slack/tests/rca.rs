//! Block Kit rendering of an RCA: snapshots of the JSON, and Slack's limits
//! under oversized input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_slack::rca::{
    ACTION_CONFIRM, ACTION_OPEN_PORTAL, ACTION_REJECT, MAX_BLOCKS, MAX_TEXT, RcaEvidence,
    RcaMessage, RcaTimelineEntry, render_rca,
};
use serde_json::Value;

fn typical() -> RcaMessage {
    RcaMessage {
        id: "inv-2024-11-23-0042".into(),
        title: "KubePodCrashLooping checkout (prod)".into(),
        summary: "checkout pods in prod have been crash looping since 22:05 UTC; 38% of checkout requests fail.".into(),
        root_cause: "Release v2.14 lowered the JVM heap limit to 256Mi while the new cart cache needs ~400Mi; pods are OOMKilled on first traffic.".into(),
        confidence: 0.86,
        evidence: vec![
            RcaEvidence {
                source: "Kubernetes".into(),
                detail: "checkout-7d9f8b6c5-x2x9z: last state OOMKilled, 14 restarts in 10 min".into(),
                link: None,
            },
            RcaEvidence {
                source: "SigNoz traces".into(),
                detail: "p99 of POST /cart went from 180ms to 2.4s at 22:04 <spike>".into(),
                link: Some("https://signoz.example.com/traces?service=checkout".into()),
            },
        ],
        timeline: vec![
            RcaTimelineEntry { at: "2024-11-23T22:02:10Z".into(), event: "Deploy checkout v2.14 (heap 512Mi → 256Mi)".into() },
            RcaTimelineEntry { at: "2024-11-23T22:05:41Z".into(), event: "First OOMKilled".into() },
        ],
        remediation: vec![
            "Roll back checkout to v2.13: `kubectl rollout undo deploy/checkout -n prod`".into(),
            "Restore the 512Mi heap limit before re-releasing v2.14".into(),
        ],
        portal_url: Some("https://sre-agent.example.com/investigations/inv-2024-11-23-0042".into()),
    }
}

fn texts(blocks: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for b in blocks {
        if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
            out.push(t.to_string());
        }
        for e in b
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = e.get("text").and_then(Value::as_str) {
                out.push(t.to_string());
            }
        }
    }
    out
}

#[test]
fn typical_rca_snapshot() {
    let rendered = render_rca(&typical());
    insta::assert_json_snapshot!("typical_rca", rendered);
    // Things the snapshot must keep true.
    assert_eq!(rendered.blocks[0]["type"], "header");
    let actions = rendered.blocks.last().unwrap();
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ACTION_CONFIRM, ACTION_REJECT, ACTION_OPEN_PORTAL]);
    assert_eq!(actions["elements"][0]["value"], "inv-2024-11-23-0042");
    // Model text is escaped: no accidental markup or pings.
    let all = texts(&rendered.blocks).join("\n");
    assert!(all.contains("2.4s at 22:04 &lt;spike&gt;"), "{all}");
    assert!(all.contains("High confidence (86%)"));
}

#[test]
fn rca_without_portal_has_no_portal_button() {
    let mut rca = typical();
    rca.portal_url = None;
    rca.evidence.clear();
    rca.timeline.clear();
    rca.remediation.clear();
    rca.confidence = 0.3;
    let rendered = render_rca(&rca);
    insta::assert_json_snapshot!("minimal_rca", rendered);
    let actions = rendered.blocks.last().unwrap();
    assert_eq!(actions["elements"].as_array().unwrap().len(), 2);
    assert!(
        texts(&rendered.blocks)
            .join("\n")
            .contains("Low confidence (30%)")
    );
}

#[test]
fn oversized_rca_stays_within_slacks_limits_and_says_what_was_cut() {
    let mut rca = typical();
    rca.title = "T".repeat(400);
    rca.summary = "word ".repeat(5_000); // 25,000 chars
    rca.root_cause = "<!channel> ".repeat(2_000);
    rca.evidence = (0..500)
        .map(|i| RcaEvidence {
            source: format!("source {i}"),
            detail: "d".repeat(300),
            link: Some(format!("https://x.example.com/{i}")),
        })
        .collect();
    rca.timeline = (0..300)
        .map(|i| RcaTimelineEntry {
            at: format!("t{i}"),
            event: "e".repeat(200),
        })
        .collect();
    rca.remediation = vec!["r".repeat(10_000)];
    let rendered = render_rca(&rca);
    assert!(
        rendered.blocks.len() <= MAX_BLOCKS,
        "{} blocks",
        rendered.blocks.len()
    );
    for b in &rendered.blocks {
        if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
            let limit = if b["type"] == "header" { 150 } else { MAX_TEXT };
            assert!(
                t.chars().count() <= limit,
                "{} chars in a {} block",
                t.chars().count(),
                b["type"]
            );
        }
    }
    let all = texts(&rendered.blocks).join("\n");
    assert!(all.contains(
        "more characters not shown: Slack limits message size; the full text is in the portal"
    ));
    assert!(all.contains("more not shown (Slack message limits); see the portal"));
    assert!(all.contains("… _[cut]_"));
    assert!(!all.contains("<!channel>"), "a ping survived escaping");
    assert!(rendered.text.chars().count() <= 700);
    // The buttons survive whatever was cut.
    assert_eq!(rendered.blocks.last().unwrap()["type"], "actions");
}

#[test]
fn rca_message_round_trips_through_serde() {
    let rca = typical();
    let json = serde_json::to_string(&rca).unwrap();
    let back: RcaMessage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rca);
    // Lists and the portal are optional in the input.
    let minimal: RcaMessage = serde_json::from_str(
        r#"{"id":"i","title":"t","summary":"s","root_cause":"r","confidence":0.5}"#,
    )
    .unwrap();
    assert!(minimal.evidence.is_empty() && minimal.portal_url.is_none());
}
