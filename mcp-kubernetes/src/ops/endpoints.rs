//! How many ready endpoints a Service has, from its Endpoints object or its
//! EndpointSlices — or "unknown" when neither was recorded.
//!
//! The difference matters: `kubectl cluster-info dump` writes no `endpoints.json`, a
//! `kubectl get` capture may leave Endpoints out, RBAC may forbid them, and Kubernetes 1.33
//! deprecates the Endpoints API in favour of EndpointSlices. Reading "no Endpoints object" as
//! "zero ready endpoints" marks every Service of such a cluster as down, and an
//! investigation then blames the network. A live API server always has one or the other for
//! a Service with a selector, so their absence means the data is missing, not the endpoints.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::projection::Mask::{self, All, Fields};
use crate::value::{arr, name, namespace, s};

/// Ready and not-ready endpoint counts of one Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Counted from the named source.
    Known {
        /// Ready addresses (Endpoints) or endpoints (EndpointSlices).
        ready: usize,
        /// Not ready ones.
        not_ready: usize,
        /// `Endpoints` or `EndpointSlices`.
        source: &'static str,
    },
    /// Neither an Endpoints object nor an EndpointSlice was found for the Service.
    Unknown,
}

/// The label EndpointSlices carry with the name of their Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What the counts read of an Endpoints object: the addresses, each kept as `{}`.
pub const ENDPOINTS_MASK: Mask = Fields(&[
    (
        "metadata",
        Fields(&[("name", All), ("namespace", All), ("annotations", All)]),
    ),
    (
        "subsets",
        Fields(&[
            ("addresses", Fields(&[])),
            ("notReadyAddresses", Fields(&[])),
        ]),
    ),
]);

/// What the counts read of an EndpointSlice: its Service label and each endpoint's
/// conditions.
pub const SLICES_MASK: Mask = Fields(&[
    (
        "metadata",
        Fields(&[
            ("name", All),
            ("namespace", All),
            ("labels", All),
            ("annotations", All),
        ]),
    ),
    ("endpoints", Fields(&[("conditions", All)])),
]);

/// Endpoints objects and EndpointSlices indexed by their Service.
#[derive(Debug, Default)]
pub struct Index<'a> {
    endpoints: BTreeMap<(String, String), &'a Value>,
    slices: BTreeMap<(String, String), Vec<&'a Value>>,
}

impl<'a> Index<'a> {
    /// Indexes Endpoints objects (named after their Service).
    pub fn new(endpoints: &'a [Value]) -> Self {
        Self {
            endpoints: endpoints
                .iter()
                .map(|e| ((namespace(e).to_string(), name(e).to_string()), e))
                .collect(),
            slices: BTreeMap::new(),
        }
    }

    /// Adds EndpointSlices (grouped by their `kubernetes.io/service-name` label).
    pub fn with_slices(mut self, slices: &'a [Value]) -> Self {
        for sl in slices {
            let Some(svc) = sl
                .pointer("/metadata/labels")
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .and_then(Value::as_str)
            else {
                continue;
            };
            self.slices
                .entry((namespace(sl).to_string(), svc.to_string()))
                .or_default()
                .push(sl);
        }
        self
    }

    /// Whether the Endpoints object of this Service is missing (so slices are worth reading).
    pub fn lacks_endpoints(&self, svc: &Value) -> bool {
        !self
            .endpoints
            .contains_key(&(namespace(svc).to_string(), name(svc).to_string()))
    }

    /// The Service's endpoint counts: from its Endpoints object, else from its
    /// EndpointSlices, else unknown.
    pub fn readiness(&self, svc: &Value) -> Readiness {
        let key = (namespace(svc).to_string(), name(svc).to_string());
        if let Some(ep) = self.endpoints.get(&key) {
            let (mut ready, mut not_ready) = (0, 0);
            for sub in arr(ep, "/subsets") {
                ready += arr(sub, "/addresses").len();
                not_ready += arr(sub, "/notReadyAddresses").len();
            }
            return Readiness::Known {
                ready,
                not_ready,
                source: "Endpoints",
            };
        }
        match self.slices.get(&key) {
            Some(slices) => {
                let (mut ready, mut not_ready) = (0, 0);
                for sl in slices {
                    for e in arr(sl, "/endpoints") {
                        // The API reads an absent `ready` as ready.
                        if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                            not_ready += 1;
                        } else {
                            ready += 1;
                        }
                    }
                }
                Readiness::Known {
                    ready,
                    not_ready,
                    source: "EndpointSlices",
                }
            }
            None => Readiness::Unknown,
        }
    }
}

/// The annotation the endpoints and EndpointSlice controllers set to the time of the Pod or
/// Service change that last changed the object: when its Service lost (or gained) endpoints.
pub const LAST_CHANGE_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";

impl Index<'_> {
    /// When `svc`'s endpoints last changed ([`LAST_CHANGE_ANNOTATION`] of its Endpoints
    /// object, else the latest of its EndpointSlices'), when recorded.
    pub fn changed(&self, svc: &Value) -> Option<jiff::Timestamp> {
        let key = (namespace(svc).to_string(), name(svc).to_string());
        let at = |o: &Value| {
            o.pointer("/metadata/annotations")
                .and_then(|a| a.get(LAST_CHANGE_ANNOTATION))
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        };
        if let Some(ep) = self.endpoints.get(&key) {
            return at(ep);
        }
        self.slices.get(&key)?.iter().filter_map(|o| at(o)).max()
    }
}

/// Whether a Service routes to pods by selector (only those get endpoints from the cluster).
pub fn has_selector(svc: &Value) -> bool {
    s(svc, "/spec/type") != "ExternalName"
        && svc
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn endpoints_then_slices_then_unknown() {
        let svc = |n: &str| json!({"metadata": {"name": n, "namespace": "shop"}, "spec": {"selector": {"app": n}}});
        let eps = vec![json!({"metadata": {"name": "a", "namespace": "shop"},
            "subsets": [{"addresses": [{}, {}], "notReadyAddresses": [{}]}]})];
        let slices = vec![json!({"metadata": {"name": "b-x1", "namespace": "shop",
            "labels": {SERVICE_NAME_LABEL: "b"}},
            "endpoints": [{"conditions": {"ready": true}}, {"conditions": {"ready": false}}, {}]})];
        let idx = Index::new(&eps).with_slices(&slices);
        assert_eq!(
            idx.readiness(&svc("a")),
            Readiness::Known {
                ready: 2,
                not_ready: 1,
                source: "Endpoints"
            }
        );
        assert_eq!(
            idx.readiness(&svc("b")),
            Readiness::Known {
                ready: 2,
                not_ready: 1,
                source: "EndpointSlices"
            }
        );
        assert_eq!(idx.readiness(&svc("c")), Readiness::Unknown);
        assert!(idx.lacks_endpoints(&svc("b")) && !idx.lacks_endpoints(&svc("a")));
    }

    #[test]
    fn when_the_endpoints_last_changed() {
        let svc = |n: &str| json!({"metadata": {"name": n, "namespace": "tickets"}});
        let eps = vec![json!({"metadata": {"name": "slots", "namespace": "tickets",
            "annotations": {LAST_CHANGE_ANNOTATION: "2026-05-02T10:49:12Z"}}, "subsets": []})];
        let slices = vec![
            json!({"metadata": {"name": "q-1", "namespace": "tickets", "labels": {SERVICE_NAME_LABEL: "q"},
                "annotations": {LAST_CHANGE_ANNOTATION: "2026-05-02T10:40:00Z"}}, "endpoints": []}),
            json!({"metadata": {"name": "q-2", "namespace": "tickets", "labels": {SERVICE_NAME_LABEL: "q"},
                "annotations": {LAST_CHANGE_ANNOTATION: "2026-05-02T10:45:00Z"}}, "endpoints": []}),
        ];
        let idx = Index::new(&eps).with_slices(&slices);
        let t = |s: &str| s.parse::<jiff::Timestamp>().ok();
        assert_eq!(idx.changed(&svc("slots")), t("2026-05-02T10:49:12Z"));
        assert_eq!(idx.changed(&svc("q")), t("2026-05-02T10:45:00Z"));
        assert_eq!(idx.changed(&svc("none")), None);
        // The masks keep the annotation.
        let kept = ENDPOINTS_MASK.parse(&eps[0].to_string()).unwrap();
        assert!(kept.pointer("/metadata/annotations").is_some(), "{kept}");
    }
}
