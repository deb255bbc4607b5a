//! Alert parsing over realistic Alertmanager and SigNoz Slack messages
//! (fixtures in `fixtures/slack/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_slack::alerts::{AlertSource, AlertStatus, parse_alert};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/slack")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn alertmanager_default_template_firing() {
    let a = parse_alert(&fixture("alertmanager_default_firing.json")).unwrap();
    assert_eq!(a.source, AlertSource::Alertmanager);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.alert_name, "KubePodCrashLooping");
    assert_eq!(a.firing_count, Some(2));
    assert_eq!(a.severity.as_deref(), Some("critical"));
    // The default title has label values only, never names.
    assert_eq!(a.unnamed_values, ["prod", "checkout", "critical"]);
    assert!(a.labels.is_empty());
    assert_eq!(
        a.links.get("alert").map(String::as_str),
        Some("http://alertmanager.monitoring.svc:9093/#/alerts?receiver=slack-prod")
    );
    assert_eq!(a.ts.as_deref(), Some("1732400000.000100"));
    assert_eq!(a.starts_at, None);
}

#[test]
fn alertmanager_default_template_resolved() {
    let a = parse_alert(&fixture("alertmanager_default_resolved.json")).unwrap();
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(a.firing_count, None);
    assert_eq!(a.alert_name, "KubePodCrashLooping");
    assert_eq!(a.source, AlertSource::Alertmanager);
}

#[test]
fn alertmanager_with_the_prometheus_docs_text_template() {
    let a = parse_alert(&fixture("alertmanager_custom_text_firing.json")).unwrap();
    assert_eq!(a.source, AlertSource::Alertmanager);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.alert_name, "HighErrorRate");
    assert_eq!(a.severity.as_deref(), Some("critical"));
    assert_eq!(
        a.summary.as_deref(),
        Some("Error rate above 5% on payments")
    );
    assert_eq!(
        a.description.as_deref(),
        Some("7.3% of requests to payments-api failed in the last 5 minutes.")
    );
    assert_eq!(a.service(), Some("payments"));
    assert_eq!(a.namespace(), Some("prod"));
    assert_eq!(a.pod(), Some("payments-api-5f7c9d8b4-qlw2k"));
    assert_eq!(a.starts_at.as_deref(), Some("2024-11-23T22:12:41.123Z"));
    assert_eq!(
        a.links.get("runbook").map(String::as_str),
        Some("https://runbooks.example.com/payments/high-error-rate")
    );
}

#[test]
fn signoz_default_template_firing() {
    let a = parse_alert(&fixture("signoz_default_firing.json")).unwrap();
    assert_eq!(a.source, AlertSource::Signoz);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.firing_count, Some(1));
    assert_eq!(a.alert_name, "checkout p99 latency above 2s");
    assert_eq!(a.severity.as_deref(), Some("critical"));
    assert_eq!(a.service(), Some("checkout"));
    assert_eq!(a.namespace(), Some("prod"));
    assert_eq!(a.pod(), Some("checkout-7d9f8b6c5-x2x9z"));
    assert_eq!(
        a.summary.as_deref(),
        Some(
            "This alert is fired when the defined metric (current value: 2.41s) crosses the threshold (2s)"
        )
    );
    assert_eq!(
        a.description.as_deref(),
        Some("p99 latency of checkout is 2.41s, above the 2s threshold")
    );
    assert!(a.links["logs"].starts_with("https://signoz.example.com/logs/logs-explorer"));
    assert!(a.links["traces"].starts_with("https://signoz.example.com/traces-explorer"));
    assert_eq!(
        a.labels.get("threshold.name").map(String::as_str),
        Some("critical")
    );
    // `for {{ .CommonLabels.job }}` with no job label leaves no job.
    assert!(!a.labels.contains_key("job"));
}

#[test]
fn signoz_default_template_resolved() {
    let a = parse_alert(&fixture("signoz_default_resolved.json")).unwrap();
    assert_eq!(a.source, AlertSource::Signoz);
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(
        a.description.as_deref(),
        Some("p99 latency of checkout is back under 2s")
    );
    assert!(a.links.is_empty(), "{:?}", a.links);
}

#[test]
fn alert_inside_an_events_api_envelope() {
    let envelope = fixture("event_callback_alert_message.json");
    let a = parse_alert(&envelope["event"]).unwrap();
    assert_eq!(a.alert_name, "KubeDeploymentReplicasMismatch");
    assert_eq!(a.severity.as_deref(), Some("warning"));
    assert_eq!(a.channel.as_deref(), Some("C0ALERTS01"));
}

#[test]
fn a_person_quoting_an_alert_is_not_an_alert() {
    assert!(parse_alert(&fixture("human_message.json")).is_none());
}

#[test]
fn block_kit_alert_is_read_from_blocks() {
    let msg = serde_json::json!({"text": "fallback", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "[FIRING:3] NodeDiskPressure"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Severity:* warning\n*Summary:* disk > 90% on 3 nodes"}}
    ]});
    let a = parse_alert(&msg).unwrap();
    assert_eq!(a.alert_name, "NodeDiskPressure");
    assert_eq!(a.firing_count, Some(3));
    assert_eq!(a.severity.as_deref(), Some("warning"));
    assert_eq!(a.summary.as_deref(), Some("disk > 90% on 3 nodes"));
    assert_eq!(a.source, AlertSource::Other);
}
