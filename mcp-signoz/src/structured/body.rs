//! Structured bodies: the message, error and level a JSON or logfmt body
//! carries, under the keys each logging library uses.

use serde_json::{Map, Value};

/// The fields of a JSON or logfmt body that matter to a reader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyFields {
    /// The human message, when the body has one.
    pub message: Option<String>,
    /// The level as written (`error`, `ERROR`, `50`).
    pub level: Option<String>,
    /// Error type.
    pub error_type: String,
    /// Error message.
    pub error_message: String,
    /// Stack trace text.
    pub stack: String,
    /// The other short scalar fields (`upstream=inventory`, `status=503`), in
    /// the body's order, without timestamps, levels and logger plumbing.
    pub context: Vec<(String, String)>,
}

/// Keys that are no context for a reader beyond the message, level, error
/// and stack keys read below: numeric levels, timestamps, and where the
/// logger ran.
const PLUMBING_KEYS: &[&str] = &[
    "level_value",
    "levelno",
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "t",
    "@t",
    "asctime",
    "date",
    "@version",
    "v",
    "ecs.version",
    "logger",
    "logger_name",
    "log.logger",
    "name",
    "caller",
    "thread",
    "thread_name",
    "process.thread.name",
    "pid",
    "hostname",
    "host",
    "trace_id",
    "span_id",
    "traceId",
    "spanId",
    "trace_flags",
    "dd.trace_id",
    "dd.span_id",
];

/// Whether `key` is read as something else than context, or is plumbing.
fn is_not_context(key: &str) -> bool {
    [
        MESSAGE_KEYS,
        LEVEL_KEYS,
        ERROR_KEYS,
        ERROR_TYPE_KEYS,
        ERROR_MESSAGE_KEYS,
        STACK_KEYS,
        PLUMBING_KEYS,
    ]
    .iter()
    .any(|keys| keys.contains(&key))
        || ERROR_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Most context fields shown, and most characters of each value.
const CONTEXT_FIELDS: usize = 8;
const CONTEXT_CHARS: usize = 80;

fn context_of<'a>(pairs: impl Iterator<Item = (&'a str, String)>) -> Vec<(String, String)> {
    pairs
        .filter(|(k, v)| !is_not_context(k) && !v.is_empty() && !v.contains('\n'))
        .take(CONTEXT_FIELDS)
        // Masked before the cut, so a cut secret cannot leak its prefix.
        .map(|(k, v)| (k.to_string(), crate::render::clip(&v, CONTEXT_CHARS)))
        .collect()
}

const MESSAGE_KEYS: &[&str] = &["message", "msg", "event", "@m", "@message", "@mt"];

/// Flat keys naming an error's type, most specific first.
const ERROR_TYPE_KEYS: &[&str] = &[
    "error.type",
    "exception.type",
    "error.kind",
    "error_class",
    "exception.class",
    "error.class",
    "exception_class",
    "err.type",
    "error_type",
];

/// Flat keys holding a stack trace, most specific first.
const STACK_KEYS: &[&str] = &[
    "error.stack_trace",
    "exception.stacktrace",
    "stack_trace",
    "stacktrace",
    "stack",
    "@x",
    "exc_info",
    "exc_text",
];

/// Keys holding a whole error: an object (pino's `err`, ECS's nested
/// `error`), an array (structlog's `exception`) or a text.
const ERROR_KEYS: &[&str] = &["error", "err", "exception", "exc"];

/// Flat keys holding an error's message.
const ERROR_MESSAGE_KEYS: &[&str] = &[
    "error.message",
    "exception.message",
    "error_message",
    "err.message",
    "exception_message",
];

/// Level keys, in the order both stores read them (see
/// [`crate::severity::SQL_EFFECTIVE_SEVERITY`]).
pub const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "log.level", "levelname", "@l"];

pub(super) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_str(o: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| o.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// Reads an error object: pino/bunyan `err`, ECS nested `error`, and the like.
fn error_object(o: &Map<String, Value>, f: &mut BodyFields) {
    if f.error_type.is_empty() {
        f.error_type =
            first_str(o, &["type", "name", "kind", "class", "exc_type"]).unwrap_or_default();
    }
    if f.error_message.is_empty() {
        f.error_message =
            first_str(o, &["message", "msg", "exc_value", "reason"]).unwrap_or_default();
    }
    if f.stack.is_empty() {
        f.stack =
            first_str(o, &["stack", "stack_trace", "stacktrace", "trace"]).unwrap_or_default();
    }
}

/// structlog's `dict_tracebacks`: `[{"exc_type", "exc_value", "frames": [...]}]`.
fn structlog_exception(items: &[Value], f: &mut BodyFields) {
    let Some(last) = items.last().and_then(Value::as_object) else {
        return;
    };
    error_object(last, f);
    if let Some(frame) = last
        .get("frames")
        .and_then(Value::as_array)
        .and_then(|fr| fr.last())
        .and_then(Value::as_object)
        && f.stack.is_empty()
    {
        let file = frame.get("filename").and_then(Value::as_str).unwrap_or("?");
        let line = frame
            .get("lineno")
            .map(|l| l.to_string())
            .unwrap_or_default();
        let name = frame.get("name").and_then(Value::as_str).unwrap_or("?");
        // Rendered like a traceback line, so the reader sees one form.
        f.stack = format!(
            "Traceback (most recent call last):\n  File \"{file}\", line {line}, in {name}"
        );
    }
}

fn json_fields(o: &Map<String, Value>) -> BodyFields {
    // Rust's tracing-subscriber (`fmt().json()`) nests the event's message and
    // fields under `fields`: `{"timestamp", "level", "fields": {"message":
    // "batch insert failed", "error": "…"}, "target"}`. Read them as if flat.
    if let Some(Value::Object(fields)) = o.get("fields")
        && MESSAGE_KEYS.iter().all(|k| !o.contains_key(*k))
    {
        let mut flat: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| k.as_str() != "fields")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in fields {
            flat.insert(k.clone(), v.clone());
        }
        return json_fields(&flat);
    }
    let mut f = BodyFields {
        message: first_str(o, MESSAGE_KEYS).map(|m| match o.get("@m") {
            // Serilog's compact JSON may carry the template alone: the
            // message is the template with its properties put in, as
            // Serilog renders it (`failed with {StatusCode}: {ResponseBody}`
            // says nothing; `failed with 403: RBAC: access denied` does).
            None if o.get("@mt").and_then(Value::as_str) == Some(m.as_str()) => {
                render_template(&m, o)
            }
            _ => m,
        }),
        level: LEVEL_KEYS
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
            .map(str::to_string)
            .or_else(|| o.get("level").filter(|v| v.is_number()).and_then(text_of)),
        context: context_of(o.iter().filter_map(|(k, v)| match v {
            Value::Bool(b) => Some((k.as_str(), b.to_string())),
            other => text_of(other).map(|t| (k.as_str(), t)),
        })),
        ..BodyFields::default()
    };
    // Flat ECS and OpenTelemetry-style keys first: they are unambiguous. Then the flat
    // pairs other loggers write: Sidekiq's and Rails' `error_class`/`error_message`, a
    // dotted `exception.class` or `err.message` from a flattening formatter.
    f.error_type = first_str(o, ERROR_TYPE_KEYS).unwrap_or_default();
    f.error_message = first_str(o, ERROR_MESSAGE_KEYS).unwrap_or_default();
    f.stack = first_str(o, STACK_KEYS).unwrap_or_default();
    for key in ERROR_KEYS {
        // Some loggers capitalise the key (Temporal's Go SDK through zap
        // writes `"Error": "…"`).
        let value = o.get(*key).or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        });
        match value {
            Some(Value::Object(e)) => error_object(e, &mut f),
            Some(Value::Array(items)) => structlog_exception(items, &mut f),
            Some(Value::String(s)) if !s.trim().is_empty() => {
                // A traceback or `Type: message` text (structlog's
                // `exception`), or a plain error string (zap, logrus).
                if s.contains('\n') && f.stack.is_empty() {
                    f.stack = s.clone();
                } else if f.error_message.is_empty() {
                    f.error_message = s.clone();
                }
            }
            _ => {}
        }
    }
    f
}

/// Renders a message template (Serilog's `@mt`, the message-templates.org
/// syntax): each `{Name}` hole (`{@Name}`, `{$Name}`, `{Name,10}`,
/// `{Name:0.00}` alike) takes the property's value; `{{` and `}}` are
/// braces; a hole whose property is absent or not a scalar stays as written.
fn render_template(template: &str, o: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let hole = tail
            .strip_prefix('{')
            .and_then(|t| t.find('}').map(|end| &t[..end]));
        let Some(hole) = hole else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let name = hole
            .trim_start_matches(['@', '$'])
            .split([',', ':'])
            .next()
            .unwrap_or_default();
        let value = match o.get(name) {
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(v) => text_of(v),
            None => None,
        };
        match value {
            Some(v) => out.push_str(&v),
            None => {
                out.push('{');
                out.push_str(hole);
                out.push('}');
            }
        }
        rest = &tail[hole.len() + 2..];
    }
    out.push_str(rest);
    out
}

/// Parses logfmt (`key=value key="quoted value"`); `None` unless every token
/// is a pair, so ordinary text with a `k=v` in it stays text.
pub fn parse_logfmt(text: &str) -> Option<Vec<(String, String)>> {
    let b = text.trim().as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let k0 = i;
        while i < b.len()
            && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-' | b'@'))
        {
            i += 1;
        }
        if i == k0 || i >= b.len() || b[i] != b'=' {
            return None;
        }
        let key = String::from_utf8_lossy(&b[k0..i]).into_owned();
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            i += 1;
            let mut v = Vec::new();
            loop {
                match b.get(i) {
                    None => return None,
                    Some(b'\\') => {
                        match b.get(i + 1) {
                            Some(b'n') => v.push(b'\n'),
                            Some(b't') => v.push(b'\t'),
                            Some(c) => v.push(*c),
                            None => return None,
                        }
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        v.push(*c);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&v).into_owned()
        } else {
            let v0 = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            String::from_utf8_lossy(&b[v0..i]).into_owned()
        };
        pairs.push((key, value));
    }
    (pairs.len() >= 2).then_some(pairs)
}

fn logfmt_fields(pairs: &[(String, String)]) -> Option<BodyFields> {
    let get = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            pairs
                .iter()
                .find(|(pk, v)| pk == k && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
    };
    let f = BodyFields {
        message: get(&["msg", "message"]),
        level: get(&["level", "lvl", "severity"]),
        error_type: get(ERROR_TYPE_KEYS).unwrap_or_default(),
        error_message: get(&["error", "err"])
            .or_else(|| get(ERROR_MESSAGE_KEYS))
            .unwrap_or_default(),
        stack: get(&["stacktrace", "stack", "stack_trace"]).unwrap_or_default(),
        context: context_of(pairs.iter().map(|(k, v)| (k.as_str(), v.clone()))),
    };
    // Only a logger's line has a message or a level; `a=1 b=2` is data.
    (f.message.is_some() || f.level.is_some()).then_some(f)
}

/// Reads a JSON object or logfmt body; `None` for plain text.
pub fn parse_body(body: &str) -> Option<BodyFields> {
    let t = body.trim();
    if t.starts_with('{') && t.ends_with('}') {
        return match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(o)) => Some(json_fields(&o)),
            _ => None,
        };
    }
    // Cheap pre-check: logfmt needs `=` early on (`time=…` or `level=…`).
    if !t.chars().take(40).any(|c| c == '=') {
        return None;
    }
    parse_logfmt(t).and_then(|p| logfmt_fields(&p))
}
