//! The YAML reader and the typed objects every check works on: each document is
//! parsed into its `k8s-openapi` type, and a field the type does not know fails
//! (the typed value is serialised again and compared with the YAML).

use std::path::Path;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::Value;

use crate::Problems;

/// The strings of a JSON array (none when `v` is missing or not an array;
/// items that are not strings are skipped).
pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

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

pub(crate) fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("<unnamed>")
}

pub(crate) fn ns(meta: &ObjectMeta) -> &str {
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
