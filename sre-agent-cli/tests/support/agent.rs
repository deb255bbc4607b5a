//! Shared by the `cli*` tests: run the `sre-agent` binary as a user would,
//! isolated from this machine's configuration, cluster and data, and read
//! what it printed.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use super::root;

/// The path of bundled scenario `name` (under `fixtures/scenarios`), as an
/// argument.
pub fn scenario(name: &str) -> String {
    root()
        .join("fixtures/scenarios")
        .join(name)
        .display()
        .to_string()
}

/// Runs `sre-agent ARGS…` to completion with no configuration, Slack token,
/// LLM key, store, cluster or data folder of this machine's.
pub fn agent<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sre-agent"))
        .args(args)
        .env_remove("SRE_AGENT_CONFIG")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("OPENAI_API_KEY")
        .env_remove("SRE_AGENT_STORE")
        // Without sources, `investigate` uses kubectl's default cluster:
        // never this machine's.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        // Live investigations keep memory under the user's data folder: not
        // this machine's.
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("sre-agent-cli-tests-data"),
        )
        .output()
        .unwrap()
}

/// What a run printed on stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a run printed on stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies a directory tree (a scenario to edit).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
