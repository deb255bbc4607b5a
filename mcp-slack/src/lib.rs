//! Slack for the SRE agent: an MCP server for incident work, and the pieces
//! the Slack bot uses to receive events and post root-cause analyses.
//!
//! # Two users, one crate
//!
//! On-call engineers run `mcp-slack` as a standalone MCP server in Claude
//! Desktop, VS Code or the agent itself: read a channel or a thread, search,
//! look up a person, and — only when started with `--allow-writes` — post,
//! reply, update and react. The bot (`sre-agent serve`) links this crate as a
//! library: it receives alert messages and button clicks through [`intake`],
//! recognises alerts with [`alerts`], and posts its findings rendered by
//! [`rca`] through the same Web API client ([`api`]).
//!
//! # Decisions
//!
//! * **The shared kit does the serving.** Redaction, the response budget,
//!   write gating, argument validation and both transports come from
//!   `mcp-kit`; [`server`] only has Slack in it.
//! * **Nothing blocks start-up.** `initialize` is answered at once; channel
//!   and user caches fill in a background task ([`directory`]), and a
//!   missing token is a clear tool error, not a crash.
//! * **Least privilege, enforced here.** Reads *and* writes are limited to a
//!   channel allowlist ([`policy`]), and writes are rate-limited per channel
//!   by the server itself, whatever Slack would allow: a looping agent must
//!   not flood an alert channel at 3 a.m.
//! * **Compact, framed output.** One line per message (ts, time, author,
//!   text, replies; [`mod@format`]); message text is wrapped as untrusted data,
//!   because anyone who can post in a channel can write "ignore previous
//!   instructions".
//! * **slack-morphism where it fits.** Its hyper client (rustls, no OpenSSL)
//!   accepts a custom base URL, so tests aim it at a fake; its models parse
//!   responses and events. Where it does not fit, this crate says so and
//!   goes around it: `search.messages`
//!   is not modelled (a generic call is used), message blocks are posted as
//!   raw JSON (a round trip through typed blocks would drop fields it does
//!   not know), its tier throttler is replaced by bounded `Retry-After`
//!   retries, events also carry their raw JSON (its attachment model
//!   lacks `title_link`, which alert parsing reads), and Socket Mode is a
//!   small client of this crate's on tokio-tungstenite (its client passes on
//!   only what its models keep; see [`intake::socket_mode`]).
//! * **Honest limits.** Slack's limits (50 blocks, 3,000 characters per
//!   text) are kept by splitting, and anything cut says so in the message.
//! * **Testable without Slack.** The `fake` feature provides a fake of the
//!   Web API methods used ([`fake`]), faithful to Slack's documented
//!   behaviour, that this crate's tests and the bot's reuse. Signature
//!   checks take the time from an injectable clock.

pub mod alerts;
pub mod api;
pub mod directory;
pub mod error;
pub mod format;
pub mod intake;
pub mod policy;
pub mod rca;
pub mod server;
pub mod tokens;

#[cfg(feature = "fake")]
pub mod fake;

pub use alerts::{ParsedAlert, parse_alert};
pub use api::{SlackApi, SlackApiConfig};
pub use error::SlackError;
pub use rca::{RcaMessage, render_rca};
pub use server::{SlackServer, SlackServerConfig};
