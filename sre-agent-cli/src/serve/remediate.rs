//! Approved remediation: the one place the bot changes production.
//!
//! An RCA's remediation steps are suggestions. A step the deterministic
//! engine could express as a write tool call ([`ToolAction`]: roll back,
//! restart or scale a workload) gets an "approve and run" button in Slack,
//! but only when all of these hold, each checked again at click time rather
//! than trusted from the button:
//!
//! * `serve --allow-writes` is on (it also starts mcp-kubernetes with its
//!   write tools; the specialist agents never see write tools either way);
//! * a connected server offers the tool as a write tool (its own
//!   `--allow-writes`, namespace allowlist and RBAC still apply);
//! * the clicking user is on `--approvers`, directly or through a Slack user
//!   group listed there.
//!
//! A step runs at most once: the store's `remediation_runs` row, keyed by
//! incident and step, is claimed before the call, so a double click or the
//! same click delivered to two replicas runs it once, and an interrupted
//! run stays visible as `running` instead of being retried blindly. Every
//! click (refused, approved, and the run's result) is in the audit log:
//! who, what, when, and the result.

use std::sync::Arc;

use sre_orchestrator::rca::{Rca, Remediation, ToolAction};
use sre_orchestrator::store::{RemediationStart, StoreError};
use sre_orchestrator::transcript::ToolInfo;

use super::App;

/// Longest tool answer quoted back in Slack and kept in the store.
const RESULT_CHARS: usize = 1500;

/// The connected write tool that would run `action`, if any.
pub fn write_tool(app: &App, action: &ToolAction) -> Option<ToolInfo> {
    if !app.args.allow_writes {
        return None;
    }
    app.sources
        .tools
        .tools()
        .into_iter()
        .find(|t| !t.read_only && t.name() == action.tool)
}

/// The steps of `rca` that can be approved and run here: (index, step, the
/// tool that would run it).
pub fn runnable_steps<'r>(app: &App, rca: &'r Rca) -> Vec<(usize, &'r Remediation, ToolInfo)> {
    rca.remediation
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let tool = write_tool(app, r.tool.as_ref()?)?;
            Some((i, r, tool))
        })
        .collect()
}

/// Whether `user` may approve remediations: listed in `--approvers`, or a
/// member of a user group (`S…`) listed there.
async fn is_approver(app: &App, user: &str) -> bool {
    if app.args.approvers.iter().any(|a| a == user) {
        return true;
    }
    let Some(slack) = &app.slack else {
        return false;
    };
    for group in app.args.approvers.iter().filter(|a| a.starts_with('S')) {
        match slack.usergroup_members(group).await {
            Ok(members) if members.iter().any(|m| m == user) => return true,
            Ok(_) => {}
            Err(e) => {
                app.metrics.slack_error("usergroups.users.list");
                tracing::warn!(group, error = %e, "could not read an approvers user group");
            }
        }
    }
    false
}

/// What an approval click leads to.
#[derive(Debug)]
pub enum Approval {
    /// Nothing runs; tell the user this.
    Refused(String),
    /// Approved and claimed: run it with [`run`], which reports the result.
    Run(Claimed),
}

/// An approved, claimed step, ready to run.
#[derive(Debug)]
pub struct Claimed {
    incident_id: i64,
    step: usize,
    user: String,
    what: String,
    tool: String,
    arguments: serde_json::Value,
}

impl Claimed {
    /// What the user is told while it runs.
    pub fn starting(&self) -> String {
        format!(
            "<@{}> approved {}. Running `{}` now…",
            self.user, self.what, self.tool
        )
    }
}

/// Handles a click on an approve button whose value is `incident:step`:
/// checks everything, audit-logs the decision and, when approved, claims the
/// step. Quick (no tool call), so it fits in Slack's 3 seconds.
pub async fn approve(app: &App, user: &str, value: &str) -> Result<Approval, StoreError> {
    let (incident_id, step) = match value.split_once(':') {
        Some((i, s)) => (i.parse::<i64>().ok(), s.parse::<usize>().ok()),
        None => (None, None),
    };
    let (Some(incident_id), Some(step)) = (incident_id, step) else {
        return Ok(Approval::Refused(
            "That approval button is malformed; nothing was run.".into(),
        ));
    };
    let incident = app.store.get_incident(incident_id).await?;
    let remediation = incident
        .as_ref()
        .and_then(|i| i.rca.as_ref())
        .and_then(|r| r.remediation.get(step).cloned());
    let Some(remediation) = remediation else {
        return Ok(Approval::Refused(format!(
            "Incident #{incident_id} has no remediation step {}; nothing was run.",
            step + 1
        )));
    };
    let what = format!(
        "incident #{incident_id} step {}: {}{}",
        step + 1,
        remediation.action,
        remediation
            .command
            .as_deref()
            .map(|c| format!(" (`{c}`)"))
            .unwrap_or_default()
    );
    let refuse = |audit: &str, text: String| (audit.to_string(), Approval::Refused(text));
    let tool = remediation
        .tool
        .as_ref()
        .and_then(|a| write_tool(app, a).map(|t| (a, t)));
    let (result, approval) = if !app.args.allow_writes {
        refuse(
            "refused: writes are not allowed (--allow-writes is off)",
            format!(
                "<@{user}> this agent does not run remediations (--allow-writes is off); nothing was run."
            ),
        )
    } else if !is_approver(app, user).await {
        refuse(
            "refused: not an approver",
            format!(
                "<@{user}> you are not on the approvers list for remediations; nothing was run."
            ),
        )
    } else if let Some((action, info)) = tool {
        match app
            .store
            .start_remediation(incident_id, step, &info.qualified, &action.arguments, user)
            .await?
        {
            RemediationStart::Started => (
                format!("approved; running {}", info.qualified),
                Approval::Run(Claimed {
                    incident_id,
                    step,
                    user: user.to_string(),
                    what: what.clone(),
                    tool: info.qualified,
                    arguments: action.arguments.clone(),
                }),
            ),
            RemediationStart::Already(run) => refuse(
                "refused: already run",
                format!(
                    "<@{user}> step {} of incident #{incident_id} was already approved by <@{}> ({}); it is not run twice.",
                    step + 1,
                    run.approved_by,
                    run.status
                ),
            ),
        }
    } else {
        refuse(
            "refused: no write tool for this step",
            format!(
                "<@{user}> step {} has no tool this agent can run (is the Kubernetes server started with write tools?); nothing was run. Apply it by hand if you agree with it.",
                step + 1
            ),
        )
    };
    app.store
        .audit(user, "remediation.approve", &what, &result)
        .await?;
    Ok(approval)
}

/// Runs a claimed step through its write tool, records the result (store
/// and audit log) and returns what to tell the thread.
pub async fn run(app: &Arc<App>, claimed: Claimed) -> String {
    let outcome = app
        .sources
        .tools
        .call(&claimed.tool, claimed.arguments.clone())
        .await;
    let text: String = outcome.text.trim().chars().take(RESULT_CHARS).collect();
    let ok = !outcome.is_error;
    if let Err(e) = app
        .store
        .finish_remediation(claimed.incident_id, claimed.step, ok, &text)
        .await
    {
        tracing::error!(incident = claimed.incident_id, error = %e, "could not record a remediation's result");
    }
    let result = if ok {
        format!("succeeded: {text}")
    } else {
        format!("failed: {text}")
    };
    let target = format!("{} {}", claimed.tool, claimed.arguments);
    if let Err(e) = app
        .store
        .audit(&claimed.user, "remediation.run", &target, &result)
        .await
    {
        tracing::error!(incident = claimed.incident_id, error = %e, "could not audit a remediation's result");
    }
    app.metrics.remediation(ok);
    format!(
        "{} Step {} of incident #{} {} (approved by <@{}>):\n```{}```",
        if ok { ":white_check_mark:" } else { ":x:" },
        claimed.step + 1,
        claimed.incident_id,
        if ok { "ran" } else { "failed" },
        claimed.user,
        text
    )
}
