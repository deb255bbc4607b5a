//! Snapshots of what people read, on the checkout-5xx fixture (the contract
//! suite proves the ClickHouse store prints the same).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mcp_signoz::ops::*;
use mcp_signoz::{EmbeddedStore, Signoz};

fn ops() -> Signoz<EmbeddedStore> {
    Signoz::new(support::embedded(), Limits::default())
}

#[tokio::test]
async fn services() {
    insta::assert_snapshot!(ops().services(&ServicesArgs::default()).await.unwrap());
}

#[tokio::test]
async fn service_health() {
    let out = ops()
        .service_health(&HealthArgs {
            service: "checkout".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    insta::assert_snapshot!(out);
}

#[tokio::test]
async fn log_patterns_rank_the_new_exception_first() {
    let out = ops().log_patterns(&PatternsArgs::default()).await.unwrap();
    let table: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("NEW") || l.starts_with("SURGED"))
        .collect();
    assert!(
        table[0].starts_with("NEW") && table[0].contains("PaymentGatewayException"),
        "{out}"
    );
    assert!(
        table[1].starts_with("SURGED") && table[1].contains("charge failed"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[tokio::test]
async fn get_trace() {
    let out = ops()
        .get_trace(&TraceArgs {
            trace_id: "08fcff53b1f81964acf45b289ec9c777".into(),
        })
        .await
        .unwrap();
    // The critical path runs through the failing payments call.
    let critical: Vec<&str> = out.lines().filter(|l| l.contains(" *")).collect();
    assert!(
        critical.iter().any(|l| l.contains("payments POST /charge")),
        "{out}"
    );
    assert!(!critical.iter().any(|l| l.contains("mongodb")), "{out}");
    insta::assert_snapshot!(out);
}

#[tokio::test]
async fn dependencies_and_metrics() {
    let ops = ops();
    insta::assert_snapshot!(
        "dependencies",
        ops.service_dependencies(&DepsArgs::default())
            .await
            .unwrap()
    );
    insta::assert_snapshot!(
        "checkout_5xx_rate",
        ops.query_metric(&MetricArgs {
            metric: "http.server.request.count".into(),
            filters: Some(vec!["service.name=checkout".into()]),
            group_by: Some(vec!["http.response.status_code".into()]),
            from: Some("now-30m".into()),
            step: Some("5m".into()),
            ..Default::default()
        })
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn search_logs_pages_under_a_small_budget() {
    let ops = Signoz::new(
        support::embedded(),
        Limits {
            budget: mcp_kit::Budget::new(600),
            ..Limits::default()
        },
    );
    let args = LogsArgs {
        limit: Some(200),
        ..Default::default()
    };
    let first = ops.search_logs(&args).await.unwrap();
    assert!(mcp_kit::budget::count_tokens(&first) <= 600, "{first}");
    let cursor: u32 = first
        .split("cursor=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no cursor in {first}"));
    assert!(
        first.trim_end().ends_with(']'),
        "footer outside the frame: {first}"
    );
    let second = ops
        .search_logs(&LogsArgs {
            cursor: Some(cursor),
            ..args
        })
        .await
        .unwrap();
    let last_of_first = first.lines().rfind(|l| l.starts_with("2024-")).unwrap();
    let first_of_second = second.lines().find(|l| l.starts_with("2024-")).unwrap();
    assert_ne!(last_of_first, first_of_second);
    assert!(
        first_of_second < last_of_first,
        "newest first continues downward"
    );
}

#[tokio::test]
async fn bad_arguments_say_what_to_change() {
    let ops = ops();
    let e = ops
        .search_logs(&LogsArgs {
            severity: Some("loud".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("use trace, debug, info, warn, error or fatal")
    );
    let e = ops
        .get_trace(&TraceArgs {
            trace_id: "xyz".into(),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("32 hex digits"));
    let e = ops
        .services(&ServicesArgs {
            from: Some("tomorrow".into()),
            to: None,
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot read time `tomorrow`"));
    let e = ops
        .query_metric(&MetricArgs {
            metric: "db.client.connections.usage".into(),
            step: Some("1s".into()),
            from: Some("now-1d".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too many"), "{e}");
}
