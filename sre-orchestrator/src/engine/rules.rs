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
//! [`analyse`] runs every reader and combines their signals. The
//! Kubernetes readers are in `health` (workload health) and `history`
//! (events and rollouts); the telemetry, data-store and usage readers in
//! [`super::telemetry`].
//!
//! Weights are small integers on purpose: they are meant to be read and
//! argued about, and the scenario evaluation (`sre-agent eval`) is how a
//! change to them is judged.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::Scope;
use super::collect::EvidencePack;
use super::parse::{self, ServiceHealth};
use super::telemetry::{
    Reader, degraded_path, read_mongo, read_patterns, read_services, read_span_errors, read_usage,
};
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
    /// What `service_health` measured, by service.
    pub health: BTreeMap<String, ServiceHealth>,
}

use super::rank::SYMPTOMS;

/// What the readers share while reading one pack.
pub(super) struct Ctx<'a> {
    pub(super) scope: &'a Scope,
    pub(super) signals: Vec<Signal>,
    pub(super) timeline: Vec<TimelineEvent>,
    pub(super) health: BTreeMap<String, ServiceHealth>,
    /// Services whose new errors are about another component (the callee a
    /// failed call names): they fail through it.
    pub(super) blames: BTreeMap<String, String>,
    /// Services that reported a failure on the far side of a call without
    /// naming the far side (`connect ETIMEDOUT`, a driver's bare timeout).
    pub(super) self_reports: Vec<String>,
    /// (workload, peer): a crashed container's last words were that it
    /// could not reach the peer.
    pub(super) died_of: Vec<(String, String)>,
    /// (workload, peer) its logs say it cannot reach (see `inside`).
    pub(super) cannot_reach: Vec<(String, String)>,
    /// Services whose selector matches no pod (`workload_health`): down for
    /// a reason of their own, whoever calls them.
    pub(super) selects_nothing: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// After signals moved from victim to cause (each pair once): whoever
    /// blamed the victim now blames the cause.
    pub(super) fn passed_on(&mut self, moves: Vec<(String, String)>) {
        for (victim, cause) in moves {
            for culprit in self.blames.values_mut() {
                if same_component(culprit, &victim) {
                    *culprit = cause.clone();
                }
            }
        }
    }

    /// Nothing read yet.
    pub(super) fn new(scope: &'a Scope) -> Ctx<'a> {
        Ctx {
            scope,
            signals: Vec::new(),
            timeline: Vec::new(),
            health: BTreeMap::new(),
            blames: BTreeMap::new(),
            self_reports: Vec::new(),
            died_of: Vec::new(),
            cannot_reach: Vec::new(),
            selects_nothing: Vec::new(),
        }
    }

    /// What `start` blames, then what that blames in turn: up to `steps`
    /// components down the chain, ending where it comes back to `start` or
    /// a component blames itself. One walk for every reader that asks
    /// whether a failure has a cause further down (a rollout's late errors,
    /// a victim's culprit that only relays).
    pub(super) fn blamed_beyond<'s>(
        &'s self,
        start: &'s str,
        steps: usize,
    ) -> impl Iterator<Item = &'s String> + 's {
        let mut here = start;
        std::iter::from_fn(move || {
            let next = self
                .blames
                .get(here)
                .filter(|c| !same_component(c, here) && !same_component(c, start))?;
            here = next;
            Some(next)
        })
        .take(steps)
    }

    /// Whether `component` shows a cause of its own: a signal of at least
    /// `min_weight` whose kind is neither a symptom nor one of `besides`.
    pub(super) fn has_cause(&self, component: &str, besides: &[&str], min_weight: f64) -> bool {
        self.signals.iter().any(|s| {
            same_component(&s.component, component)
                && !SYMPTOMS.contains(&s.kind)
                && !besides.contains(&s.kind)
                && s.weight >= min_weight
        })
    }

    pub(super) fn signal(
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

    pub(super) fn ago(&self, secs: Option<i64>) -> Option<Timestamp> {
        secs.and_then(|s| {
            self.scope
                .now
                .checked_sub(SignedDuration::from_secs(s))
                .ok()
        })
    }

    pub(super) fn event(&mut self, at: Option<Timestamp>, source: &str, event: String) {
        if let Some(at) = at {
            self.timeline.push(TimelineEvent {
                at,
                source: source.to_string(),
                event,
            });
        }
    }

    /// `HH:MM:SS` within the last day before `now`.
    pub(super) fn clock(&self, hms: &str) -> Option<Timestamp> {
        parse::clock(self.scope.now, hms)
    }
}

// Naming (a pod's owner, two names for one component) lives with the
// subject of an alert, which needs it without the engine.
pub use crate::subject::{owner_of, same_component};

pub(super) use super::cues::{
    CONFIG_CUES, CRED_CUES, DEP_CUES, ERROR_CUES, OOM_CUES, POOL_CUES, SLOW_CUES, THROTTLE_CUES,
    TLS_CUES, has, host_in,
};

/// Runs the rules over an evidence pack.
pub fn analyse(scope: &Scope, pack: &EvidencePack) -> Analysis {
    let mut ctx = Ctx::new(scope);
    let world = super::world::World::from_pack(pack);
    super::health::read(&mut ctx, pack, &world);
    super::history::read_events(&mut ctx, pack);
    super::history::read_rollouts(&mut ctx, pack);
    let degraded = read_services(&mut ctx, pack);
    let catalogue = super::signatures::Catalogue::active();
    let reader = Reader::new(&ctx, pack, &world, catalogue);
    read_patterns(&mut ctx, pack, &reader);
    read_span_errors(&mut ctx, pack, &reader);
    read_mongo(&mut ctx, pack, &degraded);
    read_usage(&mut ctx, pack, &degraded);
    super::autoscalers::blind_to_load(
        &mut ctx,
        &world.autoscalers,
        &super::autoscalers::cpu_shares(&pack.outputs),
    );
    // Inside the workloads: container states, logs and events, read through
    // the signature catalogue.
    let known: Vec<String> = ctx.health.keys().cloned().collect();
    let inside = super::inside::read(pack, &world, catalogue, scope.service.as_deref(), &known);
    ctx.signals.extend(inside.signals);
    ctx.died_of = inside.died_of;
    ctx.cannot_reach = inside.cannot_reach;
    let relayed = inside.relayed;
    // Metric change points belong on the timeline too.
    for m in super::metrics::read(scope, pack, &world) {
        ctx.event(m.at, "signoz.metrics", m.detail.clone());
        ctx.signals.push(m);
    }
    let mut peers = inside.peers;
    // A data store's collection or table reached through a degraded client
    // (`slow COLLSCAN … from metadata-api`) is as close to the failing path
    // as that client.
    // The client is slow because its queries are: it fails through the
    // store (a blame, which demotes its own latency below).
    let mut store_blames: Vec<(String, String)> = Vec::new();
    for s in ctx.signals.iter().filter(|s| {
        matches!(
            s.kind,
            "missing_index" | "lock_contention" | "replication_lag"
        ) && s.weight >= 2.0
    }) {
        for d in degraded
            .iter()
            .filter(|d| s.detail.contains(&format!(" from {d}")))
        {
            if !peers.contains(&s.component) {
                peers.push(s.component.clone());
            }
            store_blames.push((d.clone(), s.component.clone()));
        }
    }
    for (client, store) in store_blames {
        ctx.blames.entry(client).or_insert(store);
    }
    if let Some((holder, waiting)) =
        super::locks::attribute(&mut ctx.signals, pack, &world, scope.from())
    {
        // The workloads that waited fail through the holder (a readiness
        // check that answers 503 while its queries queue is that wait).
        for w in waiting.iter().filter(|w| !same_component(w, &holder)) {
            if world.component_names().any(|c| same_component(c, w)) {
                ctx.blames.insert(w.clone(), holder.clone());
            }
        }
        peers.push(holder);
    }
    ctx.timeline.extend(inside.timeline);

    // A callee named by the cluster address its callers dialled
    // (`nats.messaging.svc`) is the workload behind it.
    let edges: Vec<parse::Edge> = pack
        .of("service_dependencies")
        .flat_map(|o| parse::edges(&o.outcome.text))
        .map(|mut e| {
            if !e.db
                && let Some(owner) = world.cluster_dns_owner(&e.callee)
            {
                e.callee = owner;
            }
            e
        })
        .collect();
    let mut path = match &scope.service {
        Some(s) if ctx.health.contains_key(s) || edges.iter().any(|e| &e.caller == s) => {
            degraded_path(s, &edges, &ctx.health)
        }
        _ => Vec::new(),
    };
    // A degraded service whose errors name a lagging queue consumer waits
    // for it (before "it is slow" is weighed for the deepest of them).
    let waited_on = super::queues::waiting_on_consumers(&mut ctx, pack, &degraded);
    for consumer in &waited_on {
        if !peers.contains(consumer) {
            peers.push(consumer.clone());
        }
    }
    super::deepest::suspect(&mut ctx, &path, &edges);
    super::queues::through_the_queue(&mut path, &ctx.blames, &waited_on);
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
    let mut stored =
        super::stores::attribute(&mut ctx.signals, &edges, pack, &world, &ctx.self_reports);
    stored.extend(super::stores::pools_behind_failed_stores(
        &mut ctx.signals,
        &edges,
        pack,
        &world,
    ));
    stored.extend(super::stores::pools_after_store_rollout(
        &mut ctx.signals,
        &edges,
        pack,
        &world,
    ));
    stored.extend(super::stores::shared_rejection(
        &mut ctx.signals,
        &edges,
        pack,
        &world,
    ));
    // The store that refused a client that did not change is named beside
    // it (see `rotation`).
    for (_, store) in super::rotation::refused_unchanged_clients(&mut ctx.signals, &edges, &world) {
        if !peers.contains(&store) {
            peers.push(store);
        }
    }
    stored.extend(super::stores::shared_rollout(
        &mut ctx.signals,
        &edges,
        pack,
        &world,
    ));
    for (client, store) in stored {
        ctx.blames.insert(client, store.clone());
        if !peers.contains(&store) {
            peers.push(store);
        }
    }
    // Calls the callee never saw: the policy between them.
    super::reach::unreached(&mut ctx, &edges, &world, scope.horizon());
    // A peer whose failure another component explains (its node failed, a
    // policy blocks it) passes the blame on.
    let new_policies = super::across::new_egress_policies(&ctx.signals, &world, scope.horizon());
    ctx.signals.extend(new_policies);
    let fronting = scope
        .service
        .as_deref()
        .map(|s| world.hosts_in_front_of(s))
        .unwrap_or_default();
    for s in super::across::expired_certificates(&world, scope.now, &scope.alert_hosts, &fronting) {
        ctx.event(s.at, "k8s.certificates", s.detail.clone());
        ctx.signals.push(s);
    }
    let mut moves = super::across::attribute(&mut ctx.signals, &world);
    let measured: Vec<String> = ctx.health.keys().cloned().collect();
    moves.extend(super::across::certificate_in_incident(
        &mut ctx.signals,
        &world,
        &measured,
        scope.horizon(),
        scope.now,
    ));
    moves.extend(super::dns::attribute(&mut ctx.signals, &world));
    moves.extend(super::pulls::attribute(&mut ctx.signals, &world));
    // A workload the cloud refused its identity fails through its
    // ServiceAccount.
    let refused = super::identity::attribute(&mut ctx.signals, &world);
    ctx.died_of.extend(refused.died);
    for (workload, account) in &refused.workloads {
        ctx.blames.insert(workload.clone(), account.clone());
        if !peers.contains(account) {
            peers.push(account.clone());
        }
    }
    moves.extend(refused.workloads);
    moves.extend(super::preempt::attribute(
        &mut ctx.signals,
        &world,
        scope.horizon(),
    ));
    // A failed Job whose reason moved to another component fails with it.
    // A Job whose run relayed its store's own reply failed for that store.
    moves.extend(relayed);
    super::combine::jobs_fail_through(&mut ctx, &moves);
    // A failed Job whose output a service's errors say is missing: the
    // service fails through it, as through a peer its errors name.
    let mut produced = super::producers::failed_producers(&mut ctx.signals, pack, &world);
    produced.extend(super::producers::stale_inputs(
        &mut ctx.signals,
        pack,
        &world,
    ));
    for (consumer, producer) in &produced {
        ctx.blames.insert(consumer.clone(), producer.clone());
        if !peers.contains(producer) {
            peers.push(producer.clone());
        }
    }
    moves.extend(produced);
    // Whoever's evidence moved to a cause fails through it, as a caller
    // fails through the callee its errors name: a readiness gate that
    // reports the broker whose certificate expired is that failure again.
    for (victim, cause) in &moves {
        if !same_component(victim, cause) {
            ctx.blames
                .entry(victim.clone())
                .or_insert_with(|| cause.clone());
        }
    }
    ctx.passed_on(moves);
    super::combine::victims(&mut ctx, &path, &edges);
    let tails = super::telemetry::new_template_tails(pack);
    super::combine::deploys(&mut ctx, &degraded, &edges, &tails);
    // A caller whose new error began as its callee rolled out.
    for (caller, callee) in super::contracts::broken_callers(&mut ctx, &edges) {
        ctx.blames.insert(caller, callee.clone());
        if !peers.contains(&callee) {
            peers.push(callee);
        }
    }
    super::startup::discount_startup_readiness(&mut ctx.signals, &world);
    super::hog::node_pressure(&mut ctx);
    let moves = super::hog::pressure_follows_the_pod(&mut ctx.signals, &world);
    ctx.passed_on(moves);
    super::combine::peer_side(&mut ctx);
    super::across::new_mesh_policies(&mut ctx.signals, &world, scope.horizon());
    let moves = super::mesh::egress_refusals(&mut ctx.signals, &world, &ctx.blames);
    ctx.passed_on(moves);
    super::combine::orphaned_autoscalers(&mut ctx, &world, pack);
    // A workload the quota holds back fails through it.
    let held = super::quota::quota_objects(&mut ctx);
    for (workload, quota) in &held {
        ctx.blames.insert(workload.clone(), quota.clone());
        if !peers.contains(quota) {
            peers.push(quota.clone());
        }
    }
    ctx.passed_on(held.clone());
    let pinned = super::telemetry::pinned_workloads(pack);
    super::combine::capacity(&mut ctx, &degraded, &pinned);
    super::combine::shared_limit(&mut ctx, &edges);
    super::quota::starved_by_quota(&mut ctx, &held);

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
    // What the alert's URLs reach through the Ingresses: a probe of
    // `/pun/sys/myjobs` fails on the backend of that path, whatever the
    // alert's `service` label says.
    let mut served: Vec<String> = Vec::new();
    for (host, path) in &scope.alert_urls {
        for w in world.served_by(host, path) {
            if !served.contains(&w) {
                served.push(w);
            }
        }
    }
    for w in &served {
        if !affected.iter().any(|a| same_component(a, w)) {
            affected.insert(0, w.clone());
        }
    }
    // The incident's first symptom: what went wrong on the affected path
    // within the window. A pod that has flapped for hours is background,
    // not the start of this incident.
    let window_start = scope.from();
    // A batch Job that failed is an event of its own (its own alert pages
    // for it), not the start of another service's trouble, unless the
    // alert is about it: it does not date the incident.
    let about_it = |c: &str| {
        super::named::names(&scope.alert_words, c)
            || scope
                .service
                .as_deref()
                .is_some_and(|s| same_component(s, c))
    };
    let failed_jobs: Vec<&str> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "job_failed" && !about_it(&s.component))
        .map(|s| s.component.as_str())
        .collect();
    let first_symptom = ctx
        .signals
        .iter()
        .filter(|s| affected.iter().any(|a| same_component(a, &s.component)))
        .filter(|s| !failed_jobs.iter().any(|j| same_component(j, &s.component)))
        .filter_map(|s| s.at)
        .filter(|at| *at >= window_start)
        .chain(scope.alert_at)
        .min();
    // The nodes that matter: those of failing pods, of the subject, of the
    // services on the degraded path (a starved service logs nothing) and of
    // the peers the errors name (a store whose node died says nothing
    // either); every workload with a pod there is a neighbour.
    let mut nodes = inside.nodes;
    for p in world.pods.iter().filter(|p| {
        path.iter()
            .chain(degraded.iter())
            .chain(peers.iter())
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
    blamed_peers(&mut peers, &ctx.blames, &world, |victim| {
        affected.iter().any(|a| same_component(a, victim)) || about_it(victim)
    });
    let reach = super::rank::Reach {
        degraded: degraded.clone(),
        path: path.clone(),
        affected,
        nodes: (!nodes.is_empty()).then_some(nodes),
        peers,
        neighbours,
        first_symptom,
        served,
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
        health: ctx.health,
    }
}

/// Adds to `peers` what the touched workloads (the affected ones and the
/// alert's subject) blame inside the cluster (a Service, a workload, a
/// network policy read): their errors name it, so it is related to the
/// incident as a peer is. A host outside the cluster is
/// related by its kind already (see `rank`), and what untouched workloads
/// blame is another story.
fn blamed_peers(
    peers: &mut Vec<String>,
    blames: &BTreeMap<String, String>,
    world: &World,
    touched: impl Fn(&str) -> bool,
) {
    for (victim, culprit) in blames {
        let in_cluster = world.resolve(culprit).is_some()
            || world.component_names().any(|c| same_component(c, culprit))
            || world.policies.iter().any(|p| p.name == *culprit)
            || world.calico.iter().any(|p| p.name == *culprit);
        if touched(victim) && in_cluster && !peers.iter().any(|p| same_component(p, culprit)) {
            peers.push(culprit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the touched workloads blame inside the cluster is a peer; a
    /// host outside it, and what an untouched workload blames, are not.
    #[test]
    fn blamed_in_cluster_components_are_peers() {
        use super::super::world::{Pod, Service};
        let mut world = World::default();
        for name in ["ledger", "reports-db"] {
            world.services.push(Service {
                name: name.into(),
                namespace: "money".into(),
                ..Default::default()
            });
            world.pods.push(Pod {
                name: format!("{name}-0"),
                namespace: "money".into(),
                owner: name.into(),
                ..Default::default()
            });
        }
        let blames: BTreeMap<String, String> = [
            ("checkout", "ledger"),
            ("fraud-check", "api.sandbox.example.net"),
            ("nightly-report", "reports-db"),
        ]
        .into_iter()
        .map(|(v, c)| (v.to_string(), c.to_string()))
        .collect();
        let touched = |v: &str| v != "nightly-report";
        let mut peers = Vec::new();
        blamed_peers(&mut peers, &blames, &world, touched);
        assert_eq!(peers, ["ledger"]);
        // A peer already known under its workload's name is not named twice.
        let mut peers = vec!["ledger-api".to_string()];
        blamed_peers(&mut peers, &blames, &world, touched);
        assert_eq!(peers, ["ledger-api"]);
    }

    #[test]
    fn pod_owners_and_component_names() {
        assert_eq!(owner_of("cart-59b7d8c6f-87l5t"), "cart");
        assert_eq!(owner_of("redis-0"), "redis");
        assert_eq!(owner_of("node-exporter-x7k2p"), "node-exporter");
        assert_eq!(
            owner_of("customer-ltv-backfill-1cec5b32f1cf9f5f-exec-3"),
            "customer-ltv-backfill"
        );
        assert_eq!(
            owner_of("store-inventory-rollup-20251001-driver"),
            "store-inventory-rollup-20251001"
        );
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
        assert_eq!(
            host_in("eta lookup failed — dial tcp 10.97.106.205:6379: i/o timeout"),
            None
        );
    }

    #[test]
    fn out_of_memory_cues_are_words_not_fragments() {
        assert!(!has("get /v1/rooms/:room/messages: 500", OOM_CUES));
        assert!(has("container was oomkilled", OOM_CUES));
        assert!(has("java.lang.outofmemoryerror: java heap space", OOM_CUES));
    }
}
