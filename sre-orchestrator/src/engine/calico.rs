//! Calico's own policies: a GlobalNetworkPolicy that drops a caller's
//! packets.
//!
//! Clusters on Calico often keep their blanket rules (a compliance zone's
//! egress allow-list, a default deny) in `GlobalNetworkPolicy` objects
//! rather than in Kubernetes NetworkPolicies: one object, no namespace,
//! applied to whatever its selectors match. The caller sees what it sees
//! with any dropped packet (a connect timeout on a healthy peer), so the
//! engine evaluates these policies the way Felix does, to say whether one
//! of them drops the call:
//!
//! - selectors are Calico's expression language (`compliance == 'pci'`,
//!   `has(team)`, `app in {'a', 'b'}`, `!`, `&&`, `||`, parentheses,
//!   `all()`), matched against a pod's labels (plus the
//!   `projectcalico.org/namespace` Calico adds) or a namespace's (plus
//!   `projectcalico.org/name`);
//! - the policies that apply to an endpoint are evaluated in `order`; the
//!   first rule that matches decides (`Allow`, `Deny`; `Log` goes on);
//! - when policies applied and none decided, the packet is dropped at the
//!   end of the tier, unless Kubernetes NetworkPolicies (which Calico puts
//!   at the end of the default tier) select the endpoint: those decide.
//!
//! The reading is conservative, like [`super::policy`]'s: whatever it
//! cannot evaluate (a rule on service accounts or HTTP, a `Pass` to
//! another tier, policies of several tiers, a namespace whose labels were
//! not read, a port it cannot tell) makes the verdict unknown, and an
//! unknown verdict blames no one.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::policy::{Endpoint, parse_cidr};

/// The resource to list: Calico's GlobalNetworkPolicies (served by the
/// CRD `globalnetworkpolicies.crd.projectcalico.org`, or by the Calico API
/// server as `projectcalico.org/v3`: the bare plural names either).
pub const GLOBAL_NETWORK_POLICIES: &str = "globalnetworkpolicies";

/// The resource to list: Calico's namespaced NetworkPolicies (the Calico
/// API server's `projectcalico.org/v3` group; the bare plural would be
/// Kubernetes' own). Read as a GlobalNetworkPolicy confined to its
/// namespace.
pub const NETWORK_POLICIES: &str = "networkpolicies.projectcalico.org";

/// A Calico selector expression.
#[derive(Debug, Clone, PartialEq)]
enum Sel {
    /// `all()`.
    All,
    /// `global()`: non-namespaced endpoints only, never a pod.
    Global,
    /// `has(key)`.
    Has(String),
    /// `key == 'v'`.
    Eq(String, String),
    /// `key in {'a', 'b'}`.
    In(String, Vec<String>),
    /// `key contains 'v'`, `starts with`, `ends with`.
    Text(String, TextOp, String),
    /// `!expr`.
    Not(Box<Sel>),
    /// `a && b`.
    And(Box<Sel>, Box<Sel>),
    /// `a || b`.
    Or(Box<Sel>, Box<Sel>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TextOp {
    Contains,
    Starts,
    Ends,
}

impl Sel {
    /// Reads a selector; an empty one is `all()`. `None` when it is not
    /// Calico's language as the engine knows it.
    fn parse(text: &str) -> Option<Sel> {
        // Service accounts' labels (`projectcalico.org/serviceaccount`,
        // `pcsa.…`) are not among the pod's labels the engine reads.
        if text.contains("projectcalico.org/serviceaccount") || text.contains("pcsa.") {
            return None;
        }
        let tokens = tokens(text)?;
        if tokens.is_empty() {
            return Some(Sel::All);
        }
        let mut p = Parser { tokens, at: 0 };
        let sel = p.or()?;
        (p.at == p.tokens.len()).then_some(sel)
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Sel::All => true,
            Sel::Global => false,
            Sel::Has(k) => labels.contains_key(k),
            Sel::Eq(k, v) => labels.get(k) == Some(v),
            Sel::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Sel::Text(k, op, t) => labels.get(k).is_some_and(|v| match op {
                TextOp::Contains => v.contains(t.as_str()),
                TextOp::Starts => v.starts_with(t.as_str()),
                TextOp::Ends => v.ends_with(t.as_str()),
            }),
            Sel::Not(s) => !s.matches(labels),
            Sel::And(a, b) => a.matches(labels) && b.matches(labels),
            Sel::Or(a, b) => a.matches(labels) || b.matches(labels),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(&'static str),
}

/// Splits a selector into words, quoted strings and operators.
fn tokens(text: &str) -> Option<Vec<Token>> {
    const PUNCT: &[&str] = &["&&", "||", "==", "!=", "!", "(", ")", "{", "}", ","];
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) {
            out.push(Token::Punct(p));
            rest = &rest[p.len()..];
        } else if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let body = &rest[1..];
            let end = body.find(quote)?;
            out.push(Token::Quoted(body[..end].to_string()));
            rest = &body[end + 1..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
                .unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            out.push(Token::Word(rest[..end].to_string()));
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn eat(&mut self, punct: &str) -> Option<()> {
        matches!(self.next()?, Token::Punct(p) if p == punct).then_some(())
    }

    fn word(&mut self) -> Option<String> {
        match self.next()? {
            Token::Word(w) => Some(w),
            _ => None,
        }
    }

    fn quoted(&mut self) -> Option<String> {
        match self.next()? {
            Token::Quoted(q) => Some(q),
            _ => None,
        }
    }

    fn or(&mut self) -> Option<Sel> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Punct("||")) {
            self.at += 1;
            left = Sel::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Sel> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::Punct("&&")) {
            self.at += 1;
            left = Sel::And(Box::new(left), Box::new(self.unary()?));
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Sel> {
        match self.next()? {
            Token::Punct("!") => Some(Sel::Not(Box::new(self.unary()?))),
            Token::Punct("(") => {
                let inner = self.or()?;
                self.eat(")")?;
                Some(inner)
            }
            Token::Word(w) if self.peek() == Some(&Token::Punct("(")) => {
                self.at += 1;
                let sel = match w.as_str() {
                    "all" => Sel::All,
                    "global" => Sel::Global,
                    "has" => Sel::Has(self.word()?),
                    _ => return None,
                };
                self.eat(")")?;
                Some(sel)
            }
            Token::Word(key) => self.comparison(key),
            _ => None,
        }
    }

    fn comparison(&mut self, key: String) -> Option<Sel> {
        match self.next()? {
            Token::Punct("==") => Some(Sel::Eq(key, self.quoted()?)),
            Token::Punct("!=") => Some(Sel::Not(Box::new(Sel::Eq(key, self.quoted()?)))),
            Token::Word(w) => match w.as_str() {
                "in" => Some(Sel::In(key, self.set()?)),
                "not" => {
                    (self.word()? == "in").then_some(())?;
                    Some(Sel::Not(Box::new(Sel::In(key, self.set()?))))
                }
                "contains" => Some(Sel::Text(key, TextOp::Contains, self.quoted()?)),
                "starts" | "ends" => {
                    (self.word()? == "with").then_some(())?;
                    let op = if w == "starts" {
                        TextOp::Starts
                    } else {
                        TextOp::Ends
                    };
                    Some(Sel::Text(key, op, self.quoted()?))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn set(&mut self) -> Option<Vec<String>> {
        self.eat("{")?;
        let mut values = Vec::new();
        loop {
            match self.next()? {
                Token::Punct("}") => return Some(values),
                Token::Punct(",") => {}
                Token::Quoted(q) => values.push(q),
                _ => return None,
            }
        }
    }
}

/// One side (source or destination) of a rule; `None` fields are absent.
#[derive(Debug, Clone, Default)]
struct Side {
    selector: Option<Sel>,
    not_selector: Option<Sel>,
    namespace_selector: Option<Sel>,
    nets: Vec<(u32, u32)>,
    not_nets: Vec<(u32, u32)>,
    ports: Option<Vec<(u16, u16)>>,
    not_ports: Option<Vec<(u16, u16)>>,
    /// It says something the engine does not evaluate (service accounts,
    /// services, domains, named ports).
    unreadable: bool,
}

/// One rule: its action and what it matches.
#[derive(Debug, Clone)]
struct Rule {
    action: String,
    protocol: Option<String>,
    source: Side,
    destination: Side,
    unreadable: bool,
}

/// One GlobalNetworkPolicy as the engine reads it, or a namespaced Calico
/// NetworkPolicy (`namespace` set), which is one confined to its namespace.
#[derive(Debug, Clone)]
pub struct GlobalPolicy {
    /// Name (`default.pci-egress-allowlist`: the tier is its prefix).
    pub name: String,
    /// The namespace of a namespaced Calico NetworkPolicy.
    pub namespace: Option<String>,
    /// When it was created.
    pub created: Option<Timestamp>,
    tier: String,
    order: f64,
    selector: Option<Sel>,
    namespace_selector: Option<Sel>,
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
    /// A selector it cannot read: it applies to no one the engine knows.
    unreadable: bool,
}

/// A direction of traffic, as policies' `types` name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Direction {
    /// Packets leaving the endpoint.
    Egress,
    /// Packets arriving at it.
    Ingress,
}

fn side_from(v: Option<&Value>) -> Side {
    let Some(v) = v else {
        return Side::default();
    };
    let sel = |key: &str, unreadable: &mut bool| {
        v.get(key).and_then(Value::as_str).and_then(|s| {
            let parsed = Sel::parse(s);
            *unreadable |= parsed.is_none();
            parsed
        })
    };
    let mut unreadable = false;
    let nets = |key: &str, unreadable: &mut bool| -> Vec<(u32, u32)> {
        v.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|n| {
                let parsed = n.as_str().and_then(parse_cidr);
                *unreadable |= parsed.is_none();
                parsed
            })
            .collect()
    };
    let ports = |key: &str, unreadable: &mut bool| -> Option<Vec<(u16, u16)>> {
        let list = v.get(key)?.as_array()?;
        Some(
            list.iter()
                .filter_map(|p| {
                    let range = match p {
                        Value::Number(n) => n.as_u64().map(|n| (n, n)),
                        Value::String(s) => match s.split_once(':') {
                            Some((a, b)) => a.parse().ok().zip(b.parse().ok()),
                            None => s.parse().ok().map(|n| (n, n)),
                        },
                        _ => None,
                    }
                    .and_then(|(a, b)| Some((u16::try_from(a).ok()?, u16::try_from(b).ok()?)));
                    *unreadable |= range.is_none();
                    range
                })
                .collect(),
        )
    };
    let mut side = Side {
        selector: sel("selector", &mut unreadable),
        not_selector: sel("notSelector", &mut unreadable),
        namespace_selector: sel("namespaceSelector", &mut unreadable),
        nets: nets("nets", &mut unreadable),
        not_nets: nets("notNets", &mut unreadable),
        ports: ports("ports", &mut unreadable),
        not_ports: ports("notPorts", &mut unreadable),
        unreadable: false,
    };
    unreadable |= ["serviceAccounts", "services", "domains"]
        .iter()
        .any(|k| v.get(*k).is_some());
    side.unreadable = unreadable;
    side
}

fn rules_from(v: Option<&Value>) -> Vec<Rule> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| Rule {
            action: r
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            protocol: r
                .get("protocol")
                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_uppercase)),
            source: side_from(r.get("source")),
            destination: side_from(r.get("destination")),
            unreadable: ["http", "notProtocol", "icmp", "notICMP"]
                .iter()
                .any(|k| r.get(*k).is_some()),
        })
        .collect()
}

impl GlobalPolicy {
    /// Reads a GlobalNetworkPolicy object (`crd.projectcalico.org/v1` or
    /// `projectcalico.org/v3`: the same spec).
    ///
    /// A namespaced NetworkPolicy's spec is the same, read in its
    /// namespace: it applies to that namespace's pods only, and a rule's
    /// selector with no namespace selector matches pods of that namespace.
    pub fn from_value(doc: &Value) -> GlobalPolicy {
        let mut p = Self::from_spec(doc);
        if let Some(ns) = doc.pointer("/metadata/namespace").and_then(Value::as_str) {
            let here = || Sel::Eq("projectcalico.org/name".into(), ns.to_string());
            p.namespace_selector = Some(here());
            for rule in p.ingress.iter_mut().chain(p.egress.iter_mut()).flatten() {
                for side in [&mut rule.source, &mut rule.destination] {
                    let selects = side.selector.is_some() || side.not_selector.is_some();
                    if selects && side.namespace_selector.is_none() {
                        side.namespace_selector = Some(here());
                    }
                }
            }
            p.namespace = Some(ns.to_string());
        }
        p
    }

    fn from_spec(doc: &Value) -> GlobalPolicy {
        let spec = doc.get("spec").cloned().unwrap_or(Value::Null);
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let sel = |key: &str| spec.get(key).and_then(Value::as_str).map(Sel::parse);
        let selector = sel("selector");
        let namespace_selector = sel("namespaceSelector");
        let types: Vec<&str> = spec
            .get("types")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Without `types`: egress when it has egress rules, ingress when
        // it has ingress rules or no egress rules (Calico's defaulting).
        let has_rules = |rules: &str| spec.get(rules).is_some();
        let has = |t: &str, rules: &str| {
            if types.is_empty() {
                has_rules(rules) || (t == "Ingress" && !has_rules("egress"))
            } else {
                types.contains(&t)
            }
        };
        GlobalPolicy {
            tier: spec
                .get("tier")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
            order: spec
                .get("order")
                .and_then(Value::as_f64)
                .unwrap_or(f64::INFINITY),
            // A selector it cannot read, a selection by service account,
            // or a policy for host endpoints only (pre-DNAT, untracked,
            // forwarded): it applies to no pod the engine can tell.
            unreadable: matches!(selector, Some(None))
                || matches!(namespace_selector, Some(None))
                || [
                    "serviceAccountSelector",
                    "preDNAT",
                    "doNotTrack",
                    "applyOnForward",
                ]
                .iter()
                .any(|k| {
                    spec.get(*k)
                        .is_some_and(|v| v != &Value::Bool(false) && !v.is_null())
                }),
            selector: selector.flatten(),
            namespace_selector: namespace_selector.flatten(),
            ingress: has("Ingress", "ingress").then(|| rules_from(spec.get("ingress"))),
            egress: has("Egress", "egress").then(|| rules_from(spec.get("egress"))),
            created: doc
                .pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok()),
            name,
            namespace: None,
        }
    }

    /// Whether it applies to `end`; `None` when that cannot be told.
    fn applies_to(&self, end: &Labelled<'_>) -> Option<bool> {
        if self.unreadable {
            return None;
        }
        let ns = match &self.namespace_selector {
            Some(sel) => sel.matches(end.ns_labels.as_ref()?),
            None => true,
        };
        Some(
            ns && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&end.labels)),
        )
    }

    fn rules(&self, direction: Direction) -> Option<&[Rule]> {
        match direction {
            Direction::Egress => self.egress.as_deref(),
            Direction::Ingress => self.ingress.as_deref(),
        }
    }
}

/// An endpoint with the labels Calico adds to pods and namespaces.
struct Labelled<'a> {
    labels: BTreeMap<String, String>,
    ns_labels: Option<BTreeMap<String, String>>,
    ip: Option<&'a str>,
}

impl<'a> Labelled<'a> {
    fn new(end: &Endpoint<'a>) -> Labelled<'a> {
        let mut labels = end.labels.clone();
        labels.insert("projectcalico.org/namespace".into(), end.namespace.into());
        labels.insert("projectcalico.org/orchestrator".into(), "k8s".into());
        let ns_labels = end.ns_labels.map(|l| {
            let mut l = l.clone();
            l.insert("projectcalico.org/name".into(), end.namespace.into());
            l
        });
        Labelled {
            labels,
            ns_labels,
            ip: end.ip,
        }
    }
}

/// Three-valued and: false wins, then unknown.
fn all_of(parts: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for p in parts {
        match p {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    (!unknown).then_some(true)
}

impl Side {
    /// Whether it matches `end`, reached on one of `ports` (only the
    /// destination has ports; which one the caller used is not known, so
    /// a port list matches when it holds them all and fails when it holds
    /// none of them).
    fn matches(&self, end: &Labelled<'_>, ports: &[u16]) -> Option<bool> {
        if self.unreadable {
            return None;
        }
        let in_nets = |nets: &[(u32, u32)]| -> Option<bool> {
            let ip = u32::from(end.ip?.parse::<std::net::Ipv4Addr>().ok()?);
            Some(nets.iter().any(|(net, mask)| ip & mask == net & mask))
        };
        let in_ports = |list: &[(u16, u16)]| -> Option<bool> {
            let held = ports
                .iter()
                .filter(|p| list.iter().any(|(a, b)| (*a..=*b).contains(*p)))
                .count();
            match held {
                0 if !ports.is_empty() => Some(false),
                n if n == ports.len() && n > 0 => Some(true),
                _ => None,
            }
        };
        let namespace = match &self.namespace_selector {
            Some(sel) => end.ns_labels.as_ref().map(|l| sel.matches(l)),
            None => Some(true),
        };
        let selector = |s: &Option<Sel>, want: bool| {
            s.as_ref()
                .map_or(Some(true), |s| Some(s.matches(&end.labels) == want))
        };
        let nets = |list: &[(u32, u32)], want: bool| {
            if list.is_empty() {
                Some(true)
            } else {
                in_nets(list).map(|b| b == want)
            }
        };
        let port_list = |list: &Option<Vec<(u16, u16)>>, want: bool| {
            list.as_deref()
                .map_or(Some(true), |l| in_ports(l).map(|b| b == want))
        };
        all_of([
            namespace,
            selector(&self.selector, true),
            selector(&self.not_selector, false),
            nets(&self.nets, true),
            nets(&self.not_nets, false),
            port_list(&self.ports, true),
            port_list(&self.not_ports, false),
        ])
    }
}

impl Rule {
    /// Whether it matches a TCP connection from `src` to `dst` on one of
    /// `ports`.
    fn matches(&self, src: &Labelled<'_>, dst: &Labelled<'_>, ports: &[u16]) -> Option<bool> {
        if self.unreadable {
            return None;
        }
        if let Some(p) = &self.protocol
            && p != "TCP"
            && p != "6"
        {
            return Some(false);
        }
        all_of([
            self.source.matches(src, &[]),
            self.destination.matches(dst, ports),
        ])
    }
}

/// What Calico's GlobalNetworkPolicies decide for a connection.
#[derive(Debug)]
pub enum Verdict<'a> {
    /// None of them applies to the endpoint.
    NoPolicy,
    /// A rule allows it.
    Allowed,
    /// This policy denies it, by a rule or at the end of its tier.
    Denied(&'a GlobalPolicy),
    /// It cannot be told.
    Unknown,
}

/// What `policies` decide for a TCP connection from `caller` to `callee`
/// on one of `ports`, in `direction` (egress: the policies that apply to
/// the caller; ingress: those that apply to the callee). `k8s_selects`:
/// Kubernetes NetworkPolicies select the endpoint in that direction, so
/// they, at the end of the default tier, decide what no rule here did.
pub fn verdict<'p>(
    policies: &'p [GlobalPolicy],
    direction: Direction,
    caller: &Endpoint<'_>,
    callee: &Endpoint<'_>,
    ports: &[u16],
    k8s_selects: bool,
) -> Verdict<'p> {
    let (src, dst) = (Labelled::new(caller), Labelled::new(callee));
    let endpoint = match direction {
        Direction::Egress => &src,
        Direction::Ingress => &dst,
    };
    let mut applying: Vec<&GlobalPolicy> = Vec::new();
    for p in policies.iter().filter(|p| p.rules(direction).is_some()) {
        match p.applies_to(endpoint) {
            Some(true) => applying.push(p),
            Some(false) => {}
            None => return Verdict::Unknown,
        }
    }
    let Some(tier) = applying.first().map(|p| p.tier.clone()) else {
        return Verdict::NoPolicy;
    };
    if applying.iter().any(|p| p.tier != tier) {
        return Verdict::Unknown;
    }
    applying.sort_by(|a, b| {
        a.order
            .total_cmp(&b.order)
            .then_with(|| a.name.cmp(&b.name))
    });
    for p in &applying {
        // Kubernetes' policies come at order 1000: past them, they decide.
        if k8s_selects && p.order >= 1000.0 {
            return Verdict::Unknown;
        }
        for rule in p.rules(direction).unwrap_or_default() {
            match rule.matches(&src, &dst, ports) {
                Some(false) => continue,
                None => return Verdict::Unknown,
                Some(true) => match rule.action.as_str() {
                    "Allow" => return Verdict::Allowed,
                    "Deny" => return Verdict::Denied(p),
                    "Log" => continue,
                    _ => return Verdict::Unknown,
                },
            }
        }
    }
    if k8s_selects || tier != "default" {
        return Verdict::Unknown;
    }
    // Dropped at the end of the tier: the newest of the policies that
    // applied is the change.
    applying
        .into_iter()
        .max_by_key(|p| p.created)
        .map_or(Verdict::Unknown, Verdict::Denied)
}

#[cfg(test)]
#[path = "calico_tests.rs"]
mod tests;
