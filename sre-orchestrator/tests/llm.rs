//! The LLM client against the fake OpenAI-compatible server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use sre_orchestrator::fake_llm::{FakeLlm, FakeModel, Reply};
use sre_orchestrator::llm::{Endpoint, LlmClient, LlmError, Message, Retry, ToolSpec};

fn fast_retry() -> Retry {
    Retry {
        max_retries: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_secs(5),
    }
}

fn azure(fake: &FakeLlm) -> LlmClient {
    LlmClient::new(
        Endpoint::Azure {
            endpoint: fake.base_url(),
            deployment: "gpt-4o-sre".into(),
            api_version: "2024-10-21".into(),
            api_key: Some("azure-key".into()),
            bearer_token: None,
        },
        Duration::from_secs(5),
        fast_retry(),
    )
    .unwrap()
}

#[tokio::test]
async fn azure_tool_calls_round_trip_with_usage() {
    let fake = FakeLlm::start(vec![
        Reply::ToolCalls(vec![
            ("k8s__pod_logs".into(), r#"{"pod":"checkout-1"}"#.into()),
            ("k8s__events".into(), "{}".into()),
        ]),
        Reply::Text("done".into()),
    ])
    .await
    .unwrap();
    let client = azure(&fake);
    let tools = [ToolSpec::function(
        "k8s__pod_logs",
        "Logs",
        json!({"type": "object"}),
    )];
    let first = client
        .chat(&[Message::system("s"), Message::user("why?")], &tools)
        .await
        .unwrap();
    assert_eq!(first.finish_reason, "tool_calls");
    assert_eq!(first.message.tool_calls.len(), 2, "parallel tool calls");
    assert_eq!(
        first.message.tool_calls[0].function.arguments,
        r#"{"pod":"checkout-1"}"#
    );
    let second = client.chat(&[Message::user("x")], &[]).await.unwrap();
    assert_eq!(second.message.content.as_deref(), Some("done"));
    let got = fake.received();
    assert_eq!(
        got[0].path,
        "/openai/deployments/gpt-4o-sre/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(got[0].api_key.as_deref(), Some("azure-key"));
    assert_eq!(got[0].body["tools"][0]["function"]["name"], "k8s__pod_logs");
    assert!(
        got[0].body.get("model").is_none(),
        "Azure takes the model from the deployment"
    );
    let usage = client.usage();
    assert_eq!(
        usage.total_tokens,
        first.usage.total_tokens + second.usage.total_tokens
    );
    assert!(usage.prompt_tokens > 0);
}

#[tokio::test]
async fn openai_compatible_endpoint_sends_model_and_bearer() {
    let fake = FakeLlm::start(vec![Reply::Text("hi".into())])
        .await
        .unwrap();
    let client = LlmClient::new(
        Endpoint::OpenAi {
            base_url: format!("{}/v1", fake.base_url()),
            model: "llama3".into(),
            api_key: Some("sk-test".into()),
        },
        Duration::from_secs(5),
        fast_retry(),
    )
    .unwrap();
    client.chat(&[Message::user("x")], &[]).await.unwrap();
    let got = fake.received();
    assert_eq!(got[0].body["model"], "llama3");
    assert_eq!(got[0].bearer.as_deref(), Some("sk-test"));
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after() {
    let fake = FakeLlm::start(vec![
        Reply::Error {
            status: 429,
            retry_after: Some(1),
        },
        Reply::Text("ok".into()),
    ])
    .await
    .unwrap();
    let client = azure(&fake);
    let started = std::time::Instant::now();
    let out = client.chat(&[Message::user("x")], &[]).await.unwrap();
    assert_eq!(out.message.content.as_deref(), Some("ok"));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(fake.received().len(), 2);
}

#[tokio::test]
async fn errors_that_are_not_retryable_fail_at_once() {
    let fake = FakeLlm::start(vec![Reply::Error {
        status: 400,
        retry_after: None,
    }])
    .await
    .unwrap();
    let err = azure(&fake)
        .chat(&[Message::user("x")], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 400, .. }), "{err}");
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_limit() {
    let fake = FakeLlm::start(vec![
        Reply::Error {
            status: 503,
            retry_after: None
        };
        4
    ])
    .await
    .unwrap();
    let err = azure(&fake)
        .chat(&[Message::user("x")], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 503, .. }), "{err}");
    assert_eq!(fake.received().len(), 4, "first try + 3 retries");
}

#[tokio::test]
async fn unreachable_endpoint_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = LlmClient::new(
        Endpoint::OpenAi {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            model: "m".into(),
            api_key: None,
        },
        Duration::from_secs(2),
        Retry {
            max_retries: 1,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(1),
        },
    )
    .unwrap();
    let err = client.chat(&[Message::user("x")], &[]).await.unwrap_err();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

// ---- request shapes, reasoning models, deadlines ----

use sre_orchestrator::llm::{DEFAULT_AZURE_API_VERSION, ModelOptions, within_deadline};

fn sample_messages() -> Vec<Message> {
    vec![
        Message::system("You are the resource specialist."),
        Message::user("ALERT: KubePodCrashLooping — cart pods restarting"),
    ]
}

fn sample_tools() -> Vec<ToolSpec> {
    vec![ToolSpec::function(
        "k8s__logs",
        "Logs of a pod.",
        json!({"type": "object", "properties": {"pod": {"type": "string"}}, "required": ["pod"]}),
    )]
}

/// What the fake received for one request: where, which credential header,
/// and the exact body.
async fn shape(endpoint: impl FnOnce(&FakeLlm) -> Endpoint, reasoning: bool) -> serde_json::Value {
    let fake = FakeLlm::start(vec![Reply::Text("ok".into())])
        .await
        .unwrap();
    let endpoint = endpoint(&fake);
    let mut options = ModelOptions::for_model(endpoint.model());
    assert_eq!(
        options == ModelOptions::reasoning(),
        reasoning,
        "{}",
        endpoint.model()
    );
    options.max_output_tokens = Some(4096);
    if reasoning {
        options.reasoning_effort = Some("medium".into());
    }
    let client = LlmClient::new(endpoint, Duration::from_secs(5), fast_retry())
        .unwrap()
        .with_options(options);
    client
        .chat(&sample_messages(), &sample_tools())
        .await
        .unwrap();
    let got = fake.received().remove(0);
    json!({
        "path": got.path.replace(&fake.base_url(), ""),
        "api-key header": got.api_key.is_some(),
        "bearer": got.bearer.is_some(),
        "body": got.body,
    })
}

fn azure_classic(deployment: &'static str) -> impl FnOnce(&FakeLlm) -> Endpoint {
    move |fake| Endpoint::Azure {
        endpoint: fake.base_url(),
        deployment: deployment.into(),
        api_version: DEFAULT_AZURE_API_VERSION.into(),
        api_key: Some("azure-key".into()),
        bearer_token: None,
    }
}

fn azure_v1(model: &'static str) -> impl FnOnce(&FakeLlm) -> Endpoint {
    move |fake| Endpoint::AzureV1 {
        endpoint: fake.base_url(),
        model: model.into(),
        api_key: Some("azure-key".into()),
        bearer_token: None,
    }
}

fn openai(model: &'static str) -> impl FnOnce(&FakeLlm) -> Endpoint {
    move |fake| Endpoint::OpenAi {
        base_url: format!("{}/v1", fake.base_url()),
        model: model.into(),
        api_key: Some("sk-test".into()),
    }
}

/// The bodies as the providers' API references describe them: Azure
/// classic takes the model from the deployment in the path and an
/// `api-version`; Azure v1 and OpenAI take `model` in the body; reasoning
/// models get `developer` instructions, `max_completion_tokens`, a
/// `reasoning_effort` and no `temperature`.
#[tokio::test]
async fn request_bodies_are_pinned_per_provider_and_model_family() {
    insta::assert_json_snapshot!(
        "azure_classic_chat",
        shape(azure_classic("gpt-4o"), false).await
    );
    insta::assert_json_snapshot!(
        "azure_classic_reasoning",
        shape(azure_classic("o4-mini"), true).await
    );
    insta::assert_json_snapshot!("azure_v1_chat", shape(azure_v1("gpt-4.1"), false).await);
    insta::assert_json_snapshot!(
        "azure_v1_reasoning",
        shape(azure_v1("gpt-5-mini"), true).await
    );
    insta::assert_json_snapshot!("openai_chat", shape(openai("gpt-4o-mini"), false).await);
    insta::assert_json_snapshot!("openai_reasoning", shape(openai("o3"), true).await);
}

#[tokio::test]
async fn a_model_that_refuses_temperature_is_asked_again_without_it_and_remembered() {
    let fake = FakeLlm::start_model(FakeModel {
        script: vec![Reply::Text("one".into()), Reply::Text("two".into())],
        rejects_temperature: true,
        ..FakeModel::default()
    })
    .await
    .unwrap();
    // A deployment whose name does not say it is a reasoning model.
    let client = LlmClient::new(
        azure_classic("prod-reasoner-temperature-test")(&fake),
        Duration::from_secs(5),
        fast_retry(),
    )
    .unwrap();
    assert_eq!(client.options().temperature, Some(0.1));
    let first = client.chat(&[Message::user("x")], &[]).await.unwrap();
    assert_eq!(first.message.content.as_deref(), Some("one"));
    let second = client.chat(&[Message::user("y")], &[]).await.unwrap();
    assert_eq!(second.message.content.as_deref(), Some("two"));
    let got = fake.received();
    assert_eq!(
        got.len(),
        3,
        "refused once, then two answers without a second refusal"
    );
    assert_eq!(got[0].body["temperature"], 0.1);
    assert!(got[1].body.get("temperature").is_none());
    assert!(got[2].body.get("temperature").is_none(), "remembered");
}

#[tokio::test]
async fn a_model_that_refuses_max_tokens_gets_max_completion_tokens() {
    let fake = FakeLlm::start_model(FakeModel {
        script: vec![Reply::Text("ok".into())],
        rejects_max_tokens: true,
        ..FakeModel::default()
    })
    .await
    .unwrap();
    let client = LlmClient::new(
        openai("house-model-tokens-test")(&fake),
        Duration::from_secs(5),
        fast_retry(),
    )
    .unwrap()
    .with_options(ModelOptions {
        max_output_tokens: Some(2000),
        ..ModelOptions::chat()
    });
    client.chat(&[Message::user("x")], &[]).await.unwrap();
    let got = fake.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body["max_tokens"], 2000);
    assert_eq!(got[1].body["max_completion_tokens"], 2000);
    assert!(got[1].body.get("max_tokens").is_none());
}

#[tokio::test]
async fn a_hung_endpoint_costs_the_deadline_and_no_more() {
    let fake = FakeLlm::start(vec![Reply::Hang]).await.unwrap();
    // The per-request timeout is long; the deadline is what stops it.
    let client = LlmClient::new(
        openai("hang-test")(&fake),
        Duration::from_secs(120),
        fast_retry(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    let err = within_deadline(until, client.chat(&[Message::user("x")], &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Deadline(_)), "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    assert_eq!(fake.received().len(), 1, "no retry after the deadline");
}

#[tokio::test]
async fn retry_after_is_honoured_only_while_it_fits_in_the_deadline() {
    // Longer than the cap but inside the deadline: waited for.
    let fake = FakeLlm::start(vec![
        Reply::Error {
            status: 429,
            retry_after: Some(2),
        },
        Reply::Text("ok".into()),
    ])
    .await
    .unwrap();
    let client = LlmClient::new(
        openai("retry-after-test")(&fake),
        Duration::from_secs(5),
        Retry {
            max_retries: 2,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(1),
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let out = within_deadline(until, client.chat(&[Message::user("x")], &[]))
        .await
        .unwrap();
    assert_eq!(out.message.content.as_deref(), Some("ok"));
    assert!(started.elapsed() >= Duration::from_millis(1900));
    // Past the deadline: not waited for at all.
    let fake = FakeLlm::start(vec![Reply::Error {
        status: 429,
        retry_after: Some(3600),
    }])
    .await
    .unwrap();
    let client = LlmClient::new(
        openai("retry-after-test-2")(&fake),
        Duration::from_secs(5),
        fast_retry(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_secs(90);
    let err = within_deadline(until, client.chat(&[Message::user("x")], &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Deadline(_)), "{err}");
    assert!(err.to_string().contains("3600s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The second request of a tool-using investigation: the assistant turn that
/// only called a tool, then the tool's result. Pinned because llama.cpp's
/// server (llama-cpp-python) refuses what OpenAI takes: a missing
/// `tool_choice` hides the tools from its model, and an assistant turn
/// without `content` (or with `null`) is answered 500 or 422 — found by
/// sre-agent-cli/tests/llm_llamacpp.rs against a real server.
#[test]
fn a_tool_round_sends_tool_choice_and_a_string_content() {
    use sre_orchestrator::llm::{FunctionCall, ToolCall};
    let client = LlmClient::new(
        Endpoint::OpenAi {
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "gemma3-270m".into(),
            api_key: None,
        },
        Duration::from_secs(1),
        fast_retry(),
    )
    .unwrap();
    let mut messages = sample_messages();
    messages.push(Message {
        role: "assistant".into(),
        content: None,
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            kind: "function".into(),
            function: FunctionCall {
                name: "k8s__logs".into(),
                arguments: r#"{"pod": "cart-1"}"#.into(),
            },
        }],
        tool_call_id: None,
    });
    messages.push(Message::tool("call_1", "panic: DATABASE_URL not set"));
    let body = client.request_body(&messages, &sample_tools()).unwrap();
    insta::assert_json_snapshot!("openai_tool_round", body);
    // The final request offers no tools, so it names no tool choice.
    let last = client.request_body(&messages, &[]).unwrap();
    assert!(last.get("tool_choice").is_none(), "{last}");
}
