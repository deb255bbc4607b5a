//! `mcp-mongodb`: the MongoDB diagnostics MCP server. See the crate docs and
//! README for the tools and flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mcp_kit::KitArgs;
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::backend::Backend;
use mcp_mongodb::live::{Live, LiveConfig};
use mcp_mongodb::snapshot::Snapshot;
use mcp_mongodb::{Error, Limits, MongoServer};

/// What `--help` says first. The command is named after the package.
const ABOUT: &str =
    "MongoDB diagnostics MCP server for incidents: read-only, bounded, lazy to connect";

/// Command-line flags: MongoDB's, then the kit's.
#[derive(Debug, Parser)]
// The kit's `--allow-writes` is hidden: this server has no write tool, so
// the flag could only mislead (it is still accepted, and does nothing).
#[command(version, mut_arg("allow_writes", |a| a.hide(true)), about = ABOUT)]
struct Cli {
    /// MongoDB connection string (mongodb:// or mongodb+srv://). Prefer the
    /// environment variable: a flag shows in process listings.
    #[arg(long, env = "MONGODB_URI", hide_env_values = true, help_heading = "MongoDB")]
    uri: Option<String>,

    /// Serve recorded replies from this directory instead of a live server
    /// (format: see the README).
    #[arg(long, conflicts_with = "uri", help_heading = "MongoDB")]
    snapshot: Option<PathBuf>,

    /// Seconds to wait for a usable server before a tool fails.
    #[arg(long, default_value_t = 5, help_heading = "MongoDB")]
    server_selection_timeout: u64,

    /// Seconds to wait for a TCP/TLS connection.
    #[arg(long, default_value_t = 5, help_heading = "MongoDB")]
    connect_timeout: u64,

    /// Only these databases are visible (comma-separated names or globs like
    /// `app_*`); default all.
    #[arg(long, value_delimiter = ',', help_heading = "MongoDB")]
    allow_databases: Vec<String>,

    /// Only these collections are visible (comma-separated `db.collection`,
    /// globs allowed, e.g. `shop.*`); default all.
    #[arg(long, value_delimiter = ',', help_heading = "MongoDB")]
    allow_collections: Vec<String>,

    /// Most documents one find/aggregate returns.
    #[arg(long, default_value_t = 200, help_heading = "MongoDB")]
    max_documents: u32,

    /// Default and ceiling of maxTimeMS for reads and explain, in milliseconds.
    #[arg(long, default_value_t = 5000, help_heading = "MongoDB")]
    max_time_ms: u64,

    #[command(flatten)]
    kit: KitArgs,
}

#[tokio::main]
async fn main() {
    let cli: Cli = mcp_kit::config::parse_or_exit("MCP_MONGODB");
    mcp_kit::serve::init_logging(&cli.kit);
    let backend: Arc<dyn Backend> = match (&cli.snapshot, &cli.uri) {
        (Some(dir), _) => match Snapshot::open(dir) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        },
        (None, Some(uri)) if !uri.trim().is_empty() => {
            if let Err(e) = mcp_mongodb::live::check_uri(uri.trim()) {
                eprintln!("error: --uri / MONGODB_URI: {e}");
                std::process::exit(2);
            }
            Arc::new(Live::new(LiveConfig {
                uri: uri.trim().to_string(),
                server_selection_timeout: Duration::from_secs(cli.server_selection_timeout.max(1)),
                connect_timeout: Duration::from_secs(cli.connect_timeout.max(1)),
            }))
        }
        _ => {
            eprintln!("error: {}", Error::NoSource);
            std::process::exit(2);
        }
    };
    tracing::info!(target = %backend.target(), "mcp-mongodb ready (connects on first tool call)");
    let server = MongoServer::new(
        backend,
        Allowlist::new(cli.allow_databases, cli.allow_collections),
        cli.kit.budget(),
        Limits {
            max_documents: cli.max_documents.max(1),
            max_time_ms: cli.max_time_ms.max(1),
        },
    );
    mcp_kit::run_or_exit(server, &cli.kit).await;
}
