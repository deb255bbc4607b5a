//! Test-only crate: renders the Kubernetes manifests under `deploy/kustomize`
//! and checks them (`cargo test -p deploy-check`).
//!
//! No `kustomize` or cluster is needed. [`render`] is a small kustomize for
//! exactly the features the manifests use (`resources`, `components`,
//! `patches` as JSON 6902 with a `target`, `images`, `namespace`) and refuses
//! any other kustomization key, so a manifest can never rely on something this
//! crate silently ignores. When `kubectl` is on the `PATH`, a test compares
//! [`render`] with `kubectl kustomize`.
//!
//! Every object is parsed into its `k8s-openapi` type; an unknown kind fails,
//! and so does a field the type does not know (the typed value is serialised
//! again and compared with the YAML, so a misspelt field cannot hide).
//!
//! Each `check_*` function returns the problems it found, one sentence each;
//! an empty list means the check passed. The unit tests at the bottom feed
//! each one a bad manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde_json::Value;

pub mod helm;

/// Problems found by a check; empty when it passed.
pub type Problems = Vec<String>;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

// ---------------------------------------------------------------------------
// YAML and typed objects
// ---------------------------------------------------------------------------

/// Splits multi-document YAML into JSON values, skipping empty documents.
pub fn split_yaml(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| format!("invalid YAML: {e}"))?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Reads and splits one YAML file.
pub fn read_yaml(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    split_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A Kubernetes object parsed into its `k8s-openapi` type.
#[derive(Debug, Clone)]
pub enum Object {
    /// apps/v1 Deployment.
    Deployment(Box<Deployment>),
    /// apps/v1 StatefulSet.
    StatefulSet(Box<StatefulSet>),
    /// v1 Service.
    Service(Box<Service>),
    /// v1 ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// v1 ConfigMap.
    ConfigMap(Box<ConfigMap>),
    /// v1 Secret.
    Secret(Box<Secret>),
    /// autoscaling/v2 HorizontalPodAutoscaler.
    Hpa(Box<HorizontalPodAutoscaler>),
    /// policy/v1 PodDisruptionBudget.
    Pdb(Box<PodDisruptionBudget>),
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy(Box<NetworkPolicy>),
    /// networking.k8s.io/v1 Ingress.
    Ingress(Box<Ingress>),
    /// rbac.authorization.k8s.io/v1 ClusterRole.
    ClusterRole(Box<ClusterRole>),
    /// rbac.authorization.k8s.io/v1 Role.
    Role(Box<Role>),
    /// rbac.authorization.k8s.io/v1 ClusterRoleBinding.
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    /// rbac.authorization.k8s.io/v1 RoleBinding.
    RoleBinding(Box<RoleBinding>),
}

impl Object {
    /// The object's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Hpa(o) => &o.metadata,
            Object::Pdb(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
        }
    }

    /// The kind, as in the manifest.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Deployment(_) => "Deployment",
            Object::StatefulSet(_) => "StatefulSet",
            Object::Service(_) => "Service",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
            Object::Hpa(_) => "HorizontalPodAutoscaler",
            Object::Pdb(_) => "PodDisruptionBudget",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::Ingress(_) => "Ingress",
            Object::ClusterRole(_) => "ClusterRole",
            Object::Role(_) => "Role",
            Object::ClusterRoleBinding(_) => "ClusterRoleBinding",
            Object::RoleBinding(_) => "RoleBinding",
        }
    }

    /// `Kind/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), name(self.meta()))
    }
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("<unnamed>")
}

fn ns(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(raw: &Value) -> Result<T, String> {
    let parsed: T = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    // Fields the type does not know are dropped by deserialisation: serialise
    // again and compare, so a misspelt or misplaced field is an error.
    let again = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    if let Some(path) = first_difference(&strip_nulls(raw), &strip_nulls(&again), String::new()) {
        return Err(format!(
            "field `{path}` is unknown to the schema or has the wrong shape"
        ));
    }
    Ok(parsed)
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, p) {
                            return Some(d);
                        }
                    }
                    None => return Some(p),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(path);
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_difference(v, w, format!("{path}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => None,
        _ if a == b => None,
        _ => Some(path),
    }
}

/// Parses one object into its `k8s-openapi` type; unknown kinds and unknown
/// fields are errors.
pub fn parse_object(raw: &Value) -> Result<Object, String> {
    let api = raw.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = raw.get("kind").and_then(Value::as_str).unwrap_or("");
    let id = format!(
        "{kind}/{}",
        raw.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
    );
    let result = match (api, kind) {
        ("apps/v1", "Deployment") => typed(raw).map(|o| Object::Deployment(Box::new(o))),
        ("apps/v1", "StatefulSet") => typed(raw).map(|o| Object::StatefulSet(Box::new(o))),
        ("v1", "Service") => typed(raw).map(|o| Object::Service(Box::new(o))),
        ("v1", "ServiceAccount") => typed(raw).map(|o| Object::ServiceAccount(Box::new(o))),
        ("v1", "ConfigMap") => typed(raw).map(|o| Object::ConfigMap(Box::new(o))),
        ("v1", "Secret") => typed(raw).map(|o| Object::Secret(Box::new(o))),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            typed(raw).map(|o| Object::Hpa(Box::new(o)))
        }
        ("policy/v1", "PodDisruptionBudget") => typed(raw).map(|o| Object::Pdb(Box::new(o))),
        ("networking.k8s.io/v1", "NetworkPolicy") => {
            typed(raw).map(|o| Object::NetworkPolicy(Box::new(o)))
        }
        ("networking.k8s.io/v1", "Ingress") => typed(raw).map(|o| Object::Ingress(Box::new(o))),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
            typed(raw).map(|o| Object::ClusterRole(Box::new(o)))
        }
        ("rbac.authorization.k8s.io/v1", "Role") => typed(raw).map(|o| Object::Role(Box::new(o))),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            typed(raw).map(|o| Object::ClusterRoleBinding(Box::new(o)))
        }
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
            typed(raw).map(|o| Object::RoleBinding(Box::new(o)))
        }
        _ => Err(format!(
            "unknown kind `{kind}` of apiVersion `{api}` (teach deploy/check about it)"
        )),
    };
    result.map_err(|e| format!("{id}: {e}"))
}

/// Parses every object; the first problem of each bad one is reported.
pub fn parse_all(raws: &[Value]) -> Result<Vec<Object>, Problems> {
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for raw in raws {
        match parse_object(raw) {
            Ok(o) => objects.push(o),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(objects)
    } else {
        Err(problems)
    }
}

// ---------------------------------------------------------------------------
// A small kustomize
// ---------------------------------------------------------------------------

const KUSTOMIZATION_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "components",
    "patches",
    "images",
];

const CLUSTER_SCOPED: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Namespace"];

/// Renders a kustomization directory the way `kubectl kustomize` does, for
/// the features listed in the crate docs.
pub fn render(dir: &Path) -> Result<Vec<Value>, String> {
    let objects = render_dir(dir, false)?;
    let mut seen = BTreeSet::new();
    for o in &objects {
        let key = object_key(o);
        if !seen.insert(key.clone()) {
            return Err(format!("{}: {key} is defined twice", dir.display()));
        }
    }
    Ok(objects)
}

fn object_key(o: &Value) -> String {
    format!(
        "{}/{}/{}/{}",
        o.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        o.get("kind").and_then(Value::as_str).unwrap_or(""),
        o.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

/// Reads `dir/kustomization.yaml`, refusing keys [`render`] does not implement.
pub fn read_kustomization(dir: &Path) -> Result<serde_json::Map<String, Value>, String> {
    let path = dir.join("kustomization.yaml");
    let docs = read_yaml(&path)?;
    let [Value::Object(k)] = docs.as_slice() else {
        return Err(format!("{}: expected one mapping", path.display()));
    };
    for key in k.keys() {
        if !KUSTOMIZATION_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "{}: key `{key}` is not implemented by deploy/check's renderer",
                path.display()
            ));
        }
    }
    Ok(k.clone())
}

fn strings(k: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    k.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn render_dir(dir: &Path, component: bool) -> Result<Vec<Value>, String> {
    let k = read_kustomization(dir)?;
    let kind = k
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("Kustomization");
    let want = if component {
        "Component"
    } else {
        "Kustomization"
    };
    if kind != want {
        return Err(format!("{}: kind {kind}, expected {want}", dir.display()));
    }
    let mut objects = Vec::new();
    for r in strings(&k, "resources") {
        let path = dir.join(&r);
        if path.is_dir() {
            objects.extend(render_dir(&path, false)?);
        } else {
            objects.extend(read_yaml(&path)?);
        }
    }
    for c in strings(&k, "components") {
        apply_component(&dir.join(c), &mut objects)?;
    }
    apply_transformers(dir, &k, &mut objects)?;
    Ok(objects)
}

fn apply_component(dir: &Path, objects: &mut Vec<Value>) -> Result<(), String> {
    let k = read_kustomization(dir)?;
    let kind = k.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Component" {
        return Err(format!(
            "{}: kind {kind}, expected Component",
            dir.display()
        ));
    }
    for r in strings(&k, "resources") {
        objects.extend(read_yaml(&dir.join(r))?);
    }
    for c in strings(&k, "components") {
        apply_component(&dir.join(c), objects)?;
    }
    apply_transformers(dir, &k, objects)
}

fn apply_transformers(
    dir: &Path,
    k: &serde_json::Map<String, Value>,
    objects: &mut [Value],
) -> Result<(), String> {
    for patch in k
        .get("patches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        apply_patch_entry(dir, patch, objects)?;
    }
    for image in k
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        set_image(image, objects)?;
    }
    if let Some(namespace) = k.get("namespace").and_then(Value::as_str) {
        for o in objects.iter_mut() {
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
            if !CLUSTER_SCOPED.contains(&kind)
                && let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.into()));
            }
        }
    }
    Ok(())
}

fn api_group_version(o: &Value) -> (String, String) {
    let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match api.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api.to_string()),
    }
}

fn apply_patch_entry(dir: &Path, entry: &Value, objects: &mut [Value]) -> Result<(), String> {
    let Some(path) = entry.get("path").and_then(Value::as_str) else {
        return Err(format!(
            "{}: only `patches` with `path` (a JSON 6902 file) are supported",
            dir.display()
        ));
    };
    let Some(target) = entry.get("target").and_then(Value::as_object) else {
        return Err(format!("{}: patch {path} has no target", dir.display()));
    };
    for key in target.keys() {
        if !["group", "version", "kind", "name"].contains(&key.as_str()) {
            return Err(format!(
                "{}: patch {path}: target key `{key}` is not implemented",
                dir.display()
            ));
        }
    }
    let ops = read_yaml(&dir.join(path))?;
    let [Value::Array(ops)] = ops.as_slice() else {
        return Err(format!(
            "{}: patch {path} must be one list of JSON 6902 operations",
            dir.display()
        ));
    };
    let field = |k: &str| target.get(k).and_then(Value::as_str);
    let mut matched = 0;
    for o in objects.iter_mut() {
        let (group, version) = api_group_version(o);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        let obj_name = o.pointer("/metadata/name").and_then(Value::as_str);
        if field("group").is_some_and(|g| g != group)
            || field("version").is_some_and(|v| v != version)
            || field("kind").is_some_and(|k| k != kind)
            || field("name").is_some_and(|n| Some(n) != obj_name)
        {
            continue;
        }
        matched += 1;
        for op in ops {
            json_patch(o, op).map_err(|e| format!("{}: patch {path}: {e}", dir.display()))?;
        }
    }
    if matched == 0 {
        return Err(format!("{}: patch {path} matches no object", dir.display()));
    }
    Ok(())
}

fn set_image(image: &Value, objects: &mut [Value]) -> Result<(), String> {
    let Some(wanted) = image.get("name").and_then(Value::as_str) else {
        return Err("an `images` entry has no name".into());
    };
    let new_name = image.get("newName").and_then(Value::as_str);
    let new_tag = image.get("newTag").and_then(Value::as_str);
    for o in objects.iter_mut() {
        for list in ["containers", "initContainers"] {
            let pointer = format!("/spec/template/spec/{list}");
            let Some(containers) = o.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
                continue;
            };
            for c in containers {
                let Some(current) = c.get("image").and_then(Value::as_str) else {
                    continue;
                };
                let (base, tag) = split_image(current);
                if base != wanted {
                    continue;
                }
                let replaced = format!(
                    "{}{}",
                    new_name.unwrap_or(base),
                    match (new_tag, tag) {
                        (Some(t), _) => format!(":{t}"),
                        (None, Some(t)) => t.to_string(),
                        (None, None) => String::new(),
                    }
                );
                c["image"] = Value::String(replaced);
            }
        }
    }
    Ok(())
}

/// `(name, ":tag" or "@digest")` of an image reference.
fn split_image(image: &str) -> (&str, Option<&str>) {
    if let Some(at) = image.find('@') {
        return (&image[..at], Some(&image[at..]));
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(colon) => (
            &image[..last_slash + colon],
            Some(&image[last_slash + colon..]),
        ),
        None => (image, None),
    }
}

fn pointer_tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path `{path}` must start with /"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Applies one JSON 6902 operation (`add`, `replace`, `remove`, `test`).
pub fn json_patch(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
    let path = op.get("path").and_then(Value::as_str).unwrap_or("");
    let mut tokens = pointer_tokens(path)?;
    let Some(last) = tokens.pop() else {
        return Err("patching the whole document is not supported".into());
    };
    let parent_path: String = tokens.iter().map(|t| format!("/{t}")).collect();
    let value = op.get("value").cloned();
    let parent = doc
        .pointer_mut(&parent_path)
        .ok_or_else(|| format!("{kind} {path}: `{parent_path}` does not exist"))?;
    match (kind, parent) {
        ("add", Value::Object(m)) => {
            m.insert(last, value.ok_or("add without value")?);
        }
        ("add", Value::Array(a)) => {
            let v = value.ok_or("add without value")?;
            if last == "-" {
                a.push(v);
            } else {
                let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                if i > a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.insert(i, v);
            }
        }
        ("replace" | "remove" | "test", parent) => {
            let slot = match parent {
                Value::Object(m) => m.get_mut(&last),
                Value::Array(a) => last.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{kind} {path}: nothing there"))?;
            match kind {
                "replace" => *slot = value.ok_or("replace without value")?,
                "test" => {
                    if Some(&*slot) != value.as_ref() {
                        return Err(format!("test {path} failed"));
                    }
                }
                _ => match parent {
                    Value::Object(m) => {
                        m.remove(&last);
                    }
                    Value::Array(a) => {
                        let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                        a.remove(i);
                    }
                    _ => {}
                },
            }
        }
        _ => return Err(format!("unsupported operation `{kind}` at {path}")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Helpers over typed objects
// ---------------------------------------------------------------------------

fn deployments(objects: &[Object]) -> impl Iterator<Item = &Deployment> {
    objects.iter().filter_map(|o| match o {
        Object::Deployment(d) => Some(d.as_ref()),
        _ => None,
    })
}

/// A workload that runs pods: a Deployment or a StatefulSet.
struct Workload<'a> {
    id: String,
    namespace: &'a str,
    labels: BTreeMap<String, String>,
    pod: Option<&'a PodSpec>,
}

impl Workload<'_> {
    fn containers(&self) -> impl Iterator<Item = &Container> {
        self.pod.into_iter().flat_map(|p| {
            p.containers
                .iter()
                .chain(p.init_containers.iter().flatten())
        })
    }
}

fn workloads(objects: &[Object]) -> impl Iterator<Item = Workload<'_>> {
    objects.iter().filter_map(|o| {
        let (meta, template) = match o {
            Object::Deployment(d) => (&d.metadata, d.spec.as_ref().map(|s| &s.template)),
            Object::StatefulSet(s) => (&s.metadata, s.spec.as_ref().map(|s| &s.template)),
            _ => return None,
        };
        Some(Workload {
            id: format!("{}/{}", o.kind(), name(meta)),
            namespace: ns(meta),
            labels: template
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.labels.clone())
                .unwrap_or_default(),
            pod: template.and_then(|t| t.spec.as_ref()),
        })
    })
}

fn pod_spec(d: &Deployment) -> Option<&PodSpec> {
    d.spec.as_ref()?.template.spec.as_ref()
}

fn pod_labels(d: &Deployment) -> BTreeMap<String, String> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

fn containers(d: &Deployment) -> impl Iterator<Item = &Container> {
    pod_spec(d).into_iter().flat_map(|p| {
        p.containers
            .iter()
            .chain(p.init_containers.iter().flatten())
    })
}

/// Whether `selector` selects `labels`; an empty selector selects everything.
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expr = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        let got = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => got.is_some_and(|g| values.contains(g)),
            "NotIn" => !got.is_some_and(|g| values.contains(g)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            _ => false,
        }
    });
    by_labels && by_expr
}

fn map_selector(m: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(m.clone()),
        match_expressions: None,
    }
}

/// The value of `--flag` in `args` (`--flag value` or `--flag=value`).
pub fn arg_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().map(String::as_str);
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

fn container_args(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

/// A Kubernetes quantity in base units (cores, bytes).
pub fn quantity(q: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("m", 0.001),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    q.parse().ok()
}

fn port_matches(port: &IntOrString, c: &Container) -> bool {
    c.ports.iter().flatten().any(|p| match port {
        IntOrString::Int(n) => p.container_port == *n,
        IntOrString::String(s) => p.name.as_deref() == Some(s.as_str()),
    })
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// Every container has a liveness probe on `/healthz` and a readiness probe on
/// `/readyz`, over HTTP, on one of its ports.
pub fn check_probes(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        for c in pod_spec(d)
            .map(|p| p.containers.as_slice())
            .unwrap_or_default()
        {
            let who = format!("Deployment/{} container {}", name(&d.metadata), c.name);
            for (kind, probe, path) in [
                ("liveness", &c.liveness_probe, "/healthz"),
                ("readiness", &c.readiness_probe, "/readyz"),
            ] {
                match probe.as_ref().and_then(|p| p.http_get.as_ref()) {
                    None => out.push(format!("{who}: no HTTP {kind} probe")),
                    Some(get) => {
                        if get.path.as_deref() != Some(path) {
                            out.push(format!(
                                "{who}: {kind} probe path is {:?}, expected {path}",
                                get.path
                            ));
                        }
                        if !port_matches(&get.port, c) {
                            out.push(format!(
                                "{who}: {kind} probe port {:?} is not a container port",
                                get.port
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Every container requests and limits CPU and memory, requests ≤ limits.
pub fn check_resources(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for w in workloads(objects) {
        for c in w.containers() {
            let who = format!("{} container {}", w.id, c.name);
            let res = c.resources.clone().unwrap_or_default();
            for resource in ["cpu", "memory"] {
                let request = res.requests.as_ref().and_then(|m| m.get(resource));
                let limit = res.limits.as_ref().and_then(|m| m.get(resource));
                match (request, limit) {
                    (None, _) => out.push(format!("{who}: no {resource} request")),
                    (_, None) => out.push(format!("{who}: no {resource} limit")),
                    (Some(r), Some(l)) => match (quantity(&r.0), quantity(&l.0)) {
                        (Some(r), Some(l)) if r <= l && r > 0.0 => {}
                        (Some(_), Some(_)) => out.push(format!(
                            "{who}: {resource} request must be positive and not above the limit"
                        )),
                        _ => out.push(format!("{who}: unreadable {resource} quantity")),
                    },
                }
            }
        }
    }
    out
}

/// Every Deployment runs as non-root with a read-only root filesystem, no
/// privilege escalation and all capabilities dropped.
pub fn check_security(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for w in workloads(objects) {
        let Some(pod) = w.pod else {
            out.push(format!("{}: no pod spec", w.id));
            continue;
        };
        let pod_sc = pod.security_context.clone().unwrap_or_default();
        if pod_sc.run_as_user == Some(0) {
            out.push(format!("{}: runAsUser 0", w.id));
        }
        for c in w.containers() {
            let who = format!("{} container {}", w.id, c.name);
            let sc = c.security_context.clone().unwrap_or_default();
            let non_root = sc.run_as_non_root.or(pod_sc.run_as_non_root) == Some(true);
            if !non_root {
                out.push(format!("{who}: runAsNonRoot is not true"));
            }
            if sc.run_as_user == Some(0) {
                out.push(format!("{who}: runAsUser 0"));
            }
            if sc.read_only_root_filesystem != Some(true) {
                out.push(format!("{who}: readOnlyRootFilesystem is not true"));
            }
            if sc.allow_privilege_escalation != Some(false) {
                out.push(format!("{who}: allowPrivilegeEscalation is not false"));
            }
            if sc.privileged == Some(true) {
                out.push(format!("{who}: privileged"));
            }
            let drops_all = sc
                .capabilities
                .as_ref()
                .and_then(|c| c.drop.as_ref())
                .is_some_and(|d| d.iter().any(|x| x == "ALL"));
            if !drops_all {
                out.push(format!("{who}: capabilities do not drop ALL"));
            }
            if sc
                .capabilities
                .as_ref()
                .and_then(|c| c.add.as_ref())
                .is_some_and(|a| !a.is_empty())
            {
                out.push(format!("{who}: adds capabilities"));
            }
            match c.image.as_deref().map(split_image) {
                None | Some((_, None)) => out.push(format!("{who}: image has no tag")),
                Some((_, Some(":latest"))) => out.push(format!("{who}: image tag is latest")),
                _ => {}
            }
        }
    }
    out
}

const READ_VERBS: &[&str] = &["get", "list", "watch"];

fn rules(objects: &[Object]) -> impl Iterator<Item = (String, &PolicyRule)> {
    objects.iter().flat_map(|o| {
        let rules = match o {
            Object::ClusterRole(r) => r.rules.as_deref().unwrap_or_default(),
            Object::Role(r) => r.rules.as_deref().unwrap_or_default(),
            _ => &[],
        };
        rules.iter().map(move |r| (o.id(), r))
    })
}

/// Every `(apiGroup, resource)` of `required` can be listed by some role in
/// `objects`: what the investigation reads must not be Forbidden in a real
/// cluster. (Kubernetes answers a missing grant with 403, which the engine
/// reports as a data gap; the tool would work in a test and not in prod.)
pub fn check_grants_reads(objects: &[Object], required: &[(&str, &str)]) -> Problems {
    let mut out = Vec::new();
    for (group, resource) in required {
        let granted = rules(objects).any(|(_, rule)| {
            rule.api_groups
                .iter()
                .flatten()
                .any(|g| g == group || g == "*")
                && rule
                    .resources
                    .iter()
                    .flatten()
                    .any(|r| r == resource || r == "*")
                && rule.verbs.iter().any(|v| v == "list" || v == "*")
        });
        if !granted {
            let group = if group.is_empty() { "core" } else { group };
            out.push(format!("no role lets the agent list {resource} ({group})"));
        }
    }
    out
}

/// Read-only: no RBAC verb but get/list/watch, no wildcard, no Secrets, and
/// no container started with `--allow-writes`.
pub fn check_read_only(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for (id, rule) in rules(objects) {
        for verb in &rule.verbs {
            if !READ_VERBS.contains(&verb.as_str()) {
                out.push(format!("{id}: verb `{verb}` in the read-only set"));
            }
        }
        for r in rule.resources.iter().flatten() {
            if r == "*" || r == "secrets" {
                out.push(format!("{id}: resource `{r}` in the read-only set"));
            }
        }
        if rule.api_groups.iter().flatten().any(|g| g == "*") {
            out.push(format!("{id}: apiGroups `*`"));
        }
        if rule.non_resource_urls.is_some() {
            out.push(format!("{id}: nonResourceURLs"));
        }
    }
    for d in deployments(objects) {
        for c in containers(d) {
            if has_flag(&container_args(c), "--allow-writes") {
                out.push(format!(
                    "Deployment/{} container {}: --allow-writes in the read-only set",
                    name(&d.metadata),
                    c.name
                ));
            }
        }
    }
    out
}

/// The writes component: mcp-kubernetes has `--allow-writes`, and a role bound
/// to its service account allows exactly what its write tools do (patch
/// workloads, delete pods) and no other write.
pub fn check_writes_enabled(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    let Some(k8s) = deployments(objects).find(|d| name(&d.metadata) == "mcp-kubernetes") else {
        return vec!["no Deployment/mcp-kubernetes".into()];
    };
    if !containers(k8s).any(|c| has_flag(&container_args(c), "--allow-writes")) {
        out.push("Deployment/mcp-kubernetes: no --allow-writes".into());
    }
    let sa = pod_spec(k8s)
        .and_then(|p| p.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let bound: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| {
            let (role, subjects) = match o {
                Object::ClusterRoleBinding(b) => (&b.role_ref, &b.subjects),
                Object::RoleBinding(b) => (&b.role_ref, &b.subjects),
                _ => return None,
            };
            subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "ServiceAccount" && s.name == sa)
                .then(|| format!("{}/{}", role.kind, role.name))
        })
        .collect();
    let allowed = |rule: &PolicyRule, verb: &str, group: &str, resource: &str| {
        rule.verbs.iter().any(|v| v == verb)
            && rule.api_groups.iter().flatten().any(|g| g == group)
            && rule.resources.iter().flatten().any(|r| r == resource)
    };
    let bound_rules: Vec<(String, &PolicyRule)> = rules(objects)
        .filter(|(id, _)| bound.contains(id))
        .collect();
    for (verb, group, resource) in [
        ("patch", "apps", "deployments"),
        ("patch", "apps", "statefulsets"),
        ("patch", "apps", "daemonsets"),
        ("delete", "", "pods"),
    ] {
        if !bound_rules
            .iter()
            .any(|(_, r)| allowed(r, verb, group, resource))
        {
            out.push(format!(
                "no role bound to ServiceAccount/{sa} allows {verb} {group}/{resource}"
            ));
        }
    }
    for (id, rule) in &bound_rules {
        for verb in &rule.verbs {
            if !READ_VERBS.contains(&verb.as_str()) && verb != "patch" && verb != "delete" {
                out.push(format!(
                    "{id}: verb `{verb}` beyond what the write tools use"
                ));
            }
        }
        for r in rule.resources.iter().flatten() {
            if r == "*" || r == "secrets" {
                out.push(format!("{id}: resource `{r}`"));
            }
        }
    }
    out
}

/// Secrets hold placeholders only: every `stringData` value contains
/// `REPLACE_ME`, and `data` (base64, where a real value hides) is empty.
pub fn check_secrets_are_placeholders(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for o in objects {
        let Object::Secret(s) = o else { continue };
        if s.data.as_ref().is_some_and(|d| !d.is_empty()) {
            out.push(format!(
                "{}: has `data`; use placeholders in stringData",
                o.id()
            ));
        }
        for (key, value) in s.string_data.iter().flatten() {
            if !value.contains("REPLACE_ME") {
                out.push(format!(
                    "{}: key `{key}` holds a real-looking value (no REPLACE_ME)",
                    o.id()
                ));
            }
        }
    }
    out
}

/// Every Secret key a Deployment reads exists in `secrets` (the example).
pub fn check_secret_refs(objects: &[Object], secrets: &[Object]) -> Problems {
    let keys: BTreeSet<(String, String)> = secrets
        .iter()
        .filter_map(|o| match o {
            Object::Secret(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            let n = name(&s.metadata).to_string();
            s.string_data
                .iter()
                .flat_map(|m| m.keys())
                .chain(s.data.iter().flat_map(|m| m.keys()))
                .map(move |k| (n.clone(), k.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out = Vec::new();
    for d in deployments(objects) {
        let who = format!("Deployment/{}", name(&d.metadata));
        for c in containers(d) {
            for env in c.env.iter().flatten() {
                if let Some(r) = env
                    .value_from
                    .as_ref()
                    .and_then(|v| v.secret_key_ref.as_ref())
                    && !keys.contains(&(r.name.clone(), r.key.clone()))
                {
                    out.push(format!(
                        "{who}: env {} reads Secret {} key {}, which the example lacks",
                        env.name, r.name, r.key
                    ));
                }
            }
        }
        for v in pod_spec(d)
            .and_then(|p| p.volumes.as_ref())
            .into_iter()
            .flatten()
        {
            let Some(s) = &v.secret else { continue };
            let secret = s.secret_name.clone().unwrap_or_default();
            let items: Vec<String> = s.items.iter().flatten().map(|i| i.key.clone()).collect();
            if items.is_empty() && !keys.iter().any(|(n, _)| *n == secret) {
                out.push(format!(
                    "{who}: volume {} mounts unknown Secret {secret}",
                    v.name
                ));
            }
            for key in items {
                if !keys.contains(&(secret.clone(), key.clone())) {
                    out.push(format!(
                        "{who}: volume {} reads Secret {secret} key {key}, which the example lacks",
                        v.name
                    ));
                }
            }
        }
    }
    out
}

/// The bot's autoscaler: Deployment `sre-agent`, 2..10 replicas, CPU 70 %,
/// memory 80 % average utilisation; and every autoscaler targets a Deployment.
pub fn check_hpa(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    let mut bot_found = false;
    for o in objects {
        let Object::Hpa(h) = o else { continue };
        let Some(spec) = &h.spec else {
            out.push(format!("{}: no spec", o.id()));
            continue;
        };
        let target = &spec.scale_target_ref;
        let Some(d) = deployments(objects).find(|d| {
            target.kind == "Deployment"
                && name(&d.metadata) == target.name
                && ns(&d.metadata) == ns(&h.metadata)
        }) else {
            out.push(format!(
                "{}: targets {} {}, which does not exist",
                o.id(),
                target.kind,
                target.name
            ));
            continue;
        };
        if target.name != "sre-agent" {
            continue;
        }
        bot_found = true;
        if spec.min_replicas != Some(2) {
            out.push(format!(
                "{}: minReplicas {:?}, expected 2",
                o.id(),
                spec.min_replicas
            ));
        }
        if spec.max_replicas != 10 {
            out.push(format!(
                "{}: maxReplicas {}, expected 10",
                o.id(),
                spec.max_replicas
            ));
        }
        let replicas = d.spec.as_ref().and_then(|s| s.replicas);
        if replicas.is_some_and(|r| r < spec.min_replicas.unwrap_or(1)) {
            out.push(format!("{}: Deployment replicas below minReplicas", o.id()));
        }
        let mut targets = BTreeMap::new();
        for m in spec.metrics.iter().flatten() {
            match (&m.type_[..], &m.resource) {
                ("Resource", Some(r)) if r.target.type_ == "Utilization" => {
                    targets.insert(r.name.clone(), r.target.average_utilization);
                }
                _ => out.push(format!("{}: unexpected metric {:?}", o.id(), m.type_)),
            }
        }
        let expected = BTreeMap::from([
            ("cpu".to_string(), Some(70)),
            ("memory".to_string(), Some(80)),
        ]);
        if targets != expected {
            out.push(format!(
                "{}: targets {targets:?}, expected cpu 70 % and memory 80 %",
                o.id()
            ));
        }
    }
    if !bot_found && !out.iter().any(|p| p.contains("sre-agent")) {
        out.push("no HorizontalPodAutoscaler for Deployment/sre-agent".into());
    }
    out
}

/// Selectors: each Deployment's selects its own pods; every Service's and
/// PodDisruptionBudget's selects a Deployment's pods; every Service port's
/// target port is a container port of those pods.
pub fn check_selectors(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        let sel = d.spec.as_ref().map(|s| &s.selector);
        if !sel.is_some_and(|s| selects(s, &pod_labels(d)) && *s != LabelSelector::default()) {
            out.push(format!(
                "Deployment/{}: selector does not select its own pod template",
                name(&d.metadata)
            ));
        }
    }
    for o in objects {
        let (selector, namespace) = match o {
            Object::Service(s) => {
                let sel = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.clone())
                    .unwrap_or_default();
                (map_selector(&sel), ns(&s.metadata))
            }
            Object::Pdb(p) => (
                p.spec
                    .as_ref()
                    .and_then(|s| s.selector.clone())
                    .unwrap_or_default(),
                ns(&p.metadata),
            ),
            _ => continue,
        };
        if selector == LabelSelector::default() || selector == map_selector(&BTreeMap::new()) {
            out.push(format!("{}: empty selector", o.id()));
            continue;
        }
        let matched: Vec<Workload> = workloads(objects)
            .filter(|w| w.namespace == namespace && selects(&selector, &w.labels))
            .collect();
        if matched.is_empty() {
            out.push(format!("{}: selector matches no workload's pods", o.id()));
        }
        if let Object::Service(s) = o {
            for p in s.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
                let target = p.target_port.clone().unwrap_or(IntOrString::Int(p.port));
                for w in &matched {
                    if !w.containers().any(|c| port_matches(&target, c)) {
                        out.push(format!(
                            "{}: port {} targets {target:?}, not a port of {}",
                            o.id(),
                            p.port,
                            w.id
                        ));
                    }
                }
            }
        }
    }
    out
}

fn is_mcp_server(d: &Deployment) -> bool {
    pod_labels(d)
        .get("app.kubernetes.io/component")
        .is_some_and(|c| c == "mcp-server")
}

/// MCP servers accept ingress only from the bot's pods: some policy isolates
/// their ingress, and every ingress rule that applies to them names only
/// peers whose pod selector matches the bot (`bot`) and no other Deployment.
pub fn check_network_policies(objects: &[Object], bot: &str) -> Problems {
    let mut out = Vec::new();
    let policies: Vec<&NetworkPolicy> = objects
        .iter()
        .filter_map(|o| match o {
            Object::NetworkPolicy(p) => Some(p.as_ref()),
            _ => None,
        })
        .collect();
    let Some(bot_d) = deployments(objects).find(|d| name(&d.metadata) == bot) else {
        return vec![format!("no Deployment/{bot}")];
    };
    let bot_labels = pod_labels(bot_d);
    for d in deployments(objects).filter(|d| is_mcp_server(d)) {
        let labels = pod_labels(d);
        let who = format!("Deployment/{}", name(&d.metadata));
        let applying: Vec<&NetworkPolicy> = policies
            .iter()
            .copied()
            .filter(|p| ns(&p.metadata) == ns(&d.metadata))
            .filter(|p| {
                p.spec.as_ref().is_some_and(|s| {
                    let isolates_ingress = match &s.policy_types {
                        Some(t) => t.iter().any(|t| t == "Ingress"),
                        None => true,
                    };
                    isolates_ingress
                        && selects(&s.pod_selector.clone().unwrap_or_default(), &labels)
                })
            })
            .collect();
        if applying.is_empty() {
            out.push(format!("{who}: no NetworkPolicy restricts its ingress"));
        }
        for p in applying {
            let pid = format!("NetworkPolicy/{}", name(&p.metadata));
            for rule in p.spec.iter().flat_map(|s| s.ingress.iter().flatten()) {
                let peers = rule.from.clone().unwrap_or_default();
                if peers.is_empty() {
                    out.push(format!("{pid}: lets anyone reach {who}"));
                }
                for peer in peers {
                    let only_bot = peer.ip_block.is_none()
                        && peer.namespace_selector.is_none()
                        && peer.pod_selector.as_ref().is_some_and(|sel| {
                            selects(sel, &bot_labels)
                                && deployments(objects)
                                    .filter(|o| name(&o.metadata) != bot)
                                    .all(|o| !selects(sel, &pod_labels(o)))
                        });
                    if !only_bot {
                        out.push(format!("{pid}: lets a peer other than the bot reach {who}"));
                    }
                }
            }
        }
    }
    out
}

/// One server entry of the bot's config file.
#[derive(Debug, Clone, Deserialize)]
pub struct ConfiguredServer {
    /// Tool prefix.
    pub name: String,
    /// `http` or `stdio`.
    pub transport: String,
    /// The MCP endpoint for `http`.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BotConfig {
    #[serde(default)]
    servers: Vec<ConfiguredServer>,
}

/// The bot's config file (`config.toml` in ConfigMap `configmap`) lists every
/// MCP Service by a URL that resolves to it (`http://svc[.ns[.svc[.cluster.local]]]:port/mcp`),
/// on one of its ports, with a host the server accepts (`--allowed-hosts`);
/// the bot's Deployment mounts that ConfigMap.
pub fn check_bot_config(objects: &[Object], configmap: &str, bot: &str) -> Problems {
    let mut out = Vec::new();
    let Some(cm) = objects.iter().find_map(|o| match o {
        Object::ConfigMap(c) if name(&c.metadata) == configmap => Some(c),
        _ => None,
    }) else {
        return vec![format!("no ConfigMap/{configmap}")];
    };
    let Some(text) = cm.data.as_ref().and_then(|d| d.get("config.toml")) else {
        return vec![format!("ConfigMap/{configmap}: no config.toml")];
    };
    let config: BotConfig = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => return vec![format!("ConfigMap/{configmap}: config.toml: {e}")],
    };
    let mounted = deployments(objects)
        .filter(|d| name(&d.metadata) == bot)
        .flat_map(|d| {
            pod_spec(d)
                .and_then(|p| p.volumes.clone())
                .unwrap_or_default()
        })
        .any(|v| v.config_map.is_some_and(|c| c.name == configmap));
    if !mounted {
        out.push(format!(
            "Deployment/{bot} does not mount ConfigMap/{configmap}"
        ));
    }
    let mut referenced = BTreeSet::new();
    for server in &config.servers {
        let who = format!("config.toml server `{}`", server.name);
        if server.transport != "http" {
            continue;
        }
        let Some(url) = &server.url else {
            out.push(format!("{who}: no url"));
            continue;
        };
        let Some(rest) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            out.push(format!("{who}: url {url} is not http(s)"));
            continue;
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<i32>().ok()),
            None => (
                authority,
                Some(if url.starts_with("https") { 443 } else { 80 }),
            ),
        };
        if path != "mcp" {
            out.push(format!(
                "{who}: url path is /{path}, the MCP endpoint is /mcp"
            ));
        }
        let parts: Vec<&str> = host.split('.').collect();
        let (svc_name, svc_ns) = match parts.as_slice() {
            [s] => (*s, ns(&cm.metadata)),
            [s, n] | [s, n, "svc"] | [s, n, "svc", "cluster", "local"] => (*s, *n),
            _ => {
                out.push(format!("{who}: host {host} is not a Service DNS name"));
                continue;
            }
        };
        let Some(svc) = objects.iter().find_map(|o| match o {
            Object::Service(s)
                if name(&s.metadata) == svc_name
                    && (ns(&s.metadata) == svc_ns || ns(&s.metadata).is_empty()) =>
            {
                Some(s)
            }
            _ => None,
        }) else {
            out.push(format!(
                "{who}: no Service {svc_name} in namespace {svc_ns}"
            ));
            continue;
        };
        referenced.insert(svc_name.to_string());
        let ports: Vec<i32> = svc
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .map(|p| p.port)
            .collect();
        if !port.is_some_and(|p| ports.contains(&p)) {
            out.push(format!(
                "{who}: port {port:?} is not a port of Service/{svc_name} {ports:?}"
            ));
        }
        let selector = map_selector(
            &svc.spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default(),
        );
        for d in deployments(objects).filter(|d| selects(&selector, &pod_labels(d))) {
            for c in containers(d) {
                let args = container_args(c);
                let hosts = arg_value(&args, "--allowed-hosts").unwrap_or("");
                let ok = hosts.split(',').any(|h| {
                    let h = h.trim();
                    h == "*" || h == host || h == authority
                });
                if !ok {
                    out.push(format!(
                        "{who}: host {host} is not in --allowed-hosts of Deployment/{}",
                        name(&d.metadata)
                    ));
                }
            }
        }
    }
    for d in deployments(objects).filter(|d| is_mcp_server(d)) {
        let served_by = objects.iter().any(|o| match o {
            Object::Service(s) => {
                referenced.contains(name(&s.metadata))
                    && selects(
                        &map_selector(
                            &s.spec
                                .as_ref()
                                .and_then(|s| s.selector.clone())
                                .unwrap_or_default(),
                        ),
                        &pod_labels(d),
                    )
            }
            _ => false,
        });
        if !served_by {
            out.push(format!(
                "Deployment/{}: the bot's config reaches no Service of it",
                name(&d.metadata)
            ));
        }
    }
    out
}

/// The long flags a clap struct declares: every field of `struct <name> {`
/// in `source`, except `#[command(flatten)]` ones, as `--field-name`.
pub fn clap_flags(source: &str, struct_name: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    let mut inside = false;
    let mut flatten = false;
    for line in source.lines() {
        let t = line.trim();
        if !inside {
            inside = t.contains(&format!("struct {struct_name} {{"));
            continue;
        }
        if line.starts_with('}') {
            break;
        }
        if t.starts_with("#[command(flatten") {
            flatten = true;
            continue;
        }
        let field = t.strip_prefix("pub ").unwrap_or(t);
        if let Some((ident, _)) = field.split_once(':')
            && !ident.is_empty()
            && ident
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && line.starts_with("    ")
            && !line.starts_with("     ")
        {
            if !flatten {
                flags.insert(format!("--{}", ident.replace('_', "-")));
            }
            flatten = false;
        }
    }
    flags
}

/// Every `--flag` given to container `container` of Deployment `deployment` is
/// one of `known`.
pub fn check_flags(objects: &[Object], deployment: &str, known: &BTreeSet<String>) -> Problems {
    let mut out = Vec::new();
    let Some(d) = deployments(objects).find(|d| name(&d.metadata) == deployment) else {
        return vec![format!("no Deployment/{deployment}")];
    };
    for c in containers(d) {
        for a in container_args(c) {
            let flag = a.split('=').next().unwrap_or("");
            if flag.starts_with("--") && !known.contains(flag) {
                out.push(format!(
                    "Deployment/{deployment} container {}: unknown flag {flag}",
                    c.name
                ));
            }
        }
    }
    out
}

/// The Slack app manifest: bot scopes are exactly `scopes`, events are among
/// `events`, the `/sre` command exists, and every request URL's path is a
/// route of the intake router (`routes`).
pub fn check_slack_manifest(
    manifest: &Value,
    scopes: &[&str],
    events: &[&str],
    routes: &[String],
) -> Problems {
    let mut out = Vec::new();
    let list = |pointer: &str| -> Vec<String> {
        manifest
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let got: BTreeSet<String> = list("/oauth_config/scopes/bot").into_iter().collect();
    let want: BTreeSet<String> = scopes.iter().map(|s| s.to_string()).collect();
    if got != want {
        out.push(format!(
            "bot scopes: extra {:?}, missing {:?}",
            got.difference(&want).collect::<Vec<_>>(),
            want.difference(&got).collect::<Vec<_>>()
        ));
    }
    if !list("/oauth_config/scopes/user").is_empty() {
        out.push("user scopes requested; none are needed by default".into());
    }
    for e in list("/settings/event_subscriptions/bot_events") {
        if !events.contains(&e.as_str()) {
            out.push(format!("event {e} is not handled"));
        }
    }
    let path_of = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("https://")?;
        rest.find('/').map(|i| rest[i..].to_string())
    };
    let mut urls: Vec<(String, Option<&str>)> = vec![
        (
            "event_subscriptions.request_url".into(),
            manifest
                .pointer("/settings/event_subscriptions/request_url")
                .and_then(Value::as_str),
        ),
        (
            "interactivity.request_url".into(),
            manifest
                .pointer("/settings/interactivity/request_url")
                .and_then(Value::as_str),
        ),
    ];
    let commands = manifest
        .pointer("/features/slash_commands")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !commands
        .iter()
        .any(|c| c.get("command").and_then(Value::as_str) == Some("/sre"))
    {
        out.push("no /sre slash command".into());
    }
    for c in &commands {
        urls.push((
            format!(
                "command {}",
                c.get("command").and_then(Value::as_str).unwrap_or("?")
            ),
            c.get("url").and_then(Value::as_str),
        ));
    }
    for (what, url) in urls {
        match url.and_then(path_of) {
            None => out.push(format!("{what}: no https URL")),
            Some(p) if !routes.contains(&p) => out.push(format!(
                "{what}: path {p} is not a route of the intake ({routes:?})"
            )),
            Some(_) => {}
        }
    }
    out
}

/// The paths of `.route("…", …)` calls in a Rust source file.
pub fn routes_in_source(source: &str) -> Vec<String> {
    source
        .split(".route(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// What every rendering gets: the kustomize trees and the Helm chart alike
// ---------------------------------------------------------------------------

/// The bot's Deployment.
pub const BOT: &str = "sre-agent";
/// The bot's config ConfigMap.
pub const BOT_CONFIG: &str = "sre-agent-config";

/// The four servers: Deployment name and source file of its `Cli` struct.
pub const SERVERS: &[(&str, &str)] = &[
    ("mcp-kubernetes", "mcp-kubernetes/src/main.rs"),
    ("mcp-signoz", "mcp-signoz/src/main.rs"),
    ("mcp-mongodb", "mcp-mongodb/src/main.rs"),
    ("mcp-slack", "mcp-slack/src/main.rs"),
];

/// What the investigation lists, by API group: the engine's own calls
/// (`sre-orchestrator/src/engine/collect.rs`: namespaces, pods, services,
/// events, NetworkPolicies, and on demand cert-manager Certificates and
/// Istio AuthorizationPolicies) and what mcp-kubernetes's tools read to
/// answer them (`workload_health`, `rollout_history`, `describe`).
pub const READ_BY_THE_INVESTIGATION: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "pods/log"),
    ("", "events"),
    ("", "nodes"),
    ("", "namespaces"),
    ("", "services"),
    ("", "endpoints"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("", "resourcequotas"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("networking.k8s.io", "networkpolicies"),
    ("discovery.k8s.io", "endpointslices"),
    ("storage.k8s.io", "storageclasses"),
    ("cert-manager.io", "certificates"),
    ("security.istio.io", "authorizationpolicies"),
];

/// The example Secrets (`deploy/kustomize/secret.example.yaml`): the names and
/// keys every rendering may read.
pub fn example_secrets() -> Result<Vec<Object>, String> {
    let path = workspace_root().join("deploy/kustomize/secret.example.yaml");
    parse_all(&read_yaml(&path)?).map_err(|p| p.join("; "))
}

/// Every server is started with flags its `Cli` struct (or mcp-kit's
/// `KitArgs`, or `--config`) declares.
pub fn check_server_flags(objects: &[Object]) -> Problems {
    let root = workspace_root();
    let read = |f: &str| std::fs::read_to_string(root.join(f));
    let kit = match read("mcp-kit/src/serve.rs") {
        Ok(k) => clap_flags(&k, "KitArgs"),
        Err(e) => return vec![format!("mcp-kit/src/serve.rs: {e}")],
    };
    if !(kit.contains("--allowed-hosts") && kit.contains("--auth-token-file")) {
        return vec![format!("KitArgs flags not found: {kit:?}")];
    }
    let mut out = Vec::new();
    for (server, main) in SERVERS {
        let mut flags = match read(main) {
            Ok(source) => clap_flags(&source, "Cli"),
            Err(e) => {
                out.push(format!("{main}: {e}"));
                continue;
            }
        };
        if flags.is_empty() {
            out.push(format!("no flags found in {main}"));
            continue;
        }
        flags.extend(kit.iter().cloned());
        flags.insert("--config".into());
        out.extend(check_flags(objects, server, &flags));
    }
    out
}

/// The checks every rendering must pass, whatever produced it: probes,
/// resources, security, the HPA, selectors, NetworkPolicies, the bot's
/// config, Secret references against `secrets` (the example), placeholders
/// only, what the investigation must be able to list, the servers' flags, and
/// the expected kinds and Deployments. A rendering holds no Secret.
pub fn check_rendering(objects: &[Object], secrets: &[Object]) -> Problems {
    let mut out = Vec::new();
    let mut add = |what: &str, problems: Problems| {
        out.extend(problems.into_iter().map(|p| format!("{what}: {p}")));
    };
    add("probes", check_probes(objects));
    add("resources", check_resources(objects));
    add("security", check_security(objects));
    add("hpa", check_hpa(objects));
    add("selectors", check_selectors(objects));
    add("network policies", check_network_policies(objects, BOT));
    add("bot config", check_bot_config(objects, BOT_CONFIG, BOT));
    add("secret references", check_secret_refs(objects, secrets));
    add("secrets", check_secrets_are_placeholders(objects));
    add(
        "grants",
        check_grants_reads(objects, READ_BY_THE_INVESTIGATION),
    );
    add("flags", check_server_flags(objects));
    for o in objects.iter().filter(|o| matches!(o, Object::Secret(_))) {
        out.push(format!(
            "renders {}; Secrets belong in secret.example.yaml",
            o.id()
        ));
    }
    let kinds: BTreeSet<&str> = objects.iter().map(Object::kind).collect();
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
    ] {
        if !kinds.contains(kind) {
            out.push(format!("no {kind}"));
        }
    }
    let names: BTreeSet<&str> = deployments(objects).map(|d| name(&d.metadata)).collect();
    for d in SERVERS.iter().map(|(s, _)| *s).chain([BOT]) {
        if !names.contains(d) {
            out.push(format!("no Deployment {d}"));
        }
    }
    out
}

/// Every Deployment has an autoscaler (`min`..`max` replicas at CPU `cpu` %
/// and memory `memory` % of the requests) and a PodDisruptionBudget that
/// selects its pods and keeps at least one of them.
pub fn check_every_deployment_scaled(
    objects: &[Object],
    (min, max): (i32, i32),
    (cpu, memory): (i32, i32),
) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        let who = format!("Deployment/{}", name(&d.metadata));
        let hpa = objects.iter().find_map(|o| match o {
            Object::Hpa(h)
                if h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == "Deployment"
                        && s.scale_target_ref.name == name(&d.metadata)
                }) && ns(&h.metadata) == ns(&d.metadata) =>
            {
                h.spec.as_ref()
            }
            _ => None,
        });
        match hpa {
            None => out.push(format!("{who}: no HorizontalPodAutoscaler")),
            Some(spec) => {
                if spec.min_replicas != Some(min) || spec.max_replicas != max {
                    out.push(format!(
                        "{who}: autoscaled {:?}..{}, expected {min}..{max}",
                        spec.min_replicas, spec.max_replicas
                    ));
                }
                let targets: BTreeMap<String, Option<i32>> = spec
                    .metrics
                    .iter()
                    .flatten()
                    .filter_map(|m| m.resource.as_ref())
                    .map(|r| (r.name.clone(), r.target.average_utilization))
                    .collect();
                let expected = BTreeMap::from([
                    ("cpu".to_string(), Some(cpu)),
                    ("memory".to_string(), Some(memory)),
                ]);
                if targets != expected {
                    out.push(format!("{who}: autoscaler targets {targets:?}"));
                }
            }
        }
        let budgeted = objects.iter().any(|o| match o {
            Object::Pdb(p) => {
                ns(&p.metadata) == ns(&d.metadata)
                    && p.spec.as_ref().is_some_and(|s| {
                        s.selector
                            .as_ref()
                            .is_some_and(|sel| selects(sel, &pod_labels(d)))
                            && matches!(s.min_available, Some(IntOrString::Int(n)) if n >= 1)
                    })
            }
            _ => false,
        });
        if !budgeted {
            out.push(format!(
                "{who}: no PodDisruptionBudget keeping one of its pods"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(yaml: &str) -> Vec<Object> {
        parse_all(&split_yaml(yaml).unwrap()).unwrap()
    }

    const GOOD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: mcp-x, namespace: ns}
spec:
  selector: {matchLabels: {app: mcp-x}}
  template:
    metadata: {labels: {app: mcp-x, app.kubernetes.io/component: mcp-server}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
        - name: c
          image: example/mcp-x:1.0
          args: ["--allowed-hosts", "mcp-x.ns.svc"]
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {cpu: "1", memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bot, namespace: ns}
spec:
  selector: {matchLabels: {app: bot}}
  template:
    metadata: {labels: {app: bot}}
    spec:
      securityContext: {runAsNonRoot: true}
      volumes: [{name: config, configMap: {name: cfg}}]
      containers:
        - name: c
          image: example/bot:1.0
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: mcp-x, namespace: ns}
spec:
  selector: {app: mcp-x}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
data:
  config.toml: |
    [[servers]]
    name = "x"
    transport = "http"
    url = "http://mcp-x.ns.svc:8080/mcp"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: mcp, namespace: ns}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/component: mcp-server}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: bot}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: sre-agent, namespace: ns}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: sre-agent}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}
    - {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sre-agent, namespace: ns}
spec:
  replicas: 2
  selector: {matchLabels: {app: sre-agent}}
  template:
    metadata: {labels: {app: sre-agent}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: c
          image: example/sre-agent:1.0
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"#;

    /// The good fixture with `from` replaced by `to` (which must occur).
    fn bad(from: &str, to: &str) -> Vec<Object> {
        assert!(GOOD.contains(from), "fixture lacks {from}");
        objects(&GOOD.replacen(from, to, 1))
    }

    #[test]
    fn the_good_fixture_passes_every_check() {
        let o = objects(GOOD);
        assert_eq!(check_probes(&o), Problems::new());
        assert_eq!(check_resources(&o), Problems::new());
        assert_eq!(check_security(&o), Problems::new());
        assert_eq!(check_read_only(&o), Problems::new());
        assert_eq!(check_hpa(&o), Problems::new());
        assert_eq!(check_selectors(&o), Problems::new());
        assert_eq!(check_network_policies(&o, "bot"), Problems::new());
        assert_eq!(check_bot_config(&o, "cfg", "bot"), Problems::new());
    }

    #[test]
    fn unknown_kinds_and_fields_fail_to_parse() {
        let e = parse_object(
            &serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
        );
        assert!(e.unwrap_err().contains("unknown kind"));
        let e =
            parse_all(&split_yaml(&GOOD.replacen("livenessProbe", "livenessProbes", 1)).unwrap());
        assert!(e.unwrap_err()[0].contains("livenessProbes"));
        let e = parse_all(
            &split_yaml(&GOOD.replacen(
                "apiVersion: autoscaling/v2",
                "apiVersion: autoscaling/v1",
                1,
            ))
            .unwrap(),
        );
        assert!(e.unwrap_err()[0].contains("unknown kind"));
    }

    #[test]
    fn a_missing_or_wrong_probe_fails() {
        let p = check_probes(&bad(
            "livenessProbe: {httpGet: {path: /healthz, port: http}}\n          readinessProbe: {httpGet: {path: /readyz, port: 8080}}",
            "readinessProbe: {httpGet: {path: /readyz, port: 8080}}",
        ));
        assert!(
            p.iter().any(|p| p.contains("no HTTP liveness probe")),
            "{p:?}"
        );
        let p = check_probes(&bad(
            "path: /readyz, port: 8080",
            "path: /healthz, port: 8080",
        ));
        assert!(
            p.iter().any(|p| p.contains("readiness probe path")),
            "{p:?}"
        );
        let p = check_probes(&bad(
            "path: /readyz, port: 8080",
            "path: /readyz, port: 9090",
        ));
        assert!(
            p.iter().any(|p| p.contains("not a container port")),
            "{p:?}"
        );
    }

    #[test]
    fn missing_or_inverted_resources_fail() {
        let p = check_resources(&bad(
            "limits: {cpu: \"1\", memory: 256Mi}",
            "limits: {cpu: \"1\"}",
        ));
        assert!(p.iter().any(|p| p.contains("no memory limit")), "{p:?}");
        let p = check_resources(&bad(
            "requests: {cpu: 10m, memory: 32Mi}",
            "requests: {memory: 32Mi}",
        ));
        assert!(p.iter().any(|p| p.contains("no cpu request")), "{p:?}");
        let p = check_resources(&bad(
            "requests: {cpu: 10m, memory: 32Mi}",
            "requests: {cpu: 10m, memory: 1Gi}",
        ));
        assert!(p.iter().any(|p| p.contains("not above the limit")), "{p:?}");
    }

    #[test]
    fn root_writable_or_privileged_containers_fail() {
        let p = check_security(&bad(
            "securityContext: {runAsNonRoot: true, runAsUser: 65532}",
            "securityContext: {runAsUser: 0}",
        ));
        assert!(p.iter().any(|p| p.contains("runAsNonRoot")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("runAsUser 0")), "{p:?}");
        let p = check_security(&bad(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ));
        assert!(
            p.iter().any(|p| p.contains("readOnlyRootFilesystem")),
            "{p:?}"
        );
        let p = check_security(&bad(
            "capabilities: {drop: [ALL]}",
            "capabilities: {drop: [NET_RAW]}",
        ));
        assert!(p.iter().any(|p| p.contains("drop ALL")), "{p:?}");
        let p = check_security(&bad(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        ));
        assert!(
            p.iter().any(|p| p.contains("allowPrivilegeEscalation")),
            "{p:?}"
        );
        let p = check_security(&bad(
            "image: example/mcp-x:1.0",
            "image: example/mcp-x:latest",
        ));
        assert!(p.iter().any(|p| p.contains("latest")), "{p:?}");
    }

    const READ_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: read}
rules:
  - apiGroups: [""]
    resources: [pods, pods/log]
    verbs: [get, list, watch]
"#;

    #[test]
    fn write_verbs_secrets_and_allow_writes_fail_the_read_only_check() {
        assert_eq!(check_read_only(&objects(READ_ROLE)), Problems::new());
        let p = check_read_only(&objects(&READ_ROLE.replace("watch", "patch")));
        assert!(p.iter().any(|p| p.contains("verb `patch`")), "{p:?}");
        let p = check_read_only(&objects(&READ_ROLE.replace("pods/log", "secrets")));
        assert!(p.iter().any(|p| p.contains("`secrets`")), "{p:?}");
        let p = check_read_only(&objects(
            &READ_ROLE
                .replace("kind: ClusterRole", "kind: Role")
                .replace("verbs: [get", "verbs: [\"*\", get"),
        ));
        assert!(p.iter().any(|p| p.contains("verb `*`")), "{p:?}");
        let p = check_read_only(&bad(
            "args: [\"--allowed-hosts\"",
            "args: [\"--allow-writes\", \"--allowed-hosts\"",
        ));
        assert!(p.iter().any(|p| p.contains("--allow-writes")), "{p:?}");
    }

    const WRITES: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: mcp-kubernetes}
spec:
  selector: {matchLabels: {app: k}}
  template:
    metadata: {labels: {app: k}}
    spec:
      serviceAccountName: mcp-kubernetes
      containers: [{name: c, image: "k:1", args: ["--allow-writes"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: write}
rules:
  - {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets], verbs: [patch]}
  - {apiGroups: [""], resources: [pods], verbs: [delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: write}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: write}
subjects: [{kind: ServiceAccount, name: mcp-kubernetes, namespace: ns}]
"#;

    #[test]
    fn the_writes_check_wants_the_flag_the_rules_and_nothing_more() {
        assert_eq!(check_writes_enabled(&objects(WRITES)), Problems::new());
        let p = check_writes_enabled(&objects(&WRITES.replace("\"--allow-writes\"", "\"--x\"")));
        assert!(p.iter().any(|p| p.contains("no --allow-writes")), "{p:?}");
        let p = check_writes_enabled(&objects(&WRITES.replace("verbs: [delete]", "verbs: [get]")));
        assert!(p.iter().any(|p| p.contains("delete /pods")), "{p:?}");
        let p = check_writes_enabled(&objects(
            &WRITES.replace("verbs: [patch]", "verbs: [patch, create]"),
        ));
        assert!(p.iter().any(|p| p.contains("verb `create`")), "{p:?}");
        let p = check_writes_enabled(&objects(
            &WRITES.replace("name: mcp-kubernetes, namespace", "name: other, namespace"),
        ));
        assert!(p.iter().any(|p| p.contains("no role bound")), "{p:?}");
    }

    const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  token: REPLACE_ME
"#;

    #[test]
    fn real_looking_secret_values_fail() {
        assert_eq!(
            check_secrets_are_placeholders(&objects(SECRET)),
            Problems::new()
        );
        let p = check_secrets_are_placeholders(&objects(
            &SECRET.replace("REPLACE_ME", "xoxb-1234-5678-abcdef"),
        ));
        assert!(p.iter().any(|p| p.contains("real-looking")), "{p:?}");
        let p = check_secrets_are_placeholders(&objects(&SECRET.replace(
            "stringData:\n  token: REPLACE_ME",
            "data:\n  token: aHVudGVyMg==",
        )));
        assert!(p.iter().any(|p| p.contains("`data`")), "{p:?}");
    }

    #[test]
    fn a_secret_key_missing_from_the_example_fails() {
        let deployment = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
        - name: c
          env: [{name: T, valueFrom: {secretKeyRef: {name: s, key: token}}}]
      volumes: [{name: v, secret: {secretName: s, items: [{key: token, path: t}]}}]
"#;
        let d = objects(deployment);
        assert_eq!(check_secret_refs(&d, &objects(SECRET)), Problems::new());
        let p = check_secret_refs(&d, &objects(&SECRET.replace("token:", "other:")));
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn wrong_hpa_bounds_or_targets_fail() {
        let p = check_hpa(&bad("minReplicas: 2", "minReplicas: 1"));
        assert!(p.iter().any(|p| p.contains("minReplicas")), "{p:?}");
        let p = check_hpa(&bad("maxReplicas: 10", "maxReplicas: 20"));
        assert!(p.iter().any(|p| p.contains("maxReplicas")), "{p:?}");
        let p = check_hpa(&bad("averageUtilization: 70", "averageUtilization: 90"));
        assert!(p.iter().any(|p| p.contains("cpu 70")), "{p:?}");
        let p = check_hpa(&bad(
            "kind: Deployment, name: sre-agent}",
            "kind: Deployment, name: nope}",
        ));
        assert!(p.iter().any(|p| p.contains("does not exist")), "{p:?}");
        let p = check_hpa(&objects(READ_ROLE));
        assert!(
            p.iter().any(|p| p.contains("no HorizontalPodAutoscaler")),
            "{p:?}"
        );
    }

    #[test]
    fn a_service_selecting_nothing_or_a_missing_port_fails() {
        let p = check_selectors(&bad("selector: {app: mcp-x}", "selector: {app: mcp-y}"));
        assert!(p.iter().any(|p| p.contains("matches no workload")), "{p:?}");
        let p = check_selectors(&bad("targetPort: http", "targetPort: metrics"));
        assert!(p.iter().any(|p| p.contains("not a port of")), "{p:?}");
        let p = check_selectors(&bad(
            "selector: {matchLabels: {app: mcp-x}}",
            "selector: {matchLabels: {app: other}}",
        ));
        assert!(
            p.iter().any(|p| p.contains("its own pod template")),
            "{p:?}"
        );
    }

    #[test]
    fn mcp_ingress_open_to_others_fails() {
        let p = check_network_policies(
            &bad(
                "podSelector: {matchLabels: {app: bot}}",
                "ipBlock: {cidr: 0.0.0.0/0}",
            ),
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("other than the bot")), "{p:?}");
        let p = check_network_policies(
            &bad(
                "- from: [{podSelector: {matchLabels: {app: bot}}}]",
                "- ports: [{port: 8080}]",
            ),
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("lets anyone")), "{p:?}");
        let p = check_network_policies(
            &bad("policyTypes: [Ingress]", "policyTypes: [Egress]"),
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("no NetworkPolicy")), "{p:?}");
        let p = check_network_policies(
            &bad("podSelector: {matchLabels: {app: bot}}", "podSelector: {}"),
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("other than the bot")), "{p:?}");
    }

    #[test]
    fn bot_config_urls_must_reach_services_the_servers_accept() {
        let p = check_bot_config(
            &bad(
                "http://mcp-x.ns.svc:8080/mcp",
                "http://mcp-z.ns.svc:8080/mcp",
            ),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("no Service mcp-z")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("reaches no Service")), "{p:?}");
        let p = check_bot_config(
            &bad(
                "http://mcp-x.ns.svc:8080/mcp",
                "http://mcp-x.ns.svc:9000/mcp",
            ),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("port Some(9000)")), "{p:?}");
        let p = check_bot_config(
            &bad("http://mcp-x.ns.svc:8080/mcp", "http://mcp-x.ns.svc:8080/"),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("/mcp")), "{p:?}");
        let p = check_bot_config(
            &bad("http://mcp-x.ns.svc:8080/mcp", "http://mcp-x:8080/mcp"),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("--allowed-hosts")), "{p:?}");
        let p = check_bot_config(
            &bad(
                "http://mcp-x.ns.svc:8080/mcp",
                "http://mcp-x.other.svc:8080/mcp",
            ),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("namespace other")), "{p:?}");
        let p = check_bot_config(
            &bad("configMap: {name: cfg}", "configMap: {name: other}"),
            "cfg",
            "bot",
        );
        assert!(p.iter().any(|p| p.contains("does not mount")), "{p:?}");
    }

    #[test]
    fn flags_are_read_from_clap_structs_and_unknown_ones_fail() {
        let src = "struct Cli {\n    /// doc\n    #[arg(long)]\n    allowed_hosts: Vec<String>,\n    #[command(flatten)]\n    kit: KitArgs,\n}\n";
        let flags = clap_flags(src, "Cli");
        assert_eq!(flags, BTreeSet::from(["--allowed-hosts".to_string()]));
        let o = objects(GOOD);
        assert_eq!(check_flags(&o, "mcp-x", &flags), Problems::new());
        let p = check_flags(&o, "mcp-x", &BTreeSet::new());
        assert!(
            p.iter().any(|p| p.contains("unknown flag --allowed-hosts")),
            "{p:?}"
        );
    }

    #[test]
    fn slack_manifest_scopes_and_urls_are_checked() {
        let m: Value = serde_yaml_ng::from_str(
            r#"
features:
  slash_commands: [{command: /sre, url: "https://x.example/slack/commands"}]
oauth_config: {scopes: {bot: [chat:write, commands]}}
settings:
  event_subscriptions: {request_url: "https://x.example/slack/events", bot_events: [app_mention]}
  interactivity: {is_enabled: true, request_url: "https://x.example/slack/interactions"}
"#,
        )
        .unwrap();
        let routes = routes_in_source(
            r#"Router::new().route("/slack/events", post(a)).route("/slack/commands", post(b)).route("/slack/interactions", post(c))"#,
        );
        assert_eq!(routes.len(), 3);
        let scopes = ["chat:write", "commands"];
        assert_eq!(
            check_slack_manifest(&m, &scopes, &["app_mention"], &routes),
            Problems::new()
        );
        let p = check_slack_manifest(&m, &["chat:write"], &["app_mention"], &routes);
        assert!(p.iter().any(|p| p.contains("extra")), "{p:?}");
        let p = check_slack_manifest(&m, &scopes, &[], &routes);
        assert!(p.iter().any(|p| p.contains("app_mention")), "{p:?}");
        let p = check_slack_manifest(&m, &scopes, &["app_mention"], &routes[..2]);
        assert!(p.iter().any(|p| p.contains("/slack/interactions")), "{p:?}");
    }

    #[test]
    fn json_patches_apply_and_fail_on_missing_paths() {
        let mut doc = serde_json::json!({"spec": {"args": ["a"]}});
        json_patch(
            &mut doc,
            &serde_json::json!({"op": "add", "path": "/spec/args/-", "value": "b"}),
        )
        .unwrap();
        json_patch(
            &mut doc,
            &serde_json::json!({"op": "add", "path": "/spec/x", "value": {"k": 1}}),
        )
        .unwrap();
        json_patch(
            &mut doc,
            &serde_json::json!({"op": "replace", "path": "/spec/args/0", "value": "z"}),
        )
        .unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"spec": {"args": ["z", "b"], "x": {"k": 1}}})
        );
        assert!(
            json_patch(
                &mut doc,
                &serde_json::json!({"op": "add", "path": "/nope/x", "value": 1})
            )
            .is_err()
        );
        assert!(
            json_patch(
                &mut doc,
                &serde_json::json!({"op": "replace", "path": "/spec/y", "value": 1})
            )
            .is_err()
        );
        json_patch(
            &mut doc,
            &serde_json::json!({"op": "remove", "path": "/spec/x"}),
        )
        .unwrap();
        assert_eq!(doc, serde_json::json!({"spec": {"args": ["z", "b"]}}));
    }

    #[test]
    fn images_are_split_and_quantities_read() {
        assert_eq!(
            split_image("ghcr.io/a/b:1.0"),
            ("ghcr.io/a/b", Some(":1.0"))
        );
        assert_eq!(split_image("localhost:5000/b"), ("localhost:5000/b", None));
        assert_eq!(split_image("b@sha256:ab"), ("b", Some("@sha256:ab")));
        assert_eq!(quantity("10m"), Some(0.01));
        assert_eq!(quantity("32Mi"), Some(32.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1"), Some(1.0));
    }
}
