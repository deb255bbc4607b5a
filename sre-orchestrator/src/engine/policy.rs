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
    /// The TCP ports each `from` entry is admitted on (same order; `None`:
    /// any port, or ports the engine cannot read, such as a named port).
    pub from_ports: Vec<Option<Vec<(u16, u16)>>>,
    /// Whether it restricts egress.
    pub egress_restricted: bool,
    /// Each `to` peer, read like `from`.
    pub to: Vec<Option<PolicyPeer>>,
    /// The TCP ports each `to` entry is permitted on, read like
    /// `from_ports`: the destination pod's ports (after a Service's
    /// translation, so a rule on a Service's port 80 does not reach pods
    /// that listen on 8080).
    pub to_ports: Vec<Option<Vec<(u16, u16)>>>,
    /// When it was created.
    pub created: Option<Timestamp>,
}

/// A `from` or `to` peer the engine can evaluate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyPeer {
    /// The namespaces its pods must be in: `None` for the policy's own (a
    /// bare `podSelector`), else a selector on the namespaces' labels.
    pub namespaces: Option<LabelSelector>,
    /// The pods it requires (an empty selector: every pod).
    pub pods: LabelSelector,
    /// An `ipBlock` instead: a CIDR and its exceptions (IPv4).
    pub ip_block: Option<IpBlock>,
}

/// An IPv4 `ipBlock`: addresses in `cidr` and in none of `except`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IpBlock {
    cidr: (u32, u32),
    except: [(u32, u32); 4],
    excepts: usize,
}

impl IpBlock {
    fn parse(v: &Value) -> Option<IpBlock> {
        let cidr = parse_cidr(v.get("cidr")?.as_str()?)?;
        let mut block = IpBlock {
            cidr,
            ..IpBlock::default()
        };
        for e in v
            .get("except")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // More exceptions than this reads as "may admit".
            if block.excepts == block.except.len() {
                return None;
            }
            block.except[block.excepts] = parse_cidr(e.as_str()?)?;
            block.excepts += 1;
        }
        Some(block)
    }

    /// Whether it holds `ip`.
    pub fn holds(&self, ip: &str) -> Option<bool> {
        let ip = u32::from(ip.parse::<std::net::Ipv4Addr>().ok()?);
        let within = |(net, mask): (u32, u32)| ip & mask == net & mask;
        Some(within(self.cidr) && !self.except[..self.excepts].iter().any(|e| within(*e)))
    }
}

/// `10.0.0.0/8` as (network, mask).
pub(super) fn parse_cidr(text: &str) -> Option<(u32, u32)> {
    let (addr, bits) = text.split_once('/')?;
    let addr = u32::from(addr.parse::<std::net::Ipv4Addr>().ok()?);
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some((addr, mask))
}

/// One end of a connection, as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// That namespace's labels, when read.
    pub ns_labels: Option<&'a BTreeMap<String, String>>,
    /// The pod's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// The pod's IP, when known.
    pub ip: Option<&'a str>,
}

impl PolicyPeer {
    /// Whether it covers `end`; a peer rule of policy namespace `home`.
    fn covers(&self, home: &str, end: &Endpoint<'_>) -> bool {
        if let Some(block) = &self.ip_block {
            // Pod-to-pod traffic keeps the pod's address; unknown: may admit.
            return end.ip.and_then(|ip| block.holds(ip)).unwrap_or(true);
        }
        let in_namespace = match &self.namespaces {
            None => home == end.namespace,
            Some(sel) => match (sel.named_namespace(), end.ns_labels) {
                (Some(named), _) => named == end.namespace,
                (None, Some(ns_labels)) => sel.matches(ns_labels),
                (None, None) => true,
            },
        };
        in_namespace && self.pods.matches(end.labels)
    }
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
        self.admits_from(&Endpoint {
            namespace,
            ns_labels,
            labels,
            ip: None,
        })
    }

    /// Whether it admits ingress from `client`.
    pub fn admits_from(&self, client: &Endpoint<'_>) -> bool {
        self.admits_on(client, None)
    }

    /// Whether it admits ingress from `client` on one of `ports` (the
    /// ports the call may use; `None`: unknown, any rule's ports may do).
    pub fn admits_on(&self, client: &Endpoint<'_>, ports: Option<&[u16]>) -> bool {
        !self.ingress_restricted
            || any_rule(&self.from, &self.from_ports, ports, |peer| {
                peer.covers(&self.namespace, client)
            })
    }

    /// Whether it lets the pods it selects reach `server`.
    pub fn permits_to(&self, server: &Endpoint<'_>) -> bool {
        self.permits_on(server, None)
    }

    /// Whether it lets the pods it selects reach `server` on one of
    /// `ports`, the server pod's own (`None`: unknown, any rule's ports
    /// may do).
    pub fn permits_on(&self, server: &Endpoint<'_>, ports: Option<&[u16]>) -> bool {
        !self.egress_restricted
            || any_rule(&self.to, &self.to_ports, ports, |peer| {
                peer.covers(&self.namespace, server)
            })
    }
}

/// Whether any rule's peer (`None`: one the engine cannot evaluate, or a
/// rule without peers: it may match) `covers` the other end, on one of
/// `ports` when both those and the rule's ports are known.
fn any_rule(
    peers: &[Option<PolicyPeer>],
    rule_ports: &[Option<Vec<(u16, u16)>>],
    ports: Option<&[u16]>,
    covers: impl Fn(&PolicyPeer) -> bool,
) -> bool {
    peers.iter().enumerate().any(|(i, peer)| {
        let on_port = match (rule_ports.get(i).and_then(Option::as_deref), ports) {
            (Some(ranges), Some(ports)) if !ports.is_empty() => ports
                .iter()
                .any(|p| ranges.iter().any(|(lo, hi)| lo <= p && p <= hi)),
            _ => true,
        };
        on_port && peer.as_ref().is_none_or(&covers)
    })
}

/// A `from` peer, when it can be evaluated.
fn policy_peer(p: &Value) -> Option<PolicyPeer> {
    if let Some(block) = p.get("ipBlock") {
        return Some(PolicyPeer {
            ip_block: Some(IpBlock::parse(block)?),
            ..PolicyPeer::default()
        });
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
    Some(PolicyPeer {
        namespaces,
        pods,
        ip_block: None,
    })
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
    // Without policyTypes, a policy restricts ingress, and egress when it
    // has egress rules.
    let ingress_restricted = types.contains(&"Ingress") || types.is_empty();
    let egress_restricted =
        types.contains(&"Egress") || (types.is_empty() && v.pointer("/spec/egress").is_some());
    // A rule without peers admits everyone (on its ports).
    let peers = |rules: &str, side: &str| -> Vec<Option<PolicyPeer>> {
        let mut out = Vec::new();
        for rule in v
            .pointer(rules)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match rule.get(side).and_then(Value::as_array) {
                None => out.push(None),
                Some(peers) => out.extend(peers.iter().map(policy_peer)),
            }
        }
        out
    };
    let from = peers("/spec/ingress", "from");
    // The TCP ports of each rule, repeated for each of its peers. A rule
    // without ports admits on every port; a named port cannot be read
    // here (it names a container's port): any port.
    let ports_of = |rules: &str, side: &str| -> Vec<Option<Vec<(u16, u16)>>> {
        let mut out = Vec::new();
        for rule in v
            .pointer(rules)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ports: Option<Vec<(u16, u16)>> = rule
                .get("ports")
                .and_then(Value::as_array)
                .and_then(|ports| {
                    let mut tcp = Vec::new();
                    for p in ports {
                        let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                        let port = p.get("port")?;
                        let lo = u16::try_from(port.as_u64()?).ok()?;
                        let hi = p
                            .get("endPort")
                            .and_then(Value::as_u64)
                            .and_then(|e| u16::try_from(e).ok())
                            .unwrap_or(lo);
                        if protocol == "TCP" {
                            tcp.push((lo, hi));
                        }
                    }
                    Some(tcp)
                });
            let n = match rule.get(side).and_then(Value::as_array) {
                None => 1,
                Some(peers) => peers.len(),
            };
            out.extend(std::iter::repeat_n(ports, n));
        }
        out
    };
    let from_ports = ports_of("/spec/ingress", "from");
    let to_ports = ports_of("/spec/egress", "to");
    let to = peers("/spec/egress", "to");
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
        from_ports,
        egress_restricted,
        to,
        to_ports,
        created: str_at("/metadata/creationTimestamp").parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    /// An egress rule's port is the destination pod's: a rule on the
    /// Service's port 80 does not reach pods listening on 8080.
    #[test]
    fn egress_ports_are_the_destination_pods() {
        let p = policy_from(&serde_json::json!({
            "metadata": {"name": "tiles-egress-restrict", "namespace": "tiles"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "rook-ceph"}},
                         "podSelector": {"matchLabels": {"app": "rook-ceph-rgw"}}}],
                 "ports": [{"port": 80, "protocol": "TCP"}]}
            ]}
        }));
        let ns: BTreeMap<String, String> = [(
            "kubernetes.io/metadata.name".to_string(),
            "rook-ceph".to_string(),
        )]
        .into();
        let labels: BTreeMap<String, String> =
            [("app".to_string(), "rook-ceph-rgw".to_string())].into();
        let rgw = Endpoint {
            namespace: "rook-ceph",
            ns_labels: Some(&ns),
            labels: &labels,
            ip: None,
        };
        assert!(!p.permits_on(&rgw, Some(&[8080])));
        assert!(p.permits_on(&rgw, Some(&[80])));
        assert!(p.permits_on(&rgw, None), "an unknown port may be permitted");
    }

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
        let from = |ip| Endpoint {
            namespace: "elsewhere",
            ns_labels: None,
            labels: &any,
            ip: Some(ip),
        };
        assert!(cidr.admits_from(&from("10.1.2.3")));
        assert!(!cidr.admits_from(&from("192.168.0.1")));
    }

    #[test]
    fn egress_rules_decide_what_the_selected_pods_may_reach() {
        // A namespace-wide baseline: DNS, the own namespace, the collector,
        // and the internet but no private range.
        let p = policy_from(&json!({
            "metadata": {"name": "default-egress", "namespace": "forms"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}]},
                {"to": [{"podSelector": {}}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                     "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}]}
            ]}
        }));
        assert!(p.egress_restricted && !p.ingress_restricted);
        let app = lbl(&[("app", "store")]);
        let at = |namespace, ip| Endpoint {
            namespace,
            ns_labels: None,
            labels: &app,
            ip,
        };
        assert!(p.permits_to(&at("forms", Some("10.4.0.7"))));
        assert!(!p.permits_to(&at("records", Some("10.4.1.9"))));
        assert!(p.permits_to(&at("elsewhere", Some("52.1.2.3"))));
        // Without the server's address the ipBlock may admit.
        assert!(p.permits_to(&at("records", None)));
    }

    #[test]
    fn a_rule_admits_only_on_its_ports() {
        let p = policy_from(&json!({
            "metadata": {"name": "media-ingress-allowlist", "namespace": "media"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "meet"}},
                           "podSelector": {"matchLabels": {"app": "room-service"}}}],
                 "ports": [{"port": 7880}, {"port": 7881, "protocol": "TCP"}]},
                {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                 "ports": [{"port": 50000, "endPort": 60000, "protocol": "UDP"}, {"port": 3478}]},
                {"from": [{"podSelector": {"matchLabels": {"app": "probe"}}}], "ports": [{"port": "http"}]}
            ]}
        }));
        let meet = lbl(&[("kubernetes.io/metadata.name", "meet")]);
        let room = lbl(&[("app", "room-service")]);
        let end = Endpoint {
            namespace: "meet",
            ns_labels: Some(&meet),
            labels: &room,
            ip: Some("10.0.0.7"),
        };
        // The Service's ports 9090 and 8080: no rule admits TCP there.
        assert!(!p.admits_on(&end, Some(&[9090, 8080])));
        assert!(p.admits_on(&end, Some(&[7881])));
        // 3478/TCP from anywhere; unknown ports: any rule may do.
        assert!(p.admits_on(&end, Some(&[3478])));
        assert!(p.admits_on(&end, None));
        // A named port is not read: it may admit its peers on any port.
        let probe = lbl(&[("app", "probe")]);
        let media = lbl(&[("kubernetes.io/metadata.name", "media")]);
        let same_ns = Endpoint {
            namespace: "media",
            ns_labels: Some(&media),
            labels: &probe,
            ip: None,
        };
        assert!(p.admits_on(&same_ns, Some(&[9090])));
    }
}
