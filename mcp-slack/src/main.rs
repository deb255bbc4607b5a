//! `mcp-slack`: the Slack MCP server binary.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mcp_kit::KitArgs;
use mcp_slack::api::{DEFAULT_API_URL, RetryPolicy, SlackApiConfig};
use mcp_slack::tokens::{TokenType, check_api_url, check_token};
use mcp_slack::{SlackServer, SlackServerConfig};

/// What `--help` says first. The command is named after the package.
const ABOUT: &str = "Slack MCP server for incident work: read channels and threads, search, post replies and reactions (writes only with --allow-writes).";

/// Command-line flags: Slack's, then the kit's.
#[derive(Debug, Parser)]
#[command(version, about = ABOUT)]
struct Cli {
    /// Slack Web API base URL (tests point it at a fake).
    #[arg(long, env = "SLACK_API_URL", default_value = DEFAULT_API_URL, help_heading = "Slack")]
    slack_api_url: String,

    /// Bot token (xoxb-…). Prefer the environment variable or a file, to keep
    /// it out of process listings.
    #[arg(long, env = "SLACK_BOT_TOKEN", hide_env_values = true, help_heading = "Slack")]
    slack_bot_token: Option<String>,

    /// File holding the bot token (e.g. a mounted Kubernetes Secret).
    #[arg(long, help_heading = "Slack")]
    slack_bot_token_file: Option<PathBuf>,

    /// User token (xoxp-…), needed only by search_messages (scope search:read).
    #[arg(long, env = "SLACK_USER_TOKEN", hide_env_values = true, help_heading = "Slack")]
    slack_user_token: Option<String>,

    /// File holding the user token.
    #[arg(long, help_heading = "Slack")]
    slack_user_token_file: Option<PathBuf>,

    /// Channels tools may read and write: names or IDs, comma-separated, or
    /// `*` for every channel the app can see. Empty allows none.
    #[arg(long, value_delimiter = ',', help_heading = "Slack")]
    allowed_channels: Vec<String>,

    /// Most writes (posts, updates, reactions) per channel per minute.
    #[arg(long, default_value_t = 20, help_heading = "Slack")]
    writes_per_minute: u32,

    /// Retries of a call Slack answered with 429 (waiting its Retry-After).
    #[arg(long, default_value_t = 3, help_heading = "Slack")]
    max_retries: u32,

    /// Longest Retry-After worth waiting for, in seconds; longer asks fail at once.
    #[arg(long, default_value_t = 30, help_heading = "Slack")]
    max_retry_wait_secs: u64,

    #[command(flatten)]
    kit: KitArgs,
}

fn token(value: Option<String>, file: Option<&PathBuf>) -> Result<Option<String>, String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(format!("the token file {} is empty", path.display()));
        }
        return Ok(Some(text));
    }
    Ok(value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty()))
}

#[tokio::main]
async fn main() {
    let cli: Cli = mcp_kit::config::parse_or_exit("MCP_SLACK");
    mcp_kit::serve::init_logging(&cli.kit);
    let tokens = token(
        cli.slack_bot_token.clone(),
        cli.slack_bot_token_file.as_ref(),
    )
    .and_then(|bot| {
        token(
            cli.slack_user_token.clone(),
            cli.slack_user_token_file.as_ref(),
        )
        .map(|user| (bot, user))
    });
    let (bot_token, user_token) = match tokens {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // Refused now rather than on the first tool call: a token of the wrong
    // kind, or an API URL that is no URL. Nothing is contacted.
    // An error names where the token came from: its file, or the variable
    // and flag.
    let check = |token: Option<&str>, kind, file: Option<&PathBuf>, var: &str, flag: &str| {
        token.map(|t| {
            let from = match file {
                Some(path) => format!("the token file {} (--{flag}-file)", path.display()),
                None => format!("{var} / --{flag}"),
            };
            check_token(t, kind, &from)
        })
    };
    let checks = [
        check(
            bot_token.as_deref(),
            TokenType::Bot,
            cli.slack_bot_token_file.as_ref(),
            "SLACK_BOT_TOKEN",
            "slack-bot-token",
        ),
        check(
            user_token.as_deref(),
            TokenType::User,
            cli.slack_user_token_file.as_ref(),
            "SLACK_USER_TOKEN",
            "slack-user-token",
        ),
        Some(check_api_url(&cli.slack_api_url)),
    ];
    if let Some(Err(e)) = checks.into_iter().flatten().find(Result::is_err) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    if bot_token.is_none() {
        tracing::warn!("no Slack bot token (SLACK_BOT_TOKEN); tools will say so until one is set");
    }
    if cli.allowed_channels.is_empty() {
        tracing::warn!(
            "no --allowed-channels: every channel tool will refuse until some are allowed"
        );
    }
    let server = SlackServer::new(SlackServerConfig {
        api: SlackApiConfig {
            base_url: cli.slack_api_url.clone(),
            bot_token,
            user_token,
            retry: RetryPolicy {
                max_retries: cli.max_retries,
                max_wait: Duration::from_secs(cli.max_retry_wait_secs),
            },
        },
        allowed_channels: cli.allowed_channels.clone(),
        writes_per_minute: cli.writes_per_minute,
    });
    // Nothing is contacted before the first tool call: that call starts
    // filling the caches in the background (`SlackServer::spawn_warm_up`).
    mcp_kit::run_or_exit(server, &cli.kit).await;
}
