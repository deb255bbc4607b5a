//! Intake: alert webhooks and Slack (events, slash commands, button clicks).
//!
//! Everything is written to the store before the sender is answered; Slack
//! replies that take longer (answers, thank-yous) are posted from spawned
//! tasks so the acknowledgement stays within Slack's 3 seconds.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use incident_store::{Enqueued, Incident, Request, StoreError, Verdict};
use mcp_slack::intake::{
    BoxFuture, CommandEvent, EventSink, IntakeEvent, IntakeState, InteractionEvent, PushEvent,
    Reply, SignatureVerifier, SinkError,
};
use mcp_slack::rca::RcaFeedback;
use serde_json::{Value, json};
use sre_orchestrator::alert::{self, Alert, AlertSource, AlertStatus};
use tokio_util::sync::CancellationToken;

use super::worker::ACTION_APPROVE;
use super::{ANN_SLACK_CHANNEL, ANN_SLACK_THREAD, App, answer, guard, remediate};

// --- Webhooks -----------------------------------------------------------------

/// POST `/webhook/alertmanager`.
pub async fn alertmanager(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    webhook(&app, &headers, &body, "alertmanager").await
}

/// POST `/webhook/signoz`.
pub async fn signoz(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    webhook(&app, &headers, &body, "signoz").await
}

async fn webhook(app: &App, headers: &HeaderMap, body: &[u8], route: &str) -> Response {
    if let Some(token) = app.args.webhook_token.as_deref().filter(|t| !t.is_empty())
        && !guard::credentials_ok(headers, token)
    {
        app.metrics.webhook_rejected(route, "unauthorized");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the webhook token is required (Authorization: Bearer, or Basic auth with it as the password)\n",
        )
            .into_response();
    }
    if !guard::is_json(headers) {
        app.metrics.webhook_rejected(route, "content_type");
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a webhook body must be sent as Content-Type: application/json\n",
        )
            .into_response();
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8\n").into_response();
    };
    let alerts = match alert::parse_webhook(text) {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let mut results = Vec::with_capacity(alerts.len());
    for a in &alerts {
        // Only firing alerts can open incidents; a resolution is never held back.
        if a.status == AlertStatus::Firing && !app.webhook_rate.take(route) {
            app.metrics.webhook_rejected(route, "rate_limited");
            app.wake.notify_waiters();
            let left = alerts.len() - results.len();
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "60")],
                axum::Json(json!({
                    "error": format!(
                        "more than {} new alerts a minute from {route}: {left} not recorded, send them again later",
                        app.args.webhook_rate
                    ),
                    "accepted": results.len(),
                    "results": results,
                })),
            )
                .into_response();
        }
        match app
            .store
            .enqueue_alert(a, text, app.args.dedup_window)
            .await
        {
            Ok(outcome) => {
                app.metrics.alert(route, &outcome);
                results.push(json!({"fingerprint": a.fingerprint, "result": outcome}));
            }
            Err(e) => {
                // Not acknowledged: Alertmanager and SigNoz retry.
                tracing::error!(error = %e, "could not record an alert");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot record the alert: {e}\n"),
                )
                    .into_response();
            }
        }
    }
    app.wake.notify_waiters();
    (
        StatusCode::OK,
        axum::Json(json!({"accepted": results.len(), "results": results})),
    )
        .into_response()
}

// --- Slack ---------------------------------------------------------------------

/// The intake state for mcp-slack's router, delivering to this app.
pub fn slack_state(app: Arc<App>, secret: &str) -> IntakeState {
    IntakeState::new(SignatureVerifier::new(secret), Arc::new(SlackSink { app }))
}

/// Starts Socket Mode in the background (events reach the same sink).
pub fn start_socket_mode(
    app: Arc<App>,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let token = app
        .args
        .slack_app_token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--socket-mode needs the app-level token (--slack-app-token or SLACK_APP_TOKEN)"
            )
        })?;
    let slack = app
        .slack
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--socket-mode needs the bot token (SLACK_BOT_TOKEN)"))?;
    let live = app.metrics.socket_connections();
    let sink: Arc<dyn EventSink> = Arc::new(SlackSink { app });
    Ok(tokio::spawn(async move {
        let dedup = Arc::new(mcp_slack::intake::EventDedup::default());
        let config = mcp_slack::intake::socket_mode::SocketModeConfig::default();
        if let Err(e) = mcp_slack::intake::socket_mode::run_with_config(
            &slack.api, &token, sink, dedup, cancel, &config, &live,
        )
        .await
        {
            tracing::error!(error = %e, "Socket Mode failed");
        }
    }))
}

/// Receives verified, de-duplicated Slack events.
pub struct SlackSink {
    app: Arc<App>,
}

impl EventSink for SlackSink {
    fn deliver(&self, event: IntakeEvent) -> BoxFuture<'_, Result<Reply, SinkError>> {
        Box::pin(async move {
            let app = Arc::clone(&self.app);
            match event {
                IntakeEvent::Command(c) => Ok(command(&app, &c).await),
                IntakeEvent::Push(p) => push(app, &p).await.map(|()| Reply::Ack),
                IntakeEvent::Interaction(i) => interaction(app, &i).await.map(|()| Reply::Ack),
            }
        })
    }
}

fn failed(e: StoreError) -> SinkError {
    tracing::error!(error = %e, "store write failed; Slack will retry");
    SinkError::Failed(e.to_string())
}

fn ephemeral(text: impl Into<String>) -> Reply {
    Reply::Json(json!({"response_type": "ephemeral", "text": text.into()}))
}

/// How to use `/sre`: investigating, and working an incident
/// ([`super::workflow::COMMAND_USAGE`], the commands' one source).
fn usage() -> String {
    format!(
        "Usage: `/sre investigate service=checkout since=30m [question]` (since: 15m, 2h, 1d); \
         to work an incident: {}.",
        super::workflow::COMMAND_USAGE
    )
}

async fn command(app: &Arc<App>, c: &CommandEvent) -> Reply {
    let cmd = &c.command;
    let text = cmd.text.clone().unwrap_or_default();
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("help") {
        return ephemeral(usage());
    }
    if let Some(parsed) = super::workflow::parse_command(trimmed) {
        // The person is answered privately; the incident's thread is told
        // for everyone (`workflow::apply`).
        return match parsed {
            Ok((id, action)) => {
                let who = super::workflow::Actor::slack(app, &cmd.user_id.0).await;
                match super::workflow::apply(app, id, &action, &who).await {
                    Ok(said) | Err(said) => ephemeral(said),
                }
            }
            Err(why) => ephemeral(why),
        };
    }
    let alert = match alert::parse_command(trimmed) {
        Ok(a) => a,
        Err(e) => return ephemeral(format!("{e}\n{}", usage())),
    };
    let request = Request {
        // Slack repeats the trigger id when it redelivers the command.
        idempotency_key: Some(format!("slack-trigger:{}", cmd.trigger_id.0)),
        requested_by: Some(cmd.user_id.0.clone()),
        reply_channel: Some(cmd.channel_id.0.clone()),
        reply_thread: None,
        raw_payload: serde_json::to_string(cmd.as_ref()).unwrap_or_default(),
    };
    match app.store.enqueue_request(&alert, &request).await {
        Ok(outcome) => {
            app.metrics.alert("slack_command", &outcome);
            app.wake.notify_waiters();
            let id = outcome.incident_id().unwrap_or_default();
            ephemeral(format!(
                "On it: investigating {} (incident #{id}). The RCA will appear in this channel.",
                alert.service.as_deref().unwrap_or(&alert.summary)
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "could not record a slash command");
            ephemeral("The SRE agent could not record this request right now; please try again.")
        }
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The orchestrator's form of an alert posted in Slack.
pub fn slack_alert(p: &mcp_slack::ParsedAlert, channel: &str, ts: &str) -> Alert {
    let mut identity: BTreeMap<String, String> = p.labels.clone();
    identity.insert("alertname".into(), p.alert_name.clone());
    if p.labels.is_empty() {
        // Title-only alerts: the title is all there is to tell them apart.
        identity.insert("title".into(), p.title.clone());
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(ANN_SLACK_CHANNEL.to_string(), channel.to_string());
    annotations.insert(ANN_SLACK_THREAD.to_string(), ts.to_string());
    if let Some(d) = &p.description {
        annotations.insert("description".into(), d.clone());
    }
    Alert {
        source: AlertSource::Slack,
        name: p.alert_name.clone(),
        status: match p.status {
            mcp_slack::alerts::AlertStatus::Resolved => AlertStatus::Resolved,
            _ => AlertStatus::Firing,
        },
        severity: p.severity.clone(),
        service: p.service().map(str::to_string),
        namespace: p.namespace().map(str::to_string),
        summary: p.summary.clone().unwrap_or_else(|| p.title.clone()),
        description: p.description.clone(),
        labels: p.labels.clone(),
        annotations,
        starts_at: p.starts_at.as_deref().and_then(|s| s.parse().ok()),
        fingerprint: alert::fingerprint_labels(&identity),
        link: p.links.values().next().cloned(),
        question: None,
        lookback_secs: None,
    }
}

/// The `callback_id` of the "what was the actual root cause?" modal.
const VIEW_WRONG: &str = "sre_rca_wrong";

/// Asks the user who marked an RCA wrong what the actual root cause was: in
/// a modal when Slack gave a trigger, else (or if the modal cannot open) in
/// the thread, where their reply is kept as the reason.
fn ask_why_later(
    app: &Arc<App>,
    incident_id: i64,
    user: &str,
    raw: &Value,
    channel: String,
    thread: Option<String>,
) {
    let Some(slack) = app.slack.clone() else {
        return;
    };
    let trigger = raw
        .get("trigger_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let metadata =
        json!({"incident": incident_id, "channel": channel, "thread": thread}).to_string();
    let view = json!({
        "type": "modal",
        "callback_id": VIEW_WRONG,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Wrong root cause"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("Thanks for flagging incident #{incident_id}. I'll keep your answer with it and use it for similar incidents.")}},
            {"type": "input", "block_id": "actual", "label": {"type": "plain_text", "text": "What was the actual root cause?"},
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": true, "max_length": 2000}}
        ]
    });
    let app = Arc::clone(app);
    let user = user.to_string();
    app.tasks.clone().spawn(async move {
        if let Some(trigger) = trigger {
            match slack.open_view(&trigger, &view).await {
                Ok(()) => return,
                Err(e) => {
                    app.metrics.slack_error("views.open");
                    tracing::warn!(error = %e, "could not open the feedback modal; asking in the thread");
                }
            }
        }
        reply_later(
            &app,
            channel,
            thread,
            format!(
                "<@{user}> thanks for flagging it. What was the actual root cause? Reply in this thread and I'll record it with your feedback."
            ),
        );
    });
}

/// The modal's answer: recorded as the reason the RCA was wrong, and
/// acknowledged in the incident's thread.
async fn why_submitted(app: &Arc<App>, user: &str, raw: &Value) -> Result<(), SinkError> {
    if raw.pointer("/view/callback_id").and_then(Value::as_str) != Some(VIEW_WRONG) {
        return Ok(());
    }
    let metadata: Value = raw
        .pointer("/view/private_metadata")
        .and_then(Value::as_str)
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null);
    let Some(incident_id) = metadata.get("incident").and_then(Value::as_i64) else {
        tracing::warn!("a feedback modal came back without its incident");
        return Ok(());
    };
    let why = raw
        .pointer("/view/state/values/actual/text/value")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(why) = why else {
        return Ok(());
    };
    match app
        .store
        .record_feedback(incident_id, Verdict::Wrong, user, Some(why))
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(failed(e)),
    }
    if let Some(channel) = metadata.get("channel").and_then(Value::as_str) {
        let thread = metadata
            .get("thread")
            .and_then(Value::as_str)
            .map(str::to_string);
        reply_later(app, channel.to_string(), thread, noted(user, incident_id));
    }
    Ok(())
}

/// The thank-you for the reason an RCA was wrong (from the modal or a reply
/// in the thread).
fn noted(user: &str, incident_id: i64) -> String {
    format!(
        "Thanks <@{user}>, noted: I'll keep that with incident #{incident_id} and remember it next time."
    )
}

/// Drops `<@U…>` mentions from a message's text.
fn without_mentions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Posts a reply in a thread from a spawned task (paced like every post).
fn reply_later(app: &Arc<App>, channel: String, thread_ts: Option<String>, text: String) {
    let Some(slack) = app.slack.clone() else {
        return;
    };
    let app = Arc::clone(app);
    app.tasks.clone().spawn(async move {
        if let Err(e) = slack
            .post(&channel, thread_ts.as_deref(), &text, None)
            .await
        {
            app.metrics.slack_error("chat.postMessage");
            tracing::warn!(error = %e, "could not reply in Slack");
        }
    });
}

/// Answers a question about an incident in its thread (spawned).
fn answer_later(
    app: &Arc<App>,
    incident: Incident,
    channel: String,
    thread_ts: String,
    question: String,
) {
    let app2 = Arc::clone(app);
    app2.tasks.clone().spawn(async move {
        let text = match &app2.sources.llm {
            Some(llm) => {
                answer::with_llm(
                    llm.as_ref(),
                    app2.sources.tools.as_ref(),
                    &incident,
                    &question,
                )
                .await
            }
            None => answer::deterministic(&incident, &question),
        };
        reply_later(&app2, channel, Some(thread_ts), text);
    });
}

async fn push(app: Arc<App>, p: &PushEvent) -> Result<(), SinkError> {
    let ev = p.event();
    let channel = str_at(ev, "channel").unwrap_or_default().to_string();
    let ts = str_at(ev, "ts").unwrap_or_default().to_string();
    let thread_ts = str_at(ev, "thread_ts").map(str::to_string);
    let text = str_at(ev, "text").unwrap_or_default().to_string();
    let user = str_at(ev, "user").map(str::to_string);
    match p.event_type.as_str() {
        "message" => {
            if matches!(
                str_at(ev, "subtype"),
                Some("message_changed" | "message_deleted" | "channel_join")
            ) {
                return Ok(());
            }
            if let Some(parsed) = mcp_slack::parse_alert(ev) {
                let alert = slack_alert(&parsed, &channel, &ts);
                let outcome = app
                    .store
                    .enqueue_alert(&alert, &p.raw.to_string(), app.args.dedup_window)
                    .await
                    .map_err(failed)?;
                app.metrics.alert("slack", &outcome);
                if matches!(outcome, Enqueued::New { .. }) {
                    app.wake.notify_waiters();
                }
                return Ok(());
            }
            // A person in an incident's thread. Mentions arrive again as
            // `app_mention` and are answered there.
            let (Some(user), Some(thread)) = (user, thread_ts) else {
                return Ok(());
            };
            if str_at(ev, "bot_id").is_some() || text.contains("<@") || thread == ts {
                return Ok(());
            }
            let Some(incident) = app
                .store
                .incident_by_slack_thread(&channel, &thread)
                .await
                .map_err(failed)?
            else {
                return Ok(());
            };
            // After a "wrong" click the bot asked why: the clicker's next
            // reply is the reason.
            let feedback = app.store.feedback(incident.id).await.map_err(failed)?;
            let awaiting = feedback
                .iter()
                .rev()
                .find(|f| f.user == user)
                .is_some_and(|f| f.verdict == Verdict::Wrong && f.comment.is_none());
            if awaiting {
                app.store
                    .record_feedback(incident.id, Verdict::Wrong, &user, Some(text.trim()))
                    .await
                    .map_err(failed)?;
                reply_later(&app, channel, Some(thread), noted(&user, incident.id));
            } else if text.trim_end().ends_with('?') {
                answer_later(&app, incident, channel, thread, text);
            }
            Ok(())
        }
        "app_mention" => {
            let question = without_mentions(&text);
            let thread = thread_ts.clone().unwrap_or_else(|| ts.clone());
            if question
                .split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("investigate"))
            {
                match alert::parse_command(&question) {
                    Ok(alert) => {
                        let request = Request {
                            idempotency_key: Some(format!("slack-event:{}", p.event_id)),
                            requested_by: user,
                            reply_channel: Some(channel.clone()),
                            reply_thread: Some(thread),
                            raw_payload: p.raw.to_string(),
                        };
                        let outcome = app
                            .store
                            .enqueue_request(&alert, &request)
                            .await
                            .map_err(failed)?;
                        app.metrics.alert("slack_mention", &outcome);
                        app.wake.notify_waiters();
                    }
                    Err(e) => reply_later(&app, channel, Some(thread), format!("{e}\n{}", usage())),
                }
                return Ok(());
            }
            if let Some(t) = &thread_ts
                && let Some(incident) = app
                    .store
                    .incident_by_slack_thread(&channel, t)
                    .await
                    .map_err(failed)?
            {
                answer_later(&app, incident, channel, thread, question);
                return Ok(());
            }
            reply_later(
                &app,
                channel,
                Some(thread),
                format!(
                    "Ask me in an incident's thread, or: `@sre-agent investigate service=checkout since=30m`. {}",
                    usage()
                ),
            );
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn interaction(app: Arc<App>, i: &InteractionEvent) -> Result<(), SinkError> {
    let raw = &i.raw;
    let channel = raw
        .pointer("/channel/id")
        .or_else(|| raw.pointer("/container/channel_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    // Replies go to the RCA message's thread (its own ts when top level).
    let thread = raw
        .pointer("/message/thread_ts")
        .or_else(|| raw.pointer("/container/thread_ts"))
        .or_else(|| raw.pointer("/container/message_ts"))
        .or_else(|| raw.pointer("/message/ts"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let user = raw
        .pointer("/user/id")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();

    if let Some(fb) = RcaFeedback::from_interaction(raw) {
        let Ok(incident_id) = fb.investigation_id.trim().parse::<i64>() else {
            tracing::warn!(id = %fb.investigation_id, "feedback on an unknown investigation id");
            return Ok(());
        };
        let verdict = if fb.confirmed {
            Verdict::Confirmed
        } else {
            Verdict::Wrong
        };
        match app
            .store
            .record_feedback(incident_id, verdict, &user, None)
            .await
        {
            Ok(_) => app.metrics.feedback(verdict.as_str()),
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(failed(e)),
        }
        if let Some(channel) = channel {
            if fb.confirmed {
                let text = format!(
                    "✅ <@{user}> confirmed this root cause. Thanks, I'll remember it for similar incidents."
                );
                reply_later(&app, channel, thread, text);
            } else {
                ask_why_later(&app, incident_id, &user, raw, channel, thread);
            }
        }
        return Ok(());
    }
    if raw.get("type").and_then(Value::as_str) == Some("view_submission") {
        return why_submitted(&app, &user, raw).await;
    }
    if let Some((incident_id, mv)) = super::workflow::clicked(raw) {
        // A move is told in the thread by `apply`; a refusal ("already
        // acknowledged") only to the thread when there is one to answer in.
        let action = super::workflow::Action::Move(mv);
        let who = super::workflow::Actor::slack(&app, &user).await;
        if let Err(why) = super::workflow::apply(&app, incident_id, &action, &who).await
            && let Some(channel) = channel
        {
            reply_later(&app, channel, thread, why);
        }
        return Ok(());
    }

    let approve = raw
        .get("actions")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter().find(|x| {
                x.get("action_id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(ACTION_APPROVE))
            })
        })
        .and_then(|x| x.get("value").and_then(Value::as_str));
    if let Some(value) = approve {
        let approver = remediate::Approver::from_slack(&app, &user).await;
        let approval = remediate::approve(&app, &approver, value)
            .await
            .map_err(failed)?;
        match approval {
            remediate::Approval::Refused(text) => {
                if let Some(channel) = channel {
                    reply_later(&app, channel, thread, text);
                }
            }
            remediate::Approval::Run(claimed) => {
                // The write may take longer than Slack's 3 seconds: say it
                // started, run it in the background, then post the result.
                if let Some(channel) = channel.clone() {
                    reply_later(&app, channel, thread.clone(), claimed.starting());
                }
                let app = Arc::clone(&app);
                app.tasks.clone().spawn(async move {
                    let text = remediate::run(&app, claimed).await;
                    if let Some(channel) = channel {
                        reply_later(&app, channel, thread, text);
                    }
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_dropped() {
        assert_eq!(
            without_mentions("<@U0BOT00001> what broke? <@U2>"),
            "what broke?"
        );
        assert_eq!(without_mentions("hi <@U1"), "hi");
    }
}
