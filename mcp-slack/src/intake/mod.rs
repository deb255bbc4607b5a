//! Receiving Slack events for the bot: the Events API over HTTP, slash
//! commands, interactive payloads (button clicks), and Socket Mode.
//!
//! Everything that arrives is verified ([`verify`]), parsed with
//! slack-morphism's types, de-duplicated, and handed to a caller-supplied
//! [`EventSink`] as an [`IntakeEvent`]. The bot decides what to do; this
//! module only guarantees that what reaches the sink is authentic and
//! delivered once.
//!
//! # HTTP
//!
//! [`router`] gives three POST routes to mount in the bot's axum app
//! (`/slack/events`, `/slack/commands`, `/slack/interactions`); the handlers
//! are public too, for other layouts. Requests with a bad or stale signature
//! get **401**. `url_verification` is answered with its challenge. Slack
//! retries an event it thinks was not acknowledged (`X-Slack-Retry-Num`);
//! retries and any other repeat of an `event_id` are acknowledged without a
//! second delivery. If the sink fails, the handler answers 500 and forgets
//! the `event_id`, so Slack's retry gets a second chance.
//!
//! The sink must be quick (Slack wants an answer within 3 seconds): hand the
//! event to a queue and investigate elsewhere. A `tokio::sync::mpsc::Sender`
//! is a sink.
//!
//! # Socket Mode
//!
//! [`socket_mode`] connects out to Slack over a WebSocket with an app-level
//! token (`xapp-…`), so the bot needs no public URL. Envelopes go through the
//! same functions as HTTP requests ([`deliver_push`], [`deliver_command`],
//! [`interaction_event`]): the same raw JSON, the same de-duplication, the
//! same sink.

pub mod socket_mode;
pub mod verify;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use slack_morphism::prelude::*;

pub use verify::{
    Clock, FixedClock, SignatureVerifier, SystemClock, VerifyError, verify_signature,
};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long an `event_id` is remembered.
pub const DEDUP_TTL: Duration = Duration::from_secs(60 * 60);

/// How many `event_id`s are remembered at most.
pub const DEDUP_CAPACITY: usize = 10_000;

/// A boxed future, for the object-safe [`EventSink`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The Events API / interactivity / slash-command HTTP endpoints.
    Http,
    /// Socket Mode.
    SocketMode,
}

/// An Events API `event_callback`.
#[derive(Debug, Clone)]
pub struct PushEvent {
    /// The event's ID, unique per event across retries.
    pub event_id: String,
    /// The inner event's `type` (`message`, `app_mention`, …).
    pub event_type: String,
    /// `X-Slack-Retry-Num`, when Slack was retrying.
    pub retry_num: Option<u32>,
    /// slack-morphism's parse of the envelope, when it matched its model.
    pub parsed: Option<Box<SlackPushEventCallback>>,
    /// The envelope as received: every field, including those slack-morphism
    /// does not model (e.g. attachment `title_link`, which alert parsing uses).
    pub raw: Value,
    /// How it arrived.
    pub transport: Transport,
}

impl PushEvent {
    /// The inner `event` object.
    pub fn event(&self) -> &Value {
        self.raw.get("event").unwrap_or(&Value::Null)
    }
}

/// A slash command.
#[derive(Debug, Clone)]
pub struct CommandEvent {
    /// The command, parsed.
    pub command: Box<SlackCommandEvent>,
    /// How it arrived.
    pub transport: Transport,
}

/// An interactive payload (button click, shortcut, view submission).
#[derive(Debug, Clone)]
pub struct InteractionEvent {
    /// slack-morphism's parse, when it matched its model.
    pub parsed: Option<Box<SlackInteractionEvent>>,
    /// The payload JSON as received.
    pub raw: Value,
    /// How it arrived.
    pub transport: Transport,
}

/// What the intake delivers to the sink.
#[derive(Debug, Clone)]
pub enum IntakeEvent {
    /// An Events API event.
    Push(PushEvent),
    /// A slash command.
    Command(CommandEvent),
    /// An interactive payload.
    Interaction(InteractionEvent),
}

/// What the sink wants answered to Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An empty 200.
    Ack,
    /// A JSON body, e.g. `{"response_type": "ephemeral", "text": "Investigating…"}`
    /// for a slash command (ignored for Events API events).
    Json(Value),
}

/// Why the sink could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The receiving side is gone.
    #[error("the event sink is closed")]
    Closed,
    /// Anything else.
    #[error("the event sink failed: {0}")]
    Failed(String),
}

/// Receives verified, de-duplicated events. Must return quickly.
pub trait EventSink: Send + Sync + 'static {
    /// Takes one event.
    fn deliver(&self, event: IntakeEvent) -> BoxFuture<'_, Result<Reply, SinkError>>;
}

impl EventSink for tokio::sync::mpsc::Sender<IntakeEvent> {
    fn deliver(&self, event: IntakeEvent) -> BoxFuture<'_, Result<Reply, SinkError>> {
        Box::pin(async move {
            self.send(event)
                .await
                .map(|()| Reply::Ack)
                .map_err(|_| SinkError::Closed)
        })
    }
}

/// IDs by when they were seen, and the order they were seen in.
type Seen = (HashMap<String, Instant>, VecDeque<(String, Instant)>);

/// Remembers recent `event_id`s.
#[derive(Debug)]
pub struct EventDedup {
    ttl: Duration,
    capacity: usize,
    seen: Mutex<Seen>,
}

impl Default for EventDedup {
    fn default() -> Self {
        Self::new(DEDUP_TTL, DEDUP_CAPACITY)
    }
}

impl EventDedup {
    /// Remembers IDs for `ttl`, at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            seen: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// `true` the first time an ID is seen (within the TTL).
    pub fn first_time(&self, id: &str) -> bool {
        let now = Instant::now();
        let mut guard = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (map, order) = &mut *guard;
        while let Some((old, at)) = order.front() {
            if now.duration_since(*at) < self.ttl && order.len() < self.capacity {
                break;
            }
            if map.get(old) == Some(at) {
                map.remove(old);
            }
            order.pop_front();
        }
        if map.contains_key(id) {
            return false;
        }
        map.insert(id.to_string(), now);
        order.push_back((id.to_string(), now));
        true
    }

    /// Forgets an ID, so a retry of it is delivered.
    pub fn forget(&self, id: &str) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .remove(id);
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct IntakeState {
    verifier: SignatureVerifier,
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
}

impl std::fmt::Debug for IntakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeState").finish_non_exhaustive()
    }
}

impl IntakeState {
    /// Handlers verifying with `verifier` and delivering to `sink`.
    pub fn new(verifier: SignatureVerifier, sink: Arc<dyn EventSink>) -> Self {
        Self {
            verifier,
            sink,
            dedup: Arc::new(EventDedup::default()),
        }
    }

    /// Uses `dedup` as the de-duplication memory (e.g. one shared with
    /// Socket Mode, or across router rebuilds).
    pub fn with_dedup(mut self, dedup: Arc<EventDedup>) -> Self {
        self.dedup = dedup;
        self
    }

    /// The de-duplication memory (shared with Socket Mode if wanted).
    pub fn dedup(&self) -> Arc<EventDedup> {
        Arc::clone(&self.dedup)
    }
}

/// POST `/slack/events`, `/slack/commands` and `/slack/interactions`.
pub fn router(state: IntakeState) -> Router {
    Router::new()
        .route("/slack/events", post(events_handler))
        .route("/slack/commands", post(commands_handler))
        .route("/slack/interactions", post(interactions_handler))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A request body whose Slack signature checked out: every endpoint takes
/// its body this way, so none can forget the check. A request that fails it
/// is answered 401 before the handler runs.
#[derive(Debug)]
pub struct Signed(pub Bytes);

impl FromRequest<IntakeState> for Signed {
    type Rejection = Response;

    async fn from_request(req: Request, state: &IntakeState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        state
            .verifier
            .verify(&headers, &body)
            .map_err(|e| unauthorized(&e))?;
        Ok(Signed(body))
    }
}

fn unauthorized(error: &VerifyError) -> Response {
    tracing::warn!(%error, "refused a Slack request");
    (StatusCode::UNAUTHORIZED, format!("{error}\n")).into_response()
}

fn bad_request(what: &str) -> Response {
    tracing::warn!(what, "bad Slack request");
    (StatusCode::BAD_REQUEST, format!("{what}\n")).into_response()
}

fn reply(r: Reply) -> Response {
    match r {
        Reply::Ack => StatusCode::OK.into_response(),
        Reply::Json(v) => (StatusCode::OK, axum::Json(v)).into_response(),
    }
}

/// The Events API endpoint.
pub async fn events_handler(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Signed(body): Signed,
) -> Response {
    let Ok(raw) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("the body is not JSON");
    };
    match raw.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = raw.get("challenge").cloned().unwrap_or(Value::Null);
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({"challenge": challenge})),
            )
                .into_response()
        }
        Some("event_callback") => {
            let retry_num = headers
                .get("x-slack-retry-num")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            match deliver_push(&state.sink, &state.dedup, raw, retry_num, Transport::Http).await {
                PushOutcome::Delivered | PushOutcome::Duplicate => StatusCode::OK.into_response(),
                PushOutcome::NoEventId => bad_request("event_callback without event_id"),
                PushOutcome::NotDelivered => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not delivered\n").into_response()
                }
            }
        }
        Some("app_rate_limited") => {
            tracing::warn!("Slack is rate-limiting event delivery to this app (app_rate_limited)");
            StatusCode::OK.into_response()
        }
        other => {
            tracing::debug!(?other, "ignored Slack callback type");
            StatusCode::OK.into_response()
        }
    }
}

/// What became of an `event_callback`, whichever way it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The sink took it.
    Delivered,
    /// Its `event_id` was seen before (a retry or redelivery): not delivered again.
    Duplicate,
    /// It has no `event_id`, so it cannot be de-duplicated: not delivered.
    NoEventId,
    /// The sink failed; the `event_id` is forgotten so that Slack's retry
    /// gets through. The caller must not acknowledge it.
    NotDelivered,
}

/// De-duplicates an `event_callback` envelope by `event_id` and hands it to
/// the sink: the one path for the Events API and Socket Mode.
pub async fn deliver_push(
    sink: &Arc<dyn EventSink>,
    dedup: &EventDedup,
    raw: Value,
    retry_num: Option<u32>,
    transport: Transport,
) -> PushOutcome {
    let Some(event_id) = raw
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        tracing::error!(
            ?transport,
            "Slack sent an event_callback without event_id; dropped"
        );
        return PushOutcome::NoEventId;
    };
    if !dedup.first_time(&event_id) {
        tracing::debug!(%event_id, ?retry_num, ?transport, "duplicate Slack event acknowledged");
        return PushOutcome::Duplicate;
    }
    let event = push_event(raw, retry_num, transport);
    match sink.deliver(IntakeEvent::Push(event)).await {
        Ok(_) => PushOutcome::Delivered,
        Err(error) => {
            tracing::error!(%error, %event_id, "event not delivered; Slack will retry");
            dedup.forget(&event_id);
            PushOutcome::NotDelivered
        }
    }
}

/// Builds a [`PushEvent`] from an `event_callback` envelope.
pub fn push_event(raw: Value, retry_num: Option<u32>, transport: Transport) -> PushEvent {
    let parsed = match serde_json::from_value::<SlackPushEventCallback>(raw.clone()) {
        Ok(p) => Some(Box::new(p)),
        Err(error) => {
            tracing::debug!(%error, "slack-morphism could not model this event; delivering it raw");
            None
        }
    };
    PushEvent {
        event_id: raw
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        event_type: raw
            .pointer("/event/type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        retry_num,
        parsed,
        raw,
        transport,
    }
}

/// The slash-command endpoint (form-encoded).
pub async fn commands_handler(State(state): State<IntakeState>, Signed(body): Signed) -> Response {
    let command = match serde_urlencoded::from_bytes::<SlackCommandEvent>(&body) {
        Ok(c) => c,
        Err(_) => return bad_request("not a slash-command form"),
    };
    reply(deliver_command(&state.sink, command, Transport::Http).await)
}

/// Hands a slash command to the sink and returns what to answer: the sink's
/// reply, or an ephemeral "try again" when it failed (a slash command is not
/// retried by Slack, so the user must be told).
pub async fn deliver_command(
    sink: &Arc<dyn EventSink>,
    command: SlackCommandEvent,
    transport: Transport,
) -> Reply {
    let event = IntakeEvent::Command(CommandEvent {
        command: Box::new(command),
        transport,
    });
    sink.deliver(event).await.unwrap_or_else(|error| {
        tracing::error!(%error, "slash command not delivered");
        ephemeral("The SRE agent could not take this command right now; please try again.")
    })
}

/// An ephemeral slash-command answer.
fn ephemeral(text: &str) -> Reply {
    Reply::Json(serde_json::json!({"response_type": "ephemeral", "text": text}))
}

/// Parses the `payload=` form field of an interactive request.
pub fn interaction_payload(body: &[u8]) -> Option<Value> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let payload = form.into_iter().find(|(k, _)| k == "payload")?.1;
    serde_json::from_str(&payload).ok()
}

/// Builds an [`InteractionEvent`] from payload JSON.
pub fn interaction_event(raw: Value, transport: Transport) -> InteractionEvent {
    let parsed = serde_json::from_value::<SlackInteractionEvent>(raw.clone())
        .map_err(|error| tracing::debug!(%error, "slack-morphism could not model this interaction"))
        .ok()
        .map(Box::new);
    InteractionEvent {
        parsed,
        raw,
        transport,
    }
}

/// The interactivity endpoint (form-encoded `payload=` JSON).
pub async fn interactions_handler(
    State(state): State<IntakeState>,
    Signed(body): Signed,
) -> Response {
    let Some(raw) = interaction_payload(&body) else {
        return bad_request("no JSON `payload` field");
    };
    let event = IntakeEvent::Interaction(interaction_event(raw, Transport::Http));
    match state.sink.deliver(event).await {
        Ok(r) => reply(r),
        Err(error) => {
            tracing::error!(%error, "interaction not delivered");
            (StatusCode::INTERNAL_SERVER_ERROR, "not delivered\n").into_response()
        }
    }
}
