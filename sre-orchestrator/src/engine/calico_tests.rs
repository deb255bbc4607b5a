//! Tests of `calico`: the selector language and the order of evaluation.

use std::collections::BTreeMap;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn selectors_read_as_calico_writes_them() {
    let pod = labels(&[
        ("app", "payments-api"),
        ("compliance", "pci"),
        ("tier", "backend"),
    ]);
    let yes = [
        "",
        "all()",
        "compliance == 'pci'",
        "app != \"fraud\"",
        "has(tier) && !has(canary)",
        "app in {'payments-api', 'refunds'}",
        "app not in {'fraud'}",
        "(app == 'x' || tier == 'backend') && compliance == 'pci'",
        "app starts with 'pay' && app ends with 'api' && app contains 'ments'",
    ];
    for s in yes {
        let sel = Sel::parse(s).unwrap_or_else(|| panic!("{s} parses"));
        assert!(sel.matches(&pod), "{s} selects the pod");
    }
    let no = [
        "global()",
        "compliance != 'pci'",
        "has(canary)",
        "app in {'fraud'}",
        "!(tier == 'backend')",
    ];
    for s in no {
        let sel = Sel::parse(s).unwrap_or_else(|| panic!("{s} parses"));
        assert!(!sel.matches(&pod), "{s} does not select the pod");
    }
    for bad in ["app ==", "app = 'x'", "has(app", "app in {'a'", "app ~ 'x'"] {
        assert_eq!(Sel::parse(bad), None, "{bad} is not read");
    }
}

/// The egress allow-list of a compliance zone: DNS, the zone itself and
/// the card network are allowed, everything else is denied.
fn allowlist(created: &str) -> GlobalPolicy {
    GlobalPolicy::from_value(&serde_json::json!({
        "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "default.pci-egress-allowlist", "creationTimestamp": created},
        "spec": {
            "tier": "default", "order": 100,
            "namespaceSelector": "compliance == 'pci'",
            "types": ["Egress"],
            "egress": [
                {"action": "Allow", "protocol": "UDP",
                 "destination": {"selector": "k8s-app == 'kube-dns'", "ports": [53]}},
                {"action": "Allow", "destination": {"namespaceSelector": "compliance == 'pci'"}},
                {"action": "Allow", "protocol": "TCP",
                 "destination": {"nets": ["203.0.113.0/24"], "ports": [443]}},
                {"action": "Deny"}
            ]
        }
    }))
}

#[test]
fn a_zone_allowlist_denies_what_it_does_not_list() {
    let policies = [allowlist("2025-05-14T19:16:00Z")];
    let pci = labels(&[("compliance", "pci")]);
    let open = labels(&[("team", "risk")]);
    let caller_labels = labels(&[("app", "payments-api")]);
    let callee_labels = labels(&[("app", "fraud-scorer")]);
    let caller = Endpoint {
        namespace: "payments",
        ns_labels: Some(&pci),
        labels: &caller_labels,
        ip: Some("10.244.1.10"),
    };
    let fraud = Endpoint {
        namespace: "fraud",
        ns_labels: Some(&open),
        labels: &callee_labels,
        ip: Some("10.244.2.20"),
    };
    let vault = Endpoint {
        namespace: "vault-pci",
        ns_labels: Some(&pci),
        ..fraud
    };
    let run = |callee: &Endpoint<'_>, k8s: bool| match verdict(
        &policies,
        Direction::Egress,
        &caller,
        callee,
        &[8443],
        k8s,
    ) {
        Verdict::Denied(p) => format!("denied by {}", p.name),
        other => format!("{other:?}"),
    };
    assert_eq!(run(&fraud, false), "denied by default.pci-egress-allowlist");
    assert_eq!(run(&vault, false), "Allowed");
    // The policy does not apply to callers outside the zone.
    let outside = Endpoint {
        ns_labels: Some(&open),
        ..caller
    };
    assert_eq!(
        format!(
            "{:?}",
            verdict(
                &policies,
                Direction::Egress,
                &outside,
                &fraud,
                &[8443],
                false
            )
        ),
        "NoPolicy"
    );
    // Namespace labels not read: nothing can be told.
    let unread = Endpoint {
        ns_labels: None,
        ..caller
    };
    assert_eq!(
        format!(
            "{:?}",
            verdict(
                &policies,
                Direction::Egress,
                &unread,
                &fraud,
                &[8443],
                false
            )
        ),
        "Unknown"
    );
    // Ingress is not this policy's business.
    assert_eq!(
        format!(
            "{:?}",
            verdict(
                &policies,
                Direction::Ingress,
                &caller,
                &fraud,
                &[8443],
                false
            )
        ),
        "NoPolicy"
    );
}

#[test]
fn the_end_of_the_tier_drops_what_no_rule_allowed_unless_kubernetes_policies_decide() {
    let policies = [GlobalPolicy::from_value(&serde_json::json!({
        "metadata": {"name": "default.allow-scrape", "creationTimestamp": "2024-04-09T19:33:00Z"},
        "spec": {"order": 50, "selector": "all()", "types": ["Ingress"],
                 "ingress": [{"action": "Allow", "protocol": "TCP",
                              "source": {"namespaceSelector": "projectcalico.org/name == 'monitoring'"}}]}
    }))];
    let ns = labels(&[]);
    let app = labels(&[("app", "api")]);
    let client = Endpoint {
        namespace: "web",
        ns_labels: Some(&ns),
        labels: &app,
        ip: None,
    };
    let server = Endpoint {
        namespace: "api",
        ..client
    };
    let prometheus = Endpoint {
        namespace: "monitoring",
        ..client
    };
    let run = |src: &Endpoint<'_>, k8s: bool| {
        format!(
            "{:?}",
            verdict(&policies, Direction::Ingress, src, &server, &[8080], k8s)
        )
    };
    assert_eq!(run(&prometheus, false), "Allowed");
    assert!(run(&client, false).starts_with("Denied"));
    assert_eq!(run(&client, true), "Unknown");
}

#[test]
fn rules_it_cannot_evaluate_blame_no_one() {
    let policies = [GlobalPolicy::from_value(&serde_json::json!({
        "metadata": {"name": "default.by-account"},
        "spec": {"selector": "all()", "types": ["Egress"],
                 "egress": [{"action": "Allow", "destination": {"serviceAccounts": {"names": ["x"]}}},
                            {"action": "Deny"}]}
    }))];
    let ns = labels(&[]);
    let app = labels(&[("app", "api")]);
    let end = Endpoint {
        namespace: "web",
        ns_labels: Some(&ns),
        labels: &app,
        ip: None,
    };
    assert_eq!(
        format!(
            "{:?}",
            verdict(&policies, Direction::Egress, &end, &end, &[80], false)
        ),
        "Unknown"
    );
}

/// Without `types`, a policy with egress rules only is an egress policy:
/// it says nothing of the traffic arriving at the pods it selects.
#[test]
fn without_types_egress_rules_make_an_egress_policy_only() {
    let policies = [GlobalPolicy::from_value(&serde_json::json!({
        "metadata": {"name": "default.egress-only"},
        "spec": {"selector": "all()", "egress": [{"action": "Deny"}]}
    }))];
    let ns = labels(&[]);
    let app = labels(&[("app", "api")]);
    let end = Endpoint {
        namespace: "web",
        ns_labels: Some(&ns),
        labels: &app,
        ip: None,
    };
    let run = |d| format!("{:?}", verdict(&policies, d, &end, &end, &[80], false));
    assert_eq!(run(Direction::Ingress), "NoPolicy");
    assert!(run(Direction::Egress).starts_with("Denied"));
}

/// A namespaced Calico NetworkPolicy applies to its namespace's pods
/// only, and a rule's selector without a namespace selector matches pods
/// of its namespace: the same labels elsewhere are not admitted.
#[test]
fn a_namespaced_policy_is_confined_to_its_namespace() {
    let policy = GlobalPolicy::from_value(&serde_json::json!({
        "kind": "NetworkPolicy",
        "metadata": {"name": "opensearch-allow-indexers", "namespace": "search",
                     "creationTimestamp": "2026-11-03T14:21:31Z"},
        "spec": {
            "tier": "default", "order": 100,
            "selector": "app.kubernetes.io/instance == 'opensearch'",
            "types": ["Ingress"],
            "ingress": [
                {"action": "Allow", "protocol": "TCP", "destination": {"ports": [9200]},
                 "source": {"namespaceSelector": "kubernetes.io/metadata.name == 'processing'",
                            "selector": "app.kubernetes.io/name == 'index-writer'"}},
                {"action": "Allow", "protocol": "TCP", "destination": {"ports": [9200, 9300]},
                 "source": {"selector": "app.kubernetes.io/instance == 'opensearch'"}}
            ]
        }
    }));
    assert_eq!(policy.namespace.as_deref(), Some("search"));
    let policies = [policy];
    let ns = |name: &str| labels(&[("kubernetes.io/metadata.name", name)]);
    let (search, review, processing) = (ns("search"), ns("review"), ns("processing"));
    let opensearch = labels(&[("app.kubernetes.io/instance", "opensearch")]);
    let writer = labels(&[("app.kubernetes.io/name", "index-writer")]);
    let other = labels(&[("app.kubernetes.io/name", "search-api")]);
    let end = |namespace, ns_labels, labels| Endpoint {
        namespace,
        ns_labels: Some(ns_labels),
        labels,
        ip: None,
    };
    let callee = end("search", &search, &opensearch);
    let run = |caller: &Endpoint<'_>, callee: &Endpoint<'_>| match verdict(
        &policies,
        Direction::Ingress,
        caller,
        callee,
        &[9200],
        false,
    ) {
        Verdict::Denied(p) => format!("denied by {}", p.name),
        v => format!("{v:?}"),
    };
    assert_eq!(
        run(&end("review", &review, &other), &callee),
        "denied by opensearch-allow-indexers"
    );
    assert_eq!(
        run(&end("processing", &processing, &writer), &callee),
        "Allowed"
    );
    assert_eq!(
        run(&end("search", &search, &opensearch), &callee),
        "Allowed"
    );
    // The opensearch label in another namespace is not the policy's own.
    assert_eq!(
        run(&end("review", &review, &opensearch), &callee),
        "denied by opensearch-allow-indexers"
    );
    // Pods with the selected labels in another namespace: not its business.
    assert_eq!(
        run(
            &end("review", &review, &other),
            &end("review", &review, &opensearch)
        ),
        "NoPolicy"
    );
}
