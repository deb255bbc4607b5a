//! The release workflow (`.github/workflows/release.yml`) cannot run here (no GitHub
//! runners), so it is checked two ways: `actionlint` (a checker nobody here wrote,
//! installed by `scripts/setup-test-deps.sh` into `.cache/venv`) finds no problem in
//! any workflow, and the binaries it packages are exactly the workspace's five
//! commands, so a renamed or added binary cannot silently drop out of a release.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflows() -> Vec<PathBuf> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn actionlint_finds_no_problem_in_the_workflows() {
    let actionlint = root().join(".cache/venv/bin/actionlint");
    assert!(
        actionlint.is_file(),
        "{} is missing: run scripts/setup-test-deps.sh",
        actionlint.display()
    );
    let files = workflows();
    assert!(!files.is_empty(), "no workflow under .github/workflows");
    let out = Command::new(&actionlint)
        .args(["-no-color"])
        .args(&files)
        .current_dir(root())
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The workspace's commands: the agent's `[[bin]]` and the four servers (package name
/// = binary name).
fn commands() -> Vec<String> {
    let agent = PathBuf::from(env!("CARGO_BIN_EXE_sre-agent"));
    let mut names = vec![agent.file_name().unwrap().to_string_lossy().into_owned()];
    for server in ["mcp-kubernetes", "mcp-signoz", "mcp-mongodb", "mcp-slack"] {
        let manifest = std::fs::read_to_string(root().join(server).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{server}\"")),
            "{server}/Cargo.toml names another package"
        );
        assert!(
            root().join(server).join("src/main.rs").is_file(),
            "{server} has no binary"
        );
        names.push(server.to_string());
    }
    names.sort();
    names
}

#[test]
fn the_release_packages_every_command_of_the_workspace() {
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("BINARIES:"))
        .expect("release.yml sets BINARIES");
    let mut packaged: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    packaged.sort();
    assert_eq!(packaged, commands());
    // And it builds the packages those binaries come from.
    for package in [
        "sre-agent-cli",
        "mcp-kubernetes",
        "mcp-signoz",
        "mcp-mongodb",
        "mcp-slack",
    ] {
        assert!(
            text.contains(&format!("-p {package}")),
            "release.yml does not build {package}"
        );
    }
}
