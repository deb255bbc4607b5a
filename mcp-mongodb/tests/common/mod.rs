//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use mcp_kit::budget::Budget;
use mcp_kit::rmcp::handler::server::tool::IntoCallToolResult;
use mcp_kit::rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use mcp_kit::{Guarded, ToolPolicy};
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::backend::Backend;
use mcp_mongodb::{Limits, MongoServer};

/// The recorded scenario in `fixtures/mongodb/missing-index`.
pub fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mongodb/missing-index")
}

/// A guarded server, so results are redacted and budgeted as a host sees them.
pub fn guarded(backend: Arc<dyn Backend>, allow: Allowlist) -> Guarded<MongoServer> {
    let server = MongoServer::new(backend, allow, Budget::default(), Limits::default());
    Guarded::new(server, &ToolPolicy::default(), Budget::default()).unwrap()
}

/// A tool's return value as the host receives it: rmcp turns the tools'
/// `Result<String, Error>` into a result marked `isError` on failure.
pub fn call_result(r: impl IntoCallToolResult) -> CallToolResult {
    match r.into_call_tool_result() {
        Ok(CallToolResponse::Complete(result)) => result,
        other => panic!("not a complete tool result: {other:?}"),
    }
}

/// The text of a result after the kit's redaction and budget, and whether
/// it is an error.
pub fn finish(g: &Guarded<MongoServer>, result: impl IntoCallToolResult) -> (String, bool) {
    let result = g.finish(call_result(result));
    let text = result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text, result.is_error.unwrap_or(false))
}

/// Parses an argument struct from JSON.
pub fn args<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> mcp_kit::rmcp::handler::server::wrapper::Parameters<T> {
    mcp_kit::rmcp::handler::server::wrapper::Parameters(serde_json::from_value(v).unwrap())
}
