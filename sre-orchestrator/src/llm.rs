//! The LLM client: chat completions with tools, against Azure OpenAI or any
//! OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, LiteLLM…).
//!
//! # Why a thin client of our own
//!
//! The wire format is small and stable (messages, `tools`, `tool_calls`
//! whose `function.arguments` is a JSON *string*, `usage`), and what matters
//! at 3 a.m. is the behaviour around it, which is ours to get right:
//!
//! * **Retries that respect the server.** 429 and 5xx are retried with
//!   exponential backoff, waiting at least what `Retry-After` (seconds or an
//!   HTTP date) or Azure's `retry-after-ms` asks, up to a cap; other errors
//!   are not retried.
//! * **Azure and OpenAI from one type.** Azure uses
//!   `/openai/deployments/{deployment}/chat/completions?api-version=…` with
//!   an `api-key` header or an Entra ID bearer token; others use
//!   `{base}/chat/completions` with a bearer key and a `model` field.
//! * **One TLS stack.** The workspace builds every binary with one rustls
//!   crypto provider; client crates that pick their own would put two in one
//!   process.
//! * **Token accounting** from each response's `usage`, summed per client.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing::field::Empty;

use crate::investigate::TRACE_TARGET;

/// Where the model lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// Azure OpenAI.
    Azure {
        /// `https://NAME.openai.azure.com` (or any base URL).
        endpoint: String,
        /// The deployment name.
        deployment: String,
        /// The `api-version` query parameter, e.g. `2024-10-21`.
        api_version: String,
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

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool calls the assistant asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `tool` messages: which call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::plain("system", text)
    }
    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::plain("user", text)
    }
    /// A tool result.
    pub fn tool(call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            ..Self::plain("tool", text)
        }
    }
    fn plain(role: &str, text: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed in the tool message.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function name.
    pub name: String,
    /// The arguments as a JSON **string** (as the API sends them; may be
    /// malformed, which the caller must handle).
    pub arguments: String,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: FunctionSpec,
}

/// A function offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// Name: `^[a-zA-Z0-9_-]{1,64}$`.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

impl ToolSpec {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        Self {
            kind: "function".into(),
            function: FunctionSpec {
                name: name.into(),
                description: description.into(),
                parameters,
            },
        }
    }
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Total.
    #[serde(default)]
    pub total_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Usage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
    }
}

/// One completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The assistant's message.
    pub message: Message,
    /// `stop`, `tool_calls`, `length`, …
    pub finish_reason: String,
    /// Tokens used by this call.
    pub usage: Usage,
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
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
}

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts after the first.
    pub max_retries: u32,
    /// First backoff.
    pub base: Duration,
    /// Longest single wait.
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
    retry: Retry,
    usage: Mutex<Usage>,
}

impl LlmClient {
    /// A client with a per-request timeout.
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
            endpoint,
            retry,
            usage: Mutex::new(Usage::default()),
        })
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
            Endpoint::OpenAi { base_url, .. } => {
                format!("{}/chat/completions", base_url.trim_end_matches('/'))
            }
        }
    }

    /// The model (OpenAI-compatible) or deployment (Azure) asked for.
    fn model(&self) -> &str {
        match &self.endpoint {
            Endpoint::Azure { deployment, .. } => deployment,
            Endpoint::OpenAi { model, .. } => model,
        }
    }

    /// One chat completion, retried on 429/5xx and connection errors.
    ///
    /// Traced as a `chat` span (see [`TRACE_TARGET`]) with the GenAI
    /// semantic conventions' provider, model, token counts and finish
    /// reason, and the retries; never the messages or the key.
    pub async fn chat(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<Completion, LlmError> {
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "chat",
            otel.name = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = match self.endpoint {
                Endpoint::Azure { .. } => "azure.ai.openai",
                Endpoint::OpenAi { .. } => "openai",
            },
            gen_ai.request.model = self.model(),
            gen_ai.request.tools = tools.len() as u64,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            llm.retries = Empty,
            error.type = Empty,
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
        let mut body = serde_json::json!({
            "messages": messages,
            "temperature": 0.1,
        });
        if !tools.is_empty() {
            body["tools"] =
                serde_json::to_value(tools).map_err(|e| LlmError::BadResponse(e.to_string()))?;
            body["parallel_tool_calls"] = true.into();
        }
        if let Endpoint::OpenAi { model, .. } = &self.endpoint {
            body["model"] = model.clone().into();
        }
        let url = self.url();
        let mut attempt = 0;
        loop {
            let mut request = self.http.post(&url).json(&body);
            request = match &self.endpoint {
                Endpoint::Azure {
                    api_key,
                    bearer_token,
                    ..
                } => match (bearer_token, api_key) {
                    (Some(token), _) => request.bearer_auth(token),
                    (None, Some(key)) => request.header("api-key", key),
                    (None, None) => request,
                },
                Endpoint::OpenAi { api_key, .. } => match api_key {
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
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    let wait = retry_after(response.headers());
                    let body = response.text().await.unwrap_or_default();
                    if !retryable || attempt >= self.retry.max_retries {
                        return Err(LlmError::Status {
                            status: status.as_u16(),
                            body: body.chars().take(500).collect(),
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
            // Wait what the server asked, else back off exponentially. A
            // server asking for longer than the cap is not retried: an
            // investigation falls back to the deterministic RCA instead of
            // stalling.
            let backoff = self
                .retry
                .base
                .saturating_mul(1 << attempt.min(16))
                .min(self.retry.cap);
            let delay = asked.unwrap_or(backoff);
            if delay > self.retry.cap {
                return Err(LlmError::Status {
                    status: 429,
                    body: format!(
                        "rate limited; the server asked to wait {delay:?}, longer than the {:?} cap",
                        self.retry.cap
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
            tracing::Span::current().record("llm.retries", attempt);
        }
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

/// How long the server asked us to wait: `retry-after-ms` (Azure), or
/// `Retry-After` in seconds or as an HTTP date.
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
    }
}
