//! Start-up checks of what the server is given: each token is of the kind
//! its place needs, and the API URL is an HTTP(S) URL.
//!
//! Slack tells token kinds apart by prefix: `xoxb-` bot, `xoxp-` user,
//! `xapp-` app-level (Socket Mode only), `xoxe-` a refresh token; with token
//! rotation on, access tokens read `xoxe.xoxb-…` / `xoxe.xoxp-…`. A token in
//! the wrong place is accepted by nothing at Slack, and would otherwise only
//! fail on the first tool call, so it is refused at start with one line that
//! names where it came from. Messages never include the token, only its
//! prefix.

/// The kind of a Slack token, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `xoxb-`: a bot token.
    Bot,
    /// `xoxp-`: a user token.
    User,
    /// `xapp-`: an app-level token.
    App,
    /// `xoxe-`: a refresh token of token rotation.
    Refresh,
    /// No prefix Slack uses.
    Unknown,
}

impl TokenType {
    /// The kind of `token`.
    pub fn of(token: &str) -> Self {
        let t = token.trim();
        // Rotating access tokens carry the kind after `xoxe.`.
        let t = t.strip_prefix("xoxe.").unwrap_or(t);
        if t.starts_with("xoxb-") {
            TokenType::Bot
        } else if t.starts_with("xoxp-") {
            TokenType::User
        } else if t.starts_with("xapp-") {
            TokenType::App
        } else if t.starts_with("xoxe-") {
            TokenType::Refresh
        } else {
            TokenType::Unknown
        }
    }

    fn described(self) -> &'static str {
        match self {
            TokenType::Bot => "a bot token (xoxb-…)",
            TokenType::User => "a user token (xoxp-…)",
            TokenType::App => {
                "an app-level token (xapp-…), which only opens Socket Mode connections"
            }
            TokenType::Refresh => {
                "a refresh token (xoxe-…), which only obtains access tokens from oauth.v2.access"
            }
            TokenType::Unknown => "no Slack token (Slack's start with xoxb-, xoxp- or xapp-)",
        }
    }
}

/// A setting the server cannot start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Checks that the token from `source` (e.g. `SLACK_BOT_TOKEN /
/// --slack-bot-token`) is of the kind `wanted` (bot or user).
pub fn check_token(token: &str, wanted: TokenType, source: &str) -> Result<(), StartupError> {
    let got = TokenType::of(token);
    if got == wanted {
        return Ok(());
    }
    let (what, place) = match wanted {
        TokenType::User => (
            "the user token (xoxp-…, scope search:read)",
            "User OAuth Token",
        ),
        _ => ("the bot token (xoxb-…)", "Bot User OAuth Token"),
    };
    let advice = match (wanted, got) {
        (TokenType::Bot, TokenType::User) => {
            " A user token belongs in SLACK_USER_TOKEN (--slack-user-token)."
        }
        (TokenType::User, TokenType::Bot) => {
            " A bot token belongs in SLACK_BOT_TOKEN (--slack-bot-token)."
        }
        (_, TokenType::App) => {
            " An app-level token belongs in SLACK_APP_TOKEN, for the bot's Socket Mode."
        }
        _ => "",
    };
    Err(StartupError(format!(
        "{source} holds {}; it must be {what}, from the Slack app's OAuth & Permissions page \
         ({place}).{advice}",
        got.described()
    )))
}

/// Checks that `url` (the `--slack-api-url`) is an HTTP(S) URL with a host.
pub fn check_api_url(url: &str) -> Result<(), StartupError> {
    let bad = |why: String| {
        StartupError(format!(
            "--slack-api-url / SLACK_API_URL `{url}` {why}; use https://slack.com/api/ (or a fake's http://127.0.0.1:PORT/api/)"
        ))
    };
    let parsed = url::Url::parse(url.trim()).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!("has the scheme `{}`", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_by_prefix() {
        assert_eq!(TokenType::of("xoxb-1-2-abc"), TokenType::Bot);
        assert_eq!(TokenType::of("xoxe.xoxb-1-abc"), TokenType::Bot);
        assert_eq!(TokenType::of("xoxe.xoxp-1-abc"), TokenType::User);
        assert_eq!(TokenType::of("xoxe-1-abc"), TokenType::Refresh);
        assert_eq!(TokenType::of("xapp-1-A0-1-abc"), TokenType::App);
        assert_eq!(TokenType::of("sk-abc"), TokenType::Unknown);
    }

    #[test]
    fn a_token_in_the_wrong_place_is_named_without_its_value() {
        let src = "SLACK_BOT_TOKEN / --slack-bot-token";
        assert!(check_token("xoxb-1-secret", TokenType::Bot, src).is_ok());
        let e = check_token("xoxp-1-secret", TokenType::Bot, src)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("SLACK_BOT_TOKEN / --slack-bot-token holds a user token"),
            "{e}"
        );
        assert!(
            e.contains("SLACK_USER_TOKEN") && !e.contains("secret"),
            "{e}"
        );
        let e = check_token("xapp-1-secret", TokenType::Bot, src)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("app-level") && e.contains("SLACK_APP_TOKEN"),
            "{e}"
        );
        let e = check_token("xoxb-1-secret", TokenType::User, "SLACK_USER_TOKEN")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("holds a bot token") && e.contains("search:read"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn api_urls() {
        assert!(check_api_url("https://slack.com/api/").is_ok());
        assert!(check_api_url("http://127.0.0.1:3000/api/").is_ok());
        assert!(check_api_url("slack.com/api").is_err());
        assert!(check_api_url("ftp://slack.com/").is_err());
    }
}
