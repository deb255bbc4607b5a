//! Each server's README and its binary cannot drift: the tool table under
//! `## Tools` names exactly the tools the binary lists in `tools/list`, with
//! every optional tool switched on (`--allow-writes`, `--allow-raw-sql`).
//!
//! The binaries are asked as a host asks them: spawned over stdio, with
//! `initialize`, `notifications/initialized` and `tools/list` written as
//! JSON-RPC lines, on the bundled offline data (so no backend is needed).
//! A server binary not built next to `sre-agent` is skipped with a message,
//! as in `docs.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Each server with the arguments that serve offline data and offer every
/// optional tool.
const SERVERS: &[(&str, &[&str])] = &[
    (
        "mcp-kubernetes",
        &["--snapshot", "fixtures/k8s/shop-300", "--allow-writes"],
    ),
    (
        "mcp-signoz",
        &[
            "--telemetry-dir",
            "fixtures/telemetry/checkout-5xx",
            "--allow-raw-sql",
        ],
    ),
    (
        "mcp-mongodb",
        &["--snapshot", "fixtures/mongodb/missing-index"],
    ),
    (
        "mcp-slack",
        &["--allowed-channels", "incidents", "--allow-writes"],
    ),
];

/// The tools `tools/list` gives, as they are listed, or `None` when the
/// binary is not built.
fn list_tools(server: &str, args: &[&str]) -> Option<Vec<Value>> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sre-agent")).with_file_name(server);
    if !bin.is_file() {
        return None;
    }
    let mut child = Command::new(&bin)
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "readme-tools-test", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for r in &requests {
        writeln!(stdin, "{r}").unwrap();
    }
    stdin.flush().unwrap();
    // Read on a thread so that a server that never answers fails the test
    // instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["id"] == 2 {
                let _ = tx.send(v);
                break;
            }
        }
    });
    let reply = rx.recv_timeout(Duration::from_secs(30));
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let reply = reply.unwrap_or_else(|_| panic!("{server} answered no tools/list"));
    let tools = reply["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{server}: tools/list gave {reply}"));
    Some(tools.clone())
}

/// The tool names `tools/list` gives, or `None` when the binary is not built.
fn listed_tools(server: &str, args: &[&str]) -> Option<BTreeSet<String>> {
    let tools = list_tools(server, args)?;
    Some(
        tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect(),
    )
}

/// The tool names in the first column of the table under `## Tools`: every
/// backticked name in the first cell (a cell may hold several,
/// "`find`, `aggregate`, `count`").
fn readme_tools(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_tools = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            in_tools = line.trim() == "## Tools";
            continue;
        }
        if !in_tools || !line.starts_with("| `") {
            continue;
        }
        let cell = line.split('|').nth(1).unwrap_or("");
        for (i, part) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                out.insert(part.to_string());
            }
        }
    }
    out
}

#[test]
fn every_server_readme_lists_exactly_its_tools() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (server, args) in SERVERS {
        let text = std::fs::read_to_string(root().join(server).join("README.md"))
            .unwrap_or_else(|e| panic!("{server}/README.md: {e}"));
        let documented = readme_tools(&text);
        assert!(
            documented.len() >= 5,
            "{server}/README.md: no tool table under `## Tools` ({documented:?})"
        );
        let Some(listed) = listed_tools(server, args) else {
            eprintln!("{server} is not built next to sre-agent: its README was not checked");
            continue;
        };
        checked += 1;
        for t in listed.difference(&documented) {
            wrong.push(format!("{server}: `{t}` is a tool but not in its README"));
        }
        for t in documented.difference(&listed) {
            wrong.push(format!("{server}/README.md names `{t}`, which is no tool"));
        }
    }
    assert!(checked > 0, "no server binary was built next to sre-agent");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A server whose every tool is read-only, even with every optional tool
/// on, does not offer `--allow-writes` in its help: the flag would promise
/// something it cannot do.
#[test]
fn only_servers_with_write_tools_offer_allow_writes() {
    for (server, args) in SERVERS {
        let Some(tools) = list_tools(server, args) else {
            continue;
        };
        let writes = tools
            .iter()
            .any(|t| t["annotations"]["readOnlyHint"] != Value::Bool(true));
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_sre-agent")).with_file_name(server);
        let help = Command::new(&bin).arg("--help").output().unwrap();
        let offers = String::from_utf8_lossy(&help.stdout).contains("--allow-writes");
        assert_eq!(
            offers, writes,
            "{server}: offers --allow-writes: {offers}, has write tools: {writes}"
        );
    }
}

#[test]
fn the_readme_reader_sees_names_in_shared_cells_and_only_under_tools() {
    let text = "# x\n## Tools\n| Tool | What |\n|---|---|\n| `a` | one |\n| `b`, `c` | two, `not_a_tool` |\n## Flags\n| `--d` | flag |\n";
    let got: Vec<String> = readme_tools(text).into_iter().collect();
    assert_eq!(got, ["a", "b", "c"]);
}
