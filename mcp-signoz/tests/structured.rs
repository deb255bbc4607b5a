//! The inside of errors, end to end on the structured fixture
//! (`tests/fixtures/structured`): causes that live only in OpenTelemetry
//! exception attributes and span events, or in JSON/logfmt bodies the
//! collector did not parse, come out of the tools readable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_signoz::ops::*;
use mcp_signoz::{EmbeddedStore, Signoz};

fn ops() -> Signoz<EmbeddedStore> {
    Signoz::new(support::structured(), Limits::default())
}

/// Table rows of one kind (`NEW`, `STEADY`, …) of a `log_patterns` answer.
fn rows<'a>(out: &'a str, kind: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.split_whitespace().next() == Some(kind))
        .filter(|l| {
            !l.contains(": ")
                || l.split_whitespace()
                    .nth(1)
                    .is_some_and(|c| c.parse::<u64>().is_ok())
        })
        .collect()
}

#[tokio::test]
async fn new_templates_carry_the_error_text() {
    let out = ops().log_patterns(&PatternsArgs::default()).await.unwrap();
    let new = rows(&out, "NEW");
    let has = |needle: &str| new.iter().any(|r| r.contains(needle));
    // Exception-only: the body says "Request failed", the attributes say why.
    assert!(
        has("Request failed — java.lang.IllegalStateException: Connection pool exhausted"),
        "{out}"
    );
    // The same body with the old exception is not new.
    assert!(!has("SocketTimeoutException"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("STEADY")
            && l.contains("Request failed — java.net.SocketTimeoutException: Read timed out")),
        "{out}"
    );
    // Spring Boot JSON, zap, pino, logrus, python-json-logger: message plus error.
    assert!(
        has(
            "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"
        ),
        "{out}"
    );
    assert!(has("upstream request failed — dial tcp"), "{out}");
    assert!(has("send failed — Error: connect ECONNREFUSED"), "{out}");
    assert!(
        has("job failed — pq: password authentication failed"),
        "{out}"
    );
    assert!(
        has("invoice run failed — ZeroDivisionError: division by zero"),
        "{out}"
    );
    // No raw JSON or logfmt in any template: timestamps would split them.
    for l in out
        .lines()
        .filter(|l| l.starts_with("STEADY") || l.starts_with("NEW"))
    {
        assert!(
            !l.contains("{\"") && !l.contains("time=\""),
            "raw body in {l}"
        );
    }
    // The zap info line is one steady template despite its per-line `ts`.
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("STEADY") && l.contains("request served"))
            .count(),
        1,
        "{out}"
    );
    // First lines: the readable form plus the top stack frame.
    let firsts: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("First line of each"))
        .skip(1)
        .filter(|l| l.starts_with("NEW ") || l.starts_with("SURGED "))
        .collect();
    assert!(
        firsts.iter().any(|l| l.contains(
            "Request failed — java.lang.IllegalStateException: Connection pool exhausted (active=20, idle=0, waiting=31) (at com.acme.pay.PoolGuard.borrow(PoolGuard.java:88))"
        )),
        "{out}"
    );
    // Each first line still reads as `KIND HH:MM:SS: line` (the engine's reader).
    for l in &firsts {
        let (kind, rest) = l.split_once(' ').unwrap();
        assert!(matches!(kind, "NEW" | "SURGED"));
        let (time, _) = rest.split_once(": ").unwrap();
        assert_eq!(time.len(), 8, "{l}");
    }
}

#[tokio::test]
async fn first_lines_show_stack_frames_of_every_stack() {
    let ops = ops();
    for (service, frame) in [
        (
            "ledger",
            "(at org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84))",
        ),
        (
            "gateway",
            "(main.(*Proxy).forward (/app/proxy/upstream.go:142))",
        ),
        (
            "notifier",
            "(at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16))",
        ),
        (
            "billing",
            r#"(File "/app/billing/calc.py", line 17, in compute)"#,
        ),
    ] {
        let out = ops
            .log_patterns(&PatternsArgs {
                service: Some(service.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            out.lines()
                .any(|l| l.starts_with("NEW ") && l.contains(frame)),
            "{service}: {out}"
        );
    }
}

#[tokio::test]
async fn json_and_logfmt_levels_count_as_severity() {
    let ops = ops();
    // No record of these services has a severityNumber or severityText.
    let out = ops
        .log_patterns(&PatternsArgs {
            severity: Some("error".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for needle in [
        "upstream request failed — dial tcp",
        "send failed — Error",
        "job failed — pq:",
        "invoice run failed — ZeroDivisionError",
        "Failed to post entry <*> — org.springframework",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    for info in [
        "request served",
        "notification sent",
        "job finished",
        "invoice run done",
        "Posted entry",
    ] {
        assert!(!out.contains(info), "{info}: {out}");
    }
    let logs = ops
        .search_logs(&LogsArgs {
            service: Some("notifier".into()),
            severity: Some("warn".into()),
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        logs.contains("ERROR notifier send failed — Error: connect ECONNREFUSED 10.96.12.7:6379 (at TCPConnectWrap"),
        "{logs}"
    );
    assert!(!logs.contains("notification sent"), "{logs}");
    let logs = ops
        .search_logs(&LogsArgs {
            service: Some("worker".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        logs.contains(
            r#"ERROR worker job failed — pq: password authentication failed for user "app" job=reindex"#
        ),
        "{logs}"
    );
    let logs = ops
        .search_logs(&LogsArgs {
            service: Some("gateway".into()),
            contains: Some("connection refused".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    // The body's other fields follow; timestamps and logger plumbing do not.
    assert!(
        logs.contains("(main.(*Proxy).forward (/app/proxy/upstream.go:142)) upstream=inventory"),
        "{logs}"
    );
    assert!(
        !logs.contains("caller=") && !logs.contains(" ts="),
        "{logs}"
    );
}

/// `contains` reads an exception's stack trace too: the cause chain a line
/// shows as `← caused by` is found by its words (here a frame that neither
/// the body "Request failed" nor the exception's message names).
#[tokio::test]
async fn contains_searches_the_stack_trace() {
    let logs = ops()
        .search_logs(&LogsArgs {
            service: Some("payments".into()),
            contains: Some("GatewayClient".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(logs.contains("Request failed"), "{logs}");
    assert!(logs.contains("SocketTimeoutException"), "{logs}");
}

#[tokio::test]
async fn error_spans_show_status_and_exception() {
    let ops = ops();
    let out = ops
        .search_traces(&TracesArgs {
            errors_only: Some(true),
            limit: Some(60),
            ..Default::default()
        })
        .await
        .unwrap();
    // A status message is in STATUS, as before.
    assert!(
        out.contains(
            "ERROR upstream inventory: dial tcp 10.96.87.14:8080: connect: connection refused"
        ),
        "{out}"
    );
    // Java auto-instrumentation: no status message, the exception event says why.
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("POST /charge") && l.trim_end().ends_with("ERROR"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        lines[i + 1],
        "  ↳ exception java.lang.IllegalStateException: Connection pool exhausted (active=20, idle=0, waiting=31) (at com.acme.pay.PoolGuard.borrow(PoolGuard.java:88))"
    );
    // A status that already has the message: only the type and frame are added.
    assert!(
        out.contains("  ↳ exception org.springframework.jdbc.CannotGetJdbcConnectionException (at org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84))"),
        "{out}"
    );
    // The detail line is one column for readers that split on two spaces.
    for l in out.lines().filter(|l| l.contains('↳')) {
        assert!(!l.trim_start().contains("  "), "{l}");
    }
    // And the trace tree shows it under the span.
    let trace = ops
        .get_trace(&TraceArgs {
            trace_id: "000000000000000000000000000000fd".into(),
        })
        .await
        .unwrap();
    let tl: Vec<&str> = trace.lines().collect();
    let i = tl
        .iter()
        .position(|l| l.contains("payments POST /charge"))
        .unwrap();
    assert!(
        tl[i + 1]
            .trim_start()
            .starts_with("↳ exception java.lang.IllegalStateException: Connection pool exhausted"),
        "{trace}"
    );
}

#[tokio::test]
async fn secrets_in_the_new_fields_are_redacted() {
    let ops = ops();
    // What the MCP server sends: every result goes through the kit's redaction.
    let sent = |text: &str| mcp_kit::redact::redact(text).into_owned();
    let logs = ops
        .search_logs(&LogsArgs {
            attributes: Some(vec![
                "exception.type=org.postgresql.util.PSQLException".into(),
            ]),
            ..Default::default()
        })
        .await
        .unwrap();
    // The secret is in exception.message only; it is masked in the line
    // itself, before the line is cut to length…
    assert!(
        !logs.contains("hunter2") && logs.contains("password=[REDACTED]"),
        "{logs}"
    );
    // …and never leaves the server.
    let out = sent(&logs);
    assert!(
        !out.contains("hunter2") && out.contains("password=[REDACTED]"),
        "{out}"
    );
    // A token inside a JSON field (zap's `error`).
    let logs = ops
        .search_logs(&LogsArgs {
            service: Some("gateway".into()),
            contains: Some("token refresh".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        logs.contains("token refresh failed — redis: AUTH failed"),
        "{logs}"
    );
    let out = sent(&logs);
    assert!(
        !out.contains("Zx81kq0pLmW3") && out.contains("auth_token=[REDACTED]"),
        "{out}"
    );
    // A secret-named field of the body, shown as context (masked before
    // the value is cut to length).
    assert!(!logs.contains("s3cr3tValue9"), "{logs}");
    assert!(
        !out.contains("s3cr3tValue9") && out.contains("client_secret=[REDACTED]"),
        "{out}"
    );
    // The first line of a NEW template and a span's exception line.
    let patterns = sent(
        &ops.log_patterns(&PatternsArgs {
            service: Some("payments".into()),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    assert!(
        patterns.contains("PSQLException") && !patterns.contains("hunter2"),
        "{patterns}"
    );
    let spans = ops
        .search_traces(&TracesArgs {
            operation: Some("POST /refund".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        spans.contains("↳ exception org.postgresql.util.PSQLException"),
        "{spans}"
    );
    assert!(!sent(&spans).contains("hunter2"), "{spans}");
}

#[tokio::test]
async fn details_page_with_their_span_under_a_small_budget() {
    let ops = Signoz::new(
        support::structured(),
        Limits {
            budget: mcp_kit::Budget::new(700),
            ..Limits::default()
        },
    );
    let out = ops
        .search_traces(&TracesArgs {
            service: Some("payments".into()),
            errors_only: Some(true),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(mcp_kit::budget::count_tokens(&out) <= 700, "{out}");
    assert!(out.contains("cursor="), "{out}");
    // Every error row shown is followed by its exception line.
    let lines: Vec<&str> = out.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.contains("POST /charge") {
            assert!(lines[i + 1].contains("↳ exception"), "{out}");
        }
    }
}

#[tokio::test]
async fn service_health_names_errors_by_their_exception() {
    let out = ops()
        .service_health(&HealthArgs {
            service: "payments".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let row = out
        .lines()
        .find(|l| l.contains("POST /charge") && l.contains("000000000000000000000000000000fd"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.ends_with("java.lang.IllegalStateException: Connection pool exhausted (active=20, idle=0, waiting=31)"),
        "{out}"
    );
    assert!(!out.contains("(no message)"), "{out}");
}
