//! `service_dependencies` counts calls that never reached their callee (client spans with
//! no server span: a NetworkPolicy drop, a sidecar's 403, a refused connection), naming
//! the callee from the client span, and tells database servers apart — the same from the
//! embedded store and from ClickHouse (chdb).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use mcp_signoz::ops::{DepsArgs, Limits};
use mcp_signoz::{ClickHouseStore, EmbeddedStore, Signoz, Store};
use serde_json::{Value, json};

const T0: u64 = 1_750_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn attrs(pairs: &[(&str, &str)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: usize,
    id: &str,
    parent: &str,
    name: &str,
    kind: u8,
    start_ms: u64,
    dur_ms: u64,
    error: bool,
    a: &[(&str, &str)],
) -> Value {
    json!({
        "traceId": format!("{trace:032x}"),
        "spanId": format!("{id:0>16}"),
        "parentSpanId": if parent.is_empty() { String::new() } else { format!("{parent:0>16}") },
        "name": name,
        "kind": kind,
        "startTimeUnixNano": (T0 + start_ms * MS).to_string(),
        "endTimeUnixNano": (T0 + (start_ms + dur_ms) * MS).to_string(),
        "attributes": attrs(a),
        "status": if error { json!({"code": 2, "message": "failed"}) } else { json!({}) },
    })
}

/// A folder holding `doc` as its `traces.jsonl`.
fn traces_dir(doc: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("traces.jsonl"), format!("{doc}\n")).unwrap();
    dir
}

/// The tools over the embedded store and over ClickHouse (chdb) holding the same
/// telemetry; the engine lives as long as the returned [`support::Chdb`].
async fn both_stores(
    dir: &tempfile::TempDir,
) -> (
    Signoz<EmbeddedStore>,
    Signoz<ClickHouseStore>,
    support::Chdb,
) {
    let embedded = EmbeddedStore::load_dir(dir.path()).unwrap();
    let now = embedded.now().await.unwrap();
    let chdb = support::Chdb::start(&embedded);
    let clickhouse = Signoz::new(chdb.store(now), Limits::default());
    (Signoz::new(embedded, Limits::default()), clickhouse, chdb)
}

fn resource(service: &str, spans: Vec<Value>) -> Value {
    json!({
        "resource": {"attributes": attrs(&[("service.name", service)])},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    })
}

/// gateway calls claims: 10 answered, 5 that never reached it (a URL naming the
/// cluster-local service, failed); 3 failed calls to `pricing`, a peer that records
/// nothing; 2 successful calls to an outside API. claims calls two PostgreSQL servers.
fn telemetry_dir() -> tempfile::TempDir {
    let (mut gateway, mut claims) = (Vec::new(), Vec::new());
    let mut trace = 0;
    let mut at = 0;
    let next = |t: &mut usize, a: &mut u64| {
        *t += 1;
        *a += 1_000;
        (*t, *a)
    };
    for _ in 0..10 {
        let (t, a) = next(&mut trace, &mut at);
        gateway.push(span(t, "a1", "", "POST /claims", 2, a, 60, false, &[]));
        gateway.push(span(
            t,
            "a2",
            "a1",
            "POST claims",
            3,
            a + 1,
            50,
            false,
            &[("server.address", "claims")],
        ));
        claims.push(span(
            t,
            "b1",
            "a2",
            "POST /claims",
            2,
            a + 2,
            40,
            false,
            &[],
        ));
        claims.push(span(
            t,
            "b2",
            "b1",
            "INSERT claims",
            3,
            a + 3,
            5,
            false,
            &[("db.system", "postgresql"), ("server.address", "claims-pg")],
        ));
    }
    for _ in 0..5 {
        let (t, a) = next(&mut trace, &mut at);
        gateway.push(span(t, "a1", "", "POST /claims", 2, a, 10, true, &[]));
        gateway.push(span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            a + 1,
            3,
            true,
            &[(
                "url.full",
                "http://claims.claims.svc.cluster.local:8080/api/claims",
            )],
        ));
    }
    for _ in 0..3 {
        let (t, a) = next(&mut trace, &mut at);
        gateway.push(span(t, "a1", "", "GET /quote", 2, a, 10, true, &[]));
        gateway.push(span(
            t,
            "a2",
            "a1",
            "GET",
            3,
            a + 1,
            2,
            true,
            &[("peer.service", "pricing"), ("server.address", "10.0.3.7")],
        ));
    }
    for _ in 0..2 {
        let (t, a) = next(&mut trace, &mut at);
        gateway.push(span(t, "a1", "", "GET /partner", 2, a, 90, false, &[]));
        gateway.push(span(
            t,
            "a2",
            "a1",
            "GET",
            3,
            a + 1,
            80,
            false,
            &[("http.url", "https://user@API.partner.example/v1/x?y=1")],
        ));
    }
    for _ in 0..4 {
        let (t, a) = next(&mut trace, &mut at);
        claims.push(span(t, "c1", "", "GET /ledger", 2, a, 10, false, &[]));
        claims.push(span(
            t,
            "c2",
            "c1",
            "SELECT ledger",
            3,
            a + 1,
            4,
            false,
            &[
                ("db.system", "postgresql"),
                ("net.peer.name", "ledger-pg.claims.svc"),
            ],
        ));
    }
    let doc = json!({"resourceSpans": [resource("gateway", gateway), resource("claims", claims)]});
    traces_dir(&doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreached_calls_and_database_servers_from_both_stores() {
    let dir = telemetry_dir();
    let (embedded, clickhouse, _chdb) = both_stores(&dir).await;
    let a = embedded
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    let b = clickhouse
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    assert_eq!(a, b, "stores disagree");
    insta::assert_snapshot!("dependencies_unreached", a);
    let row = |caller: &str, callee: &str| {
        a.lines()
            .find(|l| {
                let c: Vec<&str> = l.split("  ").filter(|c| !c.is_empty()).collect();
                c.len() > 2 && c[0].trim() == caller && c[1].trim() == callee
            })
            .unwrap_or_else(|| panic!("no {caller} → {callee} in\n{a}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // CALLER CALLEE CALLS RATE ERRORS ERR% P99 UNREACHED SERVER
    let claims = row("gateway", "claims");
    assert_eq!((claims[2], claims[4], claims[7]), ("15", "5", "5"), "{a}");
    let pricing = row("gateway", "pricing");
    assert_eq!(
        (pricing[2], pricing[4], pricing[5], pricing[7]),
        ("3", "3", "100.0%", "3")
    );
    let partner = row("gateway", "api.partner.example");
    assert_eq!((partner[2], partner[4], partner[7]), ("2", "0", "2"));
    // Databases keep `<system> (db)` as the callee; the server is its own column.
    assert!(
        a.lines().any(
            |l| l.contains("postgresql (db)") && l.split_whitespace().any(|c| c == "claims-pg")
        ),
        "{a}"
    );
    assert!(
        a.lines().any(|l| l.contains("postgresql (db)")
            && l.split_whitespace().any(|c| c == "ledger-pg.claims.svc")),
        "{a}"
    );
}

/// orders calls payments 100 times (server spans 50 ms, client spans 60 ms) and 5 times
/// more with a 5 s dial timeout that never reached it: P99 stays the server's, CLIENT-P99
/// shows the timeouts, and the edge is marked as connection errors; a peer that records
/// nothing and whose calls failed without a connection error is marked as having no
/// server spans.
fn timeouts_dir() -> tempfile::TempDir {
    let (mut orders, mut payments) = (Vec::new(), Vec::new());
    let mut at = 0;
    for t in 1..=100 {
        at += 1_000;
        orders.push(span(t, "a1", "", "POST /orders", 2, at, 70, false, &[]));
        orders.push(span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            at + 1,
            60,
            false,
            &[("server.address", "payments")],
        ));
        payments.push(span(t, "b1", "a2", "POST /pay", 2, at + 2, 50, false, &[]));
    }
    for t in 101..=105 {
        at += 1_000;
        orders.push(span(t, "a1", "", "POST /orders", 2, at, 5_010, true, &[]));
        let mut client = span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            at + 1,
            5_000,
            true,
            &[("server.address", "payments")],
        );
        client["status"] = json!({"code": 2, "message": "dial tcp 10.0.4.2:8443: i/o timeout"});
        orders.push(client);
    }
    for t in 106..=108 {
        at += 1_000;
        orders.push(span(t, "a1", "", "GET /score", 2, at, 10, true, &[]));
        orders.push(span(
            t,
            "a2",
            "a1",
            "GET",
            3,
            at + 1,
            8,
            true,
            &[("peer.service", "fraud")],
        ));
    }
    let doc =
        json!({"resourceSpans": [resource("orders", orders), resource("payments", payments)]});
    traces_dir(&doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_timeouts_and_untraced_peers_from_both_stores() {
    let dir = timeouts_dir();
    let (embedded, clickhouse, _chdb) = both_stores(&dir).await;
    let a = embedded
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    let b = clickhouse
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    assert_eq!(a, b, "stores disagree");
    let header = a.lines().find(|l| l.starts_with("CALLER")).unwrap();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "CALLER",
            "CALLEE",
            "CALLS",
            "RATE",
            "ERRORS",
            "ERR%",
            "P99",
            "CLIENT-P99",
            "UNREACHED",
            "NOTE"
        ],
        "{a}"
    );
    let line = |callee: &str| {
        a.lines()
            .find(|l| l.starts_with("orders") && l.split_whitespace().nth(1) == Some(callee))
            .unwrap_or_else(|| panic!("no orders → {callee} in\n{a}"))
    };
    let pay: Vec<&str> = line("payments").split_whitespace().collect();
    // CALLS ERRORS P99 CLIENT-P99 UNREACHED: the server's 50 ms, the client's 5 s.
    assert_eq!(
        (pay[2], pay[4], pay[6], pay[7], pay[8]),
        ("105", "5", "50.0ms", "5.00s", "5"),
        "{a}"
    );
    assert!(
        line("payments").ends_with("connection errors: 5 (timeout/refused/reset)"),
        "{a}"
    );
    assert!(
        line("fraud").ends_with("no server spans (untraced peer or never reached)"),
        "{a}"
    );
    assert!(a.contains("CLIENT-P99: the caller's client spans"), "{a}");
}

/// vq-bff calls queue-engine 100 times; 20 times it gives up after its own 1.5 s timeout
/// while queue-engine goes on and answers OK after 3 s. The callee's spans carry no
/// error, so ERRORS stays 0: only CLIENT-ERR shows what the caller saw, from both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_side_timeouts_on_answered_calls_show_as_client_errors() {
    let (mut bff, mut engine) = (Vec::new(), Vec::new());
    let mut at = 0;
    for t in 1..=100 {
        at += 4_000;
        let gave_up = t % 5 == 0;
        let (client_ms, server_ms) = if gave_up { (1_500, 3_000) } else { (40, 30) };
        bff.push(span(
            t,
            "a1",
            "",
            "POST /join",
            2,
            at,
            client_ms + 5,
            gave_up,
            &[],
        ));
        let mut client = span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            at + 1,
            client_ms,
            gave_up,
            &[("server.address", "queue-engine")],
        );
        if gave_up {
            client["status"] = json!({"code": 2, "message": "timeout of 1500ms exceeded"});
        }
        bff.push(client);
        engine.push(span(
            t,
            "b1",
            "a2",
            "POST /queue",
            2,
            at + 2,
            server_ms,
            false,
            &[],
        ));
    }
    let doc = json!({"resourceSpans": [resource("vq-bff", bff), resource("queue-engine", engine)]});
    let dir = traces_dir(&doc);
    let (embedded, clickhouse, _chdb) = both_stores(&dir).await;
    let args = DepsArgs {
        from: Some("now-1h".into()),
        ..DepsArgs::default()
    };
    let a = embedded.service_dependencies(&args).await.unwrap();
    let b = clickhouse.service_dependencies(&args).await.unwrap();
    assert_eq!(a, b, "stores disagree");
    let header: Vec<&str> = a
        .lines()
        .find(|l| l.starts_with("CALLER"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "CALLER",
            "CALLEE",
            "CALLS",
            "RATE",
            "ERRORS",
            "ERR%",
            "P99",
            "CLIENT-ERR"
        ],
        "{a}"
    );
    let row: Vec<&str> = a
        .lines()
        .find(|l| l.starts_with("vq-bff"))
        .unwrap()
        .split_whitespace()
        .collect();
    // CALLS ERRORS CLIENT-ERR: the callee answered every call, the caller gave up on 20.
    assert_eq!((row[2], row[4], row[7]), ("100", "0", "20"), "{a}");
    assert!(
        a.contains("CLIENT-ERR: errors the caller's client spans recorded"),
        "{a}"
    );
}

/// reader called licence 5 times twenty minutes ago (answered); in the window
/// (the last 15 minutes) licence records nothing and reader's 6 calls to
/// `licence.lending.svc` fail unanswered (a handshake that never completes).
/// The edge keeps the service's name: a callee down for the whole window is
/// the one to name, and it was seen just before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_silent_for_the_whole_window_keeps_its_name() {
    let (mut reader, mut licence) = (Vec::new(), Vec::new());
    for t in 1..=5usize {
        let at = t as u64 * 1_000;
        reader.push(span(t, "a1", "", "GET /loan", 2, at, 30, false, &[]));
        reader.push(span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            at + 1,
            20,
            false,
            &[("server.address", "licence")],
        ));
        licence.push(span(
            t,
            "b1",
            "a2",
            "POST /licence",
            2,
            at + 2,
            10,
            false,
            &[],
        ));
    }
    for t in 6..=11usize {
        let at = 20 * 60_000 + t as u64 * 1_000;
        reader.push(span(t, "a1", "", "GET /loan", 2, at, 30, true, &[]));
        reader.push(span(
            t,
            "a2",
            "a1",
            "POST",
            3,
            at + 1,
            20,
            true,
            &[("url.full", "https://licence.lending.svc:8443/v1/licences")],
        ));
    }
    let doc = json!({"resourceSpans": [resource("reader", reader), resource("licence", licence)]});
    let dir = traces_dir(&doc);
    let (embedded, clickhouse, _chdb) = both_stores(&dir).await;
    let a = embedded
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    let b = clickhouse
        .service_dependencies(&DepsArgs::default())
        .await
        .unwrap();
    assert_eq!(a, b, "stores disagree");
    let row = a
        .lines()
        .find(|l| l.split_whitespace().take(2).eq(["reader", "licence"]))
        .unwrap_or_else(|| panic!("no reader → licence in\n{a}"));
    // CALLER CALLEE CALLS RATE ERRORS ERR% P99 UNREACHED
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cols[2], cols[7]), ("6", "6"), "{a}");
    assert!(!a.contains("licence.lending.svc"), "{a}");
}
