//! Causes that explain what other components report.
//!
//! The ranking folds a consequence into its cause when both are about the
//! same component (an OOM kill explains that workload's crash loop). Some
//! causes sit on another component than the symptoms they explain, one step
//! along the cluster's graph:
//!
//! * a **NetworkPolicy** that selects a Service's pods and admits none of a
//!   caller's pods: the caller's `dial tcp …: i/o timeout` is not a dead
//!   dependency, the backend is up and the rule drops the packets (the
//!   collector's reading of the caller's errors finds the policy, see
//!   [`World::blocking_policy`]);
//! * a **node** that failed: the workloads whose pods ran on it become
//!   unreachable for their callers;
//! * a **noisy neighbour**, a pod without a CPU limit that saturates its
//!   node: the services beside it get slow without a word in their logs.
//!
//! In each case the victim's signals of what the cause makes it show
//! (`dependency_unreachable`, or `latency_regression` beside a neighbour) are
//! evidence against the cause and move to it. A weak copy stays with the victim: it
//! is still what the callers see, and an RCA should show it among the
//! alternatives.

use super::rules::{Signal, same_component};
use super::world::{World, selects};

use super::moves::LEFT_BEHIND;

/// Moves the victims' signals that a blocking policy, a failed node or a
/// noisy neighbour explains (see the module docs); returns (victim, cause)
/// for each move.
pub fn attribute(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    let mut moved: Vec<(String, String)> = Vec::new();
    let mut causes: Vec<(String, &'static str, Vec<String>, &'static str)> = Vec::new();
    // Egress policies: their victims are the callers, whose readiness
    // probes fail when they check what they can no longer reach.
    let mut egress: Vec<String> = Vec::new();
    for s in signals.iter() {
        match s.kind {
            "network_policy_blocked" => {
                if let Some(policy) = world.policies.iter().find(|p| p.name == s.component) {
                    if policy.egress_restricted && !policy.ingress_restricted {
                        egress.push(policy.name.clone());
                    }
                    let pods: Vec<&super::world::Pod> = world
                        .pods
                        .iter()
                        .filter(|p| {
                            p.namespace == policy.namespace
                                && selects(&policy.pod_selector, &p.labels)
                        })
                        .collect();
                    let mut victims: Vec<String> = pods.iter().map(|p| p.owner.clone()).collect();
                    // The Services in front of those pods are named in errors too.
                    victims.extend(
                        world
                            .services
                            .iter()
                            .filter(|svc| {
                                svc.namespace == policy.namespace
                                    && world
                                        .backends(svc)
                                        .any(|b| selects(&policy.pod_selector, &b.labels))
                            })
                            .map(|svc| svc.name.clone()),
                    );
                    causes.push((
                        policy.name.clone(),
                        "network_policy_blocked",
                        victims,
                        "blocked by NetworkPolicy",
                    ));
                }
            }
            // A pod without a CPU limit that saturates its node starves
            // whatever runs beside it.
            "noisy_neighbor" => {
                let nodes: Vec<&str> = world
                    .pods
                    .iter()
                    .filter(|p| same_component(&p.owner, &s.component))
                    .filter_map(|p| p.node.as_deref())
                    .collect();
                let victims: Vec<String> = world
                    .pods
                    .iter()
                    .filter(|p| {
                        !same_component(&p.owner, &s.component)
                            && p.node.as_deref().is_some_and(|n| nodes.contains(&n))
                    })
                    .map(|p| p.owner.clone())
                    .collect();
                causes.push((
                    s.component.clone(),
                    "noisy_neighbor",
                    victims,
                    "shares a node with",
                ));
            }
            // Only a node that stopped serving its pods makes them
            // unreachable: memory or disk pressure alone does not.
            "node_failure" if s.weight >= 2.0 || s.detail.contains("NotReady") => {
                let victims: Vec<String> = world
                    .pods
                    .iter()
                    .filter(|p| p.node.as_deref() == Some(s.component.as_str()))
                    .map(|p| p.owner.clone())
                    .collect();
                causes.push((
                    s.component.clone(),
                    "node_failure",
                    victims,
                    "runs on failed node",
                ));
            }
            _ => {}
        }
    }
    let mut left: Vec<Signal> = Vec::new();
    for (cause, kind, mut victims, why) in causes {
        victims.sort();
        victims.dedup();
        // What the cause makes its victims show. Beside a neighbour that
        // takes the node's CPU, a probe that gets no answer in time is the
        // same starvation as the latency (the kubelet's `context deadline
        // exceeded`); one answered with an error is not.
        // Only probes that began failing after the neighbour's pod started:
        // a starvation cannot come before the pod that starves the node.
        let started = world
            .pods
            .iter()
            .filter(|p| same_component(&p.owner, &cause))
            .filter_map(|p| p.created)
            .min();
        let after_start =
            |s: &Signal| matches!((started, s.at), (Some(start), Some(at)) if at >= start);
        let starved_probe = |s: &Signal| {
            s.kind == "probe_failing"
                && super::combine::probe_timed_out(&s.detail)
                && after_start(s)
        };
        // The kubelet's kill for a failed liveness probe follows the
        // probe: a victim whose probe went unanswered for want of CPU is
        // restarted for the same starvation.
        let starved: Vec<String> = signals
            .iter()
            .filter(|s| starved_probe(s))
            .map(|s| s.component.clone())
            .collect();
        let shown = |s: &Signal| match kind {
            "noisy_neighbor" => {
                s.kind == "latency_regression"
                    || starved_probe(s)
                    || (s.kind == "probe_failing"
                        && after_start(s)
                        && starved.iter().any(|c| same_component(c, &s.component))
                        && super::combine::killed_for_probe(&s.detail))
            }
            "network_policy_blocked" if egress.contains(&cause) => {
                matches!(s.kind, "dependency_unreachable" | "probe_failing")
            }
            // The replacements of a failed node's pods fail their
            // readiness probes while they start elsewhere, or find no room
            // left without it.
            "node_failure" => matches!(
                s.kind,
                "dependency_unreachable" | "probe_failing" | "unschedulable"
            ),
            _ => s.kind == "dependency_unreachable",
        };
        for s in signals
            .iter_mut()
            .filter(|s| shown(s) && victims.iter().any(|v| same_component(v, &s.component)))
        {
            let mut stays = s.clone();
            stays.weight *= LEFT_BEHIND;
            left.push(stays);
            let pair = (s.component.clone(), cause.clone());
            if !moved.contains(&pair) {
                moved.push(pair);
            }
            s.detail = format!("{} {why} {cause}: {}", s.component, s.detail);
            s.component = cause.clone();
            s.kind = kind;
        }
    }
    signals.extend(left);
    for pair in certificates(signals, world) {
        if !moved.contains(&pair) {
            moved.push(pair);
        }
    }
    moved
}

/// A NetworkPolicy that restricts egress, created within the incident's
/// horizon, selecting pods whose calls began to fail to connect: a change
/// to what they may reach, just before they could not reach it. Callers'
/// errors often name no peer (`HttpClient.Timeout of 10 seconds
/// elapsing`, `Timeout connecting to server`), so the step is taken on
/// timing and selection, not on the destination; when a destination is
/// known, [`World::blocking_policy`] decides instead. Of several new
/// policies selecting the same pods, the most restrictive (fewest `to`
/// rules: a default deny has none) is the change that matters.
pub fn new_egress_policies(
    signals: &[Signal],
    world: &World,
    horizon: jiff::Timestamp,
) -> Vec<Signal> {
    let failing = |owner: &str| {
        signals.iter().find(|s| {
            s.kind == "dependency_unreachable"
                && s.weight >= 1.0
                && same_component(&s.component, owner)
        })
    };
    let mut found: Vec<(&super::world::Policy, Vec<String>, String)> = Vec::new();
    for policy in world
        .policies
        .iter()
        .filter(|p| p.egress_restricted && p.created.is_some_and(|c| c >= horizon))
    {
        let mut clients: Vec<String> = Vec::new();
        let mut example = String::new();
        for pod in world
            .pods
            .iter()
            .filter(|p| p.namespace == policy.namespace && selects(&policy.pod_selector, &p.labels))
        {
            if clients.contains(&pod.owner) {
                continue;
            }
            if let Some(s) = failing(&pod.owner) {
                // The change precedes the failures it explains.
                if let (Some(at), Some(created)) = (s.at, policy.created)
                    && at < created
                {
                    continue;
                }
                if example.is_empty() {
                    example = s.detail.clone();
                }
                clients.push(pod.owner.clone());
            }
        }
        if !clients.is_empty() {
            found.push((policy, clients, example));
        }
    }
    // The most restrictive of the policies that select the same clients.
    found.sort_by_key(|(p, clients, _)| {
        (std::cmp::Reverse(clients.len()), p.to.len(), p.name.clone())
    });
    let mut covered: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (policy, clients, example) in found {
        if clients.iter().all(|c| covered.contains(c)) {
            continue;
        }
        covered.extend(clients.iter().cloned());
        out.push(Signal {
            component: policy.name.clone(),
            kind: "network_policy_blocked",
            weight: 4.0 + clients.len().min(4) as f64 * 0.5,
            source: "k8s.networkpolicies".into(),
            detail: format!(
                "NetworkPolicy {}/{} restricts egress ({} to-rules), created at {}, and selects {} whose calls fail to connect: {}",
                policy.namespace,
                policy.name,
                policy.to.len(),
                policy.created.map(|t| t.to_string()).unwrap_or_default(),
                clients.join(", "),
                example
            ),
            at: policy.created,
        });
    }
    out
}

/// A mesh AuthorizationPolicy created within the incident's horizon that
/// guards the pods of a component its callers are now refused by (`403
/// RBAC: access denied`): the change that refuses them. The sidecar
/// answers for the policy, so the callee's own logs show nothing; the
/// policy takes the refusals.
pub fn new_mesh_policies(signals: &mut Vec<Signal>, world: &World, horizon: jiff::Timestamp) {
    let mut found: Vec<(String, String, Option<jiff::Timestamp>)> = Vec::new();
    for policy in world
        .authz
        .iter()
        .filter(|p| p.action != "AUDIT" && p.created.is_some_and(|c| c >= horizon))
    {
        let guarded: Vec<&str> = world
            .pods
            .iter()
            .filter(|p| p.namespace == policy.namespace && selects(&policy.selector, &p.labels))
            .map(|p| p.owner.as_str())
            .collect();
        let refused = signals.iter().find(|s| {
            s.kind == "authorization_denied"
                && s.weight >= 1.0
                && guarded.iter().any(|g| same_component(g, &s.component))
        });
        if let Some(s) = refused
            && !found
                .iter()
                .any(|(_, c, _)| same_component(c, &s.component))
        {
            found.push((policy.name.clone(), s.component.clone(), policy.created));
        }
    }
    for (policy, callee, created) in found {
        super::moves::move_signals(
            signals,
            &policy,
            |_, s| s.kind == "authorization_denied" && same_component(&s.component, &callee),
            |s| {
                format!(
                    "{callee} is guarded by AuthorizationPolicy {policy}: {}",
                    s.detail
                )
            },
        );
        signals.push(Signal {
            component: policy.clone(),
            kind: "authorization_denied",
            weight: 4.0,
            source: "k8s.authorizationpolicies".into(),
            detail: format!(
                "AuthorizationPolicy {policy}, created at {}, guards {callee}, whose callers are refused",
                created.map(|t| t.to_string()).unwrap_or_default()
            ),
            at: created,
        });
    }
}

/// The Certificates that have expired by `now`, as evidence against
/// themselves (what they serve is found by `certificates`). One that is
/// merely failing to renew is still valid: not a cause of today's errors.
///
/// A Certificate covering the host of the alert's own endpoint
/// (`alert_hosts`: a blackbox probe's `https://` target) weighs more: the
/// probe that paged fails on it, whatever else is wrong in the cluster. So
/// does one covering a host whose Ingress routes to the alert's service
/// (`fronting`): the requests the paged service stopped getting come
/// through it.
pub fn expired_certificates(
    world: &World,
    now: jiff::Timestamp,
    alert_hosts: &[String],
    fronting: &[String],
) -> Vec<Signal> {
    let own: Vec<&str> = alert_hosts
        .iter()
        .filter_map(|h| covering_certificate(h, world))
        .collect();
    let in_front: Vec<&str> = fronting
        .iter()
        .filter_map(|h| covering_certificate(h, world))
        .collect();
    world
        .certificates
        .iter()
        .filter(|c| c.not_after.is_some_and(|t| t <= now))
        .map(|c| Signal {
            component: c.name.clone(),
            kind: "certificate_expired",
            weight: if own.contains(&c.name.as_str()) || in_front.contains(&c.name.as_str()) {
                8.0
            } else {
                5.0
            },
            source: "k8s.certificates".into(),
            detail: format!(
                "Certificate {}/{} (for {}{}) expired at {}{}",
                c.namespace,
                c.name,
                if c.dns_names.is_empty() {
                    "no DNS name".to_string()
                } else {
                    c.dns_names.join(", ")
                },
                if own.contains(&c.name.as_str()) {
                    ", the alert's own endpoint"
                } else if in_front.contains(&c.name.as_str()) {
                    ", the Ingress host in front of the alert's service"
                } else {
                    ""
                },
                c.not_after.map(|t| t.to_string()).unwrap_or_default(),
                c.not_ready
                    .as_ref()
                    .map(|r| format!("; {r}"))
                    .unwrap_or_default()
            ),
            at: c.not_after,
        })
        .collect()
}

/// The one Certificate that expired during the incident, when the
/// workloads reporting expired-certificate errors could not be tied to
/// any presenter (no Certificate belongs to a workload read, as when a
/// gateway that presents it relays the error in a 502 to a caller that
/// names neither): the errors began as it expired, so they are its. Their
/// signals move to it, a weak copy staying with each reporter; returns
/// (reporter, certificate) for each move.
///
/// "During the incident" is the window, or the day before the reporters'
/// first dated failure: a client that runs from time to time (a CronJob
/// every quarter hour, a nightly batch) first fails on its next run after
/// the expiry, which may be before the window opens.
///
/// A reporter is a workload of the cluster read, or a service whose spans
/// were read (`measured`: its namespace may not have been listed); a peer
/// host named in an error is not.
pub fn certificate_in_incident(
    signals: &mut Vec<Signal>,
    world: &World,
    measured: &[String],
    horizon: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Vec<(String, String)> {
    let is_workload =
        |c: &str| world.component_names().any(|k| k == c) || measured.iter().any(|m| m == c);
    // Already tied to a presenter (see `certificates`): nothing to add.
    if signals
        .iter()
        .any(|s| s.kind == "certificate_expired" && s.detail.contains("whose certificate failed"))
    {
        return Vec::new();
    }
    // The reporters' first dated failure, of any kind: a log line may carry
    // no time its reader knows, while the Job it failed is dated.
    let reporters: Vec<&str> = signals
        .iter()
        .filter(|s| s.kind == "certificate_expired" && s.weight > 0.0 && is_workload(&s.component))
        .map(|s| s.component.as_str())
        .collect();
    let first_failure = signals
        .iter()
        .filter(|s| reporters.iter().any(|r| same_component(r, &s.component)))
        .filter_map(|s| s.at)
        .min();
    let before_first_failure = |t: jiff::Timestamp| {
        first_failure
            .is_some_and(|f| t <= f && f.duration_since(t) <= jiff::SignedDuration::from_hours(24))
    };
    let recent: Vec<&str> = world
        .certificates
        .iter()
        .filter(|c| {
            c.not_after
                .is_some_and(|t| t <= now && (t >= horizon || before_first_failure(t)))
        })
        .map(|c| c.name.as_str())
        .collect();
    let [certificate] = recent.as_slice() else {
        return Vec::new();
    };
    let certificate = certificate.to_string();
    // Expired before the window, the presenter's own account of its
    // certificate is already where it belongs (`certificates` named it):
    // only its clients' failures, which began after the expiry, move.
    let in_window = world
        .certificates
        .iter()
        .any(|c| c.name == certificate && c.not_after.is_some_and(|t| t >= horizon));
    let presenter = certificate_owner(&certificate, world).filter(|_| !in_window);
    super::moves::move_signals(
        signals,
        &certificate,
        |_, s| {
            s.kind == "certificate_expired"
                && s.weight > 0.0
                && is_workload(&s.component)
                && presenter.as_deref() != Some(s.component.as_str())
        },
        |s| {
            format!(
                "Certificate {certificate} expired, the one in the incident, and {} reports an expired certificate: {}",
                s.component, s.detail
            )
        },
    )
}

/// What a cert-manager Certificate serves: the workload behind the Service
/// its DNS names resolve to (the Service when several are), else the
/// workload or Service it is named after
/// (`session-allocator-tls`), when the cluster has one.
fn certificate_owner(name: &str, world: &World) -> Option<String> {
    let served = world
        .certificates
        .iter()
        .filter(|c| c.name == name)
        .flat_map(|c| c.dns_names.iter())
        .find_map(|dns| match world.resolve(dns) {
            // What presents it is the workload behind the Service (a
            // Service `s3` in front of Deployment `s3-gateway`).
            Some((Some(svc), _)) => {
                let mut owners: Vec<&str> = world.backends(svc).map(|p| p.owner.as_str()).collect();
                owners.sort_unstable();
                owners.dedup();
                match owners.as_slice() {
                    [owner] => Some((*owner).to_string()),
                    _ => Some(svc.name.clone()),
                }
            }
            _ => None,
        });
    if served.is_some() {
        return served;
    }
    let stem = [
        "-server-tls",
        "-mtls",
        "-tls",
        "-certificate",
        "-cert",
        "-crt",
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))?;
    world
        .component_names()
        .find(|k| *k == stem)
        .map(str::to_string)
}

/// The Certificate whose DNS names cover `host` (exactly, or by a
/// `*.` wildcard one label deep); of several, the one that expires first
/// (a renewed copy beside a failing one is not what failed).
fn covering_certificate<'w>(host: &str, world: &'w World) -> Option<&'w str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let covers = |dns: &str| {
        let dns = dns.trim_end_matches('.').to_ascii_lowercase();
        match dns.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
            None => dns == host,
        }
    };
    world
        .certificates
        .iter()
        .filter(|c| c.dns_names.iter().any(|d| covers(d)))
        .min_by_key(|c| c.not_after)
        .map(|c| c.name.as_str())
}

/// An expired certificate is the failure of what presents it. A client's
/// handshake error often names no host (`transport: authentication
/// handshake failed: x509: certificate has expired`); when the cluster's
/// failing Certificates belong to exactly one workload, that is the peer
/// the clients' TLS failures are about. Returns (client, owner) for each
/// client whose failures moved.
fn certificates(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    let is_workload = |c: &str| world.component_names().any(|k| k == c);
    // What cert-manager reported on an expired Certificate (or on one of
    // its CertificateRequests, `NAME-<revision>`) says why it was not
    // renewed: the same cause.
    let expired = |component: &str| {
        world.certificates.iter().any(|c| {
            c.not_after.is_some()
                && c.not_ready.is_some()
                && (component == c.name
                    || component
                        .strip_prefix(c.name.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        })
    };
    let mut owners: Vec<String> = Vec::new();
    for s in signals.iter_mut().filter(|s| {
        !is_workload(&s.component) && (s.kind == "certificate_expired" || expired(&s.component))
    }) {
        let named = world
            .certificates
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| s.component.starts_with(c))
            .max_by_key(|c| c.len());
        // A host name the clients failed on (`https://api.example.com/…`)
        // is served with the Certificate whose DNS names cover it.
        let certificate = named
            .or_else(|| covering_certificate(&s.component, world))
            .unwrap_or(&s.component)
            .to_string();
        if let Some(owner) = certificate_owner(&certificate, world) {
            s.detail = format!("Certificate {} serves {owner}: {}", s.component, s.detail);
            s.component = owner.clone();
            if s.kind != "certificate_expired" {
                // Why it was not renewed, not when it failed: that is
                // its expiry, and weeks of failed renewals must not make
                // the cause look older than the incident.
                s.kind = "certificate_expired";
                s.at = None;
            }
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        } else if certificate != s.component {
            // Nothing in the cluster read serves it (an Ingress or a load
            // balancer does): the Certificate is what to renew.
            s.detail = format!(
                "Certificate {certificate} covers {}: {}",
                s.component, s.detail
            );
            s.component = certificate;
        }
    }
    let [owner] = owners.as_slice() else {
        return Vec::new();
    };
    super::moves::move_signals(
        signals,
        owner,
        |_, s| {
            s.kind == "certificate_expired"
                && !same_component(&s.component, owner)
                && is_workload(&s.component)
        },
        |s| {
            format!(
                "{} calls {owner}, whose certificate failed: {}",
                s.component, s.detail
            )
        },
    )
}

#[cfg(test)]
#[path = "across_tests.rs"]
mod tests;
