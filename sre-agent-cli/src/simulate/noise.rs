//! Noise and red herrings drawn at random: things a real cluster shows that
//! have nothing to do with the incident.

use serde_json::json;

use super::incident::{Ctx, Effect, PodLog, Timed};
use super::surface::{Failure, iso};
use super::world::{Controller, JobRun, Role};

/// Adds a random selection of noise. Returns a short note per item, for the
/// scenario's description.
pub fn add(ctx: &mut Ctx) -> Vec<String> {
    let mut notes = Vec::new();
    let culprit = ctx.inc.culprit;
    let symptom = ctx.inc.symptom.map(|s| s.0);
    let others: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| {
            Some(i) != culprit
                && Some(i) != symptom
                && ctx.w.workloads[i].controller == Controller::Deployment
                && ctx.w.workloads[i].is_http()
        })
        .collect();
    let t0 = ctx.w.t_start - 5;
    // An innocent deploy shortly before the onset, of another service.
    if ctx.rng.chance(0.45)
        && let Some(&o) = others.get(ctx.rng.below(others.len().max(1)))
    {
        let ago = ctx.age() + ctx.rng.range(60, 1500);
        super::faults::rollout(ctx, o, ago, true, 0, |_, _| {});
        notes.push(format!(
            "an unrelated rollout of {} {} min before the onset",
            ctx.w.workloads[o].name,
            (ago - ctx.age()) / 60
        ));
    }
    // A deploy of the symptom's service after the onset.
    if let Some(s) = symptom
        && Some(s) != culprit
        && ctx.w.workloads[s].controller == Controller::Deployment
        && ctx.age() > 360
        && ctx.rng.chance(0.3)
    {
        let ago = ctx.age() - ctx.rng.range(120, ctx.age() - 120);
        super::faults::rollout(ctx, s, ago, true, 0, |_, _| {});
        notes.push(format!(
            "a rollout of {} after the errors had started",
            ctx.w.workloads[s].name
        ));
    }
    // A pod crash-looping for days in another namespace.
    if ctx.rng.chance(0.4)
        && let Some(&o) = others
            .iter()
            .find(|&&o| ctx.w.workloads[o].ns != ctx.inc.ns)
    {
        let (name, ns) = ctx.names(o);
        let days = ctx.rng.range(2, 9);
        let pi = ctx.w.workloads[o].pods.len();
        if pi > 1 {
            let p = pi - 1;
            let pn = ctx.w.workloads[o].pods[p].name.clone();
            ctx.w.workloads[o].pods[p].age = days * 86_400;
            let now = ctx.w.now;
            let pod = &mut ctx.w.workloads[o].pods[p];
            pod.main.restarts = (days * 280) as u32;
            pod.main.ready = false;
            pod.main.state = Some(
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={name} pod={pn}")}}),
            );
            pod.main.last = Some(
                json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": iso(now - 200), "finishedAt": iso(now - 195)}}),
            );
            pod.usage = None;
            let restarts = (days * 280) as u32;
            let last = ctx.rng.range(10, 200);
            super::faults::backoff_event(ctx, o, p, restarts * 4, days * 86_400, last);
            let t = (now - 196) * 1_000_000_000;
            ctx.inc.logs.push(PodLog { ns: ns.clone(), pod: pn.clone(), container: name.clone(), previous: true, lines: vec![(t, "Error: failed to load plugin /plugins/legacy-auth.so: no such file or directory".into())] });
            notes.push(format!("{pn} crash-looping for {days} days"));
        }
    }
    // A coincidental WARN surge.
    if ctx.rng.chance(0.4)
        && let Some(&o) = others.get(ctx.rng.below(others.len().max(1)))
    {
        let msg = ctx
            .rng
            .pick(&[
                "cache miss ratio above 0.4, refreshing entries",
                "retrying publish to event bus (attempt 2)",
                "slow DNS lookup for metrics endpoint",
                "feature flag client: stale configuration, using cached values",
            ])
            .to_string();
        let from = ctx.onset - ctx.rng.range(-120, 300);
        ctx.inc.effects.push(Timed {
            effect: Effect::Log {
                wi: o,
                every: 6.0,
                level: "WARN",
                msg: msg.clone(),
                failure: None,
            },
            from,
            full: from + 60,
        });
        notes.push(format!("a WARN surge in {}", ctx.w.workloads[o].name));
    }
    // A node under memory pressure hosting none of the affected pods.
    if ctx.rng.chance(0.35) {
        let busy: Vec<usize> = [culprit, symptom]
            .iter()
            .flatten()
            .flat_map(|&i| ctx.w.workloads[i].pods.iter().filter_map(|p| p.node))
            .chain(ctx.inc.nodes.iter().copied())
            .collect();
        if let Some(n) = (0..ctx.w.nodes.len()).find(|n| !busy.contains(n)) {
            let since = ctx.age() + ctx.rng.range(600, 20_000);
            ctx.w.nodes[n].conditions.push((
                "MemoryPressure".into(),
                "True".into(),
                "KubeletHasInsufficientMemory".into(),
                "kubelet has insufficient memory available".into(),
                since,
            ));
            let nn = ctx.w.nodes[n].name.clone();
            ctx.event(
                "default",
                "Node",
                &nn,
                "Normal",
                "NodeHasInsufficientMemory",
                format!("Node {nn} status is now: NodeHasInsufficientMemory"),
                1,
                since,
                since,
                "kubelet",
            );
            notes.push(format!(
                "node {nn} under MemoryPressure (no affected pods on it)"
            ));
        }
    }
    // A query slow in the baseline too.
    if ctx.rng.chance(0.35) {
        let stores: Vec<usize> = (0..ctx.w.workloads.len())
            .filter(|&i| matches!(ctx.w.workloads[i].role, Role::Store(_)) && Some(i) != culprit)
            .collect();
        if let Some(&s) = stores.get(ctx.rng.below(stores.len().max(1))) {
            ctx.inc.effects.push(Timed {
                effect: Effect::StoreSlow {
                    store: s,
                    target: None,
                    ms: ctx.rng.uniform(150.0, 600.0),
                    statement: None,
                },
                from: t0,
                full: t0,
            });
            notes.push(format!(
                "queries on {} slow in the baseline too",
                ctx.w.workloads[s].name
            ));
        }
    }
    // An old failed Job.
    if ctx.rng.chance(0.35) {
        let crons: Vec<usize> = (0..ctx.w.workloads.len())
            .filter(|&i| ctx.w.workloads[i].controller == Controller::CronJob && Some(i) != culprit)
            .collect();
        if let Some(&c) = crons.get(ctx.rng.below(crons.len().max(1))) {
            let age = ctx.rng.range(2, 6) * 86_400 + ctx.rng.range(0, 40_000);
            let (name, ns) = ctx.names(c);
            let job = format!("{name}-{}", (ctx.w.now - age) / 60);
            let pn = format!("{job}-{}", ctx.rng.suffix(5));
            let now = ctx.w.now;
            let mut p = ctx.w.new_pod(ctx.rng, c, pn, age, 0);
            p.phase = "Failed".into();
            p.usage = None;
            p.main.ready = false;
            p.main.state = Some(
                json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": iso(now - age), "finishedAt": iso(now - age + 30)}}),
            );
            ctx.w.jobs.push(JobRun {
                wi: c,
                name: job.clone(),
                age,
                duration: 40,
                ok: Some(false),
                pods: vec![p],
                backoff: 0,
            });
            super::faults::job_backoff_limit(ctx, &ns, &job, age - 40);
            notes.push(format!("an old failed Job {job}"));
        }
    }
    // Steady baseline errors in a bystander.
    if ctx.rng.chance(0.5)
        && let Some(&o) = others.get(ctx.rng.below(others.len().max(1)))
    {
        let f = Failure::App {
            ty: "ValidationError".into(),
            msg: "request rejected: missing field 'locale'".into(),
            frame: String::new(),
        };
        ctx.inc.effects.push(Timed {
            effect: Effect::Serve {
                wi: o,
                rate: 0.03,
                status: 500,
                failure: f,
                from_rev: None,
            },
            from: t0,
            full: t0,
        });
        notes.push(format!("steady ~3% errors in {}", ctx.w.workloads[o].name));
    }
    // Always: routine events.
    for (i, n) in ctx.w.nodes.clone().iter().enumerate() {
        if i % 2 == 0 {
            let ago = ctx.rng.range(3600, 30_000);
            ctx.event("default", "Node", &n.name, "Normal", "ImageGCFailed", "wanted to free 2863311872 bytes, but freed 0 bytes space with errors in image deletion".to_string(), 1, ago, ago, "kubelet");
        }
    }
    if let Some(&o) = others.get(ctx.rng.below(others.len().max(1))) {
        let (ns, pn) = (
            ctx.w.workloads[o].ns.clone(),
            ctx.w.workloads[o]
                .pods
                .first()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        );
        let ip = ctx.w.workloads[o]
            .pods
            .first()
            .map(|p| p.ip.clone())
            .unwrap_or_default();
        let port = ctx.w.workloads[o].port;
        let ago = ctx.rng.range(4 * 3600, 9 * 3600);
        ctx.event(&ns, "Pod", &pn, "Warning", "Unhealthy", format!("Readiness probe failed: Get \"http://{ip}:{port}/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), ctx.rng.range(2, 9) as u32, ago, ago - 300, "kubelet");
    }
    notes
}
