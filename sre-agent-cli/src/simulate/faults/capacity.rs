//! Capacity faults: autoscalers at their limits or misconfigured, CPU
//! limits and noisy neighbours, and failed batch jobs.

use serde_json::json;

use super::super::incident::{Ctx, Effect, Gauge, KubeAlert, Symptom};
use super::super::surface::iso;
use super::super::world::{Controller, Hpa, JobRun, Role, Stack};
use super::{app, blame, job_backoff_limit, job_created_pod, named_app, rollout, told};

fn hpa_alert(ctx: &Ctx, name: &str, ns: &str, alert: &'static str, subject: &str) -> KubeAlert {
    KubeAlert {
        name: alert,
        ns: ns.to_string(),
        labels: vec![("horizontalpodautoscaler".into(), name.to_string())],
        subject: subject.to_string(),
        severity: "warning",
        age: (ctx.age() - 900).max(60),
    }
}

fn add_pods(ctx: &mut Ctx, wi: usize, n: usize, ago: i64) -> Vec<usize> {
    let rev = ctx.w.workloads[wi].revisions.len() - 1;
    let mut v = Vec::new();
    for k in 0..n {
        let name = ctx.w.pod_name(ctx.rng, wi, rev, k + 10);
        let p = ctx.w.new_pod(ctx.rng, wi, name, ago - k as i64 * 20, rev);
        ctx.w.workloads[wi].pods.push(p);
        v.push(ctx.w.workloads[wi].pods.len() - 1);
    }
    v
}

/// The autoscaler is at its maximum while load keeps rising.
pub fn hpa_maxed(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, true)?;
    ctx.w.hpas.retain(|h| h.wi != wi);
    let min = ctx.w.workloads[wi].replicas.max(2);
    let max = min + ctx.rng.range(1, 4) as u32;
    let extra = (max - ctx.w.workloads[wi].replicas) as usize;
    let ago = ctx.ago(0.3);
    add_pods(ctx, wi, extra, ago);
    ctx.w.workloads[wi].replicas = max;
    let util = ctx.rng.range(130, 220) as u32;
    let target = *ctx.rng.pick(&[60u32, 70, 80]);
    for p in &mut ctx.w.workloads[wi].pods {
        if let Some(u) = p.usage.as_mut() {
            u.0 = 480 + (util * 2);
        }
    }
    let since = ctx.ago(0.3);
    ctx.w.hpas.push(Hpa {
        wi, name: name.clone(), target: name.clone(), min, max, current: max, desired: max, util: Some(util), target_util: target,
        conditions: vec![
            ("AbleToScale".into(), "True".into(), "ScaleDownStabilized".into(), "recent recommendations were higher than current one, applying the highest recent recommendation".into(), since),
            ("ScalingActive".into(), "True".into(), "ValidMetricFound".into(), "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)".into(), 90 * 86_400),
            ("ScalingLimited".into(), "True".into(), "TooManyReplicas".into(), "the desired replica count is more than the maximum replica count".into(), since),
        ],
    });
    let mut r = min;
    let mut t = ctx.age();
    while r < max {
        r += 1;
        t = (t as f64 * 0.7) as i64;
        ctx.event(&ns, "HorizontalPodAutoscaler", &name, "Normal", "SuccessfulRescale", format!("New size: {r}; reason: cpu resource utilization (percentage of request) above target"), 1, t, t, "horizontal-pod-autoscaler");
    }
    let mult = ctx.rng.uniform(2.5, 4.0);
    ctx.effect(Effect::Traffic { mult });
    ctx.effect(Effect::Slow {
        wi,
        ms: ctx.rng.uniform(300.0, 900.0),
    });
    ctx.inc.symptom = Some((wi, Symptom::Latency));
    ctx.inc
        .kube_alerts
        .push(hpa_alert(ctx, &name, &ns, "KubeHpaMaxedOut", &name));
    blame(ctx, wi);
    ctx.inc.aliases.extend([
        format!("horizontalpodautoscaler/{name}"),
        format!("hpa/{name}"),
    ]);
    let title = format!("{name} at its autoscaling maximum");
    let summary = format!(
        "Traffic to {name} rose {mult:.1}x; its autoscaler is pinned at its maximum of {max} replicas with CPU at {util}% of requests (target {target}%)."
    );
    told(ctx, title, summary)
}

/// The autoscaler cannot act: wrong target or missing CPU requests.
pub fn hpa_misconfigured(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, true)?;
    ctx.w.hpas.retain(|h| h.wi != wi);
    let wrong = ctx.rng.chance(0.5);
    let r = ctx.w.workloads[wi].replicas;
    let since = ctx.age() + ctx.rng.range(600, 7200);
    let (target, cond, msg) = if wrong {
        let t = format!(
            "{name}-{}",
            ctx.rng.pick(&["v2", "api", "deployment", "svc"])
        );
        let m = format!(
            "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"{t}\" not found"
        );
        (t, "FailedGetScale", m)
    } else {
        let p = ctx.w.workloads[wi]
            .pods
            .first()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        (
            name.clone(),
            "FailedGetResourceMetric",
            format!(
                "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container {name} of Pod {p}"
            ),
        )
    };
    ctx.w.hpas.push(Hpa {
        wi,
        name: name.clone(),
        target: target.clone(),
        min: r,
        max: r + 6,
        current: r,
        desired: r,
        util: None,
        target_util: 70,
        conditions: vec![
            (
                "AbleToScale".into(),
                if wrong { "False" } else { "True" }.into(),
                if wrong {
                    "FailedGetScale"
                } else {
                    "SucceededGetScale"
                }
                .into(),
                if wrong {
                    msg.clone()
                } else {
                    "the HPA controller was able to get the target's current scale".into()
                },
                since,
            ),
            (
                "ScalingActive".into(),
                "False".into(),
                if wrong {
                    "FailedGetScale".into()
                } else {
                    "FailedGetResourceMetric".into()
                },
                msg.clone(),
                since,
            ),
        ],
    });
    let n = (since / 15).min(3000) as u32;
    ctx.event(
        &ns,
        "HorizontalPodAutoscaler",
        &name,
        "Warning",
        cond,
        if wrong {
            format!("deployments/scale.apps \"{target}\" not found")
        } else {
            msg.clone()
        },
        n,
        since,
        ctx.rng.range(5, 30),
        "horizontal-pod-autoscaler",
    );
    if !wrong {
        // The last rollout dropped the CPU request.
        let ago = since;
        rollout(ctx, wi, ago, true, 0, |_, _| {});
    }
    for p in &mut ctx.w.workloads[wi].pods {
        if let Some(u) = p.usage.as_mut() {
            u.0 += 900;
        }
    }
    let mult = ctx.rng.uniform(2.0, 3.5);
    ctx.effect(Effect::Traffic { mult });
    ctx.effect(Effect::Slow {
        wi,
        ms: ctx.rng.uniform(400.0, 1500.0),
    });
    ctx.inc.symptom = Some((wi, Symptom::Latency));
    blame(ctx, wi);
    ctx.inc.aliases.extend([
        format!("horizontalpodautoscaler/{name}"),
        format!("hpa/{name}"),
    ]);
    let title = format!("{name} not scaling under load");
    let summary = if wrong {
        format!(
            "{name}'s autoscaler targets deployment {target}, which does not exist, so {name} stayed at {r} replicas while traffic rose {mult:.1}x."
        )
    } else {
        format!(
            "{name}'s containers have no CPU request since the last rollout, so its autoscaler cannot compute utilisation and {name} stayed at {r} replicas while traffic rose {mult:.1}x."
        )
    };
    told(ctx, title, summary)
}

/// A workload without a CPU limit saturates its node and starves its
/// neighbours.
pub fn noisy_neighbor(ctx: &mut Ctx) -> Option<()> {
    let victim = app(ctx, true)?;
    let node = ctx.w.workloads[victim].pods.first().and_then(|p| p.node)?;
    // The noisy one: a CronJob run, or a batch-like Deployment.
    let cron: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| ctx.w.workloads[i].controller == Controller::CronJob)
        .collect();
    let &cj = cron.get(ctx.rng.below(cron.len().max(1)))?;
    let (name, ns) = ctx.names(cj);
    let cores = ctx.w.nodes[node].size.0;
    let age = ctx.age() + ctx.rng.range(10, 120);
    let job = format!("{name}-{}", (ctx.w.now - age) / 60);
    let pname = format!("{job}-{}", ctx.rng.suffix(5));
    let mut p = ctx.w.new_pod(ctx.rng, cj, pname.clone(), age, 0);
    p.node = Some(node);
    p.usage = Some((((cores * 1000) as f64 * 0.93) as u32 - 300, 3100));
    for r in &mut ctx.w.workloads[cj].revisions {
        r.cpu_limit = None;
    }
    ctx.w.jobs.push(JobRun {
        wi: cj,
        name: job.clone(),
        age,
        duration: 0,
        ok: None,
        pods: vec![p],
        backoff: 3,
    });
    ctx.w.nodes[node].usage = Some((
        cores * 1000 - ctx.rng.range(20, 120) as u32,
        ctx.w.nodes[node].size.1 * 1024 / 2,
    ));
    job_created_pod(ctx, &ns, &job, &pname, age);
    ctx.event(
        &ns,
        "CronJob",
        &name,
        "Normal",
        "SuccessfulCreate",
        format!("Created job {job}"),
        1,
        age,
        age,
        "cronjob-controller",
    );
    // Victims: every app pod on that node gets slower.
    let mut victims = Vec::new();
    for (i, w) in ctx.w.workloads.iter().enumerate() {
        if w.is_http() && w.pods.iter().any(|p| p.node == Some(node)) {
            victims.push(i);
        }
    }
    for &v in &victims {
        let share = {
            let w = &ctx.w.workloads[v];
            w.pods.iter().filter(|p| p.node == Some(node)).count() as f64
                / w.pods.len().max(1) as f64
        };
        ctx.effect(Effect::Slow {
            wi: v,
            ms: 250.0 + 900.0 * share,
        });
    }
    ctx.gauge(Gauge {
        wi: victim,
        name: "container.cpu.throttled_ratio".into(),
        unit: "1".into(),
        desc: "Share of CFS periods throttled".into(),
        attrs: vec![],
        base: 0.01,
        peak: 0.02,
        int: false,
    });
    ctx.inc.symptom = Some((victim, Symptom::Latency));
    ctx.inc.nodes = vec![node];
    ctx.inc.component = name.clone();
    ctx.inc.aliases = vec![
        format!("cronjob/{name}"),
        job.clone(),
        format!("job/{job}"),
        pname,
    ];
    ctx.inc.culprit = Some(cj);
    ctx.inc.ns = ns;
    let nn = ctx.w.nodes[node].name.clone();
    let title = format!("services on {nn} slow: CPU starved");
    let summary = format!(
        "A {name} run without a CPU limit uses nearly all of node {nn}'s {cores} cores, starving the services scheduled next to it."
    );
    told(ctx, title, summary)
}

/// A CPU limit too low for the load: the container is throttled.
pub fn cpu_throttling(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, true)?;
    let changed = ctx.rng.chance(0.6);
    let lim = ctx.rng.pick(&["200m", "250m", "300m"]).to_string();
    if changed {
        let ago = ctx.age() + ctx.rng.range(60, 600);
        let l2 = lim.clone();
        rollout(ctx, wi, ago, true, 0, move |r, _| r.cpu_limit = Some(l2));
    } else {
        for r in &mut ctx.w.workloads[wi].revisions {
            r.cpu_limit = Some(lim.clone());
        }
        ctx.effect(Effect::Traffic { mult: 1.8 });
    }
    let lm: u32 = lim.trim_end_matches('m').parse().unwrap_or(250);
    for p in &mut ctx.w.workloads[wi].pods {
        if let Some(u) = p.usage.as_mut() {
            u.0 = lm - 3;
        }
    }
    let ratio = ctx.rng.uniform(0.45, 0.85);
    ctx.gauge(Gauge {
        wi,
        name: "container.cpu.throttled_ratio".into(),
        unit: "1".into(),
        desc: "Share of CFS periods throttled".into(),
        attrs: vec![("container".into(), name.clone())],
        base: 0.02,
        peak: ratio,
        int: false,
    });
    ctx.effect(Effect::Slow {
        wi,
        ms: ctx.rng.uniform(300.0, 1200.0),
    });
    ctx.inc.symptom = Some((wi, Symptom::Latency));
    let pod = ctx.w.workloads[wi].pods[0].name.clone();
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "CPUThrottlingHigh",
        ns: ns.clone(),
        labels: vec![("pod".into(), pod), ("container".into(), name.clone())],
        subject: name.clone(),
        severity: "info",
        age: (ctx.age() - 900).max(60),
    });
    blame(ctx, wi);
    let title = format!("{name} CPU throttled");
    let summary = if changed {
        format!(
            "{name}'s last rollout set a CPU limit of {lim}; the container is throttled in {:.0}% of CFS periods and requests slow down.",
            ratio * 100.0
        )
    } else {
        format!(
            "{name}'s CPU limit of {lim} is too low for today's traffic; the container is throttled in {:.0}% of CFS periods.",
            ratio * 100.0
        )
    };
    told(ctx, title, summary)
}

/// A failed Job (BackoffLimitExceeded).
pub fn job_failed(ctx: &mut Ctx) -> Option<()> {
    let cron: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| ctx.w.workloads[i].controller == Controller::CronJob)
        .collect();
    let &cj = cron.get(ctx.rng.below(cron.len().max(1)))?;
    let (name, ns) = ctx.names(cj);
    let stack = ctx.w.workloads[cj].stack;
    let age = ctx.age() + ctx.rng.range(60, 400);
    let job = format!("{name}-{}", (ctx.w.now - age) / 60);
    let backoff = ctx.rng.range(1, 4) as u32;
    let store = ctx
        .w
        .workloads
        .iter()
        .position(|w| matches!(w.role, Role::Store(_)))
        .map(|i| ctx.w.workloads[i].name.clone())
        .unwrap_or_else(|| "postgres".into());
    let col = ctx
        .rng
        .pick(&["region_code", "tenant_id", "currency", "batch_id"])
        .to_string();
    let (ty, text) = match (stack, ctx.rng.below(2)) {
        (Stack::Python, 0) => ("psycopg2.errors.UndefinedColumn", format!("Traceback (most recent call last):\n  File \"/app/job.py\", line 54, in main\n    cur.execute(QUERY, params)\npsycopg2.errors.UndefinedColumn: column \"{col}\" does not exist\nLINE 1: SELECT id, {col}, amount FROM ledger WHERE ...")),
        (Stack::Python, _) => ("FileNotFoundError", "Traceback (most recent call last):\n  File \"/app/job.py\", line 21, in main\n    with open(manifest_path) as fh:\nFileNotFoundError: [Errno 2] No such file or directory: '/data/input/manifest.json'".to_string()),
        (Stack::Go, _) => ("error", format!("{{\"level\":\"fatal\",\"msg\":\"export failed\",\"error\":\"pq: column \\\"{col}\\\" of relation \\\"exports\\\" does not exist\"}}")),
        (_, _) => ("java.lang.IllegalArgumentException", format!("Exception in thread \"main\" java.lang.IllegalArgumentException: No enum constant com.acme.batch.Mode.{}\n\tat java.base/java.lang.Enum.valueOf(Enum.java:273)", col.to_uppercase())),
    };
    let _ = (ty, store);
    let mut pods = Vec::new();
    let now = ctx.w.now;
    for k in 0..=backoff {
        let pname = format!("{job}-{}", ctx.rng.suffix(5));
        let st = age - (k as i64) * (age / (backoff as i64 + 2)).max(10);
        let mut p = ctx.w.new_pod(ctx.rng, cj, pname.clone(), st, 0);
        p.phase = "Failed".into();
        p.usage = None;
        p.main.ready = false;
        p.main.state = Some(
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": iso(now - st + 1), "finishedAt": iso(now - st + 9)}}),
        );
        let mut lines = vec![(
            (now - st + 2) * 1_000_000_000,
            format!("starting {name} run"),
        )];
        lines.push(((now - st + 8) * 1_000_000_000, text.clone()));
        ctx.inc.logs.push(super::super::incident::PodLog {
            ns: ns.clone(),
            pod: pname.clone(),
            container: name.clone(),
            previous: false,
            lines,
        });
        job_created_pod(ctx, &ns, &job, &pname, st);
        pods.push(p);
    }
    let fail_ago = (age - age * 9 / 10).max(30);
    job_backoff_limit(ctx, &ns, &job, fail_ago);
    ctx.event(
        &ns,
        "CronJob",
        &name,
        "Normal",
        "SawCompletedJob",
        format!("Saw completed job: {job}, status: Failed"),
        1,
        fail_ago,
        fail_ago,
        "cronjob-controller",
    );
    ctx.w.jobs.push(JobRun {
        wi: cj,
        name: job.clone(),
        age,
        duration: age - fail_ago,
        ok: Some(false),
        pods,
        backoff,
    });
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "KubeJobFailed",
        ns: ns.clone(),
        labels: vec![("job_name".into(), job.clone())],
        subject: name.clone(),
        severity: "warning",
        age: (fail_ago - 900).max(60),
    });
    ctx.inc.onset = now - fail_ago.max(age);
    ctx.inc.component = name.clone();
    ctx.inc.aliases = vec![format!("cronjob/{name}"), job.clone(), format!("job/{job}")];
    ctx.inc.culprit = Some(cj);
    ctx.inc.ns = ns;
    let title = format!("{name} job failed");
    let summary = format!(
        "Every run of {name}'s job {job} exits with code 1 (it fails on its own input or schema), and the Job reached its backoff limit."
    );
    told(ctx, title, summary)
}
