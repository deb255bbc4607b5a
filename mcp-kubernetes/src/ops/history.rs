//! `rollout_history`: the revisions of a Deployment or an Argo Rollout (their
//! ReplicaSets), StatefulSet or DaemonSet (their ControllerRevisions), with time and what
//! changed between consecutive revisions: images, env var names (values are compared but
//! never shown), resources, replicas and restarts. A Rollout's canary or blue-green state
//! (phase, step, weight, stable and canary ReplicaSets) heads its history: a canary that
//! takes a quarter of the traffic is a change that `kubectl rollout history` never shows.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::describe::revision;
use super::list::short_image;
use crate::error::{K8sError, Result};
use crate::target::{ResourceInfo, Target, kinds};
use crate::value::{Table, age, arr, clip, i, map_pairs, name, s};

/// Options of [`rollout_history`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HistoryOptions {
    /// `deployment`, `statefulset`, `daemonset` or `rollout` (Argo Rollouts); short names work.
    pub kind: String,
    /// Workload name.
    pub name: String,
    /// Namespace; defaults to the context's namespace.
    pub namespace: Option<String>,
}

/// One revision of a workload.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Revision number.
    pub number: i64,
    /// The object holding it (ReplicaSet or ControllerRevision).
    pub holder: String,
    /// Creation time.
    pub created: Option<jiff::Timestamp>,
    /// The pod template.
    pub template: Value,
    /// `desired/ready` for ReplicaSets.
    pub replicas: String,
    /// The `kubernetes.io/change-cause` annotation.
    pub change_cause: String,
}

/// Whether `r` is a built-in workload with revisions: a Deployment, StatefulSet or DaemonSet.
fn is_builtin_workload(r: &ResourceInfo) -> bool {
    r.group == "apps" && matches!(r.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
}

/// Whether `r` is an Argo Rollout: a Deployment's twin whose revisions are ReplicaSets too.
fn is_argo_rollout(r: &ResourceInfo) -> bool {
    r.group == "argoproj.io" && r.kind == "Rollout"
}

/// Whether `r`'s revisions are its ReplicaSets (a Deployment, an Argo Rollout) rather than
/// ControllerRevisions.
fn revised_by_replicasets(r: &ResourceInfo) -> bool {
    r.kind == "Deployment" || is_argo_rollout(r)
}

/// Resolves a workload kind for the tools that change a rollout (`rollback`, `restart`):
/// the built-in workloads only.
pub async fn workload_kind(t: &Target, kind: &str) -> Result<ResourceInfo> {
    let r = t.resolve(kind).await?;
    if !is_builtin_workload(&r) {
        return Err(K8sError::InvalidArgument(format!(
            "{} has no rollout history; use a Deployment, StatefulSet or DaemonSet",
            r.qualified()
        )));
    }
    Ok(r)
}

/// Resolves a workload kind for `rollout_history`: the built-in workloads and Argo Rollouts.
pub async fn history_kind(t: &Target, kind: &str) -> Result<ResourceInfo> {
    let r = t.resolve(kind).await?;
    if !is_builtin_workload(&r) && !is_argo_rollout(&r) {
        return Err(K8sError::InvalidArgument(format!(
            "{} has no rollout history; use a Deployment, StatefulSet, DaemonSet or Argo Rollout",
            r.qualified()
        )));
    }
    Ok(r)
}

/// The state of an Argo Rollout's update, one line: phase and message, the step it is at
/// and the canary's weight (the last `setWeight` reached), the stable and the new pods'
/// hashes. `None` for a Rollout with no status yet.
pub fn argo_status(obj: &Value) -> Option<String> {
    let phase = s(obj, "/status/phase");
    if phase.is_empty() {
        return None;
    }
    let mut out = format!("# Rollout phase {phase}");
    let message = s(obj, "/status/message");
    if !message.is_empty() {
        out.push_str(&format!(" ({message})"));
    }
    let steps = arr(obj, "/spec/strategy/canary/steps");
    if let Some(at) = obj
        .pointer("/status/currentStepIndex")
        .and_then(Value::as_u64)
        .filter(|_| !steps.is_empty())
    {
        let at = at as usize;
        let step = steps
            .get(at)
            .and_then(|x| x.as_object())
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_else(|| "done".into());
        out.push_str(&format!(", step {} of {} ({step})", at + 1, steps.len()));
        let weight = steps[..(at + 1).min(steps.len())]
            .iter()
            .rev()
            .find_map(|x| x.get("setWeight").and_then(Value::as_i64));
        if let Some(w) = weight.filter(|_| at < steps.len()) {
            out.push_str(&format!(", canary weight {w}%"));
        }
    } else if obj.pointer("/spec/strategy/blueGreen").is_some() {
        out.push_str(", blue-green");
    }
    let (stable, current) = (s(obj, "/status/stableRS"), s(obj, "/status/currentPodHash"));
    if !stable.is_empty() {
        out.push_str(&format!("; stable pods {stable}"));
    }
    if !current.is_empty() && current != stable {
        out.push_str(&format!(", new pods {current}"));
    }
    out.push('\n');
    Some(out)
}

fn owned_by(x: &Value, owner: &Value) -> bool {
    let uid = s(owner, "/metadata/uid");
    arr(x, "/metadata/ownerReferences").iter().any(|o| {
        (!uid.is_empty() && s(o, "/uid") == uid)
            || (s(o, "/kind") == s(owner, "/kind") && s(o, "/name") == name(owner))
    })
}

/// The revisions of a workload, oldest first.
pub async fn revisions(
    t: &Target,
    r: &ResourceInfo,
    ns: &str,
    obj: &Value,
) -> Result<Vec<Revision>> {
    let mut out = Vec::new();
    if revised_by_replicasets(r) {
        let rs = t.list(&kinds::replicasets(), Some(ns), None, None).await?;
        for x in rs.items.iter().filter(|x| owned_by(x, obj)) {
            out.push(Revision {
                number: revision(x),
                holder: format!("ReplicaSet/{}", name(x)),
                created: crate::value::created(x),
                template: x.pointer("/spec/template").cloned().unwrap_or(Value::Null),
                replicas: format!(
                    "{}/{}",
                    i(x, "/spec/replicas"),
                    i(x, "/status/readyReplicas")
                ),
                change_cause: s(x, "/metadata/annotations/kubernetes.io~1change-cause").to_string(),
            });
        }
    } else {
        let crs = t
            .list(&kinds::controllerrevisions(), Some(ns), None, None)
            .await?;
        for x in crs.items.iter().filter(|x| owned_by(x, obj)) {
            let data = match x.get("data") {
                Some(Value::String(raw)) => serde_json::from_str(raw).unwrap_or(Value::Null),
                Some(v) => v.clone(),
                None => Value::Null,
            };
            out.push(Revision {
                number: i(x, "/revision"),
                holder: format!("ControllerRevision/{}", name(x)),
                created: crate::value::created(x),
                template: data
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or(Value::Null),
                replicas: String::new(),
                change_cause: s(x, "/metadata/annotations/kubernetes.io~1change-cause").to_string(),
            });
        }
    }
    out.sort_by_key(|r| r.number);
    Ok(out)
}

fn containers<'a>(tpl: &'a Value, list: &str) -> BTreeMap<String, &'a Value> {
    arr(tpl, list)
        .iter()
        .map(|c| (s(c, "/name").to_string(), c))
        .collect()
}

/// A container's `envFrom` sources by kind and name (`configMapRef route-config`): names,
/// never values.
fn env_from(c: &Value) -> BTreeSet<String> {
    arr(c, "/envFrom")
        .iter()
        .flat_map(|e| {
            [("configMapRef", "configMap"), ("secretRef", "secret")]
                .into_iter()
                .filter_map(move |(k, shown)| {
                    e.get(k).map(|r| format!("{shown} {}", s(r, "/name")))
                })
        })
        .collect()
}

fn env_map(c: &Value) -> BTreeMap<String, String> {
    arr(c, "/env")
        .iter()
        .map(|e| {
            let v = e.get("value").map(|v| v.to_string()).unwrap_or_default()
                + &e.get("valueFrom")
                    .map(|v| v.to_string())
                    .unwrap_or_default();
            (s(e, "/name").to_string(), v)
        })
        .collect()
}

/// What changed between two pod templates, one phrase per change. Env values are compared;
/// only harmless settings' values are shown ([`mcp_kit::redact::harmless_env_value`]).
pub fn template_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    // Init containers too: an added `wait-for-migrations` is often the whole change.
    for (list, what, tag) in [
        ("/spec/containers", "container", ""),
        ("/spec/initContainers", "init container", " (init)"),
    ] {
        let (oc, nc) = (containers(old, list), containers(new, list));
        for n in nc.keys().filter(|n| !oc.contains_key(*n)) {
            out.push(format!("{what} {n} added"));
        }
        for n in oc.keys().filter(|n| !nc.contains_key(*n)) {
            out.push(format!("{what} {n} removed"));
        }
        for (n, c_new) in &nc {
            if let Some(c_old) = oc.get(n) {
                container_changes(&format!("{n}{tag}"), c_old, c_new, &mut out);
            }
        }
    }
    let restart = "/metadata/annotations/kubectl.kubernetes.io~1restartedAt";
    if s(old, restart) != s(new, restart) && !s(new, restart).is_empty() {
        out.push(format!("rollout restart at {}", s(new, restart)));
    }
    // Other pod-template annotations, by name only (their values are digests, or
    // settings nobody reviewed): Helm's `checksum/config` changes when the chart's
    // ConfigMap does, and that roll is a configuration change, not "no difference".
    let annotations = |v: &Value| -> BTreeMap<String, Value> {
        v.pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/restartedAt")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ao, an) = (annotations(old), annotations(new));
    let changed: BTreeSet<&str> = ao
        .keys()
        .chain(an.keys())
        .filter(|k| ao.get(*k) != an.get(*k))
        .map(String::as_str)
        .collect();
    if !changed.is_empty() {
        let names: Vec<&str> = changed.into_iter().collect();
        out.push(format!("pod annotations changed: {}", names.join(", ")));
    }
    let strip_hash = |v: &Value| {
        let mut m: BTreeSet<String> = map_pairs(v, "/metadata/labels")
            .split(',')
            .map(String::from)
            .collect();
        m.retain(|x| {
            !x.starts_with("pod-template-hash=") && !x.starts_with("controller-revision-hash=")
        });
        m
    };
    if strip_hash(old) != strip_hash(new) {
        out.push("pod labels changed".into());
    }
    let (vo, vn) = (volumes(old), volumes(new));
    for (name, source) in &vn {
        match vo.get(name) {
            None => out.push(format!("volume {name} added ({source})")),
            Some(o) if o != source => out.push(format!("volume {name} {o} → {source}")),
            Some(_) => {}
        }
    }
    for name in vo.keys().filter(|n| !vn.contains_key(*n)) {
        out.push(format!("volume {name} removed"));
    }
    // The rest of the pod spec by key (`nodeSelector`, `tolerations`, `serviceAccountName`):
    // which settings moved, so a scheduling or identity change is not "something else".
    let keys = |v: &Value| -> BTreeMap<String, Value> {
        v.pointer("/spec")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "containers" | "initContainers" | "volumes")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ko, kn) = (keys(old), keys(new));
    let moved: BTreeSet<&String> = ko
        .keys()
        .chain(kn.keys())
        .filter(|k| ko.get(*k) != kn.get(*k))
        .collect();
    if !moved.is_empty() {
        let names: Vec<&str> = moved.into_iter().map(String::as_str).collect();
        out.push(format!("pod spec changed: {}", names.join(", ")));
    }
    out
}

/// A pod template's volumes by name, with their source (`configMap route-config`,
/// `secret db-creds`, `persistentVolumeClaim data-0`, `emptyDir`): names, never data.
fn volumes(tpl: &Value) -> BTreeMap<String, String> {
    arr(tpl, "/spec/volumes")
        .iter()
        .map(|v| {
            let source = v
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() != "name"))
                .map(|(kind, spec)| {
                    let named = ["/name", "/secretName", "/claimName"]
                        .iter()
                        .map(|p| s(spec, p))
                        .find(|n| !n.is_empty());
                    match named {
                        Some(n) => format!("{kind} {n}"),
                        None => kind.clone(),
                    }
                })
                .unwrap_or_default();
            (s(v, "/name").to_string(), source)
        })
        .collect()
}

/// What changed in one container `n` (shown as `n`, or `n (init)`).
fn container_changes(n: &str, c_old: &Value, c_new: &Value, out: &mut Vec<String>) {
    let (io, inew) = (s(c_old, "/image"), s(c_new, "/image"));
    if io != inew {
        // Short forms, unless the change is the registry itself.
        let (so, snew) = (short_image(io), short_image(inew));
        let (shown_old, shown_new) = if so == snew {
            (io.to_string(), inew.to_string())
        } else {
            (so, snew)
        };
        out.push(format!("{n} image {shown_old} → {shown_new}"));
    }
    let (eo, en) = (env_map(c_old), env_map(c_new));
    let added: Vec<&str> = en
        .keys()
        .filter(|k| !eo.contains_key(*k))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = eo
        .keys()
        .filter(|k| !en.contains_key(*k))
        .map(String::as_str)
        .collect();
    // Settings (`OPTIMIZER_TIMEOUT 2s → 200ms`) are shown with their values; anything
    // that could be a secret only by name.
    fn literal<'a>(c: &'a Value, k: &str) -> Option<std::borrow::Cow<'a, str>> {
        arr(c, "/env")
            .iter()
            .find(|e| s(e, "/name") == k && e.get("valueFrom").is_none())
            .and_then(|e| e.get("value").and_then(Value::as_str))
            .and_then(|v| mcp_kit::redact::shown_env_value(k, v))
            .map(|v| if v.is_empty() { "\"\"".into() } else { v })
    }
    let (mut changed, mut shown): (Vec<&str>, Vec<String>) = (Vec::new(), Vec::new());
    for (k, v) in &en {
        if eo.get(k).is_some_and(|ov| ov != v) {
            match (literal(c_old, k), literal(c_new, k)) {
                (Some(a), Some(b)) => shown.push(format!("{k} {a} → {b}")),
                _ => changed.push(k.as_str()),
            }
        }
    }
    if !shown.is_empty() {
        out.push(format!("{n} env {}", shown.join(", ")));
    }
    if !added.is_empty() {
        out.push(format!("{n} env added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("{n} env removed: {}", removed.join(", ")));
    }
    if !changed.is_empty() {
        out.push(format!(
            "{n} env value changed: {} (values hidden)",
            changed.join(", ")
        ));
    }
    for part in ["requests", "limits"] {
        let ptr = format!("/resources/{part}");
        let (ro, rn) = (map_pairs(c_old, &ptr), map_pairs(c_new, &ptr));
        if ro != rn {
            out.push(format!(
                "{n} {part} {} → {}",
                if ro.is_empty() { "none" } else { &ro },
                if rn.is_empty() { "none" } else { &rn }
            ));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if c_old.get(probe) != c_new.get(probe) {
            out.push(format!("{n} {probe} changed"));
        }
    }
    if c_old.get("command") != c_new.get("command") || c_old.get("args") != c_new.get("args") {
        out.push(format!("{n} command/args changed"));
    }
    let (fo, fnew) = (env_from(c_old), env_from(c_new));
    let added: Vec<&str> = fnew.difference(&fo).map(String::as_str).collect();
    let removed: Vec<&str> = fo.difference(&fnew).map(String::as_str).collect();
    if !added.is_empty() {
        out.push(format!("{n} envFrom added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("{n} envFrom removed: {}", removed.join(", ")));
    }
}

/// Renders a workload's rollout history; see [`HistoryOptions`].
pub async fn rollout_history(t: &Target, o: &HistoryOptions) -> Result<String> {
    let r = history_kind(t, &o.kind).await?;
    let ns = o
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| t.client().default_namespace().to_string());
    let obj = t.get(&r, Some(&ns), &o.name).await?;
    let revs = revisions(t, &r, &ns, &obj).await?;
    let now = t.now();
    let current = if revised_by_replicasets(&r) {
        Some(revision(&obj)).filter(|n| *n != 0)
    } else {
        let cur = s(&obj, "/status/updateRevision");
        revs.iter()
            .find(|x| x.holder.ends_with(&format!("/{cur}")))
            .map(|x| x.number)
    };
    let mut out = format!(
        "# rollout history of {} {ns}/{} (context {}): {} revisions{}\n",
        r.kind,
        o.name,
        t.context(),
        revs.len(),
        current
            .map(|c| format!(", current {c}"))
            .unwrap_or_default()
    );
    if is_argo_rollout(&r) {
        out.push_str(&argo_status(&obj).unwrap_or_default());
    }
    // An in-place edit after the newest revision (replicas, strategy, paused, metadata)
    // leaves no revision: managedFields is its only record.
    let newest = revs.iter().filter_map(|x| x.created).max();
    // The controller's own writes (the revision annotation) are no edit.
    if let Some(c) = super::detail::last_change_by(&obj, |m| m != "kube-controller-manager")
        .filter(|c| newest.is_none_or(|n| c.time.as_second() > n.as_second() + 60))
        .filter(|c| crate::value::created(&obj).is_none_or(|made| c.time > made))
    {
        out.push_str(&format!(
            "# {} ({}), after the newest revision: an edit that made no revision\n",
            super::detail::change_text(now, &c),
            c.operation
        ));
    }
    if revs.is_empty() {
        out.push_str("no revisions found (old ReplicaSets/ControllerRevisions may have been pruned by revisionHistoryLimit)\n");
        return Ok(out);
    }
    let mut tb = Table::new(&[
        "REVISION",
        "CREATED",
        "HOLDER",
        "REPLICAS",
        "IMAGES",
        "CHANGE-CAUSE",
    ]);
    for rv in revs.iter().rev() {
        tb.row(vec![
            format!(
                "{}{}",
                rv.number,
                if Some(rv.number) == current { "*" } else { "" }
            ),
            format!("{} ago", age(now, rv.created)),
            rv.holder.clone(),
            rv.replicas.clone(),
            arr(&rv.template, "/spec/containers")
                .iter()
                .map(|c| short_image(s(c, "/image")))
                .collect::<Vec<_>>()
                .join(","),
            // Change-causes are often the whole command or a ticket's sentence; the reason
            // is at its end, so keep up to ~300 characters (the last column: no padding).
            clip(&rv.change_cause, CHANGE_CAUSE_MAX),
        ]);
    }
    out.push_str(&tb.render(""));
    if revised_by_replicasets(&r) {
        out.push_str("(* = current; REPLICAS = desired/ready of that revision's ReplicaSet)\n");
    }
    out.push_str("changes (newest first):\n");
    for pair in revs.windows(2).rev() {
        let ch = template_changes(&pair[0].template, &pair[1].template);
        out.push_str(&format!(
            "  {} → {} ({} ago): {}\n",
            pair[0].number,
            pair[1].number,
            age(now, pair[1].created),
            if ch.is_empty() {
                "no pod template difference".to_string()
            } else {
                ch.join("; ")
            }
        ));
    }
    Ok(out)
}

/// Characters of a `kubernetes.io/change-cause` shown in the revision table.
pub const CHANGE_CAUSE_MAX: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The changes of a template that are not a main container's image or env: an added
    /// init container, an envFrom source, a volume, a scheduling setting. Each was shown
    /// as an image change only, or as "pod spec changed (other than containers)".
    #[test]
    fn changes_name_init_containers_env_from_volumes_and_spec_keys() {
        let old = json!({"spec": {
            "containers": [{"name": "web", "image": "r.io/web:211"}],
            "volumes": [{"name": "cfg", "configMap": {"name": "web-config-v1"}}, {"name": "tmp", "emptyDir": {}}],
            "nodeSelector": {"pool": "general"}}});
        let new = json!({"spec": {
            "initContainers": [{"name": "wait-for-migrations", "image": "r.io/dbmate:2"}],
            "containers": [{"name": "web", "image": "r.io/web:212",
                            "envFrom": [{"configMapRef": {"name": "route-config"}}, {"secretRef": {"name": "db-creds"}}]}],
            "volumes": [{"name": "cfg", "configMap": {"name": "web-config-v2"}}, {"name": "certs", "secret": {"secretName": "tls-web"}}],
            "nodeSelector": {"pool": "spot"}, "tolerations": [{"key": "spot", "operator": "Exists"}]}});
        let ch = template_changes(&old, &new);
        let all = ch.join("; ");
        for want in [
            "init container wait-for-migrations added",
            "web image web:211 → web:212",
            "web envFrom added: configMap route-config, secret db-creds",
            "volume certs added (secret tls-web)",
            "volume cfg configMap web-config-v1 → configMap web-config-v2",
            "volume tmp removed",
            "pod spec changed: nodeSelector, tolerations",
        ] {
            assert!(ch.iter().any(|c| c == want), "{want:?} not in {all}");
        }
        // A chart's config checksum: the roll of a configuration change, by name.
        let annotated = |sum: &str| {
            json!({"metadata": {"annotations": {"checksum/config": sum, "kubectl.kubernetes.io/restartedAt": sum}},
                   "spec": {"containers": [{"name": "web", "image": "r.io/web:212"}]}})
        };
        assert_eq!(
            template_changes(&annotated("9f2c"), &annotated("41aa")),
            [
                "rollout restart at 41aa",
                "pod annotations changed: checksum/config"
            ]
        );
        // An init container's own image change is tagged as such.
        let later = json!({"spec": {"initContainers": [{"name": "wait-for-migrations", "image": "r.io/dbmate:3"}],
            "containers": new["spec"]["containers"].clone(), "volumes": new["spec"]["volumes"].clone(),
            "nodeSelector": {"pool": "spot"}, "tolerations": [{"key": "spot", "operator": "Exists"}]}});
        assert_eq!(
            template_changes(&new, &later),
            ["wait-for-migrations (init) image dbmate:2 → dbmate:3"]
        );
    }

    #[test]
    fn changes_show_env_names_not_values() {
        let old = json!({"spec": {"containers": [{"name": "app", "image": "r.io/app:1", "env": [{"name": "DB_PASSWORD", "value": "old-secret"}, {"name": "GONE", "value": "x"}], "resources": {"limits": {"memory": "256Mi"}}}]}});
        let new = json!({"spec": {"containers": [{"name": "app", "image": "r.io/app:2", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "NEW", "value": "y"}], "resources": {"limits": {"memory": "128Mi"}}}]}});
        let ch = template_changes(&old, &new).join("; ");
        assert!(ch.contains("app image app:1 → app:2"), "{ch}");
        assert!(
            ch.contains("env added: NEW") && ch.contains("env removed: GONE"),
            "{ch}"
        );
        assert!(ch.contains("env value changed: DB_PASSWORD"), "{ch}");
        assert!(ch.contains("limits memory=256Mi → memory=128Mi"), "{ch}");
        assert!(!ch.contains("hunter2") && !ch.contains("old-secret"));
        // Harmless settings show their values; a secret name hides them.
        let old_t = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "OPTIMIZER_TIMEOUT", "value": "2s"}, {"name": "API_KEY", "value": "2s"}]}]}});
        let new_t = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "OPTIMIZER_TIMEOUT", "value": "200ms"}, {"name": "API_KEY", "value": "3s"}]}]}});
        let ch2 = template_changes(&old_t, &new_t).join("; ");
        assert!(
            ch2.contains("app env OPTIMIZER_TIMEOUT 2s → 200ms"),
            "{ch2}"
        );
        assert!(
            ch2.contains("env value changed: API_KEY (values hidden)"),
            "{ch2}"
        );
        assert!(!ch2.contains("3s"), "{ch2}");
    }
}
