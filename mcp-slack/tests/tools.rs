//! The tools, in process, against the fake Slack Web API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use mcp_kit::rmcp::handler::server::tool::IntoCallToolResult;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use mcp_slack::api::{RetryPolicy, SlackApiConfig};
use mcp_slack::fake::{self, FakeSlack, SeedMessage};
use mcp_slack::server::*;
use serde_json::json;

struct Setup {
    allowed: Vec<&'static str>,
    bot: Option<&'static str>,
    user: Option<&'static str>,
    per_minute: u32,
    retry: RetryPolicy,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            allowed: vec!["alerts-prod", "C0INCIDENT"],
            bot: Some(fake::BOT_TOKEN),
            user: None,
            per_minute: 20,
            retry: RetryPolicy {
                max_retries: 3,
                max_wait: Duration::from_secs(5),
            },
        }
    }
}

fn server(fake: &FakeSlack, s: Setup) -> SlackServer {
    SlackServer::new(SlackServerConfig {
        api: SlackApiConfig {
            base_url: fake.api_url(),
            bot_token: s.bot.map(str::to_string),
            user_token: s.user.map(str::to_string),
            retry: s.retry,
        },
        allowed_channels: s.allowed.into_iter().map(str::to_string).collect(),
        writes_per_minute: s.per_minute,
    })
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A tool's return value as the host receives it: rmcp turns the tools'
/// `Result<String, String>` into a result marked `isError` on failure.
fn result(r: impl IntoCallToolResult) -> CallToolResult {
    match r.into_call_tool_result() {
        Ok(CallToolResponse::Complete(result)) => result,
        other => panic!("not a complete tool result: {other:?}"),
    }
}

fn ok(r: impl IntoCallToolResult) -> String {
    let r = result(r);
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "tool failed: {t}");
    t
}

fn err(r: impl IntoCallToolResult) -> String {
    let r = result(r);
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "tool succeeded: {t}");
    t
}

fn history(channel: &str) -> Parameters<ChannelHistoryArgs> {
    Parameters(ChannelHistoryArgs {
        channel: channel.into(),
        since: None,
        before: None,
        limit: None,
    })
}

fn post(channel: &str, text: &str) -> Parameters<PostMessageArgs> {
    Parameters(PostMessageArgs {
        channel: channel.into(),
        text: text.into(),
        blocks: None,
        thread_ts: None,
        reply_broadcast: None,
    })
}

#[tokio::test]
async fn channel_history_is_one_compact_framed_line_per_message() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let out = ok(s.channel_history(history("#alerts-prod")).await);
    assert!(
        out.starts_with("#alerts-prod (C0ALERTS01): 1 message(s), oldest first"),
        "{out}"
    );
    assert!(
        out.contains("<untrusted-data source=\"slack messages in #alerts-prod (C0ALERTS01)\">")
    );
    assert!(out.contains(
        "1732400000.000100 2024-11-23T22:13:20Z @alertmanager: [FIRING:1] KubePodCrashLooping checkout-7d9f8b6c5-x2x9z (prod critical) | *Alert:* Pod is crash looping"
    ), "{out}");
    assert!(out.contains("(2 replies)"));
    // Replies are not in the channel history.
    assert!(!out.contains("OOMKilled"));
    let calls = fake.calls_to("conversations.history");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].args["channel"], "C0ALERTS01");
    assert_eq!(calls[0].token.as_deref(), Some(fake::BOT_TOKEN));
}

#[tokio::test]
async fn history_follows_cursors_and_offers_to_page_back() {
    let fake = FakeSlack::start().await.unwrap();
    for i in 0..250 {
        fake.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some("U0BOB00001".into()),
                text: format!("update {i}"),
                ..Default::default()
            },
        );
    }
    // Slack may return fewer messages than asked for; the cursor gets the rest.
    fake.cap_page_size("conversations.history", 120);
    let s = server(&fake, Setup::default());
    let out = ok(s
        .channel_history(Parameters(ChannelHistoryArgs {
            channel: "incidents".into(),
            since: None,
            before: None,
            limit: Some(200),
        }))
        .await);
    let calls = fake.calls_to("conversations.history");
    assert_eq!(calls.len(), 2, "expected two pages");
    assert!(calls[0].args.get("cursor").is_none());
    assert!(calls[1].args["cursor"].as_str().unwrap().len() > 4);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("@bob: update")).collect();
    assert_eq!(lines.len(), 200);
    // Newest 200 kept, shown oldest first.
    assert!(lines[0].ends_with("update 50"), "{}", lines[0]);
    assert!(lines[199].ends_with("update 249"));
    let oldest_ts = lines[0].split_whitespace().next().unwrap();
    assert!(
        out.contains(&format!("call again with before=\"{oldest_ts}\"")),
        "{out}"
    );
    // Paging back with `before` gets the rest.
    let out = ok(s
        .channel_history(Parameters(ChannelHistoryArgs {
            channel: "incidents".into(),
            since: None,
            before: Some(oldest_ts.into()),
            limit: Some(200),
        }))
        .await);
    assert_eq!(
        out.lines().filter(|l| l.contains("@bob: update")).count(),
        50
    );
    assert!(out.contains("SEV2"), "the seeded message is older still");
    assert!(!out.contains("Older messages exist"));
}

#[tokio::test]
async fn since_is_passed_as_oldest() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let out = ok(s
        .channel_history(Parameters(ChannelHistoryArgs {
            channel: "alerts-prod".into(),
            since: Some("2024-11-23T22:13:21Z".into()),
            before: None,
            limit: Some(10),
        }))
        .await);
    assert!(out.contains("No messages in this window"), "{out}");
    let calls = fake.calls_to("conversations.history");
    assert_eq!(calls[0].args["oldest"], "1732400001.000000");
    assert_eq!(calls[0].args["limit"], "10");
    let bad = err(s
        .channel_history(Parameters(ChannelHistoryArgs {
            channel: "alerts-prod".into(),
            since: Some("last tuesday".into()),
            before: None,
            limit: None,
        }))
        .await);
    assert!(bad.contains("`since`"), "{bad}");
}

#[tokio::test]
async fn read_thread_shows_parent_then_replies_with_names() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let out = ok(s
        .read_thread(Parameters(ReadThreadArgs {
            channel: "alerts-prod".into(),
            ts: "1732400000.000100".into(),
            limit: None,
        }))
        .await);
    assert!(
        out.contains("Thread 1732400000.000100 in #alerts-prod (C0ALERTS01): 3 message(s)"),
        "{out}"
    );
    assert!(out.contains("  ↳ 1732400001.000100 2024-11-23T22:13:21Z @alice: looking, checkout pods are OOMKilled"), "{out}");
    assert!(out.contains("↳ 1732400002.000100 2024-11-23T22:13:22Z @bob: deployed checkout v2.14"));
    // Any reply's ts gives the whole thread, as in Slack.
    let from_reply = ok(s
        .read_thread(Parameters(ReadThreadArgs {
            channel: "alerts-prod".into(),
            ts: "1732400002.000100".into(),
            limit: None,
        }))
        .await);
    assert!(
        from_reply.contains("Thread 1732400000.000100 in #alerts-prod (C0ALERTS01): 3 message(s)"),
        "{from_reply}"
    );
    let e = err(s
        .read_thread(Parameters(ReadThreadArgs {
            channel: "alerts-prod".into(),
            ts: "1111111111.000000".into(),
            limit: None,
        }))
        .await);
    assert!(e.contains("thread_not_found"), "{e}");
    let e = err(s
        .read_thread(Parameters(ReadThreadArgs {
            channel: "alerts-prod".into(),
            ts: "yesterday".into(),
            limit: None,
        }))
        .await);
    assert!(e.contains("`ts` must be a Slack message ts"), "{e}");
}

#[tokio::test]
async fn long_threads_are_paged_and_cut_honestly() {
    let fake = FakeSlack::start().await.unwrap();
    for i in 0..300 {
        fake.add_message(
            "C0ALERTS01",
            SeedMessage {
                user: Some("U0ALICE001".into()),
                text: format!("note {i}"),
                thread_ts: Some("1732400000.000100".into()),
                ..Default::default()
            },
        );
    }
    let s = server(&fake, Setup::default());
    let args = |limit| {
        Parameters(ReadThreadArgs {
            channel: "alerts-prod".into(),
            ts: "1732400000.000100".into(),
            limit: Some(limit),
        })
    };
    let out = ok(s.read_thread(args(500)).await);
    assert_eq!(out.lines().filter(|l| l.starts_with("  ↳ ")).count(), 302);
    let calls = fake.calls_to("conversations.replies");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].args["limit"], "200");
    assert!(calls[1].args.contains_key("cursor"));
    let out = ok(s.read_thread(args(50)).await);
    assert!(out.contains("[thread cut at 50 messages"), "{out}");
}

#[tokio::test]
async fn the_allowlist_guards_reads_and_writes() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    for channel in ["random", "#secret-ops", "C0RANDOM01"] {
        let e = err(s.channel_history(history(channel)).await);
        assert!(e.contains("not in this server's allowlist"), "{e}");
        assert!(
            e.contains("#alerts-prod") && e.contains("C0INCIDENT"),
            "{e}"
        );
        let e = err(s.post_message(post(channel, "hi")).await);
        assert!(e.contains("not in this server's allowlist"), "{e}");
    }
    let e = err(s.channel_history(history("no-such-channel")).await);
    assert!(e.contains("no channel `no-such-channel`"), "{e}");
    assert!(fake.calls_to("conversations.history").is_empty());
    assert!(fake.calls_to("chat.postMessage").is_empty());

    let none = server(
        &fake,
        Setup {
            allowed: vec![],
            ..Setup::default()
        },
    );
    let e = err(none.channel_history(history("alerts-prod")).await);
    assert!(e.contains("--allowed-channels"), "{e}");
}

#[tokio::test]
async fn slack_errors_come_back_with_what_to_do() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(
        &fake,
        Setup {
            allowed: vec!["*"],
            ..Setup::default()
        },
    );
    let e = err(s.channel_history(history("random")).await);
    assert!(e.contains("not_in_channel") && e.contains("/invite"), "{e}");
    fake.fail_next("conversations.history", "missing_scope");
    let e = err(s.channel_history(history("alerts-prod")).await);
    assert!(e.contains("missing_scope"), "{e}");

    let wrong = server(
        &fake,
        Setup {
            bot: Some("xoxb-wrong"),
            ..Setup::default()
        },
    );
    let e = err(wrong.channel_history(history("C0ALERTS01")).await);
    assert!(
        e.contains("invalid_auth") && e.contains("SLACK_BOT_TOKEN"),
        "{e}"
    );
}

#[tokio::test]
async fn without_a_bot_token_tools_say_so_and_call_nothing() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(
        &fake,
        Setup {
            bot: None,
            ..Setup::default()
        },
    );
    for e in [
        err(s.channel_history(history("alerts-prod")).await),
        err(s.post_message(post("alerts-prod", "x")).await),
        err(s
            .list_channels(Parameters(ListChannelsArgs { filter: None }))
            .await),
        err(s
            .get_user(Parameters(GetUserArgs {
                user: "U0ALICE001".into(),
            }))
            .await),
    ] {
        assert!(
            e.contains("no Slack bot token") && e.contains("SLACK_BOT_TOKEN"),
            "{e}"
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn search_needs_a_user_token_and_hides_other_channels() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let e = err(s
        .search_messages(Parameters(SearchArgs {
            query: "checkout".into(),
            limit: None,
        }))
        .await);
    assert!(
        e.contains("user token") && e.contains("search:read") && e.contains("SLACK_USER_TOKEN"),
        "{e}"
    );
    assert!(fake.calls_to("search.messages").is_empty());

    let s = server(
        &fake,
        Setup {
            user: Some(fake::USER_TOKEN),
            ..Setup::default()
        },
    );
    let out = ok(s
        .search_messages(Parameters(SearchArgs {
            query: "checkout".into(),
            limit: Some(10),
        }))
        .await);
    let calls = fake.calls_to("search.messages");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].token.as_deref(), Some(fake::USER_TOKEN));
    assert_eq!(calls[0].args["count"], "10");
    assert!(out.contains("#alerts-prod 1732400002.000100"), "{out}");
    assert!(out.contains("@bob: deployed checkout v2.14"), "{out}");
    // #secret-ops matched too but is not allowed.
    assert!(!out.contains("private checkout discussion"), "{out}");
    assert!(out.contains("1 on this page hidden"), "{out}");
}

#[tokio::test]
async fn post_and_reply_reach_slack_as_sent() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": "*RCA*", "unknown_future_field": 1}}),
    ];
    let out = ok(s
        .post_message(Parameters(PostMessageArgs {
            channel: "#alerts-prod".into(),
            text: "Root cause found".into(),
            blocks: Some(blocks.clone()),
            thread_ts: Some("1732400000.000100".into()),
            reply_broadcast: Some(true),
        }))
        .await);
    assert!(
        out.starts_with("Replied in thread 1732400000.000100 in #alerts-prod (C0ALERTS01): ts="),
        "{out}"
    );
    let call = fake.calls_to("chat.postMessage").pop().unwrap();
    assert_eq!(call.http_method, "POST");
    assert_eq!(call.args["channel"], "C0ALERTS01");
    assert_eq!(call.args["thread_ts"], "1732400000.000100");
    assert_eq!(call.args["reply_broadcast"], true);
    // Blocks are passed through byte for byte, unknown fields included.
    assert_eq!(call.args["blocks"], json!(blocks));
    let ts = out.rsplit("ts=").next().unwrap();
    let stored = fake.messages("C0ALERTS01");
    let reply = stored.iter().find(|m| m["ts"] == ts).unwrap();
    assert_eq!(reply["thread_ts"], "1732400000.000100");
    assert_eq!(reply["text"], "Root cause found");

    let mut to_nowhere = post("alerts-prod", "x");
    to_nowhere.0.thread_ts = Some("1111111111.000001".into());
    let e = err(s.post_message(to_nowhere).await);
    assert!(
        e.contains("invalid_thread_ts") && e.contains("no message with that ts"),
        "{e}"
    );

    let out = ok(s
        .post_message(post("C0INCIDENT", "status: mitigated"))
        .await);
    assert!(
        out.starts_with("Posted to #incidents (C0INCIDENT): ts="),
        "{out}"
    );
}

#[tokio::test]
async fn writes_are_rate_limited_per_channel_by_the_server() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(
        &fake,
        Setup {
            per_minute: 2,
            ..Setup::default()
        },
    );
    ok(s.post_message(post("alerts-prod", "1")).await);
    ok(s.post_message(post("alerts-prod", "2")).await);
    let e = err(s.post_message(post("alerts-prod", "3")).await);
    assert!(
        e.contains("write rate limit reached for #alerts-prod")
            && e.contains("2 writes per minute"),
        "{e}"
    );
    // Reactions count as writes too; another channel has its own budget.
    let e = err(s
        .add_reaction(Parameters(AddReactionArgs {
            channel: "alerts-prod".into(),
            ts: "1732400000.000100".into(),
            name: "eyes".into(),
        }))
        .await);
    assert!(e.contains("write rate limit"), "{e}");
    ok(s.post_message(post("incidents", "other channel")).await);
    assert_eq!(fake.calls_to("chat.postMessage").len(), 3);
    assert!(fake.calls_to("reactions.add").is_empty());
}

#[tokio::test]
async fn slacks_429_retry_after_is_honoured() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    fake.rate_limit("chat.postMessage", 1, 1);
    let started = Instant::now();
    ok(s.post_message(post("alerts-prod", "after a 429")).await);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "did not wait Retry-After"
    );
    let calls = fake.calls_to("chat.postMessage");
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 200]
    );
}

#[tokio::test]
async fn retries_of_429_are_bounded() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(
        &fake,
        Setup {
            retry: RetryPolicy {
                max_retries: 1,
                max_wait: Duration::from_secs(5),
            },
            ..Setup::default()
        },
    );
    fake.rate_limit("conversations.history", 5, 1);
    let e = err(s.channel_history(history("alerts-prod")).await);
    assert!(
        e.contains("rate-limited conversations.history") && e.contains("after 2 attempt(s)"),
        "{e}"
    );
    assert_eq!(fake.calls_to("conversations.history").len(), 2);

    // A Retry-After longer than the bound fails at once, saying how long.
    fake.rate_limit("conversations.history", 1, 120);
    let started = Instant::now();
    let e = err(s.channel_history(history("alerts-prod")).await);
    assert!(e.contains("asked to wait 120s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn update_and_react() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let out = ok(s.post_message(post("alerts-prod", "investigating…")).await);
    let ts = out.rsplit("ts=").next().unwrap().to_string();
    let out = ok(s
        .update_message(Parameters(UpdateMessageArgs {
            channel: "alerts-prod".into(),
            ts: ts.clone(),
            text: "root cause found".into(),
            blocks: None,
        }))
        .await);
    assert_eq!(
        out,
        format!("Updated message {ts} in #alerts-prod (C0ALERTS01)")
    );
    let msg = fake
        .messages("C0ALERTS01")
        .into_iter()
        .find(|m| m["ts"] == ts.as_str())
        .unwrap();
    assert_eq!(msg["text"], "root cause found");
    // Someone else's message cannot be updated.
    let e = err(s
        .update_message(Parameters(UpdateMessageArgs {
            channel: "alerts-prod".into(),
            ts: "1732400000.000100".into(),
            text: "x".into(),
            blocks: None,
        }))
        .await);
    assert!(
        e.contains("cant_update_message") && e.contains("only messages this app posted"),
        "{e}"
    );

    let react = |name: &str| {
        Parameters(AddReactionArgs {
            channel: "alerts-prod".into(),
            ts: "1732400000.000100".into(),
            name: name.into(),
        })
    };
    let out = ok(s.add_reaction(react(":eyes:")).await);
    assert_eq!(
        out,
        "Added :eyes: to 1732400000.000100 in #alerts-prod (C0ALERTS01)"
    );
    assert_eq!(fake.calls_to("reactions.add")[0].args["name"], "eyes");
    let e = err(s.add_reaction(react("eyes")).await);
    assert!(e.contains("already_reacted"), "{e}");
}

#[tokio::test]
async fn bad_blocks_are_refused_before_slack_is_called() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let mut args = post("alerts-prod", "x");
    args.0.blocks = Some(vec![json!({"type": "divider"}); 51]);
    let e = err(s.post_message(args).await);
    assert!(e.contains("at most 50"), "{e}");
    let mut args = post("alerts-prod", "x");
    args.0.blocks = Some(vec![json!({"text": "no type"})]);
    assert!(err(s.post_message(args).await).contains("blocks[0]"));
    assert!(fake.calls_to("chat.postMessage").is_empty());
}

#[tokio::test]
async fn list_channels_shows_only_allowed_ones() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let out = ok(s
        .list_channels(Parameters(ListChannelsArgs { filter: None }))
        .await);
    assert!(
        out.starts_with("2 channel(s) usable by this server"),
        "{out}"
    );
    assert!(
        out.contains(
            "#alerts-prod (C0ALERTS01) public member 12 members Prometheus alerts for prod"
        )
    );
    assert!(out.contains("#incidents (C0INCIDENT)"));
    assert!(!out.contains("random") && !out.contains("secret-ops"));
    let out = ok(s
        .list_channels(Parameters(ListChannelsArgs {
            filter: Some("#INC".into()),
        }))
        .await);
    assert!(out.starts_with("1 channel(s)"), "{out}");
}

#[tokio::test]
async fn get_user_by_id_name_and_email() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    let by_id = ok(s
        .get_user(Parameters(GetUserArgs {
            user: "<@U0ALICE001>".into(),
        }))
        .await);
    assert!(by_id.contains("id=U0ALICE001 name=@alice handle=alice real_name=\"Alice Ops\" title=\"SRE\" tz=Europe/Berlin"), "{by_id}");
    let by_name = ok(s
        .get_user(Parameters(GetUserArgs {
            user: "@Bob Dev".into(),
        }))
        .await);
    assert!(by_name.contains("id=U0BOB00001"), "{by_name}");
    let by_email = ok(s
        .get_user(Parameters(GetUserArgs {
            user: "carol@example.com".into(),
        }))
        .await);
    assert!(by_email.contains("id=U0CAROL001"), "{by_email}");
    assert_eq!(fake.calls_to("users.lookupByEmail").len(), 1);
    let e = err(s
        .get_user(Parameters(GetUserArgs {
            user: "U0NOBODY01".into(),
        }))
        .await);
    assert!(e.contains("user_not_found"), "{e}");
}

#[tokio::test]
async fn the_background_warm_up_fills_the_caches() {
    let fake = FakeSlack::start().await.unwrap();
    let s = server(&fake, Setup::default());
    assert_eq!(s.directory().cached_user_name("U0ALICE001"), None);
    s.directory().clone().warm().await;
    assert_eq!(
        s.directory().cached_user_name("U0ALICE001").as_deref(),
        Some("alice")
    );
    assert_eq!(
        s.directory().cached_channel_name("C0INCIDENT").as_deref(),
        Some("incidents")
    );
    // With warm caches a history read needs no lookups.
    let before = fake.calls().len();
    ok(s.read_thread(Parameters(ReadThreadArgs {
        channel: "alerts-prod".into(),
        ts: "1732400000.000100".into(),
        limit: None,
    }))
    .await);
    let methods: Vec<String> = fake.calls()[before..]
        .iter()
        .map(|c| c.method.clone())
        .collect();
    assert_eq!(methods, ["conversations.replies"]);
}

#[tokio::test]
async fn an_unreachable_slack_is_named_with_its_url_and_cause() {
    // A loopback port nothing listens on.
    let port = mcp_kit::conformance::free_port().unwrap();
    let s = SlackServer::new(SlackServerConfig {
        api: SlackApiConfig {
            base_url: format!("http://127.0.0.1:{port}/api/"),
            bot_token: Some(fake::BOT_TOKEN.into()),
            user_token: None,
            retry: RetryPolicy::default(),
        },
        allowed_channels: vec!["*".into()],
        writes_per_minute: 20,
    });
    let e = err(s
        .list_channels(Parameters(ListChannelsArgs { filter: None }))
        .await);
    assert!(
        e.contains(&format!(
            "cannot reach Slack at http://127.0.0.1:{port}/api/conversations.list"
        )),
        "{e}"
    );
    assert!(e.to_lowercase().contains("connection refused"), "{e}");
    for debug_dump in ["hyper_util", "Error(Connect", "Some(", "ConnectError("] {
        assert!(!e.contains(debug_dump), "{debug_dump} in: {e}");
    }
}
