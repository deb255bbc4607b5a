//! What starts an investigation: an alert (Alertmanager or SigNoz webhook, or
//! an alert parsed from Slack) or an on-demand request.
//!
//! Every input is normalised into one [`Alert`], so the router and the agents
//! never care where it came from. Parsing is strict about structure and
//! forgiving about content: a payload that is not what it claims to be is an
//! [`AlertError`] that says exactly what is wrong; a missing label is just
//! absent.
//!
//! SigNoz's alert manager is a fork of Prometheus Alertmanager and sends the
//! same webhook body (version 4), with its own labels (`ruleId`,
//! `ruleSource`, `service.name`, …); both go through [`parse_webhook`], which
//! tells them apart by those labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// A Prometheus Alertmanager webhook.
    Alertmanager,
    /// A SigNoz alert webhook.
    Signoz,
    /// An alert message posted in a Slack channel.
    Slack,
    /// A person asked (`/sre investigate`, `sre-agent investigate`).
    OnDemand,
}

/// Whether the alert is firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Firing now.
    Firing,
    /// Resolved.
    Resolved,
}

/// Annotation set on an alert that arrived as a Slack message: its channel.
/// The incident store answers such an alert in that message's thread.
pub const ANN_SLACK_CHANNEL: &str = "sre-agent/slack-channel";
/// Annotation set on an alert that arrived as a Slack message: the message's
/// ts, which is the thread the RCA goes to.
pub const ANN_SLACK_THREAD: &str = "sre-agent/slack-thread";

/// One alert, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Where it came from.
    pub source: AlertSource,
    /// The alert's name (`alertname`), or `on-demand`.
    pub name: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// `severity` label, if any.
    pub severity: Option<String>,
    /// The service the alert is about, from the usual labels.
    pub service: Option<String>,
    /// The Kubernetes namespace, from the usual labels.
    pub namespace: Option<String>,
    /// A one-line summary (annotation `summary`, else `description`, else the name).
    pub summary: String,
    /// Longer description, if any.
    pub description: Option<String>,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// All annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: Option<jiff::Timestamp>,
    /// Alertmanager's fingerprint, or one computed from the labels: the
    /// identity used to investigate an alert once per dedup window.
    pub fingerprint: String,
    /// A link back to the alert's source (`generatorURL`).
    pub link: Option<String>,
    /// A free-text question (on-demand requests).
    pub question: Option<String>,
    /// How far back to look, in seconds, when asked on demand.
    pub lookback_secs: Option<u64>,
}

/// Why an input could not be understood.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlertError {
    /// Not JSON at all.
    #[error("the alert payload is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not a webhook payload.
    #[error(
        "the payload is not an Alertmanager/SigNoz webhook (version 4): {0}. \
         Expected an object with an `alerts` array"
    )]
    NotWebhook(String),
    /// A webhook with no alerts.
    #[error("the webhook payload has no alerts")]
    NoAlerts,
    /// An alert without an `alertname` label.
    #[error("alert #{index} has no `alertname` label")]
    NoName {
        /// 1-based position in the payload.
        index: usize,
    },
    /// A bad on-demand request.
    #[error("invalid request: {0}")]
    BadRequest(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
    alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Labels that name the service when no subject label does (see
/// [`crate::subject`]): application labels that carry no kind.
const SERVICE_LABELS: &[&str] = &["app", "app_kubernetes_io_name", "app.kubernetes.io/name"];

/// Labels that name the namespace.
const NAMESPACE_LABELS: &[&str] = &[
    "exported_namespace",
    "namespace",
    "k8s_namespace_name",
    "k8s.namespace.name",
    "kubernetes_namespace",
];

fn first_label(labels: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| labels.get(*k))
        .find(|v| !v.trim().is_empty())
        .cloned()
}

/// A stable fingerprint of a label set (FNV-1a over sorted `k=v` pairs), for
/// alerts that do not carry Alertmanager's.
pub fn fingerprint_labels(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for byte in k.bytes().chain([b'=']).chain(v.bytes()).chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Parses an Alertmanager or SigNoz webhook body into one [`Alert`] per
/// alert in it (a grouped notification carries several).
pub fn parse_webhook(body: &str) -> Result<Vec<Alert>, AlertError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| AlertError::NotJson(e.to_string()))?;
    if !value.is_object() {
        return Err(AlertError::NotWebhook(
            "the top level is not an object".into(),
        ));
    }
    if value.get("alerts").is_none() {
        return Err(AlertError::NotWebhook("there is no `alerts` field".into()));
    }
    let hook: Webhook =
        serde_json::from_value(value).map_err(|e| AlertError::NotWebhook(e.to_string()))?;
    if let Some(v) = &hook.version
        && v != "4"
    {
        tracing::debug!(version = %v, "webhook version is not 4; parsing anyway");
    }
    if hook.alerts.is_empty() {
        return Err(AlertError::NoAlerts);
    }
    hook.alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let mut labels = hook.common_labels.clone();
            labels.extend(a.labels);
            let mut annotations = hook.common_annotations.clone();
            annotations.extend(a.annotations);
            let name = labels
                .get("alertname")
                .filter(|n| !n.trim().is_empty())
                .cloned()
                .ok_or(AlertError::NoName { index: i + 1 })?;
            let source = if labels.contains_key("ruleId") || labels.contains_key("ruleSource") {
                AlertSource::Signoz
            } else {
                AlertSource::Alertmanager
            };
            let status = match a.status.as_deref() {
                Some("resolved") => AlertStatus::Resolved,
                _ => AlertStatus::Firing,
            };
            // Alertmanager sends 0001-01-01T00:00:00Z for "unknown".
            let starts_at = a
                .starts_at
                .as_deref()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .filter(|t| t.as_second() > 0);
            let summary = annotations
                .get("summary")
                .or_else(|| annotations.get("description"))
                .or_else(|| annotations.get("message"))
                .cloned()
                .unwrap_or_else(|| name.clone());
            let fingerprint = a
                .fingerprint
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| fingerprint_labels(&labels));
            let subject = crate::subject::resolve(&labels, crate::subject::owner_of);
            Ok(Alert {
                source,
                status,
                severity: labels.get("severity").cloned(),
                service: subject
                    .as_ref()
                    .map(|s| s.workload.clone())
                    .or_else(|| first_label(&labels, SERVICE_LABELS)),
                namespace: subject
                    .and_then(|s| s.namespace)
                    .or_else(|| first_label(&labels, NAMESPACE_LABELS)),
                description: annotations.get("description").cloned(),
                summary,
                starts_at,
                fingerprint,
                link: a.generator_url.filter(|u| !u.is_empty()),
                question: None,
                lookback_secs: None,
                name,
                labels,
                annotations,
            })
        })
        .collect()
}

/// Parses a look-back such as `30m`, `2h`, `1h30m` or `1d` into whole seconds
/// (rounded up), in the workspace's one duration grammar
/// ([`mcp_kit::duration`]; a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<u64, AlertError> {
    mcp_kit::duration::parse_secs(text).map_err(|e| AlertError::BadRequest(format!("since: {e}")))
}

/// Builds the alert for an on-demand request ("investigate service=checkout
/// since=30m why are checkouts failing?").
pub fn on_demand(
    service: Option<&str>,
    since: Option<&str>,
    question: Option<&str>,
    namespace: Option<&str>,
) -> Result<Alert, AlertError> {
    let service = service.map(str::trim).filter(|s| !s.is_empty());
    let question = question.map(str::trim).filter(|s| !s.is_empty());
    if service.is_none() && question.is_none() {
        return Err(AlertError::BadRequest(
            "say what to investigate: a service (service=checkout) or a question".into(),
        ));
    }
    let lookback = since.map(parse_duration).transpose()?.unwrap_or(1800);
    let mut labels = BTreeMap::new();
    if let Some(s) = service {
        labels.insert("service".to_string(), s.to_string());
    }
    if let Some(ns) = namespace {
        labels.insert("namespace".to_string(), ns.to_string());
    }
    let summary = match (service, question) {
        (Some(s), Some(q)) => format!("{s}: {q}"),
        (Some(s), None) => format!("investigate {s}"),
        (None, Some(q)) => q.to_string(),
        (None, None) => String::new(),
    };
    Ok(Alert {
        source: AlertSource::OnDemand,
        name: "on-demand".into(),
        status: AlertStatus::Firing,
        severity: None,
        service: service.map(str::to_string),
        namespace: namespace.map(str::to_string),
        fingerprint: fingerprint_labels(&labels),
        summary,
        description: None,
        labels,
        annotations: BTreeMap::new(),
        starts_at: None,
        link: None,
        question: question.map(str::to_string),
        lookback_secs: Some(lookback),
    })
}

/// Parses the text of a slash command: `investigate service=checkout
/// since=30m why are checkouts failing?` (the leading `investigate` is
/// optional; `key=value` pairs first, the rest is the question).
pub fn parse_command(text: &str) -> Result<Alert, AlertError> {
    let mut words = text.split_whitespace().peekable();
    if words
        .peek()
        .is_some_and(|w| w.eq_ignore_ascii_case("investigate"))
    {
        words.next();
    }
    let (mut service, mut since, mut namespace) = (None, None, None);
    let mut question = Vec::new();
    for word in words {
        match word.split_once('=') {
            Some(("service", v)) => service = Some(v.to_string()),
            Some(("since", v)) => since = Some(v.to_string()),
            Some(("namespace" | "ns", v)) => namespace = Some(v.to_string()),
            Some((k, _)) if question.is_empty() && !k.contains(' ') && k.len() < 20 => {
                return Err(AlertError::BadRequest(format!(
                    "unknown option `{k}`; use service=, since=, namespace="
                )));
            }
            _ => question.push(word),
        }
    }
    let question = question.join(" ");
    on_demand(
        service.as_deref(),
        since.as_deref(),
        Some(question.as_str()),
        namespace.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const AM: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "sre-agent",
      "groupLabels": {"alertname": "KubePodCrashLooping"},
      "commonLabels": {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop"},
      "commonAnnotations": {"summary": "Pod is crash looping."},
      "externalURL": "http://alertmanager:9093",
      "alerts": [
        {"status": "firing",
         "labels": {"pod": "checkout-7d9f8b6c5d-x2k4q", "container": "checkout", "job": "kube-state-metrics"},
         "annotations": {"description": "Pod shop/checkout-7d9f8b6c5d-x2k4q (checkout) is in waiting state (reason: \"CrashLoopBackOff\")."},
         "startsAt": "2026-11-20T14:02:11.000Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus:9090/graph?g0.expr=...", "fingerprint": "a1b2c3d4e5f60718"},
        {"status": "resolved", "labels": {"pod": "checkout-7d9f8b6c5d-w7zpq", "container": "checkout"},
         "annotations": {}, "startsAt": "0001-01-01T00:00:00Z", "fingerprint": ""}
      ]}"#;

    #[test]
    fn parses_alertmanager_grouped_notification() {
        let alerts = parse_webhook(AM).unwrap();
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert_eq!(a.source, AlertSource::Alertmanager);
        assert_eq!(a.name, "KubePodCrashLooping");
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.severity.as_deref(), Some("warning"));
        assert_eq!(a.namespace.as_deref(), Some("shop"));
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.summary, "Pod is crash looping.");
        assert_eq!(a.fingerprint, "a1b2c3d4e5f60718");
        assert_eq!(a.starts_at.unwrap().to_string(), "2026-11-20T14:02:11Z");
        let b = &alerts[1];
        assert_eq!(b.status, AlertStatus::Resolved);
        assert!(b.starts_at.is_none(), "zero time means unknown");
        assert_eq!(b.fingerprint.len(), 16, "computed when absent");
        assert_ne!(b.fingerprint, a.fingerprint);
    }

    #[test]
    fn recognises_signoz() {
        let body = r#"{"status":"firing","alerts":[{"status":"firing",
          "labels":{"alertname":"High p99 latency","ruleId":"42","ruleSource":"http://signoz:3301/alerts/edit?ruleId=42","service.name":"payments","severity":"critical"},
          "annotations":{"description":"p99 latency above 2s","summary":"payments p99 2.4s"},
          "startsAt":"2026-11-20T10:00:00Z"}]}"#;
        let alerts = parse_webhook(body).unwrap();
        assert_eq!(alerts[0].source, AlertSource::Signoz);
        assert_eq!(alerts[0].service.as_deref(), Some("payments"));
        assert_eq!(alerts[0].severity.as_deref(), Some("critical"));
    }

    #[test]
    fn bad_inputs_get_specific_errors() {
        assert!(matches!(
            parse_webhook("{nope"),
            Err(AlertError::NotJson(_))
        ));
        assert!(matches!(
            parse_webhook("[1,2]"),
            Err(AlertError::NotWebhook(_))
        ));
        assert!(
            matches!(parse_webhook(r#"{"status":"firing"}"#), Err(AlertError::NotWebhook(m)) if m.contains("alerts"))
        );
        assert_eq!(parse_webhook(r#"{"alerts":[]}"#), Err(AlertError::NoAlerts));
        assert_eq!(
            parse_webhook(r#"{"alerts":[{"labels":{"severity":"x"}}]}"#),
            Err(AlertError::NoName { index: 1 })
        );
        assert!(matches!(
            parse_webhook(r#"{"alerts":[{"labels":{"alertname":3}}]}"#),
            Err(AlertError::NotWebhook(_))
        ));
    }

    #[test]
    fn parses_commands_and_durations() {
        let a = parse_command("investigate service=checkout since=2h why are checkouts failing?")
            .unwrap();
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.lookback_secs, Some(7200));
        assert_eq!(a.question.as_deref(), Some("why are checkouts failing?"));
        assert_eq!(a.source, AlertSource::OnDemand);
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("90"), Ok(90), "a bare number is seconds");
        assert!(parse_duration("soon").is_err());
        assert!(
            matches!(parse_command("servce=checkout"), Err(AlertError::BadRequest(m)) if m.contains("servce"))
        );
        assert!(matches!(
            parse_command("investigate"),
            Err(AlertError::BadRequest(_))
        ));
        assert!(
            matches!(parse_command("service=x since=5y"), Err(AlertError::BadRequest(m)) if m.contains("unit"))
        );
    }
}
