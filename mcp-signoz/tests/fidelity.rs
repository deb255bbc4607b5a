//! Fidelity to SigNoz as it runs, and a first run without friction (issue 20):
//! samples without a recorded value, JSON log bodies, the per-minute
//! dependency aggregates, errors that name where and why, and start-up
//! checks of the configuration. The SigNoz cases run on the real ClickHouse
//! engine (chdb) and on the embedded store, which must agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use mcp_signoz::model::{SECOND, Telemetry};
use mcp_signoz::ops::*;
use mcp_signoz::time::fmt_ts;
use mcp_signoz::{ClickHouseConfig, ClickHouseStore, EmbeddedStore, Signoz, Store};
use serde_json::json;

const MINUTE: i64 = 60 * SECOND;

/// 2024-04-01 10:00:00Z: the metrics and JSON-body logs of these tests, a
/// month before the checkout-5xx fixture.
const T0: i64 = 1_711_965_600 * SECOND;

fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .unwrap()
        .to_string()
}

/// A gauge of two pods' memory, one a minute apart for 10 minutes; pod `b`
/// dies after minute 7 and its last point (minute 8) has no recorded value
/// (flags = 1, value 0), as the collector sends when a series ends.
fn gauge_otlp() -> serde_json::Value {
    let mut points = Vec::new();
    for minute in 0..10 {
        points.push(json!({
            "timeUnixNano": (T0 + minute * MINUTE).to_string(),
            "asDouble": 300.0,
            "attributes": [{"key": "k8s.pod.name", "value": {"stringValue": "cart-a"}}],
        }));
        if minute < 8 {
            points.push(json!({
                "timeUnixNano": (T0 + minute * MINUTE + 10 * SECOND).to_string(),
                "asDouble": 100.0,
                "attributes": [{"key": "k8s.pod.name", "value": {"stringValue": "cart-b"}}],
            }));
        }
    }
    points.push(json!({
        "timeUnixNano": (T0 + 8 * MINUTE + 10 * SECOND).to_string(),
        "asDouble": 0.0,
        "flags": 1,
        "attributes": [{"key": "k8s.pod.name", "value": {"stringValue": "cart-b"}}],
    }));
    json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]},
        "scopeMetrics": [{"metrics": [{
            "name": "container.memory.working_set", "unit": "MiBy",
            "gauge": {"dataPoints": points},
        }]}],
    }]})
}

/// Log rows as SigNoz writes them with the JSON-body feature on: `body`
/// empty, the record in `body_v2`.
fn json_body_rows() -> Vec<serde_json::Value> {
    let at = T0 + 5 * MINUTE;
    let resources = json!({"service.name": "payments"});
    vec![
        json!({
            "ts_bucket_start": (at / SECOND) - (at / SECOND) % 1800,
            "resource_fingerprint": "service.name=payments",
            "timestamp": at, "observed_timestamp": at, "id": "json-body-1",
            "severity_text": "", "severity_number": 0, "body": "",
            "body_v2": {"message": "charge failed", "error": "pool exhausted (active=20)", "level": "error"},
            "resources_string": resources,
        }),
        json!({
            "ts_bucket_start": (at / SECOND) - (at / SECOND) % 1800,
            "resource_fingerprint": "service.name=payments",
            "timestamp": at + SECOND, "observed_timestamp": at + SECOND, "id": "json-body-2",
            "severity_text": "INFO", "severity_number": 9, "body": "charge ok",
            "resources_string": resources,
        }),
    ]
}

/// SigNoz's dependency aggregates (schema migrator, traces migration 10 and
/// its distributed table 14), filled as the materialized views of migration
/// 1002 would, but only from `since` on (as if the views were created then),
/// plus an edge that only the aggregates have.
fn dependency_aggregates(since: i64, ghost_at: i64) -> Vec<String> {
    let columns = "src LowCardinality(String), dest LowCardinality(String), \
        duration_quantiles_state AggregateFunction(quantiles(0.5, 0.75, 0.9, 0.95, 0.99), Float64), \
        error_count SimpleAggregateFunction(sum, UInt64), total_count SimpleAggregateFunction(sum, UInt64), \
        timestamp DateTime, deployment_environment LowCardinality(String), \
        k8s_cluster_name LowCardinality(String), k8s_namespace_name LowCardinality(String)";
    let extra = "resources_string['deployment.environment'] AS deployment_environment, \
        resources_string['k8s.cluster.name'] AS k8s_cluster_name, \
        resources_string['k8s.namespace.name'] AS k8s_namespace_name";
    let group = "GROUP BY timestamp, src, dest, deployment_environment, k8s_cluster_name, k8s_namespace_name";
    let since_s = since / SECOND;
    vec![
        format!(
            "CREATE TABLE signoz_traces.dependency_graph_minutes_v2 ({columns}) \
             ENGINE = AggregatingMergeTree PARTITION BY toDate(timestamp) \
             ORDER BY (timestamp, src, dest, deployment_environment, k8s_cluster_name, k8s_namespace_name)"
        ),
        "CREATE VIEW signoz_traces.distributed_dependency_graph_minutes_v2 AS \
         SELECT * FROM signoz_traces.dependency_graph_minutes_v2"
            .to_string(),
        format!(
            "INSERT INTO signoz_traces.dependency_graph_minutes_v2 SELECT \
             A.`resource_string_service$$name` AS src, B.`resource_string_service$$name` AS dest, \
             quantilesState(0.5, 0.75, 0.9, 0.95, 0.99)(toFloat64(B.duration_nano)) AS duration_quantiles_state, \
             countIf(B.status_code = 2) AS error_count, count(*) AS total_count, \
             toStartOfMinute(B.timestamp) AS timestamp, {} \
             FROM signoz_traces.signoz_index_v3 AS A, signoz_traces.signoz_index_v3 AS B \
             WHERE A.`resource_string_service$$name` != B.`resource_string_service$$name` \
             AND A.span_id = B.parent_span_id AND B.timestamp >= toDateTime64({since_s}, 9, 'UTC') {group}",
            extra.replace("resources_string", "B.resources_string")
        ),
        format!(
            "INSERT INTO signoz_traces.dependency_graph_minutes_v2 SELECT \
             `resource_string_service$$name` AS src, `attribute_string_db$$system` AS dest, \
             quantilesState(0.5, 0.75, 0.9, 0.95, 0.99)(toFloat64(duration_nano)) AS duration_quantiles_state, \
             countIf(status_code = 2) AS error_count, count(*) AS total_count, \
             toStartOfMinute(timestamp) AS timestamp, {extra} \
             FROM signoz_traces.signoz_index_v3 WHERE dest != '' AND kind != 2 \
             AND timestamp >= toDateTime64({since_s}, 9, 'UTC') {group}"
        ),
        format!(
            "INSERT INTO signoz_traces.dependency_graph_minutes_v2 SELECT 'checkout', 'ghost', \
             quantilesState(0.5, 0.75, 0.9, 0.95, 0.99)(toFloat64(1000000)), toUInt64(0), toUInt64(7), \
             toDateTime({}, 'UTC'), '', '', ''",
            ghost_at / SECOND
        ),
    ]
}

/// The cells of the call-graph row `parent → child`.
/// CALLER, CALLEE, CALLS, RATE, ERRORS, ERR% and P99 of an edge (the aggregates have no
/// database server, so no SERVER column).
fn edge_cells(text: &str, parent: &str, child: &str) -> Option<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .take(7)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|c| c.len() > 2 && c[0] == parent && c[1] == child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signoz_as_it_runs_on_the_real_engine() {
    // Telemetry: the checkout-5xx fixture plus the gauge and JSON-body logs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gauge.json"), gauge_otlp().to_string()).unwrap();
    let rows: Vec<String> = json_body_rows().iter().map(|r| r.to_string()).collect();
    std::fs::write(dir.path().join("logs.jsonl"), rows.join("\n")).unwrap();
    let extra = EmbeddedStore::load_dir(dir.path()).unwrap().telemetry();
    let mut all: Telemetry = support::embedded().telemetry();
    all.series.extend(extra.series);
    all.samples.extend(extra.samples);
    let seeds = all.clone();
    all.logs.extend(extra.logs);
    let embedded = EmbeddedStore::new("fixture + extra", all);
    let now = embedded.now().await.unwrap();

    // ClickHouse: the same, but the JSON-body rows as SigNoz writes them and
    // the dependency aggregates from `since` on.
    let last_minute = now.div_euclid(MINUTE) * MINUTE;
    let since = last_minute - 30 * MINUTE;
    let mut after = dependency_aggregates(since, last_minute - 2 * MINUTE);
    after.push(format!(
        "INSERT INTO signoz_logs.logs_v2 FORMAT JSONEachRow\n{}",
        rows.join("\n")
    ));
    let chdb = support::Chdb::start_with(&EmbeddedStore::new("seeds", seeds), &after);
    let ch = Signoz::new(chdb.store(now), Limits::default());
    let emb = Signoz::new(embedded, Limits::default());

    // 1. A sample without a recorded value is no sample: pod b's last point
    //    must not halve the average at minute 8.
    let gauge = MetricArgs {
        metric: "container.memory.working_set".into(),
        step: Some("1m".into()),
        from: Some(rfc3339(T0)),
        to: Some(rfc3339(T0 + 10 * MINUTE)),
        ..Default::default()
    };
    let a = emb.query_metric(&gauge).await.unwrap();
    let b = ch.query_metric(&gauge).await.unwrap();
    assert_eq!(a, b, "stores disagree");
    let minute8 = a.lines().find(|l| l.starts_with("10:08:00")).unwrap();
    assert!(minute8.ends_with(" 300"), "{a}");
    assert!(
        a.lines().filter(|l| l.ends_with(" 200")).count() == 8,
        "{a}"
    );
    assert!(!a.contains(" 150"), "{a}");

    // 2. With the JSON-body feature on, the body is in `body_v2`: search,
    //    severity and the line read it.
    for args in [
        LogsArgs {
            contains: Some("POOL EXHAUSTED".into()),
            from: Some(rfc3339(T0)),
            to: Some(rfc3339(T0 + 10 * MINUTE)),
            ..Default::default()
        },
        LogsArgs {
            service: Some("payments".into()),
            severity: Some("error".into()),
            from: Some(rfc3339(T0)),
            to: Some(rfc3339(T0 + 10 * MINUTE)),
            ..Default::default()
        },
    ] {
        let a = emb.search_logs(&args).await.unwrap();
        let b = ch.search_logs(&args).await.unwrap();
        assert_eq!(a, b, "stores disagree");
        assert!(
            b.contains("1 log records")
                && b.contains("charge failed")
                && b.contains("pool exhausted"),
            "{b}"
        );
        assert!(!b.contains("charge ok"), "{b}");
    }

    // 3. The call graph: from the aggregates where they cover the window
    //    (the ghost edge only they have), from raw spans where they do not.
    let covered = DepsArgs {
        from: Some(rfc3339(last_minute - 15 * MINUTE)),
        to: Some(rfc3339(last_minute)),
        ..Default::default()
    };
    let agg = ch.service_dependencies(&covered).await.unwrap();
    let raw = emb.service_dependencies(&covered).await.unwrap();
    assert!(agg.contains("per-minute aggregates"), "{agg}");
    assert!(agg.contains("ghost (db)"), "{agg}");
    for (parent, child) in [("checkout", "payments"), ("checkout", "orders")] {
        let x = edge_cells(&agg, parent, child);
        assert!(x.is_some(), "{parent} → {child} missing:\n{agg}");
        assert_eq!(
            x,
            edge_cells(&raw, parent, child),
            "aggregates:\n{agg}\nraw:\n{raw}"
        );
    }
    let before = DepsArgs {
        from: Some(rfc3339(since - 20 * MINUTE)),
        to: Some(rfc3339(since - 5 * MINUTE)),
        ..Default::default()
    };
    let a = emb.service_dependencies(&before).await.unwrap();
    let b = ch.service_dependencies(&before).await.unwrap();
    assert_eq!(a, b, "before the aggregates began, raw spans must answer");
    assert!(b.contains("checkout") && !b.contains("ghost"), "{b}");
    let queries = chdb.queries();
    assert!(
        queries.iter().any(|q| q["sql"]
            .as_str()
            .is_some_and(|s| s.contains("distributed_dependency_graph_minutes_v2"))),
        "the aggregates were never read"
    );
}

#[tokio::test]
async fn an_unreachable_clickhouse_is_named_with_its_cause() {
    // A port that was just free on loopback: nothing listens there.
    let port = mcp_kit::conformance::free_port().unwrap();
    let store = ClickHouseStore::new(ClickHouseConfig {
        url: format!("http://reader:s3cret@127.0.0.1:{port}"),
        now: Some(T0),
        ..ClickHouseConfig::default()
    });
    let err = Signoz::new(store, Limits::default())
        .services(&ServicesArgs::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "cannot reach ClickHouse at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("reader"), "{err}");
    assert!(!err.contains("client error (Connect)"), "{err}");
}

#[tokio::test]
async fn a_reversed_time_range_names_both_ends() {
    let ops = Signoz::new(support::embedded(), Limits::default());
    let now = ops.store().now().await.unwrap();
    let err = ops
        .services(&ServicesArgs {
            from: Some("now-5m".into()),
            to: Some("now-15m".into()),
        })
        .await
        .unwrap_err()
        .to_string();
    let (from, to) = (fmt_ts(now - 5 * MINUTE), fmt_ts(now - 15 * MINUTE));
    assert!(err.contains(&from) && err.contains(&to), "{err}");
    assert!(err.find(&from) < err.find(&to), "from first: {err}");
}

/// Runs the binary with `args` and a clean environment; its exit code and stderr.
fn run_binary(args: &[&str]) -> (Option<i32>, String) {
    mcp_kit::conformance::run_to_exit(
        env!("CARGO_BIN_EXE_mcp-signoz").as_ref(),
        args,
        &[],
        Duration::from_secs(20),
    )
    .unwrap()
}

#[test]
fn configuration_errors_exit_2_with_one_clear_line() {
    let fixture = support::fixture_dir();
    let fixture = fixture.to_str().unwrap();
    let (code, err) = run_binary(&["--clickhouse-url", "not-a-url"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--clickhouse-url `not-a-url` is not a URL"),
        "{err}"
    );

    let (code, err) = run_binary(&["--telemetry-dir", fixture, "--enable-tools", "servicez"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("servicez"), "{err}");

    let port = mcp_kit::conformance::free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let (code, err) = run_binary(&[
        "--telemetry-dir",
        fixture,
        "--transport",
        "http",
        "--listen",
        &listen,
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("MCP_SIGNOZ_AUTH_TOKEN"), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let (code, err) = run_binary(&[
        "--telemetry-dir",
        fixture,
        "--transport",
        "http",
        "--listen",
        &listen,
        "--no-auth",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&listen), "{err}");
}

/// A `search_logs` with the default window (the last 15 minutes) that finds nothing
/// says where the newest match is when it is older (a trigger 25 minutes old), with
/// the `from` that shows it; the same from ClickHouse (chdb) and the embedded store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_default_log_search_points_at_the_newest_older_match() {
    let record = |at: i64, body: &str| {
        json!({"timeUnixNano": (T0 + at).to_string(), "severityText": "ERROR",
               "severityNumber": 17, "body": {"stringValue": body}})
    };
    let doc = json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "queue-engine"}}]},
        "scopeLogs": [{"scope": {"name": "test"}, "logRecords": [
            record(0, "join failed — READONLY You can't write against a read only replica."),
            record(25 * MINUTE, "heartbeat"),
        ]}],
    }]});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logs.jsonl"), format!("{doc}\n")).unwrap();
    let embedded = EmbeddedStore::load_dir(dir.path()).unwrap();
    let now = embedded.now().await.unwrap();
    // The embedded store's `now` is a second after its newest record.
    assert_eq!(now, T0 + 25 * MINUTE + SECOND);
    let chdb = support::Chdb::start(&embedded);
    let clickhouse = Signoz::new(chdb.store(now), Limits::default());
    let embedded = Signoz::new(embedded, Limits::default());
    let search = |contains: &str| LogsArgs {
        service: Some("queue-engine".into()),
        contains: Some(contains.into()),
        ..LogsArgs::default()
    };
    let a = embedded.search_logs(&search("readonly")).await.unwrap();
    let b = clickhouse.search_logs(&search("readonly")).await.unwrap();
    assert_eq!(a, b, "stores disagree");
    assert!(a.starts_with("No logs match in"), "{a}");
    assert!(
        a.contains("The newest match before the window, 10m1s earlier (pass from=now-26m)"),
        "{a}"
    );
    assert!(a.contains("READONLY You can't write"), "{a}");
    assert!(a.contains("<untrusted-data source=\"signoz logs\">"), "{a}");
    // With `from` the answer is exactly the window asked for: no look-back.
    let mut asked = search("readonly");
    asked.from = Some("now-5m".into());
    let c = embedded.search_logs(&asked).await.unwrap();
    assert!(!c.contains("newest match before"), "{c}");
    let d = embedded.search_logs(&search("no-such-text")).await.unwrap();
    assert!(d.ends_with("None in the 6h before it either."), "{d}");
}
