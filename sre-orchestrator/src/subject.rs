//! What an alert is about: its *subject*, resolved from the labels.
//!
//! Alert labels mix two things. Some name the object the rule measured
//! (`deployment="checkout"`, `pod="cart-59b7d8c6f-87l5t"`,
//! `persistentvolumeclaim="data-db-0"`); others name the *scrape target* that
//! exported the series (`job="kube-state-metrics"`, `endpoint="http"`,
//! `instance="10.0.3.7:8080"`, `service="kube-prometheus-stack-kube-state-metrics"`).
//! kube-prometheus-stack's rules (`kubernetes-apps`, `kubernetes-resources`,
//! `kubernetes-storage`, `node-exporter`) keep both, so taking `service` at
//! face value sends an investigation to the exporter. The table below lists
//! the subject labels of the common exporters, most specific first; scrape
//! target labels are used only when they name something that is not a
//! monitoring component.
//!
//! When Prometheus scrapes a target whose own labels collide with target
//! labels it renames them `exported_*`; those are the subject's and win.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The resolved subject of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The object's kind (`Deployment`, `Pod`, `Job`, `Node`, `Service`, …).
    pub kind: String,
    /// The object's name as the label gives it.
    pub name: String,
    /// The workload (or service) that owns it: a pod's controller, a PVC's
    /// StatefulSet, an HPA's target by name; the name itself otherwise.
    pub workload: String,
    /// The label it was read from.
    pub label: String,
    /// The namespace the label itself says it lives in (an HAProxy
    /// backend's `<namespace>_svc_<service>_<port>`), when that is not the
    /// alert's `namespace` label (the controller's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// (label, kind), most specific first. A label appears once.
const SUBJECT_LABELS: &[(&str, &str)] = &[
    // kube-state-metrics (kube-prometheus-stack `kubernetes-apps`,
    // `kubernetes-resources`, `kubernetes-storage`).
    ("exported_deployment", "Deployment"),
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("cronjob", "CronJob"),
    ("job_name", "Job"),
    ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    // An ingress controller's request metrics (ingress-nginx's
    // `nginx_ingress_controller_requests`) are scraped from the controller,
    // whose pod and Service are the `pod` and `service` labels; the Ingress
    // they are about is `ingress` (its backend answered the 5xx).
    ("ingress", "Ingress"),
    // HAProxy's own exporter (and haproxy_exporter) label a backend
    // `proxy` (or `backend`); the Kubernetes ingress controllers name it
    // after the Service it fronts (see [`haproxy_backend`]).
    ("proxy", "HAProxyBackend"),
    ("backend", "HAProxyBackend"),
    ("exported_pod", "Pod"),
    ("pod", "Pod"),
    // OpenTelemetry resource attributes (SigNoz rules, the OTel collector's
    // Prometheus exporter with dots turned into underscores).
    ("k8s.deployment.name", "Deployment"),
    ("k8s_deployment_name", "Deployment"),
    ("k8s.statefulset.name", "StatefulSet"),
    ("k8s_statefulset_name", "StatefulSet"),
    ("k8s.daemonset.name", "DaemonSet"),
    ("k8s_daemonset_name", "DaemonSet"),
    ("k8s.job.name", "Job"),
    ("k8s_job_name", "Job"),
    ("k8s.pod.name", "Pod"),
    ("k8s_pod_name", "Pod"),
    ("service.name", "Service"),
    ("service_name", "Service"),
    ("serviceName", "Service"),
    ("exported_service", "Service"),
    // Service meshes' request metrics name both ends: Istio's
    // `destination_*` labels name the end that serves, which an alert on
    // `istio_request_duration_milliseconds` is about. (Linkerd's own
    // `deployment` label, earlier in this list, names the proxy's
    // workload and wins; its `dst_*` labels serve when it is dropped.)
    ("destination_workload", "App"),
    ("dst_deployment", "Deployment"),
    ("dst_statefulset", "StatefulSet"),
    ("destination_app", "App"),
    ("destination_service_name", "Service"),
    // Kafka exporters (kafka_exporter, kminion, Burrow): the consumer group
    // lags, the topic is where.
    ("consumergroup", "ConsumerGroup"),
    ("consumer_group", "ConsumerGroup"),
    ("group", "ConsumerGroup"),
    ("topic", "Topic"),
    // Data stores (postgres/mongodb/redis exporters set these).
    ("datname", "Database"),
    ("database", "Database"),
    ("node", "Node"),
    ("k8s.node.name", "Node"),
    ("k8s_node_name", "Node"),
    ("nodename", "Node"),
    ("app.kubernetes.io/name", "App"),
    ("app_kubernetes_io_name", "App"),
    ("app", "App"),
    ("service", "Service"),
    ("container", "Container"),
    ("exported_job", "Job"),
];

/// Names of monitoring components: a label holding one of these names the
/// scraper, never the subject.
const SCRAPERS: &[&str] = &[
    "kube-state-metrics",
    "node-exporter",
    "kubelet",
    "cadvisor",
    "blackbox",
    "prometheus",
    "pushgateway",
    "alertmanager",
    "otel-collector",
    "opentelemetry-collector",
    "otelcol",
    // The OpenTelemetry Collector's receivers, as the service of the series
    // they scrape.
    "kubeletstats",
    "k8s_cluster",
    "k8scluster",
    "hostmetrics",
    "signoz",
    "-exporter",
    "exporter-",
    "kube-prometheus-stack",
];

/// Whether a label value names a monitoring component.
pub fn is_scraper(value: &str) -> bool {
    let v = value.to_lowercase();
    SCRAPERS.iter().any(|s| v.contains(s))
}

/// Resolves the subject from an alert's labels. `owner_of` maps a pod name
/// to its workload ([`owner_of`], or a test's own).
pub fn resolve(labels: &BTreeMap<String, String>, owner_of: fn(&str) -> String) -> Option<Subject> {
    let job = labels.get("job").map(String::as_str).unwrap_or("");
    for (label, kind) in SUBJECT_LABELS {
        let Some(value) = labels.get(*label).map(|v| v.trim()) else {
            continue;
        };
        if value.is_empty() || is_scraper(value) {
            continue;
        }
        // `service`/`container`/`app` equal to the scrape job are the
        // target's own names (`job="checkout", service="checkout"` is fine,
        // `job="kube-state-metrics", container="kube-state-metrics"` is not,
        // and was filtered above).
        if matches!(*label, "group" | "database") && !job.to_lowercase().contains("exporter") {
            // Too generic outside an exporter's series.
            continue;
        }
        if *kind == "HAProxyBackend" {
            let haproxy = ["job", "service", "alertname"].iter().any(|l| {
                labels
                    .get(*l)
                    .is_some_and(|v| v.to_lowercase().contains("haproxy"))
            });
            let Some((namespace, service)) = haproxy_backend(value).filter(|_| haproxy) else {
                continue;
            };
            return Some(Subject {
                kind: "Service".into(),
                name: value.to_string(),
                workload: service.to_string(),
                label: label.to_string(),
                namespace: Some(namespace.to_string()),
            });
        }
        let workload = match *kind {
            "Pod" => owner_of(value),
            "PersistentVolumeClaim" => pvc_workload(value),
            "Service" => traefik_service(value).unwrap_or(value).to_string(),
            _ => value.to_string(),
        };
        return Some(Subject {
            kind: kind.to_string(),
            name: value.to_string(),
            workload,
            label: label.to_string(),
            namespace: None,
        });
    }
    // node-exporter and blackbox alerts: the instance is the subject.
    if let Some(instance) = labels.get("instance").filter(|_| {
        let j = job.to_lowercase();
        j.contains("node-exporter") || j.contains("node_exporter")
    }) {
        let host = instance
            .rsplit_once(':')
            .map_or(instance.as_str(), |(h, _)| h);
        return Some(Subject {
            kind: "Node".into(),
            name: host.to_string(),
            workload: host.to_string(),
            label: "instance".into(),
            namespace: None,
        });
    }
    if !job.is_empty() && !is_scraper(job) {
        return Some(Subject {
            kind: "Service".into(),
            name: job.to_string(),
            workload: job.to_string(),
            label: "job".into(),
            namespace: None,
        });
    }
    None
}

/// A Traefik router's service as its metrics name it,
/// `<namespace>-<service>-<port>@<provider>` for the Kubernetes providers
/// (`booking-booking-engine-8080@kubernetes`, `…@kubernetescrd`): the
/// `<namespace>-<service>` part, which the engine matches against the
/// cluster's Services (where the namespace ends is the cluster's to say).
pub fn traefik_service(value: &str) -> Option<&str> {
    let (name, provider) = value.rsplit_once('@')?;
    if !provider.starts_with("kubernetes") {
        return None;
    }
    let (base, port) = name.rsplit_once('-')?;
    (!base.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(base)
}

/// An HAProxy backend as the Kubernetes ingress controllers name it:
/// `<namespace>_svc_<service>_<port>` (HAProxy Technologies' controller) or
/// `<namespace>_<service>_<port>` (jcmoraisjr's haproxy-ingress), as
/// `(namespace, service)`. Kubernetes names hold no `_`, so the parts are
/// unambiguous.
pub fn haproxy_backend(value: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = value.split('_').collect();
    let (namespace, service, port) = match parts.as_slice() {
        [ns, "svc", svc, port] => (*ns, *svc, *port),
        [ns, svc, port] => (*ns, *svc, *port),
        _ => return None,
    };
    (!namespace.is_empty() && !service.is_empty() && !port.is_empty())
        .then_some((namespace, service))
}

/// The workload behind a StatefulSet's claim: `data-db-0` (template `data`,
/// StatefulSet `db`, ordinal 0) → `db`. Other claims stand for themselves.
fn pvc_workload(claim: &str) -> String {
    let Some((rest, ordinal)) = claim.rsplit_once('-') else {
        return claim.to_string();
    };
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return claim.to_string();
    }
    // The template name is the first dash-separated part; StatefulSet names
    // may contain dashes themselves.
    match rest.split_once('-') {
        Some((_, set)) if !set.is_empty() => set.to_string(),
        _ => claim.to_string(),
    }
}

/// The workload a pod belongs to, from its name (`cart-59b7d8c6f-87l5t` →
/// `cart`, `db-0` → `db`; Spark on Kubernetes' executors and drivers,
/// `customer-ltv-backfill-1cec5b32f1cf9f5f-exec-3` and `…-driver`, →
/// `customer-ltv-backfill`, the application).
pub fn owner_of(pod: &str) -> String {
    static SPARK: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let spark =
        SPARK.get_or_init(|| Regex::new(r"^(.+?)(?:-[0-9a-f]{16})?-(?:exec-\d+|driver)$").ok());
    if let Some(app) = spark
        .as_ref()
        .and_then(|re| re.captures(pod))
        .and_then(|c| c.get(1))
    {
        return app.as_str().to_string();
    }
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(
        || // Kubernetes' generated suffixes use consonants and digits only
        // (no vowels), which tells `node-exporter-x7k2p` from a hash.
        Regex::new(r"^(.+?)(?:-[b-df-hj-np-tv-z0-9]{6,10})?-(?:[b-df-hj-np-tv-z0-9]{5}|\d+)$").ok(),
    );
    re.as_ref()
        .and_then(|re| re.captures(pod))
        .and_then(|c| c.get(1))
        .map_or_else(|| pod.to_string(), |m| m.as_str().to_string())
}

/// Whether two component names refer to the same thing (`checkout` and
/// `checkout-api`, `orders` and `shop.orders` are; `cart` and `carts` are not).
pub fn same_component(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a == b {
        return true;
    }
    let stem = |s: &str| -> String {
        let s = s.rsplit('.').next().unwrap_or(s).to_string();
        for suffix in ["-api", "-svc", "-service", "-server", "-worker", "-db"] {
            if let Some(x) = s.strip_suffix(suffix) {
                return x.to_string();
            }
        }
        s
    };
    stem(&a) == stem(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owner(pod: &str) -> String {
        owner_of(pod)
    }

    /// Label sets as kube-prometheus-stack's rules produce them: the
    /// exporter's `service`, `job`, `endpoint` and `container` never win.
    #[test]
    fn kube_state_metrics_alerts_name_the_object_not_the_exporter() {
        let ksm = [
            ("job", "kube-state-metrics"),
            ("endpoint", "http"),
            ("service", "kube-prometheus-stack-kube-state-metrics"),
            ("instance", "10.244.1.12:8080"),
            ("container", "kube-state-metrics"),
            ("namespace", "payments"),
        ];
        // (extra labels, kind, name, workload)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (
                &[
                    ("alertname", "KubeJobFailed"),
                    ("job_name", "nightly-export"),
                ],
                "Job",
                "nightly-export",
                "nightly-export",
            ),
            (
                &[
                    ("alertname", "KubePodCrashLooping"),
                    ("pod", "ledger-7d9f8b6c5d-x2k4q"),
                    ("reason", "CrashLoopBackOff"),
                ],
                "Pod",
                "ledger-7d9f8b6c5d-x2k4q",
                "ledger",
            ),
            (
                &[
                    ("alertname", "KubeDeploymentReplicasMismatch"),
                    ("deployment", "api"),
                ],
                "Deployment",
                "api",
                "api",
            ),
            (
                &[
                    ("alertname", "KubeStatefulSetReplicasMismatch"),
                    ("statefulset", "kafka"),
                ],
                "StatefulSet",
                "kafka",
                "kafka",
            ),
            (
                &[
                    ("alertname", "KubePersistentVolumeFillingUp"),
                    ("persistentvolumeclaim", "data-postgres-main-0"),
                ],
                "PersistentVolumeClaim",
                "data-postgres-main-0",
                "postgres-main",
            ),
            (
                &[
                    ("alertname", "KubeHpaMaxedOut"),
                    ("horizontalpodautoscaler", "web"),
                ],
                "HorizontalPodAutoscaler",
                "web",
                "web",
            ),
        ];
        for (extra, kind, name, workload) in cases {
            let mut l = labels(&ksm);
            l.extend(labels(extra));
            let s = resolve(&l, owner).expect("a subject");
            assert_eq!(
                (s.kind.as_str(), s.name.as_str(), s.workload.as_str()),
                (*kind, *name, *workload),
                "{extra:?}"
            );
        }
        // Nothing but the exporter: no subject rather than the exporter.
        assert_eq!(resolve(&labels(&ksm), owner), None);
    }

    /// A Traefik service's metric name carries namespace, name and port.
    #[test]
    fn a_traefik_service_is_its_namespace_and_name() {
        let traefik = labels(&[
            ("alertname", "TraefikServiceErrorRateHigh"),
            ("service", "booking-booking-engine-8080@kubernetes"),
            ("namespace", "traefik"),
            ("job", "traefik"),
        ]);
        let s = resolve(&traefik, owner).expect("a subject");
        assert_eq!(s.workload, "booking-booking-engine");
        assert_eq!(
            traefik_service("shop-web-http@kubernetescrd"),
            Some("shop-web")
        );
        assert_eq!(traefik_service("api@internal"), None);
        assert_eq!(traefik_service("checkout"), None);
    }

    /// ingress-nginx's request metrics are scraped from the controller (its
    /// pod and Service label the series); the Ingress is the subject.
    #[test]
    fn an_ingress_controllers_series_are_about_the_ingress() {
        let nginx = labels(&[
            ("alertname", "NginxIngressHigh5xxRate"),
            ("exported_namespace", "edge"),
            ("ingress", "bff-mobile"),
            ("host", "api.example.app"),
            ("service", "ingress-nginx-controller-metrics"),
            ("pod", "ingress-nginx-controller-lns2wjt4pz-gg596"),
        ]);
        let s = resolve(&nginx, owner).expect("a subject");
        assert_eq!(
            (s.kind.as_str(), s.name.as_str()),
            ("Ingress", "bff-mobile")
        );
    }

    /// An HAProxy ingress controller's backend names the Service it fronts
    /// and that Service's namespace; the `service` and `namespace` labels
    /// are the controller's.
    #[test]
    fn an_haproxy_backend_is_the_service_it_fronts() {
        let haproxy = labels(&[
            ("alertname", "HAProxyBackendQueueing"),
            ("namespace", "rx-edge"),
            ("proxy", "rx-web_svc_patient-portal_http"),
            ("job", "haproxy-ingress-metrics"),
            ("service", "haproxy-ingress-metrics"),
        ]);
        let s = resolve(&haproxy, owner).expect("a subject");
        assert_eq!(
            (s.workload.as_str(), s.namespace.as_deref()),
            ("patient-portal", Some("rx-web"))
        );
        assert_eq!(
            haproxy_backend("shop_checkout_8080"),
            Some(("shop", "checkout"))
        );
        assert_eq!(haproxy_backend("stats"), None);
        // A `backend` label outside HAProxy's series is not read so.
        let other = labels(&[("backend", "a_b_c"), ("job", "varnish")]);
        assert_eq!(resolve(&other, owner).map(|s| s.label), Some("job".into()));
    }

    /// A mesh's request metric names the caller and the callee; the
    /// alert is about the callee (the destination), never the source.
    #[test]
    fn mesh_request_metrics_name_the_destination() {
        let istio = labels(&[
            ("alertname", "HotelSearchLatencyP99High"),
            ("reporter", "destination"),
            ("source_workload", "bff-web"),
            ("destination_workload", "hotel-search"),
            ("destination_workload_namespace", "search"),
            ("namespace", "search"),
        ]);
        let s = resolve(&istio, owner).expect("a subject");
        assert_eq!(
            (s.name.as_str(), s.label.as_str()),
            ("hotel-search", "destination_workload")
        );
        let linkerd = labels(&[("dst_deployment", "quotes"), ("deployment", "web")]);
        let s = resolve(&linkerd, owner).expect("a subject");
        assert_eq!(s.name, "web", "the pod's own deployment label comes first");
    }

    #[test]
    fn node_exporter_and_signoz_and_application_labels() {
        let node = labels(&[
            ("alertname", "NodeFilesystemAlmostOutOfSpace"),
            ("job", "node-exporter"),
            ("instance", "ip-10-0-1-7.ec2.internal:9100"),
            ("mountpoint", "/"),
        ]);
        let s = resolve(&node, owner).expect("node");
        assert_eq!(
            (s.kind.as_str(), s.name.as_str()),
            ("Node", "ip-10-0-1-7.ec2.internal")
        );
        let signoz = labels(&[
            ("alertname", "checkout error rate"),
            ("service.name", "checkout"),
            ("ruleId", "7"),
        ]);
        assert_eq!(
            resolve(&signoz, owner).map(|s| s.workload),
            Some("checkout".into())
        );
        // An application's own metrics: `service` is the subject.
        let app = labels(&[
            ("alertname", "HTTP5xxRateHigh"),
            ("service", "orders"),
            ("job", "orders"),
            ("endpoint", "http"),
        ]);
        assert_eq!(
            resolve(&app, owner).map(|s| s.workload),
            Some("orders".into())
        );
        let kafka = labels(&[
            ("alertname", "KafkaConsumerLagHigh"),
            ("job", "kafka-exporter"),
            ("consumergroup", "billing-consumer"),
            ("topic", "invoices"),
        ]);
        assert_eq!(
            resolve(&kafka, owner).map(|s| s.kind),
            Some("ConsumerGroup".into())
        );
        // `exported_*` is the scraped object's own label.
        let exported = labels(&[
            ("alertname", "X"),
            ("exported_pod", "api-5f7d8c9b6d-x2k4q"),
            ("pod", "kube-state-metrics-6b7c9d-xyz12"),
        ]);
        assert_eq!(
            resolve(&exported, owner).map(|s| s.workload),
            Some("api".into())
        );
    }
}
