//! `sre-agent eval` and `simulate` as users run them: scoring the bundled
//! scenarios against a baseline, several sets (one simulated) with per-set
//! floors, argument errors before any work, and `--learn` replaying
//! feedback. `investigate` itself is in `cli.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agent::{agent, copy_tree, scenario, stderr, stdout};
use support::root;

#[test]
fn eval_scores_every_scenario_and_guards_the_baseline() {
    let dir = root().join("fixtures/scenarios");
    let baseline = dir.join("baseline.json");
    let out = agent(&[
        "eval",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--baseline",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 12);
    let categories = report["by_category"].as_object().unwrap();
    assert_eq!(categories.len(), 5, "all five categories are covered");

    // A baseline above what the engine does must fail the run.
    let tmp = tempfile::tempdir().unwrap();
    let strict = tmp.path().join("baseline.json");
    std::fs::write(&strict, r#"{"scenarios": 12, "top1": 1.01, "top3": 1.01}"#).unwrap();
    let out = agent(&[
        "eval",
        dir.to_str().unwrap(),
        "--baseline",
        strict.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("below the baseline"));
}

#[test]
fn simulate_then_eval_several_sets_with_per_set_floors() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let out = agent(&[
        "simulate",
        "--count",
        "3",
        "--seed",
        "42",
        "--out",
        sim.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 scenarios"), "{}", stderr(&out));
    let one = scenario("oom-after-limit-change");
    let out = agent(&["eval", sim.to_str().unwrap(), &one, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sets = report["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "{report}");
    assert_eq!(sets[0]["name"], "sim");
    assert_eq!(sets[1]["name"], "oom-after-limit-change");
    assert_eq!(sets[0]["overall"]["scenarios"], 3);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 4);
    for s in scenarios {
        for key in [
            "set",
            "rank",
            "confidence",
            "routed",
            "rca_category",
            "expected",
            "got",
        ] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
    }
    assert_eq!(report["reliability"].as_array().unwrap().len(), 5);
    assert_eq!(report["router"]["scenarios"], 4);

    // Table: one table per set, then the sets and their total.
    let out = agent(&[
        "eval",
        sim.to_str().unwrap(),
        &one,
        "--write-baseline",
        tmp.path().join("b.json").to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert!(text.contains("== sim ("), "{text}");
    assert!(text.contains("== oom-after-limit-change ("), "{text}");
    assert!(text.lines().any(|l| l.starts_with("total ")), "{text}");
    assert!(text.contains("CONFIDENCE"), "{text}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("b.json")).unwrap()).unwrap();
    assert!(written["sets"]["sim"]["top1"].is_number(), "{written}");

    // The recorded baseline holds; a per-set floor above it fails with exit 4.
    let out = agent(&[
        "eval",
        sim.to_str().unwrap(),
        &one,
        "--baseline",
        tmp.path().join("b.json").to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(4), "{}", stderr(&out));
    let gates = tmp.path().join("gates.toml");
    std::fs::write(&gates, "[sets.sim]\ntop1 = 1.01\ntop3 = 0.0\ncorrect = [\"sim-42-0000\", \"sim-42-0001\", \"sim-42-0002\"]\n").unwrap();
    let out = agent(&[
        "eval",
        sim.to_str().unwrap(),
        &one,
        "--baseline",
        gates.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sim: top-1 accuracy"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_refuses_an_unknown_format_before_running_anything() {
    let out = agent(&[
        "eval",
        root().join("fixtures/scenarios").to_str().unwrap(),
        "--format",
        "yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("yaml") && err.contains("table") && err.contains("json"),
        "{err}"
    );
    // Refused by the argument parser: no scenario was investigated.
    assert!(stdout(&out).is_empty());
}

/// `eval --learn`: two incidents of the same alert, one answered right and
/// one (by its edited expectation) wrong. Each sees the other's verdict as a
/// new incident would, and its own as a recurring one: the prior is
/// bounded, so a cause far ahead on the evidence stays first, and nothing
/// changes for scenarios whose alert has no judged past. `--jobs` gives the
/// plain eval the same answers in the same order.
#[test]
fn eval_learn_replays_feedback_within_its_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("twice");
    let source = root().join("fixtures/scenarios/oom-after-limit-change");
    copy_tree(&source, &set.join("right"));
    copy_tree(&source, &set.join("judged-wrong"));
    let manifest = set.join("judged-wrong/scenario.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let edited = text
        .replace(
            "component = \"cart\"",
            "component = \"ip-10-0-11-84.eu-west-1.compute.internal\"",
        )
        .replace("kind = \"oom_killed\"", "kind = \"node_failure\"");
    assert_ne!(edited, text);
    std::fs::write(&manifest, edited).unwrap();
    let other = root().join("fixtures/scenarios/bad-deploy-5xx");

    let out = agent(&[
        "eval",
        "--learn",
        set.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let table = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{table}\n{}", stderr(&out));
    // The two copies share an alert; bad-deploy-5xx has none judged.
    assert!(
        table.contains(
            "new incidents: 2 scenario(s) had a judged past of the same alert, top-1 1 → 1; \
             0 without one changed; 0 could not run"
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "recurring incidents: 3 scenario(s) had a judged past of the same alert, top-1 2 → 2; \
             0 without one changed; 0 could not run"
        ),
        "{table}"
    );

    // The judged-wrong cause is far ahead on the evidence (OOMKilled
    // containers against a node's mild condition): it stays first.
    let out = agent(&["eval", "--learn", set.to_str().unwrap(), "--format", "json"]);
    let learning: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for pass in ["new_incidents", "recurring"] {
        for s in learning[pass]["report"]["scenarios"].as_array().unwrap() {
            assert_eq!(s["got"], "cart/oom_killed", "{pass}: {s}");
        }
    }

    let eval = |jobs: &str| {
        let out = agent(&[
            "eval",
            "--jobs",
            jobs,
            set.to_str().unwrap(),
            other.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {} {}", s["name"], s["got"], s["rank"]))
            .collect::<Vec<_>>()
    };
    let one = eval("1");
    assert_eq!(one.len(), 3);
    assert_eq!(one, eval("3"));
}
