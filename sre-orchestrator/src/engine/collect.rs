//! Gathering the evidence pack: which tools to call, with what, in parallel.
//!
//! Two rounds. The first asks the broad questions that need no prior
//! knowledge (what is unhealthy in the namespace, what changed in the logs,
//! which services call which). The second follows up on what the first
//! found: health of every service seen, rollout history of every workload
//! involved, and the database when a degraded service talks to one. Each
//! round runs its calls concurrently; a failing call is one missing piece of
//! evidence (recorded as a data gap), never a failed investigation.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::leads::{callee_log_reads, linked_namespaces, on_demand_reads, resolver_reads};
use super::parse;
pub use super::rounds::Limits;
use super::rounds::{Spend, data_gaps, follow_pages, run_round};
use super::{Observer, Scope};
use crate::rca::DataGap;
use crate::registry::ToolOutcome;
use crate::transcript::{ToolInfo, ToolSource};

/// At most this many container logs are read per investigation.
const LOG_TARGETS: usize = 12;

/// At most this many data stores' logs are read besides.
const STORE_LOGS: usize = 2;
/// Members of one store whose logs are read (a replica set, a broker
/// cluster: three is the usual quorum).
const STORE_MEMBERS: usize = 3;

/// Objects asked per page of a JSON list (twenty compact pods fit a
/// default response budget).
pub(super) const PAGE: usize = 20;

/// One tool call of the evidence pack and its answer.
#[derive(Debug, Clone)]
pub struct Output {
    /// `server.tool`.
    pub tool: String,
    /// The bare tool name (`workload_health`).
    pub name: String,
    /// The arguments.
    pub args: Value,
    /// The answer.
    pub outcome: ToolOutcome,
}

/// Everything gathered for one investigation.
#[derive(Debug, Clone, Default)]
pub struct EvidencePack {
    /// Every call made, in a stable order (round, then tool, then args).
    pub outputs: Vec<Output>,
    /// Sources that were missing or failed.
    pub gaps: Vec<DataGap>,
    /// Wall time spent gathering, ms.
    pub elapsed_ms: u64,
    /// The investigation's "now", which relative ages in the outputs
    /// (`45m ago`) are measured from.
    pub now: Option<jiff::Timestamp>,
}

impl EvidencePack {
    /// Successful outputs of one bare tool name.
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Output> + 'a {
        self.outputs
            .iter()
            .filter(move |o| o.name == name && !o.outcome.is_error)
    }

    /// The first successful output of one bare tool name.
    pub fn first<'a>(&'a self, name: &'a str) -> Option<&'a Output> {
        self.of(name).next()
    }
}

/// Every tool the engine calls or reads by name. The engine finds a tool by
/// its bare name on whichever server offers it; a name no server has is a
/// call never made, so a test here checks that the engine's sources use no
/// other name, and `sre-agent-cli/tests/tool_names.rs` that the bundled
/// servers offer each.
pub const ENGINE_TOOLS: &[&str] = &[
    "current_ops",
    "describe",
    "events",
    "list",
    "list_metrics",
    "log_patterns",
    "logs",
    "query_metric",
    "resource_usage",
    "rollout_history",
    "search_logs",
    "search_traces",
    "server_status",
    "service_dependencies",
    "service_health",
    "services",
    "slow_queries",
    "workload_health",
];

pub(super) fn find(tools: &[ToolInfo], name: &str) -> Option<String> {
    tools
        .iter()
        .find(|t| t.name() == name)
        .map(|t| t.qualified.clone())
}

/// Gathers the evidence pack for `scope`.
pub async fn collect(
    source: &dyn ToolSource,
    scope: &Scope,
    observer: &dyn Observer,
) -> EvidencePack {
    let started = Instant::now();
    let mut spend = Spend::new(scope.limits);
    let tools = source.tools();
    let t = |name: &str| find(&tools, name);
    let from = scope.from().to_string();
    let to = scope.now.to_string();
    let ns = scope.namespace.clone();

    let mut round1: Vec<(String, Value)> = Vec::new();
    let mut push = |tool: Option<String>, args: Value| {
        if let Some(tool) = tool {
            round1.push((tool, args));
        }
    };
    push(t("workload_health"), json!({ "namespace": ns }));
    push(
        t("events"),
        json!({ "namespace": ns, "since": format!("{}s", scope.window_secs + 3600), "limit": 80 }),
    );
    // Node events live outside the application's namespace.
    if ns.is_some() {
        push(
            t("events"),
            json!({ "event_type": "Warning", "since": format!("{}s", scope.window_secs + 3600), "limit": 40 }),
        );
    }
    // What else is down in the cluster: a workload whose pods stopped in
    // another team's namespace (a queue's consumer stuck in its init
    // container, a backend behind the proxy that pages) links its namespace
    // (`linked_namespaces`); and, when data stopped arriving, the scheduled
    // work of the whole cluster (a producer's CronJob rarely lives beside
    // its readers).
    if ns.is_some() {
        push(t("workload_health"), json!({}));
    }
    push(t("list"), json!({ "kind": "deployments", "namespace": ns }));
    // The objects themselves, for the cluster model (owners, nodes, labels,
    // addresses, container states) and for what policies admit.
    // Every Service of the cluster (small, compact): which namespace a
    // dependency lives in, and what an address in an error belongs to.
    if ns.is_some() {
        push(
            t("list"),
            json!({ "kind": "services", "output": "json", "compact": true, "limit": PAGE }),
        );
    }
    if ns.is_some() {
        // The namespaces' labels: what a policy's namespaceSelector matches.
        push(
            t("list"),
            json!({ "kind": "namespaces", "output": "json", "compact": true, "limit": PAGE }),
        );
        for kind in ["pods", "networkpolicies", "events"] {
            push(
                t("list"),
                json!({ "kind": kind, "namespace": ns, "output": "json", "compact": true, "limit": PAGE }),
            );
        }
    }
    // Pods preempted anywhere: the preemptor rarely lives beside its victims.
    push(t("list"), super::preempt::events_read(PAGE));
    // A probed URL: the Ingresses, for the backend that serves it (every
    // namespace: the Ingress rarely lives beside the alert's labels).
    if !scope.alert_urls.is_empty() {
        push(
            t("list"),
            json!({ "kind": "ingresses", "output": "json", "compact": true, "limit": PAGE }),
        );
    }
    push(
        t("resource_usage"),
        json!({ "kind": "pods", "namespace": ns, "sort_by": "cpu", "limit": 15 }),
    );
    push(t("resource_usage"), json!({ "kind": "nodes" }));
    // The heaviest pods of the whole cluster: a neighbour that starves a
    // node rarely lives in the namespace of its victims.
    if ns.is_some() {
        push(
            t("resource_usage"),
            json!({ "kind": "pods", "sort_by": "cpu", "limit": 10 }),
        );
    }
    push(t("services"), json!({ "from": from, "to": to }));
    push(t("service_dependencies"), json!({ "from": from, "to": to }));
    push(
        t("log_patterns"),
        json!({ "from": from, "to": to, "limit": 40 }),
    );
    // Which metrics exist: those a metric signature reads are queried in
    // round two.
    push(t("list_metrics"), json!({ "from": from, "to": to }));
    if let Some(service) = &scope.service {
        push(
            t("search_traces"),
            json!({ "service": service, "errors_only": true, "from": from, "to": to, "limit": 10 }),
        );
    }
    let mut outputs = run_round(source, round1, observer, &mut spend).await;
    follow_pages(source, &mut outputs, observer, &mut spend).await;
    // The subject as the cluster names it (a Traefik service spells
    // namespace and name together): what follows reads it there.
    let asked_ns = scope.namespace.clone();
    let resolved = scope.resolved(&outputs);
    let scope = resolved.as_ref().unwrap_or(scope);
    let ns = scope.namespace.clone();

    // The cause often lives in another team's namespace: the database, the
    // platform component, the service whose certificate expired. The
    // namespaces the evidence points at are read like the alert's own.
    let mut others = linked_namespaces(
        &outputs,
        ns.as_deref(),
        scope.service.as_deref(),
        scope
            .now
            .duration_since(scope.scheduled_work_horizon())
            .as_secs()
            .max(0) as u64,
    );
    // The subject's own namespace, when it was not the one the alert named.
    if let Some(home) = ns.as_ref().filter(|n| asked_ns.as_ref() != Some(*n)) {
        others.retain(|o| o != home);
        others.insert(0, home.clone());
    }
    let read_namespace = |other: &str, calls: &mut Vec<(String, Value)>| {
        if let Some(tool) = t("workload_health") {
            calls.push((tool, json!({ "namespace": other })));
        }
        if let Some(tool) = t("events") {
            calls.push((
                tool,
                json!({ "namespace": other, "since": format!("{}s", scope.window_secs + 3600), "limit": 40 }),
            ));
        }
        if let Some(tool) = t("list") {
            for kind in ["pods", "networkpolicies", "events"] {
                calls.push((
                    tool.clone(),
                    json!({ "kind": kind, "namespace": other, "output": "json", "compact": true, "limit": PAGE }),
                ));
            }
        }
    };
    let mut round1b: Vec<(String, Value)> = Vec::new();
    for other in &others {
        read_namespace(other, &mut round1b);
    }
    if !round1b.is_empty() {
        outputs.extend(run_round(source, round1b, observer, &mut spend).await);
        follow_pages(source, &mut outputs, observer, &mut spend).await;
    }

    // Round two: follow up on what round one saw.
    let mut services: BTreeSet<String> = BTreeSet::new();
    if let Some(s) = &scope.service {
        services.insert(s.clone());
    }
    let mut db_involved = scope.database_hint;
    for o in outputs.iter().filter(|o| !o.outcome.is_error) {
        match o.name.as_str() {
            "services" => {
                for row in parse::table(&o.outcome.text, "SERVICE")
                    .into_iter()
                    .take(15)
                {
                    if let Some(s) = row.get("SERVICE") {
                        services.insert(s.clone());
                    }
                }
            }
            "service_dependencies" => {
                for e in parse::edges(&o.outcome.text) {
                    if e.db && (e.err_pct >= 1.0 || e.p99_ms.is_some_and(|p| p >= 250.0)) {
                        db_involved = true;
                    }
                }
            }
            "log_patterns" => {
                for p in parse::log_patterns(&o.outcome.text) {
                    let text = p.template.to_lowercase();
                    if (p.kind == "NEW" || p.kind == "SURGED")
                        && ["mongo", "pool", "database", "query"]
                            .iter()
                            .any(|k| text.contains(k))
                    {
                        db_involved = true;
                    }
                }
            }
            _ => {}
        }
    }
    let deployments: BTreeSet<String> = outputs
        .iter()
        .filter(|o| o.name == "list" && !o.outcome.is_error)
        .filter(|o| o.args.get("kind").and_then(Value::as_str) == Some("deployments"))
        .flat_map(|o| parse::table(&o.outcome.text, "NAME"))
        .filter_map(|r| r.get("NAME").cloned())
        .collect();
    let mut workloads: BTreeSet<String> = BTreeSet::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "workload_health" && !o.outcome.is_error)
    {
        for f in parse::health_findings(&o.outcome.text) {
            if f.kind == "Deployment" || f.kind == "HorizontalPodAutoscaler" {
                workloads.insert(f.name.clone());
            }
        }
    }
    // Every deployment that is also a service, or that has findings: the
    // cheap call that tells what changed recently.
    for d in &deployments {
        if services.contains(d) || workloads.contains(d) {
            workloads.insert(d.clone());
        }
    }
    if deployments.len() <= 12 {
        workloads.extend(deployments.iter().cloned());
    }
    workloads.retain(|w| deployments.is_empty() || deployments.contains(w));

    let mut round2: Vec<(String, Value)> = Vec::new();
    if let Some(tool) = t("service_health") {
        for s in &services {
            round2.push((
                tool.clone(),
                json!({ "service": s, "from": from, "to": to }),
            ));
        }
    }
    if let Some(tool) = t("rollout_history") {
        for w in workloads.iter().take(16) {
            round2.push((
                tool.clone(),
                json!({ "kind": "deployment", "name": w, "namespace": ns }),
            ));
        }
        let linked_world = super::world::World::from_outputs(&outputs);
        // The alert's namespace's Argo Rollouts, which the Deployments list
        // does not hold.
        if let Some(home) = ns.as_deref() {
            for r in linked_world.argo_rollouts(home).take(4) {
                round2.push((
                    tool.clone(),
                    json!({ "kind": "rollout", "name": r, "namespace": home }),
                ));
            }
        }
        // In the linked namespaces: the workloads that serve a service the
        // telemetry saw (an application error after a rollout is a bad
        // deploy wherever it lives)…
        let mut asked: BTreeSet<(String, String)> = BTreeSet::new();
        for p in linked_world
            .pods
            .iter()
            .filter(|p| others.contains(&p.namespace))
        {
            if services
                .iter()
                .any(|s| super::rules::same_component(s, &p.owner))
                && asked.len() < 8
                && asked.insert((p.namespace.clone(), p.owner.clone()))
            {
                round2.push((
                    tool.clone(),
                    json!({ "kind": linked_world.workload_kind(&p.namespace, &p.owner), "name": p.owner, "namespace": p.namespace }),
                ));
            }
        }
        // …and the Deployments with findings there.
        for o in outputs.iter().filter(|o| {
            o.name == "workload_health"
                && !o.outcome.is_error
                && o.args
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|n| others.iter().any(|x| x == n))
        }) {
            let ns_of = o.args["namespace"].as_str().unwrap_or("").to_string();
            for f in parse::health_findings(&o.outcome.text)
                .into_iter()
                .filter(|f| f.kind == "Deployment")
                .take(4)
            {
                if !asked.insert((ns_of.clone(), f.name.clone())) {
                    continue;
                }
                round2.push((
                    tool.clone(),
                    json!({ "kind": "deployment", "name": f.name, "namespace": o.args["namespace"] }),
                ));
            }
        }
    }
    if let Some(tool) = t("list")
        && let Some(args) = super::placed::deployments_read(&outputs)
    {
        round2.push((tool, args));
    }
    if db_involved {
        for name in ["server_status", "current_ops", "slow_queries"] {
            if let Some(tool) = t(name) {
                round2.push((tool, json!({})));
            }
        }
    }
    // A pod held at its CPU limit: the autoscalers, every namespace (one
    // that measures nothing while its pods drown, see `autoscalers`).
    if let Some(tool) = t("list")
        && super::autoscalers::any_at_limit(&outputs)
    {
        round2.push((
            tool,
            json!({ "kind": super::autoscalers::AUTOSCALERS, "output": "json", "compact": true, "limit": PAGE }),
        ));
    }
    // The logs of the subject's pods and of unhealthy containers (the
    // crashed instance's too): what the software itself said.
    if let Some(tool) = t("logs") {
        let world = super::world::World::from_outputs(&outputs);
        for (namespace, pod, container, previous) in
            world.log_targets(scope.service.as_deref(), scope.from(), LOG_TARGETS)
        {
            let mut args = json!({ "namespace": namespace, "pod": pod, "container": container, "tail": 120, "max_bytes": 12000 });
            if previous {
                args["previous"] = json!(true);
            }
            round2.push((tool.clone(), args));
        }
        // The data store's own log, when its clients' calls to it fail or
        // crawl: lock waits, the statement that waits, authentication
        // failures and replication trouble are written there, by name. As
        // templates with counts: the one DDL statement among thousands of
        // waits is a line of its own.
        // So is the database of a client whose login it refused, though
        // the refused connections leave no span: whose side changed (the
        // database's `password authentication failed`, a pooler relaying
        // it) is in the servers' logs.
        let refused = super::leads::refused_logins(&outputs);
        let troubled_edges: Vec<parse::Edge> = outputs
            .iter()
            .filter(|o| o.name == "service_dependencies" && !o.outcome.is_error)
            .flat_map(|o| parse::edges(&o.outcome.text))
            .filter(|e| {
                e.db && (e.err_pct >= 1.0
                    || e.p99_ms.is_some_and(|p| p >= 250.0)
                    || refused
                        .iter()
                        .any(|c| super::rules::same_component(c, &e.caller)))
            })
            .collect();
        // And the servers whose state the clients' lines relay (a broker's
        // disk alarm, a sealed Vault), which need no span to it.
        let troubled: BTreeSet<String> = troubled_edges
            .iter()
            .map(|e| e.callee.trim_end_matches(" (db)").to_string())
            .chain(super::leads::relayed_systems(&outputs, &world))
            .collect();
        let mut stores: Vec<&super::world::Pod> = Vec::new();
        // First the server the clients' spans say they dialled (a pooler
        // such as PgBouncer in front of the database is where its refusals
        // are logged), then whatever serves the system.
        for server in troubled_edges.iter().filter_map(|e| e.server.as_deref()) {
            if let Some((Some(svc), _)) = world.resolve(server)
                && let Some(pod) = world.backends(svc).find(|p| p.phase == "Running")
                && !stores.iter().any(|p| p.owner == pod.owner)
                && !round2.iter().any(|(_, a)| a["pod"] == pod.name.as_str())
            {
                stores.push(pod);
            }
        }
        for system in &troubled {
            for svc in world.services.iter().filter(|s| s.serves(system)) {
                if let Some(pod) = world.backends(svc).find(|p| p.phase == "Running")
                    && !stores.iter().any(|p| p.owner == pod.owner)
                    && !round2.iter().any(|(_, a)| a["pod"] == pod.name.as_str())
                {
                    stores.push(pod);
                }
            }
        }
        // Each member of a clustered store: a disk alarm, a full volume or
        // a lagging replica is one member's, logged by that member only.
        for store in stores.into_iter().take(STORE_LOGS) {
            let members = world
                .pods
                .iter()
                .filter(|p| {
                    p.owner == store.owner
                        && p.namespace == store.namespace
                        && p.phase == "Running"
                        && !round2.iter().any(|(_, a)| a["pod"] == p.name.as_str())
                })
                .take(STORE_MEMBERS);
            let mut reads = Vec::new();
            for pod in members {
                if let Some(c) = pod.containers.iter().find(|c| !c.init) {
                    reads.push((
                        tool.clone(),
                        json!({ "namespace": pod.namespace, "pod": pod.name, "container": c.name, "mode": "patterns" }),
                    ));
                }
            }
            round2.extend(reads);
        }
    }
    // Every pod on a saturated node, whatever its namespace: who shares it.
    if let Some(tool) = t("list") {
        for node in hot_nodes(&outputs).into_iter().take(2) {
            round2.push((
                tool.clone(),
                json!({ "kind": "pods", "node": node, "output": "json", "compact": true, "limit": PAGE }),
            ));
        }
    }
    if let Some(tool) = t("query_metric") {
        round2.extend(
            metric_queries(&outputs, scope)
                .into_iter()
                .map(|a| (tool.clone(), a)),
        );
    }
    outputs.extend(run_round(source, round2, observer, &mut spend).await);
    follow_pages(source, &mut outputs, observer, &mut spend).await;

    // A cluster without telemetry names its peers only in the containers'
    // own logs, read just now: their namespaces are read too.
    let mut round3: Vec<(String, Value)> = Vec::new();
    let late = linked_namespaces(
        &outputs,
        ns.as_deref(),
        scope.service.as_deref(),
        scope.window_secs + 3600,
    );
    for other in late.iter().filter(|n| !others.contains(n)) {
        read_namespace(other, &mut round3);
    }
    // Objects an engineer lists when a failure's words point at them.
    let mut read: Vec<String> = ns.iter().cloned().collect();
    read.extend(others.iter().chain(&late).cloned());
    read.sort_unstable();
    read.dedup();
    if let Some(tool) = t("list") {
        for args in on_demand_reads(&outputs, &read, scope.tls_hint, &[]) {
            round3.push((tool.clone(), args));
        }
    }
    // When names fail to resolve: the cluster's resolver; the pods that
    // preempted others, named by UID only.
    if let Some(tool) = t("list") {
        let preemptors = super::preempt::node_reads(&outputs, PAGE);
        for args in resolver_reads(&outputs, PAGE).into_iter().chain(preemptors) {
            round3.push((tool.clone(), args));
        }
    }
    // Who holds the lock a data store's sessions queue for: the lines of its
    // log that name the holder, then that session's own lines (who it is).
    if let Some(tool) = t("logs") {
        for args in super::locks::holder_reads(&outputs) {
            round3.push((tool.clone(), args));
        }
    }
    if let Some(tool) = t("list")
        && let Some(args) = super::locks::jobs_read(&outputs, PAGE)
    {
        round3.push((tool.clone(), args));
    }
    // Where a service with new lines lives, when nothing read placed it,
    // and whether it changed (see `placed`).
    if let Some(tool) = t("rollout_history") {
        for args in super::placed::history_reads(&outputs) {
            round3.push((tool.clone(), args));
        }
    }
    // A failing client's settings, when its log does not say what it
    // cannot reach (see `configured`).
    if let Some(tool) = t("describe") {
        for args in super::configured::describe_reads(&outputs) {
            round3.push((tool.clone(), args));
        }
    }
    if !round3.is_empty() {
        outputs.extend(run_round(source, round3, observer, &mut spend).await);
        follow_pages(source, &mut outputs, observer, &mut spend).await;
    }
    let mut configured: Vec<(String, Value)> = Vec::new();
    for other in super::configured::namespaces(&outputs, &read) {
        read_namespace(&other, &mut configured);
        read.push(other);
    }
    if !configured.is_empty() {
        outputs.extend(run_round(source, configured, observer, &mut spend).await);
        follow_pages(source, &mut outputs, observer, &mut spend).await;
    }
    // The callee the subject's failures name, now that its namespace is
    // read: its own log, and what that log points at.
    if let Some(tool) = t("logs") {
        let reads = callee_log_reads(&outputs, scope.service.as_deref());
        if !reads.is_empty() {
            let calls = reads.into_iter().map(|a| (tool.clone(), a)).collect();
            let before = outputs.len();
            outputs.extend(run_round(source, calls, observer, &mut spend).await);
            // The namespaces that log names, read as the others were.
            let mut more: Vec<(String, Value)> = Vec::new();
            let linked = linked_namespaces(&outputs, ns.as_deref(), None, scope.window_secs + 3600);
            for other in linked {
                if !read.contains(&other) {
                    read_namespace(&other, &mut more);
                    read.push(other);
                }
            }
            if !more.is_empty() {
                outputs.extend(run_round(source, more, observer, &mut spend).await);
            }
            if let Some(list) = t("list") {
                let listed: Vec<&str> = outputs[..before]
                    .iter()
                    .filter(|o| o.name == "list")
                    .filter_map(|o| o.args.get("kind").and_then(Value::as_str))
                    .collect();
                let lists: Vec<(String, Value)> =
                    on_demand_reads(&outputs[before..], &read, false, &listed)
                        .into_iter()
                        .map(|a| (list.clone(), a))
                        .collect();
                if !lists.is_empty() {
                    outputs.extend(run_round(source, lists, observer, &mut spend).await);
                }
            }
        }
    }
    // The lock holders' sessions, and the pods presenting a failing
    // Certificate that nothing else read.
    let backends = super::leads::certificate_backend_reads(&outputs, PAGE);
    if let (Some(tool), Some(list)) = (t("logs"), t("list")) {
        let round4: Vec<(String, Value)> = super::locks::session_reads(&outputs)
            .into_iter()
            .map(|args| (tool.clone(), args))
            .chain(backends.into_iter().map(|args| (list.clone(), args)))
            .collect();
        if !round4.is_empty() {
            outputs.extend(run_round(source, round4, observer, &mut spend).await);
        }
    }

    let gaps = data_gaps(source, &tools, &outputs, &spend);
    EvidencePack {
        outputs,
        gaps,
        elapsed_ms: started.elapsed().as_millis() as u64,
        now: Some(scope.now),
    }
}

/// The `query_metric` calls for the metrics a signature reads (see
/// [`super::metrics`]): the incident window and a baseline as long before
/// it (at least 30 minutes), in about twelve steps, grouped by the labels
/// that name a component.
fn metric_queries(outputs: &[Output], scope: &Scope) -> Vec<Value> {
    let window = scope.window_secs.max(60);
    let baseline = window.max(1800);
    let step_mins = ((window + baseline) / 12 / 60).max(1);
    let from = scope
        .now
        .checked_sub(jiff::SignedDuration::from_secs((window + baseline) as i64))
        .unwrap_or(scope.now);
    outputs
        .iter()
        .filter(|o| o.name == "list_metrics" && !o.outcome.is_error)
        .flat_map(|o| super::metrics::wanted(&o.outcome.text))
        .take(super::metrics::MAX_QUERIES)
        .map(|(metric, sig)| {
            json!({
                "metric": metric,
                "group_by": sig.group_by(),
                "aggregation": sig.aggregation(),
                "step": format!("{step_mins}m"),
                "from": from.to_string(),
                "to": scope.now.to_string(),
            })
        })
        .collect()
}

/// Nodes at 90 % CPU or more in a `resource_usage kind=nodes` answer.
fn hot_nodes(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter(|o| {
            o.name == "resource_usage"
                && !o.outcome.is_error
                && o.args.get("kind").and_then(Value::as_str) == Some("nodes")
        })
        .flat_map(|o| parse::table(&o.outcome.text, "NODE"))
        .filter(|r| {
            r.get("CPU%")
                .and_then(|p| parse::percent(p))
                .is_some_and(|p| p >= 90.0)
        })
        .filter_map(|r| r.get("NODE").cloned())
        .collect()
}

#[cfg(test)]
#[path = "collect_tests.rs"]
mod tests;
