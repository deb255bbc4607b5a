//! The red-team table (`mcp_kit::redteam`) planted in telemetry and read back
//! through the tools as a host reads them (after the kit's redaction): log
//! bodies (plain and JSON), log attributes, span status messages and span
//! attributes, through `search_logs`, `log_patterns`, `search_traces` and
//! `get_trace`. Prints `leaked N / planted M, masked look-alikes K / L`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_kit::redteam::{LOOK_ALIKES, PLANTED, Report, normalize};
use mcp_signoz::EmbeddedStore;
use mcp_signoz::model::{LogRow, SpanRow, Telemetry};
use mcp_signoz::ops::{Limits, LogsArgs, PatternsArgs, Signoz, TraceArgs, TracesArgs};

const NOW: i64 = 1_732_400_000_000_000_000;

fn log(i: usize, service: &str, body: String, note: &str) -> LogRow {
    LogRow {
        timestamp: NOW - 120_000_000_000 + i as i64 * 1_000_000,
        severity_text: "ERROR".into(),
        severity_number: 17,
        body,
        attributes_string: [("note".to_string(), note.to_string())].into(),
        resources_string: [("service.name".to_string(), service.to_string())].into(),
        ..Default::default()
    }
}

fn span(i: usize, service: &str, message: &str) -> SpanRow {
    SpanRow {
        timestamp: NOW - 60_000_000_000 + i as i64 * 1_000_000,
        trace_id: format!("{:032x}", i + 1),
        span_id: format!("{:016x}", i + 1),
        name: "GET /pay".into(),
        kind: 2,
        duration_nano: 5_000_000,
        status_code: 2,
        status_message: message.to_string(),
        has_error: true,
        attributes_string: [("note".to_string(), message.to_string())].into(),
        resources_string: [("service.name".to_string(), service.to_string())].into(),
        ..Default::default()
    }
}

/// What a log body or a status message looks like once on one line.
fn shown(text: &str) -> String {
    normalize(&text.replace('\n', " ⏎ "))
}

#[tokio::test]
async fn red_team_through_logs_and_traces() {
    let mut logs = Vec::new();
    let mut spans = Vec::new();
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        logs.push(log(i, "planted", text.to_string(), text));
        let json_body = serde_json::json!({"msg": "request failed", "detail": text}).to_string();
        logs.push(log(i + 1_000, "planted", json_body, "x"));
        spans.push(span(i, "planted", text));
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        logs.push(log(i + 2_000, "looks", text.to_string(), "x"));
        spans.push(span(i + 2_000, "looks", text));
    }
    let store = EmbeddedStore::new(
        "redteam",
        Telemetry {
            logs,
            spans,
            ..Default::default()
        },
    )
    .with_now(NOW);
    let ops = Signoz::new(
        store,
        Limits {
            budget: mcp_kit::Budget::new(5_000_000),
            ..Limits::default()
        },
    );
    // What the host reads: after the kit's own redaction of the result.
    let host = |s: String| mcp_kit::redact::redact(&s).into_owned();
    let mut reports = Vec::new();

    let mut r = Report::new("search_logs");
    let out = host(
        ops.search_logs(&LogsArgs {
            service: Some("planted".into()),
            limit: Some(1_000),
            from: Some("now-15m".into()),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    (0..PLANTED.len()).for_each(|i| r.planted(i, &out));
    let out = host(
        ops.search_logs(&LogsArgs {
            service: Some("looks".into()),
            limit: Some(1_000),
            order: Some("oldest".into()),
            from: Some("now-15m".into()),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    // One line a record, oldest first: line i is look-alike i. Structured
    // bodies (JSON, logfmt) are shown rearranged (`message — key=value`), so
    // a line is intact when it shows the text whole or holds no more
    // redaction markers than the look-alike itself.
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(" looks ")).collect();
    assert_eq!(lines.len(), LOOK_ALIKES.len(), "{out}");
    for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
        let line = lines[i];
        r.look_alike(
            i,
            normalize(line).contains(&shown(look))
                || line.matches("[REDACTED").count() == look.matches("[REDACTED").count(),
        );
    }
    reports.push(r);

    let mut r = Report::new("log_patterns");
    let out = host(
        ops.log_patterns(&PatternsArgs {
            service: Some("planted".into()),
            from: Some("now-15m".into()),
            limit: Some(1_000),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    (0..PLANTED.len()).for_each(|i| r.planted(i, &out));
    reports.push(r);

    let mut r = Report::new("search_traces, get_trace");
    let out = host(
        ops.search_traces(&TracesArgs {
            service: Some("planted".into()),
            errors_only: Some(true),
            limit: Some(1_000),
            from: Some("now-15m".into()),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    (0..PLANTED.len()).for_each(|i| r.planted(i, &out));
    for i in 0..PLANTED.len() {
        let out = host(
            ops.get_trace(&TraceArgs {
                trace_id: format!("{:032x}", i + 1),
            })
            .await
            .unwrap(),
        );
        r.planted(i, &out);
    }
    // Status messages are shown in a 160-character cell: the look-alikes
    // that fit it are checked whole.
    for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
        if look.chars().count() > 150 {
            continue;
        }
        let out = host(
            ops.get_trace(&TraceArgs {
                trace_id: format!("{:032x}", i + 2_001),
            })
            .await
            .unwrap(),
        );
        r.look_alike(i, normalize(&out).contains(&shown(look)));
    }
    reports.push(r);

    let mut total = Report::new("mcp-signoz, all tools");
    let mut ok = true;
    for r in reports {
        ok &= r.print();
        total.absorb(r);
    }
    ok &= total.print();
    assert!(ok, "{}", total.summary());
}
