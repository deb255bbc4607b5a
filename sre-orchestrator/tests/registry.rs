//! The registry over real MCP sessions: an in-process kit server, a binary
//! that does not exist, and an HTTP endpoint nobody listens on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mcp_kit::rmcp::handler::server::router::tool::ToolRouter;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::{tool, tool_router};
use mcp_kit::{Budget, Guarded, KitServer, ServerDescription, ToolPolicy};
use serde_json::json;
use sre_orchestrator::registry::{Registry, ServerConfig, ServerTransport};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct PodArgs {
    /// Pod name.
    pod: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct SleepArgs {
    /// Milliseconds to sleep.
    ms: u64,
}

#[derive(Clone)]
struct Fake;

#[tool_router]
impl Fake {
    #[tool(description = "Logs of a pod.", annotations(read_only_hint = true))]
    fn pod_logs(&self, Parameters(a): Parameters<PodArgs>) -> String {
        format!("logs of {}: DB_PASSWORD=hunter2 connection refused", a.pod)
    }

    #[tool(description = "Sleeps.", annotations(read_only_hint = true))]
    async fn slow(&self, Parameters(a): Parameters<SleepArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(a.ms)).await;
        "done".into()
    }
}

impl KitServer for Fake {
    fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }
    fn description() -> ServerDescription {
        ServerDescription {
            name: "fake-k8s",
            version: "0",
            instructions: "test",
        }
    }
}

async fn registry(timeout: Duration) -> Registry {
    let mut r = Registry::new(timeout);
    r.add_in_process(
        "k8s",
        Guarded::new(Fake, &ToolPolicy::default(), Budget::default()).unwrap(),
    )
    .await;
    r
}

#[tokio::test]
async fn tools_are_named_server_dot_tool_and_calls_round_trip() {
    let r = registry(Duration::from_secs(5)).await;
    let names: Vec<String> = r.tools().into_iter().map(|t| t.qualified).collect();
    assert_eq!(names, ["k8s.pod_logs", "k8s.slow"]);
    let out = r.call("k8s.pod_logs", json!({"pod": "checkout-1"})).await;
    assert!(!out.is_error, "{out:?}");
    assert!(out.text.contains("logs of checkout-1"));
    assert!(
        out.text.contains("DB_PASSWORD=[REDACTED]"),
        "the kit redacts: {}",
        out.text
    );
    assert!(r.gaps().is_empty());
}

#[tokio::test]
async fn mistakes_come_back_as_readable_errors() {
    let r = registry(Duration::from_secs(5)).await;
    let out = r.call("k8s.pod_log", json!({})).await;
    assert!(
        out.is_error && out.text.contains("has no tool `pod_log`") && out.text.contains("pod_logs"),
        "{out:?}"
    );
    let out = r.call("mongo.status", json!({})).await;
    assert!(
        out.is_error && out.text.contains("no server named `mongo`"),
        "{out:?}"
    );
    let out = r.call("pod_logs", json!({})).await;
    assert!(out.is_error && out.text.contains("server.tool"), "{out:?}");
    let out = r.call("k8s.pod_logs", json!({"pod": 3})).await;
    assert!(out.is_error && out.text.contains("pod"), "{out:?}");
    let out = r.call("k8s.pod_logs", json!([1])).await;
    assert!(out.is_error && out.text.contains("JSON object"), "{out:?}");
}

#[tokio::test]
async fn a_slow_tool_times_out_and_is_recorded() {
    let r = registry(Duration::from_millis(200)).await;
    let out = r.call("k8s.slow", json!({"ms": 5000})).await;
    assert!(out.is_error && out.text.contains("timed out"), "{out:?}");
    let gaps = r.gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].source, "k8s");
}

#[tokio::test]
async fn servers_that_cannot_start_become_data_gaps() {
    let mut r = registry(Duration::from_secs(5)).await;
    let dead_port = mcp_kit_free_port();
    r.connect_all(
        &[
            ServerConfig {
                name: "mongo".into(),
                transport: ServerTransport::Stdio {
                    command: "/nonexistent/mcp-mongodb".into(),
                    args: vec![],
                    env: Default::default(),
                },
            },
            ServerConfig {
                name: "signoz".into(),
                transport: ServerTransport::Http {
                    url: format!("http://127.0.0.1:{dead_port}/mcp"),
                    token: Some("t".into()),
                },
            },
        ],
        Duration::from_secs(10),
    )
    .await;
    let gaps = r.gaps();
    let sources: Vec<&str> = gaps.iter().map(|g| g.source.as_str()).collect();
    assert_eq!(sources, ["mongo", "signoz"], "{gaps:?}");
    assert!(
        gaps[0].reason.contains("/nonexistent/mcp-mongodb"),
        "{gaps:?}"
    );
    // The investigation can go on with what is left.
    assert_eq!(r.servers(), ["k8s"]);
    assert!(!r.call("k8s.pod_logs", json!({"pod": "x"})).await.is_error);
}

fn mcp_kit_free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
