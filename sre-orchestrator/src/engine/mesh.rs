//! Service-mesh AuthorizationPolicies as the engine reads them: whom a
//! policy lets call a workload.
//!
//! A `403` with Envoy's `RBAC: access denied` is the callee's sidecar
//! refusing the caller; the call never reaches the callee's own code, so
//! its traces show nothing. Which policy refused is a matter of evaluating
//! them the way Istio does: a DENY policy that matches the request refuses
//! it; otherwise, when ALLOW policies select the workload, the request
//! must match one of their rules. A rule matches when one of its `from`
//! sources matches (a source's fields all must: `principals` *and*
//! `namespaces`) and, when it has `to` operations, one of those does.
//!
//! The engine knows the caller's identity (its pods' namespace and service
//! account, which is its SPIFFE principal `…/ns/<ns>/sa/<sa>`) but not the
//! request's path or method. So the reading is conservative, like the
//! NetworkPolicy one: a rule the caller's identity satisfies "may admit"
//! whatever its `to` says, a rule with fields the engine cannot evaluate
//! (`requestPrincipals`, `ipBlocks`, `when` conditions) "may admit", and a
//! DENY rule is only blamed when it names the caller outright and has no
//! `to` or `when` that might spare this request. A policy is never blamed
//! on a rule it could not read.
//!
//! Policies with an edit but no new creation time (edited in place by a
//! GitOps tool) are read as they are now: an ALLOW list that leaves out a
//! caller whose calls fail is the explanation, whenever it was written.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

/// A service mesh's AuthorizationPolicy (Istio): which pods it guards and
/// whom it lets in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshPolicy {
    /// Name.
    pub name: String,
    /// Namespace (the root namespace's policies apply mesh-wide).
    pub namespace: String,
    /// `spec.selector.matchLabels` (empty: every workload of the namespace).
    pub selector: BTreeMap<String, String>,
    /// `ALLOW` (the default), `DENY`, `AUDIT` or `CUSTOM`.
    pub action: String,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// Its rules (an ALLOW policy with none allows nothing; a DENY policy
    /// with none denies nothing).
    pub rules: Vec<MeshRule>,
}

/// One rule of an AuthorizationPolicy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshRule {
    /// The `from` sources (empty: any source).
    pub sources: Vec<MeshSource>,
    /// Whether it has `to` operations or `when` conditions, which the
    /// engine cannot evaluate against a request it has not seen.
    pub narrowed: bool,
}

/// One `from.source`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshSource {
    /// `principals` (SPIFFE identities without the `spiffe://` scheme;
    /// `*` as a prefix or suffix wildcard).
    pub principals: Vec<String>,
    /// `notPrincipals`.
    pub not_principals: Vec<String>,
    /// `namespaces`.
    pub namespaces: Vec<String>,
    /// `notNamespaces`.
    pub not_namespaces: Vec<String>,
    /// Whether it uses fields the engine cannot evaluate
    /// (`requestPrincipals`, `ipBlocks`, `remoteIpBlocks`…).
    pub unreadable: bool,
}

/// Who calls: the namespace and service account of a caller's pods.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Service account (`default` when the pod names none).
    pub service_account: &'a str,
}

/// How a source's or rule's match came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    Unknown,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Istio's string match: exact, `*`, `prefix*` or `*suffix`.
fn matches_pattern(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

impl MeshPolicy {
    /// Reads one AuthorizationPolicy (`security.istio.io/v1` or
    /// `v1beta1`, the same shape).
    pub fn from_value(doc: &Value) -> MeshPolicy {
        let text = |p: &str| doc.pointer(p).and_then(Value::as_str);
        let rules = doc
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|rule| MeshRule {
                sources: rule
                    .get("from")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.get("source"))
                    .map(|s| MeshSource {
                        principals: strings(s.get("principals")),
                        not_principals: strings(s.get("notPrincipals")),
                        namespaces: strings(s.get("namespaces")),
                        not_namespaces: strings(s.get("notNamespaces")),
                        unreadable: [
                            "requestPrincipals",
                            "notRequestPrincipals",
                            "ipBlocks",
                            "notIpBlocks",
                            "remoteIpBlocks",
                            "notRemoteIpBlocks",
                        ]
                        .iter()
                        .any(|k| s.get(*k).is_some()),
                    })
                    .collect(),
                narrowed: rule.get("to").is_some() || rule.get("when").is_some(),
            })
            .collect();
        MeshPolicy {
            name: text("/metadata/name").unwrap_or("").to_string(),
            namespace: text("/metadata/namespace").unwrap_or("").to_string(),
            selector: doc
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            action: text("/spec/action").unwrap_or("ALLOW").to_string(),
            created: text("/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
            rules,
        }
    }

    /// Whether the caller's identity satisfies the source.
    fn source(s: &MeshSource, caller: Caller<'_>) -> Match {
        if s.unreadable {
            return Match::Unknown;
        }
        // The trust domain varies (`cluster.local`, a custom one, `*`):
        // the identity is what follows it.
        let identity = format!("/ns/{}/sa/{}", caller.namespace, caller.service_account);
        let principal_is = |p: &str| match p.find("/ns/") {
            Some(i) => matches_pattern(&p[i..], &identity),
            None => matches_pattern(p, &format!("cluster.local{identity}")),
        };
        let checks = [
            s.principals.is_empty() || s.principals.iter().any(|p| principal_is(p)),
            !s.not_principals.iter().any(|p| principal_is(p)),
            s.namespaces.is_empty()
                || s.namespaces
                    .iter()
                    .any(|n| matches_pattern(n, caller.namespace)),
            !s.not_namespaces
                .iter()
                .any(|n| matches_pattern(n, caller.namespace)),
        ];
        if checks.iter().all(|c| *c) {
            Match::Yes
        } else {
            Match::No
        }
    }

    /// Whether a rule applies to the caller (as far as its identity tells).
    fn rule(r: &MeshRule, caller: Caller<'_>) -> Match {
        if r.sources.is_empty() {
            return Match::Yes;
        }
        let mut out = Match::No;
        for s in &r.sources {
            match Self::source(s, caller) {
                Match::Yes => return Match::Yes,
                Match::Unknown => out = Match::Unknown,
                Match::No => {}
            }
        }
        out
    }

    /// Whether an ALLOW policy certainly admits none of the caller's
    /// requests: no rule's sources may match it.
    pub fn allows_nothing_from(&self, caller: Caller<'_>) -> bool {
        self.action == "ALLOW"
            && self
                .rules
                .iter()
                .all(|r| Self::rule(r, caller) == Match::No)
    }

    /// Whether a DENY policy certainly refuses the caller's requests: a
    /// rule names it and nothing narrows the rule to some requests only.
    pub fn denies_all_from(&self, caller: Caller<'_>) -> bool {
        self.action == "DENY"
            && self.rules.iter().any(|r| {
                !r.narrowed && !r.sources.is_empty() && Self::rule(r, caller) == Match::Yes
            })
    }
}

/// Whether a policy guards a mesh's egress gateway: its selector picks the
/// pods Istio's own charts label `istio: egressgateway` (or `app:
/// istio-egressgateway`), through which calls to hosts outside the mesh
/// leave.
fn guards_egress(p: &MeshPolicy) -> bool {
    p.selector.values().any(|v| v.contains("egressgateway"))
}

/// Calls refused on their way out of the mesh: a host outside the cluster
/// does not answer with Envoy's `RBAC: access denied`; the egress gateway
/// its calls leave through does, when an AuthorizationPolicy guarding the
/// gateway admits none of the caller's requests (evaluated on the caller's
/// namespace and service account, as for a sidecar). The refusals the
/// callers (`blames`: caller → the host their errors name) report about
/// such a host move to that policy, which gains a signal of its own.
pub(super) fn egress_refusals(
    signals: &mut Vec<super::rules::Signal>,
    world: &super::world::World,
    blames: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    use super::rules::same_component;
    let outside = |c: &str| {
        world.resolve(c).is_none() && !world.pods.iter().any(|p| same_component(&p.owner, c))
    };
    let mut found: Vec<(String, String, String)> = Vec::new();
    for (caller, host) in blames {
        if !outside(host)
            || !signals.iter().any(|s| {
                s.kind == "authorization_denied"
                    && s.weight >= 1.0
                    && same_component(&s.component, host)
            })
        {
            continue;
        }
        let Some(pod) = world.pods.iter().find(|p| same_component(&p.owner, caller)) else {
            continue;
        };
        let who = Caller {
            namespace: &pod.namespace,
            service_account: &pod.service_account,
        };
        let refusing = world
            .authz
            .iter()
            .filter(|p| guards_egress(p))
            .filter(|p| p.denies_all_from(who) || p.allows_nothing_from(who))
            .max_by_key(|p| p.created);
        if let Some(p) = refusing
            && !found.iter().any(|(_, h, _)| h == host)
        {
            found.push((p.name.clone(), host.clone(), caller.clone()));
        }
    }
    let mut moved = Vec::new();
    for (policy, host, caller) in found {
        moved.extend(super::moves::move_signals(
            signals,
            &policy,
            |_, s| s.kind == "authorization_denied" && same_component(&s.component, &host),
            |s| {
                format!(
                    "{host} is outside the cluster: the egress gateway refused it, by AuthorizationPolicy {policy}: {}",
                    s.detail
                )
            },
        ));
        signals.push(super::rules::Signal {
            component: policy.clone(),
            kind: "authorization_denied",
            weight: 4.0,
            source: "k8s.authorizationpolicies".into(),
            detail: format!(
                "AuthorizationPolicy {policy} guards the egress gateway and admits none of {caller}'s calls to {host}"
            ),
            at: None,
        });
    }
    moved
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn policy(spec: &str) -> MeshPolicy {
        let doc: Value = serde_json::from_str(&format!(
            r#"{{"metadata":{{"name":"records-api","namespace":"records","creationTimestamp":"2025-01-08T15:26:00Z"}},"spec":{spec}}}"#
        ))
        .unwrap();
        MeshPolicy::from_value(&doc)
    }

    const VISIT: Caller<'static> = Caller {
        namespace: "video",
        service_account: "visit-service",
    };
    const SYNC: Caller<'static> = Caller {
        namespace: "records",
        service_account: "ehr-sync",
    };

    #[test]
    fn an_allow_list_that_leaves_a_caller_out_refuses_it_whatever_its_paths() {
        let p = policy(
            r#"{"action":"ALLOW","selector":{"matchLabels":{"app":"records-api"}},"rules":[{"from":[{"source":{"principals":["cluster.local/ns/clinical/sa/prescriptions","cluster.local/ns/records/sa/ehr-sync"]}}],"to":[{"operation":{"paths":["/v1/*"]}}]}]}"#,
        );
        assert_eq!(p.selector["app"], "records-api");
        assert!(p.allows_nothing_from(VISIT));
        // A listed caller may be admitted (its paths are not known here).
        assert!(!p.allows_nothing_from(SYNC));
        assert!(!p.denies_all_from(VISIT));
    }

    #[test]
    fn namespaces_wildcards_and_trust_domains() {
        let by_ns = policy(r#"{"rules":[{"from":[{"source":{"namespaces":["video"]}}]}]}"#);
        assert_eq!(by_ns.action, "ALLOW");
        assert!(!by_ns.allows_nothing_from(VISIT));
        assert!(by_ns.allows_nothing_from(SYNC));
        let custom_domain =
            policy(r#"{"rules":[{"from":[{"source":{"principals":["prod.acme/ns/video/*"]}}]}]}"#);
        assert!(!custom_domain.allows_nothing_from(VISIT));
        assert!(custom_domain.allows_nothing_from(SYNC));
        // Both fields of one source must hold.
        let both = policy(
            r#"{"rules":[{"from":[{"source":{"namespaces":["video"],"notPrincipals":["*/sa/visit-service"]}}]}]}"#,
        );
        assert!(both.allows_nothing_from(VISIT));
    }

    #[test]
    fn what_cannot_be_read_may_admit_and_an_empty_rule_admits_all() {
        let jwt = policy(r#"{"rules":[{"from":[{"source":{"requestPrincipals":["*"]}}]}]}"#);
        assert!(!jwt.allows_nothing_from(VISIT));
        let open = policy(r#"{"rules":[{}]}"#);
        assert!(!open.allows_nothing_from(VISIT));
        // An ALLOW policy without rules allows nothing.
        let none = policy(r#"{"action":"ALLOW"}"#);
        assert!(none.allows_nothing_from(VISIT));
    }

    #[test]
    fn a_deny_is_blamed_only_when_it_names_the_caller_for_every_request() {
        let named =
            policy(r#"{"action":"DENY","rules":[{"from":[{"source":{"namespaces":["video"]}}]}]}"#);
        assert!(named.denies_all_from(VISIT));
        assert!(!named.denies_all_from(SYNC));
        let admin_only = policy(
            r#"{"action":"DENY","rules":[{"from":[{"source":{"namespaces":["video"]}}],"to":[{"operation":{"paths":["/admin/*"]}}]}]}"#,
        );
        assert!(!admin_only.denies_all_from(VISIT));
        assert!(!admin_only.allows_nothing_from(VISIT));
    }

    #[test]
    fn a_host_outside_the_mesh_is_refused_by_the_egress_gateways_policy() {
        use super::super::rules::Signal;
        use super::super::world::{Pod, World};
        let mut gateway = policy(
            r#"{"selector":{"matchLabels":{"istio":"egressgateway"}},"action":"ALLOW","rules":[
                {"from":[{"source":{"principals":["cluster.local/ns/giving/sa/giving-api-sa"]}}],"to":[{"operation":{"hosts":["api.stripe.com"]}}]},
                {"from":[{"source":{"principals":["cluster.local/ns/mail/sa/receipts"]}}]}]}"#,
        );
        gateway.name = "egressgateway-allowlist".into();
        let mut world = World::default();
        world.authz.push(gateway.clone());
        world.pods.push(Pod {
            name: "giving-api-5d9-x".into(),
            owner: "giving-api".into(),
            namespace: "giving".into(),
            service_account: "giving-api".into(),
            ..Default::default()
        });
        let refused = |host: &str| Signal {
            component: host.into(),
            kind: "authorization_denied",
            weight: 5.0,
            source: "signoz.log_patterns".into(),
            detail: "403 Forbidden: RBAC: access denied".into(),
            at: None,
        };
        let blames = BTreeMap::from([("giving-api".to_string(), "api.stripe.com".to_string())]);
        let mut signals = vec![refused("api.stripe.com")];
        let moved = egress_refusals(&mut signals, &world, &blames);
        assert_eq!(
            moved,
            vec![(
                "api.stripe.com".to_string(),
                "egressgateway-allowlist".to_string()
            )]
        );
        let on_policy: f64 = signals
            .iter()
            .filter(|s| s.component == "egressgateway-allowlist")
            .map(|s| s.weight)
            .sum();
        assert!(on_policy > 5.0, "{signals:?}");
        // A caller the policy admits was refused by someone else.
        world.pods[0].service_account = "giving-api-sa".into();
        let mut signals = vec![refused("api.stripe.com")];
        assert!(egress_refusals(&mut signals, &world, &blames).is_empty());
        // A policy that guards no egress gateway is not on the way out.
        world.pods[0].service_account = "giving-api".into();
        world.authz[0].selector = BTreeMap::from([("app".to_string(), "ledger".to_string())]);
        let mut signals = vec![refused("api.stripe.com")];
        assert!(egress_refusals(&mut signals, &world, &blames).is_empty());
    }
}
