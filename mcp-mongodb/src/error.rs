//! Errors a tool can meet, each worded for the person who reads it.
//!
//! Every variant names what was being done and, where it helps, what to do
//! next. None of them ever carries the connection string: only the host list
//! derived from it (see [`crate::live::display_hosts`]).

use mcp_kit::rmcp::model::{ContentBlock, IntoContents};

/// Why a tool could not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No server could be reached within the server-selection timeout.
    #[error(
        "cannot reach MongoDB at {hosts} within {timeout_s}s: {detail}. Check that the host is \
         up and reachable from this server, or raise --server-selection-timeout"
    )]
    Unreachable {
        /// The hosts from the connection string (never the password).
        hosts: String,
        /// The server-selection timeout, in seconds.
        timeout_s: u64,
        /// What the driver saw, shortened.
        detail: String,
    },
    /// Authentication failed, or the user lacks a privilege.
    #[error(
        "MongoDB at {hosts} refused `{command}`: {detail}. Check the user and password in the \
         connection string; diagnostics need the clusterMonitor role (plus read on the \
         databases to inspect)"
    )]
    Unauthorized {
        /// The hosts from the connection string.
        hosts: String,
        /// The command or operation refused.
        command: String,
        /// What the server said.
        detail: String,
    },
    /// The server does not implement a command or stage.
    #[error("this server does not support `{command}`: {detail}")]
    Unsupported {
        /// The command or stage.
        command: String,
        /// What the server said, or what was missing from its reply.
        detail: String,
    },
    /// The operation exceeded its `maxTimeMS`.
    #[error(
        "`{command}` exceeded max_time_ms={max_time_ms} and was stopped by the server; narrow \
         the filter, use an indexed field, or raise max_time_ms"
    )]
    TimedOut {
        /// The command.
        command: String,
        /// The limit, in milliseconds.
        max_time_ms: u64,
    },
    /// The server answered with another error.
    #[error("`{command}` failed on {hosts}: {detail}")]
    Command {
        /// The command.
        command: String,
        /// The hosts from the connection string.
        hosts: String,
        /// The server's error (code name and message).
        detail: String,
    },
    /// The connection string is malformed.
    #[error("the MongoDB connection string is invalid: {0} (the string itself is not shown)")]
    InvalidUri(String),
    /// Neither `--uri`/`MONGODB_URI` nor `--snapshot` was given.
    #[error(
        "no MongoDB to diagnose: pass --uri (or set MONGODB_URI) for a live server, or \
         --snapshot DIR for a recorded one"
    )]
    NoSource,
    /// A namespace is outside the allowlist.
    #[error("{what} is not in this server's allowlist ({allowed}); ask its operator to add it")]
    NotAllowed {
        /// The database or namespace refused.
        what: String,
        /// The allowlist flags in force.
        allowed: String,
    },
    /// A pipeline stage reads a collection outside the allowlist (in this
    /// database or, with `{db, coll}`, another one).
    #[error(
        "refused: `{stage}` at {path} reads `{ns}`, which is not in this server's allowlist \
         ({allowed}); nothing was sent to MongoDB"
    )]
    CrossNamespace {
        /// `$lookup`, `$graphLookup` or `$unionWith`.
        stage: &'static str,
        /// Where in the pipeline.
        path: String,
        /// The namespace it reads, `db.collection`.
        ns: String,
        /// The allowlist flags in force.
        allowed: String,
    },
    /// A query contains a stage or operator that writes or runs code.
    #[error(
        "refused: `{operator}` at {path} {why}; this server only reads. Remove it and try again"
    )]
    Forbidden {
        /// The operator, e.g. `$merge`.
        operator: String,
        /// Where it was found, e.g. `pipeline[3]`.
        path: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// A database or collection name MongoDB would refuse (or one that
    /// names a path, which a snapshot refuses).
    #[error("invalid {kind} name `{name}` in `{arg}`: {why}")]
    InvalidName {
        /// `database` or `collection`.
        kind: &'static str,
        /// The argument that held it, e.g. `database` or `pipeline[1].$lookup.from`.
        arg: String,
        /// The name, with control characters escaped.
        name: String,
        /// Which rule it breaks.
        why: String,
    },
    /// A tool argument is wrong in a way the schema cannot express.
    #[error("{0}")]
    BadArgument(String),
    /// A recorded snapshot lacks a file or holds invalid data.
    #[error("snapshot {path}: {reason}")]
    Snapshot {
        /// The file.
        path: String,
        /// What is wrong and how to record it.
        reason: String,
    },
    /// The server's reply did not have the expected shape.
    #[error("`{command}` returned an unexpected reply: {detail}")]
    Unexpected {
        /// The command.
        command: String,
        /// What was missing or wrong.
        detail: String,
    },
}

impl Error {
    /// Why index usage is unavailable, when `$indexStats` failed with this
    /// error and the rest of `collection_stats` can still answer; the error
    /// itself when it should fail the tool (an unreachable server, say).
    pub fn index_usage_unavailable(self) -> Result<String> {
        match self {
            // A plain `read` user may run collStats but not $indexStats,
            // whose `indexStats` action only clusterMonitor (among built-in
            // roles) grants.
            Error::Unauthorized { detail, .. } => Ok(format!(
                "this user may not run `$indexStats` ({detail}); it needs the indexStats \
                 privilege, which the clusterMonitor role grants and read does not"
            )),
            e @ (Error::TimedOut { .. }
            | Error::Unsupported { .. }
            | Error::Command { .. }
            | Error::Snapshot { .. }) => Ok(e.to_string()),
            other => Err(other),
        }
    }
}

/// A tool that fails answers with this message as its one text block, in a
/// result marked `isError`: rmcp turns a tool's `Result<String, Error>` into
/// that (the kit's convention, see `mcp_kit`'s crate docs), so the tools need
/// no adapter of their own.
impl IntoContents for Error {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
