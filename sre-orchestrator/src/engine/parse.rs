//! Readers for the text our MCP servers print.
//!
//! The servers answer in compact tables made for LLMs and people; the engine
//! reads the same text rather than a second, structured channel, so what the
//! engine concludes is exactly what a person or a model would see. The
//! formats are pinned by the servers' snapshot tests, and this crate's tests
//! run these readers on the servers' real output, so a format change breaks a
//! test rather than silently blinding the engine.
//!
//! Every reader is lenient: a line it does not understand is skipped, never
//! an error. A half-read table still gives evidence.

use std::collections::BTreeMap;

/// One row of a table, by column name.
pub type Row = BTreeMap<String, String>;

fn split_cols(line: &str, max: usize) -> Vec<String> {
    // Columns are separated by two or more spaces; the last column keeps
    // whatever spacing it has.
    let mut cols = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if cols.len() + 1 == max {
            cols.push(rest.trim_end().to_string());
            break;
        }
        match rest.find("  ") {
            Some(i) => {
                cols.push(rest[..i].to_string());
                rest = rest[i..].trim_start();
            }
            None => {
                cols.push(rest.trim_end().to_string());
                break;
            }
        }
    }
    cols
}

/// Reads the first table whose header starts with `first_col`: rows until a
/// blank line, a comment (`#`), a footer (`…`, `(`) or a framing tag.
pub fn table(text: &str, first_col: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header = loop {
        let Some(line) = lines.next() else {
            return Vec::new();
        };
        let cols = split_cols(line, usize::MAX);
        if cols.first().map(String::as_str) == Some(first_col) && cols.len() > 1 {
            break cols;
        }
    };
    let mut rows = Vec::new();
    for line in lines {
        let t = line.trim();
        if t.is_empty()
            || t.starts_with('#')
            || t.starts_with('…')
            || t.starts_with('(')
            || t.starts_with('<')
        {
            break;
        }
        let cols = split_cols(line, header.len());
        if cols.len() < 2 {
            continue;
        }
        rows.push(header.iter().cloned().zip(cols).collect());
    }
    rows
}

/// The last moment before (or at) `now` whose UTC time of day is `hms`
/// (`HH:MM:SS` or `HH:MM`): servers print clock times without a date when
/// everything they show lies within the last day.
pub fn clock(now: jiff::Timestamp, hms: &str) -> Option<jiff::Timestamp> {
    let time: jiff::civil::Time = hms.parse().ok()?;
    let utc = jiff::tz::TimeZone::UTC;
    let mut at = now
        .to_zoned(utc.clone())
        .date()
        .to_datetime(time)
        .to_zoned(utc)
        .ok()?;
    if at.timestamp() > now {
        at = at.checked_sub(jiff::SignedDuration::from_hours(24)).ok()?;
    }
    Some(at.timestamp())
}

/// Parses a relative age like `45m`, `45m ago`, `6d`, `12d04h`, `1h20m`,
/// `5s` into seconds.
pub fn age_secs(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches(" ago").trim();
    if t.is_empty() || t == "-" {
        return None;
    }
    let mut total = 0i64;
    let mut num = String::new();
    let mut any = false;
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        total += n * match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'y' => 31_536_000,
            _ => return None,
        };
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(total)
}

/// Parses a duration as printed by the servers (`130ms`, `1.56s`, `9.00ms`,
/// `850µs`, `2m3s`, `31.0s`, `4,070ms`) into milliseconds.
pub fn duration_ms(text: &str) -> Option<f64> {
    let t = text.trim().replace(',', "");
    if t.is_empty() || t == "-" {
        return None;
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit {
        "ns" => 1e-6,
        "µs" | "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(n * factor)
}

/// Parses `32.8%` (or `32.8`) into 32.8.
pub fn percent(text: &str) -> Option<f64> {
    // `100%*`: mcp-kubernetes' share of the limit of the containers that
    // set one, where a sidecar sets none.
    text.trim()
        .trim_end_matches('*')
        .trim_end_matches('%')
        .trim()
        .parse()
        .ok()
}

/// Parses a count with thousands separators or suffixes (`1,012`, `4.9M`,
/// `480.0k`).
pub fn count(text: &str) -> Option<f64> {
    let t = text.trim().replace(',', "");
    let (num, mult) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1e3),
        'M' => (&t[..t.len() - 1], 1e6),
        'G' | 'B' => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

/// Parses CPU quantities (`107m`, `2`, `3500m`) into millicores.
pub fn millicores(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => t.parse::<f64>().ok().map(|c| c * 1000.0),
    }
}

/// One finding of `workload_health`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthFinding {
    /// `CRITICAL`, `WARNING` or `INFO`.
    pub severity: String,
    /// Namespace, when the object has one.
    pub namespace: Option<String>,
    /// Object kind (`Deployment`, `Pod`, `Node`, …).
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Whether the finding is about the workload's pods.
    pub pods: bool,
    /// The reason (`CrashLoopBackOff`, `OOMKilled`, …).
    pub reason: String,
    /// How long ago it started, in seconds.
    pub since_secs: Option<i64>,
    /// The indented detail lines.
    pub details: Vec<String>,
}

/// Reads `workload_health` output.
pub fn health_findings(text: &str) -> Vec<HealthFinding> {
    let mut out: Vec<HealthFinding> = Vec::new();
    for line in text.lines() {
        if line.starts_with("    ") {
            if let Some(last) = out.last_mut() {
                last.details.push(line.trim().to_string());
            }
            continue;
        }
        let cols = split_cols(line, 4);
        if cols.len() < 3 || !matches!(cols[0].as_str(), "CRITICAL" | "WARNING" | "INFO") {
            continue;
        }
        let (object, pods) = match cols[1].strip_suffix(" (pods)") {
            Some(o) => (o, true),
            None => (cols[1].as_str(), false),
        };
        let parts: Vec<&str> = object.split('/').collect();
        let (namespace, kind, name) = match parts.as_slice() {
            [ns, kind, name] => (Some(ns.to_string()), kind.to_string(), name.to_string()),
            [kind, name] => (None, kind.to_string(), name.to_string()),
            _ => continue,
        };
        let since_secs = cols
            .get(3)
            .and_then(|s| s.strip_prefix("(since "))
            .and_then(|s| s.strip_suffix(')'))
            .and_then(age_secs);
        out.push(HealthFinding {
            severity: cols[0].clone(),
            namespace,
            kind,
            name,
            pods,
            reason: cols[2].clone(),
            since_secs,
            details: Vec::new(),
        });
    }
    out
}

/// One change between two revisions, from `rollout_history`.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionChange {
    /// The newer revision.
    pub to: i64,
    /// How long ago it was created, in seconds.
    pub ago_secs: Option<i64>,
    /// What changed, one item per change (`api image a → b`, …).
    pub items: Vec<String>,
}

/// Reads the "changes" section of `rollout_history`.
pub fn revision_changes(text: &str) -> Vec<RevisionChange> {
    let mut out = Vec::new();
    let mut in_changes = false;
    for line in text.lines() {
        if line.starts_with("changes") {
            in_changes = true;
            continue;
        }
        if !in_changes {
            continue;
        }
        // `  2 → 3 (45m ago): item; item`
        let t = line.trim();
        let Some((head, items)) = t.split_once("): ") else {
            continue;
        };
        let Some((revs, ago)) = head.split_once(" (") else {
            continue;
        };
        let to = revs
            .rsplit('→')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        out.push(RevisionChange {
            to,
            ago_secs: age_secs(ago),
            items: items.split("; ").map(str::to_string).collect(),
        });
    }
    out
}

/// The window and baseline rows and the verdict of `service_health`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceHealth {
    /// Error percentage, window and baseline.
    pub err_pct: (Option<f64>, Option<f64>),
    /// p99 in ms, window and baseline.
    pub p99_ms: (Option<f64>, Option<f64>),
    /// p50 in ms, window and baseline.
    pub p50_ms: (Option<f64>, Option<f64>),
    /// Calls, window and baseline.
    pub calls: (Option<f64>, Option<f64>),
    /// The verdict line.
    pub verdict: String,
    /// The window's entry spans per bucket (`Entry spans per 5m`).
    pub buckets: Vec<Bucket>,
    /// The buckets' width, seconds.
    pub bucket_secs: i64,
}

/// One bucket of `service_health`'s per-interval table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Start, `HH:MM:SS` (UTC).
    pub start: String,
    /// Entry spans.
    pub calls: f64,
    /// Error percentage (none without calls).
    pub err_pct: Option<f64>,
    /// p99, ms.
    pub p99_ms: Option<f64>,
}

impl ServiceHealth {
    /// p99 now over p99 in the baseline.
    pub fn p99_ratio(&self) -> Option<f64> {
        match self.p99_ms {
            (Some(now), Some(base)) if base > 0.0 => Some(now / base),
            _ => None,
        }
    }

    /// Whether its requests are slower than in the baseline: p99 twice the
    /// baseline's, or p50 three times. The median is the robust one: when
    /// the trouble began before the window, the baseline's tail already
    /// holds the slow requests (p99 8.6 s then, 8.9 s now) while its median
    /// is still the service's usual (817 ms, now 8.07 s). Either at 50 ms
    /// or more: a few milliseconds doubled is noise.
    pub fn slower(&self) -> bool {
        let rose = |(now, base): (Option<f64>, Option<f64>), by: f64| match (now, base) {
            (Some(now), Some(base)) => base > 0.0 && now >= by * base && now >= 50.0,
            _ => false,
        };
        rose(self.p99_ms, 2.0) || rose(self.p50_ms, 3.0)
    }

    /// The start (`HH:MM:SS`) of the bucket from which the service stayed
    /// degraded: errors 5 points above the baseline or p99 twice the
    /// baseline's, in that bucket and in most buckets with calls after it.
    /// A change made after that bucket ended came after the trouble began.
    pub fn degraded_since(&self) -> Option<&str> {
        let base_err = self.err_pct.1.unwrap_or(0.0);
        let base_p99 = self.p99_ms.1;
        let bad = |b: &Bucket| {
            b.calls >= 3.0
                && (b.err_pct.is_some_and(|e| e >= base_err + 5.0)
                    || matches!((b.p99_ms, base_p99), (Some(p), Some(base)) if base > 0.0 && p >= 2.0 * base && p >= base + 50.0))
        };
        let with_calls: Vec<&Bucket> = self.buckets.iter().filter(|b| b.calls >= 3.0).collect();
        (0..with_calls.len()).find_map(|i| {
            let rest = &with_calls[i..];
            let n_bad = rest.iter().filter(|b| bad(b)).count();
            (bad(with_calls[i]) && n_bad * 2 > rest.len()).then(|| with_calls[i].start.as_str())
        })
    }

    /// Whether its errors came as its latency fell: from the bucket it
    /// stayed degraded, most buckets' p99 is under half the baseline's
    /// while its error rate rose. Its callers give up sooner (a shorter
    /// deadline or timeout) and it records their cancellations: the errors
    /// are theirs, not its.
    pub fn cut_short(&self) -> bool {
        let (Some(since), Some(base)) = (self.degraded_since(), self.p99_ms.1) else {
            return false;
        };
        if self.err_delta() < 3.0 || base <= 0.0 {
            return false;
        }
        let after: Vec<f64> = self
            .buckets
            .iter()
            .skip_while(|b| b.start != since)
            .filter(|b| b.calls >= 3.0)
            .filter_map(|b| b.p99_ms)
            .collect();
        let short = after.iter().filter(|p| **p < 0.5 * base).count();
        !after.is_empty() && short * 2 > after.len()
    }

    /// Error-rate increase in percentage points.
    pub fn err_delta(&self) -> f64 {
        self.err_pct.0.unwrap_or(0.0) - self.err_pct.1.unwrap_or(0.0)
    }

    /// Traffic in the window over traffic in the baseline, from the call
    /// counts and the two windows' lengths (the printed rates have two
    /// decimals, too coarse at low traffic). `None` below 30 calls in the
    /// window, where a ratio means little.
    pub fn traffic_ratio(&self, window_secs: u64, baseline_secs: u64) -> Option<f64> {
        match self.calls {
            (Some(now), Some(base)) if now >= 30.0 && base > 0.0 => {
                Some((now / window_secs.max(1) as f64) / (base / baseline_secs.max(1) as f64))
            }
            _ => None,
        }
    }
}

/// Reads `service_health` output.
pub fn service_health(text: &str) -> ServiceHealth {
    let mut h = ServiceHealth {
        bucket_secs: 300,
        ..ServiceHealth::default()
    };
    let mut in_buckets = false;
    // The header has no first column; rows start with `window`/`baseline`,
    // so they are read by hand.
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Entry spans per ") {
            in_buckets = true;
            if let Some(secs) = rest
                .trim_end_matches(':')
                .strip_suffix('m')
                .and_then(|m| m.parse::<i64>().ok())
            {
                h.bucket_secs = secs * 60;
            }
            continue;
        }
        if in_buckets {
            let cols: Vec<&str> = line.split_whitespace().collect();
            match cols.first() {
                Some(&"TIME") => continue,
                Some(t) if t.len() == 8 && t.as_bytes().get(2) == Some(&b':') => {
                    h.buckets.push(Bucket {
                        start: (*t).to_string(),
                        calls: cols.get(1).and_then(|c| count(c)).unwrap_or(0.0),
                        err_pct: cols.get(3).and_then(|c| percent(c)),
                        p99_ms: cols.get(5).and_then(|c| duration_ms(c)),
                    });
                    continue;
                }
                _ => in_buckets = false,
            }
        }
        let cols = split_cols(line, 7);
        let which = match cols.first().map(String::as_str) {
            Some("window") => 0,
            Some("baseline") => 1,
            _ => {
                if let Some(v) = line.strip_prefix("Verdict: ") {
                    h.verdict = v.to_string();
                }
                continue;
            }
        };
        if cols.len() < 7 {
            continue;
        }
        let set = |slot: &mut (Option<f64>, Option<f64>), v: Option<f64>| {
            if which == 0 {
                slot.0 = v;
            } else {
                slot.1 = v;
            }
        };
        set(&mut h.calls, count(&cols[2]));
        set(&mut h.err_pct, percent(&cols[3]));
        set(&mut h.p50_ms, duration_ms(&cols[4]));
        set(&mut h.p99_ms, duration_ms(&cols[6]));
    }
    h
}

/// One template of `log_patterns`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPattern {
    /// `NEW`, `SURGED`, `GONE` or `STEADY`.
    pub kind: String,
    /// Lines in the baseline.
    pub base: f64,
    /// Lines in the window.
    pub now: f64,
    /// First time seen in the window (`HH:MM:SS`, UTC).
    pub first: Option<String>,
    /// Services that logged it.
    pub services: Vec<String>,
    /// The template.
    pub template: String,
    /// The first real line of it, for NEW and SURGED templates.
    pub example: Option<String>,
}

/// The exception a structured (JSON) log line records in fields of its
/// own, as `Type: message`: ECS and OpenTelemetry's flat `error.type` /
/// `error.message` and `exception.type` / `exception.message`, or an
/// object under `error`, `exception` or `err` (pino, Serilog, zap) with a
/// type, kind, class or name and a message. The line's text alone splits
/// the two, and most signatures are written against them together
/// (`ConnectTimeoutException: connection timed out after 1500 ms: …`).
pub fn structured_exception(line: &str) -> Option<String> {
    let body = line.trim();
    if !body.starts_with('{') {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(body).ok()?;
    fn text(v: Option<&serde_json::Value>) -> Option<&str> {
        v.and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
    const TYPES: &[&str] = &["type", "kind", "class", "name"];
    const MESSAGES: &[&str] = &["message", "msg"];
    for prefix in ["error", "exception", "err"] {
        let (ty, message) = match doc.get(prefix) {
            Some(obj) if obj.is_object() => (
                TYPES.iter().find_map(|k| text(obj.get(*k))),
                MESSAGES.iter().find_map(|k| text(obj.get(*k))),
            ),
            _ => (
                TYPES
                    .iter()
                    .find_map(|k| text(doc.get(format!("{prefix}.{k}")))),
                MESSAGES
                    .iter()
                    .find_map(|k| text(doc.get(format!("{prefix}.{k}")))),
            ),
        };
        if let (Some(ty), Some(message)) = (ty, message) {
            return Some(format!("{ty}: {message}"));
        }
    }
    None
}

/// Reads `log_patterns` output.
pub fn log_patterns(text: &str) -> Vec<LogPattern> {
    let mut out: Vec<LogPattern> = table(text, "KIND")
        .into_iter()
        .filter_map(|r| {
            Some(LogPattern {
                kind: r.get("KIND")?.clone(),
                base: count(r.get("BASE")?).unwrap_or(0.0),
                now: count(r.get("NOW")?).unwrap_or(0.0),
                first: r.get("FIRST").filter(|f| f.as_str() != "-").cloned(),
                services: r
                    .get("SERVICES")
                    .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
                    .unwrap_or_default(),
                template: r.get("TEMPLATE").cloned().unwrap_or_default(),
                example: None,
            })
        })
        .collect();
    // Examples come in the order of the NEW/SURGED rows.
    let mut examples = text
        .lines()
        .skip_while(|l| !l.starts_with("First line of each"))
        .skip(1)
        .filter_map(|l| {
            let (kind, rest) = l.split_once(' ')?;
            let (_, line) = rest.split_once(": ")?;
            matches!(kind, "NEW" | "SURGED").then(|| line.to_string())
        });
    for p in out
        .iter_mut()
        .filter(|p| p.kind == "NEW" || p.kind == "SURGED")
    {
        p.example = examples.next();
    }
    out
}

/// One edge of `service_dependencies`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edge {
    /// Calling service.
    pub caller: String,
    /// Called service (or `mongodb (db)`).
    pub callee: String,
    /// Whether the callee is a database.
    pub db: bool,
    /// Error percentage.
    pub err_pct: f64,
    /// p99 of the callee's spans, ms.
    pub p99_ms: Option<f64>,
    /// Calls.
    pub calls: f64,
    /// Errors.
    pub errors: f64,
    /// Client calls the callee never recorded: dropped, refused or denied
    /// before its code ran (0 when the table has no such column).
    pub unreached: f64,
    /// Failed calls the caller's client spans marked and the callee's own
    /// spans, recording the same calls, did not: answered, with something
    /// the callee does not count as its error (an HTTP 4xx), or too late
    /// for the caller's deadline.
    pub failed_as_answered: f64,
    /// For a database call: the server's address as the client's spans
    /// name it (`agro-pg-rw.agro-data.svc`), when they do.
    pub server: Option<String>,
}

/// Reads `service_dependencies` output.
pub fn edges(text: &str) -> Vec<Edge> {
    table(text, "CALLER")
        .into_iter()
        .filter_map(|r| {
            let callee = r.get("CALLEE")?;
            let (callee, db) = match callee.strip_suffix(" (db)") {
                Some(c) => (c.to_string(), true),
                None => (callee.clone(), false),
            };
            let calls = r.get("CALLS").and_then(|c| count(c)).unwrap_or(0.0);
            let errors = r.get("ERRORS").and_then(|c| count(c)).unwrap_or(0.0);
            let mut err_pct = r.get("ERR%").and_then(|e| percent(e)).unwrap_or(0.0);
            // The caller's own client spans erred more than the callee's spans did (it gave
            // up on answers that came late): the edge failed as the caller saw it.
            let client_errors = r.get("CLIENT-ERR").and_then(|c| count(c)).unwrap_or(0.0);
            let mut failed_as_answered = 0.0;
            let errors = if client_errors > errors && calls > 0.0 {
                err_pct = client_errors * 100.0 / calls;
                failed_as_answered = client_errors - errors;
                client_errors
            } else {
                errors
            };
            Some(Edge {
                caller: r.get("CALLER")?.clone(),
                callee,
                db,
                err_pct,
                p99_ms: r.get("P99").and_then(|d| duration_ms(d)),
                calls,
                errors,
                unreached: r.get("UNREACHED").and_then(|c| count(c)).unwrap_or(0.0),
                failed_as_answered,
                server: r
                    .get("SERVER")
                    .filter(|s| !s.is_empty() && *s != "-")
                    .cloned(),
            })
        })
        .collect()
}

/// The first RFC 3339 time in a log line's own text, within its first 120
/// bytes (`timestamp=2026-07-29T05:02:25.22Z level=error`, a JSON `"ts"`, a
/// leading stamp): the time a line carries when the runtime's prefix was
/// not asked for.
pub(super) fn time_in_line(line: &str) -> Option<jiff::Timestamp> {
    let stamp = |c: char| c.is_ascii_digit() || ":.-+TZ".contains(c);
    let mut prev_digit = false;
    for (i, c) in line.char_indices().take_while(|(i, _)| *i < 120) {
        let starts = c.is_ascii_digit() && !prev_digit;
        prev_digit = c.is_ascii_digit();
        if !starts {
            continue;
        }
        let token = line[i..].split(|c: char| !stamp(c)).next().unwrap_or("");
        let b = token.as_bytes();
        if b.len() >= 20
            && b.get(4) == Some(&b'-')
            && b.get(10) == Some(&b'T')
            && let Ok(at) = token.parse()
        {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_carries_its_own_time() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().ok();
        assert_eq!(
            time_in_line("timestamp=2026-07-29T05:02:25.226585Z level=error event=x"),
            at("2026-07-29T05:02:25.226585Z")
        );
        assert_eq!(
            time_in_line(r#"{"level":"error","ts":"2026-02-10T06:46:10+01:00","msg":"x"}"#),
            at("2026-02-10T05:46:10Z")
        );
        assert_eq!(time_in_line("order 12026-07-29T05:02:25Z"), None);
        assert_eq!(time_in_line("no time here, 2026-07-29 only"), None);
    }

    #[test]
    fn an_exception_in_fields_of_its_own_reads_as_type_and_message() {
        let ecs = r#"{"log.level":"ERROR","message":"fraud check failed","error.type":"io.netty.channel.ConnectTimeoutException","error.message":"connection timed out after 1500 ms: fraud-scorer.fraud.svc.cluster.local/172.20.202.63:8443"}"#;
        assert_eq!(
            structured_exception(ecs).as_deref(),
            Some(
                "io.netty.channel.ConnectTimeoutException: connection timed out after 1500 ms: fraud-scorer.fraud.svc.cluster.local/172.20.202.63:8443"
            )
        );
        let pino = r#"{"level":50,"msg":"request failed","err":{"type":"FetchError","message":"request to http://rates:8080/ failed, reason: connect ECONNREFUSED 10.96.4.2:8080","stack":"FetchError: …"}}"#;
        assert_eq!(
            structured_exception(pino).as_deref(),
            Some(
                "FetchError: request to http://rates:8080/ failed, reason: connect ECONNREFUSED 10.96.4.2:8080"
            )
        );
        // A message without a type, plain text, broken JSON: nothing.
        assert_eq!(structured_exception(r#"{"error.message":"boom"}"#), None);
        assert_eq!(structured_exception("ERROR boom: x"), None);
        assert_eq!(structured_exception(r#"{"error": {"type": "X""#), None);
    }

    /// A caller that gave up on a callee which answered late: the edge's errors are the
    /// caller's (CLIENT-ERR), not the callee's zero.
    #[test]
    fn client_side_errors_count_when_the_callee_recorded_none() {
        let text = "CALLER  CALLEE        CALLS    RATE  ERRORS  ERR%    P99  CLIENT-ERR\n\
vq-bff  queue-engine   3392  3.77/s       0  0.0%  2.94s        1542\n\
web     vq-bff         3000  3.33/s      12  0.4%  1.50s           8\n";
        let e = edges(text);
        assert_eq!(
            (e[0].errors, (e[0].err_pct * 10.0).round()),
            (1542.0, 455.0)
        );
        // Fewer client errors than the callee's own: the callee's count stands.
        assert_eq!((e[1].errors, e[1].err_pct), (12.0, 0.4));
    }

    #[test]
    fn ages_durations_and_quantities() {
        assert_eq!(age_secs("45m ago"), Some(2700));
        assert_eq!(age_secs("12d04h"), Some(12 * 86_400 + 4 * 3600));
        assert_eq!(age_secs("-"), None);
        assert_eq!(age_secs("soon"), None);
        assert_eq!(duration_ms("1.56s"), Some(1560.0));
        assert_eq!(duration_ms("4,070ms"), Some(4070.0));
        assert_eq!(duration_ms("850µs"), Some(0.85));
        assert_eq!(count("4.9M"), Some(4_900_000.0));
        assert_eq!(millicores("2"), Some(2000.0));
        assert_eq!(percent("32.8%"), Some(32.8));
    }

    #[test]
    fn tables_keep_the_last_column_whole_and_stop_at_footers() {
        let text = "# header\nA   B   C\n1   two  three  four\n5   6   7\n… 3 more\n8  9  10\n";
        let rows = table(text, "A");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["C"], "three  four");
        assert!(table(text, "Z").is_empty());
    }

    #[test]
    fn health_findings_with_details() {
        let text = "CRITICAL  shop/Deployment/cart (pods)  OOMKilled  (since 4m ago)\n    3 pods: a, b\nWARNING   Node/node-5  MemoryPressure  (since 31m ago)\nnoise\n";
        let f = health_findings(text);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].kind.as_str(), f[0].name.as_str(), f[0].pods),
            ("Deployment", "cart", true)
        );
        assert_eq!(f[0].since_secs, Some(240));
        assert_eq!(f[0].details, vec!["3 pods: a, b"]);
        assert_eq!(f[1].namespace, None);
    }

    #[test]
    fn the_bucket_from_which_a_service_stayed_degraded() {
        let text = "            RATE  CALLS   ERR%    P50    P95    P99
window    0.02/s     31  29.0%  466ms  668ms  675ms
baseline  0.02/s     83   0.0%  466ms  655ms  681ms
Verdict: error rate up 29.0 points (0.0% → 29.0%).

Entry spans per 2m:
TIME      CALLS  ERRORS    ERR%    P50    P99
19:09:46      3       0    0.0%  501ms  560ms
19:11:46      4       2   50.0%  211ms  211ms
19:13:46      3       0    0.0%  509ms  659ms
19:15:46      4       2   50.0%  497ms  557ms
19:17:46      3       3  100.0%  527ms  533ms
19:19:46      2       2  100.0%  302ms  325ms

Top erroring operations (all spans of the service):
";
        let h = service_health(text);
        assert_eq!(h.bucket_secs, 120);
        assert_eq!(h.buckets.len(), 6);
        // 19:11:46 is bad and most buckets with calls after it are too.
        assert_eq!(h.degraded_since(), Some("19:11:46"));
        let calm = service_health(&text.replace("50.0%", "0.0%").replace("100.0%", "0.0%"));
        assert_eq!(calm.degraded_since(), None);
    }

    #[test]
    fn revision_changes_and_service_health() {
        let history =
            "changes (newest first):\n  2 → 3 (45m ago): api image a → b; api env removed: X\n";
        let c = revision_changes(history);
        assert_eq!(c[0].to, 3);
        assert_eq!(c[0].ago_secs, Some(2700));
        assert_eq!(c[0].items.len(), 2);
        let health = "            RATE  CALLS   ERR%    P50    P95    P99\nwindow    0.20/s    180  32.8%  130ms  1.56s  1.60s\nbaseline  0.20/s    720   0.0%  108ms  143ms  147ms\nVerdict: bad.\n";
        let h = service_health(health);
        assert_eq!(h.calls, (Some(180.0), Some(720.0)));
        assert!((h.err_delta() - 32.8).abs() < 1e-9);
        assert!((h.p99_ratio().unwrap() - 1600.0 / 147.0).abs() < 1e-9);
        assert_eq!(h.verdict, "bad.");
        assert!(h.slower());
    }

    #[test]
    fn slower_by_its_median_when_the_baseline_tail_already_held_the_trouble() {
        let table = |window: &str, baseline: &str| {
            service_health(&format!(
                "            RATE  CALLS  ERR%    P50    P95    P99\nwindow    0.03/s     40  0.0%  {window}\nbaseline  0.09/s    312  0.0%  {baseline}\n"
            ))
        };
        // The tail was already slow (the trouble began before the window);
        // the median is ten times the usual.
        assert!(table("8.07s  8.79s  8.85s", "817ms  7.67s  8.58s").slower());
        // Three times a few milliseconds is noise.
        assert!(!table("12ms  20ms  30ms", "4ms  15ms  28ms").slower());
        // Neither moved.
        assert!(!table("820ms  7.70s  8.60s", "817ms  7.67s  8.58s").slower());
        // The tail alone doubled.
        assert!(table("820ms  7.70s  17.9s", "817ms  7.67s  8.58s").slower());
    }
}
