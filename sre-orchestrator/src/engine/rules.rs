//! From evidence to ranked suspects.
//!
//! Each reader of the evidence pack emits [`Signal`]s: "this component
//! shows this kind of failure, this strongly, because of this line". Signals
//! about the same (component, kind) add up into a suspect. Two adjustments
//! then encode what an experienced on-call engineer does by reflex:
//!
//! * **Follow the call graph.** When the alerting service waits on a
//!   degraded dependency, the deepest degraded service on that path is where
//!   the fault is; suspects there are boosted, and symptoms at the top are
//!   not mistaken for causes.
//! * **Relevance and recency.** A failure in a workload that nothing in the
//!   alert's blast radius touches, or one that started hours before the
//!   alert, is real but probably not *this* incident: it is kept, ranked lower.
//!
//! Weights are small integers on purpose: they are meant to be read and
//! argued about, and the scenario evaluation (`sre-agent eval`) is how a
//! change to them is judged.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use regex::Regex;

use super::Scope;
use super::collect::EvidencePack;
use super::parse::{self, ServiceHealth};
use super::signatures::{Catalogue, Field};
use super::world::World;
use crate::rca::{Evidence, TimelineEvent};

/// One observation pointing at a (component, kind).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The component it points at.
    pub component: String,
    /// The failure kind (see [`super::kinds`]).
    pub kind: &'static str,
    /// How strongly.
    pub weight: f64,
    /// Which tool saw it.
    pub source: String,
    /// What it saw, in one line.
    pub detail: String,
    /// When it started, if known.
    pub at: Option<Timestamp>,
}

/// A ranked candidate root cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// The component.
    pub component: String,
    /// The failure kind.
    pub kind: &'static str,
    /// The score after adjustments.
    pub score: f64,
    /// The signals behind it, strongest first.
    pub signals: Vec<Signal>,
}

impl Suspect {
    /// The suspect's evidence.
    pub fn evidence(&self) -> Vec<Evidence> {
        self.signals
            .iter()
            .map(|s| Evidence {
                source: s.source.clone(),
                detail: s.detail.clone(),
                link: None,
            })
            .collect()
    }
}

/// What the rules concluded.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Suspects, most likely first.
    pub suspects: Vec<Suspect>,
    /// One timeline from all sources, oldest first.
    pub timeline: Vec<TimelineEvent>,
    /// Services whose error rate or latency is up.
    pub degraded: Vec<String>,
    /// The degraded call path from the alerting service down, when there is one.
    pub path: Vec<String>,
    /// Symptoms worth showing even though they are not causes.
    pub symptoms: Vec<Evidence>,
}

use super::rank::SYMPTOMS;

struct Ctx<'a> {
    scope: &'a Scope,
    signals: Vec<Signal>,
    timeline: Vec<TimelineEvent>,
    health: BTreeMap<String, ServiceHealth>,
}

impl Ctx<'_> {
    fn signal(
        &mut self,
        component: &str,
        kind: &'static str,
        weight: f64,
        source: &str,
        detail: String,
        at: Option<Timestamp>,
    ) {
        self.signals.push(Signal {
            component: component.to_string(),
            kind,
            weight,
            source: source.to_string(),
            detail,
            at,
        });
    }

    fn ago(&self, secs: Option<i64>) -> Option<Timestamp> {
        secs.and_then(|s| {
            self.scope
                .now
                .checked_sub(SignedDuration::from_secs(s))
                .ok()
        })
    }

    fn event(&mut self, at: Option<Timestamp>, source: &str, event: String) {
        if let Some(at) = at {
            self.timeline.push(TimelineEvent {
                at,
                source: source.to_string(),
                event,
            });
        }
    }

    /// `HH:MM:SS` within the last day before `now`.
    fn clock(&self, hms: &str) -> Option<Timestamp> {
        parse::clock(self.scope.now, hms)
    }
}

/// The workload a pod belongs to, from its name (`cart-59b7d8c6f-87l5t` →
/// `cart`, `db-0` → `db`).
pub fn owner_of(pod: &str) -> String {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(
        || // Kubernetes' generated suffixes use consonants and digits only
        // (no vowels), which tells `node-exporter-x7k2p` from a hash.
        Regex::new(r"^(.+?)(?:-[b-df-hj-np-tv-z0-9]{6,10})?-(?:[b-df-hj-np-tv-z0-9]{5}|\d+)$").ok(),
    );
    re.as_ref()
        .and_then(|re| re.captures(pod))
        .and_then(|c| c.get(1))
        .map_or_else(|| pod.to_string(), |m| m.as_str().to_string())
}

/// Whether two component names refer to the same thing (`checkout` and
/// `checkout-api`, `orders` and `shop.orders` are; `cart` and `carts` are not).
pub fn same_component(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a == b {
        return true;
    }
    let stem = |s: &str| -> String {
        let s = s.rsplit('.').next().unwrap_or(s).to_string();
        for suffix in ["-api", "-svc", "-service", "-server", "-worker", "-db"] {
            if let Some(x) = s.strip_suffix(suffix) {
                return x.to_string();
            }
        }
        s
    };
    stem(&a) == stem(&b)
}

const DEP_CUES: &[&str] = &[
    "no such host",
    "nxdomain",
    "name resolution",
    "server misbehaving",
    "connection refused",
    "econnrefused",
    "no route to host",
    "upstream connect error",
    "no healthy upstream",
    "dial tcp",
    "i/o timeout",
    "name or service not known",
];
const TLS_CUES: &[&str] = &[
    "x509",
    "certificate has expired",
    "certificate expired",
    "certificate is not yet valid",
    "certificate verify failed",
    "tls handshake",
    "ssl handshake",
];
const CRED_CUES: &[&str] = &[
    "invalid credentials",
    "authentication failed",
    "token expired",
    "token has expired",
    "credentials expired",
    "credentials have expired",
    "password authentication failed",
    "401 unauthorized",
    "invalid_client",
    "expired token",
];
const POOL_CUES: &[&str] = &[
    "connection pool",
    "pool exhausted",
    "waiting for a connection",
    "waiting for connection",
    "waitqueuetimeout",
    "wait queue",
    "maxpoolsize",
    "too many connections",
    "pool timeout",
    "no available connection",
];
const THROTTLE_CUES: &[&str] = &["throttl", "cpu starved", "cpu starvation"];
const OOM_CUES: &[&str] = &["outofmemory", "out of memory", "heap space", "oom"];
const CONFIG_CUES: &[&str] = &[
    "environment variable",
    "env var",
    "is not set",
    "missing required",
    "required config",
    "config key",
    "configuration key",
    "missing config",
    "not defined",
];
const ERROR_CUES: &[&str] = &[
    "exception",
    "error",
    "panic",
    "traceback",
    "fatal",
    "failed",
    "nullpointer",
    "undefined",
];
const SLOW_CUES: &[&str] = &[
    "gc pause",
    "slow",
    "took",
    "latency",
    "deadline exceeded",
    "timed out",
    "timeout",
];

fn has(text: &str, cues: &[&str]) -> bool {
    cues.iter().any(|c| text.contains(c))
}

/// The host a connection error names (`lookup inventory on …`, `dial tcp
/// inventory:8080`, `https://payments-gateway/…`).
fn host_in(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:lookup |dial tcp |https?://|host[=: ]+"?|connect to |connecting to |calling |upstream )([a-z][a-z0-9-]*)"#,
        )
        .ok()
    });
    let re = re.as_ref()?;
    re.captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_lowercase()))
        .find(|h| !matches!(h.as_str(), "localhost" | "tcp" | "udp" | "the" | "a"))
}

fn kind_of_reason(reason: &str, details: &str) -> Option<(&'static str, f64)> {
    let d = details.to_lowercase();
    Some(match reason {
        "OOMKilled" => ("oom_killed", 5.0),
        "CrashLoopBackOff" | "RunContainerError" | "HighRestarts" | "PodFailed" => {
            if d.contains("oomkilled") {
                ("oom_killed", 4.0)
            } else if has(&d, CONFIG_CUES) {
                ("missing_config", 5.0)
            } else if d.contains("evicted") {
                ("evicted", 1.0)
            } else {
                ("crash_loop", 3.0)
            }
        }
        "CreateContainerConfigError" | "CreateContainerError" => ("missing_config", 5.0),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
            ("image_pull_error", 5.0)
        }
        "NodeNotReady" | "NotReady" | "NetworkUnavailable" => ("node_failure", 5.0),
        "DiskPressure" | "PIDPressure" => ("node_failure", 4.5),
        "MemoryPressure" => ("node_failure", 2.0),
        "HPAAtMax" | "ScalingLimited" => ("hpa_maxed", 3.0),
        "NoReadyEndpoints" => ("dependency_unreachable", 3.0),
        // The health tool reports a pending pod's scheduler condition as
        // `Unschedulable`; events call it `FailedScheduling`.
        "FailedScheduling" | "Unschedulable" => {
            if d.contains("persistentvolumeclaim") {
                ("pvc_unbound", 4.0)
            } else {
                ("unschedulable", 4.0)
            }
        }
        // `Init:0/1`: scheduled, but an init container has not finished.
        "Pending" if details.contains("Init:") && !d.contains("backoff") => {
            ("init_container_stuck", 2.0)
        }
        "Pending" => ("unschedulable", 1.5),
        "PVCPending" => ("pvc_unbound", 4.0),
        "ProgressDeadlineExceeded" | "UnavailableReplicas" | "UnavailablePods" => {
            ("rollout_stuck", 1.0)
        }
        "ProbeFailing" => ("probe_failing", 2.5),
        // A failed Job is a hard fact, not a hint.
        "JobFailed" => ("job_failed", 4.5),
        _ => return None,
    })
}

fn read_health(ctx: &mut Ctx<'_>, pack: &EvidencePack) {
    for o in pack.of("workload_health") {
        for f in parse::health_findings(&o.outcome.text) {
            let details = f.details.join(" | ");
            let Some((kind, mut weight)) = kind_of_reason(&f.reason, &details) else {
                continue;
            };
            if f.severity == "WARNING" {
                weight *= 0.7;
            }
            let component = if f.kind == "Pod" {
                // A pod finding names its owner in the details.
                f.details
                    .iter()
                    .find_map(|d| d.strip_prefix("owner "))
                    .and_then(|o| o.split('/').nth(1))
                    .map_or_else(|| owner_of(&f.name), str::to_string)
            } else {
                f.name.clone()
            };
            let at = ctx.ago(f.since_secs);
            let mut detail = format!("{} {}/{}: {}", f.severity, f.kind, f.name, f.reason);
            if let Some(first) = f.details.iter().find(|d| !d.starts_with("owner ")) {
                detail.push_str(" — ");
                detail.push_str(first);
            }
            if let Some(more) = f
                .details
                .iter()
                .find(|d| d.contains("termination message") || d.contains("OOMKilled"))
                && !detail.contains(more.as_str())
            {
                detail.push_str(" — ");
                detail.push_str(more);
            }
            // Pod-level findings repeat the workload-level one.
            if f.kind == "Pod" {
                weight *= 0.3;
            }
            ctx.event(at, "k8s", format!("{}/{} {}", f.kind, f.name, f.reason));
            ctx.signal(&component, kind, weight, &o.tool, detail, at);
        }
    }
}

fn read_events(ctx: &mut Ctx<'_>, pack: &EvidencePack) {
    let namespaced =
        |o: &&super::collect::Output| o.args.get("namespace").is_some_and(|v| !v.is_null());
    let has_namespaced = pack.of("events").any(|o| namespaced(&o));
    for o in pack.of("events") {
        // The cluster-wide call is only there for node events.
        let nodes_only = has_namespaced && !namespaced(&o);
        for row in parse::table(&o.outcome.text, "LAST") {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            let (reason, object, message) = (get("REASON"), get("OBJECT"), get("MESSAGE"));
            let first = ctx.ago(parse::age_secs(get("FIRST")));
            let (kind, name) = object.split_once('/').unwrap_or(("", object));
            if nodes_only && kind != "Node" {
                continue;
            }
            let warning = get("TYPE") == "Warning";
            let interesting = warning
                || matches!(
                    reason,
                    "ScalingReplicaSet" | "SuccessfulRescale" | "Killing" | "Started"
                );
            if interesting && !matches!(reason, "Started" | "Killing") {
                let short: String = message.chars().take(140).collect();
                ctx.event(first, "k8s.events", format!("{reason} {object}: {short}"));
            }
            if kind == "Node" && warning {
                let weight = match reason {
                    "NodeNotReady" | "NodeHasDiskPressure" | "EvictionThresholdMet" => 2.0,
                    _ => 0.5,
                };
                ctx.signal(
                    name,
                    "node_failure",
                    weight,
                    &o.tool,
                    format!("event {reason} on {object}: {message}"),
                    first,
                );
            }
            if reason == "Evicted" {
                let m = message.to_lowercase();
                let weight =
                    if m.contains("ephemeral") || m.contains("disk") || m.contains("memory") {
                        0.5
                    } else {
                        0.2
                    };
                ctx.signal(
                    &owner_of(name),
                    "evicted",
                    weight,
                    &o.tool,
                    format!("{object} evicted: {message}"),
                    first,
                );
            }
        }
    }
}

fn read_rollouts(ctx: &mut Ctx<'_>, pack: &EvidencePack) {
    let horizon = (ctx.scope.window_secs + 3600) as i64;
    for o in pack.of("rollout_history") {
        let name = o.args.get("name").and_then(|v| v.as_str()).unwrap_or("");
        for change in parse::revision_changes(&o.outcome.text) {
            let Some(ago) = change.ago_secs else { continue };
            let at = ctx.ago(Some(ago));
            let items = change.items.join("; ");
            if ago > horizon {
                // Old changes are context for people, not suspects.
                if ago <= 3 * 86_400 {
                    ctx.event(
                        at,
                        "k8s.rollout",
                        format!("{name} revision {}: {items}", change.to),
                    );
                }
                continue;
            }
            ctx.event(
                at,
                "k8s.rollout",
                format!("{name} rolled out revision {}: {items}", change.to),
            );
            let lower = items.to_lowercase();
            if lower.contains(" image ") {
                ctx.signal(
                    name,
                    "recent_deploy",
                    1.0,
                    &o.tool,
                    format!(
                        "revision {} rolled out {}m ago: {items}",
                        change.to,
                        ago / 60
                    ),
                    at,
                );
            }
            if lower.contains("env removed") || lower.contains("env renamed") {
                ctx.signal(
                    name,
                    "missing_config",
                    1.5,
                    &o.tool,
                    format!("revision {} changed the environment: {items}", change.to),
                    at,
                );
            }
            for item in &change.items {
                if let Some(lowered) = memory_lowered(item).filter(|_| item.contains("limits")) {
                    ctx.signal(
                        name,
                        "oom_killed",
                        2.0,
                        &o.tool,
                        format!("revision {} lowered the memory limit: {lowered}", change.to),
                        at,
                    );
                }
            }
        }
    }
}

/// `limits memory=512Mi → memory=256Mi` when the new value is lower.
fn memory_lowered(item: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"memory=([0-9.]+)([KMGT]i?)?\s*→\s*(?:[a-z,=0-9.]*,)?memory=([0-9.]+)([KMGT]i?)?",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(item)?;
    let bytes = |n: Option<regex::Match<'_>>, u: Option<regex::Match<'_>>| -> Option<f64> {
        let n: f64 = n?.as_str().parse().ok()?;
        let mult = match u.map(|m| m.as_str()) {
            Some("Ki") => 1024.0,
            Some("Mi") => 1024.0 * 1024.0,
            Some("Gi") => 1024.0 * 1024.0 * 1024.0,
            Some("K") => 1e3,
            Some("M") => 1e6,
            Some("G") => 1e9,
            _ => 1.0,
        };
        Some(n * mult)
    };
    let before = bytes(c.get(1), c.get(2))?;
    let after = bytes(c.get(3), c.get(4))?;
    (after < before).then(|| {
        format!(
            "{}{} → {}{}",
            &c[1],
            c.get(2).map_or("", |m| m.as_str()),
            &c[3],
            c.get(4).map_or("", |m| m.as_str())
        )
    })
}

/// Verbs that say an error came from the named service.
const PROPAGATED: &[&str] = &[
    "returned",
    "responded",
    "answered",
    "failed",
    "unavailable",
    "error",
];

/// `name.namespace.svc[.cluster.local]` → `name`.
fn short_dns(text: &str) -> String {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"\.[a-z0-9-]+\.svc(?:\.cluster\.local)?\b").ok());
    match re.as_ref() {
        Some(re) => re.replace_all(text, "").into_owned(),
        None => text.to_string(),
    }
}

fn read_patterns(ctx: &mut Ctx<'_>, pack: &EvidencePack, world: &World, catalogue: &Catalogue) {
    let known: Vec<String> = ctx.health.keys().cloned().collect();
    let book = super::peers::address_book(pack);
    for o in pack.of("log_patterns") {
        for p in parse::log_patterns(&o.outcome.text) {
            let fresh = p.kind == "NEW";
            let surged = p.kind == "SURGED" && p.now >= 3.0;
            if !(fresh || surged) || p.now < 2.0 {
                continue;
            }
            // Cluster DNS names read as the Service they name
            // (`ledger.payments.svc.cluster.local failed` is `ledger failed`).
            let text = short_dns(&format!(
                "{} {}",
                p.template.to_lowercase(),
                p.example.as_deref().unwrap_or("").to_lowercase()
            ));
            let service = p.services.first().cloned().unwrap_or_default();
            let at = p.first.as_deref().and_then(|f| ctx.clock(f));
            let base = if fresh { 4.0 } else { 3.0 };
            let volume = (1.0 + p.now).log10().min(3.0) * 0.5;
            let shown: String = p
                .example
                .as_deref()
                .unwrap_or(&p.template)
                .chars()
                .take(180)
                .collect();
            let detail = format!(
                "{} log template in {} ({} lines now, {} in the baseline): {shown}",
                p.kind,
                p.services.join(","),
                p.now,
                p.base
            );
            ctx.event(
                at,
                "signoz.logs",
                format!("first {} log line in {service}: {shown}", p.kind),
            );
            // The catalogue first: a signature written from the software's own
            // words; the cue lists below are the fallback for texts it does
            // not know.
            let line = p.example.as_deref().unwrap_or(&p.template);
            if let Some(hit) = catalogue
                .best(Field::Log, line)
                .or_else(|| catalogue.best(Field::Log, &p.template))
                .filter(|h| h.signature.strength >= 2)
                && let Some(kind) = super::signatures::KINDS
                    .iter()
                    .copied()
                    .find(|k| *k == hit.signature.kind)
                    .map(|k| {
                        if k == "new_error" && surged {
                            "error_surge"
                        } else {
                            k
                        }
                    })
            {
                let peer = hit
                    .peer
                    .clone()
                    .map(|p| {
                        let ip = p.split(':').next().unwrap_or(&p).to_string();
                        book.get(&ip).cloned().unwrap_or(p)
                    })
                    .or_else(|| super::peers::implied_peer(&hit.signature.kind, line));
                let component = peer
                    .as_deref()
                    .and_then(|peer| super::peers::peer_component(peer, world, &known))
                    .filter(|c| !same_component(c, &service))
                    .unwrap_or_else(|| service.clone());
                let weight = base - 4.0 + f64::from(hit.signature.strength) + volume;
                // The peer is up but a policy drops this caller's packets.
                if matches!(kind, "dependency_unreachable" | "network_policy_blocked")
                    && let Some(peer) = &peer
                    && let Some((Some(svc), _)) = world.resolve(peer)
                    && let Some(policy) = world.blocking_policy(svc, &service)
                {
                    ctx.signal(
                        &policy.name,
                        "network_policy_blocked",
                        4.0 + f64::from(hit.signature.strength) * 0.5,
                        "k8s.networkpolicies",
                        format!(
                            "NetworkPolicy {} selects the pods behind {peer} and admits none of {service}'s pods; {detail}",
                            policy.name
                        ),
                        at,
                    );
                }
                ctx.signal(&component, kind, weight, &o.tool, detail, at);
                continue;
            }
            let (kind, component) = if has(&text, TLS_CUES) {
                (
                    "certificate_expired",
                    host_in(&text).unwrap_or_else(|| service.clone()),
                )
            } else if has(&text, CRED_CUES) {
                (
                    "credentials_expired",
                    host_in(&text).unwrap_or_else(|| service.clone()),
                )
            } else if has(&text, POOL_CUES) {
                ("connection_pool_exhausted", service.clone())
            } else if has(&text, DEP_CUES) {
                (
                    "dependency_unreachable",
                    host_in(&text).unwrap_or_else(|| service.clone()),
                )
            } else if has(&text, THROTTLE_CUES) {
                ("cpu_throttling", service.clone())
            } else if has(&text, OOM_CUES) {
                ("oom_killed", service.clone())
            } else if has(&text, CONFIG_CUES) {
                ("missing_config", service.clone())
            } else if has(&text, ERROR_CUES) {
                // "checkout returned 503" logged by frontend is checkout's
                // failure seen from upstream, not frontend's own.
                if let Some(callee) = known.iter().find(|k| {
                    !same_component(k, &service)
                        && PROPAGATED
                            .iter()
                            .any(|v| text.contains(&format!("{} {v}", k.to_lowercase())))
                }) {
                    ctx.signal(callee, "degraded", 0.5, &o.tool, detail, at);
                    continue;
                }
                // A template that was there before and is now frequent is
                // a known error surging, not a new one.
                (
                    if surged { "error_surge" } else { "new_error" },
                    service.clone(),
                )
            } else if has(&text, SLOW_CUES) {
                ("latency_regression", service.clone())
            } else {
                continue;
            };
            ctx.signal(&component, kind, base + volume, &o.tool, detail, at);
        }
    }
}

fn read_services(ctx: &mut Ctx<'_>, pack: &EvidencePack) -> Vec<String> {
    for o in pack.of("service_health") {
        if let Some(s) = o.args.get("service").and_then(|v| v.as_str()) {
            let h = parse::service_health(&o.outcome.text);
            ctx.health.insert(s.to_string(), h);
        }
    }
    let mut degraded = Vec::new();
    let mut found = Vec::new();
    let symptom = |service: &str, kind: &'static str, detail: String| Signal {
        component: service.to_string(),
        kind,
        weight: 1.0,
        source: "signoz.service_health".into(),
        detail,
        at: None,
    };
    for (service, h) in &ctx.health {
        let p99 = h.p99_ratio().unwrap_or(1.0);
        let slow = p99 >= 2.0 && h.p99_ms.0.unwrap_or(0.0) >= 50.0;
        let failing = h.err_delta() >= 3.0;
        if slow || failing {
            degraded.push(service.clone());
            found.push(symptom(
                service,
                "degraded",
                format!("{service}: {}", h.verdict),
            ));
        }
        // service_health's baseline is the hour before the window.
        if let Some(r) = h.traffic_ratio(ctx.scope.window_secs, 3600)
            && r >= 1.8
        {
            found.push(symptom(
                service,
                "traffic_spike",
                format!("{service}: traffic {r:.1}x the baseline ({})", h.verdict),
            ));
        }
    }
    ctx.signals.extend(found);
    degraded
}

/// Follows degraded callees from the alerting service down to the deepest.
fn degraded_path(
    start: &str,
    edges: &[parse::Edge],
    health: &BTreeMap<String, ServiceHealth>,
) -> Vec<String> {
    let is_bad = |s: &str, e: &parse::Edge| -> bool {
        let h = health.get(s);
        let slow = h.and_then(ServiceHealth::p99_ratio).unwrap_or(1.0) >= 2.0
            && h.and_then(|h| h.p99_ms.0).unwrap_or(0.0) >= 50.0;
        let failing = h.is_some_and(|h| h.err_delta() >= 3.0) || e.err_pct >= 5.0;
        slow || failing
    };
    let mut path = vec![start.to_string()];
    let mut seen: BTreeSet<String> = BTreeSet::from([start.to_string()]);
    loop {
        let here = path.last().cloned().unwrap_or_default();
        // The worst degraded callee: highest p99 ratio, then error rate.
        let next = edges
            .iter()
            .filter(|e| e.caller == here && !e.db && !seen.contains(&e.callee))
            .filter(|e| is_bad(&e.callee, e))
            .max_by(|a, b| {
                let score = |e: &parse::Edge| {
                    let h = health.get(&e.callee);
                    h.and_then(ServiceHealth::p99_ratio).unwrap_or(1.0)
                        + h.map_or(e.err_pct, ServiceHealth::err_delta) / 10.0
                };
                score(a).total_cmp(&score(b))
            });
        match next {
            Some(e) => {
                seen.insert(e.callee.clone());
                path.push(e.callee.clone());
            }
            None => return path,
        }
    }
}

fn read_mongo(ctx: &mut Ctx<'_>, pack: &EvidencePack, degraded: &[String]) {
    let saturated = pack
        .first("server_status")
        .and_then(|o| {
            o.outcome
                .text
                .lines()
                .find_map(|l| l.strip_prefix("flags: ").map(str::to_string))
        })
        .filter(|f| f.trim() != "none")
        .unwrap_or_default();
    let mut collscans: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(o) = pack.first("current_ops") {
        for row in parse::table(&o.outcome.text, "RUNNING") {
            if row.get("PLAN").is_some_and(|p| p == "COLLSCAN")
                && let Some(ns) = row.get("NS")
            {
                *collscans.entry(ns.clone()).or_default() += 1;
            }
        }
    }
    if let Some(o) = pack.first("slow_queries") {
        for row in parse::table(&o.outcome.text, "COUNT") {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            if get("PLAN") != "COLLSCAN" {
                continue;
            }
            let (examined, returned) = get("DOCS EXAM/RET")
                .split_once('/')
                .map(|(e, r)| {
                    (
                        parse::count(e).unwrap_or(0.0),
                        parse::count(r).unwrap_or(0.0),
                    )
                })
                .unwrap_or((0.0, 0.0));
            let selective = get("FLAGS").contains("EXAMINED>>RETURNED")
                || (returned > 0.0 && examined / returned >= 100.0);
            let n = parse::count(get("COUNT")).unwrap_or(1.0);
            let app = get("APP");
            let ns = get("NS");
            let p95 = parse::duration_ms(get("P95")).unwrap_or(0.0);
            let mut weight = 2.0 + (1.0 + n).log10();
            if selective {
                weight += 1.5;
            }
            // Operations running for minutes are batch or runaway work, not
            // the request path: what they do to a service is hold its pool's
            // connections. Seconds-long scans on the request path are the
            // classic missing index.
            let runaway = p95 >= 60_000.0;
            if runaway {
                ctx.signal(
                    app,
                    "connection_pool_exhausted",
                    1.5,
                    &o.tool,
                    format!("{} operations from {app} on {ns} run for minutes (p95 {}), holding connections", get("COUNT"), get("P95")),
                    None,
                );
            } else if degraded.iter().any(|d| same_component(d, app)) {
                weight += 3.0;
            }
            if collscans.get(ns).copied().unwrap_or(0) >= 2 {
                weight += 1.0;
            }
            if !saturated.is_empty() {
                weight += 0.5;
            }
            ctx.signal(
                ns,
                "missing_index",
                weight,
                &o.tool,
                format!(
                    "{} slow COLLSCAN {} on {ns} from {app}, p95 {}, examined/returned {}; shape {}",
                    get("COUNT"),
                    get("OP"),
                    get("P95"),
                    get("DOCS EXAM/RET"),
                    get("SHAPE")
                ),
                None,
            );
        }
    }
    if !saturated.is_empty()
        && let Some(o) = pack.first("server_status")
    {
        let top = collscans
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(ns, _)| ns.clone());
        if let Some(ns) = top {
            ctx.signal(
                &ns,
                "missing_index",
                0.5,
                &o.tool,
                format!("MongoDB under strain: {saturated}"),
                None,
            );
        }
    }
}

fn read_usage(ctx: &mut Ctx<'_>, pack: &EvidencePack, degraded: &[String]) {
    let mut hot_node = None;
    for o in pack.of("resource_usage") {
        if o.args.get("kind").and_then(|v| v.as_str()) != Some("nodes") {
            continue;
        }
        for row in parse::table(&o.outcome.text, "NODE") {
            let cpu = row
                .get("CPU%")
                .and_then(|p| parse::percent(p))
                .unwrap_or(0.0);
            if cpu >= 90.0 {
                hot_node = Some((row.get("NODE").cloned().unwrap_or_default(), cpu));
            }
        }
    }
    // The namespace's pods and the cluster's heaviest overlap.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for o in pack.of("resource_usage") {
        if o.args.get("kind").and_then(|v| v.as_str()) != Some("pods") {
            continue;
        }
        // Cluster-wide answers lead with a NAMESPACE column.
        let mut rows = parse::table(&o.outcome.text, "POD");
        if rows.is_empty() {
            rows = parse::table(&o.outcome.text, "NAMESPACE");
        }
        for row in rows {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("-");
            let pod = get("POD");
            if !seen.insert(pod.to_string()) {
                continue;
            }
            let owner = owner_of(pod);
            let cpu = parse::millicores(get("CPU")).unwrap_or(0.0);
            let cpu_req = parse::percent(get("CPU/REQ"));
            let cpu_lim = parse::percent(get("CPU/LIM"));
            let mem_lim = parse::percent(get("MEM/LIM"));
            if mem_lim.is_some_and(|m| m >= 92.0) {
                ctx.signal(
                    &owner,
                    "oom_killed",
                    0.7,
                    &o.tool,
                    format!(
                        "{pod} uses {} memory, {}% of its limit",
                        get("MEMORY"),
                        get("MEM/LIM").trim_end_matches('%')
                    ),
                    None,
                );
            }
            if cpu_lim.is_some_and(|c| c >= 90.0) {
                let victim = degraded.iter().any(|d| same_component(d, &owner));
                ctx.signal(
                    &owner,
                    "cpu_throttling",
                    if victim { 1.5 } else { 0.5 },
                    &o.tool,
                    format!(
                        "{pod} uses {} CPU, {} of its limit (throttled)",
                        get("CPU"),
                        get("CPU/LIM")
                    ),
                    None,
                );
            }
            let unbounded = cpu_lim.is_none() && cpu >= 1500.0;
            if unbounded && cpu_req.is_none_or(|r| r >= 300.0) {
                let (weight, node) = match &hot_node {
                    Some((node, pct)) => (4.0, format!("; node {node} CPU at {pct:.0}%")),
                    None => (1.0, String::new()),
                };
                ctx.signal(
                    &owner,
                    "noisy_neighbor",
                    weight,
                    &o.tool,
                    format!(
                        "{pod} uses {} CPU with no CPU limit ({} of its request){node}",
                        get("CPU"),
                        get("CPU/REQ")
                    ),
                    None,
                );
            }
        }
    }
}

/// Runs the rules over an evidence pack.
pub fn analyse(scope: &Scope, pack: &EvidencePack) -> Analysis {
    let mut ctx = Ctx {
        scope,
        signals: Vec::new(),
        timeline: Vec::new(),
        health: BTreeMap::new(),
    };
    read_health(&mut ctx, pack);
    read_events(&mut ctx, pack);
    read_rollouts(&mut ctx, pack);
    let degraded = read_services(&mut ctx, pack);
    let world = super::world::World::from_pack(pack);
    let catalogue = super::signatures::Catalogue::builtin();
    read_patterns(&mut ctx, pack, &world, catalogue);
    read_mongo(&mut ctx, pack, &degraded);
    read_usage(&mut ctx, pack, &degraded);
    // Inside the workloads: container states, logs and events, read through
    // the signature catalogue.
    let known: Vec<String> = ctx.health.keys().cloned().collect();
    let inside = super::inside::read(pack, &world, catalogue, scope.service.as_deref(), &known);
    ctx.signals.extend(inside.signals);
    // Metric change points belong on the timeline too.
    for m in super::metrics::read(scope, pack, &world) {
        ctx.event(m.at, "signoz.metrics", m.detail.clone());
        ctx.signals.push(m);
    }
    let mut peers = inside.peers;
    // A data store's collection or table reached through a degraded client
    // (`slow COLLSCAN … from metadata-api`) is as close to the failing path
    // as that client.
    for s in ctx.signals.iter().filter(|s| {
        matches!(
            s.kind,
            "missing_index" | "lock_contention" | "replication_lag"
        ) && degraded
            .iter()
            .any(|d| s.detail.contains(&format!(" from {d}")))
    }) {
        if !peers.contains(&s.component) {
            peers.push(s.component.clone());
        }
    }
    if let Some(holder) = super::locks::attribute(&mut ctx.signals, pack, &world) {
        peers.push(holder);
    }
    ctx.timeline.extend(inside.timeline);

    let edges: Vec<parse::Edge> = pack
        .of("service_dependencies")
        .flat_map(|o| parse::edges(&o.outcome.text))
        .collect();
    let path = match &scope.service {
        Some(s) if ctx.health.contains_key(s) || edges.iter().any(|e| &e.caller == s) => {
            degraded_path(s, &edges, &ctx.health)
        }
        _ => Vec::new(),
    };
    // The deepest degraded service is a suspect in its own right: "it is
    // slow/failing and everything above it waits on it".
    if path.len() >= 2
        && let Some(deepest) = path.last()
    {
        let h = ctx.health.get(deepest).cloned().unwrap_or_default();
        // "It is slow" is the generic explanation; a specific one for the
        // same service (throttled, OOMKilled, a bad deploy…) beats it.
        let explained = ctx.signals.iter().any(|s| {
            same_component(&s.component, deepest)
                && !SYMPTOMS.contains(&s.kind)
                && !matches!(
                    s.kind,
                    "latency_regression" | "error_surge" | "new_error" | "probe_failing"
                )
                && s.weight >= 1.0
        });
        let generic_weight = if explained {
            1.5
        } else {
            3.0 + path.len() as f64 * 0.5
        };
        let (kind, detail) = if h.err_delta() >= 3.0 && h.p99_ratio().unwrap_or(1.0) < 2.0 {
            (
                "error_surge",
                format!("{deepest} is failing: {}", h.verdict),
            )
        } else {
            (
                "latency_regression",
                format!("{deepest} is slow: {}", h.verdict),
            )
        };
        ctx.signal(
            deepest,
            kind,
            generic_weight,
            "signoz.service_dependencies",
            format!(
                "{} ← deepest degraded service on the call path {}",
                detail,
                path.join(" → ")
            ),
            None,
        );
    }
    // A db-bound degraded service: slow database calls make the database a
    // candidate even before MongoDB itself was read.
    for e in edges.iter().filter(|e| e.db) {
        if degraded.contains(&e.caller) && e.p99_ms.is_some_and(|p| p >= 500.0) {
            ctx.signal(
                &e.caller,
                "degraded",
                0.5,
                "signoz.service_dependencies",
                format!(
                    "{} → {} (db) p99 {:.0}ms, {:.1}% errors",
                    e.caller,
                    e.callee,
                    e.p99_ms.unwrap_or(0.0),
                    e.err_pct
                ),
                None,
            );
        }
    }

    // What the clients report about their data store is the store's (after
    // the path check above, which it explains).
    peers.extend(super::stores::attribute(
        &mut ctx.signals,
        &edges,
        pack,
        &world,
    ));
    super::across::attribute(&mut ctx.signals, &world);

    // Combine: a new error template in a service that was just deployed is
    // a bad deploy.
    let deployed: Vec<Signal> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "recent_deploy")
        .cloned()
        .collect();
    for d in &deployed {
        let errors: Vec<Signal> = ctx
            .signals
            .iter()
            .filter(|s| {
                same_component(&s.component, &d.component)
                    && matches!(s.kind, "new_error" | "crash_loop")
            })
            .cloned()
            .collect();
        let failing = degraded.iter().any(|s| same_component(s, &d.component));
        if !errors.is_empty() || failing {
            let mut weight = 2.0;
            if !errors.is_empty() {
                weight += 2.5;
            }
            if failing {
                weight += 1.5;
            }
            ctx.signal(
                &d.component,
                "bad_deploy",
                weight,
                &d.source,
                d.detail.clone(),
                d.at,
            );
            for e in errors {
                ctx.signal(&d.component, "bad_deploy", 0.0, &e.source, e.detail, e.at);
            }
        }
    }
    // Evictions for lack of disk or memory point at the node under that
    // pressure.
    let pressured: Vec<(String, &'static str)> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "node_failure")
        .filter_map(|s| {
            let d = s.detail.to_lowercase();
            if d.contains("diskpressure") || d.contains("disk pressure") || d.contains("ephemeral")
            {
                Some((s.component.clone(), "disk"))
            } else if d.contains("memorypressure") || d.contains("memory pressure") {
                Some((s.component.clone(), "memory"))
            } else {
                None
            }
        })
        .collect();
    let evictions: Vec<Signal> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "evicted")
        .cloned()
        .collect();
    let mut linked: BTreeSet<(String, String)> = BTreeSet::new();
    for e in &evictions {
        let d = e.detail.to_lowercase();
        let resource = if d.contains("ephemeral") || d.contains("disk") {
            "disk"
        } else if d.contains("memory") {
            "memory"
        } else {
            continue;
        };
        for (node, _) in pressured.iter().filter(|(_, r)| *r == resource) {
            if linked.insert((node.clone(), e.component.clone())) {
                ctx.signal(
                    node,
                    "node_failure",
                    1.5,
                    &e.source,
                    format!(
                        "{} — evicted for lack of {resource}, which {node} is short of",
                        e.detail
                    ),
                    e.at,
                );
            }
        }
    }
    // A pod the scheduler keeps off a node because of that node's condition
    // taint (`node.kubernetes.io/disk-pressure`) is a casualty of the node.
    let taints: &[(&str, &str)] = &[
        ("node.kubernetes.io/disk-pressure", "disk"),
        ("node.kubernetes.io/memory-pressure", "memory"),
    ];
    let mut casualties: Vec<Signal> = Vec::new();
    for s in ctx.signals.iter_mut().filter(|s| s.kind == "unschedulable") {
        let d = s.detail.to_lowercase();
        for (taint, resource) in taints {
            if !d.contains(taint) {
                continue;
            }
            for (node, _) in pressured.iter().filter(|(_, r)| r == resource) {
                casualties.push(Signal {
                    component: node.clone(),
                    kind: "node_failure",
                    weight: 1.5,
                    source: s.source.clone(),
                    detail: format!(
                        "{} — kept off {node} by its {resource}-pressure taint",
                        s.detail
                    ),
                    at: s.at,
                });
                s.weight *= 0.5;
            }
        }
    }
    ctx.signals.extend(casualties);
    // A CPU-starved degraded service next to a hot node's unbounded
    // consumer: the consumer is the cause.
    let starved = ctx.signals.iter().any(|s| {
        s.kind == "cpu_throttling" && degraded.iter().any(|d| same_component(d, &s.component))
    });
    let hot_neighbour = ctx
        .signals
        .iter()
        .any(|s| s.kind == "noisy_neighbor" && s.detail.contains("CPU at"));
    if starved && hot_neighbour {
        for s in ctx.signals.iter_mut() {
            if s.kind == "noisy_neighbor" && s.detail.contains("CPU at") {
                s.weight += 3.0;
            } else if s.kind == "cpu_throttling" {
                // The starvation is how the neighbour hurts; it is not the cause.
                s.weight *= 0.5;
            }
        }
    }
    // Traffic spike + HPA at max: capacity, not a bug.
    let spikes: Vec<String> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "traffic_spike")
        .map(|s| s.component.clone())
        .collect();
    // A latent misconfiguration (an autoscaler that cannot read its target
    // or its metric) does no harm until the load comes: with a traffic
    // spike on the same workload, the spike is when it started to matter,
    // however old the warnings are.
    let spike_at = |c: &str| {
        ctx.signals
            .iter()
            .filter(|s| s.kind == "traffic_spike" && same_component(&s.component, c))
            .filter_map(|s| s.at)
            .min()
    };
    let triggered: Vec<(usize, Option<Timestamp>)> = ctx
        .signals
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.kind == "hpa_misconfigured" && spikes.iter().any(|c| same_component(c, &s.component))
        })
        .map(|(i, s)| (i, spike_at(&s.component)))
        .collect();
    for (i, at) in triggered {
        let s = &mut ctx.signals[i];
        s.weight += 2.0;
        s.at = at;
        s.detail = format!("{} (matters since the traffic rose)", s.detail);
    }
    for s in ctx.signals.iter_mut() {
        if s.kind == "hpa_maxed" && spikes.iter().any(|c| same_component(c, &s.component)) {
            s.weight += 3.0;
        }
    }

    let mut affected = inside.affected;
    // Another namespace was read for the dependency that links it to the
    // incident, not for everything failing there: its troubled workloads
    // count as affected only when connected to the incident (on its path,
    // or named by another component's errors).
    if let Some(home) = scope.namespace.as_deref() {
        affected.retain(|a| {
            let pods: Vec<&super::world::Pod> =
                world.pods.iter().filter(|p| &p.owner == a).collect();
            pods.is_empty()
                || pods.iter().any(|p| p.namespace == home)
                || path
                    .iter()
                    .chain(degraded.iter())
                    .chain(peers.iter())
                    .any(|x| same_component(x, a))
                || ctx
                    .signals
                    .iter()
                    .any(|s| !same_component(&s.component, a) && s.detail.contains(a.as_str()))
        });
    }
    if let Some(s) = &scope.service
        && !affected.iter().any(|a| same_component(a, s))
    {
        affected.insert(0, s.clone());
    }
    // The incident's first symptom: what went wrong on the affected path
    // within the window. A pod that has flapped for hours is background,
    // not the start of this incident.
    let window_start = scope.from();
    let first_symptom = ctx
        .signals
        .iter()
        .filter(|s| affected.iter().any(|a| same_component(a, &s.component)))
        .filter_map(|s| s.at)
        .filter(|at| *at >= window_start)
        .chain(scope.alert_at)
        .min();
    // The nodes that matter: those of failing pods, of the subject, and of
    // the services on the degraded path (a starved service logs nothing);
    // every workload with a pod there is a neighbour.
    let mut nodes = inside.nodes;
    for p in world.pods.iter().filter(|p| {
        path.iter()
            .chain(degraded.iter())
            .any(|d| same_component(d, &p.owner))
    }) {
        if let Some(n) = &p.node {
            nodes.insert(n.clone());
        }
    }
    let mut neighbours = inside.neighbours;
    for p in world
        .pods
        .iter()
        .filter(|p| p.node.as_ref().is_some_and(|n| nodes.contains(n)))
    {
        if !neighbours.contains(&p.owner) {
            neighbours.push(p.owner.clone());
        }
    }
    let reach = super::rank::Reach {
        degraded: degraded.clone(),
        path: path.clone(),
        affected,
        nodes: (!nodes.is_empty()).then_some(nodes),
        peers,
        neighbours,
        first_symptom,
    };
    let suspects = super::rank::rank(scope, &ctx.signals, &reach);
    let mut timeline = ctx.timeline;
    if let Some(at) = scope.alert_at {
        timeline.push(TimelineEvent {
            at,
            source: "alert".into(),
            event: format!("alert fired: {}", scope.alert_name),
        });
    }
    timeline.sort_by(|a, b| a.at.cmp(&b.at).then(a.event.cmp(&b.event)));
    timeline.dedup_by(|a, b| a.event == b.event);
    let cutoff = scope
        .now
        .checked_sub(SignedDuration::from_secs(
            (scope.window_secs + 2 * 3600) as i64,
        ))
        .unwrap_or(scope.now);
    timeline.retain(|t| t.at >= cutoff || t.source == "k8s.rollout");
    let symptoms = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "degraded" || s.kind == "traffic_spike")
        .map(|s| Evidence {
            source: s.source.clone(),
            detail: s.detail.clone(),
            link: None,
        })
        .collect();
    Analysis {
        suspects,
        timeline,
        degraded,
        path,
        symptoms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_owners_and_component_names() {
        assert_eq!(owner_of("cart-59b7d8c6f-87l5t"), "cart");
        assert_eq!(owner_of("redis-0"), "redis");
        assert_eq!(owner_of("node-exporter-x7k2p"), "node-exporter");
        assert!(same_component("checkout-api", "checkout"));
        assert!(same_component("shop.orders", "orders"));
        assert!(!same_component("cart", "carts"));
    }

    #[test]
    fn hosts_in_connection_errors() {
        assert_eq!(
            host_in("dial tcp: lookup inventory on 10.96.0.10:53: no such host").as_deref(),
            Some("inventory")
        );
        assert_eq!(
            host_in("Post \"https://payments-gateway:8443/charge\": x509: certificate has expired")
                .as_deref(),
            Some("payments-gateway")
        );
        assert_eq!(host_in("nothing here"), None);
    }

    #[test]
    fn only_lowered_memory_limits_count() {
        assert_eq!(
            memory_lowered("cart limits cpu=500m,memory=512Mi → cpu=500m,memory=256Mi").as_deref(),
            Some("512Mi → 256Mi")
        );
        assert_eq!(
            memory_lowered("cart limits memory=256Mi → memory=1Gi"),
            None
        );
    }
}
