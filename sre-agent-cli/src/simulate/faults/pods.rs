//! Faults visible on pods: OOM kills, crashes, missing configuration, image
//! pulls, probes, init containers.

use serde_json::json;

use super::super::incident::{Ctx, Effect};
use super::super::surface::iso;
use super::super::world::{Stack, parse_mi};
use super::{
    app, backoff_event, blame, container_waiting, crashlooping, named_app, pod_not_ready, refused,
    replicas_mismatch, reset, rollout, service_down, told,
};

fn lower_mem(m: &str) -> &'static str {
    match parse_mi(m) {
        x if x >= 2048 => "1Gi",
        x if x >= 1024 => "512Mi",
        x if x >= 768 => "384Mi",
        x if x >= 512 => "256Mi",
        _ => "128Mi",
    }
}

/// Containers exceed their memory limit and are OOMKilled.
pub fn oom_killed(ctx: &mut Ctx) -> Option<()> {
    let wi = app(ctx, true)?;
    let age = ctx.age();
    let changed = ctx.rng.chance(0.6);
    let name = ctx.w.workloads[wi].name.clone();
    let old_lim = ctx.w.workloads[wi].current().mem_limit.clone();
    let pods: Vec<usize> = if changed {
        let ago = age + ctx.rng.range(60, 600);
        let (_, idx) = rollout(ctx, wi, ago, true, 0, |r, _| {
            r.mem_limit = lower_mem(&r.mem_limit).to_string()
        });
        idx
    } else {
        (0..ctx.w.workloads[wi].pods.len()).collect()
    };
    let lim = ctx.w.workloads[wi].current().mem_limit.clone();
    let lim_mi = parse_mi(&lim);
    let n = pods.len();
    let waiting: Vec<usize> = pods
        .iter()
        .copied()
        .filter(|_| ctx.rng.chance(0.5))
        .collect();
    let running: Vec<usize> = pods
        .iter()
        .copied()
        .filter(|p| !waiting.contains(p))
        .collect();
    ctx.crashloop(wi, &waiting, "OOMKilled", 137, None, 0.25, true);
    ctx.crashloop(wi, &running, "OOMKilled", 137, None, 0.25, false);
    let stack = ctx.w.workloads[wi].stack;
    let proc_name = match stack {
        Stack::Java => "java",
        Stack::Go => &name,
        Stack::Node => "node",
        Stack::Python => "python3",
        Stack::Plain => "dotnet",
    }
    .to_string();
    for &p in &pods {
        let restarts = ctx.w.workloads[wi].pods[p].main.restarts;
        if let Some(u) = ctx.w.workloads[wi].pods[p].usage.as_mut() {
            u.1 = (lim_mi as f64 * 0.93) as u32;
        }
        backoff_event(
            ctx,
            wi,
            p,
            restarts.max(2),
            ctx.ago(0.2),
            ctx.rng.range(5, 60),
        );
        // The previous instance's log: normal work, then nothing (SIGKILL).
        let mut lines = ctx.startup(wi, 200.0);
        for k in 0..4 {
            let msg = match stack {
                Stack::Java => format!("Loaded {} entries into the local cache", 20_000 * (k + 1)),
                _ => format!(
                    "processed batch size={} duration_ms={}",
                    200 + k * 50,
                    40 + k * 9
                ),
            };
            lines.push(ctx.line(wi, 150.0 - k as f64 * 30.0, "INFO", "Worker", &msg, None));
        }
        ctx.log(wi, p, true, lines);
        if ctx.rng.chance(0.5)
            && let Some(node) = ctx.w.workloads[wi].pods[p].node
        {
            let nn = ctx.w.nodes[node].name.clone();
            let pid = ctx.rng.range(1000, 40_000);
            ctx.event("default", "Node", &nn, "Warning", "OOMKilling", format!("Memory cgroup out of memory: Killed process {pid} ({proc_name}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:0kB, UID:1000 pgtables:{}kB oom_score_adj:{}", lim_mi as i64 * 1900, lim_mi as i64 * 1010, ctx.rng.range(9000, 30_000), ctx.rng.range(900, 3000), ctx.rng.range(900, 999)), restarts, ctx.ago(0.1), ctx.rng.range(5, 90), "kernel-monitor");
        }
    }
    let rate = 0.2 + 0.1 * (waiting.len() as f64 / n.max(1) as f64);
    service_down(ctx, wi, rate, 3.0, reset);
    let first = pods.first().copied().unwrap_or(0);
    ctx.inc.kube_alerts.push(crashlooping(ctx, wi, first));
    blame(ctx, wi);
    let title = format!("{name} OOMKilled");
    let summary = if changed {
        format!(
            "{name}'s memory limit was lowered from {old_lim} to {lim} in its last rollout; its containers exceed it and are OOMKilled."
        )
    } else {
        format!(
            "{name}'s memory use grows until its containers hit the {lim} limit and are OOMKilled."
        )
    };
    told(ctx, title, summary)
}

fn crash_text(ctx: &mut Ctx, wi: usize) -> (i32, Vec<(String, String)>) {
    let stack = ctx.w.workloads[wi].stack;
    match stack {
        Stack::Go => {
            let v = ctx.rng.below(2);
            if v == 0 {
                (2, vec![
                    ("ERROR".into(), "panic: runtime error: invalid memory address or nil pointer dereference".into()),
                    ("ERROR".into(), format!("[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x{}]", ctx.rng.hex(7))),
                    ("ERROR".into(), "goroutine 1 [running]:\nmain.(*Router).loadRules(0xc0001a4000)\n\t/src/internal/router/rules.go:88 +0x1d4\nmain.main()\n\t/src/cmd/server/main.go:61 +0x2f1".into()),
                ])
            } else {
                (2, vec![("ERROR".into(), "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\ngithub.com/acme/svc/internal/cache.(*Warmup).Run(...)\n\t/src/internal/cache/warmup.go:142 +0x3a5".into())])
            }
        }
        Stack::Java => (1, vec![
            ("ERROR".into(), "Application run failed".into()),
            ("ERROR".into(), "java.lang.IllegalStateException: Failed to execute CommandLineRunner\n\tat org.springframework.boot.SpringApplication.callRunner(SpringApplication.java:790)\nCaused by: java.lang.NumberFormatException: For input string: \"\"\n\tat java.base/java.lang.Integer.parseInt(Integer.java:672)\n\tat com.acme.warmup.SegmentLoader.load(SegmentLoader.java:57)".into()),
        ]),
        Stack::Node => (1, vec![("ERROR".into(), "TypeError: Cannot read properties of undefined (reading 'split')\n    at parseRoutingTable (/app/dist/routing.js:42:18)\n    at bootstrap (/app/dist/main.js:17:5)".into())]),
        Stack::Python => (1, vec![("ERROR".into(), "Traceback (most recent call last):\n  File \"/app/main.py\", line 31, in <module>\n    load_segments()\n  File \"/app/segments.py\", line 77, in load_segments\n    weight = int(row[\"weight\"])\nValueError: invalid literal for int() with base 10: ''".into())]),
        Stack::Plain => (139, vec![("ERROR".into(), "Unhandled exception. System.AccessViolationException: Attempted to read or write protected memory. This is often an indication that other memory is corrupt.".into())]),
    }
}

/// Containers crash at start-up with a programming error.
pub fn crash_loop(ctx: &mut Ctx) -> Option<()> {
    let called = ctx.rng.chance(0.5);
    let wi = app(ctx, called)?;
    let name = ctx.w.workloads[wi].name.clone();
    let pods: Vec<usize> = (0..ctx.w.workloads[wi].pods.len()).collect();
    let (code, text) = crash_text(ctx, wi);
    ctx.crashloop(wi, &pods, "Error", code, None, 0.3, true);
    for &p in &pods {
        let r = ctx.w.workloads[wi].pods[p].main.restarts;
        let mut lines = ctx.startup(wi, 40.0);
        for (lvl, t) in &text {
            lines.push(ctx.line(wi, 38.0, lvl, "main", t, None));
        }
        ctx.log(wi, p, true, lines);
        backoff_event(ctx, wi, p, r.max(2), ctx.ago(0.1), ctx.rng.range(5, 60));
    }
    service_down(ctx, wi, 0.9, 1.0, refused);
    ctx.inc.kube_alerts.push(crashlooping(ctx, wi, 0));
    blame(ctx, wi);
    let title = format!("{name} crash-looping");
    let summary = format!(
        "{name}'s containers crash at start-up (exit code {code}) and are in CrashLoopBackOff."
    );
    told(ctx, title, summary)
}

/// A rollout references configuration that does not exist.
pub fn missing_config(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let stack = ctx.w.workloads[wi].stack;
    let ago = ctx.age() + ctx.rng.range(30, 240);
    let variant = ctx.rng.below(3);
    let key = ctx
        .rng
        .pick(&[
            "PAYMENT_API_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SIGNING_KEY",
            "UPSTREAM_TOKEN",
            "FEATURE_FLAGS_SDK_KEY",
        ])
        .to_string();
    let obj = format!(
        "{name}-{}",
        ctx.rng.pick(&["config", "secrets", "env", "settings"])
    );
    let replicas = ctx.w.workloads[wi].replicas as usize;
    let new_n = if replicas > 1 {
        ctx.rng.range(1, 2) as usize
    } else {
        1
    };
    let (_, idx) = rollout(ctx, wi, ago, false, new_n, |r, _| {
        if variant == 0 {
            r.env.push(
                json!({"name": key, "valueFrom": {"secretKeyRef": {"name": obj, "key": key}}}),
            );
        } else if variant == 1 {
            r.volumes.push((
                json!({"name": "app-config", "configMap": {"name": obj}}),
                json!({"name": "app-config", "mountPath": "/etc/app", "readOnly": true}),
            ));
        } else {
            r.env.retain(|_| false);
        }
    });
    let mut alert_pod = idx[0];
    for &p in &idx {
        let pn = ctx.w.workloads[wi].pods[p].name.clone();
        let first = ctx.ago(0.0);
        match variant {
            0 => {
                let msg = if ctx.rng.chance(0.5) {
                    format!("secret \"{obj}\" not found")
                } else {
                    format!("couldn't find key {key} in Secret {ns}/{obj}")
                };
                let pod = &mut ctx.w.workloads[wi].pods[p];
                pod.main = Default::default();
                pod.main.state = Some(
                    json!({"waiting": {"reason": "CreateContainerConfigError", "message": msg}}),
                );
                pod.usage = None;
                let n = (ctx.age() / 10).max(3) as u32;
                ctx.event(
                    &ns,
                    "Pod",
                    &pn,
                    "Warning",
                    "Failed",
                    format!("Error: {msg}"),
                    n,
                    first,
                    ctx.rng.range(3, 30),
                    "kubelet",
                );
            }
            1 => {
                let pod = &mut ctx.w.workloads[wi].pods[p];
                pod.main = Default::default();
                pod.main.state = Some(json!({"waiting": {"reason": "ContainerCreating"}}));
                pod.usage = None;
                pod.phase = "Pending".into();
                let n = (ctx.age() / 130).max(2) as u32;
                ctx.event(&ns, "Pod", &pn, "Warning", "FailedMount", format!("MountVolume.SetUp failed for volume \"app-config\" : configmap \"{obj}\" not found"), n, first, ctx.rng.range(10, 120), "kubelet");
            }
            _ => {
                ctx.crashloop(wi, &[p], "Error", 1, None, 0.3, true);
                let r = ctx.w.workloads[wi].pods[p].main.restarts;
                let msg = match stack {
                    Stack::Java => format!(
                        "\n\n***************************\nAPPLICATION FAILED TO START\n***************************\n\nDescription:\n\nFailed to bind properties under 'app.upstream' to com.acme.config.UpstreamProperties:\n\n    Reason: Could not resolve placeholder '{key}' in value \"${{{key}}}\"\n\nAction:\n\nUpdate your application's configuration\n"
                    ),
                    Stack::Go => format!("config: required key {key} missing value"),
                    Stack::Node => format!(
                        "Error: Missing required environment variable: {key}\n    at requireEnv (/app/dist/config.js:9:11)"
                    ),
                    Stack::Python => format!(
                        "Traceback (most recent call last):\n  File \"/app/settings.py\", line 12, in <module>\n    {} = os.environ[\"{key}\"]\n  File \"<frozen os>\", line 714, in __getitem__\nKeyError: '{key}'",
                        key.to_lowercase()
                    ),
                    Stack::Plain => format!(
                        "Unhandled exception. System.InvalidOperationException: The configuration value '{key}' is required but was not provided."
                    ),
                };
                let mut lines = ctx.startup(wi, 30.0);
                lines.push(ctx.line(
                    wi,
                    29.0,
                    if stack == Stack::Go { "FATAL" } else { "ERROR" },
                    "config",
                    &msg,
                    None,
                ));
                ctx.log(wi, p, true, lines);
                backoff_event(ctx, wi, p, r.max(2), first, ctx.rng.range(3, 60));
                alert_pod = p;
            }
        }
    }
    let alert = match variant {
        0 => container_waiting(ctx, wi, alert_pod, "CreateContainerConfigError"),
        1 => pod_not_ready(ctx, wi, alert_pod),
        _ => crashlooping(ctx, wi, alert_pod),
    };
    ctx.inc.kube_alerts.push(alert);
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    blame(ctx, wi);
    if variant < 2 {
        ctx.inc.aliases.push(obj.clone());
    }
    let title = format!("{name} rollout stuck: configuration missing");
    let summary = match variant {
        0 => format!(
            "{name}'s new revision reads {key} from Secret {obj}, which does not hold it; its new pods cannot start."
        ),
        1 => format!(
            "{name}'s new revision mounts ConfigMap {obj}, which does not exist; its new pods stay in ContainerCreating."
        ),
        _ => format!(
            "{name}'s new revision lacks the {key} setting; its containers exit at start-up."
        ),
    };
    told(ctx, title, summary)
}

/// A rollout points at an image that cannot be pulled.
pub fn image_pull_error(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let repo = ctx.w.workloads[wi].repo.clone();
    let ago = ctx.age() + ctx.rng.range(30, 300);
    let auth = ctx.rng.chance(0.35);
    let (_, idx) = rollout(ctx, wi, ago, false, 1, |r, rng| {
        if rng.chance(0.5) {
            r.version = format!("{}-rc{}", r.version, rng.range(1, 4));
        }
    });
    let version = ctx.w.workloads[wi].current().version.clone();
    let image = format!("{repo}:{version}");
    let registry = repo.split('/').next().unwrap_or("registry").to_string();
    let detail = if auth {
        format!(
            "rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://{registry}/oauth2/token?scope=repository%3A{}%3Apull&service={registry}: 401 Unauthorized",
            repo.split_once('/').map(|x| x.1).unwrap_or("")
        )
    } else {
        format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
        )
    };
    for &p in &idx {
        let pn = ctx.w.workloads[wi].pods[p].name.clone();
        let back = ctx.rng.chance(0.7);
        let pod = &mut ctx.w.workloads[wi].pods[p];
        pod.main = Default::default();
        pod.phase = "Pending".into();
        pod.usage = None;
        pod.main.state = Some(if back {
            json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}})
        } else {
            json!({"waiting": {"reason": "ErrImagePull", "message": detail.clone()}})
        });
        let first = ctx.ago(0.0);
        let n = (ctx.age() / 300).max(2) as u32;
        // The kubelet's events for a pull that keeps failing, in its order:
        // (type, reason, message, count, range of seconds since the last).
        #[rustfmt::skip]
        let events = [
            ("Normal", "Pulling", format!("Pulling image \"{image}\""), n, (30, 200)),
            ("Warning", "Failed", format!("Failed to pull image \"{image}\": {detail}"), n, (30, 200)),
            ("Warning", "Failed", "Error: ErrImagePull".to_string(), n, (30, 200)),
            ("Normal", "BackOff", format!("Back-off pulling image \"{image}\""), n * 6, (3, 30)),
            ("Warning", "Failed", "Error: ImagePullBackOff".to_string(), n * 6, (3, 30)),
        ];
        for (ty, reason, message, count, (lo, hi)) in events {
            let last = ctx.rng.range(lo, hi);
            ctx.event(
                &ns, "Pod", &pn, ty, reason, message, count, first, last, "kubelet",
            );
        }
    }
    let p0 = idx[0];
    let reason = if ctx.rng.chance(0.5) {
        "ImagePullBackOff"
    } else {
        "ErrImagePull"
    };
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    ctx.inc
        .kube_alerts
        .push(container_waiting(ctx, wi, p0, reason));
    blame(ctx, wi);
    let title = format!("{name}: new pods stuck pulling their image");
    let summary = if auth {
        format!(
            "{name}'s new pods cannot pull {image}: the registry rejects the node's credentials (401)."
        )
    } else {
        format!(
            "{name}'s new revision points at {image}, a tag that does not exist in the registry."
        )
    };
    told(ctx, title, summary)
}

/// Probes fail, so pods are not ready or are restarted.
pub fn probe_failing(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, true)?;
    let port = ctx.w.workloads[wi].port;
    let changed = ctx.rng.chance(0.6);
    let wrong_port = port + 1;
    let pods: Vec<usize> = if changed {
        let ago = ctx.age() + ctx.rng.range(30, 300);
        let (_, idx) = rollout(ctx, wi, ago, true, 0, |r, rng| {
            if rng.chance(0.5) {
                r.probe = ("/health/ready".into(), r.probe.1);
            } else {
                r.probe = (r.probe.0.clone(), r.probe.1 + 1);
            }
        });
        idx
    } else {
        (0..ctx.w.workloads[wi].pods.len()).collect()
    };
    let (path, pport) = ctx.w.workloads[wi].current().probe.clone();
    let liveness = ctx.rng.chance(0.5);
    for &p in &pods {
        let (pn, ip) = (
            ctx.w.workloads[wi].pods[p].name.clone(),
            ctx.w.workloads[wi].pods[p].ip.clone(),
        );
        let msg = if !changed {
            format!(
                "Get \"http://{ip}:{pport}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )
        } else if pport == wrong_port {
            format!(
                "Get \"http://{ip}:{pport}{path}\": dial tcp {ip}:{pport}: connect: connection refused"
            )
        } else {
            "HTTP probe failed with statuscode: 404".to_string()
        };
        let n = (ctx.age() / 10).max(3) as u32;
        let kind = if liveness { "Liveness" } else { "Readiness" };
        ctx.event(
            &ns,
            "Pod",
            &pn,
            "Warning",
            "Unhealthy",
            format!("{kind} probe failed: {msg}"),
            n,
            ctx.ago(0.0),
            ctx.rng.range(2, 20),
            "kubelet",
        );
        if liveness {
            ctx.crashloop(wi, &[p], "Error", 137, None, 0.05, ctx.rng.chance(0.4));
            let r = ctx.w.workloads[wi].pods[p].main.restarts;
            ctx.event(
                &ns,
                "Pod",
                &pn,
                "Normal",
                "Killing",
                format!("Container {name} failed liveness probe, will be restarted"),
                r.max(1),
                ctx.ago(0.05),
                ctx.rng.range(20, 200),
                "kubelet",
            );
        } else {
            ctx.w.workloads[wi].pods[p].main.ready = false;
        }
    }
    service_down(ctx, wi, 0.85, 1.0, refused);
    if !changed {
        // Probes time out because the service is slow to answer.
        ctx.effect(Effect::Slow { wi, ms: 1500.0 });
    }
    let a = if liveness {
        crashlooping(ctx, wi, pods[0])
    } else {
        pod_not_ready(ctx, wi, pods[0])
    };
    ctx.inc.kube_alerts.push(a);
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    blame(ctx, wi);
    let title = format!("{name} pods failing probes");
    let summary = if changed {
        format!(
            "{name}'s last rollout changed its {} probe to {path} on port {pport}, which the app does not serve; the probe fails on every pod.",
            if liveness { "liveness" } else { "readiness" }
        )
    } else {
        format!(
            "{name} answers its health endpoint too slowly; the {} probe times out on every pod.",
            if liveness { "liveness" } else { "readiness" }
        )
    };
    told(ctx, title, summary)
}

/// A new init container never finishes.
pub fn init_container_stuck(ctx: &mut Ctx) -> Option<()> {
    let (wi, name, ns) = named_app(ctx, false)?;
    let ago = ctx.age() + ctx.rng.range(30, 200);
    let target = ctx.w.workloads[wi]
        .stores
        .first()
        .map(|(s, _)| ctx.w.workloads[*s].name.clone())
        .unwrap_or_else(|| "config-server".into());
    let typo = format!("{target}-primary");
    let migrate = ctx.rng.chance(0.5);
    let (init_name, cmd) = if migrate {
        ("db-migrate".to_string(), json!(["/app/bin/migrate", "up"]))
    } else {
        (
            "wait-for-deps".to_string(),
            json!([
                "sh",
                "-c",
                format!("until nc -z {typo} 5432; do echo waiting for {typo}; sleep 2; done")
            ]),
        )
    };
    let init = json!({"name": init_name, "image": if migrate { format!("{}:{}", ctx.w.workloads[wi].repo, "migrations") } else { "busybox:1.36".into() }, "command": cmd});
    let replicas = ctx.w.workloads[wi].replicas as usize;
    let (_, idx) = rollout(ctx, wi, ago, false, replicas.div_ceil(4), move |r, _| {
        r.init = Some(init)
    });
    let now = ctx.w.now;
    for &p in &idx {
        let pn = ctx.w.workloads[wi].pods[p].name.clone();
        let started = ctx.w.workloads[wi].pods[p].age - 3;
        {
            let pod = &mut ctx.w.workloads[wi].pods[p];
            pod.phase = "Pending".into();
            pod.main = Default::default();
            pod.main.state = Some(json!({"waiting": {"reason": "PodInitializing"}}));
            pod.usage = Some((2, 12));
            pod.init_status = Some(
                json!({"name": init_name, "ready": false, "restartCount": 0, "started": true,
                "state": {"running": {"startedAt": iso(now - started)}}, "image": "busybox:1.36"}),
            );
        }
        let mut lines = Vec::new();
        let n = 30;
        for k in 0..n {
            let t = (started as f64) * (1.0 - k as f64 / n as f64);
            let ns_t = (now as f64 - t) as i64 * 1_000_000_000;
            let line = if migrate {
                if k == 0 {
                    "Running Changeset: db/changelog/2024-11-add-index.yaml::42::platform"
                        .to_string()
                } else {
                    format!(
                        "Waiting for changelog lock.... (locked by {}-{} since {})",
                        name,
                        ctx.rng.suffix(5),
                        iso(now - started - 3600 * 26)
                    )
                }
            } else if k % 3 == 0 {
                format!("nc: bad address '{typo}'")
            } else {
                format!("waiting for {typo}")
            };
            lines.push((ns_t, line));
        }
        ctx.inc.logs.push(super::super::incident::PodLog {
            ns: ns.clone(),
            pod: pn.clone(),
            container: init_name.clone(),
            previous: false,
            lines,
        });
        ctx.event(
            &ns,
            "Pod",
            &pn,
            "Normal",
            "Started",
            format!("Started container {init_name}"),
            1,
            started,
            started,
            "kubelet",
        );
    }
    ctx.inc.kube_alerts.push(replicas_mismatch(ctx, wi));
    ctx.inc.kube_alerts.push(pod_not_ready(ctx, wi, idx[0]));
    blame(ctx, wi);
    let title = format!("{name} pods stuck initializing");
    let summary = if migrate {
        format!(
            "{name}'s new init container {init_name} waits forever for a database changelog lock left by an old run; new pods stay in Init."
        )
    } else {
        format!(
            "{name}'s new init container waits for {typo}, a host that does not exist; new pods stay in Init."
        )
    };
    told(ctx, title, summary)
}
