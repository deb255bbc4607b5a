//! Serving a guarded server over stdio or streamable HTTP, chosen by flags.
//!
//! A server's `main` flattens [`KitArgs`] into its own clap struct, builds its
//! server value (without touching its backend: connections are lazy, so
//! `initialize` and `tools/list` answer at once even when the backend is
//! down) and calls [`run`].
//!
//! Over HTTP the MCP endpoint is `/mcp` (rmcp's streamable HTTP service on
//! axum), beside `/healthz` (the process is up) and `/readyz` (it accepts
//! work; 503 once shutdown has begun, so a load balancer drains it first).
//! `/mcp` requires `Authorization: Bearer <token>` unless `--no-auth` was given,
//! which is only accepted on a loopback address; a request without it gets 403
//! (not 401, which MCP clients take as "start OAuth": see `require_token`). The `Host` header is checked
//! against `--allowed-hosts` (rmcp's DNS-rebinding guard, which only accepts
//! loopback names by default and so must be widened for in-cluster use).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, DEFAULT_MAX_TOKENS};
use crate::server::{Guarded, KitServer, ToolPolicy, UnknownToolError};

/// The transport a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// JSON-RPC over stdin/stdout: what desktop MCP hosts spawn.
    Stdio,
    /// MCP streamable HTTP at `/mcp`: for shared and in-cluster servers.
    Http,
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The flags every server shares; flatten into the server's own clap struct
/// with `#[command(flatten)]`.
#[derive(Debug, Clone, clap::Args)]
pub struct KitArgs {
    /// Transport: `stdio` for desktop hosts, `http` for streamable HTTP at /mcp.
    #[arg(long, value_enum, default_value = "stdio", help_heading = "Serving")]
    pub transport: Transport,

    /// Address to listen on with `--transport http`.
    #[arg(long, default_value = "127.0.0.1:8080", help_heading = "Serving")]
    pub listen: SocketAddr,

    /// Bearer token HTTP clients must send (prefer the environment variable or
    /// --auth-token-file to keep it out of process listings).
    #[arg(long, hide_env_values = true, help_heading = "Serving")]
    pub auth_token: Option<String>,

    /// File holding the bearer token (e.g. a mounted Kubernetes Secret).
    #[arg(long, help_heading = "Serving")]
    pub auth_token_file: Option<PathBuf>,

    /// Serve HTTP without a token. Refused unless --listen is a loopback address.
    #[arg(long, help_heading = "Serving")]
    pub no_auth: bool,

    /// Host names (or host:port) accepted in the HTTP Host header; `*` accepts
    /// any. Loopback names are always accepted.
    #[arg(long, value_delimiter = ',', help_heading = "Serving")]
    pub allowed_hosts: Vec<String>,

    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, help_heading = "Serving")]
    pub max_body_bytes: usize,

    /// Expose tools that can change the observed system (they are not even
    /// listed otherwise).
    #[arg(long, help_heading = "Tools")]
    pub allow_writes: bool,

    /// Expose only these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', help_heading = "Tools")]
    pub enable_tools: Vec<String>,

    /// Never expose these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', help_heading = "Tools")]
    pub disable_tools: Vec<String>,

    /// Largest tool result, in tokens (o200k_base); larger results are cut
    /// with a note saying how to get the rest.
    #[arg(long, default_value_t = DEFAULT_MAX_TOKENS, help_heading = "Tools")]
    pub max_output_tokens: usize,

    /// Log filter, in RUST_LOG syntax (e.g. `info`, `mcp_kit=debug`). Logs go
    /// to stderr. Defaults to RUST_LOG, else `info`.
    #[arg(long, help_heading = "Logging")]
    pub log_level: Option<String>,

    /// Log format.
    #[arg(long, value_enum, default_value = "text", help_heading = "Logging")]
    pub log_format: LogFormat,
}

impl KitArgs {
    /// The tool policy these flags describe.
    pub fn policy(&self) -> ToolPolicy {
        ToolPolicy {
            allow_writes: self.allow_writes,
            enable: self.enable_tools.clone(),
            disable: self.disable_tools.clone(),
        }
    }

    /// The response budget these flags describe.
    pub fn budget(&self) -> Budget {
        Budget::new(self.max_output_tokens)
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A tool policy flag named a tool that does not exist.
    #[error(transparent)]
    UnknownTool(#[from] UnknownToolError),
    /// HTTP was asked for without a token and not on loopback.
    #[error(
        "--transport http needs a bearer token (--auth-token-file, or the AUTH_TOKEN environment \
         variable of this server); --no-auth is only accepted when --listen is a loopback address, \
         and {0} is not"
    )]
    NoToken(SocketAddr),
    /// The token file could not be read or is empty.
    #[error("cannot read the auth token from {path}: {reason}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The MCP session over stdio failed to start.
    #[error("MCP over stdio: {0}")]
    Stdio(String),
}

/// Exit code of a configuration error: the flags, the environment or a file
/// they name cannot work (the same code as [`crate::config::ConfigError`]).
pub const EXIT_CONFIG: i32 = 2;
/// Exit code of a failure while serving.
pub const EXIT_RUNTIME: i32 = 1;

impl ServeError {
    /// The process exit code for this error: [`EXIT_CONFIG`] when the
    /// configuration is at fault (an unknown tool in `--enable-tools`, no
    /// token, an unreadable token file, an address that cannot be bound),
    /// else [`EXIT_RUNTIME`].
    pub fn exit_code(&self) -> i32 {
        match self {
            ServeError::UnknownTool(_) | ServeError::NoToken(_) | ServeError::TokenFile { .. } => {
                EXIT_CONFIG
            }
            ServeError::Io { context, .. } if context.starts_with(BIND_CONTEXT) => EXIT_CONFIG,
            ServeError::Io { .. } | ServeError::Stdio(_) => EXIT_RUNTIME,
        }
    }

    /// Prints the error on stderr and exits with [`ServeError::exit_code`].
    pub fn exit(self) -> ! {
        eprintln!("error: {self}");
        std::process::exit(self.exit_code())
    }
}

/// What a server's `main` calls: serves, and on error prints it and exits with
/// the code it calls for (2 for configuration errors, see
/// [`ServeError::exit_code`]).
///
/// A missing HTTP token is worded with the server's own variable
/// (`MCP_KUBERNETES_AUTH_TOKEN` for `mcp-kubernetes`), which the error's
/// generic message cannot name.
pub async fn run_or_exit<S: KitServer>(server: S, args: &KitArgs) {
    let Err(error) = run(server, args).await else {
        return;
    };
    if let ServeError::NoToken(addr) = &error {
        let var = token_variable(S::description().name);
        eprintln!(
            "error: --transport http needs a bearer token: set {var} or pass \
             --auth-token-file FILE (--no-auth is only accepted when --listen is a loopback \
             address, and {addr} is not)"
        );
        std::process::exit(error.exit_code());
    }
    error.exit()
}

/// The environment variable holding a server's HTTP token: `mcp-signoz` →
/// `MCP_SIGNOZ_AUTH_TOKEN` (the prefix [`crate::config`] reads flags from).
pub fn token_variable(server_name: &str) -> String {
    format!(
        "{}_AUTH_TOKEN",
        server_name.to_ascii_uppercase().replace('-', "_")
    )
}

/// How a bind failure's context starts; [`ServeError::exit_code`] reads it.
const BIND_CONTEXT: &str = "cannot listen on";

/// Installs the stderr logger described by the flags. Call once, first.
pub fn init_logging(args: &KitArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = args
        .log_level
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,rmcp=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // A second call (tests) keeps the first logger.
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Serves `server` over the transport the flags choose, until the client
/// disconnects (stdio) or SIGTERM/SIGINT arrives.
pub async fn run<S: KitServer>(server: S, args: &KitArgs) -> Result<(), ServeError> {
    let guarded = Guarded::new(server, &args.policy(), args.budget())?;
    match args.transport {
        Transport::Stdio => serve_stdio(guarded).await,
        Transport::Http => serve_http(guarded, args).await,
    }
}

async fn serve_stdio<S: KitServer>(guarded: Guarded<S>) -> Result<(), ServeError> {
    let service = match guarded.serve(rmcp::transport::stdio()).await {
        Ok(service) => service,
        // The client closed stdin before any session began: a host that only
        // probed the server (a lone 2026-07-28 `server/discover`, which is
        // what the Inspector's modern era sends for `--method initialize`) or
        // gave up. Nothing failed, and an `error:` line here is what the host
        // would show its user as the server's own.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            tracing::debug!("the stdio client left before starting a session");
            return Ok(());
        }
        Err(e) => return Err(ServeError::Stdio(e.to_string())),
    };
    tokio::select! {
        result = service.waiting() => {
            if let Err(e) = result {
                tracing::warn!(error = %e, "stdio session ended with an error");
            }
        }
        () = shutdown_signal() => tracing::info!("signal received; exiting"),
    }
    Ok(())
}

fn read_token(args: &KitArgs) -> Result<Option<String>, ServeError> {
    if let Some(path) = &args.auth_token_file {
        let token = std::fs::read_to_string(path).map_err(|e| ServeError::TokenFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(ServeError::TokenFile {
                path: path.clone(),
                reason: "the file is empty".into(),
            });
        }
        return Ok(Some(token));
    }
    Ok(args
        .auth_token
        .as_ref()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

#[derive(Clone)]
struct HttpState {
    token: Option<Arc<str>>,
    ready: Arc<AtomicBool>,
}

/// Builds the HTTP router: `/mcp` behind the token check, `/healthz`,
/// `/readyz`. Public so a process can mount a server beside other routes.
pub fn http_router<S: KitServer>(
    guarded: Guarded<S>,
    args: &KitArgs,
    cancel: CancellationToken,
    ready: Arc<AtomicBool>,
) -> Result<Router, ServeError> {
    let token = read_token(args)?;
    if token.is_none() && !(args.no_auth && args.listen.ip().is_loopback()) {
        return Err(ServeError::NoToken(args.listen));
    }
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let config = if args.allowed_hosts.iter().any(|h| h == "*") {
        StreamableHttpServerConfig::default().disable_allowed_hosts()
    } else {
        hosts.extend(args.allowed_hosts.iter().cloned());
        if !args.listen.ip().is_unspecified() {
            hosts.push(args.listen.ip().to_string());
        }
        StreamableHttpServerConfig::default().with_allowed_hosts(hosts)
    };
    let config = config
        .with_cancellation_token(cancel)
        .with_max_request_body_bytes(args.max_body_bytes);
    let service = StreamableHttpService::new(
        move || Ok(guarded.clone()),
        LocalSessionManager::default().into(),
        config,
    );
    let state = HttpState {
        token: token.map(Arc::from),
        ready,
    };
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    Ok(Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn(delete_answers_no_content))
        .layer(middleware::from_fn_with_state(state, require_token))
        .merge(health))
}

async fn serve_http<S: KitServer>(guarded: Guarded<S>, args: &KitArgs) -> Result<(), ServeError> {
    let cancel = CancellationToken::new();
    let ready = Arc::new(AtomicBool::new(true));
    let router = http_router(guarded, args, cancel.child_token(), Arc::clone(&ready))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| ServeError::Io {
            context: format!(
                "{BIND_CONTEXT} {} (is another process using it?)",
                args.listen
            ),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServeError::Io {
        context: "listener address".into(),
        source,
    })?;
    tracing::info!(address = %local, "serving MCP over streamable HTTP at http://{local}/mcp");
    // Replies go out in more than one write; without TCP_NODELAY the
    // second waits for the client's delayed ACK (~40 ms per call,
    // measured in docs/notes/benchmarks-history.md, problem 1).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("signal received; draining");
            ready.store(false, Ordering::SeqCst);
            cancel.cancel();
        })
        .await
        .map_err(|source| ServeError::Io {
            context: "HTTP server".into(),
            source,
        })
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The answer to a request without the right bearer token: 403, not 401.
///
/// In MCP a 401 means "authorize with OAuth": the authorization spec has
/// clients answer any 401 by looking for protected resource metadata (the
/// `resource_metadata` parameter of `WWW-Authenticate`, else
/// `/.well-known/oauth-protected-resource`) and then registering with an
/// authorization server, and the official TypeScript SDK (so the MCP Inspector)
/// does so for every 401. These servers take a pre-shared token and have no
/// authorization server, so that flow can only fail, after several requests,
/// with an OAuth error that hides the real one. A 403 without
/// `WWW-Authenticate` starts no flow, and hosts show its body.
async fn require_token(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    if let Some(expected) = &state.token {
        let ok = bearer(request.headers())
            .is_some_and(|got| bool::from(got.as_bytes().ct_eq(expected.as_bytes())));
        if !ok {
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "missing or wrong bearer token: send `Authorization: Bearer <token>` with the token \
                 this server was started with (--auth-token-file or its AUTH_TOKEN variable); \
                 it does not use OAuth\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// rmcp answers a session's `DELETE /mcp` with 202 Accepted; the official
/// Python SDK treats anything but 200/204 as a failed termination and logs a
/// warning on every close. The session is closed by then, so 204 is the
/// truthful answer.
async fn delete_answers_no_content(request: Request, next: Next) -> Response {
    let is_delete = request.method() == axum::http::Method::DELETE;
    let response = next.run(request).await;
    if is_delete && response.status() == StatusCode::ACCEPTED {
        return StatusCode::NO_CONTENT.into_response();
    }
    response
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
