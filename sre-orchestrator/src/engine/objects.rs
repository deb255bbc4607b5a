//! The Kubernetes objects the engine reads, as it reads them.
//!
//! Pods (owner, node, containers' states, claims), Services (selector,
//! addresses, ports), Events and cert-manager Certificates, each parsed from
//! one `list … output=json` line of the evidence pack. The parsing is
//! forgiving on purpose: a field a capture lacks (an old `kubectl`, a
//! `cluster-info dump`, a hand-trimmed snapshot) becomes empty, never an
//! error, because one odd object must not cost the whole investigation.
//! [`super::world::World`] puts them together.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::rules::owner_of;

/// One container's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Whether it is ready.
    pub ready: bool,
    /// Restarts.
    pub restarts: i64,
    /// `state.waiting` reason and message.
    pub waiting: Option<(String, String)>,
    /// `state.terminated` or, failing that, `lastState.terminated`: reason,
    /// exit code, message.
    pub terminated: Option<(String, i64, String)>,
    /// Whether it is running now.
    pub running: bool,
}

/// One pod, as much of it as the engine reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Owning workload's name (Deployment, StatefulSet, Job, DaemonSet…).
    pub owner: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Node, when scheduled.
    pub node: Option<String>,
    /// Pod IP.
    pub ip: Option<String>,
    /// Phase.
    pub phase: String,
    /// Containers, init containers first.
    pub containers: Vec<Container>,
    /// Claims it mounts.
    pub claims: Vec<String>,
    /// The `PodScheduled=False` message, when unscheduled.
    pub unscheduled: Option<String>,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// `spec.serviceAccountName` (`default` when it names none): with the
    /// namespace, the identity a service mesh knows it by.
    pub service_account: String,
    /// `spec.imagePullSecrets`' names: the credentials its images are
    /// pulled with.
    pub pull_secrets: Vec<String>,
    /// `metadata.uid`: what the scheduler names a preempting pod by.
    pub uid: Option<String>,
    /// `spec.priorityClassName`, when it has one.
    pub priority_class: Option<String>,
}

impl Pod {
    /// Whether anything about it is unhealthy. A pod that ran to
    /// completion (`Succeeded`: a Job's finished run) is not Ready by
    /// design and is not: counted unhealthy, last week's runs of a CronJob
    /// would crowd tonight's failed one out of the pods whose logs are read.
    pub fn unhealthy(&self) -> bool {
        if self.phase == "Succeeded" {
            return false;
        }
        self.phase == "Pending"
            || self.phase == "Failed"
            || self
                .containers
                .iter()
                .any(|c| c.restarts > 0 || c.waiting.is_some() || (!c.init && !c.ready))
    }
}

/// One Service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Selector.
    pub selector: BTreeMap<String, String>,
    /// ClusterIP.
    pub cluster_ip: Option<String>,
    /// Ports: (name, port).
    pub ports: Vec<(String, u64)>,
    /// The numeric `targetPort`s (the pods' ports the traffic arrives on).
    pub target_ports: Vec<u64>,
    /// The pods' port for each of its ports (`targetPort`, or the port
    /// itself when none is set); `None` when a `targetPort` is a name (a
    /// container's port, not read here).
    pub pod_ports: Option<Vec<u64>>,
}

impl Service {
    /// Whether it serves a database or broker system as OpenTelemetry names
    /// it (`db.system`: `postgresql`, `mongodb`…): by the system's
    /// well-known port or a port named after it. A client's spans name the
    /// system, not the Service; this is how an engineer finds the one.
    pub fn serves(&self, system: &str) -> bool {
        let (port, stem) = match system {
            "postgresql" => (5432, "postgres"),
            "mongodb" => (27017, "mongo"),
            "redis" => (6379, "redis"),
            "mysql" | "mariadb" => (3306, "mysql"),
            "elasticsearch" | "opensearch" => (9200, "search"),
            "cassandra" => (9042, "cql"),
            "kafka" => (9092, "kafka"),
            "rabbitmq" => (5672, "amqp"),
            "memcached" => (11211, "memcache"),
            "pgbouncer" => (6432, "pgbouncer"),
            // MinIO's S3 API; ClickHouse's native port is 9000 as well, and
            // a store of either then is no single answer (`store_of_system`).
            "minio" => (9000, "minio"),
            "nats" => (4222, "nats"),
            // ActiveMQ Artemis's default acceptor (core, OpenWire, AMQP).
            "artemis" => (61616, "artemis"),
            "vault" => (8200, "vault"),
            "clickhouse" => (8123, "clickhouse"),
            "sqlserver" => (1433, "mssql"),
            _ => return false,
        };
        // The pods' port counts too: a Service on port 80 in front of
        // PgBouncer's 6432 serves PgBouncer.
        self.ports
            .iter()
            .any(|(name, p)| *p == port || name.to_lowercase().contains(stem))
            || self.target_ports.contains(&port)
    }
}

/// Whether a matchLabels selector selects `labels` (an empty one selects all).
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// One Kubernetes event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `Warning` or `Normal`.
    pub kind_of_event: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// The involved object's kind.
    pub object_kind: String,
    /// The involved object's name.
    pub object: String,
    /// The involved object's namespace.
    pub namespace: String,
    /// How many times it happened.
    pub count: i64,
    /// First seen.
    pub first: Option<Timestamp>,
    /// Last seen.
    pub last: Option<Timestamp>,
    /// The node whose kubelet reported it (`source.host`), when one did.
    pub host: Option<String>,
}

pub(super) fn event_from(v: &Value) -> Event {
    let time = |ptrs: &[&str]| {
        ptrs.iter()
            .find_map(|p| str_at(v, p))
            .and_then(|t| t.parse().ok())
    };
    Event {
        kind_of_event: str_at(v, "/type").unwrap_or("Normal").to_string(),
        reason: str_at(v, "/reason").unwrap_or("").to_string(),
        message: str_at(v, "/message").unwrap_or("").to_string(),
        object_kind: str_at(v, "/involvedObject/kind").unwrap_or("").to_string(),
        object: str_at(v, "/involvedObject/name").unwrap_or("").to_string(),
        host: str_at(v, "/source/host")
            .or_else(|| str_at(v, "/deprecatedSource/host"))
            .filter(|h| !h.is_empty())
            .map(str::to_string),
        namespace: str_at(v, "/involvedObject/namespace")
            .or_else(|| str_at(v, "/metadata/namespace"))
            .unwrap_or("")
            .to_string(),
        count: v
            .get("count")
            .and_then(Value::as_i64)
            .or_else(|| v.pointer("/series/count").and_then(Value::as_i64))
            .unwrap_or(1),
        first: time(&[
            "/firstTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]),
        last: time(&[
            "/lastTimestamp",
            "/series/lastObservedTime",
            "/eventTime",
            "/firstTimestamp",
        ]),
    }
}

/// One path of an Ingress rule: requests for `host` (any host when `None`)
/// whose path matches `path` go to the Service `service` of `namespace`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngressRoute {
    /// The Ingress's namespace (its backends' too).
    pub namespace: String,
    /// `rules[].host`; a leading `*.` matches one label.
    pub host: Option<String>,
    /// `paths[].path` (`/` when absent).
    pub path: String,
    /// `pathType: Exact`: the path must be equal, not a prefix.
    pub exact: bool,
    /// `backend.service.name`.
    pub service: String,
}

impl IngressRoute {
    /// How well this route serves `host` and `path`: the length of the
    /// matched path (longer is more specific, as the Ingress rules say), or
    /// `None` when it does not serve them.
    pub fn serves(&self, host: &str, path: &str) -> Option<usize> {
        let host_ok = match self.host.as_deref() {
            None => true,
            Some(h) => match h.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
                None => h.eq_ignore_ascii_case(host),
            },
        };
        let want = self.path.trim_end_matches('/');
        let path_ok = if self.exact {
            path == self.path
        } else {
            // A prefix by whole path elements: `/foo` serves `/foo` and
            // `/foo/bar`, not `/foobar`.
            want.is_empty()
                || path == want
                || path.strip_prefix(want).is_some_and(|r| r.starts_with('/'))
        };
        (host_ok && path_ok).then_some(self.path.len())
    }
}

/// The routes of an Ingress (`networking.k8s.io/v1`): one per rule path
/// with a Service backend, and the default backend as a route for any host
/// and path.
pub(super) fn ingress_routes(v: &Value) -> Vec<IngressRoute> {
    let namespace = str_at(v, "/metadata/namespace").unwrap_or("").to_string();
    let mut out = Vec::new();
    for rule in v
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let host = str_at(rule, "/host").map(str::to_ascii_lowercase);
        for p in rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(service) = str_at(p, "/backend/service/name") {
                out.push(IngressRoute {
                    namespace: namespace.clone(),
                    host: host.clone(),
                    path: str_at(p, "/path").unwrap_or("/").to_string(),
                    exact: str_at(p, "/pathType") == Some("Exact"),
                    service: service.to_string(),
                });
            }
        }
    }
    if let Some(service) = str_at(v, "/spec/defaultBackend/service/name") {
        out.push(IngressRoute {
            namespace,
            host: None,
            path: String::new(),
            exact: false,
            service: service.to_string(),
        });
    }
    out
}

/// A cert-manager Certificate: what it serves and whether it is valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Certificate {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `spec.dnsNames`: the Service names it is presented for.
    pub dns_names: Vec<String>,
    /// `status.notAfter`.
    pub not_after: Option<Timestamp>,
    /// The Ready condition's status, reason and message, when not ready.
    pub not_ready: Option<String>,
}

pub(super) fn certificate_from(v: &Value) -> Certificate {
    let ready = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
    Certificate {
        name: str_at(v, "/metadata/name").unwrap_or("").to_string(),
        namespace: str_at(v, "/metadata/namespace").unwrap_or("").to_string(),
        dns_names: v
            .pointer("/spec/dnsNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        not_after: str_at(v, "/status/notAfter").and_then(|t| t.parse().ok()),
        not_ready: ready
            .filter(|c| c.get("status").and_then(Value::as_str) == Some("False"))
            .map(|c| {
                format!(
                    "Ready=False {}: {}",
                    str_at(c, "/reason").unwrap_or(""),
                    str_at(c, "/message").unwrap_or("")
                )
            }),
    }
}

pub(super) fn json_docs(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
}

pub(super) fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn labels_at(v: &Value, ptr: &str) -> BTreeMap<String, String> {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A ReplicaSet's Deployment: `web-7d9f8b6c5d` → `web`.
pub(super) fn replicaset_owner(rs: &str) -> String {
    match rs.rsplit_once('-') {
        Some((head, hash))
            if (6..=10).contains(&hash.len())
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"bcdfghjklmnpqrstvwxz".contains(&b)) =>
        {
            head.to_string()
        }
        _ => rs.to_string(),
    }
}

/// A Job's CronJob: the CronJob controller names each Job
/// `<cronjob>-<scheduled time in minutes since the epoch>`
/// (`report-builder-29164818` → `report-builder`); other Jobs are their
/// own owner.
pub(super) fn job_owner(job: &str) -> String {
    match job.rsplit_once('-') {
        Some((head, minutes)) if scheduled_minute(minutes) => head.to_string(),
        _ => job.to_string(),
    }
}

/// Whether a Job name's last part is the minute a CronJob scheduled it
/// (the controller names each run `<cronjob>-<minutes since the epoch>`):
/// eight or more digits from 2017 on (25,000,000 minutes). A date a person
/// put in a one-off Job's name (`migrate-20250614`) is not one: as minutes
/// it would be 2008.
fn scheduled_minute(part: &str) -> bool {
    part.len() >= 8
        && part.bytes().all(|b| b.is_ascii_digit())
        && part.parse::<u64>().is_ok_and(|m| m >= 25_000_000)
}

pub(super) fn pod_from(v: &Value) -> Pod {
    let name = str_at(v, "/metadata/name").unwrap_or("").to_string();
    let owner = v
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
        .map(|o| {
            let n = str_at(o, "/name").unwrap_or("");
            match str_at(o, "/kind") {
                Some("ReplicaSet") => replicaset_owner(n),
                Some("Job") => job_owner(n),
                _ => n.to_string(),
            }
        })
        .unwrap_or_else(|| owner_of(&name));
    let mut containers = Vec::new();
    for (ptr, init) in [
        ("/status/initContainerStatuses", true),
        ("/status/containerStatuses", false),
    ] {
        for c in v
            .pointer(ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let term = |p: &str| {
                c.pointer(p).map(|t| {
                    (
                        str_at(t, "/reason").unwrap_or("Terminated").to_string(),
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
                        str_at(t, "/message").unwrap_or("").to_string(),
                    )
                })
            };
            containers.push(Container {
                name: str_at(c, "/name").unwrap_or("").to_string(),
                init,
                ready: c.get("ready").and_then(Value::as_bool).unwrap_or(false),
                restarts: c.get("restartCount").and_then(Value::as_i64).unwrap_or(0),
                waiting: c.pointer("/state/waiting").map(|w| {
                    (
                        str_at(w, "/reason").unwrap_or("").to_string(),
                        str_at(w, "/message").unwrap_or("").to_string(),
                    )
                }),
                terminated: term("/state/terminated").or_else(|| term("/lastState/terminated")),
                running: c.pointer("/state/running").is_some(),
            });
        }
    }
    let unscheduled = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            str_at(c, "/type") == Some("PodScheduled") && str_at(c, "/status") == Some("False")
        })
        .map(|c| str_at(c, "/message").unwrap_or("").to_string());
    Pod {
        namespace: str_at(v, "/metadata/namespace").unwrap_or("").to_string(),
        owner,
        labels: labels_at(v, "/metadata/labels"),
        node: str_at(v, "/spec/nodeName").map(str::to_string),
        ip: str_at(v, "/status/podIP").map(str::to_string),
        phase: str_at(v, "/status/phase").unwrap_or("").to_string(),
        containers,
        claims: v
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|vol| str_at(vol, "/persistentVolumeClaim/claimName").map(str::to_string))
            .collect(),
        unscheduled,
        created: str_at(v, "/metadata/creationTimestamp").and_then(|t| t.parse().ok()),
        service_account: str_at(v, "/spec/serviceAccountName")
            .unwrap_or("default")
            .to_string(),
        pull_secrets: v
            .pointer("/spec/imagePullSecrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| str_at(r, "/name").map(str::to_string))
            .collect(),
        uid: str_at(v, "/metadata/uid").map(str::to_string),
        priority_class: str_at(v, "/spec/priorityClassName").map(str::to_string),
        name,
    }
}
