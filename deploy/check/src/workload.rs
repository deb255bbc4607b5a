//! Helpers over typed objects shared by the checks: workloads and their pod
//! specs, label selectors, container arguments, quantities and ports.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::objects::{Object, name, ns};

pub(crate) fn deployments(objects: &[Object]) -> impl Iterator<Item = &Deployment> {
    objects.iter().filter_map(|o| match o {
        Object::Deployment(d) => Some(d.as_ref()),
        _ => None,
    })
}

/// A workload that runs pods: a Deployment or a StatefulSet.
pub(crate) struct Workload<'a> {
    pub(crate) id: String,
    pub(crate) namespace: &'a str,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) pod: Option<&'a PodSpec>,
}

impl Workload<'_> {
    pub(crate) fn containers(&self) -> impl Iterator<Item = &Container> {
        self.pod.into_iter().flat_map(|p| {
            p.containers
                .iter()
                .chain(p.init_containers.iter().flatten())
        })
    }
}

pub(crate) fn workloads(objects: &[Object]) -> impl Iterator<Item = Workload<'_>> {
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

pub(crate) fn pod_spec(d: &Deployment) -> Option<&PodSpec> {
    d.spec.as_ref()?.template.spec.as_ref()
}

pub(crate) fn pod_labels(d: &Deployment) -> BTreeMap<String, String> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

pub(crate) fn containers(d: &Deployment) -> impl Iterator<Item = &Container> {
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

pub(crate) fn map_selector(m: &BTreeMap<String, String>) -> LabelSelector {
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

pub(crate) fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

pub(crate) fn container_args(c: &Container) -> Vec<String> {
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

pub(crate) fn port_matches(port: &IntOrString, c: &Container) -> bool {
    c.ports.iter().flatten().any(|p| match port {
        IntOrString::Int(n) => p.container_port == *n,
        IntOrString::String(s) => p.name.as_deref() == Some(s.as_str()),
    })
}
