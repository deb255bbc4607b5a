//! `describe`: one object with what an investigation needs first — conditions, the owner
//! chain, related events (deduplicated, with counts) and, per kind, the facts that matter:
//! container states and last terminations for pods; rollout status, ReplicaSets and pod
//! health for workloads; endpoints for Services; pressure and capacity for Nodes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::list::{Output, short_image};
use crate::error::{K8sError, Result};
use crate::pods;
use crate::sanitize::{sanitize, secret_keys, strip_for_spec};
use crate::target::{ResourceInfo, Target, kinds};
use crate::value::{
    Table, age, ago, arr, clip, i, map_pairs, name, namespace, opt_i, opt_s, s, ts,
};

/// Options of [`describe`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct DescribeOptions {
    /// Resource type (`pod`, `deploy`, `node`, `certificates.cert-manager.io`…).
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Namespace (namespaced kinds); defaults to the context's namespace.
    pub namespace: Option<String>,
    /// `table` (the description, default), or the sanitized object as `yaml`/`json`.
    #[serde(default)]
    pub output: Output,
}

/// Describes one object; see [`DescribeOptions`].
pub async fn describe(t: &Target, o: &DescribeOptions) -> Result<String> {
    if o.kind.is_empty() || o.name.is_empty() {
        return Err(K8sError::InvalidArgument(
            "kind and name are required".into(),
        ));
    }
    let r = t.resolve(&o.kind).await?;
    let default_ns = t.client().default_namespace().to_string();
    let ns = r.namespaced.then(|| {
        o.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(default_ns)
    });
    let obj = t.get(&r, ns.as_deref(), &o.name).await?;
    match o.output {
        Output::Yaml | Output::Json => {
            let mut v = obj;
            sanitize(&mut v);
            mcp_kit::redact::redact_json(&mut v);
            return Ok(if o.output == Output::Json {
                format!("{v}\n")
            } else {
                serde_yaml_ng::to_string(&v).unwrap_or_default()
            });
        }
        Output::Table => {}
    }
    let now = t.now();
    let mut out = format!(
        "{} {} (context {})\ncreated {}",
        r.kind,
        crate::value::ns_name(&obj),
        t.context(),
        ago(now, crate::value::created(&obj))
    );
    if let Some(changed) = super::detail::last_changed_text(now, &obj) {
        out.push_str(&format!(" · {changed}"));
    }
    if let Some(del) = ts(&obj, "/metadata/deletionTimestamp") {
        out.push_str(&format!(" · deletion requested {}", ago(now, Some(del))));
    }
    out.push('\n');
    let labels = crate::value::labels(&obj);
    if !labels.is_empty() {
        out.push_str(&format!("labels: {}\n", clip(&labels, 300)));
    }
    let chain = owner_chain(t, &obj).await;
    if !chain.is_empty() {
        out.push_str(&format!("owners: {}\n", chain.join(" → ")));
    }
    // Names of objects whose events belong in this description.
    let mut related: BTreeSet<String> = BTreeSet::new();
    related.insert(format!("{}/{}", r.kind, name(&obj)));

    let body = match (r.group.as_str(), r.plural.as_str()) {
        ("", "pods") => pod_section(now, &obj),
        ("apps", "deployments" | "statefulsets" | "daemonsets") => {
            workload_section(t, &r, &obj, &mut related).await?
        }
        ("", "services") => service_section(t, &obj).await,
        ("", "nodes") => node_section(t, &obj).await,
        ("", "secrets") => format!(
            "type: {}\nkeys (values never shown): {}\n",
            s(&obj, "/type"),
            secret_keys(&obj).join(", ")
        ),
        ("batch", "jobs") => job_section(now, &obj),
        ("", "persistentvolumeclaims") => format!(
            "phase: {} · storageClass: {} · requested: {} · capacity: {} · volume: {} · access: {}\n",
            s(&obj, "/status/phase"),
            s(&obj, "/spec/storageClassName"),
            s(&obj, "/spec/resources/requests/storage"),
            s(&obj, "/status/capacity/storage"),
            s(&obj, "/spec/volumeName"),
            arr(&obj, "/spec/accessModes")
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        ),
        ("", "resourcequotas") => quota_section(&obj),
        ("networking.k8s.io", "networkpolicies") => {
            let types = super::list::policy_types(&obj);
            let pods = super::list::label_selector(obj.pointer("/spec/podSelector"));
            format!(
                "pod selector: {}\npolicy types: {}\ningress (from): {}\negress (to): {}\n{}",
                if pods.is_empty() { "<all pods>" } else { &pods },
                types.join(", "),
                super::list::policy_rules(&obj, &types, "Ingress"),
                super::list::policy_rules(&obj, &types, "Egress"),
                generic_spec(&obj)
            )
        }
        ("autoscaling", "horizontalpodautoscalers") => hpa_section(now, &obj),
        _ => generic_section(&obj),
    };
    out.push_str(&conditions(now, &obj));
    out.push_str(&body);

    // Related events (the object, and for workloads their ReplicaSets and pods).
    if let Some(ns) = ns.as_deref() {
        let fs = if related.len() == 1 {
            Some(format!("involvedObject.name={}", name(&obj)))
        } else {
            None
        };
        match t
            .list(&kinds::events(), Some(ns), None, fs.as_deref())
            .await
        {
            Ok(ev) => {
                let items: Vec<Value> = ev
                    .items
                    .into_iter()
                    .filter(|e| {
                        related.contains(&format!(
                            "{}/{}",
                            s(e, "/involvedObject/kind"),
                            s(e, "/involvedObject/name")
                        ))
                    })
                    .collect();
                let groups = super::events::dedupe(&items);
                if groups.is_empty() {
                    out.push_str("events: none recorded (events expire after about an hour)\n");
                } else {
                    out.push_str("events (deduplicated, newest first):\n");
                    out.push_str(&super::events::render(now, &groups, false, 25, "  "));
                }
            }
            Err(e) => out.push_str(&format!("events: not readable: {e}\n")),
        }
    } else if r.plural == "nodes" {
        match t
            .list(
                &kinds::events(),
                None,
                None,
                Some(&format!(
                    "involvedObject.kind=Node,involvedObject.name={}",
                    name(&obj)
                )),
            )
            .await
        {
            Ok(ev) => {
                let groups = super::events::dedupe(&ev.items);
                if !groups.is_empty() {
                    out.push_str("events (deduplicated, newest first):\n");
                    out.push_str(&super::events::render(now, &groups, false, 25, "  "));
                }
            }
            Err(e) => out.push_str(&format!("events: not readable: {e}\n")),
        }
    }
    Ok(out)
}

async fn owner_chain(t: &Target, obj: &Value) -> Vec<String> {
    let mut chain = Vec::new();
    let mut cur = obj.clone();
    for _ in 0..4 {
        let owners = arr(&cur, "/metadata/ownerReferences");
        let Some(o) = owners
            .iter()
            .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
            .or_else(|| owners.first())
        else {
            break;
        };
        let (kind, oname) = (s(o, "/kind").to_string(), s(o, "/name").to_string());
        chain.push(format!("{kind}/{oname}"));
        let Ok(r) = t.resolve_gvk(s(o, "/apiVersion"), &kind).await else {
            break;
        };
        let ns = r.namespaced.then(|| namespace(&cur).to_string());
        match t.get(&r, ns.as_deref(), &oname).await {
            Ok(next) => cur = next,
            Err(K8sError::NotFound { .. }) => {
                if let Some(last) = chain.last_mut() {
                    last.push_str(" (gone)");
                }
                break;
            }
            Err(_) => break,
        }
    }
    chain
}

fn conditions(now: Timestamp, obj: &Value) -> String {
    let conds = arr(obj, "/status/conditions");
    if conds.is_empty() {
        return String::new();
    }
    let mut t = Table::new(&["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]);
    for c in conds {
        t.row(vec![
            s(c, "/type").into(),
            s(c, "/status").into(),
            s(c, "/reason").into(),
            age(
                now,
                ts(c, "/lastTransitionTime").or_else(|| ts(c, "/lastHeartbeatTime")),
            ),
            crate::value::message(s(c, "/message")),
        ]);
    }
    format!("conditions:\n{}", t.render("  "))
}

fn container_state(c: &Value, now: Timestamp) -> String {
    if let Some(r) = c.pointer("/state/running") {
        return format!("Running {}", age(now, ts(r, "/startedAt")));
    }
    if let Some(w) = c.pointer("/state/waiting") {
        return format!("Waiting: {}", s(w, "/reason"));
    }
    if let Some(tm) = c.pointer("/state/terminated") {
        return format!(
            "Terminated: {} (exit {})",
            s(tm, "/reason"),
            i(tm, "/exitCode")
        );
    }
    "-".into()
}

fn last_state(c: &Value, now: Timestamp) -> String {
    match c.pointer("/lastState/terminated") {
        Some(tm) => {
            let ran = match (ts(tm, "/startedAt"), ts(tm, "/finishedAt")) {
                (Some(a), Some(b)) => format!(
                    ", ran {}",
                    crate::value::fmt_secs(b.as_second() - a.as_second())
                ),
                _ => String::new(),
            };
            format!(
                "{} exit {} {}{ran}",
                opt_s(tm, "/reason").unwrap_or("Terminated"),
                i(tm, "/exitCode"),
                ago(now, ts(tm, "/finishedAt"))
            )
        }
        None => String::new(),
    }
}

fn resources_line(c: &Value) -> String {
    let part = |ptr: &str| {
        let m = map_pairs(c, ptr);
        if m.is_empty() { "-".to_string() } else { m }
    };
    format!(
        "requests {} · limits {}",
        part("/resources/requests"),
        part("/resources/limits")
    )
}

fn probe_text(p: &Value) -> String {
    let how = if let Some(h) = p.get("httpGet") {
        format!(
            "http-get :{}{}",
            h.get("port")
                .map(|x| x.to_string().trim_matches('"').to_string())
                .unwrap_or_default(),
            s(h, "/path")
        )
    } else if let Some(tcp) = p.get("tcpSocket") {
        format!(
            "tcp :{}",
            tcp.get("port")
                .map(|x| x.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        )
    } else if p.get("exec").is_some() {
        "exec".to_string()
    } else if p.get("grpc").is_some() {
        format!("grpc :{}", i(p, "/grpc/port"))
    } else {
        "?".to_string()
    };
    format!(
        "{how} delay={}s period={}s timeout={}s fail={}",
        i(p, "/initialDelaySeconds"),
        opt_i(p, "/periodSeconds").unwrap_or(10),
        opt_i(p, "/timeoutSeconds").unwrap_or(1),
        opt_i(p, "/failureThreshold").unwrap_or(3)
    )
}

fn pod_section(now: Timestamp, pod: &Value) -> String {
    let (r, tot) = pods::ready(pod);
    let mut out = format!(
        "status: {} · ready {r}/{tot} · restarts {} · phase {} · node {} · IP {} · QoS {} · started {}\n",
        pods::status(pod),
        pods::restarts(pod),
        s(pod, "/status/phase"),
        opt_s(pod, "/spec/nodeName").unwrap_or("<unscheduled>"),
        opt_s(pod, "/status/podIP").unwrap_or("-"),
        opt_s(pod, "/status/qosClass").unwrap_or("-"),
        ago(now, ts(pod, "/status/startTime")),
    );
    if let Some(msg) = opt_s(pod, "/status/message") {
        out.push_str(&format!(
            "message: {} {}\n",
            s(pod, "/status/reason"),
            clip(msg, 200)
        ));
    }
    for (label, spec_ptr, st_ptr) in [
        (
            "init containers",
            "/spec/initContainers",
            "/status/initContainerStatuses",
        ),
        (
            "containers",
            "/spec/containers",
            "/status/containerStatuses",
        ),
    ] {
        let specs = arr(pod, spec_ptr);
        if specs.is_empty() {
            continue;
        }
        out.push_str(&format!("{label}:\n"));
        let mut t = Table::new(&[
            "NAME",
            "IMAGE",
            "STATE",
            "READY",
            "RESTARTS",
            "LAST TERMINATION",
        ]);
        for c in specs {
            let st = arr(pod, st_ptr)
                .iter()
                .find(|x| s(x, "/name") == s(c, "/name"));
            let null = Value::Null;
            let st = st.unwrap_or(&null);
            t.row(vec![
                s(c, "/name").into(),
                // One pod: the whole reference, registry included (a pull
                // from docker.io and from a mirror fail differently).
                s(c, "/image").into(),
                container_state(st, now),
                st.get("ready")
                    .and_then(Value::as_bool)
                    .map(|b| b.to_string())
                    .unwrap_or("-".into()),
                i(st, "/restartCount").to_string(),
                last_state(st, now),
            ]);
        }
        out.push_str(&t.render("  "));
        for c in specs {
            let cname = s(c, "/name");
            let st = arr(pod, st_ptr).iter().find(|x| s(x, "/name") == cname);
            let mut lines = vec![resources_line(c)];
            for (kind, ptr) in [
                ("liveness", "/livenessProbe"),
                ("readiness", "/readinessProbe"),
                ("startup", "/startupProbe"),
            ] {
                if let Some(p) = c.pointer(ptr) {
                    lines.push(format!("{kind} {}", probe_text(p)));
                }
            }
            let env: Vec<String> = arr(c, "/env")
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
                    } else if let Some(v) = opt_s(e, "/value")
                        .filter(|v| mcp_kit::redact::harmless_env_value(s(e, "/name"), v))
                    {
                        format!("{}={v}", s(e, "/name"))
                    } else {
                        s(e, "/name").to_string()
                    }
                })
                .collect();
            if !env.is_empty() {
                lines.push(format!(
                    "env (secret-looking values hidden): {}",
                    clip(&env.join(", "), 400)
                ));
            }
            if let Some(msg) = st.and_then(|x| opt_s(x, "/state/waiting/message")) {
                lines.push(format!("waiting: {}", crate::value::message(msg)));
            }
            if let Some(msg) = st.and_then(|x| opt_s(x, "/lastState/terminated/message")) {
                lines.push(format!(
                    "last termination message: {}",
                    crate::value::message(msg)
                ));
            }
            out.push_str(&format!("  {cname}: {}\n", lines.join("\n    ")));
        }
    }
    let claims: Vec<&str> = arr(pod, "/spec/volumes")
        .iter()
        .filter_map(|v| opt_s(v, "/persistentVolumeClaim/claimName"))
        .collect();
    if !claims.is_empty() {
        out.push_str(&format!(
            "persistent volume claims: {}\n",
            claims.join(", ")
        ));
    }
    out
}

/// A label selector string from a `spec.selector` (matchLabels and matchExpressions).
pub fn selector_string(obj: &Value) -> String {
    super::list::label_selector(obj.pointer("/spec/selector"))
}

/// kubectl's rollout status for a Deployment, StatefulSet or DaemonSet, in one line.
pub fn rollout_status(kind: &str, o: &Value) -> String {
    let generation = i(o, "/metadata/generation");
    let observed = i(o, "/status/observedGeneration");
    if generation > observed {
        return "waiting for the controller to observe the latest spec".into();
    }
    match kind {
        "Deployment" => {
            let progressing = arr(o, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == "Progressing");
            if let Some(p) = progressing.filter(|c| s(c, "/reason") == "ProgressDeadlineExceeded") {
                return format!("STUCK: {}", clip(s(p, "/message"), 200));
            }
            let want = opt_i(o, "/spec/replicas").unwrap_or(1);
            let updated = i(o, "/status/updatedReplicas");
            let total = i(o, "/status/replicas");
            let available = i(o, "/status/availableReplicas");
            if updated < want {
                format!("in progress: {updated} of {want} new replicas updated")
            } else if total > updated {
                format!(
                    "in progress: {} old replicas pending termination",
                    total - updated
                )
            } else if available < updated {
                format!("in progress: {available} of {updated} updated replicas available")
            } else {
                "complete".into()
            }
        }
        "StatefulSet" => {
            let want = opt_i(o, "/spec/replicas").unwrap_or(1);
            let ready = i(o, "/status/readyReplicas");
            let updated = i(o, "/status/updatedReplicas");
            if ready < want {
                format!("in progress: {ready} of {want} pods ready")
            } else if s(o, "/status/updateRevision") != s(o, "/status/currentRevision")
                && updated < want
            {
                format!("in progress: {updated} of {want} pods at the update revision")
            } else {
                "complete".into()
            }
        }
        _ => {
            let want = i(o, "/status/desiredNumberScheduled");
            let updated = i(o, "/status/updatedNumberScheduled");
            let available = i(o, "/status/numberAvailable");
            if updated < want {
                format!("in progress: {updated} of {want} updated pods scheduled")
            } else if available < want {
                format!("in progress: {available} of {want} updated pods available")
            } else {
                "complete".into()
            }
        }
    }
}

/// One line summarising pods: counts per status and the names of unhealthy ones.
pub fn pods_summary(now: Timestamp, ps: &[Value]) -> String {
    let mut by_status: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in ps {
        let st = if pods::is_healthy(p, now) {
            "healthy".to_string()
        } else {
            pods::status(p)
        };
        by_status.entry(st).or_default().push(p);
    }
    let mut parts = Vec::new();
    for (st, list) in &by_status {
        if st == "healthy" {
            parts.push(format!("{} healthy", list.len()));
        } else {
            let names: Vec<String> = list
                .iter()
                .take(8)
                .map(|p| {
                    let n = pods::note(p, now);
                    if n.is_empty() {
                        name(p).to_string()
                    } else {
                        format!("{} [{}]", name(p), clip(&n, 90))
                    }
                })
                .collect();
            let more = if list.len() > 8 {
                format!(" and {} more", list.len() - 8)
            } else {
                String::new()
            };
            parts.push(format!("{} {st}: {}{more}", list.len(), names.join(", ")));
        }
    }
    format!("pods: {} — {}\n", ps.len(), parts.join("; "))
}

async fn workload_section(
    t: &Target,
    r: &ResourceInfo,
    o: &Value,
    related: &mut BTreeSet<String>,
) -> Result<String> {
    let now = t.now();
    let ns = namespace(o);
    let mut out = String::new();
    match r.kind.as_str() {
        "Deployment" => out.push_str(&format!(
            "replicas: desired {} · updated {} · ready {} · available {} · unavailable {}\nstrategy: {}{}\n",
            opt_i(o, "/spec/replicas").unwrap_or(1),
            i(o, "/status/updatedReplicas"),
            i(o, "/status/readyReplicas"),
            i(o, "/status/availableReplicas"),
            i(o, "/status/unavailableReplicas"),
            opt_s(o, "/spec/strategy/type").unwrap_or("RollingUpdate"),
            o.pointer("/spec/strategy/rollingUpdate")
                .map(|ru| format!(
                    " (maxSurge {}, maxUnavailable {})",
                    ru.get("maxSurge").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or("25%".into()),
                    ru.get("maxUnavailable").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or("25%".into())
                ))
                .unwrap_or_default()
        )),
        "StatefulSet" => out.push_str(&format!(
            "replicas: desired {} · ready {} · current {} · updated {} · revision current {} update {}\n",
            opt_i(o, "/spec/replicas").unwrap_or(1),
            i(o, "/status/readyReplicas"),
            i(o, "/status/currentReplicas"),
            i(o, "/status/updatedReplicas"),
            s(o, "/status/currentRevision"),
            s(o, "/status/updateRevision"),
        )),
        _ => out.push_str(&format!(
            "pods: desired {} · current {} · ready {} · updated {} · available {} · unavailable {} · misscheduled {}\n",
            i(o, "/status/desiredNumberScheduled"),
            i(o, "/status/currentNumberScheduled"),
            i(o, "/status/numberReady"),
            i(o, "/status/updatedNumberScheduled"),
            i(o, "/status/numberAvailable"),
            i(o, "/status/numberUnavailable"),
            i(o, "/status/numberMisscheduled"),
        )),
    }
    out.push_str(&format!("rollout: {}\n", rollout_status(&r.kind, o)));
    let sel = selector_string(o);
    out.push_str(&format!("selector: {sel}\n"));
    let imgs: Vec<String> = arr(o, "/spec/template/spec/containers")
        .iter()
        .map(|c| format!("{}={}", s(c, "/name"), s(c, "/image")))
        .collect();
    out.push_str(&format!("images: {}\n", imgs.join(", ")));
    if let Some(spec) = o.pointer("/spec/template/spec") {
        out.push_str(&super::detail::template_containers(spec));
    }
    if r.kind == "Deployment" {
        let uid = s(o, "/metadata/uid");
        let rs = t.list(&kinds::replicasets(), Some(ns), None, None).await?;
        let mut mine: Vec<&Value> = rs
            .items
            .iter()
            .filter(|x| {
                arr(x, "/metadata/ownerReferences").iter().any(|or| {
                    s(or, "/uid") == uid && !uid.is_empty()
                        || (s(or, "/kind") == "Deployment" && s(or, "/name") == name(o))
                })
            })
            .collect();
        mine.sort_by_key(|x| std::cmp::Reverse(revision(x)));
        let mut tb = Table::new(&[
            "REPLICASET",
            "REVISION",
            "DESIRED",
            "READY",
            "AGE",
            "IMAGES",
        ]);
        for x in &mine {
            related.insert(format!("ReplicaSet/{}", name(x)));
            tb.row(vec![
                name(x).into(),
                revision(x).to_string(),
                i(x, "/spec/replicas").to_string(),
                i(x, "/status/readyReplicas").to_string(),
                age(now, crate::value::created(x)),
                arr(x, "/spec/template/spec/containers")
                    .iter()
                    .map(|c| short_image(s(c, "/image")))
                    .collect::<Vec<_>>()
                    .join(","),
            ]);
        }
        if !mine.is_empty() {
            out.push_str(&format!(
                "replicasets (newest revision first):\n{}",
                tb.render("  ")
            ));
        }
    }
    if !sel.is_empty() {
        let ps = t.list(&kinds::pods(), Some(ns), Some(&sel), None).await?;
        for p in &ps.items {
            related.insert(format!("Pod/{}", name(p)));
        }
        out.push_str(&pods_summary(now, &ps.items));
    }
    Ok(out)
}

/// The `deployment.kubernetes.io/revision` annotation of a ReplicaSet (0 when absent).
pub fn revision(rs: &Value) -> i64 {
    s(
        rs,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .parse()
    .unwrap_or(0)
}

async fn service_section(t: &Target, svc: &Value) -> String {
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
            let sel = format!("{}={}", super::endpoints::SERVICE_NAME_LABEL, name(svc));
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
                    let idx = super::endpoints::Index::new(&[]).with_slices(&l.items);
                    if let super::endpoints::Readiness::Known {
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

async fn node_section(t: &Target, node: &Value) -> String {
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

fn job_section(now: Timestamp, job: &Value) -> String {
    format!(
        "completions {}/{} · parallelism {} · active {} · failed {} (backoffLimit {}) · started {} · completed {}\n",
        i(job, "/status/succeeded"),
        opt_i(job, "/spec/completions").unwrap_or(1),
        opt_i(job, "/spec/parallelism").unwrap_or(1),
        i(job, "/status/active"),
        i(job, "/status/failed"),
        opt_i(job, "/spec/backoffLimit").unwrap_or(6),
        ago(now, ts(job, "/status/startTime")),
        ago(now, ts(job, "/status/completionTime")),
    )
}

/// A ResourceQuota like `kubectl describe quota`: each resource's used amount beside its hard
/// limit, marked when the quota is exhausted (used ≥ hard).
fn quota_section(q: &Value) -> String {
    let mut out = String::new();
    // Quota annotations carry who set the limit and why (a ticket, an owner, a review
    // date); redacted like every other text, the last-applied copy of the object left out.
    if let Some(ann) = q
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
        let full = match (super::detail::quantity(&used), super::detail::quantity(&h)) {
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
fn hpa_section(now: Timestamp, h: &Value) -> String {
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

/// Lines and characters of a custom resource's status shown besides its conditions.
const STATUS_LINES: usize = 40;
const STATUS_CHARS: usize = 6_000;

/// The status of an object besides its conditions (shown above), one `path: value` line per
/// scalar, nulls and empty values left out: a FlinkDeployment's `jobStatus.state` and
/// `error`, an ExternalSecret's `refreshTime`, a Certificate's `notAfter`/`renewalTime`.
fn status_lines(obj: &Value) -> String {
    fn walk(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, x, out);
                }
            }
            Value::Array(a) if a.is_empty() => {}
            Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|x| match x {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.push((path.to_string(), items.join(", ")));
            }
            Value::Array(a) => {
                for (ix, x) in a.iter().enumerate() {
                    walk(&format!("{path}[{ix}]"), x, out);
                }
            }
            Value::String(t) if t.is_empty() => {}
            Value::String(t) => out.push((path.to_string(), t.clone())),
            other => out.push((path.to_string(), other.to_string())),
        }
    }
    let Some(status) = obj.get("status").and_then(Value::as_object) else {
        return String::new();
    };
    let mut pairs = Vec::new();
    for (k, v) in status {
        if k != "conditions" {
            walk(k, v, &mut pairs);
        }
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = String::from("status:\n");
    let mut chars = 0;
    for (ix, (k, v)) in pairs.iter().enumerate() {
        let line = format!("  {k}: {}\n", crate::value::message(v));
        chars += line.len();
        if ix >= STATUS_LINES || chars > STATUS_CHARS {
            out.push_str(&format!(
                "  … {} more status fields (use output=yaml)\n",
                pairs.len() - ix
            ));
            break;
        }
        out.push_str(&line);
    }
    out
}

fn generic_section(obj: &Value) -> String {
    let mut out = status_lines(obj);
    out.push_str(&generic_spec(obj));
    out
}

fn generic_spec(obj: &Value) -> String {
    let mut spec = strip_for_spec(obj);
    mcp_kit::redact::redact_json(&mut spec);
    if spec.as_object().is_none_or(|m| m.is_empty()) {
        return String::new();
    }
    let yaml = serde_yaml_ng::to_string(&spec).unwrap_or_default();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out: String = lines.iter().take(80).map(|l| format!("{l}\n")).collect();
    if lines.len() > 80 {
        out.push_str(&format!(
            "… {} more spec lines (use output=yaml)\n",
            lines.len() - 80
        ));
    }
    out
}
