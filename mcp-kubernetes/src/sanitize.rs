//! What is removed from objects before any of them is printed.
//!
//! * `metadata.managedFields` and the `kubectl.kubernetes.io/last-applied-configuration`
//!   annotation (noise, and the annotation repeats every env value) — everywhere, including
//!   inside pod templates and ControllerRevision data.
//! * Secret `data`/`stringData` values: replaced by a size marker, keys kept.
//! * Literal env var values in any container list: replaced by [`REDACTED`] unless both
//!   name and value say they are a harmless setting (`OPTIMIZER_TIMEOUT=2s`; see
//!   [`mcp_kit::redact::harmless_env_value`]), or by the runtime memory options found in
//!   them (`-Xms3g -Xmx3g (2 more words hidden)`, [`mcp_kit::redact::shown_env_value`]);
//!   names and `valueFrom` references are kept, since they are what an investigation needs.
//!
//! The kit's pattern-based redaction then runs over the rendered text as a second layer.

use serde_json::{Map, Value};

/// The marker that replaces a hidden value.
pub const REDACTED: &str = "[redacted]";

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Sanitizes one object in place.
pub fn sanitize(obj: &mut Value) {
    let is_secret = obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if is_secret && let Value::Object(m) = obj {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(d)) = m.get_mut(field) {
                for v in d.values_mut() {
                    let len = v.as_str().map(str::len).unwrap_or(0);
                    *v = Value::String(format!("[hidden: {len} bytes]"));
                }
            }
        }
    }
    walk(obj);
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("managedFields");
            if let Some(Value::Object(ann)) = m.get_mut("annotations") {
                ann.remove(LAST_APPLIED);
            }
            if let Some(Value::Array(env)) = m.get_mut("env") {
                redact_env(env);
            }
            m.values_mut().for_each(walk);
        }
        Value::Array(a) => a.iter_mut().for_each(walk),
        Value::String(s) => {
            // Raw JSON blobs (e.g. ControllerRevision data stored as a string) get the same treatment.
            if s.starts_with('{')
                && s.contains("\"env\"")
                && let Ok(mut inner) = serde_json::from_str::<Value>(s)
            {
                walk(&mut inner);
                *s = inner.to_string();
            }
        }
        _ => {}
    }
}

fn redact_env(env: &mut [Value]) {
    for e in env {
        if let Value::Object(m) = e
            && let Some(name) = m.get("name").and_then(Value::as_str).map(str::to_string)
            && let Some(val) = m.get_mut("value")
            && let Some(x) = val.as_str().filter(|x| !x.is_empty())
        {
            // The value, a runtime's memory options out of it, or nothing.
            let shown = match mcp_kit::redact::shown_env_value(&name, x) {
                Some(v) if v == x => continue,
                Some(v) => v.into_owned(),
                None => REDACTED.into(),
            };
            *val = Value::String(shown);
        }
    }
}

/// Keys of a Secret's `data` and `stringData`, sorted, with value sizes.
pub fn secret_keys(obj: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    for field in ["/data", "/stringData"] {
        if let Some(m) = obj.pointer(field).and_then(Value::as_object) {
            keys.extend(m.keys().cloned());
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Removes the status and metadata noise for a compact spec dump.
pub fn strip_for_spec(obj: &Value) -> Value {
    let mut m = Map::new();
    if let Some(spec) = obj.get("spec") {
        m.insert("spec".into(), spec.clone());
    }
    let mut v = Value::Object(m);
    walk(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_values_and_secret_data_are_hidden() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"managedFields": [{}],
            "annotations": {LAST_APPLIED: "{\"DB_PASSWORD\":\"hunter2\"}", "keep": "me"}},
            "spec": {"containers": [{"name": "a", "env": [{"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "FEED_BUCKET", "value": "feed-exports"}, {"name": "API_KEY", "value": "2s"}]}]}});
        sanitize(&mut pod);
        let text = pod.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        // A harmless setting is shown; the same short value under a secret name is not.
        assert!(text.contains("\"feed-exports\""), "{text}");
        assert!(!text.contains("\"2s\""), "{text}");
        assert!(!text.contains("managedFields"));
        assert!(
            text.contains("DB_PASSWORD") && text.contains("secretKeyRef") && text.contains("keep")
        );

        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"x": "hunter2"}});
        sanitize(&mut secret);
        assert!(
            !secret.to_string().contains("aHVudGVyMg") && !secret.to_string().contains("hunter2")
        );
        assert_eq!(secret_keys(&secret), vec!["password", "x"]);
    }

    #[test]
    fn embedded_json_revisions_are_cleaned() {
        let mut cr = json!({"data": "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"T\",\"value\":\"hunter2\"}]}]}}}}"});
        sanitize(&mut cr);
        assert!(!cr.to_string().contains("hunter2"));
    }
}
