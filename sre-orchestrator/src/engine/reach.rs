//! Calls that never reached their callee, and the policy that stopped them.
//!
//! The trace graph says more than the callers' words: when a caller's
//! client spans to a service fail and the service recorded none of them
//! (`service_dependencies`' UNREACHED column), the calls died between the
//! two, whatever the caller logged (`DEADLINE_EXCEEDED … waiting_for_connection`,
//! `403 Forbidden`, a bare timeout). Between the two stand the network and
//! the mesh, so the engine asks both, for every such edge and not only for
//! callers whose log lines happen to name the peer: does a NetworkPolicy
//! select the callee's pods and admit none of the caller's
//! ([`World::blocking_policy`]), or does an AuthorizationPolicy guard the
//! callee and admit none of the caller's identity
//! ([`World::denying_mesh_policy`])? A policy that does is the cause,
//! whether it was created during the incident or edited in place (an
//! in-place edit keeps the old creation time).
//!
//! What the callers reported about that call (the peer unreachable, access
//! denied) moves onto the policy, as it does for a policy found through a
//! named peer: the callers are its victims.

use jiff::{SignedDuration, Timestamp};

use super::parse::Edge;
use super::rules::{Ctx, Signal, same_component};
use super::world::World;

/// What the callers' reports of a stopped call are, moved to the policy.
const STOPPED: &[&str] = &[
    "dependency_unreachable",
    "network_policy_blocked",
    "authorization_denied",
];

/// What a stopping policy is, per kind of policy: the signal's kind, the
/// object's kind and the evidence source.
type PolicyKind = (&'static str, &'static str, &'static str);

/// A Kubernetes NetworkPolicy that admits none of the caller's pods.
const NETWORK_POLICY: PolicyKind = (
    "network_policy_blocked",
    "NetworkPolicy",
    "k8s.networkpolicies",
);

/// A mesh AuthorizationPolicy that denies the caller.
const MESH_POLICY: PolicyKind = (
    "authorization_denied",
    "AuthorizationPolicy",
    "k8s.authorizationpolicies",
);

/// One policy and the calls it stopped.
struct Stop {
    policy: String,
    namespace: String,
    kind: &'static str,
    what: &'static str,
    source: &'static str,
    created: Option<Timestamp>,
    callees: Vec<String>,
    callers: Vec<String>,
    unreached: f64,
    /// What happened to the calls counted in `unreached`.
    fate: &'static str,
}

/// Reads the unreached edges and blames the policies that stop them.
pub(super) fn unreached(ctx: &mut Ctx<'_>, edges: &[Edge], world: &World, horizon: Timestamp) {
    let mut stops: Vec<Stop> = Vec::new();
    for e in edges.iter().filter(|e| e.errors > 0.0) {
        // A service edge: the calls its callee never recorded. A database edge
        // (client spans only, so nothing is "unreached"): its failed calls,
        // once the callers say they could not reach the store (below).
        let (peer, stopped) = match (&e.server, e.db) {
            (_, false) if e.unreached >= 3.0 && e.unreached >= e.errors * 0.5 => {
                (e.callee.as_str(), e.unreached)
            }
            (Some(server), true) if e.errors >= 3.0 => (server.as_str(), e.errors),
            _ => continue,
        };
        let Some(caller) = world
            .pods
            .iter()
            .find(|p| same_component(&p.owner, &e.caller))
            .map(|p| p.owner.clone())
        else {
            continue;
        };
        let Some((svc, workloads)) = world.resolve(peer) else {
            continue;
        };
        let callee = workloads
            .first()
            .cloned()
            .unwrap_or_else(|| e.callee.clone());
        // A store's failed calls are a stopped connection only when someone
        // reported the store unreachable (a query error is no network matter).
        if e.db
            && !ctx.signals.iter().any(|s| {
                s.kind == "dependency_unreachable"
                    && (same_component(&s.component, &callee)
                        || svc.is_some_and(|v| same_component(&s.component, &v.name))
                        || same_component(&s.component, &caller))
            })
        {
            continue;
        }
        let found = svc
            .and_then(|svc| world.blocking_policy(svc, &caller))
            .map(|p| {
                let (kind, _, source) = NETWORK_POLICY;
                (p.name, p.namespace, p.created, (kind, p.kind, source))
            })
            .or_else(|| {
                world
                    .denying_mesh_policy(&callee, &caller)
                    .map(|p| (p.name.clone(), p.namespace.clone(), p.created, MESH_POLICY))
            });
        let Some((policy, namespace, created, (kind, what, source))) = found else {
            continue;
        };
        // A policy created after the caller began to fail came too late
        // to be why (a bucket of slack for the health table's rounding).
        let failing_since = ctx
            .health
            .iter()
            .find(|(name, _)| same_component(name, &e.caller))
            .and_then(|(_, h)| {
                let start = ctx.clock(h.degraded_since()?)?;
                start
                    .checked_add(SignedDuration::from_secs(h.bucket_secs.max(60)))
                    .ok()
            });
        if let (Some(since), Some(c)) = (failing_since, created)
            && c > since
        {
            continue;
        }
        match stops
            .iter_mut()
            .find(|s| s.policy == policy && s.namespace == namespace)
        {
            Some(s) => {
                if !s.callers.contains(&caller) {
                    s.callers.push(caller);
                }
                if !s.callees.contains(&callee) {
                    s.callees.push(callee);
                }
                s.unreached += stopped;
            }
            None => stops.push(Stop {
                policy,
                namespace,
                kind,
                what,
                source,
                created,
                callees: vec![callee],
                callers: vec![caller],
                unreached: stopped,
                fate: if e.db { "failed" } else { "never reached it" },
            }),
        }
    }
    for stop in stops {
        let new = stop.created.is_some_and(|c| c >= horizon);
        let mut moved = Vec::new();
        for s in ctx.signals.iter_mut().filter(|s| {
            STOPPED.contains(&s.kind)
                && stop
                    .callees
                    .iter()
                    .chain(&stop.callers)
                    .any(|c| same_component(&s.component, c))
        }) {
            let mut stays = s.clone();
            stays.weight *= super::moves::LEFT_BEHIND;
            moved.push(stays);
            s.detail = format!(
                "{} {} stops {}'s calls to {}: {}",
                stop.what,
                stop.policy,
                s.component,
                stop.callees.join(", "),
                s.detail
            );
            s.component = stop.policy.clone();
            s.kind = stop.kind;
        }
        ctx.signals.extend(moved);
        for caller in &stop.callers {
            ctx.blames.insert(caller.clone(), stop.policy.clone());
        }
        for job in blocked_jobs(ctx, world, &stop) {
            super::moves::move_signals(
                &mut ctx.signals,
                &stop.policy,
                |_, s| s.kind == "job_failed" && same_component(&s.component, &job),
                |s| {
                    format!(
                        "{} {} stops {job}'s run from {} as it stops the calls of {}: {}",
                        stop.what,
                        stop.policy,
                        stop.callees.join(", "),
                        stop.callers.join(", "),
                        s.detail
                    )
                },
            );
            for s in ctx.signals.iter_mut().filter(|s| {
                s.component == stop.policy && s.kind == "job_failed" && s.detail.contains(&job)
            }) {
                s.kind = stop.kind;
            }
            ctx.blames.insert(job, stop.policy.clone());
        }
        ctx.signals.push(Signal {
            component: stop.policy.clone(),
            kind: stop.kind,
            weight: if new { 4.5 } else { 3.5 } + stop.callers.len().min(4) as f64 * 0.5,
            source: stop.source.into(),
            detail: format!(
                "{} {}{}{}{} stops the calls of {} to {}: {:.0} of them {}",
                stop.what,
                stop.namespace,
                if stop.namespace.is_empty() { "" } else { "/" },
                stop.policy,
                match stop.created {
                    Some(c) if new => format!(" (created {c})"),
                    _ => String::new(),
                },
                stop.callers.join(", "),
                stop.callees.join(", "),
                stop.unreached,
                stop.fate,
            ),
            at: stop.created.filter(|_| new),
        });
    }
}

/// The failed Jobs beside a stop's callers that the same policy stops from
/// the same Service, whose run ended on a connection (`connection was
/// closed in the middle of operation`): a Job's pods leave no spans to show
/// the call, but the rule is evaluated on their namespace and labels as on
/// the callers', and a run that could not connect fails of it too.
fn blocked_jobs(ctx: &Ctx<'_>, world: &World, stop: &Stop) -> Vec<String> {
    let mut failed: Vec<String> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "job_failed" && s.weight > 0.0)
        .map(|s| s.component.clone())
        .collect();
    failed.sort();
    failed.dedup();
    let on_a_connection = |job: &str| {
        ctx.signals.iter().any(|s| {
            let d = s.detail.to_lowercase();
            same_component(&s.component, job)
                && (d.contains("connect") || d.contains("timed out") || d.contains("timeout"))
        })
    };
    failed
        .into_iter()
        .filter(|job| !stop.callers.iter().any(|c| same_component(c, job)))
        .filter(|job| on_a_connection(job))
        .filter(|job| {
            world
                .services
                .iter()
                .filter(|svc| stop.callees.iter().any(|c| same_component(&svc.name, c)))
                .any(|svc| {
                    world
                        .blocking_policy(svc, job)
                        .is_some_and(|b| b.name == stop.policy)
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::engine::Scope;
    use crate::engine::collect::Output;
    use crate::engine::parse::edges;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            service: Some("dns-api".into()),
            namespace: Some("cdn-control".into()),
            now: "2026-03-17T10:12:00Z".parse().unwrap(),
            window_secs: 1620,
            ..Scope::test()
        }
    }

    fn list(kind: &str, docs: &[serde_json::Value]) -> Output {
        let text = docs
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        Output::test(
            "k8s.list",
            json!({ "kind": kind, "output": "json" }),
            &format!("# {} {kind}\n{text}\n", docs.len()),
        )
    }

    fn pod(name: &str, ns: &str, app: &str, sa: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
               "spec": {"serviceAccountName": sa},
               "status": {"phase": "Running", "podIP": "10.0.0.1"}})
    }

    fn world(extra: Vec<Output>) -> World {
        let mut outputs = vec![
            list(
                "pods",
                &[
                    pod(
                        "zone-api-7d9f8c6b5-x2kbz",
                        "cdn-control",
                        "zone-api",
                        "zone-api",
                    ),
                    pod(
                        "zone-store-7d9f8c6b5-q7wnt",
                        "cdn-data",
                        "zone-store",
                        "zone-store",
                    ),
                    pod(
                        "zone-indexer-7d9f8c6b5-p4lmr",
                        "cdn-data",
                        "zone-indexer",
                        "zone-indexer",
                    ),
                ],
            ),
            list(
                "services",
                &[
                    json!({"metadata": {"name": "zone-store", "namespace": "cdn-data"},
                         "spec": {"selector": {"app": "zone-store"}, "clusterIP": "10.96.0.9"}}),
                ],
            ),
            list(
                "namespaces",
                &[
                    json!({"metadata": {"name": "cdn-control"}}),
                    json!({"metadata": {"name": "cdn-data"}}),
                ],
            ),
        ];
        outputs.extend(extra);
        World::from_outputs(&outputs)
    }

    const TABLE: &str = "CALLER        CALLEE      CALLS  ERRORS   ERR%    P99  UNREACHED\n\
zone-api      zone-store   1274     803  63.0%  10.6ms        803\n\
zone-indexer  zone-store     82       0   0.0%  15.4ms          0\n";

    #[test]
    fn a_new_default_deny_that_drops_another_namespaces_calls_is_the_cause() {
        let policies = list(
            "networkpolicies",
            &[
                json!({"metadata": {"name": "allow-same-namespace", "namespace": "cdn-data", "creationTimestamp": "2026-03-17T09:54:40Z"},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}}),
                json!({"metadata": {"name": "default-deny-ingress", "namespace": "cdn-data", "creationTimestamp": "2026-03-17T09:54:40Z"},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            ],
        );
        let world = world(vec![policies]);
        let scope = scope();
        let mut ctx = Ctx::new(&scope);
        ctx.signals.push(Signal {
            component: "zone-api".into(),
            kind: "dependency_unreachable",
            weight: 5.0,
            source: "signoz.log_patterns".into(),
            detail: "DEADLINE_EXCEEDED waiting_for_connection".into(),
            at: None,
        });
        unreached(&mut ctx, &edges(TABLE), &world, scope.horizon());
        let policy: Vec<&Signal> = ctx
            .signals
            .iter()
            .filter(|s| s.kind == "network_policy_blocked")
            .collect();
        // The caller's report moved onto the policy, and the policy's own
        // finding names who it stops; the default deny, not the allow rule
        // applied with it, is the one named.
        assert_eq!(policy.len(), 2, "{policy:?}");
        assert!(policy.iter().all(|s| s.component == "default-deny-ingress"));
        assert!(
            policy[1]
                .detail
                .contains("stops the calls of zone-api to zone-store: 803")
        );
        assert_eq!(ctx.blames["zone-api"], "default-deny-ingress");
        // What the caller said stays behind, weaker.
        assert!(
            ctx.signals
                .iter()
                .any(|s| s.component == "zone-api" && s.weight < 2.0)
        );
    }

    /// A failed Job beside the caller, which the same policy stops from the
    /// same store and whose run ended on a lost connection, failed of the
    /// policy; one whose run ended otherwise did not.
    #[test]
    fn a_failed_job_the_same_policy_stops_fails_of_it() {
        let policies = list(
            "networkpolicies",
            &[
                json!({"metadata": {"name": "default-deny-ingress", "namespace": "cdn-data", "creationTimestamp": "2026-03-17T09:54:40Z"},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            ],
        );
        let job_pod = |name: &str| {
            json!({"metadata": {"name": format!("{name}-29825145-x7k2p"), "namespace": "cdn-control",
                                "labels": {"app": name},
                                "ownerReferences": [{"kind": "Job", "name": format!("{name}-29825145")}]},
                   "spec": {"serviceAccountName": name},
                   "status": {"phase": "Failed", "podIP": "10.0.0.7"}})
        };
        let jobs = list("pods", &[job_pod("zone-export"), job_pod("zone-report")]);
        let world = world(vec![policies, jobs]);
        let scope = scope();
        let mut ctx = Ctx::new(&scope);
        let signal = |component: &str, kind: &'static str, weight: f64, detail: &str| Signal {
            component: component.into(),
            kind,
            weight,
            source: "test".into(),
            detail: detail.into(),
            at: None,
        };
        ctx.signals.push(signal(
            "zone-api",
            "dependency_unreachable",
            5.0,
            "DEADLINE_EXCEEDED waiting_for_connection",
        ));
        for job in ["zone-export", "zone-report"] {
            ctx.signals
                .push(signal(job, "job_failed", 4.5, "BackoffLimitExceeded"));
        }
        ctx.signals.push(signal(
            "zone-export",
            "crash_loop",
            1.9,
            "asyncpg.exceptions.ConnectionDoesNotExistError: connection was closed in the middle of operation",
        ));
        ctx.signals
            .push(signal("zone-report", "crash_loop", 1.9, "KeyError: 'zone'"));
        unreached(&mut ctx, &edges(TABLE), &world, scope.horizon());
        assert!(
            ctx.signals
                .iter()
                .any(|s| s.component == "default-deny-ingress"
                    && s.kind == "network_policy_blocked"
                    && s.detail.contains("stops zone-export's run from zone-store"))
        );
        assert_eq!(ctx.blames["zone-export"], "default-deny-ingress");
        let left = |job: &str| -> f64 {
            ctx.signals
                .iter()
                .filter(|s| s.component == job && s.kind == "job_failed")
                .map(|s| s.weight)
                .sum()
        };
        assert!(left("zone-export") < 2.0);
        assert_eq!(left("zone-report"), 4.5);
        assert!(!ctx.blames.contains_key("zone-report"));
    }

    #[test]
    fn an_allow_list_that_leaves_the_caller_out_is_the_cause_however_old() {
        let authz = list(
            crate::engine::leads::AUTHORIZATION_POLICIES,
            &[
                json!({"metadata": {"name": "zone-store", "namespace": "cdn-data", "creationTimestamp": "2025-01-08T15:26:00Z"},
                     "spec": {"selector": {"matchLabels": {"app": "zone-store"}},
                              "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/cdn-data/sa/zone-indexer"]}}]}]}}),
            ],
        );
        let world = world(vec![authz]);
        let scope = scope();
        let mut ctx = Ctx::new(&scope);
        unreached(&mut ctx, &edges(TABLE), &world, scope.horizon());
        let s = ctx.signals.last().unwrap();
        assert_eq!(
            (s.component.as_str(), s.kind),
            ("zone-store", "authorization_denied")
        );
        assert_eq!(s.source, "k8s.authorizationpolicies");
        // An old policy dates nothing.
        assert_eq!(s.at, None);
        // Calls that reached the callee are no policy's doing.
        let reached = TABLE.replace("        803\n", "          0\n");
        let mut ctx = Ctx::new(&scope);
        unreached(&mut ctx, &edges(&reached), &world, scope.horizon());
        assert!(ctx.signals.is_empty());
    }

    /// A store the callers reach as a database (client spans with `db.system`, so no
    /// call is "unreached"): once a caller reports the store unreachable, the failed
    /// calls to its Service are checked against the policies in front of it. A query
    /// that fails without anyone reporting the store unreachable is no network matter.
    #[test]
    fn a_policy_in_front_of_a_store_stops_its_database_calls() {
        let policies = list(
            "networkpolicies",
            &[
                json!({"metadata": {"name": "default-deny-ingress", "namespace": "cdn-data", "creationTimestamp": "2026-03-17T09:54:40Z"},
                     "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            ],
        );
        let world = world(vec![policies]);
        let table = "CALLER    CALLEE      CALLS  ERRORS   ERR%    P99  SERVER\n\
zone-api  redis (db)   1700     880  51.8%  5.00s  zone-store.cdn-data.svc.cluster.local\n";
        let scope = scope();
        let mut ctx = Ctx::new(&scope);
        unreached(&mut ctx, &edges(table), &world, scope.horizon());
        assert!(ctx.signals.is_empty(), "{:?}", ctx.signals);
        ctx.signals.push(Signal {
            component: "zone-store".into(),
            kind: "dependency_unreachable",
            weight: 5.0,
            source: "signoz.log_patterns".into(),
            detail: "dial tcp 10.0.145.22:6379: i/o timeout".into(),
            at: None,
        });
        unreached(&mut ctx, &edges(table), &world, scope.horizon());
        let s = ctx.signals.last().unwrap();
        assert_eq!(
            (s.component.as_str(), s.kind),
            ("default-deny-ingress", "network_policy_blocked")
        );
        assert!(
            s.detail
                .contains("stops the calls of zone-api to zone-store: 880 of them failed"),
            "{}",
            s.detail
        );
    }
}
