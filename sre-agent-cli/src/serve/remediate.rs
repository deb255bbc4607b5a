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
//! * the clicking user is on `--approvers`: by Slack user id, through a
//!   Slack user group listed there, or by the e-mail address on their Slack
//!   profile; or, in the portal, a person the authenticating proxy names who
//!   is in one of `--approver-groups` or on `--approvers` by that name
//!   ([`Approver`]). A person is recorded under one name whichever door they
//!   came through: their e-mail address when Slack gives it.
//!
//! A step runs at most once: the store's `remediation_runs` row, keyed by
//! incident and step, is claimed before the call, so a double click or the
//! same click delivered to two replicas runs it once, and an interrupted
//! run stays visible instead of being retried blindly: a run still waiting
//! for its tool when a shutdown's drain time runs out is recorded as
//! `interrupted` ([`record_interrupted`]), since nobody knows whether the
//! write happened. Every click (refused, approved, the run's result or its
//! interruption) is in the audit log: who, what, when, and the result.

use std::sync::{Arc, Mutex};

use incident_store::{RemediationStart, Store, StoreError};
use sre_orchestrator::rca::{Rca, Remediation, ToolAction};
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

/// Whether `name` (a portal user's name as the proxy gives it) is listed
/// in `--approvers`; e-mail addresses compare without regard to case.
pub fn listed(approvers: &[String], name: &str) -> bool {
    approvers
        .iter()
        .any(|a| a == name || (a.contains('@') && a.trim().eq_ignore_ascii_case(name.trim())))
}

/// Whether a Slack user may approve remediations: listed in `--approvers`
/// by id or by their profile's e-mail, or a member of a user group (`S…`)
/// listed there.
async fn is_approver(app: &App, user: &str, email: Option<&str>) -> bool {
    if listed(&app.args.approvers, user) || email.is_some_and(|e| listed(&app.args.approvers, e)) {
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

/// Who approves a step: a Slack user (checked against `--approvers` at
/// click time), or a person the portal's proxy named whose groups or name
/// make them an approver (checked by the portal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    /// A Slack user: their id, and the e-mail on their profile when Slack
    /// gave it.
    Slack {
        /// `U…` or `W…`.
        id: String,
        /// Lower-cased; `None` without the `users:read.email` scope, for a
        /// profile without one, or when Slack could not be asked.
        email: Option<String>,
    },
    /// A portal user, already known to be an approver.
    Portal(String),
}

impl Approver {
    /// The Slack user `id`, with the e-mail on their profile when Slack
    /// answers (`users.info`). Failing to ask costs only that: they are then
    /// known by id, as before.
    pub async fn from_slack(app: &App, id: &str) -> Approver {
        let email = match &app.slack {
            Some(slack) => match slack.user_email(id).await {
                Ok(email) => email,
                Err(e) => {
                    app.metrics.slack_error("users.info");
                    tracing::warn!(user = id, error = %e, "could not read a Slack user's e-mail; they are recorded by id");
                    None
                }
            },
            None => None,
        };
        Approver::Slack {
            id: id.to_string(),
            email,
        }
    }

    /// The name kept in the store and the audit log: the person's e-mail
    /// when known (the name the portal's proxy gives them too), else their
    /// Slack user id, or the portal user's name.
    pub fn name(&self) -> &str {
        match self {
            Approver::Slack {
                email: Some(email), ..
            } => email,
            Approver::Slack { id, .. } | Approver::Portal(id) => id,
        }
    }

    /// How messages in Slack address them: a Slack user by mention, a portal
    /// user by name.
    fn addressed(&self) -> String {
        match self {
            Approver::Slack { id, .. } => format!("<@{id}>"),
            Approver::Portal(name) => mcp_slack::rca::escape(name),
        }
    }
}

/// A recorded approver as Slack shows them: a Slack user id as a mention,
/// a portal user's name as is.
fn shown(name: &str) -> String {
    let slack_id = name.len() > 1
        && (name.starts_with('U') || name.starts_with('W'))
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if slack_id {
        format!("<@{name}>")
    } else {
        mcp_slack::rca::escape(name)
    }
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
    /// The approver as Slack messages address them.
    addressed: String,
    what: String,
    tool: String,
    arguments: serde_json::Value,
}

impl Claimed {
    /// What the user is told while it runs.
    pub fn starting(&self) -> String {
        format!(
            "{} approved {}. Running `{}` now…",
            self.addressed, self.what, self.tool
        )
    }
}

/// Handles an approval of `value` (`incident:step`: a Slack button's value,
/// or the portal's form): checks everything, audit-logs the decision and,
/// when approved, claims the step. Quick (no tool call), so it fits in
/// Slack's 3 seconds.
pub async fn approve(app: &App, approver: &Approver, value: &str) -> Result<Approval, StoreError> {
    let user = approver.name();
    let who = approver.addressed();
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
                "{who} this agent does not run remediations (--allow-writes is off); nothing was run."
            ),
        )
    } else if let Approver::Slack { id, email } = approver
        && !is_approver(app, id, email.as_deref()).await
    {
        refuse(
            "refused: not an approver",
            format!("{who} you are not on the approvers list for remediations; nothing was run."),
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
                    addressed: who.clone(),
                    what: what.clone(),
                    tool: info.qualified,
                    arguments: action.arguments.clone(),
                }),
            ),
            RemediationStart::Already(run) => refuse(
                "refused: already run",
                format!(
                    "{who} step {} of incident #{incident_id} was already approved by {} ({}); it is not run twice.",
                    step + 1,
                    shown(&run.approved_by),
                    run.status
                ),
            ),
        }
    } else {
        refuse(
            "refused: no write tool for this step",
            format!(
                "{who} step {} has no tool this agent can run (is the Kubernetes server started with write tools?); nothing was run. Apply it by hand if you agree with it.",
                step + 1
            ),
        )
    };
    app.store
        .audit(user, "remediation.approve", &what, &result)
        .await?;
    Ok(approval)
}

/// A run between its claim and its recorded result.
#[derive(Debug, Clone, PartialEq)]
struct Running {
    incident_id: i64,
    step: usize,
    user: String,
    target: String,
}

/// The runs of this replica whose tool has not answered yet, so a shutdown
/// whose drain time runs out can record them as interrupted before the store
/// closes.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<Vec<Running>>);

impl InFlight {
    fn runs(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        // A panic elsewhere while holding the lock leaves a plain list intact.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, claimed: &Claimed) {
        self.runs().push(Running {
            incident_id: claimed.incident_id,
            step: claimed.step,
            user: claimed.user.clone(),
            target: format!("{} {}", claimed.tool, claimed.arguments),
        });
    }

    fn remove(&self, incident_id: i64, step: usize) {
        self.runs()
            .retain(|r| (r.incident_id, r.step) != (incident_id, step));
    }

    /// How many runs wait for their tool.
    pub fn len(&self) -> usize {
        self.runs().len()
    }

    /// Whether no run waits for its tool.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Records every run still waiting for its tool as `interrupted` (store and
/// audit log) and returns how many there were. Called at shutdown when the
/// drain time ran out, before the store closes; a run whose result was
/// recorded meanwhile keeps it.
pub async fn record_interrupted(store: &Store, in_flight: &InFlight) -> usize {
    let runs = std::mem::take(&mut *in_flight.runs());
    let why = "interrupted: the bot shut down before the tool answered; whether the change \
               was applied is unknown. Check the target's state before running it again.";
    let mut recorded = 0;
    for r in runs {
        match store
            .interrupt_remediation(r.incident_id, r.step, why)
            .await
        {
            Ok(true) => {
                recorded += 1;
                if let Err(e) = store
                    .audit(&r.user, "remediation.run", &r.target, why)
                    .await
                {
                    tracing::error!(incident = r.incident_id, error = %e, "could not audit an interrupted remediation");
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(incident = r.incident_id, error = %e, "could not record an interrupted remediation");
            }
        }
    }
    recorded
}

/// Runs a claimed step through its write tool, records the result (store
/// and audit log) and returns what to tell the thread.
pub async fn run(app: &Arc<App>, claimed: Claimed) -> String {
    app.remediations.add(&claimed);
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
    app.remediations.remove(claimed.incident_id, claimed.step);
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
        "{} Step {} of incident #{} {} (approved by {}):\n```{}```",
        if ok { ":white_check_mark:" } else { ":x:" },
        claimed.step + 1,
        claimed.incident_id,
        if ok { "ran" } else { "failed" },
        claimed.addressed,
        text
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sre_orchestrator::alert::{Alert, AlertSource, AlertStatus};

    use super::*;

    fn claimed(incident_id: i64, step: usize) -> Claimed {
        Claimed {
            incident_id,
            step,
            user: "U0ALICE001".into(),
            addressed: "<@U0ALICE001>".into(),
            what: format!("incident #{incident_id} step {}", step + 1),
            tool: "k8s.rollout_undo".into(),
            arguments: serde_json::json!({"name": "cart", "namespace": "shop"}),
        }
    }

    /// One list names people in Slack and in the portal: ids exactly,
    /// e-mail addresses without regard to case; a user group's id names
    /// nobody by itself (its members are looked up at click time).
    #[test]
    fn approvers_are_listed_by_id_or_email() {
        let list: Vec<String> = ["U0ALICE001", "Lee@Example.com", "S0ONCALL01"]
            .map(String::from)
            .to_vec();
        assert!(listed(&list, "U0ALICE001"));
        assert!(!listed(&list, "u0alice001"), "Slack ids are exact");
        assert!(listed(&list, "lee@example.com"));
        assert!(listed(&list, "LEE@EXAMPLE.COM"));
        assert!(!listed(&list, "lee@example.org"));
        assert!(!listed(&list, "S0ONCALL01x"));
        assert!(!listed(&[], "lee@example.com"));
    }

    /// A shutdown that cuts a run short records it as interrupted, with an
    /// audit row; a run whose result came in first keeps its result.
    #[tokio::test]
    async fn runs_cut_short_by_a_shutdown_are_recorded_as_interrupted() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let alert = Alert {
            source: AlertSource::Alertmanager,
            name: "KubePodCrashLooping".into(),
            status: AlertStatus::Firing,
            severity: None,
            service: Some("cart".into()),
            namespace: Some("shop".into()),
            summary: "cart crash-looping".into(),
            description: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            starts_at: None,
            fingerprint: "fp".into(),
            link: None,
            question: None,
            lookback_secs: None,
        };
        let id = store
            .enqueue_alert(&alert, "{}", std::time::Duration::from_secs(3600))
            .await
            .unwrap()
            .incident_id()
            .unwrap();
        let args = serde_json::json!({"name": "cart", "namespace": "shop"});
        let in_flight = InFlight::default();
        for step in [0, 1] {
            store
                .start_remediation(id, step, "k8s.rollout_undo", &args, "U0ALICE001")
                .await
                .unwrap();
            in_flight.add(&claimed(id, step));
        }
        // Step 0's tool answered just before the deadline.
        store
            .finish_remediation(id, 0, true, "rolled back")
            .await
            .unwrap();
        assert_eq!(in_flight.len(), 2);
        assert_eq!(record_interrupted(&store, &in_flight).await, 1);
        assert!(in_flight.is_empty());
        let runs = store.remediation_runs(id).await.unwrap();
        let status: Vec<_> = runs.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(status, ["succeeded", "interrupted"]);
        assert!(
            runs[1]
                .result
                .as_deref()
                .is_some_and(|r| r.contains("unknown")),
            "{runs:?}"
        );
        let audit = store.audit_log(10).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.actor == "U0ALICE001" && a.result.starts_with("interrupted")),
            "{audit:?}"
        );
        // The registry forgets a run whose result was recorded.
        in_flight.add(&claimed(id, 2));
        in_flight.remove(id, 2);
        assert!(in_flight.is_empty());
    }
}
