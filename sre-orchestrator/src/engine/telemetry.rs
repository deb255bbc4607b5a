//! What the services' telemetry, the data stores and resource usage say.
//!
//! The readers here turn SigNoz's answers (log templates, service health,
//! the service graph), MongoDB's (slow operations, replication, locks) and
//! the pods' resource usage into [`Signal`]s, the way
//! [`super::rules`]' Kubernetes readers do for objects and events. They run
//! inside [`super::rules::analyse`], which combines what all readers found.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use regex::Regex;

use super::collect::EvidencePack;
use super::parse::{self, ServiceHealth};
use super::rules::{
    CONFIG_CUES, CRED_CUES, Ctx, DEP_CUES, ERROR_CUES, OOM_CUES, POOL_CUES, SLOW_CUES, Signal,
    THROTTLE_CUES, TLS_CUES, has, host_in, owner_of, same_component,
};
use super::signatures::{Catalogue, Field, Hit};
use super::world::World;

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

/// What reading failures through the signature catalogue needs, gathered
/// once per analysis for the log and span readers: the catalogue, the
/// cluster's objects, the services with health figures and the pack's
/// address book (IP → name).
pub(super) struct Reader<'a> {
    world: &'a World,
    catalogue: &'a Catalogue,
    known: Vec<String>,
    book: BTreeMap<String, String>,
}

impl<'a> Reader<'a> {
    /// Gathers it after the services' health was read.
    pub(super) fn new(
        ctx: &Ctx<'_>,
        pack: &EvidencePack,
        world: &'a World,
        catalogue: &'a Catalogue,
    ) -> Self {
        Reader {
            world,
            catalogue,
            known: ctx.health.keys().cloned().collect(),
            book: super::peers::address_book(pack),
        }
    }

    /// The first strong (strength 2 or more) signature of `tries` (a field
    /// and a text each, in order), with its kind.
    fn hit(&self, tries: &[(Field, &str)]) -> Option<(Hit<'a>, &'static str)> {
        let hit = tries.iter().find_map(|&(field, text)| {
            self.catalogue
                .best(field, text)
                .filter(|h| h.signature.strength >= 2)
        })?;
        let kind = super::signatures::KINDS
            .iter()
            .copied()
            .find(|k| *k == hit.signature.kind)?;
        Some((hit, kind))
    }

    /// Who a failure is about: the peer it names (by name, DNS name or an
    /// address the address book knows), resolved to a component, or the
    /// service that reported it.
    fn culprit(&self, hit: &Hit<'_>, line: &str, service: &str) -> (String, Option<String>) {
        let peer = hit
            .peer
            .clone()
            .map(|p| {
                let ip = p.split(':').next().unwrap_or(&p).to_string();
                self.book.get(&ip).cloned().unwrap_or(p)
            })
            .or_else(|| {
                (hit.signature.culprit != super::signatures::Culprit::Own)
                    .then(|| super::peers::implied_peer(&hit.signature.kind, line))
                    .flatten()
            });
        let component = peer
            .as_deref()
            .and_then(|peer| super::peers::peer_component(peer, self.world, &self.known))
            .filter(|c| !same_component(c, service))
            .or_else(|| self.relayed_from(hit, service))
            .unwrap_or_else(|| service.to_string());
        (component, peer)
    }

    /// A store's own reply relayed by its client with no peer in the line,
    /// when no client setting can have made it
    /// ([`super::signatures::Signature::relayed_system`]): the one store of
    /// that system in view.
    fn relayed_from(&self, hit: &Hit<'_>, service: &str) -> Option<String> {
        let system = hit.signature.relayed_system()?;
        let namespace = self
            .world
            .pods
            .iter()
            .find(|p| same_component(&p.owner, service))
            .map_or("", |p| p.namespace.as_str());
        self.world.store_of_system(system, namespace, service)
    }
}

pub(super) fn read_patterns(ctx: &mut Ctx<'_>, pack: &EvidencePack, reader: &Reader<'_>) {
    let world = reader.world;
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
            // The start, and the innermost cause when the line names one
            // (`… ← caused by PSQLException: password authentication
            // failed`): a wrapped error says what failed first and why last.
            let shown = with_cause(p.example.as_deref().unwrap_or(&p.template), 180);
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
            // The innermost cause first: a wrapped error says what failed
            // first and why last (a pool's timeout `← caused by` the
            // pooler's `no more connections allowed`).
            let cause = innermost_cause(line).unwrap_or(line);
            if let Some((hit, kind)) = reader.hit(&[
                (Field::Log, cause),
                (Field::Log, line),
                (Field::Log, &p.template),
            ]) {
                let kind = if kind == "new_error" && surged {
                    "error_surge"
                } else {
                    kind
                };
                let (component, peer) = reader.culprit(&hit, line, &service);
                if !same_component(&component, &service) {
                    ctx.blames.insert(service.clone(), component.clone());
                } else if super::peers::PEER_SIDE.contains(&kind)
                    && !ctx.self_reports.contains(&service)
                {
                    ctx.self_reports.push(service.clone());
                }
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
                        format!("{}; {detail}", policy.why(peer, &service)),
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
                if let Some(callee) = reader.known.iter().find(|k| {
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

/// `   9  GET /api  0f1b2593eb40212ddb76886c6ba6cc5e  Connection refused (…)`:
/// a row of `service_health`'s "Top error messages (span status)".
fn span_error_rows(text: &str) -> Vec<(f64, String)> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| Regex::new(r"^\s*(\d+)\s+.*?\s([0-9a-f]{16,32})\s+(\S.*)$").ok())
        .as_ref()
    else {
        return Vec::new();
    };
    text.lines()
        .skip_while(|l| !l.starts_with("Top error messages"))
        .filter_map(|l| {
            let c = re.captures(l)?;
            let n = c.get(1)?.as_str().parse::<f64>().ok()?;
            Some((n, c.get(3)?.as_str().trim().to_string()))
        })
        .collect()
}

/// Whether a signal's time is only the start of a `service_health` bucket
/// (span-status signals): a lower bound minutes wide, too coarse to order
/// against a rollout or a pod's start.
pub(super) fn coarse_time(s: &Signal) -> bool {
    s.source.ends_with("service_health")
}

/// What a failing service's spans say when they fail. A service without
/// logs (or whose logs were not kept) still records why each request
/// failed in its span status; a connection refused by a named peer, a 403
/// from it, a TLS failure are read through the catalogue like log lines.
pub(super) fn read_span_errors(ctx: &mut Ctx<'_>, pack: &EvidencePack, reader: &Reader<'_>) {
    for o in pack.of("service_health") {
        let Some(service) = o.args.get("service").and_then(|v| v.as_str()) else {
            continue;
        };
        let Some(h) = ctx.health.get(service) else {
            continue;
        };
        // Only errors that are new: the error rate rose.
        if h.err_delta() < 3.0 {
            continue;
        }
        let at = h.degraded_since().and_then(|t| ctx.clock(t));
        let mut seen: BTreeSet<(String, &'static str)> = BTreeSet::new();
        for (count, message) in span_error_rows(&o.outcome.text) {
            // The innermost cause first, as for log lines.
            let tries: Vec<(Field, &str)> = innermost_cause(&message)
                .map(|c| (Field::Log, c))
                .into_iter()
                .chain([
                    (Field::SpanStatus, message.as_str()),
                    (Field::Log, &message),
                ])
                .collect();
            let Some((hit, kind)) = reader.hit(&tries) else {
                continue;
            };
            let (mut component, _) = reader.culprit(&hit, &message, service);
            // A span status often omits the peer its logs name
            // (`[Errno -2] Name or service not known`): the logs say who.
            if same_component(&component, service)
                && super::peers::PEER_SIDE.contains(&kind)
                && let Some(named) = ctx.blames.get(service)
            {
                component = named.clone();
            }
            if !same_component(&component, service) {
                ctx.blames.insert(service.to_string(), component.clone());
            } else if super::peers::PEER_SIDE.contains(&kind)
                && !ctx.self_reports.iter().any(|r| r == service)
            {
                ctx.self_reports.push(service.to_string());
            }
            // One signal per (culprit, kind): the table lists one message
            // per operation, the same failure several times.
            if !seen.insert((component.clone(), kind)) {
                continue;
            }
            let volume = (1.0 + count).log10().min(3.0) * 0.5;
            let shown: String = message.chars().take(180).collect();
            ctx.signal(
                &component,
                kind,
                f64::from(hit.signature.strength) - 1.0 + volume,
                &o.tool,
                format!("{service}'s failing spans ({count}x): {shown}"),
                at,
            );
        }
    }
}

pub(super) fn read_services(ctx: &mut Ctx<'_>, pack: &EvidencePack) -> Vec<String> {
    // Where each service's window began.
    let mut health_from: BTreeMap<String, Timestamp> = BTreeMap::new();
    for o in pack.of("service_health") {
        if let Some(s) = o.args.get("service").and_then(|v| v.as_str()) {
            let h = parse::service_health(&o.outcome.text);
            ctx.health.insert(s.to_string(), h);
            if let Some(from) = o
                .args
                .get("from")
                .and_then(|v| v.as_str())
                .and_then(|t| t.parse::<Timestamp>().ok())
            {
                health_from.insert(s.to_string(), from);
            }
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
        let slow = h.slower();
        let failing = h.err_delta() >= 3.0;
        if slow || failing {
            degraded.push(service.clone());
            found.push(symptom(
                service,
                "degraded",
                format!("{service}: {}", h.verdict),
            ));
        }
        // No traffic at all in the window, though the baseline had some:
        // its requests stopped before the window began, and the incident
        // with them. Nothing that began later caused it.
        if h.verdict.starts_with("NO TRAFFIC") {
            found.push(Signal {
                at: health_from.get(service).copied(),
                ..symptom(service, "degraded", format!("{service}: {}", h.verdict))
            });
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
pub(super) fn degraded_path(
    start: &str,
    edges: &[parse::Edge],
    health: &BTreeMap<String, ServiceHealth>,
) -> Vec<String> {
    let is_bad = |s: &str, e: &parse::Edge| -> bool {
        let h = health.get(s);
        let slow = h.is_some_and(ServiceHealth::slower);
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

/// A slow-query row's documents examined and returned (`13.9M/3`).
fn examined_returned(row: &BTreeMap<String, String>) -> (f64, f64) {
    row.get("DOCS EXAM/RET")
        .and_then(|v| v.split_once('/'))
        .map(|(e, r)| {
            (
                parse::count(e).unwrap_or(0.0),
                parse::count(r).unwrap_or(0.0),
            )
        })
        .unwrap_or((0.0, 0.0))
}

pub(super) fn read_mongo(ctx: &mut Ctx<'_>, pack: &EvidencePack, degraded: &[String]) {
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
    // Plans that read far more than they return: a collection scan, or an
    // index that does not fit the query (`IXSCAN { tenantId: 1 }` examining
    // 13.9M documents for 3, sorting in memory: the compound index is what
    // is missing). What MongoDB's own advisors call an inefficient query.
    let slow_rows = pack
        .first("slow_queries")
        .map(|o| parse::table(&o.outcome.text, "COUNT"))
        .unwrap_or_default();
    let unindexed = |row: &BTreeMap<String, String>| {
        let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
        let (examined, returned) = examined_returned(row);
        get("PLAN") == "COLLSCAN"
            || (examined >= 10_000.0 && examined >= 1_000.0 * returned.max(1.0))
    };
    let unindexed_plans: Vec<(String, String)> = slow_rows
        .iter()
        .filter(|r| unindexed(r))
        .filter_map(|r| Some((r.get("NS")?.clone(), r.get("PLAN")?.clone())))
        .collect();
    let mut collscans: BTreeMap<String, usize> = BTreeMap::new();
    // Request-path scans running right now, by namespace and client: what
    // the profiler would list as slow once they finish (a server whose log
    // holds no slow-op lines yet still shows them in currentOp).
    let mut running: BTreeMap<(String, String), (usize, f64)> = BTreeMap::new();
    let mut running_plan: BTreeMap<String, String> = BTreeMap::new();
    if let Some(o) = pack.first("current_ops") {
        for row in parse::table(&o.outcome.text, "RUNNING") {
            let plan = row.get("PLAN").map(String::as_str).unwrap_or("");
            if let Some(ns) = row.get("NS")
                && (plan == "COLLSCAN" || unindexed_plans.iter().any(|(n, p)| n == ns && p == plan))
            {
                running_plan.insert(ns.clone(), plan.to_string());
                *collscans.entry(ns.clone()).or_default() += 1;
                let secs = row
                    .get("RUNNING")
                    .and_then(|r| parse::duration_ms(r))
                    .unwrap_or(0.0)
                    / 1000.0;
                let app = row.get("APP").cloned().unwrap_or_default();
                let slot = running.entry((ns.clone(), app)).or_default();
                slot.0 += 1;
                slot.1 = slot.1.max(secs);
            }
        }
    }
    for ((ns, app), (n, longest)) in &running {
        // Seconds, not minutes (a batch scan holds connections instead),
        // from a client that is itself degraded, several at once.
        if *n < 3 || *longest >= 60.0 || !degraded.iter().any(|d| same_component(d, app)) {
            continue;
        }
        let weight = 4.0 + (1.0 + *n as f64).log10() + if saturated.is_empty() { 0.0 } else { 0.5 };
        if let Some(o) = pack.first("current_ops") {
            let plan = running_plan.get(ns).map_or("COLLSCAN", String::as_str);
            let detail = format!(
                "{n} {plan} operations on {ns} from {app} running now (longest {longest:.1}s)"
            );
            ctx.signal(ns, "missing_index", weight, &o.tool, detail, None);
        }
    }
    if let Some(o) = pack.first("slow_queries") {
        for row in slow_rows.iter().filter(|r| unindexed(r)) {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            let (examined, returned) = examined_returned(row);
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
            let detail = format!(
                "{} slow {} {} on {ns} from {app}, p95 {}, examined/returned {}; shape {}",
                get("COUNT"),
                get("PLAN"),
                get("OP"),
                get("P95"),
                get("DOCS EXAM/RET"),
                get("SHAPE")
            );
            ctx.signal(ns, "missing_index", weight, &o.tool, detail, None);
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

pub(super) fn read_usage(ctx: &mut Ctx<'_>, pack: &EvidencePack, degraded: &[String]) {
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
    for (tool, row) in pod_usage(pack) {
        let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("-");
        let pod = get("POD");
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
                &tool,
                format!(
                    "{pod} uses {} memory, {}% of its limit",
                    get("MEMORY"),
                    get("MEM/LIM").trim_end_matches('*').trim_end_matches('%')
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
                &tool,
                format!(
                    "{pod} uses {} CPU, {} of its limit (throttled)",
                    get("CPU"),
                    get("CPU/LIM").trim_end_matches('*')
                ),
                None,
            );
        }
        // Far beyond its request with no limit; on a saturated node,
        // twice its request is enough for what the workloads in trouble
        // do not do (they may well use as much themselves).
        let unbounded = cpu_lim.is_none() && cpu >= 1500.0;
        let victim = degraded.iter().any(|d| same_component(d, &owner));
        let beyond = cpu_req.is_none_or(|r| r >= 300.0)
            || (hot_node.is_some() && !victim && cpu_req.is_some_and(|r| r >= 200.0));
        if unbounded && beyond {
            let (weight, node) = match &hot_node {
                Some((node, pct)) => (4.0, format!("; node {node} CPU at {pct:.0}%")),
                None => (1.0, String::new()),
            };
            ctx.signal(
                &owner,
                "noisy_neighbor",
                weight,
                &tool,
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

/// Each pod's row in the pod usage answers, once per pod, with the tool
/// that answered. The namespace's pods and the cluster's heaviest overlap;
/// cluster-wide answers lead with a NAMESPACE column.
fn pod_usage(pack: &EvidencePack) -> Vec<(String, BTreeMap<String, String>)> {
    pod_usage_rows(&pack.outputs)
}

/// [`pod_usage`] over outputs read so far (the collector asks between
/// rounds, before there is a pack).
pub(super) fn pod_usage_rows(
    outputs: &[super::collect::Output],
) -> Vec<(String, BTreeMap<String, String>)> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "resource_usage" && !o.outcome.is_error)
    {
        if o.args.get("kind").and_then(|v| v.as_str()) != Some("pods") {
            continue;
        }
        let mut rows = parse::table(&o.outcome.text, "POD");
        if rows.is_empty() {
            rows = parse::table(&o.outcome.text, "NAMESPACE");
        }
        for row in rows {
            let pod = row.get("POD").cloned().unwrap_or_default();
            if seen.insert(pod) {
                out.push((o.tool.clone(), row));
            }
        }
    }
    out
}

/// Workloads whose every pod burns the same whole number of cores with no
/// CPU limit, with that number: `(workload, cores)`.
///
/// A process that can run only so many threads of work (one asyncio event
/// loop, a JVM told `-XX:ActiveProcessorCount=2`, a Node.js server) levels
/// off at exactly that many cores when the load outgrows it. One pod on a
/// round figure may be chance; every replica on the same plateau is a
/// workload out of capacity: it needs more pods, not more CPU per pod.
pub(super) fn pinned_workloads(pack: &EvidencePack) -> Vec<(String, u32)> {
    // (pods, pods on the plateau, the plateau's cores) per workload.
    let mut by_owner: BTreeMap<String, (usize, usize, Option<u32>)> = BTreeMap::new();
    for (_, row) in pod_usage(pack) {
        let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("-");
        let entry = by_owner.entry(owner_of(get("POD"))).or_default();
        entry.0 += 1;
        let Some(cpu) = parse::millicores(get("CPU")) else {
            continue;
        };
        let cores = (cpu / 1000.0).round();
        let level = cores >= 1.0 && (cpu - cores * 1000.0).abs() <= 40.0 * cores;
        if !level || parse::percent(get("CPU/LIM")).is_some() {
            continue;
        }
        let cores = cores as u32;
        if entry.2.is_none_or(|c| c == cores) {
            entry.1 += 1;
            entry.2 = Some(cores);
        }
    }
    by_owner
        .into_iter()
        .filter(|(_, (pods, level, _))| *pods >= 2 && level == pods)
        .filter_map(|(owner, (_, _, cores))| Some((owner, cores?)))
        .collect()
}

/// The window's new log templates, each as the services that logged it
/// and its last words (the error a traceback or a wrapped exception ends
/// with, without the trace id): how two services' new errors are told to
/// be one error.
pub(super) fn new_template_tails(pack: &EvidencePack) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for o in pack.of("log_patterns") {
        for p in parse::log_patterns(&o.outcome.text)
            .into_iter()
            .filter(|p| p.kind == "NEW")
        {
            let text = p.template.trim();
            let text = text
                .rsplit_once(" trace=")
                .map_or(text, |(head, _)| head)
                .trim_end();
            let tail: String = {
                let chars: Vec<char> = text.chars().collect();
                chars[chars.len().saturating_sub(60)..].iter().collect()
            };
            out.push((p.services, tail));
        }
    }
    out
}

/// What a wrapped error's line says caused it last (after the last ` ← caused
/// by `, as mcp-signoz writes an exception's cause chain), if it says.
pub(super) fn innermost_cause(text: &str) -> Option<&str> {
    text.rsplit_once(" ← caused by ")
        .map(|(_, cause)| cause)
        .filter(|c| !c.trim().is_empty())
}

/// The first `max` characters of a log line, then its innermost cause
/// (what follows ` ← caused by `, as mcp-signoz writes it) when the cut
/// would lose it.
pub(super) fn with_cause(text: &str, max: usize) -> String {
    const CAUSE: &str = " ← caused by ";
    let head: String = text.chars().take(max).collect();
    match text.split_once(CAUSE) {
        Some((_, cause)) if !head.contains(CAUSE) => {
            let cause: String = cause.chars().take(max / 2).collect();
            format!("{head} …{CAUSE}{cause}")
        }
        _ => head,
    }
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
