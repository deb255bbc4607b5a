//! `search_logs` and `log_patterns`: log records, and their templates
//! against a baseline window.

use std::collections::{BTreeSet, HashMap};

use log_patterns::{ChangeKind, CompareOptions, Window, WindowedMiner};

use super::{
    LogsArgs, MINUTE, OpError, OpResult, PatternsArgs, Signoz, attrs, duration_arg, framed, order,
    severity_number,
};
use crate::model::{LogQuery, Nanos, Order, TimeRange};
use crate::render::{Table, num, one_line, one_line_ends};
use crate::severity::effective_severity;
use crate::store::Store;
use crate::structured::log_view;
use crate::time::{fmt_hms, fmt_range, fmt_span, fmt_ts};

/// How far back an empty default `search_logs` looks for the newest match.
const LOOK_BACK: Nanos = 6 * 60 * MINUTE;

impl<S: Store> Signoz<S> {
    fn log_query(
        &self,
        range: TimeRange,
        service: &Option<String>,
        severity: &Option<String>,
        contains: &Option<String>,
        attributes: &Option<Vec<String>>,
    ) -> Result<LogQuery, OpError> {
        Ok(LogQuery {
            range,
            service: service.clone().filter(|s| !s.is_empty()),
            min_severity: severity
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(severity_number)
                .transpose()?,
            contains: contains.clone().filter(|s| !s.is_empty()),
            attributes: attrs(attributes)?,
            ..LogQuery::default()
        })
    }

    /// When the default window holds no match: the newest match in the
    /// [`LOOK_BACK`] before it, with the `from` that would show it. A trigger
    /// 20 minutes old is the usual reason an on-call engineer searches, and the
    /// default 15 minutes would otherwise answer "nothing" without a hint.
    async fn newest_match_before(&self, q: &LogQuery, range: TimeRange) -> Result<String, OpError> {
        let mut back = q.clone();
        back.range = TimeRange::new(range.start - LOOK_BACK, range.start);
        back.limit = 1;
        back.order = Order::Newest;
        let Some(r) = self.store.logs(&back).await?.into_iter().next() else {
            return Ok(format!(
                " None in the {} before it either.",
                fmt_span(LOOK_BACK)
            ));
        };
        // Minutes before `to`, rounded up, so `from=now-Nm` includes the record.
        let minutes = (range.end - r.timestamp).div_euclid(MINUTE) + 1;
        let line = format!(
            "{} {} {}",
            fmt_ts(r.timestamp),
            r.service(),
            one_line(&log_view(&r).record_line(), 500)
        );
        Ok(format!(
            "\nThe newest match before the window, {} earlier (pass from=now-{minutes}m):\n{}",
            fmt_span(range.start - r.timestamp),
            framed("signoz logs", &line)
        ))
    }

    /// Log records, one line each.
    pub async fn search_logs(&self, a: &LogsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let limit = a.limit.unwrap_or(100).clamp(1, 1000) as usize;
        let order = order(a.order.as_deref(), false)?;
        let mut q = self.log_query(range, &a.service, &a.severity, &a.contains, &a.attributes)?;
        q.regex = a.regex.clone().filter(|s| !s.is_empty());
        q.trace_id = a.trace_id.clone().filter(|s| !s.is_empty());
        q.limit = limit;
        q.order = order;
        let rows = self.store.logs(&q).await?;
        if rows.is_empty() {
            let earlier = if a.from.is_none() {
                self.newest_match_before(&q, range).await?
            } else {
                String::new()
            };
            return Ok(format!(
                "No logs match in {}. Widen the window (`from`) or loosen the filters.{earlier}",
                fmt_range(&range)
            ));
        }
        let svc_width = rows.iter().map(|r| r.service().len()).max().unwrap_or(0);
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                // Structured bodies and exception attributes read as
                // `message — Type: error (top frame) key=value…`; plain
                // bodies as they are.
                let mut line = format!(
                    "{} {:<5} {:<svc_width$} {}",
                    fmt_ts(r.timestamp),
                    sev_short(&r.severity_text, effective_severity(r)),
                    r.service(),
                    one_line(&log_view(r).record_line(), 2000)
                );
                if !r.trace_id.is_empty() {
                    line.push_str(&format!(" trace={}", r.trace_id));
                }
                line
            })
            .collect();
        let more = if rows.len() == limit {
            format!(" (limit {limit} reached; raise `limit` or narrow the window)")
        } else {
            String::new()
        };
        let intro = format!(
            "{} log records in {}, {} first{more}",
            rows.len(),
            fmt_range(&range),
            if order == Order::Oldest {
                "oldest"
            } else {
                "newest"
            }
        );
        Ok(self.paged(
            &intro,
            "signoz logs",
            "",
            &lines,
            a.cursor.unwrap_or(0) as usize,
            "service, severity, contains, a shorter window, a lower limit",
        ))
    }

    /// Log templates in a window, each marked NEW, SURGED, GONE or STEADY
    /// against a baseline window just before it.
    pub async fn log_patterns(&self, a: &PatternsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let base_len = match a.baseline.as_deref() {
            // `0` is a duration like any other; `none` says the same in words.
            Some("none") => 0,
            Some(b) => duration_arg(b, "baseline")?,
            None => 60 * MINUTE,
        };
        let baseline = TimeRange::new(range.start - base_len, range.start);
        let cap = self.limits.max_pattern_lines;
        let mut q = self.log_query(range, &a.service, &a.severity, &a.contains, &a.attributes)?;
        q.limit = cap;
        q.order = Order::Oldest;
        let incident = self.store.logs(&q).await?;
        let base_rows = if base_len > 0 {
            q.range = baseline;
            self.store.logs(&q).await?
        } else {
            Vec::new()
        };
        if incident.is_empty() && base_rows.is_empty() {
            return Ok(format!(
                "No logs match in {} or the baseline. Widen the window or loosen the filters.",
                fmt_range(&range)
            ));
        }
        let mut miner = WindowedMiner::default();
        // Templates are mined from the readable text (message plus error,
        // see `structured`), so JSON timestamps do not split a template and a
        // new exception behind an old message is a new template.
        // Per raw template id: services, and the first incident line (time,
        // readable line, trace).
        let mut services: HashMap<u32, BTreeSet<String>> = HashMap::new();
        let mut firsts: HashMap<u32, (Nanos, String, &str)> = HashMap::new();
        for r in &base_rows {
            let text = log_view(r).template_text();
            let id = miner.add_at(Window::Baseline, &text, r.timestamp / 1_000_000);
            services
                .entry(id.0)
                .or_default()
                .insert(r.service().to_string());
        }
        for r in &incident {
            let view = log_view(r);
            let id = miner.add_at(
                Window::Incident,
                &view.template_text(),
                r.timestamp / 1_000_000,
            );
            services
                .entry(id.0)
                .or_default()
                .insert(r.service().to_string());
            firsts
                .entry(id.0)
                .or_insert_with(|| (r.timestamp, view.line(), r.trace_id.as_str()));
        }
        let changes = miner.compare(&CompareOptions {
            baseline_span_ms: (base_len > 0).then_some((base_len / 1_000_000) as u64),
            incident_span_ms: Some((range.len() / 1_000_000) as u64),
            // A template that began in the baseline's second half is NEW,
            // FIRST saying when it began.
            baseline_start_ms: (base_len > 0).then_some(baseline.start / 1_000_000),
            ..CompareOptions::default()
        });
        // Fold per-id extras onto surviving templates.
        let root = |id: u32| miner.miner().resolve(log_patterns::TemplateId(id)).0;
        let mut svc_by_root: HashMap<u32, BTreeSet<String>> = HashMap::new();
        for (id, s) in services {
            svc_by_root.entry(root(id)).or_default().extend(s);
        }
        let mut first_by_root: HashMap<u32, (Nanos, String, &str)> = HashMap::new();
        for (id, f) in firsts {
            match first_by_root.entry(root(id)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(f);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    if (f.0, &f.1) < (o.get().0, &o.get().1) {
                        o.insert(f);
                    }
                }
            }
        }
        let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
        let limit = a.limit.unwrap_or(25).clamp(1, 500) as usize;
        let mut intro = format!(
            "Log patterns: {} lines in {} vs {} in the {} baseline before it; {} templates: {} NEW, {} SURGED, {} GONE, {} STEADY",
            incident.len(),
            fmt_range(&range),
            base_rows.len(),
            fmt_span(base_len),
            changes.len(),
            count(ChangeKind::New),
            count(ChangeKind::Surged),
            count(ChangeKind::Gone),
            count(ChangeKind::Steady),
        );
        if incident.len() == cap || base_rows.len() == cap {
            intro.push_str(&format!(
                "\n(only the first {cap} lines of a window were mined; narrow the filters for exact counts)"
            ));
        }
        if base_len == 0 {
            intro.push_str("\n(no baseline: every template is NEW)");
        } else if changes
            .iter()
            .any(|c| c.kind == ChangeKind::New && c.baseline_count > 0)
        {
            intro.push_str(
                "\n(a NEW template with a BASE count began in the baseline's second half, at FIRST: new to the hour before, not to the window)",
            );
        }
        let mut t = Table::new(&[
            "KIND", ">BASE", ">NOW", ">RATIO", "FIRST", "LAST", "SERVICES", "TEMPLATE",
        ]);
        let mut samples = Vec::new();
        for c in changes.iter().take(limit) {
            let kind = match c.kind {
                ChangeKind::New => "NEW",
                ChangeKind::Surged => "SURGED",
                ChangeKind::Gone => "GONE",
                ChangeKind::Steady => "STEADY",
            };
            let svcs = svc_by_root
                .get(&c.id.0)
                .map(|s| s.iter().cloned().collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            let ts = |ms: Option<i64>| ms.map_or("-".to_string(), |m| fmt_hms(m * 1_000_000));
            t.row(vec![
                kind.to_string(),
                c.baseline_count.to_string(),
                c.incident_count.to_string(),
                c.ratio.map_or("-".into(), |r| format!("{}x", num(r))),
                // A NEW template's FIRST is when it began, even before the window.
                ts(match c.kind {
                    ChangeKind::New => c.baseline_first_seen.or(c.incident_first_seen),
                    _ => c.incident_first_seen,
                }),
                ts(c.incident_last_seen),
                svcs,
                // The innermost cause is said last: a cut keeps both ends.
                one_line_ends(&c.template, 300),
            ]);
            if matches!(c.kind, ChangeKind::New | ChangeKind::Surged)
                && samples.len() < 5
                && let Some((ts, line, trace)) = first_by_root.get(&c.id.0)
            {
                let trace = if trace.is_empty() {
                    String::new()
                } else {
                    format!(" trace={trace}")
                };
                samples.push(format!(
                    "{kind} {}: {}{trace}",
                    fmt_hms(*ts),
                    one_line_ends(line, 500)
                ));
            }
        }
        let mut body = t.render();
        if changes.len() > limit {
            body.push_str(&format!(
                "\n… {} more templates (raise `limit`)",
                changes.len() - limit
            ));
        }
        if !samples.is_empty() {
            body.push_str("\n\nFirst line of each NEW/SURGED template in the window:\n");
            body.push_str(&samples.join("\n"));
        }
        Ok(format!(
            "{intro}\nRATIO is the rate in the window over the baseline rate; FIRST/LAST are in the window (UTC).\n{}",
            framed("log templates", &body)
        ))
    }
}

fn sev_short(text: &str, number: u8) -> String {
    let t = if text.is_empty() {
        crate::otlp::severity_text(number)
    } else {
        text
    };
    let up = t.to_ascii_uppercase();
    match up.as_str() {
        "WARNING" => "WARN".into(),
        "INFORMATION" => "INFO".into(),
        "CRITICAL" => "FATAL".into(),
        _ => up.chars().take(5).collect(),
    }
}
