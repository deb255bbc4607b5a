//! The conformance harness: drive a server binary with MCP clients nobody on
//! this project wrote.
//!
//! Our own client code could share our own misunderstandings of the protocol,
//! so every server's tests also run it under:
//!
//! * the official **Python MCP SDK** (PyPI `mcp`), through
//!   `mcp-kit/conformance/check_server.py`, over stdio and over streamable
//!   HTTP with a bearer token; and
//! * the official **MCP Inspector CLI** (npm `@modelcontextprotocol/inspector`),
//!   over stdio and over HTTP.
//!
//! Both are installed by `scripts/setup-test-deps.sh` into `.cache/`; a
//! missing install is an error that says to run it, never a silent skip.
//!
//! Checks: `initialize`; every tool's input schema is valid JSON Schema with a
//! description on every property, and no property admits `null` (hosts flag
//! `type: [X, "null"]` as not portable; both clients check it); every tool
//! says whether it is read-only; a `tools/call` round trip; invalid arguments
//! give an `isError` result naming the bad field; HTTP without the token gets
//! 403 with no OAuth challenge; the SDK logs no warning, also when it ends the
//! session (`DELETE /mcp`); write tools are absent without `--allow-writes`
//! (and present with it); and start-up, `initialize` and `tools/list` open
//! no connection to the backend (`backend_untouched_until_first_call`).
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
use std::time::{Duration, Instant};

use serde_json::Value;

mod lazy;
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

/// The official MCP Inspector CLI.
pub fn inspector() -> Result<PathBuf, String> {
    require(
        repo_root().join(".cache/npm/node_modules/.bin/mcp-inspector"),
        "the MCP Inspector CLI",
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

    fn run_python(&self, target: Vec<String>, read_only: bool) -> Result<String, String> {
        let script = repo_root().join("mcp-kit/conformance/check_server.py");
        let mut cmd = Command::new(python()?);
        cmd.arg(script)
            .args(target)
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
            Ok(stdout)
        } else {
            Err(format!(
                "Python MCP SDK checks failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Python SDK over stdio: read-only by default, then with `--allow-writes`.
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
            let target = vec!["--stdio".to_string(), Value::from(argv).to_string()];
            report += &self.run_python(target, read_only)?;
        }
        Ok(report)
    }

    /// Starts the server over HTTP on a free loopback port and waits until
    /// `/healthz` answers.
    pub fn spawn_http(&self, extra: &[&str]) -> Result<(ChildGuard, u16), String> {
        let port = free_port()?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .args(["--transport", "http", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
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

    /// Python SDK over streamable HTTP with a bearer token, including the
    /// 401 check.
    pub fn python_http(&self) -> Result<String, String> {
        let dir = std::env::temp_dir().join(format!("mcp-conformance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let token_file = dir.join("token");
        let token = format!("conformance-{}", free_port()?);
        std::fs::write(&token_file, &token).map_err(|e| e.to_string())?;
        let token_arg = token_file.display().to_string();
        let (_child, port) = self.spawn_http(&["--auth-token-file", &token_arg])?;
        let target = vec![
            "--http".to_string(),
            format!("http://127.0.0.1:{port}/mcp"),
            "--token".into(),
            token,
        ];
        self.run_python(target, true)
    }

    fn inspector_json(&self, target: &[String], method_args: &[&str]) -> Result<Value, String> {
        let out = Command::new(inspector()?)
            .arg("--cli")
            .args(target)
            .args(method_args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the MCP Inspector CLI: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "MCP Inspector CLI failed ({}): {stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        serde_json::from_str(&stdout)
            .map_err(|e| format!("MCP Inspector CLI printed no JSON ({e}): {stdout}"))
    }

    fn inspector_checks(&self, target: &[String]) -> Result<String, String> {
        let listed = self.inspector_json(target, &["--method", "tools/list"])?;
        let names: Vec<&str> = listed["tools"]
            .as_array()
            .ok_or_else(|| format!("tools/list has no tools array: {listed}"))?
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        for tool in &self.write_tools {
            if names.contains(&tool.as_str()) {
                return Err(format!(
                    "Inspector: write tool {tool} is listed without --allow-writes"
                ));
            }
        }
        let nullable: Vec<String> = listed["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| {
                let name = t["name"].as_str().unwrap_or("?").to_string();
                crate::schema::nullable_properties(&t["inputSchema"])
                    .into_iter()
                    .map(move |p| format!("{name}.{p}"))
            })
            .collect();
        if !nullable.is_empty() {
            return Err(format!(
                "Inspector: {} tool properties admit null (not portable): {}",
                nullable.len(),
                nullable.join(", ")
            ));
        }
        let mut report =
            format!("Inspector tools/list: {names:?}\nInspector portable schemas: ok\n");
        if let Some((tool, args)) = self.calls.first() {
            let mut method: Vec<String> = vec![
                "--method".into(),
                "tools/call".into(),
                "--tool-name".into(),
                tool.clone(),
            ];
            if let Some(obj) = args.as_object().filter(|o| !o.is_empty()) {
                method.push("--tool-arg".into());
                for (k, v) in obj {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    method.push(format!("{k}={v}"));
                }
            }
            let refs: Vec<&str> = method.iter().map(String::as_str).collect();
            let result = self.inspector_json(target, &refs)?;
            if result["isError"].as_bool() == Some(true) {
                return Err(format!(
                    "Inspector: tools/call {tool} returned an error: {result}"
                ));
            }
            report += &format!("Inspector tools/call {tool}: ok\n");
        }
        Ok(report)
    }

    /// The Inspector CLI over stdio: tools/list and one tools/call.
    pub fn inspector_stdio(&self) -> Result<String, String> {
        let mut target = vec![self.program.display().to_string()];
        target.extend(self.args.iter().cloned());
        self.inspector_checks(&target)
    }

    /// The Inspector CLI over HTTP. Its 0.15 CLI cannot send headers, so the
    /// server runs with `--no-auth`, which the kit accepts on loopback only.
    pub fn inspector_http(&self) -> Result<String, String> {
        let (_child, port) = self.spawn_http(&["--no-auth"])?;
        let target = vec![
            format!("http://127.0.0.1:{port}/mcp"),
            "--transport".to_string(),
            "http".to_string(),
        ];
        self.inspector_checks(&target)
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
