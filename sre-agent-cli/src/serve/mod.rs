//! `sre-agent serve`: the bot. One HTTP port carries the alert webhooks
//! (Alertmanager, SigNoz), Slack's Events API, slash commands and
//! interactions, the web portal, the probes and `/metrics`.
//!
//! Intake only records: every alert or request is written to the incident
//! store (deduplicated there) *before* the sender is acknowledged, so an
//! acknowledged alert is never lost, and Slack gets its answer well within
//! its 3 seconds. Investigations run in workers that claim jobs from the
//! store's durable queue with a lease; several replicas on one PostgreSQL
//! share the queue, and a replica that dies mid-investigation loses its
//! lease to another. Each worker posts "investigating…" in Slack and records
//! that message's ts *before* investigating, so a retried job edits that
//! message rather than posting a second one.

pub mod answer;
pub mod guard;
pub mod intake;
pub mod metrics;
mod pictures;
pub mod portal;
pub mod remediate;
mod tools;
pub mod worker;
pub mod workflow;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use incident_store::{Store, StoreOptions};
use jiff::Timestamp;
use sre_orchestrator::llm::LlmClient;
use sre_orchestrator::transcript::ToolSource;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::metrics::Metrics;
use self::worker::SlackOut;

/// The flags of `sre-agent serve` (the data-source and LLM flags are shared
/// with `investigate` and live in the binary). Each flag sits under a heading
/// of `serve --help`, as the MCP servers' flags do: ~45 flags in one list are
/// hard to scan.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on: webhooks, Slack, portal, probes and metrics.
    #[arg(long, env = "SRE_AGENT_LISTEN", help_heading = "Listening")]
    #[arg(default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The incident store: `sqlite://PATH` (one replica) or
    /// `postgres://…` (several replicas sharing one queue).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, help_heading = "Queue")]
    #[arg(default_value = "sqlite://sre-agent.db")]
    pub database_url: String,
    /// Investigations run at once by this replica.
    #[arg(long, default_value_t = 2, help_heading = "Queue")]
    pub concurrency: usize,
    /// The same alert (fingerprint) within this window is one incident:
    /// a duration such as `90s`, `10m`, `2h`; `0` never deduplicates.
    #[arg(long, default_value = "10m", value_parser = mcp_kit::duration::parse, help_heading = "Queue")]
    pub dedup_window: Duration,
    /// A job's lease, seconds: renewed while investigating; a replica that
    /// dies loses its jobs to another replica after this long.
    #[arg(long, default_value_t = 60, help_heading = "Queue")]
    pub lease_secs: u64,
    /// Claims of one job before it is given up as failed.
    #[arg(long, default_value_t = 3, help_heading = "Queue")]
    pub max_attempts: u32,
    /// Delay before a failed (or released) job is tried again, seconds
    /// (doubled per attempt).
    #[arg(long, default_value_t = 30, help_heading = "Queue")]
    pub retry_backoff_secs: u64,
    /// Slack channel (id or name) for the RCAs of webhook alerts. Alerts
    /// that arrive as Slack messages are answered in their own thread.
    #[arg(long, env = "SRE_AGENT_SLACK_CHANNEL", help_heading = "Slack")]
    pub slack_channel: Option<String>,
    /// Slack bot token (`xoxb-…`); without it nothing is posted to Slack.
    #[arg(long, env = "SLACK_BOT_TOKEN", hide_env_values = true, help_heading = "Slack")]
    pub slack_bot_token: Option<String>,
    /// Slack signing secret; the `/slack/*` routes are served only with it.
    #[arg(long, env = "SLACK_SIGNING_SECRET", hide_env_values = true, help_heading = "Slack")]
    pub slack_signing_secret: Option<String>,
    /// Also receive Slack events over Socket Mode (needs `--slack-app-token`).
    #[arg(long, help_heading = "Slack")]
    pub socket_mode: bool,
    /// Slack app-level token (`xapp-…`) for Socket Mode.
    #[arg(long, env = "SLACK_APP_TOKEN", hide_env_values = true, help_heading = "Slack")]
    pub slack_app_token: Option<String>,
    /// Slack Web API base URL (tests point it at a fake).
    #[arg(long, env = "SLACK_API_URL", hide = true, help_heading = "Slack")]
    #[arg(default_value = "https://slack.com/api")]
    pub slack_api_url: String,
    /// Least time between two messages to one Slack channel, milliseconds
    /// (Slack allows about one per second per channel).
    #[arg(long, default_value_t = 1000, help_heading = "Slack")]
    pub slack_post_interval_ms: u64,
    /// Do not share the RCA's pictures (call path, error rate, timeline) as
    /// PNG files in the incident's thread. Sharing them needs the
    /// `files:write` scope; without it each try is a warning and a
    /// `slack_errors` count, and the RCA itself is unaffected.
    #[arg(long, help_heading = "Slack")]
    pub no_slack_pictures: bool,
    /// The portal's public base URL (for "Open in portal" links in Slack).
    #[arg(long, env = "SRE_AGENT_PUBLIC_URL", help_heading = "Portal")]
    pub public_url: Option<String>,
    /// Token protecting the portal: `Authorization: Bearer`, a cookie, or
    /// `?token=` once (which sets the cookie).
    #[arg(long, env = "SRE_AGENT_PORTAL_TOKEN", hide_env_values = true, help_heading = "Portal")]
    pub portal_token: Option<String>,
    /// Trust this header (set by an authenticating reverse proxy, e.g.
    /// `X-Forwarded-User` or oauth2-proxy's `X-Forwarded-Email`) as the
    /// portal user, on connections from `--trusted-proxies` only.
    #[arg(long, help_heading = "Portal")]
    pub trusted_user_header: Option<String>,
    /// The addresses (IPs or CIDRs, comma-separated) of the proxies whose
    /// user header is believed; anyone else's is ignored, so a client that
    /// reaches the bot directly cannot name itself. Loopback by default: a
    /// sidecar proxy in the same pod.
    #[arg(long, value_delimiter = ',', value_parser = portal::parse_net, help_heading = "Portal")]
    #[arg(default_value = "127.0.0.0/8,::1/128")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header carrying the user's groups from the proxy
    /// (comma-separated, e.g. oauth2-proxy's `X-Forwarded-Groups`).
    #[arg(long, help_heading = "Portal")]
    pub trusted_groups_header: Option<String>,
    /// Groups whose members may work incidents in the portal (acknowledge,
    /// resolve, assign, note); others signed in only read. Without it,
    /// everyone the proxy signs in may. The `--portal-token` always reads
    /// only.
    #[arg(long, value_delimiter = ',', help_heading = "Portal")]
    pub responder_groups: Vec<String>,
    /// Groups whose members may also approve and run remediation steps from
    /// the portal (with `--allow-writes`). People on `--approvers` by the
    /// name the proxy gives them (their e-mail) may too.
    #[arg(long, value_delimiter = ',', help_heading = "Portal")]
    pub approver_groups: Vec<String>,
    /// Token the alert webhooks must present, as `Authorization: Bearer`
    /// or as the password of Basic auth. Without it the bot listens only on
    /// loopback, unless `--insecure-open-webhooks`.
    #[arg(
        long,
        env = "SRE_AGENT_WEBHOOK_TOKEN",
        hide_env_values = true,
        help_heading = "Webhooks"
    )]
    pub webhook_token: Option<String>,
    /// Accept alerts from anyone on a non-loopback address without a
    /// webhook token (said in `/readyz` and the portal). For trials only.
    #[arg(long, help_heading = "Webhooks")]
    pub insecure_open_webhooks: bool,
    /// Largest webhook body accepted, bytes (larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, help_heading = "Webhooks")]
    pub webhook_max_bytes: usize,
    /// Most new alerts a minute per webhook source (excess: 429, which
    /// Alertmanager retries); 0 means no limit.
    #[arg(long, default_value_t = 60, help_heading = "Webhooks")]
    pub webhook_rate: u32,
    /// Host names the bot answers to besides `localhost` and the
    /// `--public-url`'s host (DNS-rebinding guard; IP literals always
    /// pass); `*` turns the check off. E.g. `sre-agent.sre.svc`.
    #[arg(
        long,
        value_delimiter = ',',
        env = "SRE_AGENT_ALLOWED_HOSTS",
        help_heading = "Listening"
    )]
    pub allowed_hosts: Vec<String>,
    /// Folder of Markdown runbooks: indexed at start, given to
    /// investigations as context, shown in the portal.
    #[arg(long, help_heading = "Remediation and runbooks")]
    pub runbooks: Option<PathBuf>,
    /// Let approvers run remediation steps: RCAs get "approve and run"
    /// buttons on the steps a write tool can carry out (roll back, restart,
    /// scale), and our Kubernetes server starts with its write tools. Every
    /// click and result is audit-logged.
    #[arg(long, help_heading = "Remediation and runbooks")]
    pub allow_writes: bool,
    /// Who may approve remediations: Slack user ids (`U…`, `W…`), Slack user
    /// groups (`S…`, members looked up when they click) and people's e-mail
    /// addresses, which hold in Slack (the profile's e-mail, scope
    /// `users:read.email`) and in the portal (the proxy's user header) alike,
    /// e.g. `U1,S2,lee@example.com`.
    #[arg(long, value_delimiter = ',', help_heading = "Remediation and runbooks")]
    pub approvers: Vec<String>,
    /// On SIGTERM, how long in-flight investigations may run before their
    /// jobs are released to other replicas, seconds.
    #[arg(long, default_value_t = 30, help_heading = "Queue")]
    pub drain_secs: u64,
    /// This replica's name in job leases (default: host name and pid).
    #[arg(long, env = "SRE_AGENT_WORKER_ID", help_heading = "Queue")]
    pub worker_id: Option<String>,
    /// Test only: make every investigation take at least this long.
    #[arg(long, default_value_t = 0, hide = true, help_heading = "Queue")]
    pub test_investigation_delay_ms: u64,
    /// How often idle workers look for jobs, milliseconds.
    #[arg(long, default_value_t = 500, hide = true, help_heading = "Queue")]
    pub poll_ms: u64,
}

/// What investigations run on, prepared by the binary (the same sources as
/// `investigate`).
#[derive(Clone)]
pub struct Sources {
    /// The tools (a registry of MCP servers, or a scenario's in-process ones).
    pub tools: Arc<dyn ToolSource>,
    /// The LLM, if any (deterministic analysis without).
    pub llm: Option<Arc<LlmClient>>,
    /// A fixed "now" (a scenario's recorded time); the clock otherwise.
    pub now: Option<Timestamp>,
    /// The namespace when an alert names none.
    pub default_namespace: Option<String>,
    /// Most specialist steps.
    pub max_steps: usize,
    /// What one investigation's evidence may spend (`[engine]`).
    pub limits: sre_orchestrator::engine::collect::Limits,
    /// The LLM phase's bounds (`--llm-deadline`): the deterministic RCA is
    /// posted when the model has not finished by then.
    pub llm_phase: sre_orchestrator::investigate::LlmPhase,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("llm", &self.llm.is_some())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Annotation keys under which an alert that arrived as a Slack message
/// keeps where it was posted; the store answers it in that thread.
pub use sre_orchestrator::alert::{ANN_SLACK_CHANNEL, ANN_SLACK_THREAD};

/// What every handler and worker shares.
pub struct App {
    /// The incident store.
    pub store: Store,
    /// The flags.
    pub args: ServeArgs,
    /// The investigation sources.
    pub sources: Sources,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Posting to Slack, when a bot token is configured.
    pub slack: Option<Arc<SlackOut>>,
    /// This replica's name.
    pub worker_id: String,
    /// The runbooks folder (canonical), when given.
    pub runbooks: Option<PathBuf>,
    /// Set on SIGTERM: `/readyz` answers 503 and workers stop claiming.
    pub draining: AtomicBool,
    /// Wakes idle workers when intake queued a job.
    pub wake: Notify,
    /// The host names answered ([`guard::check_host`]).
    pub allowed_hosts: Vec<String>,
    /// New alerts per source and minute.
    pub webhook_rate: guard::RateLimiter,
    /// Background work started by requests (Slack replies, approved
    /// remediations): drained before the store closes.
    pub tasks: TaskTracker,
    /// Approved remediations whose write tool has not answered yet.
    pub remediations: remediate::InFlight,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The portal link of an incident, when the public URL is known.
    pub fn portal_link(&self, incident_id: i64) -> Option<String> {
        self.args
            .public_url
            .as_deref()
            .map(|u| format!("{}/incidents/{incident_id}", u.trim_end_matches('/')))
    }
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "sre-agent".into());
    format!("{host}-{}", std::process::id())
}

/// Builds the whole HTTP app (exposed for in-process tests).
pub fn router(app: Arc<App>) -> Router {
    let webhooks = Router::new()
        .route("/webhook/alertmanager", post(intake::alertmanager))
        .route("/webhook/signoz", post(intake::signoz))
        .layer(axum::extract::DefaultBodyLimit::max(
            app.args.webhook_max_bytes,
        ));
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_handler))
        .merge(webhooks)
        .with_state(Arc::clone(&app))
        .merge(portal::router(Arc::clone(&app)));
    if let Some(secret) = &app.args.slack_signing_secret {
        let state = intake::slack_state(Arc::clone(&app), secret);
        router = router
            .merge(mcp_slack::intake::router(state.clone()))
            .merge(
                // Slack's docs and many app manifests say "interactive"; serve both.
                Router::new()
                    .route(
                        "/slack/interactive",
                        post(mcp_slack::intake::interactions_handler),
                    )
                    .layer(axum::extract::DefaultBodyLimit::max(
                        mcp_slack::intake::MAX_BODY_BYTES,
                    ))
                    .with_state(state),
            );
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            guard::check_host,
        ))
        .layer(axum::middleware::map_response(
            guard::close_after_refused_body,
        ))
}

/// Whether the webhooks accept alerts from anyone (no token on a
/// non-loopback address, allowed by `--insecure-open-webhooks`).
pub fn webhooks_open(args: &ServeArgs) -> bool {
    args.webhook_token.as_deref().is_none_or(str::is_empty) && !args.listen.ip().is_loopback()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), app.store.counts()).await {
        Ok(Ok(_)) if webhooks_open(&app.args) => (
            StatusCode::OK,
            "ready (insecure: the webhooks accept alerts from anyone, no --webhook-token)\n",
        )
            .into_response(),
        Ok(Ok(_)) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unreachable: {e}\n"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store unreachable: timeout\n",
        )
            .into_response(),
    }
}

async fn metrics_handler(State(app): State<Arc<App>>) -> Response {
    if let Ok(counts) = app.store.counts().await {
        app.metrics.observe_counts(&counts);
    }
    match app.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Waits for SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the bot until SIGTERM / Ctrl-C, then drains: `/readyz` turns 503,
/// workers stop claiming, in-flight investigations get `--drain-secs` to
/// finish and are released to other replicas otherwise.
pub async fn run(args: ServeArgs, sources: Sources) -> Result<()> {
    if webhooks_open(&args) {
        if !args.insecure_open_webhooks {
            anyhow::bail!(
                "refusing to accept alerts from anyone on {}: set a webhook token \
                 (--webhook-token or SRE_AGENT_WEBHOOK_TOKEN, sent by Alertmanager as \
                 http_config.authorization or basic_auth), listen on loopback, or pass \
                 --insecure-open-webhooks",
                args.listen
            );
        }
        tracing::warn!(
            listen = %args.listen,
            "--insecure-open-webhooks: anyone who reaches this port can open incidents"
        );
    }
    let store = Store::connect_with(
        &args.database_url,
        StoreOptions {
            max_attempts: args.max_attempts.max(1),
            retry_backoff: Duration::from_secs(args.retry_backoff_secs),
            max_connections: (args.concurrency as u32 + 6).max(8),
            migrate: true,
        },
    )
    .await
    .with_context(|| "cannot open the incident store (--database-url)")?;
    let runbooks = match &args.runbooks {
        Some(dir) => {
            let report = store
                .index_runbooks(dir)
                .await
                .with_context(|| format!("cannot index the runbooks in {}", dir.display()))?;
            tracing::info!(?report, "runbooks indexed");
            Some(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()))
        }
        None => None,
    };
    let slack = args
        .slack_bot_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|token| {
            Arc::new(SlackOut::new(
                &args.slack_api_url,
                token,
                Duration::from_millis(args.slack_post_interval_ms),
            ))
        });
    if slack.is_none() {
        tracing::warn!("no SLACK_BOT_TOKEN: RCAs are kept in the store and portal, not posted");
    }
    if args.portal_token.is_none()
        && args.trusted_user_header.is_none()
        && !args.listen.ip().is_loopback()
    {
        tracing::warn!(
            "the portal has no --portal-token or --trusted-user-header: it answers 403 on a non-loopback address"
        );
    }
    let metrics = Arc::new(Metrics::new());
    let worker_id = args.worker_id.clone().unwrap_or_else(default_worker_id);
    let allowed_hosts = guard::allowed_hosts(&args);
    let webhook_rate = guard::RateLimiter::new(args.webhook_rate);
    let app = Arc::new(App {
        store,
        args,
        sources,
        metrics,
        slack,
        worker_id,
        runbooks,
        draining: AtomicBool::new(false),
        wake: Notify::new(),
        allowed_hosts,
        webhook_rate,
        tasks: TaskTracker::new(),
        remediations: remediate::InFlight::default(),
    });

    let listener = tokio::net::TcpListener::bind(app.args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", app.args.listen))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port when `--listen` says 0.
    eprintln!("sre-agent serve listening on http://{local}");
    tracing::info!(%local, worker = %app.worker_id, "serving");

    let stop_claiming = CancellationToken::new();
    let release = CancellationToken::new();
    let stop_http = CancellationToken::new();

    let mut workers = tokio::task::JoinSet::new();
    for n in 0..app.args.concurrency.max(1) {
        workers.spawn(worker::run(
            Arc::clone(&app),
            n,
            stop_claiming.clone(),
            release.clone(),
        ));
    }

    let socket = if app.args.socket_mode {
        Some(intake::start_socket_mode(
            Arc::clone(&app),
            stop_http.clone(),
        )?)
    } else {
        None
    };

    let http = {
        let stop = stop_http.clone();
        let router = router(Arc::clone(&app));
        tokio::spawn(async move {
            // Replies go out in more than one write; without TCP_NODELAY the
            // second waits for the client's delayed ACK (~40 ms per call,
            // measured in docs/notes/benchmarks-history.md, problem 1).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            // The peer's address tells the portal whether a user header
            // comes from a trusted proxy (`--trusted-proxies`).
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        })
    };

    shutdown_signal().await;
    tracing::info!("shutting down: draining");
    app.draining.store(true, Ordering::SeqCst);
    stop_claiming.cancel();
    app.wake.notify_waiters();
    let drain = Duration::from_secs(app.args.drain_secs);
    let all_done = async { while workers.join_next().await.is_some() {} };
    if tokio::time::timeout(drain, all_done).await.is_err() {
        tracing::warn!("drain time is up: releasing in-flight jobs");
        release.cancel();
        while workers.join_next().await.is_some() {}
    }
    stop_http.cancel();
    if let Some(s) = socket {
        let _ = s.await;
    }
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server error"),
        Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
    }
    // Replies and approved remediations started by requests finish before
    // the store closes, so their results and audit rows are written.
    app.tasks.close();
    if tokio::time::timeout(drain, app.tasks.wait()).await.is_err() {
        tracing::warn!(
            left = app.tasks.len(),
            "drain time is up: background tasks (Slack replies, remediations) cut short"
        );
        let cut = remediate::record_interrupted(&app.store, &app.remediations).await;
        if cut > 0 {
            tracing::warn!(
                runs = cut,
                "approved remediations recorded as interrupted (not retried)"
            );
        }
    }
    app.store.close().await;
    Ok(())
}
