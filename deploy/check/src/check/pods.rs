//! Checks on every pod template: probes, resources and security context.

use crate::Problems;
use crate::kustomize::split_image;
use crate::objects::{Object, name};
use crate::workload::{deployments, pod_spec, port_matches, quantity, workloads};

/// Every container has an HTTP liveness and readiness probe on one of its
/// ports; the project's own program (the first container) on `/healthz` and
/// `/readyz`, a sidecar after it on whatever paths its program serves.
pub fn check_probes(objects: &[Object]) -> Problems {
    let mut out = Vec::new();
    for d in deployments(objects) {
        for (n, c) in pod_spec(d)
            .map(|p| p.containers.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let who = format!("Deployment/{} container {}", name(&d.metadata), c.name);
            let own = n == 0;
            for (kind, probe, path) in [
                ("liveness", &c.liveness_probe, "/healthz"),
                ("readiness", &c.readiness_probe, "/readyz"),
            ] {
                match probe.as_ref().and_then(|p| p.http_get.as_ref()) {
                    None => out.push(format!("{who}: no HTTP {kind} probe")),
                    Some(get) => {
                        if own && get.path.as_deref() != Some(path) {
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
