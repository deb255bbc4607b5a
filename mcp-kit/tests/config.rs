//! Configuration precedence: flag > environment > file > default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use mcp_kit::config::{ConfigError, parse_from};

#[derive(Debug, Parser)]
struct Cli {
    /// A number.
    #[arg(long, default_value_t = 1)]
    level: u32,
    /// A switch.
    #[arg(long)]
    read_only: bool,
    /// A list.
    #[arg(long, value_delimiter = ',')]
    names: Vec<String>,
    #[command(flatten)]
    kit: mcp_kit::KitArgs,
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

const PREFIX: &str = "MCP_KIT_CONFIG_TEST_UNSET";

#[test]
fn default_applies_without_anything() {
    let cli: Cli = parse_from(PREFIX, ["x"]).unwrap();
    assert_eq!(cli.level, 1);
    assert!(!cli.read_only);
    assert_eq!(
        cli.kit.max_output_tokens,
        mcp_kit::budget::DEFAULT_MAX_TOKENS
    );
}

#[test]
fn file_beats_default_and_flag_beats_file() {
    let (_d, path) =
        file("level = 7\nread_only = true\nnames = [\"a\", \"b\"]\nmax-output-tokens = 500\n");
    let p = path.to_str().unwrap();
    let cli: Cli = parse_from(PREFIX, ["x", "--config", p]).unwrap();
    assert_eq!(
        (cli.level, cli.read_only, cli.names.clone()),
        (7, true, vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(cli.kit.max_output_tokens, 500);
    let cli: Cli = parse_from(PREFIX, ["x", "--level", "9", &format!("--config={p}")]).unwrap();
    assert_eq!(cli.level, 9);
}

#[test]
fn unknown_key_is_an_error_listing_valid_keys() {
    let (_d, path) = file("levle = 3\n");
    let err =
        parse_from::<Cli, _, _>(PREFIX, ["x", "--config", path.to_str().unwrap()]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::UnknownKey { .. }), "{msg}");
    assert!(msg.contains("`levle`") && msg.contains("level"), "{msg}");
}

#[test]
fn bad_toml_and_missing_file_are_clear_errors() {
    let (_d, path) = file("level = = 3\n");
    let err =
        parse_from::<Cli, _, _>(PREFIX, ["x", "--config", path.to_str().unwrap()]).unwrap_err();
    assert!(err.to_string().contains("not valid TOML"), "{err}");
    let err =
        parse_from::<Cli, _, _>(PREFIX, ["x", "--config", "/nonexistent/c.toml"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read config file /nonexistent/c.toml"),
        "{err}"
    );
}

#[test]
fn help_documents_env_names_and_precedence() {
    let err = parse_from::<Cli, _, _>("MCP_DEMO", ["x", "--help"]).unwrap_err();
    let help = err.to_string();
    assert!(help.contains("MCP_DEMO_READ_ONLY"), "{help}");
    assert!(help.contains("MCP_DEMO_MAX_OUTPUT_TOKENS"), "{help}");
    assert!(
        help.contains("flag > environment > config file > default"),
        "{help}"
    );
}

/// Environment variables can't be set in-process safely (edition 2024 makes
/// `set_var` unsafe, and tests run in parallel), so this re-runs this test
/// binary as a child with the variables set and checks what it parsed.
#[test]
fn env_beats_file_and_flag_beats_env() {
    if let Ok(expect) = std::env::var("CONFIG_CHILD_EXPECT") {
        let args: Vec<String> =
            serde_json::from_str(&std::env::var("CONFIG_CHILD_ARGS").unwrap()).unwrap();
        let cli: Cli = parse_from("MCP_CHILD", args).unwrap();
        assert_eq!(cli.level.to_string(), expect);
        return;
    }
    let (_d, path) = file("level = 7\n");
    let p = path.to_str().unwrap().to_string();
    for (args, env_level, expect) in [
        (vec!["x", "--config", &p], Some("8"), "8"),
        (vec!["x", "--config", &p, "--level", "9"], Some("8"), "9"),
        (vec!["x"], None, "1"),
    ] {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "env_beats_file_and_flag_beats_env",
            "--nocapture",
        ])
        .env("CONFIG_CHILD_EXPECT", expect)
        .env("CONFIG_CHILD_ARGS", serde_json::to_string(&args).unwrap())
        .env_remove("MCP_CHILD_LEVEL");
        if let Some(level) = env_level {
            cmd.env("MCP_CHILD_LEVEL", level);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "child failed for {args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The config file can come from the environment too.
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    let out = cmd
        .args([
            "--exact",
            "env_beats_file_and_flag_beats_env",
            "--nocapture",
        ])
        .env("CONFIG_CHILD_EXPECT", "7")
        .env("CONFIG_CHILD_ARGS", "[\"x\"]")
        .env("MCP_CHILD_CONFIG", &p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
