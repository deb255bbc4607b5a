//! The server binary under the official MCP clients (Python SDK and Inspector
//! CLI, stdio and HTTP), on the embedded store with the checkout-5xx fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_kit::conformance::Conformance;
use serde_json::json;

fn fixture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/telemetry/checkout-5xx"
    )
    .to_string()
}

#[test]
fn conforms_with_both_clients_on_both_transports() {
    let report = Conformance::new(env!("CARGO_BIN_EXE_mcp-signoz"))
        .arg("--telemetry-dir")
        .arg(fixture())
        .call("services", json!({}))
        .call("service_health", json!({"service": "checkout"}))
        .call("log_patterns", json!({"service": "payments"}))
        .call("search_logs", json!({"severity": "error", "limit": 5}))
        .call("search_traces", json!({"errors_only": true, "limit": 3}))
        .call(
            "get_trace",
            json!({"trace_id": "08fcff53b1f81964acf45b289ec9c777"}),
        )
        .call("service_dependencies", json!({}))
        .call("list_metrics", json!({}))
        .call(
            "query_metric",
            json!({"metric": "http.server.request.count"}),
        )
        .invalid("service_health", json!({}), "service")
        .invalid("search_logs", json!({"limit": "many"}), "limit")
        .invalid("search_logs", json!({"limit": 0}), "limit")
        .run_all()
        .unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "PASS unauthorized",
        "PASS schemas",
        "Inspector tools/call services: ok",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

#[test]
fn tools_list_is_small_offline_and_hides_raw_sql_unless_allowed() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let list = |args: &[&str]| -> serde_json::Value {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-signoz"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for msg in [
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
        ] {
            writeln!(stdin, "{msg}").unwrap();
        }
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let result = loop {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "no tools/list answer"
            );
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["id"] == 2 {
                break v["result"].clone();
            }
        };
        drop(stdin);
        let _ = child.kill();
        let _ = child.wait();
        result
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let dir = fixture();
    let default = list(&["--telemetry-dir", &dir]);
    assert_eq!(
        names(&default),
        [
            "get_trace",
            "list_metrics",
            "log_patterns",
            "query_metric",
            "search_logs",
            "search_traces",
            "service_dependencies",
            "service_health",
            "services"
        ]
    );
    let size = default.to_string().len();
    eprintln!(
        "tools/list: {size} bytes, ~{} tokens",
        mcp_kit::budget::count_tokens(&default.to_string())
    );
    assert!(size < 14_000, "tools/list grew to {size} bytes");
    assert!(
        names(&list(&["--telemetry-dir", &dir, "--allow-raw-sql"]))
            .contains(&"query_sql".to_string())
    );
    // ClickHouse is only contacted by tool calls: nothing listens on port 1.
    let offline = list(&["--clickhouse-url", "http://127.0.0.1:1", "--allow-raw-sql"]);
    assert_eq!(names(&offline).len(), 10);
}

/// An MCP host starts its servers at launch: nothing may reach ClickHouse
/// before a tool is called (the listener stands in for ClickHouse and counts
/// connections; the first call must reach it, or the check proves nothing).
#[test]
fn no_connection_to_clickhouse_before_the_first_tool_call() {
    use mcp_kit::conformance::{CountingBackend, backend_untouched_until_first_call};
    let clickhouse = CountingBackend::bind().unwrap();
    let url = format!("http://{}", clickhouse.addr().unwrap());
    let report = backend_untouched_until_first_call(
        env!("CARGO_BIN_EXE_mcp-signoz").as_ref(),
        &["--clickhouse-url", &url],
        &[],
        &clickhouse,
        "services",
        json!({}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report}");
}
