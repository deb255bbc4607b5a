//! `service_health` with the default window: an incident that began 40 minutes ago (25 of
//! them before the 15-minute window) is compared with the hour before it began, not with a
//! baseline half made of itself; a chosen window keeps its baseline just before it. The
//! same from the embedded store and from ClickHouse (chdb).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use mcp_signoz::ops::{HealthArgs, Limits};
use mcp_signoz::{EmbeddedStore, Signoz, Store};
use serde_json::json;

const T0: u64 = 1_750_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

/// checkout answers a request every 30 s for 2 h 30 min; the last 40 minutes fail.
fn telemetry_dir() -> tempfile::TempDir {
    let total = 150 * 60 / 30;
    let failing_from = total - 40 * 60 / 30;
    let spans: Vec<serde_json::Value> = (0..total)
        .map(|i| {
            let start = T0 + i * 30 * SEC;
            let failing = i >= failing_from;
            let dur = if failing { 900 } else { 100 } * 1_000_000;
            json!({
                "traceId": format!("{:032x}", i + 1),
                "spanId": format!("{:016x}", i + 1),
                "parentSpanId": "",
                "name": "POST /checkout",
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + dur).to_string(),
                "attributes": [],
                "status": if failing { json!({"code": 2, "message": "payment timeout"}) } else { json!({}) },
            })
        })
        .collect();
    let doc = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("traces.jsonl"), format!("{doc}\n")).unwrap();
    dir
}

fn health(service: &str) -> HealthArgs {
    HealthArgs {
        service: service.into(),
        from: None,
        to: None,
        baseline: None,
        step: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_baseline_ends_before_the_change_began() {
    let dir = telemetry_dir();
    let embedded = EmbeddedStore::load_dir(dir.path()).unwrap();
    let now = embedded.now().await.unwrap();
    let chdb = support::Chdb::start(&embedded);
    let clickhouse = Signoz::new(chdb.store(now), Limits::default());
    let embedded = Signoz::new(embedded, Limits::default());
    let a = embedded.service_health(&health("checkout")).await.unwrap();
    let b = clickhouse
        .service_health(&health("checkout"))
        .await
        .unwrap();
    assert_eq!(a, b, "stores disagree");
    let moved = a
        .lines()
        .find(|l| l.starts_with("Baseline: moved to end at"))
        .unwrap_or_else(|| panic!("{a}"));
    assert!(moved.contains("(25m before the window"), "{a}");
    // The baseline is clean: 0 errors, so the verdict sees the error rate rise.
    let base = a.lines().find(|l| l.starts_with("baseline")).unwrap();
    assert!(base.contains("0.0%"), "{a}");
    assert!(a.contains("error rate up"), "{a}");

    // A chosen window: the baseline stays just before it, and nothing is said.
    let mut chosen = health("checkout");
    chosen.from = Some("now-15m".into());
    chosen.to = Some("now".into());
    let c = embedded.service_health(&chosen).await.unwrap();
    assert!(!c.contains("Baseline: moved"), "{c}");
    let base = c.lines().find(|l| l.starts_with("baseline")).unwrap();
    assert!(!base.contains(" 0.0%"), "{c}");
    // Its tail already holds the slow requests (p99 900 ms then and now);
    // its median is still the usual 100 ms: the verdict says the median.
    assert!(c.contains("p50 9.00x (100ms → 900ms)"), "{c}");
    assert!(!c.contains("p99 "), "{c}");
}
