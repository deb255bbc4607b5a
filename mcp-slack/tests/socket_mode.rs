//! Socket Mode end to end: `intake::socket_mode::run` (the crate's Socket
//! Mode client on tokio-tungstenite) against the Slack fake's
//! `apps.connections.open` and WebSocket endpoint on 127.0.0.1. The fake
//! pushes envelopes the way Slack does and records what the client sends
//! back, so these tests see the real frames in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mcp_slack::fake::{APP_TOKEN, BOT_TOKEN, FakeSlack, SocketConnection};
use mcp_slack::intake::socket_mode::{LiveConnections, SocketModeConfig, run, run_with_config};
use mcp_slack::intake::{
    BoxFuture, EventDedup, EventSink, IntakeEvent, Reply, SinkError, Transport,
};
use mcp_slack::rca::RcaFeedback;
use mcp_slack::{SlackApi, SlackApiConfig, SlackError};
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/slack")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A sink that records events, answers as told, and can be made to fail.
#[derive(Clone)]
struct Recorder {
    tx: mpsc::UnboundedSender<IntakeEvent>,
    reply: Reply,
    fail: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
}

impl EventSink for Recorder {
    fn deliver(&self, event: IntakeEvent) -> BoxFuture<'_, Result<Reply, SinkError>> {
        Box::pin(async move {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(SinkError::Failed("queue full".into()));
            }
            self.tx.send(event).map_err(|_| SinkError::Closed)?;
            Ok(self.reply.clone())
        })
    }
}

struct Bot {
    fake: FakeSlack,
    rx: mpsc::UnboundedReceiver<IntakeEvent>,
    fail: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    cancel: CancellationToken,
    task: JoinHandle<Result<(), SlackError>>,
    live: LiveConnections,
}

fn api(fake: &FakeSlack) -> SlackApi {
    SlackApi::new(SlackApiConfig {
        base_url: fake.api_url(),
        bot_token: Some(BOT_TOKEN.into()),
        user_token: None,
        retry: Default::default(),
    })
}

/// One connection, quick reconnects (the defaults keep two connections; see
/// the last test).
fn one_connection() -> SocketModeConfig {
    SocketModeConfig {
        connections: 1,
        reconnect_delay: Duration::from_millis(200),
        ..SocketModeConfig::default()
    }
}

impl Bot {
    /// Starts the fake and Socket Mode with `config` (`None`: `run`'s
    /// defaults), delivering to a recorder that answers `reply`.
    async fn start(reply: Reply, config: Option<SocketModeConfig>) -> Bot {
        let fake = FakeSlack::start().await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let fail = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(AtomicUsize::new(0));
        let sink: Arc<dyn EventSink> = Arc::new(Recorder {
            tx,
            reply,
            fail: Arc::clone(&fail),
            attempts: Arc::clone(&attempts),
        });
        let cancel = CancellationToken::new();
        let live = LiveConnections::default();
        let task = {
            let api = api(&fake);
            let cancel = cancel.clone();
            let live = live.clone();
            tokio::spawn(async move {
                let dedup = Arc::new(EventDedup::default());
                match config {
                    Some(c) => {
                        run_with_config(&api, APP_TOKEN, sink, dedup, cancel, &c, &live).await
                    }
                    None => run(&api, APP_TOKEN, sink, dedup, cancel).await,
                }
            })
        };
        Bot {
            fake,
            rx,
            fail,
            attempts,
            cancel,
            task,
            live,
        }
    }

    async fn live(&self, n: usize) -> SocketConnection {
        self.fake
            .wait_socket_live(n, WAIT)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "no {n} live Socket Mode connection(s): {:?}",
                    self.fake.socket_connections()
                )
            })
    }

    /// Waits for the acknowledgement of `envelope_id` and returns it.
    async fn ack(&self, envelope_id: &str) -> mcp_slack::fake::SocketReply {
        self.fake
            .wait_socket_ack(envelope_id, WAIT)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "envelope {envelope_id} was not acknowledged; replies: {:?}",
                    self.fake.socket_replies()
                )
            })
    }

    async fn stop(self) {
        self.cancel.cancel();
        let result = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run returns once cancelled")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            self.live.get(),
            0,
            "connections still counted after shutdown"
        );
        let closed = self
            .fake
            .wait_until(WAIT, |f| {
                f.socket_connections().iter().all(|c| !c.open).then_some(())
            })
            .await;
        assert!(
            closed.is_some(),
            "connections left open after shutdown: {:?}",
            self.fake.socket_connections()
        );
    }
}

fn push_event(ev: &IntakeEvent) -> &mcp_slack::intake::PushEvent {
    match ev {
        IntakeEvent::Push(p) => p,
        other => panic!("expected a push event, got {other:?}"),
    }
}

#[tokio::test]
async fn an_alert_message_arrives_once_and_every_delivery_is_acked() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    let conn = bot.live(1).await;

    // The token check's URL is the first connection's: one POST with the
    // app token.
    let opens = bot.fake.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 1, "{opens:?}");
    for c in &opens {
        assert_eq!(c.http_method, "POST");
        assert_eq!(c.token.as_deref(), Some(APP_TOKEN));
        assert_eq!(c.error, None);
    }
    assert!(conn.query.contains("ticket=") && conn.query.contains("app_id=A0FAKEAPP1"));
    assert!(bot.fake.socket_refused().is_empty());

    let event = fixture("event_callback_alert_message.json");
    let first = bot.fake.push_events_api(event.clone(), 0, None).unwrap();
    let ack = bot.ack(&first).await;
    assert_eq!(ack.connection, conn.id);
    assert_eq!(
        serde_json::from_str::<Value>(&ack.text).unwrap(),
        json!({"envelope_id": first}),
        "an events_api ack is the bare envelope_id"
    );
    // The callback ran before the ack was sent: the event is already there.
    let ev = bot.rx.try_recv().expect("the alert was delivered");
    let push = push_event(&ev);
    assert_eq!(push.transport, Transport::SocketMode);
    assert_eq!(push.event_id, "Ev08ALERT0001");
    assert_eq!(push.event_type, "message");
    assert!(push.parsed.is_some());
    let alert = mcp_slack::parse_alert(push.event()).expect("an alert");
    assert_eq!(alert.alert_name, "KubeDeploymentReplicasMismatch");
    assert_eq!(alert.firing_count, Some(1));
    assert_eq!(alert.severity.as_deref(), Some("warning"), "{alert:?}");

    // Slack's retry of the same event (new envelope, same event_id): acked,
    // not delivered again.
    let retry = bot
        .fake
        .push_events_api(event.clone(), 1, Some("timeout"))
        .unwrap();
    assert_ne!(retry, first);
    let ack = bot.ack(&retry).await;
    assert_eq!(ack.envelope_id.as_deref(), Some(retry.as_str()));
    assert!(
        bot.rx.try_recv().is_err(),
        "a redelivery of Ev08ALERT0001 reached the sink twice"
    );
    assert_eq!(
        bot.fake.socket_acks(&first).len(),
        1,
        "one ack per envelope"
    );

    // Another event still gets through (the de-duplication is per event_id).
    let mut human = event;
    human["event_id"] = json!("Ev08HUMAN0002");
    human["event"] = json!({
        "type": "message", "user": "U0ALICE001", "text": "looking",
        "ts": "1732400001.000200", "channel": "C0ALERTS01", "channel_type": "channel",
        "event_ts": "1732400001.000200",
    });
    let third = bot.fake.push_events_api(human, 0, None).unwrap();
    bot.ack(&third).await;
    let ev = bot.rx.try_recv().expect("the second event was delivered");
    assert_eq!(push_event(&ev).event_id, "Ev08HUMAN0002");
    assert_eq!(push_event(&ev).event()["text"], "looking");
    bot.stop().await;
}

/// Over Socket Mode the event is the payload as Slack sent it, as over
/// HTTP: fields slack-morphism does not model are kept (the alert's link is
/// in `title_link`), and `retry_attempt` is passed on as the retry number.
#[tokio::test]
async fn socket_mode_events_keep_every_field_and_the_retry_number() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    bot.live(1).await;
    let mut event = fixture("event_callback_alert_message.json");
    let link = event["event"]["attachments"][0]["title_link"].clone();
    assert!(link.is_string());
    event["event"]["attachments"][0]["pretext"] = json!("Alertmanager, prod cluster");
    let id = bot
        .fake
        .push_events_api(event.clone(), 2, Some("timeout"))
        .unwrap();
    bot.ack(&id).await;
    let ev = bot.rx.try_recv().unwrap();
    let push = push_event(&ev);
    assert_eq!(push.raw, event, "the payload arrives as sent");
    let attachment = &push.event()["attachments"][0];
    assert_eq!(attachment["title_link"], link);
    assert_eq!(attachment["pretext"], "Alertmanager, prod cluster");
    let alert = mcp_slack::parse_alert(push.event()).unwrap();
    assert_eq!(
        alert.links.get("alert"),
        link.as_str().map(str::to_string).as_ref()
    );
    assert_eq!(push.retry_num, Some(2));
    assert!(push.parsed.is_some(), "slack-morphism's parse is there too");
    bot.stop().await;
}

#[tokio::test]
async fn unknown_event_types_arrive_whole_and_unusable_envelopes_are_acked_and_dropped() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    bot.live(1).await;
    let new_kind = json!({
        "type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1",
        "event_id": "Ev08FUTURE01", "event_time": 1_732_400_000,
        "event": {"type": "some_future_event", "channel": "C0ALERTS01", "detail": {"x": 1}},
    });
    let id = bot.fake.push_events_api(new_kind, 0, None).unwrap();
    bot.ack(&id).await;
    let ev = bot
        .rx
        .try_recv()
        .expect("an unknown event type is delivered");
    let push = push_event(&ev);
    assert_eq!(push.event_type, "some_future_event");
    assert_eq!(push.event()["detail"]["x"], 1);

    // No event_id: it cannot be de-duplicated, and a redelivery would be
    // the same, so it is acked (logged as an error) and not delivered.
    let malformed = json!({
        "type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1",
        "event": {"type": "message", "text": "hi", "channel": "C0ALERTS01", "ts": "1.2"},
    });
    let id = bot.fake.push_events_api(malformed, 0, None).unwrap();
    bot.ack(&id).await;
    assert!(bot.rx.try_recv().is_err());
    assert_eq!(bot.attempts.load(Ordering::SeqCst), 1);

    // Frames that are not envelopes (not JSON, no envelope_id) are skipped;
    // the connection stays up and the next event arrives.
    bot.fake.socket_send("not json").unwrap();
    bot.fake
        .socket_send(r#"{"type":"events_api","payload":{}}"#)
        .unwrap();
    let mut later = fixture("event_callback_alert_message.json");
    later["event_id"] = json!("Ev08LATER001");
    let id = bot.fake.push_events_api(later, 0, None).unwrap();
    bot.ack(&id).await;
    assert_eq!(
        push_event(&bot.rx.try_recv().unwrap()).event_id,
        "Ev08LATER001"
    );
    assert_eq!(bot.fake.socket_connections().len(), 1, "no reconnection");
    bot.stop().await;
}

#[tokio::test]
async fn slash_commands_and_button_clicks_arrive_and_are_acked_with_the_reply() {
    let mut bot = Bot::start(
        Reply::Json(json!({"response_type": "ephemeral", "text": "Investigating checkout…"})),
        Some(one_connection()),
    )
    .await;
    let conn = bot.live(1).await;

    let id = bot
        .fake
        .push_slash_command(json!({
            "token": "XXYYZZ", "team_id": "T0FAKE0001", "team_domain": "fake",
            "channel_id": "C0INCIDENT", "channel_name": "incidents",
            "user_id": "U0ALICE001", "user_name": "alice", "command": "/sre",
            "text": "investigate service=checkout since=30m", "api_app_id": "A0FAKEAPP1",
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0FAKE0001/1/x",
            "trigger_id": "trig-socket-1",
        }))
        .unwrap();
    let ack = bot.ack(&id).await;
    assert_eq!(ack.connection, conn.id);
    assert_eq!(
        ack.payload,
        Some(json!({"response_type": "ephemeral", "text": "Investigating checkout…"})),
        "the sink's reply goes back in the ack: {}",
        ack.text
    );
    match bot.rx.try_recv().expect("the command was delivered") {
        IntakeEvent::Command(c) => {
            assert_eq!(c.transport, Transport::SocketMode);
            assert_eq!(c.command.command.0, "/sre");
            assert_eq!(
                c.command.text.as_deref(),
                Some("investigate service=checkout since=30m")
            );
            assert_eq!(c.command.user_id.0, "U0ALICE001");
            assert_eq!(c.command.channel_id.0, "C0INCIDENT");
        }
        other => panic!("expected a command, got {other:?}"),
    }

    let id = bot
        .fake
        .push_interactive(fixture("block_actions_confirm.json"))
        .unwrap();
    let ack = bot.ack(&id).await;
    assert_eq!(
        serde_json::from_str::<Value>(&ack.text).unwrap(),
        json!({"envelope_id": id}),
        "a block_actions ack carries no payload"
    );
    match bot.rx.try_recv().expect("the click was delivered") {
        IntakeEvent::Interaction(i) => {
            assert_eq!(i.transport, Transport::SocketMode);
            assert!(matches!(
                i.parsed.as_deref(),
                Some(SlackInteractionEvent::BlockActions(_))
            ));
            let feedback = RcaFeedback::from_interaction(&i.raw).unwrap();
            assert_eq!(feedback.investigation_id, "inv-2024-11-23-0042");
            assert!(feedback.confirmed);
            assert_eq!(feedback.user_id.as_deref(), Some("U0ALICE001"));
        }
        other => panic!("expected an interaction, got {other:?}"),
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_refresh_request_reconnects_and_later_events_still_arrive() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    let first = bot.live(1).await;
    let mut event = fixture("event_callback_alert_message.json");
    let id = bot.fake.push_events_api(event.clone(), 0, None).unwrap();
    bot.ack(&id).await;
    assert!(bot.rx.try_recv().is_ok());

    assert_eq!(
        bot.fake.socket_disconnect("refresh_requested"),
        Some(first.id)
    );
    let second = bot.live(1).await;
    assert_ne!(second.id, first.id, "a new connection");
    assert_ne!(second.ticket, first.ticket, "with a new URL");
    // A new apps.connections.open for the new connection.
    assert_eq!(bot.fake.calls_to("apps.connections.open").len(), 2);
    // The client closed the old connection itself, well before the fake's
    // grace period would have.
    let closed = bot
        .fake
        .wait_until(Duration::from_secs(5), |f| {
            f.socket_connections()
                .iter()
                .any(|c| c.id == first.id && !c.open)
                .then_some(())
        })
        .await;
    assert!(closed.is_some(), "{:?}", bot.fake.socket_connections());

    event["event_id"] = json!("Ev08AFTER0002");
    let id = bot.fake.push_events_api(event, 0, None).unwrap();
    let ack = bot.ack(&id).await;
    assert_eq!(ack.connection, second.id);
    let ev = bot.rx.try_recv().expect("delivered after the reconnect");
    assert_eq!(push_event(&ev).event_id, "Ev08AFTER0002");
    assert_eq!(bot.fake.socket_connections().len(), 2);
    bot.stop().await;
}

#[tokio::test]
async fn a_lost_link_is_replaced_and_events_arrive_on_the_new_one() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    let first = bot.live(1).await;
    bot.fake
        .wait_until(WAIT, |_| (bot.live.get() == 1).then_some(()))
        .await
        .expect("one live connection counted");
    assert_eq!(bot.fake.socket_drop(), Some(first.id));
    // Counted out while it is down (the reconnect waits 200 ms).
    bot.fake
        .wait_until(WAIT, |_| (bot.live.get() == 0).then_some(()))
        .await
        .expect("the dropped connection is no longer counted");
    let second = bot
        .fake
        .wait_until(WAIT, |f| {
            f.socket_connections()
                .into_iter()
                .find(|c| c.id != first.id && c.open)
        })
        .await
        .expect("a new connection after the old one was dropped");
    assert_eq!(bot.fake.calls_to("apps.connections.open").len(), 2);
    let id = bot
        .fake
        .push_events_api(fixture("event_callback_alert_message.json"), 0, None)
        .unwrap();
    assert_eq!(bot.ack(&id).await.connection, second.id);
    assert!(bot.rx.try_recv().is_ok());
    assert_eq!(bot.live.get(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_view_submission_is_acked_with_the_sinks_response_action() {
    let errors = json!({"response_action": "errors", "errors": {"reason": "Say what was wrong"}});
    let mut bot = Bot::start(Reply::Json(errors.clone()), Some(one_connection())).await;
    bot.live(1).await;
    let submission = json!({
        "type": "view_submission", "team": {"id": "T0FAKE0001", "domain": "fake"},
        "user": {"id": "U0ALICE001", "username": "alice", "team_id": "T0FAKE0001"},
        "api_app_id": "A0FAKEAPP1", "trigger_id": "trig-2",
        "view": {"id": "V0FAKE0001", "type": "modal", "callback_id": "sre_rca_wrong",
                 "private_metadata": "42", "blocks": [],
                 "state": {"values": {}}, "title": {"type": "plain_text", "text": "Wrong"}},
    });
    let id = bot.fake.push_interactive(submission).unwrap();
    let ack = bot.ack(&id).await;
    assert_eq!(ack.payload, Some(errors), "{}", ack.text);
    match bot.rx.try_recv().unwrap() {
        IntakeEvent::Interaction(i) => assert_eq!(i.raw["view"]["callback_id"], "sre_rca_wrong"),
        other => panic!("expected an interaction, got {other:?}"),
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_is_not_acked_and_slacks_retry_gets_through() {
    let mut bot = Bot::start(Reply::Ack, Some(one_connection())).await;
    bot.live(1).await;
    bot.fail.store(true, Ordering::SeqCst);
    let event = fixture("event_callback_alert_message.json");
    let first = bot.fake.push_events_api(event.clone(), 0, None).unwrap();
    bot.fake
        .wait_until(WAIT, |_| {
            (bot.attempts.load(Ordering::SeqCst) == 1).then_some(())
        })
        .await
        .expect("the sink was called");
    // The ack, if any, would follow the callback at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        bot.fake.socket_acks(&first).is_empty(),
        "a failed delivery was acknowledged: Slack would not redeliver it"
    );
    assert!(bot.rx.try_recv().is_err());

    bot.fail.store(false, Ordering::SeqCst);
    let retry = bot
        .fake
        .push_events_api(event.clone(), 1, Some("timeout"))
        .unwrap();
    bot.ack(&retry).await;
    let ev = bot.rx.try_recv().expect("the retry was delivered");
    assert_eq!(push_event(&ev).event_id, "Ev08ALERT0001");
    let again = bot.fake.push_events_api(event, 2, Some("timeout")).unwrap();
    bot.ack(&again).await;
    assert!(bot.rx.try_recv().is_err(), "delivered twice");
    bot.stop().await;
}

#[tokio::test]
async fn pings_are_answered_and_the_connection_stays_up() {
    let mut bot = Bot::start(
        Reply::Ack,
        Some(SocketModeConfig {
            ping_interval: Duration::from_millis(250),
            ping_failures: 2,
            ..one_connection()
        }),
    )
    .await;
    let conn = bot.live(1).await;
    // Unanswered pings would make the client give up after 0.75 s.
    let pinged = bot
        .fake
        .wait_until(WAIT, |f| {
            f.socket_connections()
                .into_iter()
                .find(|c| c.id == conn.id && c.pings >= 4)
        })
        .await
        .expect("the client pings");
    assert!(pinged.open);
    assert_eq!(bot.fake.socket_connections().len(), 1, "no reconnection");
    let id = bot
        .fake
        .push_events_api(fixture("event_callback_alert_message.json"), 0, None)
        .unwrap();
    bot.ack(&id).await;
    assert!(bot.rx.try_recv().is_ok());
    bot.stop().await;
}

#[tokio::test]
async fn a_wrong_app_token_is_a_clear_error_and_opens_no_socket() {
    let fake = FakeSlack::start().await.unwrap();
    let (tx, _rx) = mpsc::channel::<IntakeEvent>(4);
    for (token, code) in [
        ("xapp-1-A0FAKEAPP1-0000000000-not-the-token", "invalid_auth"),
        (BOT_TOKEN, "not_allowed_token_type"),
    ] {
        let sink: Arc<dyn EventSink> = Arc::new(tx.clone());
        let result = tokio::time::timeout(
            WAIT,
            run_with_config(
                &api(&fake),
                token,
                sink,
                Arc::new(EventDedup::default()),
                CancellationToken::new(),
                &one_connection(),
                &LiveConnections::default(),
            ),
        )
        .await
        .expect("a refused token is reported at once");
        let error = result.expect_err("a refused token is an error").to_string();
        assert!(error.contains("apps.connections.open"), "{error}");
        assert!(error.contains(code), "{error}");
        assert!(error.contains("app-level token"), "{error}");
        assert!(error.contains("SLACK_APP_TOKEN"), "{error}");
    }
    let calls = fake.calls_to("apps.connections.open");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].token.as_deref(), Some(BOT_TOKEN));
    assert!(fake.socket_connections().is_empty());
}

/// `run` as the bot calls it: the defaults, two connections.
#[tokio::test]
async fn run_with_the_defaults_opens_two_connections_and_shuts_down_cleanly() {
    let mut bot = Bot::start(Reply::Ack, None).await;
    let newest = bot.live(2).await;
    assert_eq!(bot.fake.calls_to("apps.connections.open").len(), 2);
    let id = bot
        .fake
        .push_events_api(fixture("event_callback_alert_message.json"), 0, None)
        .unwrap();
    assert_eq!(bot.ack(&id).await.connection, newest.id);
    assert!(bot.rx.try_recv().is_ok());
    bot.stop().await;
}
