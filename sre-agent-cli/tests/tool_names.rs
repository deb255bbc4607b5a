//! The contract between the orchestrator and the bundled servers: every
//! tool name the engine calls and the specialists know is one the servers
//! really offer. A renamed tool would otherwise fail silently: the engine
//! would never make the call, and a specialist would read the old name as a
//! custom tool and offer it everywhere.
//!
//! The servers are the real ones, in-process over a recorded scenario (the
//! one with MongoDB, so all three evidence servers are connected).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use sre_agent_cli::scenario::Scenario;
use sre_orchestrator::agent::KNOWN_TOOLS;
use sre_orchestrator::engine::collect::ENGINE_TOOLS;

#[tokio::test]
async fn every_tool_name_the_orchestrator_uses_is_a_servers_tool() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios/missing-index-collscan");
    let scenario = Scenario::load(&dir).expect("the scenario loads");
    let registry = scenario
        .registry(Duration::from_secs(30), false)
        .await
        .expect("the in-process servers start");
    let mut offered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in registry.tools() {
        offered
            .entry(t.server.clone())
            .or_default()
            .insert(t.tool.name.to_string());
    }
    for server in ["k8s", "signoz", "mongo"] {
        assert!(
            offered.get(server).is_some_and(|t| t.len() >= 5),
            "{server} is connected with its tools: {offered:?}"
        );
    }
    let mut missing = Vec::new();
    for (server, names) in KNOWN_TOOLS {
        // Slack is not part of a recorded scenario.
        let Some(tools) = offered.get(*server) else {
            continue;
        };
        for name in *names {
            if !tools.contains(*name) {
                missing.push(format!("{server}.{name}"));
            }
        }
    }
    for name in ENGINE_TOOLS {
        if !offered.values().any(|tools| tools.contains(*name)) {
            missing.push(format!("engine: {name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "names the orchestrator uses that no server offers: {missing:?}"
    );
}
