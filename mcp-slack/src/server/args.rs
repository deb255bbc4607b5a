//! The tools' arguments (their JSON schemas are what hosts see) and the
//! checks on them that need no Slack: message ts, times and Block Kit blocks.

use std::sync::LazyLock;

use mcp_kit::rmcp::schemars;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::MAX_BLOCKS;
use crate::error::SlackError;

/// Arguments of `post_message`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PostMessageArgs {
    /// Channel name (`incidents`, `#incidents`) or ID (`C0123ABCD`).
    pub channel: String,
    /// Message text (Slack mrkdwn). With `blocks`, it is the notification fallback.
    pub text: String,
    /// Optional Block Kit blocks (JSON array, at most 50), sent as given.
    pub blocks: Option<Vec<Value>>,
    /// Reply in the thread of this message ts (e.g. `1732400000.000100`).
    pub thread_ts: Option<String>,
    /// With `thread_ts`: also show the reply in the channel.
    pub reply_broadcast: Option<bool>,
}

/// Arguments of `update_message`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateMessageArgs {
    /// Channel name or ID.
    pub channel: String,
    /// The message ts (only this app's own messages can be updated).
    pub ts: String,
    /// New text (replaces the old).
    pub text: String,
    /// New Block Kit blocks; omitted removes the old ones.
    pub blocks: Option<Vec<Value>>,
}

/// Arguments of `add_reaction`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddReactionArgs {
    /// Channel name or ID.
    pub channel: String,
    /// The message ts.
    pub ts: String,
    /// Emoji name without colons, e.g. `eyes` or `white_check_mark`.
    pub name: String,
}

/// Arguments of `read_thread`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadThreadArgs {
    /// Channel name or ID.
    pub channel: String,
    /// ts of the thread's parent message (or of any reply in it).
    pub ts: String,
    /// Most messages to return (1-500, default 100).
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
}

/// Arguments of `channel_history`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChannelHistoryArgs {
    /// Channel name or ID.
    pub channel: String,
    /// Only messages after this: `30m`, `2h`, `1d`, RFC 3339 time, or a message ts.
    pub since: Option<String>,
    /// Only messages before this (same forms); use it to page back.
    pub before: Option<String>,
    /// Most messages to return, newest kept (1-200, default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
}

/// Arguments of `search_messages`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Slack search query, e.g. `checkout OOMKilled in:#incidents after:2024-11-01`.
    pub query: String,
    /// Most matches to return (1-100, default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// Arguments of `list_channels`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListChannelsArgs {
    /// Only channels whose name contains this text.
    pub filter: Option<String>,
}

/// Arguments of `get_user`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GetUserArgs {
    /// User ID (`U0123ABCD`), handle or display name (`@alice`), or email.
    pub user: String,
}

static TS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{9,11}\.\d{1,6}$").ok());

/// Whether `s` is a Slack message ts.
pub fn is_ts(s: &str) -> bool {
    TS.as_ref().is_some_and(|re| re.is_match(s))
}

pub(crate) fn check_ts(field: &str, s: &str) -> Result<String, SlackError> {
    let s = s.trim();
    if is_ts(s) {
        Ok(s.to_string())
    } else {
        Err(SlackError::BadArgument(format!(
            "`{field}` must be a Slack message ts like `1732400000.000100` (the first column of \
             channel_history), got `{s}`"
        )))
    }
}

/// Parses `30m`, `2h`, `1d`, an RFC 3339 time, unix seconds or a ts into a
/// Slack ts, relative to `now`.
pub fn parse_time(field: &str, s: &str, now: jiff::Timestamp) -> Result<String, SlackError> {
    let s = s.trim();
    if is_ts(s) {
        return Ok(s.to_string());
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(format!("{secs}.000000"));
    }
    // A duration ago, in the workspace's grammar (`30m`, `1h30m`). A bare
    // number was read above as epoch seconds, so only a text ending in a unit
    // gets here as a duration.
    if s.ends_with(|c: char| c.is_alphabetic())
        && let Ok(secs) = mcp_kit::duration::parse_secs(s)
    {
        let secs = now.as_second() - i64::try_from(secs).unwrap_or(i64::MAX);
        return Ok(format!("{secs}.000000"));
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(format!("{}.000000", t.as_second()));
    }
    Err(SlackError::BadArgument(format!(
        "`{field}` must be a duration ago (`30m`, `2h`, `1d`), an RFC 3339 time \
         (`2024-11-23T22:00:00Z`) or a message ts; got `{s}`"
    )))
}

/// Checks Block Kit JSON before it goes to Slack.
pub(crate) fn check_blocks(blocks: &[Value]) -> Result<(), SlackError> {
    if blocks.len() > MAX_BLOCKS {
        return Err(SlackError::BadArgument(format!(
            "`blocks` has {} blocks; Slack allows at most {MAX_BLOCKS} per message",
            blocks.len()
        )));
    }
    for (i, b) in blocks.iter().enumerate() {
        if b.get("type").and_then(Value::as_str).is_none() {
            return Err(SlackError::BadArgument(format!(
                "`blocks[{i}]` is not a Block Kit block: every block is an object with a `type` \
                 (section, header, context, divider, actions, …)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        let now: jiff::Timestamp = "2024-11-24T00:00:00Z".parse().unwrap();
        assert_eq!(parse_time("since", "2h", now).unwrap(), "1732399200.000000");
        assert_eq!(
            parse_time("since", "1h 30m", now).unwrap(),
            "1732401000.000000"
        );
        assert_eq!(
            parse_time("since", "1732400000.000100", now).unwrap(),
            "1732400000.000100"
        );
        assert_eq!(
            parse_time("since", "2024-11-23T22:00:00Z", now).unwrap(),
            "1732399200.000000"
        );
        assert!(
            parse_time("since", "yesterday-ish", now)
                .unwrap_err()
                .to_string()
                .contains("`since`")
        );
    }

    #[test]
    fn blocks_are_checked() {
        assert!(check_blocks(&[serde_json::json!({"type": "divider"})]).is_ok());
        assert!(
            check_blocks(&[serde_json::json!({"text": "x"})])
                .unwrap_err()
                .to_string()
                .contains("blocks[0]")
        );
        let many = vec![serde_json::json!({"type": "divider"}); 51];
        assert!(
            check_blocks(&many)
                .unwrap_err()
                .to_string()
                .contains("at most 50")
        );
    }
}
