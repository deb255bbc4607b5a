//! Slack MCP server, and the Slack intake the sre-agent bot uses.
//!
//! **Status: not built yet.** This crate is a placeholder in the workspace so the
//! layout users will know exists from the start; it exposes nothing. Its work is
//! tracked in issue #6.
