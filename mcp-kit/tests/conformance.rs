//! Proves the conformance harness on the kit's example server, with the
//! official Python MCP SDK and MCP Inspector CLI over stdio and HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use mcp_kit::conformance::{Conformance, http_status};
use serde_json::json;

fn example_server() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kit-example-server"))
}

fn harness() -> Conformance {
    Conformance::new(example_server())
        .call("echo", json!({"text": "hello"}))
        .call("show_config", json!({"service": "checkout"}))
        .invalid("echo", json!({"text": "x", "repeat": "many"}), "repeat")
        .invalid("echo", json!({}), "text")
        .write_tool("reset_counter")
}

#[test]
fn example_server_conforms_with_both_clients_on_both_transports() {
    let report = harness().run_all().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report}");
    for expected in [
        "PASS unauthorized",
        "PASS schemas",
        "PASS portable-schemas",
        "PASS clean-close",
        "PASS absent:reset_counter",
        "PASS present:reset_counter",
        "Inspector tools/call echo: ok",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

#[test]
fn http_refuses_to_start_without_a_token_off_loopback() {
    let out = std::process::Command::new(example_server())
        .args(["--transport", "http", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a bearer token"), "{stderr}");
    // Named with the server's own variable, not a generic one.
    assert!(stderr.contains("KIT_EXAMPLE_AUTH_TOKEN"), "{stderr}");
    // A configuration error, like every other one.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}

#[test]
fn a_port_in_use_is_a_configuration_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = std::process::Command::new(example_server())
        .args(["--transport", "http", "--no-auth", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}

#[test]
fn http_health_endpoints_need_no_token_but_mcp_does() {
    let token = std::env::temp_dir().join(format!("kit-token-{}", std::process::id()));
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let (_child, port) = Conformance::new(example_server())
        .spawn_http(&["--auth-token-file", token.to_str().unwrap()])
        .unwrap();
    assert_eq!(http_status(port, "/healthz"), Some(200));
    assert_eq!(http_status(port, "/readyz"), Some(200));
    // 403, not 401: MCP clients answer a 401 by starting OAuth discovery,
    // which a server with a pre-shared token cannot complete.
    assert_eq!(http_status(port, "/mcp"), Some(403));
}

#[test]
fn unknown_tool_in_policy_is_a_startup_error() {
    let out = std::process::Command::new(example_server())
        .args(["--disable-tools", "ecko"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown tool `ecko`") && stderr.contains("echo"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let out = std::process::Command::new(example_server())
        .args(["--enable-tools", "echo,ecko"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
