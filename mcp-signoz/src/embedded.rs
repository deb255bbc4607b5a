//! The embedded store: telemetry files loaded in memory, answering exactly as
//! the ClickHouse store does.
//!
//! It is the offline demo's backend, a way to investigate an exported
//! incident without a SigNoz, and the reference the contract suite holds the
//! ClickHouse store to. Every primitive is a scan over sorted vectors — fine
//! for the few million rows a file export holds.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::model::{
    CallGraph, EdgeRow, ErrorQuery, ErrorRow, LogQuery, LogRow, MetricInfo, MetricQuery,
    MetricSteps, Nanos, Order, RedGroup, RedQuery, RedRow, SECOND, SampleRow, SeriesQuery,
    SeriesRow, SpanQuery, SpanRow, SpanScope, StepRow, Telemetry, TimeRange, UnreachedRow,
    span_kind,
};
use crate::store::{Store, StoreError, StoreResult, quantile_sorted};

const HOUR_MS: i64 = 3_600_000;

/// Telemetry held in memory.
#[derive(Debug)]
pub struct EmbeddedStore {
    source: String,
    logs: Vec<LogRow>,
    spans: Vec<SpanRow>,
    series: BTreeMap<u64, SeriesRow>,
    samples: Vec<SampleRow>,
    now: Nanos,
}

impl EmbeddedStore {
    /// A store over `telemetry`; `source` names where it came from.
    pub fn new(source: impl Into<String>, telemetry: Telemetry) -> Self {
        let Telemetry {
            mut logs,
            mut spans,
            series,
            mut samples,
        } = telemetry;
        logs.sort_by_key(|l| l.timestamp);
        spans.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then_with(|| a.span_id.cmp(&b.span_id))
        });
        samples.sort_by(|a, b| {
            a.fingerprint
                .cmp(&b.fingerprint)
                .then(a.unix_milli.cmp(&b.unix_milli))
        });
        let series: BTreeMap<u64, SeriesRow> =
            series.into_iter().map(|s| (s.fingerprint, s)).collect();
        let last = logs
            .iter()
            .map(|l| l.timestamp)
            .chain(spans.iter().map(|s| s.timestamp))
            .chain(samples.iter().map(|s| s.unix_milli * 1_000_000))
            .max()
            .unwrap_or(0);
        // "Now" is the next whole second after the last event, so that
        // `now-15m` covers the end of the data.
        let now = (last.div_euclid(SECOND) + 1) * SECOND;
        Self {
            source: source.into(),
            logs,
            spans,
            series,
            samples,
            now,
        }
    }

    /// Loads every `*.json`, `*.jsonl` and `*.ndjson` file under `dir`
    /// (recursively), in either format of [`crate::otlp`].
    pub fn load_dir(dir: &Path) -> StoreResult<Self> {
        // The folder and nothing beyond it (mcp_kit::jail): links that lead out
        // are skipped, errors name files relative to it.
        let jail = mcp_kit::jail::Jail::open(dir).map_err(|e| StoreError::Load(e.to_string()))?;
        let listing = jail.files().map_err(|e| StoreError::Load(e.to_string()))?;
        for skipped in &listing.skipped {
            tracing::warn!(
                entry = %skipped,
                "telemetry entry not read: a link that leads outside the folder, or loops"
            );
        }
        let files: Vec<_> = listing
            .files
            .into_iter()
            .filter(|path| {
                path.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "json" | "jsonl" | "ndjson"))
            })
            .collect();
        if files.is_empty() {
            return Err(StoreError::Load(format!(
                "no .json/.jsonl/.ndjson telemetry files under {}",
                dir.display()
            )));
        }
        let mut telemetry = Telemetry::default();
        for file in &files {
            let text = jail
                .read_to_string(file)
                .map_err(|e| StoreError::Load(e.to_string()))?;
            crate::otlp::add_text(&text, &mut telemetry)
                .map_err(|e| StoreError::Load(format!("{}: {e}", jail.shown(file))))?;
        }
        tracing::info!(
            dir = %dir.display(),
            files = files.len(),
            logs = telemetry.logs.len(),
            spans = telemetry.spans.len(),
            series = telemetry.series.len(),
            samples = telemetry.samples.len(),
            "telemetry loaded"
        );
        Ok(Self::new(format!("files in {}", dir.display()), telemetry))
    }

    /// Pins "now" (for replaying data as if it were live).
    pub fn with_now(mut self, now: Nanos) -> Self {
        self.now = now;
        self
    }

    /// Everything held, as SigNoz rows (to seed a ClickHouse in tests).
    pub fn telemetry(&self) -> Telemetry {
        Telemetry {
            logs: self.logs.clone(),
            spans: self.spans.clone(),
            series: self.series.values().cloned().collect(),
            samples: self.samples.clone(),
        }
    }

    fn spans_in(&self, range: TimeRange) -> &[SpanRow] {
        let lo = self.spans.partition_point(|s| s.timestamp < range.start);
        let hi = self.spans.partition_point(|s| s.timestamp < range.end);
        &self.spans[lo..hi]
    }

    fn logs_in(&self, range: TimeRange) -> &[LogRow] {
        let lo = self.logs.partition_point(|s| s.timestamp < range.start);
        let hi = self.logs.partition_point(|s| s.timestamp < range.end);
        &self.logs[lo..hi]
    }

    fn samples_of(&self, fp: u64) -> &[SampleRow] {
        let lo = self.samples.partition_point(|s| s.fingerprint < fp);
        let hi = self.samples.partition_point(|s| s.fingerprint <= fp);
        &self.samples[lo..hi]
    }

    /// Whether a series has a `time_series_v4` row in the range: SigNoz writes
    /// one per hour with samples, stamped with the start of the hour.
    fn series_active(&self, fp: u64, range: TimeRange) -> bool {
        let start_hour = floor_hour(range.start / 1_000_000);
        let end_ms = range.end / 1_000_000 + i64::from(range.end % 1_000_000 != 0);
        self.samples_of(fp).iter().any(|s| {
            let h = floor_hour(s.unix_milli);
            h >= start_hour && h < end_ms
        })
    }
}

fn floor_hour(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The server of a database client span (`server.address`, else `net.peer.name`).
fn db_server(s: &SpanRow) -> String {
    ["server.address", "net.peer.name"]
        .iter()
        .find_map(|k| s.attributes_string.get(*k).filter(|v| !v.is_empty()))
        .cloned()
        .unwrap_or_default()
}

fn quantiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        quantile_sorted(&v, 0.5),
        quantile_sorted(&v, 0.95),
        quantile_sorted(&v, 0.99),
    )
}

/// Whether a client span's status message or one of its exception events names a
/// connection failure (as the ClickHouse query decides it).
fn connection_failed(s: &SpanRow) -> bool {
    crate::model::is_connection_error(&s.status_message)
        || s.events.iter().any(|e| {
            serde_json::from_str::<serde_json::Value>(e)
                .ok()
                .is_some_and(|v| v.get("name").and_then(|n| n.as_str()) == Some("exception"))
                && crate::model::is_connection_error(e)
        })
}

fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .any(|w| w.eq_ignore_ascii_case(n))
}

impl Store for EmbeddedStore {
    fn describe(&self) -> String {
        format!(
            "embedded store: {} ({} logs, {} spans, {} metric series)",
            self.source,
            self.logs.len(),
            self.spans.len(),
            self.series.len()
        )
    }

    async fn now(&self) -> StoreResult<Nanos> {
        Ok(self.now)
    }

    async fn red(&self, q: &RedQuery) -> StoreResult<Vec<RedRow>> {
        let mut groups: BTreeMap<(String, Nanos), (u64, u64, Vec<f64>)> = BTreeMap::new();
        for s in self.spans_in(q.range) {
            if q.service.as_deref().is_some_and(|svc| s.service() != svc) {
                continue;
            }
            if q.scope == SpanScope::Entry
                && !matches!(s.kind, span_kind::SERVER | span_kind::CONSUMER)
            {
                continue;
            }
            let key = match q.group {
                RedGroup::Service => s.service().to_string(),
                RedGroup::Operation => s.name.clone(),
            };
            let bucket = match q.step {
                Some(step) if step > 0 => {
                    q.range.start + (s.timestamp - q.range.start).div_euclid(step) * step
                }
                _ => q.range.start,
            };
            let g = groups.entry((key, bucket)).or_default();
            g.0 += 1;
            g.1 += u64::from(s.has_error);
            g.2.push(s.duration_nano as f64);
        }
        Ok(groups
            .into_iter()
            .map(|((key, bucket), (calls, errors, durations))| {
                let (p50, p95, p99) = quantiles(durations);
                RedRow {
                    key,
                    bucket,
                    calls,
                    errors,
                    p50,
                    p95,
                    p99,
                }
            })
            .collect())
    }

    async fn errors(&self, q: &ErrorQuery) -> StoreResult<Vec<ErrorRow>> {
        let mut groups: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
        for s in self.spans_in(q.range) {
            if !s.has_error || s.service() != q.service {
                continue;
            }
            // No status message: the exception event names the error.
            let message = if s.status_message.is_empty() {
                crate::structured::exception_summary(&s.events)
            } else {
                s.status_message.clone()
            };
            let g = groups
                .entry((s.name.clone(), message))
                .or_insert((0, s.trace_id.clone()));
            g.0 += 1;
            if s.trace_id < g.1 {
                g.1 = s.trace_id.clone();
            }
        }
        let mut rows: Vec<ErrorRow> = groups
            .into_iter()
            .map(|((operation, message), (count, trace_id))| ErrorRow {
                operation,
                message,
                count,
                trace_id,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.operation.cmp(&b.operation))
                .then_with(|| a.message.cmp(&b.message))
        });
        rows.truncate(q.limit);
        Ok(rows)
    }

    async fn spans(&self, q: &SpanQuery) -> StoreResult<Vec<SpanRow>> {
        let mut rows: Vec<&SpanRow> = self
            .spans_in(q.range)
            .iter()
            .filter(|s| q.service.as_deref().is_none_or(|svc| s.service() == svc))
            .filter(|s| q.operation.as_deref().is_none_or(|op| s.name == op))
            .filter(|s| q.min_duration.is_none_or(|d| s.duration_nano >= d))
            .filter(|s| !q.errors_only || s.has_error)
            .filter(|s| {
                q.attributes.iter().all(|f| {
                    f.matches(
                        &s.attributes_string,
                        &s.attributes_number,
                        &s.attributes_bool,
                        &s.resources_string,
                    )
                })
            })
            .collect();
        sort_spans(&mut rows, q.order);
        Ok(rows.into_iter().take(q.limit).cloned().collect())
    }

    async fn trace(&self, trace_id: &str, limit: usize) -> StoreResult<Vec<SpanRow>> {
        let id = trace_id.to_ascii_lowercase();
        Ok(self
            .spans
            .iter()
            .filter(|s| s.trace_id == id)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn dependencies(&self, range: TimeRange) -> StoreResult<CallGraph> {
        let spans = self.spans_in(range);
        let mut by_id: HashMap<(&str, &str), Vec<&SpanRow>> = HashMap::new();
        for s in spans {
            by_id
                .entry((s.trace_id.as_str(), s.span_id.as_str()))
                .or_default()
                .push(s);
        }
        // Spans with a child in another service: the calls a callee answered.
        let mut answered: HashSet<(&str, &str)> = HashSet::new();
        // Calls, errors, the callee's durations, the client parents' durations and errors.
        type Acc = (u64, u64, Vec<f64>, Vec<f64>, u64);
        let mut edges: BTreeMap<(String, String, bool, String), Acc> = BTreeMap::new();
        for s in spans {
            if !s.parent_span_id.is_empty()
                && let Some(parents) = by_id.get(&(s.trace_id.as_str(), s.parent_span_id.as_str()))
            {
                for parent in parents {
                    if parent.service() != s.service() {
                        answered.insert((s.trace_id.as_str(), s.parent_span_id.as_str()));
                        let e = edges
                            .entry((
                                parent.service().to_string(),
                                s.service().to_string(),
                                false,
                                String::new(),
                            ))
                            .or_default();
                        e.0 += 1;
                        e.1 += u64::from(s.has_error);
                        e.2.push(s.duration_nano as f64);
                        if parent.kind == span_kind::CLIENT {
                            e.3.push(parent.duration_nano as f64);
                            e.4 += u64::from(parent.has_error);
                        }
                    }
                }
            }
            if s.kind == span_kind::CLIENT
                && let Some(db) = s
                    .attributes_string
                    .get("db.system")
                    .filter(|d| !d.is_empty())
            {
                let e = edges
                    .entry((s.service().to_string(), db.clone(), true, db_server(s)))
                    .or_default();
                e.0 += 1;
                e.1 += u64::from(s.has_error);
                e.2.push(s.duration_nano as f64);
                e.3.push(s.duration_nano as f64);
                e.4 += u64::from(s.has_error);
            }
        }
        // Client spans no other service answered, by caller and peer; the fourth
        // slot counts the connection failures among them.
        type Lost = (u64, u64, Vec<f64>, u64);
        let mut lost: BTreeMap<(String, String), Lost> = BTreeMap::new();
        for s in spans {
            if s.kind != span_kind::CLIENT
                || s.attributes_string
                    .get("db.system")
                    .is_some_and(|d| !d.is_empty())
                || answered.contains(&(s.trace_id.as_str(), s.span_id.as_str()))
            {
                continue;
            }
            let Some(peer) = crate::model::peer_of(&s.attributes_string) else {
                continue;
            };
            let e = lost.entry((s.service().to_string(), peer)).or_default();
            e.0 += 1;
            e.1 += u64::from(s.has_error);
            e.2.push(s.duration_nano as f64);
            e.3 += u64::from(s.has_error && connection_failed(s));
        }
        let mut edges: Vec<EdgeRow> = edges
            .into_iter()
            .map(
                |((parent, child, external, server), (calls, errors, d, client, client_errors))| {
                    EdgeRow {
                        external,
                        server,
                        client_errors: (!client.is_empty()).then_some(client_errors),
                        client_p99: (!client.is_empty()).then(|| quantiles(client).2),
                        ..EdgeRow::new(parent, child, calls, errors, quantiles(d).2)
                    }
                },
            )
            .collect();
        let services: BTreeSet<String> = self
            .spans_in(range.with_previous())
            .iter()
            .map(|s| s.service().to_string())
            .collect();
        let lost = lost
            .into_iter()
            .map(
                |((parent, peer), (calls, errors, d, conn_errors))| UnreachedRow {
                    parent,
                    peer,
                    calls,
                    errors,
                    p99: quantiles(d).2,
                    conn_errors,
                },
            )
            .collect();
        crate::model::merge_unreached(&mut edges, lost, &services);
        Ok(CallGraph {
            edges,
            range,
            aggregated: false,
        })
    }

    async fn logs(&self, q: &LogQuery) -> StoreResult<Vec<LogRow>> {
        let re = match &q.regex {
            Some(r) => Some(
                regex::Regex::new(r)
                    .map_err(|e| StoreError::Invalid(format!("bad regex `{r}`: {e}")))?,
            ),
            None => None,
        };
        let trace = q.trace_id.as_deref().map(str::to_ascii_lowercase);
        let mut rows: Vec<&LogRow> = self
            .logs_in(q.range)
            .iter()
            .filter(|l| q.service.as_deref().is_none_or(|svc| l.service() == svc))
            .filter(|l| {
                q.min_severity
                    .is_none_or(|n| crate::severity::effective_severity(l) >= n)
            })
            .filter(|l| {
                // The exception attributes hold the text of exception-only
                // records (body "Request failed"), and the stack trace its
                // cause chain (`Caused by: … max_client_conn`, shown as
                // `← caused by`): searched too.
                q.contains.as_deref().is_none_or(|c| {
                    contains_ascii_ci(&l.body, c)
                        || crate::model::SEARCHED_EXCEPTION_KEYS.iter().any(|k| {
                            l.attributes_string
                                .get(*k)
                                .is_some_and(|v| contains_ascii_ci(v, c))
                        })
                })
            })
            .filter(|l| re.as_ref().is_none_or(|re| re.is_match(&l.body)))
            .filter(|l| trace.as_deref().is_none_or(|t| l.trace_id == t))
            .filter(|l| {
                q.attributes.iter().all(|f| {
                    f.matches(
                        &l.attributes_string,
                        &l.attributes_number,
                        &l.attributes_bool,
                        &l.resources_string,
                    )
                })
            })
            .collect();
        sort_logs(&mut rows, q.order);
        Ok(rows.into_iter().take(q.limit).cloned().collect())
    }

    async fn metrics(
        &self,
        range: TimeRange,
        contains: Option<&str>,
    ) -> StoreResult<Vec<MetricInfo>> {
        let mut out: BTreeMap<String, MetricInfo> = BTreeMap::new();
        for s in self.series.values() {
            if contains.is_some_and(|c| !contains_ascii_ci(&s.metric_name, c))
                || !self.series_active(s.fingerprint, range)
            {
                continue;
            }
            out.entry(s.metric_name.clone())
                .or_insert_with(|| MetricInfo {
                    name: s.metric_name.clone(),
                    kind: s.kind.clone(),
                    unit: s.unit.clone(),
                    temporality: s.temporality.clone(),
                    is_monotonic: s.is_monotonic,
                    series: 0,
                    description: s.description.clone(),
                })
                .series += 1;
        }
        Ok(out.into_values().collect())
    }

    async fn metric_series(&self, q: &SeriesQuery) -> StoreResult<Vec<SeriesRow>> {
        Ok(self
            .series
            .values()
            .filter(|s| s.metric_name == q.metric && self.series_active(s.fingerprint, q.range))
            .take(q.limit)
            .cloned()
            .collect())
    }

    async fn metric_steps(&self, q: &MetricQuery) -> StoreResult<MetricSteps> {
        let step_ms = (q.step / 1_000_000).max(1);
        let start_ms = q.range.start / 1_000_000;
        let end_ms = q.range.end / 1_000_000;
        let series: BTreeMap<u64, SeriesRow> = self
            .series
            .values()
            .filter(|s| s.metric_name == q.metric && self.series_active(s.fingerprint, q.range))
            .filter(|s| {
                q.filters
                    .iter()
                    .all(|f| s.labels.get(&f.key) == Some(&f.value))
            })
            .take(q.max_series)
            .map(|s| (s.fingerprint, s.clone()))
            .collect();
        let mut steps = Vec::new();
        for fp in series.keys() {
            let mut current: Option<StepRow> = None;
            for s in self.samples_of(*fp) {
                if s.unix_milli < start_ms - step_ms || s.unix_milli >= end_ms || !s.has_value() {
                    continue;
                }
                let idx = (s.unix_milli - start_ms).div_euclid(step_ms);
                match &mut current {
                    Some(c) if c.step == idx => {
                        c.count += 1;
                        c.min = c.min.min(s.value);
                        c.max = c.max.max(s.value);
                        c.sum += s.value;
                        c.last = s.value;
                    }
                    _ => {
                        if let Some(done) = current.take() {
                            steps.push(done);
                        }
                        current = Some(StepRow {
                            fingerprint: *fp,
                            step: idx,
                            count: 1,
                            min: s.value,
                            max: s.value,
                            sum: s.value,
                            last: s.value,
                        });
                    }
                }
            }
            steps.extend(current);
        }
        Ok(MetricSteps { series, steps })
    }

    async fn raw_sql(&self, _sql: &str, _max_rows: usize) -> StoreResult<String> {
        Err(StoreError::Unsupported(
            "raw SQL needs the ClickHouse store; the embedded store has no SQL engine".into(),
        ))
    }
}

fn sort_spans(rows: &mut [&SpanRow], order: Order) {
    match order {
        Order::Newest => rows.sort_by(|a, b| {
            b.timestamp
                .cmp(&a.timestamp)
                .then_with(|| a.span_id.cmp(&b.span_id))
        }),
        Order::Oldest => rows.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then_with(|| a.span_id.cmp(&b.span_id))
        }),
        Order::Slowest => rows.sort_by(|a, b| {
            b.duration_nano
                .cmp(&a.duration_nano)
                .then_with(|| a.span_id.cmp(&b.span_id))
        }),
    }
}

fn sort_logs(rows: &mut [&LogRow], order: Order) {
    let tie = |a: &LogRow, b: &LogRow| {
        a.service()
            .cmp(b.service())
            .then_with(|| a.body.cmp(&b.body))
    };
    match order {
        Order::Oldest => rows.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| tie(a, b))),
        Order::Newest | Order::Slowest => {
            rows.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| tie(a, b)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A telemetry folder someone sent may link to files elsewhere: only the folder's own
    /// files are loaded, and errors name files relative to it.
    #[cfg(unix)]
    #[test]
    fn a_telemetry_folder_reads_nothing_outside_itself() {
        use std::os::unix::fs::symlink;
        let line = |svc: &str| {
            format!(
                r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{svc}"}}}}]}},"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"1767225600000000000","severityText":"ERROR","body":{{"stringValue":"boom"}}}}]}}]}}]}}"#
            )
        };
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("logs.jsonl"), line("stolen")).unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::write(r.join("logs.jsonl"), line("inside")).unwrap();
        symlink(outside.path().join("logs.jsonl"), r.join("more.jsonl")).unwrap();
        symlink(outside.path(), r.join("elsewhere")).unwrap();
        symlink(r, r.join("loop")).unwrap();

        let store = EmbeddedStore::load_dir(r).unwrap();
        let services: Vec<String> = store
            .telemetry()
            .logs
            .iter()
            .map(|l| l.service().to_string())
            .collect();
        assert_eq!(services, ["inside"]);

        std::fs::write(r.join("broken.jsonl"), "{ not json").unwrap();
        let err = EmbeddedStore::load_dir(r).err().unwrap().to_string();
        assert!(err.contains("broken.jsonl"), "{err}");
        assert!(
            !err.contains(&r.canonicalize().unwrap().display().to_string()),
            "{err}"
        );
    }
}
