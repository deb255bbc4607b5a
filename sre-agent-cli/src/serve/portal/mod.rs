//! The portal: server-rendered HTML (no JavaScript) over the incident store.
//! Incidents with filters, one incident in full in the order an on-call
//! engineer reads it (the cause, what to do, the evidence, the pictures of
//! [`super::pictures`], the timeline, feedback, the transcript), full-text
//! search, runbooks, the audit log.
//!
//! Responders work an incident from its page ([`work`]: acknowledge,
//! mitigate, resolve, reopen, assign, notes), through the same
//! [`super::workflow::apply`] as Slack's `/sre ack 12`.
//!
//! Every value is escaped by maud. Access ([`access`]): `--portal-token` (a
//! bearer header, the `sre_portal` cookie, or `?token=` once, which sets the
//! cookie and redirects to the same page without it), read only; or a
//! person named by an authenticating reverse proxy (`--trusted-user-header`,
//! believed only from `--trusted-proxies`), a responder or a viewer by
//! their groups. With neither the portal answers only on a loopback listen
//! address.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use incident_store::{Incident, IncidentFilter, IncidentStatus, Workflow};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use sre_orchestrator::router::Category;
use sre_orchestrator::transcript::{Entry, Transcript};

use super::App;

mod access;
mod work;

pub use access::{COOKIE, PortalUser, Role, parse_net};

/// The portal's routes, behind its access check.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/incidents/{id}", get(detail))
        .route("/search", get(search))
        .route("/runbooks", get(runbooks))
        .route("/runbooks/view", get(runbook))
        .route("/audit", get(audit))
        .route("/incidents/{id}/move", post(work::move_incident))
        .route("/incidents/{id}/assign", post(work::assign))
        .route("/incidents/{id}/notes", post(work::note))
        .route("/incidents/{id}/approve", post(work::approve))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            access::guard,
        ))
        .with_state(app)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}\
header a{color:#cfe0ff;text-decoration:none}header .user{margin-left:auto;opacity:.7}\
main{padding:1rem 1.5rem;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}\
th{background:#eef1f5}.st{padding:.05rem .4rem;border-radius:.3rem;font-size:.85em;background:#e3e6ea}\
.st-done{background:#d7f0dc}.st-failed{background:#f8d4d4}.st-resolved{background:#d9e6fb}.st-investigating{background:#fdf0c8}\
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}section{background:#fff;padding:.8rem 1rem;margin:.8rem 0;border:1px solid #e3e6ea}\
pre{white-space:pre-wrap;word-break:break-word;background:#f3f4f6;padding:.5rem;font-size:.85em;max-height:30rem;overflow:auto}\
.muted{color:#6b7280}.wf-open{background:#f8d4d4}.wf-acknowledged{background:#fdf0c8}.wf-mitigated{background:#e6dcfa}\
.wf-resolved{background:#d7f0dc}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:#fff;color:#1d2330;padding:.3rem .6rem;z-index:1}form.inline{display:inline-block;margin:.2rem .8rem .2rem 0}.said{background:#eef6ff;padding:.4rem .6rem;border-left:3px solid #3b82f6}";

fn layout(title: &str, user: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · sre-agent" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#content" { "Skip to content" }
                header {
                    strong { "sre-agent" }
                    a href="/" { "Incidents" }
                    a href="/search" { "Search" }
                    a href="/runbooks" { "Runbooks" }
                    a href="/audit" { "Audit log" }
                    @if let Some(u) = user { span.user { (u) } }
                }
                main id="content" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn page(title: &str, user: &PortalUser, body: Markup) -> Response {
    Html(layout(title, user.name.as_deref(), body).into_string()).into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(layout("Error", None, html! { p { (message) } }).into_string()),
    )
        .into_response()
}

fn status_badge(s: IncidentStatus) -> Markup {
    html! { span class=(format!("st st-{}", s.as_str())) { (s.as_str()) } }
}

fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn incident_table(incidents: &[Incident]) -> Markup {
    html! {
        @if incidents.is_empty() {
            p.muted { "No incidents." }
        } @else {
            table {
                thead { tr { th { "#" } th { "Alert" } th { "Service" } th { "Category" } th { "Status" } th { "Workflow" } th { "Owner" } th { "Root cause" } th { "Created" } } }
                tbody {
                    @for i in incidents {
                        tr {
                            td { a href=(format!("/incidents/{}", i.id)) { (i.id) } }
                            td { a class="incident-link" href=(format!("/incidents/{}", i.id)) { (i.alert.name) }
                                 @if i.duplicates > 0 { span.muted { " ×" (i.duplicates + 1) } } }
                            td { (i.alert.service.as_deref().unwrap_or("—")) }
                            td { (i.category.map(|c| c.as_str()).unwrap_or("—")) }
                            td { (status_badge(i.status)) }
                            td { span class=(format!("st wf-{}", i.workflow.as_str())) { (i.workflow.as_str()) } }
                            td { (i.owner.as_deref().unwrap_or("—")) }
                            td { @if let Some(r) = &i.rca { (r.root_cause.component) " (" (r.root_cause.kind) ")" } @else { span.muted { "—" } } }
                            td { (when(i.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// List filters.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    service: Option<String>,
    category: Option<String>,
    status: Option<String>,
    workflow: Option<String>,
    since: Option<String>,
    page: Option<u32>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn list(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    Query(q): Query<ListQuery>,
) -> Response {
    let page_no = q.page.unwrap_or(0);
    let since = match non_empty(&q.since) {
        Some(s) => match sre_orchestrator::alert::parse_duration(s) {
            Ok(secs) => jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_secs(
                    i64::try_from(secs).unwrap_or(i64::MAX),
                ))
                .ok(),
            Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.to_string()),
        },
        None => None,
    };
    let filter = IncidentFilter {
        service: non_empty(&q.service).map(str::to_string),
        category: non_empty(&q.category).and_then(Category::parse),
        status: non_empty(&q.status).and_then(IncidentStatus::parse),
        workflow: non_empty(&q.workflow).and_then(Workflow::parse),
        since,
        limit: 50,
        offset: page_no * 50,
    };
    let incidents = match app.store.list_incidents(&filter).await {
        Ok(i) => i,
        Err(e) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("store unavailable: {e}"),
            );
        }
    };
    let sel = |cur: Option<&str>, v: &str| cur.is_some_and(|c| c.eq_ignore_ascii_case(v));
    let body = html! {
        form.filters method="get" action="/" {
            input name="service" aria-label="Service" placeholder="service" value=(non_empty(&q.service).unwrap_or(""));
            select name="category" aria-label="Category" {
                option value="" { "any category" }
                @for c in Category::ALL { option value=(c.as_str()) selected[sel(non_empty(&q.category), c.as_str())] { (c.as_str()) } }
            }
            select name="status" aria-label="Investigation status" {
                option value="" { "any status" }
                @for s in IncidentStatus::ALL { option value=(s.as_str()) selected[sel(non_empty(&q.status), s.as_str())] { (s.as_str()) } }
            }
            select name="workflow" aria-label="Workflow" {
                option value="" { "any workflow" }
                @for w in Workflow::ALL { option value=(w.as_str()) selected[sel(non_empty(&q.workflow), w.as_str())] { (w.as_str()) } }
            }
            select name="since" aria-label="Created within" {
                option value="" { "any time" }
                @for s in ["1h", "24h", "7d", "30d"] { option value=(s) selected[sel(non_empty(&q.since), s)] { "last " (s) } }
            }
            button type="submit" { "Filter" }
        }
        (incident_table(&incidents))
        p {
            @if page_no > 0 { a href=(format!("/?page={}", page_no - 1)) { "← newer" } " " }
            @if incidents.len() == 50 { a href=(format!("/?page={}", page_no + 1)) { "older →" } }
        }
    };
    page("Incidents", &user, body)
}

/// What the incident page was redirected with.
#[derive(Debug, Default, Deserialize)]
struct DetailQuery {
    /// What the last action did (post/redirect/get).
    said: Option<String>,
}

async fn detail(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    UrlPath(id): UrlPath<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let incident = match app.store.get_incident(id).await {
        Ok(Some(i)) => i,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, &format!("No incident #{id}.")),
        Err(e) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("store unavailable: {e}"),
            );
        }
    };
    let feedback = app.store.feedback(id).await.unwrap_or_default();
    let notes = app.store.notes(id).await.unwrap_or_default();
    let runs = app.store.remediation_runs(id).await.unwrap_or_default();
    let runnable: Vec<usize> = incident
        .rca
        .as_ref()
        .map(|rca| {
            super::remediate::runnable_steps(&app, rca)
                .into_iter()
                .map(|(i, _, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let transcript: Option<Transcript> = app
        .store
        .transcript(id)
        .await
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok());
    let a = &incident.alert;
    let body = html! {
        section id="alert" {
            h2 { (a.name) " " (status_badge(incident.status)) }
            p { (a.summary) }
            table {
                tr { th { "Service" } td { (a.service.as_deref().unwrap_or("—")) } th { "Namespace" } td { (a.namespace.as_deref().unwrap_or("—")) } }
                tr { th { "Source" } td { (format!("{:?}", a.source).to_lowercase()) } th { "Severity" } td { (a.severity.as_deref().unwrap_or("—")) } }
                tr { th { "Created" } td { (when(incident.created_at)) } th { "Last seen" } td { (when(incident.last_seen_at)) " (" (incident.duplicates + 1) " notifications)" } }
                tr { th { "Resolved" } td { (incident.resolved_at.map(when).unwrap_or_else(|| "—".into())) } th { "Requested by" } td { (incident.requested_by.as_deref().unwrap_or("—")) } }
            }
            @if let Some(q) = &a.question { p { strong { "Question: " } (q) } }
            @if let Some(e) = &incident.error { p { strong { "Error: " } (e) } }
        }
        (work::section(&incident, &notes, &user, non_empty(&q.said)))
        @if let Some(rca) = &incident.rca {
            section id="rca" {
                h2 { "Root cause analysis" }
                p { (rca.summary) }
                p { strong { "Root cause: " } (rca.root_cause.component) " (" (rca.root_cause.kind) "): " (rca.root_cause.description)
                    span.muted { " · confidence " (format!("{:.0}%", rca.confidence * 100.0)) " · " (format!("{:?}", rca.mode).to_lowercase()) } }
                @if !rca.alternatives.is_empty() {
                    p { strong { "Also considered: " }
                        @for (n, alt) in rca.alternatives.iter().enumerate() { @if n > 0 { "; " } (alt.component) " (" (alt.kind) ")" } }
                }
                @if let Some(why) = &rca.incomplete { p.muted { "Incomplete: " (why) } }
            }
            section id="remediation" {
                h2 { "What to do" }
                ol { @for (i, r) in rca.remediation.iter().enumerate() { li { (r.action) " " span.muted { "(" (format!("{:?}", r.risk).to_lowercase()) " risk)" }
                    @if let Some(c) = &r.command { pre { (c) } }
                    @if let Some(run) = runs.iter().find(|x| x.step == i) {
                        p.run { strong { "Run: " (run.status) } " · approved by " (run.approved_by) " · " (when(run.started_at)) " · " code { (run.tool) }
                            @if let Some(out) = &run.result { pre { (out) } } }
                    } @else if user.approver().is_some() && runnable.contains(&i) {
                        (work::approve_button(incident.id, i))
                    } } } }
            }
            section id="evidence" {
                h2 { "Evidence" }
                ul { @for e in &rca.evidence { li { strong { (e.source) } ": " (e.detail)
                    @if let Some(l) = e.link.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")) { " " a href=(l) rel="noopener noreferrer" { "link" } } } } }
            }
            @if let Some(pictures) = super::pictures::all(rca) { (pictures) }
            section id="timeline" {
                h2 { "Timeline" }
                table { @for t in &rca.timeline { tr { td { (when(t.at)) } td { (t.source) } td { (t.event) } } } }
            }
            @if !rca.data_gaps.is_empty() {
                section id="gaps" { h2 { "Data gaps" } ul { @for g in &rca.data_gaps { li { (g.source) ": " (g.reason) } } } }
            }
        }
        section id="feedback" {
            h2 { "Feedback" }
            @if feedback.is_empty() { p.muted { "None yet." } }
            ul { @for f in &feedback { li { (when(f.at)) " · " strong { (f.user) } " · " (f.verdict.as_str())
                @if let Some(c) = &f.comment { ": " (c) } } } }
        }
        @if let Some(m) = &incident.slack {
            section id="slack" { h2 { "Slack" } p { "Channel " code { (m.channel) } ", message " code { (m.ts) }
                @if let Some(l) = m.permalink.as_deref().filter(|l| l.starts_with("https://")) { " · " a href=(l) { "open" } } } }
        }
        @if let Some(t) = &transcript {
            section id="transcript" {
                h2 { "Transcript" }
                p.muted { (t.tool_calls()) " tool calls · " (t.llm_usage().prompt_tokens + t.llm_usage().completion_tokens) " LLM tokens" }
                @for e in &t.entries {
                    @match e {
                        Entry::ToolCall { tool, args, outcome } => {
                            details {
                                summary { code { (tool) } " " (args.to_string().chars().take(160).collect::<String>())
                                    span.muted { " · " (outcome.elapsed_ms) " ms" @if outcome.is_error { " · error" } } }
                                pre { (outcome.text.chars().take(20_000).collect::<String>()) }
                            }
                        }
                        Entry::Llm { messages, completion, error, .. } => {
                            details {
                                summary { "LLM exchange (" (messages) " messages)" @if error.is_some() { " · error" } }
                                @if let Some(c) = completion { pre { (c.message.content.clone().unwrap_or_default()) } }
                                @if let Some(err) = error { pre { (err) } }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&format!("Incident #{id}"), &user, body)
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    service: Option<String>,
    workflow: Option<String>,
}

async fn search(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let query = non_empty(&q.q).unwrap_or("").to_string();
    let results = if query.is_empty() {
        Vec::new()
    } else {
        match app.store.search(&query, 50).await {
            Ok(r) => r,
            Err(e) => return error_page(StatusCode::BAD_REQUEST, &format!("search failed: {e}")),
        }
    };
    // Runbooks answer the same words: what to do is often in one.
    let runbook_hits = runbook_hits(&app, &query, 10).await;
    let service = non_empty(&q.service);
    let workflow = non_empty(&q.workflow).and_then(Workflow::parse);
    let results: Vec<_> = results
        .into_iter()
        .filter(|h| service.is_none_or(|s| h.incident.alert.service.as_deref() == Some(s)))
        .filter(|h| workflow.is_none_or(|w| h.incident.workflow == w))
        .collect();
    let body = html! {
        form.filters method="get" action="/search" {
            input name="q" aria-label="Search incidents, notes and runbooks" size="50" placeholder="e.g. checkout oom" value=(query);
            input name="service" aria-label="Service" placeholder="service" value=(service.unwrap_or(""));
            select name="workflow" aria-label="Workflow" {
                option value="" { "any workflow" }
                @for w in Workflow::ALL { option value=(w.as_str()) selected[workflow == Some(w)] { (w.as_str()) } }
            }
            button type="submit" { "Search" }
        }
        @if !query.is_empty() {
            p.muted { (results.len()) " result(s) for “" (query) "”" }
            @if !results.is_empty() {
                table.hits {
                    thead { tr { th { "#" } th { "Alert" } th { "Service" } th { "Workflow" } th { "Where it matched" } th { "Created" } } }
                    tbody { @for h in &results { @let i = &h.incident; tr {
                        td { a href=(format!("/incidents/{}", i.id)) { (i.id) } }
                        td { a class="incident-link" href=(format!("/incidents/{}", i.id)) { (i.alert.name) } }
                        td { (i.alert.service.as_deref().unwrap_or("—")) }
                        td { span class=(format!("st wf-{}", i.workflow.as_str())) { (i.workflow.as_str()) } }
                        td.snippet { (marked(&h.snippet)) }
                        td { (when(i.created_at)) }
                    } } }
                }
            }
            @if let (false, Some(root)) = (runbook_hits.is_empty(), app.runbooks.as_deref()) {
                h2 { "Runbooks" }
                (runbook_list(&runbook_hits, root))
            }
        }
    };
    page("Search", &user, body)
}

/// A search snippet with its matched words in `<mark>`; everything else is
/// text, escaped like every value.
fn marked(snippet: &str) -> Markup {
    let mut parts = Vec::new();
    for (n, piece) in snippet.split(incident_store::MARK_START).enumerate() {
        match piece.split_once(incident_store::MARK_END) {
            Some((hit, rest)) if n > 0 => parts.push((hit, rest)),
            _ => parts.push(("", piece)),
        }
    }
    html! { @for (hit, rest) in parts { @if !hit.is_empty() { mark { (hit) } } (rest) } }
}

/// Markdown files under the runbooks folder (hidden folders skipped), with
/// their titles.
fn runbook_files(root: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else if name.ends_with(".md") || name.ends_with(".markdown") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .to_string();
                let title = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .find_map(|l| l.strip_prefix("# ").map(|h| h.trim().to_string()))
                    })
                    .unwrap_or_else(|| name.clone());
                out.push((rel, title));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

async fn runbooks(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let Some(root) = app.runbooks.clone() else {
        return page(
            "Runbooks",
            &user,
            html! { p.muted { "No runbooks folder (start with --runbooks DIR)." } },
        );
    };
    let query = non_empty(&q.q).unwrap_or("").to_string();
    let hits = runbook_hits(&app, &query, 30).await;
    let folder = root.clone();
    let files = tokio::task::spawn_blocking(move || runbook_files(&folder))
        .await
        .unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/runbooks" {
            input name="q" aria-label="Search runbooks" size="40" placeholder="search runbooks" value=(query);
            button type="submit" { "Search" }
        }
        @if !query.is_empty() { (runbook_list(&hits, &root)) }
        h2 { "All runbooks" }
        ul { @for (path, title) in &files { li { a href=(format!("/runbooks/view?path={}", urlencode(path))) { (title) } " " span.muted { (path) } } } }
    };
    page("Runbooks", &user, body)
}

/// The runbook sections `query` finds (none without a query or a runbooks
/// folder). A store error costs only these hits: it is logged, and the
/// page shows the rest.
async fn runbook_hits(app: &App, query: &str, limit: u32) -> Vec<incident_store::RunbookHit> {
    if query.is_empty() || app.runbooks.is_none() {
        return Vec::new();
    }
    app.store
        .search_runbooks(query, limit)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "runbook search failed");
            Vec::new()
        })
}

/// Runbook sections found, each a link to its runbook with the matched
/// words marked; the runbooks page and the search page show them alike.
/// The store keeps each file's full path; links name it relative to the
/// runbooks folder `root`, as the list of all runbooks does.
fn runbook_list(hits: &[incident_store::RunbookHit], root: &Path) -> Markup {
    let relative = |p: &str| {
        Path::new(p)
            .strip_prefix(root)
            .map_or_else(|_| p.to_string(), |r| r.to_string_lossy().to_string())
    };
    html! {
        ul.runbook-hits { @for h in hits { li {
            a href=(format!("/runbooks/view?path={}", urlencode(&relative(&h.path)))) { (h.title) } " § " (h.heading)
            br; span.muted.snippet { (marked(&h.snippet)) }
        } } }
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("p", s)])
        .map(|e| e.trim_start_matches("p=").to_string())
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
struct RunbookQuery {
    path: String,
}

/// The runbook file, if `rel` stays inside `root` (no `..` escapes,
/// symlinks resolved).
fn runbook_path(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = rel
        .trim_start_matches(root.to_string_lossy().as_ref())
        .trim_start_matches('/');
    let full = std::fs::canonicalize(root.join(rel)).ok()?;
    (full.starts_with(root) && full.is_file()).then_some(full)
}

/// A small Markdown subset: headings, fenced code, list items, paragraphs.
fn markdown(text: &str) -> Markup {
    let mut blocks: Vec<Markup> = Vec::new();
    let mut code: Option<String> = None;
    let mut para = String::new();
    let flush = |para: &mut String, blocks: &mut Vec<Markup>| {
        if !para.trim().is_empty() {
            blocks.push(html! { p { (para.trim()) } });
        }
        para.clear();
    };
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match code.take() {
                Some(c) => blocks.push(html! { pre { (c) } }),
                None => {
                    flush(&mut para, &mut blocks);
                    code = Some(String::new());
                }
            }
            continue;
        }
        if let Some(c) = code.as_mut() {
            c.push_str(line);
            c.push('\n');
            continue;
        }
        let t = line.trim();
        if let Some(h) = t.strip_prefix("### ") {
            flush(&mut para, &mut blocks);
            blocks.push(html! { h4 { (h) } });
        } else if let Some(h) = t.strip_prefix("## ") {
            flush(&mut para, &mut blocks);
            blocks.push(html! { h3 { (h) } });
        } else if let Some(h) = t.strip_prefix("# ") {
            flush(&mut para, &mut blocks);
            blocks.push(html! { h2 { (h) } });
        } else if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            flush(&mut para, &mut blocks);
            blocks.push(html! { ul { li { (item) } } });
        } else if t.is_empty() {
            flush(&mut para, &mut blocks);
        } else {
            para.push_str(t);
            para.push(' ');
        }
    }
    if let Some(c) = code {
        blocks.push(html! { pre { (c) } });
    }
    flush(&mut para, &mut blocks);
    html! { @for b in blocks { (b) } }
}

async fn runbook(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
    Query(q): Query<RunbookQuery>,
) -> Response {
    let Some(root) = app.runbooks.clone() else {
        return error_page(StatusCode::NOT_FOUND, "No runbooks folder.");
    };
    let Some(path) = runbook_path(&root, &q.path) else {
        return error_page(StatusCode::NOT_FOUND, "No such runbook.");
    };
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(t) => t,
        Err(e) => {
            return error_page(
                StatusCode::NOT_FOUND,
                &format!("cannot read the runbook: {e}"),
            );
        }
    };
    page(&q.path, &user, html! { section { (markdown(&text)) } })
}

async fn audit(
    State(app): State<Arc<App>>,
    axum::Extension(user): axum::Extension<PortalUser>,
) -> Response {
    let entries = match app.store.audit_log(200).await {
        Ok(e) => e,
        Err(e) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("store unavailable: {e}"),
            );
        }
    };
    let body = html! {
        @if entries.is_empty() { p.muted { "No entries." } }
        @else {
            table {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "On" } th { "Result" } } }
                tbody { @for e in &entries { tr { td { (when(e.at)) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.result) } } } }
            }
        }
    };
    page("Audit log", &user, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_mark_the_words_found_and_escape_the_rest() {
        let s = format!(
            "<b>TLS</b> certificate {}expired{} at 02:00 {}x{}",
            incident_store::MARK_START,
            incident_store::MARK_END,
            incident_store::MARK_START,
            incident_store::MARK_END
        );
        assert_eq!(
            marked(&s).into_string(),
            "&lt;b&gt;TLS&lt;/b&gt; certificate <mark>expired</mark> at 02:00 <mark>x</mark>"
        );
        assert_eq!(marked("no marks").into_string(), "no marks");
    }

    #[test]
    fn markdown_escapes() {
        let out = markdown("# T <b>\n\n```\n<script>\n```\n- a & b").into_string();
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(!out.contains("<script>"));
        assert!(out.contains("a &amp; b"));
    }
}
