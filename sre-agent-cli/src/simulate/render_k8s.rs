//! The cluster snapshot (`k8s/`), in the format `mcp-kubernetes --snapshot`
//! serves: Kubernetes objects as `kubectl get -o json` prints them, events,
//! metrics.k8s.io usage and container logs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::incident::{Incident, uuid_like};
use super::surface::{iso, iso_ms};
use super::world::{Controller, Engine, Pod, Role, Workload, World, parse_mi};

fn meta(name: &str, ns: Option<&str>, created: i64, labels: Value) -> Value {
    let mut m = json!({"name": name, "uid": uuid_like(&format!("{}/{name}", ns.unwrap_or(""))), "resourceVersion": format!("{}", 100_000 + (uuid_like(name).len() * 7919 + name.len() * 31) % 900_000), "creationTimestamp": iso(created)});
    if let Some(ns) = ns {
        m["namespace"] = json!(ns);
    }
    if !labels.is_null() {
        m["labels"] = labels;
    }
    m
}

fn list(items: Vec<Value>) -> String {
    let mut s = String::from(
        "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[\n",
    );
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(&it.to_string());
    }
    s.push_str("\n]}\n");
    s
}

fn pod_labels(w: &Workload, hash: &str, pod: &Pod) -> Value {
    let mut l = json!({"app": w.name, "app.kubernetes.io/name": w.name});
    match w.controller {
        Controller::Deployment => l["pod-template-hash"] = json!(hash),
        Controller::StatefulSet => {
            l["statefulset.kubernetes.io/pod-name"] = json!(pod.name);
            l["controller-revision-hash"] = json!(format!("{}-{hash}", w.name));
        }
        Controller::DaemonSet => l["controller-revision-hash"] = json!(hash),
        Controller::CronJob => {}
    }
    l
}

fn container(w: &Workload, rev: usize) -> Value {
    let r = &w.revisions[rev.min(w.revisions.len() - 1)];
    let image = r
        .image
        .clone()
        .unwrap_or_else(|| format!("{}:{}", w.repo, r.version));
    let mut env = vec![
        json!({"name": "OTEL_SERVICE_NAME", "value": w.name}),
        json!({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability:4317"}),
    ];
    if r.env.is_empty() && rev > 0 && w.revisions[rev - 1].env.is_empty() {
        // unchanged
    }
    env.extend(r.env.iter().cloned());
    if let Some(s) = &w.secret {
        env.push(json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": s, "key": "password"}}}));
    }
    let mut limits = json!({"memory": r.mem_limit});
    if let Some(c) = &r.cpu_limit {
        limits["cpu"] = json!(c);
    }
    let mut c = json!({
        "name": w.name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": if matches!(w.role, Role::Store(_)) { "tcp" } else { "http" }, "containerPort": w.port, "protocol": "TCP"}],
        "env": env,
        "resources": {"requests": {"cpu": w.cpu_req, "memory": w.mem_req}, "limits": limits},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    });
    if matches!(w.role, Role::Store(_)) {
        c["readinessProbe"] = json!({"tcpSocket": {"port": w.port}, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 6});
    } else if w.is_http() {
        c["readinessProbe"] = json!({"httpGet": {"path": r.probe.0, "port": r.probe.1, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3});
        c["livenessProbe"] = json!({"httpGet": {"path": r.probe.0, "port": r.probe.1, "scheme": "HTTP"}, "initialDelaySeconds": 20, "periodSeconds": 20, "timeoutSeconds": 1, "failureThreshold": 3});
    }
    let mut mounts: Vec<Value> = r.volumes.iter().map(|(_, m)| m.clone()).collect();
    if let Some(cl) = w.claims.first() {
        let vol = cl.name.split('-').next().unwrap_or("data");
        mounts.push(json!({"name": vol, "mountPath": "/data"}));
    }
    if !mounts.is_empty() {
        c["volumeMounts"] = json!(mounts);
    }
    c
}

fn template(w: &Workload, rev: usize, hash: &str) -> Value {
    let r = &w.revisions[rev.min(w.revisions.len() - 1)];
    let mut labels = json!({"app": w.name, "app.kubernetes.io/name": w.name});
    if w.controller == Controller::Deployment {
        labels["pod-template-hash"] = json!(hash);
    }
    let mut spec = json!({"containers": [container(w, rev)], "serviceAccountName": w.name, "terminationGracePeriodSeconds": 30});
    if let Some(i) = &r.init {
        spec["initContainers"] = json!([i]);
    }
    let vols: Vec<Value> = r.volumes.iter().map(|(v, _)| v.clone()).collect();
    if !vols.is_empty() {
        spec["volumes"] = json!(vols);
    }
    json!({"metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}}, "spec": spec})
}

fn pod_json(
    wd: &World,
    w: &Workload,
    pod: &Pod,
    owner_kind: &str,
    owner: &str,
    hash: &str,
) -> Value {
    let now = wd.now;
    let created = now - pod.age;
    let mut m = meta(&pod.name, Some(&w.ns), created, pod_labels(w, hash, pod));
    m["generateName"] = json!(format!("{owner}-"));
    m["ownerReferences"] = json!([{"apiVersion": if owner_kind == "Job" { "batch/v1" } else { "apps/v1" }, "kind": owner_kind, "name": owner, "uid": uuid_like(&format!("{}/{owner}", w.ns)), "controller": true, "blockOwnerDeletion": true}]);
    if pod.terminating {
        m["deletionTimestamp"] = json!(iso(now - 60));
        m["deletionGracePeriodSeconds"] = json!(30);
    }
    let mut spec = template(w, pod.rev, hash)["spec"].clone();
    spec["restartPolicy"] = json!(if owner_kind == "Job" {
        "Never"
    } else {
        "Always"
    });
    spec["schedulerName"] = json!("default-scheduler");
    spec["dnsPolicy"] = json!("ClusterFirst");
    spec["tolerations"] = json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}, {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]);
    if let Some(n) = pod.node {
        spec["nodeName"] = json!(wd.nodes[n].name);
    }
    if w.controller == Controller::StatefulSet {
        spec["hostname"] = json!(pod.name);
        spec["subdomain"] = json!(w.name);
        if let Some(cl) = w
            .claims
            .iter()
            .find(|c| c.name.ends_with(&format!("-{}", pod.name)))
        {
            let vol = cl.name.split('-').next().unwrap_or("data");
            let mut vols = spec["volumes"].as_array().cloned().unwrap_or_default();
            vols.push(json!({"name": vol, "persistentVolumeClaim": {"claimName": cl.name}}));
            spec["volumes"] = json!(vols);
        }
    }
    let c = &spec["containers"][0];
    let image = c["image"].as_str().unwrap_or("").to_string();
    let running = pod.phase == "Running";
    let state = pod.main.state.clone().unwrap_or_else(|| {
        if running {
            json!({"running": {"startedAt": iso(created + 4)}})
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        }
    });
    let started = state.get("running").is_some();
    let ready = pod.main.ready && started && running;
    let mut cs = json!({"name": w.name, "image": image, "imageID": if started || pod.main.last.is_some() { format!("{}@sha256:{}", image.split(':').next().unwrap_or(""), uuid_like(&image).replace('-', "")) } else { String::new() },
        "ready": ready, "started": started, "restartCount": pod.main.restarts, "state": state, "lastState": pod.main.last.clone().unwrap_or(json!({}))});
    if started || pod.main.last.is_some() {
        cs["containerID"] = json!(format!(
            "containerd://{}{}",
            uuid_like(&pod.name).replace('-', ""),
            uuid_like(&image).replace('-', "")
        ));
    }
    let tr = |ago: i64| iso(now - ago);
    let mut conds = vec![];
    if pod.node.is_some() {
        conds.push(json!({"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": tr(pod.age - 2)}));
        let init_done = pod.init_status.is_none();
        conds.push(json!({"type": "Initialized", "status": if init_done { "True" } else { "False" }, "lastTransitionTime": tr(pod.age - 1)}));
        if ready {
            conds.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": tr((pod.age - 12).max(1))}));
            conds.push(json!({"type": "ContainersReady", "status": "True", "lastTransitionTime": tr((pod.age - 12).max(1))}));
        } else if pod.phase == "Succeeded" || pod.phase == "Failed" {
            conds.push(json!({"type": "Ready", "status": "False", "reason": if pod.phase == "Succeeded" { "PodCompleted" } else { "PodFailed" }, "lastTransitionTime": tr(1.max(pod.age - 60))}));
        } else {
            let reason = if init_done {
                "ContainersNotReady"
            } else {
                "ContainersNotInitialized"
            };
            conds.push(json!({"type": "Ready", "status": "False", "reason": reason, "message": format!("containers with unready status: [{}]", w.name), "lastTransitionTime": tr((pod.age - 12).max(1))}));
            conds.push(json!({"type": "ContainersReady", "status": "False", "reason": reason, "message": format!("containers with unready status: [{}]", w.name), "lastTransitionTime": tr((pod.age - 12).max(1))}));
        }
        conds.push(
            json!({"type": "PodScheduled", "status": "True", "lastTransitionTime": tr(pod.age)}),
        );
    } else if let Some(msg) = &pod.unschedulable {
        conds.push(json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg, "lastProbeTime": null, "lastTransitionTime": tr(pod.age)}));
    }
    let qos = if c["resources"]["limits"]["cpu"].is_string()
        && c["resources"]["requests"]["cpu"] == c["resources"]["limits"]["cpu"]
        && c["resources"]["requests"]["memory"] == c["resources"]["limits"]["memory"]
    {
        "Guaranteed"
    } else {
        "Burstable"
    };
    let mut status = json!({"phase": pod.phase, "qosClass": qos, "conditions": conds});
    if let Some(n) = pod.node {
        status["hostIP"] = json!(wd.nodes[n].ip);
        status["hostIPs"] = json!([{"ip": wd.nodes[n].ip}]);
        status["startTime"] = json!(tr(pod.age - 1));
        if pod.phase != "Pending" || pod.init_status.is_some() {
            status["podIP"] = json!(pod.ip);
            status["podIPs"] = json!([{"ip": pod.ip}]);
        }
        status["containerStatuses"] = json!([cs]);
        if let Some(i) = &pod.init_status {
            status["initContainerStatuses"] = json!([i]);
        }
    }
    if let Some((r, msg)) = &pod.reason {
        status["reason"] = json!(r);
        status["message"] = json!(msg);
    }
    m["annotations"] = json!({"kubectl.kubernetes.io/default-container": w.name});
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status})
}

fn ready_pod(p: &Pod) -> bool {
    p.phase == "Running"
        && p.main.ready
        && !p.terminating
        && p.main
            .state
            .as_ref()
            .is_none_or(|s| s.get("running").is_some())
}

/// Writes `k8s/` for a world and its incident.
pub fn write(dir: &Path, wd: &World, inc: &Incident) -> Result<()> {
    let now = wd.now;
    let k = dir.join("k8s");
    std::fs::create_dir_all(&k)?;
    std::fs::write(
        k.join("snapshot.yaml"),
        format!(
            "# Simulated snapshot served by `mcp-kubernetes --snapshot` (sre-agent simulate).\ncapturedAt: {}\ncontext: {}\n",
            iso(now),
            wd.context
        ),
    )?;
    // cluster.json: namespaces, nodes, storage classes, PVs, CRDs.
    let mut cluster = Vec::new();
    for ns in wd
        .all_namespaces()
        .iter()
        .chain(["monitoring".to_string(), "observability".to_string()].iter())
    {
        if cluster
            .iter()
            .any(|o: &Value| o["kind"] == "Namespace" && o["metadata"]["name"] == json!(ns))
        {
            continue;
        }
        cluster.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None, now - 400 * 86_400, json!({"kubernetes.io/metadata.name": ns})), "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
    }
    for (i, n) in wd.nodes.iter().enumerate() {
        let mut conds: BTreeMap<String, (String, String, String, i64)> = BTreeMap::new();
        conds.insert(
            "MemoryPressure".into(),
            (
                "False".into(),
                "KubeletHasSufficientMemory".into(),
                "kubelet has sufficient memory available".into(),
                90 * 86_400,
            ),
        );
        conds.insert(
            "DiskPressure".into(),
            (
                "False".into(),
                "KubeletHasNoDiskPressure".into(),
                "kubelet has no disk pressure".into(),
                90 * 86_400,
            ),
        );
        conds.insert(
            "PIDPressure".into(),
            (
                "False".into(),
                "KubeletHasSufficientPID".into(),
                "kubelet has sufficient PID available".into(),
                90 * 86_400,
            ),
        );
        conds.insert(
            "Ready".into(),
            (
                "True".into(),
                "KubeletReady".into(),
                "kubelet is posting ready status".into(),
                90 * 86_400,
            ),
        );
        for (t, s, r, m, ago) in &n.conditions {
            conds.insert(t.clone(), (s.clone(), r.clone(), m.clone(), *ago));
        }
        let order = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"];
        let cl: Vec<Value> = order.iter().filter_map(|t| conds.get(*t).map(|(s, r, m, ago)| {
            let hb = if s == "Unknown" { *ago + 40 } else { 10 + i as i64 * 3 };
            json!({"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": iso(now - hb), "lastTransitionTime": iso(now - ago)})
        })).collect();
        let mut labels = json!({"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": n.instance, "topology.kubernetes.io/zone": n.zone});
        for (a, b) in &n.labels {
            labels[a] = json!(b);
        }
        let mut spec = json!({"podCIDR": format!("10.244.{}.0/24", i + 1)});
        if !n.taints.is_empty() {
            spec["taints"] = json!(n.taints);
        }
        let cap = json!({"cpu": format!("{}", n.size.0), "memory": format!("{}Ki", n.size.1 as u64 * 1024 * 1024), "pods": "110", "ephemeral-storage": "104845292Ki"});
        let alloc = json!({"cpu": format!("{}m", n.size.0 * 1000 - 90), "memory": format!("{}Ki", n.size.1 as u64 * 1024 * 1024 - 1_150_976), "pods": "110", "ephemeral-storage": "96625420657"});
        cluster.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": meta(&n.name, None, now - (120 - i as i64) * 86_400, labels), "spec": spec,
            "status": {"conditions": cl, "capacity": cap, "allocatable": alloc, "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
                "nodeInfo": {"kubeletVersion": "v1.30.5", "containerRuntimeVersion": "containerd://1.7.22", "osImage": "Ubuntu 22.04.4 LTS", "kernelVersion": "5.15.0-1071", "architecture": "amd64", "operatingSystem": "linux"}}}));
    }
    let mut classes: Vec<String> = wd
        .workloads
        .iter()
        .flat_map(|w| w.claims.iter().filter(|c| c.bound).map(|c| c.class.clone()))
        .collect();
    classes.sort();
    classes.dedup();
    for (i, c) in classes.iter().enumerate() {
        let mut m = meta(c, None, now - 400 * 86_400, Value::Null);
        if i == 0 {
            m["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        cluster.push(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": m, "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}));
    }
    // Workloads.
    let mut work = Vec::new();
    let mut pods = Vec::new();
    for w in &wd.workloads {
        let sel_labels = match &w.selector {
            Some((k2, v)) => json!({k2: v}),
            None => json!({"app": w.name}),
        };
        let labels = json!({"app": w.name, "app.kubernetes.io/name": w.name, "team": w.team});
        match w.controller {
            Controller::Deployment => {
                let cur = w.revisions.len() - 1;
                let mut ready_total = 0;
                for (ri, r) in w.revisions.iter().enumerate() {
                    let rs_name = format!("{}-{}", w.name, r.hash);
                    let mine: Vec<&Pod> = w.pods.iter().filter(|p| p.rev == ri).collect();
                    let live = mine
                        .iter()
                        .filter(|p| p.phase != "Failed" && p.phase != "Succeeded")
                        .count();
                    let rdy = mine.iter().filter(|p| ready_pod(p)).count();
                    ready_total += rdy;
                    let mut m = meta(
                        &rs_name,
                        Some(&w.ns),
                        now - r.age,
                        json!({"app": w.name, "pod-template-hash": r.hash}),
                    );
                    let mut ann = json!({"deployment.kubernetes.io/revision": format!("{}", ri + 1), "deployment.kubernetes.io/desired-replicas": format!("{}", w.replicas)});
                    if let Some(c) = &r.cause {
                        ann["kubernetes.io/change-cause"] = json!(c);
                    }
                    m["annotations"] = ann;
                    m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": uuid_like(&format!("{}/{}", w.ns, w.name)), "controller": true, "blockOwnerDeletion": true}]);
                    let want = if ri == cur {
                        live.max(if w.replicas == 0 { 0 } else { 1 })
                    } else {
                        live
                    };
                    let mut st = json!({"replicas": live, "fullyLabeledReplicas": live, "readyReplicas": rdy, "availableReplicas": rdy, "observedGeneration": 1});
                    if ri == cur && live == 0 && w.replicas > 0 {
                        st["conditions"] = json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "lastTransitionTime": iso(now - r.age)}]);
                    }
                    work.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": m,
                        "spec": {"replicas": want, "selector": {"matchLabels": {"app": w.name, "pod-template-hash": r.hash}}, "template": template(w, ri, &r.hash)}, "status": st}));
                    for p in mine {
                        pods.push(pod_json(wd, w, p, "ReplicaSet", &rs_name, &r.hash));
                    }
                }
                let cur_r = &w.revisions[cur];
                let updated = w
                    .pods
                    .iter()
                    .filter(|p| p.rev == cur && p.phase != "Failed")
                    .count();
                let total = w
                    .pods
                    .iter()
                    .filter(|p| p.phase != "Failed" && p.phase != "Succeeded")
                    .count();
                let avail_ok = ready_total as u32 >= w.replicas.saturating_sub(w.replicas / 4);
                let progressing_ok =
                    updated as u32 >= w.replicas && ready_total as u32 >= w.replicas;
                let stuck = !progressing_ok && cur_r.age > 600;
                let mut dm = meta(
                    &w.name,
                    Some(&w.ns),
                    now - w.age_days * 86_400,
                    labels.clone(),
                );
                dm["generation"] = json!(w.revisions.len() + 3);
                dm["annotations"] = json!({"deployment.kubernetes.io/revision": format!("{}", w.revisions.len()), "meta.helm.sh/release-name": w.name, "meta.helm.sh/release-namespace": w.ns});
                let mut tpl = template(w, cur, &cur_r.hash);
                if let Some(o) = tpl["metadata"]["labels"].as_object_mut() {
                    o.remove("pod-template-hash");
                }
                let mut st = json!({"observedGeneration": w.revisions.len() + 3, "replicas": total, "updatedReplicas": updated, "readyReplicas": ready_total, "availableReplicas": ready_total,
                "conditions": [
                    {"type": "Available", "status": if avail_ok { "True" } else { "False" }, "reason": if avail_ok { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }, "message": if avail_ok { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." }, "lastUpdateTime": iso(now - cur_r.age.min(30 * 86_400)), "lastTransitionTime": iso(now - cur_r.age.min(30 * 86_400))},
                    if stuck {
                        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet \"{}-{}\" has timed out progressing.", w.name, cur_r.hash), "lastUpdateTime": iso(now - cur_r.age + 600), "lastTransitionTime": iso(now - cur_r.age + 600)})
                    } else if progressing_ok {
                        json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", w.name, cur_r.hash), "lastUpdateTime": iso(now - cur_r.age + 60), "lastTransitionTime": iso(now - cur_r.age + 60)})
                    } else {
                        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{}-{}\" is progressing.", w.name, cur_r.hash), "lastUpdateTime": iso(now - cur_r.age), "lastTransitionTime": iso(now - cur_r.age)})
                    }
                ]});
                if (w.replicas as usize) > ready_total {
                    st["unavailableReplicas"] = json!(w.replicas as usize - ready_total);
                }
                work.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dm,
                    "spec": {"replicas": w.replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": w.name}},
                             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}, "template": tpl}, "status": st}));
            }
            Controller::StatefulSet | Controller::DaemonSet => {
                let r = &w.revisions[w.revisions.len() - 1];
                let rdy = w.pods.iter().filter(|p| ready_pod(p)).count();
                let kind = if w.controller == Controller::StatefulSet {
                    "StatefulSet"
                } else {
                    "DaemonSet"
                };
                let mut m = meta(
                    &w.name,
                    Some(&w.ns),
                    now - w.age_days * 86_400,
                    labels.clone(),
                );
                m["generation"] = json!(2);
                let mut spec = json!({"selector": {"matchLabels": {"app": w.name}}, "template": template(w, 0, &r.hash), "updateStrategy": {"type": "RollingUpdate"}});
                let st = if kind == "StatefulSet" {
                    spec["replicas"] = json!(w.replicas);
                    spec["serviceName"] = json!(w.name);
                    if let Some(cl) = w.claims.first() {
                        spec["volumeClaimTemplates"] = json!([{"metadata": {"name": cl.name.split('-').next().unwrap_or("data")}, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cl.class, "resources": {"requests": {"storage": cl.size}}}}]);
                    }
                    json!({"observedGeneration": 2, "replicas": w.pods.len(), "readyReplicas": rdy, "currentReplicas": w.pods.len(), "updatedReplicas": w.pods.len(), "availableReplicas": rdy, "currentRevision": format!("{}-{}", w.name, r.hash), "updateRevision": format!("{}-{}", w.name, r.hash)})
                } else {
                    json!({"currentNumberScheduled": w.pods.len(), "desiredNumberScheduled": wd.nodes.len(), "numberReady": rdy, "numberAvailable": rdy, "updatedNumberScheduled": w.pods.len(), "observedGeneration": 2, "numberMisscheduled": 0})
                };
                work.push(json!({"apiVersion": "apps/v1", "kind": kind, "metadata": m, "spec": spec, "status": st}));
                for p in &w.pods {
                    pods.push(pod_json(wd, w, p, kind, &w.name, &r.hash));
                }
                for cl in &w.claims {
                    let mut pm = meta(
                        &cl.name,
                        Some(&w.ns),
                        now - w.age_days * 86_400,
                        json!({"app": w.name}),
                    );
                    let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": cl.size}}, "volumeMode": "Filesystem"});
                    if !cl.class.is_empty() {
                        spec["storageClassName"] = json!(cl.class);
                    }
                    if cl.bound {
                        let pv = format!("pvc-{}", uuid_like(&cl.name));
                        spec["volumeName"] = json!(pv);
                        pm["annotations"] = json!({"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"});
                        work.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pm, "spec": spec, "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": cl.size}}}));
                        cluster.push(json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta(&pv, None, now - w.age_days * 86_400, Value::Null),
                            "spec": {"capacity": {"storage": cl.size}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete", "storageClassName": cl.class, "claimRef": {"kind": "PersistentVolumeClaim", "namespace": w.ns, "name": cl.name}, "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": format!("vol-0{}", &uuid_like(&pv).replace('-', "")[..16])}},
                            "status": {"phase": "Bound"}}));
                    } else {
                        work.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pm, "spec": spec, "status": {"phase": "Pending"}}));
                    }
                }
            }
            Controller::CronJob => {
                let r = &w.revisions[w.revisions.len() - 1];
                let last = wd
                    .jobs
                    .iter()
                    .filter(|j| {
                        j.wi == wd
                            .workloads
                            .iter()
                            .position(|x| x.name == w.name && x.ns == w.ns)
                            .unwrap_or(usize::MAX)
                    })
                    .map(|j| j.age)
                    .min()
                    .unwrap_or(3600);
                work.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(&w.name, Some(&w.ns), now - w.age_days * 86_400, labels.clone()),
                    "spec": {"schedule": format!("{} */{} * * *", w.name.len() % 60, 1 + w.name.len() % 6), "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                             "jobTemplate": {"spec": {"backoffLimit": 3, "template": template(w, 0, &r.hash)}}},
                    "status": {"lastScheduleTime": iso(now - last)}}));
            }
        }
        // Service and endpoints.
        if w.service {
            let headless = w.cluster_ip.is_none();
            let port = if matches!(w.role, Role::Store(_)) {
                w.port
            } else {
                80
            };
            work.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(&w.name, Some(&w.ns), now - w.age_days * 86_400, json!({"app": w.name})),
                "spec": {"type": "ClusterIP", "clusterIP": w.cluster_ip.clone().unwrap_or_else(|| "None".into()), "selector": sel_labels.clone(),
                         "ports": [{"name": if headless { "tcp" } else { "http" }, "port": port, "targetPort": w.port, "protocol": "TCP"}]}}));
            let (k2, v2) = match &w.selector {
                Some((a, b)) => (a.clone(), b.clone()),
                None => ("app".to_string(), w.name.clone()),
            };
            let matching: Vec<&Pod> = w
                .pods
                .iter()
                .filter(|p| p.phase == "Running" && !p.terminating && (k2 == "app" && v2 == w.name))
                .collect();
            let addr = |p: &Pod| json!({"ip": p.ip, "nodeName": p.node.map(|n| wd.nodes[n].name.clone()), "targetRef": {"kind": "Pod", "name": p.name, "namespace": w.ns}});
            let ready: Vec<Value> = matching
                .iter()
                .filter(|p| ready_pod(p))
                .map(|p| addr(p))
                .collect();
            let not_ready: Vec<Value> = matching
                .iter()
                .filter(|p| !ready_pod(p))
                .map(|p| addr(p))
                .collect();
            let mut subset = json!({"ports": [{"name": if headless { "tcp" } else { "http" }, "port": w.port, "protocol": "TCP"}]});
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            let subsets = if ready.is_empty() && not_ready.is_empty() {
                json!([])
            } else {
                json!([subset])
            };
            work.push(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(&w.name, Some(&w.ns), now - w.age_days * 86_400, json!({"app": w.name})), "subsets": subsets}));
            let eps: Vec<Value> = matching.iter().map(|p| json!({"addresses": [p.ip], "conditions": {"ready": ready_pod(p), "serving": ready_pod(p), "terminating": false}, "nodeName": p.node.map(|n| wd.nodes[n].name.clone()), "targetRef": {"kind": "Pod", "name": p.name, "namespace": w.ns}})).collect();
            let mut em = meta(
                &format!("{}-{}", w.name, &uuid_like(&w.name)[..5]),
                Some(&w.ns),
                now - w.age_days * 86_400,
                json!({"kubernetes.io/service-name": w.name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
            );
            em["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Service", "name": w.name, "uid": uuid_like(&format!("svc/{}", w.name)), "controller": true, "blockOwnerDeletion": true}]);
            work.push(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": em, "addressType": "IPv4", "endpoints": eps, "ports": [{"name": if headless { "tcp" } else { "http" }, "port": w.port, "protocol": "TCP"}]}));
        }
        if let Some(s) = &w.secret {
            work.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta(s, Some(&w.ns), now - 60 * 86_400, json!({"app": w.name})), "type": "Opaque"}));
        }
    }
    // Jobs.
    for j in &wd.jobs {
        let w = &wd.workloads[j.wi];
        let mut m = meta(
            &j.name,
            Some(&w.ns),
            now - j.age,
            json!({"app": w.name, "job-name": j.name, "batch.kubernetes.io/job-name": j.name}),
        );
        if w.controller == Controller::CronJob {
            m["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": w.name, "uid": uuid_like(&format!("{}/{}", w.ns, w.name)), "controller": true}]);
        }
        let failed = j.pods.iter().filter(|p| p.phase == "Failed").count();
        let st = match j.ok {
            Some(true) => {
                json!({"startTime": iso(now - j.age), "completionTime": iso(now - j.age + j.duration), "succeeded": 1, "ready": 0, "terminating": 0,
                "conditions": [{"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": iso(now - j.age + j.duration), "lastTransitionTime": iso(now - j.age + j.duration)}, {"type": "Complete", "status": "True", "lastProbeTime": iso(now - j.age + j.duration), "lastTransitionTime": iso(now - j.age + j.duration)}]})
            }
            Some(false) => {
                json!({"startTime": iso(now - j.age), "failed": failed, "ready": 0, "terminating": 0,
                "conditions": [{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": iso(now - j.age + j.duration), "lastTransitionTime": iso(now - j.age + j.duration)}, {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": iso(now - j.age + j.duration), "lastTransitionTime": iso(now - j.age + j.duration)}]})
            }
            None => {
                json!({"startTime": iso(now - j.age), "active": 1, "ready": 1, "terminating": 0})
            }
        };
        let r = &w.revisions[w.revisions.len() - 1];
        let mut tpl = template(w, w.revisions.len() - 1, &r.hash);
        tpl["spec"]["restartPolicy"] = json!("Never");
        work.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": m, "spec": {"backoffLimit": j.backoff, "completions": 1, "parallelism": 1, "template": tpl}, "status": st}));
        for p in &j.pods {
            let mut pj = pod_json(wd, w, p, "Job", &j.name, "");
            pj["metadata"]["labels"] =
                json!({"app": w.name, "job-name": j.name, "batch.kubernetes.io/job-name": j.name});
            pods.push(pj);
        }
    }
    // HPAs.
    for h in &wd.hpas {
        let w = &wd.workloads[h.wi];
        let conds: Vec<Value> = h.conditions.iter().map(|(t, s, r, m, ago)| json!({"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": iso(now - ago)})).collect();
        let mut st = json!({"currentReplicas": h.current, "desiredReplicas": h.desired, "conditions": conds});
        if let Some(u) = h.util {
            st["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": u, "averageValue": format!("{}m", u * 2)}}}]);
        } else {
            // No metric could be read: the status has no currentMetrics.
        }
        work.push(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(&h.name, Some(&w.ns), now - w.age_days * 86_400, json!({"app": w.name})),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": h.target}, "minReplicas": h.min, "maxReplicas": h.max,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": h.target_util}}}]},
            "status": st}));
    }
    for o in &inc.objects {
        if o["kind"] == "CustomResourceDefinition" {
            cluster.push(o.clone());
        } else {
            work.push(o.clone());
        }
    }
    if inc.objects.iter().any(|o| o["kind"] == "Certificate") {
        cluster.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "certificates.cert-manager.io", "creationTimestamp": iso(now - 300 * 86_400)},
            "spec": {"group": "cert-manager.io", "scope": "Namespaced", "names": {"plural": "certificates", "singular": "certificate", "kind": "Certificate", "listKind": "CertificateList", "shortNames": ["cert", "certs"]}, "versions": [{"name": "v1", "served": true, "storage": true}]}}));
    }
    std::fs::write(k.join("cluster.json"), list(cluster))?;
    std::fs::write(k.join("pods.json"), list(pods))?;
    std::fs::write(k.join("workloads.json"), list(work))?;
    // Events.
    let mut evs: Vec<&super::incident::Event> = inc.events.iter().collect();
    evs.sort_by(|a, b| b.last.cmp(&a.last).then(a.name.cmp(&b.name)));
    let events: Vec<Value> = evs.iter().enumerate().map(|(i, e)| {
        let mut inv = json!({"kind": e.kind, "name": e.name, "apiVersion": match e.kind.as_str() { "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1", "Job" | "CronJob" => "batch/v1", "HorizontalPodAutoscaler" => "autoscaling/v2", "Certificate" => "cert-manager.io/v1", _ => "v1" }});
        if e.kind != "Node" {
            inv["namespace"] = json!(e.ns);
            inv["uid"] = json!(uuid_like(&format!("{}/{}", e.ns, e.name)));
        }
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{}.{:x}", e.name, 0x1840_0000_u64 + i as u64 * 7919), "namespace": e.ns, "creationTimestamp": iso(now - e.first)},
               "involvedObject": inv, "type": e.ty, "reason": e.reason, "message": e.message, "count": e.count, "firstTimestamp": iso(now - e.first), "lastTimestamp": iso(now - e.last),
               "source": {"component": e.source}, "reportingComponent": e.source, "reportingInstance": ""})
    }).collect();
    std::fs::write(k.join("events.json"), list(events))?;
    // Metrics.
    let mut metrics = Vec::new();
    let mut node_use: Vec<(u32, u32)> = vec![(350, 2400); wd.nodes.len()];
    for w in &wd.workloads {
        for p in w.pods.iter().chain(
            wd.jobs
                .iter()
                .filter(|j| wd.workloads[j.wi].name == w.name)
                .flat_map(|j| j.pods.iter()),
        ) {
            let (Some((cpu, mem)), Some(n)) = (p.usage, p.node) else {
                continue;
            };
            if p.phase != "Running" && p.phase != "Pending" {
                continue;
            }
            node_use[n].0 += cpu;
            node_use[n].1 += mem;
            metrics.push(json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics", "metadata": {"name": p.name, "namespace": w.ns, "creationTimestamp": iso(now)},
                "timestamp": iso(now - 14), "window": "15.012s", "containers": [{"name": w.name, "usage": {"cpu": format!("{cpu}m"), "memory": format!("{mem}Mi")}}]}));
        }
    }
    for (i, n) in wd.nodes.iter().enumerate() {
        if n.conditions.iter().any(|c| c.1 == "Unknown") {
            continue;
        }
        let (cpu, mem) = n.usage.unwrap_or(node_use[i]);
        metrics.push(json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": n.name, "creationTimestamp": iso(now), "labels": {"kubernetes.io/hostname": n.name}},
            "timestamp": iso(now - 11), "window": "20.04s", "usage": {"cpu": format!("{cpu}m"), "memory": format!("{}Mi", mem.min(n.size.1 * 1024))}}));
    }
    std::fs::write(k.join("metrics.json"), list(metrics))?;
    let _ = (parse_mi("1Gi"), Engine::Redis);
    Ok(())
}

/// Writes container logs: `logs/NS/POD/CONTAINER[.previous].log`, each line
/// prefixed with its RFC 3339 timestamp as `kubectl logs --timestamps` does.
pub fn write_logs(dir: &Path, logs: &super::render_otel::PodLogs) -> Result<()> {
    for ((ns, pod, c, prev), lines) in logs {
        let d = dir.join("k8s").join("logs").join(ns).join(pod);
        std::fs::create_dir_all(&d)?;
        let mut s = String::new();
        for (t, l) in lines {
            let ts = iso_ms(*t);
            // kubectl --timestamps prefixes every line, continuation lines too.
            for part in l.split('\n') {
                s.push_str(&format!("{ts} {part}\n"));
            }
        }
        std::fs::write(
            d.join(format!("{c}{}.log", if *prev { ".previous" } else { "" })),
            s,
        )?;
    }
    Ok(())
}
