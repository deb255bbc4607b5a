//! `services` and `service_health`: RED metrics per service, and one
//! service against its baseline.

use std::collections::BTreeMap;

use super::{
    HealthArgs, MINUTE, OpError, OpResult, ServicesArgs, Signoz, auto_step, duration_arg, framed,
};
use crate::model::{ErrorQuery, Nanos, RedGroup, RedQuery, RedRow, SECOND, SpanScope, TimeRange};
use crate::render::{Table, num, one_line, pct, rate};
use crate::store::Store;
use crate::time::{fmt_duration, fmt_hms, fmt_range, fmt_span};

impl<S: Store> Signoz<S> {
    /// Every service's request rate, error rate and latency from its entry
    /// spans, worst first.
    pub async fn services(&self, a: &ServicesArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let mut rows = self
            .store
            .red(&RedQuery {
                range,
                service: None,
                scope: SpanScope::Entry,
                group: RedGroup::Service,
                step: None,
            })
            .await?;
        if rows.is_empty() {
            return Ok(format!(
                "No entry spans (kind Server or Consumer) in {}. Widen the window with `from`.",
                fmt_range(&range)
            ));
        }
        rows.sort_by(|a, b| {
            let ea = a.errors as f64 / a.calls.max(1) as f64;
            let eb = b.errors as f64 / b.calls.max(1) as f64;
            eb.total_cmp(&ea)
                .then(b.calls.cmp(&a.calls))
                .then_with(|| a.key.cmp(&b.key))
        });
        let mut t = Table::new(&[
            "SERVICE", ">RATE", ">CALLS", ">ERRORS", ">ERR%", ">P50", ">P95", ">P99",
        ]);
        for r in &rows {
            t.row(vec![
                r.key.clone(),
                rate(r.calls, range.len()),
                r.calls.to_string(),
                r.errors.to_string(),
                pct(r.errors, r.calls),
                fmt_duration(r.p50),
                fmt_duration(r.p95),
                fmt_duration(r.p99),
            ]);
        }
        Ok(format!(
            "Services in {} — entry spans (Server/Consumer), worst error rate first\n{}",
            fmt_range(&range),
            t.render()
        ))
    }

    /// One service: RED in time buckets against a baseline window, its top
    /// erroring operations and top error messages.
    pub async fn service_health(&self, a: &HealthArgs) -> OpResult {
        if a.service.trim().is_empty() {
            return Err(OpError::Invalid("`service` must not be empty".into()));
        }
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let base_len = match &a.baseline {
            Some(b) => duration_arg(b, "baseline")?,
            None => 60 * MINUTE,
        };
        let default_window = a.from.is_none() && a.to.is_none();
        let step = match &a.step {
            Some(s) => duration_arg(s, "step")?.max(SECOND),
            None => auto_step(range, 15),
        };
        let q = |range, step, group, scope| RedQuery {
            range,
            service: Some(a.service.clone()),
            scope,
            group,
            step,
        };
        let now_rows = self
            .store
            .red(&q(range, None, RedGroup::Service, SpanScope::Entry))
            .await?;
        // The default window's baseline ends before the change the window shows, when
        // that began earlier (see `baseline`); a chosen window keeps it just before.
        let (baseline, onset) = if default_window {
            let lookback = TimeRange::new(range.start - crate::baseline::LOOKBACK, range.start);
            let steps = self
                .store
                .red(&q(
                    lookback,
                    Some(crate::baseline::STEP),
                    RedGroup::Service,
                    SpanScope::Entry,
                ))
                .await?;
            crate::baseline::default_baseline(range, now_rows.first(), &steps, base_len)
        } else {
            (TimeRange::new(range.start - base_len, range.start), None)
        };
        let base_rows = self
            .store
            .red(&q(baseline, None, RedGroup::Service, SpanScope::Entry))
            .await?;
        let buckets = self
            .store
            .red(&q(range, Some(step), RedGroup::Service, SpanScope::Entry))
            .await?;
        let mut ops = self
            .store
            .red(&q(range, None, RedGroup::Operation, SpanScope::All))
            .await?;
        let errors = self
            .store
            .errors(&ErrorQuery {
                range,
                service: a.service.clone(),
                limit: 10,
            })
            .await?;
        let cur = now_rows.first();
        let base = base_rows.first();
        if cur.is_none() && base.is_none() && ops.is_empty() {
            return Ok(format!(
                "No spans for service `{}` in {} or its {} baseline. Check the name with `services`.",
                a.service,
                fmt_range(&range),
                fmt_span(base_len)
            ));
        }
        let mut out = format!(
            "Service {} — window {} vs baseline {}\n",
            a.service,
            fmt_range(&range),
            fmt_range(&baseline)
        );
        if let Some(onset) = onset {
            out.push_str(&format!(
                "Baseline: moved to end at {}Z, where the window's change began ({} before the window already look like it); pass from/to to compare other windows\n",
                fmt_hms(onset),
                fmt_span(range.start - onset)
            ));
        }
        // Summary.
        let mut t = Table::new(&["", ">RATE", ">CALLS", ">ERR%", ">P50", ">P95", ">P99"]);
        let summary = |label: &str, r: Option<&RedRow>, len: Nanos| match r {
            Some(r) => vec![
                label.to_string(),
                rate(r.calls, len),
                r.calls.to_string(),
                pct(r.errors, r.calls),
                fmt_duration(r.p50),
                fmt_duration(r.p95),
                fmt_duration(r.p99),
            ],
            None => vec![label.to_string(), "0/s".into(), "0".into()],
        };
        t.row(summary("window", cur, range.len()));
        t.row(summary("baseline", base, baseline.len()));
        out.push_str(&t.render());
        out.push('\n');
        out.push_str(&verdict(cur, base, range.len(), baseline.len()));
        out.push('\n');
        // Buckets.
        if !buckets.is_empty() {
            out.push_str(&format!("\nEntry spans per {}:\n", fmt_span(step)));
            let mut t = Table::new(&["TIME", ">CALLS", ">ERRORS", ">ERR%", ">P50", ">P99"]);
            let by_bucket: BTreeMap<Nanos, &RedRow> =
                buckets.iter().map(|r| (r.bucket, r)).collect();
            let mut b = range.start;
            while b < range.end {
                match by_bucket.get(&b) {
                    Some(r) => t.row(vec![
                        fmt_hms(b),
                        r.calls.to_string(),
                        r.errors.to_string(),
                        pct(r.errors, r.calls),
                        fmt_duration(r.p50),
                        fmt_duration(r.p99),
                    ]),
                    None => t.row(vec![fmt_hms(b), "0".into(), "0".into(), "-".into()]),
                }
                b += step;
            }
            out.push_str(&t.render());
            out.push('\n');
        }
        // Operations.
        ops.retain(|o| o.errors > 0);
        ops.sort_by(|a, b| b.errors.cmp(&a.errors).then_with(|| a.key.cmp(&b.key)));
        if ops.is_empty() {
            out.push_str("\nNo error spans in the window.");
            return Ok(out);
        }
        out.push_str("\nTop erroring operations (all spans of the service):\n");
        let mut t = Table::new(&["OPERATION", ">CALLS", ">ERRORS", ">ERR%", ">P99"]);
        for o in ops.iter().take(8) {
            t.row(vec![
                o.key.clone(),
                o.calls.to_string(),
                o.errors.to_string(),
                pct(o.errors, o.calls),
                fmt_duration(o.p99),
            ]);
        }
        out.push_str(&t.render());
        if !errors.is_empty() {
            out.push_str("\n\nTop error messages (span status):\n");
            let mut t = Table::new(&[">COUNT", "OPERATION", "EXAMPLE TRACE", "MESSAGE"]);
            for e in &errors {
                t.row(vec![
                    e.count.to_string(),
                    e.operation.clone(),
                    e.trace_id.clone(),
                    one_line(
                        if e.message.is_empty() {
                            "(no message)"
                        } else {
                            &e.message
                        },
                        200,
                    ),
                ]);
            }
            out.push_str(&framed("span status messages", &t.render()));
        }
        Ok(out)
    }
}

fn verdict(cur: Option<&RedRow>, base: Option<&RedRow>, cur_len: Nanos, base_len: Nanos) -> String {
    let (Some(c), Some(b)) = (cur, base) else {
        return match (cur, base) {
            (Some(_), None) => {
                "Verdict: no baseline traffic to compare with (new service or new window).".into()
            }
            (None, Some(_)) => {
                "Verdict: NO TRAFFIC in the window, though the baseline had some.".into()
            }
            _ => "Verdict: no traffic.".into(),
        };
    };
    let err = |r: &RedRow| r.errors as f64 * 100.0 / r.calls.max(1) as f64;
    let rate = |r: &RedRow, len: Nanos| r.calls as f64 / (len as f64 / 1e9);
    let mut notes = Vec::new();
    let de = err(c) - err(b);
    if de >= 1.0 {
        notes.push(format!(
            "error rate up {de:.1} points ({:.1}% → {:.1}%)",
            err(b),
            err(c)
        ));
    } else if de <= -1.0 {
        notes.push(format!("error rate down {:.1} points", -de));
    }
    let p99_rose = b.p99 > 0.0 && c.p99 / b.p99 >= 1.5;
    if p99_rose {
        notes.push(format!(
            "p99 {}x ({} → {})",
            num(c.p99 / b.p99),
            fmt_duration(b.p99),
            fmt_duration(c.p99)
        ));
    } else if b.p50 > 0.0 && c.p50 >= 3.0 * b.p50 && c.p50 >= 50e6 {
        // The median moved though the tail did not: the baseline's tail
        // already holds the slow requests (trouble that began before the
        // window), its median is still the service's usual.
        notes.push(format!(
            "p50 {}x ({} → {})",
            num(c.p50 / b.p50),
            fmt_duration(b.p50),
            fmt_duration(c.p50)
        ));
    }
    let (rc, rb) = (rate(c, cur_len), rate(b, base_len));
    if rb > 0.0 {
        let r = rc / rb;
        if r >= 2.0 || r <= 0.5 {
            notes.push(format!(
                "traffic {}x ({}/s → {}/s)",
                num(r),
                num(rb),
                num(rc)
            ));
        }
    }
    if notes.is_empty() {
        "Verdict: in line with the baseline.".into()
    } else {
        format!("Verdict: {}.", notes.join("; "))
    }
}
