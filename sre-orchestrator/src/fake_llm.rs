//! **A fake** OpenAI-compatible chat-completions server, for tests.
//!
//! No real model can run here, so tests script the model's answers and check
//! what the agent sent. The fake follows the public API where it matters to
//! a client: Azure's classic
//! `POST /openai/deployments/{deployment}/chat/completions?api-version=…`
//! (which requires `api-version` and an `api-key` or bearer header), Azure's
//! v1 `POST /openai/v1/chat/completions` (an `api-key` or bearer header and a
//! `model` in the body) and `POST /v1/chat/completions`; responses with
//! `choices[0].message`,
//! `tool_calls` whose `function.arguments` is a JSON **string**,
//! `finish_reason` (`tool_calls` or `stop`) and `usage`; and errors as an
//! HTTP status with `{"error": {"message", "type", "code"}}` and, for 429, a
//! `Retry-After` header.
//!
//! Each request pops the next scripted [`Reply`]; when the script runs out
//! the fake answers 500, so a test that makes more calls than it scripted
//! fails loudly — unless it was given a [`Behaviour`], a function from the
//! request body to a reply, which then answers every further request. That
//! is how tests script *kinds* of model (one that follows instructions
//! planted in tool results, one that invents names, one that never answers)
//! over many scenarios without writing each conversation out. The fake can
//! also play a reasoning model's refusals: `temperature` other than the
//! default and `max_tokens` answered with the 400 `unsupported_value` /
//! `unsupported_parameter` bodies OpenAI and Azure send.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The assistant asks for tool calls: (function name, arguments string).
    /// The arguments are sent as given, so a test can send malformed JSON.
    ToolCalls(Vec<(String, String)>),
    /// The assistant answers with text and stops.
    Text(String),
    /// An error status with an OpenAI-style error body; `retry_after`
    /// seconds become a `Retry-After` header.
    Error {
        /// HTTP status.
        status: u16,
        /// `Retry-After`, in seconds.
        retry_after: Option<u64>,
    },
    /// The connection is accepted and the request read, but no answer ever
    /// comes (a hung endpoint).
    Hang,
}

/// A scripted kind of model: the reply to a request, from its JSON body.
pub type Behaviour = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// How a fake model behaves.
#[derive(Clone, Default)]
pub struct FakeModel {
    /// Replies used first, in order.
    pub script: Vec<Reply>,
    /// Answers every request once the script is used up (without it the
    /// fake answers 500).
    pub then: Option<Behaviour>,
    /// Answers a request carrying `temperature` other than 1 with 400
    /// `unsupported_value`, as reasoning models do.
    pub rejects_temperature: bool,
    /// Answers a request carrying `max_tokens` with 400
    /// `unsupported_parameter`, as reasoning models do.
    pub rejects_max_tokens: bool,
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path and query.
    pub path: String,
    /// The `api-key` header, if any.
    pub api_key: Option<String>,
    /// The bearer token, if any.
    pub bearer: Option<String>,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    then: Option<Behaviour>,
    rejects_temperature: bool,
    rejects_max_tokens: bool,
    received: Vec<Received>,
    calls: u64,
}

/// A running fake; stops when dropped.
pub struct FakeLlm {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    /// Starts a fake on 127.0.0.1 with a script of replies.
    pub async fn start(script: Vec<Reply>) -> std::io::Result<Self> {
        Self::start_model(FakeModel {
            script,
            ..FakeModel::default()
        })
        .await
    }

    /// Starts a fake on 127.0.0.1 playing `model`.
    pub async fn start_model(model: FakeModel) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            script: model.script.into(),
            then: model.then,
            rejects_temperature: model.rejects_temperature,
            rejects_max_tokens: model.rejects_max_tokens,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/openai/v1/chat/completions", post(azure_v1))
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(azure),
            )
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Replies not yet used.
    pub fn remaining(&self) -> usize {
        self.lock().script.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn error(status: u16, message: &str, code: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(
            json!({"error": {"message": message, "type": "invalid_request_error", "code": code}}),
        ),
    )
        .into_response()
}

fn record(inner: &Mutex<Inner>, path: String, headers: &HeaderMap, body: &Value) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let bearer =
        header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .received
        .push(Received {
            path,
            api_key: header("api-key"),
            bearer,
            body: body.clone(),
        });
}

async fn azure(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(deployment): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let Some(version) = query.get("api-version") else {
        return error(404, "Resource not found", "404");
    };
    record(
        &inner,
        format!("/openai/deployments/{deployment}/chat/completions?api-version={version}"),
        &headers,
        &body,
    );
    if headers.get("api-key").is_none() && headers.get("authorization").is_none() {
        return error(401, "Access denied due to invalid subscription key", "401");
    }
    answer(&inner, &body, &deployment).await
}

async fn azure_v1(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    record(
        &inner,
        "/openai/v1/chat/completions".into(),
        &headers,
        &body,
    );
    if headers.get("api-key").is_none() && headers.get("authorization").is_none() {
        return error(401, "Access denied due to invalid subscription key", "401");
    }
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return error(400, "you must provide a model parameter", "missing_model");
    };
    answer(&inner, &body, model).await
}

async fn openai(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    record(&inner, "/v1/chat/completions".into(), &headers, &body);
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return error(400, "you must provide a model parameter", "missing_model");
    };
    answer(&inner, &body, model).await
}

/// A 400 with the body OpenAI and Azure send for a refused parameter.
fn refused(param: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"error": {"message": message, "type": "invalid_request_error",
                                    "param": param, "code": code}}),
        ),
    )
        .into_response()
}

async fn answer(inner: &Mutex<Inner>, body: &Value, model: &str) -> Response {
    if body
        .get("messages")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return error(400, "'messages' is a required property", "invalid_messages");
    }
    let (n, next, then) = {
        let mut guard = inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.rejects_temperature
            && body
                .get("temperature")
                .and_then(Value::as_f64)
                .is_some_and(|t| (t - 1.0).abs() > f64::EPSILON)
        {
            return refused(
                "temperature",
                "unsupported_value",
                "Unsupported value: 'temperature' does not support 0.1 with this model. Only the default (1) value is supported.",
            );
        }
        if guard.rejects_max_tokens && body.get("max_tokens").is_some() {
            return refused(
                "max_tokens",
                "unsupported_parameter",
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            );
        }
        guard.calls += 1;
        (guard.calls, guard.script.pop_front(), guard.then.clone())
    };
    let reply = match (next, then) {
        (Some(reply), _) => reply,
        (None, Some(behaviour)) => behaviour(body),
        (None, None) => {
            return error(
                500,
                "the fake LLM's script is exhausted",
                "script_exhausted",
            );
        }
    };
    // A plausible token count: prompt grows with the conversation.
    let prompt_tokens = (body.to_string().len() / 4) as u64;
    let (message, finish, completion_tokens) = match reply {
        Reply::Hang => {
            std::future::pending::<()>().await;
            return error(500, "unreachable", "hang");
        }
        Reply::Error {
            status,
            retry_after,
        } => {
            let mut response = error(
                status,
                "Rate limit reached for requests",
                "rate_limit_exceeded",
            );
            if let Some(secs) = retry_after
                && let Ok(v) = secs.to_string().parse()
            {
                response.headers_mut().insert("retry-after", v);
            }
            return response;
        }
        Reply::Text(text) => {
            let tokens = (text.len() / 4) as u64 + 1;
            (
                json!({"role": "assistant", "content": text}),
                "stop",
                tokens,
            )
        }
        Reply::ToolCalls(calls) => {
            let calls: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    json!({"id": format!("call_{n}_{i}"), "type": "function",
                           "function": {"name": name, "arguments": args}})
                })
                .collect();
            (
                json!({"role": "assistant", "content": null, "tool_calls": calls}),
                "tool_calls",
                20,
            )
        }
    };
    axum::Json(json!({
        "id": format!("chatcmpl-fake-{n}"),
        "object": "chat.completion",
        "created": 1_732_400_000 + n,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}
    }))
    .into_response()
}
