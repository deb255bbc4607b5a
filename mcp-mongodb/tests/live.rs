//! `live_…` tests: the tools against a real MongoDB-wire-protocol server,
//! nx-27017 (PyPI, SQLite-backed, reports itself as 7.0), started on a free
//! loopback port with a temporary data dir and seeded through the Rust driver.
//!
//! nx-27017 answers find/aggregate/count/listDatabases/listCollections/
//! listIndexes/collStats/explain/serverStatus, but returns `{ok: 1, result: []}`
//! for currentOp, getLog, replSetGetStatus and profile, and refuses
//! `$indexStats`: those tests check the tools degrade with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::doc;
use common::{args, finish, guarded};
use mcp_kit::Guarded;
use mcp_mongodb::MongoServer;
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::live::{Live, LiveConfig};
use serde_json::json;

/// A running nx-27017, killed on drop.
struct Nx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nx_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/venv/bin/nx-27017");
    assert!(
        path.exists(),
        "nx-27017 is not installed at {}; run scripts/setup-test-deps.sh",
        path.display()
    );
    path
}

impl Nx {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = mcp_kit::conformance::free_port().unwrap();
        let child = Command::new(nx_binary())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("-p")
            .arg(port.to_string())
            .arg("--log-file")
            .arg(dir.path().join("nx.log"))
            .arg("--pid-file")
            .arg(dir.path().join("nx.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nx = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nx-27017 did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nx
    }

    fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Seeds `shop.orders` (with an index on customerId) through the driver;
    /// returns how many orders are "open".
    async fn seed(&self) -> usize {
        let client = mongodb::Client::with_uri_str(self.uri()).await.unwrap();
        let orders = client
            .database("shop")
            .collection::<bson::Document>("orders");
        let docs: Vec<bson::Document> = (0..120)
            .map(|i| {
                doc! {
                    "orderId": format!("O-{i}"),
                    "customerId": format!("C-{}", i % 12),
                    "status": if i % 3 == 0 { "open" } else { "shipped" },
                    "total": f64::from(i) * 2.5,
                }
            })
            .collect();
        let open = docs
            .iter()
            .filter(|d| d.get_str("status").unwrap() == "open")
            .count();
        orders.insert_many(docs).await.unwrap();
        orders
            .create_index(
                mongodb::IndexModel::builder()
                    .keys(doc! {"customerId": 1})
                    .build(),
            )
            .await
            .unwrap();
        client
            .database("shop")
            .collection::<bson::Document>("customers")
            .insert_one(doc! {"_id": "C-1", "name": "Ada"})
            .await
            .unwrap();
        open
    }

    fn server(&self) -> Guarded<MongoServer> {
        guarded(
            Arc::new(Live::new(LiveConfig {
                uri: self.uri(),
                server_selection_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(5),
            })),
            Allowlist::default(),
        )
    }
}

#[tokio::test]
async fn live_find_count_and_aggregate_are_bounded() {
    let nx = Nx::start();
    let open = nx.seed().await;
    let g = nx.server();

    let (text, err) = finish(
        &g,
        g.inner()
            .count(args(
                json!({"database": "shop", "collection": "orders", "filter": {"status": "open"}}),
            ))
            .await,
    );
    assert!(!err, "{text}");
    assert!(
        text.starts_with(&format!(
            "{open} document(s) in shop.orders match {{status: ?}}"
        )),
        "{text}"
    );

    let (text, err) = finish(
        &g,
        g.inner()
            .find(args(json!({
                "database": "shop", "collection": "orders",
                "filter": {"status": "open"}, "projection": {"orderId": 1, "_id": 0},
                "limit": 5
            })))
            .await,
    );
    assert!(!err, "{text}");
    assert!(text.contains(": 5 document(s) (limit 5"), "{text}");
    assert!(
        text.contains("limit reached") && text.contains("cursor=\"5\""),
        "{text}"
    );
    let body = text.split("\">\n").nth(1).unwrap();
    let docs: Vec<&str> = body.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(docs.len(), 5, "{text}");
    assert!(
        docs.iter()
            .all(|d| d.contains("orderId") && !d.contains("total")),
        "{text}"
    );

    // The next page starts where the first stopped.
    let (next, _) = finish(
        &g,
        g.inner()
            .find(args(json!({
                "database": "shop", "collection": "orders",
                "filter": {"status": "open"}, "projection": {"orderId": 1, "_id": 0},
                "limit": 5, "cursor": "5"
            })))
            .await,
    );
    let next_docs: Vec<&str> = next
        .split("\">\n")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .collect();
    assert_eq!(next_docs.len(), 5, "{next}");
    assert!(
        next_docs.iter().all(|d| !docs.contains(d)),
        "{text}\n{next}"
    );

    let (text, err) = finish(
        &g,
        g.inner()
            .aggregate(args(json!({
                "database": "shop", "collection": "orders",
                "pipeline": [
                    {"$match": {"status": "open"}},
                    {"$group": {"_id": "$customerId", "n": {"$sum": 1}}}
                ],
                "limit": 50
            })))
            .await,
    );
    assert!(!err, "{text}");
    let groups = text.lines().filter(|l| l.starts_with("{\"_id\"")).count();
    let customers: std::collections::BTreeSet<usize> =
        (0..120).filter(|i| i % 3 == 0).map(|i| i % 12).collect();
    assert_eq!(groups, customers.len(), "{text}");

    // Refused before reaching the server.
    let (text, err) = finish(
        &g,
        g.inner()
            .aggregate(args(json!({
                "database": "shop", "collection": "orders",
                "pipeline": [{"$match": {"status": "open"}}, {"$out": "stolen"}]
            })))
            .await,
    );
    assert!(err && text.contains("`$out`"), "{text}");
}

#[tokio::test]
async fn live_lists_databases_collections_and_collection_stats() {
    let nx = Nx::start();
    nx.seed().await;
    let g = nx.server();

    let (text, err) = finish(&g, g.inner().list_databases().await);
    assert!(!err, "{text}");
    assert!(text.lines().any(|l| l.starts_with("shop ")), "{text}");

    let (text, err) = finish(
        &g,
        g.inner()
            .list_collections(args(json!({"database": "shop"})))
            .await,
    );
    assert!(!err, "{text}");
    assert!(text.starts_with("2 collection(s) in shop"), "{text}");

    // collStats works; $indexStats is refused by nx-27017, so usage is n/a
    // with the reason, and the indexes come from listIndexes.
    let (text, err) = finish(
        &g,
        g.inner()
            .collection_stats(args(json!({"database": "shop", "collection": "orders"})))
            .await,
    );
    assert!(!err, "{text}");
    assert!(text.starts_with("shop.orders: 120 documents"), "{text}");
    assert!(
        text.contains("index usage n/a: this server does not support `$indexStats`"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("_id_")), "{text}");
    assert!(text.contains("{ customerId: 1 }"), "{text}");
}

#[tokio::test]
async fn live_explain_and_server_status_render_what_the_server_reports() {
    let nx = Nx::start();
    nx.seed().await;
    let g = nx.server();

    let (text, err) = finish(
        &g,
        g.inner()
            .explain(args(json!({"database": "shop", "collection": "orders", "filter": {"customerId": "C-1"}})))
            .await,
    );
    assert!(!err, "{text}");
    assert!(
        text.starts_with("explain find shop.orders {customerId: ?}"),
        "{text}"
    );
    // nx-27017 reports SQLite's plan, which is said plainly.
    assert!(
        text.contains("plan        (not in MongoDB's format"),
        "{text}"
    );
    assert!(
        text.contains("examined    keys 0, docs 0; returned 0"),
        "{text}"
    );

    let (text, err) = finish(
        &g,
        g.inner()
            .server_status(args(json!({"sample_seconds": 0})))
            .await,
    );
    assert!(!err, "{text}");
    assert!(text.contains(" 7.0.0 on "), "{text}");
    assert!(text.contains("connections  "), "{text}");
    assert!(text.contains("opcounters   n/a"), "{text}");
    assert!(text.contains("wt cache     n/a"), "{text}");
}

#[tokio::test]
async fn live_missing_diagnostics_degrade_with_clear_messages() {
    let nx = Nx::start();
    nx.seed().await;
    let g = nx.server();

    let (text, err) = finish(
        &g,
        g.inner().current_ops(args(json!({"min_seconds": 0}))).await,
    );
    assert!(err, "{text}");
    assert!(
        text.contains("does not support `currentOp`") && text.contains("`inprog`"),
        "{text}"
    );

    let (text, err) = finish(
        &g,
        g.inner()
            .slow_queries(args(json!({"database": "shop"})))
            .await,
    );
    assert!(err, "{text}");
    assert!(
        text.contains("profiler of shop has no entries") && text.contains("`log`"),
        "{text}"
    );

    let (text, err) = finish(&g, g.inner().replica_set_status().await);
    assert!(err && text.contains("`members`"), "{text}");
}

#[tokio::test]
async fn live_unreachable_server_fails_fast_naming_the_host_not_the_password() {
    // A port nothing listens on: bind, note it, close.
    let port = mcp_kit::conformance::free_port().unwrap();
    let g = guarded(
        Arc::new(Live::new(LiveConfig {
            uri: format!("mongodb://ops:Sup3rS3cretPw@127.0.0.1:{port}/admin"),
            server_selection_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
        })),
        Allowlist::default(),
    );
    let started = Instant::now();
    let (text, err) = finish(&g, g.inner().list_databases().await);
    assert!(err, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        text.contains(&format!("cannot reach MongoDB at 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(
        !text.contains("Sup3rS3cretPw") && !text.contains("ops:"),
        "{text}"
    );
}

/// A MongoDB wire-protocol proxy in front of nx-27017 that answers every
/// `$indexStats` aggregate the way MongoDB answers a user with only the
/// `read` role (code 13, Unauthorized), and passes everything else through.
/// nx-27017 has no users or roles, so this is how a refusal reaches the real
/// driver. Returns the proxy's port; it lives as long as the test process.
fn refusing_proxy(upstream: u16) -> u16 {
    use std::io::Write;
    use std::sync::Mutex;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let to_client = Arc::new(Mutex::new(client.try_clone().unwrap()));
            let replies = Arc::clone(&to_client);
            let mut from_server = server.try_clone().unwrap();
            std::thread::spawn(move || {
                while let Some(msg) = read_message(&mut from_server) {
                    if replies.lock().unwrap().write_all(&msg).is_err() {
                        return;
                    }
                }
            });
            let (mut from_client, mut to_server) = (client, server);
            std::thread::spawn(move || {
                while let Some(msg) = read_message(&mut from_client) {
                    let op_msg = msg[12..16] == 2013i32.to_le_bytes();
                    if op_msg && msg.windows(11).any(|w| w == b"$indexStats") {
                        let request_id = i32::from_le_bytes(msg[4..8].try_into().unwrap());
                        let reply = op_msg_reply(
                            request_id,
                            &doc! {
                                "ok": 0.0,
                                "errmsg": "not authorized on shop to execute command { aggregate: \"orders\", pipeline: [ { $indexStats: {} } ] }",
                                "code": 13,
                                "codeName": "Unauthorized",
                            },
                        );
                        if to_client.lock().unwrap().write_all(&reply).is_err() {
                            return;
                        }
                    } else if to_server.write_all(&msg).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// One wire-protocol message: its length prefix says how long.
fn read_message(r: &mut impl std::io::Read) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let n = usize::try_from(i32::from_le_bytes(len)).ok()?.max(16);
    let mut msg = vec![0u8; n];
    msg[..4].copy_from_slice(&len);
    r.read_exact(&mut msg[4..]).ok()?;
    Some(msg)
}

/// An OP_MSG reply (flags 0, one body section) to request `response_to`.
fn op_msg_reply(response_to: i32, body: &bson::Document) -> Vec<u8> {
    let body = body.to_vec().unwrap();
    let len = i32::try_from(16 + 4 + 1 + body.len()).unwrap();
    let mut out = Vec::new();
    for n in [len, 0x5eed, response_to, 2013] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&body);
    out
}

#[tokio::test]
async fn live_index_usage_refused_to_a_read_user_degrades_and_keeps_the_sizes() {
    let nx = Nx::start();
    nx.seed().await;
    let port = refusing_proxy(nx.port);
    let g = guarded(
        Arc::new(Live::new(LiveConfig {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            server_selection_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        })),
        Allowlist::default(),
    );
    let (text, err) = finish(
        &g,
        g.inner()
            .collection_stats(args(json!({"database": "shop", "collection": "orders"})))
            .await,
    );
    assert!(!err, "{text}");
    assert!(text.starts_with("shop.orders: 120 documents"), "{text}");
    assert!(
        text.contains("index usage n/a: this user may not run `$indexStats`")
            && text.contains("Unauthorized")
            && text.contains("clusterMonitor"),
        "{text}"
    );
    assert!(text.contains("{ customerId: 1 }"), "{text}");
}
