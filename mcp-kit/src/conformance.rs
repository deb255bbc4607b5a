//! The conformance harness: drive a server binary with MCP clients nobody on
//! this project wrote.
//!
//! Our own client code could share our own misunderstandings of the protocol,
//! so every server's tests also run it under:
//!
//! * the official **Python MCP SDK** (PyPI `mcp`), through
//!   `mcp-kit/conformance/check_server.py`, over stdio and over streamable
//!   HTTP with a bearer token, both as `ClientSession` with the `initialize`
//!   handshake and as the SDK's `Client` as it comes (it negotiates the
//!   2026-07-28 protocol: `server/discover`, no handshake); and
//! * the official **MCP Inspector CLI** (npm `@modelcontextprotocol/inspector`
//!   2.x, see [`inspector`]), over stdio and over HTTP with the token in a
//!   header, in both protocol eras.
//!
//! Both are installed by `scripts/setup-test-deps.sh` into `.cache/` (with the
//! Node.js the Inspector needs); a missing install is an error that says to
//! run it, never a silent skip.
//!
//! Checks: `initialize` (or `server/discover`); every tool's input schema is
//! valid JSON Schema with a description on every property, and no property
//! admits `null` (hosts flag `type: [X, "null"]` as not portable; both clients
//! check it); the Inspector's schema lint (`--strict`: input and output
//! schemas) finds nothing, not even a warning; every tool says whether it is
//! read-only; every `tools/call` round trip; invalid arguments give an
//! `isError` result naming the bad field; HTTP without the token gets 403
//! with no OAuth challenge; neither client prints or logs a warning or an
//! error, also when it ends the session (the SDK's `DELETE /mcp`), and the
//! server's stderr (which a host shows) holds no warning or error, only log
//! lines at INFO and below ([`complaints`]); write tools are absent without
//! `--allow-writes` (and present with it); and start-up, `initialize` and
//! `tools/list` open no connection to the backend
//! (`backend_untouched_until_first_call`).
//!
//! ```no_run
//! use mcp_kit::conformance::Conformance;
//! Conformance::new("target/debug/my-server")
//!     .call("echo", serde_json::json!({"text": "hi"}))
//!     .invalid("echo", serde_json::json!({"text": 1}), "text")
//!     .write_tool("reset_counter")
//!     .run_all()
//!     .unwrap();
//! ```

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod inspector;
mod lazy;
pub use inspector::{Era, inspector, node};
pub use lazy::{CountingBackend, backend_untouched_until_first_call};

/// The repository root (the parent of `mcp-kit/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn require(path: PathBuf, what: &str) -> Result<PathBuf, String> {
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{what} is not installed at {}; run scripts/setup-test-deps.sh",
            path.display()
        ))
    }
}

/// The venv Python that has the official MCP SDK.
pub fn python() -> Result<PathBuf, String> {
    require(
        repo_root().join(".cache/venv/bin/python"),
        "the test Python venv",
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Runs `program` with `args` and only `env` (stdin kept open, stdout
/// discarded) until it exits, killing it after `limit` (a server that wrongly
/// starts would otherwise wait on stdin forever); its exit code (`None` when
/// killed) and stderr. For the start-up checks of every server: a bad
/// setting must exit 2 with one clear line.
pub fn run_to_exit(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<(Option<i32>, String), String> {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().map_err(|e| e.to_string())?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr
            .read_to_string(&mut err)
            .map_err(|e| format!("cannot read stderr: {e}"))?;
    }
    Ok((status.code(), err))
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:port; returns the status code.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).ok()?;
    let head = std::str::from_utf8(&buf[..n]).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

/// How `check_server.py` drives the SDK: `ClientSession` with the
/// `initialize` handshake, and the SDK's `Client` as it comes (2026-07-28).
const PYTHON_MODES: [&str; 2] = ["legacy", "auto"];

/// A new path in the system temp folder, unique in this process and the
/// machine (tests run in parallel threads of one process, and test binaries
/// in parallel processes).
fn scratch_file(what: &str) -> Result<PathBuf, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    Ok(scratch_dir("files")?.join(format!("{what}-{}", NEXT.fetch_add(1, Ordering::Relaxed))))
}

/// The folder `name` in this process's scratch folder, created.
fn scratch_dir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir()
        .join(format!("mcp-conformance-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// A server serving HTTP for the harness, its stderr in `log`.
struct HttpServer {
    _child: ChildGuard,
    port: u16,
    log: PathBuf,
}

impl HttpServer {
    /// The server logged no warning and no error during the session.
    fn check_log(&self) -> Result<(), String> {
        let log = std::fs::read_to_string(&self.log)
            .map_err(|e| format!("cannot read the server log {}: {e}", self.log.display()))?;
        let bad = complaints(&log);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the server logged warnings or errors over HTTP:\n{}",
                bad.join("\n")
            ))
        }
    }
}

/// The lines of a stderr that a host would show as a problem: all but the
/// server's log lines at INFO and below (`<time> <LEVEL> <target>: …`, or
/// JSON with a `"level"` field). So a WARN or ERROR line, a panic, an
/// `error: …` line, and any word a client prints there of its own (the
/// Inspector's warnings) all count. `check_server.py` reads the server's
/// stderr the same way.
pub fn complaints(stderr: &str) -> Vec<&str> {
    const QUIET: [&str; 3] = ["INFO", "DEBUG", "TRACE"];
    stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            let mut words = line.split_whitespace();
            let text_log = words
                .next()
                .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                && words.next().is_some_and(|level| QUIET.contains(&level));
            let json_log = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["level"].as_str().map(|l| QUIET.contains(&l)))
                .unwrap_or(false);
            !(text_log || json_log)
        })
        .collect()
}

/// A server under test and the checks to run on it.
#[derive(Debug, Clone)]
pub struct Conformance {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    calls: Vec<(String, Value)>,
    invalid: Vec<(String, Value, String)>,
    write_tools: Vec<String>,
}

impl Conformance {
    /// A server binary, e.g. `env!("CARGO_BIN_EXE_mcp-kubernetes")`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            calls: Vec::new(),
            invalid: Vec::new(),
            write_tools: Vec::new(),
        }
    }

    /// Arguments passed to the server in every run (e.g. `--snapshot DIR`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable for the server.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A call that must succeed.
    pub fn call(mut self, tool: impl Into<String>, args: Value) -> Self {
        self.calls.push((tool.into(), args));
        self
    }

    /// A call with invalid arguments whose error must name `field`.
    pub fn invalid(
        mut self,
        tool: impl Into<String>,
        args: Value,
        field: impl Into<String>,
    ) -> Self {
        self.invalid.push((tool.into(), args, field.into()));
        self
    }

    /// A write tool: absent by default, present with `--allow-writes`.
    pub fn write_tool(mut self, tool: impl Into<String>) -> Self {
        self.write_tools.push(tool.into());
        self
    }

    fn check_args(&self, read_only: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (tool, args) in &self.calls {
            out.extend(["--call".into(), tool.clone(), args.to_string()]);
        }
        for (tool, args, field) in &self.invalid {
            out.extend([
                "--invalid".into(),
                tool.clone(),
                args.to_string(),
                field.clone(),
            ]);
        }
        for tool in &self.write_tools {
            let flag = if read_only { "--absent" } else { "--present" };
            out.extend([flag.to_string(), tool.clone()]);
        }
        if read_only {
            out.push("--expect-read-only".into());
        }
        out
    }

    fn run_python(&self, target: &[String], mode: &str, read_only: bool) -> Result<String, String> {
        let script = repo_root().join("mcp-kit/conformance/check_server.py");
        let mut cmd = Command::new(python()?);
        cmd.arg(script)
            .args(target)
            .args(["--mode", mode])
            .args(self.check_args(read_only));
        for (k, v) in &self.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the Python SDK check: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(format!("-- sdk mode {mode}\n{stdout}"))
        } else {
            Err(format!(
                "Python MCP SDK checks failed (--mode {mode}):\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Python SDK over stdio, in both modes: read-only by default, then with
    /// `--allow-writes`.
    pub fn python_stdio(&self) -> Result<String, String> {
        let mut report = String::new();
        for read_only in [true, false] {
            if !read_only && self.write_tools.is_empty() {
                break;
            }
            let mut argv = vec![self.program.display().to_string()];
            argv.extend(self.args.iter().cloned());
            if !read_only {
                argv.push("--allow-writes".into());
            }
            let target = ["--stdio".to_string(), Value::from(argv).to_string()];
            for mode in PYTHON_MODES {
                report += &self.run_python(&target, mode, read_only)?;
            }
        }
        Ok(report)
    }

    /// Starts the server over HTTP on a free loopback port and waits until
    /// `/healthz` answers. Its stderr is the test's.
    pub fn spawn_http(&self, extra: &[&str]) -> Result<(ChildGuard, u16), String> {
        let (child, port) = self.spawn_http_to(extra, Stdio::inherit())?;
        Ok((child, port))
    }

    fn spawn_http_to(&self, extra: &[&str], stderr: Stdio) -> Result<(ChildGuard, u16), String> {
        let port = free_port()?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .args(["--transport", "http", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = ChildGuard(
            cmd.spawn()
                .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if http_status(port, "/healthz") == Some(200) {
                return Ok((child, port));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!(
            "{} did not answer /healthz on port {port}",
            self.program.display()
        ))
    }

    /// [`Conformance::spawn_http`] with the server's stderr in a file, for
    /// [`HttpServer::check_log`].
    fn spawn_http_logged(&self, extra: &[&str]) -> Result<HttpServer, String> {
        let log = scratch_file("server-log")?;
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let (child, port) = self.spawn_http_to(extra, Stdio::from(file))?;
        Ok(HttpServer {
            _child: child,
            port,
            log,
        })
    }

    /// A fresh bearer token and the file that holds it (its own file, as
    /// tests run in parallel threads of one process).
    fn token_file(&self) -> Result<(String, PathBuf), String> {
        let path = scratch_file("token")?;
        let token = format!("conformance-{}", free_port()?);
        std::fs::write(&path, &token).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((token, path))
    }

    /// Python SDK over streamable HTTP with a bearer token, in both modes,
    /// including the check that a request without it is refused.
    pub fn python_http(&self) -> Result<String, String> {
        let (token, token_file) = self.token_file()?;
        let token_arg = token_file.display().to_string();
        let server = self.spawn_http_logged(&["--auth-token-file", &token_arg])?;
        let target = [
            "--http".to_string(),
            format!("http://127.0.0.1:{}/mcp", server.port),
            "--token".into(),
            token,
        ];
        let mut report = String::new();
        for mode in PYTHON_MODES {
            report += &self.run_python(&target, mode, true)?;
        }
        server.check_log()?;
        Ok(report + "server log: no warning, no error\n")
    }

    /// Every check, both clients, both transports. The error lists every
    /// failure with what the client said.
    pub fn run_all(&self) -> Result<String, String> {
        let mut report = String::new();
        let mut failures = Vec::new();
        for (name, result) in [
            ("python sdk, stdio", self.python_stdio()),
            ("python sdk, http", self.python_http()),
            ("inspector cli, stdio", self.inspector_stdio()),
            ("inspector cli, http", self.inspector_http()),
        ] {
            match result {
                Ok(r) => report += &format!("== {name}\n{r}"),
                Err(e) => failures.push(format!("== {name}\n{e}")),
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(failures.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::complaints;

    #[test]
    fn only_quiet_log_lines_are_not_complaints() {
        let stderr = "\
2026-12-04T02:57:43.884483Z  INFO mcp_mongodb: ready (connects on first tool call)
2026-12-04T02:57:43.884483Z DEBUG rmcp::service: received request

{\"timestamp\":\"2026-12-04T02:57:43Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"ready\"}}
2026-12-04T02:57:43.884483Z  WARN mcp_kit::serve: stdio session ended with an error
{\"timestamp\":\"2026-12-04T02:57:43Z\",\"level\":\"ERROR\",\"fields\":{\"message\":\"boom\"}}
error: MCP over stdio: connection closed: initialize request
[mcp-inspector] The OS keychain is not available
Schema portability: 0 errors, 2 warnings across 2 tools. Re-run with --strict for details.
thread 'main' panicked at src/main.rs:1:1:";
        let bad = complaints(stderr);
        assert_eq!(bad.len(), 6, "{bad:#?}");
        assert!(bad[0].contains("WARN") && bad[1].contains("ERROR"));
        assert!(bad[5].contains("panicked"));
    }
}
