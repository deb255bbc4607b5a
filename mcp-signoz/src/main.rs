//! `mcp-signoz`: the SigNoz MCP server binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mcp_signoz::{
    AnyStore, ClickHouseConfig, ClickHouseStore, EmbeddedStore, Limits, Signoz, SignozServer,
};

/// What `--help` says first. The command is named after the package.
const ABOUT: &str = "MCP server for SigNoz: logs, traces and metrics from SigNoz's ClickHouse, with log-pattern mining";

/// Flags: where the telemetry is, and the kit's serving flags.
#[derive(Debug, Parser)]
// The kit's `--allow-writes` is hidden: this server has no write tool, so
// the flag could only mislead (it is still accepted, and does nothing).
#[command(version, mut_arg("allow_writes", |a| a.hide(true)), about = ABOUT)]
struct Cli {
    /// SigNoz's ClickHouse HTTP(S) URL.
    #[arg(long, default_value = "http://localhost:8123", help_heading = "ClickHouse")]
    clickhouse_url: String,

    /// ClickHouse user (create a read-only one; see the README).
    #[arg(long, default_value = "default", help_heading = "ClickHouse")]
    clickhouse_user: String,

    /// ClickHouse password (prefer the MCP_SIGNOZ_CLICKHOUSE_PASSWORD variable).
    #[arg(long, hide_env_values = true, help_heading = "ClickHouse")]
    clickhouse_password: Option<String>,

    /// Query the local tables (logs_v2, …) instead of SigNoz's distributed_* tables.
    #[arg(long, help_heading = "ClickHouse")]
    clickhouse_local_tables: bool,

    /// Timeout of every query, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_timeout, help_heading = "ClickHouse")]
    query_timeout: Duration,

    /// Offer the query_sql tool: read-only SQL on SigNoz's tables.
    #[arg(long, help_heading = "ClickHouse")]
    allow_raw_sql: bool,

    /// Tables query_sql may read (db.table, comma-separated); default: SigNoz's logs, traces and metrics tables.
    #[arg(long, value_delimiter = ',', help_heading = "ClickHouse")]
    raw_sql_tables: Vec<String>,

    /// Serve telemetry files from this directory instead of ClickHouse
    /// (OTLP/JSON from the collector's file exporter, or SigNoz JSONEachRow exports).
    #[arg(long, help_heading = "Offline")]
    telemetry_dir: Option<PathBuf>,

    /// Pin "now" (RFC 3339 or epoch seconds) for relative times such as now-15m.
    /// Default: the wall clock, or the end of the data with --telemetry-dir.
    #[arg(long, help_heading = "Offline")]
    now: Option<String>,

    /// Most log lines mined per window by log_patterns.
    #[arg(long, default_value_t = 100_000, help_heading = "Tools")]
    max_pattern_lines: usize,

    #[command(flatten)]
    kit: mcp_kit::KitArgs,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match mcp_kit::duration::parse(s) {
        Ok(d) if d.is_zero() => Err(format!("`{s}`: a timeout must be longer than zero")),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::main]
async fn main() {
    let mut cli: Cli = mcp_kit::config::parse_or_exit("MCP_SIGNOZ");
    mcp_kit::serve::init_logging(&cli.kit);
    let now = match cli.now.as_deref() {
        Some(t) => match mcp_signoz::time::parse_time(t, 0) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("error: --now: {e}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let store = match &cli.telemetry_dir {
        Some(dir) => match EmbeddedStore::load_dir(dir) {
            Ok(s) => {
                let s = match now {
                    Some(n) => s.with_now(n),
                    None => s,
                };
                AnyStore::Embedded(Arc::new(s))
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        },
        None => {
            // Checked now, so a typo fails here and not on the first tool
            // call; nothing is contacted until then.
            if let Err(e) = mcp_signoz::clickhouse::endpoint::check_url(&cli.clickhouse_url) {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
            let mut config = ClickHouseConfig {
                url: cli.clickhouse_url.clone(),
                user: cli.clickhouse_user.clone(),
                password: cli.clickhouse_password.clone(),
                distributed: !cli.clickhouse_local_tables,
                timeout: cli.query_timeout,
                now,
                ..ClickHouseConfig::default()
            };
            if !cli.raw_sql_tables.is_empty() {
                config.raw_sql_tables = cli.raw_sql_tables.clone();
            }
            AnyStore::ClickHouse(Arc::new(ClickHouseStore::new(config)))
        }
    };
    // Without --allow-raw-sql the tool is not even listed.
    if !cli.allow_raw_sql
        && !cli
            .kit
            .disable_tools
            .iter()
            .any(|t| t == mcp_signoz::server::RAW_SQL_TOOL)
    {
        cli.kit
            .disable_tools
            .push(mcp_signoz::server::RAW_SQL_TOOL.to_string());
    }
    tracing::info!(store = %mcp_signoz::Store::describe(&store), "mcp-signoz starting");
    let limits = Limits {
        budget: cli.kit.budget(),
        max_pattern_lines: cli.max_pattern_lines.max(1000),
    };
    let server = SignozServer::new(Signoz::new(store, limits), cli.allow_raw_sql);
    mcp_kit::run_or_exit(server, &cli.kit).await;
}
