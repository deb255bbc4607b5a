//! The docs and the binaries cannot drift: every flag written in README.md,
//! docs/ and the servers' READMEs after one of our commands is one that
//! command accepts (its `--help`), and every environment variable of ours
//! they name is read somewhere in the code.
//!
//! What counts as "after one of our commands": in a code block or an inline
//! code span, the words following `sre-agent [SUBCOMMAND]`, `mcp-kubernetes`,
//! `mcp-signoz`, `mcp-mongodb`, `mcp-slack`, or `cargo run -p NAME --`, up to
//! the end of the command (a line without a trailing `\`, a `|`, `;`, `&&`
//! or `#`); and in a server's own README, the first cell of its flag tables.
//! Flags of other tools (kubectl, helm, cargo) are not ours to check.
//!
//! The server binaries are the workspace's (`cargo test --workspace` builds
//! them next to `sre-agent`); when one is missing, its flags are skipped with
//! a message rather than failing a narrower `cargo test -p sre-agent-cli`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const SERVERS: &[&str] = &["mcp-kubernetes", "mcp-signoz", "mcp-mongodb", "mcp-slack"];
const SUBCOMMANDS: &[&str] = &["investigate", "eval", "simulate", "serve", "mcp"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn binary(name: &str) -> PathBuf {
    let agent = PathBuf::from(env!("CARGO_BIN_EXE_sre-agent"));
    agent.with_file_name(name)
}

/// `--help` of `bin args…`, or `None` when the binary is not built.
fn help(bin: &Path, args: &[&str]) -> Option<String> {
    if !bin.is_file() {
        return None;
    }
    let out = Command::new(bin)
        .args(args)
        .arg("--help")
        .output()
        .expect("runs --help");
    assert!(
        out.status.success(),
        "{} {args:?} --help failed",
        bin.display()
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The long flag a word starts with (`--since=30m` is `--since`).
fn long_flag(word: &str) -> Option<String> {
    let name: String = word
        .strip_prefix("--")?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!name.is_empty()).then(|| format!("--{name}"))
}

/// The long flags a help text lists.
fn flags_of(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter_map(long_flag)
        .collect()
}

/// The markdown files people read.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    for s in SERVERS {
        out.push(root().join(s).join("README.md"));
    }
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
    out.into_iter().filter(|p| p.is_file()).collect()
}

/// Commands in a page: code-block lines (continuations joined) and inline
/// code spans.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let l = line.trim_end();
            if let Some(head) = l.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(l);
            out.push(std::mem::take(&mut pending));
        } else {
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    out.push(span.to_string());
                }
            }
        }
    }
    out
}

/// Words that run the next word as the command (`time sre-agent …`).
const WRAPPERS: &[&str] = &["time", "nice", "exec", "sudo", "env", "$", "nohup"];

/// `(binary, subcommand, flags)` for each invocation of ours in `cmd`: a
/// segment (split at `|`, `;`, `&&`, `||`, `$(`) whose command word, after
/// `VAR=value` assignments and wrappers, is one of our binaries or `cargo
/// run -p OURS --`. Our names as arguments of other tools (`kubectl -n
/// sre-agent`, `helm install sre-agent`) are not invocations.
fn invocations(cmd: &str) -> Vec<(String, Option<String>, Vec<String>)> {
    let mut out = Vec::new();
    let cmd = cmd
        .replace("$(", " ; ")
        .replace("&&", " ; ")
        .replace("||", " ; ")
        .replace(['|', ')'], " ; ");
    for segment in cmd.split(';') {
        let words: Vec<&str> = segment.split_whitespace().collect();
        let mut i = 0;
        while i < words.len()
            && (WRAPPERS.contains(&words[i])
                || (words[i].contains('=') && !words[i].starts_with('-')))
        {
            i += 1;
        }
        let Some(first) = words.get(i) else { continue };
        let first = first
            .trim_start_matches("./target/release/")
            .trim_start_matches("./target/debug/");
        let bin = if first == "sre-agent" || SERVERS.contains(&first) {
            i += 1;
            first.to_string()
        } else if first == "cargo"
            && words.get(i + 1) == Some(&"run")
            && let Some(p) = words.iter().position(|x| *x == "-p")
            && let Some(name) = words.get(p + 1)
            && (SERVERS.contains(name) || *name == "sre-agent-cli")
            && let Some(dashes) = words.iter().position(|x| *x == "--")
        {
            i = dashes + 1;
            if *name == "sre-agent-cli" {
                "sre-agent".to_string()
            } else {
                name.to_string()
            }
        } else {
            continue;
        };
        let sub = (bin == "sre-agent")
            .then(|| words.get(i).filter(|w| SUBCOMMANDS.contains(w)))
            .flatten()
            .map(|s| s.to_string());
        if sub.is_some() {
            i += 1;
        }
        let mut flags = Vec::new();
        for w in &words[i..] {
            if matches!(*w, "#" | ">" | "2>" | "<") {
                break;
            }
            flags.extend(long_flag(w));
        }
        out.push((bin, sub, flags));
    }
    out
}

#[test]
fn every_flag_in_the_docs_is_one_the_binaries_accept() {
    // (binary, subcommand) → its flags; None when not built.
    let mut known: BTreeMap<(String, Option<String>), Option<BTreeSet<String>>> = BTreeMap::new();
    let mut flags_for = |bin: &str, sub: Option<&str>| -> Option<BTreeSet<String>> {
        known
            .entry((bin.to_string(), sub.map(str::to_string)))
            .or_insert_with(|| {
                let args: Vec<&str> = match sub {
                    Some("mcp") => vec!["mcp", "list"],
                    Some(s) => vec![s],
                    None => vec![],
                };
                help(&binary(bin), &args).map(|h| {
                    let mut f = flags_of(&h);
                    f.insert("--help".into());
                    f.insert("--version".into());
                    f
                })
            })
            .clone()
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut skipped = BTreeSet::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for cmd in commands(&text) {
            for (bin, sub, flags) in invocations(&cmd) {
                let Some(accepted) = flags_for(&bin, sub.as_deref()) else {
                    skipped.insert(bin.clone());
                    continue;
                };
                for f in flags {
                    checked += 1;
                    if !accepted.contains(&f) {
                        wrong.push(format!(
                            "{shown}: `{bin}{}` has no {f} (in: {cmd})",
                            sub.as_deref().map(|s| format!(" {s}")).unwrap_or_default()
                        ));
                    }
                }
            }
        }
        // A server's README: the first cell of its flag tables.
        if let Some(server) = SERVERS
            .iter()
            .find(|s| page.ends_with(format!("{s}/README.md")))
            && let Some(accepted) = flags_for(server, None)
        {
            for line in text.lines().filter(|l| l.starts_with("| `--")) {
                let cell = line.split('|').nth(1).unwrap_or("");
                for f in invocations(&format!("{server} {}", cell.replace('`', " ")))
                    .into_iter()
                    .flat_map(|(_, _, f)| f)
                {
                    checked += 1;
                    if !accepted.contains(&f) {
                        wrong.push(format!(
                            "{shown}: flag table row {f} is not a flag of {server}"
                        ));
                    }
                }
            }
        }
    }
    for s in &skipped {
        eprintln!(
            "{s} is not built next to sre-agent: its flags were not checked (cargo build --workspace)"
        );
    }
    assert!(
        checked >= 40,
        "only {checked} flags found in the docs: the reader is broken"
    );
    assert!(
        wrong.is_empty(),
        "flags the docs name that the binaries do not accept:\n{}",
        wrong.join("\n")
    );
}

/// The prefixes of the environment variables our binaries read.
const OUR_VARIABLES: &[&str] = &[
    "MCP_KUBERNETES_",
    "MCP_K8S_",
    "MCP_SIGNOZ_",
    "MCP_MONGODB_",
    "MCP_SLACK_",
    "SRE_AGENT_",
    "MONGODB_URI",
];

#[test]
fn every_variable_of_ours_in_the_docs_is_read_by_the_code() {
    // Every source, script and manifest of the workspace, and every help
    // text (the servers derive their variables from their flags), as one
    // text.
    let mut code = String::new();
    for bin in std::iter::once("sre-agent").chain(SERVERS.iter().copied()) {
        let subs: Vec<Vec<&str>> = if bin == "sre-agent" {
            SUBCOMMANDS
                .iter()
                .map(|s| {
                    if *s == "mcp" {
                        vec!["mcp", "list"]
                    } else {
                        vec![*s]
                    }
                })
                .collect()
        } else {
            vec![vec![]]
        };
        for args in subs {
            code.push_str(&help(&binary(bin), &args).unwrap_or_default());
        }
    }
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | ".git" | ".cache" | "node_modules" | "fixtures"
                ) {
                    stack.push(p);
                }
            } else if [".rs", ".sh", ".yaml", ".yml", ".toml", ".tpl"]
                .iter()
                .any(|e| name.ends_with(e))
            {
                // Comments do not read variables.
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for line in text.lines() {
                    let t = line.trim_start();
                    if !(t.starts_with("//") || t.starts_with('#')) {
                        code.push_str(line);
                        code.push('\n');
                    }
                }
            }
        }
    }
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let ours = OUR_VARIABLES.iter().any(|p| word.starts_with(p));
            if !ours || word.len() < 6 || word.ends_with('_') {
                continue;
            }
            seen += 1;
            if !code.contains(word) {
                missing.insert(format!("{shown}: {word}"));
            }
        }
    }
    assert!(
        seen >= 10,
        "only {seen} variables found: the reader is broken"
    );
    assert!(
        missing.is_empty(),
        "variables the docs name that no code reads:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}
