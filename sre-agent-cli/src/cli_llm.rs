//! The `--llm-*` flags shared by `investigate` and `serve`, and how they
//! combine with the config file's `[llm]` section: a flag wins over the file,
//! `--no-llm` over both. Kept apart from `main.rs` because the client, its
//! deadline and its options are built here from one place for both commands.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use sre_agent_cli::config::{AzureApi, AzureAuth, FileConfig, LlmConfig, Provider, Temperature};
use sre_agent_cli::exit;
use sre_orchestrator::investigate::LlmPhase;
use sre_orchestrator::llm::{LlmClient, Retry};

#[derive(Debug, Args)]
pub(crate) struct LlmArgs {
    /// Never use an LLM: deterministic analysis only.
    #[arg(long)]
    pub(crate) no_llm: bool,
    /// The API the LLM is reached through; overrides the config file.
    #[arg(long, value_enum)]
    pub(crate) llm_provider: Option<Provider>,
    /// Azure OpenAI endpoint, e.g. https://NAME.openai.azure.com.
    #[arg(long)]
    pub(crate) llm_endpoint: Option<String>,
    /// Azure OpenAI deployment.
    #[arg(long)]
    pub(crate) llm_deployment: Option<String>,
    /// Azure OpenAI api-version.
    #[arg(long)]
    pub(crate) llm_api_version: Option<String>,
    /// OpenAI-compatible base URL (with /v1).
    #[arg(long)]
    pub(crate) llm_base_url: Option<String>,
    /// OpenAI-compatible model.
    #[arg(long)]
    pub(crate) llm_model: Option<String>,
    /// Azure OpenAI's request shape.
    #[arg(long, value_enum)]
    pub(crate) llm_api: Option<AzureApi>,
    /// Azure OpenAI authentication (unset: a key if one is set, else a
    /// token).
    #[arg(long, value_enum)]
    pub(crate) llm_auth: Option<AzureAuth>,
    /// Sampling temperature, or `default` to send none (reasoning models).
    #[arg(long)]
    pub(crate) llm_temperature: Option<String>,
    /// `investigate`: seconds the whole LLM phase may take before the
    /// deterministic RCA is returned (default 90, or `deadline_secs` in the
    /// config file). `serve` uses the default for now.
    #[arg(long)]
    pub(crate) llm_deadline: Option<u64>,
    /// Most specialist steps.
    #[arg(long, default_value_t = 8)]
    pub(crate) max_steps: usize,
}

/// The LLM client the flags and the file describe, if any.
pub(crate) fn llm_client(args: &LlmArgs, file: &FileConfig) -> Result<Option<LlmClient>> {
    let Some(cfg) = llm_config(args, file).map_err(exit::bad_input)? else {
        return Ok(None);
    };
    let endpoint = cfg.endpoint().map_err(exit::bad_input)?;
    let options = cfg.model_options(&endpoint).map_err(exit::bad_input)?;
    let entra = cfg.entra_credential().map_err(exit::bad_input)?;
    let mut client =
        LlmClient::new(endpoint, Duration::from_secs(120), Retry::default())?.with_options(options);
    if let Some(credential) = entra {
        tracing::info!(source = %credential.source_name(), "the LLM authenticates with Entra ID tokens");
        client = client.with_entra(std::sync::Arc::new(credential));
    }
    Ok(Some(client))
}

/// The LLM phase's deadline: the flag, the file, or the default.
pub(crate) fn llm_phase(args: &LlmArgs, file: &FileConfig) -> LlmPhase {
    let secs = args
        .llm_deadline
        .or_else(|| file.llm.as_ref().and_then(|l| l.deadline_secs));
    match secs {
        Some(s) => LlmPhase {
            deadline: Duration::from_secs(s.max(1)),
        },
        None => LlmPhase::default(),
    }
}

pub(crate) fn llm_config(args: &LlmArgs, file: &FileConfig) -> Result<Option<LlmConfig>> {
    if args.no_llm {
        return Ok(None);
    }
    let mut cfg = file.llm.clone();
    if let Some(p) = args.llm_provider {
        cfg.get_or_insert_with(LlmConfig::default).provider = p;
    }
    if let Some(c) = cfg.as_mut() {
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut c.endpoint, &args.llm_endpoint);
        set(&mut c.deployment, &args.llm_deployment);
        set(&mut c.api_version, &args.llm_api_version);
        set(&mut c.base_url, &args.llm_base_url);
        set(&mut c.model, &args.llm_model);
        c.api = args.llm_api.or(c.api);
        c.auth = args.llm_auth.or(c.auth);
        if let Some(t) = &args.llm_temperature {
            c.temperature = Some(Temperature::parse(t)?);
        }
    }
    Ok(cfg)
}
