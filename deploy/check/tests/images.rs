//! The container images: `scripts/build-images.sh` builds them (cargo profile
//! `image`, buildah, FROM scratch), then each OCI archive is imported with
//! buildah, mounted, and its binary run inside it with `chroot` as the
//! image's non-root user: `--version`, an MCP `initialize` + `tools/list`
//! over stdio for the servers, the offline demo for the bot.
//!
//! Skipped, with a message, when buildah is not installed
//! (`scripts/setup-test-deps.sh` installs it as root), when not run as root
//! (chroot needs it), or when `SRE_AGENT_SKIP_IMAGES` is set. The build is the
//! expensive part; figures in docs/operations.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use deploy_check::workspace_root;
use serde_json::{Value, json};

/// The largest an image may be: its OCI archive (compressed layers, what a
/// registry stores and a node pulls).
const MAX_IMAGE_BYTES: u64 = 40 * 1000 * 1000;
/// The user every image runs as (distroless's `nonroot`, as in deploy/).
const USER: &str = "65532:65532";

const SERVERS: &[&str] = &["mcp-kubernetes", "mcp-signoz", "mcp-mongodb", "mcp-slack"];

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn skip_reason() -> Option<String> {
    if std::env::var_os("SRE_AGENT_SKIP_IMAGES").is_some() {
        return Some("SRE_AGENT_SKIP_IMAGES is set".into());
    }
    if Command::new("buildah").arg("--version").output().is_err() {
        return Some(
            "buildah is not installed (scripts/setup-test-deps.sh installs it with apt-get as root)"
                .into(),
        );
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root: running the images with chroot needs root".into());
    }
    None
}

/// The target directory of the `cargo test` running this (its `tmp` is ours).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `version = "…"` of `[workspace.package]`.
fn workspace_version() -> String {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    manifest["workspace"]["package"]["version"]
        .as_str()
        .unwrap()
        .to_string()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            total += dir_bytes(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

/// `chroot` found on this process's PATH (the command runs with an empty environment).
fn chroot() -> PathBuf {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("chroot"))
        .find(|p| p.exists())
        .expect("chroot (coreutils) is not installed")
}

/// A working container of an imported archive, removed (with its image) on drop.
struct Mounted {
    container: String,
    image: String,
    root: PathBuf,
}

impl Mounted {
    fn new(archive: &Path) -> Mounted {
        let container = run(Command::new("buildah").args([
            "from",
            "--quiet",
            "--pull-never",
            &format!("oci-archive:{}", archive.display()),
        ]));
        let root = PathBuf::from(run(Command::new("buildah").args(["mount", &container])));
        let image = run(Command::new("buildah").args([
            "inspect",
            "--type",
            "container",
            "--format",
            "{{.FromImageID}}",
            &container,
        ]));
        Mounted {
            container,
            image,
            root,
        }
    }

    fn config(&self) -> Value {
        let text =
            run(Command::new("buildah").args(["inspect", "--type", "container", &self.container]));
        let inspected: Value = serde_json::from_str(&text).unwrap();
        inspected["OCIv1"]["config"].clone()
    }

    /// `chroot --userspec=65532:65532 ROOT BINARY ARGS…` with a clean environment.
    fn command(&self, binary: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(chroot());
        cmd.arg(format!("--userspec={USER}"))
            .arg(&self.root)
            .arg(binary)
            .args(args)
            .env_clear()
            .env("HOME", "/home/nonroot")
            .env("PATH", "/usr/local/bin")
            .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt");
        cmd
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("buildah")
            .args(["umount", &self.container])
            .output();
        let _ = Command::new("buildah")
            .args(["rm", &self.container])
            .output();
        let _ = Command::new("buildah")
            .args(["rmi", "--force", &self.image])
            .output();
    }
}

/// One MCP exchange over stdio: `initialize`, `notifications/initialized`,
/// `tools/list`; returns the tool names and the server process's real uid.
fn tools_list(mut cmd: Command) -> (Vec<String>, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "deploy-check", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for m in &messages {
        writeln!(stdin, "{m}").unwrap();
    }
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut uid = String::new();
    let mut tools = None;
    while tools.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no tools/list answer: {e}"));
        let reply: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not JSON-RPC on stdout: {line}: {e}"));
        if reply["id"] == 1 {
            assert!(reply["result"]["serverInfo"]["name"].is_string(), "{reply}");
            // The process that answers is the one chroot started (it execs).
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
        if reply["id"] == 2 {
            tools = Some(
                reply["result"]["tools"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{reply}"))
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>(),
            );
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    (tools.unwrap(), uid)
}

#[test]
fn images_build_small_and_run_as_the_non_root_user() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: image test: {why}");
        return;
    }
    let root = workspace_root();
    let target = target_dir();
    let out = target.join("images");
    let started = Instant::now();
    let mut build = Command::new(root.join("scripts/build-images.sh"));
    // What `cargo test` sets for this test is not the script's business, and
    // cargo compares some of it (CARGO_PKG_NAME, CARGO_MANIFEST_DIR: ring's
    // build script reruns when they change) with the previous build: without
    // them the test and a build by hand share their artifacts.
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || k.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
                "LD_LIBRARY_PATH",
            ]
            .contains(&k.as_ref())
        {
            build.env_remove(&key);
        }
    }
    let status = build
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .env("OUT", &out)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/build-images.sh failed: {status}");
    eprintln!(
        "images built in {:.0} s (cargo profile `image`)",
        started.elapsed().as_secs_f64()
    );

    let version = workspace_version();
    let revision = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    for name in SERVERS.iter().copied().chain(["sre-agent"]) {
        let archive = out.join(format!("{name}.oci.tar"));
        let bytes = std::fs::metadata(&archive).unwrap().len();
        let image = Mounted::new(&archive);
        let unpacked = dir_bytes(&image.root);
        eprintln!(
            "{name}: {:.1} MB archive, {:.1} MB unpacked",
            bytes as f64 / 1e6,
            unpacked as f64 / 1e6
        );
        assert!(
            bytes <= MAX_IMAGE_BYTES,
            "{name}: {bytes} bytes, more than {MAX_IMAGE_BYTES}"
        );

        // The image's own description.
        let config = image.config();
        assert_eq!(config["User"], USER, "{name}: {config}");
        let binary = format!("/usr/local/bin/{name}");
        assert_eq!(config["Entrypoint"], json!([binary]), "{name}");
        let label = |k: &str| config["Labels"][format!("org.opencontainers.image.{k}")].clone();
        assert_eq!(label("title"), name);
        assert_eq!(label("version"), version.as_str());
        assert_eq!(label("licenses"), "Apache-2.0");
        assert!(
            label("source")
                .as_str()
                .is_some_and(|s| s.starts_with("https://")),
            "{name}: source {}",
            label("source")
        );
        if let Some(rev) = &revision {
            assert_eq!(label("revision"), rev.as_str(), "{name}");
        }
        // FROM scratch: no shell, the user named in /etc/passwd, CA certificates.
        assert!(!image.root.join("bin/sh").exists(), "{name} has a shell");
        let passwd = std::fs::read_to_string(image.root.join("etc/passwd")).unwrap();
        assert!(
            passwd
                .lines()
                .any(|l| l.starts_with("nonroot:x:65532:65532:")),
            "{name}: {passwd}"
        );
        assert!(
            image
                .root
                .join("etc/ssl/certs/ca-certificates.crt")
                .metadata()
                .is_ok_and(|m| m.len() > 10_000)
        );

        // Runs inside the image, as 65532.
        let printed = run(&mut image.command(&binary, &["--version"]));
        assert!(
            printed.contains(&version),
            "{name} --version: {printed:?} lacks {version}"
        );
        if name == "sre-agent" {
            // The offline demo, from the fixtures the image carries.
            let report = run(&mut image.command(
                &binary,
                &[
                    "investigate",
                    "--scenario",
                    "/usr/share/sre-agent/fixtures/scenarios/oom-after-limit-change",
                ],
            ));
            assert!(
                report.contains("ROOT CAUSE") && report.contains("oom_killed"),
                "{report}"
            );
            assert_eq!(config["WorkingDir"], "/usr/share/sre-agent");
        } else {
            let mut cmd = image.command(&binary, &[]);
            if name == "mcp-mongodb" {
                // It needs to be told what to diagnose; it connects only when a tool runs.
                cmd.env("MONGODB_URI", "mongodb://127.0.0.1:9/");
            }
            let (tools, uid) = tools_list(cmd);
            assert!(tools.len() >= 3, "{name}: tools {tools:?}");
            assert_eq!(uid, "65532", "{name} runs as uid {uid}");
            eprintln!("{name}: {} tools over stdio, as uid {uid}", tools.len());
        }
    }
    eprintln!("image test took {:.0} s", started.elapsed().as_secs_f64());
}

/// The Dockerfile (for people with Docker) and scripts/build-images.sh build
/// the same images: cargo profile, user, entrypoints, the bot's working
/// directory and default command, environment and label keys.
#[test]
fn dockerfile_and_build_script_agree() {
    let root = workspace_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let script = std::fs::read_to_string(root.join("scripts/build-images.sh")).unwrap();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    assert!(
        manifest["profile"]["image"]["inherits"].as_str() == Some("release"),
        "Cargo.toml has no [profile.image] inheriting release"
    );
    assert!(dockerfile.contains("ARG PROFILE=image"));
    assert!(script.contains("profile=\"${PROFILE:-image}\""));
    assert!(dockerfile.contains(&format!("USER {USER}")));
    assert!(script.contains("uid=65532") && script.contains("--user \"$uid:$uid\""));
    for key in ["HOME", "SSL_CERT_FILE"] {
        assert!(
            dockerfile.contains(&format!("{key}=")),
            "Dockerfile lacks {key}"
        );
        assert!(
            script.contains(&format!("--env {key}=")),
            "script lacks {key}"
        );
    }
    let keys = |text: &str| -> std::collections::BTreeSet<String> {
        text.split("org.opencontainers.image.")
            .skip(1)
            .filter_map(|s| s.split('=').next())
            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase()))
            .map(str::to_string)
            .collect()
    };
    let script_keys = keys(&script);
    for k in ["title", "version", "revision", "source", "licenses"] {
        assert!(script_keys.contains(k), "script lacks label {k}");
    }
    let docker_keys = keys(&dockerfile);
    for k in &script_keys {
        assert!(
            docker_keys.contains(k) || k == "created",
            "Dockerfile lacks label {k}"
        );
    }
    for name in SERVERS.iter().copied().chain(["sre-agent"]) {
        let stage = dockerfile
            .split(&format!("FROM runtime AS {name}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no stage {name}"));
        let stage = stage.split("\nFROM ").next().unwrap();
        assert!(
            stage.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{name}\"]")),
            "{name}: entrypoint"
        );
        assert!(
            stage.contains(&format!("LABEL org.opencontainers.image.title={name}")),
            "{name}: title"
        );
        if name == "sre-agent" {
            assert!(stage.contains("WORKDIR /usr/share/sre-agent"));
            assert!(stage.contains("CMD [\"--help\"]"));
            assert!(stage.contains("fixtures/scenarios/"));
        }
    }
    // Both compile the five binaries in one cargo run (the script names the
    // packages through `package_of`; the bot's package is sre-agent-cli).
    let build = dockerfile
        .split("FROM source AS build\n")
        .nth(1)
        .and_then(|s| s.split("\nFROM ").next())
        .expect("a build stage");
    let words: Vec<&str> = build.split_whitespace().collect();
    for package in SERVERS.iter().copied().chain(["sre-agent-cli"]) {
        assert!(
            words.windows(2).any(|w| w == ["-p", package]),
            "the build stage lacks -p {package}"
        );
    }
    for name in SERVERS.iter().copied().chain(["sre-agent"]) {
        assert!(
            dockerfile.contains(&format!(
                "COPY --from=build /out/{name} /usr/local/bin/{name}"
            )),
            "{name}: not copied from the build stage"
        );
    }
    assert!(script.contains("workdir=/usr/share/sre-agent"));
    assert!(script.contains("--cmd '[\"--help\"]'"));
    assert!(script.contains("entrypoint \"[\\\"/usr/local/bin/$name\\\"]\""));
}
