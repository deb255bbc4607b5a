//! The sections of the other kinds `describe` knows: a Service with its endpoints, a Node
//! with capacity, taints and its pods, a Job, a ResourceQuota and a HorizontalPodAutoscaler,
//! each showing what `kubectl describe` shows for that kind. One short function per kind.

use jiff::Timestamp;
use serde_json::Value;

use super::pods_summary;
use crate::error::K8sError;
use crate::ops::{detail, endpoints};
use crate::target::{Target, kinds};
use crate::value::{Table, ago, arr, clip, i, map_pairs, name, namespace, opt_i, opt_s, s, ts};

pub(super) async fn service_section(t: &Target, svc: &Value) -> String {
    let ports: Vec<String> = arr(svc, "/spec/ports")
        .iter()
        .map(|p| {
            format!(
                "{}{}/{}→{}",
                opt_s(p, "/name")
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                i(p, "/port"),
                s(p, "/protocol"),
                p.get("targetPort")
                    .map(|x| x.to_string().trim_matches('"').to_string())
                    .unwrap_or_default()
            )
        })
        .collect();
    let mut out = format!(
        "type: {} · clusterIP: {} · ports: {}\nselector: {}\n",
        s(svc, "/spec/type"),
        s(svc, "/spec/clusterIP"),
        ports.join(", "),
        map_pairs(svc, "/spec/selector")
    );
    match t
        .get(&kinds::endpoints(), Some(namespace(svc)), name(svc))
        .await
    {
        Ok(ep) => {
            let mut ready = Vec::new();
            let mut not_ready = Vec::new();
            for sub in arr(&ep, "/subsets") {
                for a in arr(sub, "/addresses") {
                    ready.push(
                        opt_s(a, "/targetRef/name")
                            .unwrap_or(s(a, "/ip"))
                            .to_string(),
                    );
                }
                for a in arr(sub, "/notReadyAddresses") {
                    not_ready.push(
                        opt_s(a, "/targetRef/name")
                            .unwrap_or(s(a, "/ip"))
                            .to_string(),
                    );
                }
            }
            out.push_str(&format!(
                "endpoints: {} ready{} · {} not ready{}\n",
                ready.len(),
                if ready.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", clip(&ready.join(", "), 200))
                },
                not_ready.len(),
                if not_ready.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", clip(&not_ready.join(", "), 200))
                },
            ));
        }
        // No Endpoints object (a cluster-info dump, an Endpoints-less cluster): the slices,
        // else say the readiness is unknown rather than zero (see `ops::endpoints`).
        Err(K8sError::NotFound { .. }) => {
            let sel = format!("{}={}", endpoints::SERVICE_NAME_LABEL, name(svc));
            match t
                .list(
                    &kinds::endpointslices(),
                    Some(namespace(svc)),
                    Some(&sel),
                    None,
                )
                .await
            {
                Ok(l) if !l.items.is_empty() => {
                    let idx = endpoints::Index::new(&[]).with_slices(&l.items);
                    if let endpoints::Readiness::Known {
                        ready, not_ready, ..
                    } = idx.readiness(svc)
                    {
                        out.push_str(&format!(
                            "endpoints (from {} EndpointSlices): {ready} ready · {not_ready} not ready\n",
                            l.items.len()
                        ));
                    }
                }
                Ok(_) => out.push_str(
                    "endpoints: not recorded (no Endpoints object or EndpointSlice): readiness unknown\n",
                ),
                Err(e) => out.push_str(&format!("endpoints: {e}\n")),
            }
        }
        Err(e) => out.push_str(&format!("endpoints: {e}\n")),
    }
    out
}

pub(super) async fn node_section(t: &Target, node: &Value) -> String {
    let res = |ptr: &str| {
        format!(
            "cpu {} · memory {} · pods {}",
            s(node, &format!("{ptr}/cpu")),
            crate::value::mem_bytes(s(node, &format!("{ptr}/memory")))
                .map(crate::value::fmt_mem)
                .unwrap_or_default(),
            s(node, &format!("{ptr}/pods"))
        )
    };
    let mut out = format!(
        "kubelet {} · {} · {}\ncapacity: {}\nallocatable: {}\n",
        s(node, "/status/nodeInfo/kubeletVersion"),
        s(node, "/status/nodeInfo/osImage"),
        s(node, "/status/nodeInfo/containerRuntimeVersion"),
        res("/status/capacity"),
        res("/status/allocatable"),
    );
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        out.push_str("unschedulable: true (cordoned)\n");
    }
    let taints: Vec<String> = arr(node, "/spec/taints")
        .iter()
        .map(|t| {
            format!(
                "{}{}:{}",
                s(t, "/key"),
                opt_s(t, "/value")
                    .map(|v| format!("={v}"))
                    .unwrap_or_default(),
                s(t, "/effect")
            )
        })
        .collect();
    if !taints.is_empty() {
        out.push_str(&format!("taints: {}\n", taints.join(", ")));
    }
    match t
        .list(
            &kinds::pods(),
            None,
            None,
            Some(&format!("spec.nodeName={}", name(node))),
        )
        .await
    {
        Ok(ps) => out.push_str(&pods_summary(t.now(), &ps.items)),
        Err(e) => out.push_str(&format!("pods on node: {e}\n")),
    }
    out
}

/// An object's annotations, one line each (`annotation K: V`), redacted like every other
/// text, the last-applied copy of the object left out: who set a limit and why, which
/// run a Job is (`cronjob.kubernetes.io/instantiate: manual`), a ticket, an owner.
pub(super) fn annotations(o: &Value) -> String {
    let mut out = String::new();
    if let Some(ann) = o
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for (k, v) in ann {
            if k != "kubectl.kubernetes.io/last-applied-configuration" {
                let v = v.as_str().unwrap_or_default();
                out.push_str(&format!("annotation {k}: {}\n", clip(v, 300)));
            }
        }
    }
    out
}

/// A Job: its annotations, counts, and its pod template's containers (image, requests and
/// limits, env names, command) as for a Deployment.
pub(super) fn job_section(now: Timestamp, job: &Value) -> String {
    let mut out = annotations(job);
    out.push_str(&format!(
        "completions {}/{} · parallelism {} · active {} · failed {} (backoffLimit {}) · started {} · completed {}\n",
        i(job, "/status/succeeded"),
        opt_i(job, "/spec/completions").unwrap_or(1),
        opt_i(job, "/spec/parallelism").unwrap_or(1),
        i(job, "/status/active"),
        i(job, "/status/failed"),
        opt_i(job, "/spec/backoffLimit").unwrap_or(6),
        ago(now, ts(job, "/status/startTime")),
        ago(now, ts(job, "/status/completionTime")),
    ));
    if let Some(spec) = job.pointer("/spec/template/spec") {
        out.push_str(&crate::ops::detail::template_containers(spec));
    }
    out
}

/// A ResourceQuota like `kubectl describe quota`: each resource's used amount beside its hard
/// limit, marked when the quota is exhausted (used ≥ hard).
pub(super) fn quota_section(q: &Value) -> String {
    // Quota annotations carry who set the limit and why (a ticket, an owner, a review date).
    let mut out = annotations(q);
    let scopes: Vec<&str> = arr(q, "/spec/scopes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.is_empty() {
        out.push_str(&format!("scopes: {}\n", scopes.join(", ")));
    }
    // Status holds what the controller enforces; the spec when it has not reconciled yet.
    let hard = q
        .pointer("/status/hard")
        .or_else(|| q.pointer("/spec/hard"))
        .and_then(Value::as_object);
    let Some(hard) = hard else {
        return out;
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".to_string(),
    };
    let mut t = Table::new(&["RESOURCE", "USED", "HARD", ""]);
    for (res, h) in hard {
        let used = q.pointer(&format!(
            "/status/used/{}",
            res.replace('~', "~0").replace('/', "~1")
        ));
        let (used, h) = (text(used), text(Some(h)));
        let full = match (detail::quantity(&used), detail::quantity(&h)) {
            (Some(u), Some(l)) if u >= l => "EXHAUSTED".to_string(),
            (Some(u), Some(l)) if l > 0.0 => format!("{:.0}%", u / l * 100.0),
            _ => String::new(),
        };
        t.row(vec![res.clone(), used, h, full]);
    }
    out.push_str(&t.render(""));
    out
}

/// A HorizontalPodAutoscaler like `kubectl describe hpa`: target, replicas (min, max,
/// current, desired, last scale), and each metric's target beside its current value.
pub(super) fn hpa_section(now: Timestamp, h: &Value) -> String {
    let mut out = format!(
        "target: {}/{}\nreplicas: min {} · max {} · current {} · desired {} · last scaled {}\n",
        s(h, "/spec/scaleTargetRef/kind"),
        s(h, "/spec/scaleTargetRef/name"),
        opt_i(h, "/spec/minReplicas").unwrap_or(1),
        i(h, "/spec/maxReplicas"),
        opt_i(h, "/status/currentReplicas")
            .map(|n| n.to_string())
            .unwrap_or("-".into()),
        opt_i(h, "/status/desiredReplicas")
            .map(|n| n.to_string())
            .unwrap_or("-".into()),
        ago(now, ts(h, "/status/lastScaleTime")),
    );
    let current = arr(h, "/status/currentMetrics");
    let specs = arr(h, "/spec/metrics");
    if specs.is_empty() && current.is_empty() {
        // autoscaling/v1
        if let Some(target) = opt_i(h, "/spec/targetCPUUtilizationPercentage") {
            out.push_str(&format!(
                "metrics:\n  cpu utilization: current {} / target {target}%\n",
                opt_i(h, "/status/currentCPUUtilizationPercentage")
                    .map(|c| format!("{c}%"))
                    .unwrap_or("<unknown>".into())
            ));
        }
        return out;
    }
    let mut t = Table::new(&["METRIC", "CURRENT", "TARGET"]);
    let mut shown = vec![false; current.len()];
    for m in specs {
        let key = metric_key(m);
        let cur = current
            .iter()
            .position(|c| metric_key(c) == key)
            .inspect(|&ix| shown[ix] = true)
            .map(|ix| metric_value(&current[ix], "current"))
            .unwrap_or("<unknown>".into());
        t.row(vec![key, cur, metric_value(m, "target")]);
    }
    for (ix, c) in current.iter().enumerate() {
        if !shown[ix] {
            t.row(vec![metric_key(c), metric_value(c, "current"), "-".into()]);
        }
    }
    out.push_str(&format!("metrics:\n{}", t.render("  ")));
    out
}

/// `resource cpu`, `pods http_requests_per_second`, `external queue_depth`, … of an HPA
/// metric spec or status.
fn metric_key(m: &Value) -> String {
    let ty = s(m, "/type");
    let field = match ty {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        _ => return ty.to_ascii_lowercase(),
    };
    let body = m.get(field).unwrap_or(&Value::Null);
    let name = opt_s(body, "/name")
        .or_else(|| opt_s(body, "/metric/name"))
        .unwrap_or("?");
    let mut key = format!("{} {name}", ty.to_ascii_lowercase());
    if let Some(c) = opt_s(body, "/container") {
        key.push_str(&format!(" ({c})"));
    }
    if let Some(o) = opt_s(body, "/describedObject/name") {
        key.push_str(&format!(" on {}/{o}", s(body, "/describedObject/kind")));
    }
    key
}

/// The `target` or `current` value of an HPA metric: utilization, average value or value.
fn metric_value(m: &Value, which: &str) -> String {
    let body = m
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.as_str() != "type").map(|(_, v)| v));
    let Some(v) = body.and_then(|b| b.get(which)) else {
        return "<unknown>".into();
    };
    let mut parts = Vec::new();
    if let Some(u) = opt_i(v, "/averageUtilization") {
        parts.push(format!("{u}%"));
    }
    let text = |x: &Value| match x {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    if let Some(a) = v.get("averageValue") {
        parts.push(format!("{} (avg)", text(a)));
    }
    if let Some(a) = v.get("value") {
        parts.push(text(a));
    }
    if parts.is_empty() {
        "<unknown>".into()
    } else {
        parts.join(" / ")
    }
}
