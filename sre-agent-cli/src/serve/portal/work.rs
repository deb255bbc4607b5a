//! Working an incident from its page: the workflow section (state, owner,
//! notes) and the three forms behind it. Plain HTML forms, post/redirect/get:
//! the answer is a redirect back to the incident with what happened in
//! `?said=`, so a reload never posts twice.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path as UrlPath, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use incident_store::{Incident, Move, Note, Workflow};
use maud::{Markup, html};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::workflow::{self, Action};
use super::super::{App, remediate};
use super::{PortalUser, error_page, when};

/// A urlencoded form body, extracted like axum's `Form` but answered with
/// the portal's own 400 page when it is not the form.
pub(super) struct PortalForm<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PortalForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_urlencoded::from_bytes(&body)
            .map(PortalForm)
            .map_err(|e| {
                error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("The form could not be read: {e}."),
                )
            })
    }
}

/// A request the user's role does not allow: audited (`why`), and answered
/// 403 with `message`.
async fn refused(app: &App, user: &PortalUser, id: i64, why: &str, message: &str) -> Response {
    let who = user.name.as_deref().unwrap_or("portal token");
    if let Err(e) = app
        .store
        .audit(who, "portal.denied", &format!("incident #{id}"), why)
        .await
    {
        tracing::warn!(error = %e, "could not audit a refused portal request");
    }
    error_page(StatusCode::FORBIDDEN, message)
}

/// Post/redirect/get: back to the incident's `section`, with what happened.
fn back(id: i64, said: &str, section: &str) -> Response {
    let query = serde_urlencoded::to_string([("said", said)]).unwrap_or_default();
    Redirect::to(&format!("/incidents/{id}?{query}#{section}")).into_response()
}

/// Reading is for everyone let in; working an incident needs a name and
/// the responder role. A refusal is audited and answers 403.
async fn act(app: &Arc<App>, user: &PortalUser, id: i64, action: Action) -> Response {
    let Some(who) = user.responder() else {
        return refused(
            app,
            user,
            id,
            "not a responder",
            "Only responders can work incidents here: sign in through the portal's proxy as a \
             member of a responder group (the access token only reads).",
        )
        .await;
    };
    let said = match workflow::apply(app, id, &action, &workflow::Actor::portal(who)).await {
        Ok(s) | Err(s) => s,
    };
    back(id, &said, "workflow")
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    /// acknowledge | mitigate | resolve | reopen.
    action: String,
}

/// `POST /incidents/{id}/move`.
pub(super) async fn move_incident(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    UrlPath(id): UrlPath<i64>,
    PortalForm(f): PortalForm<MoveForm>,
) -> Response {
    let Some(mv) = Move::parse(&f.action) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "`{}` is not a move: acknowledge, mitigate, resolve or reopen.",
                f.action
            ),
        );
    };
    act(&app, &user, id, Action::Move(mv)).await
}

#[derive(Debug, Deserialize)]
pub(super) struct AssignForm {
    /// Empty: nobody.
    #[serde(default)]
    owner: String,
}

/// `POST /incidents/{id}/assign`.
pub(super) async fn assign(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    UrlPath(id): UrlPath<i64>,
    PortalForm(f): PortalForm<AssignForm>,
) -> Response {
    let owner = Some(f.owner.trim().to_string()).filter(|o| !o.is_empty());
    act(&app, &user, id, Action::Assign(owner)).await
}

#[derive(Debug, Deserialize)]
pub(super) struct NoteForm {
    #[serde(default)]
    body: String,
}

/// `POST /incidents/{id}/notes`.
pub(super) async fn note(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    UrlPath(id): UrlPath<i64>,
    PortalForm(f): PortalForm<NoteForm>,
) -> Response {
    act(&app, &user, id, Action::Note(f.body)).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ApproveForm {
    /// The remediation step's index in the RCA.
    step: usize,
}

/// `POST /incidents/{id}/approve`: an approver runs a remediation step,
/// through the same checks, claim and audit as Slack's button
/// ([`remediate::approve`]).
pub(super) async fn approve(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    UrlPath(id): UrlPath<i64>,
    PortalForm(f): PortalForm<ApproveForm>,
) -> Response {
    let Some(name) = user.approver() else {
        return refused(
            &app,
            &user,
            id,
            "not an approver",
            "Only approvers can run remediation steps: sign in as a member of an approver group.",
        )
        .await;
    };
    let approver = remediate::Approver::Portal(name.to_string());
    let said = match remediate::approve(&app, &approver, &format!("{id}:{}", f.step)).await {
        Ok(remediate::Approval::Refused(text)) => text,
        Ok(remediate::Approval::Run(claimed)) => {
            let starting = claimed.starting();
            workflow::tell(&app, id, starting.clone()).await;
            // The write may take a while: it runs in the background and its
            // result goes to the thread and the page's "Run:" line.
            let app2 = Arc::clone(&app);
            app.tasks.clone().spawn(async move {
                let text = remediate::run(&app2, claimed).await;
                workflow::tell(&app2, id, text).await;
            });
            starting
        }
        Err(e) => {
            tracing::warn!(error = %e, "portal approval: store error");
            "The incident store is unavailable right now; nothing was run.".into()
        }
    };
    back(id, &said, "remediation")
}

/// The approve button of remediation step `step`, for an approver.
pub(super) fn approve_button(incident_id: i64, step: usize) -> Markup {
    html! {
        form.inline method="post" action=(format!("/incidents/{incident_id}/approve")) {
            input type="hidden" name="step" value=(step);
            button type="submit" { "Approve and run step " (step + 1) }
        }
    }
}

fn workflow_badge(w: Workflow) -> Markup {
    html! { span class=(format!("st wf-{}", w.as_str())) { (w.as_str()) } }
}

/// The incident page's workflow section: state, owner, what was said about
/// the last action, notes, and the forms when the user may work it.
pub(super) fn section(
    incident: &Incident,
    notes: &[Note],
    user: &PortalUser,
    said: Option<&str>,
) -> Markup {
    let id = incident.id;
    let me = user.responder();
    html! {
        section id="workflow" {
            h2 { "Workflow " (workflow_badge(incident.workflow)) }
            @if let Some(s) = said { p.said role="status" { (s) } }
            p { strong { "Owner: " } (incident.owner.as_deref().unwrap_or("nobody")) }
            @if me.is_some() {
                form.inline method="post" action=(format!("/incidents/{id}/move")) {
                    @for mv in Move::allowed(incident.workflow) {
                        button type="submit" name="action" value=(mv.as_str()) { (label(mv)) }
                        " "
                    }
                }
                form.inline method="post" action=(format!("/incidents/{id}/assign")) {
                    label { "Owner " input name="owner" value=(incident.owner.as_deref().or(me).unwrap_or("")); }
                    " " button type="submit" { "Assign" }
                }
            } @else {
                p.muted { "Sign in as a responder to acknowledge, resolve, assign or add notes." }
            }
            h3 { "Notes" }
            @if notes.is_empty() { p.muted { "None yet." } }
            ul.notes { @for n in notes { li { (when(n.at)) " · " strong { (n.author) } " · "
                @if let Some(l) = n.link() { a href=(l) rel="noopener noreferrer" { (l) } } @else { (n.body) } } } }
            @if me.is_some() {
                form method="post" action=(format!("/incidents/{id}/notes")) {
                    label { "Add a note " textarea name="body" rows="2" cols="60" maxlength=(incident_store::NOTE_MAX_CHARS) {} }
                    " " button type="submit" { "Add note" }
                }
            }
        }
    }
}

fn label(mv: Move) -> &'static str {
    match mv {
        Move::Acknowledge => "Acknowledge",
        Move::Mitigate => "Mark mitigated",
        Move::Resolve => "Resolve",
        Move::Reopen => "Reopen",
    }
}
