//! NetworkPolicies as the engine reads them: whom a policy admits.
//!
//! A caller that times out on a healthy peer is, often enough, a caller a
//! policy drops. To say so the engine must evaluate the policy the way the
//! network plugin does: a `from` peer is a `podSelector`, a
//! `namespaceSelector`, both, or an `ipBlock`; a selector is `matchLabels`
//! and `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`); a
//! `namespaceSelector` is matched against the *labels of the namespace*
//! (`team=data`, `kubernetes.io/metadata.name=gateway`), so the cluster
//! model carries those labels.
//!
//! The reading is conservative: whatever the engine cannot evaluate (an
//! `ipBlock`, an unknown operator, a namespace whose labels were not read)
//! "may admit", so a policy is never blamed on a rule it could not read.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

/// A Kubernetes label selector: `matchLabels` and `matchExpressions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub labels: BTreeMap<String, String>,
    /// `matchExpressions` as (key, operator, values).
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl LabelSelector {
    /// Reads the selector at `v`; `None` when it uses an operator the
    /// engine does not know.
    pub fn from_value(v: &Value) -> Option<LabelSelector> {
        let labels = v
            .get("matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut expressions = Vec::new();
        for e in v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e.get("key").and_then(Value::as_str)?.to_string();
            let op = e.get("operator").and_then(Value::as_str)?.to_string();
            if !matches!(op.as_str(), "In" | "NotIn" | "Exists" | "DoesNotExist") {
                return None;
            }
            let values = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            expressions.push((key, op, values));
        }
        Some(LabelSelector {
            labels,
            expressions,
        })
    }

    /// Whether it selects an object with `labels` (an empty selector
    /// selects every object).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| {
                let value = labels.get(k);
                match op.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some(),
                    _ => value.is_none(),
                }
            })
    }

    /// The one namespace it names by the label Kubernetes puts on every
    /// namespace, if that is all it says.
    fn named_namespace(&self) -> Option<&str> {
        match (self.labels.len(), self.expressions.is_empty()) {
            (1, true) => self
                .labels
                .get("kubernetes.io/metadata.name")
                .map(String::as_str),
            _ => None,
        }
    }
}

/// One NetworkPolicy's ingress side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The pods it selects (matchLabels; a policy with expressions in its
    /// own podSelector is read as selecting by its labels only).
    pub pod_selector: BTreeMap<String, String>,
    /// Whether it restricts ingress.
    pub ingress_restricted: bool,
    /// Each `from` peer; `None` for a peer the engine cannot evaluate: it
    /// may admit.
    pub from: Vec<Option<PolicyPeer>>,
    /// When it was created.
    pub created: Option<Timestamp>,
}

/// A `from` peer the engine can evaluate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyPeer {
    /// The namespaces its pods must be in: `None` for the policy's own (a
    /// bare `podSelector`), else a selector on the namespaces' labels.
    pub namespaces: Option<LabelSelector>,
    /// The pods it requires (an empty selector: every pod).
    pub pods: LabelSelector,
}

impl Policy {
    /// Whether it admits ingress from a pod with `labels` in `namespace`,
    /// whose labels are `ns_labels` (`None`: not read, so any selector
    /// other than one naming the namespace may admit).
    pub fn admits(
        &self,
        namespace: &str,
        ns_labels: Option<&BTreeMap<String, String>>,
        labels: &BTreeMap<String, String>,
    ) -> bool {
        !self.ingress_restricted
            || self.from.iter().any(|f| match f {
                None => true,
                Some(peer) => {
                    let in_namespace = match &peer.namespaces {
                        None => self.namespace == namespace,
                        Some(sel) => match (sel.named_namespace(), ns_labels) {
                            (Some(named), _) => named == namespace,
                            (None, Some(ns_labels)) => sel.matches(ns_labels),
                            (None, None) => true,
                        },
                    };
                    in_namespace && peer.pods.matches(labels)
                }
            })
    }
}

/// A `from` peer, when it can be evaluated.
fn policy_peer(p: &Value) -> Option<PolicyPeer> {
    if p.get("ipBlock").is_some() {
        return None;
    }
    let namespaces = match p.get("namespaceSelector") {
        None => None,
        Some(sel) => Some(LabelSelector::from_value(sel)?),
    };
    let pods = match p.get("podSelector") {
        None if namespaces.is_none() => return None,
        None => LabelSelector::default(),
        Some(sel) => LabelSelector::from_value(sel)?,
    };
    Some(PolicyPeer { namespaces, pods })
}

/// Reads one NetworkPolicy object.
pub fn policy_from(v: &Value) -> Policy {
    let types: Vec<&str> = v
        .pointer("/spec/policyTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let ingress = v.pointer("/spec/ingress").and_then(Value::as_array);
    // Without policyTypes, Kubernetes treats every policy as an Ingress one.
    let ingress_restricted = types.contains(&"Ingress") || types.is_empty();
    let mut from = Vec::new();
    for rule in ingress.into_iter().flatten() {
        match rule.get("from").and_then(Value::as_array) {
            // A rule without `from` admits everyone (on its ports).
            None => from.push(None),
            Some(peers) => {
                for p in peers {
                    from.push(policy_peer(p));
                }
            }
        }
    }
    let str_at = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).unwrap_or("");
    Policy {
        name: str_at("/metadata/name").to_string(),
        namespace: str_at("/metadata/namespace").to_string(),
        pod_selector: v
            .pointer("/spec/podSelector")
            .and_then(LabelSelector::from_value)
            .map(|s| s.labels)
            .unwrap_or_default(),
        ingress_restricted,
        from,
        created: str_at("/metadata/creationTimestamp").parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lbl(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn policy(from: Value) -> Policy {
        policy_from(&json!({
            "metadata": {"name": "p", "namespace": "x"},
            "spec": {"podSelector": {"matchLabels": {"app": "backend"}},
                     "policyTypes": ["Ingress"], "ingress": [{"from": from}]}
        }))
    }

    #[test]
    fn pod_selectors_admit_their_own_namespace_only() {
        let p = policy(json!([{"podSelector": {"matchLabels": {"tier": "backend"}}}]));
        assert!(!p.admits("x", None, &lbl(&[("app", "frontend")])));
        assert!(p.admits("x", None, &lbl(&[("tier", "backend")])));
        assert!(!p.admits("y", None, &lbl(&[("tier", "backend")])));
        let open = policy_from(&json!({
            "metadata": {"name": "p", "namespace": "x"},
            "spec": {"podSelector": {}, "ingress": [{}]}
        }));
        assert!(open.admits("y", None, &lbl(&[("tier", "frontend")])));
    }

    #[test]
    fn namespace_selectors_match_the_namespaces_labels() {
        // By the label Kubernetes puts on every namespace: no labels needed.
        let p = policy(json!([{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}},
            "podSelector": {"matchLabels": {"app": "edge"}}
        }]));
        assert!(p.admits("gateway", None, &lbl(&[("app", "edge")])));
        assert!(!p.admits("shop", None, &lbl(&[("app", "edge")])));
        // By a team label: decided by the namespace's labels when read.
        let p = policy(json!([{"namespaceSelector": {"matchLabels": {"team": "data"}}}]));
        let platform = lbl(&[("team", "platform")]);
        let data = lbl(&[("team", "data")]);
        assert!(!p.admits("obs", Some(&platform), &lbl(&[("app", "gw")])));
        assert!(p.admits("etl", Some(&data), &lbl(&[("app", "gw")])));
        // Labels not read: it may admit.
        assert!(p.admits("obs", None, &lbl(&[("app", "gw")])));
    }

    #[test]
    fn expressions_are_evaluated_and_unknown_ones_may_admit() {
        let p = policy(json!([{"namespaceSelector": {"matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "stage"]},
            {"key": "quarantine", "operator": "DoesNotExist"}
        ]}}]));
        let any = lbl(&[]);
        assert!(p.admits("a", Some(&lbl(&[("env", "prod")])), &any));
        assert!(!p.admits("a", Some(&lbl(&[("env", "dev")])), &any));
        assert!(!p.admits(
            "a",
            Some(&lbl(&[("env", "prod"), ("quarantine", "1")])),
            &any
        ));
        let odd = policy(json!([{"podSelector": {"matchExpressions": [
            {"key": "a", "operator": "Gt", "values": ["1"]}]}}]));
        assert!(odd.admits("elsewhere", None, &any));
        let cidr = policy(json!([{"ipBlock": {"cidr": "10.0.0.0/8"}}]));
        assert!(cidr.admits("elsewhere", None, &any));
    }
}
