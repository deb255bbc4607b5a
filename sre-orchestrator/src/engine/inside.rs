//! Reading inside workloads: pods, containers, their logs and events.
//!
//! `workload_health` says *that* something is failing; an engineer then
//! opens the pod: the container's waiting reason and message, the last
//! termination's reason, exit code and message, the scheduler's words, the
//! kubelet's probe events, and the logs of the crashed container. This
//! module reads those texts, in the objects' JSON (`list … output=json`) and
//! the `events` and `logs` tools' text, through the signature catalogue
//! ([`super::signatures`]), so a failure is named by what the software said
//! rather than by a keyword list written for one fixture.
//!
//! It also builds the small model of the cluster the ranking needs: which
//! workload owns which pod, on which node; which Service selects which pods;
//! which address belongs to what. Errors often name a peer by IP
//! (`dial tcp 10.96.14.22:5432`), so an error is attributed only after its
//! address is resolved to a Service or a pod.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use super::collect::EvidencePack;
use super::rules::{Signal, owner_of, same_component};
use super::signatures::{Catalogue, Culprit, Field, Hit, KINDS};
use crate::rca::TimelineEvent;

/// One container's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Whether it is ready.
    pub ready: bool,
    /// Restarts.
    pub restarts: i64,
    /// `state.waiting` reason and message.
    pub waiting: Option<(String, String)>,
    /// `state.terminated` or, failing that, `lastState.terminated`: reason,
    /// exit code, message.
    pub terminated: Option<(String, i64, String)>,
    /// Whether it is running now.
    pub running: bool,
}

/// One pod, as much of it as the engine reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Owning workload's name (Deployment, StatefulSet, Job, DaemonSet…).
    pub owner: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Node, when scheduled.
    pub node: Option<String>,
    /// Pod IP.
    pub ip: Option<String>,
    /// Phase.
    pub phase: String,
    /// Containers, init containers first.
    pub containers: Vec<Container>,
    /// Claims it mounts.
    pub claims: Vec<String>,
    /// The `PodScheduled=False` message, when unscheduled.
    pub unscheduled: Option<String>,
    /// When it was created.
    pub created: Option<Timestamp>,
}

impl Pod {
    /// Whether anything about it is unhealthy.
    pub fn unhealthy(&self) -> bool {
        self.phase == "Pending"
            || self.phase == "Failed"
            || self
                .containers
                .iter()
                .any(|c| c.restarts > 0 || c.waiting.is_some() || (!c.init && !c.ready))
    }
}

/// One Service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Selector.
    pub selector: BTreeMap<String, String>,
    /// ClusterIP.
    pub cluster_ip: Option<String>,
}

/// One NetworkPolicy's ingress side (matchLabels only; expressions and IP
/// blocks are read as "may admit", so a policy is never blamed on a rule it
/// cannot read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The pods it selects.
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
    /// The namespace its pods must be in: the policy's own for a bare
    /// `podSelector`, the one a `namespaceSelector` names by its
    /// `kubernetes.io/metadata.name` label.
    pub namespace: Option<String>,
    /// The pod labels it requires (empty: every pod of that namespace).
    pub pods: BTreeMap<String, String>,
}

impl Policy {
    /// Whether it admits ingress from a pod of `namespace` with `labels`.
    pub fn admits(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        !self.ingress_restricted
            || self.from.iter().any(|f| match f {
                None => true,
                Some(peer) => {
                    peer.namespace.as_deref().unwrap_or(&self.namespace) == namespace
                        && selects(&peer.pods, labels)
                }
            })
    }
}

/// Whether a matchLabels selector selects `labels` (an empty one selects all).
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// One Kubernetes event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `Warning` or `Normal`.
    pub kind_of_event: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// The involved object's kind.
    pub object_kind: String,
    /// The involved object's name.
    pub object: String,
    /// The involved object's namespace.
    pub namespace: String,
    /// How many times it happened.
    pub count: i64,
    /// First seen.
    pub first: Option<Timestamp>,
    /// Last seen.
    pub last: Option<Timestamp>,
}

fn event_from(v: &Value) -> Event {
    let time = |ptrs: &[&str]| {
        ptrs.iter()
            .find_map(|p| str_at(v, p))
            .and_then(|t| t.parse().ok())
    };
    Event {
        kind_of_event: str_at(v, "/type").unwrap_or("Normal").to_string(),
        reason: str_at(v, "/reason").unwrap_or("").to_string(),
        message: str_at(v, "/message").unwrap_or("").to_string(),
        object_kind: str_at(v, "/involvedObject/kind").unwrap_or("").to_string(),
        object: str_at(v, "/involvedObject/name").unwrap_or("").to_string(),
        namespace: str_at(v, "/involvedObject/namespace")
            .or_else(|| str_at(v, "/metadata/namespace"))
            .unwrap_or("")
            .to_string(),
        count: v
            .get("count")
            .and_then(Value::as_i64)
            .or_else(|| v.pointer("/series/count").and_then(Value::as_i64))
            .unwrap_or(1),
        first: time(&[
            "/firstTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]),
        last: time(&[
            "/lastTimestamp",
            "/series/lastObservedTime",
            "/eventTime",
            "/firstTimestamp",
        ]),
    }
}

/// The cluster as far as the evidence pack shows it.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Pods.
    pub pods: Vec<Pod>,
    /// Services.
    pub services: Vec<Service>,
    /// NetworkPolicies.
    pub policies: Vec<Policy>,
    /// Events of the namespace in scope.
    pub events: Vec<Event>,
}

fn json_docs(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn labels_at(v: &Value, ptr: &str) -> BTreeMap<String, String> {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A ReplicaSet's Deployment: `web-7d9f8b6c5d` → `web`.
fn replicaset_owner(rs: &str) -> String {
    match rs.rsplit_once('-') {
        Some((head, hash))
            if (6..=10).contains(&hash.len())
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"bcdfghjklmnpqrstvwxz".contains(&b)) =>
        {
            head.to_string()
        }
        _ => rs.to_string(),
    }
}

/// A Job's CronJob: the CronJob controller names each Job
/// `<cronjob>-<scheduled time in minutes since the epoch>`
/// (`report-builder-29164818` → `report-builder`); other Jobs are their
/// own owner.
fn job_owner(job: &str) -> String {
    match job.rsplit_once('-') {
        Some((head, minutes))
            if minutes.len() >= 8 && minutes.bytes().all(|b| b.is_ascii_digit()) =>
        {
            head.to_string()
        }
        _ => job.to_string(),
    }
}

fn pod_from(v: &Value) -> Pod {
    let name = str_at(v, "/metadata/name").unwrap_or("").to_string();
    let owner = v
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
        .map(|o| {
            let n = str_at(o, "/name").unwrap_or("");
            match str_at(o, "/kind") {
                Some("ReplicaSet") => replicaset_owner(n),
                Some("Job") => job_owner(n),
                _ => n.to_string(),
            }
        })
        .unwrap_or_else(|| owner_of(&name));
    let mut containers = Vec::new();
    for (ptr, init) in [
        ("/status/initContainerStatuses", true),
        ("/status/containerStatuses", false),
    ] {
        for c in v
            .pointer(ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let term = |p: &str| {
                c.pointer(p).map(|t| {
                    (
                        str_at(t, "/reason").unwrap_or("Terminated").to_string(),
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
                        str_at(t, "/message").unwrap_or("").to_string(),
                    )
                })
            };
            containers.push(Container {
                name: str_at(c, "/name").unwrap_or("").to_string(),
                init,
                ready: c.get("ready").and_then(Value::as_bool).unwrap_or(false),
                restarts: c.get("restartCount").and_then(Value::as_i64).unwrap_or(0),
                waiting: c.pointer("/state/waiting").map(|w| {
                    (
                        str_at(w, "/reason").unwrap_or("").to_string(),
                        str_at(w, "/message").unwrap_or("").to_string(),
                    )
                }),
                terminated: term("/state/terminated").or_else(|| term("/lastState/terminated")),
                running: c.pointer("/state/running").is_some(),
            });
        }
    }
    let unscheduled = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            str_at(c, "/type") == Some("PodScheduled") && str_at(c, "/status") == Some("False")
        })
        .map(|c| str_at(c, "/message").unwrap_or("").to_string());
    Pod {
        namespace: str_at(v, "/metadata/namespace").unwrap_or("").to_string(),
        owner,
        labels: labels_at(v, "/metadata/labels"),
        node: str_at(v, "/spec/nodeName").map(str::to_string),
        ip: str_at(v, "/status/podIP").map(str::to_string),
        phase: str_at(v, "/status/phase").unwrap_or("").to_string(),
        containers,
        claims: v
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|vol| str_at(vol, "/persistentVolumeClaim/claimName").map(str::to_string))
            .collect(),
        unscheduled,
        created: str_at(v, "/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
        name,
    }
}

/// A `from` peer, when it can be evaluated: a `podSelector` of matchLabels,
/// a `namespaceSelector` that names one namespace by the label Kubernetes
/// puts on every namespace (`kubernetes.io/metadata.name`), or both.
fn policy_peer(p: &Value) -> Option<PolicyPeer> {
    if p.get("ipBlock").is_some()
        || p.pointer("/podSelector/matchExpressions").is_some()
        || p.pointer("/namespaceSelector/matchExpressions").is_some()
    {
        return None;
    }
    let namespace = match p.get("namespaceSelector") {
        None => None,
        Some(_) => {
            let labels = labels_at(p, "/namespaceSelector/matchLabels");
            match (labels.len(), labels.get("kubernetes.io/metadata.name")) {
                (1, Some(ns)) => Some(ns.clone()),
                // Any other namespace selector may admit.
                _ => return None,
            }
        }
    };
    if namespace.is_none() && p.get("podSelector").is_none() {
        return None;
    }
    Some(PolicyPeer {
        namespace,
        pods: labels_at(p, "/podSelector/matchLabels"),
    })
}

fn policy_from(v: &Value) -> Policy {
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
    Policy {
        name: str_at(v, "/metadata/name").unwrap_or("").to_string(),
        namespace: str_at(v, "/metadata/namespace").unwrap_or("").to_string(),
        pod_selector: labels_at(v, "/spec/podSelector/matchLabels"),
        ingress_restricted,
        from,
        created: str_at(v, "/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
    }
}

impl World {
    /// Reads the `list … output=json` answers of the pack.
    pub fn from_pack(pack: &EvidencePack) -> World {
        World::from_outputs(&pack.outputs)
    }

    /// Reads the `list … output=json` answers among `outputs` (the
    /// collector calls it between rounds, before there is a pack).
    pub fn from_outputs(outputs: &[super::collect::Output]) -> World {
        let mut w = World::default();
        for o in outputs
            .iter()
            .filter(|o| o.name == "list" && !o.outcome.is_error)
        {
            if o.args.get("output").and_then(Value::as_str) != Some("json") {
                continue;
            }
            let kind = o.args.get("kind").and_then(Value::as_str).unwrap_or("");
            for doc in json_docs(&o.outcome.text) {
                match kind {
                    "pods" => w.pods.push(pod_from(&doc)),
                    "services" => w.services.push(Service {
                        name: str_at(&doc, "/metadata/name").unwrap_or("").to_string(),
                        namespace: str_at(&doc, "/metadata/namespace")
                            .unwrap_or("")
                            .to_string(),
                        selector: labels_at(&doc, "/spec/selector"),
                        cluster_ip: str_at(&doc, "/spec/clusterIP")
                            .filter(|ip| *ip != "None")
                            .map(str::to_string),
                    }),
                    "networkpolicies" => w.policies.push(policy_from(&doc)),
                    "events" => w.events.push(event_from(&doc)),
                    _ => {}
                }
            }
        }
        w
    }

    /// The owner of a pod, by name.
    pub fn owner(&self, pod: &str) -> String {
        self.pods
            .iter()
            .find(|p| p.name == pod)
            .map_or_else(|| owner_of(pod), |p| p.owner.clone())
    }

    /// The pods a Service selects.
    pub fn backends<'a>(&'a self, svc: &'a Service) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.iter().filter(move |p| {
            p.namespace == svc.namespace
                && !svc.selector.is_empty()
                && selects(&svc.selector, &p.labels)
        })
    }

    /// What a peer named in an error is: a Service (by name, DNS name or
    /// ClusterIP) or a pod (by IP), as `(service, workloads behind it)`.
    pub fn resolve(&self, peer: &str) -> Option<(Option<&Service>, Vec<String>)> {
        let host = peer
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap_or(peer)
            .to_lowercase();
        if host.is_empty() {
            return None;
        }
        let is_ip = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let svc = if is_ip {
            self.services
                .iter()
                .find(|s| s.cluster_ip.as_deref() == Some(host.as_str()))
        } else {
            // `name`, `name.ns`, `name.ns.svc.cluster.local`, and a
            // StatefulSet pod's `pod.name.ns.svc…`.
            let labels: Vec<&str> = host.split('.').collect();
            let (name, ns) = match labels.as_slice() {
                [_, name, ns, "svc", ..] => (*name, Some(*ns)),
                [name, ns, ..] if *ns != "svc" => (*name, Some(*ns)),
                [name, ..] => (*name, None),
                [] => ("", None),
            };
            self.services
                .iter()
                .find(|s| s.name == name && ns.is_none_or(|n| n == s.namespace))
        };
        if let Some(s) = svc {
            let mut workloads: Vec<String> = self.backends(s).map(|p| p.owner.clone()).collect();
            workloads.sort();
            workloads.dedup();
            return Some((Some(s), workloads));
        }
        if is_ip {
            return self
                .pods
                .iter()
                .find(|p| p.ip.as_deref() == Some(host.as_str()))
                .map(|p| (None, vec![p.owner.clone()]));
        }
        let name = host.split('.').next().unwrap_or("");
        self.pods
            .iter()
            .find(|p| same_component(&p.owner, name))
            .map(|p| (None, vec![p.owner.clone()]))
    }

    /// A NetworkPolicy that selects a ready backend of `svc` and admits no
    /// pod of the workload `caller` (same namespace). `None` when the caller's
    /// pods are unknown, or when any policy would admit them.
    pub fn blocking_policy(&self, svc: &Service, caller: &str) -> Option<&Policy> {
        let callers: Vec<&Pod> = self.pods.iter().filter(|p| p.owner == caller).collect();
        let caller_ns = callers.first()?.namespace.clone();
        let backend = self.backends(svc).find(|p| p.phase == "Running")?;
        let selecting: Vec<&Policy> = self
            .policies
            .iter()
            .filter(|p| {
                p.namespace == backend.namespace && selects(&p.pod_selector, &backend.labels)
            })
            .collect();
        // Policies add up: traffic is allowed when any selecting policy admits it.
        if selecting.is_empty()
            || callers
                .iter()
                .any(|c| selecting.iter().any(|p| p.admits(&caller_ns, &c.labels)))
        {
            return None;
        }
        // Of several restricting policies, the newest is the change.
        selecting
            .into_iter()
            .filter(|p| p.ingress_restricted)
            .max_by_key(|p| p.created)
    }

    /// The pods whose containers the engine should read the logs of: those
    /// of `subject`, then unhealthy ones, at most `cap`. Each as (pod,
    /// container, previous).
    pub fn log_targets(
        &self,
        subject: Option<&str>,
        since: Timestamp,
        cap: usize,
    ) -> Vec<(String, String, String, bool)> {
        let mut out = Vec::new();
        let mut seen_owner: BTreeMap<String, usize> = BTreeMap::new();
        let is_subject =
            |p: &Pod| subject.is_some_and(|s| same_component(&p.owner, s) || p.name == s);
        // A pod started during the incident is a change: a migration Job, a
        // batch run, a new replica. What it says is read too, after the
        // subject and the unhealthy.
        let is_new = |p: &Pod| p.created.is_some_and(|c| c >= since);
        let mut pods: Vec<&Pod> = self
            .pods
            .iter()
            .filter(|p| is_subject(p) || p.unhealthy() || is_new(p))
            .collect();
        pods.sort_by_key(|p| {
            let rank = if is_subject(p) {
                0
            } else if p.unhealthy() {
                1
            } else {
                2
            };
            (rank, p.name.clone())
        });
        for p in pods {
            // Two pods per workload tell as much as ten.
            let n = seen_owner.entry(p.owner.clone()).or_default();
            if *n >= 2 {
                continue;
            }
            *n += 1;
            for c in &p.containers {
                let crashed = c.restarts > 0 || c.terminated.as_ref().is_some_and(|t| t.1 != 0);
                if crashed {
                    out.push((p.namespace.clone(), p.name.clone(), c.name.clone(), true));
                }
                if c.running || (crashed && !c.init) || is_subject(p) && !c.init {
                    out.push((p.namespace.clone(), p.name.clone(), c.name.clone(), false));
                }
            }
        }
        out.truncate(cap);
        out
    }
}

fn static_kind(kind: &str) -> Option<&'static str> {
    KINDS.iter().copied().find(|k| *k == kind)
}

/// What reading inside found.
#[derive(Debug, Clone, Default)]
pub struct Inside {
    /// Signals for the ranking.
    pub signals: Vec<Signal>,
    /// Timeline entries.
    pub timeline: Vec<TimelineEvent>,
    /// Peers named by errors, resolved (Services and their workloads).
    pub peers: Vec<String>,
    /// Workloads with unhealthy pods.
    pub affected: Vec<String>,
    /// Nodes hosting pods of affected workloads.
    pub nodes: BTreeSet<String>,
    /// Workloads with a pod on one of those nodes.
    pub neighbours: Vec<String>,
}

/// Strips a `kubectl logs --timestamps` prefix.
fn log_body(line: &str) -> (&str, Option<Timestamp>) {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes().get(4) == Some(&b'-') => {
            (rest, ts.parse().ok())
        }
        _ => (line, None),
    }
}

/// `backend-service:80 (172.20.118.31:80)`, `db.prod/10.0.0.5:5432`: a
/// name with its address, as busybox wget and the JVM print them. The port
/// (or the JVM's slash) is required: `remote host (10.0.0.7)` names no one.
fn named_address(line: &str) -> Option<(String, String)> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*)(?::\d+\s*\(\s*|/)(\d{1,3}(?:\.\d{1,3}){3})\b",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    Some((c[1].to_lowercase(), c[2].to_string()))
}

/// The host of the first URL in a line.
fn url_host(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?([a-z0-9][a-z0-9.-]*[a-z0-9])")
            .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    Some(c[1].to_lowercase())
}

/// The peer a line says it is about to call (`Connecting to backend:80`,
/// `Trying inventory...`, `calling http://pricing/quote`).
fn connecting_to(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(?:connecting to|trying to connect to|connect to|calling|dialing|requesting|trying)\s+(?:https?://)?([a-z0-9][a-z0-9.-]*[a-z0-9])",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    let host = c[1].to_lowercase();
    (!matches!(
        host.as_str(),
        "the" | "a" | "an" | "it" | "again" | "localhost"
    ))
    .then_some(host)
}

struct LogFinding<'a> {
    hit: Hit<'a>,
    count: usize,
    line: String,
    first: Option<Timestamp>,
    /// 0 for the first kind of failure the stream shows, 1 for the next…
    order: usize,
}

/// Kinds whose failure sits on the far side of a call: a TLS error is about
/// the server's certificate, a 401 about the credentials it refused.
const PEER_SIDE: &[&str] = &[
    "certificate_expired",
    "credentials_expired",
    "dependency_unreachable",
    "rate_limited",
    "authorization_denied",
];

/// The peer a failure line implies when its signature captured none: the
/// host of the URL it was calling, for kinds that sit on the far side.
pub fn implied_peer(kind: &str, line: &str) -> Option<String> {
    if PEER_SIDE.contains(&kind) {
        url_host(line).or_else(|| called_host(line))
    } else {
        None
    }
}

/// The peer a line names, by URL, by the words of a failed call, or by the
/// address it dialled (`dial tcp 10.96.175.57:8080`).
pub fn named_peer(line: &str) -> Option<String> {
    static DIAL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let dial = DIAL.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(?:dial tcp|connect to|connecting to)\s+(\d{1,3}(?:\.\d{1,3}){3})",
        )
        .ok()
    });
    url_host(line)
        .or_else(|| called_host(line))
        .or_else(|| dial.as_ref()?.captures(line).map(|c| c[1].to_string()))
}

/// The host a failed call names without a URL: urllib3's
/// `HTTPSConnectionPool(host='billing.svc', port=443)`, the `host: 'x'`
/// of Node's error objects, the MongoDB Java driver's `servers=[{address=db-0.db.data.svc:27017`, or the words of the message (`call to billing
/// failed`, `request to billing timed out`, `error calling billing`).
fn called_host(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)(?:\b(?:host|address)\s*[=:]\s*['"]?|\b(?:call|request|requests|connection)\s+to\s+|\berror\s+calling\s+)([a-z0-9][a-z0-9.-]*[a-z0-9])"#,
        )
        .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    let host = c[1].to_lowercase();
    (!matches!(
        host.as_str(),
        "the" | "a" | "an" | "it" | "upstream" | "server" | "localhost"
    ))
    .then_some(host)
}

/// Addresses named with their host anywhere in the pack's logs: `Post
/// "http://inventory.shop.svc/reserve": dial tcp 10.96.87.14:80` says that
/// 10.96.87.14 is inventory, which serves for lines that give only the
/// address.
pub fn address_book(pack: &EvidencePack) -> BTreeMap<String, String> {
    static DIAL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let dial = DIAL.get_or_init(|| {
        regex::Regex::new(
            r"(?i)(?:dial tcp|connect to|connecting to|->)\s*(\d{1,3}(?:\.\d{1,3}){3})",
        )
        .ok()
    });
    let mut book = BTreeMap::new();
    let texts = pack
        .of("logs")
        .chain(pack.of("log_patterns"))
        .chain(pack.of("search_logs"));
    for o in texts {
        for line in o.outcome.text.lines() {
            if let Some((name, ip)) = named_address(line) {
                book.entry(ip).or_insert(name);
            }
            if let (Some(host), Some(c)) =
                (url_host(line), dial.as_ref().and_then(|d| d.captures(line)))
            {
                book.entry(c[1].to_string()).or_insert(host);
            }
        }
    }
    book
}

/// The component a peer named in an error stands for: a Service or pod of
/// the cluster, a service the telemetry knows, a cluster-local DNS name's
/// first label (`billing.payments.svc` → `billing`), or the host itself for
/// an external one; `None` for an address nothing resolves.
pub fn peer_component(peer: &str, world: &World, known: &[String]) -> Option<String> {
    if let Some((svc, workloads)) = world.resolve(peer) {
        return svc
            .map(|s| s.name.clone())
            .or_else(|| workloads.first().cloned());
    }
    let host = peer
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split([':', '/'])
        .next()
        .unwrap_or(peer)
        .to_lowercase();
    if host.is_empty() || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let label = host.split('.').next().unwrap_or(&host).to_string();
    if let Some(k) = known.iter().find(|k| same_component(k, &label)) {
        return Some(k.clone());
    }
    let cluster_local = !host.contains('.') || host.contains(".svc");
    Some(if cluster_local { label } else { host })
}

/// A scheduled pod whose init container has been running for minutes
/// without finishing: the application containers never start, and nothing
/// crashes, so no other signal fires. The init container's last log line,
/// when it was read, usually says what it waits for.
fn stuck_in_init(p: &Pod, pack: &EvidencePack) -> Option<Signal> {
    const PATIENCE_SECS: i64 = 5 * 60;
    if p.phase != "Pending" || p.node.is_none() {
        return None;
    }
    let c = p.containers.iter().find(|c| c.init && c.running)?;
    let age = match (pack.now, p.created) {
        (Some(now), Some(created)) => now.duration_since(created).as_secs(),
        _ => return None,
    };
    if age < PATIENCE_SECS {
        return None;
    }
    let last_line = pack
        .of("logs")
        .filter(|o| {
            o.args.get("pod").and_then(Value::as_str) == Some(p.name.as_str())
                && o.args.get("container").and_then(Value::as_str) == Some(c.name.as_str())
        })
        .flat_map(|o| {
            o.outcome
                .text
                .lines()
                .filter(|l| !l.starts_with(['#', '<', '(']))
        })
        .filter(|l| !l.trim().is_empty())
        .last()
        .map(|l| format!("; it last logged: {}", log_body(l).0.trim()))
        .unwrap_or_default();
    Some(Signal {
        component: p.owner.clone(),
        kind: "init_container_stuck",
        weight: 4.0,
        source: "k8s.pods".into(),
        detail: clip(
            &format!(
                "pod {}: init container {} has been running for {}m and the application containers have not started{last_line}",
                p.name,
                c.name,
                age / 60
            ),
            300,
        ),
        at: p.created,
    })
}

/// Reads pods, logs and events through the catalogue.
pub fn read(
    pack: &EvidencePack,
    world: &World,
    catalogue: &Catalogue,
    subject: Option<&str>,
    known: &[String],
) -> Inside {
    let mut inside = Inside::default();
    let book = address_book(pack);
    let weight = |h: &Hit<'_>| f64::from(h.signature.strength);

    // Containers: waiting and termination reasons and messages, the scheduler's words.
    for p in &world.pods {
        if !p.unhealthy() {
            continue;
        }
        if !inside.affected.contains(&p.owner) {
            inside.affected.push(p.owner.clone());
        }
        if let Some(n) = &p.node {
            inside.nodes.insert(n.clone());
        }
        let mut hits: Vec<(Hit<'_>, String)> = Vec::new();
        for c in &p.containers {
            if let Some((reason, message)) = &c.waiting {
                for (field, text) in [
                    (Field::ContainerReason, reason),
                    (Field::TerminationMessage, message),
                ] {
                    if let Some(h) = catalogue.best(field, text) {
                        hits.push((
                            h,
                            format!("container {} waiting: {reason} {message}", c.name),
                        ));
                    }
                }
            }
            if let Some((reason, code, message)) = &c.terminated
                && (*code != 0 || reason != "Completed")
            {
                for (field, text) in [
                    (Field::ContainerReason, reason),
                    (Field::TerminationMessage, message),
                ] {
                    if let Some(h) = catalogue.best(field, text) {
                        hits.push((
                            h,
                            format!(
                                "container {} terminated: {reason} (exit {code}) {message}",
                                c.name
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(msg) = &p.unscheduled
            && let Some(h) = catalogue.best(Field::EventMessage, msg)
        {
            hits.push((h, format!("not scheduled: {msg}")));
        }
        for (h, detail) in hits {
            let Some(kind) = static_kind(&h.signature.kind) else {
                continue;
            };
            inside.signals.push(Signal {
                component: p.owner.clone(),
                kind,
                weight: weight(&h) * 0.9,
                source: "k8s.pods".into(),
                detail: clip(&format!("pod {}: {detail}", p.name), 240),
                at: None,
            });
        }
        if let Some(signal) = stuck_in_init(p, pack) {
            inside.signals.push(signal);
        }
    }

    // The subject's pods count as affected even when Kubernetes finds them
    // healthy: their node is where a neighbour would hurt them.
    for p in world
        .pods
        .iter()
        .filter(|p| subject.is_some_and(|s| same_component(&p.owner, s)))
    {
        if let Some(n) = &p.node {
            inside.nodes.insert(n.clone());
        }
    }
    for p in &world.pods {
        if p.node.as_ref().is_some_and(|n| inside.nodes.contains(n))
            && !inside.neighbours.contains(&p.owner)
        {
            inside.neighbours.push(p.owner.clone());
        }
    }

    // Container logs.
    for o in pack.of("logs") {
        let pod = o.args.get("pod").and_then(Value::as_str).unwrap_or("");
        let container = o
            .args
            .get("container")
            .and_then(Value::as_str)
            .unwrap_or("");
        let previous = o
            .args
            .get("previous")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let owner = world.owner(pod);
        let mut found: Vec<LogFinding<'_>> = Vec::new();
        // What the stream itself says about its peers: `Connecting to
        // backend:80 (10.0.3.7:80)` names the address the next line's
        // "connection refused" or "timed out" is about.
        let mut aliases: BTreeMap<String, String> = book.clone();
        let mut context: Option<(String, usize)> = None;
        for (i, line) in o.outcome.text.lines().enumerate() {
            let (body, at) = log_body(line);
            if body.starts_with('#') || body.trim().is_empty() {
                continue;
            }
            if let Some((name, ip)) = named_address(body) {
                aliases.insert(ip, name);
            }
            if let Some(peer) = connecting_to(body) {
                context = Some((peer, i));
            }
            let Some(mut hit) = catalogue.best(Field::Log, body) else {
                continue;
            };
            if let Some(p) = &hit.peer
                && let Some(name) = aliases.get(p.split(':').next().unwrap_or(p))
            {
                hit.peer = Some(name.clone());
            }
            // `Post "http://inventory.shop.svc…": dial tcp 10.96.87.14:80`
            // names the peer twice; the name serves when the address is
            // unknown.
            if let Some(p) = &hit.peer
                && world.resolve(p).is_none()
                && let Some(host) = url_host(body)
            {
                hit.peer = Some(host);
            }
            if hit.peer.is_none() {
                hit.peer = implied_peer(&hit.signature.kind, body);
            }
            // A peerless connection failure right after an attempt to reach a
            // peer is about that peer.
            if hit.peer.is_none()
                && matches!(
                    hit.signature.kind.as_str(),
                    "dependency_unreachable" | "latency_regression"
                )
                && let Some((peer, at_line)) = &context
                && i - at_line <= 3
            {
                hit.peer = Some(peer.clone());
            }
            if let Some(p) = &hit.peer {
                context = Some((p.clone(), i));
            }
            match found
                .iter_mut()
                .find(|f| f.hit.signature.kind == hit.signature.kind && f.hit.peer == hit.peer)
            {
                Some(f) => {
                    f.count += 1;
                    if hit.signature.strength > f.hit.signature.strength {
                        f.hit = hit;
                        f.line = body.to_string();
                    }
                }
                None => found.push(LogFinding {
                    hit,
                    count: 1,
                    line: body.to_string(),
                    first: at,
                    order: found.len(),
                }),
            }
        }
        for f in found {
            let Some(kind) = static_kind(&f.hit.signature.kind) else {
                continue;
            };
            let which = if previous {
                "previous container"
            } else {
                "container"
            };
            let mut component = owner.clone();
            let mut note = String::new();
            let kind = if kind == "latency_regression" && f.hit.peer.is_some() {
                "dependency_unreachable"
            } else {
                kind
            };
            // A certificate that fails verification is the server's: the
            // client that logs it is only the messenger.
            // Likewise a 403 is the callee's policy speaking.
            if (f.hit.signature.culprit == Culprit::Peer
                || matches!(
                    kind,
                    "dependency_unreachable" | "certificate_expired" | "authorization_denied"
                ))
                && let Some(peer) = &f.hit.peer
            {
                match world.resolve(peer) {
                    Some((svc, workloads)) => {
                        let target = svc.map_or_else(
                            || workloads.first().cloned().unwrap_or_else(|| peer.clone()),
                            |s| s.name.clone(),
                        );
                        if let Some(policy) = svc.and_then(|s| world.blocking_policy(s, &owner)) {
                            // The peer is up but a policy drops the caller's
                            // traffic: what looks like a timeout is a rule.
                            inside.signals.push(Signal {
                                component: policy.name.clone(),
                                kind: "network_policy_blocked",
                                // The policy was read, not guessed: the caller's
                                // failures and a rule that drops them.
                                weight: 4.0 + weight(&f.hit) * 0.5,
                                source: "k8s.networkpolicies".into(),
                                detail: clip(
                                    &format!(
                                        "NetworkPolicy {} selects the pods behind {peer} and admits none of {owner}'s pods; {owner} logged ({}x): {}",
                                        policy.name,
                                        f.count,
                                        f.line.trim()
                                    ),
                                    300,
                                ),
                                at: None,
                            });
                        }
                        if !same_component(&target, &owner) {
                            component = target.clone();
                            note = format!(" (peer {peer} is {target})");
                            for w in std::iter::once(target).chain(workloads) {
                                if !inside.peers.contains(&w) {
                                    inside.peers.push(w);
                                }
                            }
                        }
                    }
                    // Not among the objects read (another namespace, or
                    // outside the cluster): its name still says whose it is.
                    None => match peer_component(peer, world, known) {
                        Some(name) if !same_component(&name, &owner) => {
                            note = format!(" (peer {peer}, not among the objects read)");
                            component = name;
                        }
                        _ => note = format!(" (peer {peer} is not in the cluster's evidence)"),
                    },
                }
            }
            let volume = (1.0 + f.count as f64).log10().min(2.0) * 0.5;
            // Within one stream the first failure is the likelier cause:
            // what follows it ("pool exhausted" after "connection refused",
            // "shutting down" after the exception) is usually its echo.
            let order = if f.order == 0 { 1.0 } else { 0.7 };
            let w = (weight(&f.hit) + volume) * order;
            inside.signals.push(Signal {
                component,
                kind,
                weight: if subject.is_some_and(|s| same_component(s, &owner)) || previous {
                    w
                } else {
                    w * 0.9
                },
                source: "k8s.logs".into(),
                detail: clip(
                    &format!(
                        "{which} {pod}/{container} logged ({}x){note}: {}",
                        f.count,
                        f.line.trim()
                    ),
                    260,
                ),
                at: f.first,
            });
            if let Some(at) = f.first {
                inside.timeline.push(TimelineEvent {
                    at,
                    source: "k8s.logs".into(),
                    event: clip(&format!("{pod}: {}", f.line.trim()), 160),
                });
            }
        }
    }

    // Warning events of workloads (node events are read by the rules).
    let events = &world.events;
    for e in events {
        let killing = e.reason == "Killing" && e.message.to_lowercase().contains("probe");
        if (e.kind_of_event != "Warning" && !killing) || e.object_kind == "Node" {
            continue;
        }
        if let Some(later) = superseded(e, events) {
            inside.timeline.push(TimelineEvent {
                at: later,
                source: "k8s.events".into(),
                event: clip(
                    &format!(
                        "{} {}/{} resolved since ({} later)",
                        e.reason,
                        e.object_kind,
                        e.object,
                        superseding(&e.reason).join("/")
                    ),
                    160,
                ),
            });
            continue;
        }
        let best = [
            catalogue.best(Field::EventMessage, &e.message),
            catalogue.best(Field::EventReason, &e.reason),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|h| h.signature.strength);
        let Some(hit) = best else { continue };
        let Some(kind_name) = static_kind(&hit.signature.kind) else {
            continue;
        };
        let name = e.object.as_str();
        let component = match e.object_kind.as_str() {
            "Pod" => world.owner(name),
            "ReplicaSet" => replicaset_owner(name),
            "PersistentVolumeClaim" => world
                .pods
                .iter()
                .find(|p| p.claims.iter().any(|c| c == name))
                .map_or_else(|| name.to_string(), |p| p.owner.clone()),
            _ => name.to_string(),
        };
        inside.signals.push(Signal {
            component,
            kind: kind_name,
            weight: weight(&hit) * 0.8 + (1.0 + e.count as f64).log10().min(2.0) * 0.3,
            source: "k8s.events".into(),
            detail: clip(
                &format!(
                    "event {} on {}/{} (x{}): {}",
                    e.reason, e.object_kind, e.object, e.count, e.message
                ),
                260,
            ),
            at: e.first,
        });
    }
    inside
}

/// Normal events that say a warning's condition is over, by the warning's
/// reason: the controller created the pod after all, the scheduler placed
/// it, the image came down, the volume attached.
fn superseding(reason: &str) -> &'static [&'static str] {
    match reason {
        "FailedCreate" => &["SuccessfulCreate"],
        "FailedScheduling" => &["Scheduled"],
        "Failed" | "ErrImagePull" | "ImagePullBackOff" => &["Pulled"],
        "FailedMount" => &["Started"],
        "FailedAttachVolume" => &["SuccessfulAttachVolume"],
        "ProvisioningFailed" => &["ProvisioningSucceeded"],
        "FailedCreatePodSandBox" => &["Started"],
        "FailedGetScale" | "FailedComputeMetricsReplicas" | "FailedGetResourceMetric" => {
            &["SuccessfulRescale"]
        }
        _ => &[],
    }
}

/// When a later Normal event on the same object ended a warning's
/// condition, that later time.
fn superseded(warning: &Event, events: &[Event]) -> Option<Timestamp> {
    let ends = superseding(&warning.reason);
    let last = warning.last.or(warning.first)?;
    events
        .iter()
        .filter(|e| {
            e.kind_of_event == "Normal"
                && ends.contains(&e.reason.as_str())
                && e.object_kind == warning.object_kind
                && e.object == warning.object
                && e.namespace == warning.namespace
        })
        .filter_map(|e| e.last.or(e.first))
        .filter(|t| *t > last)
        .max()
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_admit_by_labels() {
        let lbl = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let p = Policy {
            name: "backend-only".into(),
            namespace: "x".into(),
            pod_selector: lbl(&[("app", "backend")]),
            ingress_restricted: true,
            from: vec![Some(PolicyPeer {
                namespace: None,
                pods: lbl(&[("tier", "backend")]),
            })],
            created: None,
        };
        assert!(!p.admits("x", &lbl(&[("app", "frontend"), ("tier", "frontend")])));
        assert!(p.admits("x", &lbl(&[("tier", "backend")])));
        // A bare podSelector admits pods of the policy's own namespace only.
        assert!(!p.admits("y", &lbl(&[("tier", "backend")])));
        let open = Policy {
            from: vec![None],
            ..p.clone()
        };
        assert!(open.admits("y", &lbl(&[("tier", "frontend")])));
        // A namespaceSelector naming a namespace by its metadata.name label.
        let doc = serde_json::json!({
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}},
            "podSelector": {"matchLabels": {"app": "edge"}}
        });
        let peer = policy_peer(&doc).unwrap();
        assert_eq!(peer.namespace.as_deref(), Some("gateway"));
        let p = Policy {
            from: vec![Some(peer)],
            ..p.clone()
        };
        assert!(p.admits("gateway", &lbl(&[("app", "edge")])));
        assert!(!p.admits("shop", &lbl(&[("app", "edge")])));
        // Any other namespace selector may admit: not evaluated.
        let doc = serde_json::json!({"namespaceSelector": {"matchLabels": {"team": "a"}}});
        assert_eq!(policy_peer(&doc), None);
    }

    #[test]
    fn replicaset_names_lose_their_hash() {
        assert_eq!(replicaset_owner("web-app-7shf7xcws6"), "web-app");
        assert_eq!(replicaset_owner("api-server"), "api-server");
    }
}

#[cfg(test)]
mod peer_tests {
    use super::*;

    #[test]
    fn a_failed_call_names_its_peer_without_a_url() {
        let line = "call to collector-api failed — requests.exceptions.SSLError: HTTPSConnectionPool(host='collector-api.ingest.svc', port=443): Max retries exceeded";
        assert_eq!(
            implied_peer("certificate_expired", line).as_deref(),
            Some("collector-api")
        );
        let line = "requests.exceptions.SSLError: HTTPSConnectionPool(host='collector-api.ingest.svc', port=443)";
        assert_eq!(
            implied_peer("certificate_expired", line).as_deref(),
            Some("collector-api.ingest.svc")
        );
        let line = "call to email-sender failed — AxiosError: Request failed with status code 403";
        assert_eq!(
            implied_peer("authorization_denied", line).as_deref(),
            Some("email-sender")
        );
        // Only for failures that sit on the far side.
        assert_eq!(implied_peer("oom_killed", line), None);
        let world = World::default();
        assert_eq!(
            peer_component("collector-api.ingest.svc:443", &world, &[]).as_deref(),
            Some("collector-api")
        );
        assert_eq!(
            peer_component("api.surescripts.net", &world, &[]).as_deref(),
            Some("api.surescripts.net")
        );
        assert_eq!(peer_component("10.96.3.4:80", &world, &[]), None);
    }
}
