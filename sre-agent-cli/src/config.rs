//! The agent's configuration file and the flags that override it: which
//! MCP servers to use, which LLM, and investigation defaults.
//!
//! ```toml
//! namespace = "shop"            # when an alert names none
//!
//! [[servers]]                   # any MCP server, ours or not
//! name = "k8s"
//! transport = "stdio"
//! command = "mcp-kubernetes"
//! args = ["--context", "prod"]
//!
//! [[servers]]
//! name = "signoz"
//! transport = "http"
//! url = "http://mcp-signoz:8080/mcp"
//! token_env = "MCP_SIGNOZ_TOKEN"  # the bearer token is read from this variable
//!
//! [llm]
//! provider = "azure"            # or "openai" (any OpenAI-compatible API)
//! endpoint = "https://NAME.openai.azure.com"
//! deployment = "gpt-4o"
//! api_version = "2024-10-21"
//! api_key_env = "AZURE_OPENAI_API_KEY"
//! ```
//!
//! Secrets never live in the file: it names the environment variables that
//! hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sre_orchestrator::llm::Endpoint;
use sre_orchestrator::registry::{ServerConfig, ServerTransport};

/// `sre-agent.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Namespace used when an alert names none.
    #[serde(default)]
    pub namespace: Option<String>,
    /// MCP servers.
    #[serde(default)]
    pub servers: Vec<ServerEntry>,
    /// The LLM.
    #[serde(default)]
    pub llm: Option<LlmConfig>,
}

/// One server in the file.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerEntry {
    /// Short name, the tool prefix.
    pub name: String,
    /// `stdio` or `http`.
    pub transport: String,
    /// stdio: the program.
    #[serde(default)]
    pub command: Option<PathBuf>,
    /// stdio: its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// stdio: extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// http: the MCP endpoint URL.
    #[serde(default)]
    pub url: Option<String>,
    /// http: the variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
}

impl ServerEntry {
    /// The registry's form.
    pub fn to_config(&self) -> Result<ServerConfig> {
        let transport = match self.transport.as_str() {
            "stdio" => ServerTransport::Stdio {
                command: self
                    .command
                    .clone()
                    .with_context(|| format!("server `{}`: stdio needs `command`", self.name))?,
                args: self.args.clone(),
                env: self.env.clone(),
            },
            "http" => ServerTransport::Http {
                url: self
                    .url
                    .clone()
                    .with_context(|| format!("server `{}`: http needs `url`", self.name))?,
                token: match &self.token_env {
                    Some(var) => Some(std::env::var(var).with_context(|| {
                        format!("server `{}`: token variable {var} is not set", self.name)
                    })?),
                    None => None,
                },
            },
            other => bail!(
                "server `{}`: transport must be `stdio` or `http`, not `{other}`",
                self.name
            ),
        };
        Ok(ServerConfig {
            name: self.name.clone(),
            transport,
        })
    }
}

/// The `[llm]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// `azure` or `openai`.
    pub provider: String,
    /// Azure: `https://NAME.openai.azure.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Azure: the deployment.
    #[serde(default)]
    pub deployment: Option<String>,
    /// Azure: `api-version`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// OpenAI-compatible: base URL including `/v1`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// OpenAI-compatible: model name.
    #[serde(default)]
    pub model: Option<String>,
    /// The variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Azure: the variable holding an Entra ID access token instead of a key.
    #[serde(default)]
    pub bearer_token_env: Option<String>,
}

impl LlmConfig {
    /// The client's endpoint, with secrets read from the environment.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let env = |name: &Option<String>, default: &str| -> Option<String> {
            let var = name.clone().unwrap_or_else(|| default.to_string());
            std::env::var(var).ok().filter(|v| !v.is_empty())
        };
        match self.provider.as_str() {
            "azure" => {
                let api_key = env(&self.api_key_env, "AZURE_OPENAI_API_KEY");
                let bearer_token = env(&self.bearer_token_env, "AZURE_OPENAI_AD_TOKEN");
                if api_key.is_none() && bearer_token.is_none() {
                    bail!(
                        "Azure OpenAI needs a key (AZURE_OPENAI_API_KEY or api_key_env) or an Entra ID token (AZURE_OPENAI_AD_TOKEN or bearer_token_env)"
                    );
                }
                Ok(Endpoint::Azure {
                    endpoint: self
                        .endpoint
                        .clone()
                        .context("[llm] azure needs `endpoint`")?,
                    deployment: self
                        .deployment
                        .clone()
                        .context("[llm] azure needs `deployment`")?,
                    api_version: self
                        .api_version
                        .clone()
                        .unwrap_or_else(|| "2024-10-21".into()),
                    api_key,
                    bearer_token,
                })
            }
            "openai" => Ok(Endpoint::OpenAi {
                base_url: self
                    .base_url
                    .clone()
                    .context("[llm] openai needs `base_url`")?,
                model: self.model.clone().context("[llm] openai needs `model`")?,
                api_key: env(&self.api_key_env, "OPENAI_API_KEY"),
            }),
            other => bail!("[llm] provider must be `azure` or `openai`, not `{other}`"),
        }
    }
}

impl FileConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// Finds one of our server binaries: next to this executable first (how
/// releases and `cargo build` lay them out), then on the PATH.
pub fn server_binary(name: &str) -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from(name)
}
