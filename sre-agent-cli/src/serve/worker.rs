//! Workers: claim a job, keep its lease, post "investigating…", investigate
//! with memory and runbooks as context, replace the message with the RCA,
//! complete the job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use incident_store::{Incident, Job, SlackMessage, StoreError};
use jiff::Timestamp;
use mcp_slack::api::{
    PostMessage, Posted, RetryPolicy, SlackApi, SlackApiConfig, TokenKind, UpdateMessage,
};
use mcp_slack::error::SlackError;
use mcp_slack::rca::render_rca;
use serde_json::{Value, json};
use slack_morphism::prelude::{
    SlackApiFilesComplete, SlackApiFilesCompleteUploadExternalRequest,
    SlackApiFilesGetUploadUrlExternalRequest, SlackApiFilesUploadViaUrlRequest,
    SlackApiUserGroupsUsersListRequest, SlackChannelId, SlackTs, SlackUserGroupId,
};
use sre_orchestrator::engine::Quiet;
use sre_orchestrator::engine::priors::Prior;
use sre_orchestrator::investigate::{Options, Outcome, investigate_with};
use sre_orchestrator::rca::Rca;
use sre_orchestrator::transcript::{ChatModel, Recording, Transcript};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::tools::MeteredTools;
use super::{App, remediate};

/// The `action_id` of a remediation's "approve" button.
pub const ACTION_APPROVE: &str = "sre_approve_remediation";

/// Posting to Slack with a per-channel pace.
pub struct SlackOut {
    /// The Web API client.
    pub api: SlackApi,
    interval: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for SlackOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackOut").finish_non_exhaustive()
    }
}

impl SlackOut {
    /// A client for `api_url` with `token`, at most one message per
    /// `interval` per channel.
    pub fn new(api_url: &str, token: &str, interval: Duration) -> Self {
        SlackOut {
            api: SlackApi::new(SlackApiConfig {
                base_url: api_url.to_string(),
                bot_token: Some(token.to_string()),
                user_token: None,
                retry: RetryPolicy::default(),
            }),
            interval,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the channel's next slot. Slots are reserved under the lock,
    /// so concurrent posters to one channel queue up instead of bursting
    /// (Slack answers bursts with 429s and may drop the app's messages).
    async fn pace(&self, channel: &str) {
        if self.interval.is_zero() {
            return;
        }
        let wait = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.entry(channel.to_string()).or_insert(now);
            let at = (*slot).max(now);
            *slot = at + self.interval;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Posts a message (paced).
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Vec<Value>>,
    ) -> Result<Posted, SlackError> {
        self.post_with_metadata(channel, thread_ts, text, blocks, None)
            .await
    }

    /// Posts a message carrying Slack message metadata (paced).
    pub async fn post_with_metadata(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Vec<Value>>,
        metadata: Option<Value>,
    ) -> Result<Posted, SlackError> {
        self.pace(channel).await;
        self.api
            .post_message(&PostMessage {
                channel: channel.to_string(),
                text: text.to_string(),
                blocks,
                thread_ts: thread_ts.map(str::to_string),
                reply_broadcast: None,
                unfurl_links: false,
                metadata,
            })
            .await
    }

    /// Finds the message an earlier attempt posted for `incident` (by its
    /// metadata) among the thread's or the channel's latest 200 messages: a
    /// retry comes within minutes of the lost attempt. (No `oldest` bound
    /// from our clock: Slack's ts are Slack's time.)
    async fn find_incident_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        incident: &Incident,
    ) -> Result<Option<String>, SlackError> {
        let mut params: Vec<(&str, Option<String>)> = vec![
            ("channel", Some(channel.to_string())),
            ("include_all_metadata", Some("true".into())),
            ("limit", Some("200".into())),
        ];
        let method = match thread_ts {
            Some(t) => {
                params.push(("ts", Some(t.to_string())));
                "conversations.replies"
            }
            None => "conversations.history",
        };
        let params = &params;
        let page: Value = self
            .api
            .call(method, TokenKind::Bot, |s| async move {
                s.http_session_api
                    .http_get::<Value, _, _>(method, params, None)
                    .await
            })
            .await?;
        let found = page["messages"].as_array().and_then(|messages| {
            messages.iter().find(|m| {
                m.pointer("/metadata/event_type").and_then(Value::as_str) == Some(INCIDENT_EVENT)
                    && m.pointer("/metadata/event_payload/incident_id")
                        .and_then(Value::as_i64)
                        == Some(incident.id)
            })
        });
        Ok(found.and_then(|m| m["ts"].as_str()).map(str::to_string))
    }

    /// The members of a user group (`usergroups.users.list`; needs the
    /// `usergroups:read` scope).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackError> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.to_string()));
        let req = &req;
        let res = self
            .api
            .call("usergroups.users.list", TokenKind::Bot, |s| async move {
                s.usergroups_users_list(req).await
            })
            .await?;
        Ok(res.users.into_iter().map(|u| u.0).collect())
    }

    /// The e-mail address on a user's Slack profile (`users.info`; Slack
    /// includes it only with the `users:read.email` scope), lower-cased:
    /// the name an authenticating proxy gives the same person in the portal.
    pub async fn user_email(&self, user: &str) -> Result<Option<String>, SlackError> {
        let u = self.api.user_info(user).await?;
        Ok(u.profile
            .and_then(|p| p.email)
            .map(|e| e.0.trim().to_ascii_lowercase())
            .filter(|e| e.contains('@')))
    }

    /// Uploads PNG `files` (title, alt text, bytes) and shares them in
    /// `channel` (in the thread `thread_ts`) as one message saying
    /// `comment`: Slack's three steps, `files.getUploadURLExternal`, the
    /// bytes to the URL it gives, `files.completeUploadExternal` (scope
    /// `files:write`). Paced like a post.
    pub async fn share_pngs(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        comment: &str,
        files: &[(String, String, Vec<u8>)],
    ) -> Result<(), SlackError> {
        let mut uploaded = Vec::new();
        for (title, alt, bytes) in files {
            let name = format!("{}.png", title.to_ascii_lowercase().replace(' ', "-"));
            let req = SlackApiFilesGetUploadUrlExternalRequest::new(name, bytes.len())
                .with_alt_txt(alt.clone());
            let req = &req;
            let target = self
                .api
                .call(
                    "files.getUploadURLExternal",
                    TokenKind::Bot,
                    |s| async move { s.get_upload_url_external(req).await },
                )
                .await?;
            let upload = SlackApiFilesUploadViaUrlRequest::new(
                target.upload_url.clone(),
                bytes.clone(),
                "image/png".into(),
            );
            let upload = &upload;
            self.api
                .call("files.upload_url", TokenKind::Bot, |s| async move {
                    s.files_upload_via_url(upload).await
                })
                .await?;
            uploaded.push(SlackApiFilesComplete::new(target.file_id).with_title(title.clone()));
        }
        self.pace(channel).await;
        let req = SlackApiFilesCompleteUploadExternalRequest::new(uploaded)
            .with_channel_id(SlackChannelId(channel.to_string()))
            .opt_thread_ts(thread_ts.map(|t| SlackTs(t.to_string())))
            .with_initial_comment(comment.to_string());
        let req = &req;
        self.api
            .call(
                "files.completeUploadExternal",
                TokenKind::Bot,
                |s| async move { s.files_complete_upload_external(req).await },
            )
            .await?;
        Ok(())
    }

    /// Opens a modal for the user whose click gave `trigger_id`
    /// (`views.open`; the trigger is valid for 3 seconds).
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        let req = json!({"trigger_id": trigger_id, "view": view});
        let req = &req;
        self.api
            .call("views.open", TokenKind::Bot, |s| async move {
                s.http_session_api
                    .http_post::<Value, Value>("views.open", req, None)
                    .await
            })
            .await
            .map(|_| ())
    }

    /// Replaces a message (paced).
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: Option<Vec<Value>>,
    ) -> Result<Posted, SlackError> {
        self.pace(channel).await;
        self.api
            .update_message(&UpdateMessage {
                channel: channel.to_string(),
                ts: ts.to_string(),
                text: text.to_string(),
                blocks,
            })
            .await
    }
}

/// Where an incident's messages go: (channel, thread). The store keeps the
/// thread of an alert posted in Slack and of a request made there; webhook
/// alerts go to `--slack-channel`.
pub fn slack_target(app: &App, incident: &Incident) -> Option<(String, Option<String>)> {
    if let Some(c) = &incident.reply_channel {
        return Some((c.clone(), incident.reply_thread.clone()));
    }
    app.args
        .slack_channel
        .clone()
        .filter(|c| !c.is_empty())
        .map(|c| (c, None))
}

/// The RCA as Slack blocks: mcp-slack's rendering, the workflow's
/// Acknowledge and Resolve buttons, and "approve and run" buttons on the
/// steps a connected write tool can carry out, when writes are allowed (see
/// [`remediate`]).
pub fn rca_blocks(app: &App, incident: &Incident, rca: &Rca) -> (String, Vec<Value>) {
    let message = crate::slack::message(
        &incident.id.to_string(),
        &incident.alert,
        rca,
        app.portal_link(incident.id),
    );
    let rendered = render_rca(&message);
    let mut blocks = rendered.blocks;
    {
        let buttons: Vec<Value> = remediate::runnable_steps(app, rca)
            .into_iter()
            .take(5)
            .map(|(i, r, _)| {
                let label: String = format!("Approve and run step {}: {}", i + 1, r.action)
                    .chars()
                    .take(70)
                    .collect();
                json!({
                    "type": "button",
                    "action_id": format!("{ACTION_APPROVE}_{i}"),
                    "text": {"type": "plain_text", "text": label},
                    "value": format!("{}:{i}", incident.id),
                    "style": "danger",
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Run this remediation?"},
                        "text": {"type": "plain_text", "text": r.command.clone().unwrap_or_default().chars().take(250).collect::<String>()},
                        "confirm": {"type": "plain_text", "text": "Approve and run"},
                        "deny": {"type": "plain_text", "text": "Cancel"}
                    }
                })
            })
            .collect();
        // Before the feedback actions, which stay last.
        let at = blocks.len().saturating_sub(1);
        if !buttons.is_empty() {
            blocks.insert(
                at,
                json!({"type": "actions", "block_id": "rca_remediation", "elements": buttons}),
            );
        }
        blocks.insert(at, super::workflow::buttons(incident.id));
    }
    (rendered.text, blocks)
}

/// The metadata `event_type` of the bot's incident messages.
const INCIDENT_EVENT: &str = "sre_agent_incident";

/// Posts "investigating…" (or finds the message an earlier attempt posted)
/// and records it in the store before anything else happens, so a retry
/// edits this message instead of posting another.
///
/// The message carries the incident id as Slack message metadata. A
/// replica that died between posting and recording left a message the store
/// does not know; a retry looks for it by that metadata before posting, so
/// the thread still gets one message per incident.
async fn placeholder(app: &App, job: &Job) -> Option<SlackMessage> {
    let slack = app.slack.as_ref()?;
    let incident = &job.incident;
    if let Some(existing) = &incident.slack {
        return Some(existing.clone());
    }
    let (channel, thread) = slack_target(app, incident)?;
    if job.attempt > 1 {
        match slack
            .find_incident_message(&channel, thread.as_deref(), incident)
            .await
        {
            Ok(Some(ts)) => {
                tracing::info!(
                    incident = incident.id,
                    ts,
                    "found the message an earlier attempt posted"
                );
                return record_placeholder(app, slack, incident.id, &channel, &ts).await;
            }
            Ok(None) => {}
            Err(e) => {
                app.metrics.slack_error(if thread.is_some() {
                    "conversations.replies"
                } else {
                    "conversations.history"
                });
                tracing::warn!(incident = incident.id, error = %e, "could not look for an earlier message; posting a new one");
            }
        }
    }
    let text = format!(
        ":mag: Investigating *{}*{} … (incident #{})",
        mcp_slack::rca::escape(&incident.alert.name),
        incident
            .alert
            .service
            .as_deref()
            .map(|s| format!(" on `{}`", mcp_slack::rca::escape(s)))
            .unwrap_or_default(),
        incident.id
    );
    let metadata =
        json!({"event_type": INCIDENT_EVENT, "event_payload": {"incident_id": incident.id}});
    let posted = match slack
        .post_with_metadata(&channel, thread.as_deref(), &text, None, Some(metadata))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            app.metrics.slack_error("chat.postMessage");
            tracing::warn!(incident = incident.id, error = %e, "could not post to Slack; investigating anyway");
            return None;
        }
    };
    record_placeholder(app, slack, incident.id, &posted.channel, &posted.ts).await
}

/// Records the incident's message; when another attempt recorded one first,
/// marks this one superseded and returns the first.
async fn record_placeholder(
    app: &App,
    slack: &SlackOut,
    incident_id: i64,
    channel: &str,
    ts: &str,
) -> Option<SlackMessage> {
    match app
        .store
        .set_slack_message(incident_id, channel, ts, None)
        .await
    {
        Ok(recorded) => {
            if recorded.ts != ts {
                // Another attempt recorded its message first: use that one,
                // and say so in ours rather than leave a second placeholder.
                tracing::warn!(
                    incident = incident_id,
                    "a second placeholder was posted; using the first"
                );
                let _ = slack
                    .update(
                        channel,
                        ts,
                        "(superseded: see the other message in this thread)",
                        None,
                    )
                    .await;
            }
            Some(recorded)
        }
        Err(e) => {
            tracing::warn!(incident = incident_id, error = %e, "could not record the Slack message");
            Some(SlackMessage {
                channel: channel.to_string(),
                ts: ts.to_string(),
                permalink: None,
            })
        }
    }
}

/// Runs the investigation itself.
async fn investigate_incident(
    app: &App,
    incident: &Incident,
    context: Option<String>,
    priors: Vec<Prior>,
) -> (Outcome, Transcript) {
    if app.args.test_investigation_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(app.args.test_investigation_delay_ms)).await;
    }
    let options = Options {
        now: app.sources.now.unwrap_or_else(Timestamp::now),
        default_namespace: app.sources.default_namespace.clone(),
        max_steps: app.sources.max_steps.max(1),
        context,
        limits: app.sources.limits,
        priors,
    };
    let recording = Recording::new(
        MeteredTools {
            inner: Arc::clone(&app.sources.tools),
            metrics: Arc::clone(&app.metrics),
        },
        app.sources.llm.clone(),
    );
    let model = recording.model();
    let model_ref: Option<&dyn ChatModel> = model.as_ref().map(|m| m as &dyn ChatModel);
    // The incident id ties the exported trace (when OTLP is on) to the
    // portal and the Slack thread.
    let span = tracing::info_span!(target: sre_orchestrator::investigate::TRACE_TARGET, "incident", incident.id = incident.id);
    let outcome = investigate_with(
        &incident.alert,
        &recording,
        model_ref,
        &options,
        &app.sources.llm_phase,
        &Quiet,
    )
    .instrument(span)
    .await;
    (outcome, recording.transcript())
}

enum Ended {
    Finished(Box<(Outcome, Transcript)>),
    LeaseLost,
    Released,
}

/// Handles one claimed job to the end.
async fn process(app: &App, job: Job, release: &CancellationToken) {
    let started = Instant::now();
    let incident_id = job.incident.id;
    tracing::info!(
        job = job.id,
        incident = incident_id,
        attempt = job.attempt,
        "investigating"
    );
    let lease = Duration::from_secs(app.args.lease_secs.max(1));
    let lost = CancellationToken::new();
    let done = CancellationToken::new();
    let renewer = {
        let store = app.store.clone();
        let job = job.clone();
        let lost = lost.clone();
        let done = done.clone();
        tokio::spawn(async move {
            // Renew at a third of the lease: two renewals may fail before
            // the lease runs out.
            let every = (lease / 3).max(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = done.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
                match store.renew_lease(&job, lease).await {
                    Ok(_) => {}
                    Err(StoreError::LeaseLost { .. }) => {
                        tracing::warn!(job = job.id, "lease lost: another worker has this job");
                        lost.cancel();
                        break;
                    }
                    Err(e) => tracing::warn!(job = job.id, error = %e, "lease renewal failed"),
                }
            }
        })
    };

    let message = placeholder(app, &job).await;
    let past = crate::memory::similar(&app.store, &job.incident.alert, Some(job.incident.id)).await;
    let context = crate::memory::context(
        &app.store,
        &job.incident.alert,
        &past,
        app.runbooks.is_some(),
    )
    .await;
    let priors = crate::memory::priors(&past);
    let ended = tokio::select! {
        r = investigate_incident(app, &job.incident, context, priors.clone()) => Ended::Finished(Box::new(r)),
        _ = lost.cancelled() => Ended::LeaseLost,
        _ = release.cancelled() => Ended::Released,
    };
    done.cancel();
    let _ = renewer.await;

    match ended {
        Ended::LeaseLost => app.metrics.investigation("lease_lost", started.elapsed()),
        Ended::Released => {
            if let Err(e) = app
                .store
                .release_job(&job, "released: the replica shut down mid-investigation")
                .await
            {
                tracing::warn!(job = job.id, error = %e, "could not release the job; its lease will expire");
            }
            app.metrics.investigation("released", started.elapsed());
        }
        Ended::Finished(result) => {
            let (mut outcome, transcript) = *result;
            crate::memory::seen_before(&mut outcome.rca, &past);
            crate::memory::ranked_lower(&mut outcome.rca, &priors);
            // Slack first: the update edits the one message, so doing it
            // again on a retry is harmless, while a completed job whose
            // message still says "investigating…" would stay that way.
            if let (Some(slack), Some(m)) = (&app.slack, &message) {
                let (text, blocks) = rca_blocks(app, &job.incident, &outcome.rca);
                if let Err(e) = slack.update(&m.channel, &m.ts, &text, Some(blocks)).await {
                    app.metrics.slack_error("chat.update");
                    tracing::warn!(incident = incident_id, error = %e, "could not put the RCA in Slack");
                }
            }
            match app
                .store
                .complete_job(&job, &outcome.rca, &transcript)
                .await
            {
                Ok(()) => {
                    app.metrics.llm_usage(&outcome.llm_usage);
                    app.metrics.investigation("done", started.elapsed());
                    tracing::info!(
                        incident = incident_id,
                        root_cause = %outcome.rca.root_cause.component,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "investigation done"
                    );
                    // After the job is complete (so a retry never shares
                    // them twice) and timed (an upload is not investigating).
                    if let Some(m) = &message {
                        share_pictures(app, &job.incident, m, &outcome.rca).await;
                    }
                }
                Err(StoreError::LeaseLost { .. }) => {
                    app.metrics.investigation("lease_lost", started.elapsed());
                }
                Err(e) => {
                    tracing::error!(job = job.id, error = %e, "could not record the RCA");
                    let _ = app.store.fail_job(&job, &e.to_string(), true).await;
                    app.metrics.investigation("failed", started.elapsed());
                }
            }
        }
    }
}

/// Shares the RCA's pictures as PNG files in the incident's thread (the
/// alert's thread, else under the RCA message), unless
/// `--no-slack-pictures`. Best effort: a failure is a warning and a
/// `slack_errors` count; the RCA is already posted.
async fn share_pictures(app: &App, incident: &Incident, message: &SlackMessage, rca: &Rca) {
    let Some(slack) = app.slack.as_ref().filter(|_| !app.args.no_slack_pictures) else {
        return;
    };
    let pictures = super::pictures::pictures(rca);
    if pictures.is_empty() {
        return;
    }
    // Rasterising is CPU work: off the async threads.
    let drawn = tokio::task::spawn_blocking(move || {
        pictures
            .iter()
            .filter_map(|p| match p.png() {
                Ok(png) => Some((p.title.to_string(), p.label.clone(), png)),
                Err(e) => {
                    tracing::warn!(error = %e, "could not draw a picture as PNG");
                    None
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if drawn.is_empty() {
        return;
    }
    let thread = slack_target(app, incident)
        .and_then(|(_, thread)| thread)
        .unwrap_or_else(|| message.ts.clone());
    let comment = format!(
        "Pictures for incident #{}: {}.",
        incident.id,
        drawn
            .iter()
            .map(|(title, _, _)| title.to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Err(e) = slack
        .share_pngs(&message.channel, Some(&thread), &comment, &drawn)
        .await
    {
        app.metrics.slack_error("files.completeUploadExternal");
        tracing::warn!(incident = incident.id, error = %e, "could not share the RCA's pictures in Slack (scope files:write?); --no-slack-pictures stops trying");
    }
}

/// One worker: claims jobs until `stop` fires; `release` ends the current
/// investigation early and hands its job back.
pub async fn run(app: Arc<App>, n: usize, stop: CancellationToken, release: CancellationToken) {
    let worker = format!("{}/{n}", app.worker_id);
    let lease = Duration::from_secs(app.args.lease_secs.max(1));
    let poll = Duration::from_millis(app.args.poll_ms.max(10));
    loop {
        if stop.is_cancelled() {
            break;
        }
        match app.store.claim_job(&worker, lease).await {
            Ok(Some(job)) => process(&app, job, &release).await,
            Ok(None) => {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = app.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                tracing::warn!(worker, error = %e, "cannot claim jobs");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    tracing::debug!(worker, "worker stopped");
}
