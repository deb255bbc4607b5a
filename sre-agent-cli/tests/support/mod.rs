//! Shared by the `serve*` tests: spawn `sre-agent serve` as a real process,
//! sign Slack requests, wait for conditions.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod agent;

/// The signing secret the tests give the bot.
pub const SECRET: &str = "test-signing-secret";

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo scenario the tests investigate.
pub fn scenario() -> PathBuf {
    root().join("fixtures/scenarios/oom-after-limit-change")
}

/// The arguments every test's `serve` shares (the store at `db`, the oom
/// scenario as the tools' world, no LLM), then `extra`.
pub fn serve_args(db: &str, extra: &[&str]) -> Vec<String> {
    let scenario = scenario().display().to_string();
    ["--database-url", db, "--scenario", &scenario, "--no-llm"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// A running `sre-agent serve`.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sre-agent serve --listen 127.0.0.1:0 ARGS…` with `envs`, and
    /// waits for its "listening" line.
    pub fn spawn(args: &[String], envs: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sre-agent"));
        cmd.arg("--log-level")
            .arg("info,rmcp=warn,sqlx=warn,mcp_signoz=warn")
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("SLACK_BOT_TOKEN")
            .env_remove("SLACK_SIGNING_SECRET")
            .env_remove("SLACK_API_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn sre-agent serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.strip_prefix("sre-agent serve listening on http://")
                        && let Some(t) = tx.take()
                    {
                        let _ = t.send(rest.trim().to_string());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(a) => a.parse().expect("listen address"),
            Err(_) => {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(200));
                panic!("sre-agent serve did not start:\n{}", log.lock().unwrap());
            }
        };
        Server {
            child: Some(child),
            addr,
            log,
        }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What it logged so far (colours removed).
    pub fn log(&self) -> String {
        let raw = self.log.lock().unwrap().clone();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// SIGKILL, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit (at most `timeout`); returns whether
    /// it exited successfully.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- sre-agent serve log ({}) ---\n{}",
                self.addr,
                self.log()
            );
        }
    }
}

/// A plain HTTP client (loopback only).
pub fn http() -> reqwest::Client {
    sre_orchestrator::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Slack's signature headers for `body`, signed now with `secret`.
pub fn slack_headers(secret: &str, body: &str) -> Vec<(&'static str, String)> {
    let ts = jiff::Timestamp::now().as_second().to_string();
    let sig = mcp_slack::intake::verify::sign(secret, &ts, body.as_bytes());
    vec![
        ("x-slack-request-timestamp", ts),
        ("x-slack-signature", sig),
    ]
}

/// POSTs a signed Slack request.
pub async fn post_slack(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: &str,
    secret: &str,
    extra: &[(&str, String)],
) -> reqwest::Response {
    let mut req = client
        .post(url)
        .header("content-type", content_type)
        .body(body.to_string());
    for (k, v) in slack_headers(secret, body) {
        req = req.header(k, v);
    }
    for (k, v) in extra {
        req = req.header(*k, v.clone());
    }
    req.send().await.unwrap()
}

/// A slash-command form body.
pub fn command_form(text: &str, trigger_id: &str, user: &str, channel: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "XXYYZZ"),
        ("team_id", "T0FAKE0001"),
        ("team_domain", "fake"),
        ("channel_id", channel),
        ("channel_name", "incidents"),
        ("user_id", user),
        ("user_name", "alice"),
        ("command", "/sre"),
        ("text", text),
        ("api_app_id", "A0FAKEAPP1"),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0FAKE0001/1/x",
        ),
        ("trigger_id", trigger_id),
    ])
    .unwrap()
}

/// An interaction form body (`payload=` JSON).
pub fn interaction_form(payload: &Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

/// Polls `check` until it returns `Some`, or panics after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to `timeout` for incident `id` to be done, and returns it.
pub async fn wait_done(
    store: &incident_store::Store,
    id: i64,
    timeout: Duration,
) -> incident_store::Incident {
    wait_for(
        &format!("incident {id} to be done"),
        timeout,
        || async move {
            store
                .get_incident(id)
                .await
                .unwrap()
                .filter(|i| i.status == incident_store::IncidentStatus::Done)
        },
    )
    .await
}

/// Waits up to `timeout` for an RCA message in the thread of `thread_ts`
/// in the Slack fake's `channel`, and returns it.
pub async fn wait_rca_in_thread(
    fake: &mcp_slack::fake::FakeSlack,
    channel: &str,
    thread_ts: &str,
    timeout: Duration,
) -> Value {
    wait_for("the RCA in the alert's thread", timeout, || async move {
        fake.messages(channel).into_iter().find(|m| {
            m["thread_ts"].as_str() == Some(thread_ts)
                && m["blocks"].to_string().contains("Root cause analysis")
        })
    })
    .await
}

/// Waits up to `timeout` for the RCA's pictures (a `file_share` message)
/// in the thread of `thread_ts` in the Slack fake's `channel`, and returns
/// that message.
pub async fn wait_pictures_in_thread(
    fake: &mcp_slack::fake::FakeSlack,
    channel: &str,
    thread_ts: &str,
    timeout: Duration,
) -> Value {
    wait_for("the pictures in the thread", timeout, || async move {
        fake.messages(channel)
            .into_iter()
            .find(|m| m["subtype"] == "file_share" && m["thread_ts"].as_str() == Some(thread_ts))
    })
    .await
}

/// Sends the scenario's alert ([`alert_payload`]) to `server`'s Alertmanager
/// webhook as a new firing alert; its incident's id.
pub async fn new_alert(
    client: &reqwest::Client,
    server: &Server,
    fingerprint: &str,
    name: &str,
) -> i64 {
    let r = client
        .post(server.url("/webhook/alertmanager"))
        .header("content-type", "application/json")
        .body(alert_payload(fingerprint, name, "firing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["result"]["outcome"], "new", "{body}");
    body["results"][0]["result"]["incident_id"]
        .as_i64()
        .unwrap()
}

/// The scenario's alert webhook, with its fingerprint and alert name
/// replaced (so each copy is a distinct alert) and its status set.
pub fn alert_payload(fingerprint: &str, name: &str, status: &str) -> String {
    let text = std::fs::read_to_string(scenario().join("alert.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["status"] = Value::from(status);
    let a = &mut v["alerts"][0];
    a["status"] = Value::from(status);
    a["fingerprint"] = Value::from(fingerprint);
    a["labels"]["alertname"] = Value::from(name);
    v["commonLabels"]["alertname"] = Value::from(name);
    v.to_string()
}
