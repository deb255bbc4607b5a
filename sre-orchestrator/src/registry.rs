//! The tool registry: every MCP server an investigation may use, and their
//! tools under collision-free names.
//!
//! Servers are reached over stdio (the registry spawns the binary), over
//! streamable HTTP (URL and bearer token), or in-process (a server value
//! connected through an in-memory pipe: what the offline demo uses, so it
//! needs no binaries on the PATH). Whatever the transport, the registry talks
//! MCP through rmcp's client, so a custom server a user adds to the config is
//! exactly as usable as ours.
//!
//! Tools are named `server.tool` (`k8s.pod_logs`), which never collides
//! across servers. A server that fails to start, answers nothing, or dies
//! mid-investigation is recorded as a [`DataGap`] and its tools answer with an
//! error; the investigation goes on without it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ContentBlock, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServerHandler, ServiceExt};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing::field::Empty;

use crate::rca::DataGap;

/// How to reach one MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transport", rename_all = "snake_case")]
pub enum ServerTransport {
    /// Spawn a binary and speak MCP over its stdin/stdout.
    Stdio {
        /// The program.
        command: PathBuf,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Extra environment variables.
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    /// Streamable HTTP.
    Http {
        /// The MCP endpoint, e.g. `http://mcp-kubernetes:8080/mcp`.
        url: String,
        /// Bearer token, if the server needs one.
        #[serde(default)]
        token: Option<String>,
    },
}

/// One configured server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Short name used as the tool prefix (`k8s`, `signoz`, `mongo`, …).
    pub name: String,
    /// How to reach it.
    #[serde(flatten)]
    pub transport: ServerTransport,
}

/// A tool as the registry exposes it.
#[derive(Debug, Clone)]
pub struct RegisteredTool {
    /// `server.tool`.
    pub qualified: String,
    /// The server's name.
    pub server: String,
    /// The tool as the server describes it.
    pub tool: Tool,
}

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutcome {
    /// The tool's text (all text blocks joined), or the error.
    pub text: String,
    /// Whether the call failed (the tool said so, or the server is gone).
    pub is_error: bool,
    /// How long it took.
    pub elapsed_ms: u64,
}

impl ToolOutcome {
    fn error(text: String, started: Instant) -> Self {
        Self {
            text,
            is_error: true,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }
}

struct Server {
    client: RunningService<RoleClient, ()>,
    tools: Vec<Tool>,
}

/// The connected servers.
pub struct Registry {
    servers: BTreeMap<String, Server>,
    gaps: Mutex<Vec<DataGap>>,
    call_timeout: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("servers", &self.servers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl Registry {
    /// An empty registry whose tool calls time out after `call_timeout`.
    pub fn new(call_timeout: Duration) -> Self {
        Self {
            servers: BTreeMap::new(),
            gaps: Mutex::new(Vec::new()),
            call_timeout,
        }
    }

    fn gap(&self, source: &str, reason: String) {
        tracing::warn!(server = source, %reason, "data gap");
        self.gaps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(DataGap {
                source: source.to_string(),
                reason,
            });
    }

    /// Sources that failed so far.
    pub fn gaps(&self) -> Vec<DataGap> {
        self.gaps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Connects every configured server in parallel, each within
    /// `connect_timeout`. Failures become data gaps, not errors.
    pub async fn connect_all(&mut self, configs: &[ServerConfig], connect_timeout: Duration) {
        let attempts = configs.iter().map(|c| async move {
            let result = tokio::time::timeout(connect_timeout, connect(c)).await;
            let result = match result {
                Ok(r) => r,
                Err(_) => Err(format!("did not answer within {connect_timeout:?}")),
            };
            (c.name.clone(), result)
        });
        for (name, result) in futures::future::join_all(attempts).await {
            match result {
                Ok(server) => {
                    self.servers.insert(name, server);
                }
                Err(reason) => self.gap(&name, format!("could not connect: {reason}")),
            }
        }
    }

    /// Connects a server value in-process, through an in-memory pipe.
    pub async fn add_in_process<S: ServerHandler>(&mut self, name: &str, server: S) {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server_task = tokio::spawn(async move {
            match server.serve(server_io).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::warn!(error = %e, "in-process server failed to start"),
            }
        });
        drop(server_task);
        match handshake(().serve(client_io).await.map_err(|e| e.to_string())).await {
            Ok(server) => {
                self.servers.insert(name.to_string(), server);
            }
            Err(reason) => self.gap(name, format!("could not connect: {reason}")),
        }
    }

    /// Every tool of every connected server, sorted by qualified name.
    pub fn tools(&self) -> Vec<RegisteredTool> {
        self.servers
            .iter()
            .flat_map(|(server, s)| {
                s.tools.iter().map(move |tool| RegisteredTool {
                    qualified: format!("{server}.{}", tool.name),
                    server: server.clone(),
                    tool: tool.clone(),
                })
            })
            .collect()
    }

    /// The names of the connected servers.
    pub fn servers(&self) -> Vec<String> {
        self.servers.keys().cloned().collect()
    }

    /// Calls `server.tool` with `args`. Never fails: errors come back as an
    /// error outcome the caller (or the model) can read, and a server that is
    /// gone is recorded as a data gap.
    ///
    /// Traced as a `tool_call` span (see [`TRACE_TARGET`](crate::TRACE_TARGET)) with the server
    /// and tool names of a known tool and whether it failed; never the
    /// arguments or the result.
    pub async fn call(&self, qualified: &str, args: serde_json::Value) -> ToolOutcome {
        let span = client_span!(
            "tool_call",
            mcp.method.name = "tools/call",
            mcp.server = Empty,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = Empty,
            is_error = Empty,
        );
        if !span.is_disabled()
            && let Some((server, tool)) = qualified.split_once('.')
            && let Some(s) = self.servers.get(server)
        {
            // Only names the registry knows: a model's invented name would
            // make an unbounded attribute.
            span.record("mcp.server", server);
            if s.tools.iter().any(|t| t.name == tool) {
                span.record("otel.name", format!("tools/call {qualified}"));
                span.record("gen_ai.tool.name", qualified);
            }
        }
        let outcome = self
            .call_untraced(qualified, args)
            .instrument(span.clone())
            .await;
        span.record("is_error", outcome.is_error);
        if outcome.is_error {
            span.record("otel.status_code", "ERROR");
        }
        outcome
    }

    async fn call_untraced(&self, qualified: &str, args: serde_json::Value) -> ToolOutcome {
        let started = Instant::now();
        let Some((server_name, tool)) = qualified.split_once('.') else {
            return ToolOutcome::error(
                format!("`{qualified}` is not a tool name; names look like server.tool"),
                started,
            );
        };
        let Some(server) = self.servers.get(server_name) else {
            return ToolOutcome::error(
                format!(
                    "no server named `{server_name}`; connected servers: {}",
                    self.servers().join(", ")
                ),
                started,
            );
        };
        if !server.tools.iter().any(|t| t.name == tool) {
            let names: Vec<&str> = server.tools.iter().map(|t| t.name.as_ref()).collect();
            return ToolOutcome::error(
                format!(
                    "server `{server_name}` has no tool `{tool}`; its tools: {}",
                    names.join(", ")
                ),
                started,
            );
        }
        let arguments = match args {
            serde_json::Value::Object(map) => Some(map),
            serde_json::Value::Null => None,
            other => {
                return ToolOutcome::error(
                    format!("arguments must be a JSON object, got {other}"),
                    started,
                );
            }
        };
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = arguments;
        let call = server.client.peer().call_tool(params);
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok(result)) => ToolOutcome {
                text: text_of(&result.content),
                is_error: result.is_error.unwrap_or(false),
                elapsed_ms: started.elapsed().as_millis() as u64,
            },
            Ok(Err(e)) => {
                let reason = format!("tool {qualified} failed: {e}");
                // The server answering with an error is alive; anything else
                // (closed pipe, failed send, cancelled) means it is gone.
                let gone = !matches!(e, rmcp::service::ServiceError::McpError(_));
                if gone || server.client.is_closed() {
                    self.gap(server_name, format!("server stopped answering: {e}"));
                }
                ToolOutcome::error(reason, started)
            }
            Err(_) => {
                tracing::Span::current().record("error.type", "timeout");
                self.gap(
                    server_name,
                    format!("{qualified} timed out after {:?}", self.call_timeout),
                );
                ToolOutcome::error(
                    format!("tool {qualified} timed out after {:?}", self.call_timeout),
                    started,
                )
            }
        }
    }

    /// Closes every connection (stops spawned servers).
    pub async fn shutdown(self) {
        for (_, server) in self.servers {
            let _ = server.client.cancel().await;
        }
    }
}

fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn handshake(
    client: Result<RunningService<RoleClient, ()>, String>,
) -> Result<Server, String> {
    let client = client?;
    let tools = client
        .peer()
        .list_all_tools()
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    Ok(Server { client, tools })
}

async fn connect(config: &ServerConfig) -> Result<Server, String> {
    match &config.transport {
        ServerTransport::Stdio { command, args, env } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args).envs(env);
            let (transport, _stderr) = TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", command.display()))?;
            handshake(().serve(transport).await.map_err(|e| e.to_string())).await
        }
        ServerTransport::Http { url, token } => {
            crate::ensure_crypto_provider();
            let mut cfg = rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
                url.as_str(),
            );
            if let Some(token) = token {
                cfg = cfg.auth_header(token.clone());
            }
            let transport = StreamableHttpClientTransport::from_config(cfg);
            handshake(().serve(transport).await.map_err(|e| format!("{url}: {e}"))).await
        }
    }
}

/// Shared handle to a registry.
pub type SharedRegistry = Arc<Registry>;
