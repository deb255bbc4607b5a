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
//! The cluster model it reads against (which workload owns which pod, on
//! which node; which Service selects which pods) lives in [`super::world`];
//! errors often name a peer by IP (`dial tcp 10.96.14.22:5432`) or by host,
//! and [`super::peers`] resolves those to a Service or a pod before an error
//! is attributed.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use super::collect::EvidencePack;
use super::peers::{
    address_book, connecting_to, implied_peer, named_address, peer_component, url_host,
};
use super::rules::{Signal, same_component};
use super::signatures::{Catalogue, Culprit, Field, Hit, KINDS};
use super::world::{Event, Pod, World, job_owner, replicaset_owner};
use crate::rca::TimelineEvent;

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
    /// (workload, peer): a previous container's failure to reach the peer
    /// (what it died of, as far as its last lines say), or an init
    /// container's (what it cannot finish for).
    pub died_of: Vec<(String, String)>,
    /// (workload, peer): its containers' lines say it cannot reach the peer
    /// (current or previous instance).
    pub cannot_reach: Vec<(String, String)>,
    /// (workload, store): its containers' lines relay the store's own reply
    /// (`XMinioStorageFull`), read as the store's.
    pub relayed: Vec<(String, String)>,
}

/// Strips a `kubectl logs --timestamps` prefix, and says its time.
pub(super) fn log_body(line: &str) -> (&str, Option<Timestamp>) {
    match line.split_once(' ') {
        Some((ts, rest)) if ts.len() >= 20 && ts.as_bytes().get(4) == Some(&b'-') => {
            (rest, ts.parse().ok())
        }
        _ => (line, None),
    }
}

struct LogFinding<'a> {
    hit: Hit<'a>,
    count: usize,
    line: String,
    first: Option<Timestamp>,
    /// 0 for the first kind of failure the stream shows, 1 for the next…
    order: usize,
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
        // A container that died, or an init container that cannot finish:
        // either holds its pod back, and what it failed on is why.
        let held = previous
            || world
                .pods
                .iter()
                .find(|p| p.name == pod)
                .is_some_and(|p| p.containers.iter().any(|c| c.init && c.name == container));
        let namespace = o
            .args
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
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
            // A structured line's exception, in its own fields, is read
            // as an exception too; the stronger reading wins.
            let exception = super::parse::structured_exception(body);
            let Some(mut hit) = [
                catalogue.best(Field::Log, body),
                exception
                    .as_deref()
                    .and_then(|e| catalogue.best(Field::Exception, e)),
            ]
            .into_iter()
            .flatten()
            .max_by_key(|h| (h.signature.strength, h.peer.is_some())) else {
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
            // Or the cluster address it dialled (Unbound's `Connection
            // refused for 10.96.53.53 port 53`), when that is a Service.
            if hit.peer.is_none() && hit.signature.culprit != Culprit::Own {
                hit.peer = implied_peer(&hit.signature.kind, body).or_else(|| {
                    super::peers::named_peer(body).filter(|p| {
                        super::peers::PEER_SIDE.contains(&hit.signature.kind.as_str())
                            && world.resolve(p).is_some()
                    })
                });
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
            // Or the one the workload is configured with (its settings
            // name it; see `configured`).
            if hit.peer.is_none() && hit.signature.kind == "dependency_unreachable" {
                hit.peer = super::configured::peer_of(&pack.outputs, world, &owner);
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
            // A stack trace in the log of a container that has never
            // restarted is an exception it logged and survived, not a
            // crash: what it was about is on the exception's own line,
            // read on its own.
            let survived = !previous
                && world.pods.iter().find(|p| p.name == pod).is_some_and(|p| {
                    p.containers
                        .iter()
                        .find(|c| c.name == container)
                        .is_some_and(|c| c.restarts == 0 && c.running)
                });
            if kind == "crash_loop" && survived {
                continue;
            }
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
                            // traffic: what looks like a timeout is a rule,
                            // and what the caller cannot reach is the rule.
                            let pair = (owner.clone(), policy.name.clone());
                            if !inside.cannot_reach.contains(&pair) {
                                inside.cannot_reach.push(pair);
                            }
                            inside.signals.push(Signal {
                                component: policy.name.clone(),
                                kind: "network_policy_blocked",
                                // The policy was read, not guessed: the caller's
                                // failures and a rule that drops them.
                                weight: 4.0 + weight(&f.hit) * 0.5,
                                source: "k8s.networkpolicies".into(),
                                detail: clip(
                                    &format!(
                                        "{}; {owner} logged ({}x): {}",
                                        policy.why(peer, &owner),
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
                            // The Service is what the caller named; the
                            // workloads behind it are where a cause of their
                            // own shows (a claim unbound, a node gone): the
                            // caller cannot reach those either.
                            let behind = workloads.iter().filter(|w| !same_component(w, &owner));
                            for peer in std::iter::once(&target).chain(behind) {
                                let pair = (owner.clone(), peer.clone());
                                if kind == "dependency_unreachable"
                                    && !inside.cannot_reach.contains(&pair)
                                {
                                    inside.cannot_reach.push(pair.clone());
                                }
                                if held && !inside.died_of.contains(&pair) {
                                    inside.died_of.push(pair);
                                }
                            }
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
            // A data store's own error reply relayed by its client (Redis'
            // `MISCONF`, a server-side PostgreSQL or MongoDB error, a Kafka
            // broker short of in-sync replicas, MinIO's
            // `XMinioStorageFull`): the store's condition, whoever logs it. With no peer in the line,
            // the one store of that system the client's namespace has.
            if component == owner
                && let Some(system) = f.hit.signature.server_system()
                // A bare product's words (`rabbitmq`) include refusals a
                // client's own setting causes (a stale login, an ack that
                // came too late): of those, only the server's own states.
                && (f.hit.signature.stack.contains('/') || f.hit.signature.server_state())
                && let Some(store) = world.store_of_system(system, namespace, &owner)
            {
                note = format!(" (an error reply of {system} {store})");
                // A container that died of its store's refusal restarts
                // because of it.
                if held && !inside.died_of.contains(&(owner.clone(), store.clone())) {
                    inside.died_of.push((owner.clone(), store.clone()));
                }
                if !inside.peers.contains(&store) {
                    inside.peers.push(store.clone());
                }
                if !inside.relayed.contains(&(owner.clone(), store.clone())) {
                    inside.relayed.push((owner.clone(), store.clone()));
                }
                component = store;
            }
            // A client library's failure that names the system it talks to
            // and no host (`SearchPhaseExecutionException: all shards
            // failed` is the search cluster's answer): the caller cannot
            // reach the one store of that system in view. A link only, the
            // signal stays with the caller; whether the store is down for a
            // reason of its own is decided with all the evidence
            // (`combine::victims`).
            if component == owner
                && kind == "dependency_unreachable"
                && let Some(system) = f.hit.signature.stack.strip_suffix("/client")
                && let Some(store) = world.store_of_system(system, namespace, &owner)
            {
                note = format!(" (a {system} client's error; {store} serves {system})");
                let pair = (owner.clone(), store.clone());
                if !inside.cannot_reach.contains(&pair) {
                    inside.cannot_reach.push(pair);
                }
                if !inside.peers.contains(&store) {
                    inside.peers.push(store);
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
                detail: clip_keeping(
                    &format!(
                        "{which} {pod}/{container} logged ({}x){note}: {}",
                        f.count,
                        f.line.trim()
                    ),
                    260,
                    &f.hit.matched,
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
        // An admission webhook that fails closed refuses every pod the
        // controllers create: the failure is the webhook's, whichever
        // workload the refusal lands on.
        let webhook = admission_webhook(&e.message).map(|host| match world.resolve(&host) {
            Some((_, workloads)) if workloads.len() == 1 => workloads[0].clone(),
            Some((Some(svc), _)) => svc.name.clone(),
            _ => host.split('.').next().unwrap_or(&host).to_string(),
        });
        let component = match e.object_kind.as_str() {
            _ if webhook.is_some() => webhook.unwrap_or_default(),
            // The node controller's words on a pod (`NodeNotReady: Node is
            // not ready`, a taint eviction) are about the pod's node.
            "Pod" if kind_name == "node_failure" => world
                .pods
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.node.clone())
                .unwrap_or_else(|| world.owner(name)),
            "Pod" => world.owner(name),
            "ReplicaSet" => replicaset_owner(name),
            // A CronJob's run is that CronJob's failure.
            "Job" => job_owner(name),
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

/// The Service host of the admission webhook an API server failed to call,
/// from its own words: `failed calling webhook "validate.x.io": failed to
/// call webhook: Post "https://policy.platform.svc:443/validate?timeout=10s":
/// …` (also `Internal error occurred: failed calling webhook …`).
fn admission_webhook(message: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)failed calling webhook\b.*?\b(?:post|get)\s+\\?"?https://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)[:/"]"#,
        )
        .ok()
    });
    let host = re
        .as_ref()?
        .captures(message)?
        .get(1)?
        .as_str()
        .to_lowercase();
    host.contains(".svc").then_some(host)
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

/// [`clip`], keeping the words the signature matched: a long logfmt or
/// JSON line names its error last (`… error="[Errno -3] Temporary failure
/// in name resolution"`), and the readers after this one (the resolver's,
/// the store's) read the detail.
fn clip_keeping(s: &str, n: usize, matched: &str) -> String {
    let head = clip(s, n);
    let matched = matched.trim();
    if s.chars().count() <= n || matched.is_empty() || head.contains(matched) {
        return head;
    }
    let room = n.saturating_sub(matched.chars().count() + 2).max(n / 2);
    format!("{}… {matched}", s.chars().take(room).collect::<String>())
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
    use super::admission_webhook;

    /// A long line keeps what its signature matched, even past the cut.
    #[test]
    fn a_clipped_detail_keeps_the_matched_words() {
        let line = format!(
            "container a/b logged (3x): timestamp=2026-04-21T04:55:54Z level=error {} error=\"[Errno -3] Temporary failure in name resolution\"",
            "k=v ".repeat(80)
        );
        let d = super::clip_keeping(&line, 260, "Temporary failure in name resolution");
        assert!(d.ends_with("… Temporary failure in name resolution"), "{d}");
        assert!(d.chars().count() <= 262, "{}", d.chars().count());
        assert_eq!(super::clip_keeping("short", 260, "absent"), "short");
    }

    #[test]
    fn a_webhook_that_fails_closed_is_named_by_its_service() {
        let forge = r#"Error creating: Internal error occurred: failed calling webhook "validate.image-policy.platform.io": failed to call webhook: Post "https://image-policy-webhook.platform-policy.svc:443/validate?timeout=10s": tls: failed to verify certificate: x509: certificate has expired or is not yet valid"#;
        assert_eq!(
            admission_webhook(forge).as_deref(),
            Some("image-policy-webhook.platform-policy.svc")
        );
        let gatekeeper = r#"Error creating: Internal error occurred: failed calling webhook "validation.gatekeeper.sh": failed to call webhook: Post "https://gatekeeper-webhook-service.gatekeeper-system.svc:443/v1/admit?timeout=3s": context deadline exceeded"#;
        assert_eq!(
            admission_webhook(gatekeeper).as_deref(),
            Some("gatekeeper-webhook-service.gatekeeper-system.svc")
        );
        // A refusal the webhook decided is not a failure to call it.
        assert_eq!(
            admission_webhook(
                r#"Error creating: admission webhook "validate.kyverno.svc" denied the request: image tag latest is not allowed"#
            ),
            None
        );
    }
}
