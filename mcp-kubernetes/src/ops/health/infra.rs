//! Findings about what workloads run on and are reached through: Nodes (not ready, under
//! pressure, cordoned), pending PersistentVolumeClaims, and Services with no ready endpoint.
//! Apart from the controller checks because none of these objects owns pods.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, Finding, Severity, cond, push};
use crate::ops::pods;
use crate::value::{arr, map_pairs, message, name, namespace, opt_s, s, ts};

/// Adds the newest event of `obj` (`Failed (9x): message`) to `ev`, unless a line there already
/// ends with its message (a condition that says the same).
fn push_newest_event(cx: &Ctx, o: &Value, obj: &str, ev: &mut Vec<String>) {
    if let Some(e) = cx.events_of(namespace(o), obj).first() {
        let said = message(&e.message);
        if !ev.iter().any(|l| l.ends_with(&said)) {
            ev.push(format!("{} ({}x): {said}", e.reason, e.count));
        }
    }
}

pub(super) fn pvc_findings(cx: &Ctx, o: &Value, out: &mut Vec<Finding>) {
    if s(o, "/status/phase") == "Pending" {
        let obj = format!("PersistentVolumeClaim/{}", name(o));
        let mut ev = vec![format!(
            "storageClass {}, requested {}",
            opt_s(o, "/spec/storageClassName").unwrap_or("<default>"),
            s(o, "/spec/resources/requests/storage")
        )];
        push_newest_event(cx, o, &obj, &mut ev);
        push(
            out,
            Severity::Warning,
            o,
            obj,
            "PVCPending",
            ev,
            crate::value::created(o),
        );
    }
}

/// A cert-manager Certificate past its `notAfter` (critical: whatever presents it fails every
/// TLS handshake) or not Ready (warning: issuance or renewal failing, with the days it has left).
pub(super) fn certificate_findings(cx: &Ctx, o: &Value, out: &mut Vec<Finding>) {
    let not_after = ts(o, "/status/notAfter");
    let ready = cond(o, "Ready");
    let expired = not_after.is_some_and(|t| t <= cx.now);
    let not_ready = ready.is_some_and(|c| s(c, "/status") == "False");
    if !expired && !not_ready {
        return;
    }
    let obj = format!("Certificate/{}", name(o));
    let mut ev = vec![match not_after {
        Some(t) if expired => format!(
            "notAfter {t} (expired {})",
            crate::value::ago(cx.now, Some(t))
        ),
        Some(t) => format!("notAfter {t} (in {})", crate::value::age(t, Some(cx.now))),
        None => "notAfter unknown (never issued)".to_string(),
    }];
    for c in arr(o, "/status/conditions") {
        if matches!(s(c, "/type"), "Ready" | "Issuing")
            && !(s(c, "/type") == "Ready" && s(c, "/status") == "True")
        {
            ev.push(format!(
                "{}={} {}: {}",
                s(c, "/type"),
                s(c, "/status"),
                s(c, "/reason"),
                message(s(c, "/message"))
            ));
        }
    }
    // What it covers: the names a client's TLS error will carry.
    let mut names: Vec<&str> = arr(o, "/spec/dnsNames")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if names.is_empty() {
        names.extend(opt_s(o, "/spec/commonName"));
    }
    ev.push(format!(
        "secret {}; issuer {}/{}; names {}",
        s(o, "/spec/secretName"),
        opt_s(o, "/spec/issuerRef/kind").unwrap_or("Issuer"),
        s(o, "/spec/issuerRef/name"),
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        }
    ));
    push_newest_event(cx, o, &obj, &mut ev);
    let (severity, reason, since) = if expired {
        (Severity::Critical, "CertificateExpired", not_after)
    } else {
        (
            Severity::Warning,
            "CertificateNotReady",
            ready.and_then(|c| ts(c, "/lastTransitionTime")),
        )
    };
    push(out, severity, o, obj, reason, ev, since);
}

/// An external-secrets ExternalSecret that is not Ready: the Secret it writes is stale (a
/// rotated password never reaches the pods) or missing. Warning, dated from the condition.
pub(super) fn external_secret_findings(cx: &Ctx, o: &Value, out: &mut Vec<Finding>) {
    let Some(c) = cond(o, "Ready").filter(|c| s(c, "/status") == "False") else {
        return;
    };
    let obj = format!("ExternalSecret/{}", name(o));
    let mut ev = vec![format!(
        "Ready=False {}: {}",
        s(c, "/reason"),
        message(s(c, "/message"))
    )];
    ev.push(format!(
        "target secret {}; store {}/{}; refresh every {}; last refreshed {}",
        opt_s(o, "/spec/target/name").unwrap_or(name(o)),
        opt_s(o, "/spec/secretStoreRef/kind").unwrap_or("SecretStore"),
        s(o, "/spec/secretStoreRef/name"),
        opt_s(o, "/spec/refreshInterval").unwrap_or("-"),
        crate::value::ago(cx.now, ts(o, "/status/refreshTime"))
    ));
    push_newest_event(cx, o, &obj, &mut ev);
    push(
        out,
        Severity::Warning,
        o,
        obj,
        "ExternalSecretNotSynced",
        ev,
        ts(c, "/lastTransitionTime"),
    );
}

pub(super) fn node_findings(o: &Value, out: &mut Vec<Finding>) {
    let obj = format!("Node/{}", name(o));
    match cond(o, "Ready") {
        Some(c) if s(c, "/status") != "True" => {
            let ev = vec![format!(
                "Ready={} {}: {}",
                s(c, "/status"),
                s(c, "/reason"),
                message(s(c, "/message"))
            )];
            push(
                out,
                Severity::Critical,
                o,
                obj.clone(),
                "NodeNotReady",
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
        _ => {}
    }
    for c in arr(o, "/status/conditions") {
        let ty = s(c, "/type");
        if (ty.ends_with("Pressure") || ty == "NetworkUnavailable") && s(c, "/status") == "True" {
            let ev = vec![format!("{ty}: {}", message(s(c, "/message")))];
            push(
                out,
                Severity::Warning,
                o,
                obj.clone(),
                ty,
                ev,
                ts(c, "/lastTransitionTime"),
            );
        }
    }
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        push(
            out,
            Severity::Info,
            o,
            obj,
            "Cordoned",
            vec!["spec.unschedulable=true".into()],
            None,
        );
    }
}

pub(super) fn service_findings(
    svc: &Value,
    endpoints: &crate::ops::endpoints::Index,
    pods_: &[Value],
    out: &mut Vec<Finding>,
) {
    use crate::ops::endpoints::Readiness;
    if !crate::ops::endpoints::has_selector(svc) {
        return;
    }
    // Without an Endpoints object or EndpointSlice the count is unknown, not zero (see
    // `ops::endpoints`); the report says so in a `skipped` line instead.
    let Readiness::Known {
        ready: 0,
        not_ready,
        source,
    } = endpoints.readiness(svc)
    else {
        return;
    };
    let selector = svc.pointer("/spec/selector").and_then(Value::as_object);
    let ns = namespace(svc);
    let sel = map_pairs(svc, "/spec/selector");
    let matching = pods_
        .iter()
        .filter(|p| namespace(p) == ns)
        .filter(|p| {
            selector.is_some_and(|m| {
                m.iter().all(|(k, v)| {
                    p.pointer(&format!(
                        "/metadata/labels/{}",
                        k.replace('~', "~0").replace('/', "~1")
                    )) == Some(v)
                })
            })
        })
        .collect::<Vec<_>>();
    // A Service whose only pod is Pending "matches 1 pods" yet has nothing to route to: say
    // how many of the matched pods are Ready, and what the others are doing.
    let ready_pods = matching
        .iter()
        .filter(|p| cond(p, "Ready").is_some_and(|c| s(c, "/status") == "True"))
        .count();
    let matched = match matching.len() {
        0 => "matches 0 pods".to_string(),
        1 => format!(
            "matches 1 pod ({}), {ready_pods} ready",
            pods::status(matching[0])
        ),
        n => {
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            for p in &matching {
                *states.entry(pods::status(p)).or_default() += 1;
            }
            let states: Vec<String> = states.iter().map(|(k, v)| format!("{v} {k}")).collect();
            format!(
                "matches {n} pods ({}), {ready_pods} ready",
                states.join(", ")
            )
        }
    };
    let from = if source == "Endpoints" {
        String::new()
    } else {
        format!(" (from {source})")
    };
    let ev = vec![format!(
        "selector {sel} {matched}; endpoints: 0 ready, {not_ready} not ready{from}"
    )];
    push(
        out,
        Severity::Critical,
        svc,
        format!("Service/{}", name(svc)),
        "NoReadyEndpoints",
        ev,
        // When the last endpoint went: the moment the Service stopped routing. Without the
        // endpoints controller's annotation (older clusters, dumps that dropped annotations),
        // and only when every pod behind it is still Pending (replaced, never started), when
        // the newest of them was created: its predecessor went then. A Running pod's Ready
        // transition is not used: dumps and hand-written snapshots often date it from the pod's
        // creation, months before the incident, which would make the Service look long dead.
        endpoints.changed(svc).or_else(|| {
            let pending = |p: &&&Value| s(p, "/status/phase") == "Pending";
            (!matching.is_empty() && matching.iter().all(|p| pending(&p)))
                .then(|| {
                    matching
                        .iter()
                        .filter_map(|p| crate::value::created(p))
                        .max()
                })
                .flatten()
        }),
    );
}
