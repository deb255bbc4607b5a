//! `mcp-kubernetes`: the Kubernetes MCP server binary. See the library docs for the design.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mcp_kit::KitArgs;
use mcp_kubernetes::Policy;
use mcp_kubernetes::clusters::{Clusters, ConnectOptions};
use mcp_kubernetes::server::KubeServer;

/// What `--help` says first. The command is named after the package.
const ABOUT: &str =
    "Kubernetes MCP server for incident investigation (read-only unless --allow-writes)";

/// Command-line flags (each is also an `MCP_KUBERNETES_*` environment variable and a config-file key).
#[derive(Debug, Parser)]
#[command(version, about = ABOUT)]
struct Cli {
    /// Kubeconfig file; default $KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
    #[arg(long, help_heading = "Cluster")]
    kubeconfig: Option<PathBuf>,

    /// Default context for tools called without `context`; default the kubeconfig's current context.
    #[arg(long, help_heading = "Cluster")]
    context: Option<String>,

    /// Serve an offline snapshot folder instead of a live cluster (see the crate docs for the layout).
    #[arg(long, help_heading = "Cluster")]
    snapshot: Option<PathBuf>,

    /// Timeout of every Kubernetes API call, in seconds.
    #[arg(long, default_value_t = 20, help_heading = "Cluster")]
    timeout_secs: u64,

    /// Only these namespaces may be read (comma-separated; `prefix-*` globs allowed).
    #[arg(long, value_delimiter = ',', help_heading = "Policy")]
    allow_namespaces: Vec<String>,

    /// These namespaces are never read or written (wins over --allow-namespaces).
    #[arg(long, value_delimiter = ',', help_heading = "Policy")]
    deny_namespaces: Vec<String>,

    /// With --allow-writes: only these namespaces may be written (default: every readable namespace).
    #[arg(long, value_delimiter = ',', help_heading = "Policy")]
    write_namespaces: Vec<String>,

    /// Allow listing and describing Secrets (names, types and keys only; values are never returned).
    #[arg(long, help_heading = "Policy")]
    allow_secrets: bool,

    #[command(flatten)]
    kit: KitArgs,
}

#[tokio::main]
async fn main() {
    let cli: Cli = mcp_kit::config::parse_or_exit("MCP_KUBERNETES");
    mcp_kit::serve::init_logging(&cli.kit);
    let policy = Policy {
        allow_namespaces: cli.allow_namespaces.clone(),
        deny_namespaces: cli.deny_namespaces.clone(),
        write_namespaces: cli.write_namespaces.clone(),
        allow_secrets: cli.allow_secrets,
    };
    let opts = ConnectOptions {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        snapshot: cli.snapshot.clone(),
        timeout: Some(Duration::from_secs(cli.timeout_secs.max(1))),
    };
    let clusters = match Clusters::connect(&opts, policy).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let server = KubeServer::new(Arc::new(clusters));
    mcp_kit::run_or_exit(server, &cli.kit).await;
}
