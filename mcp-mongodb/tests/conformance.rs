//! The server binary under the official MCP clients (Python SDK and MCP
//! Inspector CLI, stdio and HTTP), with real tool calls on the recorded
//! snapshot (`recorded_…`), plus command-line behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use mcp_kit::conformance::Conformance;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-mongodb");

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/mongodb/missing-index")
        .display()
        .to_string()
}

#[test]
fn recorded_snapshot_conforms_with_both_clients_on_both_transports() {
    let report = Conformance::new(BIN)
        .arg("--snapshot")
        .arg(fixture())
        .call("server_status", json!({"sample_seconds": 0}))
        .call("slow_queries", json!({"database": "shop"}))
        .call(
            "explain",
            json!({"database": "shop", "collection": "orders",
                   "filter": {"customerId": "C-1", "status": "pending"}, "sort": {"createdAt": -1}}),
        )
        .call("find", json!({"database": "shop", "collection": "orders", "limit": 2}))
        .call("replica_set_status", json!({}))
        .invalid("find", json!({"database": "shop"}), "collection")
        .invalid("server_status", json!({"sample_seconds": "many"}), "sample_seconds")
        .run_all()
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "PASS unauthorized",
        "PASS schemas",
        "Inspector tools/call server_status: ok",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

#[test]
fn help_never_shows_the_connection_string() {
    let out = Command::new(BIN)
        .arg("--help")
        .env("MONGODB_URI", "mongodb://ops:HelpLeak99@db:27017")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--uri") && help.contains("MONGODB_URI"),
        "{help}"
    );
    assert!(!help.contains("HelpLeak99"), "{help}");
}

#[test]
fn starting_without_a_source_says_what_to_pass() {
    let out = Command::new(BIN)
        .env_remove("MONGODB_URI")
        .env_remove("MCP_MONGODB_URI")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--uri") && stderr.contains("--snapshot"),
        "{stderr}"
    );
}

/// Runs the binary with `args` and `env` only; its exit code and stderr.
fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    mcp_kit::conformance::run_to_exit(BIN.as_ref(), args, env, std::time::Duration::from_secs(20))
        .unwrap()
}

#[test]
fn a_malformed_connection_string_fails_at_start_without_showing_it() {
    for uri in [
        "db-0:27017",
        "mongodb://ops:Leak77pw@db-0:27017/?replicaSet=rs0&w=bogus&tls=maybe",
    ] {
        let (code, err) = run_binary(&[], &[("MONGODB_URI", uri)]);
        assert_eq!(code, Some(2), "{uri}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: --uri / MONGODB_URI: the MongoDB connection string is invalid"),
            "{err}"
        );
        assert!(!err.contains("Leak77pw") && !err.contains("db-0"), "{err}");
    }
}

#[test]
fn configuration_errors_exit_2() {
    let snapshot = fixture();
    let (code, err) = run_binary(&["--snapshot", &snapshot, "--enable-tools", "findd"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("findd"), "{err}");

    let port = mcp_kit::conformance::free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (code, err) = run_binary(
        &[
            "--snapshot",
            &snapshot,
            "--transport",
            "http",
            "--listen",
            &listen,
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("MCP_MONGODB_AUTH_TOKEN"), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let (code, err) = run_binary(
        &[
            "--snapshot",
            &snapshot,
            "--transport",
            "http",
            "--listen",
            &listen,
            "--no-auth",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&listen), "{err}");
}

/// An MCP host starts its servers at launch: the driver's client (whose
/// monitors connect as soon as it exists) may not be built before a tool is
/// called. The listener stands in for mongod and counts connections; the
/// first call must reach it, or the check proves nothing.
#[test]
fn no_connection_to_mongodb_before_the_first_tool_call() {
    use mcp_kit::conformance::{CountingBackend, backend_untouched_until_first_call};
    let mongod = CountingBackend::bind().unwrap();
    let uri = format!(
        "mongodb://{}/?directConnection=true",
        mongod.addr().unwrap()
    );
    let report = backend_untouched_until_first_call(
        BIN.as_ref(),
        &["--server-selection-timeout", "3"],
        &[("MONGODB_URI", &uri)],
        &mongod,
        "list_databases",
        json!({}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report}");
}
