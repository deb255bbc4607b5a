//! Per-server latency metrics on every tool call of the shared, long-lived
//! tool source.

use std::sync::Arc;
use std::time::Instant;

use sre_orchestrator::rca::DataGap;
use sre_orchestrator::transcript::{ToolInfo, ToolReply, ToolSource};

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

    fn call<'a>(&'a self, qualified: &'a str, args: serde_json::Value) -> ToolReply<'a> {
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
