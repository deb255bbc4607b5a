//! Portable tool input schemas.
//!
//! rmcp builds each tool's input schema with `schemars` (draft 2020-12, see
//! `rmcp::handler::server::common::schema_for_type`), which writes an
//! `Option<T>` field as `"type": ["string", "null"]`, or as
//! `"anyOf": [{"$ref": …}, {"type": "null"}]` for enums and structs. Hosts
//! read that poorly: the MCP Inspector flags every such property as not
//! portable, and some model providers reject union types in tool schemas
//! outright. An optional property is already expressed by leaving it out of
//! `required`, so the kit rewrites every tool's schema once, when the server
//! is guarded ([`crate::Guarded::new`]): optional properties lose their `null`
//! alternative. A host that still sends `null` for an optional argument is
//! accepted: the guard drops such arguments before validating
//! ([`drop_null_optionals`]), which serde reads as "absent".
//!
//! Any `type` array left after that (a required `Option`, a field that takes
//! a string or a number), and every one in an output schema, where `null` is
//! a real value, is spelled as `anyOf` branches of one type each
//! ([`split_type_unions`]): the same schema, in the form the Inspector's
//! portability lint asks for (a client that maps tool schemas onto a
//! single-`type` dialect, such as Gemini's function declarations, may
//! otherwise reject the tool or drop the constraint).

use serde_json::{Map, Value};

/// Rewrites `schema` (a tool's input schema) so that no optional property
/// admits `null`; see the module docs. Nested objects, array items and
/// `$defs` are rewritten too.
pub fn make_portable(schema: &mut Map<String, Value>) {
    rewrite_object(schema);
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = schema.get_mut(key) {
            for def in defs.values_mut() {
                if let Value::Object(def) = def {
                    make_portable(def);
                }
            }
        }
    }
}

/// Rewrites every `"type": [A, B, …]` in `schema` (at any depth) as
/// `"anyOf": [{"type": A}, {"type": B}, …]`, which accepts the same values.
/// The node's other keywords stay where they are: each applies only to
/// values of its own type (`minimum` to numbers, `format` to strings), so
/// they mean the same beside the `anyOf`. A node that already has an `anyOf`
/// gets the new one inside an `allOf`.
pub fn split_type_unions(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = schema.get("type") {
        let branches: Vec<Value> = types
            .iter()
            .map(|t| Value::Object(Map::from_iter([("type".to_string(), t.clone())])))
            .collect();
        schema.remove("type");
        if schema.contains_key("anyOf") {
            let wrapped = Value::Object(Map::from_iter([(
                "anyOf".to_string(),
                Value::Array(branches),
            )]));
            match schema.get_mut("allOf") {
                Some(Value::Array(all)) => all.push(wrapped),
                _ => {
                    schema.insert("allOf".into(), Value::Array(vec![wrapped]));
                }
            }
        } else {
            schema.insert("anyOf".into(), Value::Array(branches));
        }
    }
    for (key, value) in schema.iter_mut() {
        match (key.as_str(), value) {
            // Keywords whose value is one schema.
            (
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties",
                Value::Object(sub),
            ) => split_type_unions(sub),
            // Keywords whose value is a list of schemas.
            ("anyOf" | "oneOf" | "allOf" | "prefixItems" | "items", Value::Array(subs)) => {
                for sub in subs {
                    if let Value::Object(sub) = sub {
                        split_type_unions(sub);
                    }
                }
            }
            // Keywords whose value maps names to schemas.
            (
                "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas",
                Value::Object(map),
            ) => {
                for sub in map.values_mut() {
                    if let Value::Object(sub) = sub {
                        split_type_unions(sub);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The names in an object schema's `required` list.
fn required(schema: &Map<String, Value>) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn rewrite_object(schema: &mut Map<String, Value>) {
    let required = required(schema);
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            let Value::Object(prop) = prop else { continue };
            if !required.contains(name) {
                drop_null(prop);
            }
            rewrite_object(prop);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(sub)) = schema.get_mut(key) {
            rewrite_object(sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(subs)) = schema.get_mut(key) {
            for sub in subs {
                if let Value::Object(sub) = sub {
                    rewrite_object(sub);
                }
            }
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const").is_some_and(Value::is_null)
}

/// Removes the `null` alternative from one property schema.
fn drop_null(prop: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = prop.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if types.len() == 1 {
            let only = types.remove(0);
            prop.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = prop.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if prop.get("default").is_some_and(Value::is_null) {
        prop.remove("default");
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(subs)) = prop.get_mut(key) else {
            continue;
        };
        let before = subs.len();
        subs.retain(|s| !is_null_schema(s));
        if subs.len() == before {
            continue;
        }
        if subs.len() == 1 {
            // `anyOf: [X]` is just X: lift it into the property, keeping the
            // property's own keywords (its description above all).
            let only = subs.remove(0);
            prop.remove(key);
            if let Value::Object(only) = only {
                for (k, v) in only {
                    prop.entry(k).or_insert(v);
                }
            }
        }
    }
}

/// Whether any property of `schema` (nested ones and `$defs` too) still
/// admits `null`; the paths of those that do. Used by tests and the
/// conformance harness.
pub fn nullable_properties(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_nullable(schema, "", &mut out);
    out
}

fn collect_nullable(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, prop) in props {
            let here = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let typed_null = match prop.get("type") {
                Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("null")),
                Some(Value::String(t)) => t == "null",
                _ => false,
            };
            let union_null = ["anyOf", "oneOf"].iter().any(|k| {
                prop.get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|subs| subs.iter().any(is_null_schema))
            });
            if typed_null || union_null {
                out.push(here.clone());
            }
            collect_nullable(prop, &here, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get(key) {
            collect_nullable(sub, &format!("{path}[]"), out);
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = obj.get(key) {
            for (name, def) in defs {
                collect_nullable(def, &format!("$defs.{name}"), out);
            }
        }
    }
}

/// Removes top-level arguments whose value is `null` when the schema does not
/// require them: after [`make_portable`] the schema no longer admits `null`
/// there, and for serde an absent `Option` field is `None`, exactly what the
/// caller meant.
pub fn drop_null_optionals(schema: &Map<String, Value>, arguments: &mut Map<String, Value>) {
    let required = required(schema);
    arguments.retain(|name, value| !value.is_null() || required.contains(name));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    enum Mode {
        Lines,
        Patterns,
    }

    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        /// A nested optional.
        limit: Option<u32>,
    }

    /// Arguments shaped like the servers' own: optional scalars, an optional
    /// enum, an optional nested struct, a required field and a `null`-typed
    /// required field that must stay as written.
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Args {
        /// Required.
        kind: String,
        /// Optional text.
        namespace: Option<String>,
        /// Optional number.
        tail: Option<i64>,
        /// Optional enum.
        mode: Option<Mode>,
        /// Optional struct.
        inner: Option<Inner>,
        /// Optional list.
        names: Option<Vec<String>>,
    }

    fn schema_of<T: schemars::JsonSchema>() -> Map<String, Value> {
        let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        match serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap() {
            Value::Object(o) => o,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn optional_properties_lose_their_null_alternative() {
        let mut schema = schema_of::<Args>();
        let before = nullable_properties(&Value::Object(schema.clone()));
        // What schemars writes today: every optional property admits null.
        assert!(before.len() >= 5, "{before:?}");
        make_portable(&mut schema);
        let v = Value::Object(schema.clone());
        assert_eq!(nullable_properties(&v), Vec::<String>::new(), "{v:#}");
        let p = &v["properties"];
        assert_eq!(p["namespace"]["type"], "string");
        assert_eq!(p["tail"]["type"], "integer");
        assert_eq!(p["names"]["type"], "array");
        assert_eq!(p["namespace"]["description"], "Optional text.");
        // The enum keeps its reference (and its description).
        assert!(p["mode"].get("$ref").is_some(), "{v:#}");
        assert_eq!(p["mode"]["description"], "Optional enum.");
        assert_eq!(v["required"], json!(["kind"]));
        // Still valid JSON Schema that accepts absent optionals and rejects nulls.
        let validator = jsonschema::validator_for(&v).unwrap();
        assert!(validator.is_valid(&json!({"kind": "pods"})));
        assert!(validator.is_valid(&json!({"kind": "pods", "mode": "Lines", "tail": 3})));
        assert!(!validator.is_valid(&json!({"kind": "pods", "mode": "Nope"})));
        assert!(!validator.is_valid(&json!({"kind": "pods", "tail": null})));
    }

    /// An output shaped like a tool's structured result: `null` is a value
    /// it really returns.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Output {
        /// Always there.
        name: String,
        /// Null when unknown.
        restarts: Option<u32>,
        /// Null when unknown.
        mode: Option<Mode>,
        /// A list whose items may be null.
        samples: Vec<Option<f64>>,
    }

    #[test]
    fn type_unions_become_single_type_branches_accepting_the_same_values() {
        let original = Value::Object(schema_of::<Output>());
        let mut schema = schema_of::<Output>();
        split_type_unions(&mut schema);
        let split = Value::Object(schema);
        let text = split.to_string();
        assert!(!text.contains(r#""type":["#), "{split:#}");
        let p = &split["properties"];
        assert_eq!(
            p["restarts"]["anyOf"],
            json!([{"type": "integer"}, {"type": "null"}]),
            "{split:#}"
        );
        // Its other keywords stay beside the branches.
        assert_eq!(p["restarts"]["minimum"], 0);
        assert_eq!(p["restarts"]["description"], "Null when unknown.");
        assert_eq!(
            p["samples"]["items"]["anyOf"],
            json!([{"type": "number"}, {"type": "null"}])
        );
        let before = jsonschema::validator_for(&original).unwrap();
        let after = jsonschema::validator_for(&split).unwrap();
        for value in [
            json!({"name": "a", "restarts": null, "mode": null, "samples": [1.5, null]}),
            json!({"name": "a", "restarts": 3, "mode": "Lines", "samples": []}),
            json!({"name": "a", "restarts": -1, "mode": null, "samples": []}),
            json!({"name": "a", "restarts": "3", "mode": null, "samples": []}),
            json!({"name": "a", "restarts": null, "mode": "Nope", "samples": ["x"]}),
            json!({"restarts": null, "mode": null, "samples": []}),
        ] {
            assert_eq!(before.is_valid(&value), after.is_valid(&value), "{value}");
        }
    }

    #[test]
    fn a_node_with_an_any_of_keeps_it_and_gains_the_split_in_all_of() {
        let mut schema =
            json!({"type": ["string", "integer"], "anyOf": [{"minLength": 1}, {"minimum": 1}]})
                .as_object()
                .unwrap()
                .clone();
        split_type_unions(&mut schema);
        assert_eq!(
            Value::Object(schema),
            json!({
                "anyOf": [{"minLength": 1}, {"minimum": 1}],
                "allOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}]
            })
        );
    }

    #[test]
    fn null_arguments_for_optionals_are_dropped_but_required_ones_kept() {
        let mut schema = schema_of::<Args>();
        make_portable(&mut schema);
        let mut args = json!({"kind": null, "namespace": null, "tail": 3})
            .as_object()
            .unwrap()
            .clone();
        drop_null_optionals(&schema, &mut args);
        assert_eq!(Value::Object(args), json!({"kind": null, "tail": 3}));
    }
}
