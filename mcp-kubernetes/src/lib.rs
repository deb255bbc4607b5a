//! Read-only-by-default Kubernetes MCP server built for incident investigation.
//!
//! **Status: being built** (issue #3); this placeholder keeps the workspace whole.
