//! OTLP trace export of the agent itself: the `sre-agent` binary, pointed
//! at a fake collector on loopback, sends its investigation, tool-call and
//! LLM spans, flushed before it exits; unconfigured, it sends nothing.
//!
//! The collector is a faithful fake of an OTLP/HTTP receiver (the
//! OpenTelemetry protocol specification, "OTLP/HTTP"): `POST /v1/traces`
//! with a binary Protobuf `ExportTraceServiceRequest` body and
//! `Content-Type: application/x-protobuf`; it answers 200 with a Protobuf
//! `ExportTraceServiceResponse` in the same content type, 415 to any other
//! content type, 400 with a Protobuf `google.rpc.Status` to a body that does
//! not decode, and 404 elsewhere. Messages are decoded with the
//! `opentelemetry-proto` crate's generated types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use sre_orchestrator::fake_llm::{FakeLlm, Reply};

const PROTOBUF: &str = "application/x-protobuf";

/// `google.rpc.Status`, which OTLP/HTTP error responses carry.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// One export request as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    request: ExportTraceServiceRequest,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    rejected: usize,
}

/// The fake collector; stops when dropped.
struct Collector {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner, task }
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    fn rejected(&self) -> usize {
        self.inner.lock().unwrap().rejected
    }
}

fn protobuf(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, PROTOBUF)], body).into_response()
}

async fn traces(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != PROTOBUF {
        inner.lock().unwrap().rejected += 1;
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "").into_response();
    }
    match ExportTraceServiceRequest::decode(body.as_ref()) {
        Ok(request) => {
            inner.lock().unwrap().received.push(Received {
                headers,
                body: body.to_vec(),
                request,
            });
            protobuf(
                StatusCode::OK,
                ExportTraceServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec(),
            )
        }
        Err(e) => {
            inner.lock().unwrap().rejected += 1;
            let status = RpcStatus {
                code: 3, // INVALID_ARGUMENT
                message: format!("not an ExportTraceServiceRequest: {e}"),
            };
            protobuf(StatusCode::BAD_REQUEST, status.encode_to_vec())
        }
    }
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios")
        .join(name)
        .display()
        .to_string()
}

/// Runs `sre-agent` with no inherited `OTEL_*` variable, then `env`.
async fn agent(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    cmd.args(args)
        .env_remove("SRE_AGENT_CONFIG")
        .env_remove("SRE_AGENT_LOG")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("OPENAI_API_KEY")
        .env_remove("AZURE_OPENAI_API_KEY");
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "sre-agent {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A span and its resource's attributes.
#[derive(Debug, Clone)]
struct Exported {
    span: Span,
    resource: BTreeMap<String, String>,
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn spans(received: &[Received]) -> Vec<Exported> {
    let mut out = Vec::new();
    for r in received {
        for rs in &r.request.resource_spans {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| attrs(&r.attributes))
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    out.push(Exported {
                        span: span.clone(),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    out
}

fn named<'a>(spans: &'a [Exported], name: &str) -> Vec<&'a Exported> {
    spans.iter().filter(|s| s.span.name == name).collect()
}

/// The names of `span`'s ancestors, nearest first.
fn ancestors(spans: &[Exported], span: &Span) -> Vec<String> {
    let mut names = Vec::new();
    let mut parent = span.parent_span_id.clone();
    while !parent.is_empty() {
        let Some(p) = spans.iter().find(|s| s.span.span_id == parent) else {
            names.push("<missing parent>".into());
            break;
        };
        names.push(p.span.name.clone());
        parent = p.span.parent_span_id.clone();
    }
    names
}

/// Every string value in the tool arguments of a recording.
fn argument_values(recording: &str) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::String(s) => {
                out.insert(s.clone());
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(recording).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for e in t["entries"].as_array().unwrap() {
        if e["type"] == "tool_call" {
            walk(&e["args"], &mut out);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_investigation_is_exported_as_one_trace_before_the_process_exits() {
    let collector = Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("recording.json");
    let recording = recording.to_str().unwrap();
    let collector_token = "collector-token-0e6b2f";
    let args = [
        "investigate",
        "--scenario",
        &scenario("oom-after-limit-change"),
        "--format",
        "json",
    ];
    let plain = agent(&args, &[]).await;
    assert!(collector.received().is_empty());

    let mut traced_args = args.to_vec();
    traced_args.extend(["--record", recording]);
    let out = agent(
        &traced_args,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url().as_str()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                &format!("authorization=Bearer {collector_token}"),
            ),
        ],
    )
    .await;
    // Same RCA, same logs.
    let rca: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plain_rca: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(rca["rca"]["root_cause"], plain_rca["rca"]["root_cause"]);
    assert_eq!(rca["rca"]["root_cause"]["component"], "cart");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&plain.stderr),
        "export changes nothing on stderr"
    );

    // Everything arrived by the time the process exited: the batch was
    // flushed at shutdown, as OTLP/HTTP protobuf with the configured header.
    let received = collector.received();
    assert!(!received.is_empty(), "no export request");
    assert_eq!(collector.rejected(), 0);
    for r in &received {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            &format!("Bearer {collector_token}")
        );
        assert!(r.headers.get(header::CONTENT_ENCODING).is_none());
    }
    let spans = spans(&received);

    // One investigation span, on a resource named sre-agent.
    let inv = named(&spans, "investigation");
    assert_eq!(inv.len(), 1, "{spans:#?}");
    let inv = inv[0];
    assert_eq!(inv.resource["service.name"], "sre-agent");
    assert_eq!(inv.resource["service.version"], env!("CARGO_PKG_VERSION"));
    assert!(inv.span.parent_span_id.is_empty(), "a root span");
    let a = attrs(&inv.span.attributes);
    assert_eq!(a["alert.name"], "checkout error rate above 5%");
    assert_eq!(a["alert.service"], "checkout");
    assert_eq!(a["k8s.namespace.name"], "shop");
    assert_eq!(a["rca.component"], "cart");
    assert_eq!(a["rca.kind"], "oom_killed");
    assert_eq!(a["rca.mode"], "deterministic");
    assert_eq!(a["llm.steps"], "0");
    assert_eq!(a["tool_calls"], rca["tool_calls"].to_string());
    assert!(inv.span.end_time_unix_nano > inv.span.start_time_unix_nano);

    // One child span per tool call, in the same trace, under the
    // investigation.
    let calls: Vec<&Exported> = spans
        .iter()
        .filter(|s| attrs(&s.span.attributes).get("mcp.method.name") == Some(&"tools/call".into()))
        .collect();
    assert_eq!(
        calls.len() as u64,
        rca["tool_calls"].as_u64().unwrap(),
        "one span per tool call"
    );
    let values = argument_values(recording);
    assert!(values.contains("shop"), "{values:?}");
    for call in &calls {
        assert_eq!(call.span.trace_id, inv.span.trace_id);
        assert_eq!(
            ancestors(&spans, &call.span),
            ["deterministic_analysis", "investigation"]
        );
        let a = attrs(&call.span.attributes);
        let tool = &a["gen_ai.tool.name"];
        assert_eq!(call.span.name, format!("tools/call {tool}"));
        assert_eq!(a["mcp.server"], tool.split('.').next().unwrap());
        assert_eq!(a["mcp.method.name"], "tools/call");
        assert!(a["is_error"] == "false" || a["is_error"] == "true");
        // No argument value, whole or in part.
        for (key, value) in &a {
            // An argument that is also a word of the tool's own name
            // (`list kind=services` next to `signoz.services`) says nothing.
            for arg in values
                .iter()
                .filter(|v| v.len() >= 3 && !tool.contains(v.as_str()))
            {
                assert!(
                    !value.contains(arg.as_str()),
                    "{key}={value} holds the argument value {arg}"
                );
            }
        }
    }
    for s in &spans {
        for (key, value) in attrs(&s.span.attributes) {
            assert!(!key.contains("arg"), "{key}");
            assert!(!value.contains(collector_token), "{key}={value}");
        }
    }
    assert!(
        received.iter().all(|r| !contains(&r.body, collector_token)),
        "the collector's token is a header, never data"
    );
}

const FINAL: &str = r#"```json
{"summary": "cart OOMKilled after its limit was lowered", "root_cause": {"component": "cart", "kind": "oom_killed", "description": "cart exceeds its 256Mi limit"}, "confidence": 0.9, "evidence": [{"source": "k8s.workload_health", "detail": "3 pods OOMKilled"}], "remediation": []}
```"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_requests_carry_model_and_tokens_but_no_prompt_argument_or_key() {
    let collector = Collector::start().await;
    let marker = "marker-pod-7d1c93";
    let api_key = "sk-otlp-test-key-4be1a8";
    let fake = FakeLlm::start(vec![
        Reply::ToolCalls(vec![(
            "k8s__logs".into(),
            format!(r#"{{"namespace":"shop","pod":"{marker}"}}"#),
        )]),
        Reply::Text(FINAL.into()),
    ])
    .await
    .unwrap();
    let base = format!("{}/v1", fake.base_url());
    let out = agent(
        &[
            "investigate",
            "--scenario",
            &scenario("oom-after-limit-change"),
            "--format",
            "json",
            "--llm-provider",
            "openai",
            "--llm-base-url",
            &base,
            "--llm-model",
            "gpt-test",
            "--otlp-endpoint",
            &collector.url(),
        ],
        &[
            ("OPENAI_API_KEY", api_key),
            ("OTEL_SERVICE_NAME", "sre-agent-test"),
        ],
    )
    .await;
    let rca: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rca["rca"]["mode"], "llm", "{rca}");
    // The model did ask for the marked call, with the key.
    let sent = fake.received();
    assert_eq!(sent[0].bearer.as_deref(), Some(api_key));
    assert!(
        sent.iter().any(|r| r.body.to_string().contains(marker)),
        "the marked call's result went back to the model"
    );

    let received = collector.received();
    let spans = spans(&received);
    let inv = named(&spans, "investigation");
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].resource["service.name"], "sre-agent-test");
    let chats = named(&spans, "chat gpt-test");
    assert_eq!(chats.len(), sent.len(), "one span per LLM request");
    let mut input_tokens = 0;
    for chat in &chats {
        assert_eq!(chat.span.trace_id, inv[0].span.trace_id);
        let up = ancestors(&spans, &chat.span);
        assert_eq!(
            up.last().map(String::as_str),
            Some("investigation"),
            "{up:?}"
        );
        let a = attrs(&chat.span.attributes);
        assert_eq!(a["gen_ai.request.model"], "gpt-test");
        assert_eq!(a["gen_ai.provider.name"], "openai");
        assert_eq!(a["gen_ai.operation.name"], "chat");
        input_tokens += a["gen_ai.usage.input_tokens"].parse::<u64>().unwrap();
        assert!(a.contains_key("gen_ai.usage.output_tokens"));
        assert!(a.contains_key("gen_ai.response.finish_reasons"));
    }
    assert!(input_tokens > 0);
    let specialist = named(&spans, "specialist");
    assert_eq!(specialist.len(), 1);
    assert_eq!(ancestors(&spans, &specialist[0].span), ["investigation"]);
    // The specialist's tool call is traced under it, by name only.
    // (The deterministic engine reads logs too, under its own span.)
    let marked = spans
        .iter()
        .filter(|s| s.span.name == "tools/call k8s.logs")
        .find(|s| ancestors(&spans, &s.span).first().map(String::as_str) == Some("specialist"))
        .expect("the specialist's tool call");
    assert_eq!(
        ancestors(&spans, &marked.span),
        ["specialist", "investigation"]
    );
    // Neither the argument, the prompt nor the key is anywhere in what was
    // sent to the collector.
    for r in &received {
        assert!(!contains(&r.body, marker), "an argument value was exported");
        assert!(!contains(&r.body, api_key), "the API key was exported");
        assert!(
            !contains(&r.body, "OOMKilled"),
            "prompt or tool output was exported"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_unless_configured() {
    let collector = Collector::start().await;
    let args = [
        "investigate",
        "--scenario",
        &scenario("oom-after-limit-change"),
        "--format",
        "json",
    ];
    // Not configured: the collector is up, but nobody told the agent.
    agent(&args, &[]).await;
    // Configured, then switched off the standard ways.
    let url = collector.url();
    agent(
        &args,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    )
    .await;
    agent(
        &args,
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{url}/v1/traces"),
            ),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
    )
    .await;
    assert!(collector.received().is_empty());
    assert_eq!(collector.rejected(), 0);
    // The signal-specific variable is a full URL, used as given.
    agent(
        &args,
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{url}/v1/traces"),
        )],
    )
    .await;
    assert!(!spans(&collector.received()).is_empty());
}
