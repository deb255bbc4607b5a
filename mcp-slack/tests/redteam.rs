//! The red-team table (`mcp_kit::redteam`) planted in Slack messages (text
//! and legacy attachments, as alert integrations post them) on the fake
//! Slack, and read back through `channel_history` and `read_thread` as a
//! host reads them (after the kit's `finish`). Prints
//! `leaked N / planted M, masked look-alikes K / L`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mcp_kit::redteam::{LOOK_ALIKES, PLANTED, Report, normalize};
use mcp_kit::rmcp::handler::server::tool::IntoCallToolResult;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use mcp_kit::{Budget, Guarded, ToolPolicy};
use mcp_slack::api::{RetryPolicy, SlackApiConfig};
use mcp_slack::fake::{self, FakeSlack, SeedMessage};
use mcp_slack::server::*;
use serde_json::json;

/// A tool's return value as the host receives it: rmcp turns the tools'
/// `Result<String, String>` into a result marked `isError` on failure.
fn result(r: impl IntoCallToolResult) -> CallToolResult {
    match r.into_call_tool_result() {
        Ok(CallToolResponse::Complete(result)) => result,
        other => panic!("not a complete tool result: {other:?}"),
    }
}

fn text(r: &CallToolResult) -> String {
    assert_ne!(r.is_error, Some(true), "tool failed");
    r.content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Message text as Slack stores it: `&`, `<` and `>` escaped.
fn slack_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A message's text as a history line shows it: lines joined by ` ⏎ `,
/// empty ones dropped.
fn found(out: &str, look: &str) -> bool {
    let shown = look
        .split('\n')
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ⏎ ");
    normalize(out).contains(&normalize(&shown))
}

#[tokio::test]
async fn red_team_through_history_and_threads() {
    let fake = FakeSlack::start().await.unwrap();
    const PARENT: &str = "1732400000.000100";
    for (_, t, _) in PLANTED {
        fake.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some("U0BOB00001".into()),
                text: slack_text(t),
                ..Default::default()
            },
        );
        fake.add_message(
            "C0INCIDENT",
            SeedMessage {
                bot_id: Some("B0ALERTS01".into()),
                username: Some("alertmanager".into()),
                text: "[FIRING:1] ConfigLeak".into(),
                attachments: Some(json!([{"title": "details", "text": t,
                    "fields": [{"title": "note", "value": t}]}])),
                ..Default::default()
            },
        );
        fake.add_message(
            "C0ALERTS01",
            SeedMessage {
                user: Some("U0ALICE001".into()),
                text: slack_text(t),
                thread_ts: Some(PARENT.into()),
                ..Default::default()
            },
        );
    }
    let server = SlackServer::new(SlackServerConfig {
        api: SlackApiConfig {
            base_url: fake.api_url(),
            bot_token: Some(fake::BOT_TOKEN.to_string()),
            user_token: None,
            retry: RetryPolicy {
                max_retries: 3,
                max_wait: Duration::from_secs(5),
            },
        },
        allowed_channels: vec!["alerts-prod".into(), "C0INCIDENT".into()],
        writes_per_minute: 20,
    });
    let g = Guarded::new(server, &ToolPolicy::default(), Budget::new(5_000_000)).unwrap();
    let mut reports = Vec::new();

    let mut r = Report::new("channel_history");
    let out = text(
        &g.finish(result(
            g.inner()
                .channel_history(Parameters(ChannelHistoryArgs {
                    channel: "C0INCIDENT".into(),
                    since: None,
                    before: None,
                    limit: Some(1_000),
                }))
                .await,
        )),
    );
    (0..PLANTED.len()).for_each(|i| r.planted(i, &out));
    reports.push(r);

    let mut r = Report::new("read_thread");
    let out = text(
        &g.finish(result(
            g.inner()
                .read_thread(Parameters(ReadThreadArgs {
                    channel: "alerts-prod".into(),
                    ts: PARENT.into(),
                    limit: Some(1_000),
                }))
                .await,
        )),
    );
    (0..PLANTED.len()).for_each(|i| r.planted(i, &out));
    reports.push(r);

    // Look-alikes, in a fresh fake so their count is the channel's.
    let fake = FakeSlack::start().await.unwrap();
    for (_, t) in LOOK_ALIKES {
        fake.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some("U0BOB00001".into()),
                text: slack_text(t),
                ..Default::default()
            },
        );
    }
    let server = SlackServer::new(SlackServerConfig {
        api: SlackApiConfig {
            base_url: fake.api_url(),
            bot_token: Some(fake::BOT_TOKEN.to_string()),
            user_token: None,
            retry: RetryPolicy {
                max_retries: 3,
                max_wait: Duration::from_secs(5),
            },
        },
        allowed_channels: vec!["C0INCIDENT".into()],
        writes_per_minute: 20,
    });
    let g = Guarded::new(server, &ToolPolicy::default(), Budget::new(5_000_000)).unwrap();
    let mut r = Report::new("channel_history look-alikes");
    let out = text(
        &g.finish(result(
            g.inner()
                .channel_history(Parameters(ChannelHistoryArgs {
                    channel: "C0INCIDENT".into(),
                    since: None,
                    before: None,
                    limit: Some(1_000),
                }))
                .await,
        )),
    );
    for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
        r.look_alike(i, found(&out, look));
    }
    reports.push(r);

    let mut total = Report::new("mcp-slack, all tools");
    let mut ok = true;
    for r in reports {
        ok &= r.print();
        total.absorb(r);
    }
    ok &= total.print();
    assert!(ok, "{}", total.summary());
}
