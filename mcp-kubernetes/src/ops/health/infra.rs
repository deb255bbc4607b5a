//! Findings about what workloads run on and are reached through: Nodes (not ready, under
//! pressure, cordoned), pending PersistentVolumeClaims, and Services with no ready endpoint.
//! Apart from the controller checks because none of these objects owns pods.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, Finding, Severity, cond, push};
use crate::ops::pods;
use crate::value::{arr, map_pairs, message, name, namespace, opt_s, s, ts};

pub(super) fn pvc_findings(cx: &Ctx, o: &Value, out: &mut Vec<Finding>) {
    if s(o, "/status/phase") == "Pending" {
        let obj = format!("PersistentVolumeClaim/{}", name(o));
        let mut ev = vec![format!(
            "storageClass {}, requested {}",
            opt_s(o, "/spec/storageClassName").unwrap_or("<default>"),
            s(o, "/spec/resources/requests/storage")
        )];
        if let Some(e) = cx.events_of(namespace(o), &obj).first() {
            ev.push(format!(
                "{} ({}x): {}",
                e.reason,
                e.count,
                message(&e.message)
            ));
        }
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
        // when the last of its pods stopped being Ready (or, never Ready, was created).
        endpoints.changed(svc).or_else(|| {
            matching
                .iter()
                .filter_map(|p| {
                    cond(p, "Ready")
                        .filter(|c| s(c, "/status") != "True")
                        .and_then(|c| ts(c, "/lastTransitionTime"))
                        .or_else(|| ts(p, "/metadata/creationTimestamp"))
                })
                .max()
        }),
    );
}
