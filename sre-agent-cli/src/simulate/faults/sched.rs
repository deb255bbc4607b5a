//! Faults of scheduling and nodes: quotas, unschedulable pods, evictions,
//! node failures and unbound volumes.

use serde_json::json;

use super::super::incident::{Ctx, Effect, KubeAlert, Symptom};
use super::super::surface::{Failure, iso};
use super::super::world::{Controller, Role};
use super::{
    blame, failed_scheduling, http_caller, named_app, pending, pod_not_ready, pod_uid, refused,
    replicas_mismatch, reset, rollout, service_down, store_down, told,
};

/// A ResourceQuota stops new pods from being created.
pub fn quota_exceeded(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let quota = ctx
        .rng
        .pick(&[
            "compute-quota",
            "team-quota",
            "ns-resources",
            "default-quota",
        ])
        .to_string();
    let ago = ctx.age() + ctx.rng.range(30, 300);
    let (ri, idx) = rollout(ctx, wi, ago, false, 0, |r, _| {
        r.mem_limit = r.mem_limit.clone()
    });
    // The new ReplicaSet cannot create its pod: remove it.
    for p in idx.iter().rev() {
        ctx.w.workloads[wi].pods.remove(*p);
    }
    let hash = ctx.w.workloads[wi].revisions[ri].hash.clone();
    let mem = ctx.w.workloads[wi].mem_req.clone();
    let mem_mi = super::super::world::parse_mi(&mem);
    let hard_gi = ctx.rng.range(4, 16);
    let used = hard_gi * 1024 - ctx.rng.range(0, (mem_mi as i64 - 1).max(1));
    let resource = if ctx.rng.chance(0.7) {
        "requests.memory"
    } else {
        "limits.memory"
    };
    let msg = format!(
        "Error creating: pods \"{name}-{hash}-{}\" is forbidden: exceeded quota: {quota}, requested: {resource}={mem}, used: {resource}={used}Mi, limited: {resource}={hard_gi}Gi",
        ctx.rng.suffix(5)
    );
    let n = (ctx.age() / 20).max(5) as u32;
    ctx.event(
        &ns,
        "ReplicaSet",
        &format!("{name}-{hash}"),
        "Warning",
        "FailedCreate",
        msg.clone(),
        n,
        ago,
        ctx.rng.range(5, 60),
        "replicaset-controller",
    );
    ctx.inc.objects.push(json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": quota, "namespace": ns, "creationTimestamp": iso(ctx.w.now - 200 * 86_400)},
        "spec": {"hard": {resource: format!("{hard_gi}Gi"), "pods": "60"}},
        "status": {"hard": {resource: format!("{hard_gi}Gi"), "pods": "60"}, "used": {resource: format!("{used}Mi"), "pods": format!("{}", ctx.rng.range(12, 40))}}
    }));
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "KubeQuotaFullyUsed",
        ns: ns.clone(),
        labels: vec![
            ("resourcequota".into(), quota.clone()),
            ("resource".into(), resource.into()),
        ],
        subject: name.clone(),
        severity: "info",
        age: (ctx.age() - 900).max(60),
    });
    blame(ctx, wi);
    ctx.inc
        .aliases
        .extend([quota.clone(), format!("resourcequota/{quota}")]);
    let title = format!("{name} rollout blocked by quota {quota}");
    let summary = format!(
        "{name}'s rollout cannot create pods: namespace {ns}'s ResourceQuota {quota} ({resource} {hard_gi}Gi) is used up."
    );
    told(ctx, title, summary)
}

/// A node stops reporting; its pods are lost.
pub fn node_failure(ctx: &mut Ctx) -> Option<()> {
    let n = ctx.rng.below(ctx.w.nodes.len());
    let nn = ctx.w.nodes[n].name.clone();
    let age = ctx.age();
    let pleg = ctx.rng.chance(0.3);
    if pleg {
        ctx.w.nodes[n].conditions.push((
            "Ready".into(),
            "False".into(),
            "KubeletNotReady".into(),
            format!(
                "PLEG is not healthy: pleg was last seen active {}m{}s ago; threshold is 3m0s",
                age / 60 + 3,
                ctx.rng.range(0, 59)
            ),
            age,
        ));
    } else {
        for c in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            ctx.w.nodes[n].conditions.push((
                c.into(),
                "Unknown".into(),
                "NodeStatusUnknown".into(),
                "Kubelet stopped posting node status.".into(),
                age,
            ));
        }
    }
    ctx.w.nodes[n].taints = vec![
        json!({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": iso(ctx.w.now - age)}),
        json!({"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": iso(ctx.w.now - age + 40)}),
    ];
    if pleg {
        ctx.w.nodes[n].taints = vec![
            json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": iso(ctx.w.now - age)}),
        ];
    }
    ctx.event(
        "default",
        "Node",
        &nn,
        "Normal",
        "NodeNotReady",
        format!("Node {nn} status is now: NodeNotReady"),
        1,
        age,
        age,
        "node-controller",
    );
    let mut hit = Vec::new();
    let evict = age > 330;
    for wi in 0..ctx.w.workloads.len() {
        let pods: Vec<usize> = (0..ctx.w.workloads[wi].pods.len())
            .filter(|&p| ctx.w.workloads[wi].pods[p].node == Some(n))
            .collect();
        if pods.is_empty() || ctx.w.workloads[wi].controller == Controller::DaemonSet {
            continue;
        }
        let total = ctx.w.workloads[wi].pods.len();
        let ns = ctx.w.workloads[wi].ns.clone();
        for &p in &pods {
            let pn = ctx.w.workloads[wi].pods[p].name.clone();
            {
                let pod = &mut ctx.w.workloads[wi].pods[p];
                pod.main.ready = false;
                pod.usage = None;
                pod.terminating = evict;
            }
            ctx.event(
                &ns,
                "Pod",
                &pn,
                "Warning",
                "NodeNotReady",
                "Node is not ready".into(),
                1,
                age - 20,
                age - 20,
                "node-controller",
            );
            if evict {
                ctx.event(
                    &ns,
                    "Pod",
                    &pn,
                    "Normal",
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {ns}/{pn}"),
                    1,
                    age - 300,
                    age - 300,
                    "taint-eviction-controller",
                );
            }
        }
        if ctx.w.workloads[wi].controller == Controller::Deployment && evict {
            let rev = ctx.w.workloads[wi].revisions.len() - 1;
            for k in 0..pods.len() {
                let name = ctx.w.pod_name(ctx.rng, wi, rev, k + 20);
                let mut p = ctx.w.new_pod(ctx.rng, wi, name, age - 305, rev);
                if p.node == Some(n) {
                    p.node = Some((n + 1) % ctx.w.nodes.len());
                }
                ctx.w.workloads[wi].pods.push(p);
            }
        }
        let share = pods.len() as f64 / total.max(1) as f64;
        if ctx.w.workloads[wi].is_http() || matches!(ctx.w.workloads[wi].role, Role::Store(_)) {
            let (host, ip) = (
                ctx.w.workloads[wi].name.clone(),
                ctx.w.workloads[wi].cluster_ip.clone().unwrap_or_default(),
            );
            let rate = if evict && ctx.w.workloads[wi].controller == Controller::Deployment {
                share * 0.15
            } else {
                share * 0.8
            };
            ctx.inc.effects.push(super::super::incident::Timed {
                effect: Effect::Call {
                    caller: None,
                    callee: wi,
                    rate,
                    ms: 10_000.0,
                    failure: Failure::ConnectTimeout { host, ip, port: 80 },
                },
                from: ctx.onset,
                full: ctx.onset + 30,
            });
            hit.push((wi, share));
        }
    }
    hit.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(&(wi, _)) = hit.first() {
        let c = http_caller(ctx, wi).unwrap_or(wi);
        ctx.inc.symptom = Some((c, Symptom::Errors));
        if ctx.w.workloads[wi].controller == Controller::Deployment {
            ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
        }
    }
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "KubeNodeNotReady",
        ns: "default".into(),
        labels: vec![("node".into(), nn.clone())],
        subject: nn.clone(),
        severity: "warning",
        age: (age - 900).max(60),
    });
    ctx.inc.nodes = vec![n];
    ctx.inc.component = nn.clone();
    ctx.inc.aliases = vec![format!("node/{nn}")];
    ctx.inc.ns = "default".into();
    let title = format!("node {nn} NotReady");
    let summary = if pleg {
        format!(
            "Node {nn}'s container runtime stopped responding (PLEG not healthy); the node is NotReady and its pods are failing."
        )
    } else {
        format!(
            "Node {nn} stopped reporting (kubelet stopped posting status); its pods are unreachable and being evicted."
        )
    };
    told(ctx, title, summary)
}

/// New pods cannot be scheduled.
pub fn unschedulable(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let nodes = ctx.w.nodes.len();
    let ago = ctx.age() + ctx.rng.range(30, 300);
    let variant = ctx.rng.below(4);
    let mem = format!(
        "{}Gi",
        ctx.w.nodes.iter().map(|n| n.size.1).max().unwrap_or(32) + 4
    );
    let m2 = mem.clone();
    let complete = ctx.rng.chance(0.3);
    let (_, idx) = rollout(ctx, wi, ago, complete, 1, move |r, _| {
        if variant == 0 {
            r.mem_limit = m2;
        }
    });
    let tainted = ctx.rng.range(1, (nodes as i64 - 1).max(1)) as usize;
    let rest = nodes - tainted.min(nodes);
    let msg = match variant {
        0 => format!(
            "0/{nodes} nodes are available: {nodes} Insufficient memory. preemption: 0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod."
        ),
        1 => format!(
            "0/{nodes} nodes are available: {tainted} node(s) didn't match Pod's node affinity/selector, {rest} node(s) had untolerated taint {{dedicated: batch}}. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
        ),
        2 => format!(
            "0/{nodes} nodes are available: {tainted} Insufficient nvidia.com/gpu, {rest} node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
        ),
        _ => format!(
            "0/{nodes} nodes are available: {nodes} node(s) didn't match pod anti-affinity rules. preemption: 0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod."
        ),
    };
    for &p in &idx {
        let pn = ctx.w.workloads[wi].pods[p].name.clone();
        pending(ctx, wi, p, &msg);
        let n = (ctx.age() / 60).max(2) as u32;
        let last = ctx.rng.range(10, 120);
        failed_scheduling(ctx, wi, p, msg.clone(), n, ago, last);
        if ctx.rng.chance(0.5) {
            ctx.event(
                &ns,
                "Pod",
                &pn,
                "Normal",
                "NotTriggerScaleUp",
                format!(
                    "pod didn't trigger scale-up: {} max node group size reached",
                    ctx.rng.range(1, 3)
                ),
                n,
                ago,
                ctx.rng.range(10, 120),
                "cluster-autoscaler",
            );
        }
    }
    if complete {
        service_down(ctx, wi, 0.9, 1.0, refused);
    }
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    ctx.inc.kube_alerts.push(pod_not_ready(ctx, wi, idx[0]));
    blame(ctx, wi);
    let title = format!("{name} pods Pending");
    let summary = match variant {
        0 => format!(
            "{name}'s new revision asks for {mem} of memory, more than any node offers; its pods stay Pending."
        ),
        1 => format!(
            "{name}'s new revision requires nodes with a label no untainted node has; its pods stay Pending."
        ),
        2 => format!(
            "{name}'s new revision requests a GPU and no schedulable node has one; its pods stay Pending."
        ),
        _ => format!(
            "{name}'s new revision has a required anti-affinity no node can satisfy; its pods stay Pending."
        ),
    };
    told(ctx, title, summary)
}

/// Pods evicted for exceeding node resources.
pub fn evicted(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let disk = ctx.rng.chance(0.6);
    let n_ev = ctx.rng.range(2, 6) as usize;
    let node = ctx.w.workloads[wi]
        .pods
        .first()
        .and_then(|p| p.node)
        .unwrap_or(0);
    let nn = ctx.w.nodes[node].name.clone();
    let rev = ctx.w.workloads[wi].revisions.len() - 1;
    for k in 0..n_ev {
        let pname = ctx.w.pod_name(ctx.rng, wi, rev, 30 + k);
        let ago = ctx.ago(k as f64 / n_ev as f64);
        let mut p = ctx.w.new_pod(ctx.rng, wi, pname.clone(), ago + 600, rev);
        p.node = Some(node);
        p.phase = "Failed".into();
        p.usage = None;
        p.main.ready = false;
        let used = ctx.rng.range(9, 30);
        let msg = if disk {
            format!(
                "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: {}Mi. Container {name} was using {used}Gi, request is 0, has larger consumption of ephemeral-storage. ",
                ctx.rng.range(4000, 9000)
            )
        } else {
            format!(
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Ki. Container {name} was using {}Mi, request is {}, has larger consumption of memory. ",
                ctx.rng.range(40_000, 99_000),
                used * 180,
                ctx.w.workloads[wi].mem_req
            )
        };
        p.reason = Some(("Evicted".into(), msg.clone()));
        p.main.state = Some(
            json!({"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown", "message": "The container could not be located when the pod was terminated", "startedAt": iso(ctx.w.now - ago - 600), "finishedAt": iso(ctx.w.now - ago)}}),
        );
        ctx.w.workloads[wi].pods.push(p);
        ctx.event(
            &ns, "Pod", &pname, "Warning", "Evicted", msg, 1, ago, ago, "kubelet",
        );
        ctx.event(
            &ns,
            "Pod",
            &pname,
            "Normal",
            "Killing",
            format!("Stopping container {name}"),
            1,
            ago,
            ago,
            "kubelet",
        );
    }
    let res = if disk { "ephemeral-storage" } else { "memory" };
    let cond = if disk {
        "DiskPressure"
    } else {
        "MemoryPressure"
    };
    let since = ctx.age();
    ctx.w.nodes[node].conditions.push((
        cond.into(),
        "True".into(),
        if disk {
            "KubeletHasDiskPressure"
        } else {
            "KubeletHasInsufficientMemory"
        }
        .into(),
        format!(
            "kubelet has {}",
            if disk {
                "disk pressure"
            } else {
                "insufficient memory available"
            }
        ),
        since,
    ));
    ctx.w.nodes[node].taints.push(json!({"key": if disk { "node.kubernetes.io/disk-pressure" } else { "node.kubernetes.io/memory-pressure" }, "effect": "NoSchedule", "timeAdded": iso(ctx.onset)}));
    ctx.event(
        "default",
        "Node",
        &nn,
        "Warning",
        "EvictionThresholdMet",
        format!("Attempting to reclaim {res}"),
        n_ev as u32,
        ctx.age(),
        30,
        "kubelet",
    );
    ctx.event(
        "default",
        "Node",
        &nn,
        "Normal",
        if disk {
            "NodeHasDiskPressure"
        } else {
            "NodeHasInsufficientMemory"
        },
        format!(
            "Node {nn} status is now: {}",
            if disk {
                "NodeHasDiskPressure"
            } else {
                "NodeHasInsufficientMemory"
            }
        ),
        1,
        ctx.age(),
        ctx.age(),
        "kubelet",
    );
    service_down(ctx, wi, 0.15, 2.0, reset);
    let p0 = ctx.w.workloads[wi].pods.len() - 1;
    ctx.inc.kube_alerts.push(pod_not_ready(ctx, wi, p0));
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    ctx.inc.nodes = vec![node];
    blame(ctx, wi);
    ctx.inc.aliases.truncate(2);
    let title = format!("{name} pods evicted");
    let summary = format!(
        "{name}'s pods use far more {res} than they request and are evicted by the kubelet of {nn} under {cond}."
    );
    told(ctx, title, summary)
}

/// A StatefulSet pod waits for a volume claim that cannot bind.
pub fn pvc_unbound(ctx: &mut Ctx) -> Option<()> {
    let stores: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| matches!(ctx.w.workloads[i].role, Role::Store(_)))
        .collect();
    let &si = stores.get(ctx.rng.below(stores.len().max(1)))?;
    let (name, ns) = ctx.names(si);
    let missing_class = ctx.rng.chance(0.6);
    let bad_class = ctx
        .rng
        .pick(&["fast-ssd", "premium-ssd", "gp3-encrypted", "local-nvme"])
        .to_string();
    // The last replica was recreated (its volume deleted) or a replica added.
    let k = ctx.w.workloads[si].pods.len() - 1;
    let claim = ctx.w.workloads[si].claims[k.min(ctx.w.workloads[si].claims.len() - 1)]
        .name
        .clone();
    if let Some(c) = ctx.w.workloads[si]
        .claims
        .iter_mut()
        .find(|c| c.name == claim)
    {
        c.bound = false;
        if missing_class {
            c.class = bad_class.clone();
        } else {
            c.class = String::new();
        }
    }
    let nodes = ctx.w.nodes.len();
    let msg = format!(
        "0/{nodes} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
    );
    pending(ctx, si, k, &msg);
    ctx.w.workloads[si].pods[k].age = ctx.age();
    let pn = ctx.w.workloads[si].pods[k].name.clone();
    let n = (ctx.age() / 60).max(2) as u32;
    let last = ctx.rng.range(10, 120);
    failed_scheduling(ctx, si, k, msg, n, ctx.age(), last);
    if missing_class {
        ctx.event(
            &ns,
            "PersistentVolumeClaim",
            &claim,
            "Warning",
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io \"{bad_class}\" not found"),
            n * 4,
            ctx.age(),
            ctx.rng.range(5, 30),
            "persistentvolume-controller",
        );
    } else {
        ctx.event(
            &ns,
            "PersistentVolumeClaim",
            &claim,
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".into(),
            n * 4,
            ctx.age(),
            ctx.rng.range(5, 30),
            "persistentvolume-controller",
        );
    }
    let single = ctx.w.workloads[si].pods.len() == 1;
    if single {
        let ip = ctx.w.workloads[si].cluster_ip.clone().unwrap_or_default();
        store_down(ctx, si, ip, 0.95, 1.0);
    }
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "KubeStatefulSetReplicasMismatch",
        ns: ns.clone(),
        labels: vec![("statefulset".into(), name.clone())],
        subject: name.clone(),
        severity: "warning",
        age: (ctx.age() - 900).max(60),
    });
    ctx.inc.kube_alerts.push(pod_not_ready(ctx, si, k));
    blame(ctx, si);
    ctx.inc
        .aliases
        .extend([claim.clone(), format!("persistentvolumeclaim/{claim}")]);
    ctx.inc.ns = ns;
    ctx.inc.summary = if missing_class {
        format!(
            "{name}'s claim {claim} asks for StorageClass {bad_class}, which does not exist; the claim stays Pending and {pn} cannot be scheduled."
        )
    } else {
        format!(
            "{name}'s claim {claim} has no StorageClass and no PersistentVolume matches it; {pn} cannot be scheduled."
        )
    };
    ctx.inc.title = format!("{pn} Pending: volume claim unbound");
    let _ = pod_uid;
    Some(())
}
