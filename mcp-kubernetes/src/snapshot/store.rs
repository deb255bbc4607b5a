//! Loading a snapshot folder into memory.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;

use crate::error::K8sError;
use crate::value::{latest_timestamp, s};

/// What the fixture API server knows about one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group (`""` for core).
    pub group: String,
    /// Version served.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
}

impl ResourceDef {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        crate::target::api_version(&self.group, &self.version)
    }
}

/// Built-in kinds every snapshot serves: (group, version, kind, plural, namespaced, short names).
/// (group, version, kind, plural, namespaced, short names).
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

const BUILTIN: &[Builtin] = &[
    ("", "v1", "Pod", "pods", true, &["po"]),
    ("", "v1", "Service", "services", true, &["svc"]),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    ("", "v1", "Event", "events", true, &["ev"]),
    ("", "v1", "Namespace", "namespaces", false, &["ns"]),
    ("", "v1", "Node", "nodes", false, &["no"]),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    ("", "v1", "Secret", "secrets", true, &[]),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
    ),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    (
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
        &["rc"],
    ),
    (
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
    ),
    ("", "v1", "LimitRange", "limitranges", true, &["limits"]),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"]),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
    ),
    ("batch", "v1", "Job", "jobs", true, &[]),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"]),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    ),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    ),
];

/// Metrics kinds, served only when the snapshot holds usage data.
const METRICS: &[(&str, &str, bool)] = &[
    ("PodMetrics", "pods", true),
    ("NodeMetrics", "nodes", false),
];

/// The metrics API group.
pub const METRICS_GROUP: &str = "metrics.k8s.io";

/// Identifies a log stream: namespace, pod, container (`""` = the pod's default), previous instance.
pub type LogKey = (String, String, String, bool);

/// A recorded cluster held in memory.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Resource types served through discovery.
    pub resources: Vec<ResourceDef>,
    /// Objects by (group, plural), sorted by namespace and name.
    pub objects: BTreeMap<(String, String), Vec<Value>>,
    /// Pod logs.
    pub logs: BTreeMap<LogKey, String>,
    /// The snapshot's clock: `capturedAt` from `snapshot.yaml`, else the latest timestamp inside it.
    pub now: Timestamp,
    /// The context name the snapshot is served under.
    pub context: String,
    /// Resources (plural names, `plural.group` for other groups) the fixture server answers
    /// with 403 Forbidden, to reproduce RBAC denials; from `forbidden:` in `snapshot.yaml`.
    pub forbidden: Vec<String>,
}

/// A parse error naming the file as shown (relative to the snapshot folder).
fn read_err(shown: &str, e: impl std::fmt::Display) -> K8sError {
    K8sError::Snapshot(format!("{shown}: {e}"))
}

/// Parses the documents of a manifest file: JSON (possibly several concatenated) or multi-document YAML.
fn parse_docs(shown: &str, text: &str) -> Result<Vec<Value>, K8sError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut docs = Vec::new();
        for d in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            docs.push(d.map_err(|e| read_err(shown, e))?);
        }
        return Ok(docs);
    }
    let mut docs = Vec::new();
    for d in serde_yaml_ng::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(d).map_err(|e| read_err(shown, e))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// Flattens `List`/`*List` documents and arrays into objects, filling in `kind`/`apiVersion`
/// from the list where items lack them (as in `kubectl cluster-info dump`).
fn flatten(doc: Value, out: &mut Vec<Value>) {
    match doc {
        Value::Array(items) => items.into_iter().for_each(|d| flatten(d, out)),
        Value::Object(mut m) => {
            let kind = m
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(Value::Array(items)) = m.remove("items")
                && (kind.is_empty() || kind.ends_with("List"))
            {
                let api_version = m.get("apiVersion").cloned();
                let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
                for mut it in items {
                    if let Value::Object(im) = &mut it {
                        if !im.contains_key("kind") && !item_kind.is_empty() {
                            im.insert("kind".into(), Value::String(item_kind.clone()));
                        }
                        if !im.contains_key("apiVersion")
                            && let Some(av) = &api_version
                        {
                            im.insert("apiVersion".into(), av.clone());
                        }
                    }
                    flatten(it, out);
                }
            } else if !kind.is_empty() {
                out.push(Value::Object(m));
            }
        }
        _ => {}
    }
}

fn split_api_version(av: &str) -> (String, String) {
    match av.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), av.to_string()),
    }
}

impl Snapshot {
    /// Loads a snapshot folder. See the crate docs for the layout.
    pub fn load(dir: &Path) -> Result<Self, K8sError> {
        // Read the folder and nothing beyond it: links that lead out are skipped,
        // errors name files relative to it (mcp_kit::jail).
        let jail = mcp_kit::jail::Jail::open(dir).map_err(|e| K8sError::Snapshot(e.to_string()))?;
        let listing = jail
            .files()
            .map_err(|e| K8sError::Snapshot(e.to_string()))?;
        for skipped in &listing.skipped {
            tracing::warn!(
                entry = %skipped,
                "snapshot entry not read: a link that leads outside the snapshot folder, or loops"
            );
        }
        let read = |path: &Path| {
            jail.read_to_string(path)
                .map_err(|e| K8sError::Snapshot(e.to_string()))
        };
        let files = listing.files;
        let mut objects_raw = Vec::new();
        let mut logs = BTreeMap::new();
        let mut captured_at = None;
        let mut context = "snapshot".to_string();
        let mut forbidden = Vec::new();
        for path in files {
            let rel = path.strip_prefix(jail.root()).unwrap_or(&path);
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let file = parts.last().cloned().unwrap_or_default();
            // logs/NAMESPACE/POD/CONTAINER[.previous].log
            if parts.len() == 4 && parts[0] == "logs" && file.ends_with(".log") {
                let text = read(&path)?;
                let stem = file.trim_end_matches(".log");
                let (container, previous) = match stem.strip_suffix(".previous") {
                    Some(c) => (c.to_string(), true),
                    None => (stem.to_string(), false),
                };
                logs.insert(
                    (parts[1].clone(), parts[2].clone(), container, previous),
                    text,
                );
                continue;
            }
            // kubectl cluster-info dump: NAMESPACE/POD/logs.txt (the pod's default container).
            if parts.len() == 3 && file == "logs.txt" {
                let text = read(&path)?;
                logs.insert(
                    (parts[0].clone(), parts[1].clone(), String::new(), false),
                    text,
                );
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "yaml" | "yml" | "json") {
                continue;
            }
            let text = read(&path)?;
            if parts.len() == 1 && (file == "snapshot.yaml" || file == "snapshot.yml") {
                let meta: Value =
                    serde_yaml_ng::from_str(&text).map_err(|e| read_err(&jail.shown(&path), e))?;
                captured_at = crate::value::ts(&meta, "/capturedAt");
                if let Some(c) = crate::value::opt_s(&meta, "/context") {
                    context = c.to_string();
                }
                forbidden = crate::value::arr(&meta, "/forbidden")
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect();
                continue;
            }
            for doc in parse_docs(&jail.shown(&path), &text)? {
                flatten(doc, &mut objects_raw);
            }
        }

        let mut resources: Vec<ResourceDef> = BUILTIN
            .iter()
            .map(|(g, v, k, p, n, sn)| ResourceDef {
                group: g.to_string(),
                version: v.to_string(),
                kind: k.to_string(),
                plural: p.to_string(),
                namespaced: *n,
                short_names: sn.iter().map(|x| x.to_string()).collect(),
            })
            .collect();
        // CRDs in the snapshot define their resources.
        for o in &objects_raw {
            if s(o, "/kind") != "CustomResourceDefinition" {
                continue;
            }
            let versions = crate::value::arr(o, "/spec/versions");
            let version = versions
                .iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .or_else(|| versions.first())
                .map(|v| s(v, "/name").to_string())
                .unwrap_or_else(|| "v1".into());
            let def = ResourceDef {
                group: s(o, "/spec/group").to_string(),
                version,
                kind: s(o, "/spec/names/kind").to_string(),
                plural: s(o, "/spec/names/plural").to_string(),
                namespaced: s(o, "/spec/scope") != "Cluster",
                short_names: crate::value::arr(o, "/spec/names/shortNames")
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
            };
            if !def.kind.is_empty() && !def.plural.is_empty() {
                resources.push(def);
            }
        }

        let mut objects: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        let mut latest = None;
        for o in objects_raw {
            let (group, version) = split_api_version(s(&o, "/apiVersion"));
            let kind = s(&o, "/kind").to_string();
            let def = if group == METRICS_GROUP {
                METRICS
                    .iter()
                    .find(|(k, _, _)| *k == kind)
                    .map(|(k, p, n)| ResourceDef {
                        group: group.clone(),
                        version: version.clone(),
                        kind: k.to_string(),
                        plural: p.to_string(),
                        namespaced: *n,
                        short_names: vec![],
                    })
            } else {
                resources
                    .iter()
                    .find(|d| d.group == group && d.kind == kind)
                    .cloned()
            };
            let def = match def {
                Some(d) => d,
                // Unknown kind without a CRD: infer a plural and serve it namespaced if it has a namespace.
                None => ResourceDef {
                    group: group.clone(),
                    version: version.clone(),
                    kind: kind.clone(),
                    plural: plural_of(&kind),
                    namespaced: !s(&o, "/metadata/namespace").is_empty(),
                    short_names: vec![],
                },
            };
            if !resources.contains(&def) {
                resources.push(def.clone());
            }
            if s(&o, "/kind") != "Event" {
                latest_timestamp(o.get("metadata").unwrap_or(&Value::Null), &mut latest);
                latest_timestamp(o.get("status").unwrap_or(&Value::Null), &mut latest);
            } else {
                latest_timestamp(&o, &mut latest);
            }
            objects
                .entry((def.group.clone(), def.plural.clone()))
                .or_default()
                .push(o);
        }
        for list in objects.values_mut() {
            list.sort_by(|a, b| {
                (s(a, "/metadata/namespace"), s(a, "/metadata/name"))
                    .cmp(&(s(b, "/metadata/namespace"), s(b, "/metadata/name")))
            });
            list.dedup_by(|a, b| {
                s(a, "/metadata/namespace") == s(b, "/metadata/namespace")
                    && s(a, "/metadata/name") == s(b, "/metadata/name")
            });
        }
        synthesize_namespaces(&mut objects);
        let now = captured_at.or(latest).unwrap_or_else(Timestamp::now);
        Ok(Self {
            resources,
            objects,
            logs,
            now,
            context,
            forbidden,
        })
    }

    /// Whether the snapshot holds usage data (so `metrics.k8s.io` is served).
    pub fn has_metrics(&self) -> bool {
        self.objects.keys().any(|(g, _)| g == METRICS_GROUP)
    }
}

/// Adds a Namespace object for every namespace that objects live in but that the snapshot
/// does not hold (`kubectl cluster-info dump` writes no namespaces list): on an API server
/// an object cannot exist in a namespace that does not, and the tools ask whether a
/// namespace exists to tell "nothing here" from "no such namespace".
fn synthesize_namespaces(objects: &mut BTreeMap<(String, String), Vec<Value>>) {
    let key = (String::new(), "namespaces".to_string());
    let known: std::collections::BTreeSet<String> = objects
        .get(&key)
        .map(|l| {
            l.iter()
                .map(|n| s(n, "/metadata/name").to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut missing = std::collections::BTreeSet::new();
    for ((_, plural), list) in objects.iter() {
        if plural == "namespaces" {
            continue;
        }
        for o in list {
            let ns = s(o, "/metadata/namespace");
            if !ns.is_empty() && !known.contains(ns) {
                missing.insert(ns.to_string());
            }
        }
    }
    if missing.is_empty() {
        return;
    }
    let list = objects.entry(key).or_default();
    for ns in missing {
        list.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns}, "status": {"phase": "Active"},
        }));
    }
    list.sort_by(|a, b| s(a, "/metadata/name").cmp(s(b, "/metadata/name")));
}

/// A best-effort English plural of a kind, as the API server would name its resource.
pub fn plural_of(kind: &str) -> String {
    let k = kind.to_lowercase();
    if k.ends_with('s') || k.ends_with("sh") || k.ends_with("ch") || k.ends_with('x') {
        format!("{k}es")
    } else if let Some(stem) = k.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{k}s")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A capture someone sent may link to files elsewhere on the machine: the snapshot reads
    /// its folder and nothing beyond it, and its errors never show where the folder lives.
    #[cfg(unix)]
    #[test]
    fn a_snapshot_reads_nothing_outside_its_folder() {
        use std::os::unix::fs::symlink;
        let pod = |name: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"shop"}}}}"#
            )
        };
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("pods.json"), pod("stolen")).unwrap();
        std::fs::write(outside.path().join("app.log"), "TOP SECRET LINE\n").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::write(
            r.join("snapshot.yaml"),
            "capturedAt: 2026-01-01T00:00:00Z\n",
        )
        .unwrap();
        std::fs::write(r.join("pods.json"), pod("inside")).unwrap();
        std::fs::create_dir_all(r.join("logs/shop/inside")).unwrap();
        symlink(outside.path().join("pods.json"), r.join("more-pods.json")).unwrap();
        symlink(outside.path(), r.join("elsewhere")).unwrap();
        symlink(
            outside.path().join("app.log"),
            r.join("logs/shop/inside/app.log"),
        )
        .unwrap();
        symlink(r, r.join("logs/loop")).unwrap();

        let snap = Snapshot::load(r).unwrap();
        let pods: Vec<&str> = snap
            .objects
            .values()
            .flatten()
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some("Pod"))
            .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
            .collect();
        assert_eq!(pods, ["inside"]);
        assert!(snap.logs.is_empty(), "{:?}", snap.logs.keys());

        // A broken file is named relative to the folder, never by its real path.
        std::fs::write(r.join("broken.json"), "{ not json").unwrap();
        let err = Snapshot::load(r).unwrap_err().to_string();
        assert!(err.contains("broken.json"), "{err}");
        let real = r.canonicalize().unwrap();
        assert!(
            !err.contains(&real.display().to_string()) && !err.contains(&r.display().to_string()),
            "{err}"
        );
    }
}
