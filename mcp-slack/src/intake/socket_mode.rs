//! Socket Mode: events over an outbound WebSocket, no public URL needed.
//!
//! # Design
//!
//! Socket Mode is a small protocol on top of a WebSocket
//! (docs.slack.dev/apis/events-api/using-socket-mode): `apps.connections.open`
//! with the app-level token (`xapp-…`, scope `connections:write`) returns a
//! temporary `wss://` URL; Slack sends `hello`, then envelopes
//! (`{"envelope_id", "type": "events_api" | "slash_commands" | "interactive",
//! "payload", "retry_attempt", …}`), each of which the client acknowledges
//! with `{"envelope_id"}` (plus a `payload` for a slash-command answer or a
//! view-submission `response_action`); `{"type": "disconnect"}` asks the
//! client to move to a new connection.
//!
//! The protocol is written here rather than taken from slack-morphism's
//! Socket Mode client, because that client hands its callbacks envelopes
//! already parsed into its types: fields it does not model (a legacy
//! attachment's `title_link` and `pretext`, which alert parsing reads) were
//! lost, the envelope's `retry_attempt` was not passed on, and an envelope
//! that did not fit its model never reached us. Here each envelope's payload
//! goes, as received, through the same functions as the HTTP routes
//! ([`deliver_push`], [`deliver_command`], [`interaction_event`]): one
//! de-duplication, one sink, the same raw JSON whichever way an event came.
//! The WebSocket itself is tokio-tungstenite's (the same rustls and native
//! roots as the Web API client); slack-morphism still makes the
//! `apps.connections.open` call, with its error mapping.
//!
//! * **Connections.** [`SocketModeConfig::connections`] (default 2) loops
//!   each keep one connection open. Slack spreads envelopes over an app's
//!   connections, so with two a refresh or a lost link never leaves the bot
//!   deaf.
//! * **Acknowledgement after delivery.** An envelope is acknowledged once
//!   the sink has taken it; if the sink fails it is not, and Slack
//!   redelivers it (`retry_attempt` > 0), which the de-duplication lets
//!   through because the failed `event_id` was forgotten. Envelopes are
//!   handled concurrently, so a slow sink does not stall reading (or the
//!   WebSocket's ping answers).
//! * **Moving on.** On `disconnect` (`warning`, `refresh_requested`) the
//!   loop opens the replacement at once while the old connection stops
//!   reading, finishes the envelopes in hand, acknowledges them and closes.
//! * **Dead links.** The client pings every
//!   [`SocketModeConfig::ping_interval`]; after
//!   [`SocketModeConfig::ping_failures`] pings without a pong (or any
//!   frame) the connection is dropped and replaced. Failed attempts back off
//!   from [`SocketModeConfig::reconnect_delay`] up to a minute.
//! * **Wrong token.** [`run`] makes the first `apps.connections.open` call
//!   before anything else, so a refused token is an error for the caller
//!   rather than a background retry loop; its URL is the first connection's.
//!
//! Tested end to end in `tests/socket_mode.rs` against the crate's Slack
//! fake (feature `fake`), which serves `apps.connections.open` and a real
//! WebSocket endpoint on 127.0.0.1 (plain `ws://`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use tokio::task::JoinSet;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::{
    EventDedup, EventSink, IntakeEvent, PushOutcome, Reply, Transport, deliver_command,
    deliver_push, ephemeral, interaction_event,
};
use crate::api::SlackApi;
use crate::error::SlackError;

/// The longest wait between two failed connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long opening a WebSocket (TCP, TLS, upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a closing connection waits for envelopes in hand to be
/// delivered and acknowledged (Slack wants an acknowledgement within 3 s).
const DRAIN: Duration = Duration::from_secs(3);

/// Socket Mode connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketModeConfig {
    /// Connections kept open at once (Slack allows up to 10 per app). At
    /// least 1.
    pub connections: usize,
    /// The wait after a failed connection attempt, doubled on each further
    /// failure up to a minute. At least 100 ms.
    pub reconnect_delay: Duration,
    /// How often the client pings Slack. At least 100 ms.
    pub ping_interval: Duration,
    /// Pings in a row left unanswered (no pong, no frame at all) before the
    /// connection is given up and replaced. At least 1.
    pub ping_failures: u32,
}

impl Default for SocketModeConfig {
    fn default() -> Self {
        Self {
            connections: 2,
            reconnect_delay: Duration::from_secs(2),
            ping_interval: Duration::from_secs(10),
            ping_failures: 3,
        }
    }
}

impl SocketModeConfig {
    fn sane(&self) -> Self {
        let floor = Duration::from_millis(100);
        Self {
            connections: self.connections.max(1),
            reconnect_delay: self.reconnect_delay.max(floor),
            ping_interval: self.ping_interval.max(floor),
            ping_failures: self.ping_failures.max(1),
        }
    }
}

/// How many Socket Mode connections are open and reading right now: what a
/// health metric or alert needs to tell a bot that has gone deaf (no
/// connection) from a quiet one. Cheap to clone; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct LiveConnections(Arc<AtomicUsize>);

impl LiveConnections {
    /// The current count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one connection for as long as the guard lives.
    fn hold(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        LiveGuard(Arc::clone(&self.0))
    }
}

struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs Socket Mode with the app-level token and the default settings until
/// `cancel` fires.
///
/// Returns an error if Slack refuses the token (`invalid_auth`,
/// `not_allowed_token_type` for a bot or user token, …) or cannot be
/// reached on the first call; after that, connections are re-opened for as
/// long as it runs.
pub async fn run(
    api: &SlackApi,
    app_token: &str,
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
    cancel: CancellationToken,
) -> Result<(), SlackError> {
    run_with_config(
        api,
        app_token,
        sink,
        dedup,
        cancel,
        &SocketModeConfig::default(),
        &LiveConnections::default(),
    )
    .await
}

/// [`run`] with the connection settings given, keeping `live` up to date.
pub async fn run_with_config(
    api: &SlackApi,
    app_token: &str,
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
    cancel: CancellationToken,
    config: &SocketModeConfig,
    live: &LiveConnections,
) -> Result<(), SlackError> {
    let config = config.sane();
    let opener = Opener {
        api: api.clone(),
        token: SlackApiToken::new(SlackApiTokenValue(app_token.trim().to_string())),
    };
    let first = tokio::select! {
        () = cancel.cancelled() => return Ok(()),
        url = opener.open() => url?,
    };
    let tls = Arc::new(crate::api::tls_config().map_err(SlackError::Client)?);
    let shared = Arc::new(Shared {
        sink,
        dedup,
        live: live.clone(),
    });
    let mut loops = JoinSet::new();
    let mut first = Some(first);
    for slot in 0..config.connections {
        loops.spawn(keep_connected(
            slot,
            opener.clone(),
            Arc::clone(&tls),
            Arc::clone(&shared),
            config.clone(),
            cancel.clone(),
            first.take(),
        ));
    }
    tracing::info!(
        connections = config.connections,
        "Slack Socket Mode started (the app token was accepted)"
    );
    while loops.join_next().await.is_some() {}
    Ok(())
}

/// Asks Slack for connection URLs.
#[derive(Clone)]
struct Opener {
    api: SlackApi,
    token: SlackApiToken,
}

impl Opener {
    async fn open(&self) -> Result<String, SlackError> {
        let client = self.api.client()?;
        let response = client
            .open_session(&self.token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await
            .map_err(|e| {
                SlackError::from_client_at("apps.connections.open", &self.api.config().base_url, e)
            })?;
        Ok(response.url.0.to_string())
    }
}

/// What every connection delivers to.
struct Shared {
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
    live: LiveConnections,
}

/// How a connection ended.
#[derive(Debug)]
enum End {
    /// `cancel` fired.
    Cancelled,
    /// Slack asked the client to move (the reason), and it has.
    Moved(String),
    /// The link failed (why).
    Lost(String),
}

/// Sleeps unless cancelled first; `false` when cancelled.
async fn pause(cancel: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Keeps connection `slot` open until cancelled. `url` is a fresh URL to
/// use first, if the caller has one.
async fn keep_connected(
    slot: usize,
    opener: Opener,
    tls: Arc<rustls::ClientConfig>,
    shared: Arc<Shared>,
    config: SocketModeConfig,
    cancel: CancellationToken,
    mut url: Option<String>,
) {
    let mut failures: u32 = 0;
    while !cancel.is_cancelled() {
        if failures > 0 {
            let wait = config
                .reconnect_delay
                .saturating_mul(1 << (failures - 1).min(6))
                .min(MAX_BACKOFF);
            if !pause(&cancel, wait).await {
                break;
            }
        }
        let next = match url.take() {
            Some(u) => u,
            None => match tokio::select! {
                () = cancel.cancelled() => break,
                u = opener.open() => u,
            } {
                Ok(u) => u,
                Err(error) => {
                    failures += 1;
                    tracing::warn!(slot, %error, "Socket Mode: could not get a connection URL");
                    continue;
                }
            },
        };
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            next.as_str(),
            None,
            false,
            Some(Connector::Rustls(Arc::clone(&tls))),
        );
        let socket = tokio::select! {
            () = cancel.cancelled() => break,
            s = tokio::time::timeout(CONNECT_TIMEOUT, connect) => s,
        };
        let socket = match socket {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(error)) => {
                failures += 1;
                tracing::warn!(slot, %error, "Socket Mode: could not connect");
                continue;
            }
            Err(_) => {
                failures += 1;
                tracing::warn!(slot, timeout = ?CONNECT_TIMEOUT, "Socket Mode: connecting timed out");
                continue;
            }
        };
        failures = 0;
        match serve(slot, socket, &shared, &config, &cancel).await {
            End::Lost(why) => {
                failures += 1;
                tracing::warn!(slot, why, "Socket Mode: connection lost; reconnecting");
            }
            End::Moved(reason) => {
                tracing::info!(
                    slot,
                    reason,
                    "Socket Mode: Slack asked for a new connection"
                );
            }
            End::Cancelled => break,
        }
    }
}

/// One connection: reads envelopes, hands each to [`handle`] in its own
/// task, writes the acknowledgements and pings. When cancelled it stops
/// reading, acknowledges what is in hand and closes before returning; when
/// Slack asks it to move it returns at once (so the next connection opens)
/// and does the same in the background.
async fn serve<S>(
    slot: usize,
    socket: S,
    shared: &Arc<Shared>,
    config: &SocketModeConfig,
    cancel: &CancellationToken,
) -> End
where
    S: futures::Stream<Item = Result<Message, WsError>>
        + futures::Sink<Message, Error = WsError>
        + Unpin
        + Send
        + 'static,
{
    let live = shared.live.hold();
    let (mut tx, mut rx) = socket.split();
    let mut in_hand: JoinSet<Option<Value>> = JoinSet::new();
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.tick().await;
    let mut unanswered: u32 = 0;
    let end = loop {
        tokio::select! {
            () = cancel.cancelled() => break End::Cancelled,
            frame = rx.next() => {
                unanswered = 0;
                match frame {
                    Some(Ok(Message::Text(text))) => match control(&text) {
                        Control::Hello(n) => {
                            tracing::info!(slot, connections = n, "Slack Socket Mode connection ready");
                        }
                        Control::Disconnect(reason) => break End::Moved(reason),
                        Control::Envelope(envelope) => {
                            let shared = Arc::clone(shared);
                            in_hand.spawn(async move { handle(&shared, envelope).await });
                        }
                        Control::Unreadable(error) => {
                            tracing::error!(slot, %error, "Socket Mode: unreadable frame ignored");
                        }
                    },
                    Some(Ok(Message::Close(frame))) => {
                        break End::Lost(format!("closed by Slack ({frame:?})"));
                    }
                    Some(Ok(_)) => {} // pings are answered by tungstenite; pongs count as life
                    Some(Err(e)) => break End::Lost(e.to_string()),
                    None => break End::Lost("the connection ended".into()),
                }
            }
            Some(done) = in_hand.join_next(), if !in_hand.is_empty() => {
                if let Err(e) = acknowledge(&mut tx, done).await {
                    break End::Lost(e);
                }
            }
            _ = ping.tick() => {
                if unanswered >= config.ping_failures {
                    break End::Lost(format!("{unanswered} pings unanswered"));
                }
                unanswered += 1;
                if let Err(e) = tx.send(Message::Ping(Vec::new().into())).await {
                    break End::Lost(e.to_string());
                }
            }
        }
    };
    drop(live);
    match end {
        End::Lost(_) => in_hand.abort_all(),
        End::Cancelled => close(slot, tx, in_hand).await,
        End::Moved(_) => {
            tokio::spawn(close(slot, tx, in_hand));
        }
    }
    end
}

/// Delivers and acknowledges the envelopes in hand (for up to [`DRAIN`]),
/// then closes the connection.
async fn close<T>(slot: usize, mut tx: T, mut in_hand: JoinSet<Option<Value>>)
where
    T: futures::Sink<Message, Error = WsError> + Unpin,
{
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = in_hand.join_next().await {
            if acknowledge(&mut tx, done).await.is_err() {
                break;
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            slot,
            left = in_hand.len(),
            "Socket Mode: closing with envelopes unacknowledged; Slack will redeliver them"
        );
        in_hand.abort_all();
    }
    let _ = tx.send(Message::Close(None)).await;
    let _ = tx.close().await;
}

/// Sends the acknowledgement a finished envelope task returned (none for
/// an envelope that must be redelivered).
async fn acknowledge<T>(
    tx: &mut T,
    done: Result<Option<Value>, tokio::task::JoinError>,
) -> Result<(), String>
where
    T: futures::Sink<Message, Error = WsError> + Unpin,
{
    match done {
        Ok(Some(ack)) => tx
            .send(Message::Text(ack.to_string().into()))
            .await
            .map_err(|e| e.to_string()),
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "Socket Mode: an envelope's task failed");
            Ok(())
        }
    }
}

/// An envelope carrying an event, command or interaction.
#[derive(Debug, Deserialize)]
struct Envelope {
    envelope_id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    retry_attempt: Option<u32>,
    /// Whether Slack reads a `payload` in the acknowledgement (slash
    /// commands, view submissions); other acknowledgements are bare.
    #[serde(default)]
    accepts_response_payload: bool,
}

/// What a text frame is.
#[derive(Debug)]
enum Control {
    Hello(Option<u64>),
    Disconnect(String),
    Envelope(Envelope),
    Unreadable(String),
}

fn control(text: &str) -> Control {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Control::Unreadable(e.to_string()),
    };
    match value.get("type").and_then(Value::as_str) {
        Some("hello") => Control::Hello(value.get("num_connections").and_then(Value::as_u64)),
        Some("disconnect") => Control::Disconnect(
            value
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
        ),
        _ => match serde_json::from_value::<Envelope>(value) {
            Ok(envelope) => Control::Envelope(envelope),
            Err(e) => Control::Unreadable(format!("not an envelope: {e}")),
        },
    }
}

/// Delivers one envelope; returns its acknowledgement, or `None` when it
/// must not be acknowledged (the sink failed: Slack will redeliver it).
async fn handle(shared: &Shared, envelope: Envelope) -> Option<Value> {
    let Envelope {
        envelope_id,
        kind,
        payload,
        retry_attempt,
        accepts_response_payload,
    } = envelope;
    let ack = |payload: Option<Value>| match payload {
        Some(p) if accepts_response_payload => json!({"envelope_id": envelope_id, "payload": p}),
        _ => json!({"envelope_id": envelope_id}),
    };
    match kind.as_str() {
        "events_api" => {
            if payload.get("type").and_then(Value::as_str) != Some("event_callback") {
                tracing::debug!(?payload, "Socket Mode: ignored events_api payload type");
                return Some(ack(None));
            }
            // Slack's retry_attempt counts like X-Slack-Retry-Num: 0 is the
            // first delivery.
            let retry = retry_attempt.filter(|n| *n > 0);
            let outcome = deliver_push(
                &shared.sink,
                &shared.dedup,
                payload,
                retry,
                Transport::SocketMode,
            )
            .await;
            // Without an event_id it can't be de-duplicated, and a
            // redelivery would be the same: acknowledged (logged as an error
            // by deliver_push).
            (outcome != PushOutcome::NotDelivered).then(|| ack(None))
        }
        "slash_commands" => {
            let reply = match serde_json::from_value::<SlackCommandEvent>(payload) {
                Ok(command) => deliver_command(&shared.sink, command, Transport::SocketMode).await,
                Err(error) => {
                    tracing::error!(%error, "Socket Mode: unreadable slash command");
                    ephemeral("The SRE agent could not read this command.")
                }
            };
            Some(ack(reply_payload(reply)))
        }
        "interactive" => {
            let event = IntakeEvent::Interaction(interaction_event(payload, Transport::SocketMode));
            match shared.sink.deliver(event).await {
                Ok(reply) => Some(ack(reply_payload(reply))),
                Err(error) => {
                    tracing::error!(%error, "interaction not delivered");
                    None
                }
            }
        }
        other => {
            tracing::debug!(kind = other, "Socket Mode: ignored envelope type");
            Some(ack(None))
        }
    }
}

fn reply_payload(reply: Reply) -> Option<Value> {
    match reply {
        Reply::Json(v) => Some(v),
        Reply::Ack => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_told_apart() {
        assert!(matches!(
            control(r#"{"type":"hello","num_connections":2}"#),
            Control::Hello(Some(2))
        ));
        assert!(matches!(
            control(r#"{"type":"disconnect","reason":"refresh_requested"}"#),
            Control::Disconnect(r) if r == "refresh_requested"
        ));
        match control(
            r#"{"envelope_id":"e1","type":"events_api","payload":{"x":1},"retry_attempt":2,"accepts_response_payload":false}"#,
        ) {
            Control::Envelope(e) => {
                assert_eq!(e.envelope_id, "e1");
                assert_eq!(e.kind, "events_api");
                assert_eq!(e.retry_attempt, Some(2));
                assert_eq!(e.payload["x"], 1);
                assert!(!e.accepts_response_payload);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(control("not json"), Control::Unreadable(_)));
        assert!(matches!(
            control(r#"{"type":"events_api"}"#),
            Control::Unreadable(e) if e.contains("envelope_id")
        ));
    }

    #[test]
    fn settings_are_kept_sane() {
        let s = SocketModeConfig {
            connections: 0,
            reconnect_delay: Duration::ZERO,
            ping_interval: Duration::ZERO,
            ping_failures: 0,
        }
        .sane();
        assert_eq!(s.connections, 1);
        assert_eq!(s.ping_failures, 1);
        assert!(s.reconnect_delay >= Duration::from_millis(100));
        assert!(s.ping_interval >= Duration::from_millis(100));
    }
}
