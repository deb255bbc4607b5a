//! Socket Mode: events over an outbound WebSocket, no public URL needed.
//!
//! Built on slack-morphism's Socket Mode client. It opens the connection
//! with `apps.connections.open` (app-level token `xapp-…`, scope
//! `connections:write`) against the same Web API base URL as everything else,
//! reconnects by itself (after a `disconnect` message, a closed socket, or
//! missing pongs), and acknowledges each envelope once its callback has
//! returned. The callbacks here turn envelopes into [`IntakeEvent`]s, drop
//! repeats of an `event_id`, and hand the rest to the sink. When the sink
//! fails the envelope is not acknowledged, so Slack redelivers it.
//!
//! [`run`] checks the app token with one `apps.connections.open` call before
//! starting, so a wrong token is an error rather than a background retry
//! loop.
//!
//! Tested end to end in `tests/socket_mode.rs` against the crate's Slack
//! fake (feature `fake`), which serves `apps.connections.open` and a real
//! WebSocket endpoint on 127.0.0.1 (plain `ws://`: tokio-tungstenite connects
//! to `ws://` URLs without TLS whatever its TLS features).
//!
//! What slack-morphism's client does not pass on: its callbacks receive the
//! envelope's payload already parsed into its types, so over Socket Mode
//! [`PushEvent::raw`](super::PushEvent::raw) is that parse serialised back,
//! without the fields slack-morphism does not model (e.g. a legacy
//! attachment's `title_link` and `pretext`), and
//! [`PushEvent::retry_num`](super::PushEvent::retry_num) is `None` (the
//! envelope's `retry_attempt` is not passed on). Event types it does not
//! know arrive whole (it keeps them as JSON), but an envelope whose payload
//! does not fit its model (e.g. an `event_callback` without `event_id`) is
//! acknowledged and dropped, logged as an error.

use std::sync::Arc;

use slack_morphism::hyper_tokio::SlackClientHyperHttpsConnector;
use slack_morphism::prelude::*;
use tokio_util::sync::CancellationToken;

use super::{
    CommandEvent, EventDedup, EventSink, IntakeEvent, Reply, Transport, interaction_event,
    push_event,
};
use crate::api::SlackApi;
use crate::error::SlackError;

/// What the callbacks need; stored in slack-morphism's user state.
#[derive(Clone)]
pub struct SocketModeState {
    /// The sink.
    pub sink: Arc<dyn EventSink>,
    /// The de-duplication memory.
    pub dedup: Arc<EventDedup>,
}

impl std::fmt::Debug for SocketModeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketModeState").finish_non_exhaustive()
    }
}

type Client = SlackClient<SlackClientHyperHttpsConnector>;

fn boxed(e: impl std::fmt::Display) -> Box<dyn std::error::Error + Send + Sync> {
    e.to_string().into()
}

async fn state_of(states: &SlackClientEventsUserState) -> Option<SocketModeState> {
    states
        .read()
        .await
        .get_user_state::<SocketModeState>()
        .cloned()
}

/// Hello callback: logs that a connection is ready. Generic because
/// slack-morphism does not export its `hello` type.
async fn on_hello<H: std::fmt::Debug + Send>(
    hello: H,
    _client: Arc<Client>,
    _states: SlackClientEventsUserState,
) {
    tracing::info!(?hello, "Slack Socket Mode connection ready");
}

/// Push-event callback: de-duplicates by `event_id`, then delivers.
pub async fn on_push_event(
    event: SlackPushEventCallback,
    _client: Arc<Client>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = state_of(&states)
        .await
        .ok_or_else(|| boxed("no socket-mode state"))?;
    let raw = serde_json::to_value(&event).map_err(boxed)?;
    let id = event.event_id.0.clone();
    if !state.dedup.first_time(&id) {
        tracing::debug!(event_id = %id, "duplicate Socket Mode event dropped");
        return Ok(());
    }
    let mut push = push_event(raw, None, Transport::SocketMode);
    push.parsed = Some(Box::new(event));
    if let Err(e) = state.sink.deliver(IntakeEvent::Push(push)).await {
        state.dedup.forget(&id);
        return Err(boxed(e));
    }
    Ok(())
}

/// Slash-command callback.
pub async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<Client>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = state_of(&states)
        .await
        .ok_or_else(|| boxed("no socket-mode state"))?;
    let reply = state
        .sink
        .deliver(IntakeEvent::Command(CommandEvent {
            command: Box::new(event),
            transport: Transport::SocketMode,
        }))
        .await
        .map_err(boxed)?;
    Ok(command_response(reply))
}

/// The acknowledgement payload for a slash command: the sink's JSON reply
/// (`text`, `blocks`, `response_type`) when slack-morphism can model it,
/// else just its `text`.
fn command_response(reply: Reply) -> SlackCommandEventResponse {
    match reply {
        Reply::Json(v) => serde_json::from_value::<SlackCommandEventResponse>(v.clone())
            .unwrap_or_else(|_| {
                let text = v.get("text").and_then(|t| t.as_str()).map(str::to_string);
                SlackCommandEventResponse::new(SlackMessageContent::new().opt_text(text))
            }),
        Reply::Ack => SlackCommandEventResponse::new(SlackMessageContent::new()),
    }
}

/// Interaction callback.
pub async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<Client>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = state_of(&states)
        .await
        .ok_or_else(|| boxed("no socket-mode state"))?;
    let raw = serde_json::to_value(&event).map_err(boxed)?;
    let mut ev = interaction_event(raw, Transport::SocketMode);
    ev.parsed = Some(Box::new(event));
    state
        .sink
        .deliver(IntakeEvent::Interaction(ev))
        .await
        .map(|_| ())
        .map_err(boxed)
}

/// The user state to give slack-morphism's listener environment.
pub fn listener_environment(
    client: Arc<Client>,
    state: SocketModeState,
) -> Arc<SlackClientEventsListenerEnvironment<SlackClientHyperHttpsConnector>> {
    Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(state))
}

/// Runs Socket Mode with the app-level token until `cancel` fires, with
/// slack-morphism's default settings (two connections, the second opened 5 s
/// after the first; reconnection attempts 30 s apart; a ping every 15 s).
///
/// Returns an error if Slack refuses the token (`invalid_auth`,
/// `not_allowed_token_type` for a bot or user token, …) or cannot be
/// reached; after that slack-morphism reconnects on its own.
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
        &SlackClientSocketModeConfig::new(),
    )
    .await
}

/// [`run`] with slack-morphism's connection settings given. Zero intervals
/// are raised to one second and zero connections to one (slack-morphism
/// would panic on a zero interval).
pub async fn run_with_config(
    api: &SlackApi,
    app_token: &str,
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
    cancel: CancellationToken,
    config: &SlackClientSocketModeConfig,
) -> Result<(), SlackError> {
    let mut config = config.clone();
    config.max_connections_count = config.max_connections_count.max(1);
    config.reconnect_timeout_in_seconds = config.reconnect_timeout_in_seconds.max(1);
    config.ping_interval_in_seconds = config.ping_interval_in_seconds.max(1);
    let client = Arc::new(api.client()?.clone());
    let token = SlackApiToken::new(SlackApiTokenValue(app_token.trim().to_string()));
    // slack-morphism's `listen_for` only registers the token; its
    // connections call apps.connections.open in the background and retry a
    // refusal forever, only logging it. One call here makes a wrong token an
    // error for the caller. The URL it returns is left unused (Socket Mode
    // URLs are temporary; each connection asks for its own).
    {
        let session = client.open_session(&token);
        let request = SlackApiAppsConnectionOpenRequest::new();
        let check = session.apps_connections_open(&request);
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            checked = check => {
                checked.map_err(|e| SlackError::from_client("apps.connections.open", e))?;
            }
        }
    }
    let env = listener_environment(client, SocketModeState { sink, dedup });
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_hello_events(on_hello)
        .with_push_events(on_push_event)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    listener
        .listen_for(&token)
        .await
        .map_err(|e| SlackError::from_client("apps.connections.open", e))?;
    listener.start().await;
    tracing::info!(
        connections = config.max_connections_count,
        "Slack Socket Mode started (the app token was accepted)"
    );
    cancel.cancelled().await;
    listener.shutdown().await;
    Ok(())
}
