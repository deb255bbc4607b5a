//! Reading `workload_health`'s findings.
//!
//! The health tool has already judged each object (a crash loop, an OOM
//! kill, a failed Job, a CronJob that stopped producing, a pending claim);
//! this module maps each finding's reason to the engine's kinds with a
//! weight, names the component (a pod's owner, a Job's CronJob), and puts
//! the finding on the timeline.

use super::collect::EvidencePack;
use super::parse;
use super::rules::{CONFIG_CUES, Ctx, has, owner_of};
use super::world::World;

/// The kind a finding's reason names, and how much it weighs (its
/// details refine a few: an OOM seen in a crash loop, a config error).
fn kind_of_reason(reason: &str, details: &str) -> Option<(&'static str, f64)> {
    let d = details.to_lowercase();
    Some(match reason {
        "OOMKilled" => ("oom_killed", 5.0),
        "CrashLoopBackOff" | "RunContainerError" | "HighRestarts" | "PodFailed" => {
            if d.contains("oomkilled") {
                ("oom_killed", 4.0)
            } else if has(&d, CONFIG_CUES) {
                ("missing_config", 5.0)
            } else if d.contains("evicted") {
                ("evicted", 1.0)
            } else {
                ("crash_loop", 3.0)
            }
        }
        "CreateContainerConfigError" | "CreateContainerError" => ("missing_config", 5.0),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
            ("image_pull_error", 5.0)
        }
        "NodeNotReady" | "NotReady" | "NetworkUnavailable" => ("node_failure", 5.0),
        "DiskPressure" | "PIDPressure" => ("node_failure", 4.5),
        "MemoryPressure" => ("node_failure", 2.0),
        "HPAAtMax" | "ScalingLimited" => ("hpa_maxed", 3.0),
        // A selector that matches no pod at all is the fault itself (a
        // label changed under it, its workload gone); no ready pod among
        // those it selects is how their own failure shows.
        "NoReadyEndpoints" if d.contains("matches 0 pods") => ("dependency_unreachable", 5.0),
        "NoReadyEndpoints" => ("dependency_unreachable", 3.0),
        // The health tool reports a pending pod's scheduler condition as
        // `Unschedulable`; events call it `FailedScheduling`.
        "FailedScheduling" | "Unschedulable" => {
            if d.contains("persistentvolumeclaim") {
                ("pvc_unbound", 4.0)
            } else {
                ("unschedulable", 4.0)
            }
        }
        // `Init:0/1`: scheduled, but an init container has not finished.
        "Pending" if details.contains("Init:") && !d.contains("backoff") => {
            ("init_container_stuck", 2.0)
        }
        "Pending" => ("unschedulable", 1.5),
        "PVCPending" => ("pvc_unbound", 4.0),
        "ProgressDeadlineExceeded" | "UnavailableReplicas" | "UnavailablePods" => {
            ("rollout_stuck", 1.0)
        }
        "ProbeFailing" => ("probe_failing", 2.5),
        // A failed Job is a hard fact, not a hint.
        "JobFailed" => ("job_failed", 4.5),
        // A scheduled job whose run hangs, or that has not succeeded for
        // several periods: the work it produces stopped.
        "CronJobStuck" | "CronJobNotSucceeding" => ("job_failed", 4.0),
        _ => return None,
    })
}

/// The workload a finding is about: a pod's owner, a Job run's CronJob.
fn finding_owner(f: &parse::HealthFinding) -> String {
    if f.kind == "Pod" {
        // A pod finding names its owner in the details.
        f.details
            .iter()
            .find_map(|d| d.strip_prefix("owner "))
            .and_then(|o| o.split('/').nth(1))
            .map_or_else(|| owner_of(&f.name), str::to_string)
    } else if f.kind == "Job" {
        // `nightly-export-29217384` is a run of CronJob `nightly-export`.
        super::world::job_owner(&f.name)
    } else {
        f.name.clone()
    }
}

/// Every finding of every `workload_health` answer, as signals and
/// timeline events.
///
/// The cluster-wide answer, read beside the alert's namespace to see what
/// else is down, links namespaces (`leads::linked_namespaces`), whose own
/// answers then count. It counts itself, whole, only when the alert or a
/// log says data stopped arriving: the scheduled work that makes the data
/// rarely lives beside its readers. Otherwise it counts for a workload the
/// alert names by every word of its name, outside the namespaces read on
/// their own.
pub(super) fn read(ctx: &mut Ctx<'_>, pack: &EvidencePack, world: &World) {
    // A log that says its input is stale counts as the alert saying so.
    let stale = ctx.scope.staleness || super::producers::inputs_stale(&pack.outputs, world);
    // The namespaces read on their own: their findings count from there.
    let read_alone: Vec<&str> = pack
        .of("workload_health")
        .filter_map(|o| o.args.get("namespace").and_then(serde_json::Value::as_str))
        .collect();
    for o in pack.of("workload_health") {
        let cluster_wide = o
            .args
            .get("namespace")
            .is_none_or(serde_json::Value::is_null);
        // Elsewhere, only what the alert names by every word of its name
        // (`RxClaimsPendingAdjudicationHigh` names the CronJob
        // `claims-adjudication` wherever it runs).
        let only_named = cluster_wide && ctx.scope.namespace.is_some() && !stale;
        for f in parse::health_findings(&o.outcome.text) {
            if only_named
                && (f
                    .namespace
                    .as_deref()
                    .is_some_and(|n| read_alone.contains(&n))
                    || !super::named::names_fully(&ctx.scope.alert_words, &finding_owner(&f)))
            {
                continue;
            }
            let details = f.details.join(" | ");
            let Some((kind, mut weight)) = kind_of_reason(&f.reason, &details) else {
                continue;
            };
            if f.severity == "WARNING" {
                weight *= 0.7;
            }
            let component = finding_owner(&f);
            // A Service that selects no pod at all: its selector is the
            // fault (or its workload is gone), a reason of its own.
            if f.kind == "Service"
                && f.reason == "NoReadyEndpoints"
                && details.contains("matches 0 pods")
                && !ctx.selects_nothing.contains(&component)
            {
                ctx.selects_nothing.push(component.clone());
            }
            let at = ctx.ago(f.since_secs);
            let mut detail = format!("{} {}/{}: {}", f.severity, f.kind, f.name, f.reason);
            if let Some(first) = f.details.iter().find(|d| !d.starts_with("owner ")) {
                detail.push_str(" — ");
                detail.push_str(first);
            }
            if let Some(more) = f
                .details
                .iter()
                .find(|d| d.contains("termination message") || d.contains("OOMKilled"))
                && !detail.contains(more.as_str())
            {
                detail.push_str(" — ");
                detail.push_str(more);
            }
            // Pod-level findings repeat the workload-level one.
            if f.kind == "Pod" {
                weight *= 0.3;
            }
            ctx.event(at, "k8s", format!("{}/{} {}", f.kind, f.name, f.reason));
            ctx.signal(&component, kind, weight, &o.tool, detail, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Service whose selector matches no pod is a fault of its own; one
    /// whose pods are not ready shows their failure.
    #[test]
    fn a_service_that_selects_nothing_weighs_as_a_cause() {
        let nothing = kind_of_reason(
            "NoReadyEndpoints",
            "selector app=memcached,tier=cache matches 0 pods",
        );
        let unready = kind_of_reason("NoReadyEndpoints", "3 pods selected, 0 ready");
        assert_eq!(nothing.map(|(k, _)| k), Some("dependency_unreachable"));
        assert!(nothing.map(|(_, w)| w) > unready.map(|(_, w)| w));
    }
}
