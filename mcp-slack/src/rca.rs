//! Block Kit rendering of a root-cause analysis, within Slack's limits.
//!
//! The orchestrator owns the RCA type; it converts into the plain
//! [`RcaMessage`] defined here (so this crate does not depend on it), and
//! [`render_rca`] turns that into a message: fallback `text` plus Block Kit
//! `blocks` as raw JSON, ready for `chat.postMessage`.
//!
//! Slack's limits are kept, and whatever does not fit is cut *visibly*:
//!
//! * at most [`MAX_BLOCKS`] blocks per message;
//! * at most [`MAX_TEXT`] characters in a section's text (longer text is
//!   split over several sections, at most [`MAX_SECTIONS_PER_PART`] per part;
//!   the rest is replaced by a note pointing to the portal);
//! * header text at most 150 characters, button text 75, button values
//!   2,000, URLs 3,000.
//!
//! Text from the RCA is escaped for mrkdwn (`&`, `<`, `>`), so an RCA that
//! quotes `<!channel>` from a log line cannot ping the channel.
//!
//! The buttons carry the investigation ID as their value and use the action
//! IDs [`ACTION_CONFIRM`], [`ACTION_REJECT`] and [`ACTION_OPEN_PORTAL`];
//! [`RcaFeedback::from_interaction`] reads a click back.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Slack's limit on blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Slack's limit on a section's text.
pub const MAX_TEXT: usize = 3_000;
/// Slack's limit on header text.
pub const MAX_HEADER: usize = 150;
/// Slack's limit on button text.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Slack's limit on a button value.
pub const MAX_BUTTON_VALUE: usize = 2_000;
/// Slack's limit on a URL.
pub const MAX_URL: usize = 3_000;
/// Most sections one part (summary, root cause, evidence, …) may take.
pub const MAX_SECTIONS_PER_PART: usize = 6;
/// Length of the notification fallback text.
pub const MAX_FALLBACK: usize = 600;

/// Action ID of the "confirm root cause" button.
pub const ACTION_CONFIRM: &str = "rca_confirm";
/// Action ID of the "wrong root cause" button.
pub const ACTION_REJECT: &str = "rca_reject";
/// Action ID of the "open in portal" button.
pub const ACTION_OPEN_PORTAL: &str = "rca_open_portal";

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcaEvidence {
    /// Where it comes from, e.g. `SigNoz traces` or `kubectl describe pod`.
    pub source: String,
    /// What it shows.
    pub detail: String,
    /// A link to it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcaTimelineEntry {
    /// When, as the orchestrator writes it (RFC 3339 recommended).
    pub at: String,
    /// What happened.
    pub event: String,
}

/// An RCA as this crate renders it; the orchestrator converts into this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcaMessage {
    /// Investigation ID (carried by the buttons).
    pub id: String,
    /// What was investigated, e.g. the alert name.
    pub title: String,
    /// A short summary.
    pub summary: String,
    /// The root cause.
    pub root_cause: String,
    /// Confidence in the root cause, 0.0 to 1.0.
    pub confidence: f64,
    /// Evidence, most telling first.
    #[serde(default)]
    pub evidence: Vec<RcaEvidence>,
    /// Timeline, oldest first.
    #[serde(default)]
    pub timeline: Vec<RcaTimelineEntry>,
    /// Remediation steps, in order.
    #[serde(default)]
    pub remediation: Vec<String>,
    /// Link to the investigation in the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_url: Option<String>,
}

/// A rendered message: fallback text and blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedMessage {
    /// Notification and accessibility fallback.
    pub text: String,
    /// Block Kit blocks.
    pub blocks: Vec<Value>,
}

/// Escapes text for mrkdwn.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn truncate(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A URL safe to put in `<url|label>` and in a button: http(s), no
/// markup characters, within the length limit.
fn safe_url(url: &str) -> Option<String> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && chars(url) <= MAX_URL
        && !url.contains(['<', '>', '|', ' ', '\n']);
    ok.then(|| url.to_string())
}

/// Splits escaped mrkdwn into chunks of at most `max` characters, at line
/// or word breaks when possible and never inside an `&…;` entity.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let floor = max / 2;
        let mut cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .filter(|i| *i >= floor)
            .or_else(|| {
                window
                    .iter()
                    .rposition(|c| *c == ' ')
                    .filter(|i| *i >= floor)
            })
            .map(|i| i + 1)
            .unwrap_or(max);
        // Do not split an entity such as `&amp;`.
        if let Some(amp) = rest[..cut].iter().rposition(|c| *c == '&')
            && cut - amp < 6
            && !rest[amp..cut].contains(&';')
            && amp > 0
        {
            cut = amp;
        }
        let chunk: String = rest[..cut].iter().collect();
        out.push(chunk.trim_end().to_string());
        rest.drain(..cut);
    }
    let last: String = rest.into_iter().collect();
    if !last.trim().is_empty() || out.is_empty() {
        out.push(last);
    }
    out
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// Renders `body` (escaped mrkdwn) under a bold `heading` as at most
/// `max_sections` sections, with a note when text had to be cut.
fn part(heading: &str, body: &str, max_sections: usize, has_portal: bool) -> Vec<Value> {
    let full = format!("*{heading}*\n{body}");
    let mut chunks = split_text(&full, MAX_TEXT);
    if chunks.len() > max_sections {
        let dropped: usize = chunks[max_sections..].iter().map(|c| chars(c)).sum();
        chunks.truncate(max_sections);
        let note = format!(
            "\n_[{} more characters not shown: Slack limits message size{}]_",
            dropped,
            if has_portal {
                "; the full text is in the portal"
            } else {
                ""
            }
        );
        if let Some(last) = chunks.last_mut() {
            let keep = MAX_TEXT.saturating_sub(chars(&note));
            if chars(last) > keep {
                *last = last.chars().take(keep).collect();
            }
            last.push_str(&note);
        }
    }
    chunks.into_iter().map(section).collect()
}

fn confidence_label(c: f64) -> &'static str {
    if c >= 0.8 {
        "High"
    } else if c >= 0.5 {
        "Medium"
    } else {
        "Low"
    }
}

fn button(text: &str, action_id: &str) -> Value {
    json!({
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, MAX_BUTTON_TEXT), "emoji": true},
        "action_id": action_id,
    })
}

/// Renders an RCA as a Slack message within Slack's limits.
pub fn render_rca(rca: &RcaMessage) -> RenderedMessage {
    let portal = rca.portal_url.as_deref().and_then(safe_url);
    let has_portal = portal.is_some();
    let confidence = rca.confidence.clamp(0.0, 1.0);
    let pct = (confidence * 100.0).round() as u32;
    let label = confidence_label(confidence);

    let mut blocks: Vec<Value> = Vec::new();
    blocks.push(json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&format!("Root cause analysis: {}", rca.title.trim()), MAX_HEADER), "emoji": true},
    }));
    blocks.extend(part("Summary", &escape(rca.summary.trim()), 2, has_portal));
    blocks.extend(part(
        &format!("Root cause · {label} confidence ({pct}%)"),
        &escape(rca.root_cause.trim()),
        2,
        has_portal,
    ));

    // Lists: one line per item, cut by count of sections.
    let lists: [(&str, Vec<String>); 3] = [
        (
            "Evidence",
            rca.evidence
                .iter()
                .map(|e| {
                    let link = e
                        .link
                        .as_deref()
                        .and_then(safe_url)
                        .map(|u| format!(" <{u}|view>"))
                        .unwrap_or_default();
                    format!(
                        "• *{}*: {}{link}",
                        escape(e.source.trim()),
                        escape(e.detail.trim())
                    )
                })
                .collect(),
        ),
        (
            "Timeline",
            rca.timeline
                .iter()
                .map(|t| {
                    format!(
                        "• `{}` {}",
                        escape(t.at.trim()).replace('`', "'"),
                        escape(t.event.trim())
                    )
                })
                .collect(),
        ),
        (
            "Remediation",
            rca.remediation
                .iter()
                .enumerate()
                .map(|(i, r)| format!("{}. {}", i + 1, escape(r.trim())))
                .collect(),
        ),
    ];
    for (heading, items) in lists {
        if items.is_empty() {
            continue;
        }
        blocks.push(json!({"type": "divider"}));
        blocks.extend(list_part(
            heading,
            &items,
            MAX_SECTIONS_PER_PART,
            has_portal,
        ));
    }

    let mut context = format!("Investigation `{}`", escape(rca.id.trim()));
    if let Some(u) = &portal {
        context.push_str(&format!(" · <{u}|Open in portal>"));
    }
    context.push_str(" · Is this root cause right? Tell us with the buttons below.");
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&context, MAX_TEXT)}]}));

    let value = truncate(rca.id.trim(), MAX_BUTTON_VALUE);
    let mut confirm = button("✅ Confirm root cause", ACTION_CONFIRM);
    confirm["style"] = json!("primary");
    confirm["value"] = json!(value);
    let mut reject = button("❌ Wrong root cause", ACTION_REJECT);
    reject["style"] = json!("danger");
    reject["value"] = json!(value);
    let mut elements = vec![confirm, reject];
    if let Some(u) = &portal {
        let mut open = button("Open in portal", ACTION_OPEN_PORTAL);
        open["url"] = json!(u);
        open["value"] = json!(value);
        elements.push(open);
    }
    blocks.push(json!({"type": "actions", "block_id": "rca_feedback", "elements": elements}));

    // The parts above are bounded (1 + 2 + 2 + 3×(1 + 6) + 2 = 28 blocks);
    // this guard keeps the promise should those numbers ever change.
    if blocks.len() > MAX_BLOCKS {
        let actions = blocks.pop();
        let context = blocks.pop();
        blocks.truncate(MAX_BLOCKS - 3);
        blocks.push(section(
            "_[Some sections were left out: Slack allows 50 blocks per message.]_".into(),
        ));
        blocks.extend(context);
        blocks.extend(actions);
    }

    let fallback = truncate(
        &format!(
            "Root cause analysis for {}: {} ({label} confidence, {pct}%)",
            rca.title.trim(),
            rca.root_cause.trim()
        ),
        MAX_FALLBACK,
    );
    RenderedMessage {
        text: escape(&fallback),
        blocks,
    }
}

/// Packs list lines into sections; drops whole items (with a note) when the
/// section budget runs out.
fn list_part(heading: &str, items: &[String], max_sections: usize, has_portal: bool) -> Vec<Value> {
    let mut sections: Vec<String> = vec![format!("*{heading}*")];
    let mut shown = 0;
    for item in items {
        // One item alone never exceeds a section.
        let item = if chars(item) > MAX_TEXT - 200 {
            format!(
                "{}… _[cut]_",
                item.chars().take(MAX_TEXT - 220).collect::<String>()
            )
        } else {
            item.clone()
        };
        let Some(current) = sections.last_mut() else {
            break;
        };
        if chars(current) + 1 + chars(&item) <= MAX_TEXT - 200 {
            current.push('\n');
            current.push_str(&item);
        } else if sections.len() < max_sections {
            sections.push(item);
        } else {
            break;
        }
        shown += 1;
    }
    if shown < items.len()
        && let Some(last) = sections.last_mut()
    {
        last.push_str(&format!(
            "\n_…and {} more not shown (Slack message limits){}._",
            items.len() - shown,
            if has_portal { "; see the portal" } else { "" }
        ));
    }
    sections.into_iter().map(section).collect()
}

/// What a click on an RCA button said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RcaFeedback {
    /// The investigation ID.
    pub investigation_id: String,
    /// `true` for "confirm", `false` for "wrong".
    pub confirmed: bool,
    /// Who clicked (user ID).
    pub user_id: Option<String>,
    /// Where the message is.
    pub channel_id: Option<String>,
    /// The RCA message's ts.
    pub message_ts: Option<String>,
}

impl RcaFeedback {
    /// Reads a `block_actions` payload (the JSON in `payload=`); `None` if it
    /// is not a confirm/reject click on an RCA.
    pub fn from_interaction(payload: &Value) -> Option<Self> {
        if payload.get("type").and_then(Value::as_str) != Some("block_actions") {
            return None;
        }
        let action = payload.get("actions")?.as_array()?.iter().find(|a| {
            matches!(
                a.get("action_id").and_then(Value::as_str),
                Some(ACTION_CONFIRM | ACTION_REJECT)
            )
        })?;
        let s = |p: &str| {
            payload
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Some(Self {
            investigation_id: action.get("value")?.as_str()?.to_string(),
            confirmed: action.get("action_id").and_then(Value::as_str) == Some(ACTION_CONFIRM),
            user_id: s("/user/id"),
            channel_id: s("/channel/id").or_else(|| s("/container/channel_id")),
            message_ts: s("/container/message_ts").or_else(|| s("/message/ts")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_limit_and_entities() {
        let text = "a&amp;b ".repeat(1000);
        let parts = split_text(&text, 100);
        assert!(parts.iter().all(|p| p.chars().count() <= 100));
        for p in &parts {
            // No chunk ends inside an entity.
            let tail = &p[p.rfind('&').unwrap_or(0)..];
            assert!(!tail.starts_with('&') || tail.contains(';'), "{p}");
        }
        assert_eq!(parts.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn escape_stops_pings() {
        assert_eq!(escape("<!channel> a&b"), "&lt;!channel&gt; a&amp;b");
    }

    #[test]
    fn urls_are_checked() {
        assert!(safe_url("javascript:alert(1)").is_none());
        assert!(safe_url("https://x/a|b").is_none());
        assert_eq!(
            safe_url(" https://portal/x ").as_deref(),
            Some("https://portal/x")
        );
    }
}
