//! Compact rendering of Slack messages: one line per message.
//!
//! ```text
//! 1732400000.000100 2024-11-23T22:13:20Z @alertmanager: [FIRING:1] KubePodCrashLooping … (2 replies)
//! ```
//!
//! The `ts` comes first because every follow-up call (reply, react, update,
//! read the thread) needs it. Slack markup is made readable (`<@U123>` becomes
//! `@alice`, `<url|label>` becomes `label (url)`), line breaks become ` ⏎ `,
//! bot messages whose text is empty show their attachments and blocks, and one
//! message never takes more than [`MAX_MESSAGE_CHARS`] characters.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

/// Longest text shown for one message.
pub const MAX_MESSAGE_CHARS: usize = 1_500;

/// A message reduced to what a line shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageView {
    /// The message ts.
    pub ts: String,
    /// The author's user ID, if a user.
    pub user: Option<String>,
    /// A name to show when there is no user ID (bots, integrations).
    pub username: Option<String>,
    /// The text, attachments and blocks, flattened.
    pub text: String,
    /// Replies in its thread.
    pub reply_count: usize,
    /// Parent ts if this is a reply.
    pub thread_ts: Option<String>,
}

impl MessageView {
    /// From a message as the Web API returns it (JSON). Works for
    /// `conversations.history`, `conversations.replies` and events alike.
    pub fn from_json(m: &Value) -> Self {
        let str_of = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let username = str_of("username")
            .or_else(|| {
                m.pointer("/bot_profile/name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| {
                m.pointer("/user_profile/display_name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            });
        Self {
            ts: str_of("ts").unwrap_or_default(),
            user: str_of("user"),
            username,
            text: message_text(m),
            reply_count: m.get("reply_count").and_then(Value::as_u64).unwrap_or(0) as usize,
            thread_ts: str_of("thread_ts"),
        }
    }
}

/// The readable content of a message: its text, else (or also, for bots)
/// its attachments, else its blocks.
pub fn message_text(m: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let text = m
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if !text.is_empty() {
        parts.push(text.to_string());
    }
    if let Some(atts) = m.get("attachments").and_then(Value::as_array) {
        for a in atts {
            let s = attachment_text(a);
            if !s.is_empty() && !parts.iter().any(|p| p == &s) {
                parts.push(s);
            }
        }
    }
    if parts.is_empty()
        && let Some(blocks) = m.get("blocks")
    {
        let mut out = Vec::new();
        block_texts(blocks, &mut out);
        if !out.is_empty() {
            parts.push(out.join(" | "));
        }
    }
    parts.join(" | ")
}

/// An attachment's pretext, title, text and fields, or its fallback.
pub fn attachment_text(a: &Value) -> String {
    let get = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut parts: Vec<String> = ["pretext", "title", "text"]
        .iter()
        .filter_map(|k| get(k).map(str::to_string))
        .collect();
    if let Some(fields) = a.get("fields").and_then(Value::as_array) {
        for f in fields {
            let t = f.get("title").and_then(Value::as_str).unwrap_or_default();
            let v = f.get("value").and_then(Value::as_str).unwrap_or_default();
            if !t.is_empty() || !v.is_empty() {
                parts.push(format!("{t}: {v}"));
            }
        }
    }
    if parts.is_empty()
        && let Some(blocks) = a.get("blocks")
    {
        let mut out = Vec::new();
        block_texts(blocks, &mut out);
        parts.extend(out);
    }
    if parts.is_empty() {
        get("fallback").map(str::to_string).unwrap_or_default()
    } else {
        parts.join(" | ")
    }
}

/// Collects the visible text of Block Kit JSON: text objects
/// (`plain_text`/`mrkdwn`), rich-text elements, and section fields.
pub fn block_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| block_texts(i, out)),
        Value::Object(o) => {
            let ty = o.get("type").and_then(Value::as_str).unwrap_or_default();
            match (ty, o.get("text")) {
                ("plain_text" | "mrkdwn" | "text", Some(Value::String(s))) => {
                    if !s.trim().is_empty() {
                        out.push(s.trim().to_string());
                    }
                }
                ("link", _) => {
                    if let Some(url) = o.get("url").and_then(Value::as_str) {
                        out.push(url.to_string());
                    }
                }
                _ => {
                    for (k, child) in o {
                        if matches!(k.as_str(), "text" | "fields" | "elements" | "blocks") {
                            block_texts(child, out);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

static MARKUP: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<([@#!])?([^<>|]+)(?:\|([^<>]*))?>").ok());

/// Every user ID mentioned as `<@U…>` in `text`.
pub fn mentioned_users(text: &str) -> Vec<String> {
    let Some(re) = MARKUP.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter(|c| c.get(1).map(|m| m.as_str()) == Some("@"))
        .filter_map(|c| c.get(2).map(|m| m.as_str().to_string()))
        .collect()
}

/// Slack markup to readable text: mentions, channels, links, special
/// mentions and HTML entities.
pub fn readable(text: &str, user_name: &dyn Fn(&str) -> Option<String>) -> String {
    let replaced = match MARKUP.as_ref() {
        Some(re) => re
            .replace_all(text, |c: &Captures<'_>| {
                let sigil = c.get(1).map(|m| m.as_str());
                let target = c.get(2).map(|m| m.as_str()).unwrap_or_default();
                let label = c.get(3).map(|m| m.as_str()).filter(|s| !s.is_empty());
                match sigil {
                    Some("@") => format!(
                        "@{}",
                        label
                            .map(str::to_string)
                            .or_else(|| user_name(target))
                            .unwrap_or_else(|| target.to_string())
                    ),
                    Some("#") => format!("#{}", label.unwrap_or(target)),
                    Some(_) => format!(
                        "@{}",
                        label.unwrap_or(target).trim_start_matches("subteam^")
                    ),
                    None => match label {
                        Some(l) if l != target => format!("{l} ({target})"),
                        _ => target.to_string(),
                    },
                }
            })
            .into_owned(),
        None => text.to_string(),
    };
    replaced
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `ts` as an RFC 3339 UTC time to the second, or `?` when it is not a ts.
pub fn ts_to_time(ts: &str) -> String {
    let secs = ts.split('.').next().and_then(|s| s.parse::<i64>().ok());
    match secs.and_then(|s| jiff::Timestamp::from_second(s).ok()) {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "?".into(),
    }
}

/// Cuts `text` to `max` characters with a note of how much was cut. Secrets
/// are masked first, so a token straddling the cut cannot leave its prefix.
pub fn clip(text: &str, max: usize) -> String {
    let text = mcp_kit::redact::redact(text);
    let count = text.chars().count();
    if count <= max {
        return text.into_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… [+{} chars]", count - max)
}

/// One line for a message.
pub fn message_line(m: &MessageView, user_name: &dyn Fn(&str) -> Option<String>) -> String {
    let who = match (&m.user, &m.username) {
        (Some(id), _) => user_name(id).unwrap_or_else(|| id.clone()),
        (None, Some(name)) => name.clone(),
        (None, None) => "?".into(),
    };
    // Redacted while its lines are still lines: joined, a YAML block, an env
    // list or a private key no longer reads as one.
    let text = readable(&m.text, user_name);
    let text = mcp_kit::redact::redact(&text);
    let text = text
        .split('\n')
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ⏎ ");
    let text = clip(&text, MAX_MESSAGE_CHARS);
    let mut line = format!("{} {} @{who}: {text}", m.ts, ts_to_time(&m.ts));
    match m.reply_count {
        0 => {}
        1 => line.push_str(" (1 reply)"),
        n => line.push_str(&format!(" ({n} replies)")),
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(id: &str) -> Option<String> {
        (id == "U1").then(|| "alice".to_string())
    }

    #[test]
    fn one_line_per_message_with_names_and_replies() {
        let m = MessageView::from_json(&json!({
            "ts": "1732400000.000100", "user": "U1",
            "text": "ping <@U1> and <@U2>\nsee <https://x.io/a|runbook> in <#C1|ops> &amp; <!here>",
            "reply_count": 3
        }));
        let line = message_line(&m, &names);
        assert_eq!(
            line,
            "1732400000.000100 2024-11-23T22:13:20Z @alice: ping @alice and @U2 ⏎ see runbook (https://x.io/a) in #ops & @here (3 replies)"
        );
    }

    #[test]
    fn bot_attachments_show_when_text_is_empty() {
        let m = MessageView::from_json(&json!({
            "ts": "1.0", "username": "alertmanager", "text": "",
            "attachments": [{"title": "[FIRING:1] HighLatency", "text": "p99 > 2s", "fallback": "fb"}]
        }));
        assert_eq!(m.text, "[FIRING:1] HighLatency | p99 > 2s");
        let line = message_line(&m, &names);
        assert!(
            line.contains("@alertmanager: [FIRING:1] HighLatency | p99 > 2s"),
            "{line}"
        );
    }

    #[test]
    fn blocks_used_when_nothing_else() {
        let m = json!({"ts": "1.0", "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*a*"}]}
        ]});
        assert_eq!(message_text(&m), "Title | *a*");
    }

    #[test]
    fn long_text_is_clipped_honestly() {
        let out = clip(&"x".repeat(20), 5);
        assert_eq!(out, "xxxxx… [+15 chars]");
    }
}
