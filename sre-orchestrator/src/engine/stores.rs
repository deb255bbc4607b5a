//! Failures that belong to the data store, not to the client that reports
//! them.
//!
//! `waiting for replication timed out` is logged by the application whose
//! write waited, but the lagging secondaries are the database's. The same
//! holds for a read-only replica answering writes after a failover. The
//! client is where the evidence shows up; the data store is the component an
//! engineer has to look at, so the signal moves there.
//!
//! Which data store: the client's database calls in the service graph
//! (`orders → mongodb (db)`) name its system, and the cluster model names
//! the workload that runs it: the server's own address when the MongoDB
//! server was read (`mongod on mongodb-0.mongodb.data.svc:27017`), or else
//! the one workload whose name carries the system's name (`mongo`,
//! `postgres`, `mysql`, `redis`). When that is ambiguous the signal stays
//! with the client: a wrong store is worse than the right messenger.
//!
//! Several clients failing at once against one store point at the store:
//! the same credentials error from each ([`shared_rejection`]), or new
//! errors that all began minutes after the store, or the proxy in front of
//! it (PgBouncer, ProxySQL, a connection pooler), was rolled out
//! ([`shared_rollout`]): two services do not break their own code in the
//! same minute.

use std::collections::BTreeSet;

use super::collect::EvidencePack;
use super::parse::Edge;
use super::rules::{Signal, same_component};
use super::world::World;

/// Kinds whose cause sits in the data store a client talks to (and, see
/// [`attribute`], a peerless `dependency_unreachable` whose only troubled
/// calls go to one store).
const STORE_SIDE: &[&str] = &["replication_lag"];

/// The name stem a database system's workloads usually carry.
fn stem(system: &str) -> &str {
    match system {
        "mongodb" => "mongo",
        "postgresql" => "postgres",
        "elasticsearch" | "opensearch" => "search",
        other => other,
    }
}

/// The workload running `system`, if the evidence names exactly one.
fn store_workload(system: &str, world: &World, pack: &EvidencePack) -> Option<String> {
    if system == "mongodb"
        && let Some(o) = pack.first("server_status")
        && let Some(host) = o
            .outcome
            .text
            .split_once(" on ")
            .and_then(|(_, rest)| rest.split([':', ',', ' ']).next())
    {
        let pod = host.split('.').next().unwrap_or(host);
        return Some(world.owner(pod));
    }
    let stem = stem(system);
    let owners: BTreeSet<&str> = world
        .pods
        .iter()
        .map(|p| p.owner.as_str())
        .filter(|o| o.contains(stem))
        .collect();
    if owners.len() == 1 {
        return owners.into_iter().next().map(str::to_string);
    }
    // The one Service serving the system (by its well-known port or port
    // name), and the workload behind it.
    let serving: Vec<&super::world::Service> =
        world.services.iter().filter(|s| s.serves(system)).collect();
    let [svc] = serving.as_slice() else {
        return None;
    };
    let behind = world
        .pods
        .iter()
        .find(|p| p.namespace == svc.namespace && super::world::selects(&svc.selector, &p.labels))
        .map(|p| p.owner.clone());
    Some(behind.unwrap_or_else(|| svc.name.clone()))
}

/// The workload behind a database edge: the server its spans name, else
/// the one workload running its system.
fn edge_store(e: &Edge, world: &World, pack: &EvidencePack) -> Option<String> {
    if let Some((svc, workloads)) = e.server.as_deref().and_then(|s| world.resolve(s)) {
        if let Some(w) = workloads.first() {
            return Some(w.clone());
        }
        if let Some(svc) = svc {
            // No pod matches its selector (a `role=primary` label the
            // operator sets): `agro-pg-rw` is still the read-write Service
            // of the workload `agro-pg` beside it.
            let named_after = world
                .pods
                .iter()
                .filter(|p| p.namespace == svc.namespace)
                .map(|p| p.owner.as_str())
                .filter(|o| svc.name.starts_with(&format!("{o}-")))
                .max_by_key(|o| o.len());
            return Some(named_after.map_or_else(|| svc.name.clone(), str::to_string));
        }
    }
    store_workload(e.callee.trim_end_matches(" (db)"), world, pack)
}

/// Moves credential failures that several clients report against one data
/// store to that store (see the module docs); returns (client, store) for
/// each move.
pub fn shared_rejection(
    signals: &mut Vec<Signal>,
    edges: &[Edge],
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
    let refused: BTreeSet<String> = signals
        .iter()
        .filter(|s| s.kind == "credentials_expired" && s.weight > 0.0)
        .map(|s| s.component.clone())
        .collect();
    // Each refused client's failing database calls, by store.
    let mut clients_of: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for e in edges.iter().filter(|e| e.db && e.errors > 0.0) {
        let Some(client) = refused.iter().find(|c| same_component(c, &e.caller)) else {
            continue;
        };
        if let Some(store) = edge_store(e, world, pack) {
            clients_of.entry(store).or_default().insert(client.clone());
        }
    }
    let mut moved = Vec::new();
    for (store, clients) in clients_of.into_iter().filter(|(_, c)| c.len() >= 2) {
        let n = clients.len();
        moved.extend(super::moves::move_signals(
            signals,
            &store,
            |_, s| {
                s.kind == "credentials_expired"
                    && clients.iter().any(|c| same_component(c, &s.component))
            },
            |s| {
                format!(
                    "{n} clients are refused by {store} with the same credentials error, so its credentials changed, not each client's: {}",
                    s.detail
                )
            },
        ));
    }
    moved
}

/// How long after a store's rollout its clients' first new error still
/// counts as its effect (pooled connections move to the new pods as they
/// are recycled), and how long before (a log line's or a bucket's time can
/// precede the rollout's event).
const ROLLOUT_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
const ROLLOUT_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

/// Moves the new errors of several clients of one store to that store when
/// they all began right after it was rolled out, as a bad deploy of the
/// store (see the module docs); returns (client, store) for each move.
pub fn shared_rollout(
    signals: &mut Vec<Signal>,
    edges: &[Edge],
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
    let mut clients_of: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for e in edges.iter().filter(|e| e.db && e.errors > 0.0) {
        if let Some(store) = edge_store(e, world, pack) {
            clients_of
                .entry(store)
                .or_default()
                .insert(e.caller.clone());
        }
    }
    let mut moved = Vec::new();
    for (store, clients) in clients_of.into_iter().filter(|(_, c)| c.len() >= 2) {
        let is_client = |c: &str| clients.iter().any(|x| same_component(x, c));
        let errors = |s: &Signal| {
            matches!(s.kind, "new_error" | "error_surge")
                && s.weight > 0.0
                && is_client(&s.component)
        };
        // Each client's first new error; all of them must follow the rollout.
        let mut began: std::collections::BTreeMap<&str, jiff::Timestamp> = Default::default();
        for s in signals.iter().filter(|s| errors(s)) {
            if let Some(at) = s.at {
                let slot = began.entry(s.component.as_str()).or_insert(at);
                *slot = (*slot).min(at);
            }
        }
        if began.len() < 2 {
            continue;
        }
        let rollout = rollouts(world, &store)
            .into_iter()
            .filter(|r| {
                began
                    .values()
                    .all(|b| *b >= *r - ROLLOUT_BEFORE && *b <= *r + ROLLOUT_AFTER)
            })
            .max();
        let Some(rollout) = rollout else { continue };
        let n = began.len();
        let names: Vec<&str> = began.keys().copied().collect();
        let detail = format!(
            "{store} was rolled out at {} and {n} of its clients ({}) began failing within minutes, all at once",
            rollout.strftime("%H:%M"),
            names.join(", ")
        );
        moved.extend(super::moves::move_signals(
            signals,
            &store,
            |_, s| errors(s),
            |s| {
                format!(
                    "{} began failing after {store}'s rollout: {}",
                    s.component, s.detail
                )
            },
        ));
        signals.push(Signal {
            component: store.clone(),
            kind: "bad_deploy",
            weight: 5.0,
            source: "k8s.events".into(),
            detail,
            at: Some(rollout),
        });
    }
    moved
}

/// When `workload` was rolled out or scaled, in every namespace its pods run in
/// (a store shared across teams lives outside the alert's namespace).
fn rollouts(world: &World, workload: &str) -> Vec<jiff::Timestamp> {
    let namespaces: BTreeSet<&str> = world
        .pods
        .iter()
        .filter(|p| p.owner == workload)
        .map(|p| p.namespace.as_str())
        .collect();
    namespaces
        .iter()
        .flat_map(|ns| super::dns::rolled_out(world, ns, workload))
        .collect()
}

/// A StatefulSet's claims are named `<template>-<statefulset>-<ordinal>`
/// (`data-rabbitmq-0`): the StatefulSet is the known workload or Service
/// that ends the name once the ordinal is off, when its pods were not read.
fn statefulset_of_claim(claim: &str, world: &World) -> Option<String> {
    let (stem, ordinal) = claim.rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    world
        .component_names()
        .filter(|k| stem.len() > k.len() && stem.ends_with(&format!("-{k}")))
        .max_by_key(|k| k.len())
        .map(str::to_string)
}

/// Moves data-store-side signals from the client to its data store; returns
/// (client, store) for each move.
pub fn attribute(
    signals: &mut [Signal],
    edges: &[Edge],
    pack: &EvidencePack,
    world: &World,
    self_reports: &[String],
) -> Vec<(String, String)> {
    let mut moved = Vec::new();
    // A full volume seen on the volume itself (a claim's free bytes) is the
    // workload's that mounts it; a client that mounts nothing and relays
    // `No space left on device` from its database reports that workload's
    // disk.
    let claim_owner = |name: &str| {
        world
            .pods
            .iter()
            .find(|p| p.claims.iter().any(|c| c == name))
            .map(|p| p.owner.clone())
            .or_else(|| statefulset_of_claim(name, world))
    };
    for s in signals.iter_mut().filter(|s| s.kind == "volume_full") {
        if let Some(owner) = claim_owner(&s.component) {
            s.component = owner;
        }
    }
    let full_volumes: BTreeSet<String> = signals
        .iter()
        .filter(|s| s.kind == "volume_full")
        .filter(|s| {
            world
                .pods
                .iter()
                .any(|p| p.owner == s.component && !p.claims.is_empty())
        })
        .map(|s| s.component.clone())
        .collect();
    let mounts_nothing = |c: &str| {
        world
            .pods
            .iter()
            .filter(|p| same_component(&p.owner, c))
            .all(|p| p.claims.is_empty())
    };
    for s in signals.iter_mut().filter(|s| s.kind == "volume_full") {
        if full_volumes.len() == 1
            && !full_volumes.contains(&s.component)
            && mounts_nothing(&s.component)
            && edges
                .iter()
                .any(|e| e.db && same_component(&e.caller, &s.component))
            && let Some(store) = full_volumes.iter().next()
        {
            s.detail = format!("{} reports it: {}", s.component, s.detail);
            let pair = (s.component.clone(), store.clone());
            s.component = store.clone();
            if !moved.contains(&pair) {
                moved.push(pair);
            }
        }
    }
    // A client that cannot reach something and names no one (ioredis'
    // `Reached the max retries per request limit`, a driver's bare
    // timeout), whose only troubled calls are to one data store: that store
    // is what it cannot reach.
    let troubled = |e: &Edge| e.err_pct >= 1.0 || e.p99_ms.is_some_and(|p| p >= 250.0);
    let only_store_troubled = |c: &str| {
        let mine: Vec<&Edge> = edges
            .iter()
            .filter(|e| same_component(&e.caller, c))
            .collect();
        mine.iter().filter(|e| e.db && troubled(e)).count() == 1
            && !mine.iter().any(|e| !e.db && troubled(e))
    };
    // (Only when the client itself said so: a component that other
    // services' errors name is unreachable itself, not its store.)
    for s in signals.iter_mut().filter(|s| {
        STORE_SIDE.contains(&s.kind)
            || (s.kind == "dependency_unreachable"
                && only_store_troubled(&s.component)
                && self_reports.iter().any(|r| same_component(r, &s.component)))
    }) {
        let detail = s.detail.to_lowercase();
        // The client's database calls; the troubled one when there are
        // several, or the one its error names.
        let mut calls: Vec<&Edge> = edges
            .iter()
            .filter(|e| e.db && same_component(&e.caller, &s.component))
            .collect();
        // A client that calls no database relays what its callee says
        // (`503: {"error":"hold write failed","reason":"waiting for
        // replication timed out"}`): the store is the one its troubled
        // calls lead to.
        if calls.is_empty() && STORE_SIDE.contains(&s.kind) {
            calls = downstream_stores(&s.component, edges, &troubled);
        }
        let call = calls
            .iter()
            .find(|e| detail.contains(stem(e.callee.trim_end_matches(" (db)"))))
            .or_else(|| {
                let troubled: Vec<&&Edge> = calls.iter().filter(|e| troubled(e)).collect();
                (troubled.len() == 1).then(|| troubled[0])
            });
        // The server the spans name (a pooler in front of the database is
        // what the client reaches), else the one store of the system.
        let Some(store) = call.and_then(|e| edge_store(e, world, pack)) else {
            continue;
        };
        if same_component(&store, &s.component) {
            continue;
        }
        s.detail = format!("{} reports it: {}", s.component, s.detail);
        let pair = (s.component.clone(), store.clone());
        s.component = store;
        if !moved.contains(&pair) {
            moved.push(pair);
        }
    }
    moved
}

/// The troubled database calls reached from `client` through its
/// troubled calls to other services (at most three hops).
fn downstream_stores<'e>(
    client: &str,
    edges: &'e [Edge],
    troubled: &dyn Fn(&Edge) -> bool,
) -> Vec<&'e Edge> {
    let mut frontier = vec![client.to_string()];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out: Vec<&Edge> = Vec::new();
    for _ in 0..3 {
        let mut next = Vec::new();
        for caller in &frontier {
            for e in edges
                .iter()
                .filter(|e| same_component(&e.caller, caller) && troubled(e))
            {
                if e.db {
                    if !out.contains(&e) {
                        out.push(e);
                    }
                } else if seen.insert(e.callee.clone()) {
                    next.push(e.callee.clone());
                }
            }
        }
        frontier = next;
    }
    out
}

/// What a data store's own failure is (a full disk, a crash loop, a dead
/// node…): what makes its clients' pools run dry.
const STORE_DOWN: &[&str] = &[
    "volume_full",
    "crash_loop",
    "oom_killed",
    "node_failure",
    "pvc_unbound",
    "unschedulable",
    "evicted",
    "image_pull_error",
    "missing_config",
    "lock_contention",
    "replication_lag",
    // A pooler or database out of connections (PgBouncer's
    // `max_client_conn`, PostgreSQL's `too many clients`) refuses new ones.
    "connection_pool_exhausted",
    // A database that refuses the login (a rotated password) lets no
    // retired connection be replaced.
    "credentials_expired",
];

/// A client's exhausted connection pool whose data store failed first is
/// the store's failure seen from the client: connections that never come
/// back from a dead or stuck server fill the pool, and its waiters time
/// out (HikariCP's `Connection is not available, request timed out`). The
/// client's signal is demoted to a consequence; returns (client, store)
/// for each. The store is the system's, or the server the client's spans
/// dialled (a pooler in front of it, whose own pool ran out of
/// connections). A pool that runs dry beside a healthy store stays the
/// client's (a leak, a pool too small for the load).
pub fn pools_behind_failed_stores(
    signals: &mut [Signal],
    edges: &[Edge],
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
    let slack = jiff::SignedDuration::from_mins(2);
    let mut out = Vec::new();
    let pools: Vec<(usize, String, Option<jiff::Timestamp>)> = signals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "connection_pool_exhausted" && s.weight > 0.0)
        .map(|(i, s)| (i, s.component.clone(), s.at))
        .collect();
    for (i, client, at) in pools {
        let calls: Vec<&Edge> = edges
            .iter()
            .filter(|e| e.db && same_component(&e.caller, &client))
            .collect();
        let troubled: Vec<&Edge> = calls.iter().copied().filter(|e| e.err_pct >= 1.0).collect();
        // The store of the system, or the server the client's spans say
        // they dialled (a pooler such as PgBouncer in front of it), for
        // each call: its one call, its one troubled call, or else whichever
        // of its stores is down (a refused login leaves no failed span).
        let stores_of = |e: &Edge| -> Vec<String> {
            [
                store_workload(e.callee.trim_end_matches(" (db)"), world, pack),
                edge_store(e, world, pack),
            ]
            .into_iter()
            .flatten()
            .filter(|store| !same_component(store, &client))
            .collect()
        };
        let down_of = |store: &str| {
            signals.iter().find(|s| {
                STORE_DOWN.contains(&s.kind)
                    && s.weight >= 2.0
                    && same_component(&s.component, store)
                    && match (s.at, at) {
                        (Some(failed), Some(ran_dry)) => failed <= ran_dry + slack,
                        _ => true,
                    }
            })
        };
        let found: Option<(String, &'static str)> = match (calls.as_slice(), troubled.as_slice()) {
            ([one], _) | (_, [one]) => stores_of(one)
                .into_iter()
                .find_map(|store| down_of(&store).map(|d| (store, d.kind))),
            _ => {
                let mut down: Vec<(String, &'static str)> = calls
                    .iter()
                    .flat_map(|e| stores_of(e))
                    .filter_map(|store| down_of(&store).map(|d| (store, d.kind)))
                    .collect();
                down.dedup_by(|a, b| a.0 == b.0);
                match down.as_slice() {
                    [_] => down.pop(),
                    _ => None,
                }
            }
        };
        let Some((store, down)) = found else {
            continue;
        };
        let pool = &mut signals[i];
        pool.weight *= 0.25;
        pool.detail = format!(
            "{store} ({down}) leaves {client}'s pool dry: {}",
            pool.detail
        );
        out.push((client, store));
    }
    out
}

/// A client's exhausted pool that ran dry within minutes after the store or
/// pooler its database calls go to was rolled out is that rollout's doing:
/// a smaller pool (PgBouncer's `default_pool_size`), a lower
/// `max_connections`, or a slower server leave the client's connections
/// checked out and its waiters timing out. The client's pool signals move to
/// the store, their kind kept (it is what users see); returns (client, store)
/// for each. The store's own failure is [`pools_behind_failed_stores`]'
/// business, and a client rolled out in the same minutes keeps its pool.
pub fn pools_after_store_rollout(
    signals: &mut Vec<Signal>,
    edges: &[Edge],
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
    let mut dry: std::collections::BTreeMap<String, jiff::Timestamp> = Default::default();
    for s in signals
        .iter()
        .filter(|s| s.kind == "connection_pool_exhausted" && s.weight > 0.0)
    {
        if let Some(at) = s.at {
            let slot = dry.entry(s.component.clone()).or_insert(at);
            *slot = (*slot).min(at);
        }
    }
    let mut moved = Vec::new();
    for (client, ran_dry) in dry {
        let calls: Vec<&Edge> = edges
            .iter()
            .filter(|e| e.db && same_component(&e.caller, &client))
            .collect();
        let troubled: Vec<&Edge> = calls.iter().copied().filter(|e| e.errors > 0.0).collect();
        let edge = match (calls.as_slice(), troubled.as_slice()) {
            ([one], _) | (_, [one]) => *one,
            _ => continue,
        };
        let Some(store) = edge_store(edge, world, pack) else {
            continue;
        };
        if same_component(&store, &client)
            || signals.iter().any(|s| {
                STORE_DOWN.contains(&s.kind)
                    && s.weight >= 2.0
                    && same_component(&s.component, &store)
            })
        {
            continue;
        }
        let Some(rollout) = rollouts(world, &store)
            .into_iter()
            .filter(|r| ran_dry >= *r - ROLLOUT_BEFORE && ran_dry <= *r + ROLLOUT_AFTER)
            .max()
        else {
            continue;
        };
        if rollouts(world, &client)
            .iter()
            .any(|r| *r >= rollout - ROLLOUT_AFTER && *r <= ran_dry)
        {
            continue;
        }
        let when = rollout.strftime("%H:%M").to_string();
        moved.extend(super::moves::move_signals(
            signals,
            &store,
            |_, s| s.kind == "connection_pool_exhausted" && same_component(&s.component, &client),
            |s| {
                format!(
                    "{store} was rolled out at {when} and {}'s pool, whose database calls go through it, ran dry minutes later: {}",
                    s.component, s.detail
                )
            },
        ));
    }
    moved
}

#[cfg(test)]
#[path = "stores_tests.rs"]
mod tests;
