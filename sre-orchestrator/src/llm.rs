//! The LLM client: chat completions with tools, against Azure OpenAI (the
//! classic deployment API or the v1 API) or any OpenAI-compatible endpoint
//! (OpenAI, Ollama, vLLM, LiteLLM, llama.cpp…).
//!
//! # Why a thin client of our own
//!
//! The wire format is small and stable (messages, `tools`, `tool_calls`
//! whose `function.arguments` is a JSON *string*, `usage`), and what matters
//! at 3 a.m. is the behaviour around it, which is ours to get right:
//!
//! * **Retries that respect the server and the clock.** 429 and 5xx are
//!   retried with exponential backoff, waiting at least what `Retry-After`
//!   (seconds or an HTTP date) or Azure's `retry-after-ms` asks. Inside an
//!   investigation the whole LLM phase has a deadline (see
//!   [`within_deadline`]): a wait is honoured only while it ends before the
//!   deadline, and every request's timeout is cut to the time left, so a
//!   hung endpoint costs the deadline, never more. Outside one, a wait
//!   longer than [`Retry::cap`] is not made.
//! * **Three dialects from one type.** Azure classic uses
//!   `/openai/deployments/{deployment}/chat/completions?api-version=…`
//!   (model from the deployment); the Azure v1 API uses
//!   `/openai/v1/chat/completions` with the model (deployment name) in the
//!   body and no `api-version`; others use `{base}/chat/completions` with a
//!   bearer key and a `model` field. Azure takes an `api-key` header or an
//!   Entra ID bearer token: a fixed one, or tokens from an
//!   [`EntraCredential`] (workload identity, managed identity, Azure CLI),
//!   refreshed before they expire and once more when the endpoint answers
//!   401 (see [`entra`]).
//! * **Reasoning models** (o-series, gpt-5) take no `temperature` except the
//!   default, count output in `max_completion_tokens`, and expect
//!   instructions in a `developer` message. [`ModelOptions`] says what to
//!   send, guessed from the model name and overridable by configuration; a
//!   model that still refuses `temperature` (HTTP 400, `unsupported_value`
//!   on `temperature`) is asked once more without it, and remembered for the
//!   life of the process, so later requests do not pay the round trip.
//! * **One TLS stack.** The workspace builds every binary with one rustls
//!   crypto provider; client crates that pick their own would put two in one
//!   process.
//! * **Token accounting** from each response's `usage`, summed per client.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

pub mod entra;
mod options;
pub use entra::{EntraCredential, EntraError, EntraSettings, EntraSource};
pub use options::{ModelOptions, TokenField, is_reasoning_model};
mod messages;
use messages::WireResponse;
pub use messages::{Completion, FunctionCall, FunctionSpec, Message, ToolCall, ToolSpec, Usage};

/// The default Azure OpenAI `api-version` of the classic (deployment) API:
/// the newest data-plane inference version, the first one that serves the
/// reasoning models' parameters (`max_completion_tokens`, `developer`
/// messages, `reasoning_effort`). The last GA of the dated API, 2024-10-21,
/// predates o3/o4-mini and gpt-5; Azure's own recommendation for new work is
/// the v1 API ([`Endpoint::AzureV1`]), which needs no version at all.
pub const DEFAULT_AZURE_API_VERSION: &str = "2025-04-01-preview";

/// Where the model lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// Azure OpenAI, classic API:
    /// `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`.
    Azure {
        /// `https://NAME.openai.azure.com` (or any base URL).
        endpoint: String,
        /// The deployment name.
        deployment: String,
        /// The `api-version` query parameter, e.g. [`DEFAULT_AZURE_API_VERSION`].
        api_version: String,
        /// An API key (sent as `api-key`), or…
        #[serde(default)]
        api_key: Option<String>,
        /// …an Entra ID access token (sent as `Authorization: Bearer`).
        #[serde(default)]
        bearer_token: Option<String>,
    },
    /// Azure OpenAI, v1 API: `POST {endpoint}/openai/v1/chat/completions`,
    /// the deployment name as `model` in the body, no `api-version`.
    AzureV1 {
        /// `https://NAME.openai.azure.com` (or any base URL).
        endpoint: String,
        /// The deployment name, sent as `model`.
        model: String,
        /// An API key (sent as `api-key`), or…
        #[serde(default)]
        api_key: Option<String>,
        /// …an Entra ID access token (sent as `Authorization: Bearer`).
        #[serde(default)]
        bearer_token: Option<String>,
    },
    /// Any OpenAI-compatible API.
    OpenAi {
        /// Base URL including the version prefix, e.g. `https://api.openai.com/v1`
        /// or `http://localhost:11434/v1`.
        base_url: String,
        /// The model name.
        model: String,
        /// API key, if the server needs one.
        #[serde(default)]
        api_key: Option<String>,
    },
}

impl Endpoint {
    /// The model (OpenAI-compatible, Azure v1) or deployment (Azure classic).
    pub fn model(&self) -> &str {
        match self {
            Endpoint::Azure { deployment, .. } => deployment,
            Endpoint::AzureV1 { model, .. } | Endpoint::OpenAi { model, .. } => model,
        }
    }
}

/// Models that refused `temperature` in this process, by URL and model.
fn refuses_temperature() -> &'static Mutex<BTreeSet<String>> {
    static SET: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(BTreeSet::new()))
}

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `fut` with a deadline every [`LlmClient::chat`] inside it honours:
/// request timeouts are cut to the time left, and a server's `Retry-After`
/// is waited for only when the wait ends before the deadline. The caller
/// still bounds `fut` itself (`tokio::time::timeout_at`): this makes the
/// client give up cleanly, with an error that says why, instead of being
/// cancelled mid-wait.
pub async fn within_deadline<F: std::future::Future>(deadline: Instant, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

fn current_deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Why a chat call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The endpoint could not be reached (after retries).
    #[error("LLM endpoint {url} unreachable: {reason}")]
    Unreachable {
        /// The URL (no credentials).
        url: String,
        /// Why.
        reason: String,
    },
    /// The endpoint answered with an error status.
    #[error("LLM endpoint answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The error body (truncated).
        body: String,
    },
    /// The answer was not a chat completion.
    #[error("LLM endpoint sent an unexpected answer: {0}")]
    BadResponse(String),
    /// The LLM phase's deadline passed (or a retry would end after it).
    #[error("the LLM timed out (deadline of the LLM phase): {0}")]
    Deadline(String),
    /// No Entra ID token could be had (the source and what it lacks).
    #[error("no Entra ID token for the LLM endpoint: {0}")]
    Auth(#[from] EntraError),
}

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts after the first.
    pub max_retries: u32,
    /// First backoff.
    pub base: Duration,
    /// Longest single wait when no deadline applies (inside
    /// [`within_deadline`], the deadline is the limit).
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

/// A chat-completions client.
#[derive(Debug)]
pub struct LlmClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    options: ModelOptions,
    timeout: Duration,
    retry: Retry,
    usage: Mutex<Usage>,
    entra: Option<Arc<EntraCredential>>,
}

/// What a 400 asks the client to change before one more try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adapt {
    /// The model takes only its default temperature.
    DropTemperature,
    /// The model wants the other output-limit field.
    SwapTokenField,
    /// The model refuses an optional field (`parallel_tool_calls`,
    /// `reasoning_effort`): sent again without it.
    Drop(&'static str),
}

/// Reads a 400 body (OpenAI and Azure send `{"error": {"message", "param",
/// "code"}}`) for a parameter the model refuses.
fn adaptation(body: &str) -> Option<Adapt> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let error = &value["error"];
    let param = error["param"].as_str().unwrap_or_default();
    let code = error["code"].as_str().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or(body).to_lowercase();
    let unsupported = code.starts_with("unsupported")
        || message.contains("unsupported")
        || message.contains("not supported")
        || message.contains("does not support");
    if !unsupported {
        return None;
    }
    if param == "temperature" || (param.is_empty() && message.contains("'temperature'")) {
        return Some(Adapt::DropTemperature);
    }
    if param == "max_tokens" || param == "max_completion_tokens" {
        return Some(Adapt::SwapTokenField);
    }
    ["parallel_tool_calls", "reasoning_effort"]
        .into_iter()
        .find(|p| *p == param)
        .map(Adapt::Drop)
}

impl LlmClient {
    /// A client with a per-request timeout, sending what the model's name
    /// suggests ([`ModelOptions::for_model`]).
    pub fn new(endpoint: Endpoint, timeout: Duration, retry: Retry) -> Result<Self, LlmError> {
        crate::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError::Unreachable {
                url: String::new(),
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            options: ModelOptions::for_model(endpoint.model()),
            endpoint,
            timeout,
            retry,
            usage: Mutex::new(Usage::default()),
            entra: None,
        })
    }

    /// The same client authenticating with tokens from `credential`
    /// (`Authorization: Bearer`), instead of the endpoint's key or fixed
    /// token. A 401 answer gets one fresh token and one more try.
    pub fn with_entra(mut self, credential: Arc<EntraCredential>) -> Self {
        self.entra = Some(credential);
        self
    }

    /// The same client sending `options`.
    pub fn with_options(mut self, options: ModelOptions) -> Self {
        self.options = options;
        self
    }

    /// What the client sends besides messages and tools.
    pub fn options(&self) -> &ModelOptions {
        &self.options
    }

    /// Tokens used so far by this client.
    pub fn usage(&self) -> Usage {
        *self
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The request URL (no credentials in it).
    pub fn url(&self) -> String {
        match &self.endpoint {
            Endpoint::Azure {
                endpoint,
                deployment,
                api_version,
                ..
            } => format!(
                "{}/openai/deployments/{deployment}/chat/completions?api-version={api_version}",
                endpoint.trim_end_matches('/')
            ),
            Endpoint::AzureV1 { endpoint, .. } => format!(
                "{}/openai/v1/chat/completions",
                endpoint.trim_end_matches('/')
            ),
            Endpoint::OpenAi { base_url, .. } => {
                format!("{}/chat/completions", base_url.trim_end_matches('/'))
            }
        }
    }

    /// The model (OpenAI-compatible, Azure v1) or deployment (Azure classic) asked for.
    fn model(&self) -> &str {
        self.endpoint.model()
    }

    /// The request body. `temperature` and the token field are passed in
    /// because a refusal changes them for the next try.
    pub fn request_body(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<serde_json::Value, LlmError> {
        let temperature = self
            .options
            .temperature
            .filter(|_| !self.refuses_temperature());
        self.body(messages, tools, temperature, self.options.token_field)
    }

    fn body(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        temperature: Option<f64>,
        token_field: TokenField,
    ) -> Result<serde_json::Value, LlmError> {
        let bad = |e: serde_json::Error| LlmError::BadResponse(e.to_string());
        let mut wire = serde_json::to_value(messages).map_err(bad)?;
        if let Some(list) = wire.as_array_mut() {
            for m in list.iter_mut() {
                if self.options.developer_role && m["role"] == "system" {
                    m["role"] = "developer".into();
                }
                // An assistant turn that only called tools is sent back with
                // `"content": ""`, not without content: OpenAI and Azure take
                // either, but llama.cpp's Python server (llama-cpp-python)
                // answers 500 to a missing content (its chat templates read
                // `message.content`) and 422 to `null` (its schema wants a
                // string), so every second step of a tool-using
                // investigation failed there.
                if m["role"] == "assistant" && m.get("content").is_none_or(|c| c.is_null()) {
                    m["content"] = "".into();
                }
            }
        }
        let mut body = serde_json::json!({ "messages": wire });
        if let Some(t) = temperature {
            body["temperature"] = t.into();
        }
        if let Some(limit) = self.options.max_output_tokens {
            let field = match token_field {
                TokenField::MaxTokens => "max_tokens",
                TokenField::MaxCompletionTokens => "max_completion_tokens",
            };
            body[field] = limit.into();
        }
        if let Some(effort) = &self.options.reasoning_effort {
            body["reasoning_effort"] = effort.clone().into();
        }
        if !tools.is_empty() {
            body["tools"] = serde_json::to_value(tools).map_err(bad)?;
            // OpenAI documents `auto` as the default when tools are given,
            // but llama-cpp-python's server treats a missing `tool_choice`
            // as `none` and leaves the tools out of the prompt: the model
            // never hears of them. Saying it costs nothing elsewhere.
            body["tool_choice"] = "auto".into();
            if self.options.parallel_tool_calls {
                body["parallel_tool_calls"] = true.into();
            }
        }
        match &self.endpoint {
            Endpoint::Azure { .. } => {}
            Endpoint::AzureV1 { model, .. } | Endpoint::OpenAi { model, .. } => {
                body["model"] = model.clone().into();
            }
        }
        Ok(body)
    }

    fn temperature_key(&self) -> String {
        format!("{} {}", self.url(), self.model())
    }

    fn refuses_temperature(&self) -> bool {
        refuses_temperature()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&self.temperature_key())
    }

    /// One chat completion, retried on 429/5xx and connection errors, and
    /// once more without a parameter the model refuses.
    ///
    /// Traced as a `chat` span (see [`TRACE_TARGET`](crate::TRACE_TARGET)) with the GenAI
    /// semantic conventions' provider, model, token counts and finish
    /// reason, and the retries; never the messages or the key.
    pub async fn chat(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<Completion, LlmError> {
        let span = client_span!(
            "chat",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = match self.endpoint {
                Endpoint::Azure { .. } | Endpoint::AzureV1 { .. } => "azure.ai.openai",
                Endpoint::OpenAi { .. } => "openai",
            },
            gen_ai.request.model = self.model(),
            gen_ai.request.tools = tools.len() as u64,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            llm.retries = Empty,
        );
        if !span.is_disabled() {
            span.record("otel.name", format!("chat {}", self.model()));
        }
        let result = self
            .chat_untraced(messages, tools)
            .instrument(span.clone())
            .await;
        match &result {
            _ if span.is_disabled() => {}
            Ok(c) => {
                span.record("gen_ai.response.finish_reasons", c.finish_reason.as_str());
                span.record("gen_ai.usage.input_tokens", c.usage.prompt_tokens);
                span.record("gen_ai.usage.output_tokens", c.usage.completion_tokens);
            }
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                span.record(
                    "error.type",
                    match e {
                        LlmError::Unreachable { .. } => "unreachable".to_string(),
                        LlmError::Status { status, .. } => status.to_string(),
                        LlmError::BadResponse(_) => "bad_response".to_string(),
                        LlmError::Deadline(_) => "deadline".to_string(),
                        LlmError::Auth(_) => "auth".to_string(),
                    },
                );
            }
        }
        result
    }

    async fn chat_untraced(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<Completion, LlmError> {
        let mut temperature = self
            .options
            .temperature
            .filter(|_| !self.refuses_temperature());
        let mut token_field = self.options.token_field;
        let mut adapted: Vec<Adapt> = Vec::new();
        let mut dropped: Vec<&'static str> = Vec::new();
        let mut body = self.body(messages, tools, temperature, token_field)?;
        let url = self.url();
        let deadline = current_deadline();
        let mut attempt = 0;
        // The Entra ID token the endpoint answered 401 to, to be replaced
        // (once per call).
        let mut rejected: Option<String> = None;
        let mut refreshed_after_401 = false;
        loop {
            let timeout = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(LlmError::Deadline("no time left for a request".into()));
                    }
                    left.min(self.timeout)
                }
                None => self.timeout,
            };
            let entra_token = match &self.entra {
                Some(credential) => Some(self.entra_token(credential, rejected.take()).await?),
                None => None,
            };
            let mut request = self.http.post(&url).json(&body).timeout(timeout);
            request = match (&entra_token, &self.endpoint) {
                (Some(token), _) => request.bearer_auth(token),
                (
                    None,
                    Endpoint::Azure {
                        api_key,
                        bearer_token,
                        ..
                    }
                    | Endpoint::AzureV1 {
                        api_key,
                        bearer_token,
                        ..
                    },
                ) => match (bearer_token, api_key) {
                    (Some(token), _) => request.bearer_auth(token),
                    (None, Some(key)) => request.header("api-key", key),
                    (None, None) => request,
                },
                (None, Endpoint::OpenAi { api_key, .. }) => match api_key {
                    Some(key) => request.bearer_auth(key),
                    None => request,
                },
            };
            let asked = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        let text = response
                            .text()
                            .await
                            .map_err(|e| LlmError::BadResponse(e.to_string()))?;
                        return self.parse(&text);
                    }
                    if status.as_u16() == 401 && entra_token.is_some() && !refreshed_after_401 {
                        // An expired or revoked token (a changed role
                        // assignment): one fresh token, one more try.
                        refreshed_after_401 = true;
                        rejected = entra_token;
                        tracing::warn!(
                            model = self.model(),
                            "the LLM endpoint answered 401; asking again with a fresh Entra ID token"
                        );
                        continue;
                    }
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    let wait = retry_after(response.headers());
                    let text = response.text().await.unwrap_or_default();
                    if status.as_u16() == 400
                        && let Some(adapt) = adaptation(&text)
                        && !adapted.contains(&adapt)
                    {
                        // Asked once more at once, without what was refused.
                        adapted.push(adapt);
                        match adapt {
                            Adapt::DropTemperature if temperature.is_some() => {
                                temperature = None;
                                refuses_temperature()
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .insert(self.temperature_key());
                                tracing::warn!(
                                    model = self.model(),
                                    "the model refuses `temperature`; asking again without it (remembered for this process)"
                                );
                            }
                            Adapt::SwapTokenField if self.options.max_output_tokens.is_some() => {
                                token_field = match token_field {
                                    TokenField::MaxTokens => TokenField::MaxCompletionTokens,
                                    TokenField::MaxCompletionTokens => TokenField::MaxTokens,
                                };
                                tracing::warn!(
                                    model = self.model(),
                                    "the model refuses the output-limit field; asking again with the other one"
                                );
                            }
                            Adapt::Drop(field) if body.get(field).is_some() => {
                                dropped.push(field);
                                tracing::warn!(
                                    model = self.model(),
                                    field,
                                    "the model refuses an optional field; asking again without it"
                                );
                            }
                            _ => {
                                return Err(LlmError::Status {
                                    status: 400,
                                    body: text.chars().take(500).collect(),
                                });
                            }
                        }
                        body = self.body(messages, tools, temperature, token_field)?;
                        if let Some(fields) = body.as_object_mut() {
                            for field in &dropped {
                                fields.remove(*field);
                            }
                        }
                        continue;
                    }
                    if !retryable || attempt >= self.retry.max_retries {
                        return Err(LlmError::Status {
                            status: status.as_u16(),
                            body: text.chars().take(500).collect(),
                        });
                    }
                    tracing::warn!(
                        status = status.as_u16(),
                        attempt,
                        "LLM call will be retried"
                    );
                    wait
                }
                Err(e) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(LlmError::Deadline(format!(
                            "{url} had not answered when the deadline passed"
                        )));
                    }
                    if attempt >= self.retry.max_retries {
                        return Err(LlmError::Unreachable {
                            url: url.clone(),
                            reason: e.to_string(),
                        });
                    }
                    tracing::warn!(error = %e, attempt, "LLM call failed; retrying");
                    None
                }
            };
            // Wait what the server asked, else back off exponentially; but
            // never past the deadline (or, without one, longer than the
            // cap): an investigation then falls back to the deterministic
            // RCA instead of stalling.
            let backoff = self
                .retry
                .base
                .saturating_mul(1 << attempt.min(16))
                .min(self.retry.cap);
            let delay = asked.unwrap_or(backoff);
            match deadline {
                Some(d) if Instant::now() + delay >= d => {
                    return Err(LlmError::Deadline(format!(
                        "the server asked to wait {delay:?} before retrying, past the deadline"
                    )));
                }
                None if delay > self.retry.cap => {
                    return Err(LlmError::Status {
                        status: 429,
                        body: format!(
                            "rate limited; the server asked to wait {delay:?}, longer than the {:?} cap",
                            self.retry.cap
                        ),
                    });
                }
                _ => {}
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
            tracing::Span::current().record("llm.retries", attempt);
        }
    }

    /// A token from `credential` (a fresh one when `rejected` was refused),
    /// within the LLM phase's deadline.
    async fn entra_token(
        &self,
        credential: &EntraCredential,
        rejected: Option<String>,
    ) -> Result<String, LlmError> {
        let get = async {
            match &rejected {
                Some(old) => credential.refresh_rejected(old).await,
                None => credential.token().await,
            }
        };
        let token = match current_deadline() {
            Some(d) => tokio::time::timeout_at(d, get).await.map_err(|_| {
                LlmError::Deadline(format!(
                    "no Entra ID token from {} before the deadline",
                    credential.source_name()
                ))
            })?,
            None => get.await,
        };
        Ok(token?)
    }

    fn parse(&self, text: &str) -> Result<Completion, LlmError> {
        let wire: WireResponse = serde_json::from_str(text).map_err(|e| {
            LlmError::BadResponse(format!(
                "{e}: {}",
                text.chars().take(300).collect::<String>()
            ))
        })?;
        let choice = wire
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::BadResponse("no choices".into()))?;
        *self
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += wire.usage;
        Ok(Completion {
            finish_reason: choice.finish_reason.unwrap_or_else(|| {
                if choice.message.tool_calls.is_empty() {
                    "stop"
                } else {
                    "tool_calls"
                }
                .into()
            }),
            message: choice.message,
            usage: wire.usage,
        })
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let secs = (when.as_second() - now.as_second()).max(0);
    Some(Duration::from_secs(secs.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn urls() {
        let azure = LlmClient::new(
            Endpoint::Azure {
                endpoint: "https://x.openai.azure.com/".into(),
                deployment: "gpt-4o".into(),
                api_version: "2024-10-21".into(),
                api_key: Some("k".into()),
                bearer_token: None,
            },
            Duration::from_secs(1),
            Retry::default(),
        )
        .unwrap();
        assert_eq!(
            azure.url(),
            "https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        let v1 = LlmClient::new(
            Endpoint::AzureV1 {
                endpoint: "https://x.openai.azure.com".into(),
                model: "o4-mini".into(),
                api_key: Some("k".into()),
                bearer_token: None,
            },
            Duration::from_secs(1),
            Retry::default(),
        )
        .unwrap();
        assert_eq!(
            v1.url(),
            "https://x.openai.azure.com/openai/v1/chat/completions"
        );
        assert_eq!(v1.options(), &ModelOptions::reasoning());
    }

    #[test]
    fn refusals_are_read_from_the_error_body() {
        let temperature = r#"{"error": {"message": "Unsupported value: 'temperature' does not support 0.1 with this model. Only the default (1) value is supported.", "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}}"#;
        assert_eq!(adaptation(temperature), Some(Adapt::DropTemperature));
        let tokens = r#"{"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}}"#;
        assert_eq!(adaptation(tokens), Some(Adapt::SwapTokenField));
        let parallel = r#"{"error": {"message": "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.", "param": "parallel_tool_calls", "code": "unsupported_parameter"}}"#;
        assert_eq!(
            adaptation(parallel),
            Some(Adapt::Drop("parallel_tool_calls"))
        );
        let other = r#"{"error": {"message": "'messages' is a required property", "code": "invalid_messages"}}"#;
        assert_eq!(adaptation(other), None);
        assert_eq!(adaptation("not json"), None);
    }
}
