//! The fallback for every kind without a section of its own (custom resources above all):
//! the scalar fields of its status and the start of its redacted spec, both bounded so a
//! large object does not flood the answer.

use serde_json::Value;

use crate::sanitize::strip_for_spec;

/// Lines and characters of a custom resource's status shown besides its conditions.
const STATUS_LINES: usize = 40;
const STATUS_CHARS: usize = 6_000;

/// The status of an object besides its conditions (shown above), one `path: value` line per
/// scalar, nulls and empty values left out: a FlinkDeployment's `jobStatus.state` and
/// `error`, an ExternalSecret's `refreshTime`, a Certificate's `notAfter`/`renewalTime`.
fn status_lines(obj: &Value) -> String {
    fn walk(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, x, out);
                }
            }
            Value::Array(a) if a.is_empty() => {}
            Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|x| match x {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.push((path.to_string(), items.join(", ")));
            }
            Value::Array(a) => {
                for (ix, x) in a.iter().enumerate() {
                    walk(&format!("{path}[{ix}]"), x, out);
                }
            }
            Value::String(t) if t.is_empty() => {}
            Value::String(t) => out.push((path.to_string(), t.clone())),
            other => out.push((path.to_string(), other.to_string())),
        }
    }
    let Some(status) = obj.get("status").and_then(Value::as_object) else {
        return String::new();
    };
    let mut pairs = Vec::new();
    for (k, v) in status {
        if k != "conditions" {
            walk(k, v, &mut pairs);
        }
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = String::from("status:\n");
    let mut chars = 0;
    for (ix, (k, v)) in pairs.iter().enumerate() {
        let line = format!("  {k}: {}\n", crate::value::message(v));
        chars += line.len();
        if ix >= STATUS_LINES || chars > STATUS_CHARS {
            out.push_str(&format!(
                "  … {} more status fields (use output=yaml)\n",
                pairs.len() - ix
            ));
            break;
        }
        out.push_str(&line);
    }
    out
}

pub(super) fn generic_section(obj: &Value) -> String {
    let mut out = status_lines(obj);
    out.push_str(&generic_spec(obj));
    out
}

pub(super) fn generic_spec(obj: &Value) -> String {
    let mut spec = strip_for_spec(obj);
    mcp_kit::redact::redact_json(&mut spec);
    if spec.as_object().is_none_or(|m| m.is_empty()) {
        return String::new();
    }
    let yaml = serde_yaml_ng::to_string(&spec).unwrap_or_default();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out: String = lines.iter().take(80).map(|l| format!("{l}\n")).collect();
    if lines.len() > 80 {
        out.push_str(&format!(
            "… {} more spec lines (use output=yaml)\n",
            lines.len() - 80
        ));
    }
    out
}
