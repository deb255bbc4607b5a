//! Two `sre-agent serve` processes on one real PostgreSQL and one Slack
//! fake: 200 notifications (webhooks, Slack alert messages, duplicates and
//! Slack retries, spread over both replicas) give exactly one investigation
//! and one RCA message per unique alert. Then graceful shutdown, and a
//! replica killed with SIGKILL mid-investigation: another replica takes the
//! job over when the lease runs out and edits the same Slack message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
// The throwaway PostgreSQL cluster of the store's tests, shared rather than copied.
#[path = "../../incident-store/tests/support_pg/mod.rs"]
mod support_pg;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use incident_store::{IncidentFilter, IncidentStatus, Store};
use mcp_slack::fake::{BOT_TOKEN, FakeSlack, SeedMessage};
use serde_json::{Value, json};
use support::{SECRET, Server, alert_payload, http, new_alert, post_slack, wait_for};

const WEBHOOK_ALERTS: usize = 100;
const SLACK_ALERTS: usize = 20;
const WEBHOOK_DUPLICATES: usize = 60;
const UNIQUE: usize = WEBHOOK_ALERTS + SLACK_ALERTS;

/// One request to send: URL, content type, body, extra headers.
type Delivery = (String, String, String, Vec<(&'static str, String)>);

fn replica(db: &str, fake: &FakeSlack, name: &str, extra: &[&str]) -> Server {
    let mut args = support::serve_args(
        db,
        &[
            "--slack-channel",
            "C0ALERTS01",
            "--slack-post-interval-ms",
            "0",
            "--poll-ms",
            "50",
            "--concurrency",
            "3",
            "--lease-secs",
            "3",
            "--max-attempts",
            "5",
            "--retry-backoff-secs",
            "1",
            "--drain-secs",
            "20",
            "--worker-id",
            name,
            // The load below is a deliberate burst; the limit has its own test.
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

fn slack_alert_event(n: usize, ts: &str) -> Value {
    json!({
        "token": "XXYYZZ", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1",
        "type": "event_callback", "event_id": format!("Ev-load-{n}"), "event_time": 1732400000,
        "event": {
            "type": "message", "subtype": "bot_message", "text": "", "ts": ts, "event_ts": ts,
            "username": "Alertmanager", "bot_id": "B07AMGR0001", "channel": "C0ALERTS01", "channel_type": "channel",
            "attachments": [{"color": "danger", "title": format!("[FIRING:1] LoadTest{n} prod (checkout warning)"), "text": ""}]
        }
    })
}

fn ok_posts(fake: &FakeSlack) -> Vec<mcp_slack::fake::RecordedCall> {
    fake.calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.error.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_queue_and_survive_a_kill() {
    let cluster = support_pg::shared();
    let db = cluster.fresh_database().await;
    let fake = FakeSlack::start().await.unwrap();
    let mut a = replica(&db, &fake, "replica-a", &[]);
    let mut b = replica(&db, &fake, "replica-b", &[]);
    let store = Store::connect(&db).await.unwrap();
    let client = http();
    let seeded: BTreeSet<String> = fake
        .messages("C0ALERTS01")
        .iter()
        .filter_map(|m| m["ts"].as_str().map(str::to_string))
        .collect();

    // --- 200 notifications over both replicas ----------------------------------
    let mut requests: Vec<Delivery> = Vec::new();
    let servers = [&a, &b];
    for i in 0..WEBHOOK_ALERTS {
        let s = servers[i % 2];
        requests.push((
            s.url("/webhook/alertmanager"),
            "application/json".into(),
            alert_payload(&format!("load-fp-{i}"), &format!("LoadAlert{i}"), "firing"),
            vec![],
        ));
    }
    for i in 0..WEBHOOK_DUPLICATES {
        // The same alert again, to the other replica.
        let s = servers[(i + 1) % 2];
        requests.push((
            s.url("/webhook/signoz"),
            "application/json".into(),
            alert_payload(&format!("load-fp-{i}"), &format!("LoadAlert{i}"), "firing"),
            vec![],
        ));
    }
    for n in 0..SLACK_ALERTS {
        let ts = fake.add_message(
            "C0ALERTS01",
            SeedMessage {
                user: None,
                bot_id: Some("B07AMGR0001".into()),
                username: Some("Alertmanager".into()),
                text: String::new(),
                thread_ts: None,
                attachments: Some(slack_alert_event(n, "0")["event"]["attachments"].clone()),
                blocks: None,
            },
        );
        let body = slack_alert_event(n, &ts).to_string();
        // Slack delivers to one replica, and retries (as Slack does after a
        // slow answer) to the other: the in-memory event dedup cannot see
        // across replicas, the store's fingerprint dedup must.
        requests.push((
            servers[n % 2].url("/slack/events"),
            "application/json".into(),
            body.clone(),
            vec![],
        ));
        requests.push((
            servers[(n + 1) % 2].url("/slack/events"),
            "application/json".into(),
            body,
            vec![
                ("x-slack-retry-num", "1".into()),
                ("x-slack-retry-reason", "http_timeout".into()),
            ],
        ));
    }
    assert_eq!(requests.len(), 200);
    // Interleave: originals, duplicates and retries arrive mixed.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|i| (i * 7919) % 200);
    let statuses: Vec<u16> = futures::stream::iter(order.into_iter().map(|i| {
        let (url, ct, body, extra) = requests[i].clone();
        let client = client.clone();
        async move {
            if url.contains("/slack/") {
                post_slack(&client, &url, &ct, &body, SECRET, &extra)
                    .await
                    .status()
                    .as_u16()
            } else {
                client
                    .post(&url)
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let done = wait_for(
        "every unique alert investigated",
        Duration::from_secs(240),
        || {
            let store = store.clone();
            async move {
                let all = store
                    .list_incidents(&IncidentFilter {
                        limit: 1000,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                (all.len() == UNIQUE && all.iter().all(|i| i.status == IncidentStatus::Done))
                    .then_some(all)
            }
        },
    )
    .await;
    assert_eq!(done.len(), UNIQUE, "one incident per unique alert");
    let dup_total: u64 = done.iter().map(|i| i.duplicates).sum();
    assert_eq!(
        dup_total as usize,
        WEBHOOK_DUPLICATES + SLACK_ALERTS,
        "every duplicate and retry counted on its incident"
    );

    // Exactly one Slack message per alert: one placeholder post each, and
    // the RCA put into that same message.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts = ok_posts(&fake);
    assert_eq!(posts.len(), UNIQUE, "one post per unique alert");
    let bot_messages: Vec<Value> = fake
        .messages("C0ALERTS01")
        .into_iter()
        .filter(|m| !seeded.contains(m["ts"].as_str().unwrap_or("")))
        .filter(|m| m["bot_id"].as_str() == Some(mcp_slack::fake::BOT_ID))
        // The RCA's pictures follow in a message of their own.
        .filter(|m| m["subtype"] != "file_share")
        .collect();
    assert_eq!(bot_messages.len(), UNIQUE, "bot messages in the channel");
    assert!(
        bot_messages
            .iter()
            .all(|m| m["blocks"].to_string().contains("Root cause analysis")),
        "every bot message carries an RCA"
    );
    let mut per_incident: BTreeMap<i64, usize> = BTreeMap::new();
    for i in &done {
        let m = i
            .slack
            .as_ref()
            .expect("each incident has its Slack message");
        assert!(
            bot_messages
                .iter()
                .any(|b| b["ts"].as_str() == Some(m.ts.as_str()))
        );
        *per_incident.entry(i.id).or_default() += 1;
    }
    assert_eq!(per_incident.len(), UNIQUE);
    let distinct_ts: BTreeSet<String> = done
        .iter()
        .map(|i| i.slack.as_ref().unwrap().ts.clone())
        .collect();
    assert_eq!(distinct_ts.len(), UNIQUE);
    // Slack alerts are answered in their own thread.
    let threaded = done
        .iter()
        .filter(|i| i.alert.name.starts_with("LoadTest"))
        .count();
    assert_eq!(threaded, SLACK_ALERTS);

    // Both replicas worked, and finished UNIQUE investigations between them.
    let mut finished = 0u64;
    let mut workers = BTreeSet::new();
    for s in [&a, &b] {
        let text = client
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("sre_agent_investigations_total{outcome=\"done\"} "))
            .map_or(0, |v| v.trim().parse().unwrap());
        if n > 0 {
            workers.insert(s.addr);
        }
        finished += n;
    }
    assert_eq!(
        finished as usize, UNIQUE,
        "each alert investigated exactly once"
    );
    assert_eq!(workers.len(), 2, "both replicas took jobs");

    // --- Graceful shutdown ------------------------------------------------------
    assert!(
        a.terminate(Duration::from_secs(30)),
        "replica a exits cleanly on SIGTERM:\n{}",
        a.log()
    );
    assert!(
        b.terminate(Duration::from_secs(30)),
        "replica b exits cleanly on SIGTERM:\n{}",
        b.log()
    );

    // --- kill -9 mid-investigation ----------------------------------------------
    let mut slow = replica(
        &db,
        &fake,
        "replica-slow",
        &["--test-investigation-delay-ms", "600000"],
    );
    let incident_id = new_alert(&client, &slow, "kill-fp", "KillMe").await;
    // The slow replica claimed it and posted its placeholder.
    let placeholder = wait_for(
        "the slow replica's placeholder",
        Duration::from_secs(60),
        || {
            let store = store.clone();
            async move {
                store
                    .get_incident(incident_id)
                    .await
                    .unwrap()
                    .and_then(|i| i.slack)
            }
        },
    )
    .await;
    assert_eq!(
        store
            .get_incident(incident_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        IncidentStatus::Investigating
    );
    let posts_before = ok_posts(&fake).len();
    let rescuer = replica(&db, &fake, "replica-rescuer", &[]);
    slow.kill9();

    let rescued = support::wait_done(&store, incident_id, Duration::from_secs(90)).await;
    assert!(rescued.rca.is_some());
    assert_eq!(
        rescued.slack.as_ref().unwrap().ts,
        placeholder.ts,
        "the same Slack message"
    );
    assert!(
        rescuer.log().contains("attempt=2"),
        "taken over as a second attempt:\n{}",
        rescuer.log()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ok_posts(&fake).len(),
        posts_before,
        "no second post after the takeover"
    );
    let update = fake
        .calls_to("chat.update")
        .into_iter()
        .rev()
        .find(|c| c.args["ts"].as_str() == Some(placeholder.ts.as_str()))
        .expect("the placeholder was updated");
    assert!(
        update.args["blocks"]
            .to_string()
            .contains("Root cause analysis")
    );
    let all = store
        .list_incidents(&IncidentFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), UNIQUE + 1, "nothing lost, nothing doubled");
    assert!(all.iter().all(|i| i.status == IncidentStatus::Done));
}
