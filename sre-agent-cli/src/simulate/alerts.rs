//! The alert that fired: an Alertmanager webhook with kube-prometheus-stack
//! labels, or a SigNoz alert on a service's error rate or latency.

use serde_json::{Value, json};

use super::incident::KubeAlert;
use super::rng::Rng;
use super::surface::iso;

fn fingerprint(rng: &Rng) -> String {
    rng.hex(16)
}

#[allow(clippy::too_many_arguments)]
fn body(
    labels: Value,
    annotations: Value,
    starts: i64,
    generator: String,
    group: Vec<&str>,
    rng: &Rng,
    receiver: &str,
    external: &str,
) -> Value {
    let mut gl = serde_json::Map::new();
    for k in group {
        if let Some(v) = labels.get(k) {
            gl.insert(k.to_string(), v.clone());
        }
    }
    let gk = format!(
        "{{}}:{{{}}}",
        gl.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    json!({
        "receiver": receiver,
        "status": "firing",
        "alerts": [{"status": "firing", "labels": labels, "annotations": annotations, "startsAt": format!("{}", iso(starts).replace('Z', ".000Z")), "endsAt": "0001-01-01T00:00:00Z", "generatorURL": generator, "fingerprint": fingerprint(rng)}],
        "groupLabels": gl,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external,
        "version": "4",
        "groupKey": gk,
        "truncatedAlerts": 0
    })
}

/// An Alertmanager webhook body for a kube-prometheus-stack alert.
pub fn kube(a: &KubeAlert, now: i64, rng: &Rng) -> Value {
    let mut labels = json!({"alertname": a.name, "namespace": a.ns});
    for (k, v) in &a.labels {
        labels[k] = json!(v);
    }
    let node_exporter = a.name == "KubeNodeNotReady";
    labels["job"] = json!("kube-state-metrics");
    labels["endpoint"] = json!("http");
    labels["service"] = json!("kube-prometheus-stack-kube-state-metrics");
    labels["instance"] = json!(format!(
        "10.244.{}.{}:8080",
        rng.range(0, 7),
        rng.range(2, 250)
    ));
    labels["container"] = labels
        .get("container")
        .cloned()
        .unwrap_or(json!("kube-state-metrics"));
    labels["pod"] = labels.get("pod").cloned().unwrap_or(json!(format!(
        "kube-prometheus-stack-kube-state-metrics-{}-{}",
        rng.suffix(10),
        rng.suffix(5)
    )));
    labels["severity"] = json!(a.severity);
    labels["prometheus"] = json!("monitoring/kube-prometheus-stack-prometheus");
    if node_exporter {
        labels["namespace"] = json!("monitoring");
    }
    let get = |k: &str| {
        a.labels
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (summary, description, expr) = match a.name {
        "KubePodCrashLooping" => (
            "Pod is crash looping.".to_string(),
            format!(
                "Pod {}/{} ({}) is in waiting state (reason: \"CrashLoopBackOff\").",
                a.ns,
                get("pod"),
                get("container")
            ),
            "max_over_time(kube_pod_container_status_waiting_reason{job=\"kube-state-metrics\",reason=\"CrashLoopBackOff\"}[5m]) >= 1",
        ),
        "KubePodNotReady" => (
            "Pod has been in a non-ready state for more than 15 minutes.".to_string(),
            format!(
                "Pod {}/{} has been in a non-ready state for longer than 15 minutes on cluster .",
                a.ns,
                get("pod")
            ),
            "sum by (namespace, pod, cluster) (max by (namespace, pod, cluster) (kube_pod_status_phase{job=\"kube-state-metrics\",phase=~\"Pending|Unknown|Failed\"})) > 0",
        ),
        "KubeDeploymentReplicasMismatch" => (
            "Deployment has not matched the expected number of replicas.".to_string(),
            format!(
                "Deployment {}/{} has not matched the expected number of replicas for longer than 15 minutes.",
                a.ns,
                get("deployment")
            ),
            "(kube_deployment_spec_replicas{job=\"kube-state-metrics\"} > kube_deployment_status_replicas_available{job=\"kube-state-metrics\"})",
        ),
        "KubeStatefulSetReplicasMismatch" => (
            "StatefulSet has not matched the expected number of replicas.".to_string(),
            format!(
                "StatefulSet {}/{} has not matched the expected number of replicas for longer than 15 minutes.",
                a.ns,
                get("statefulset")
            ),
            "(kube_statefulset_status_replicas_ready{job=\"kube-state-metrics\"} != kube_statefulset_status_replicas{job=\"kube-state-metrics\"})",
        ),
        "KubeContainerWaiting" => (
            "Pod container waiting longer than 1 hour".to_string(),
            format!(
                "pod/{} in namespace {} on container {} has been in waiting state for longer than 1 hour. (reason: \"{}\") on cluster .",
                get("pod"),
                a.ns,
                get("container"),
                get("reason")
            ),
            "kube_pod_container_status_waiting_reason{job=\"kube-state-metrics\",reason!=\"CrashLoopBackOff\"} > 0",
        ),
        "KubeJobFailed" => (
            "Job failed to complete.".to_string(),
            format!(
                "Job {}/{} failed to complete. Removing failed job after investigation should clear this alert.",
                a.ns,
                get("job_name")
            ),
            "kube_job_failed{job=\"kube-state-metrics\"} > 0",
        ),
        "KubeHpaMaxedOut" => (
            "HPA is running at max replicas".to_string(),
            format!(
                "HPA {}/{} has been running at max replicas for longer than 15 minutes.",
                a.ns,
                get("horizontalpodautoscaler")
            ),
            "kube_horizontalpodautoscaler_status_current_replicas{job=\"kube-state-metrics\"} == kube_horizontalpodautoscaler_spec_max_replicas{job=\"kube-state-metrics\"}",
        ),
        "KubeQuotaFullyUsed" => (
            "Namespace quota is fully used.".to_string(),
            format!(
                "Namespace {} is using 100% of its {} quota.",
                a.ns,
                get("resource")
            ),
            "kube_resourcequota{job=\"kube-state-metrics\",type=\"used\"} / ignoring(instance, job, type) (kube_resourcequota{job=\"kube-state-metrics\",type=\"hard\"} > 0) == 1",
        ),
        "KubePersistentVolumeFillingUp" => (
            "PersistentVolume is filling up.".to_string(),
            format!(
                "The PersistentVolume claimed by {} in Namespace {} is only {:.2}% free.",
                get("persistentvolumeclaim"),
                a.ns,
                rng.uniform(0.01, 2.5)
            ),
            "(kubelet_volume_stats_available_bytes{job=\"kubelet\",metrics_path=\"/metrics\"} / kubelet_volume_stats_capacity_bytes{job=\"kubelet\",metrics_path=\"/metrics\"}) < 0.03",
        ),
        "CPUThrottlingHigh" => (
            "Processes experience elevated CPU throttling.".to_string(),
            format!(
                "{:.0}% throttling of CPU in namespace {} for container {} in pod {} on cluster .",
                rng.uniform(40.0, 90.0),
                a.ns,
                get("container"),
                get("pod")
            ),
            "sum without (id, metrics_path, name, image, endpoint, job, node) (increase(container_cpu_cfs_throttled_periods_total{container!=\"\",job=\"kubelet\",metrics_path=\"/metrics/cadvisor\"}[5m])) / on (cluster, id, ...) > (25 / 100)",
        ),
        "KubeNodeNotReady" => (
            "Node is not ready.".to_string(),
            format!(
                "{} has been unready for more than 15 minutes on cluster .",
                get("node")
            ),
            "kube_node_status_condition{job=\"kube-state-metrics\",condition=\"Ready\",status=\"true\"} == 0",
        ),
        _ => (format!("{} firing", a.name), String::new(), "up == 0"),
    };
    if a.name == "KubePersistentVolumeFillingUp" || a.name == "CPUThrottlingHigh" {
        labels["job"] = json!("kubelet");
        labels["service"] = json!("kube-prometheus-stack-kubelet");
        labels["endpoint"] = json!("https-metrics");
        labels["metrics_path"] = json!(if a.name == "CPUThrottlingHigh" {
            "/metrics/cadvisor"
        } else {
            "/metrics"
        });
    }
    let runbook = format!(
        "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/{}",
        a.name.to_lowercase()
    );
    let ann = json!({"summary": summary, "description": description, "runbook_url": runbook});
    let generator = format!(
        "http://kube-prometheus-stack-prometheus.monitoring:9090/graph?g0.expr={}&g0.tab=1",
        expr.replace(' ', "+")
    );
    body(
        labels,
        ann,
        now - a.age,
        generator,
        vec!["alertname", "namespace"],
        rng,
        "sre-agent",
        "http://kube-prometheus-stack-alertmanager.monitoring:9093",
    )
}

/// What a SigNoz rule watches.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Error rate of a service.
    Errors,
    /// p99 latency of a service.
    Latency,
    /// A custom metric threshold (name, metric).
    Metric(&'static str, &'static str),
}

/// A SigNoz webhook body on `service`.
pub fn signoz(rule: Rule, service: &str, ns: &str, now: i64, age: i64, rng: &Rng) -> Value {
    let rule_id = format!("{}", rng.range(1, 300));
    let (name, summary, desc, threshold) = match rule {
        Rule::Errors => {
            let v = rng.uniform(5.0, 40.0);
            let name = match rng.below(3) {
                0 => format!("High error rate on {service}"),
                1 => format!("{service} error rate > 5%"),
                _ => format!("{service}: 5xx ratio above threshold"),
            };
            (
                name,
                format!("Error rate of {service} is {v:.1}% (threshold 5%)"),
                format!("The error rate of {service} has been above 5% for 5 minutes."),
                "5",
            )
        }
        Rule::Latency => {
            let v = rng.uniform(900.0, 5000.0);
            let name = match rng.below(3) {
                0 => format!("p99 latency of {service}"),
                1 => format!("{service} p99 latency high"),
                _ => format!("Slow responses from {service}"),
            };
            (
                name,
                format!("p99 latency of {service} is {v:.0} ms (threshold 800 ms)"),
                format!("p99 of {service} over 5 minutes is above 800 ms."),
                "800",
            )
        }
        Rule::Metric(name, metric) => (
            format!("{name} on {service}"),
            format!("{metric} of {service} is above its threshold"),
            format!("{metric} crossed its threshold for 10 minutes."),
            "10000",
        ),
    };
    let labels = json!({"alertname": name, "ruleId": rule_id, "ruleSource": format!("https://signoz.example.com/alerts/edit?ruleId={rule_id}"), "service.name": service, "severity": if rng.chance(0.5) { "critical" } else { "warning" }, "threshold": threshold, "k8s.namespace.name": ns});
    let ann = json!({"summary": summary, "description": desc});
    body(
        labels,
        ann,
        now - age,
        format!("https://signoz.example.com/alerts/edit?ruleId={rule_id}"),
        vec!["alertname"],
        rng,
        "sre-agent-webhook",
        "https://signoz.example.com",
    )
}
