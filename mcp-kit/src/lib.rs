//! What every sre-agent MCP server shares.
//!
//! Four MCP servers (SigNoz, Kubernetes, MongoDB, Slack) ship from this
//! workspace, each usable alone in any MCP host. They must behave alike where
//! it matters to the people who run them, so that behaviour lives here, once:
//!
//! * **Serving** ([`serve`]): one call serves a server over stdio or
//!   streamable HTTP, chosen by flags, with bearer-token auth, allowed hosts,
//!   a request-body limit, `/healthz` and `/readyz`, graceful shutdown on
//!   SIGTERM/SIGINT and logs on stderr (stdout is the MCP channel).
//! * **Configuration** ([`config`]): every flag is also an environment
//!   variable with the server's prefix and a key in an optional TOML file;
//!   flag > environment > file > default.
//! * **The guard** ([`server`]): every server runs behind [`server::Guarded`],
//!   which hides write tools unless `--allow-writes`, filters tools by
//!   `--enable-tools`/`--disable-tools`, validates arguments against each
//!   tool's schema (errors name the field), and passes every result through
//!   redaction and the response budget. A tool cannot forget any of these.
//! * **Redaction** ([`redact`]): secrets are masked by shape (JWTs, PEM keys,
//!   vendor tokens, URL passwords) and by name (`DB_PASSWORD=…`).
//! * **The response budget** ([`budget`]): one ceiling in tokens for every
//!   result, cut at line boundaries with an honest note on what was cut and
//!   how to get the rest.
//! * **Portable schemas** ([`schema`]): optional tool arguments are written
//!   without a `null` type, which hosts flag as not portable.
//! * **Untrusted-data framing** ([`untrusted`]): text from observed systems is
//!   wrapped so a model can tell data from instructions.
//! * **Snapshot jails** ([`jail`]): offline modes read their folder and
//!   nothing beyond it (links that lead out are skipped, errors name paths
//!   relative to the folder).
//! * **Durations** ([`duration`]): one grammar (`30s`, `15m`, `1h30m`,
//!   `PT1H30M`; a bare number is seconds) for every flag, tool argument, Slack
//!   command and portal filter of the workspace that takes a duration.
//!
//! A server is a plain rmcp tool server (`#[tool_router]`, `Parameters<T>`,
//! read-only/destructive annotations) that also implements
//! [`server::KitServer`]; see `examples/kit_example_server.rs` (built as the `kit-example-server` binary).
//!
//! # Tool results and errors
//!
//! Every server answers in rmcp's own idiom, the same way, so no tool builds a
//! `CallToolResult` by hand:
//!
//! * A tool returns `Result<String, E>` (plain `String` when it cannot fail).
//!   rmcp sends `Ok` as the result's text, and `Err` as a result marked
//!   `isError` whose content is what `E` converts into
//!   ([`IntoContents`](rmcp::model::IntoContents)).
//! * `E` is the server's own error enum, whose `Display` is the whole message
//!   a person reads: what failed and what to do about it. The server
//!   implements `IntoContents` for it as that one text block (the orphan rule
//!   keeps the impl in the server's crate; mcp-kubernetes's starts with
//!   `error: `, its wording since its first release). The tool uses `?` on
//!   everything it calls, and nothing else.
//! * A failure the caller can act on (a bad argument, a refused namespace or
//!   channel, an unreachable backend, a missing token) is such a tool error:
//!   the model reads it and can try differently. rmcp's
//!   [`ErrorData`](rmcp::ErrorData) (`McpError`) is kept for protocol errors,
//!   which the host gets instead of a result (an unknown tool, arguments that
//!   do not parse); no tool returns it.
//! * The guard's own refusals ([`Guarded`]: a hidden write tool, arguments
//!   that fail the schema) are `isError` results too, and every result, error
//!   or not, passes through redaction and the budget.
//!
//! Nothing here contacts a backend: servers connect lazily, so `initialize`
//! and `tools/list` answer at once even when the backend is down, and the
//! costly pieces (the redaction regexes, schema validators) load on first
//! use, not at start-up; the tokenizer has nothing to load (static tables
//! generated at build time).

pub mod budget;
pub mod config;
pub mod duration;
pub mod jail;
pub mod redact;
pub mod schema;
pub mod serve;
pub mod server;
pub mod untrusted;

mod tokens;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod redteam;

pub use budget::Budget;
pub use serve::{KitArgs, run, run_or_exit};
pub use server::{Guarded, KitServer, ServerDescription, ToolPolicy};

/// Re-exported so servers use the same rmcp and schemars versions as the kit.
pub use rmcp;
pub use schemars;
