//! The fake Slack Web API (`mcp_slack::fake`) as a process of its own, seeded with a busy
//! workspace, so the real `mcp-slack` binary can be run and measured offline:
//!
//! ```sh
//! cargo build --release -p mcp-slack --example fake_slack   # builds the library with `fake`
//! target/release/examples/fake_slack [--messages 300] [--replies 40] [--users 40] [--channels 60]
//! ```
//!
//! It serves on 127.0.0.1 (a free port), prints one JSON line on stdout — `api_url`,
//! `bot_token`, `user_token`, `channel` and `thread_ts` (a thread to read) — and serves until
//! its stdin closes or it gets SIGTERM/SIGINT. Point the server at it with
//! `mcp-slack --slack-api-url API_URL --slack-bot-token-file FILE --allowed-channels alerts-prod,incidents`.
//! `scripts/bench/servers.py` does exactly that. Only loopback; Slack's own latency is not in
//! any figure measured this way.

use std::io::Write;

use mcp_slack::fake::{self, FakeSlack, SeedMessage};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// How much to seed.
struct Size {
    messages: usize,
    replies: usize,
    users: usize,
    channels: usize,
}

fn parse_args() -> Result<Size, String> {
    let mut size = Size {
        messages: 300,
        replies: 40,
        users: 40,
        channels: 60,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--messages" => &mut size.messages,
            "--replies" => &mut size.replies,
            "--users" => &mut size.users,
            "--channels" => &mut size.channels,
            "-h" | "--help" => {
                return Err(
                    "usage: fake_slack [--messages N] [--replies N] [--users N] [--channels N]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        };
        *slot = args
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))?;
    }
    Ok(size)
}

const SERVICES: [&str; 6] = ["checkout", "cart", "payments", "search", "web", "orders"];
const ALERTS: [(&str, &str, &str); 5] = [
    (
        "KubePodCrashLooping",
        "critical",
        "Pod prod/{svc}-7d9f8b6c5-x2x9z is restarting 2.5 times / 10 minutes.",
    ),
    (
        "HighErrorRate",
        "critical",
        "{svc} 5xx ratio is 7.3% (threshold 2%) over the last 5 minutes.",
    ),
    (
        "LatencyP99High",
        "warning",
        "{svc} p99 latency 1.8s (SLO 800ms) for 10 minutes.",
    ),
    (
        "KubeContainerOOMKilled",
        "warning",
        "Container {svc} in prod/{svc}-5c4d7f9b8-qk2lp was OOMKilled (limit 256Mi).",
    ),
    (
        "MongoSlowQueries",
        "warning",
        "shop.orders: 140 queries > 100 ms in 5 minutes (COLLSCAN on {svc}_id).",
    ),
];
const CHATTER: [&str; 8] = [
    "looking, {svc} pods are OOMKilled since the 02:55 deploy",
    "deployed {svc} v2.14 at 02:55, could be related — rolling back? cc <@U0ALICE001>",
    "error rate on {svc} back under 1% after the rollback :tada:",
    "dashboard: <https://grafana.example.com/d/{svc}?from=now-1h|{svc} overview>",
    "```kubectl -n prod rollout undo deployment/{svc}```\ndone, watching",
    "is this the same as last Tuesday? the runbook says to check the connection pool first",
    "silencing for 30m while we investigate, <!here> please don't restart pods by hand",
    "root cause: the memory limit went from 512Mi to 256Mi in the last change to {svc}",
];

fn seed(fake: &FakeSlack, size: &Size) -> String {
    let mut user_ids = vec![
        "U0ALICE001".to_string(),
        "U0BOB00001".to_string(),
        "U0CAROL001".to_string(),
    ];
    for i in 0..size.users {
        let id = format!("U0BENCH{i:03}");
        let name = format!("engineer{i}");
        fake.add_user(
            &id,
            &name,
            &format!("Engineer {i}"),
            &format!("{name}@example.com"),
            ["SRE", "Backend engineer", "Platform"][i % 3],
            false,
        );
        user_ids.push(id);
    }
    for i in 0..size.channels {
        let svc = SERVICES[i % SERVICES.len()];
        fake.add_channel(
            &format!("C0BENCH{i:03}"),
            &format!("team-{svc}-{i}"),
            i % 7 == 0,
            i % 2 == 0,
            &format!("Everything about {svc}"),
        );
    }
    let mut thread = None;
    for i in 0..size.messages {
        let svc = SERVICES[i % SERVICES.len()];
        let message = if i % 3 == 0 {
            let (alert, severity, text) = ALERTS[(i / 3) % ALERTS.len()];
            let title = format!("[FIRING:1] {alert} {svc} (prod {severity})");
            SeedMessage {
                bot_id: Some("B0ALERTMGR".into()),
                username: Some("alertmanager".into()),
                attachments: Some(json!([{
                    "color": if severity == "critical" { "danger" } else { "warning" },
                    "fallback": title,
                    "title": title,
                    "title_link": "http://alertmanager.example.com/#/alerts?receiver=slack",
                    "text": format!("*Alert:* {alert} - `{severity}`\n*Description:* {}", text.replace("{svc}", svc)),
                    "mrkdwn_in": ["fallback", "pretext", "text"]
                }])),
                ..Default::default()
            }
        } else {
            SeedMessage {
                user: Some(user_ids[i % user_ids.len()].clone()),
                text: CHATTER[i % CHATTER.len()].replace("{svc}", svc),
                ..Default::default()
            }
        };
        let ts = fake.add_message("C0ALERTS01", message);
        // The thread: under the last alert of the first half.
        if i % 3 == 0 && i < size.messages / 2 {
            thread = Some(ts);
        }
    }
    let thread = thread.unwrap_or_else(|| "1732400000.000100".to_string());
    for i in 0..size.replies {
        fake.add_message(
            "C0ALERTS01",
            SeedMessage {
                user: Some(user_ids[(i * 7) % user_ids.len()].clone()),
                text: CHATTER[(i * 3) % CHATTER.len()].replace("{svc}", "checkout"),
                thread_ts: Some(thread.clone()),
                ..Default::default()
            },
        );
    }
    for i in 0..size.messages / 4 {
        fake.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some(user_ids[(i * 5) % user_ids.len()].clone()),
                text: CHATTER[(i * 5) % CHATTER.len()].replace("{svc}", SERVICES[i % 6]),
                ..Default::default()
            },
        );
    }
    thread
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let size = match parse_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let fake = match FakeSlack::start().await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot start the fake Slack API: {e}");
            std::process::exit(1);
        }
    };
    let thread_ts = seed(&fake, &size);
    let ready = json!({
        "api_url": fake.api_url(),
        "bot_token": fake::BOT_TOKEN,
        "user_token": fake::USER_TOKEN,
        "channel": "alerts-prod",
        "thread_ts": thread_ts,
    });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{ready}").and_then(|()| out.flush()).is_err() {
        std::process::exit(1);
    }
    drop(out);
    let stdin_closed = async {
        let mut buf = [0u8; 256];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        () = stdin_closed => {}
        () = mcp_kit::serve::shutdown_signal() => {}
    }
    fake.stop();
}
