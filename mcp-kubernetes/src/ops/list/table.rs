//! The table of every kind but pods: per well-known kind the columns people look at
//! (`kubectl get` plus a NOTE for what is wrong), and name and age for the rest. One match
//! over the kinds, so adding a kind's columns touches one place.

use jiff::Timestamp;
use serde_json::Value;

use super::pods::render_pods;
use super::{footer, label_selector, policy_rules, policy_types};
use crate::ops::detail;
use crate::sanitize::secret_keys;
use crate::target::{Listed, ResourceInfo};
use crate::value::{Table, age, arr, clip, i, map_pairs, name, namespace, opt_s, s};

fn cond<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
}

pub(super) fn images(o: &Value, ptr: &str) -> String {
    arr(o, ptr)
        .iter()
        .map(|c| short_image(s(c, "/image")))
        .collect::<Vec<_>>()
        .join(",")
}

fn access_modes(o: &Value) -> String {
    arr(o, "/spec/accessModes")
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Drops the registry host from an image reference (`registry.example.com/team/api:1.2` → `team/api:1.2`).
pub fn short_image(image: &str) -> String {
    match image.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest.to_string()
        }
        _ => image.to_string(),
    }
}

/// Renders one table row from an object.
type RowFn = Box<dyn Fn(&Value) -> Vec<String>>;

pub(super) fn render_table(
    now: Timestamp,
    r: &ResourceInfo,
    ns: Option<&str>,
    listed: &Listed,
    all: bool,
    scope: &str,
) -> String {
    let items = &listed.items;
    let with_ns = r.namespaced && ns.is_none();
    if items.is_empty() {
        return format!("no {scope}\n{}", footer(listed));
    }
    if r.group.is_empty() && r.plural == "pods" {
        return format!(
            "# {scope}\n{}{}",
            render_pods(now, items, all, with_ns),
            footer(listed)
        );
    }
    let (headers, row): (Vec<&str>, RowFn) = match (r.group.as_str(), r.plural.as_str()) {
        ("apps", "deployments") => (
            vec![
                "NAME",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "IMAGES",
                "NOTE",
            ],
            Box::new(move |o| {
                let stuck = cond(o, "Progressing")
                    .filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded");
                let unavailable = cond(o, "Available").filter(|c| s(c, "/status") == "False");
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        i(o, "/spec/replicas")
                    ),
                    i(o, "/status/updatedReplicas").to_string(),
                    i(o, "/status/availableReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                    if stuck.is_some() {
                        "ProgressDeadlineExceeded".into()
                    } else if unavailable.is_some() {
                        "unavailable".into()
                    } else if o.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
                        "paused".into()
                    } else {
                        String::new()
                    },
                ]
            }),
        ),
        ("apps", "statefulsets") => (
            vec!["NAME", "READY", "UP-TO-DATE", "AGE", "IMAGES"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        i(o, "/status/readyReplicas"),
                        i(o, "/spec/replicas")
                    ),
                    i(o, "/status/updatedReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("apps", "daemonsets") => (
            vec![
                "NAME",
                "DESIRED",
                "CURRENT",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "AGE",
                "IMAGES",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    i(o, "/status/desiredNumberScheduled").to_string(),
                    i(o, "/status/currentNumberScheduled").to_string(),
                    i(o, "/status/numberReady").to_string(),
                    i(o, "/status/updatedNumberScheduled").to_string(),
                    i(o, "/status/numberAvailable").to_string(),
                    age(now, crate::value::created(o)),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("apps", "replicasets") => (
            vec![
                "NAME", "DESIRED", "CURRENT", "READY", "AGE", "OWNER", "IMAGES",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    i(o, "/spec/replicas").to_string(),
                    i(o, "/status/replicas").to_string(),
                    i(o, "/status/readyReplicas").to_string(),
                    age(now, crate::value::created(o)),
                    crate::value::controller_owner(o)
                        .map(|(k, n)| format!("{k}/{n}"))
                        .unwrap_or_default(),
                    images(o, "/spec/template/spec/containers"),
                ]
            }),
        ),
        ("batch", "jobs") => (
            vec!["NAME", "STATUS", "COMPLETIONS", "FAILED", "AGE"],
            Box::new(move |o| {
                let st = if cond(o, "Failed").is_some_and(|c| s(c, "/status") == "True") {
                    format!(
                        "Failed ({})",
                        s(cond(o, "Failed").unwrap_or(&Value::Null), "/reason")
                    )
                } else if cond(o, "Complete").is_some_and(|c| s(c, "/status") == "True") {
                    "Complete".into()
                } else if cond(o, "Suspended").is_some_and(|c| s(c, "/status") == "True") {
                    "Suspended".into()
                } else {
                    "Running".into()
                };
                vec![
                    name(o).into(),
                    st,
                    format!(
                        "{}/{}",
                        i(o, "/status/succeeded"),
                        crate::value::opt_i(o, "/spec/completions").unwrap_or(1)
                    ),
                    i(o, "/status/failed").to_string(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("batch", "cronjobs") => (
            vec![
                "NAME",
                "SCHEDULE",
                "SUSPEND",
                "ACTIVE",
                "LAST-SCHEDULE",
                "AGE",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/spec/schedule").into(),
                    (o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)).to_string(),
                    arr(o, "/status/active").len().to_string(),
                    crate::value::ago(now, crate::value::ts(o, "/status/lastScheduleTime")),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "services") => (
            vec!["NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "AGE"],
            Box::new(move |o| {
                let ports = arr(o, "/spec/ports")
                    .iter()
                    .map(|p| {
                        let port = i(p, "/port");
                        match crate::value::opt_i(p, "/nodePort") {
                            Some(np) => format!("{port}:{np}/{}", s(p, "/protocol")),
                            None => format!("{port}/{}", s(p, "/protocol")),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                vec![
                    name(o).into(),
                    s(o, "/spec/type").into(),
                    s(o, "/spec/clusterIP").into(),
                    ports,
                    map_pairs(o, "/spec/selector"),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "nodes") => (
            vec![
                "NAME", "STATUS", "ROLES", "AGE", "VERSION", "PRESSURE", "TAINTS",
            ],
            Box::new(move |o| {
                let ready = cond(o, "Ready")
                    .map(|c| s(c, "/status"))
                    .unwrap_or("Unknown");
                let mut st = if ready == "True" {
                    "Ready".to_string()
                } else {
                    "NotReady".to_string()
                };
                if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
                    st.push_str(",SchedulingDisabled");
                }
                let roles = o
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.keys()
                            .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                let pressure = arr(o, "/status/conditions")
                    .iter()
                    .filter(|c| {
                        s(c, "/type").ends_with("Pressure") || s(c, "/type") == "NetworkUnavailable"
                    })
                    .filter(|c| s(c, "/status") == "True")
                    .map(|c| s(c, "/type").to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let taints = arr(o, "/spec/taints")
                    .iter()
                    .map(|t| format!("{}:{}", s(t, "/key"), s(t, "/effect")))
                    .collect::<Vec<_>>()
                    .join(",");
                vec![
                    name(o).into(),
                    st,
                    if roles.is_empty() {
                        "<none>".into()
                    } else {
                        roles
                    },
                    age(now, crate::value::created(o)),
                    s(o, "/status/nodeInfo/kubeletVersion").into(),
                    pressure,
                    clip(&taints, 60),
                ]
            }),
        ),
        ("", "persistentvolumes") => (
            vec![
                "NAME",
                "CAPACITY",
                "ACCESS",
                "RECLAIM",
                "STATUS",
                "CLAIM",
                "STORAGECLASS",
                "AGE",
            ],
            Box::new(move |o| {
                let claim = match opt_s(o, "/spec/claimRef/name") {
                    Some(n) => format!("{}/{n}", s(o, "/spec/claimRef/namespace")),
                    None => String::new(),
                };
                vec![
                    name(o).into(),
                    s(o, "/spec/capacity/storage").into(),
                    access_modes(o),
                    s(o, "/spec/persistentVolumeReclaimPolicy").into(),
                    s(o, "/status/phase").into(),
                    claim,
                    s(o, "/spec/storageClassName").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("storage.k8s.io", "storageclasses") => (
            vec![
                "NAME",
                "PROVISIONER",
                "RECLAIM",
                "BINDING",
                "EXPANSION",
                "DEFAULT",
                "AGE",
            ],
            Box::new(move |o| {
                let default = s(
                    o,
                    "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
                ) == "true";
                vec![
                    name(o).into(),
                    s(o, "/provisioner").into(),
                    opt_s(o, "/reclaimPolicy").unwrap_or("Delete").into(),
                    opt_s(o, "/volumeBindingMode").unwrap_or("Immediate").into(),
                    (o.pointer("/allowVolumeExpansion").and_then(Value::as_bool) == Some(true))
                        .to_string(),
                    if default { "yes".into() } else { String::new() },
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("cert-manager.io", "certificates") => (
            vec![
                "NAME",
                "READY",
                "SECRET",
                "ISSUER",
                "NOT-AFTER",
                "RENEWAL",
                "REASON",
                "AGE",
            ],
            Box::new(move |o| {
                let ready = cond(o, "Ready");
                let rel = |t: Option<Timestamp>| match t {
                    Some(t) if t <= now => crate::value::ago(now, Some(t)),
                    Some(t) => format!(
                        "in {}",
                        crate::value::fmt_secs(t.as_second() - now.as_second())
                    ),
                    None => "-".into(),
                };
                let expiry = crate::value::ts(o, "/status/notAfter");
                let not_after = match expiry {
                    Some(t) if t <= now => format!("EXPIRED {}", rel(Some(t))),
                    other => rel(other),
                };
                vec![
                    name(o).into(),
                    ready.map(|c| s(c, "/status")).unwrap_or("Unknown").into(),
                    s(o, "/spec/secretName").into(),
                    format!(
                        "{}/{}",
                        s(o, "/spec/issuerRef/kind"),
                        s(o, "/spec/issuerRef/name")
                    ),
                    not_after,
                    rel(crate::value::ts(o, "/status/renewalTime")),
                    ready
                        .filter(|c| s(c, "/status") != "True")
                        .map(|c| clip(&format!("{}: {}", s(c, "/reason"), s(c, "/message")), 80))
                        .unwrap_or_default(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "namespaces") => (
            vec!["NAME", "STATUS", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/status/phase").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "STORAGECLASS",
                "AGE",
            ],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/status/phase").into(),
                    s(o, "/spec/volumeName").into(),
                    s(o, "/status/capacity/storage").into(),
                    s(o, "/spec/storageClassName").into(),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("autoscaling", "horizontalpodautoscalers") => (
            vec!["NAME", "REFERENCE", "MIN", "MAX", "REPLICAS", "AGE", "NOTE"],
            Box::new(move |o| {
                let max = i(o, "/spec/maxReplicas");
                let cur = i(o, "/status/currentReplicas");
                vec![
                    name(o).into(),
                    format!(
                        "{}/{}",
                        s(o, "/spec/scaleTargetRef/kind"),
                        s(o, "/spec/scaleTargetRef/name")
                    ),
                    crate::value::opt_i(o, "/spec/minReplicas")
                        .unwrap_or(1)
                        .to_string(),
                    max.to_string(),
                    cur.to_string(),
                    age(now, crate::value::created(o)),
                    if cur >= max && max > 0 {
                        "at max".into()
                    } else {
                        String::new()
                    },
                ]
            }),
        ),
        ("", "resourcequotas") => (
            vec!["NAME", "USED/HARD", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    detail::quota_usage(o),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("", "configmaps") => (
            vec!["NAME", "KEYS", "AGE", "CHANGED"],
            Box::new(move |o| {
                let keys: Vec<String> = ["/data", "/binaryData"]
                    .iter()
                    .filter_map(|p| o.pointer(p).and_then(Value::as_object))
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                vec![
                    name(o).into(),
                    clip(&keys.join(","), 80),
                    age(now, crate::value::created(o)),
                    detail::changed_column(now, o),
                ]
            }),
        ),
        ("", "secrets") => (
            vec!["NAME", "TYPE", "KEYS (values never shown)", "AGE"],
            Box::new(move |o| {
                vec![
                    name(o).into(),
                    s(o, "/type").into(),
                    clip(&secret_keys(o).join(","), 80),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        ("networking.k8s.io", "networkpolicies") => (
            vec![
                "NAME",
                "POD-SELECTOR",
                "POLICY-TYPES",
                "INGRESS (from)",
                "EGRESS (to)",
                "AGE",
                "CHANGED",
            ],
            Box::new(move |o| {
                let types = policy_types(o);
                let pods = label_selector(o.pointer("/spec/podSelector"));
                vec![
                    name(o).into(),
                    if pods.is_empty() {
                        "<all pods>".into()
                    } else {
                        clip(&pods, 60)
                    },
                    types.join(","),
                    clip(&policy_rules(o, &types, "Ingress"), 160),
                    clip(&policy_rules(o, &types, "Egress"), 160),
                    age(now, crate::value::created(o)),
                    detail::changed_column(now, o),
                ]
            }),
        ),
        ("networking.k8s.io", "ingresses") => (
            vec!["NAME", "CLASS", "HOSTS", "ADDRESS", "AGE"],
            Box::new(move |o| {
                let hosts: Vec<&str> = arr(o, "/spec/rules")
                    .iter()
                    .map(|r| s(r, "/host"))
                    .collect();
                let addrs: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
                    .iter()
                    .map(|a| opt_s(a, "/ip").unwrap_or(s(a, "/hostname")))
                    .collect();
                vec![
                    name(o).into(),
                    s(o, "/spec/ingressClassName").into(),
                    clip(&hosts.join(","), 60),
                    addrs.join(","),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
        _ => (
            vec!["NAME", "READY", "STATUS", "AGE"],
            Box::new(move |o| {
                let ready = cond(o, "Ready")
                    .map(|c| s(c, "/status").to_string())
                    .unwrap_or_default();
                let status = opt_s(o, "/status/phase")
                    .or_else(|| opt_s(o, "/status/state"))
                    .map(String::from)
                    .or_else(|| {
                        arr(o, "/status/conditions")
                            .iter()
                            .find(|c| s(c, "/status") == "False" && s(c, "/type") != "Ready")
                            .map(|c| format!("{}=False", s(c, "/type")))
                    })
                    .or_else(|| {
                        cond(o, "Ready")
                            .and_then(|c| opt_s(c, "/reason"))
                            .map(String::from)
                    })
                    .unwrap_or_default();
                vec![
                    name(o).into(),
                    ready,
                    clip(&status, 50),
                    age(now, crate::value::created(o)),
                ]
            }),
        ),
    };
    let mut h = Vec::new();
    if with_ns {
        h.push("NAMESPACE");
    }
    h.extend(headers);
    let mut table = Table::new(&h);
    for o in items {
        let mut r = Vec::new();
        if with_ns {
            r.push(namespace(o).to_string());
        }
        r.extend(row(o));
        table.row(r);
    }
    format!(
        "# {} {scope}\n{}{}",
        items.len(),
        table.render(""),
        footer(listed)
    )
}
