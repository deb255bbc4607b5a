//! Posting an RCA to Slack with mcp-slack's Web API client and Block Kit
//! rendering (the same message the bot posts).

use anyhow::{Context, Result, bail};
use mcp_slack::api::{PostMessage, Posted, RetryPolicy, SlackApi, SlackApiConfig};
use mcp_slack::rca::{RcaEvidence, RcaMessage, RcaTimelineEntry, render_rca};
use sre_orchestrator::alert::Alert;
use sre_orchestrator::rca::Rca;

/// The Slack form of an RCA.
pub fn message(id: &str, alert: &Alert, rca: &Rca, portal_url: Option<String>) -> RcaMessage {
    RcaMessage {
        id: id.to_string(),
        title: alert.name.clone(),
        summary: rca.summary.clone(),
        root_cause: format!(
            "{} ({}): {}",
            rca.root_cause.component, rca.root_cause.kind, rca.root_cause.description
        ),
        confidence: rca.confidence,
        evidence: rca
            .evidence
            .iter()
            .map(|e| RcaEvidence {
                source: e.source.clone(),
                detail: e.detail.clone(),
                link: e.link.clone(),
            })
            .collect(),
        timeline: rca
            .timeline
            .iter()
            .map(|t| RcaTimelineEntry {
                at: t.at.strftime("%H:%M:%S").to_string(),
                event: t.event.clone(),
            })
            .collect(),
        remediation: rca
            .remediation
            .iter()
            .map(|r| match &r.command {
                Some(c) => format!("{} — `{c}`", r.action),
                None => r.action.clone(),
            })
            .collect(),
        portal_url,
    }
}

/// Posts an RCA to `CHANNEL` or `CHANNEL/THREAD_TS`, with the bot token from
/// `SLACK_BOT_TOKEN`.
pub async fn post_rca(api_url: &str, target: &str, alert: &Alert, rca: &Rca) -> Result<Posted> {
    let token = std::env::var("SLACK_BOT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .context("--post-to-slack needs the bot token in SLACK_BOT_TOKEN")?;
    let (channel, thread_ts) = match target.split_once('/') {
        Some((c, t)) => (c.to_string(), Some(t.to_string())),
        None => (target.to_string(), None),
    };
    if channel.is_empty() {
        bail!("--post-to-slack needs CHANNEL or CHANNEL/THREAD_TS");
    }
    let api = SlackApi::new(SlackApiConfig {
        base_url: api_url.to_string(),
        bot_token: Some(token),
        user_token: None,
        retry: RetryPolicy::default(),
    });
    let rendered = render_rca(&message(&alert.fingerprint, alert, rca, None));
    api.post_message(&PostMessage {
        channel,
        text: rendered.text,
        blocks: Some(rendered.blocks),
        thread_ts,
        reply_broadcast: None,
        unfurl_links: false,
        metadata: None,
    })
    .await
    .context("posting the RCA to Slack failed")
}
