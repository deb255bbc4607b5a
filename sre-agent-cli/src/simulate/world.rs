//! The simulated world: nodes, namespaces, workloads, pods and the call
//! graph between them, before any fault is applied.

use serde_json::Value;

use super::domains::Domain;
use super::rng::Rng;

/// The software stack a workload runs, which decides how it logs and how
/// its client libraries word errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// Spring Boot (JSON logs through logback, OTel log bridge).
    Java,
    /// Go with zap (JSON lines).
    Go,
    /// Node.js with pino (JSON lines, numeric levels).
    Node,
    /// Python `logging` (text lines).
    Python,
    /// Plain text (e.g. a .NET or Rust service with a simple formatter).
    Plain,
}

impl Stack {
    /// Every stack.
    pub const ALL: [Stack; 5] = [
        Stack::Java,
        Stack::Go,
        Stack::Node,
        Stack::Python,
        Stack::Plain,
    ];

    /// The container image base, for realism.
    pub fn image_hint(self) -> &'static str {
        match self {
            Stack::Java => "eclipse-temurin-21",
            Stack::Go => "distroless-static",
            Stack::Node => "node-20-alpine",
            Stack::Python => "python-3.12-slim",
            Stack::Plain => "dotnet-aspnet-8.0",
        }
    }
}

/// A data store or broker engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MongoDB (replica set).
    Mongo,
    /// Redis.
    Redis,
    /// Apache Kafka.
    Kafka,
    /// RabbitMQ.
    Rabbit,
}

impl Engine {
    /// `db.system` / `messaging.system` value.
    pub fn system(self) -> &'static str {
        match self {
            Engine::Postgres => "postgresql",
            Engine::Mongo => "mongodb",
            Engine::Redis => "redis",
            Engine::Kafka => "kafka",
            Engine::Rabbit => "rabbitmq",
        }
    }

    /// The port it listens on.
    pub fn port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::Mongo => 27017,
            Engine::Redis => 6379,
            Engine::Kafka => 9092,
            Engine::Rabbit => 5672,
        }
    }

    /// The image.
    pub fn image(self) -> &'static str {
        match self {
            Engine::Postgres => "docker.io/bitnami/postgresql:16.4.0-debian-12-r9",
            Engine::Mongo => "docker.io/mongo:7.0.12",
            Engine::Redis => "docker.io/bitnami/redis:7.2.5-debian-12-r4",
            Engine::Kafka => "docker.io/bitnami/kafka:3.7.1-debian-12-r0",
            Engine::Rabbit => "docker.io/bitnami/rabbitmq:3.13.6-debian-12-r1",
        }
    }

    /// Whether it is a message broker.
    pub fn is_queue(self) -> bool {
        matches!(self, Engine::Kafka | Engine::Rabbit)
    }
}

/// What a workload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An HTTP entry point (called by users).
    Gateway,
    /// An internal HTTP API.
    Api,
    /// A queue consumer.
    Worker,
    /// A data store or broker (StatefulSet).
    Store(Engine),
    /// A node agent (DaemonSet).
    Agent,
    /// A batch job (CronJob).
    Batch,
}

/// The controller kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 CronJob.
    CronJob,
}

/// One revision of a Deployment's pod template.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The image tag.
    pub version: String,
    /// Seconds before `now` it was rolled out.
    pub age: i64,
    /// The pod-template-hash.
    pub hash: String,
    /// `kubernetes.io/change-cause`, when set.
    pub cause: Option<String>,
    /// Memory limit.
    pub mem_limit: String,
    /// CPU limit (None: unlimited).
    pub cpu_limit: Option<String>,
    /// Extra env entries (JSON objects).
    pub env: Vec<Value>,
    /// Image override (full reference).
    pub image: Option<String>,
    /// Readiness probe path and port.
    pub probe: (String, u16),
    /// Volumes and mounts added by this revision: (volume, mount).
    pub volumes: Vec<(Value, Value)>,
    /// An init container, when the template has one.
    pub init: Option<Value>,
}

/// The state of one container, as the kubelet reports it.
#[derive(Debug, Clone, Default)]
pub struct CState {
    /// `state` object (default: running since the pod started).
    pub state: Option<Value>,
    /// `lastState` object.
    pub last: Option<Value>,
    /// Restart count.
    pub restarts: u32,
    /// Ready.
    pub ready: bool,
}

/// One pod.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Node index (None: not scheduled).
    pub node: Option<usize>,
    /// Pod IP.
    pub ip: String,
    /// Seconds since creation.
    pub age: i64,
    /// Index of the revision it runs (Deployments).
    pub rev: usize,
    /// Phase.
    pub phase: String,
    /// Main container's state.
    pub main: CState,
    /// Init container status (JSON), when it has one.
    pub init_status: Option<Value>,
    /// status.reason / status.message (e.g. Evicted).
    pub reason: Option<(String, String)>,
    /// PodScheduled=False message, for Pending pods.
    pub unschedulable: Option<String>,
    /// Usage (millicores, MiB) when running.
    pub usage: Option<(u32, u32)>,
    /// Being deleted (node lost).
    pub terminating: bool,
}

/// A persistent volume claim owned by a workload.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Name.
    pub name: String,
    /// Requested size.
    pub size: String,
    /// StorageClass.
    pub class: String,
    /// Bound (false: Pending).
    pub bound: bool,
}

/// A workload: Deployment, StatefulSet, DaemonSet or CronJob, with its
/// Service when it has one.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Name (also the Service's and the OTel `service.name`).
    pub name: String,
    /// Namespace.
    pub ns: String,
    /// What it is.
    pub role: Role,
    /// Controller kind.
    pub controller: Controller,
    /// Stack.
    pub stack: Stack,
    /// Container port.
    pub port: u16,
    /// Image repository (without tag).
    pub repo: String,
    /// Desired replicas.
    pub replicas: u32,
    /// Revisions, oldest first (the last is current).
    pub revisions: Vec<Revision>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Pods replaced by a later rollout, with the seconds ago they went
    /// away (they still served the telemetry before that).
    pub past: Vec<(Pod, i64)>,
    /// ClusterIP of its Service (None: no Service, or headless).
    pub cluster_ip: Option<String>,
    /// Has a Service.
    pub service: bool,
    /// Service selector override (default `app: NAME`).
    pub selector: Option<(String, String)>,
    /// CPU request.
    pub cpu_req: String,
    /// Memory request.
    pub mem_req: String,
    /// Workloads it calls over HTTP (indices).
    pub calls: Vec<usize>,
    /// Stores it uses (indices of `Role::Store` workloads), with the table or
    /// collection it touches.
    pub stores: Vec<(usize, String)>,
    /// Broker it publishes to, and the topic.
    pub publishes: Option<(usize, String)>,
    /// Broker it consumes from, and the topic.
    pub consumes: Option<(usize, String)>,
    /// External API host it calls.
    pub external: Option<String>,
    /// HTTP routes it serves.
    pub routes: Vec<(String, String)>,
    /// Age of the workload in days.
    pub age_days: i64,
    /// PVCs (StatefulSets).
    pub claims: Vec<Claim>,
    /// The Secret holding its credentials, when it uses a store.
    pub secret: Option<String>,
    /// Team label.
    pub team: String,
}

impl Workload {
    /// The current revision.
    pub fn current(&self) -> &Revision {
        let n = self.revisions.len();
        &self.revisions[n.saturating_sub(1)]
    }

    /// The DNS name callers use from namespace `from`.
    pub fn host_from(&self, from: &str) -> String {
        if from == self.ns {
            self.name.clone()
        } else {
            format!("{}.{}.svc.cluster.local", self.name, self.ns)
        }
    }

    /// Whether this is an HTTP service that receives SERVER spans.
    pub fn is_http(&self) -> bool {
        matches!(self.role, Role::Gateway | Role::Api)
    }
}

/// One run of a Job.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The CronJob workload (or the Job's own workload).
    pub wi: usize,
    /// The Job's name.
    pub name: String,
    /// Seconds since it started.
    pub age: i64,
    /// Seconds it ran (until completion or failure).
    pub duration: i64,
    /// Succeeded (Some(true)), failed (Some(false)) or running (None).
    pub ok: Option<bool>,
    /// Its pods.
    pub pods: Vec<Pod>,
    /// backoffLimit.
    pub backoff: u32,
}

/// A HorizontalPodAutoscaler.
#[derive(Debug, Clone)]
pub struct Hpa {
    /// Target workload.
    pub wi: usize,
    /// Name (usually the target's).
    pub name: String,
    /// scaleTargetRef name (may differ from the workload's when misconfigured).
    pub target: String,
    /// minReplicas.
    pub min: u32,
    /// maxReplicas.
    pub max: u32,
    /// currentReplicas.
    pub current: u32,
    /// desiredReplicas.
    pub desired: u32,
    /// Current CPU utilisation, %.
    pub util: Option<u32>,
    /// Target CPU utilisation, %.
    pub target_util: u32,
    /// Conditions: (type, status, reason, message, seconds ago).
    pub conditions: Vec<(String, String, String, String, i64)>,
}

/// A node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Name.
    pub name: String,
    /// InternalIP.
    pub ip: String,
    /// Zone.
    pub zone: String,
    /// Condition overrides: (type, status, reason, message, seconds ago).
    pub conditions: Vec<(String, String, String, String, i64)>,
    /// Taints (JSON).
    pub taints: Vec<Value>,
    /// Extra labels.
    pub labels: Vec<(String, String)>,
    /// Usage override (millicores, MiB).
    pub usage: Option<(u32, u32)>,
    /// Allocatable CPU (cores) and memory (GiB).
    pub size: (u32, u32),
    /// Instance type label.
    pub instance: String,
}

/// The world one scenario happens in.
#[derive(Debug, Clone)]
pub struct World {
    /// The domain its names come from.
    pub domain: &'static Domain,
    /// Unix seconds of the investigation.
    pub now: i64,
    /// Kube context name.
    pub context: String,
    /// Cloud flavour: "aws", "gke", "aks", "bare".
    pub cloud: &'static str,
    /// Application namespaces.
    pub namespaces: Vec<String>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Telemetry start (unix s).
    pub t_start: i64,
    /// Job runs (of CronJobs or standalone Jobs).
    pub jobs: Vec<JobRun>,
    /// HorizontalPodAutoscalers: (workload, min, max, current, cpu utilisation %, target %).
    pub hpas: Vec<Hpa>,
    pub(super) used_ips: std::collections::BTreeSet<String>,
}

impl World {
    /// A fresh pod IP on node `node`.
    pub fn pod_ip(&mut self, rng: &Rng, node: usize) -> String {
        loop {
            let ip = format!("10.244.{}.{}", node + 1, rng.range(2, 253));
            if self.used_ips.insert(ip.clone()) {
                return ip;
            }
        }
    }

    /// A fresh ClusterIP.
    pub fn cluster_ip(&mut self, rng: &Rng) -> String {
        loop {
            let ip = format!("10.96.{}.{}", rng.range(0, 255), rng.range(2, 254));
            if self.used_ips.insert(ip.clone()) {
                return ip;
            }
        }
    }

    /// Index of a workload by name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.workloads.iter().position(|w| w.name == name)
    }

    /// Workloads that call `target` over HTTP or use it as a store.
    pub fn callers_of(&self, target: usize) -> Vec<usize> {
        self.workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                w.calls.contains(&target)
                    || w.stores.iter().any(|(s, _)| *s == target)
                    || w.publishes.as_ref().is_some_and(|(s, _)| *s == target)
                    || w.consumes.as_ref().is_some_and(|(s, _)| *s == target)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A new pod for workload `wi` on a random node.
    pub fn new_pod(&mut self, rng: &Rng, wi: usize, name: String, age: i64, rev: usize) -> Pod {
        let node = rng.below(self.nodes.len());
        let ip = self.pod_ip(rng, node);
        let (cpu, mem) = usage_for(&self.workloads[wi].mem_req, rng);
        Pod {
            name,
            node: Some(node),
            ip,
            age,
            rev,
            phase: "Running".into(),
            main: CState {
                ready: true,
                ..Default::default()
            },
            init_status: None,
            reason: None,
            unschedulable: None,
            usage: Some((cpu, mem)),
            terminating: false,
        }
    }

    /// The pod name for replica `k` of workload `wi` on revision `rev`.
    pub fn pod_name(&self, rng: &Rng, wi: usize, rev: usize, k: usize) -> String {
        let w = &self.workloads[wi];
        match w.controller {
            Controller::StatefulSet => format!("{}-{k}", w.name),
            Controller::DaemonSet => format!("{}-{}", w.name, rng.suffix(5)),
            _ => format!("{}-{}-{}", w.name, w.revisions[rev].hash, rng.suffix(5)),
        }
    }

    /// Every namespace a workload lives in (application and system ones).
    pub fn all_namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = vec!["default".into(), "kube-system".into()];
        for w in &self.workloads {
            if !v.contains(&w.ns) {
                v.push(w.ns.clone());
            }
        }
        for n in &self.namespaces {
            if !v.contains(n) {
                v.push(n.clone());
            }
        }
        v
    }

    /// Depth of each workload from the gateways (call graph BFS).
    pub fn callers_chain(&self, target: usize, hops: usize, rng: &Rng) -> Vec<usize> {
        let mut chain = vec![target];
        let mut cur = target;
        for _ in 0..hops {
            let callers: Vec<usize> = self
                .callers_of(cur)
                .into_iter()
                .filter(|&c| self.workloads[c].is_http() || self.workloads[c].role == Role::Worker)
                .collect();
            if callers.is_empty() {
                break;
            }
            cur = callers[rng.below(callers.len())];
            if chain.contains(&cur) {
                break;
            }
            chain.push(cur);
        }
        chain
    }
}

fn usage_for(mem_req: &str, rng: &Rng) -> (u32, u32) {
    let mi = parse_mi(mem_req);
    (
        rng.range(8, 350) as u32,
        (mi as f64 * rng.uniform(0.45, 0.9)) as u32,
    )
}

/// A memory quantity in MiB.
pub fn parse_mi(q: &str) -> u32 {
    if let Some(v) = q.strip_suffix("Gi") {
        v.parse::<u32>().unwrap_or(1) * 1024
    } else if let Some(v) = q.strip_suffix("Mi") {
        v.parse().unwrap_or(256)
    } else {
        256
    }
}

/// A semantic version string.
pub fn version(rng: &Rng) -> String {
    format!(
        "{}.{}.{}",
        rng.range(0, 5),
        rng.range(0, 40),
        rng.range(0, 20)
    )
}

/// The version after `v` (a patch or minor bump).
pub fn bump(v: &str, rng: &Rng) -> String {
    let parts: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
    if parts.len() != 3 {
        return format!("{v}-1");
    }
    if rng.chance(0.6) {
        format!("{}.{}.{}", parts[0], parts[1], parts[2] + 1)
    } else {
        format!("{}.{}.0", parts[0], parts[1] + 1)
    }
}
