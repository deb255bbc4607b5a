//! The compact projection of `list --output json|yaml --compact`: an object with the
//! fields an investigation reads and without the ones it never does.
//!
//! A full Pod is ~2.5 KB of JSON once sanitized, most of it tolerations, volume mounts,
//! environment, security contexts and probe settings. A client that builds a model of the
//! cluster (owners, nodes, addresses, container states, what a NetworkPolicy selects)
//! needs about a third of it, and at full size a namespace of 25 pods does not fit one
//! response budget. The projection is a deny list, not an allow list, so fields of kinds
//! nobody listed here (CRDs, new API fields) still come through.

use serde_json::Value;

/// Keys dropped wherever they appear: bulky, and never what tells why something broke.
const DROPPED: &[&str] = &[
    "annotations",
    "env",
    "envFrom",
    "volumeMounts",
    "tolerations",
    "securityContext",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "imageID",
    "containerID",
    "dnsPolicy",
    "schedulerName",
    "enableServiceLinks",
    "preemptionPolicy",
    "priority",
    "serviceAccount",
    "terminationGracePeriodSeconds",
    "hostIPs",
    "podIPs",
    "lastProbeTime",
    "resourceVersion",
    "uid",
    "generation",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "affinity",
    "topologySpreadConstraints",
    "allocatedResources",
    "generateName",
    "blockOwnerDeletion",
    "qosClass",
];

/// Condition types whose healthy status is `False`; for every other type it is `True`.
const HEALTHY_WHEN_FALSE: &[&str] = &[
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
    "ReplicaFailure",
];

fn healthy_condition(c: &Value) -> bool {
    let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
    let status = c.get("status").and_then(Value::as_str).unwrap_or("");
    if HEALTHY_WHEN_FALSE.contains(&ty) {
        status == "False"
    } else {
        status == "True"
    }
}

/// Drops the [`DROPPED`] keys from the object `v`, recursively, and the conditions
/// that say all is well (a Ready pod's five `True` conditions are a third of its size).
/// `metadata.labels`, owners, `spec.nodeName`, container names/images/resources/ports,
/// volumes, unhealthy conditions and container states stay, and so does the object's
/// own `metadata.uid` (not its owners'): the scheduler's `Preempted by pod <uid> on
/// node …` names the preempting pod by nothing else.
pub fn compact(v: &mut Value) {
    let uid = v.pointer("/metadata/uid").cloned();
    strip(v);
    if let (Some(uid), Some(Value::Object(meta))) = (uid, v.get_mut("metadata")) {
        meta.insert("uid".into(), uid);
    }
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !DROPPED.contains(&k.as_str()));
            if let Some(Value::Array(conditions)) = m.get_mut("conditions") {
                conditions.retain(|c| !healthy_condition(c));
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_explains_and_drops_the_rest() {
        let mut pod = json!({
            "metadata": {"name": "web-1", "labels": {"app": "web"}, "annotations": {"a": "b"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d", "uid": "o"}], "uid": "u"},
            "spec": {"nodeName": "n1", "tolerations": [{"key": "k"}],
                     "containers": [{"name": "web", "image": "web:2", "env": [{"name": "X"}],
                                     "resources": {"limits": {"memory": "256Mi"}},
                                     "livenessProbe": {"httpGet": {"path": "/"}}}]},
            "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}],
                       "containerStatuses": [{"name": "web", "restartCount": 3, "imageID": "sha",
                                              "lastState": {"terminated": {"reason": "OOMKilled"}}}]}
        });
        compact(&mut pod);
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["name"], "web-5d");
        assert_eq!(pod["metadata"]["uid"], "u");
        assert!(pod["metadata"]["ownerReferences"][0].get("uid").is_none());
        assert_eq!(pod["spec"]["nodeName"], "n1");
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "256Mi"
        );
        assert_eq!(
            pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"],
            "OOMKilled"
        );
        assert!(pod["metadata"].get("annotations").is_none());
        assert!(pod["spec"].get("tolerations").is_none());
        assert!(pod["spec"]["containers"][0].get("env").is_none());
        assert!(pod["spec"]["containers"][0].get("livenessProbe").is_none());
        assert!(pod["status"].get("podIPs").is_none());
        let mut node = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "True"},
            {"type": "MemoryPressure", "status": "False"}, {"type": "PodScheduled", "status": "False"}]}});
        compact(&mut node);
        let kept: Vec<&str> = node["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(kept, ["DiskPressure", "PodScheduled"]);
    }
}
