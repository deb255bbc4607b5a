//! `sre-agent simulate`: randomized incident scenarios for evaluating the
//! root-cause analysis on data nobody tuned it on.
//!
//! Each scenario is a world drawn at random — 6–30 services in 1–5
//! namespaces of one of several business domains, a call graph with fan-out
//! and depth up to four, PostgreSQL/MongoDB/Redis and Kafka/RabbitMQ as
//! StatefulSets, DaemonSets and CronJobs, 3–8 nodes — in which exactly one
//! fault from a catalogue happens (`faults/`), plus noise and red herrings
//! (`noise.rs`). The renderers then write what the real systems would show:
//! the cluster as `kubectl get -o json` prints it with the events and
//! container logs (`render_k8s.rs`), OTLP/JSON traces, logs and metrics of
//! the requests flowing through the graph (`render_otel.rs`), MongoDB's
//! replies (`render_mongo.rs`), and the Alertmanager or SigNoz alert that
//! fired (`alerts.rs`). Errors are worded the way each stack's libraries
//! word them (`surface.rs`), so no single string identifies a fault, and
//! the data never names the fault's kind: `scenario.toml` alone holds the
//! expected answer.
//!
//! Everything is a function of `--seed` and the scenario's index (a small
//! PRNG of our own, `rng.rs`), so a seed regenerates the same files on every
//! machine, and scenarios are generated on all cores.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

pub mod alerts;
pub mod domains;
pub mod faults;
pub mod incident;
pub mod noise;
pub mod render_k8s;
pub mod render_metrics;
pub mod render_mongo;
pub mod render_otel;
pub mod rng;
pub mod surface;
pub mod topology;
pub mod world;

use incident::{Ctx, Incident, Symptom};
use rng::Rng;
use world::World;

/// `sre-agent simulate` arguments.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// How many scenarios to write.
    #[arg(long, default_value_t = 20)]
    pub count: usize,
    /// The seed: the same seed writes the same scenarios.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder to write them into (created; existing scenarios of the
    /// same names are replaced).
    #[arg(long)]
    pub out: PathBuf,
}

/// What one generated scenario is about (for the summary line).
#[derive(Debug, Clone)]
pub struct Generated {
    /// Folder name.
    pub name: String,
    /// The fault built (the catalogue's kind).
    pub kind: &'static str,
    /// The kind `scenario.toml` expects: the fault's, unless the builder
    /// relabelled it (a slowdown that shipped with a rollout is a bad
    /// deploy).
    pub expected: &'static str,
}

/// Writes `count` scenarios under `out`, in parallel on the available cores.
pub fn run(args: &SimulateArgs) -> Result<Vec<Generated>> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let mut results: Vec<Result<Generated>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let args = args.clone();
                s.spawn(move || {
                    (t..args.count)
                        .step_by(threads)
                        .map(|i| (i, one(args.seed, i, &args.out)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(v) => all.extend(v),
                Err(_) => all.push((
                    usize::MAX,
                    Err(anyhow::anyhow!("a generator thread panicked")),
                )),
            }
        }
        all.sort_by_key(|(i, _)| *i);
        results = all.into_iter().map(|(_, r)| r).collect();
    });
    results.into_iter().collect()
}

/// The scenario folder name for `seed` and `index`.
pub fn scenario_name(seed: u64, index: usize) -> String {
    format!("sim-{seed}-{index:04}")
}

fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Generates scenario `index` of `seed` into `out/NAME`.
pub fn one(seed: u64, index: usize, out: &Path) -> Result<Generated> {
    let name = scenario_name(seed, index);
    let rng = Rng::new(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ 0x5eed,
    );
    // 2025-01-06T00:00:00Z plus up to ~300 days, on a whole minute.
    let now = 1_736_121_600 + rng.range(0, 300) * 86_400 + rng.range(0, 1439) * 60;
    let n = faults::CATALOGUE.len();
    let start = (index + (seed as usize % n)) % n;
    // Some faults need a feature the world may lack (a MongoDB, a queue
    // consumer): draw up to 12 worlds for the kind before moving on.
    for attempt in 0..n * 12 {
        let (kind, category, build) = faults::CATALOGUE[(start + attempt / 12) % n];
        let wrng = rng.fork(&format!("world{attempt}"));
        let mut world = World::build(&wrng, now);
        let age = wrng.range(3, 60) * 60 + wrng.range(0, 59);
        let onset = now - age;
        let gradual = wrng.chance(0.4);
        let full = if gradual {
            onset + (wrng.range(120, 900)).min(age.max(121) - 60)
        } else {
            onset + 20
        };
        world.t_start = onset - wrng.range(60, 75) * 60;
        let inc = Incident {
            kind,
            category,
            component: String::new(),
            aliases: Vec::new(),
            summary: String::new(),
            title: String::new(),
            ns: String::new(),
            onset,
            events: Vec::new(),
            objects: Vec::new(),
            logs: Vec::new(),
            effects: Vec::new(),
            gauges: Vec::new(),
            mongo: None,
            kube_alerts: Vec::new(),
            symptom: None,
            culprit: None,
            nodes: Vec::new(),
        };
        let mut ctx = Ctx {
            w: &mut world,
            rng: &wrng,
            onset,
            full,
            inc,
        };
        if build(&mut ctx).is_none() {
            continue;
        }
        if ctx.inc.ns.is_empty() {
            ctx.inc.ns = ctx
                .inc
                .culprit
                .map(|c| ctx.w.workloads[c].ns.clone())
                .unwrap_or_default();
        }
        let notes = noise::add(&mut ctx);
        let inc = ctx.inc;
        let dir = out.join(&name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot replace {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        write_scenario(&dir, &world, &inc, &notes, &wrng)?;
        return Ok(Generated {
            name,
            kind,
            expected: inc.kind,
        });
    }
    anyhow::bail!("no fault of the catalogue fits the world of scenario {name}")
}

fn write_scenario(
    dir: &Path,
    w: &World,
    inc: &Incident,
    notes: &[String],
    rng: &Rng,
) -> Result<()> {
    // The alert: on the cause itself (Alertmanager) or on the symptom path
    // 0–3 hops above it (SigNoz).
    let age = w.now - inc.onset;
    let signoz_ok = inc.symptom.is_some_and(|(_, s)| s != Symptom::None);
    let use_kube = !inc.kube_alerts.is_empty() && (!signoz_ok || rng.chance(0.5));
    let (alert, ns, service) = if use_kube {
        let a = &inc.kube_alerts[rng.below(inc.kube_alerts.len())];
        (alerts::kube(a, w.now, rng), a.ns.clone(), a.subject.clone())
    } else if let Some((s, sym)) = inc.symptom.filter(|_| signoz_ok) {
        let hops = rng.below(4);
        let chain = w.callers_chain(s, hops, rng);
        let target = chain.last().copied().unwrap_or(s);
        let rule = if sym == Symptom::Latency {
            alerts::Rule::Latency
        } else {
            alerts::Rule::Errors
        };
        let x = &w.workloads[target];
        let started = (age - rng.range(60, 300).min(age - 30)).max(30);
        (
            alerts::signoz(rule, &x.name, &x.ns, w.now, started, rng),
            x.ns.clone(),
            x.name.clone(),
        )
    } else {
        let c = inc.culprit.unwrap_or(0);
        let x = &w.workloads[c];
        let rule = if inc.kind == "consumer_lag" {
            alerts::Rule::Metric("Consumer lag above threshold", "messaging consumer lag")
        } else {
            alerts::Rule::Errors
        };
        (
            alerts::signoz(rule, &x.name, &x.ns, w.now, (age - 120).max(30), rng),
            x.ns.clone(),
            x.name.clone(),
        )
    };
    std::fs::write(
        dir.join("alert.json"),
        serde_json::to_string_pretty(&alert)? + "\n",
    )?;
    // The scenario's manifest.
    let mut description = inc.summary.clone();
    if !notes.is_empty() {
        description.push_str(&format!(" Noise: {}.", notes.join("; ")));
    }
    description.push_str(&format!(
        " Domain {}, {} services in {} namespaces on {} nodes; onset {} min before now.",
        w.domain.name,
        w.workloads.len(),
        w.namespaces.len(),
        w.nodes.len(),
        age / 60
    ));
    let mut aliases: Vec<String> = Vec::new();
    for a in &inc.aliases {
        if !aliases.contains(a) && *a != inc.component {
            aliases.push(a.clone());
        }
    }
    let toml = format!(
        "title = {}\ndescription = {}\nnow = {}\nnamespace = {}\nservice = {}\n\n[expected]\ncategory = {}\ncomponent = {}\naliases = [{}]\nkind = {}\nsummary = {}\n",
        toml_str(&inc.title),
        toml_str(&description),
        toml_str(&surface::iso(w.now)),
        toml_str(&ns),
        toml_str(&service),
        toml_str(inc.category),
        toml_str(&inc.component),
        aliases
            .iter()
            .map(|a| toml_str(a))
            .collect::<Vec<_>>()
            .join(", "),
        toml_str(inc.kind),
        toml_str(&inc.summary),
    );
    std::fs::write(dir.join("scenario.toml"), toml)?;
    render_k8s::write(dir, w, inc)?;
    let mut logs = render_otel::write(dir, w, inc, rng)?;
    for l in &inc.logs {
        let e = logs
            .entry((l.ns.clone(), l.pod.clone(), l.container.clone(), l.previous))
            .or_default();
        e.extend(l.lines.iter().cloned());
        e.sort();
    }
    // Pods without requests still have a log: their start-up lines.
    for x in &w.workloads {
        for p in &x.pods {
            let key = (x.ns.clone(), p.name.clone(), x.name.clone(), false);
            if p.phase == "Running" && p.main.state.is_none() && !logs.contains_key(&key) {
                let t = (w.now - p.age + 3) * 1_000_000_000;
                let lg = surface::logger(x.stack, &x.name, "Application");
                logs.insert(
                    key,
                    vec![(
                        t,
                        surface::log_line(x.stack, t, "INFO", &lg, "started", None, &[]),
                    )],
                );
            }
        }
    }
    render_k8s::write_logs(dir, &logs)?;
    if let Some(m) = &inc.mongo {
        render_mongo::write(dir, w, m)?;
    }
    Ok(())
}
