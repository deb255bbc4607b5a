//! The `mcp-slack` binary under the official MCP clients (Python SDK and
//! Inspector CLI, stdio and HTTP), against the fake Slack Web API; plus
//! start-up that never waits for Slack, and the size of tools/list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_kit::conformance::Conformance;
use mcp_slack::fake::{self, FakeSlack};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-slack");

/// The fake on a runtime of its own, serving while the (blocking) harness runs.
fn fake() -> (tokio::runtime::Runtime, FakeSlack) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeSlack::start()).unwrap();
    (rt, fake)
}

fn token_file(name: &str, token: &str) -> String {
    let path = std::env::temp_dir().join(format!("mcp-slack-{name}-{}", std::process::id()));
    std::fs::write(&path, format!("{token}\n")).unwrap();
    path.display().to_string()
}

#[test]
fn mcp_slack_conforms_with_both_clients_on_both_transports() {
    let (_rt, fake) = fake();
    let report = Conformance::new(BIN)
        .arg("--slack-api-url")
        .arg(fake.api_url())
        .arg("--slack-bot-token-file")
        .arg(token_file("bot", fake::BOT_TOKEN))
        .arg("--allowed-channels")
        .arg("alerts-prod,incidents")
        .env("SLACK_USER_TOKEN", fake::USER_TOKEN)
        .call(
            "channel_history",
            json!({"channel": "alerts-prod", "limit": 5}),
        )
        .call(
            "read_thread",
            json!({"channel": "#alerts-prod", "ts": "1732400000.000100"}),
        )
        .call("list_channels", json!({}))
        .call("get_user", json!({"user": "U0ALICE001"}))
        .invalid(
            "channel_history",
            json!({"channel": "alerts-prod", "limit": "many"}),
            "limit",
        )
        .invalid("read_thread", json!({"channel": "alerts-prod"}), "ts")
        .write_tool("post_message")
        .write_tool("update_message")
        .write_tool("add_reaction")
        .run_all()
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "PASS unauthorized",
        "PASS schemas",
        "PASS absent:post_message",
        "PASS present:post_message",
        "PASS absent:add_reaction",
        "PASS present:update_message",
        "Inspector tools/call channel_history: ok",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    // The real tool calls reached the fake with the bot token.
    let history = fake.calls_to("conversations.history");
    assert!(history.len() >= 4, "{history:?}");
    assert!(
        history
            .iter()
            .all(|c| c.token.as_deref() == Some(fake::BOT_TOKEN))
    );
    assert!(!fake.calls_to("conversations.replies").is_empty());
    assert!(!fake.calls_to("users.info").is_empty());
    // No client could write: the write tools were never reachable.
    assert!(fake.calls_to("chat.postMessage").is_empty());
}

/// A minimal JSON-RPC session over stdio: returns each answer and its size.
struct Stdio_ {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Stdio_ {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("SLACK_BOT_TOKEN")
            .env_remove("SLACK_USER_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out }
    }

    fn send(&mut self, msg: Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
    }

    fn answer(&mut self) -> (Value, usize) {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        (serde_json::from_str(&line).unwrap(), line.trim_end().len())
    }

    fn initialize(&mut self) -> Duration {
        let started = Instant::now();
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}}),
        );
        let (init, _) = self.answer();
        assert_eq!(init["result"]["serverInfo"]["name"], "mcp-slack", "{init}");
        let took = started.elapsed();
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        took
    }

    fn call(&mut self, id: u64, method: &str, params: Value) -> (Value, usize) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer()
    }
}

impl Drop for Stdio_ {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn initialize_is_immediate_even_when_slack_hangs() {
    // A "Slack" that accepts connections and never answers: start-up must
    // not notice (it contacts nothing before the first tool call).
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/", hang.local_addr().unwrap());
    let token = token_file("hang", fake::BOT_TOKEN);
    let mut s = Stdio_::spawn(&[
        "--slack-api-url",
        &url,
        "--slack-bot-token-file",
        &token,
        "--allowed-channels",
        "*",
    ]);
    let took = s.initialize();
    assert!(took < Duration::from_secs(3), "initialize took {took:?}");
    let (list, _) = s.call(2, "tools/list", json!({}));
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 5);
}

/// Start-up used to list channels in the background at once. The listener
/// stands in for Slack and counts connections; the first call must reach it.
#[test]
fn no_connection_to_slack_before_the_first_tool_call() {
    use mcp_kit::conformance::{CountingBackend, backend_untouched_until_first_call};
    let slack = CountingBackend::bind().unwrap();
    let url = format!("http://{}/api/", slack.addr().unwrap());
    let token = token_file("lazy", fake::BOT_TOKEN);
    let report = backend_untouched_until_first_call(
        BIN.as_ref(),
        &[
            "--slack-api-url",
            &url,
            "--slack-bot-token-file",
            &token,
            "--slack-user-token",
            fake::USER_TOKEN,
            "--allowed-channels",
            "*",
        ],
        &[],
        &slack,
        "list_channels",
        json!({}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.starts_with("5 tools listed"), "{report}");
}

#[test]
fn without_a_token_the_server_starts_and_tools_explain() {
    let mut s = Stdio_::spawn(&[
        "--slack-api-url",
        "http://127.0.0.1:9/api/",
        "--allowed-channels",
        "incidents",
    ]);
    s.initialize();
    let (r, _) = s.call(
        2,
        "tools/call",
        json!({"name": "channel_history", "arguments": {"channel": "incidents"}}),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("SLACK_BOT_TOKEN"), "{text}");
}

#[test]
fn tools_list_stays_small() {
    let mut sizes = Vec::new();
    for writes in [false, true] {
        let mut args = vec!["--allowed-channels", "incidents"];
        if writes {
            args.push("--allow-writes");
        }
        let mut s = Stdio_::spawn(&args);
        s.initialize();
        let (list, bytes) = s.call(2, "tools/list", json!({}));
        let tools = list["result"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), if writes { 8 } else { 5 });
        for t in tools {
            let ro = t["annotations"]["readOnlyHint"].as_bool().unwrap();
            let name = t["name"].as_str().unwrap();
            assert_eq!(
                ro,
                !matches!(name, "post_message" | "update_message" | "add_reaction"),
                "{name}"
            );
        }
        sizes.push(bytes);
    }
    eprintln!(
        "tools/list size: read-only {} bytes, with --allow-writes {} bytes",
        sizes[0], sizes[1]
    );
    assert!(
        sizes[0] < 4_500,
        "read-only tools/list is {} bytes",
        sizes[0]
    );
    assert!(
        sizes[1] < 8_000,
        "tools/list with writes is {} bytes",
        sizes[1]
    );
}

#[test]
fn an_unreadable_token_file_is_a_clear_startup_error() {
    let out = Command::new(BIN)
        .args(["--slack-bot-token-file", "/nonexistent/slack-token"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the token file /nonexistent/slack-token"),
        "{stderr}"
    );
}

/// Runs the binary with `args` and `env` only; its exit code and stderr.
fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    mcp_kit::conformance::run_to_exit(BIN.as_ref(), args, env, Duration::from_secs(20)).unwrap()
}

/// Arguments, environment, and what stderr must say.
type Case = (&'static [&'static str], Env, &'static [&'static str]);
type Env = &'static [(&'static str, &'static str)];

#[test]
fn a_token_of_the_wrong_kind_is_refused_at_start_naming_its_place() {
    let cases: [Case; 4] = [
        (
            &[],
            &[("SLACK_BOT_TOKEN", "xoxp-1-2-3-userSecret")],
            &[
                "SLACK_BOT_TOKEN / --slack-bot-token holds a user token",
                "SLACK_USER_TOKEN",
            ],
        ),
        (
            &[],
            &[("SLACK_BOT_TOKEN", "xapp-1-A0-2-appSecret")],
            &["SLACK_BOT_TOKEN / --slack-bot-token holds an app-level token"],
        ),
        (
            &[],
            &[
                ("SLACK_BOT_TOKEN", fake::BOT_TOKEN),
                ("SLACK_USER_TOKEN", "xoxb-9-botSecret"),
            ],
            &["SLACK_USER_TOKEN / --slack-user-token holds a bot token"],
        ),
        (
            &["--slack-api-url", "slack.com/api"],
            &[("SLACK_BOT_TOKEN", fake::BOT_TOKEN)],
            &["--slack-api-url / SLACK_API_URL `slack.com/api` is not a URL"],
        ),
    ];
    for (args, env, wanted) in cases {
        let (code, err) = run_binary(args, env);
        assert_eq!(code, Some(2), "{env:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for w in wanted {
            assert!(err.contains(w), "{w:?} not in {err}");
        }
        assert!(!err.contains("Secret"), "{err}");
    }
    let file = token_file("user-as-bot", "xoxp-1-2-3-userSecret");
    let (code, err) = run_binary(&["--slack-bot-token-file", &file], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "the token file {file} (--slack-bot-token-file) holds a user token"
        )),
        "{err}"
    );
}

#[test]
fn configuration_errors_exit_2() {
    let (code, err) = run_binary(&["--enable-tools", "channel_histry"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("channel_histry"), "{err}");

    let port = mcp_kit::conformance::free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (code, err) = run_binary(&["--transport", "http", "--listen", &listen], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("MCP_SLACK_AUTH_TOKEN"), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let (code, err) = run_binary(
        &["--transport", "http", "--listen", &listen, "--no-auth"],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&listen), "{err}");
}
