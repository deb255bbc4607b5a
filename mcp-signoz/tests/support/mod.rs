//! Test support: the fixture, the embedded store, and a real ClickHouse
//! engine (chdb) behind the HTTP interface the `clickhouse` crate speaks.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_kit::conformance::{ChildGuard, free_port, python};
use mcp_signoz::schema::{TEST_DDL, seed_rows};
use mcp_signoz::{ClickHouseConfig, ClickHouseStore, EmbeddedStore};

/// The checkout-5xx fixture directory.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/telemetry/checkout-5xx")
}

/// The fixture in the embedded store.
pub fn embedded() -> EmbeddedStore {
    EmbeddedStore::load_dir(&fixture_dir()).expect("fixture loads")
}

/// The structured-logs fixture: causes only in exception attributes, span
/// events and JSON/logfmt bodies (2024-05-01 10:00-11:15Z).
pub fn structured_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/structured")
}

/// The structured-logs fixture in the embedded store.
pub fn structured() -> EmbeddedStore {
    EmbeddedStore::load_dir(&structured_dir()).expect("structured fixture loads")
}

/// Both fixtures in one store. The structured one is a month earlier, so
/// "now" and every window relative to it are those of checkout-5xx.
pub fn combined() -> EmbeddedStore {
    let mut t = embedded().telemetry();
    let s = structured().telemetry();
    t.logs.extend(s.logs);
    t.spans.extend(s.spans);
    EmbeddedStore::new("checkout-5xx + structured", t)
}

/// A chdb-backed ClickHouse HTTP server seeded with some telemetry.
pub struct Chdb {
    _child: ChildGuard,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Scratch directory (session data, seeds, query log).
    pub dir: tempfile::TempDir,
}

pub const USER: &str = "signoz_reader";
pub const PASSWORD: &str = "r3ad-only-pw";

impl Chdb {
    /// Starts the server with SigNoz's tables holding `store`'s telemetry.
    pub fn start(store: &EmbeddedStore) -> Chdb {
        Self::start_with(store, &[])
    }

    /// Starts the server with `store`'s telemetry, then runs `after` (SQL
    /// statements) on it before it answers.
    pub fn start_with(store: &EmbeddedStore, after: &[String]) -> Chdb {
        let py = python().unwrap_or_else(|e| panic!("{e}"));
        let check = Command::new(&py)
            .args(["-c", "import chdb"])
            .output()
            .expect("run python");
        assert!(
            check.status.success(),
            "chdb is not installed in {}; run scripts/setup-test-deps.sh",
            py.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let seeds = seed_rows(&store.telemetry());
        let mut seed = Vec::new();
        for (i, (table, rows)) in seeds.tables.iter().enumerate() {
            let path = dir.path().join(format!("seed{i}.jsonl"));
            std::fs::write(&path, rows).expect("write seed");
            seed.push(serde_json::json!([table, path]));
        }
        let setup = serde_json::json!({
            "ddl": TEST_DDL, "seed": seed, "after": after, "user": USER, "password": PASSWORD,
        });
        let setup_path = dir.path().join("setup.json");
        std::fs::write(&setup_path, setup.to_string()).expect("write setup");
        let port = free_port().expect("port");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/chdb_http.py");
        let mut child = Command::new(py)
            .arg(script)
            .args(["--port", &port.to_string(), "--path"])
            .arg(dir.path().join("chdb"))
            .arg("--setup")
            .arg(&setup_path)
            .arg("--log")
            .arg(dir.path().join("queries.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chdb_http.py");
        let stdout = child.stdout.take().expect("stdout");
        let guard = ChildGuard(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("chdb_http.py did not start within 120 s");
        assert!(line.starts_with("READY"), "chdb_http.py: {line:?}");
        Chdb {
            _child: guard,
            port,
            dir,
        }
    }

    /// A ClickHouse store on this server, with "now" pinned to `now`.
    pub fn store(&self, now: i64) -> ClickHouseStore {
        ClickHouseStore::new(ClickHouseConfig {
            url: format!("http://127.0.0.1:{}", self.port),
            user: USER.into(),
            password: Some(PASSWORD.into()),
            now: Some(now),
            ..ClickHouseConfig::default()
        })
    }

    /// Every request received so far: `{"sql", "params", "settings", "format"}`.
    pub fn queries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("queries.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
