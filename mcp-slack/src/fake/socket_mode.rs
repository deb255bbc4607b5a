//! The fake's Socket Mode side: `apps.connections.open` and the WebSocket
//! endpoint it points at. A **fake** for tests, written from Slack's public
//! Socket Mode docs (docs.slack.dev/apis/events-api/using-socket-mode); it is
//! not Slack and does not talk to Slack.
//!
//! * `apps.connections.open` (POST, app-level token [`APP_TOKEN`](super::APP_TOKEN))
//!   answers `{"ok": true, "url": "ws://127.0.0.1:PORT/link/?ticket=…&app_id=…"}`.
//!   Each URL carries a single-use ticket: connecting with an unknown or
//!   already used ticket is refused with HTTP 401 before the upgrade (a choice
//!   of the fake; Slack only documents that the URLs are temporary).
//! * On connect the fake sends `{"type": "hello", "num_connections": N, …}`,
//!   then whatever the test pushes ([`FakeSlack::push_events_api`],
//!   [`FakeSlack::push_slash_command`], [`FakeSlack::push_interactive`],
//!   [`FakeSlack::socket_send`]) to the newest live connection, as Slack sends
//!   each envelope to one of the app's connections.
//! * Every text frame the client sends back is recorded
//!   ([`FakeSlack::socket_replies`]); acknowledgements are those carrying an
//!   `envelope_id`. The fake does not redeliver unacknowledged envelopes by
//!   itself: a test plays Slack's retry by pushing again with
//!   `retry_attempt` > 0.
//! * [`FakeSlack::socket_drop`] closes a connection without warning.
//! * [`FakeSlack::socket_disconnect`] sends `{"type": "disconnect", "reason": …}`,
//!   routes nothing more to that connection, and closes it after
//!   [`DISCONNECT_GRACE`] if the client has not closed it first.
//! * WebSocket pings from the client are answered with pongs (by the
//!   WebSocket library, as the protocol requires) and counted.
//!
//! The WebSocket protocol itself is axum's (`ws` feature, tungstenite): only
//! the Socket Mode messages are written here.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{APP_ID, FakeSlack, World};

/// How long a connection told to disconnect stays open if the client does
/// not close it first.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(10);

/// One WebSocket connection to the fake's Socket Mode endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConnection {
    /// 1, 2, … in the order connections were accepted.
    pub id: u64,
    /// The ticket of the URL it connected with.
    pub ticket: String,
    /// The query string the client connected with, as sent (e.g. with
    /// `debug_reconnects=true` appended).
    pub query: String,
    /// Still open.
    pub open: bool,
    /// The reason of the `disconnect` message sent to it, if any.
    pub disconnect_sent: Option<String>,
    /// WebSocket pings received from the client.
    pub pings: u32,
}

/// A text frame a client sent over Socket Mode.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketReply {
    /// The connection it came on.
    pub connection: u64,
    /// `envelope_id`, for an acknowledgement.
    pub envelope_id: Option<String>,
    /// The acknowledgement's `payload` (a slash-command reply, a view
    /// submission's `response_action`, …), if any.
    pub payload: Option<Value>,
    /// The frame as sent.
    pub text: String,
}

#[derive(Debug)]
enum Outgoing {
    Frame(String),
    Disconnect(String),
    /// Close at once, without a `disconnect` message: a lost link.
    Drop,
}

#[derive(Debug)]
struct Conn {
    info: SocketConnection,
    tx: mpsc::UnboundedSender<Outgoing>,
}

/// The Socket Mode part of the fake's state.
#[derive(Debug, Default)]
pub(super) struct SocketWorld {
    next_ticket: u64,
    /// Issued tickets, and whether each was used.
    tickets: Vec<(String, bool)>,
    next_envelope: u64,
    conns: Vec<Conn>,
    replies: Vec<SocketReply>,
    /// Tickets of refused connection attempts.
    refused: Vec<String>,
}

impl SocketWorld {
    fn live(&self) -> Option<&Conn> {
        self.conns
            .iter()
            .rev()
            .find(|c| c.info.open && c.info.disconnect_sent.is_none())
    }

    fn envelope_id(&mut self) -> String {
        self.next_envelope += 1;
        let n = self.next_envelope;
        // Shaped like Slack's (a UUID).
        format!("{n:08x}-fa4e-4e00-8000-{n:012x}")
    }
}

/// `apps.connections.open`: a fresh single-use WebSocket URL.
pub(super) fn open(w: &mut World) -> Value {
    w.socket.next_ticket += 1;
    let ticket = format!("fake-ticket-{:04}", w.socket.next_ticket);
    w.socket.tickets.push((ticket.clone(), false));
    json!({"url": format!("ws://{}/link/?ticket={ticket}&app_id={APP_ID}", w.addr)})
}

fn query_arg(query: &str, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `GET /link/?ticket=…`: the WebSocket endpoint.
pub(super) async fn upgrade(
    State(fake): State<FakeSlack>,
    RawQuery(query): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // Not a WebSocket handshake: refused without using up the ticket.
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let query = query.unwrap_or_default();
    let ticket = query_arg(&query, "ticket").unwrap_or_default();
    let accepted = {
        let mut w = fake.world();
        let slot = w
            .socket
            .tickets
            .iter_mut()
            .find(|(t, used)| *t == ticket && !*used);
        match slot {
            Some((_, used)) => {
                *used = true;
                true
            }
            None => {
                w.socket.refused.push(ticket.clone());
                false
            }
        }
    };
    if !accepted {
        return (StatusCode::UNAUTHORIZED, "invalid or already used ticket\n").into_response();
    }
    ws.on_upgrade(move |socket| serve(fake, socket, ticket, query))
}

/// The `hello` Slack sends on connect.
fn hello(id: u64, num_connections: usize) -> Value {
    json!({
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": format!("applink-fake-{id}"),
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": APP_ID},
    })
}

/// A `disconnect` message (`reason`: `refresh_requested`, `warning`,
/// `link_disabled`).
fn disconnect(id: u64, reason: &str) -> Value {
    json!({
        "type": "disconnect",
        "reason": reason,
        "debug_info": {"host": format!("applink-fake-{id}")},
    })
}

async fn serve(fake: FakeSlack, mut socket: WebSocket, ticket: String, query: String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, hello) = {
        let mut w = fake.world();
        let id = w.socket.conns.len() as u64 + 1;
        w.socket.conns.push(Conn {
            info: SocketConnection {
                id,
                ticket,
                query,
                open: true,
                disconnect_sent: None,
                pings: 0,
            },
            tx,
        });
        let live = w.socket.conns.iter().filter(|c| c.info.open).count();
        (id, hello(id, live).to_string())
    };
    let stop = fake.stop.clone();
    let mut close_at: Option<tokio::time::Instant> = None;
    if socket.send(Message::Text(hello.into())).await.is_ok() {
        loop {
            let grace_over = async {
                match close_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = grace_over => break,
                out = rx.recv() => {
                    let text = match out {
                        Some(Outgoing::Frame(text)) => text,
                        Some(Outgoing::Disconnect(text)) => {
                            close_at = Some(tokio::time::Instant::now() + DISCONNECT_GRACE);
                            text
                        }
                        Some(Outgoing::Drop) | None => break,
                    };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Text(text))) => record_reply(&fake, id, text.as_str()),
                    Some(Ok(Message::Ping(_))) => {
                        if let Some(c) = fake.world().socket.conns.iter_mut().find(|c| c.info.id == id) {
                            c.info.pings += 1;
                        }
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(Message::Binary(_) | Message::Pong(_))) => {}
                },
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    if let Some(c) = fake
        .world()
        .socket
        .conns
        .iter_mut()
        .find(|c| c.info.id == id)
    {
        c.info.open = false;
    }
}

fn record_reply(fake: &FakeSlack, connection: u64, text: &str) {
    let parsed = serde_json::from_str::<Value>(text).ok();
    let envelope_id = parsed
        .as_ref()
        .and_then(|v| v.get("envelope_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let payload = parsed.as_ref().and_then(|v| v.get("payload")).cloned();
    fake.world().socket.replies.push(SocketReply {
        connection,
        envelope_id,
        payload,
        text: text.to_string(),
    });
}

impl FakeSlack {
    /// Every Socket Mode connection accepted so far, oldest first.
    pub fn socket_connections(&self) -> Vec<SocketConnection> {
        self.world()
            .socket
            .conns
            .iter()
            .map(|c| c.info.clone())
            .collect()
    }

    /// Tickets of refused WebSocket connection attempts (unknown or reused).
    pub fn socket_refused(&self) -> Vec<String> {
        self.world().socket.refused.clone()
    }

    /// Every text frame the clients sent, oldest first.
    pub fn socket_replies(&self) -> Vec<SocketReply> {
        self.world().socket.replies.clone()
    }

    /// The acknowledgements of one envelope (normally one).
    pub fn socket_acks(&self, envelope_id: &str) -> Vec<SocketReply> {
        self.world()
            .socket
            .replies
            .iter()
            .filter(|r| r.envelope_id.as_deref() == Some(envelope_id))
            .cloned()
            .collect()
    }

    /// Sends one raw text frame (JSON, or anything else to test a client's
    /// robustness) to the newest live connection; returns that connection's
    /// ID, or `None` if no connection is live.
    pub fn socket_send(&self, frame: impl std::fmt::Display) -> Option<u64> {
        let w = self.world();
        let conn = w.socket.live()?;
        conn.tx.send(Outgoing::Frame(frame.to_string())).ok()?;
        Some(conn.info.id)
    }

    fn push_envelope(&self, kind: &str, payload: Value, extra: &[(&str, Value)]) -> Option<String> {
        let envelope_id = self.world().socket.envelope_id();
        let accepts = match kind {
            "slash_commands" => true,
            "interactive" => matches!(
                payload.get("type").and_then(Value::as_str),
                Some("view_submission" | "block_suggestion")
            ),
            _ => false,
        };
        let mut envelope = json!({
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": accepts,
            "payload": payload,
        });
        for (k, v) in extra {
            envelope[*k] = v.clone();
        }
        self.socket_send(&envelope).map(|_| envelope_id)
    }

    /// Pushes an `events_api` envelope carrying `event_callback` (an Events
    /// API `event_callback` body) to the newest live connection; returns its
    /// `envelope_id`, or `None` if no connection is live. `retry_attempt` 0
    /// is a first delivery; Slack's retries count up, with a `retry_reason`
    /// such as `timeout`.
    pub fn push_events_api(
        &self,
        event_callback: Value,
        retry_attempt: u32,
        retry_reason: Option<&str>,
    ) -> Option<String> {
        self.push_envelope(
            "events_api",
            event_callback,
            &[
                ("retry_attempt", json!(retry_attempt)),
                ("retry_reason", json!(retry_reason.unwrap_or(""))),
            ],
        )
    }

    /// Pushes a `slash_commands` envelope; `command` holds the fields an HTTP
    /// slash command would have in its form (`command`, `text`, `user_id`,
    /// `channel_id`, `response_url`, `trigger_id`, …), as JSON strings.
    pub fn push_slash_command(&self, command: Value) -> Option<String> {
        self.push_envelope("slash_commands", command, &[])
    }

    /// Pushes an `interactive` envelope (`block_actions`, `view_submission`,
    /// shortcuts, …).
    pub fn push_interactive(&self, payload: Value) -> Option<String> {
        self.push_envelope("interactive", payload, &[])
    }

    /// Sends `{"type": "disconnect", "reason": reason}` to the newest live
    /// connection and routes nothing more to it; it is closed after
    /// [`DISCONNECT_GRACE`] unless the client closes it first. Returns the
    /// connection's ID, or `None` if no connection is live.
    pub fn socket_disconnect(&self, reason: &str) -> Option<u64> {
        let mut w = self.world();
        let id = w.socket.live()?.info.id;
        let conn = w.socket.conns.iter_mut().find(|c| c.info.id == id)?;
        let frame = disconnect(id, reason);
        conn.tx.send(Outgoing::Disconnect(frame.to_string())).ok()?;
        conn.info.disconnect_sent = Some(reason.to_string());
        Some(id)
    }

    /// Closes the newest live connection at once, without a `disconnect`
    /// message (as when a link or a Slack host goes away). Returns the
    /// connection's ID, or `None` if no connection is live.
    pub fn socket_drop(&self) -> Option<u64> {
        let w = self.world();
        let conn = w.socket.live()?;
        conn.tx.send(Outgoing::Drop).ok()?;
        Some(conn.info.id)
    }

    /// Polls `check` every 10 ms until it returns `Some`, for at most
    /// `timeout`.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&FakeSlack) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return Some(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for the acknowledgement of `envelope_id`.
    pub async fn wait_socket_ack(
        &self,
        envelope_id: &str,
        timeout: Duration,
    ) -> Option<SocketReply> {
        self.wait_until(timeout, |f| f.socket_acks(envelope_id).into_iter().next())
            .await
    }

    /// Waits until `n` connections are live (open and not told to
    /// disconnect) and returns the newest.
    pub async fn wait_socket_live(&self, n: usize, timeout: Duration) -> Option<SocketConnection> {
        self.wait_until(timeout, |f| {
            let live: Vec<_> = f
                .socket_connections()
                .into_iter()
                .filter(|c| c.open && c.disconnect_sent.is_none())
                .collect();
            (live.len() >= n).then(|| live.last().cloned()).flatten()
        })
        .await
    }
}
