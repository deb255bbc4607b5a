//! Secrets are masked before any cut: a span's status message longer than
//! the STATUS column, with a token straddling the cut point, shows no prefix
//! of the token, whatever the cut point (the kit's redaction of the result
//! can no longer recognise a token that was cut).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_signoz::EmbeddedStore;
use mcp_signoz::model::{SpanRow, Telemetry};
use mcp_signoz::ops::{Limits, Signoz, TracesArgs};

const NOW: i64 = 1_732_400_000_000_000_000;
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLXNlY3JldA";
const PAT: &str = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
const PASSWORD: &str = "Hunter2-Correct-Horse-Battery";

fn span(i: usize, message: String) -> SpanRow {
    SpanRow {
        timestamp: NOW - 60_000_000_000 + i as i64 * 1_000_000,
        trace_id: format!("{i:032x}"),
        span_id: format!("{i:016x}"),
        name: "GET /pay".into(),
        kind: 2,
        duration_nano: 5_000_000,
        status_code: 2,
        status_message: message,
        has_error: true,
        resources_string: [("service.name".to_string(), "checkout".to_string())].into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn search_traces_masks_status_messages_before_cutting_them() {
    // The STATUS cell keeps 160 characters; pad so that the cut falls at
    // every position inside each secret.
    let mut spans = Vec::new();
    for (prefix, secret) in [
        ("upstream said 401 to Bearer ", JWT),
        ("upstream refused Authorization: Bearer ", JWT),
        ("github refused ", PAT),
        ("db login failed: password=", PASSWORD),
    ] {
        for pad in 160 - prefix.len() - secret.len()..=160 - prefix.len() {
            let message = format!(
                "{}{prefix}{secret} and more text after it",
                "retry ".repeat(pad / 6) + &".".repeat(pad % 6)
            );
            spans.push(span(spans.len(), message));
        }
    }
    let n = spans.len();
    let store = EmbeddedStore::new(
        "test",
        Telemetry {
            spans,
            ..Default::default()
        },
    )
    .with_now(NOW);
    // A budget large enough for every span on one page.
    let ops = Signoz::new(
        store,
        Limits {
            budget: mcp_kit::Budget::new(200_000),
            ..Limits::default()
        },
    );
    let out = ops
        .search_traces(&TracesArgs {
            errors_only: Some(true),
            limit: Some(500),
            from: Some("now-15m".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // What the host reads: after the kit's own redaction of the result.
    let out = mcp_kit::redact::redact(&out).into_owned();
    assert_eq!(out.matches("ERROR ").count(), n, "n={n}\n{out}");
    for leak in [
        "eyJhbGci", "eyJzdWIi", "c2lnbmF0", "ghp_", "AbCdEfGh", "Hunter2", "Horse",
    ] {
        assert!(!out.contains(leak), "{leak} leaked:\n{out}");
    }
    assert!(out.contains("[REDACTED"), "{out}");
}
