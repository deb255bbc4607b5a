//! What a fault leaves behind: Kubernetes events and objects, container
//! logs, changes to traffic (errors, latency) and gauges, the MongoDB state,
//! and the alerts that would fire. Faults (in `faults/`) fill an
//! [`Incident`]; the renderers turn it and the world into files.

use serde_json::Value;

use super::rng::Rng;
use super::surface::{Failure, Worded, log_line, logger, word};
use super::world::{Stack, World};

/// A Kubernetes Event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Namespace (`default` for node events).
    pub ns: String,
    /// involvedObject kind.
    pub kind: String,
    /// involvedObject name.
    pub name: String,
    /// `Normal` or `Warning`.
    pub ty: &'static str,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Count.
    pub count: u32,
    /// firstTimestamp, seconds before now.
    pub first: i64,
    /// lastTimestamp, seconds before now.
    pub last: i64,
    /// Reporting component.
    pub source: String,
}

/// A container log file.
#[derive(Debug, Clone)]
pub struct PodLog {
    /// Namespace.
    pub ns: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// The previous instance's log.
    pub previous: bool,
    /// (unix ns, line) in order.
    pub lines: Vec<(i64, String)>,
}

/// A change to the traffic of the world.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Requests served by `wi` fail with `status`; only on pods of revision
    /// `from_rev` or later when set.
    Serve {
        /// Workload.
        wi: usize,
        /// Share of requests failing at full intensity.
        rate: f64,
        /// HTTP status returned.
        status: u16,
        /// What the handler logs.
        failure: Failure,
        /// Only pods on this revision or later.
        from_rev: Option<usize>,
    },
    /// Calls from `caller` (any, when None) to `callee` fail at the client.
    Call {
        /// The calling workload.
        caller: Option<usize>,
        /// The called workload (service or store).
        callee: usize,
        /// Share failing at full intensity.
        rate: f64,
        /// Duration of a failed call, ms.
        ms: f64,
        /// The failure.
        failure: Failure,
    },
    /// Calls from `wi` to its external API fail.
    External {
        /// The calling workload.
        wi: usize,
        /// Share failing at full intensity.
        rate: f64,
        /// Duration of a failed call, ms.
        ms: f64,
        /// The failure.
        failure: Failure,
    },
    /// `wi`'s own processing slows by `ms`.
    Slow {
        /// Workload.
        wi: usize,
        /// Extra milliseconds at full intensity.
        ms: f64,
    },
    /// Operations on a store slow by `ms` (only on `target` when set).
    StoreSlow {
        /// Store workload.
        store: usize,
        /// Table or collection.
        target: Option<String>,
        /// Extra milliseconds.
        ms: f64,
        /// The query text recorded on the span.
        statement: Option<String>,
    },
    /// `wi` logs `msg` every `every` seconds.
    Log {
        /// Workload.
        wi: usize,
        /// Interval, s.
        every: f64,
        /// Level.
        level: &'static str,
        /// Message.
        msg: String,
        /// Attached failure.
        failure: Option<Failure>,
    },
    /// Requests to the entry points multiply by `mult`.
    Traffic {
        /// Multiplier at full intensity.
        mult: f64,
    },
}

/// An effect over time: none before `from`, ramping up to full at `full`.
#[derive(Debug, Clone)]
pub struct Timed {
    /// The effect.
    pub effect: Effect,
    /// Unix s it starts.
    pub from: i64,
    /// Unix s it reaches full intensity.
    pub full: i64,
}

impl Timed {
    /// Intensity at unix second `t`, 0..1.
    pub fn at(&self, t: f64) -> f64 {
        if t < self.from as f64 {
            0.0
        } else if t >= self.full as f64 || self.full <= self.from {
            1.0
        } else {
            (t - self.from as f64) / (self.full - self.from) as f64
        }
    }
}

/// A gauge or counter a service exports.
#[derive(Debug, Clone)]
pub struct Gauge {
    /// Exporting workload.
    pub wi: usize,
    /// Metric name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Description.
    pub desc: String,
    /// Data point attributes.
    pub attrs: Vec<(String, String)>,
    /// Value before the onset.
    pub base: f64,
    /// Value at full intensity.
    pub peak: f64,
    /// Integer values.
    pub int: bool,
}

/// Which SigNoz rule fires on the symptom path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symptom {
    /// Error rate.
    Errors,
    /// p99 latency.
    Latency,
    /// Nothing visible in request telemetry.
    None,
}

/// An alert a fault can fire.
#[derive(Debug, Clone)]
pub struct KubeAlert {
    /// alertname.
    pub name: &'static str,
    /// Namespace.
    pub ns: String,
    /// Subject labels (pod, deployment, container, …).
    pub labels: Vec<(String, String)>,
    /// The subject as the scenario names it (`service` in scenario.toml).
    pub subject: String,
    /// Severity.
    pub severity: &'static str,
    /// Seconds it has been firing for (approx.).
    pub age: i64,
}

/// A slow-query shape in MongoDB's profiler: (collection, filter JSON, plan,
/// docsExamined, nreturned, millis, count, first seen seconds ago).
pub type ProfileShape = (String, String, String, u64, u64, u64, u32, i64);

/// A MongoDB state the snapshot renders.
#[derive(Debug, Clone, Default)]
pub struct Mongo {
    /// The store workload.
    pub store: usize,
    /// Database name.
    pub db: String,
    /// Collections.
    pub collections: Vec<String>,
    /// Slow-query shapes in the profiler: (collection, filter JSON, plan,
    /// docsExamined, nreturned, millis, count, first seen s ago).
    pub profile: Vec<ProfileShape>,
    /// Active operations: (collection, op, command JSON, secs_running,
    /// waitingForLock, planSummary, appName).
    pub ops: Vec<(String, String, String, u64, bool, String, String)>,
    /// Indexes per collection: (collection, name, key JSON).
    pub indexes: Vec<(String, String, String)>,
    /// Lag of each secondary, seconds.
    pub lag: Vec<i64>,
    /// Queue (readers, writers).
    pub queue: (u32, u32),
    /// getLog lines (JSON objects).
    pub log: Vec<String>,
    /// Connections (current, active).
    pub conns: (u32, u32),
    /// Collection whose explain is recorded, with its winning plan stage.
    pub explain: Option<(String, String, String)>,
}

/// Everything a fault produced.
#[derive(Debug, Clone)]
pub struct Incident {
    /// Kind (the vocabulary of `fixtures/scenarios/README.md`).
    pub kind: &'static str,
    /// Category.
    pub category: &'static str,
    /// The component an SRE would name.
    pub component: String,
    /// Other names of the same component.
    pub aliases: Vec<String>,
    /// One sentence.
    pub summary: String,
    /// A title.
    pub title: String,
    /// Namespace of the component.
    pub ns: String,
    /// Unix s of the onset.
    pub onset: i64,
    /// Events.
    pub events: Vec<Event>,
    /// Extra Kubernetes objects.
    pub objects: Vec<Value>,
    /// Container logs written by the fault (besides request logs).
    pub logs: Vec<PodLog>,
    /// Traffic changes.
    pub effects: Vec<Timed>,
    /// Gauges.
    pub gauges: Vec<Timed2>,
    /// MongoDB state.
    pub mongo: Option<Mongo>,
    /// Alerts on the component itself.
    pub kube_alerts: Vec<KubeAlert>,
    /// Where request telemetry shows the incident first (the workload whose
    /// requests fail or slow), and how.
    pub symptom: Option<(usize, Symptom)>,
    /// The workload the fault is on, when it is a workload.
    pub culprit: Option<usize>,
    /// Node indices the incident involves (red herrings avoid them).
    pub nodes: Vec<usize>,
}

/// A gauge with the time shape of the incident.
#[derive(Debug, Clone)]
pub struct Timed2 {
    /// The gauge.
    pub gauge: Gauge,
    /// Unix s it starts moving.
    pub from: i64,
    /// Unix s it reaches its peak.
    pub full: i64,
}

/// Helpers shared by the fault builders.
pub struct Ctx<'a> {
    /// The world.
    pub w: &'a mut World,
    /// Randomness.
    pub rng: &'a Rng,
    /// Unix s of the onset.
    pub onset: i64,
    /// Unix s when the fault reaches full intensity.
    pub full: i64,
    /// The incident being built.
    pub inc: Incident,
}

impl Ctx<'_> {
    /// Seconds between the onset and now.
    pub fn age(&self) -> i64 {
        self.w.now - self.onset
    }

    /// The name and namespace of workload `wi`, owned: builders keep them
    /// while they change the world.
    pub fn names(&self, wi: usize) -> (String, String) {
        let w = &self.w.workloads[wi];
        (w.name.clone(), w.ns.clone())
    }

    /// Seconds ago of a moment `frac` of the way from the onset to now.
    pub fn ago(&self, frac: f64) -> i64 {
        ((self.age() as f64) * (1.0 - frac)).max(1.0) as i64
    }

    /// Adds an event.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        ns: &str,
        kind: &str,
        name: &str,
        ty: &'static str,
        reason: &str,
        message: String,
        count: u32,
        first: i64,
        last: i64,
        source: &str,
    ) {
        self.inc.events.push(Event {
            ns: ns.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            ty,
            reason: reason.to_string(),
            message,
            count,
            first,
            last,
            source: source.to_string(),
        });
    }

    /// Adds an effect with the incident's time shape.
    pub fn effect(&mut self, e: Effect) {
        self.inc.effects.push(Timed {
            effect: e,
            from: self.onset,
            full: self.full,
        });
    }

    /// Adds a gauge with the incident's time shape.
    pub fn gauge(&mut self, g: Gauge) {
        self.inc.gauges.push(Timed2 {
            gauge: g,
            from: self.onset,
            full: self.full,
        });
    }

    /// A log line of workload `wi` at `ago` seconds before now.
    pub fn line(
        &mut self,
        wi: usize,
        ago: f64,
        level: &str,
        part: &str,
        msg: &str,
        exc: Option<&Worded>,
    ) -> (i64, String) {
        let w = &self.w.workloads[wi];
        let ns =
            (self.w.now as f64 - ago) as i64 * 1_000_000_000 + self.rng.range(0, 999) * 1_000_000;
        let lg = logger(w.stack, &w.name, part);
        (ns, log_line(w.stack, ns, level, &lg, msg, exc, &[]))
    }

    /// Words a failure in the stack of `wi`.
    pub fn word(&mut self, wi: usize, f: &Failure) -> Worded {
        let v = self.rng.below(4);
        word(self.w.workloads[wi].stack, f, v)
    }

    /// Adds a container log.
    pub fn log(&mut self, wi: usize, pod: usize, previous: bool, lines: Vec<(i64, String)>) {
        let w = &self.w.workloads[wi];
        self.inc.logs.push(PodLog {
            ns: w.ns.clone(),
            pod: w.pods[pod].name.clone(),
            container: w.name.clone(),
            previous,
            lines,
        });
    }

    /// Start-up lines of a service in its stack, ending `ago` seconds ago.
    pub fn startup(&mut self, wi: usize, ago: f64) -> Vec<(i64, String)> {
        let (stack, port, version) = {
            let w = &self.w.workloads[wi];
            (w.stack, w.port, w.current().version.clone())
        };
        let msgs: Vec<String> = match stack {
            Stack::Java => vec![
                format!("Starting Application v{version} using Java 21.0.4 with PID 1"),
                "No active profile set, falling back to 1 default profile: \"default\"".into(),
                format!("Tomcat initialized with port {port} (http)"),
            ],
            Stack::Go => vec![
                format!("starting server version={version}"),
                "config loaded".into(),
            ],
            Stack::Node => vec![
                format!("booting v{version} (node v20.15.1)"),
                "loaded config".into(),
            ],
            Stack::Python => vec![
                format!("Starting gunicorn 22.0.0"),
                format!("Listening at: http://0.0.0.0:{port} (1)"),
            ],
            Stack::Plain => vec![
                format!("Now listening on: http://[::]:{port}"),
                "Application started. Press Ctrl+C to shut down.".into(),
            ],
        };
        let n = msgs.len() as f64;
        msgs.iter()
            .enumerate()
            .map(|(i, m)| self.line(wi, ago + n - i as f64, "INFO", "Application", m, None))
            .collect()
    }

    /// Marks pods of `wi` as crash-looping with a terminated last state.
    #[allow(clippy::too_many_arguments)]
    pub fn crashloop(
        &mut self,
        wi: usize,
        pods: &[usize],
        reason: &str,
        code: i32,
        message: Option<String>,
        restarts_per_min: f64,
        waiting: bool,
    ) {
        let age = self.age();
        let now = self.w.now;
        for &p in pods {
            let restarts = ((age as f64 / 60.0) * restarts_per_min).max(1.0) as u32
                + self.rng.range(0, 2) as u32;
            let fin = self.rng.range(5, 120).min(age.max(6) - 1).max(1);
            let started = fin + self.rng.range(5, 90);
            let mut term = serde_json::json!({
                "exitCode": code, "reason": reason,
                "startedAt": super::surface::iso(now - started), "finishedAt": super::surface::iso(now - fin),
                "containerID": format!("containerd://{}", self.rng.hex(64)),
            });
            if let Some(m) = &message {
                term["message"] = Value::String(m.clone());
            }
            let (wname, wns) = (
                self.w.workloads[wi].name.clone(),
                self.w.workloads[wi].ns.clone(),
            );
            let pod = &mut self.w.workloads[wi].pods[p];
            pod.main.restarts = restarts;
            pod.main.last = Some(serde_json::json!({ "terminated": term }));
            pod.main.ready = false;
            if waiting {
                pod.main.state = Some(serde_json::json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off 5m0s restarting failed container={wname} pod={}_{wns}({})", pod.name, uuid_like(&pod.name))}}));
                pod.usage = None;
            } else {
                pod.main.state = Some(
                    serde_json::json!({"running": {"startedAt": super::surface::iso(now - fin + 1)}}),
                );
            }
        }
    }
}

/// A deterministic UUID-looking string from a name.
pub fn uuid_like(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
        h2 = h2.rotate_left(5) ^ u64::from(b);
        h2 = h2.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h2 >> 52) & 0xfff,
        h2 & 0xffff_ffff_ffff
    )
}
