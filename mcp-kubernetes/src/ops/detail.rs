//! Small facts several renderings share, kept out of `describe` and `list` (already long):
//! when an object was last changed in place, a container's image and resources, and a
//! ResourceQuota's usage.
//!
//! In-place edits (`kubectl edit`, `kubectl apply` of a ConfigMap, a NetworkPolicy, a
//! Deployment field that does not roll a new ReplicaSet) leave no revision and no event;
//! the only record the API keeps is `metadata.managedFields`, one entry per manager with
//! the time of its last write. That entry is what kubectl users go to the YAML for, so
//! [`last_change`] reads it, and the outputs show it beside the creation time.

use jiff::Timestamp;
use serde_json::Value;

use super::list::short_image;
use crate::value::{ago, arr, map_pairs, opt_s, s};

/// The latest write recorded in `metadata.managedFields` to the object itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// When.
    pub time: Timestamp,
    /// The field manager (`kubectl-edit`, `kubectl-client-side-apply`, `helm`, `argocd-controller`).
    pub manager: String,
    /// `Update` or `Apply`.
    pub operation: String,
}

/// The latest managedFields entry of `obj`, leaving out writes to the `status` (and other)
/// subresources: controllers rewrite status constantly, and that is not a change anyone made.
pub fn last_change(obj: &Value) -> Option<Change> {
    last_change_by(obj, |_| true)
}

/// [`last_change`] among the managers `keep` accepts.
pub fn last_change_by(obj: &Value, keep: impl Fn(&str) -> bool) -> Option<Change> {
    arr(obj, "/metadata/managedFields")
        .iter()
        .filter(|m| opt_s(m, "/subresource").is_none_or(str::is_empty))
        .filter(|m| keep(s(m, "/manager")))
        .filter_map(|m| {
            Some(Change {
                time: crate::value::ts(m, "/time")?,
                manager: opt_s(m, "/manager").unwrap_or("?").to_string(),
                operation: s(m, "/operation").to_string(),
            })
        })
        .max_by_key(|c| c.time)
}

/// `last changed 2025-06-25T14:02:10Z (12m ago) by kubectl-edit`, or `None` without
/// managedFields. Said only when the change is later than the creation (a change at creation
/// is the creation).
pub fn last_changed_text(now: Timestamp, obj: &Value) -> Option<String> {
    let c = last_change(obj)?;
    if crate::value::created(obj).is_some_and(|created| c.time <= created) {
        return None;
    }
    Some(change_text(now, &c))
}

/// `last changed 2025-06-25T14:02:10Z (12m ago) by kubectl-edit`.
pub fn change_text(now: Timestamp, c: &Change) -> String {
    format!(
        "last changed {} ({}) by {}",
        c.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ago(now, Some(c.time)),
        c.manager
    )
}

/// The `CHANGED` column of a list: how long ago the last in-place change was, and by whom
/// (`12m kubectl-edit`); empty when none is recorded after the creation, so the column is
/// left out of a table where no object has one.
pub fn changed_column(now: Timestamp, obj: &Value) -> String {
    match last_change(obj) {
        Some(c) if crate::value::created(obj).is_none_or(|created| c.time > created) => format!(
            "{} {}",
            crate::value::age(now, Some(c.time)),
            crate::value::clip(&c.manager, 30)
        ),
        _ => String::new(),
    }
}

/// A container's environment as `env (secret-looking values hidden): A=1, B(secret s/k),
/// C(configmap c/k), D` plus `envFrom` sources; `None` when it has none. Values pass the
/// kit's harmless-value check (a runtime's memory options may be shown out of a longer
/// option string) or are left out (the name stays): a missing or renamed
/// variable is a common cause of a crash, and its name is what the reader compares.
pub fn env_line(c: &Value) -> Option<String> {
    let mut env: Vec<String> = arr(c, "/env")
        .iter()
        .map(|e| {
            if let Some(k) = e.pointer("/valueFrom/secretKeyRef") {
                format!(
                    "{}(secret {}/{})",
                    s(e, "/name"),
                    s(k, "/name"),
                    s(k, "/key")
                )
            } else if let Some(k) = e.pointer("/valueFrom/configMapKeyRef") {
                format!(
                    "{}(configmap {}/{})",
                    s(e, "/name"),
                    s(k, "/name"),
                    s(k, "/key")
                )
            } else if let Some(f) = e.pointer("/valueFrom/fieldRef") {
                format!("{}(field {})", s(e, "/name"), s(f, "/fieldPath"))
            } else if let Some(v) =
                opt_s(e, "/value").and_then(|v| mcp_kit::redact::shown_env_value(s(e, "/name"), v))
            {
                format!("{}={v}", s(e, "/name"))
            } else {
                s(e, "/name").to_string()
            }
        })
        .collect();
    for from in arr(c, "/envFrom") {
        let prefix = opt_s(from, "/prefix")
            .map(|p| format!(" prefix {p}"))
            .unwrap_or_default();
        if let Some(name) = opt_s(from, "/secretRef/name") {
            env.push(format!("all of secret {name}{prefix}"));
        } else if let Some(name) = opt_s(from, "/configMapRef/name") {
            env.push(format!("all of configmap {name}{prefix}"));
        }
    }
    // Whole up to a bound: the setting a reader compares (a later
    // `Routing__OnFailure`, a database host) is as often last as first.
    (!env.is_empty()).then(|| {
        format!(
            "env (secret-looking values hidden): {}",
            crate::value::clip(&env.join(", "), 1500)
        )
    })
}

/// Where a pod (or a pod template) may run, as kubectl describe shows it:
/// `scheduling: node selector k=v · tolerations k=v:NoSchedule, k:NoExecute for 300s ·
/// affinity nodeAffinity, podAntiAffinity · service account s`; `None` when nothing is set
/// but the defaults every pod gets (the two `node.kubernetes.io/not-ready` and `unreachable`
/// tolerations, the `default` service account). A Pending pod's "didn't match Pod's node
/// affinity/selector" or "untolerated taint" is read against this line.
pub fn scheduling_line(spec: &Value) -> Option<String> {
    let mut parts = Vec::new();
    let selector = map_pairs(spec, "/nodeSelector");
    if !selector.is_empty() {
        parts.push(format!("node selector {selector}"));
    }
    let tolerations: Vec<String> = arr(spec, "/tolerations")
        .iter()
        .filter(|t| {
            // Added to every pod by the DefaultTolerationSeconds admission plugin.
            !(matches!(
                s(t, "/key"),
                "node.kubernetes.io/not-ready" | "node.kubernetes.io/unreachable"
            ) && t.get("tolerationSeconds").and_then(Value::as_i64) == Some(300))
        })
        .map(|t| {
            let key = match (opt_s(t, "/key"), s(t, "/operator")) {
                (None, _) => "*".to_string(),
                (Some(k), "Exists") => k.to_string(),
                (Some(k), _) => format!("{k}={}", s(t, "/value")),
            };
            let effect = opt_s(t, "/effect")
                .map(|e| format!(":{e}"))
                .unwrap_or_default();
            let secs = t
                .get("tolerationSeconds")
                .and_then(Value::as_i64)
                .map(|n| format!(" for {n}s"))
                .unwrap_or_default();
            format!("{key}{effect}{secs}")
        })
        .collect();
    if !tolerations.is_empty() {
        parts.push(format!("tolerations {}", tolerations.join(", ")));
    }
    if let Some(aff) = spec.get("affinity").and_then(Value::as_object) {
        let kinds: Vec<&str> = aff.keys().map(String::as_str).collect();
        if !kinds.is_empty() {
            parts.push(format!("affinity {}", kinds.join(", ")));
        }
    }
    if let Some(pc) = opt_s(spec, "/priorityClassName") {
        parts.push(format!("priority class {pc}"));
    }
    if let Some(sa) = opt_s(spec, "/serviceAccountName").filter(|sa| *sa != "default") {
        parts.push(format!("service account {sa}"));
    }
    (!parts.is_empty()).then(|| format!("scheduling: {}", parts.join(" · ")))
}

/// One line per container of a pod template (init containers marked): image, requests and
/// limits, e.g. `  app  shop/cart:1.8 · requests cpu=250m,memory=256Mi · limits memory=512Mi`,
/// then its environment ([`env_line`]); and the template's [`scheduling_line`].
pub fn template_containers(template_spec: &Value) -> String {
    let mut out = String::new();
    let groups = [("/initContainers", "init "), ("/containers", "")];
    for (ptr, tag) in groups {
        for c in arr(template_spec, ptr) {
            let part = |p: &str| {
                let m = map_pairs(c, p);
                if m.is_empty() { "-".to_string() } else { m }
            };
            out.push_str(&format!(
                "  {tag}{}  {} · requests {} · limits {}\n",
                s(c, "/name"),
                short_image(s(c, "/image")),
                part("/resources/requests"),
                part("/resources/limits")
            ));
            if let Some(env) = env_line(c) {
                out.push_str(&format!("    {env}\n"));
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    let mut out = format!("containers:\n{out}");
    if let Some(line) = scheduling_line(template_spec) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A ResourceQuota's usage for a list row: `used/hard` per resource, the exhausted ones
/// marked (`requests.cpu=40/40 FULL, pods=23/60`).
pub fn quota_usage(q: &Value) -> String {
    let Some(hard) = q
        .pointer("/status/hard")
        .or_else(|| q.pointer("/spec/hard"))
        .and_then(Value::as_object)
    else {
        return "-".to_string();
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".to_string(),
    };
    hard.iter()
        .map(|(res, h)| {
            let used = text(q.pointer(&format!(
                "/status/used/{}",
                res.replace('~', "~0").replace('/', "~1")
            )));
            let h = text(Some(h));
            let full = match (quantity(&used), quantity(&h)) {
                (Some(u), Some(l)) if u >= l => " FULL",
                _ => "",
            };
            format!("{res}={used}/{h}{full}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Kubernetes quantity (`39500m`, `96Gi`, `40`, `1.5k`) as a number, for comparisons.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn where_a_pod_may_run_and_what_its_environment_names() {
        let spec = json!({
            "nodeSelector": {"pool": "gpu"},
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
            ],
            "affinity": {"podAntiAffinity": {}},
            "serviceAccountName": "trainer",
            "containers": [{"name": "c", "image": "i", "envFrom": [
                {"configMapRef": {"name": "route-optimizer-depots"}},
                {"secretRef": {"name": "db"}, "prefix": "DB_"}
            ], "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]
        });
        assert_eq!(
            scheduling_line(&spec).unwrap(),
            "scheduling: node selector pool=gpu · tolerations dedicated=ml:NoSchedule, node.kubernetes.io/unreachable:NoExecute for 30s · affinity podAntiAffinity · service account trainer"
        );
        assert_eq!(
            env_line(&spec["containers"][0]).unwrap(),
            "env (secret-looking values hidden): NODE(field spec.nodeName), all of configmap route-optimizer-depots, all of secret db prefix DB_"
        );
        // Only the defaults every pod gets: nothing to say.
        assert_eq!(
            scheduling_line(&json!({"serviceAccountName": "default"})),
            None
        );
        assert_eq!(env_line(&json!({"name": "c"})), None);
    }

    #[test]
    fn last_change_skips_status_writes_and_creation() {
        let now: Timestamp = "2025-06-25T14:20:00Z".parse().unwrap();
        let cm = json!({"metadata": {"creationTimestamp": "2025-06-01T00:00:00Z", "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "time": "2025-06-01T00:00:00Z"},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2025-06-25T14:02:10Z"},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "time": "2025-06-25T14:19:00Z"}]}});
        assert_eq!(
            last_changed_text(now, &cm).unwrap(),
            "last changed 2025-06-25T14:02:10Z (17m ago) by kubectl-edit"
        );
        assert_eq!(changed_column(now, &cm), "17m kubectl-edit");
        let fresh = json!({"metadata": {"creationTimestamp": "2025-06-01T00:00:00Z", "managedFields": [
            {"manager": "helm", "operation": "Update", "time": "2025-06-01T00:00:00Z"}]}});
        assert_eq!(last_changed_text(now, &fresh), None);
        assert_eq!(changed_column(now, &fresh), "");
    }

    #[test]
    fn quota_usage_marks_exhausted_resources() {
        let q = json!({"status": {"hard": {"pods": "60", "requests.cpu": "40"},
            "used": {"pods": "23", "requests.cpu": "40000m"}}});
        assert_eq!(quota_usage(&q), "pods=23/60, requests.cpu=40000m/40 FULL");
    }
}
