//! Network-side faults: unreachable dependencies, TLS, credentials, network
//! policies, rate limits and authorisation denials.

use serde_json::json;

use super::super::incident::{Ctx, Effect, Symptom};
use super::super::surface::{Failure, iso};
use super::super::world::{Engine, Role};
use super::{app, blame, calls_from_fail, certificate, http_date, scaling_event, told};

/// A callee with HTTP callers (or a store with users).
fn called(ctx: &mut Ctx, stores: bool) -> Option<usize> {
    let c: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| {
            let w = &ctx.w.workloads[i];
            (w.role == Role::Api
                || (stores
                    && matches!(
                        w.role,
                        Role::Store(Engine::Postgres | Engine::Redis | Engine::Mongo)
                    )))
                && !ctx.w.callers_of(i).is_empty()
        })
        .collect();
    if c.is_empty() {
        None
    } else {
        Some(c[ctx.rng.below(c.len())])
    }
}

fn caller_for_symptom(ctx: &mut Ctx, wi: usize) -> Option<usize> {
    let users: Vec<usize> = ctx
        .w
        .callers_of(wi)
        .into_iter()
        .filter(|&c| ctx.w.workloads[c].is_http() || ctx.w.workloads[c].role == Role::Worker)
        .collect();
    if users.is_empty() {
        None
    } else {
        Some(users[ctx.rng.below(users.len())])
    }
}

/// A policy cuts `blocked` off from `wi`: all their calls fail after `ms`
/// with `failure()`, and the errors show at the first HTTP caller among them
/// (else the first).
fn cut_off(ctx: &mut Ctx, wi: usize, blocked: &[usize], ms: f64, failure: impl Fn() -> Failure) {
    calls_from_fail(ctx, blocked, wi, 1.0, ms, failure);
    let sym = blocked
        .iter()
        .copied()
        .find(|&c| ctx.w.workloads[c].is_http())
        .or(blocked.first().copied());
    ctx.inc.symptom = sym.map(|c| (c, Symptom::Errors));
}

/// A dependency has no endpoints (selector mismatch, scaled to zero, or the
/// Service deleted).
pub fn dependency_unreachable(ctx: &mut Ctx) -> Option<()> {
    let wi = called(ctx, true)?;
    let (name, ns) = ctx.names(wi);
    let is_store = matches!(ctx.w.workloads[wi].role, Role::Store(_));
    let variant = if is_store { 1 } else { ctx.rng.below(3) };
    let ip = ctx.w.workloads[wi]
        .cluster_ip
        .clone()
        .unwrap_or_else(|| "10.96.0.1".into());
    let port = if is_store {
        ctx.w.workloads[wi].port
    } else {
        80
    };
    let failure;
    match variant {
        0 => {
            // The Service's selector was changed and matches no pod.
            let sel = ctx
                .rng
                .pick(&["app.kubernetes.io/name", "component", "app"])
                .to_string();
            let val = format!("{name}-{}", ctx.rng.pick(&["api", "v2", "server"]));
            ctx.w.workloads[wi].selector = Some((sel, val));
            failure = Failure::Refused {
                host: name.clone(),
                ip,
                port,
            };
        }
        1 => {
            // Scaled to zero (by hand or a bad automation).
            let old = ctx.w.workloads[wi].replicas;
            ctx.w.workloads[wi].replicas = 0;
            let age = ctx.age();
            let gone: Vec<_> = ctx.w.workloads[wi].pods.drain(..).collect();
            for p in gone {
                ctx.w.workloads[wi].past.push((p, age));
            }
            if is_store {
                for k in (0..old).rev() {
                    ctx.event(
                        &ns,
                        "StatefulSet",
                        &name,
                        "Normal",
                        "SuccessfulDelete",
                        format!("delete Pod {name}-{k} in StatefulSet {name} successful"),
                        1,
                        age,
                        age,
                        "statefulset-controller",
                    );
                }
            } else {
                let hash = ctx.w.workloads[wi].current().hash.clone();
                let message = format!("Scaled down replica set {name}-{hash} to 0 from {old}");
                scaling_event(ctx, &ns, &name, message, age);
            }
            failure = Failure::Refused {
                host: name.clone(),
                ip,
                port,
            };
        }
        _ => {
            // The Service was deleted: the name no longer resolves.
            ctx.w.workloads[wi].service = false;
            failure = Failure::Dns { host: name.clone() };
        }
    }
    ctx.effect(Effect::Call {
        caller: None,
        callee: wi,
        rate: 1.0,
        ms: if variant == 2 { 3.0 } else { 1.0 },
        failure,
    });
    let c = caller_for_symptom(ctx, wi);
    ctx.inc.symptom = c.map(|c| (c, Symptom::Errors));
    blame(ctx, wi);
    ctx.inc.aliases.push(format!("service/{name}"));
    ctx.inc.summary = match variant {
        0 => format!(
            "The Service {name}'s selector was changed and matches none of its pods; it has no endpoints and callers get connection refused."
        ),
        1 => format!(
            "{name} was scaled to zero replicas; its Service has no endpoints and callers get connection refused."
        ),
        _ => {
            format!("The Service {name} was deleted; its name no longer resolves and callers fail.")
        }
    };
    ctx.inc.title = format!("{name} unreachable");
    if variant == 2 {
        ctx.inc
            .aliases
            .push(format!("{name}.{ns}.svc.cluster.local"));
    }
    Some(())
}

/// A dependency's serving certificate expired.
pub fn certificate_expired(ctx: &mut Ctx) -> Option<()> {
    let wi = called(ctx, false)?;
    let (name, ns) = ctx.names(wi);
    let cert = format!("{name}-tls");
    let not_after = ctx.onset;
    let now = ctx.w.now;
    let host = format!("{name}.{ns}.svc");
    ctx.inc.objects.push(certificate(
        &ns,
        &cert,
        &host,
        not_after,
        false,
        &format!("Certificate expired on {}", http_date(not_after)),
        now,
    ));
    let renew = not_after - 15 * 86_400;
    let why = ctx.rng.pick(&[
        "Failed to wait for order resource to become ready: order is in \"errored\" state: Failed to finalize Order: 403 urn:ietf:params:acme:error:unauthorized".to_string(),
        "The certificate request has failed to complete and will be retried: issuer internal-ca is not ready: secret \"internal-ca-key-pair\" not found".to_string(),
        "Vault failed to sign certificate: Error making API request. Code: 403. Errors: * permission denied".to_string(),
    ]).clone();
    ctx.event(
        &ns,
        "Certificate",
        &cert,
        "Warning",
        "Failed",
        why,
        ((now - renew) / 3600) as u32,
        now - renew,
        ctx.rng.range(600, 3000),
        "cert-manager-certificates-issuing",
    );
    let f = Failure::TlsExpired {
        host: host.clone(),
        not_after: iso(not_after),
        now: iso(now - 30),
    };
    ctx.effect(Effect::Call {
        caller: None,
        callee: wi,
        rate: 1.0,
        ms: 4.0,
        failure: f,
    });
    let c = caller_for_symptom(ctx, wi);
    ctx.inc.symptom = c.map(|c| (c, Symptom::Errors));
    blame(ctx, wi);
    ctx.inc
        .aliases
        .extend([cert.clone(), format!("certificate/{cert}")]);
    let title = format!("TLS failures calling {name}");
    let summary = format!(
        "{name}'s serving certificate {cert} expired at {} (its renewal had been failing); callers fail the TLS handshake.",
        iso(not_after)
    );
    told(ctx, title, summary)
}

/// The credentials a service uses for its store were rotated on one side
/// only.
pub fn credentials_expired(ctx: &mut Ctx) -> Option<()> {
    let users: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| {
            !ctx.w.workloads[i].stores.is_empty()
                && ctx.w.workloads[i].controller == super::super::world::Controller::Deployment
        })
        .collect();
    let &wi = users.get(ctx.rng.below(users.len().max(1)))?;
    let (name, ns) = ctx.names(wi);
    let (si, _) = ctx.w.workloads[wi].stores[0].clone();
    let Role::Store(engine) = ctx.w.workloads[si].role else {
        return None;
    };
    let store = ctx.w.workloads[si].name.clone();
    let secret = ctx.w.workloads[wi]
        .secret
        .clone()
        .unwrap_or_else(|| format!("{name}-db"));
    let user = name.replace('-', "_");
    let f = Failure::AuthFailed {
        engine,
        user,
        host: store.clone(),
    };
    // Pools recycle their connections over ~10 minutes: errors grow.
    ctx.full = ctx.onset + ctx.rng.range(240, 900);
    ctx.effect(Effect::Call {
        caller: Some(wi),
        callee: si,
        rate: 0.9,
        ms: 12.0,
        failure: f,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    if engine == Engine::Postgres {
        // The database logs the rejections.
        let lines: Vec<(i64, String)> = (0..12)
            .map(|k| {
                let t = (ctx.w.now - ctx.ago(k as f64 / 12.0)) * 1_000_000_000;
                (
                    t,
                    format!(
                        "{} UTC [{}] FATAL:  password authentication failed for user \"{}\"",
                        super::super::surface::iso_ms(t)
                            .replace('T', " ")
                            .trim_end_matches('Z'),
                        3000 + k * 7,
                        name.replace('-', "_")
                    ),
                )
            })
            .collect();
        if !ctx.w.workloads[si].pods.is_empty() {
            ctx.log(si, 0, false, lines);
        }
    }
    blame(ctx, wi);
    ctx.inc
        .aliases
        .extend([secret.clone(), format!("secret/{secret}"), store.clone()]);
    ctx.inc.summary = format!(
        "The password for {name}'s {} user was rotated on {store}, but Secret {secret} still holds the old one; new connections are rejected.",
        engine.system()
    );
    ctx.inc.title = format!("{name} cannot authenticate to {store}");
    let _ = ns;
    Some(())
}

/// A new NetworkPolicy drops traffic from some callers.
pub fn network_policy_blocked(ctx: &mut Ctx) -> Option<()> {
    let wi = called(ctx, true)?;
    let (name, ns) = ctx.names(wi);
    let port = ctx.w.workloads[wi].port;
    let callers = ctx.w.callers_of(wi);
    let policy = ctx
        .rng
        .pick(&[
            format!("{name}-ingress"),
            "default-deny-ingress".to_string(),
            format!("allow-{name}-from-gateway"),
            format!("restrict-{name}"),
        ])
        .clone();
    let default_deny = policy == "default-deny-ingress";
    // The policy allows one caller (or, deny-all, none); the others drop.
    let allowed = if default_deny || callers.len() < 2 {
        None
    } else {
        callers.first().copied()
    };
    let allow_from = allowed
        .map(|a| ctx.w.workloads[a].name.clone())
        .unwrap_or_else(|| "ingress-nginx".into());
    let allow_ns = allowed
        .map(|a| ctx.w.workloads[a].ns.clone())
        .unwrap_or_else(|| "ingress-nginx".into());
    let blocked: Vec<usize> = callers
        .iter()
        .copied()
        .filter(|c| Some(*c) != allowed)
        .collect();
    let spec = if default_deny {
        json!({"podSelector": {}, "policyTypes": ["Ingress"]})
    } else {
        json!({"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"],
               "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": allow_ns}}, "podSelector": {"matchLabels": {"app": allow_from}}}], "ports": [{"protocol": "TCP", "port": port}]}]})
    };
    ctx.inc.objects.push(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": policy, "namespace": ns, "creationTimestamp": iso(ctx.onset - ctx.rng.range(5, 60)), "generation": 1,
                     "annotations": {"meta.helm.sh/release-name": format!("{ns}-policies")}},
        "spec": spec
    }));
    let ip = ctx.w.workloads[wi]
        .cluster_ip
        .clone()
        .unwrap_or_else(|| "10.96.0.1".into());
    cut_off(ctx, wi, &blocked, 10_000.0, || Failure::ConnectTimeout {
        host: name.clone(),
        ip: ip.clone(),
        port,
    });
    blame(ctx, wi);
    ctx.inc
        .aliases
        .extend([policy.clone(), format!("networkpolicy/{policy}")]);
    let title = format!("calls to {name} time out");
    let summary = format!(
        "NetworkPolicy {policy}, created in {ns} at the onset, drops connections to {name} from its other callers; their calls time out."
    );
    told(ctx, title, summary)
}

/// A third-party API rate-limits a service.
pub fn rate_limited(ctx: &mut Ctx) -> Option<()> {
    let cands: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| ctx.w.workloads[i].external.is_some())
        .collect();
    let wi = match cands.get(ctx.rng.below(cands.len().max(1))) {
        Some(&w) => w,
        None => {
            let w = app(ctx, true)?;
            if ctx.w.workloads[w].role != Role::Api {
                return None;
            }
            let host = ctx.rng.pick(ctx.w.domain.externals).to_string();
            ctx.w.workloads[w].external = Some(host);
            w
        }
    };
    let name = ctx.w.workloads[wi].name.clone();
    let host = ctx.w.workloads[wi].external.clone().unwrap_or_default();
    let retry = ctx.rng.range(1, 60) as u32;
    let mult = ctx.rng.uniform(1.5, 3.0);
    ctx.effect(Effect::Traffic { mult });
    ctx.effect(Effect::External {
        wi,
        rate: 0.6,
        ms: 40.0,
        failure: Failure::RateLimited {
            host: host.clone(),
            retry_after: retry,
        },
    });
    ctx.gauge(super::super::incident::Gauge {
        wi,
        name: "http.client.request.count.429".into(),
        unit: "{request}".into(),
        desc: "Responses 429 from upstream APIs".into(),
        attrs: vec![("server.address".into(), host.clone())],
        base: 0.0,
        peak: 40.0,
        int: true,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, wi);
    ctx.inc.aliases.push(host.clone());
    let title = format!("{name} rate-limited by {host}");
    let summary = format!(
        "{name}'s calls to {host} rose {mult:.1}x and the provider answers 429 Too Many Requests (Retry-After {retry}s)."
    );
    told(ctx, title, summary)
}

/// A new Istio AuthorizationPolicy denies some callers.
pub fn authorization_denied(ctx: &mut Ctx) -> Option<()> {
    let wi = called(ctx, false)?;
    let (name, ns) = ctx.names(wi);
    let callers = ctx.w.callers_of(wi);
    let policy = ctx
        .rng
        .pick(&[
            format!("{name}-authz"),
            format!("{name}-allow-list"),
            "require-jwt".to_string(),
        ])
        .clone();
    let allowed = callers
        .first()
        .map(|&c| {
            (
                ctx.w.workloads[c].name.clone(),
                ctx.w.workloads[c].ns.clone(),
            )
        })
        .unwrap_or(("ingress".into(), "istio-system".into()));
    ctx.inc.objects.push(json!({
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": policy, "namespace": ns, "creationTimestamp": iso(ctx.onset - ctx.rng.range(5, 60)), "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": name}}, "action": "ALLOW",
                 "rules": [{"from": [{"source": {"principals": [format!("cluster.local/ns/{}/sa/{}", allowed.1, allowed.0)]}}]}]}
    }));
    ctx.inc.objects.push(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "authorizationpolicies.security.istio.io", "creationTimestamp": iso(ctx.w.now - 300 * 86_400)},
        "spec": {"group": "security.istio.io", "scope": "Namespaced", "names": {"plural": "authorizationpolicies", "singular": "authorizationpolicy", "kind": "AuthorizationPolicy", "listKind": "AuthorizationPolicyList"},
                 "versions": [{"name": "v1", "served": true, "storage": true}]}
    }));
    let blocked: Vec<usize> = callers
        .iter()
        .copied()
        .skip(if callers.len() > 1 { 1 } else { 0 })
        .collect();
    cut_off(ctx, wi, &blocked, 2.0, || Failure::Forbidden {
        host: name.clone(),
    });
    blame(ctx, wi);
    ctx.inc
        .aliases
        .extend([policy.clone(), format!("authorizationpolicy/{policy}")]);
    let title = format!("403s calling {name}");
    let summary = format!(
        "AuthorizationPolicy {policy} on {name}, applied at the onset, only allows {}; the sidecar answers 403 RBAC: access denied to its other callers.",
        allowed.0
    );
    told(ctx, title, summary)
}
