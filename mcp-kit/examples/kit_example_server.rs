//! **An example**, not a product: the smallest server built on the kit, used
//! to prove the conformance harness and as a template for real servers.
//!
//! ```text
//! cargo run -p mcp-kit --bin kit-example-server                 # stdio
//! cargo run -p mcp-kit --bin kit-example-server -- --transport http --no-auth
//! ```
//!
//! It has two read-only tools and one write tool (`reset_counter`) that is
//! absent unless `--allow-writes` is given.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use mcp_kit::rmcp::handler::server::router::tool::ToolRouter;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::{schemars, tool, tool_router};
use mcp_kit::{KitArgs, KitServer, ServerDescription, untrusted};

/// Command-line flags: the kit's, plus one of the example's own.
#[derive(Debug, Parser)]
#[command(name = "kit-example-server", version, about = "An example MCP server built on mcp-kit")]
struct Cli {
    /// Text prepended to every echo.
    #[arg(long, default_value = "")]
    greeting: String,

    #[command(flatten)]
    kit: KitArgs,
}

/// Arguments of `echo`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
    /// How many numbered lines to return (1 to 100000); large values show the
    /// response budget cutting the result.
    #[schemars(range(min = 1, max = 100_000))]
    repeat: Option<u32>,
}

/// Arguments of `show_config`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct ShowConfigArgs {
    /// Name of the (made-up) service whose config file to show.
    service: String,
}

/// Arguments of `reset_counter`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct ResetArgs {
    /// The value to reset the counter to.
    value: u64,
}

#[derive(Clone)]
struct Example {
    greeting: Arc<str>,
    calls: Arc<AtomicU64>,
}

#[tool_router]
impl Example {
    #[tool(
        description = "Echo text back, optionally as many numbered lines.",
        annotations(read_only_hint = true)
    )]
    fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let repeat = args.repeat.unwrap_or(1);
        let mut out = format!("call {n}");
        for i in 1..=repeat {
            out.push_str(&format!("\n{i}: {}{}", self.greeting, args.text));
        }
        out
    }

    #[tool(
        description = "Show a made-up service's config file, as untrusted data (demonstrates redaction).",
        annotations(read_only_hint = true)
    )]
    // A tool that can fail returns `Result`: rmcp marks `Err` as an `isError`
    // result (see the kit's crate docs). The example's error is a plain
    // `String`; a real server's is its own error enum.
    fn show_config(&self, Parameters(args): Parameters<ShowConfigArgs>) -> Result<String, String> {
        if args.service.is_empty() {
            return Err("`service` must not be empty".into());
        }
        let body = format!(
            "service: {}\nDB_PASSWORD=hunter2\nmongo_uri: mongodb://app:s3cr3tpass@db:27017/orders\nlog_level: info",
            args.service
        );
        Ok(untrusted::frame(
            &format!("config of {}", args.service),
            &body,
        ))
    }

    #[tool(
        description = "Reset the echo call counter (a write tool: absent unless --allow-writes).",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    fn reset_counter(&self, Parameters(args): Parameters<ResetArgs>) -> String {
        let old = self.calls.swap(args.value, Ordering::Relaxed);
        format!("counter reset from {old} to {}", args.value)
    }
}

impl KitServer for Example {
    fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }

    fn description() -> ServerDescription {
        ServerDescription {
            name: "kit-example",
            version: env!("CARGO_PKG_VERSION"),
            instructions: "An example server: `echo` returns text, `show_config` shows a config file.",
        }
    }
}

#[tokio::main]
async fn main() {
    let cli: Cli = mcp_kit::config::parse_or_exit("MCP_KIT_EXAMPLE");
    mcp_kit::serve::init_logging(&cli.kit);
    let server = Example {
        greeting: Arc::from(cli.greeting.as_str()),
        calls: Arc::new(AtomicU64::new(0)),
    };
    mcp_kit::run_or_exit(server, &cli.kit).await;
}
