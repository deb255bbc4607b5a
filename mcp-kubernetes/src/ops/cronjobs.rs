//! CronJobs that stopped producing: the findings `workload_health` adds for
//! scheduled work.
//!
//! A CronJob fails quietly. A run that hangs (a download without a
//! timeout, a lock never granted) shows as one healthy-looking Running pod,
//! and with `concurrencyPolicy: Forbid` every later schedule is skipped with
//! a Normal event (`JobAlreadyActive`); the data it produces goes stale and
//! the alert fires downstream, on whatever reads it. `kubectl get cronjobs`
//! shows the clue (ACTIVE 1, LAST SCHEDULE long ago) only to someone who
//! looks; these findings say it:
//!
//! * **`CronJobStuck`**: a run has been active for more than twice the
//!   schedule's period (at least 15 minutes). With `Forbid` the skipped
//!   runs are counted from the controller's events.
//! * **`CronJobNotSucceeding`**: the last successful run is older than
//!   three periods (at least an hour) although the CronJob is scheduled
//!   and not suspended.
//!
//! The period comes from the schedule itself ([`period`]); a schedule this
//! module cannot read yields no finding rather than a guess.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::events::EventGroup;
use super::health::{Finding, Severity};
use crate::value::{ago, arr, name, namespace, s, ts};

/// The time between two runs of a cron schedule, for the common shapes:
/// `*/N` or a list of minutes, an hour step or list, a fixed hour (daily),
/// a fixed weekday (weekly), a fixed day of month (monthly), and the
/// `@hourly`-style macros. `None` for anything else.
pub fn period(schedule: &str) -> Option<SignedDuration> {
    let mins = |m: i64| Some(SignedDuration::from_mins(m));
    let schedule = schedule.trim();
    // `CRON_TZ=Europe/Paris 0 3 * * *`: the zone does not change the period.
    let schedule = match schedule.split_once(' ') {
        Some((tz, rest)) if tz.starts_with("CRON_TZ=") || tz.starts_with("TZ=") => rest.trim(),
        _ => schedule,
    };
    match schedule {
        "@yearly" | "@annually" => return mins(365 * 24 * 60),
        "@monthly" => return mins(30 * 24 * 60),
        "@weekly" => return mins(7 * 24 * 60),
        "@daily" | "@midnight" => return mins(24 * 60),
        "@hourly" => return mins(60),
        _ => {}
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let [minute, hour, dom, _month, dow] = fields.as_slice() else {
        return None;
    };
    // Runs per unit of a field: `*` → every value, `*/N` → every N, a list
    // → its length, a range `a-b` → its width; a single value → once.
    let per = |field: &str, size: i64| -> Option<i64> {
        if field == "*" {
            return Some(size);
        }
        if let Some(step) = field.strip_prefix("*/") {
            let n: i64 = step.parse().ok().filter(|n| *n > 0)?;
            return Some((size / n).max(1));
        }
        let mut count = 0;
        for part in field.split(',') {
            count += match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (i64, i64) = (a.parse().ok()?, b.split('/').next()?.parse().ok()?);
                    (b - a + 1).max(1)
                }
                None => {
                    part.parse::<i64>().ok()?;
                    1
                }
            };
        }
        Some(count)
    };
    let per_hour = per(minute, 60)?;
    if *hour == "*" {
        return mins(60 / per_hour);
    }
    let per_day = per(hour, 24)? * per_hour;
    if *dom == "*" && *dow == "*" {
        return mins(24 * 60 / per_day);
    }
    if *dom == "*" {
        return mins(7 * 24 * 60 / (per(dow, 7)? * per_day));
    }
    mins(30 * 24 * 60 / (per(dom, 30)? * per_day))
}

/// The findings for `cronjob`, given the cluster's Jobs (for the start of
/// its active run) and the events about it.
pub fn findings(
    cronjob: &Value,
    jobs: &[Value],
    events: &[EventGroup],
    now: Timestamp,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if cronjob.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return out;
    }
    let schedule = s(cronjob, "/spec/schedule");
    let Some(every) = period(schedule) else {
        return out;
    };
    let ns = namespace(cronjob);
    let object = format!("CronJob/{}", name(cronjob));
    let policy = match s(cronjob, "/spec/concurrencyPolicy") {
        "" => "Allow",
        p => p,
    };
    let last_success = ts(cronjob, "/status/lastSuccessfulTime");
    let success_line = match last_success {
        Some(t) => format!("last successful run {}", ago(now, Some(t))),
        None => "no successful run recorded".to_string(),
    };
    let every_line = format!("schedule `{schedule}` (every {})", human(every));
    let finding = |severity, reason: &str, evidence, since| Finding {
        severity,
        namespace: ns.to_string(),
        object: object.clone(),
        reason: reason.into(),
        evidence,
        since,
    };
    // The oldest active run, and how long it has been running.
    let active = arr(cronjob, "/status/active")
        .iter()
        .filter_map(|r| r.pointer("/name").and_then(Value::as_str))
        .filter_map(|job| {
            let j = jobs.iter().find(|j| name(j) == job && namespace(j) == ns)?;
            let started = ts(j, "/status/startTime").or_else(|| crate::value::created(j))?;
            Some((job.to_string(), started))
        })
        .min_by_key(|(_, started)| *started);
    let stuck_after = (every * 2).max(SignedDuration::from_mins(15));
    if let Some((job, started)) = active
        && now.duration_since(started) > stuck_after
    {
        let mut evidence = vec![format!(
            "run {job} active for {} ({every_line}), {success_line}",
            human(now.duration_since(started))
        )];
        let skipped: i64 = events
            .iter()
            .filter(|e| e.reason == "JobAlreadyActive")
            .map(|e| e.count)
            .sum();
        if policy == "Forbid" {
            evidence.push(format!(
                "concurrencyPolicy Forbid: later runs are skipped while it runs ({skipped} skipped so far)"
            ));
        }
        out.push(finding(
            Severity::Warning,
            "CronJobStuck",
            evidence,
            Some(started),
        ));
        return out;
    }
    let stale_after = (every * 3).max(SignedDuration::from_hours(1));
    let scheduled = ts(cronjob, "/status/lastScheduleTime");
    if let Some(success) = last_success
        && now.duration_since(success) > stale_after
        && scheduled.is_some_and(|t| now.duration_since(t) <= stale_after)
    {
        out.push(finding(
            Severity::Warning,
            "CronJobNotSucceeding",
            vec![format!(
                "{success_line} ({every_line}); last scheduled {}",
                ago(now, scheduled)
            )],
            Some(success + every),
        ));
    }
    out
}

/// `74m`, `3h10m`, `2d`.
fn human(d: SignedDuration) -> String {
    let m = d.as_mins().max(0);
    match m {
        m if m < 120 => format!("{m}m"),
        m if m < 48 * 60 && m % 60 == 0 => format!("{}h", m / 60),
        m if m < 48 * 60 => format!("{}h{}m", m / 60, m % 60),
        m => format!("{}d", m / (24 * 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_of_common_schedules() {
        let m = |s: &str| period(s).map(|d| d.as_mins());
        assert_eq!(m("*/10 * * * *"), Some(10));
        assert_eq!(m("* * * * *"), Some(1));
        assert_eq!(m("0,30 * * * *"), Some(30));
        assert_eq!(m("5 * * * *"), Some(60));
        assert_eq!(m("0 */6 * * *"), Some(360));
        assert_eq!(m("30 2 * * *"), Some(1440));
        assert_eq!(m("0 9-17 * * *"), Some(160));
        assert_eq!(m("0 3 * * 1"), Some(7 * 1440));
        assert_eq!(m("0 3 1 * *"), Some(30 * 1440));
        assert_eq!(m("@hourly"), Some(60));
        assert_eq!(m("CRON_TZ=Europe/Paris 0 3 * * *"), Some(1440));
        assert_eq!(m("H/5 * * * *"), None);
        assert_eq!(m("not a schedule"), None);
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cronjob(policy: &str, active: &[&str], last_success: &str) -> Value {
        serde_json::json!({
            "metadata": {"name": "obs-ingest", "namespace": "ingest"},
            "spec": {"schedule": "*/10 * * * *", "concurrencyPolicy": policy},
            "status": {
                "active": active.iter().map(|a| serde_json::json!({"name": a})).collect::<Vec<_>>(),
                "lastScheduleTime": "2026-02-20T09:30:00Z",
                "lastSuccessfulTime": last_success,
            }
        })
    }

    fn job(name: &str, started: &str) -> Value {
        serde_json::json!({
            "metadata": {"name": name, "namespace": "ingest"},
            "status": {"startTime": started, "active": 1}
        })
    }

    fn skipped(count: i64) -> EventGroup {
        EventGroup {
            namespace: "ingest".into(),
            object: "CronJob/obs-ingest".into(),
            event_type: "Normal".into(),
            reason: "JobAlreadyActive".into(),
            message: "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            count,
            first: None,
            last: None,
        }
    }

    #[test]
    fn a_run_hanging_for_many_periods_is_stuck_and_says_what_it_blocks() {
        let now = t("2026-02-20T09:34:00Z");
        let jobs = [job("obs-ingest-29526260", "2026-02-20T08:20:00Z")];
        let f = findings(
            &cronjob("Forbid", &["obs-ingest-29526260"], "2026-02-20T08:10:52Z"),
            &jobs,
            &[skipped(7)],
            now,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].reason, "CronJobStuck");
        assert_eq!(f[0].object, "CronJob/obs-ingest");
        assert_eq!(f[0].since, Some(t("2026-02-20T08:20:00Z")));
        assert!(
            f[0].evidence[0].contains("active for 74m"),
            "{:?}",
            f[0].evidence
        );
        assert!(
            f[0].evidence[1].contains("7 skipped"),
            "{:?}",
            f[0].evidence
        );
        // The same run a few minutes in is just running.
        let f = findings(
            &cronjob("Forbid", &["obs-ingest-29526260"], "2026-02-20T08:10:52Z"),
            &jobs,
            &[],
            t("2026-02-20T08:26:00Z"),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn no_success_for_many_periods_while_scheduled_is_not_succeeding() {
        let now = t("2026-02-20T09:34:00Z");
        let f = findings(
            &cronjob("Allow", &[], "2026-02-20T07:50:00Z"),
            &[],
            &[],
            now,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].reason, "CronJobNotSucceeding");
        // A recent success, or a suspended CronJob: nothing to say.
        assert!(
            findings(
                &cronjob("Allow", &[], "2026-02-20T09:30:40Z"),
                &[],
                &[],
                now
            )
            .is_empty()
        );
        let mut suspended = cronjob("Allow", &[], "2026-02-19T07:50:00Z");
        suspended["spec"]["suspend"] = true.into();
        assert!(findings(&suspended, &[], &[], now).is_empty());
    }
}
