//! Two PostgreSQL clusters with streaming replication on loopback (a
//! primary and a `pg_basebackup -R` standby), the alert stream the sender
//! retries, and the lag sampler the failover drills read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgPool;

use super::*;
use crate::support::http;
use crate::support_pg;

/// One PostgreSQL cluster of the drill (its own folder, port and settings);
/// stopped with `-m immediate` when dropped.
pub struct Node {
    pub dir: tempfile::TempDir,
    pub bin: PathBuf,
    pub port: u16,
    pub run_as: Option<(u32, u32)>,
    pub up: bool,
}

impl Node {
    /// An empty folder for a cluster, owned by the server's user.
    pub fn new() -> Node {
        let run_as = support_pg::server_user();
        let builder = {
            let mut b = tempfile::Builder::new();
            b.prefix("sre-pg-dr-");
            b
        };
        // /tmp: the unprivileged server must reach the folder through every parent.
        let dir = if run_as.is_some() {
            builder.tempdir_in("/tmp")
        } else {
            builder.tempdir()
        }
        .unwrap();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        Node {
            dir,
            bin: support_pg::bin_dir(),
            port: 0,
            run_as,
            up: false,
        }
    }

    pub fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs a server tool as the server's user; its output, or the error.
    pub fn tool(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let exe = self.bin.join(tool);
        let mut cmd = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("{tool} exited with {}: {text}", out.status))
        }
    }

    pub fn append(&self, file: &str, text: &str) {
        use std::io::Write;
        let path = self.dir.path().join("data").join(file);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    pub fn start(&mut self) {
        let mut last = String::new();
        // A free port can be taken between probing and binding: try a few.
        for _ in 0..5 {
            self.port = support_pg::loopback_port();
            let opts = format!("-p {} -k {}", self.port, self.dir.path().display());
            let log = self.dir.path().join("server.log");
            match self.tool(
                "pg_ctl",
                &[
                    "-D",
                    &self.data(),
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ) {
                Ok(_) => {
                    self.up = true;
                    return;
                }
                Err(e) => last = format!("{e}\n{}", self.log()),
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// `pg_ctl stop -m immediate`: every server process ends at once, no
    /// checkpoint, nothing more sent to the standby. The region is gone.
    pub fn stop_immediate(&mut self) {
        if self.up {
            self.up = false;
            if let Err(e) = self.tool(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            ) {
                eprintln!("stopping a drill cluster: {e}");
            }
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A primary: `wal_level=replica`, a replication role and its
    /// pg_hba line for 127.0.0.1. (`synchronous_standby_names` is set once
    /// the standby runs: before that every commit would wait for it.)
    pub async fn primary() -> Node {
        let mut n = Node::new();
        n.tool(
            "initdb",
            &[
                "-D",
                &n.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        .unwrap();
        // fsync=off is a speed-up for a shared test machine: the drill ends
        // processes, not the machine, so the OS still holds what they wrote.
        // Everything that matters to replication keeps its default
        // (synchronous_commit=on, full_page_writes=on).
        let conf = String::from(
            "\nlisten_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 4\n\
             wal_keep_size = '256MB'\nhot_standby = on\nfsync = off\nmax_connections = 100\n",
        );
        n.append("postgresql.conf", &conf);
        n.append(
            "pg_hba.conf",
            "\nhost replication replicator 127.0.0.1/32 trust\n",
        );
        n.start();
        let mut c = sqlx::PgConnection::connect(&n.url("postgres"))
            .await
            .unwrap();
        for sql in [
            "CREATE ROLE replicator WITH REPLICATION LOGIN",
            "CREATE DATABASE sre_agent",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        c.close().await.ok();
        n
    }

    /// A hot standby of `primary`: `pg_basebackup -R` (which writes
    /// `standby.signal` and `primary_conninfo`), then started.
    pub fn standby_of(primary: &Node) -> Node {
        let mut s = Node::new();
        let conninfo = format!(
            "host=127.0.0.1 port={} user=replicator application_name=standby1",
            primary.port
        );
        s.tool(
            "pg_basebackup",
            &[
                "--pgdata",
                &s.data(),
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--dbname",
                &conninfo,
            ],
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", primary.log()));
        s.start();
        s
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop_immediate();
        if std::thread::panicking() {
            eprintln!("--- PostgreSQL log ({}) ---\n{}", self.port, self.log());
        }
    }
}

/// One alert the sender got a 200 for.
#[derive(Debug, Clone)]
pub struct Ack {
    pub fingerprint: String,
    pub by: &'static str,
}

/// Alertmanager's part: sends `total` alerts, one every `spacing`, to the
/// current target, retrying each until it is acknowledged (a refused
/// connection or a 5xx is not an acknowledgement).
pub fn alert_stream(
    total: usize,
    spacing: Duration,
    target: Arc<Mutex<(String, &'static str)>>,
    acked: Arc<Mutex<Vec<Ack>>>,
) -> tokio::task::JoinHandle<()> {
    let client = http();
    tokio::spawn(async move {
        for i in 0..total {
            let fingerprint = format!("dr-fp-{i}");
            loop {
                let (base, by) = target.lock().unwrap().clone();
                if post_alert(
                    &client,
                    &base,
                    &fingerprint,
                    &format!("DrAlert{i}"),
                    "firing",
                )
                .await
                .is_some()
                {
                    acked.lock().unwrap().push(Ack {
                        fingerprint: fingerprint.clone(),
                        by,
                    });
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(spacing).await;
        }
    })
}

/// A replication check: the alerts acknowledged before `primary_lsn` was
/// read, and how long the standby took to replay up to it.
#[derive(Debug, Clone, Copy)]
pub struct Caught {
    pub acked_before: usize,
    pub replay_ms: f64,
}

/// Until `stop`, or the primary is gone: reads the primary's WAL position,
/// waits for the standby to replay it, records how long that took. Also the
/// largest `replay_lag` the primary reported in `pg_stat_replication`.
pub fn lag_sampler(
    primary: PgPool,
    standby: PgPool,
    acked: Arc<Mutex<Vec<Ack>>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<Caught>, f64)> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut max_reported_ms = 0f64;
        while !stop.load(Ordering::SeqCst) {
            let acked_before = acked.lock().unwrap().len();
            let t0 = Instant::now();
            let Ok(lsn) = sqlx::query_scalar::<_, String>("SELECT pg_current_wal_lsn()::text")
                .fetch_one(&primary)
                .await
            else {
                break;
            };
            if let Ok(Some(ms)) = sqlx::query_scalar::<_, Option<f64>>(
                "SELECT (EXTRACT(EPOCH FROM max(replay_lag)) * 1000)::float8 FROM pg_stat_replication",
            )
            .fetch_one(&primary)
            .await
            {
                max_reported_ms = max_reported_ms.max(ms);
            }
            loop {
                let replayed =
                    sqlx::query_scalar::<_, bool>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                        .bind(&lsn)
                        .fetch_one(&standby)
                        .await;
                if matches!(replayed, Ok(true)) {
                    samples.push(Caught {
                        acked_before,
                        replay_ms: t0.elapsed().as_secs_f64() * 1000.0,
                    });
                    break;
                }
                if stop.load(Ordering::SeqCst) || t0.elapsed() > Duration::from_secs(10) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (samples, max_reported_ms)
    })
}

pub async fn job_counts(p: &PgPool) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT status, count(*) FROM jobs GROUP BY status")
        .fetch_all(p)
        .await
        .map(|v| v.into_iter().collect())
        .unwrap_or_default()
}
