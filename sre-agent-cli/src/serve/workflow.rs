//! Working an incident: acknowledge, mitigate, resolve, reopen, assign,
//! note. One [`apply`] serves the portal's forms and Slack's `/sre ack 12`,
//! so both make the same store calls, audit the same way and tell the
//! incident's Slack thread the same thing.

use std::sync::Arc;

use incident_store::{Incident, Move, Moved, NoteError, StoreError};
use serde_json::{Value, json};

use super::App;

/// What a person does to an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A workflow move.
    Move(Move),
    /// Sets the owner (`None` clears it).
    Assign(Option<String>),
    /// Adds a note.
    Note(String),
}

/// The slash-command verbs [`parse_command`] knows, for the usage line.
pub const COMMAND_USAGE: &str = "`/sre ack|mitigate|resolve|reopen 12`, `/sre assign 12 @who` \
     (no one: `/sre assign 12 -`), `/sre note 12 text`";

/// Reads `/sre <verb> <incident> [rest]`. `None` when the first word is not
/// a workflow verb (the text is then an investigation request); an error
/// says what is wrong with a workflow command.
pub fn parse_command(text: &str) -> Option<Result<(i64, Action), String>> {
    let mut words = text.split_whitespace();
    let verb = words.next()?.to_ascii_lowercase();
    let known = Move::parse(&verb).is_some() || verb == "assign" || verb == "note";
    if !known {
        return None;
    }
    let Some(id) = words.next() else {
        return Some(Err(format!(
            "`{verb}` needs an incident number: {COMMAND_USAGE}"
        )));
    };
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return Some(Err(format!(
            "`{id}` is not an incident number: {COMMAND_USAGE}"
        )));
    };
    let rest = words.collect::<Vec<_>>().join(" ");
    let action = if let Some(mv) = Move::parse(&verb) {
        Action::Move(mv)
    } else if verb == "assign" {
        match rest.as_str() {
            "" => return Some(Err(format!("whom to assign? {COMMAND_USAGE}"))),
            "-" | "none" | "nobody" => Action::Assign(None),
            who => Action::Assign(Some(slack_person(who))),
        }
    } else {
        Action::Note(rest)
    };
    Some(Ok((id, action)))
}

/// A Slack mention as Slack escapes it in a slash command (`<@U123|ana>`,
/// `<@U123>`) in the form people read and Slack renders (`<@U123>`); any
/// other text as given.
fn slack_person(text: &str) -> String {
    match text
        .strip_prefix("<@")
        .and_then(|t| t.strip_suffix('>'))
        .map(|t| t.split('|').next().unwrap_or(t))
    {
        Some(id) if !id.is_empty() => format!("<@{id}>"),
        _ => text.to_string(),
    }
}

/// How long [`Actor::slack`] waits for Slack to say who a user is.
const LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Who works an incident: the name the store and the audit log keep, and
/// how the door they came through shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Kept in the store and the audit log: the portal user's name (the
    /// proxy's user header, their e-mail with oauth2-proxy), or a Slack
    /// user's profile e-mail, so one person has one name whichever door
    /// they used; a Slack user whose e-mail Slack does not give is `<@U…>`.
    pub name: String,
    /// How they are shown: the name in the portal, the mention in Slack.
    pub shown: String,
}

impl Actor {
    /// A portal user, by the name the proxy gives them.
    pub fn portal(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            shown: name.to_string(),
        }
    }

    /// The Slack user `id`: by their profile's e-mail when Slack answers
    /// (`users.info`, scope `users:read.email`; see
    /// [`Approver::from_slack`](super::remediate::Approver::from_slack)),
    /// shown as a mention.
    ///
    /// The lookup is bounded by [`LOOKUP_WAIT`]: Slack wants its answer to a
    /// slash command within three seconds, and a person who cannot be named
    /// by e-mail is still named by mention.
    pub async fn slack(app: &App, id: &str) -> Actor {
        let mention = format!("<@{id}>");
        let lookup = super::remediate::Approver::from_slack(app, id);
        let name = match tokio::time::timeout(LOOKUP_WAIT, lookup).await {
            Ok(super::remediate::Approver::Slack {
                email: Some(email), ..
            }) => email,
            _ => mention.clone(),
        };
        Actor {
            name,
            shown: mention,
        }
    }
}

/// Applies `action` for `actor` and tells the incident's Slack thread. `Ok`
/// is what was done, `Err` why nothing was; both are for the person.
pub async fn apply(
    app: &Arc<App>,
    id: i64,
    action: &Action,
    actor: &Actor,
) -> Result<String, String> {
    let who = actor.name.as_str();
    let shown = actor.shown.as_str();
    let incident = match app.store.get_incident(id).await {
        Ok(Some(i)) => i,
        Ok(None) => return Err(format!("There is no incident #{id}.")),
        Err(e) => return Err(unavailable(&e)),
    };
    // What the person is told, and what the thread is told: the same words,
    // with whatever people typed escaped for Slack (a note or an owner that
    // says `<!channel>` must not ping the channel).
    let (said, thread) = match action {
        Action::Move(mv) => match app.store.move_incident(id, *mv, who).await {
            Ok(Moved::Done { .. }) => {
                let line = |who: &str| format!("Incident #{id} {} by {who}.", done(*mv));
                (line(shown), line(&slack_safe(shown)))
            }
            Ok(Moved::Refused { reason, .. }) => {
                return Err(format!("Incident #{id}: {reason}; nothing changed."));
            }
            Err(e) => return Err(unavailable(&e)),
        },
        Action::Assign(owner) => match app.store.assign(id, owner.as_deref(), who).await {
            Ok(()) => {
                let line = |owner: Option<String>, who: &str| match owner {
                    Some(o) => format!("Incident #{id} is assigned to {o} (by {who})."),
                    None => format!("Incident #{id} has no owner now (by {who})."),
                };
                (
                    line(owner.clone(), shown),
                    line(owner.as_deref().map(slack_safe), &slack_safe(shown)),
                )
            }
            Err(e) => return Err(unavailable(&e)),
        },
        Action::Note(body) => match app.store.add_note(id, who, body).await {
            Ok(note) => (
                format!("{shown} noted on incident #{id}: {}", note.body),
                format!(
                    "{} noted on incident #{id}: {}",
                    slack_safe(shown),
                    mcp_slack::rca::escape(&note.body)
                ),
            ),
            Err(NoteError::Store(e)) => return Err(unavailable(&e)),
            Err(e) => return Err(format!("Incident #{id}: {e}.")),
        },
    };
    tell_thread(app, &incident, thread);
    Ok(said)
}

/// A name as Slack should show it: a user mention this module wrote
/// (`<@U123>`) as is, anything else escaped.
fn slack_safe(name: &str) -> String {
    let mention = name
        .strip_prefix("<@")
        .and_then(|n| n.strip_suffix('>'))
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()));
    if mention {
        name.to_string()
    } else {
        mcp_slack::rca::escape(name)
    }
}

/// What a move did, in words.
fn done(mv: Move) -> &'static str {
    match mv {
        Move::Acknowledge => "acknowledged",
        Move::Mitigate => "marked mitigated",
        Move::Resolve => "resolved",
        Move::Reopen => "reopened",
    }
}

fn unavailable(e: &StoreError) -> String {
    tracing::warn!(error = %e, "incident workflow: store error");
    "The incident store is unavailable right now; nothing changed. Please try again.".into()
}

/// Posts `text` in incident `id`'s Slack thread, in the background.
pub async fn tell(app: &Arc<App>, id: i64, text: String) {
    match app.store.get_incident(id).await {
        Ok(Some(incident)) => tell_thread(app, &incident, text),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not find the incident's thread"),
    }
}

/// Posts `text` in the incident's Slack thread (its RCA message, else the
/// thread it was asked in), in the background.
fn tell_thread(app: &Arc<App>, incident: &Incident, text: String) {
    let Some(slack) = app.slack.clone() else {
        return;
    };
    let (channel, thread) = match (&incident.slack, &incident.reply_channel) {
        (Some(m), _) => (m.channel.clone(), Some(m.ts.clone())),
        (None, Some(c)) => (c.clone(), incident.reply_thread.clone()),
        (None, None) => return,
    };
    let app = Arc::clone(app);
    app.tasks.clone().spawn(async move {
        if let Err(e) = slack.post(&channel, thread.as_deref(), &text, None).await {
            app.metrics.slack_error("chat.postMessage");
            tracing::warn!(error = %e, "could not tell the incident's thread");
        }
    });
}

/// The `action_id` prefix of the workflow buttons on the RCA message; the
/// move's verb follows (`sre_workflow_acknowledge`).
pub const ACTION_PREFIX: &str = "sre_workflow_";

/// The buttons under an RCA in Slack: acknowledge and resolve, the two
/// moves people make from the message itself (the rest: `/sre …`).
pub fn buttons(incident_id: i64) -> Value {
    let button = |mv: Move, text: &str| {
        json!({
            "type": "button",
            "action_id": format!("{ACTION_PREFIX}{}", mv.as_str()),
            "text": {"type": "plain_text", "text": text},
            "value": incident_id.to_string(),
        })
    };
    json!({
        "type": "actions",
        "block_id": "rca_workflow",
        "elements": [
            button(Move::Acknowledge, "Acknowledge"),
            button(Move::Resolve, "Resolve"),
        ],
    })
}

/// The incident and move of a workflow button click in a `block_actions`
/// payload.
pub fn clicked(payload: &Value) -> Option<(i64, Move)> {
    payload.get("actions")?.as_array()?.iter().find_map(|a| {
        let verb = a.get("action_id")?.as_str()?.strip_prefix(ACTION_PREFIX)?;
        let id = a.get("value")?.as_str()?.parse().ok()?;
        Some((id, Move::parse(verb)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_parse_and_others_pass_through() {
        assert_eq!(
            parse_command("ack 12"),
            Some(Ok((12, Action::Move(Move::Acknowledge))))
        );
        assert_eq!(
            parse_command("Resolve #7"),
            Some(Ok((7, Action::Move(Move::Resolve))))
        );
        assert_eq!(
            parse_command("assign 3 <@U42|ana>"),
            Some(Ok((3, Action::Assign(Some("<@U42>".into())))))
        );
        assert_eq!(
            parse_command("assign 3 -"),
            Some(Ok((3, Action::Assign(None))))
        );
        assert_eq!(
            parse_command("note 3 rolled back  to r41"),
            Some(Ok((3, Action::Note("rolled back to r41".into()))))
        );
        assert!(matches!(parse_command("ack"), Some(Err(e)) if e.contains("incident number")));
        assert!(matches!(parse_command("ack twelve"), Some(Err(e)) if e.contains("`twelve`")));
        assert!(matches!(parse_command("assign 3"), Some(Err(e)) if e.contains("whom")));
        assert_eq!(parse_command("investigate service=checkout"), None);
        assert_eq!(slack_safe("<@U42>"), "<@U42>");
        assert_eq!(slack_safe("<!channel>"), "&lt;!channel&gt;");
        assert_eq!(
            slack_safe("<@U42|x> <!here>"),
            "&lt;@U42|x&gt; &lt;!here&gt;"
        );
        // The message's buttons read back as the move they show.
        let block = buttons(12);
        let click =
            |n: usize| json!({"type": "block_actions", "actions": [block["elements"][n].clone()]});
        assert_eq!(clicked(&click(0)), Some((12, Move::Acknowledge)));
        assert_eq!(clicked(&click(1)), Some((12, Move::Resolve)));
        assert_eq!(
            clicked(&json!({"actions": [{"action_id": "sre_confirm", "value": "12"}]})),
            None
        );
        assert_eq!(parse_command("service=checkout since=30m"), None);
    }
}
