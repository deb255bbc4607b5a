//! What mongosh shows that the tools must show too, found by checking realistic incident
//! fixtures through the server: the profiler's errCode/errName on slow operations, and
//! flow control and write-concern timeouts in `serverStatus`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bson::{Document, doc};
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::render::{slow, status};

fn profile(millis: i32, err: Option<(i32, &str)>) -> Document {
    let mut d = doc! {
        "op": "insert", "ns": "dispatch.trips",
        "command": {"insert": "trips", "ordered": true, "writeConcern": {"w": "majority", "wtimeout": 5000}, "$db": "dispatch"},
        "ninserted": 1, "keysInserted": 6, "millis": millis, "appName": "trip-service",
    };
    if let Some((code, name)) = err {
        d.insert("errCode", code);
        d.insert("errName", name);
        d.insert("errMsg", "waiting for replication timed out");
    }
    d
}

/// errCode/errName of profiled operations are shown per shape, counted.
#[test]
fn slow_queries_show_the_error_operations_ended_with() {
    let mut ops: Vec<_> = (0..3)
        .map(|_| profile(5003, Some((64, "WriteConcernFailed"))))
        .chain([profile(120, None)])
        .filter_map(|d| slow::from_profile(&d))
        .collect();
    let find = doc! {
        "op": "query", "ns": "dispatch.trips", "command": {"find": "trips", "filter": {"driver": "x"}, "maxTimeMS": 2000},
        "millis": 2001, "planSummary": "COLLSCAN", "docsExamined": 90000, "nreturned": 0,
        "errCode": 50, "errName": "MaxTimeMSExpired", "appName": "eta",
    };
    ops.push(slow::from_profile(&find).unwrap());
    let r = slow::render(
        ops,
        0.0,
        &Allowlist::default(),
        "profiler dispatch.system.profile",
    );
    let text = format!("{}\n{}", r.header, r.lines.join("\n"));
    insta::assert_snapshot!("slow_queries_errors", text);
    let insert = r.lines.iter().find(|l| l.contains("insert")).unwrap();
    assert!(insert.contains("3× 64 WriteConcernFailed"), "{text}");
    let find = r.lines.iter().find(|l| l.contains("find")).unwrap();
    assert!(find.contains("1× 50 MaxTimeMSExpired"), "{text}");

    // No error anywhere: no ERRORS column (the usual table is unchanged).
    let ok: Vec<_> = [profile(120, None)]
        .iter()
        .filter_map(slow::from_profile)
        .collect();
    let r = slow::render(ok, 0.0, &Allowlist::default(), "profiler");
    assert!(!r.header.contains("ERRORS"), "{}", r.header);
}

fn server_status(uptime_ms: i64, wtimeouts: i64, lagged: bool) -> Document {
    doc! {
        "host": "dispatch-mongo-0:27017", "version": "7.0.14", "process": "mongod",
        "uptime": (uptime_ms / 1000) as f64, "uptimeMillis": uptime_ms,
        "connections": {"current": 612, "available": 838_248},
        "flowControl": {"enabled": true, "targetRateLimit": 212, "timeAcquiringMicros": 991_233_110_i64 + uptime_ms,
            "locksPerKiloOp": 1002.4, "sustainerRate": 0, "isLagged": lagged, "isLaggedCount": 418, "isLaggedTimeMicros": 781_220_331_i64},
        "metrics": {"getLastError": {"wtime": {"num": 88_123, "totalMillis": 9_912_331_i64},
            "wtimeouts": wtimeouts, "default": {"unsatisfiable": 0, "wtimeouts": 0}}},
    }
}

/// Flow control lagging and write-concern timeouts are flags, not "flags: none".
#[test]
fn server_status_flags_flow_control_and_write_concern_timeouts() {
    let samples = [
        server_status(2_592_000_000, 312, true),
        server_status(2_592_005_000, 318, true),
    ];
    let text = status::render(&samples);
    insta::assert_snapshot!("server_status_flow_control", text);
    assert!(
        text.ends_with("flags: FLOW-CONTROL-LAGGED WRITE-CONCERN-TIMEOUTS"),
        "{text}"
    );
    // Healthy: not lagged, no new timeouts between the samples.
    let calm = [
        server_status(2_592_000_000, 312, false),
        server_status(2_592_005_000, 312, false),
    ];
    let text = status::render(&calm);
    assert!(text.ends_with("flags: none"), "{text}");
    assert!(text.contains("312 wtimeouts"), "{text}");
    // One sample: timeouts since start-up still flag.
    let text = status::render(&[server_status(2_592_000_000, 312, false)]);
    assert!(text.ends_with("flags: WRITE-CONCERN-TIMEOUTS"), "{text}");
}
