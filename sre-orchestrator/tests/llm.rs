//! The LLM client against the fake OpenAI-compatible server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use sre_orchestrator::fake_llm::{FakeLlm, Reply};
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
