//! Unit tests of [`super`]: who sits on the panel, and how it decides.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use crate::transcript::ChatReply;

use super::*;
use crate::engine::Analysis;
use crate::engine::Quiet;
use crate::llm::{Completion, LlmError, ToolSpec};

fn rca(component: &str, kind: &str, mode: &str) -> Rca {
    serde_json::from_value(serde_json::json!({
        "summary": format!("{component}: {kind}"),
        "category": kinds::category(kind).unwrap_or(Category::Application).as_str(),
        "root_cause": {"component": component, "kind": kind, "description": "d"},
        "alternatives": [], "confidence": 0.5, "evidence": [], "timeline": [],
        "remediation": [], "affected_services": [], "data_gaps": [],
        "mode": mode
    }))
    .unwrap()
}

fn suspect(component: &str, kind: &'static str, score: f64) -> Suspect {
    Suspect {
        component: component.into(),
        kind,
        score,
        signals: Vec::new(),
    }
}

fn route(category: Category, unsure: bool, scores: &[(Category, u32)]) -> Route {
    Route {
        category,
        scores: scores.to_vec(),
        matched: Vec::new(),
        unsure,
    }
}

fn det(suspects: Vec<Suspect>, root: Rca) -> Deterministic {
    Deterministic {
        pack: Default::default(),
        analysis: Analysis {
            suspects,
            ..Default::default()
        },
        rca: root,
    }
}

#[test]
fn one_specialist_when_the_evidence_agrees_with_itself() {
    let suspects = vec![
        suspect("cart", "oom_killed", 8.0),
        suspect("cart", "cpu_throttling", 6.0),
        suspect("payments", "bad_deploy", 1.0),
    ];
    let r = route(Category::Resource, false, &[(Category::Resource, 5)]);
    assert_eq!(
        categories(&r, &suspects, &rca("cart", "oom_killed", "deterministic")),
        vec![Category::Resource]
    );
}

#[test]
fn a_close_rival_of_another_category_gets_its_specialist() {
    let suspects = vec![
        suspect("cart", "oom_killed", 8.0),
        suspect("orders-db", "connection_pool_exhausted", 5.0),
        suspect("node-1", "node_failure", 4.5),
        suspect("payments", "bad_deploy", 3.0),
    ];
    let r = route(Category::Resource, false, &[(Category::Resource, 5)]);
    // The weak rival (under half the top score) does not.
    assert_eq!(
        categories(&r, &suspects, &rca("cart", "oom_killed", "deterministic")),
        vec![
            Category::Resource,
            Category::Database,
            Category::Infrastructure
        ]
    );
}

#[test]
fn an_unsure_router_adds_its_runner_up_and_the_panel_has_at_most_three() {
    let r = route(
        Category::Network,
        true,
        &[
            (Category::Network, 3),
            (Category::Database, 2),
            (Category::Application, 1),
            (Category::Resource, 0),
        ],
    );
    // No suspect at all, no root cause: the router's first two choices.
    assert_eq!(
        categories(&r, &[], &rca("unknown", "unknown", "deterministic")),
        vec![Category::Network, Category::Database]
    );
    // Rivals come before the router's guesses, and three is the most.
    let suspects = vec![
        suspect("cart", "oom_killed", 8.0),
        suspect("node-1", "node_failure", 7.0),
        suspect("payments", "bad_deploy", 6.0),
    ];
    assert_eq!(
        categories(&r, &suspects, &rca("cart", "oom_killed", "deterministic")),
        vec![
            Category::Resource,
            Category::Infrastructure,
            Category::Application
        ]
    );
    // A sure router adds nothing when the engine found nothing either
    // beyond its own category.
    let sure = route(Category::Network, false, &[(Category::Network, 3)]);
    assert_eq!(
        categories(&sure, &[], &rca("unknown", "unknown", "deterministic")),
        vec![Category::Network]
    );
}

#[test]
fn a_choice_is_a_letter_of_a_candidate_and_nothing_else() {
    assert_eq!(
        parse_choice(r#"{"choice": "B", "reason": "x"}"#, 2),
        Some(1)
    );
    assert_eq!(parse_choice("```json\n{\"choice\":\"a\"}\n```", 2), Some(0));
    assert_eq!(parse_choice("B", 3), Some(1));
    assert_eq!(parse_choice(r#"{"choice": "C"}"#, 2), None);
    assert_eq!(parse_choice(r#"{"choice": "both"}"#, 2), None);
    assert_eq!(parse_choice("I think B is more likely than A", 2), None);
    assert_eq!(parse_choice("", 2), None);
}

/// A model that answers every request with `text` and counts the requests.
struct Says {
    text: Option<&'static str>,
    asked: Mutex<Vec<String>>,
}

impl ChatModel for Says {
    fn chat<'a>(&'a self, messages: &'a [Message], _tools: &'a [ToolSpec]) -> ChatReply<'a> {
        self.asked.lock().unwrap().push(
            messages
                .iter()
                .filter_map(|m| m.content.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let text = self.text;
        Box::pin(async move {
            match text {
                Some(t) => Ok(Completion {
                    message: Message {
                        role: "assistant".into(),
                        content: Some(t.into()),
                        tool_calls: Vec::new(),
                        tool_call_id: None,
                    },
                    finish_reason: "stop".into(),
                    usage: Usage {
                        prompt_tokens: 100,
                        completion_tokens: 10,
                        total_tokens: 110,
                    },
                }),
                None => Err(LlmError::Unreachable {
                    url: "test".into(),
                    reason: "down".into(),
                }),
            }
        })
    }
}

fn says(text: Option<&'static str>) -> Says {
    Says {
        text,
        asked: Mutex::new(Vec::new()),
    }
}

fn opinion(category: Category, rca: Rca) -> Opinion {
    Opinion {
        category,
        outcome: AgentOutcome {
            rca,
            steps: 2,
            tool_calls: 3,
            usage: Usage::default(),
        },
    }
}

fn alert() -> Alert {
    crate::alert::parse_command("investigate service=checkout namespace=shop since=30m").unwrap()
}

fn two_views() -> (Deterministic, Vec<Opinion>) {
    let det = det(
        vec![
            suspect("cart", "oom_killed", 8.0),
            suspect("orders-db", "connection_pool_exhausted", 5.0),
        ],
        rca("cart", "oom_killed", "deterministic"),
    );
    let opinions = vec![
        opinion(Category::Resource, rca("cart", "oom_killed", "llm")),
        opinion(
            Category::Database,
            rca("orders-db", "connection_pool_exhausted", "llm"),
        ),
    ];
    (det, opinions)
}

#[tokio::test]
async fn disagreeing_specialists_are_settled_by_the_synthesis() {
    let (det, opinions) = two_views();
    let model = says(Some(
        r#"{"choice": "B", "reason": "the pool ran out first"}"#,
    ));
    let out = decide(opinions, &model, &alert(), &det, None, &Quiet).await;
    assert_eq!(out.rca.root_cause.component, "orders-db");
    assert_eq!(out.rca.mode, Mode::Llm);
    // The loser stays in sight, right behind the chosen cause.
    assert_eq!(out.rca.alternatives[0].component, "cart");
    // Both specialists' work and the synthesis request are counted.
    assert_eq!(out.tool_calls, 6);
    assert_eq!(out.steps, 5);
    assert_eq!(out.usage.total_tokens, 110);
    let asked = model.asked.lock().unwrap();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].contains("A (resource specialist): cart [oom_killed]"));
    assert!(asked[0].contains("B (database specialist): orders-db [connection_pool_exhausted]"));
}

#[tokio::test]
async fn without_a_valid_choice_the_engine_ranking_decides() {
    for answer in [Some("no idea, both?"), Some(r#"{"choice": "Z"}"#), None] {
        let (det, opinions) = two_views();
        let out = decide(opinions, &says(answer), &alert(), &det, None, &Quiet).await;
        // The candidate that confirms the engine's root cause.
        assert_eq!(out.rca.root_cause.component, "cart", "{answer:?}");
        assert_eq!(out.rca.alternatives[0].component, "orders-db");
    }
    // Neither confirms it: the one the engine ranked higher.
    let (mut det, mut opinions) = two_views();
    det.rca = rca("unknown", "unknown", "deterministic");
    opinions[0].outcome.rca = rca("node-1", "node_failure", "llm");
    let out = decide(opinions, &says(None), &alert(), &det, None, &Quiet).await;
    assert_eq!(out.rca.root_cause.component, "orders-db");
}

#[tokio::test]
async fn agreeing_or_refused_specialists_need_no_synthesis() {
    // Both agree: no request.
    let (det, mut opinions) = two_views();
    opinions[1].outcome.rca = rca("cart", "oom_killed", "llm");
    let model = says(Some(r#"{"choice": "B"}"#));
    let out = decide(opinions, &model, &alert(), &det, None, &Quiet).await;
    assert_eq!(out.rca.root_cause.component, "cart");
    assert!(model.asked.lock().unwrap().is_empty());
    // Only the second opinion was adopted: it is the answer; the first
    // one's refusal stays as a data gap.
    let (det, mut opinions) = two_views();
    let mut refused = rca("cart", "oom_killed", "deterministic");
    refused.data_gaps.push(crate::rca::DataGap {
        source: "llm".into(),
        reason: "the LLM specialist's answer was not adopted".into(),
    });
    opinions[0].outcome.rca = refused;
    let model = says(Some(r#"{"choice": "A"}"#));
    let out = decide(opinions, &model, &alert(), &det, None, &Quiet).await;
    assert_eq!(out.rca.root_cause.component, "orders-db");
    assert!(
        out.rca
            .data_gaps
            .iter()
            .any(|g| g.reason.contains("not adopted"))
    );
    assert!(model.asked.lock().unwrap().is_empty());
}
