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
//! api = "classic"               # or "v1": /openai/v1/…, deployment as `model`, no api-version
//! api_version = "2025-04-01-preview"   # classic only; this is the default
//! api_key_env = "AZURE_OPENAI_API_KEY"
//! # auth = "entra"             # no key: Entra ID tokens, refreshed (docs/azure-openai.md)
//! # entra_source = "auto"      # or "workload" (AKS), "managed", "cli" (az login)
//! deadline_secs = 90            # the whole LLM phase; then the deterministic RCA
//! # What the request carries; guessed from the model/deployment name
//! # (o1/o3/o4-mini/gpt-5 are reasoning models), every key overrides:
//! # reasoning = true            # reasoning-model defaults for what follows
//! # temperature = 0.1           # or "default" to send none
//! # max_output_tokens = 4096
//! # token_field = "max_completion_tokens"   # or "max_tokens"
//! # developer_role = true       # instructions as a `developer` message
//! # reasoning_effort = "medium"
//!
//! [engine]
//! # Your own signatures (the format of sre-orchestrator/signatures/*.toml),
//! # in front of the built-in ones; relative to this file. Also --signatures.
//! signatures = ["signatures/acme.toml"]
//! # The evidence budget of one investigation; past it, calls are not made
//! # and the RCA's data gaps say so.
//! max_tool_calls = 200
//! max_output_kib = 4096
//! ```
//!
//! Secrets never live in the file: it names the environment variables that
//! hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sre_orchestrator::llm::{
    DEFAULT_AZURE_API_VERSION, Endpoint, EntraCredential, EntraSettings, EntraSource, ModelOptions,
    TokenField,
};
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
    /// The deterministic engine.
    #[serde(default)]
    pub engine: EngineConfig,
}

/// `[engine]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Signature files of your own (the format of
    /// `sre-orchestrator/signatures/*.toml`), in front of the built-in
    /// catalogue; relative paths are read from the config file's folder.
    #[serde(default)]
    pub signatures: Vec<PathBuf>,
    /// Most tool calls one investigation's evidence may take (default 200).
    #[serde(default)]
    pub max_tool_calls: Option<usize>,
    /// Most KiB of tool output one investigation's evidence may take
    /// (default 4096).
    #[serde(default)]
    pub max_output_kib: Option<usize>,
}

impl EngineConfig {
    /// The evidence budget: the defaults where the file says nothing (a
    /// zero is read as one: an investigation that may read nothing is no
    /// investigation).
    pub fn limits(&self) -> sre_orchestrator::engine::collect::Limits {
        let default = sre_orchestrator::engine::collect::Limits::default();
        sre_orchestrator::engine::collect::Limits {
            calls: self.max_tool_calls.map_or(default.calls, |c| c.max(1)),
            bytes: self
                .max_output_kib
                .map_or(default.bytes, |k| k.max(1) * 1024),
        }
    }
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

/// `provider`: the API the LLM is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Azure OpenAI.
    // The default only as the placeholder of `LlmConfig::default()`, which
    // is built under a `--llm-provider` that replaces it.
    #[default]
    Azure,
    /// Any OpenAI-compatible API.
    Openai,
}

/// Azure's `api`: which of its two request shapes to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AzureApi {
    /// The deployments path with `api-version`.
    #[default]
    Classic,
    /// `/openai/v1/…`, the deployment sent as `model`.
    V1,
}

/// Azure's `auth`: how requests authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AzureAuth {
    /// An API key (`api_key_env`).
    Key,
    /// A fixed Entra ID token (`bearer_token_env`).
    Token,
    /// Entra ID tokens from workload identity, a managed identity or the
    /// Azure CLI, refreshed before they expire.
    Entra,
}

/// The `[llm]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// `azure` or `openai`.
    pub provider: Provider,
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
    /// Azure: `key` (from `api_key_env`), `token` (a fixed Entra ID token
    /// from `bearer_token_env`) or `entra` (tokens from workload identity,
    /// a managed identity or the Azure CLI, refreshed before they expire).
    /// Unset: a key if one is set, else a token.
    #[serde(default)]
    pub auth: Option<AzureAuth>,
    /// `auth = "entra"`: `auto` (the default), `workload`, `managed` or `cli`.
    #[serde(default)]
    pub entra_source: Option<String>,
    /// `auth = "entra"`: the client id of a user-assigned managed identity
    /// (default `AZURE_CLIENT_ID`).
    #[serde(default)]
    pub entra_client_id: Option<String>,
    /// `auth = "entra"`: the instance metadata service's base URL (default
    /// `http://169.254.169.254`).
    #[serde(default)]
    pub imds_endpoint: Option<String>,
    /// Azure: `classic` (deployments path and `api-version`, the default) or
    /// `v1` (`/openai/v1/…`, the deployment sent as `model`).
    #[serde(default)]
    pub api: Option<AzureApi>,
    /// The whole LLM phase's deadline, seconds (default 90).
    #[serde(default)]
    pub deadline_secs: Option<u64>,
    /// Use reasoning-model defaults (no temperature, `max_completion_tokens`,
    /// `developer` instructions) whatever the name says.
    #[serde(default)]
    pub reasoning: Option<bool>,
    /// A number, or `"default"` to send none.
    #[serde(default)]
    pub temperature: Option<Temperature>,
    /// The output limit.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// `max_tokens` or `max_completion_tokens`.
    #[serde(default)]
    pub token_field: Option<String>,
    /// Send instructions as a `developer` message.
    #[serde(default)]
    pub developer_role: Option<bool>,
    /// `reasoning_effort` for reasoning models.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
}

/// `temperature = 0.2` or `temperature = "default"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Temperature {
    /// Sent as given.
    Value(f64),
    /// `"default"`: none sent (the model's own).
    Word(String),
}

impl Temperature {
    /// From a flag: a number or `default`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "default" | "none" => Ok(Temperature::Word("default".into())),
            t => t.parse::<f64>().map(Temperature::Value).map_err(|_| {
                anyhow::anyhow!("temperature must be a number or `default`, not `{t}`")
            }),
        }
    }
}

impl LlmConfig {
    /// The client's endpoint, with secrets read from the environment.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let env = |name: &Option<String>, default: &str| -> Option<String> {
            let var = name.clone().unwrap_or_else(|| default.to_string());
            std::env::var(var).ok().filter(|v| !v.is_empty())
        };
        match self.provider {
            Provider::Azure => {
                let mut api_key = env(&self.api_key_env, "AZURE_OPENAI_API_KEY");
                let mut bearer_token = env(&self.bearer_token_env, "AZURE_OPENAI_AD_TOKEN");
                match self.auth {
                    // Tokens come from the credential (`entra_credential`).
                    Some(AzureAuth::Entra) => (api_key, bearer_token) = (None, None),
                    Some(AzureAuth::Key) if api_key.is_none() => {
                        bail!("[llm] auth = \"key\" needs AZURE_OPENAI_API_KEY or api_key_env")
                    }
                    Some(AzureAuth::Key) => bearer_token = None,
                    Some(AzureAuth::Token) if bearer_token.is_none() => bail!(
                        "[llm] auth = \"token\" needs AZURE_OPENAI_AD_TOKEN or bearer_token_env"
                    ),
                    Some(AzureAuth::Token) => api_key = None,
                    None if api_key.is_none() && bearer_token.is_none() => bail!(
                        "Azure OpenAI needs a key (AZURE_OPENAI_API_KEY or api_key_env), an Entra ID token (AZURE_OPENAI_AD_TOKEN or bearer_token_env), or auth = \"entra\" (workload identity, managed identity, Azure CLI)"
                    ),
                    None => {}
                }
                let endpoint = self
                    .endpoint
                    .clone()
                    .context("[llm] azure needs `endpoint`")?;
                let deployment = self
                    .deployment
                    .clone()
                    .context("[llm] azure needs `deployment`")?;
                match self.api.unwrap_or_default() {
                    AzureApi::Classic => Ok(Endpoint::Azure {
                        endpoint,
                        deployment,
                        api_version: self
                            .api_version
                            .clone()
                            .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.into()),
                        api_key,
                        bearer_token,
                    }),
                    AzureApi::V1 => Ok(Endpoint::AzureV1 {
                        endpoint,
                        model: deployment,
                        api_key,
                        bearer_token,
                    }),
                }
            }
            Provider::Openai => Ok(Endpoint::OpenAi {
                base_url: self
                    .base_url
                    .clone()
                    .context("[llm] openai needs `base_url`")?,
                model: self.model.clone().context("[llm] openai needs `model`")?,
                api_key: env(&self.api_key_env, "OPENAI_API_KEY"),
            }),
        }
    }

    /// `auth = "entra"`: the credential that gets and refreshes tokens (what
    /// it lacks is reported when a token is first needed, by the LLM phase).
    pub fn entra_credential(&self) -> Result<Option<EntraCredential>> {
        if self.auth != Some(AzureAuth::Entra) {
            return Ok(None);
        }
        if self.provider != Provider::Azure {
            bail!("[llm] auth = \"entra\" is for provider = \"azure\"");
        }
        let source = match &self.entra_source {
            Some(s) => s
                .parse::<EntraSource>()
                .map_err(|e| anyhow::anyhow!("[llm] {e}"))?,
            None => EntraSource::Auto,
        };
        let settings = EntraSettings {
            source,
            client_id: self.entra_client_id.clone(),
            imds_endpoint: self.imds_endpoint.clone(),
            ..EntraSettings::default()
        };
        Ok(Some(EntraCredential::from_environment(&settings)?))
    }

    /// What requests carry: the model name's defaults, then every key set.
    pub fn model_options(&self, endpoint: &Endpoint) -> Result<ModelOptions> {
        let mut o = match self.reasoning {
            Some(true) => ModelOptions::reasoning(),
            Some(false) => ModelOptions::chat(),
            None => ModelOptions::for_model(endpoint.model()),
        };
        match &self.temperature {
            Some(Temperature::Value(t)) if (0.0..=2.0).contains(t) => o.temperature = Some(*t),
            Some(Temperature::Value(t)) => bail!("[llm] temperature must be within 0–2, not {t}"),
            Some(Temperature::Word(w)) if w == "default" || w == "none" => o.temperature = None,
            Some(Temperature::Word(w)) => {
                bail!("[llm] temperature must be a number or \"default\", not \"{w}\"")
            }
            None => {}
        }
        if self.max_output_tokens.is_some() {
            o.max_output_tokens = self.max_output_tokens;
        }
        match self.token_field.as_deref() {
            Some("max_tokens") => o.token_field = TokenField::MaxTokens,
            Some("max_completion_tokens") => o.token_field = TokenField::MaxCompletionTokens,
            Some(other) => bail!(
                "[llm] token_field must be `max_tokens` or `max_completion_tokens`, not `{other}`"
            ),
            None => {}
        }
        if let Some(d) = self.developer_role {
            o.developer_role = d;
        }
        if self.reasoning_effort.is_some() {
            o.reasoning_effort.clone_from(&self.reasoning_effort);
        }
        Ok(o)
    }
}

impl FileConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut file: FileConfig = toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in &mut file.engine.signatures {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(file)
    }
}

/// Loads signature files in order (a later file wins over an earlier one)
/// in front of the built-in catalogue and makes the result the engine's.
/// A bad file is an error naming the file and line; nothing is installed.
pub fn install_signatures(files: &[PathBuf]) -> Result<()> {
    use sre_orchestrator::engine::signatures::Catalogue;
    if files.is_empty() {
        return Ok(());
    }
    let mut catalogue = Catalogue::builtin().clone();
    for f in files {
        let user = Catalogue::load(f).map_err(|e| anyhow::anyhow!("{e}"))?;
        catalogue = catalogue.extended(user);
    }
    Catalogue::install(catalogue);
    Ok(())
}

/// The Kubernetes source kubectl would use when nothing is said: the current
/// context of `$KUBECONFIG` (any of its files that exists) or of
/// `~/.kube/config`, else the in-cluster service account. Described for the
/// line that tells the user; `None` when there is none.
pub fn default_kube() -> Option<String> {
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
        // Set but naming no file: kubectl would fail too; say nothing here
        // and let "no data sources" name the flags.
        return std::env::split_paths(&paths)
            .any(|p| p.is_file())
            .then(|| "the current context of $KUBECONFIG".to_string());
    }
    if let Some(home) = std::env::var_os("HOME")
        && std::path::Path::new(&home).join(".kube/config").is_file()
    {
        return Some("the current context of ~/.kube/config".into());
    }
    std::env::var_os("KUBERNETES_SERVICE_HOST")
        .is_some()
        .then(|| "the in-cluster service account".to_string())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> LlmConfig {
        let file: FileConfig = toml::from_str(text).unwrap();
        file.llm.unwrap()
    }

    /// Why a config file is refused.
    fn refused(text: &str) -> String {
        toml::from_str::<FileConfig>(text).unwrap_err().to_string()
    }

    #[test]
    fn entra_auth_needs_no_key_and_names_its_source() {
        let cfg = parse(
            r#"
            [llm]
            provider = "azure"
            endpoint = "https://x.openai.azure.com"
            deployment = "gpt-4o"
            api_key_env = "PATH"
            auth = "entra"
            entra_source = "workload"
            "#,
        );
        let endpoint = cfg.endpoint().unwrap();
        assert!(
            matches!(
                &endpoint,
                Endpoint::Azure {
                    api_key: None,
                    bearer_token: None,
                    ..
                }
            ),
            "{endpoint:?}"
        );
        let credential = cfg.entra_credential().unwrap().unwrap();
        assert_eq!(credential.source_name(), "workload identity");

        let mut bad = cfg.clone();
        bad.entra_source = Some("kerberos".into());
        let e = bad.entra_credential().unwrap_err().to_string();
        assert!(e.contains("`auto`, `workload`, `managed` or `cli`"), "{e}");
        let e = refused("[llm]\nprovider = \"azure\"\nauth = \"password\"\n");
        assert!(
            e.contains("unknown variant `password`, expected one of `key`, `token`, `entra`"),
            "{e}"
        );
        let mut key = cfg;
        key.auth = Some(AzureAuth::Key);
        assert!(key.entra_credential().unwrap().is_none());
        assert!(matches!(
            key.endpoint().unwrap(),
            Endpoint::Azure {
                api_key: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn azure_v1_and_model_options_from_the_file() {
        // `PATH` is always set: it stands in for the token variable without
        // touching the environment.
        let cfg = parse(
            r#"
            [llm]
            provider = "azure"
            endpoint = "https://x.openai.azure.com"
            deployment = "prod-reasoner"
            api = "v1"
            api_key_env = "SRE_AGENT_CONFIG_TEST_KEY_UNSET"
            bearer_token_env = "PATH"
            reasoning = true
            max_output_tokens = 8000
            reasoning_effort = "low"
            deadline_secs = 45
            "#,
        );
        let endpoint = cfg.endpoint().unwrap();
        assert!(matches!(&endpoint, Endpoint::AzureV1 { model, .. } if model == "prod-reasoner"));
        let o = cfg.model_options(&endpoint).unwrap();
        assert_eq!(o.temperature, None);
        assert_eq!(o.token_field, TokenField::MaxCompletionTokens);
        assert_eq!(o.max_output_tokens, Some(8000));
        assert!(o.developer_role);
        assert_eq!(o.reasoning_effort.as_deref(), Some("low"));
        assert_eq!(cfg.deadline_secs, Some(45));
    }

    #[test]
    fn classic_azure_defaults_to_the_current_api_version_and_temperature_can_be_omitted() {
        let cfg = parse(
            r#"
            [llm]
            provider = "azure"
            endpoint = "https://x.openai.azure.com"
            deployment = "gpt-4o"
            bearer_token_env = "PATH"
            temperature = "default"
            "#,
        );
        let endpoint = cfg.endpoint().unwrap();
        assert!(
            matches!(&endpoint, Endpoint::Azure { api_version, .. } if api_version == DEFAULT_AZURE_API_VERSION)
        );
        let o = cfg.model_options(&endpoint).unwrap();
        assert_eq!(o.temperature, None);
        assert_eq!(o.token_field, TokenField::MaxTokens);
        let bad = LlmConfig {
            temperature: Some(Temperature::Value(7.0)),
            ..cfg.clone()
        };
        assert!(bad.model_options(&endpoint).is_err());
        let e = refused("[llm]\nprovider = \"azure\"\napi = \"v2\"\n");
        assert!(
            e.contains("unknown variant `v2`, expected `classic` or `v1`"),
            "{e}"
        );
        let e = refused("[llm]\nprovider = \"bedrock\"\n");
        assert!(e.contains("expected `azure` or `openai`"), "{e}");
        assert_eq!(Temperature::parse("0.3").unwrap(), Temperature::Value(0.3));
        assert!(Temperature::parse("warm").is_err());
    }

    #[test]
    fn the_evidence_budget_defaults_and_never_drops_to_zero() {
        let file: FileConfig = toml::from_str("").unwrap();
        let default = sre_orchestrator::engine::collect::Limits::default();
        assert_eq!(file.engine.limits(), default);
        let file: FileConfig =
            toml::from_str("[engine]\nmax_tool_calls = 0\nmax_output_kib = 64\n").unwrap();
        let limits = file.engine.limits();
        assert_eq!(limits.calls, 1);
        assert_eq!(limits.bytes, 64 * 1024);
    }
}
