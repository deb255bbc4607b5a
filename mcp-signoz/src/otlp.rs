//! Reading telemetry files into SigNoz rows, the way SigNoz's collector
//! writes them.
//!
//! Two formats, one object per line, told apart line by line:
//!
//! * **OTLP/JSON** as the OpenTelemetry Collector's `file` exporter writes it
//!   (`{"resourceLogs": …}`, `{"resourceSpans": …}`, `{"resourceMetrics": …}`);
//!   a whole file holding one pretty-printed OTLP object also works.
//! * **SigNoz rows** as `clickhouse-client … FORMAT JSONEachRow` exports them
//!   from `logs_v2` (has `body`), `signoz_index_v3` (has `duration_nano`),
//!   `time_series_v4` (has `metric_name` and `labels`) or `samples_v4` (has
//!   `value`).
//!
//! The mapping follows SigNoz's exporters: string attributes go to
//! `attributes_string`, int and double to `attributes_number`, bool to
//! `attributes_bool`, arrays and maps to `attributes_string` as JSON; resource
//! attributes all to `resources_string`; span events to `events`, one JSON
//! object each with its attributes as strings (`attributeMap`). A span is an
//! error when its status code is 2 (`STATUS_CODE_ERROR`). Histograms become
//! the series `<name>.count`, `<name>.sum` and `<name>.bucket` (with an `le`
//! label, cumulative counts).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{LogRow, SampleRow, SeriesRow, SpanRow, Telemetry};

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

#[derive(Default)]
struct Attrs {
    strings: BTreeMap<String, String>,
    numbers: BTreeMap<String, f64>,
    bools: BTreeMap<String, bool>,
}

fn any_value_text(v: &Value) -> String {
    if let Some(s) = v.get("stringValue").and_then(Value::as_str) {
        return s.to_string();
    }
    if let Some(n) = number_of(v) {
        return fmt_number(n);
    }
    if let Some(b) = v.get("boolValue").and_then(Value::as_bool) {
        return b.to_string();
    }
    if let Some(a) = v.get("arrayValue") {
        let items: Vec<Value> = a
            .get("values")
            .and_then(Value::as_array)
            .map(|vs| vs.iter().map(any_value_json).collect())
            .unwrap_or_default();
        return Value::Array(items).to_string();
    }
    if v.get("kvlistValue").is_some() {
        return any_value_json(v).to_string();
    }
    if let Some(b) = v.get("bytesValue").and_then(Value::as_str) {
        return b.to_string();
    }
    String::new()
}

fn any_value_json(v: &Value) -> Value {
    if let Some(s) = v.get("stringValue").and_then(Value::as_str) {
        return Value::String(s.to_string());
    }
    if let Some(n) = number_of(v) {
        return serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
    }
    if let Some(b) = v.get("boolValue").and_then(Value::as_bool) {
        return Value::Bool(b);
    }
    if let Some(a) = v.get("arrayValue") {
        return Value::Array(
            a.get("values")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(any_value_json).collect())
                .unwrap_or_default(),
        );
    }
    if let Some(kv) = v.get("kvlistValue") {
        let mut map = serde_json::Map::new();
        for item in kv
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = item.get("key").and_then(Value::as_str) {
                map.insert(
                    k.to_string(),
                    item.get("value").map(any_value_json).unwrap_or(Value::Null),
                );
            }
        }
        return Value::Object(map);
    }
    Value::Null
}

fn number_of(v: &Value) -> Option<f64> {
    if let Some(i) = v.get("intValue") {
        return match i {
            Value::String(s) => s.parse::<i64>().ok().map(|i| i as f64),
            other => other.as_f64(),
        };
    }
    v.get("doubleValue").and_then(|d| match d {
        Value::String(s) => s.parse().ok(),
        other => other.as_f64(),
    })
}

/// Numbers as ClickHouse prints Float64: integers without a fraction.
pub fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn attrs(list: Option<&Value>) -> Attrs {
    let mut out = Attrs::default();
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        let (Some(key), Some(value)) = (kv.get("key").and_then(Value::as_str), kv.get("value"))
        else {
            continue;
        };
        if let Some(b) = value.get("boolValue").and_then(Value::as_bool) {
            out.bools.insert(key.to_string(), b);
        } else if let Some(n) = number_of(value) {
            out.numbers.insert(key.to_string(), n);
        } else {
            out.strings.insert(key.to_string(), any_value_text(value));
        }
    }
    out
}

fn resource(list: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(key), Some(value)) = (kv.get("key").and_then(Value::as_str), kv.get("value")) {
            out.insert(key.to_string(), any_value_text(value));
        }
    }
    out
}

fn nanos(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(other) => other
            .as_i64()
            .or_else(|| other.as_u64().map(|u| u as i64))
            .unwrap_or(0),
        None => 0,
    }
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// SigNoz's severity text for an OTLP severity number, when none was sent.
pub fn severity_text(number: u8) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    }
}

fn span_kind(v: Option<&Value>) -> i8 {
    match v {
        Some(Value::String(s)) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            _ => 0,
        },
        Some(other) => other.as_i64().unwrap_or(0) as i8,
        None => 0,
    }
}

fn status_code(v: Option<&Value>) -> i16 {
    match v {
        Some(Value::String(s)) => match s.as_str() {
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            _ => 0,
        },
        Some(other) => other.as_i64().unwrap_or(0) as i16,
        None => 0,
    }
}

/// 64-bit FNV-1a of a metric name and its sorted labels: the series id.
pub fn fingerprint(name: &str, labels: &BTreeMap<String, String>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(name.as_bytes());
    for (k, v) in labels {
        eat(k.as_bytes());
        eat(v.as_bytes());
    }
    h
}

/// A span event as SigNoz's traces exporter stores it in `events`: a JSON
/// object with the name, time, attributes as strings, and `isError` for the
/// exception event of an error span.
fn signoz_event(e: &Value, span_error: bool) -> String {
    let name = e.get("name").and_then(Value::as_str).unwrap_or("");
    let mut attrs = serde_json::Map::new();
    for kv in items(e, "attributes") {
        if let (Some(key), Some(value)) = (kv.get("key").and_then(Value::as_str), kv.get("value")) {
            attrs.insert(key.to_string(), Value::String(any_value_text(value)));
        }
    }
    let mut ev = serde_json::Map::new();
    ev.insert("name".into(), Value::String(name.to_string()));
    ev.insert(
        "timeUnixNano".into(),
        Value::from(nanos(e.get("timeUnixNano")).max(0) as u64),
    );
    if !attrs.is_empty() {
        ev.insert("attributeMap".into(), Value::Object(attrs));
    }
    if span_error && name == "exception" {
        ev.insert("isError".into(), Value::Bool(true));
    }
    Value::Object(ev).to_string()
}

/// Adds the contents of one OTLP/JSON object to `out`.
pub fn add_otlp(v: &Value, out: &mut Telemetry) {
    for rl in items(v, "resourceLogs") {
        let res = resource(rl.get("resource").and_then(|r| r.get("attributes")));
        for sl in items(rl, "scopeLogs") {
            let scope = sl
                .get("scope")
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            for lr in items(sl, "logRecords") {
                let a = attrs(lr.get("attributes"));
                let mut ts = nanos(lr.get("timeUnixNano"));
                if ts == 0 {
                    ts = nanos(lr.get("observedTimeUnixNano"));
                }
                let number = lr
                    .get("severityNumber")
                    .and_then(|n| {
                        n.as_u64()
                            .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
                    })
                    .unwrap_or(0)
                    .min(24) as u8;
                let text = lr
                    .get("severityText")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(severity_text(number));
                let body = lr.get("body").map(any_value_text).unwrap_or_default();
                out.logs.push(LogRow {
                    timestamp: ts,
                    trace_id: lr
                        .get("traceId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                    span_id: lr
                        .get("spanId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                    severity_text: text.to_string(),
                    severity_number: number,
                    body,
                    attributes_string: a.strings,
                    attributes_number: a.numbers,
                    attributes_bool: a.bools,
                    resources_string: res.clone(),
                    scope_name: scope.to_string(),
                });
            }
        }
    }
    for rs in items(v, "resourceSpans") {
        let res = resource(rs.get("resource").and_then(|r| r.get("attributes")));
        for ss in items(rs, "scopeSpans") {
            for sp in items(ss, "spans") {
                let a = attrs(sp.get("attributes"));
                let start = nanos(sp.get("startTimeUnixNano"));
                let end = nanos(sp.get("endTimeUnixNano"));
                let status = sp.get("status");
                let code = status_code(status.and_then(|s| s.get("code")));
                out.spans.push(SpanRow {
                    timestamp: start,
                    trace_id: sp
                        .get("traceId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                    span_id: sp
                        .get("spanId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                    parent_span_id: sp
                        .get("parentSpanId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                    name: sp
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    kind: span_kind(sp.get("kind")),
                    duration_nano: (end - start).max(0) as u64,
                    status_code: code,
                    status_message: status
                        .and_then(|s| s.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    has_error: code == 2,
                    attributes_string: a.strings,
                    attributes_number: a.numbers,
                    attributes_bool: a.bools,
                    resources_string: res.clone(),
                    events: items(sp, "events")
                        .map(|e| signoz_event(e, code == 2))
                        .collect(),
                });
            }
        }
    }
    for rm in items(v, "resourceMetrics") {
        let res = resource(rm.get("resource").and_then(|r| r.get("attributes")));
        for sm in items(rm, "scopeMetrics") {
            for m in items(sm, "metrics") {
                add_metric(m, &res, out);
            }
        }
    }
}

fn temporality(data: &Value) -> &'static str {
    match data.get("aggregationTemporality") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => "Delta",
        Some(Value::Number(n)) if n.as_u64() == Some(2) => "Cumulative",
        Some(Value::String(s)) if s == "AGGREGATION_TEMPORALITY_DELTA" => "Delta",
        Some(Value::String(s)) if s == "AGGREGATION_TEMPORALITY_CUMULATIVE" => "Cumulative",
        _ => "Unspecified",
    }
}

struct MetricMeta<'a> {
    name: String,
    kind: &'a str,
    temporality: &'a str,
    monotonic: bool,
    unit: &'a str,
    description: &'a str,
}

fn push_point(
    meta: &MetricMeta<'_>,
    res: &BTreeMap<String, String>,
    point_labels: &BTreeMap<String, String>,
    ts_ns: i64,
    (value, flags): (f64, u32),
    out: &mut Telemetry,
) {
    let mut labels = res.clone();
    labels.extend(point_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("__name__".into(), meta.name.clone());
    labels.insert("__temporality__".into(), meta.temporality.into());
    let fp = fingerprint(&meta.name, &labels);
    if !out
        .series
        .iter()
        .rev()
        .take(64)
        .any(|s| s.fingerprint == fp)
    {
        out.series.push(SeriesRow {
            metric_name: meta.name.clone(),
            temporality: meta.temporality.into(),
            kind: meta.kind.into(),
            is_monotonic: meta.monotonic,
            unit: meta.unit.into(),
            description: meta.description.into(),
            fingerprint: fp,
            labels,
        });
    }
    out.samples.push(SampleRow {
        fingerprint: fp,
        unix_milli: ts_ns / 1_000_000,
        value,
        flags,
    });
}

/// A data point's `flags` (bit 0: no recorded value), as SigNoz stores them.
fn point_flags(dp: &Value) -> u32 {
    dp.get("flags")
        .and_then(|f| f.as_u64().or_else(|| f.as_str()?.parse().ok()))
        .and_then(|f| u32::try_from(f).ok())
        .unwrap_or(0)
}

fn add_metric(m: &Value, res: &BTreeMap<String, String>, out: &mut Telemetry) {
    let name = m.get("name").and_then(Value::as_str).unwrap_or("");
    let unit = m.get("unit").and_then(Value::as_str).unwrap_or("");
    let description = m.get("description").and_then(Value::as_str).unwrap_or("");
    let point_labels = |dp: &Value| -> BTreeMap<String, String> { resource(dp.get("attributes")) };
    let scalar = |dp: &Value| -> f64 {
        dp.get("asDouble")
            .and_then(|d| d.as_f64().or_else(|| d.as_str()?.parse().ok()))
            .or_else(|| {
                dp.get("asInt")
                    .and_then(|i| i.as_f64().or_else(|| i.as_str()?.parse().ok()))
            })
            .unwrap_or(0.0)
    };
    // A gauge and a sum are both one value per point; only their metadata
    // differs: (data, kind, temporality, monotonic).
    let single = match (m.get("gauge"), m.get("sum")) {
        (Some(g), _) => Some((g, "Gauge", "Unspecified", false)),
        (None, Some(s)) => Some((
            s,
            "Sum",
            temporality(s),
            s.get("isMonotonic").and_then(Value::as_bool) == Some(true),
        )),
        (None, None) => None,
    };
    if let Some((data, kind, temporality, monotonic)) = single {
        let meta = MetricMeta {
            name: name.into(),
            kind,
            temporality,
            monotonic,
            unit,
            description,
        };
        for dp in items(data, "dataPoints") {
            let ts = nanos(dp.get("timeUnixNano"));
            push_point(
                &meta,
                res,
                &point_labels(dp),
                ts,
                (scalar(dp), point_flags(dp)),
                out,
            );
        }
    } else if let Some(h) = m.get("histogram") {
        let t = temporality(h);
        for dp in items(h, "dataPoints") {
            let ts = nanos(dp.get("timeUnixNano"));
            let labels = point_labels(dp);
            let num = |k: &str| {
                dp.get(k)
                    .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
                    .unwrap_or(0.0)
            };
            for (suffix, value) in [("count", num("count")), ("sum", num("sum"))] {
                let meta = MetricMeta {
                    name: format!("{name}.{suffix}"),
                    kind: "Histogram",
                    temporality: t,
                    monotonic: true,
                    unit,
                    description,
                };
                push_point(&meta, res, &labels, ts, (value, point_flags(dp)), out);
            }
            let bounds: Vec<f64> = items(dp, "explicitBounds")
                .filter_map(Value::as_f64)
                .collect();
            let counts: Vec<f64> = items(dp, "bucketCounts")
                .filter_map(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
                .collect();
            let meta = MetricMeta {
                name: format!("{name}.bucket"),
                kind: "Histogram",
                temporality: t,
                monotonic: true,
                unit,
                description,
            };
            let mut cumulative = 0.0;
            for (i, c) in counts.iter().enumerate() {
                cumulative += c;
                let le = bounds
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| fmt_number(*b));
                let mut l = labels.clone();
                l.insert("le".into(), le);
                push_point(&meta, res, &l, ts, (cumulative, point_flags(dp)), out);
            }
        }
    }
}

/// Adds one line (or whole-file object) in either format to `out`.
pub fn add_line(line: &str, out: &mut Telemetry) -> Result<(), ParseError> {
    let v: Value = serde_json::from_str(line).map_err(|e| ParseError(e.to_string()))?;
    add_value(v, out)
}

fn add_value(v: Value, out: &mut Telemetry) -> Result<(), ParseError> {
    let Some(obj) = v.as_object() else {
        return Err(ParseError("expected a JSON object".into()));
    };
    let de = |e: serde_json::Error| ParseError(e.to_string());
    if obj.contains_key("resourceLogs")
        || obj.contains_key("resourceSpans")
        || obj.contains_key("resourceMetrics")
    {
        add_otlp(&v, out);
    } else if obj.contains_key("duration_nano") {
        let mut row: SpanRow = serde_json::from_value(v).map_err(de)?;
        row.has_error = row.has_error || row.status_code == 2;
        out.spans.push(row);
    } else if obj.contains_key("body") {
        let json_body = obj
            .get("body_v2")
            .map(|b| match b {
                // An export writes the JSON column as an object; a string is
                // its text already.
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|b| !crate::schema::json_body_is_empty(b));
        let mut row: LogRow = serde_json::from_value(v).map_err(de)?;
        // With SigNoz's JSON-body feature on, `body` is written empty and the
        // record's body lives in `body_v2`: read it as ClickHouse does.
        if row.body.is_empty()
            && let Some(b) = json_body
        {
            row.body = b;
        }
        out.logs.push(row);
    } else if obj.contains_key("metric_name") && obj.contains_key("labels") {
        let mut v = v;
        // SigNoz stores labels as a JSON string.
        if let Some(Value::String(s)) = v.get("labels") {
            let parsed: Value = serde_json::from_str(s).map_err(de)?;
            v["labels"] = parsed;
        }
        let row: SeriesRow = serde_json::from_value(v).map_err(de)?;
        if !out.series.iter().any(|s| s.fingerprint == row.fingerprint) {
            out.series.push(row);
        }
    } else if obj.contains_key("value") && obj.contains_key("fingerprint") {
        out.samples.push(serde_json::from_value(v).map_err(de)?);
    } else {
        return Err(ParseError(
            "neither OTLP/JSON (resourceLogs/resourceSpans/resourceMetrics) nor a SigNoz row"
                .into(),
        ));
    }
    Ok(())
}

/// Reads a file's text: JSON lines, or one JSON document.
pub fn add_text(text: &str, out: &mut Telemetry) -> Result<(), ParseError> {
    let trimmed = text.trim_start();
    // An empty file is no telemetry, not a broken one: a Collector's file
    // exporter creates its file before the first batch, and an export of a
    // quiet window is empty.
    if trimmed.is_empty() {
        return Ok(());
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    if serde_json::from_str::<Value>(first).is_err() {
        // Not one object per line: a single (pretty-printed) document.
        let v: Value = serde_json::from_str(trimmed).map_err(|e| ParseError(e.to_string()))?;
        return add_value(v, out);
    }
    for (i, line) in trimmed.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        add_line(line, out).map_err(|e| ParseError(format!("line {}: {e}", i + 1)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_no_telemetry() {
        let mut t = Telemetry::default();
        add_text("", &mut t).unwrap();
        add_text("\n  \n", &mut t).unwrap();
        assert!(t.logs.is_empty() && t.spans.is_empty() && t.samples.is_empty());
        assert!(add_text("{not json", &mut t).is_err());
    }

    #[test]
    fn otlp_logs_spans_and_metrics_map_like_signoz() {
        let mut t = Telemetry::default();
        add_text(
            r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1000","severityNumber":17,"body":{"stringValue":"boom"},"attributes":[{"key":"n","value":{"intValue":"3"}},{"key":"ok","value":{"boolValue":true}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],"traceId":"ABCD"}]}]}]}
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[{"traceId":"t","spanId":"s","name":"GET /","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"10","endTimeUnixNano":"35","status":{"code":"STATUS_CODE_ERROR","message":"bad"},"events":[{"timeUnixNano":"20","name":"exception","attributes":[{"key":"exception.type","value":{"stringValue":"E"}},{"key":"exception.escaped","value":{"boolValue":true}}]}]}]}]}]}
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeMetrics":[{"metrics":[{"name":"lat","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"2000000","count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[0.5]}]}}]}]}]}
"#,
            &mut t,
        )
        .unwrap();
        let l = &t.logs[0];
        assert_eq!(
            (l.timestamp, l.severity_text.as_str(), l.trace_id.as_str()),
            (1000, "ERROR", "abcd")
        );
        assert_eq!(l.attributes_number["n"], 3.0);
        assert!(l.attributes_bool["ok"]);
        assert_eq!(l.attributes_string["tags"], r#"["a"]"#);
        assert_eq!(l.service(), "api");
        let s = &t.spans[0];
        assert_eq!((s.kind, s.duration_nano, s.has_error), (2, 25, true));
        // Events as SigNoz's exporter stores them: attribute values as strings.
        let ev: Value = serde_json::from_str(&s.events[0]).unwrap();
        assert_eq!(
            ev,
            serde_json::json!({"name": "exception", "timeUnixNano": 20, "isError": true,
                "attributeMap": {"exception.type": "E", "exception.escaped": "true"}})
        );
        let names: Vec<&str> = t.series.iter().map(|s| s.metric_name.as_str()).collect();
        assert_eq!(names, ["lat.count", "lat.sum", "lat.bucket", "lat.bucket"]);
        let le: Vec<&str> = t.series[2..]
            .iter()
            .map(|s| s.labels["le"].as_str())
            .collect();
        assert_eq!(le, ["0.5", "+Inf"]);
        let values: Vec<f64> = t.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [3.0, 1.5, 1.0, 3.0]);
    }

    #[test]
    fn signoz_rows_load_too() {
        let mut t = Telemetry::default();
        add_text(
            r#"{"timestamp":"2024-06-01 14:00:00.000000001","trace_id":"t","span_id":"s","parent_span_id":"","name":"x","kind":2,"duration_nano":5,"status_code":2,"resources_string":{"service.name":"a"}}
{"timestamp":7,"body":"hello","severity_text":"INFO","severity_number":9}"#,
            &mut t,
        )
        .unwrap();
        assert_eq!(t.spans[0].timestamp, 1_717_250_400_000_000_001);
        assert!(t.spans[0].has_error);
        assert_eq!(t.logs[0].body, "hello");
        assert!(add_text("{\"what\": 1}", &mut t).is_err());
    }
}
