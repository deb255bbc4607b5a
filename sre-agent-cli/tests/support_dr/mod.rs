//! What the drills of `serve_dr_pg.rs` share: `serve` against a database
//! and the Slack fake, alerts posted to it, its metrics, pools on the
//! store, and the rows a backup must carry.

use std::process::Command;
use std::time::Duration;

use incident_store::IncidentFilter;
use mcp_slack::fake::{BOT_TOKEN, FakeSlack};
use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::support::{self, SECRET, Server, alert_payload};

use crate::support_pg;

pub mod replication;

pub const CHANNEL: &str = "C0ALERTS01";

/// The drills measure times: run them one at a time, not beside each other.
pub static DRILL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn serve(db: &str, fake: &FakeSlack, worker: &str, extra: &[&str]) -> Server {
    let mut args = support::serve_args(
        db,
        &[
            "--slack-channel",
            CHANNEL,
            "--slack-post-interval-ms",
            "0",
            "--poll-ms",
            "50",
            "--concurrency",
            "2",
            "--lease-secs",
            "4",
            "--max-attempts",
            "5",
            "--retry-backoff-secs",
            "1",
            "--drain-secs",
            "10",
            "--worker-id",
            worker,
            "--webhook-rate",
            "0",
        ],
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::spawn(
        &args,
        &[
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SECRET.to_string()),
            ("SLACK_API_URL", fake.api_url()),
        ],
    )
}

/// POSTs one Alertmanager notification; the JSON answer when acknowledged (200).
pub async fn post_alert(
    client: &reqwest::Client,
    base: &str,
    fingerprint: &str,
    name: &str,
    status: &str,
) -> Option<Value> {
    let r = client
        .post(format!("{base}/webhook/alertmanager"))
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
        .body(alert_payload(fingerprint, name, status))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.json().await.ok()
}

/// A counter or histogram count from a replica's `/metrics`, summed over
/// the lines whose name (with labels) starts with `prefix`.
pub async fn metric(client: &reqwest::Client, server: &Server, prefix: &str) -> u64 {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

pub fn all_incidents_filter() -> IncidentFilter {
    IncidentFilter {
        limit: 1000,
        ..Default::default()
    }
}

pub async fn pool(url: &str) -> PgPool {
    pool_with(url, Duration::from_secs(10)).await
}

/// A pool whose connection attempts give up after `timeout` (sqlx retries
/// a refused connection until then).
pub async fn pool_with(url: &str, timeout: Duration) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(timeout)
        .connect(url)
        .await
        .unwrap()
}

/// The bot's incident messages in the fake's channel (successful posts).
pub fn ok_posts(fake: &FakeSlack) -> usize {
    fake.calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.error.is_none())
        .count()
}

/// The incident ids of the "investigating" lines in a replica's log.
pub fn investigated(log: &str) -> Vec<i64> {
    log.lines()
        .filter(|l| l.contains(" investigating") && l.contains("attempt="))
        .filter_map(|l| {
            let rest = l.split("incident=").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

// --- The rows a backup must carry ---------------------------------------------

pub type IncidentRow = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
);
pub type JobRow = (i64, i64, String, i64, Option<String>, i64);

/// Every incident (with its RCA and transcript), job and applied migration.
#[derive(Debug, PartialEq)]
pub struct Rows {
    pub incidents: Vec<IncidentRow>,
    pub jobs: Vec<JobRow>,
    pub migrations: Vec<i64>,
}

pub async fn rows(url: &str) -> Rows {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let incidents = sqlx::query_as(
        "SELECT id, fingerprint, status, duplicates, rca_json, transcript_json, slack_ts, \
         updated_at, resolved_at FROM incidents ORDER BY id",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let jobs = sqlx::query_as(
        "SELECT id, incident_id, status, attempts, worker, updated_at FROM jobs ORDER BY id",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let migrations =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut c)
            .await
            .unwrap();
    c.close().await.ok();
    Rows {
        incidents,
        jobs,
        migrations,
    }
}

/// Runs a PostgreSQL client tool (as this user: clients may run as root).
pub fn client_tool(tool: &str, args: &[&str]) {
    let exe = support_pg::bin_dir().join(tool);
    let out = Command::new(&exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{tool} {args:?} exited with {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub async fn create_database(server_url: &str, name: &str) {
    let mut c = sqlx::PgConnection::connect(server_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.ok();
}
