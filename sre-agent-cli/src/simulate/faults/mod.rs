//! The fault catalogue: one builder per failure kind. Each builder changes
//! the world (revisions, pod states, objects) and records in the
//! [`Incident`](super::incident::Incident) what Kubernetes, the services' telemetry and MongoDB would
//! show. Builders model what happens, never the analysis: no kind name or
//! verdict is written into the data.

use serde_json::json;

use super::incident::{Ctx, Effect, KubeAlert, Symptom};
use super::rng::Rng;
use super::surface::{Failure, iso};
use super::world::{Controller, Revision, Role, World, bump};

mod app;
mod capacity;
mod data;
mod net;
mod pods;
mod sched;

/// A fault builder: `None` when the world lacks what it needs.
pub type Build = fn(&mut Ctx) -> Option<()>;

/// Every fault: (kind, category, builder), one row each (kept a table:
/// rustfmt would wrap the long rows into blocks of the same shape).
#[rustfmt::skip]
pub const CATALOGUE: &[(&str, &str, Build)] = &[
    ("oom_killed",                "resource",       pods::oom_killed),
    ("hpa_maxed",                 "resource",       capacity::hpa_maxed),
    ("noisy_neighbor",            "resource",       capacity::noisy_neighbor),
    ("cpu_throttling",            "resource",       capacity::cpu_throttling),
    ("quota_exceeded",            "resource",       sched::quota_exceeded),
    ("hpa_misconfigured",         "resource",       capacity::hpa_misconfigured),
    ("bad_deploy",                "application",    app::bad_deploy),
    ("missing_config",            "application",    pods::missing_config),
    ("crash_loop",                "application",    pods::crash_loop),
    ("new_error",                 "application",    app::new_error),
    ("latency_regression",        "application",    app::latency_regression),
    ("error_surge",               "application",    app::error_surge),
    ("probe_failing",             "application",    pods::probe_failing),
    ("job_failed",                "application",    capacity::job_failed),
    ("init_container_stuck",      "application",    pods::init_container_stuck),
    ("consumer_lag",              "application",    app::consumer_lag),
    ("missing_index",             "database",       data::missing_index),
    ("connection_pool_exhausted", "database",       app::connection_pool_exhausted),
    ("replication_lag",           "database",       data::replication_lag),
    ("lock_contention",           "database",       data::lock_contention),
    ("dependency_unreachable",    "network",        net::dependency_unreachable),
    ("certificate_expired",       "network",        net::certificate_expired),
    ("credentials_expired",       "network",        net::credentials_expired),
    ("network_policy_blocked",    "network",        net::network_policy_blocked),
    ("rate_limited",              "network",        net::rate_limited),
    ("authorization_denied",      "network",        net::authorization_denied),
    ("node_failure",              "infrastructure", sched::node_failure),
    ("image_pull_error",          "infrastructure", pods::image_pull_error),
    ("unschedulable",             "infrastructure", sched::unschedulable),
    ("evicted",                   "infrastructure", sched::evicted),
    ("pvc_unbound",               "infrastructure", sched::pvc_unbound),
    ("volume_full",               "infrastructure", data::volume_full),
];

/// [`app`] with the workload's name and namespace.
pub fn named_app(ctx: &mut Ctx, called: bool) -> Option<(usize, String, String)> {
    let wi = app(ctx, called)?;
    let (name, ns) = ctx.names(wi);
    Some((wi, name, ns))
}

/// A random application Deployment (API, gateway or worker), preferring
/// ones with callers when `called`.
pub fn app(ctx: &mut Ctx, called: bool) -> Option<usize> {
    let w = &ctx.w;
    let mut cands: Vec<usize> = (0..w.workloads.len())
        .filter(|&i| {
            let x = &w.workloads[i];
            x.controller == Controller::Deployment
                && matches!(x.role, Role::Api | Role::Gateway | Role::Worker)
        })
        .collect();
    if called {
        let with: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| !w.callers_of(i).is_empty())
            .collect();
        if !with.is_empty() {
            cands = with;
        }
    }
    if cands.is_empty() {
        return None;
    }
    Some(cands[ctx.rng.below(cands.len())])
}

/// An HTTP caller of `wi`, if any.
pub fn http_caller(ctx: &mut Ctx, wi: usize) -> Option<usize> {
    let c: Vec<usize> = ctx
        .w
        .callers_of(wi)
        .into_iter()
        .filter(|&c| ctx.w.workloads[c].is_http())
        .collect();
    if c.is_empty() {
        None
    } else {
        Some(c[ctx.rng.below(c.len())])
    }
}

/// The standard aliases of a Deployment-like workload: its kind/name and
/// its pods' names.
pub fn aliases(w: &World, wi: usize) -> Vec<String> {
    let x = &w.workloads[wi];
    let kind = match x.controller {
        Controller::Deployment => "deployment",
        Controller::StatefulSet => "statefulset",
        Controller::DaemonSet => "daemonset",
        Controller::CronJob => "cronjob",
    };
    let mut a = vec![format!("{kind}/{}", x.name), format!("{}/{}", x.ns, x.name)];
    for p in x.pods.iter().take(6) {
        a.push(p.name.clone());
    }
    a
}

/// Names workload `wi` as what failed: its name is the component, its
/// standard aliases the other names, and it is the culprit. Every builder
/// whose fault sits on one workload ends this way (extra aliases are pushed
/// after).
pub fn blame(ctx: &mut Ctx, wi: usize) {
    ctx.inc.component = ctx.w.workloads[wi].name.clone();
    ctx.inc.aliases = aliases(ctx.w, wi);
    ctx.inc.culprit = Some(wi);
}

/// Ends a builder with what the incident is called and what happened, in
/// words (the scenario's title and description).
pub fn told(ctx: &mut Ctx, title: String, summary: String) -> Option<()> {
    ctx.inc.title = title;
    ctx.inc.summary = summary;
    Some(())
}

/// A failure of a call to a workload, made from the host name the client
/// used, the address it reached and the port (`Failure::Refused`, `Reset`…
/// as a function).
pub type Unreachable = fn(String, String, u16) -> Failure;

/// Connection refused: nothing listens behind the address.
pub fn refused(host: String, ip: String, port: u16) -> Failure {
    Failure::Refused { host, ip, port }
}

/// Connection reset: the process behind the address died mid-request.
pub fn reset(host: String, ip: String, port: u16) -> Failure {
    Failure::Reset { host, ip, port }
}

/// Calls to `wi` at `ip`:`port` fail: `rate` of them at full intensity,
/// each after `ms`, with the failure `fail` makes of that address.
fn calls_fail(
    ctx: &mut Ctx,
    wi: usize,
    ip: String,
    port: u16,
    rate: f64,
    ms: f64,
    fail: Unreachable,
) {
    let host = ctx.w.workloads[wi].name.clone();
    ctx.effect(Effect::Call {
        caller: None,
        callee: wi,
        rate,
        ms,
        failure: fail(host, ip, port),
    });
}

/// Calls from each of `callers` to `callee` fail: `rate` of them at full
/// intensity, each after `ms`, with `failure()`.
pub fn calls_from_fail(
    ctx: &mut Ctx,
    callers: &[usize],
    callee: usize,
    rate: f64,
    ms: f64,
    failure: impl Fn() -> Failure,
) {
    for &c in callers {
        ctx.effect(Effect::Call {
            caller: Some(c),
            callee,
            rate,
            ms,
            failure: failure(),
        });
    }
}

/// `wi`'s pods are down or dying: calls to its Service (cluster IP, port
/// 80) fail as `calls_fail` says, and one of its HTTP callers, if any, is
/// where the errors show.
pub fn service_down(ctx: &mut Ctx, wi: usize, rate: f64, ms: f64, fail: Unreachable) {
    let ip = ctx.w.workloads[wi].cluster_ip.clone().unwrap_or_default();
    calls_fail(ctx, wi, ip, 80, rate, ms, fail);
    let caller = http_caller(ctx, wi);
    ctx.inc.symptom = caller.map(|c| (c, Symptom::Errors));
}

/// Store `si`'s pod is down: connections to `ip` on its port are refused
/// (`rate` of them at full intensity, after `ms`), and its first user is
/// where the errors show.
pub fn store_down(ctx: &mut Ctx, si: usize, ip: String, rate: f64, ms: f64) {
    let port = ctx.w.workloads[si].port;
    calls_fail(ctx, si, ip, port, rate, ms, refused);
    let users = ctx.w.callers_of(si);
    ctx.inc.symptom = users.first().map(|&u| (u, Symptom::Errors));
}

/// The kubelet's BackOff event on pod `pod` of `wi`, whose container keeps
/// failing: `count` times, first `first` and last `last` seconds ago.
pub fn backoff_event(ctx: &mut Ctx, wi: usize, pod: usize, count: u32, first: i64, last: i64) {
    let x = &ctx.w.workloads[wi];
    let (name, ns, pn) = (x.name.clone(), x.ns.clone(), x.pods[pod].name.clone());
    ctx.event(
        &ns,
        "Pod",
        &pn,
        "Warning",
        "BackOff",
        format!(
            "Back-off restarting failed container {name} in pod {pn}_{ns}({})",
            pod_uid(&pn)
        ),
        count,
        first,
        last,
        "kubelet",
    );
}

/// The Job controller's event: Job `job` in `ns` created pod `pod`, `ago`
/// seconds ago.
pub fn job_created_pod(ctx: &mut Ctx, ns: &str, job: &str, pod: &str, ago: i64) {
    let message = format!("Created pod: {pod}");
    ctx.event(
        ns,
        "Job",
        job,
        "Normal",
        "SuccessfulCreate",
        message,
        1,
        ago,
        ago,
        "job-controller",
    );
}

/// The Job controller's event: Job `job` in `ns` gave up, `ago` seconds ago.
pub fn job_backoff_limit(ctx: &mut Ctx, ns: &str, job: &str, ago: i64) {
    let message = "Job has reached the specified backoff limit".to_string();
    ctx.event(
        ns,
        "Job",
        job,
        "Warning",
        "BackoffLimitExceeded",
        message,
        1,
        ago,
        ago,
        "job-controller",
    );
}

/// The scheduler's event on pod `pod` of `wi` it cannot place (`msg` says
/// why): `count` times, first `first` and last `last` seconds ago.
pub fn failed_scheduling(
    ctx: &mut Ctx,
    wi: usize,
    pod: usize,
    msg: String,
    count: u32,
    first: i64,
    last: i64,
) {
    let x = &ctx.w.workloads[wi];
    let (ns, pn) = (x.ns.clone(), x.pods[pod].name.clone());
    ctx.event(
        &ns,
        "Pod",
        &pn,
        "Warning",
        "FailedScheduling",
        msg,
        count,
        first,
        last,
        "default-scheduler",
    );
}

/// The Deployment controller's event: it scaled a replica set of Deployment
/// `name` in `ns` (`message` says which and how), `ago` seconds ago.
pub fn scaling_event(ctx: &mut Ctx, ns: &str, name: &str, message: String, ago: i64) {
    let (ty, reason, source) = ("Normal", "ScalingReplicaSet", "deployment-controller");
    ctx.event(
        ns,
        "Deployment",
        name,
        ty,
        reason,
        message,
        1,
        ago,
        ago,
        source,
    );
}

/// Rolls out a new revision of `wi` `ago` seconds before now, changed by
/// `change`. With `complete`, every pod is replaced by a new one; otherwise
/// `new_pods` new pods are added next to the old ones (a stuck rollout).
/// Returns the new revision's index and the indices of its pods.
pub fn rollout(
    ctx: &mut Ctx,
    wi: usize,
    ago: i64,
    complete: bool,
    new_pods: usize,
    change: impl FnOnce(&mut Revision, &Rng),
) -> (usize, Vec<usize>) {
    let (mut rev, old_hash, name) = {
        let x = &ctx.w.workloads[wi];
        (
            x.current().clone(),
            x.current().hash.clone(),
            x.name.clone(),
        )
    };
    rev.version = bump(&rev.version, ctx.rng);
    rev.age = ago;
    rev.hash = ctx.rng.suffix(*ctx.rng.pick(&[9usize, 10]));
    rev.cause = if ctx.rng.chance(0.6) {
        Some(format!(
            "helm upgrade {name} --set image.tag={}",
            rev.version
        ))
    } else {
        None
    };
    change(&mut rev, ctx.rng);
    let new_hash = rev.hash.clone();
    ctx.w.workloads[wi].revisions.push(rev);
    let ri = ctx.w.workloads[wi].revisions.len() - 1;
    let replicas = ctx.w.workloads[wi].replicas as usize;
    let n = if complete { replicas } else { new_pods.max(1) };
    if complete {
        let old: Vec<_> = ctx.w.workloads[wi].pods.drain(..).collect();
        for p in old {
            ctx.w.workloads[wi].past.push((p, ago - 40));
        }
    }
    let mut idx = Vec::new();
    for k in 0..n {
        let pname = ctx.w.pod_name(ctx.rng, wi, ri, k);
        let p = ctx
            .w
            .new_pod(ctx.rng, wi, pname, (ago - 20 - k as i64 * 25).max(30), ri);
        ctx.w.workloads[wi].pods.push(p);
        idx.push(ctx.w.workloads[wi].pods.len() - 1);
    }
    let ns = ctx.w.workloads[wi].ns.clone();
    let from = if complete { " from 0" } else { "" };
    let up = format!("Scaled up replica set {name}-{new_hash} to {n}{from}");
    scaling_event(ctx, &ns, &name, up, ago);
    if complete {
        let down = format!("Scaled down replica set {name}-{old_hash} to 0 from {replicas}");
        scaling_event(ctx, &ns, &name, down, ago - 40);
    }
    (ri, idx)
}

/// A kube-prometheus-stack warning `name` on workload `wi` with `labels`,
/// firing since `delay` seconds after the onset (for a minute at least):
/// what the standard alerts below share.
fn warning(
    ctx: &Ctx,
    wi: usize,
    name: &'static str,
    labels: Vec<(String, String)>,
    delay: i64,
) -> KubeAlert {
    let x = &ctx.w.workloads[wi];
    KubeAlert {
        name,
        ns: x.ns.clone(),
        labels,
        subject: x.name.clone(),
        severity: "warning",
        age: (ctx.age() - delay).max(60),
    }
}

/// A warning `name` on the container of one pod of `wi` in state `reason`.
fn container_alert(
    ctx: &Ctx,
    wi: usize,
    pod: usize,
    name: &'static str,
    reason: &str,
    delay: i64,
) -> KubeAlert {
    let x = &ctx.w.workloads[wi];
    let labels = vec![
        ("pod".into(), x.pods[pod].name.clone()),
        ("container".into(), x.name.clone()),
        ("reason".into(), reason.into()),
    ];
    warning(ctx, wi, name, labels, delay)
}

/// Standard kube-prometheus-stack alert on a Deployment's replicas.
pub fn replicas_mismatch(ctx: &Ctx, wi: usize) -> KubeAlert {
    let labels = vec![("deployment".into(), ctx.w.workloads[wi].name.clone())];
    warning(ctx, wi, "KubeDeploymentReplicasMismatch", labels, 900)
}

/// KubePodCrashLooping on one pod of `wi`.
pub fn crashlooping(ctx: &Ctx, wi: usize, pod: usize) -> KubeAlert {
    container_alert(ctx, wi, pod, "KubePodCrashLooping", "CrashLoopBackOff", 300)
}

/// KubePodNotReady on one pod of `wi`.
pub fn pod_not_ready(ctx: &Ctx, wi: usize, pod: usize) -> KubeAlert {
    let labels = vec![("pod".into(), ctx.w.workloads[wi].pods[pod].name.clone())];
    warning(ctx, wi, "KubePodNotReady", labels, 900)
}

/// KubeContainerWaiting on one pod of `wi`.
pub fn container_waiting(ctx: &Ctx, wi: usize, pod: usize, reason: &str) -> KubeAlert {
    container_alert(ctx, wi, pod, "KubeContainerWaiting", reason, 3600)
}

/// A pending pod's scheduling failure.
pub fn pending(ctx: &mut Ctx, wi: usize, pod: usize, message: &str) {
    let now = ctx.w.now;
    let p = &mut ctx.w.workloads[wi].pods[pod];
    p.node = None;
    p.phase = "Pending".into();
    p.main = Default::default();
    p.usage = None;
    p.unschedulable = Some(message.to_string());
    let _ = now;
}

/// A uid-ish string for event messages.
pub fn pod_uid(name: &str) -> String {
    super::incident::uuid_like(name)
}

/// The date format of cert-manager messages.
pub fn http_date(s: i64) -> String {
    let ts = jiff::Timestamp::from_second(s).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%a, %d %b %Y %H:%M:%S UTC").to_string()
}

/// A JSON Certificate (cert-manager) object.
pub fn certificate(
    ns: &str,
    name: &str,
    dns: &str,
    not_after: i64,
    ready: bool,
    message: &str,
    now: i64,
) -> serde_json::Value {
    json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": iso(now - 400 * 86_400)},
        "spec": {"secretName": name, "dnsNames": [dns], "issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer"}, "duration": "2160h0m0s", "renewBefore": "360h0m0s"},
        "status": {
            "notBefore": iso(not_after - 90 * 86_400), "notAfter": iso(not_after), "renewalTime": iso(not_after - 15 * 86_400),
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "Ready" } else { "Expired" }, "message": message, "lastTransitionTime": iso(not_after.min(now))}]
        }
    })
}
