//! Unit tests of [`super`]: what an adopted answer keeps of the engine's.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::rca::ToolAction;

fn det() -> Rca {
    let mut rca: Rca = serde_json::from_value(serde_json::json!({
        "summary": "cart: OOMKilled",
        "category": "resource",
        "root_cause": {"component": "cart", "kind": "oom_killed", "description": "d"},
        "alternatives": [], "confidence": 0.8, "evidence": [], "timeline": [],
        "remediation": [], "affected_services": ["cart"], "data_gaps": [],
        "mode": "deterministic"
    }))
    .unwrap();
    rca.remediation = vec![
        Remediation {
            action: "Check history".into(),
            risk: Risk::Low,
            command: Some("kubectl -n shop rollout history deployment/cart".into()),
            tool: None,
        },
        Remediation {
            action: "Roll back".into(),
            risk: Risk::Medium,
            command: Some("kubectl -n shop rollout undo deployment/cart".into()),
            tool: Some(ToolAction {
                tool: "rollout_undo".into(),
                arguments: serde_json::json!({"kind": "deployment", "name": "cart"}),
            }),
        },
    ];
    rca
}

fn draft(component: &str, command: &str) -> Answer {
    Answer::parse(
        &serde_json::json!({
            "summary": "<!channel> see https://evil.example.com",
            "root_cause": {"component": component, "kind": "oom_killed", "description": "x"},
            "remediation": [{"action": "do it", "risk": "low", "command": command}],
            "alternatives": [{"component": "made-up-thing", "kind": "oom_killed", "description": "?"}]
        })
        .to_string(),
    )
    .unwrap()
}

fn book() -> Book {
    let mut book = Book::default();
    book.add_tool_result("k8s.list", "cart 0/3 payments 2/2");
    book
}

#[test]
fn runnable_steps_survive_only_when_the_specialist_agrees() {
    let undo = "kubectl -n shop rollout undo deployment/cart";
    let merge = |det: &Rca, a: Answer, c: Category| merge(det, a, c, &book());
    // Same component, same command: the LLM's step becomes runnable,
    // at the engine's risk, not the model's "low".
    let merged = merge(&det(), draft("cart", undo), Category::Resource);
    assert_eq!(merged.summary, "see [link removed]");
    assert!(merged.alternatives.is_empty(), "{:?}", merged.alternatives);
    assert_eq!(merged.remediation.len(), 1);
    assert_eq!(merged.remediation[0].action, "do it");
    assert_eq!(
        merged.remediation[0].risk,
        Risk::High,
        "no namespace known: not the engine's step"
    );
    assert_eq!(
        merged.remediation[0].tool.as_ref().map(|t| t.tool.as_str()),
        Some("rollout_undo")
    );
    // Same component, other steps: the engine's runnable step is added.
    let merged = merge(&det(), draft("cart", "kubectl top pod"), Category::Resource);
    assert_eq!(merged.remediation.len(), 2);
    assert!(merged.remediation[0].tool.is_none());
    assert!(merged.remediation[1].tool.is_some());
    // Another component: nothing the engine found is runnable here, and
    // the engine's conclusion is the first alternative.
    let merged = merge(&det(), draft("payments", undo), Category::Resource);
    assert!(merged.remediation.iter().all(|r| r.tool.is_none()));
    assert_eq!(merged.alternatives[0].component, "cart");
}
