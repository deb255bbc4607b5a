//! Recognising alerts that Alertmanager and SigNoz post into Slack.
//!
//! The bot watches alert channels; when an alert message arrives it starts an
//! investigation. Both tools post a legacy *attachment* (through an incoming
//! webhook, user name `Alertmanager` in both cases) whose title carries the
//! status:
//!
//! * **Alertmanager's default `slack_config`** (`template/default.tmpl`):
//!   title `[FIRING:N] <group label values> (<other common label values>)`,
//!   e.g. `[FIRING:2] KubePodCrashLooping prod (checkout critical)`, or
//!   `[RESOLVED] …`; title link to Alertmanager's `/#/alerts?receiver=…`;
//!   empty text; colour `danger`/`good`. Label *names* are not in the default
//!   title, so a value is only known to be a severity by its word.
//! * **Alertmanager with the widespread custom text** from the Prometheus docs
//!   (``*Alert:* <summary> - `<severity>` ``, `*Description:* …`, `*Details:*`
//!   then ``• *<label>:* `<value>` `` lines).
//! * **SigNoz's default Slack channel template**: title
//!   `[FIRING:N] <alertname> for <job> (<name>="<value>", …)` and text
//!   `*Alert:* <alertname> - <severity>`, `*Summary:*`, `*Description:*`,
//!   `*RelatedLogs:*`, `*RelatedTraces:*`, `*Details:*` then
//!   `• *<label>:* <value>` lines (lines end in `\r\n`).
//!
//! [`parse_alert`] takes a message as Slack delivers it (Events API `event`,
//! `conversations.history` entry — any JSON with `text`/`attachments`/
//! `blocks`) and returns a [`ParsedAlert`], or `None` for a message that is
//! not an alert (people talking in the channel). Parsing is lenient: an
//! unknown line is skipped, never an error, because the bot must not miss an
//! incident over a template tweak.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::format::block_texts;

/// Whether the alert is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Firing.
    Firing,
    /// Resolved.
    Resolved,
}

/// Who posted the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// Prometheus Alertmanager.
    Alertmanager,
    /// SigNoz (its alertmanager, with its own default template).
    Signoz,
    /// Something else with an Alertmanager-style `[FIRING]` title.
    Other,
}

/// An alert read from a Slack message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedAlert {
    /// Who posted it.
    pub source: AlertSource,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// The alert name (`alertname` label, else the first title value).
    pub alert_name: String,
    /// Severity, when stated.
    pub severity: Option<String>,
    /// How many alerts fire in the group (`[FIRING:N]`).
    pub firing_count: Option<u32>,
    /// Labels that could be read (`service`, `namespace`, `pod`, …).
    pub labels: BTreeMap<String, String>,
    /// Title values whose label name is unknown (Alertmanager's default title).
    pub unnamed_values: Vec<String>,
    /// The summary annotation, when present.
    pub summary: Option<String>,
    /// The description annotation, when present.
    pub description: Option<String>,
    /// When the alert started, if the message says (RFC 3339 as written).
    pub starts_at: Option<String>,
    /// Links: the title link (Alertmanager/SigNoz), related logs and traces.
    pub links: BTreeMap<String, String>,
    /// The message title as posted.
    pub title: String,
    /// The message ts, when the message had one.
    pub ts: Option<String>,
    /// The channel, when the message named it.
    pub channel: Option<String>,
}

impl ParsedAlert {
    fn label(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.labels.get(*n))
            .map(String::as_str)
    }

    /// The service: `service`, `service_name`, `service.name`, `app`,
    /// `app_kubernetes_io_name`, else `job`.
    pub fn service(&self) -> Option<&str> {
        self.label(&[
            "service",
            "service_name",
            "service.name",
            "app",
            "app_kubernetes_io_name",
            "job",
        ])
    }

    /// The Kubernetes namespace: `namespace`, `k8s_namespace_name`,
    /// `k8s.namespace.name`, `exported_namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.label(&[
            "namespace",
            "k8s_namespace_name",
            "k8s.namespace.name",
            "exported_namespace",
        ])
    }

    /// The pod: `pod`, `pod_name`, `k8s_pod_name`, `k8s.pod.name`.
    pub fn pod(&self) -> Option<&str> {
        self.label(&["pod", "pod_name", "k8s_pod_name", "k8s.pod.name"])
    }
}

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static TITLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?is)^\s*\[\s*(FIRING|RESOLVED)\s*(?::\s*(\d+))?[^\]]*\]\s*(.*?)\s*$"));
static KV: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r#"([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*"((?:[^"\\]|\\.)*)""#));
static FIELD: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^\s*\*([A-Za-z][A-Za-z _]*?)\s*:\*\s*(.*?)\s*$"));
static BULLET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^\s*(?:[•\-*]\s+)?\*?([A-Za-z_][A-Za-z0-9_.\-/]*)\s*:\*?\s+`?([^`]*?)`?\s*$")
});
static LINK: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"<(https?://[^|>]+)(?:\|[^>]*)?>"));

/// Words that, alone in an Alertmanager default title, mean a severity.
const SEVERITY_WORDS: &[&str] = &[
    "critical",
    "warning",
    "warn",
    "info",
    "error",
    "page",
    "high",
    "medium",
    "low",
    "major",
    "minor",
    "none",
    "emergency",
    "alert",
    "notice",
    "debug",
    "p1",
    "p2",
    "p3",
    "p4",
    "p5",
    "sev1",
    "sev2",
    "sev3",
    "sev4",
];

fn is_severity_word(s: &str) -> bool {
    SEVERITY_WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// The parts of a message that may hold an alert.
struct Candidate {
    title: String,
    title_link: Option<String>,
    text: String,
    color: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn candidates(msg: &Value) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some(atts) = msg.get("attachments").and_then(Value::as_array) {
        for a in atts {
            let title = str_at(a, "title")
                .or_else(|| str_at(a, "fallback"))
                .unwrap_or_default();
            let mut text = String::new();
            for key in ["pretext", "text"] {
                if let Some(t) = str_at(a, key) {
                    text.push_str(t);
                    text.push('\n');
                }
            }
            if let Some(fields) = a.get("fields").and_then(Value::as_array) {
                for f in fields {
                    let t = str_at(f, "title").unwrap_or_default();
                    let v = str_at(f, "value").unwrap_or_default();
                    text.push_str(&format!("*{t}:* {v}\n"));
                }
            }
            if let Some(blocks) = a.get("blocks") {
                let mut parts = Vec::new();
                block_texts(blocks, &mut parts);
                text.push_str(&parts.join("\n"));
            }
            out.push(Candidate {
                title: title.to_string(),
                title_link: str_at(a, "title_link").map(str::to_string),
                text,
                color: str_at(a, "color").map(str::to_string),
            });
        }
    }
    // Top-level text (webhooks with `text` only) and blocks (Block Kit
    // templates): the first line is the title.
    let mut body = str_at(msg, "text").unwrap_or_default().to_string();
    if let Some(blocks) = msg.get("blocks") {
        let mut parts = Vec::new();
        block_texts(blocks, &mut parts);
        if !parts.is_empty() {
            body = parts.join("\n");
        }
    }
    let body = body.trim();
    if !body.is_empty() {
        let (title, rest) = body.split_once('\n').unwrap_or((body, ""));
        out.push(Candidate {
            title: title.trim().trim_matches('*').to_string(),
            title_link: None,
            text: rest.to_string(),
            color: None,
        });
    }
    out
}

fn clean(s: &str) -> String {
    s.trim()
        .trim_matches('`')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// Reads an alert from a Slack message (JSON as Slack delivers it).
pub fn parse_alert(msg: &Value) -> Option<ParsedAlert> {
    let title_re = TITLE.as_ref()?;
    for c in candidates(msg) {
        let Some(caps) = title_re.captures(&c.title) else {
            continue;
        };
        let status = if caps[1].eq_ignore_ascii_case("firing") {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        let firing_count = caps.get(2).and_then(|m| m.as_str().parse().ok());
        let rest = caps.get(3).map(|m| m.as_str()).unwrap_or_default();
        let mut alert = ParsedAlert {
            source: AlertSource::Other,
            status,
            alert_name: String::new(),
            severity: None,
            firing_count,
            labels: BTreeMap::new(),
            unnamed_values: Vec::new(),
            summary: None,
            description: None,
            starts_at: None,
            links: BTreeMap::new(),
            title: c.title.trim().to_string(),
            ts: str_at(msg, "ts").map(str::to_string),
            channel: str_at(msg, "channel").map(str::to_string),
        };
        parse_title_rest(rest, &mut alert);
        let signoz_text = parse_body(&c.text, &mut alert);
        if let Some(link) = c.title_link.filter(|l| !l.is_empty()) {
            alert.links.insert("alert".into(), link);
        }
        if let Some(name) = alert.labels.get("alertname") {
            alert.alert_name = name.clone();
        }
        if alert.severity.is_none() {
            alert.severity = alert.labels.get("severity").cloned();
        }
        if alert.status == AlertStatus::Firing
            && c.color.as_deref() == Some("good")
            && firing_count.is_none()
        {
            alert.status = AlertStatus::Resolved;
        }
        let username = str_at(msg, "username")
            .or_else(|| msg.pointer("/bot_profile/name").and_then(Value::as_str))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let link = alert
            .links
            .get("alert")
            .map(String::as_str)
            .unwrap_or_default();
        alert.source = if signoz_text
            || rest.contains(" for ") && rest.contains("=\"")
            || alert.labels.contains_key("ruleId")
            || username.contains("signoz")
        {
            AlertSource::Signoz
        } else if username.contains("alertmanager") || link.contains("/#/alerts") {
            AlertSource::Alertmanager
        } else {
            AlertSource::Other
        };
        if alert.alert_name.is_empty() {
            alert.alert_name = "unknown".into();
        }
        return Some(alert);
    }
    None
}

/// The title after `[FIRING:N]`: SigNoz's `name for job (k="v", …)` or
/// Alertmanager's `values… (values…)`.
fn parse_title_rest(rest: &str, alert: &mut ParsedAlert) {
    let (head, paren) = match rest.find(" (").or_else(|| rest.find('(')) {
        Some(i) if rest.trim_end().ends_with(')') => {
            let inner = rest[i..]
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')');
            (rest[..i].trim(), Some(inner))
        }
        _ => (rest.trim(), None),
    };
    if let Some((name, job)) = head.split_once(" for ") {
        // SigNoz: `<alertname> for <job>`; the job may be empty.
        alert.alert_name = name.trim().to_string();
        if !job.trim().is_empty() {
            alert.labels.insert("job".into(), job.trim().to_string());
        }
    } else {
        let mut values = head.split_whitespace();
        if let Some(first) = values.next() {
            alert.alert_name = first.to_string();
        }
        alert.unnamed_values.extend(values.map(str::to_string));
    }
    if let Some(inner) = paren {
        let pairs: Vec<(String, String)> = KV
            .as_ref()
            .map(|re| {
                re.captures_iter(inner)
                    .map(|c| (c[1].to_string(), c[2].replace("\\\"", "\"")))
                    .collect()
            })
            .unwrap_or_default();
        if pairs.is_empty() {
            alert
                .unnamed_values
                .extend(inner.split_whitespace().map(str::to_string));
        } else {
            alert.labels.extend(pairs);
        }
    }
    if alert.severity.is_none() {
        alert.severity = alert
            .unnamed_values
            .iter()
            .find(|v| is_severity_word(v))
            .cloned();
    }
}

/// The text: `*Field:* value` lines and `• *label:* value` details.
/// Returns whether SigNoz-only fields were seen.
fn parse_body(text: &str, alert: &mut ParsedAlert) -> bool {
    let mut signoz = false;
    let mut alerts_seen = 0;
    let mut in_details = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = FIELD.as_ref().and_then(|re| re.captures(line)) {
            let key = c[1].trim().to_ascii_lowercase().replace(' ', "");
            let value = clean(&c[2]);
            in_details = false;
            match key.as_str() {
                "alert" | "alertname" => {
                    alerts_seen += 1;
                    if alerts_seen > 1 {
                        // Later alerts of the group: keep the first's details.
                        break;
                    }
                    let (main, sev) = match value.rsplit_once(" - ") {
                        Some((m, s)) if !s.contains(' ') => (clean(m), Some(clean(s))),
                        _ => (value.clone(), None),
                    };
                    if let Some(s) = sev.filter(|s| !s.is_empty()) {
                        alert.severity = Some(s);
                    }
                    if main == alert.alert_name || main.split_whitespace().count() == 1 {
                        if alert.alert_name.is_empty() || alert.alert_name == "unknown" {
                            alert.alert_name = main;
                        }
                    } else if alert.summary.is_none() {
                        alert.summary = Some(main);
                    }
                }
                "summary" => alert.summary = Some(value).filter(|v| !v.is_empty()),
                "description" => alert.description = Some(value).filter(|v| !v.is_empty()),
                "severity" => alert.severity = Some(value).filter(|v| !v.is_empty()),
                "starttime" | "started" | "startsat" | "start" | "since" | "firingsince"
                    if !value.is_empty() =>
                {
                    alert.starts_at = Some(value);
                }
                "relatedlogs" | "relatedtraces" => {
                    signoz = true;
                    if let Some(url) = LINK.as_ref().and_then(|re| re.captures(&c[2])) {
                        let name = if key == "relatedlogs" {
                            "logs"
                        } else {
                            "traces"
                        };
                        alert.links.insert(name.into(), url[1].to_string());
                    }
                }
                "details" | "labels" => in_details = true,
                "runbook" | "runbookurl" | "dashboard" | "source" | "graph" => {
                    if let Some(url) = LINK.as_ref().and_then(|re| re.captures(&c[2])) {
                        alert.links.insert(key, url[1].to_string());
                    } else if value.starts_with("http") {
                        alert.links.insert(key, value);
                    }
                }
                _ => {}
            }
            continue;
        }
        let bulleted = line.starts_with('•') || line.starts_with("- ") || line.starts_with("* ");
        if (in_details || bulleted)
            && let Some(c) = BULLET.as_ref().and_then(|re| re.captures(line))
        {
            let name = c[1].to_string();
            let value = clean(&c[2]);
            if !value.is_empty() {
                alert.labels.entry(name).or_insert(value);
            }
        }
    }
    signoz
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_alertmanager_title() {
        let msg = json!({"attachments": [{
            "title": "[FIRING:2] KubePodCrashLooping prod (checkout critical)",
            "title_link": "http://am:9093/#/alerts?receiver=slack",
            "color": "danger", "text": ""
        }], "username": "Alertmanager"});
        let a = parse_alert(&msg).unwrap();
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.alert_name, "KubePodCrashLooping");
        assert_eq!(a.firing_count, Some(2));
        assert_eq!(a.severity.as_deref(), Some("critical"));
        assert_eq!(a.unnamed_values, vec!["prod", "checkout", "critical"]);
        assert_eq!(a.source, AlertSource::Alertmanager);
    }

    #[test]
    fn people_talking_are_not_alerts() {
        assert!(parse_alert(&json!({"text": "is checkout firing again?"})).is_none());
        assert!(parse_alert(&json!({"text": ""})).is_none());
    }
}
