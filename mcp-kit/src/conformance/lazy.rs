//! "No network before the first tool call": a server may be started by an MCP
//! host long before anyone asks it anything (Claude Desktop starts every
//! configured server at launch), so start-up, `initialize` and `tools/list`
//! must not touch the backend: no connection to a cluster, a database or
//! Slack that nobody asked for, no credentials sent, no start-up failure
//! because a backend is down.
//!
//! The check points the server at a loopback listener that only counts
//! connections (never answers), drives `initialize` and `tools/list` over
//! stdio with plain JSON-RPC lines, waits, and requires that nothing
//! connected; then it makes one tool call and requires that the listener
//! sees it, which proves the server was really aimed at the listener (a
//! check that could not fail would prove nothing).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ChildGuard;

/// How long the server is watched, after `tools/list`, for a connection
/// nobody asked for. Background work started at launch (a warm-up listing, a
/// driver's monitor threads) connects within milliseconds.
const QUIET: Duration = Duration::from_millis(1500);

/// How long the first tool call has to reach the backend.
const FIRST_CALL: Duration = Duration::from_secs(15);

/// A loopback stand-in for a backend: it accepts TCP connections, counts
/// them and never answers.
#[derive(Debug)]
pub struct CountingBackend {
    listener: TcpListener,
}

impl CountingBackend {
    /// Listens on a free port of 127.0.0.1.
    pub fn bind() -> Result<Self, String> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the listener non-blocking: {e}"))?;
        Ok(Self { listener })
    }

    /// The address to give the server as its backend (`127.0.0.1:PORT`).
    pub fn addr(&self) -> Result<SocketAddr, String> {
        self.listener.local_addr().map_err(|e| e.to_string())
    }

    /// Whether a connection arrives within `wait`. Accepted connections are
    /// kept open until the listener is dropped, so a client blocked on its
    /// first read stays blocked instead of retrying at once.
    fn contacted_within(&self, wait: Duration, held: &mut Vec<std::net::TcpStream>) -> bool {
        let until = Instant::now() + wait;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    held.push(stream);
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `program args` over stdio with only `env` (the parent's environment is
/// cleared, so no `$KUBECONFIG` or token of the machine leaks in), checks that
/// start-up, `initialize` and `tools/list` leave `backend` untouched, then
/// that calling `tool` with `arguments` reaches it. Returns a one-line report.
pub fn backend_untouched_until_first_call(
    program: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    backend: &CountingBackend,
    tool: &str,
    arguments: Value,
) -> Result<String, String> {
    let mut child = ChildGuard(
        Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?,
    );
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.0.stdin.take().ok_or("no stdin")?;
    let mut send = |msg: Value| -> Result<(), String> {
        writeln!(stdin, "{msg}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write to the server: {e}"))
    };
    let answer = |id: u64| -> Result<Value, String> {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .map_err(|_| format!("no answer to request {id} within 20 s"))?;
            let msg: Value = serde_json::from_str(&line)
                .map_err(|e| format!("not JSON-RPC on stdout ({e}): {line}"))?;
            if msg["id"] == json!(id) {
                return Ok(msg);
            }
        }
    };
    let mut held = Vec::new();
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "lazy-check", "version": "0"}}}),
    )?;
    let init = answer(1)?;
    if init.get("result").is_none() {
        return Err(format!("initialize failed: {init}"));
    }
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))?;
    let list = answer(2)?;
    let tools = list["result"]["tools"].as_array().map_or(0, Vec::len);
    if tools == 0 {
        return Err(format!("tools/list listed no tools: {list}"));
    }
    if backend.contacted_within(QUIET, &mut held) {
        return Err(format!(
            "{} connected to its backend before any tool call (start-up, initialize or tools/list)",
            program.display()
        ));
    }
    send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}}))?;
    if !backend.contacted_within(FIRST_CALL, &mut held) {
        return Err(format!(
            "the first tool call ({tool}) did not reach the backend within {}s: the server was \
             not aimed at the listener, so the check proves nothing",
            FIRST_CALL.as_secs()
        ));
    }
    Ok(format!(
        "{tools} tools listed; no connection before the first tool call; `{tool}` reached the backend"
    ))
}
