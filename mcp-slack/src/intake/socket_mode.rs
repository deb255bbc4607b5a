//! Socket Mode: events over an outbound WebSocket, no public URL needed.
//!
//! Built on slack-morphism's Socket Mode client. It opens the connection
//! with `apps.connections.open` (app-level token `xapp-…`, scope
//! `connections:write`) against the same Web API base URL as everything else,
//! reconnects by itself, and acknowledges each envelope. The callbacks here
//! turn envelopes into [`IntakeEvent`]s, drop repeats of an `event_id`, and
//! hand the rest to the sink.
//!
//! Only the callbacks are tested in this crate (they need no network); the
//! WebSocket session itself needs Slack (there is no WebSocket fake here).

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
    let text = match reply {
        Reply::Json(v) => v.get("text").and_then(|t| t.as_str()).map(str::to_string),
        Reply::Ack => None,
    };
    let content = SlackMessageContent::new().opt_text(text);
    Ok(SlackCommandEventResponse::new(content))
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

/// Runs Socket Mode with the app-level token until `cancel` fires.
///
/// Returns an error if the first connection cannot be registered (bad
/// token, no network); after that slack-morphism reconnects on its own.
pub async fn run(
    api: &SlackApi,
    app_token: &str,
    sink: Arc<dyn EventSink>,
    dedup: Arc<EventDedup>,
    cancel: CancellationToken,
) -> Result<(), SlackError> {
    let client = Arc::new(api.client()?.clone());
    let env = listener_environment(client, SocketModeState { sink, dedup });
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push_event)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let listener =
        SlackClientSocketModeListener::new(&SlackClientSocketModeConfig::new(), env, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue(app_token.trim().to_string()));
    listener
        .listen_for(&token)
        .await
        .map_err(|e| SlackError::from_client("apps.connections.open", e))?;
    listener.start().await;
    tracing::info!("Slack Socket Mode connected");
    cancel.cancelled().await;
    listener.shutdown().await;
    Ok(())
}
