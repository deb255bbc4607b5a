//! `sre-agent serve --socket-mode` against the Slack fake: the bot connects
//! out over Socket Mode (apps.connections.open with the app token, then the
//! fake's WebSocket), an alert message pushed over the socket (and Slack's
//! redelivery of it) becomes one incident whose RCA is posted in the alert's
//! thread, and a slash command over the socket is answered in its ack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use incident_store::{IncidentFilter, Store};
use mcp_slack::fake::{APP_TOKEN, BOT_TOKEN, FakeSlack, SeedMessage};
use serde_json::{Value, json};
use support::{Server, wait_for};

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_socket_mode_answers_an_alert_in_its_thread() {
    let fake = FakeSlack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let server = Server::spawn(
        &support::serve_args(
            &db,
            &[
                "--socket-mode",
                "--slack-api-url",
                &fake.api_url(),
                "--slack-post-interval-ms",
                "0",
                "--poll-ms",
                "100",
            ],
        ),
        &[
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("SLACK_APP_TOKEN", APP_TOKEN.to_string()),
        ],
    );
    let store = Store::connect(&db).await.unwrap();

    // The bot connects out with the app token.
    let conn = fake
        .wait_socket_live(1, WAIT)
        .await
        .expect("a Socket Mode connection from the bot");
    let opens = fake.calls_to("apps.connections.open");
    assert!(
        opens
            .iter()
            .all(|c| c.token.as_deref() == Some(APP_TOKEN) && c.error.is_none()),
        "{opens:?}"
    );
    wait_for("the hello to be understood", WAIT, || {
        let log = server.log();
        async move {
            log.contains("Slack Socket Mode connection ready")
                .then_some(())
        }
    })
    .await;

    // An Alertmanager message in #alerts-prod, as Slack pushes it.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            support::root().join("fixtures/slack/event_callback_alert_message.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let alert_ts = fake.add_message(
        "C0ALERTS01",
        SeedMessage {
            bot_id: Some("B07AMGR0001".into()),
            username: Some("Alertmanager".into()),
            attachments: Some(event["event"]["attachments"].clone()),
            ..Default::default()
        },
    );
    let event_link = event["event"]["attachments"][0]["title_link"]
        .as_str()
        .map(str::to_string);
    assert!(event_link.is_some());
    event["event_id"] = json!("Ev-socket-alert-1");
    event["event"]["ts"] = json!(alert_ts);
    event["event"]["event_ts"] = json!(alert_ts);
    let first = fake.push_events_api(event.clone(), 0, None).unwrap();
    let ack = fake
        .wait_socket_ack(&first, WAIT)
        .await
        .expect("the event was acknowledged");
    // The bot keeps two connections (see mcp-slack's socket_mode docs) and
    // the fake, like Slack, delivers on any live one: the ack must come back
    // on the connection that carried the envelope, which is one of the bot's.
    assert!(
        fake.socket_connections()
            .iter()
            .any(|c| c.id == ack.connection && c.open),
        "ack on connection {} (first was {})",
        ack.connection,
        conn.id
    );
    // Slack's redelivery: acknowledged, not a second incident.
    let retry = fake.push_events_api(event, 1, Some("timeout")).unwrap();
    fake.wait_socket_ack(&retry, WAIT)
        .await
        .expect("the redelivery was acknowledged");
    let incidents = store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].alert.name, "KubeDeploymentReplicasMismatch");
    // The envelope's payload arrives whole, as over HTTP: the attachment's
    // title_link becomes the incident's alert link.
    assert_eq!(
        incidents[0].alert.link.as_deref(),
        event_link.as_deref(),
        "{:?}",
        incidents[0].alert
    );

    // The RCA, in the alert's thread, once.
    support::wait_rca_in_thread(&fake, "C0ALERTS01", &alert_ts, WAIT).await;
    let replies: Vec<_> = fake
        .messages("C0ALERTS01")
        .into_iter()
        .filter(|m| {
            m["thread_ts"].as_str() == Some(alert_ts.as_str())
                && m["ts"].as_str() != Some(alert_ts.as_str())
                && m["bot_id"].as_str() == Some(mcp_slack::fake::BOT_ID)
                // The RCA's pictures follow in a message of their own.
                && m["subtype"] != "file_share"
        })
        .collect();
    assert_eq!(
        replies.len(),
        1,
        "one bot message in the thread: {replies:?}"
    );

    // A slash command over the socket: the bot's reply travels in the ack.
    let id = fake
        .push_slash_command(json!({
            "token": "XXYYZZ", "team_id": "T0FAKE0001", "team_domain": "fake",
            "channel_id": "C0INCIDENT", "channel_name": "incidents",
            "user_id": "U0ALICE001", "user_name": "alice", "command": "/sre",
            "text": "investigate service=checkout since=30m why 5xx?",
            "api_app_id": "A0FAKEAPP1",
            "response_url": "https://hooks.slack.com/commands/T0FAKE0001/1/x",
            "trigger_id": "trig-socket-1",
        }))
        .unwrap();
    let ack = fake
        .wait_socket_ack(&id, WAIT)
        .await
        .expect("the command was acknowledged");
    let payload = ack.payload.expect("the reply in the ack");
    assert_eq!(payload["response_type"], "ephemeral", "{payload}");
    assert!(
        payload["text"].as_str().unwrap().contains("incident #"),
        "{payload}"
    );
    let on_demand = store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.on_demand)
        .count();
    assert_eq!(on_demand, 1);

    // /metrics tells a deaf bot from a quiet one: both connections are
    // counted, and a dropped one is counted out until it is replaced.
    let metric = |n: usize| format!("sre_agent_slack_socket_connections {n}\n");
    let scrape = || async {
        support::http()
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    wait_for("two connections in /metrics", WAIT, || async {
        scrape().await.contains(&metric(2)).then_some(())
    })
    .await;
    fake.wait_socket_live(2, WAIT)
        .await
        .expect("two live connections");
    assert!(fake.socket_drop().is_some());
    wait_for("the dropped connection counted out", WAIT, || async {
        scrape().await.contains(&metric(1)).then_some(())
    })
    .await;
    wait_for("the dropped connection replaced", WAIT, || async {
        scrape().await.contains(&metric(2)).then_some(())
    })
    .await;
}
