//! Signals that combine into a cause.
//!
//! The readers each say what one piece of evidence shows. Some causes only
//! appear when two are read together, the way an engineer puts a rollout
//! beside the errors that followed it: a new error template in a service
//! just deployed is a bad deploy; evictions for lack of disk beside a node
//! short of disk point at the node; a service starved of CPU beside a hot
//! node's unbounded consumer points at the consumer; an autoscaler that
//! cannot scale matters from the moment the load comes. Some signals are
//! also demoted when another explains them: the services that fail through
//! a dependency. Each function here is one such rule, run by
//! [`super::rules::analyse`] after every reader.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::parse::Edge;
use super::rank::{REASONS, SYMPTOMS};
use super::rules::{Ctx, Signal, has, same_component};

/// What the kubelet says of a probe that got no answer in time (Go's HTTP
/// client and the kubelet's own exec and TCP probes).
const PROBE_TIMEOUTS: &[&str] = &[
    "context deadline exceeded",
    "client.timeout exceeded",
    "i/o timeout",
    "timed out",
];

/// Whether a probe failure's words say it got no answer in time
/// ([`PROBE_TIMEOUTS`]), not an answer with an error.
pub(super) fn probe_timed_out(detail: &str) -> bool {
    let d = detail.to_lowercase();
    PROBE_TIMEOUTS.iter().any(|t| d.contains(t))
}

/// Whether a finding is the kubelet killing a container for a probe it
/// failed (`Container ledger-api failed liveness probe, will be
/// restarted`, kuberuntime's words for a liveness or startup probe).
pub(super) fn killed_for_probe(detail: &str) -> bool {
    let d = detail.to_lowercase();
    (d.contains("failed liveness probe") || d.contains("failed startup probe"))
        && d.contains("will be restarted")
}

/// Services that fail through another component: demoted (see the module
/// docs).
///
/// A caller of the alert's own service whose calls to it fail is a victim
/// too (`MeterValues failed: CSMS returned 500` from the gateway in front
/// of the paged service): the page is about the service it calls.
pub(super) fn victims(ctx: &mut Ctx<'_>, path: &[String], edges: &[Edge]) {
    if let Some(subject) = ctx.scope.service.clone() {
        for e in edges.iter().filter(|e| {
            !e.db
                && e.err_pct >= 1.0
                && same_component(&e.callee, &subject)
                && !same_component(&e.caller, &subject)
        }) {
            ctx.blames
                .entry(e.caller.clone())
                .or_insert_with(|| subject.clone());
        }
    }
    // A service whose errors are about another component that shows a
    // cause of substance fails through it; so do the services above the
    // deepest degraded one on the alert's call path (measured degraded, it
    // explains those waiting on it). Their own error templates and latency
    // are how the failure reaches the user, not rivals.
    // The culprit's cause may be further down what it blames in turn (the
    // paged service's caller fails through it, and it through a failed Job).
    let caused = |culprit: &String| {
        std::iter::once(culprit)
            .chain(ctx.blamed_beyond(culprit, 2))
            .any(|c| ctx.has_cause(c, &[], 2.0))
    };
    let mut victims: Vec<String> = ctx
        .blames
        .iter()
        .filter(|(_, culprit)| caused(culprit))
        .map(|(victim, _)| victim.clone())
        .collect();
    if let Some((deepest, above)) = path.split_last() {
        for victim in above {
            ctx.blames
                .entry(victim.clone())
                .or_insert_with(|| deepest.clone());
            victims.push(victim.clone());
        }
    }
    victims.sort();
    victims.dedup();
    // What its callers say of a victim ("upstream patient-api failed") is
    // the failure passing through it, too; so is a refusal it relays (`403
    // RBAC: access denied` in the spans of a service above the call that
    // was refused), and the lag of a consumer whose work fails on it.
    for s in ctx.signals.iter_mut().filter(|s| {
        victims.iter().any(|v| same_component(&s.component, v))
            && matches!(
                s.kind,
                "new_error"
                    | "error_surge"
                    | "latency_regression"
                    | "dependency_unreachable"
                    | "authorization_denied"
                    | "consumer_lag"
            )
    }) {
        s.weight *= 0.5;
    }
    // A container that died because it could not reach a peer that is down
    // for a reason of its own (its claim unbound, its node gone, its own
    // crash) restarts because of that peer: the restarts are the peer's
    // failure seen from here, not a second cause. So does an init container
    // that cannot finish for it (a Vault agent whose Vault is sealed). A
    // Service that selects no pod is down for a reason of its own. A peer that is merely
    // "unreachable" explains nothing yet: the crash may be the caller's.
    let down_for_a_reason = |peer: &str| {
        ctx.has_cause(
            peer,
            &[
                "dependency_unreachable",
                "new_error",
                "error_surge",
                "latency_regression",
            ],
            2.0,
        ) || ctx
            .selects_nothing
            .iter()
            .any(|svc| same_component(svc, peer))
    };
    let died: Vec<(String, String)> = ctx
        .died_of
        .iter()
        .filter(|(_, peer)| down_for_a_reason(peer))
        .cloned()
        .collect();
    // A workload that is not Ready because it cannot reach a peer: its
    // readiness check answers "not ready" (an HTTP status, not a dead
    // process) while its own lines say the peer cannot be reached. The
    // readiness gate reports the dependency (Spring's and Rails' health
    // endpoints include the database); the failing probe is the peer's
    // failure seen from here, and the peer's evidence decides the cause. A
    // liveness or startup probe kills the container, which is a failure of
    // its own: not moved.
    let probes_of = |workload: &str| -> Vec<&Signal> {
        ctx.signals
            .iter()
            .filter(|s| s.kind == "probe_failing" && same_component(&s.component, workload))
            .collect()
    };
    let readiness_only = |workload: &str| {
        let probes = probes_of(workload);
        !probes.is_empty()
            && probes.iter().all(|s| {
                let d = s.detail.to_lowercase();
                !d.contains("liveness") && !d.contains("startup probe")
            })
            && probes
                .iter()
                .any(|s| s.detail.to_lowercase().contains("readiness probe failed"))
    };
    // A liveness probe that times out (`context deadline exceeded`,
    // `Client.Timeout exceeded`) is no proof of a failure of the workload's
    // own when the peer it cannot reach was already down: the threads that
    // answer the probe wait on that peer too (a pool blocked on a database
    // that is not there). What came first decides: the peer's cause no
    // later than the first failed probe. A liveness probe answered with an
    // error status, or a peer that failed after, stays the workload's own.
    let timed_out_after = |workload: &str, peer: &str| {
        let probes = probes_of(workload);
        let own = probes.iter().any(|s| {
            let d = s.detail.to_lowercase();
            (d.contains("liveness probe failed") || d.contains("startup probe failed"))
                && !probe_timed_out(&d)
        });
        let first_probe = probes.iter().filter_map(|s| s.at).min();
        let peer_since = ctx
            .signals
            .iter()
            .filter(|s| {
                same_component(&s.component, peer) && !SYMPTOMS.contains(&s.kind) && s.weight >= 2.0
            })
            .filter_map(|s| s.at)
            .min();
        !own && matches!((peer_since, first_probe), (Some(p), Some(f)) if p <= f)
    };
    // So is one whose calls crawl through what it blames (a store whose
    // queries crawl, the callee its errors name).
    let pairs: Vec<(String, String)> = ctx
        .cannot_reach
        .iter()
        .cloned()
        .chain(ctx.blames.iter().map(|(w, p)| (w.clone(), p.clone())))
        .collect();
    let unready: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(workload, peer)| {
            (readiness_only(workload) || timed_out_after(workload, peer))
                && ctx.has_cause(peer, &[], 2.0)
                // Already demoted as a container that died of it.
                && !died.iter().any(|(w, _)| w == workload)
        })
        .collect();
    for (workload, peer) in died {
        for s in ctx.signals.iter_mut().filter(|s| {
            same_component(&s.component, &workload)
                && matches!(
                    s.kind,
                    "crash_loop" | "probe_failing" | "init_container_stuck"
                )
        }) {
            s.weight *= 0.3;
        }
        ctx.blames.entry(workload).or_insert(peer);
    }
    for (workload, peer) in unready {
        // Its callers find it unreachable because it is not Ready: the
        // same failure again.
        for s in ctx.signals.iter_mut().filter(|s| {
            same_component(&s.component, &workload)
                && matches!(s.kind, "probe_failing" | "dependency_unreachable")
        }) {
            s.weight *= 0.3;
        }
        ctx.blames.entry(workload).or_insert(peer);
    }
}

/// A rollout beside the trouble that followed it.
///
/// `tails` are the window's new log templates as
/// [`super::telemetry::new_template_tails`] reads them: a new error the
/// deployed service shares with a service that did not change (the same
/// template, or one ending in the same words: `OperationalError:
/// connection timeout expired` from three services behind one pooler) is a
/// shared dependency's, not the rollout's.
pub(super) fn deploys(
    ctx: &mut Ctx<'_>,
    degraded: &[String],
    edges: &[Edge],
    tails: &[(Vec<String>, String)],
) {
    // Combine: a new error template in a service that was just deployed is
    // a bad deploy.
    let deployed: Vec<Signal> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "recent_deploy")
        .cloned()
        .collect();
    for d in &deployed {
        // Trouble that began before the rollout is not the rollout's doing
        // (a crash loop for days, errors that started minutes earlier).
        let slack = SignedDuration::from_mins(2);
        // Consequences folded into another cause (weight 0) still date
        // when the trouble began.
        let began_before = |kind: &str| {
            let first = ctx
                .signals
                .iter()
                .filter(|s| s.kind == kind && same_component(&s.component, &d.component))
                .filter(|s| !super::telemetry::coarse_time(s))
                .filter_map(|s| s.at)
                .min();
            matches!((first, d.at), (Some(f), Some(at)) if f < at - slack)
        };
        let health = ctx
            .health
            .iter()
            .find(|(name, _)| same_component(name, &d.component))
            .map(|(_, h)| h);
        // Degraded for a whole bucket before the rollout: it came after.
        let degraded_before = health
            .and_then(|h| {
                let start = ctx.clock(h.degraded_since()?)?;
                start
                    .checked_add(SignedDuration::from_secs(h.bucket_secs))
                    .ok()
            })
            .is_some_and(|end| d.at.is_some_and(|at| at >= end));
        // Errors without a time of their own (a container's log lines)
        // are the rollout's only when nothing dates the trouble earlier.
        // Errors already folded into a cause elsewhere (weight 0: a callee
        // failing for its own reason) are that cause's, not the rollout's.
        let errors: Vec<Signal> = ctx
            .signals
            .iter()
            .filter(|s| {
                same_component(&s.component, &d.component)
                    && s.weight > 0.0
                    && matches!(s.kind, "new_error" | "crash_loop")
                    && !began_before(s.kind)
                    && !(s.at.is_none() && degraded_before)
            })
            .cloned()
            .collect();
        // Its reports that its calls fail (reset, refused, timed out), when
        // they began with its own rollout while what it calls shows no
        // trouble of its own, are the rollout's: the change is on the
        // calling side (a client library's keep-alive, a new timeout, a
        // wrong address).
        // Quiet as its own telemetry says: a callee whose health was read
        // (a third party's outage, never measured, is no evidence of it).
        let callee_quiet = ctx.blames.get(&d.component).is_some_and(|callee| {
            !same_component(callee, &d.component)
                && ctx.health.keys().any(|name| same_component(name, callee))
                && !ctx.has_cause(callee, &["dependency_unreachable"], 2.0)
        });
        let with_rollout = |s: &Signal| match (s.at, d.at) {
            (Some(e), Some(at)) => {
                e >= at - slack && e.duration_since(at) <= SignedDuration::from_mins(10)
            }
            _ => false,
        };
        let mut errors = errors;
        let changed = |c: &str| deployed.iter().any(|x| same_component(&x.component, c));
        let its_own = |svcs: &[String]| svcs.iter().any(|s| same_component(s, &d.component));
        let shared = tails
            .iter()
            .filter(|(svcs, _)| its_own(svcs))
            .any(|(_, tail)| {
                tails.iter().any(|(svcs, t)| {
                    t == tail
                        && svcs
                            .iter()
                            .any(|s| !same_component(s, &d.component) && !changed(s))
                })
            });
        if shared {
            errors.retain(|s| !s.source.ends_with("log_patterns"));
        }
        if callee_quiet && !began_before("dependency_unreachable") {
            errors.extend(
                ctx.signals
                    .iter()
                    .filter(|s| {
                        same_component(&s.component, &d.component)
                            && s.weight > 0.0
                            && s.kind == "dependency_unreachable"
                            && with_rollout(s)
                    })
                    .cloned(),
            );
        }
        // Errors that began long after the rollout, while what the service
        // blames (or what that blames in turn) fails for a reason of its
        // own, are that failure's, not the rollout's.
        let elsewhere = ctx
            .blamed_beyond(&d.component, 3)
            .any(|c| ctx.has_cause(c, &[], 2.0));
        let first_error = errors.iter().filter_map(|s| s.at).min();
        let late = matches!((first_error, d.at), (Some(e), Some(at)) if e.duration_since(at) > SignedDuration::from_mins(10));
        // Or what it blames failed for a reason of its own, by name (a pool
        // that ran dry, a disk that filled), no later than its first error:
        // the errors relay that failure, however close the rollout came.
        let blamed_first = first_error.is_some_and(|first| {
            ctx.blamed_beyond(&d.component, 3).any(|c| {
                ctx.signals.iter().any(|s| {
                    same_component(&s.component, c)
                        && s.weight >= 2.0
                        && REASONS.contains(&s.kind)
                        && !matches!(s.kind, "probe_failing" | "rate_limited")
                        && s.at.is_some_and(|at| at <= first + slack)
                })
            })
        });
        let errors = if elsewhere && late || blamed_first {
            Vec::new()
        } else {
            errors
        };
        // A service that waits on a degraded dependency is degraded through
        // it: that needs no rollout to explain.
        let through_dependency = edges.iter().any(|e| {
            !e.db
                && same_component(&e.caller, &d.component)
                && !same_component(&e.callee, &d.component)
                && degraded.iter().any(|x| same_component(x, &e.callee))
        });
        let blames_other = ctx
            .blames
            .iter()
            .any(|(victim, _)| same_component(victim, &d.component));
        // Failing with an error services that did not change share: not
        // the rollout's failure.
        let failing = degraded.iter().any(|s| same_component(s, &d.component))
            && !shared
            && !degraded_before
            && !through_dependency
            && !blames_other;
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
}

/// A client's reports of a failure that is the callee's doing (a 403 is
/// the callee's policy speaking, an expired certificate the one it
/// presents), when they name no callee, are about the one callee the same
/// client's other reports of that failure name. (A 429 is not: the caller
/// that tripped the limit is as often the one to fix.)
pub(super) fn peer_side(ctx: &mut Ctx<'_>) {
    const KINDS: &[&str] = &["authorization_denied", "certificate_expired"];
    let mut moves: Vec<(String, &'static str, String)> = Vec::new();
    for client in &ctx.self_reports {
        let Some(peer) = ctx
            .blames
            .get(client)
            .filter(|p| !same_component(p, client))
        else {
            continue;
        };
        for kind in KINDS {
            // The named callee shows the same failure: the client's
            // unnamed reports are about it.
            if ctx
                .signals
                .iter()
                .any(|s| s.kind == *kind && same_component(&s.component, peer))
            {
                moves.push((client.clone(), kind, peer.clone()));
            }
        }
    }
    for (client, kind, peer) in moves {
        for s in ctx
            .signals
            .iter_mut()
            .filter(|s| s.kind == kind && same_component(&s.component, &client))
        {
            s.detail = format!("{client} reports it about {peer}: {}", s.detail);
            s.component = peer.clone();
        }
    }
}

/// A failed Job whose reason was found to be another component's (its run
/// could not verify the certificate a service presents, and that
/// certificate expired; its pull secret is another object's) failed because
/// of it: a Job's failure is named by the Job unless its reason is a class
/// with its own fix ([`super::rank::JOB_REASONS`]), and here that fix is
/// elsewhere. The run's failure moves there, as that reason (a weak copy
/// stays).
pub(super) fn jobs_fail_through(ctx: &mut Ctx<'_>, moves: &[(String, String)]) {
    for (job, cause) in moves {
        let failed = ctx
            .signals
            .iter()
            .any(|s| s.kind == "job_failed" && s.weight > 0.0 && same_component(&s.component, job));
        // The reason, as the signals that moved say it: on the cause, about
        // the Job.
        let reason = ctx
            .signals
            .iter()
            .filter(|s| same_component(&s.component, cause) && s.detail.contains(job.as_str()))
            .map(|s| s.kind)
            .find(|k| super::rank::JOB_REASONS.contains(k));
        let (true, Some(reason)) = (failed, reason) else {
            continue;
        };
        super::moves::move_signals(
            &mut ctx.signals,
            cause,
            |_, s| s.kind == "job_failed" && same_component(&s.component, job),
            |s| format!("{job}'s run failed for {cause}'s {reason}: {}", s.detail),
        );
        for s in ctx.signals.iter_mut().filter(|s| {
            s.component == *cause
                && s.kind == "job_failed"
                && s.detail.contains("'s run failed for ")
        }) {
            s.kind = reason;
        }
    }
}

/// An autoscaler whose target does not exist (`deployments/scale.apps
/// "query-rewriter" not found`) was left behind by a rename: it belongs to
/// the one workload that carries the old name inside its new one
/// (`search-query-rewriter`), which has not been scaled since, or else to
/// the one workload whose rollout history names the old name (a
/// change-cause `renamed from donor-scheduler`, an annotation that kept it).
pub(super) fn orphaned_autoscalers(
    ctx: &mut Ctx<'_>,
    world: &super::world::World,
    pack: &super::collect::EvidencePack,
) {
    let names: BTreeSet<&str> = world.pods.iter().map(|p| p.owner.as_str()).collect();
    // Whether `text` names `old` as a whole name (not `old-worker`).
    let mentions = |text: &str, old: &str| {
        text.match_indices(old).any(|(i, _)| {
            let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            !text[..i].chars().next_back().is_some_and(name_char)
                && !text[i + old.len()..].chars().next().is_some_and(name_char)
        })
    };
    for s in ctx
        .signals
        .iter_mut()
        .filter(|s| s.kind == "hpa_misconfigured" && !names.contains(s.component.as_str()))
    {
        let old = s.component.as_str();
        let heirs: Vec<&&str> = names
            .iter()
            .filter(|n| {
                n.len() > old.len()
                    && (n.ends_with(&format!("-{old}")) || n.starts_with(&format!("{old}-")))
            })
            .collect();
        if let [heir] = heirs.as_slice() {
            s.detail = format!(
                "autoscaler {old} targets a workload that does not exist; {heir} carries its name: {}",
                s.detail
            );
            s.component = heir.to_string();
            continue;
        }
        let recorded: BTreeSet<&str> = pack
            .of("rollout_history")
            .filter(|o| !o.outcome.is_error && mentions(&o.outcome.text, old))
            .filter_map(|o| o.args.get("name").and_then(serde_json::Value::as_str))
            .filter(|n| *n != old && names.contains(n))
            .collect();
        if let [heir] = recorded.into_iter().collect::<Vec<_>>().as_slice() {
            s.detail = format!(
                "autoscaler {old} targets a workload that does not exist; the rollout history of {heir} names {old}: {}",
                s.detail
            );
            s.component = heir.to_string();
        }
    }
}

/// Capacity: a noisy neighbour, a traffic spike, pods starved at their CPU
/// limit, an autoscaler that cannot scale.
///
/// `pinned` lists the workloads whose every pod levels off at the same whole
/// number of cores ([`super::telemetry::pinned_workloads`]).
pub(super) fn capacity(ctx: &mut Ctx<'_>, degraded: &[String], pinned: &[(String, u32)]) {
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
    // Traffic spike + HPA at max: capacity, not a bug. Without telemetry,
    // the autoscaler's own scale-ups during the incident ("New size: 12;
    // reason: cpu resource utilization (percentage of request) above
    // target") say the load rose as well as a request rate would.
    let window_start = ctx.scope.from();
    let mut spikes: Vec<String> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "traffic_spike")
        .map(|s| s.component.clone())
        .collect();
    // (autoscaler, its first scale-up in the window): when its trouble
    // began, not when it reached its maximum at the end of the climb.
    let mut scaled_up: Vec<(String, Timestamp)> = Vec::new();
    for t in ctx.timeline.iter().filter(|t| {
        t.at >= window_start
            && t.event
                .starts_with("SuccessfulRescale HorizontalPodAutoscaler/")
            && t.event.contains("above target")
    }) {
        let hpa = t.event["SuccessfulRescale HorizontalPodAutoscaler/".len()..]
            .split(':')
            .next()
            .unwrap_or("");
        match scaled_up.iter_mut().find(|(h, _)| h == hpa) {
            Some((_, at)) => *at = (*at).min(t.at),
            None if !hpa.is_empty() => scaled_up.push((hpa.to_string(), t.at)),
            None => {}
        }
    }
    for (hpa, _) in &scaled_up {
        // Only where no request telemetry says otherwise.
        let measured = ctx.health.keys().any(|name| same_component(name, hpa));
        if !measured && !spikes.iter().any(|c| same_component(c, hpa)) {
            spikes.push(hpa.clone());
        }
    }
    // A probe that times out on a pod held at its CPU limit, or on one of
    // replicas all pinned at the cores their process can use, is the
    // starvation showing, not a wrong probe.
    let plateau = |c: &str| {
        pinned
            .iter()
            .find(|(w, _)| same_component(w, c))
            .map(|(_, cores)| *cores)
    };
    let mut starved: Vec<(String, String)> = ctx
        .signals
        .iter()
        .filter(|s| s.kind == "cpu_throttling" && s.detail.contains("(throttled)"))
        .map(|s| (s.component.clone(), "a pod at its CPU limit".to_string()))
        .collect();
    starved.extend(
        pinned
            .iter()
            .map(|(w, cores)| (w.clone(), format!("a pod pinned at {cores} cores"))),
    );
    let timing_out: Vec<(String, String)> = ctx
        .signals
        .iter()
        .filter(|s| {
            s.kind == "probe_failing"
                && has(
                    &s.detail.to_lowercase(),
                    &["timeout", "timed out", "deadline exceeded"],
                )
        })
        .filter_map(|s| {
            starved
                .iter()
                .find(|(c, _)| same_component(c, &s.component))
                .cloned()
        })
        .collect();
    for s in ctx.signals.iter_mut().filter(|s| s.kind == "probe_failing") {
        if let Some((_, how)) = timing_out
            .iter()
            .find(|(c, _)| same_component(c, &s.component))
        {
            s.kind = "cpu_throttling";
            s.detail = format!("probe failing on {how}: {}", s.detail);
        }
    }
    // A latent misconfiguration (an autoscaler that cannot read its target
    // or its metric) does no harm until the load comes: with a traffic
    // spike on the same workload, the spike is when it started to matter,
    // however old the warnings are; without a measured spike, the moment
    // its pods, left unscaled, started to starve.
    let horizon_start = ctx.scope.horizon();
    let matters_since = |c: &str, kind: &str| {
        ctx.signals
            .iter()
            .filter(|s| s.kind == kind && s.weight > 0.0 && same_component(&s.component, c))
            .filter_map(|s| s.at)
            .filter(|at| *at >= horizon_start)
            .min()
    };
    // When its own spans say it slowed or failed (a bucket of the window
    // from which it stayed degraded): its pods, left unscaled, could not
    // keep up.
    let slowed_since = |c: &str| {
        if !degraded.iter().any(|d| same_component(d, c)) {
            return None;
        }
        let (_, h) = ctx
            .health
            .iter()
            .find(|(name, _)| same_component(name, c))?;
        ctx.clock(h.degraded_since()?)
            .filter(|since| *since >= horizon_start)
    };
    let triggered: Vec<(usize, Option<Timestamp>, String)> = ctx
        .signals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "hpa_misconfigured")
        .filter_map(|(i, s)| {
            if spikes.iter().any(|c| same_component(c, &s.component)) {
                Some((
                    i,
                    matters_since(&s.component, "traffic_spike"),
                    "the traffic rose".to_string(),
                ))
            } else if let Some(cores) = plateau(&s.component) {
                // The pods' first trouble in the window, if any; else when
                // they slowed; else the warnings' own time.
                let first = ctx
                    .signals
                    .iter()
                    .filter(|t| t.weight > 0.0 && same_component(&t.component, &s.component))
                    .filter_map(|t| t.at)
                    .filter(|at| *at >= horizon_start)
                    .min()
                    .or_else(|| slowed_since(&s.component))
                    .or(s.at);
                Some((
                    i,
                    first,
                    format!("its pods are pinned at {cores} cores each"),
                ))
            } else if let Some(at) = matters_since(&s.component, "cpu_throttling") {
                Some((
                    i,
                    Some(at),
                    "its pods starved at their CPU limit".to_string(),
                ))
            } else {
                slowed_since(&s.component).map(|since| {
                    (
                        i,
                        Some(since),
                        "its pods, left unscaled, slowed".to_string(),
                    )
                })
            }
        })
        .collect();
    for (i, at, why) in triggered {
        let s = &mut ctx.signals[i];
        s.weight += 2.0;
        s.at = at;
        s.detail = format!("{} (matters since {why})", s.detail);
    }
    for s in ctx.signals.iter_mut() {
        if s.kind == "hpa_maxed" && spikes.iter().any(|c| same_component(c, &s.component)) {
            s.weight += 3.0;
            if let Some((_, first)) = scaled_up
                .iter()
                .find(|(h, _)| same_component(h, &s.component))
            {
                s.at = Some(s.at.map_or(*first, |at| at.min(*first)));
            }
        }
    }
}

/// A shared callee's limit, tripped by one of its callers.
///
/// When several callers of one callee are refused for its rate limit (a
/// provider's 429 to every sender on the account), the limit was spent by
/// the caller whose calls to it dominate and whose own traffic rose: a
/// reminder burst of five times the usual sends, beside a sign-in service
/// sending what it always sends. The others' refusals are that burst's
/// doing: halved, and they fail through it.
pub(super) fn shared_limit(ctx: &mut Ctx<'_>, edges: &[Edge]) {
    let limited = |c: &str| {
        ctx.signals
            .iter()
            .any(|s| s.kind == "rate_limited" && s.weight >= 2.0 && same_component(&s.component, c))
    };
    let window = ctx.scope.window_secs.max(1) as f64;
    let rose = |c: &str| {
        ctx.health
            .iter()
            .find(|(name, _)| same_component(name, c))
            .is_some_and(|(_, h)| match h.calls {
                (Some(now), Some(before)) if before > 0.0 => now / window >= 1.5 * before / 3600.0,
                _ => false,
            })
    };
    let mut callees: Vec<&str> = edges.iter().map(|e| e.callee.as_str()).collect();
    callees.sort_unstable();
    callees.dedup();
    let mut victims: Vec<(String, String)> = Vec::new();
    for callee in callees {
        let callers: Vec<&Edge> = edges
            .iter()
            .filter(|e| e.callee == callee && e.errors > 0.0 && limited(&e.caller))
            .collect();
        if callers.len() < 2 {
            continue;
        }
        let Some(heavy) = callers.iter().max_by(|a, b| a.calls.total_cmp(&b.calls)) else {
            continue;
        };
        let dominates = callers
            .iter()
            .all(|e| e.caller == heavy.caller || heavy.calls >= 3.0 * e.calls);
        if dominates && rose(&heavy.caller) {
            for e in callers.iter().filter(|e| e.caller != heavy.caller) {
                victims.push((e.caller.clone(), heavy.caller.clone()));
            }
        }
    }
    for (victim, culprit) in victims {
        for s in ctx
            .signals
            .iter_mut()
            .filter(|s| s.kind == "rate_limited" && same_component(&s.component, &victim))
        {
            s.weight *= 0.5;
        }
        ctx.blames.entry(victim).or_insert(culprit);
    }
}

#[cfg(test)]
#[path = "combine_tests.rs"]
mod tests;
