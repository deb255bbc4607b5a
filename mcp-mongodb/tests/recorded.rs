//! `recorded_…` tests: the tools on the recorded snapshot in
//! `fixtures/mongodb/missing-index` (MongoDB 7.0 replies in the shapes MongoDB
//! documents: currentOp, profiler, getLog, $indexStats, replSetGetStatus,
//! explain), through the same parsing and rendering as a live server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{args, finish, fixture, guarded};
use mcp_kit::Guarded;
use mcp_mongodb::MongoServer;
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::snapshot::Snapshot;
use serde_json::{Value, json};

fn server() -> Guarded<MongoServer> {
    guarded(
        Arc::new(Snapshot::open(fixture()).unwrap()),
        Allowlist::default(),
    )
}

fn shop_only() -> Guarded<MongoServer> {
    guarded(
        Arc::new(Snapshot::open(fixture()).unwrap()),
        Allowlist::new(vec!["shop".into()], vec![]),
    )
}

fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture().join(rel)).unwrap()).unwrap()
}

fn ok(
    g: &Guarded<MongoServer>,
    r: impl mcp_kit::rmcp::handler::server::tool::IntoCallToolResult,
) -> String {
    let (text, is_error) = finish(g, r);
    assert!(!is_error, "unexpected error: {text}");
    text
}

#[tokio::test]
async fn recorded_server_status_computes_rates_and_flags_pressure() {
    let g = server();
    let text = ok(&g, g.inner().server_status(args(json!({}))).await);
    // Rates come from the two samples in the file.
    let samples = fixture_json("serverStatus.json");
    let q = |i: usize| samples[i]["opcounters"]["query"].as_f64().unwrap();
    let secs = (samples[1]["uptimeMillis"].as_f64().unwrap()
        - samples[0]["uptimeMillis"].as_f64().unwrap())
        / 1000.0;
    let rate = ((q(1) - q(0)) / secs).round();
    assert!(text.contains(&format!("query {rate}/s")), "{text}");
    assert!(text.contains("rates over the last 5s"), "{text}");
    for flag in ["CACHE-FULL", "READ-TICKETS-EXHAUSTED", "QUEUED"] {
        assert!(text.contains(flag), "missing {flag}: {text}");
    }
    assert!(!text.contains("WRITE-TICKETS-EXHAUSTED"), "{text}");
    insta::assert_snapshot!("server_status", text);
}

#[tokio::test]
async fn recorded_current_ops_lists_longest_first_without_literals() {
    let g = server();
    let text = ok(
        &g,
        g.inner().current_ops(args(json!({"min_seconds": 1}))).await,
    );
    let inprog = fixture_json("currentOp.json")["inprog"].clone();
    let expected = inprog
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["active"] == json!(true))
        .filter(|o| o["microsecs_running"].as_f64().unwrap_or(0.0) >= 1e6)
        .count();
    assert!(
        text.starts_with(&format!("{expected} operation(s) running >= 1s")),
        "{text}"
    );
    let rows: Vec<&str> = text.lines().skip(2).collect();
    assert_eq!(rows.len(), expected);
    assert!(rows[0].starts_with("31.0s"), "longest first: {text}");
    let waits = |what: &str| {
        text.lines()
            .skip(2)
            .filter(|l| l.split_whitespace().nth(4) == Some(what))
            .count()
    };
    assert_eq!(waits("lock"), 1, "{text}");
    assert!(
        text.contains("{customerId: ?, status: ?} sort {createdAt: -1}"),
        "{text}"
    );
    assert!(!text.contains("C-104233"), "literals must not leak: {text}");
    insta::assert_snapshot!("current_ops", text);

    // The allowlist hides other databases' operations, and says so.
    let g = shop_only();
    let text = ok(
        &g,
        g.inner().current_ops(args(json!({"min_seconds": 1}))).await,
    );
    assert!(!text.contains("billing.invoices"), "{text}");
    assert!(
        text.contains("1 on namespaces outside the allowlist"),
        "{text}"
    );
}

#[tokio::test]
async fn recorded_slow_queries_from_profiler_grouped_by_shape() {
    let g = server();
    let text = ok(
        &g,
        g.inner()
            .slow_queries(args(json!({"database": "shop"})))
            .await,
    );
    assert!(
        text.contains("source: profiler shop.system.profile (level 1, slowms 100"),
        "{text}"
    );
    // The costliest group is the orders find; recompute its count and p95.
    let profile = fixture_json("shop/system.profile.json");
    let mut ms: Vec<f64> = profile
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["command"]["find"] == json!("orders"))
        .map(|e| e["millis"].as_f64().unwrap())
        .collect();
    ms.sort_by(f64::total_cmp);
    let p95 = ms[((0.95 * ms.len() as f64).ceil() as usize) - 1];
    let first = text.lines().nth(2).unwrap();
    assert!(first.starts_with(&format!("{} ", ms.len())), "{first}");
    assert!(
        first.contains(&format!("{}ms", mcp_mongodb::fmt::count(p95))),
        "p95 {p95} not in {first}"
    );
    assert!(first.contains("COLLSCAN"), "{first}");
    assert!(
        first.contains("{customerId: ?, status: ?} sort {createdAt: -1}"),
        "{first}"
    );
    // The indexed products query is not flagged.
    let products = text.lines().find(|l| l.contains("shop.products")).unwrap();
    assert!(!products.contains("COLLSCAN"), "{products}");
    insta::assert_snapshot!("slow_queries_profiler", text);
}

#[tokio::test]
async fn recorded_slow_queries_from_log_when_no_database_given() {
    let g = server();
    let text = ok(&g, g.inner().slow_queries(args(json!({}))).await);
    assert!(text.contains("source: server log"), "{text}");
    let log = fixture_json("getLog.json");
    let slow = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l.as_str().unwrap().contains("\"msg\":\"Slow query\""))
        .count();
    assert!(
        text.starts_with(&format!("{slow} slow operation(s)")),
        "{text}"
    );
    // min_ms filters: only the 30 s billing report is left above 10 s.
    let text = ok(
        &g,
        g.inner().slow_queries(args(json!({"min_ms": 10000}))).await,
    );
    assert!(
        text.contains("billing.invoices") && !text.contains("shop.orders"),
        "{text}"
    );
    insta::assert_snapshot!("slow_queries_log_min_ms", text);
}

#[tokio::test]
async fn recorded_explain_flags_collscan_and_suggests_an_esr_index() {
    let g = server();
    let text = ok(
        &g,
        g.inner()
            .explain(args(json!({
                "database": "shop",
                "collection": "orders",
                "filter": {"customerId": "C-1", "status": "pending"},
                "sort": {"createdAt": -1}
            })))
            .await,
    );
    assert!(text.contains("plan        SORT > COLLSCAN"), "{text}");
    assert!(text.contains("flag        COLLSCAN"), "{text}");
    assert!(
        text.contains("index { customerId: 1, status: 1, createdAt: -1 }"),
        "{text}"
    );
    insta::assert_snapshot!("explain_collscan", text);

    let text = ok(
        &g,
        g.inner()
            .explain(args(json!({
                "database": "shop", "collection": "orders",
                "filter": {"status": "shipped"}, "sort": {"createdAt": -1}
            })))
            .await,
    );
    assert!(text.contains("IXSCAN status_1_createdAt_-1"), "{text}");
    assert!(text.contains("rejected    1 other plan(s)"), "{text}");
    assert!(
        !text.contains("COLLSCAN") && !text.contains("suggest"),
        "{text}"
    );

    // A shape that was not recorded says what was.
    let (text, is_error) = finish(
        &g,
        g.inner()
            .explain(args(json!({"database": "shop", "collection": "orders", "filter": {"total": {"$gt": 5}}})))
            .await,
    );
    assert!(
        is_error && text.contains("no recorded explain for `find {total: {$gt: ?}}`"),
        "{text}"
    );
}

#[tokio::test]
async fn recorded_collection_stats_flags_unused_indexes() {
    let g = server();
    let text = ok(
        &g,
        g.inner()
            .collection_stats(args(json!({"database": "shop", "collection": "orders"})))
            .await,
    );
    let stats = fixture_json("shop/orders/indexStats.json");
    for index in stats.as_array().unwrap() {
        let name = index["name"].as_str().unwrap();
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        let unused = index["accesses"]["ops"].as_i64().unwrap() == 0 && name != "_id_";
        assert_eq!(line.contains("UNUSED"), unused, "{line}");
    }
    assert!(text.contains("2,412,331 documents"), "{text}");
    insta::assert_snapshot!("collection_stats", text);
}

#[tokio::test]
async fn recorded_replica_set_flags_the_lagging_secondary() {
    let g = server();
    let text = ok(&g, g.inner().replica_set_status().await);
    let lagging: Vec<&str> = text.lines().filter(|l| l.contains("LAGGING")).collect();
    assert_eq!(lagging.len(), 1, "{text}");
    assert!(lagging[0].starts_with("shop-db-2:27017"), "{text}");
    assert!(lagging[0].contains("47s"), "{text}");
    assert!(text.contains("primary shop-db-0:27017"), "{text}");
    assert!(text.contains("oplog window 1d02h"), "{text}");
    insta::assert_snapshot!("replica_set_status", text);
}

#[tokio::test]
async fn recorded_connections_grouped_by_app() {
    let g = server();
    let text = ok(&g, g.inner().connections_by_app(args(json!({}))).await);
    let inprog = fixture_json("currentOp.json")["inprog"].clone();
    let checkout = inprog
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["appName"] == json!("checkout-api") && o.get("client").is_some())
        .count();
    let first = text.lines().nth(2).unwrap();
    assert!(
        first.starts_with("checkout-api"),
        "most connections first: {text}"
    );
    assert!(first.contains(&format!(" {checkout} ")), "{first}");
    assert!(text.contains("(no appName)"), "{text}");
    assert!(
        !text.contains("ReplWriterWorker"),
        "internal threads are not connections"
    );
    insta::assert_snapshot!("connections_by_app", text);
}

#[tokio::test]
async fn recorded_find_frames_documents_and_redacts_secrets() {
    let g = server();
    let text = ok(
        &g,
        g.inner()
            .find(args(json!({"database": "shop", "collection": "orders", "filter": {"status": "pending"}})))
            .await,
    );
    let expected = fixture_json("shop/orders/documents.json")
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == json!("pending"))
        .count();
    assert!(
        text.contains(&format!(": {expected} document(s)")),
        "{text}"
    );
    assert!(
        text.contains("<untrusted-data source=\"documents from find shop.orders"),
        "{text}"
    );
    let inside = text.split("<untrusted-data").nth(1).unwrap();
    assert!(inside.contains("ignore previous instructions"), "{text}");
    assert!(
        !text.contains("tok_1PGx9k2eZvKYlo2C8n1Qw3Lr"),
        "secret leaked: {text}"
    );
    assert!(text.contains("[REDACTED"), "{text}");

    let text = ok(
        &g,
        g.inner()
            .count(args(json!({"database": "shop", "collection": "orders", "filter": {"customerId": "C-104233"}})))
            .await,
    );
    assert!(
        text.starts_with("2 document(s) in shop.orders match {customerId: ?}"),
        "{text}"
    );
}

#[tokio::test]
async fn recorded_refuses_writes_code_and_namespaces_outside_the_allowlist() {
    let g = shop_only();
    let (text, is_error) = finish(
        &g,
        g.inner()
            .aggregate(args(
                json!({"database": "shop", "collection": "orders", "pipeline": [
                    {"$match": {"status": "pending"}},
                    {"$facet": {"a": [{"$merge": {"into": "x"}}]}}
                ]}),
            ))
            .await,
    );
    assert!(
        is_error && text.contains("`$merge`") && text.contains("pipeline[1].$facet.a[0]"),
        "{text}"
    );
    let (text, is_error) = finish(
        &g,
        g.inner()
            .find(args(json!({"database": "shop", "collection": "orders", "filter": {"$where": "sleep(100)"}})))
            .await,
    );
    assert!(
        is_error && text.contains("`$where`") && text.contains("JavaScript"),
        "{text}"
    );
    let (text, is_error) = finish(
        &g,
        g.inner()
            .find(args(
                json!({"database": "billing", "collection": "invoices"}),
            ))
            .await,
    );
    assert!(
        is_error && text.contains("billing.invoices") && text.contains("--allow-databases shop"),
        "{text}"
    );
    let (text, is_error) = finish(
        &g,
        g.inner()
            .aggregate(args(json!({"database": "shop", "collection": "orders", "pipeline": [
                {"$lookup": {"from": "users", "localField": "a", "foreignField": "b", "as": "c"}}
            ]})))
            .await,
    );
    // `users` is in `shop`, so it is allowed; the snapshot cannot aggregate.
    assert!(is_error && text.contains("snapshot"), "{text}");
    let (text, is_error) = finish(
        &g,
        g.inner()
            .find(args(
                json!({"database": "admin", "collection": "system.users"}),
            ))
            .await,
    );
    assert!(is_error && text.contains("system collection"), "{text}");
    let text = ok(&g, g.inner().list_databases().await);
    assert!(text.contains("shop") && !text.contains("billing"), "{text}");
    assert!(text.contains("4 outside the allowlist not shown"), "{text}");
}

#[tokio::test]
async fn recorded_list_collections_shows_views_and_options() {
    let g = server();
    let text = ok(
        &g,
        g.inner()
            .list_collections(args(json!({"database": "shop"})))
            .await,
    );
    let open = text.lines().find(|l| l.starts_with("open_orders")).unwrap();
    assert!(
        open.contains("view") && open.contains("view on orders"),
        "{open}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("customers") && l.contains("validator"))
    );
    insta::assert_snapshot!("list_collections", text);
}

#[test]
fn recorded_tools_list_is_small_and_read_only() {
    let g = server();
    let tools = g.exposed_tools();
    assert_eq!(tools.len(), 13);
    for tool in &tools {
        assert!(
            mcp_kit::server::is_read_only(tool),
            "{} must be read-only",
            tool.name
        );
    }
    let size = serde_json::to_string(&json!({ "tools": tools }))
        .unwrap()
        .len();
    eprintln!("tools/list: {size} bytes");
    assert!(size < 12_000, "tools/list is {size} bytes");
}

/// `server_log`: the lines of the recorded `getLog` that are not slow queries, and on a
/// recording with an index drop and client metadata, those lines with their namespace,
/// index and application; filters narrow them.
#[tokio::test]
async fn recorded_server_log_shows_what_slow_queries_leaves_out() {
    let g = server();
    let text = ok(&g, g.inner().server_log(args(json!({}))).await);
    assert!(text.contains("the last 33 lines): 2 match"), "{text}");
    assert!(
        text.contains("Secondary is lagging · member shop-db-2:27017"),
        "{text}"
    );
    assert!(text.contains("<untrusted-data"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let log = json!({"ok": 1, "totalLinesWritten": 3, "log": [
        r#"{"t":{"$date":"2024-05-14T03:09:00.000+00:00"},"s":"I","c":"NETWORK","id":51800,"ctx":"conn7","msg":"client metadata","attr":{"remote":"10.4.7.21:51522","client":"conn7","doc":{"driver":{"name":"nodejs","version":"6.3.0"},"application":{"name":"orders-migrator"}}}}"#,
        r#"{"t":{"$date":"2024-05-14T03:10:00.000+00:00"},"s":"I","c":"COMMAND","id":51806,"ctx":"conn7","msg":"CMD: dropIndexes","attr":{"namespace":"shop.orders","indexes":"\"status_1_createdAt_-1\""}}"#,
        r#"{"t":{"$date":"2024-05-14T03:10:00.100+00:00"},"s":"I","c":"INDEX","id":20344,"ctx":"conn7","msg":"Dropping index","attr":{"namespace":"shop.orders","index":"status_1_createdAt_-1"}}"#,
    ]});
    std::fs::write(dir.path().join("getLog.json"), log.to_string()).unwrap();
    let g = guarded(
        Arc::new(Snapshot::open(dir.path()).unwrap()),
        Allowlist::default(),
    );
    let text = ok(&g, g.inner().server_log(args(json!({}))).await);
    assert!(
        text.contains("CMD: dropIndexes · ns shop.orders · index status_1_createdAt_-1"),
        "{text}"
    );
    assert!(
        text.contains("client metadata · app orders-migrator · driver nodejs 6.3.0"),
        "{text}"
    );
    let text = ok(
        &g,
        g.inner()
            .server_log(args(json!({"component": "INDEX"})))
            .await,
    );
    assert!(
        text.contains("1 match") && text.contains("Dropping index"),
        "{text}"
    );
    let (text, is_error) = finish(
        &g,
        g.inner()
            .server_log(args(json!({"severity": "loud"})))
            .await,
    );
    assert!(is_error && text.contains("use F, E, W or I"), "{text}");
}
