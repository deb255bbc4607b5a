//! Adapters between the shared, long-lived sources and the per-job
//! [`Recording`](sre_orchestrator::transcript::Recording), which wants to own
//! its tool source and model: thin `Arc` wrappers, plus per-server latency
//! metrics on every tool call.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use sre_orchestrator::llm::{Completion, LlmClient, LlmError, Message, ToolSpec};
use sre_orchestrator::rca::DataGap;
use sre_orchestrator::registry::ToolOutcome;
use sre_orchestrator::transcript::{ChatModel, ToolInfo, ToolSource};

use super::metrics::Metrics;

/// The shared tool source, timing each call by server.
pub(crate) struct MeteredTools {
    pub(crate) inner: Arc<dyn ToolSource>,
    pub(crate) metrics: Arc<Metrics>,
}

impl ToolSource for MeteredTools {
    fn tools(&self) -> Vec<ToolInfo> {
        self.inner.tools()
    }

    fn call<'a>(
        &'a self,
        qualified: &'a str,
        args: serde_json::Value,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            let started = Instant::now();
            let outcome = self.inner.call(qualified, args).await;
            let server = qualified.split_once('.').map_or(qualified, |(s, _)| s);
            self.metrics
                .tool_call(server, outcome.is_error, started.elapsed());
            outcome
        })
    }

    fn gaps(&self) -> Vec<DataGap> {
        self.inner.gaps()
    }
}

/// The shared LLM client.
pub(crate) struct SharedModel(pub(crate) Arc<LlmClient>);

impl ChatModel for SharedModel {
    fn chat<'a>(
        &'a self,
        messages: &'a [Message],
        tools: &'a [ToolSpec],
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        Box::pin(self.0.chat(messages, tools))
    }
}
