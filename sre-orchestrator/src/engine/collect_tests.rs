//! Tests of `collect`.

use super::*;
use crate::transcript::ToolReply;

/// A cluster whose every answer is this many bytes.
struct Flood(usize);

impl ToolSource for Flood {
    fn tools(&self) -> Vec<ToolInfo> {
        [
            "k8s.workload_health",
            "k8s.events",
            "k8s.list",
            "k8s.logs",
            "k8s.resource_usage",
            "k8s.rollout_history",
            "signoz.log_patterns",
            "signoz.service_health",
        ]
        .iter()
        .map(|q| ToolInfo {
            qualified: q.to_string(),
            description: String::new(),
            input_schema: json!({}),
            read_only: true,
        })
        .collect()
    }

    fn call<'a>(&'a self, _: &'a str, _: Value) -> ToolReply<'a> {
        Box::pin(async move {
            ToolOutcome {
                text: "x".repeat(self.0),
                is_error: false,
                elapsed_ms: 0,
            }
        })
    }

    fn gaps(&self) -> Vec<DataGap> {
        Vec::new()
    }
}

fn scope(limits: Limits) -> Scope {
    Scope {
        limits,
        ..Scope::test()
    }
}

#[tokio::test]
async fn the_evidence_budget_caps_calls_and_bytes_and_says_so() {
    let quiet = super::super::Quiet;
    let pack = collect(
        &Flood(300_000),
        &scope(Limits {
            calls: 4,
            bytes: 1 << 30,
        }),
        &quiet,
    )
    .await;
    assert_eq!(pack.outputs.len(), 4);
    let gap = pack
        .gaps
        .iter()
        .find(|g| g.source == "evidence budget")
        .expect("a gap names the budget");
    assert!(gap.reason.contains("limits: 4 calls"), "{}", gap.reason);
    // A byte budget stops the rounds after the one that spent it.
    let pack = collect(
        &Flood(300_000),
        &scope(Limits {
            calls: 1000,
            bytes: 1 << 20,
        }),
        &quiet,
    )
    .await;
    let first_round = pack.outputs.len();
    assert!(first_round > 4 && first_round < 40, "{first_round}");
    assert!(pack.gaps.iter().any(|g| g.source == "evidence budget"));
    // Within the default budget, nothing is said.
    let pack = collect(&Flood(2_000), &scope(Limits::default()), &quiet).await;
    assert!(pack.gaps.iter().all(|g| g.source != "evidence budget"));
}

#[test]
fn the_engine_uses_no_tool_name_outside_its_list() {
    // The ways the engine names a tool: `t("…")` when calling, `.of("…")`
    // and `.first("…")` when reading the pack, and the MongoDB round.
    let re = regex::Regex::new(r#"(?:\bt|\.of|\.first)\("([a-z_]+)"\)"#).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut seen = std::collections::BTreeSet::new();
    let mut files = vec![dir.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for c in re.captures_iter(&text) {
                seen.insert(c[1].to_string());
            }
        }
    }
    for name in ["server_status", "current_ops", "slow_queries"] {
        seen.insert(name.to_string());
    }
    assert!(seen.len() >= 15, "{seen:?}");
    let unknown: Vec<&String> = seen
        .iter()
        .filter(|n| !ENGINE_TOOLS.contains(&n.as_str()))
        .collect();
    assert!(unknown.is_empty(), "not in ENGINE_TOOLS: {unknown:?}");
}
