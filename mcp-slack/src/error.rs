//! Errors of the Slack client and tools, written for the person who must act
//! on them.

use std::time::Duration;

use mcp_kit::rmcp::model::{ContentBlock, IntoContents};
use slack_morphism::errors::SlackClientError;

/// Why a Slack operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// No bot token was configured.
    #[error(
        "no Slack bot token is configured: set SLACK_BOT_TOKEN (or --slack-bot-token-file) to the \
         app's xoxb- token and restart this server"
    )]
    NoBotToken,
    /// Search was asked for with no user token.
    #[error(
        "search_messages needs a Slack user token (xoxp-…, scope search:read): Slack's \
         search.messages method does not accept bot tokens, and only a bot token is configured. \
         Set SLACK_USER_TOKEN (or --slack-user-token-file) and restart this server, or use \
         channel_history / read_thread instead"
    )]
    NoUserToken,
    /// Slack kept answering 429 beyond the retry bound.
    #[error(
        "Slack rate-limited {method} (HTTP 429) and asked to wait {}s; gave up after {attempts} \
         attempt(s). Try again later or narrow the request",
        retry_after.as_secs()
    )]
    RateLimited {
        /// The Web API method.
        method: String,
        /// What Slack's `Retry-After` asked for, last time.
        retry_after: Duration,
        /// How many requests were made.
        attempts: u32,
    },
    /// Slack answered `ok: false`.
    #[error("Slack {method} failed: {code}{}", hint(method, code, needed.as_deref()))]
    Api {
        /// The Web API method.
        method: String,
        /// Slack's error code, e.g. `channel_not_found`.
        code: String,
        /// For `missing_scope`: the scope Slack says is needed.
        needed: Option<String>,
    },
    /// Slack could not be reached: no connection, DNS, TLS.
    #[error(
        "cannot reach Slack at {url} ({method}): {cause}. Check --slack-api-url / SLACK_API_URL \
         and that this host can reach it"
    )]
    Unreachable {
        /// The Web API method.
        method: String,
        /// The method's URL.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
    },
    /// Slack answered something that is not the Web API.
    #[error("cannot complete Slack {method}: {message}")]
    Transport {
        /// The Web API method.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the Slack HTTP client: {0}")]
    Client(String),
    /// A tool was called on a server started with an empty channel
    /// allowlist.
    #[error("no channel is allowed: this server was started without --allowed-channels{hint}")]
    NoChannelAllowed {
        /// How to give the flag, or nothing: each tool keeps the wording it
        /// has always shown.
        hint: &'static str,
    },
    /// A channel reference names no channel the app can see.
    #[error(
        "no channel `{reference}` is visible to the Slack app (archived, private without the \
         app, or misspelled); list_channels shows the usable ones"
    )]
    ChannelNotVisible {
        /// The reference as given.
        reference: String,
    },
    /// A channel is outside the server's allowlist.
    #[error(
        "channel {channel} is not in this server's allowlist ({allowlist}); the operator can add \
         it with --allowed-channels"
    )]
    ChannelNotAllowed {
        /// The channel's label (`#name (ID)`).
        channel: String,
        /// The allowlist in force.
        allowlist: String,
    },
    /// The per-channel write rate limit is spent.
    #[error(
        "write rate limit reached for {channel}: at most {limit} writes per minute per channel; \
         the next write is possible in {wait_s}s"
    )]
    WriteRateLimited {
        /// The channel's label.
        channel: String,
        /// Writes allowed per minute per channel.
        limit: u32,
        /// Seconds until the next write (at least 1).
        wait_s: u64,
    },
    /// No user matches a name.
    #[error("no Slack user named `{query}` (try the user ID or email)")]
    NoSuchUser {
        /// The name asked for.
        query: String,
    },
    /// A tool argument is wrong in a way its schema cannot say; the message
    /// names the argument and what it takes.
    #[error("{0}")]
    BadArgument(String),
}

/// A tool that fails answers with this message as its one text block, in a
/// result marked `isError`: rmcp turns a tool's `Result<String, SlackError>`
/// into that (the kit's convention, see `mcp_kit`'s crate docs).
impl IntoContents for SlackError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// A one-sentence hint on what to do about a Slack error code.
fn hint(method: &str, code: &str, needed: Option<&str>) -> String {
    let text = match code {
        "invalid_auth" | "not_authed" | "not_allowed_token_type" | "token_revoked"
            if method == "apps.connections.open" =>
        {
            " — Socket Mode needs the app-level token (xapp-…, scope connections:write, from the \
             app's Basic Information page), not the bot token; check SLACK_APP_TOKEN"
        }
        "channel_not_found" => {
            " — the channel does not exist or the app cannot see it (a private channel needs the app invited)"
        }
        "not_in_channel" => {
            " — the app is not a member of this channel; invite it with `/invite @<app>` in the channel"
        }
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            " — Slack rejected the token; check SLACK_BOT_TOKEN / SLACK_USER_TOKEN"
        }
        "not_allowed_token_type" => " — this method does not accept this kind of token",
        "message_not_found" | "thread_not_found" | "invalid_thread_ts" => {
            " — no message with that ts in that channel"
        }
        "cant_update_message" => " — only messages this app posted can be updated",
        "already_reacted" => " — the reaction is already there",
        "invalid_name" => " — unknown emoji name (give it without colons, e.g. `eyes`)",
        "user_not_found" | "users_not_found" => " — no such user",
        "invalid_blocks" | "invalid_blocks_format" => {
            " — Slack rejected the Block Kit JSON; check it in the Block Kit Builder"
        }
        "msg_too_long" => " — the text is too long for one Slack message",
        "missing_scope" => {
            return match needed {
                Some(scope) => {
                    format!(
                        " — the token lacks the `{scope}` scope; add it to the Slack app and reinstall it"
                    )
                }
                None => " — the token lacks a scope this method needs".to_string(),
            };
        }
        _ => "",
    };
    text.to_string()
}

/// The messages of an error and its sources, without the ones that only
/// repeat what came before or wrap it generically (hyper's `client error
/// (Connect)`): what a person can act on.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        let generic = text.starts_with("client error (");
        if !generic && !text.is_empty() && !out.last().is_some_and(|p| p.ends_with(&text)) {
            out.push(text);
        }
        next = e.source();
    }
    if out.is_empty() {
        error.to_string()
    } else {
        out.join(": ")
    }
}

/// At most `n` characters of `text`, on one line.
fn clip(text: &str, n: usize) -> String {
    let text = mcp_kit::redact::redact(text);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > n {
        one_line.chars().take(n).chain(['…']).collect()
    } else {
        one_line
    }
}

impl SlackError {
    /// Converts slack-morphism's error for `method`, called at `base_url`.
    ///
    /// slack-morphism prints its transport errors with `{:?}` (a Rust debug
    /// dump of hyper's error); this reads their cause chain instead.
    pub fn from_client_at(method: &str, base_url: &str, error: SlackClientError) -> Self {
        let url = format!("{}/{method}", base_url.trim_end_matches('/'));
        match error {
            SlackClientError::HttpProtocolError(e) => SlackError::Unreachable {
                method: method.to_string(),
                url,
                cause: e
                    .cause
                    .as_deref()
                    .map_or_else(|| "no response".to_string(), |c| causes(c)),
            },
            SlackClientError::SystemError(e) => SlackError::Transport {
                method: method.to_string(),
                message: match (e.message.as_deref(), e.cause.as_deref()) {
                    (Some(m), Some(c)) => format!("{m}: {}", causes(c)),
                    (Some(m), None) => m.to_string(),
                    (None, Some(c)) => causes(c),
                    (None, None) => "unknown error".into(),
                },
            },
            SlackClientError::ProtocolError(e) => SlackError::Transport {
                method: method.to_string(),
                message: format!(
                    "{url} answered something that is not Slack's Web API ({}): {}",
                    e.json_error,
                    clip(e.json_body.as_deref().unwrap_or(""), 160)
                ),
            },
            other => Self::from_client(method, other),
        }
    }

    /// Converts slack-morphism's error for `method`.
    pub fn from_client(method: &str, error: SlackClientError) -> Self {
        match error {
            SlackClientError::ApiError(e) => {
                let needed = e
                    .http_response_body
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                    .and_then(|v| v.get("needed").and_then(|n| n.as_str()).map(str::to_string));
                SlackError::Api {
                    method: method.to_string(),
                    code: e.code,
                    needed,
                }
            }
            SlackClientError::RateLimitError(e) => SlackError::RateLimited {
                method: method.to_string(),
                retry_after: e.retry_after.unwrap_or(Duration::from_secs(1)),
                attempts: 1,
            },
            SlackClientError::HttpError(e) => SlackError::Transport {
                method: method.to_string(),
                message: format!("HTTP {}", e.status_code),
            },
            other => SlackError::Transport {
                method: method.to_string(),
                message: clip(&other.to_string(), 300),
            },
        }
    }

    /// Slack's error code, when Slack answered `ok: false`.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_carry_a_hint() {
        let e = SlackError::Api {
            method: "chat.postMessage".into(),
            code: "not_in_channel".into(),
            needed: None,
        };
        assert!(e.to_string().contains("/invite"), "{e}");
        let e = SlackError::Api {
            method: "search.messages".into(),
            code: "missing_scope".into(),
            needed: Some("search:read".into()),
        };
        assert!(e.to_string().contains("`search:read`"), "{e}");
        let e = SlackError::Api {
            method: "apps.connections.open".into(),
            code: "invalid_auth".into(),
            needed: None,
        };
        assert!(e.to_string().contains("SLACK_APP_TOKEN"), "{e}");
    }
}
