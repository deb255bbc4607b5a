//! `list_metrics` and `query_metric`: metric names and labels, and one
//! metric over time.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    MINUTE, MetricArgs, MetricsArgs, OpError, OpResult, Signoz, attrs, auto_step, duration_arg,
};
use crate::model::{MetricQuery, SECOND, SeriesQuery};
use crate::render::{Table, num, one_line};
use crate::store::Store;
use crate::time::{fmt_hms, fmt_range, fmt_span};

impl<S: Store> Signoz<S> {
    /// Metric names (or one metric's labels).
    pub async fn list_metrics(&self, a: &MetricsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 60 * MINUTE)
            .await?;
        if let Some(metric) = a.metric.as_deref().filter(|m| !m.is_empty()) {
            let q = SeriesQuery {
                metric: metric.to_string(),
                range,
                limit: 10_000,
            };
            let series = self.store.metric_series(&q).await?;
            if series.is_empty() {
                return Ok(format!(
                    "Metric `{metric}` has no series in {}. List names with `contains`.",
                    fmt_range(&range)
                ));
            }
            let mut labels: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for s in &series {
                for (k, v) in &s.labels {
                    if !k.starts_with("__") {
                        labels.entry(k).or_default().insert(v);
                    }
                }
            }
            let first = &series[0];
            let mut t = Table::new(&["LABEL", ">VALUES", "EXAMPLES"]);
            for (k, vs) in &labels {
                let ex: Vec<&str> = vs.iter().take(6).copied().collect();
                let more = if vs.len() > 6 { ", …" } else { "" };
                t.row(vec![
                    k.to_string(),
                    vs.len().to_string(),
                    format!("{}{more}", ex.join(", ")),
                ]);
            }
            return Ok(format!(
                "{metric}: {} {}{}, unit {}, {} series in {}\n{}",
                first.kind,
                first.temporality,
                if first.is_monotonic { " counter" } else { "" },
                if first.unit.is_empty() {
                    "-"
                } else {
                    &first.unit
                },
                series.len(),
                fmt_range(&range),
                t.render()
            ));
        }
        let metrics = self
            .store
            .metrics(range, a.contains.as_deref().filter(|c| !c.is_empty()))
            .await?;
        if metrics.is_empty() {
            return Ok(format!("No metrics in {}.", fmt_range(&range)));
        }
        let mut t = Table::new(&["METRIC", "TYPE", "UNIT", ">SERIES", "DESCRIPTION"]);
        for m in &metrics {
            let kind = match (m.kind.as_str(), m.is_monotonic) {
                ("Sum", true) => format!("counter/{}", m.temporality.to_ascii_lowercase()),
                ("Sum", false) => "updown".to_string(),
                (k, _) => k.to_ascii_lowercase(),
            };
            t.row(vec![
                m.name.clone(),
                kind,
                if m.unit.is_empty() {
                    "-".into()
                } else {
                    m.unit.clone()
                },
                m.series.to_string(),
                one_line(&m.description, 80),
            ]);
        }
        let (header, lines) = t.lines();
        Ok(self.paged(
            &format!("{} metrics in {}", metrics.len(), fmt_range(&range)),
            "signoz metric names",
            &header,
            &lines,
            0,
            "contains",
        ))
    }

    /// A metric over time: filtered, grouped, aggregated across series, as a
    /// rate for counters.
    pub async fn query_metric(&self, a: &MetricArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 60 * MINUTE)
            .await?;
        let step = match &a.step {
            Some(s) => duration_arg(s, "step")?.max(SECOND),
            None => auto_step(range, 15),
        };
        if range.len() / step > 500 {
            return Err(OpError::Invalid(format!(
                "{} steps of {} is too many; use a larger `step` (at most 500 steps)",
                range.len() / step,
                fmt_span(step)
            )));
        }
        let steps = self
            .store
            .metric_steps(&MetricQuery {
                metric: a.metric.clone(),
                filters: attrs(&a.filters)?,
                range,
                step,
                max_series: 2000,
            })
            .await?;
        let Some(first) = steps.series.values().next() else {
            return Ok(format!(
                "No series of `{}` match in {}. Check the name and labels with `list_metrics`.",
                a.metric,
                fmt_range(&range)
            ));
        };
        let counter =
            first.is_monotonic || (first.kind == "Histogram" && !a.metric.ends_with(".bucket"));
        let delta = first.temporality == "Delta";
        let want_rate = a.rate.unwrap_or(counter);
        let agg = a
            .aggregation
            .as_deref()
            .unwrap_or(if counter { "sum" } else { "avg" })
            .to_ascii_lowercase();
        if !matches!(agg.as_str(), "sum" | "avg" | "min" | "max") {
            return Err(OpError::Invalid(format!(
                "aggregation `{agg}`: use sum, avg, min or max"
            )));
        }
        let group_by: Vec<String> = a.group_by.clone().unwrap_or_default();
        let step_s = step as f64 / 1e9;
        // Per series: value per step.
        let mut per_group: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
        let mut i = 0;
        let rows = &steps.steps;
        while i < rows.len() {
            let fp = rows[i].fingerprint;
            let mut j = i;
            while j < rows.len() && rows[j].fingerprint == fp {
                j += 1;
            }
            let series_rows = &rows[i..j];
            i = j;
            let Some(series) = steps.series.get(&fp) else {
                continue;
            };
            let key = if group_by.is_empty() {
                "total".to_string()
            } else {
                group_by
                    .iter()
                    .map(|g| series.labels.get(g).map_or("-", String::as_str))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let g = per_group.entry(key).or_default();
            let mut prev: Option<(i64, f64)> = None;
            for r in series_rows {
                let value = if want_rate {
                    if delta {
                        Some(r.sum / step_s)
                    } else {
                        let inc = match prev {
                            Some((p_step, p_last)) if p_step == r.step - 1 => {
                                // A drop is a counter reset: count from zero.
                                if r.last >= p_last {
                                    r.last - p_last
                                } else {
                                    r.last
                                }
                            }
                            // No sample in the step before (a new series or a
                            // gap): the increase within this step.
                            _ => r.last - r.min,
                        };
                        let v = Some(inc / step_s);
                        prev = Some((r.step, r.last));
                        v
                    }
                } else if counter {
                    Some(if delta { r.sum } else { r.last })
                } else {
                    Some(r.sum / r.count.max(1) as f64)
                };
                if r.step >= 0
                    && let Some(v) = value
                {
                    g.entry(r.step).or_default().push(v);
                }
            }
        }
        let reduce = |vs: &Vec<f64>| -> f64 {
            match agg.as_str() {
                "sum" => vs.iter().sum(),
                "min" => vs.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => vs.iter().sum::<f64>() / vs.len().max(1) as f64,
            }
        };
        // Rank groups by mean value, keep at most 8 columns.
        let mut groups: Vec<(String, f64)> = per_group
            .iter()
            .map(|(k, steps)| {
                let vals: Vec<f64> = steps.values().map(reduce).collect();
                (
                    k.clone(),
                    vals.iter().sum::<f64>() / vals.len().max(1) as f64,
                )
            })
            .collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let dropped = groups.len().saturating_sub(8);
        groups.truncate(8);
        let unit = if first.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", first.unit)
        };
        let what = if want_rate {
            format!("per-second rate{unit}/s")
        } else {
            format!("value{unit}")
        };
        let mut out = format!(
            "{} — {agg} of {} across {} series{}, {what}, step {}, {}\n",
            a.metric,
            if want_rate { "rates" } else { "values" },
            steps.series.len(),
            if group_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", group_by.join(","))
            },
            fmt_span(step),
            fmt_range(&range)
        );
        let mut headers: Vec<String> = vec!["TIME".into()];
        headers.extend(groups.iter().map(|(k, _)| format!(">{k}")));
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new(&header_refs);
        let n_steps = (range.len() + step - 1) / step;
        for s in 0..n_steps {
            let mut row = vec![fmt_hms(range.start + s * step)];
            for (k, _) in &groups {
                row.push(
                    per_group
                        .get(k)
                        .and_then(|m| m.get(&s))
                        .map_or("-".to_string(), |vs| num(reduce(vs))),
                );
            }
            t.row(row);
        }
        out.push_str(&t.render());
        if dropped > 0 {
            out.push_str(&format!(
                "\n… {dropped} smaller groups not shown (filter or group by fewer labels)"
            ));
        }
        Ok(out)
    }
}
