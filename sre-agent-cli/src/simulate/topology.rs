//! Drawing a random world: nodes, namespaces, data stores and brokers,
//! application services in call levels with fan-out, CronJobs with their
//! past runs, HPAs and node agents.

use super::domains::DOMAINS;
use super::rng::Rng;
use super::world::{
    Claim, Controller, Engine, Hpa, JobRun, Node, Revision, Role, Stack, Workload, World, bump,
    version,
};

const TEAMS: &[&str] = &[
    "core", "platform", "growth", "checkout", "data", "edge", "ops",
];

impl World {
    /// Builds a random world.
    pub fn build(rng: &Rng, now: i64) -> World {
        let domain = rng.pick(DOMAINS);
        let cloud = *rng.pick(&["aws", "gke", "aks", "bare"]);
        let region = *rng.pick(&["eu-west-1", "us-east-2", "ap-southeast-1", "eu-central-1"]);
        let cluster = format!(
            "{}-{}",
            rng.pick(&["prod", "prd", "live", "production"]),
            rng.pick(&["eu1", "use2", "main", "blue", "apse1"])
        );
        let n_nodes = rng.range(3, 8) as usize;
        let pool_hex = rng.hex(8);
        let mut nodes = Vec::new();
        for i in 0..n_nodes {
            let a = rng.range(0, 63);
            let b = rng.range(2, 250);
            let name = match cloud {
                "aws" => format!("ip-10-0-{a}-{b}.{region}.compute.internal"),
                "gke" => format!("gke-{cluster}-default-pool-{pool_hex}-{}", rng.suffix(4)),
                "aks" => format!("aks-nodepool1-{}-vmss{:06}", 31_877_204 + a * 17, i),
                _ => format!("worker-{:02}", i + 1),
            };
            let size = *rng.pick(&[(4u32, 16u32), (8, 32), (16, 64)]);
            nodes.push(Node {
                name,
                ip: format!("10.0.{a}.{b}"),
                zone: format!("{region}{}", ["a", "b", "c"][i % 3]),
                conditions: Vec::new(),
                taints: Vec::new(),
                labels: Vec::new(),
                usage: None,
                size,
                instance: match (cloud, size.0) {
                    ("aws", 4) => "m6i.xlarge",
                    ("aws", 8) => "m6i.2xlarge",
                    ("aws", _) => "m6i.4xlarge",
                    ("gke", 4) => "e2-standard-4",
                    ("gke", 8) => "e2-standard-8",
                    ("gke", _) => "e2-standard-16",
                    ("aks", 4) => "Standard_D4s_v5",
                    ("aks", 8) => "Standard_D8s_v5",
                    ("aks", _) => "Standard_D16s_v5",
                    _ => "bare-metal",
                }
                .to_string(),
            });
        }
        // Namespaces.
        let n_ns = rng.range(1, 5) as usize;
        let mut ns_pool: Vec<&str> = domain.namespaces.to_vec();
        rng.shuffle(&mut ns_pool);
        let namespaces: Vec<String> = ns_pool.iter().take(n_ns).map(|s| s.to_string()).collect();
        let mut w = World {
            domain,
            now,
            context: match cloud {
                "aks" => cluster.clone(),
                "gke" => format!("gke_acme-{}_{}_{}", domain.name, region, cluster),
                "aws" => format!(
                    "arn:aws:eks:{region}:4711{}:cluster/{cluster}",
                    rng.range(10_000_000, 99_999_999)
                ),
                _ => format!("{cluster}-admin@{cluster}"),
            },
            cloud,
            namespaces,
            nodes,
            workloads: Vec::new(),
            t_start: now,
            jobs: Vec::new(),
            hpas: Vec::new(),
            used_ips: Default::default(),
        };
        w.build_apps(rng);
        w
    }

    fn add(&mut self, rng: &Rng, mut w: Workload) -> usize {
        if w.service && !matches!(w.role, Role::Store(_)) {
            w.cluster_ip = Some(self.cluster_ip(rng));
        }
        if let Role::Store(e) = w.role
            && matches!(e, Engine::Redis | Engine::Postgres)
        {
            w.cluster_ip = Some(self.cluster_ip(rng));
        }
        self.workloads.push(w);
        let wi = self.workloads.len() - 1;
        let n = match self.workloads[wi].controller {
            Controller::DaemonSet => self.nodes.len(),
            Controller::CronJob => 0,
            _ => self.workloads[wi].replicas as usize,
        };
        let rev = self.workloads[wi].revisions.len() - 1;
        let rev_age = self.workloads[wi].revisions[rev].age;
        for k in 0..n {
            let name = self.pod_name(rng, wi, rev, k);
            let age = (rev_age - 30 - k as i64 * 17).max(120);
            let mut p = self.new_pod(rng, wi, name, age, rev);
            if self.workloads[wi].controller == Controller::DaemonSet {
                p.node = Some(k);
                p.ip = self.nodes[k].ip.clone();
            }
            self.workloads[wi].pods.push(p);
        }
        wi
    }

    fn build_apps(&mut self, rng: &Rng) {
        let domain = self.domain;
        let mut names: Vec<&str> = domain.services.to_vec();
        rng.shuffle(&mut names);
        let n_apps = rng.range(5, 22.min(names.len() as i64)) as usize;
        let mut nouns: Vec<&str> = domain.nouns.to_vec();
        rng.shuffle(&mut nouns);
        // Stores: 1–4, brokers 0–1.
        let n_stores = rng.range(1, 4) as usize;
        let mut engines: Vec<Engine> = Vec::new();
        for _ in 0..n_stores {
            engines.push(*rng.pick(&[
                Engine::Postgres,
                Engine::Mongo,
                Engine::Redis,
                Engine::Postgres,
                Engine::Mongo,
            ]));
        }
        let broker = if rng.chance(0.6) {
            Some(*rng.pick(&[Engine::Kafka, Engine::Rabbit]))
        } else {
            None
        };
        let nss = self.namespaces.clone();
        let data_ns = nss[nss.len() - 1].clone();
        let mut store_idx = Vec::new();
        for (k, e) in engines.iter().enumerate() {
            let base = match e {
                Engine::Postgres => ["postgres", "pg", "postgresql"][k % 3],
                Engine::Mongo => ["mongodb", "mongo", "docdb"][k % 3],
                Engine::Redis => ["redis", "cache-redis", "redis-master"][k % 3],
                _ => "store",
            };
            let name = if engines[..k].contains(e) || rng.chance(0.4) {
                format!("{base}-{}", nouns[k % nouns.len()].replace('_', "-"))
            } else {
                base.to_string()
            };
            if self.find(&name).is_some() {
                continue;
            }
            let replicas = if *e == Engine::Mongo {
                3
            } else {
                *rng.pick(&[1u32, 1, 3])
            };
            let ns = if rng.chance(0.7) {
                data_ns.clone()
            } else {
                nss[rng.below(nss.len())].clone()
            };
            let wl = store_workload(rng, &name, &ns, *e, replicas);
            let wi = self.add(rng, wl);
            store_idx.push(wi);
        }
        let broker_idx = broker.map(|e| {
            let name = match e {
                Engine::Kafka => "kafka",
                _ => "rabbitmq",
            };
            let wl = store_workload(rng, name, &data_ns, e, 3);
            self.add(rng, wl)
        });
        // Apps in layers: 1–2 gateways, then up to three API levels.
        let n_gw = if n_apps > 8 { 2 } else { 1 };
        let mut layers: Vec<Vec<usize>> = vec![Vec::new(); 4];
        for (i, name) in names.iter().take(n_apps).enumerate() {
            let level = if i < n_gw { 0 } else { 1 + rng.below(3) };
            let level = if level >= 2 && layers[level - 1].is_empty() {
                level - 1
            } else {
                level
            };
            let role = if level == 0 {
                Role::Gateway
            } else if broker_idx.is_some() && level >= 2 && rng.chance(0.2) {
                Role::Worker
            } else {
                Role::Api
            };
            let ns = if level == 0 {
                nss[0].clone()
            } else {
                nss[rng.below(nss.len())].clone()
            };
            let stack = *rng.pick(&Stack::ALL);
            let wl = app_workload(rng, name, &ns, role, stack, nouns[i % nouns.len()]);
            let wi = self.add(rng, wl);
            layers[level].push(wi);
        }
        // Calls: every non-gateway API gets at least one caller from a
        // shallower level; callers fan out to 1–3.
        for level in 1..4 {
            let callees = layers[level].clone();
            for &c in &callees {
                if self.workloads[c].role != Role::Api {
                    continue;
                }
                let upper: Vec<usize> = layers[..level]
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&u| self.workloads[u].is_http())
                    .collect();
                if upper.is_empty() {
                    continue;
                }
                let p = upper[rng.below(upper.len())];
                if self.workloads[p].calls.len() < 4 {
                    self.workloads[p].calls.push(c);
                } else {
                    let p2 = upper[rng.below(upper.len())];
                    self.workloads[p2].calls.push(c);
                }
            }
        }
        // Extra fan-out edges downward.
        let all_api: Vec<usize> = layers.iter().flatten().copied().collect();
        for &a in &all_api {
            let lvl = layers.iter().position(|l| l.contains(&a)).unwrap_or(0);
            if lvl >= 3 || !self.workloads[a].is_http() || !rng.chance(0.35) {
                continue;
            }
            let lower: Vec<usize> = layers[lvl + 1..]
                .iter()
                .flatten()
                .copied()
                .filter(|&c| self.workloads[c].role == Role::Api)
                .collect();
            if let Some(&c) = lower.get(rng.below(lower.len().max(1)))
                && !self.workloads[a].calls.contains(&c)
                && self.workloads[a].calls.len() < 4
            {
                self.workloads[a].calls.push(c);
            }
        }
        for l in &mut layers {
            l.sort();
        }
        // Stores: every store gets 1–3 users among APIs/workers at levels >= 1.
        let users: Vec<usize> = layers[1..].iter().flatten().copied().collect();
        for &s in &store_idx {
            let n = rng.range(1, 3) as usize;
            for _ in 0..n {
                let Some(&u) = users.get(rng.below(users.len().max(1))) else {
                    continue;
                };
                if self.workloads[u].stores.iter().any(|(x, _)| *x == s)
                    || self.workloads[u].stores.len() >= 2
                {
                    continue;
                }
                let noun = nouns[rng.below(nouns.len())].to_string();
                let user_name = self.workloads[u].name.clone();
                self.workloads[u].stores.push((s, noun));
                if self.workloads[u].secret.is_none() {
                    self.workloads[u].secret = Some(format!(
                        "{user_name}-{}",
                        rng.pick(&["db", "db-credentials", "datastore", "creds"])
                    ));
                }
            }
        }
        // Broker: one or two producers (APIs), workers consume.
        if let Some(b) = broker_idx {
            let topic = format!(
                "{}.{}",
                nouns[0].replace('_', "-"),
                rng.pick(&["created", "updated", "events", "v1"])
            );
            let apis: Vec<usize> = all_api
                .iter()
                .copied()
                .filter(|&a| self.workloads[a].role == Role::Api)
                .collect();
            if let Some(&p) = apis.get(rng.below(apis.len().max(1))) {
                self.workloads[p].publishes = Some((b, topic.clone()));
            }
            for &wkr in &all_api {
                if self.workloads[wkr].role == Role::Worker {
                    self.workloads[wkr].consumes = Some((b, topic.clone()));
                }
            }
        }
        // Externals: one or two services call a third party.
        for _ in 0..rng.range(0, 2) {
            let cand: Vec<usize> = all_api
                .iter()
                .copied()
                .filter(|&a| {
                    self.workloads[a].role == Role::Api && self.workloads[a].external.is_none()
                })
                .collect();
            if let Some(&c) = cand.get(rng.below(cand.len().max(1))) {
                self.workloads[c].external = Some(rng.pick(domain.externals).to_string());
            }
        }
        // Batch jobs.
        for name in domain.batch.iter().take(rng.range(1, 3) as usize) {
            let ns = nss[rng.below(nss.len())].clone();
            let mut wl = app_workload(
                rng,
                name,
                &ns,
                Role::Batch,
                *rng.pick(&[Stack::Python, Stack::Go, Stack::Java]),
                nouns[0],
            );
            wl.controller = Controller::CronJob;
            wl.service = false;
            wl.replicas = 0;
            self.add(rng, wl);
        }
        // Past runs of every CronJob, and HPAs on some gateways and APIs.
        for wi in 0..self.workloads.len() {
            if self.workloads[wi].controller == Controller::CronJob {
                let age = rng.range(600, 20_000);
                let name = format!("{}-{}", self.workloads[wi].name, (self.now - age) / 60);
                let pname = format!("{name}-{}", rng.suffix(5));
                let mut p = self.new_pod(rng, wi, pname, age, 0);
                p.phase = "Succeeded".into();
                p.usage = None;
                p.main.ready = false;
                let dur = rng.range(20, 400);
                p.main.state = Some(
                    serde_json::json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": super::surface::iso(self.now - age + 2), "finishedAt": super::surface::iso(self.now - age + dur)}}),
                );
                self.jobs.push(JobRun {
                    wi,
                    name,
                    age,
                    duration: dur,
                    ok: Some(true),
                    pods: vec![p],
                    backoff: 3,
                });
            } else if self.workloads[wi].controller == Controller::Deployment
                && self.workloads[wi].is_http()
                && rng.chance(0.3)
            {
                let r = self.workloads[wi].replicas;
                let name = self.workloads[wi].name.clone();
                self.hpas.push(Hpa {
                    wi,
                    name: name.clone(),
                    target: name,
                    min: r.max(2) - 1,
                    max: r + rng.range(2, 6) as u32,
                    current: r,
                    desired: r,
                    util: Some(rng.range(25, 60) as u32),
                    target_util: *rng.pick(&[60u32, 70, 75, 80]),
                    conditions: vec![
                        ("AbleToScale".into(), "True".into(), "ReadyForNewScale".into(), "recommended size matches current size".into(), rng.range(3600, 90_000)),
                        ("ScalingActive".into(), "True".into(), "ValidMetricFound".into(), "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)".into(), rng.range(90_000, 900_000)),
                        ("ScalingLimited".into(), "False".into(), "DesiredWithinRange".into(), "the desired count is within the acceptable range".into(), rng.range(3600, 90_000)),
                    ],
                });
            }
        }
        // Node agents.
        let agents: &[(&str, &str, &str)] = &[
            (
                "fluent-bit",
                "kube-system",
                "cr.fluentbit.io/fluent/fluent-bit",
            ),
            (
                "node-exporter",
                "monitoring",
                "quay.io/prometheus/node-exporter",
            ),
            (
                "otel-agent",
                "observability",
                "otel/opentelemetry-collector-contrib",
            ),
            ("kube-proxy", "kube-system", "registry.k8s.io/kube-proxy"),
        ];
        for (name, ns, repo) in agents {
            if rng.chance(0.75) {
                let mut wl = app_workload(rng, name, ns, Role::Agent, Stack::Go, "metrics");
                wl.controller = Controller::DaemonSet;
                wl.service = false;
                wl.repo = repo.to_string();
                self.add(rng, wl);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn revision(
    rng: &Rng,
    version: String,
    age: i64,
    mem: &str,
    cpu: Option<String>,
    port: u16,
    cause: bool,
    name: &str,
) -> Revision {
    Revision {
        cause: cause.then(|| format!("helm upgrade {name} --set image.tag={version}")),
        version,
        age,
        hash: rng.suffix(*rng.pick(&[9usize, 10])),
        mem_limit: mem.to_string(),
        cpu_limit: cpu,
        env: Vec::new(),
        image: None,
        probe: ("/healthz".into(), port),
        volumes: Vec::new(),
        init: None,
    }
}

fn app_workload(
    rng: &Rng,
    name: &str,
    ns: &str,
    role: Role,
    stack: Stack,
    _noun: &str,
) -> Workload {
    let port = match stack {
        Stack::Java => 8080,
        Stack::Go => *rng.pick(&[8080u16, 9000, 8081]),
        Stack::Node => 3000,
        Stack::Python => *rng.pick(&[8000u16, 5000]),
        Stack::Plain => 8080,
    };
    let mem_lim = match stack {
        Stack::Java => *rng.pick(&["1Gi", "768Mi", "2Gi"]),
        _ => *rng.pick(&["256Mi", "512Mi", "384Mi"]),
    };
    let mem_req = match mem_lim {
        "2Gi" => "1Gi",
        "1Gi" => "768Mi",
        "768Mi" => "512Mi",
        "512Mi" => "384Mi",
        _ => "192Mi",
    };
    let cpu_lim = if rng.chance(0.6) {
        Some(rng.pick(&["500m", "1", "2", "750m"]).to_string())
    } else {
        None
    };
    let v1 = version(rng);
    let v2 = bump(&v1, rng);
    let old_age = rng.range(20, 120) * 86_400;
    let cur_age = rng.range(2, 19) * 86_400 + rng.range(0, 80_000);
    let reg = rng
        .pick(&[
            "ghcr.io/acme",
            "registry.gitlab.com/acme/platform",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "acr-prod.azurecr.io",
            "europe-docker.pkg.dev/acme-prod/apps",
        ])
        .to_string();
    let revisions = vec![
        revision(rng, v1, old_age, mem_lim, cpu_lim.clone(), port, true, name),
        revision(
            rng,
            v2,
            cur_age,
            mem_lim,
            cpu_lim,
            port,
            rng.chance(0.7),
            name,
        ),
    ];
    let routes = routes_for(rng, name);
    Workload {
        name: name.to_string(),
        ns: ns.to_string(),
        role,
        controller: Controller::Deployment,
        stack,
        port,
        repo: format!("{reg}/{name}"),
        replicas: match role {
            Role::Gateway => rng.range(2, 4) as u32,
            Role::Worker => rng.range(1, 3) as u32,
            _ => rng.range(1, 4) as u32,
        },
        revisions,
        pods: Vec::new(),
        past: Vec::new(),
        cluster_ip: None,
        service: matches!(role, Role::Gateway | Role::Api),
        selector: None,
        cpu_req: rng.pick(&["50m", "100m", "200m", "250m"]).to_string(),
        mem_req: mem_req.to_string(),
        calls: Vec::new(),
        stores: Vec::new(),
        publishes: None,
        consumes: None,
        external: None,
        routes,
        age_days: rng.range(150, 700),
        claims: Vec::new(),
        secret: None,
        team: rng.pick(TEAMS).to_string(),
    }
}

fn routes_for(rng: &Rng, name: &str) -> Vec<(String, String)> {
    let base = name.split('-').next().unwrap_or(name);
    let res = format!("/api/v{}/{}", rng.range(1, 3), base);
    let mut r = vec![("GET".to_string(), format!("{res}/{{id}}"))];
    if rng.chance(0.7) {
        r.push(("POST".to_string(), res.clone()));
    }
    if rng.chance(0.4) {
        r.push(("GET".to_string(), res));
    }
    r
}

fn store_workload(rng: &Rng, name: &str, ns: &str, e: Engine, replicas: u32) -> Workload {
    let (mem_req, mem_lim) = match e {
        Engine::Redis => ("512Mi", "1Gi"),
        Engine::Kafka | Engine::Rabbit => ("2Gi", "4Gi"),
        _ => ("2Gi", "4Gi"),
    };
    let tag = e.image().rsplit(':').next().unwrap_or("latest").to_string();
    let mut rev = revision(
        rng,
        tag,
        rng.range(40, 300) * 86_400,
        mem_lim,
        Some("2".into()),
        e.port(),
        false,
        name,
    );
    rev.probe = (String::new(), e.port());
    let class = rng
        .pick(&[
            "gp3",
            "premium-rwo",
            "managed-csi-premium",
            "standard-rwo",
            "longhorn",
        ])
        .to_string();
    let size = match e {
        Engine::Redis => "8Gi",
        Engine::Kafka => "200Gi",
        _ => *rng.pick(&["50Gi", "100Gi", "20Gi"]),
    };
    let vol = match e {
        Engine::Postgres => "data",
        Engine::Mongo => "datadir",
        Engine::Redis => "redis-data",
        Engine::Kafka => "data",
        Engine::Rabbit => "data",
    };
    let claims = (0..replicas)
        .map(|k| Claim {
            name: format!("{vol}-{name}-{k}"),
            size: size.to_string(),
            class: class.clone(),
            bound: true,
        })
        .collect();
    Workload {
        name: name.to_string(),
        ns: ns.to_string(),
        role: Role::Store(e),
        controller: Controller::StatefulSet,
        stack: Stack::Plain,
        port: e.port(),
        repo: e
            .image()
            .rsplit_once(':')
            .map(|(r, _)| r.to_string())
            .unwrap_or_default(),
        replicas,
        revisions: vec![rev],
        pods: Vec::new(),
        past: Vec::new(),
        cluster_ip: None,
        service: true,
        selector: None,
        cpu_req: "250m".into(),
        mem_req: mem_req.into(),
        calls: Vec::new(),
        stores: Vec::new(),
        publishes: None,
        consumes: None,
        external: None,
        routes: Vec::new(),
        age_days: rng.range(200, 900),
        claims,
        secret: None,
        team: "data".into(),
    }
}
