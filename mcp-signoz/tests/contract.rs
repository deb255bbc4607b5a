//! The contract suite: every case runs against the embedded store and against
//! the ClickHouse store on the real ClickHouse engine (chdb behind the HTTP
//! interface), both holding the checkout-5xx fixture and, a month earlier, the
//! structured-logs fixture (exception attributes, span events, JSON/logfmt
//! bodies without severity). The two outputs must be byte-equal, and each must
//! contain what the case expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_signoz::ops::*;
use mcp_signoz::{Signoz, Store};

/// A failing checkout trace of the fixture.
const FAILING_TRACE: &str = "08fcff53b1f81964acf45b289ec9c777";

/// The incident window of the structured fixture.
const INC_FROM: &str = "2024-05-01T11:00:00Z";
const INC_TO: &str = "2024-05-01T11:15:00Z";

enum Call {
    Services(ServicesArgs),
    Health(HealthArgs),
    Logs(LogsArgs),
    Patterns(PatternsArgs),
    Traces(TracesArgs),
    Trace(TraceArgs),
    Deps(DepsArgs),
    Metrics(MetricsArgs),
    Metric(MetricArgs),
}

struct Case {
    name: &'static str,
    call: Call,
    must: &'static [&'static str],
    must_not: &'static [&'static str],
    error: bool,
}

fn case(name: &'static str, call: Call, must: &'static [&'static str]) -> Case {
    Case {
        name,
        call,
        must,
        must_not: &[],
        error: false,
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn v(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "services in the incident window",
            Call::Services(ServicesArgs::default()),
            &["checkout      0.20/s    180      59  32.8%", "notification"],
        ),
        case(
            "services in the baseline hour",
            Call::Services(ServicesArgs {
                from: s("now-75m"),
                to: s("now-15m"),
            }),
            &["checkout", "720", "(1h)"],
        ),
        case(
            "health of checkout against the hour before",
            Call::Health(HealthArgs {
                service: "checkout".into(),
                ..Default::default()
            }),
            &[
                "error rate up 32.8 points",
                "14:47:00     12       3  25.0%",
                "charge failed: payments returned 503",
                "POST payments/charge",
            ],
        ),
        case(
            "health of payments with a 5m step and a 30m baseline",
            Call::Health(HealthArgs {
                service: "payments".into(),
                baseline: s("30m"),
                step: s("5m"),
                ..Default::default()
            }),
            &["(30m)", "14:50:00", "card-gateway responded 503"],
        ),
        case(
            "health of a healthy service",
            Call::Health(HealthArgs {
                service: "orders".into(),
                ..Default::default()
            }),
            &["in line with the baseline", "No error spans"],
        ),
        case(
            "health of an unknown service",
            Call::Health(HealthArgs {
                service: "nope".into(),
                ..Default::default()
            }),
            &["No spans for service `nope`"],
        ),
        case(
            "error logs",
            Call::Logs(LogsArgs {
                severity: s("error"),
                limit: Some(20),
                ..Default::default()
            }),
            &["PaymentGatewayException", "ERROR checkout charge failed"],
        ),
        Case {
            must_not: &["payments", "checkout"],
            ..case(
                "text search is case-insensitive and scoped to a service",
                Call::Logs(LogsArgs {
                    service: s("orders"),
                    contains: s("STORED in SHOP"),
                    limit: Some(5),
                    ..Default::default()
                }),
                &["stored in shop.orders", "5 log records"],
            )
        },
        case(
            "regex search, oldest first",
            Call::Logs(LogsArgs {
                regex: s(r"merchant=m-1\d{3},"),
                order: s("oldest"),
                limit: Some(10),
                ..Default::default()
            }),
            &["oldest first", "merchant=m-1"],
        ),
        case(
            "log attribute filter",
            Call::Logs(LogsArgs {
                attributes: v(&["exception.type=PaymentGatewayException"]),
                limit: Some(3),
                ..Default::default()
            }),
            &["3 log records", "PaymentGatewayException"],
        ),
        Case {
            must_not: &["checkout", "orders "],
            ..case(
                "resource attribute filter over the baseline",
                Call::Logs(LogsArgs {
                    attributes: v(&["k8s.pod.name=inventory-84f6d9c7b-9hjvw"]),
                    from: s("now-70m"),
                    to: s("now-60m"),
                    limit: Some(3),
                    ..Default::default()
                }),
                &["inventory stock level"],
            )
        },
        case(
            "logs of one trace",
            Call::Logs(LogsArgs {
                trace_id: s(FAILING_TRACE),
                order: s("oldest"),
                ..Default::default()
            }),
            &[
                "orders   order",
                "ERROR payments PaymentGatewayException",
                "ERROR checkout",
            ],
        ),
        case(
            "hostile filter values are data, not SQL",
            Call::Logs(LogsArgs {
                service: s("x'; DROP TABLE signoz_logs.logs_v2; --"),
                contains: s("' OR 1=1 --"),
                attributes: v(&["a'b=c\\'d"]),
                ..Default::default()
            }),
            &["No logs match"],
        ),
        Case {
            error: true,
            ..case(
                "a bad regex is an error naming it",
                Call::Logs(LogsArgs {
                    regex: s("(unclosed"),
                    ..Default::default()
                }),
                &["bad regex `(unclosed`"],
            )
        },
        case(
            "log patterns: the new exception and the surge",
            Call::Patterns(PatternsArgs::default()),
            &[
                "1 NEW, 1 SURGED",
                "NEW        0   59      -  14:47:32  14:59:56  payments      PaymentGatewayException",
                "SURGED     5   59  47.2x",
                "charge failed for order <*>: payments returned <*>",
                "trace=",
            ],
        ),
        case(
            "log patterns of one service, 30m baseline",
            Call::Patterns(PatternsArgs {
                service: s("checkout"),
                baseline: s("30m"),
                ..Default::default()
            }),
            &["SURGED", "checkout completed for order <*> in <*>"],
        ),
        case(
            "log patterns without a baseline",
            Call::Patterns(PatternsArgs {
                severity: s("warn"),
                baseline: s("0"),
                limit: Some(5),
                ..Default::default()
            }),
            &["(no baseline: every template is NEW)", "2 templates: 2 NEW"],
        ),
        case(
            "error spans of payments",
            Call::Traces(TracesArgs {
                service: s("payments"),
                errors_only: Some(true),
                limit: Some(5),
                ..Default::default()
            }),
            &["5 spans", "ERROR card-gateway responded 503"],
        ),
        case(
            "slowest spans over a second",
            Call::Traces(TracesArgs {
                min_duration: s("1.5s"),
                order: s("slowest"),
                limit: Some(5),
                ..Default::default()
            }),
            &["slowest first", "1.6"],
        ),
        case(
            "span filter on a numeric attribute",
            Call::Traces(TracesArgs {
                attributes: v(&["http.response.status_code=502"]),
                limit: Some(4),
                ..Default::default()
            }),
            &["4 spans", "POST /api/checkout"],
        ),
        case(
            "span filter on operation and a string attribute",
            Call::Traces(TracesArgs {
                operation: s("mongodb.insert orders"),
                attributes: v(&["db.system=mongodb"]),
                limit: Some(3),
                ..Default::default()
            }),
            &["3 spans", "orders   mongodb.insert orders  Client"],
        ),
        case(
            "a failing trace as a tree",
            Call::Trace(TraceArgs {
                trace_id: FAILING_TRACE.into(),
            }),
            &[
                "7 spans, 3 services",
                "*!  checkout POST /api/checkout",
                "*!      payments POST /charge",
                "orders mongodb.insert orders (client)",
            ],
        ),
        case(
            "an unknown trace",
            Call::Trace(TraceArgs {
                trace_id: "0123456789abcdef0123456789abcdef".into(),
            }),
            &["not found"],
        ),
        case(
            "the call graph",
            Call::Deps(DepsArgs::default()),
            &[
                "checkout  payments        180  0.20/s      59  32.8%",
                "orders    mongodb (db)    360",
            ],
        ),
        Case {
            must_not: &["mongodb"],
            ..case(
                "the call graph around payments",
                Call::Deps(DepsArgs {
                    service: s("payments"),
                    ..Default::default()
                }),
                &["checkout  payments"],
            )
        },
        case(
            "metric names",
            Call::Metrics(MetricsArgs::default()),
            &[
                "http.server.request.count",
                "counter/cumulative",
                "db.client.connections.usage",
            ],
        ),
        Case {
            must_not: &["db.client"],
            ..case(
                "metric names containing text",
                Call::Metrics(MetricsArgs {
                    contains: s("DURATION"),
                    ..Default::default()
                }),
                &["3 metrics", "http.server.request.duration.bucket"],
            )
        },
        case(
            "one metric's labels",
            Call::Metrics(MetricsArgs {
                metric: s("http.server.request.count"),
                ..Default::default()
            }),
            &["http.response.status_code       5  200, 201, 402, 502, 503"],
        ),
        case(
            "counter rate by status for checkout",
            Call::Metric(MetricArgs {
                metric: "http.server.request.count".into(),
                filters: v(&["service.name=checkout"]),
                group_by: v(&["http.response.status_code"]),
                step: s("5m"),
                from: s("now-30m"),
                ..Default::default()
            }),
            &["sum of rates", "by http.response.status_code", "502"],
        ),
        case(
            "gauge max per step",
            Call::Metric(MetricArgs {
                metric: "db.client.connections.usage".into(),
                aggregation: s("max"),
                step: s("5m"),
                from: s("now-30m"),
                ..Default::default()
            }),
            &["max of values", "14:30:00"],
        ),
        case(
            "delta histogram count as a rate",
            Call::Metric(MetricArgs {
                metric: "http.server.request.duration.count".into(),
                step: s("5m"),
                ..Default::default()
            }),
            &["per-second rate", "0.20"],
        ),
        // The structured fixture: what only the details say, read the same way
        // from SigNoz's maps and `events` column as from OTLP files.
        Case {
            must_not: &["SocketTimeoutException", "{\"", "time=\""],
            ..case(
                "structured: new templates carry the error text",
                Call::Patterns(PatternsArgs {
                    from: s(INC_FROM),
                    to: s(INC_TO),
                    limit: Some(8),
                    ..Default::default()
                }),
                &[
                    "Request failed — java.lang.IllegalStateException: Connection pool exhausted",
                    "upstream request failed — dial tcp",
                    "send failed — Error: connect ECONNREFUSED",
                    "(at com.acme.pay.PoolGuard.borrow(PoolGuard.java:88))",
                ],
            )
        },
        Case {
            must_not: &[
                "request served",
                "job finished",
                "invoice run done",
                "notification sent",
            ],
            ..case(
                "structured: JSON and logfmt levels filter by severity",
                Call::Patterns(PatternsArgs {
                    severity: s("error"),
                    from: s(INC_FROM),
                    to: s(INC_TO),
                    ..Default::default()
                }),
                &[
                    "job failed — pq: password authentication failed",
                    "invoice run failed — ZeroDivisionError: division by zero",
                    "Failed to post entry <*> — org.springframework.jdbc.CannotGetJdbcConnectionException",
                ],
            )
        },
        Case {
            must_not: &["notification sent"],
            ..case(
                "structured: pino numeric levels in search_logs",
                Call::Logs(LogsArgs {
                    service: s("notifier"),
                    severity: s("warn"),
                    from: s(INC_FROM),
                    to: s(INC_TO),
                    limit: Some(3),
                    ..Default::default()
                }),
                &[
                    "ERROR notifier send failed — Error: connect ECONNREFUSED 10.96.12.7:6379 (at TCPConnectWrap",
                ],
            )
        },
        Case {
            must_not: &["Request completed", "SocketTimeout"],
            ..case(
                "structured: text search reaches exception messages",
                Call::Logs(LogsArgs {
                    contains: s("POOL EXHAUSTED"),
                    from: s(INC_FROM),
                    to: s(INC_TO),
                    limit: Some(2),
                    ..Default::default()
                }),
                &[
                    "2 log records",
                    "ERROR payments Request failed — java.lang.IllegalStateException",
                ],
            )
        },
        case(
            "structured: error spans with their exception events",
            Call::Traces(TracesArgs {
                errors_only: Some(true),
                from: s(INC_FROM),
                to: s(INC_TO),
                limit: Some(60),
                ..Default::default()
            }),
            &[
                "ERROR upstream inventory: dial tcp 10.96.87.14:8080: connect: connection refused",
                "  ↳ exception java.lang.IllegalStateException: Connection pool exhausted",
                "  ↳ exception org.springframework.jdbc.CannotGetJdbcConnectionException (at ",
            ],
        ),
        case(
            "structured: error groups without a status message use the exception",
            Call::Health(HealthArgs {
                service: "payments".into(),
                from: s(INC_FROM),
                to: s(INC_TO),
                ..Default::default()
            }),
            &[
                "POST /charge",
                "java.lang.IllegalStateException: Connection pool exhausted (active=20, idle=0, waiting=31)",
                "org.postgresql.util.PSQLException: FATAL: password authentication failed",
            ],
        ),
        case(
            "structured: a trace with an exception event",
            Call::Trace(TraceArgs {
                trace_id: "000000000000000000000000000000fd".into(),
            }),
            &["↳ exception java.lang.IllegalStateException: Connection pool exhausted"],
        ),
        case(
            "an unknown metric",
            Call::Metric(MetricArgs {
                metric: "nope".into(),
                ..Default::default()
            }),
            &["No series of `nope`"],
        ),
    ]
}

async fn run<S: Store>(ops: &Signoz<S>, call: &Call) -> Result<String, String> {
    let r = match call {
        Call::Services(a) => ops.services(a).await,
        Call::Health(a) => ops.service_health(a).await,
        Call::Logs(a) => ops.search_logs(a).await,
        Call::Patterns(a) => ops.log_patterns(a).await,
        Call::Traces(a) => ops.search_traces(a).await,
        Call::Trace(a) => ops.get_trace(a).await,
        Call::Deps(a) => ops.service_dependencies(a).await,
        Call::Metrics(a) => ops.list_metrics(a).await,
        Call::Metric(a) => ops.query_metric(a).await,
    };
    r.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_gives_the_same_answer_from_both_stores() {
    let embedded = support::combined();
    let now = embedded.now().await.unwrap();
    let chdb = support::Chdb::start(&embedded);
    let clickhouse = Signoz::new(chdb.store(now), Limits::default());
    let embedded = Signoz::new(embedded, Limits::default());
    let mut failures = Vec::new();
    let cases = cases();
    for c in &cases {
        let a = run(&embedded, &c.call).await;
        let b = run(&clickhouse, &c.call).await;
        let mut problems = Vec::new();
        if a != b {
            problems.push(format!(
                "stores disagree:\n--- embedded\n{}\n--- clickhouse\n{}",
                a.as_ref().unwrap_or_else(|e| e),
                b.as_ref().unwrap_or_else(|e| e)
            ));
        }
        for (store, out) in [("embedded", &a), ("clickhouse", &b)] {
            if out.is_err() != c.error {
                problems.push(format!("{store}: expected error={} got {out:?}", c.error));
            }
            let text = out.as_ref().unwrap_or_else(|e| e);
            for m in c.must {
                if !text.contains(m) {
                    problems.push(format!("{store}: missing {m:?} in:\n{text}"));
                }
            }
            for m in c.must_not {
                if text.contains(m) {
                    problems.push(format!("{store}: unexpected {m:?} in:\n{text}"));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!("## {}\n{}", c.name, problems.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} contract cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );

    // What went over the wire: user values only ever as parameters.
    let queries = chdb.queries();
    assert!(queries.len() > cases.len(), "{}", queries.len());
    for q in &queries {
        let sql = q["sql"].as_str().unwrap();
        for hostile in [
            "DROP TABLE",
            "OR 1=1",
            "PaymentGatewayException",
            "STORED in",
        ] {
            assert!(!sql.contains(hostile), "user value in SQL text: {sql}");
        }
        assert_eq!(q["format"], "RowBinaryWithNamesAndTypes", "{q}");
        assert!(q["settings"]["max_execution_time"].is_string(), "{q}");
    }
    assert!(
        queries.iter().any(|q| q["params"]["contains"]
            .as_str()
            .is_some_and(|v| v.contains("OR 1=1"))),
        "hostile value not sent as a parameter"
    );

    // Raw SQL: ClickHouse only, read-only, allowlisted.
    let sql = |text: &str, max_rows: Option<u32>| SqlArgs {
        sql: text.into(),
        max_rows,
    };
    let ok = clickhouse
        .query_sql(&sql(
            "SELECT resources_string['service.name'] AS service, count() AS n \
             FROM signoz_logs.distributed_logs_v2 GROUP BY service ORDER BY service",
            None,
        ))
        .await
        .unwrap();
    assert!(
        ok.contains("service\tn") && ok.contains("checkout\t900"),
        "{ok}"
    );
    let capped = clickhouse
        .query_sql(&sql(
            "SELECT span_id FROM signoz_traces.signoz_index_v3",
            Some(5),
        ))
        .await
        .unwrap();
    assert!(capped.starts_with("5 rows"), "{capped}");
    // Keywords inside strings and comments are not statements.
    let quoted = clickhouse
        .query_sql(&sql(
            "SELECT 'INTO OUTFILE ''x'' FORMAT CSV; SET readonly = 0' AS s, count() AS n \
             FROM signoz_logs.distributed_logs_v2 /* SETTINGS readonly = 0 */ -- SYSTEM FLUSH LOGS",
            None,
        ))
        .await
        .unwrap();
    assert!(quoted.contains("s\tn"), "{quoted}");
    // What writes files, changes settings or reaches out is refused before
    // ClickHouse sees it: the file is never written.
    let outfile = std::env::temp_dir().join(format!("mcp-signoz-outfile-{}", std::process::id()));
    let _ = std::fs::remove_file(&outfile);
    let into_outfile = format!(
        "SELECT span_id FROM signoz_traces.signoz_index_v3 INTO OUTFILE '{}'",
        outfile.display()
    );
    let into_outfile_comment = format!(
        "SELECT 1 FROM signoz_logs.distributed_logs_v2 INTO/* x */OUTFILE '{}' FORMAT CSV",
        outfile.display()
    );
    for (bad, why) in [
        (into_outfile.as_str(), "INTO OUTFILE"),
        (into_outfile_comment.as_str(), "INTO OUTFILE"),
        (
            "SELECT count() FROM signoz_logs.distributed_logs_v2 FORMAT JSON",
            "`FORMAT` clause",
        ),
        (
            "SELECT count() FROM signoz_logs.distributed_logs_v2 SETTINGS readonly = 0",
            "`SETTINGS`",
        ),
        ("SET readonly = 0", "only SELECT"),
        ("SYSTEM FLUSH LOGS", "only SELECT"),
        ("KILL QUERY WHERE 1 SYNC", "only SELECT"),
        ("OPTIMIZE TABLE signoz_logs.logs_v2", "only SELECT"),
        ("DETACH TABLE signoz_logs.logs_v2", "only SELECT"),
        ("SELECT file('/etc/hostname')", "function `file(`"),
        (
            "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)",
            "function `remoteSecure(`",
        ),
        ("SELECT * FROM s3('http://127.0.0.1:1/x')", "function `s3(`"),
    ] {
        let err = clickhouse.query_sql(&sql(bad, None)).await.unwrap_err();
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    assert!(
        !outfile.exists(),
        "INTO OUTFILE wrote {}",
        outfile.display()
    );
    for (bad, why) in [
        (
            "SELECT * FROM system.users",
            "table `system.users` is not allowed",
        ),
        (
            "SELECT * FROM url('http://127.0.0.1:1/x', CSV, 'a String')",
            "table function `url` is not allowed",
        ),
        (
            "INSERT INTO signoz_logs.logs_v2 (body) VALUES ('x')",
            "only SELECT",
        ),
        ("SELECT 1; SELECT 2", "one statement only"),
        (
            "SELECT count() FROM signoz_logs.logs_v2 WHERE a IN (SELECT 1 FROM system.tables)",
            "system.tables",
        ),
    ] {
        let err = clickhouse.query_sql(&sql(bad, None)).await.unwrap_err();
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    let err = embedded
        .query_sql(&sql("SELECT 1", None))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs the ClickHouse store"),
        "{err}"
    );

    // A wrong password is a clear error, not a hang.
    let wrong = mcp_signoz::ClickHouseStore::new(mcp_signoz::ClickHouseConfig {
        url: format!("http://127.0.0.1:{}", chdb.port),
        user: support::USER.into(),
        password: Some("wrong".into()),
        now: Some(now),
        ..Default::default()
    });
    let err = Signoz::new(wrong, Limits::default())
        .services(&ServicesArgs::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("516"), "{err}");
    eprintln!(
        "contract: {} cases × 2 stores agree; {} ClickHouse requests checked",
        cases.len(),
        queries.len()
    );
}
