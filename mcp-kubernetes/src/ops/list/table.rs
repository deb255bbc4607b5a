//! The table of every kind but pods: per well-known kind the columns people look at
//! (`kubectl get` plus a NOTE for what is wrong), and name and age for the rest. One match
//! over the kinds, so adding a kind's columns touches one place; each column is its header
//! and the cell it shows side by side, so the two cannot drift apart.

use jiff::Timestamp;
use serde_json::Value;

use super::pods::render_pods;
use super::{footer, label_selector, policy_rules, policy_types};
use crate::ops::detail;
use crate::sanitize::secret_keys;
use crate::target::{Listed, ResourceInfo};
use crate::value::{Table, age, arr, clip, cond, i, map_pairs, name, namespace, opt_s, s};

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

/// One column: its header and how a cell is read from an object at `now`.
type Column = (&'static str, fn(Timestamp, &Value) -> String);

const NAME: Column = ("NAME", |_, o| name(o).into());
const AGE: Column = ("AGE", |now, o| age(now, crate::value::created(o)));
const IMAGES: Column = ("IMAGES", |_, o| images(o, "/spec/template/spec/containers"));
const CHANGED: Column = ("CHANGED", detail::changed_column);

/// A cell that is the integer at `ptr`.
macro_rules! int {
    ($header:literal, $ptr:literal) => {
        ($header, |_, o| i(o, $ptr).to_string())
    };
}

/// A cell that is the string at `ptr`.
macro_rules! text {
    ($header:literal, $ptr:literal) => {
        ($header, |_, o| s(o, $ptr).into())
    };
}

/// `ready/replicas` of a Deployment or StatefulSet.
fn ready_of_replicas(_: Timestamp, o: &Value) -> String {
    format!(
        "{}/{}",
        i(o, "/status/readyReplicas"),
        i(o, "/spec/replicas")
    )
}

fn deployment_note(_: Timestamp, o: &Value) -> String {
    let stuck = cond(o, "Progressing").filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded");
    let unavailable = cond(o, "Available").filter(|c| s(c, "/status") == "False");
    if stuck.is_some() {
        "ProgressDeadlineExceeded".into()
    } else if unavailable.is_some() {
        "unavailable".into()
    } else if o.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        "paused".into()
    } else {
        String::new()
    }
}

fn job_status(_: Timestamp, o: &Value) -> String {
    if cond(o, "Failed").is_some_and(|c| s(c, "/status") == "True") {
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
    }
}

fn service_ports(_: Timestamp, o: &Value) -> String {
    arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let port = i(p, "/port");
            match crate::value::opt_i(p, "/nodePort") {
                Some(np) => format!("{port}:{np}/{}", s(p, "/protocol")),
                None => format!("{port}/{}", s(p, "/protocol")),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn node_status(_: Timestamp, o: &Value) -> String {
    crate::ops::nodes::node_status(o)
}

fn node_roles(_: Timestamp, o: &Value) -> String {
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
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles
    }
}

fn node_pressure(_: Timestamp, o: &Value) -> String {
    arr(o, "/status/conditions")
        .iter()
        .filter(|c| s(c, "/type").ends_with("Pressure") || s(c, "/type") == "NetworkUnavailable")
        .filter(|c| s(c, "/status") == "True")
        .map(|c| s(c, "/type").to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn node_taints(_: Timestamp, o: &Value) -> String {
    let taints = arr(o, "/spec/taints")
        .iter()
        .map(|t| format!("{}:{}", s(t, "/key"), s(t, "/effect")))
        .collect::<Vec<_>>()
        .join(",");
    clip(&taints, 60)
}

fn pv_claim(_: Timestamp, o: &Value) -> String {
    match opt_s(o, "/spec/claimRef/name") {
        Some(n) => format!("{}/{n}", s(o, "/spec/claimRef/namespace")),
        None => String::new(),
    }
}

/// A time relative to `now`: `5m ago`, or `in 3d` for one still to come.
fn relative(now: Timestamp, t: Option<Timestamp>) -> String {
    match t {
        Some(t) if t <= now => crate::value::ago(now, Some(t)),
        Some(t) => format!(
            "in {}",
            crate::value::fmt_secs(t.as_second() - now.as_second())
        ),
        None => "-".into(),
    }
}

fn certificate_not_after(now: Timestamp, o: &Value) -> String {
    match crate::value::ts(o, "/status/notAfter") {
        Some(t) if t <= now => format!("EXPIRED {}", relative(now, Some(t))),
        other => relative(now, other),
    }
}

fn certificate_reason(_: Timestamp, o: &Value) -> String {
    cond(o, "Ready")
        .filter(|c| s(c, "/status") != "True")
        .map(|c| clip(&format!("{}: {}", s(c, "/reason"), s(c, "/message")), 80))
        .unwrap_or_default()
}

fn hpa_note(_: Timestamp, o: &Value) -> String {
    let max = i(o, "/spec/maxReplicas");
    let cur = i(o, "/status/currentReplicas");
    if cur >= max && max > 0 {
        "at max".into()
    } else {
        String::new()
    }
}

fn configmap_keys(_: Timestamp, o: &Value) -> String {
    let keys: Vec<String> = ["/data", "/binaryData"]
        .iter()
        .filter_map(|p| o.pointer(p).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    clip(&keys.join(","), 80)
}

fn network_policy_pods(_: Timestamp, o: &Value) -> String {
    let pods = label_selector(o.pointer("/spec/podSelector"));
    if pods.is_empty() {
        "<all pods>".into()
    } else {
        clip(&pods, 60)
    }
}

fn ingress_hosts(_: Timestamp, o: &Value) -> String {
    let hosts: Vec<&str> = arr(o, "/spec/rules")
        .iter()
        .map(|r| s(r, "/host"))
        .collect();
    clip(&hosts.join(","), 60)
}

fn ingress_addresses(_: Timestamp, o: &Value) -> String {
    let addrs: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .map(|a| opt_s(a, "/ip").unwrap_or(s(a, "/hostname")))
        .collect();
    addrs.join(",")
}

/// The status of a kind this module has no columns for: its phase or state, else a
/// condition that is False, else the Ready condition's reason.
fn generic_status(_: Timestamp, o: &Value) -> String {
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
    clip(&status, 50)
}

/// The columns of a kind, by API group and plural.
fn columns(group: &str, plural: &str) -> Vec<Column> {
    match (group, plural) {
        ("apps", "deployments") => vec![
            NAME,
            ("READY", ready_of_replicas),
            int!("UP-TO-DATE", "/status/updatedReplicas"),
            int!("AVAILABLE", "/status/availableReplicas"),
            AGE,
            IMAGES,
            ("NOTE", deployment_note),
        ],
        ("apps", "statefulsets") => vec![
            NAME,
            ("READY", ready_of_replicas),
            int!("UP-TO-DATE", "/status/updatedReplicas"),
            AGE,
            IMAGES,
        ],
        ("apps", "daemonsets") => vec![
            NAME,
            int!("DESIRED", "/status/desiredNumberScheduled"),
            int!("CURRENT", "/status/currentNumberScheduled"),
            int!("READY", "/status/numberReady"),
            int!("UP-TO-DATE", "/status/updatedNumberScheduled"),
            int!("AVAILABLE", "/status/numberAvailable"),
            AGE,
            IMAGES,
        ],
        ("apps", "replicasets") => vec![
            NAME,
            int!("DESIRED", "/spec/replicas"),
            int!("CURRENT", "/status/replicas"),
            int!("READY", "/status/readyReplicas"),
            AGE,
            ("OWNER", |_, o| {
                crate::value::controller_owner(o)
                    .map(|(k, n)| format!("{k}/{n}"))
                    .unwrap_or_default()
            }),
            IMAGES,
        ],
        ("batch", "jobs") => vec![
            NAME,
            ("STATUS", job_status),
            ("COMPLETIONS", |_, o| {
                format!(
                    "{}/{}",
                    i(o, "/status/succeeded"),
                    crate::value::opt_i(o, "/spec/completions").unwrap_or(1)
                )
            }),
            int!("FAILED", "/status/failed"),
            AGE,
        ],
        ("batch", "cronjobs") => vec![
            NAME,
            text!("SCHEDULE", "/spec/schedule"),
            ("SUSPEND", |_, o| {
                (o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)).to_string()
            }),
            ("ACTIVE", |_, o| arr(o, "/status/active").len().to_string()),
            ("LAST-SCHEDULE", |now, o| {
                crate::value::ago(now, crate::value::ts(o, "/status/lastScheduleTime"))
            }),
            AGE,
        ],
        ("", "services") => vec![
            NAME,
            text!("TYPE", "/spec/type"),
            text!("CLUSTER-IP", "/spec/clusterIP"),
            ("PORTS", service_ports),
            ("SELECTOR", |_, o| map_pairs(o, "/spec/selector")),
            AGE,
        ],
        ("", "nodes") => vec![
            NAME,
            ("STATUS", node_status),
            ("ROLES", node_roles),
            AGE,
            text!("VERSION", "/status/nodeInfo/kubeletVersion"),
            ("PRESSURE", node_pressure),
            ("TAINTS", node_taints),
        ],
        ("", "persistentvolumes") => vec![
            NAME,
            text!("CAPACITY", "/spec/capacity/storage"),
            ("ACCESS", |_, o| access_modes(o)),
            text!("RECLAIM", "/spec/persistentVolumeReclaimPolicy"),
            text!("STATUS", "/status/phase"),
            ("CLAIM", pv_claim),
            text!("STORAGECLASS", "/spec/storageClassName"),
            AGE,
        ],
        ("storage.k8s.io", "storageclasses") => vec![
            NAME,
            text!("PROVISIONER", "/provisioner"),
            ("RECLAIM", |_, o| {
                opt_s(o, "/reclaimPolicy").unwrap_or("Delete").into()
            }),
            ("BINDING", |_, o| {
                opt_s(o, "/volumeBindingMode").unwrap_or("Immediate").into()
            }),
            ("EXPANSION", |_, o| {
                (o.pointer("/allowVolumeExpansion").and_then(Value::as_bool) == Some(true))
                    .to_string()
            }),
            ("DEFAULT", |_, o| {
                let default = s(
                    o,
                    "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
                ) == "true";
                if default { "yes".into() } else { String::new() }
            }),
            AGE,
        ],
        ("cert-manager.io", "certificates") => vec![
            NAME,
            ("READY", |_, o| {
                cond(o, "Ready")
                    .map(|c| s(c, "/status"))
                    .unwrap_or("Unknown")
                    .into()
            }),
            text!("SECRET", "/spec/secretName"),
            ("ISSUER", |_, o| {
                format!(
                    "{}/{}",
                    s(o, "/spec/issuerRef/kind"),
                    s(o, "/spec/issuerRef/name")
                )
            }),
            ("NOT-AFTER", certificate_not_after),
            ("RENEWAL", |now, o| {
                relative(now, crate::value::ts(o, "/status/renewalTime"))
            }),
            ("REASON", certificate_reason),
            AGE,
        ],
        ("", "namespaces") => vec![NAME, text!("STATUS", "/status/phase"), AGE],
        ("", "persistentvolumeclaims") => vec![
            NAME,
            text!("STATUS", "/status/phase"),
            text!("VOLUME", "/spec/volumeName"),
            text!("CAPACITY", "/status/capacity/storage"),
            text!("STORAGECLASS", "/spec/storageClassName"),
            AGE,
        ],
        ("autoscaling", "horizontalpodautoscalers") => vec![
            NAME,
            ("REFERENCE", |_, o| {
                format!(
                    "{}/{}",
                    s(o, "/spec/scaleTargetRef/kind"),
                    s(o, "/spec/scaleTargetRef/name")
                )
            }),
            ("MIN", |_, o| {
                crate::value::opt_i(o, "/spec/minReplicas")
                    .unwrap_or(1)
                    .to_string()
            }),
            int!("MAX", "/spec/maxReplicas"),
            int!("REPLICAS", "/status/currentReplicas"),
            AGE,
            ("NOTE", hpa_note),
        ],
        ("", "resourcequotas") => vec![NAME, ("USED/HARD", |_, o| detail::quota_usage(o)), AGE],
        ("", "configmaps") => vec![NAME, ("KEYS", configmap_keys), AGE, CHANGED],
        ("", "secrets") => vec![
            NAME,
            text!("TYPE", "/type"),
            ("KEYS (values never shown)", |_, o| {
                clip(&secret_keys(o).join(","), 80)
            }),
            AGE,
        ],
        ("networking.k8s.io", "networkpolicies") => vec![
            NAME,
            ("POD-SELECTOR", network_policy_pods),
            ("POLICY-TYPES", |_, o| policy_types(o).join(",")),
            ("INGRESS (from)", |_, o| {
                clip(&policy_rules(o, &policy_types(o), "Ingress"), 160)
            }),
            ("EGRESS (to)", |_, o| {
                clip(&policy_rules(o, &policy_types(o), "Egress"), 160)
            }),
            AGE,
            CHANGED,
        ],
        ("networking.k8s.io", "ingresses") => vec![
            NAME,
            text!("CLASS", "/spec/ingressClassName"),
            ("HOSTS", ingress_hosts),
            ("ADDRESS", ingress_addresses),
            AGE,
        ],
        _ => vec![
            NAME,
            ("READY", |_, o| {
                cond(o, "Ready")
                    .map(|c| s(c, "/status").to_string())
                    .unwrap_or_default()
            }),
            ("STATUS", generic_status),
            AGE,
        ],
    }
}

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
    let columns = columns(r.group.as_str(), r.plural.as_str());
    let mut h = Vec::new();
    if with_ns {
        h.push("NAMESPACE");
    }
    h.extend(columns.iter().map(|(header, _)| *header));
    let mut table = Table::new(&h);
    for o in items {
        let mut r = Vec::new();
        if with_ns {
            r.push(namespace(o).to_string());
        }
        r.extend(columns.iter().map(|(_, cell)| cell(now, o)));
        table.row(r);
    }
    format!(
        "# {} {scope}\n{}{}",
        items.len(),
        table.render(""),
        footer(listed)
    )
}
