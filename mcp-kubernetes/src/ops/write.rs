//! The write operations: rollout restart, scale, rollout undo and delete pod.
//!
//! The MCP layer only lists them when the server runs with `--allow-writes`; here each one
//! also checks the namespace policy for writes before it sends anything, and reports what it
//! did in one line.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::history::{revisions, workload_kind};
use crate::error::{K8sError, Result};
use crate::target::{Target, kinds};
use crate::value::{i, s};

/// Names one workload.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct WorkloadRef {
    /// `deployment`, `statefulset` or `daemonset`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace; defaults to the context's namespace.
    pub namespace: Option<String>,
}

fn ns_of(t: &Target, ns: &Option<String>) -> String {
    ns.clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| t.client().default_namespace().to_string())
}

/// `kubectl rollout restart`: stamps the pod template with `kubectl.kubernetes.io/restartedAt`.
pub async fn rollout_restart(t: &Target, o: &WorkloadRef) -> Result<String> {
    let r = workload_kind(t, &o.kind).await?;
    let ns = ns_of(t, &o.namespace);
    t.policy().check_write(&ns)?;
    let now = jiff::Timestamp::now().to_string();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
    t.merge_patch(&r, &ns, &o.name, &patch).await?;
    Ok(format!(
        "restart requested for {} {ns}/{} (context {}): restartedAt={now}; pods are replaced following the rollout strategy — follow with describe or workload_health\n",
        r.kind,
        o.name,
        t.context()
    ))
}

/// Options of [`scale`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct ScaleOptions {
    /// The workload (Deployment or StatefulSet; ReplicaSets too).
    #[serde(flatten)]
    pub workload: WorkloadRef,
    /// Desired replicas.
    pub replicas: i64,
}

/// Sets `spec.replicas`.
pub async fn scale(t: &Target, o: &ScaleOptions) -> Result<String> {
    if !(0..=1000).contains(&o.replicas) {
        return Err(K8sError::InvalidArgument(
            "replicas must be between 0 and 1000".into(),
        ));
    }
    let r = t.resolve(&o.workload.kind).await?;
    if r.group != "apps" || !matches!(r.kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet")
    {
        return Err(K8sError::InvalidArgument(format!(
            "cannot scale {}; use a Deployment or StatefulSet",
            r.qualified()
        )));
    }
    let ns = ns_of(t, &o.workload.namespace);
    t.policy().check_write(&ns)?;
    let before = t.get(&r, Some(&ns), &o.workload.name).await?;
    let old = i(&before, "/spec/replicas");
    t.merge_patch(
        &r,
        &ns,
        &o.workload.name,
        &json!({"spec": {"replicas": o.replicas}}),
    )
    .await?;
    Ok(format!(
        "scaled {} {ns}/{} (context {}) from {old} to {} replicas\n",
        r.kind,
        o.workload.name,
        t.context(),
        o.replicas
    ))
}

/// Options of [`rollout_undo`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct UndoOptions {
    /// The workload.
    #[serde(flatten)]
    pub workload: WorkloadRef,
    /// Revision to return to; the one before the current when absent.
    pub to_revision: Option<i64>,
}

/// A merge patch turning `old` into `new` (keys absent from `new` are nulled).
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut m = Map::new();
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                m.insert(k.clone(), Value::Null);
            }
            for (k, v) in n {
                match o.get(k) {
                    Some(ov) if ov == v => {}
                    Some(ov) => {
                        m.insert(k.clone(), merge_diff(ov, v));
                    }
                    None => {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(m)
        }
        (_, n) => n.clone(),
    }
}

/// `kubectl rollout undo`: puts an earlier revision's pod template back.
pub async fn rollout_undo(t: &Target, o: &UndoOptions) -> Result<String> {
    let r = workload_kind(t, &o.workload.kind).await?;
    let ns = ns_of(t, &o.workload.namespace);
    t.policy().check_write(&ns)?;
    let obj = t.get(&r, Some(&ns), &o.workload.name).await?;
    let revs = revisions(t, &r, &ns, &obj).await?;
    let current_tpl = obj
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    let strip = |tpl: &Value| {
        let mut tpl = tpl.clone();
        if let Some(Value::Object(l)) = tpl.pointer_mut("/metadata/labels") {
            l.remove("pod-template-hash");
            l.remove("controller-revision-hash");
        }
        tpl
    };
    let current_rev = revs
        .iter()
        .rev()
        .find(|rv| strip(&rv.template) == strip(&current_tpl))
        .map(|rv| rv.number)
        .or_else(|| {
            s(
                &obj,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            )
            .parse()
            .ok()
        });
    let target = match o.to_revision.filter(|r| *r > 0) {
        Some(n) => revs.iter().find(|rv| rv.number == n),
        None => revs
            .iter()
            .rev()
            .find(|rv| Some(rv.number) != current_rev && current_rev.is_none_or(|c| rv.number < c)),
    };
    let Some(target) = target else {
        let known: Vec<String> = revs.iter().map(|r| r.number.to_string()).collect();
        return Err(K8sError::InvalidArgument(format!(
            "no such revision for {} {ns}/{}; known revisions: {}",
            r.kind,
            o.workload.name,
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    };
    if Some(target.number) == current_rev {
        return Ok(format!(
            "{} {ns}/{} already runs revision {}; nothing changed\n",
            r.kind, o.workload.name, target.number
        ));
    }
    let new_tpl = strip(&target.template);
    let patch = json!({"spec": {"template": merge_diff(&current_tpl, &new_tpl)}});
    t.merge_patch(&r, &ns, &o.workload.name, &patch).await?;
    let changes = super::history::template_changes(&current_tpl, &new_tpl);
    Ok(format!(
        "rolled back {} {ns}/{} (context {}) to revision {} ({}); changes: {}\n",
        r.kind,
        o.workload.name,
        t.context(),
        target.number,
        target.holder,
        if changes.is_empty() {
            "none in containers".into()
        } else {
            changes.join("; ")
        }
    ))
}

/// Options of [`delete_pod`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct DeletePodOptions {
    /// Pod name.
    pub pod: String,
    /// Namespace; defaults to the context's namespace.
    pub namespace: Option<String>,
}

/// Deletes a pod (its controller, if any, creates a replacement).
pub async fn delete_pod(t: &Target, o: &DeletePodOptions) -> Result<String> {
    let ns = ns_of(t, &o.namespace);
    t.policy().check_write(&ns)?;
    let pod = t.get(&kinds::pods(), Some(&ns), &o.pod).await?;
    t.delete(&kinds::pods(), &ns, &o.pod).await?;
    let owner = crate::value::controller_owner(&pod)
        .map(|(k, n)| format!("its controller {k}/{n} will create a replacement"))
        .unwrap_or_else(|| "it has no controller, so nothing will replace it".into());
    Ok(format!(
        "deleted pod {ns}/{} (context {}); {owner}; status was {}\n",
        o.pod,
        t.context(),
        s(&pod, "/status/phase")
    ))
}
