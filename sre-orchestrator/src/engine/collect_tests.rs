//! Tests of `collect`.

use super::*;
use crate::engine::rounds::resume_offset;
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

/// A JSON list cut by the response budget resumes after the objects it
/// holds; an uncut one where its footer says; a last page nowhere.
#[test]
fn a_list_cut_by_the_budget_resumes_after_what_it_holds() {
    let pods = |n: usize, tail: &str| {
        let mut text = "# 20 pods in namespace search\n".to_string();
        for i in 0..n {
            text.push_str(&format!(
                "{{\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p{i}\"}}}}\n"
            ));
        }
        text.push_str(tail);
        text
    };
    let list = |offset: Option<u64>, text: String| {
        let mut args =
            json!({ "kind": "pods", "namespace": "search", "output": "json", "limit": 20 });
        if let Some(o) = offset {
            args["offset"] = json!(o);
        }
        Output::test("k8s.list", args, &text)
    };
    let cut = "\n[truncated by the response budget: showing 12 of 22 lines (~7,647 of ~13,873 tokens). Narrow the request.]";
    assert_eq!(resume_offset(&list(None, pods(11, cut))), Some(11));
    assert_eq!(resume_offset(&list(Some(20), pods(11, cut))), Some(31));
    let paged = pods(20, "").replace("namespace search", "namespace search; next page: offset=20");
    assert_eq!(resume_offset(&list(None, paged)), Some(20));
    assert_eq!(resume_offset(&list(None, pods(7, ""))), None);
}
