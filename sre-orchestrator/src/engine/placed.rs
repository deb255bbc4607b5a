//! Where a service the telemetry saw lives, when nothing read says.
//!
//! A service whose log shows a new template in the window is where an
//! engineer asks "what changed in it?". The telemetry names the service,
//! not its namespace; a worker with no Service and no traced call from the
//! alert's service (a Temporal worker, a queue consumer, an ingest gateway
//! fed over MQTT) lives in a namespace nothing else links to the incident,
//! so neither its pods nor its rollouts are read. One list of the whole
//! cluster's Deployments says where each lives; its rollout history then
//! says whether it changed just before its new lines began.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::collect::Output;
use super::parse;

/// At most this many services are placed: the new templates of a few
/// services are a lead, those of many are an outage's echo.
const MOST: usize = 4;

/// The services with a new log template in the window whose pods no answer
/// read so far holds.
pub(super) fn unplaced(outputs: &[Output]) -> Vec<String> {
    let world = super::world::World::from_outputs(outputs);
    let mut out: Vec<String> = Vec::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "log_patterns" && !o.outcome.is_error)
    {
        for p in parse::log_patterns(&o.outcome.text)
            .into_iter()
            .filter(|p| p.kind == "NEW")
        {
            for s in p.services {
                // By name exactly: `offer-service` and `offer-worker` are one
                // component to `same_component`, and two workloads here.
                let placed = world.pods.iter().any(|pod| pod.owner == s);
                if !placed && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out.truncate(MOST);
    out
}

/// Whether an answer is a list of the whole cluster's Deployments.
fn cluster_deployments(o: &Output) -> bool {
    o.name == "list"
        && !o.outcome.is_error
        && o.args.get("kind").and_then(Value::as_str) == Some("deployments")
        && o.args.get("namespace").is_none()
}

/// The `list` arguments for the cluster's Deployments, when a service with
/// new lines is not placed and they were not listed yet.
pub(super) fn deployments_read(outputs: &[Output]) -> Option<Value> {
    (!unplaced(outputs).is_empty() && !outputs.iter().any(cluster_deployments))
        .then(|| json!({ "kind": "deployments", "limit": 200 }))
}

/// The `rollout_history` arguments for each unplaced service the cluster's
/// Deployments place, not read yet.
pub(super) fn history_reads(outputs: &[Output]) -> Vec<Value> {
    let wanted = unplaced(outputs);
    if wanted.is_empty() {
        return Vec::new();
    }
    let read: BTreeSet<(String, String)> = outputs
        .iter()
        .filter(|o| o.name == "rollout_history")
        .filter_map(|o| {
            Some((
                o.args.get("namespace")?.as_str()?.to_string(),
                o.args.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut out = Vec::new();
    for o in outputs.iter().filter(|o| cluster_deployments(o)) {
        for row in parse::table(&o.outcome.text, "NAMESPACE") {
            let (Some(ns), Some(name)) = (row.get("NAMESPACE"), row.get("NAME")) else {
                continue;
            };
            let args = json!({ "kind": "deployment", "name": name, "namespace": ns });
            if wanted.iter().any(|s| s == name)
                && !read.contains(&(ns.clone(), name.clone()))
                && !out.contains(&args)
            {
                out.push(args);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERNS: &str = "KIND    BASE  NOW  RATIO  FIRST     LAST      SERVICES       TEMPLATE\n\
        NEW        0  441      -  15:12:48  15:39:57  offer-worker   Failed to process workflow task. — [TMPRL1100] nondeterministic workflow\n\
        NEW        0   50      -  15:13:52  15:39:43  offer-service  send offer failed — update workflow <*>: context deadline exceeded\n\
        STEADY    98   14  0.30x  15:11:37  15:35:18  billing        offer sent for approval\n";

    const PODS: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"offer-service-7d9f8b6c5d-x2k4q","namespace":"ats","ownerReferences":[{"kind":"ReplicaSet","name":"offer-service-7d9f8b6c5d"}]}}"#;

    const DEPLOYMENTS: &str = "NAMESPACE  NAME  READY  UP-TO-DATE  AVAILABLE  AGE  IMAGES\n\
        ats  offer-service  3/3  3  3  8d  apps/offer-service:v2.14.0\n\
        workers  offer-worker  3/3  3  3  6d  apps/offer-worker:v3.9.0\n\
        workers  onboarding-worker  2/2  2  2  9d  apps/onboarding-worker:v1.14.3\n";

    /// A worker with new lines whose pods nothing read holds is looked up
    /// in the cluster's Deployments, and its history read where it lives;
    /// a service whose pods were read, or with no new lines, is not.
    #[test]
    fn a_service_with_new_lines_is_placed_and_its_history_read() {
        let mut outputs = vec![
            Output::test("signoz.log_patterns", json!({}), PATTERNS),
            Output::test(
                "k8s.list",
                json!({ "kind": "pods", "namespace": "ats", "output": "json" }),
                PODS,
            ),
        ];
        assert_eq!(unplaced(&outputs), ["offer-worker"]);
        assert_eq!(
            deployments_read(&outputs),
            Some(json!({ "kind": "deployments", "limit": 200 }))
        );
        outputs.push(Output::test(
            "k8s.list",
            json!({ "kind": "deployments", "limit": 200 }),
            DEPLOYMENTS,
        ));
        assert_eq!(deployments_read(&outputs), None);
        assert_eq!(
            history_reads(&outputs),
            [json!({ "kind": "deployment", "name": "offer-worker", "namespace": "workers" })]
        );
        // Read once.
        outputs.push(Output::test(
            "k8s.rollout_history",
            json!({ "kind": "deployment", "name": "offer-worker", "namespace": "workers" }),
            "revision 4",
        ));
        assert!(history_reads(&outputs).is_empty());
    }
}
