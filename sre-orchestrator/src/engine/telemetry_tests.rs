//! Tests of `telemetry`: what the engine reads in log templates, resource
//! usage and MongoDB's answers.

use super::super::collect::{EvidencePack, Output};
use super::super::rules::Ctx;

/// Spark executors at 2.5 times their request with no limit, on nodes at
/// 100%: the neighbours of the slow Trino workers, which use as much
/// beyond their own request and are the victims.
#[test]
fn beyond_its_request_on_a_saturated_node_is_a_neighbour_not_a_victim() {
    const NODES: &str =
        "NODE  CPU  CPU%  MEMORY  MEMORY%\nip-10-40-23-210  15910m  100%  101.6Gi  85%\n";
    const PODS: &str = "NAMESPACE  POD  CPU  CPU/REQ  CPU/LIM  MEMORY  MEM/REQ  MEM/LIM\n\
        lakehouse  trino-worker-4t85ffc4vj-pb8tg  8900m  222%  -  72.3Gi  82%  82%\n\
        analytics-adhoc  customer-ltv-backfill-1cec5b32f1cf9f5f-exec-3  2650m  265%  -  8661Mi  80%  80%\n\
        ml  batch-scorer-7d9f8b6c5d-x2k4q  1600m  210%  -  1Gi  50%  50%\n";
    let scope = super::super::Scope::test();
    let usage = |kind: &str, text: &str| {
        Output::test(
            "k8s.resource_usage",
            serde_json::json!({ "kind": kind }),
            text,
        )
    };
    let pack = EvidencePack {
        outputs: vec![usage("nodes", NODES), usage("pods", PODS)],
        ..Default::default()
    };
    let mut ctx = Ctx::new(&scope);
    super::read_usage(&mut ctx, &pack, &["trino".to_string()]);
    let neighbours: Vec<&str> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "noisy_neighbor")
        .map(|s| s.component.as_str())
        .collect();
    assert_eq!(neighbours, ["customer-ltv-backfill", "batch-scorer"]);
    // Without a saturated node, 265% of a request is no neighbour's.
    let pack = EvidencePack {
        outputs: vec![usage("pods", PODS)],
        ..Default::default()
    };
    let mut ctx = Ctx::new(&scope);
    super::read_usage(&mut ctx, &pack, &["trino".to_string()]);
    assert!(ctx.signals.iter().all(|s| s.kind != "noisy_neighbor"));
}

/// Every replica levelled off at the same whole number of cores with no
/// limit is a workload out of capacity; one replica on a round figure, a
/// plateau under a limit (that is throttling) or replicas at different
/// levels are not.
#[test]
fn replicas_levelled_at_the_same_cores_are_pinned() {
    const PODS: &str = "POD  CPU  CPU/REQ  CPU/LIM  MEMORY  MEM/REQ  MEM/LIM\n\
        gate-api-ftp9q2sr8l-jt4bv  2046m  -  -  1478Mi  -  -\n\
        gate-api-ftp9q2sr8l-scv67  1962m  -  -  1438Mi  -  -\n\
        normalizer-sh6bzcvmnb-w7bg6  1000m  -  -  212Mi  -  -\n\
        normalizer-sh6bzcvmnb-mx5ns  998m  -  -  208Mi  -  -\n\
        ocr-fgvzctflfv-2dq48  1020m  102%  51%  2140Mi  104%  70%\n\
        ocr-fgvzctflfv-n5hjf  1020m  102%  51%  2140Mi  104%  70%\n\
        batch-7d9f8b6c5d-x2k4q  3010m  -  -  1Gi  -  -\n\
        mixed-66spc4lgqc-jtqcv  1000m  -  -  346Mi  -  -\n\
        mixed-66spc4lgqc-6txwf  2000m  -  -  310Mi  -  -\n\
        idle-bsx2kdt2tq-jgjnz  1000m  -  -  669Mi  -  -\n\
        idle-bsx2kdt2tq-xh7ct  140m  -  -  545Mi  -  -\n";
    let pack = EvidencePack {
        outputs: vec![Output::test(
            "k8s.resource_usage",
            serde_json::json!({ "kind": "pods" }),
            PODS,
        )],
        ..Default::default()
    };
    assert_eq!(
        super::pinned_workloads(&pack),
        [("gate-api".to_string(), 2), ("normalizer".to_string(), 1)]
    );
}

/// An index scan that examines millions of documents for a handful is
/// as unindexed as a collection scan (the compound index is missing);
/// one that returns what it reads is not.
#[test]
fn an_index_that_does_not_fit_the_query_is_a_missing_index() {
    const SLOW: &str = "COUNT  TOTAL    P95      MAX      DOCS EXAM/RET  KEYS   PLAN                    FLAGS               NS              OP    APP        SHAPE\n\
        1      3,811ms  3,811ms  3,811ms  13.9M/3        13.9M  IXSCAN { tenantId: 1 }  EXAMINED>>RETURNED  auditdb.events  find  audit-api  {tenantId: ?}\n\
        4      2,100ms  900ms    950ms    200/50         200    IXSCAN { sku: 1 }       -                   shop.items      find  cart       {sku: ?}\n";
    const RUNNING: &str = "RUNNING  OP    NS              PLAN                    WAIT  APP        CLIENT             OPID     SHAPE\n\
        4.0s     find  auditdb.events  IXSCAN { tenantId: 1 }  -     audit-api  10.244.2.41:50000  1  {tenantId: ?}\n\
        3.0s     find  auditdb.events  IXSCAN { tenantId: 1 }  -     audit-api  10.244.2.42:50004  2  {tenantId: ?}\n\
        2.0s     find  auditdb.events  IXSCAN { tenantId: 1 }  -     audit-api  10.244.2.43:50008  3  {tenantId: ?}\n";
    let scope = super::super::Scope::test();
    let pack = EvidencePack {
        outputs: vec![
            Output::test("mongo.slow_queries", serde_json::json!({}), SLOW),
            Output::test("mongo.current_ops", serde_json::json!({}), RUNNING),
        ],
        ..Default::default()
    };
    let mut ctx = Ctx::new(&scope);
    super::read_mongo(
        &mut ctx,
        &pack,
        &["audit-api".to_string(), "cart".to_string()],
    );
    let on: Vec<(&str, &str)> = ctx
        .signals
        .iter()
        .map(|s| (s.component.as_str(), s.source.as_str()))
        .collect();
    assert_eq!(
        on,
        [
            ("auditdb.events", "mongo.current_ops"),
            ("auditdb.events", "mongo.slow_queries")
        ]
    );
    assert!(
        ctx.signals
            .iter()
            .all(|s| s.kind == "missing_index" && s.detail.contains("IXSCAN { tenantId: 1 }"))
    );
}

#[test]
fn a_long_line_keeps_its_start_and_its_cause() {
    assert_eq!(super::with_cause("short", 180), "short");
    let long = format!(
        "Request failed: {} (at a.B.c(B.java:1)) ← caused by PSQLException: password authentication failed",
        "x".repeat(300)
    );
    let shown = super::with_cause(&long, 180);
    assert!(shown.starts_with("Request failed: xxx"), "{shown}");
    assert!(
        shown.ends_with("… ← caused by PSQLException: password authentication failed"),
        "{shown}"
    );
    // Without a cause, the start only (what the line says first).
    let plain = format!("BillNotReadyException: no usage rollup {}", "y".repeat(300));
    assert_eq!(super::with_cause(&plain, 40).chars().count(), 40);
}

use super::*;

#[test]
fn span_status_rows_keep_count_and_message() {
    let text = "Top error messages (span status):
<untrusted-data source=\"span status messages\">
COUNT  OPERATION                  EXAMPLE TRACE                     MESSAGE
9  GET                        0f1b2593eb40212ddb76886c6ba6cc5e  Connection refused (cache-redis:6379)
3  GET /api/v3/wishlist/{id}  a3214e87eedf37b682872ad7b873cb84  System.Net.Http.HttpRequestException: 403 (Forbidden).
</untrusted-data>";
    let rows = span_error_rows(text);
    assert_eq!(
        rows,
        vec![
            (9.0, "Connection refused (cache-redis:6379)".to_string()),
            (
                3.0,
                "System.Net.Http.HttpRequestException: 403 (Forbidden).".to_string()
            ),
        ]
    );
    assert!(span_error_rows("COUNT  OPERATION\n    9  GET  abc  x").is_empty());
}

/// A pooler's own refusal relayed by its client goes to the one pooler
/// in view, and so does a store's own condition (its disk full); a
/// database's other replies relayed the same way stay with the client.
#[test]
fn a_poolers_refusal_relayed_by_a_client_is_the_poolers() {
    use super::super::world::{Pod, Service};
    let mut world = World::default();
    for (name, port) in [("pgbouncer", 6432), ("vendors-pg", 5432), ("search", 9200)] {
        let labels: std::collections::BTreeMap<String, String> =
            [("app".to_string(), name.to_string())].into();
        world.services.push(Service {
            name: name.into(),
            namespace: "data".into(),
            selector: labels.clone(),
            ports: vec![("tcp".into(), port)],
            ..Default::default()
        });
        world.pods.push(Pod {
            name: format!("{name}-0"),
            namespace: "data".into(),
            owner: name.into(),
            labels,
            ..Default::default()
        });
    }
    let catalogue = Catalogue::builtin();
    let reader = Reader {
        world: &world,
        catalogue,
        known: Vec::new(),
        book: Default::default(),
    };
    let blame = |line: &str| {
        let (hit, _) = reader.hit(&[(Field::Log, line)]).expect("a signature");
        reader.culprit(&hit, line, "vendor-api").0
    };
    assert_eq!(
        blame("query failed — FATAL: query_wait_timeout (SQLSTATE 08P01)"),
        "pgbouncer"
    );
    assert_eq!(
        blame("FATAL:  password authentication failed for user \"vendor\""),
        "vendor-api"
    );
    assert_eq!(
        blame(
            "index [orders-2026.03] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];"
        ),
        "search"
    );
    // The store's disk, told by the store itself, stays its own.
    let (hit, _) = reader
        .hit(&[(
            Field::Log,
            "flood stage disk watermark [95%] exceeded on [n1]",
        )])
        .expect("a signature");
    assert_eq!(reader.culprit(&hit, "", "search").0, "search");
}

/// A line that only says decoding failed (Go's `json: cannot unmarshal …`,
/// `unexpected end of JSON input`), naming neither an error nor an
/// exception, is a new error of the service that logged it; a new line
/// that says nothing failed is not.
#[test]
fn a_failed_decode_is_an_error_in_its_own_words() {
    const PATTERNS: &str = "KIND  BASE  NOW  FIRST     SERVICES      TEMPLATE\n\
        NEW   0     42   10:02:11  quote-router  json: cannot unmarshal string into Go struct field Quote.price of type float64\n\
        NEW   0     17   10:02:30  fx-cache      unexpected end of JSON input reading <*>\n\
        NEW   0     90   10:02:40  fx-cache      refreshed <*> rates for tenant <*>\n";
    let scope = super::super::Scope::test();
    let world = World::default();
    let reader = Reader {
        world: &world,
        catalogue: Catalogue::builtin(),
        known: Vec::new(),
        book: Default::default(),
    };
    let pack = EvidencePack {
        outputs: vec![Output::test(
            "signoz.log_patterns",
            serde_json::json!({}),
            PATTERNS,
        )],
        ..Default::default()
    };
    let mut ctx = Ctx::new(&scope);
    read_patterns(&mut ctx, &pack, &reader);
    let mut errors: Vec<(&str, &str)> = ctx
        .signals
        .iter()
        .map(|s| (s.component.as_str(), s.kind))
        .collect();
    errors.sort_unstable();
    assert_eq!(
        errors,
        [("fx-cache", "new_error"), ("quote-router", "new_error")]
    );
}

/// A service that got no requests at all in the window lost them before it
/// began: the incident's first symptom is no later than the window's start.
#[test]
fn no_traffic_in_the_window_is_a_symptom_dated_at_its_start() {
    let scope = crate::engine::Scope::test();
    let mut ctx = Ctx::new(&scope);
    let health = |service: &str, text: &str| {
        Output::test(
            "signoz.service_health",
            serde_json::json!({
                "service": service,
                "from": "2025-06-25T13:53:00Z",
                "to": "2025-06-25T14:40:00Z",
            }),
            text,
        )
    };
    let pack = EvidencePack {
        outputs: vec![
            health(
                "channel-manager",
                "            RATE  CALLS  ERR%     P50     P95     P99\nwindow       0/s      0\nbaseline  0.05/s    179  0.0%  45.0ms  45.0ms  45.0ms\nVerdict: NO TRAFFIC in the window, though the baseline had some.\n",
            ),
            health(
                "partner-portal",
                "            RATE  CALLS  ERR%     P50     P95     P99\nwindow    0.03/s     94  0.0%  21.0ms  21.0ms  21.0ms\nbaseline  0.02/s     66  0.0%  21.0ms  21.0ms  21.0ms\nVerdict: in line with the baseline.\n",
            ),
        ],
        ..Default::default()
    };
    read_services(&mut ctx, &pack);
    let symptoms: Vec<(&str, Option<jiff::Timestamp>)> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "degraded")
        .map(|s| (s.component.as_str(), s.at))
        .collect();
    assert_eq!(
        symptoms,
        [("channel-manager", "2025-06-25T13:53:00Z".parse().ok())]
    );
}
