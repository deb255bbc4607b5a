//! A small kustomize: [`render`] for exactly the features the manifests use,
//! refusing any other kustomization key so a manifest cannot rely on something
//! this crate would silently ignore.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::objects::read_yaml;
use crate::objects::string_list;

const KUSTOMIZATION_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "components",
    "patches",
    "images",
];

const CLUSTER_SCOPED: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Namespace"];

/// Renders a kustomization directory the way `kubectl kustomize` does, for
/// the features listed in the crate docs.
pub fn render(dir: &Path) -> Result<Vec<Value>, String> {
    let objects = render_dir(dir, false)?;
    let mut seen = BTreeSet::new();
    for o in &objects {
        let key = object_key(o);
        if !seen.insert(key.clone()) {
            return Err(format!("{}: {key} is defined twice", dir.display()));
        }
    }
    Ok(objects)
}

fn object_key(o: &Value) -> String {
    format!(
        "{}/{}/{}/{}",
        o.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        o.get("kind").and_then(Value::as_str).unwrap_or(""),
        o.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

/// Reads `dir/kustomization.yaml`, refusing keys [`render`] does not implement.
pub fn read_kustomization(dir: &Path) -> Result<serde_json::Map<String, Value>, String> {
    let path = dir.join("kustomization.yaml");
    let docs = read_yaml(&path)?;
    let [Value::Object(k)] = docs.as_slice() else {
        return Err(format!("{}: expected one mapping", path.display()));
    };
    for key in k.keys() {
        if !KUSTOMIZATION_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "{}: key `{key}` is not implemented by deploy/check's renderer",
                path.display()
            ));
        }
    }
    Ok(k.clone())
}

fn strings(k: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    string_list(k.get(key))
}

fn render_dir(dir: &Path, component: bool) -> Result<Vec<Value>, String> {
    let k = read_kustomization(dir)?;
    let kind = k
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("Kustomization");
    let want = if component {
        "Component"
    } else {
        "Kustomization"
    };
    if kind != want {
        return Err(format!("{}: kind {kind}, expected {want}", dir.display()));
    }
    let mut objects = Vec::new();
    for r in strings(&k, "resources") {
        let path = dir.join(&r);
        if path.is_dir() {
            objects.extend(render_dir(&path, false)?);
        } else {
            objects.extend(read_yaml(&path)?);
        }
    }
    for c in strings(&k, "components") {
        apply_component(&dir.join(c), &mut objects)?;
    }
    apply_transformers(dir, &k, &mut objects)?;
    Ok(objects)
}

fn apply_component(dir: &Path, objects: &mut Vec<Value>) -> Result<(), String> {
    let k = read_kustomization(dir)?;
    let kind = k.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Component" {
        return Err(format!(
            "{}: kind {kind}, expected Component",
            dir.display()
        ));
    }
    for r in strings(&k, "resources") {
        objects.extend(read_yaml(&dir.join(r))?);
    }
    for c in strings(&k, "components") {
        apply_component(&dir.join(c), objects)?;
    }
    apply_transformers(dir, &k, objects)
}

fn apply_transformers(
    dir: &Path,
    k: &serde_json::Map<String, Value>,
    objects: &mut [Value],
) -> Result<(), String> {
    for patch in k
        .get("patches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        apply_patch_entry(dir, patch, objects)?;
    }
    for image in k
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        set_image(image, objects)?;
    }
    if let Some(namespace) = k.get("namespace").and_then(Value::as_str) {
        for o in objects.iter_mut() {
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
            if !CLUSTER_SCOPED.contains(&kind)
                && let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.into()));
            }
        }
    }
    Ok(())
}

fn api_group_version(o: &Value) -> (String, String) {
    let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match api.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api.to_string()),
    }
}

fn apply_patch_entry(dir: &Path, entry: &Value, objects: &mut [Value]) -> Result<(), String> {
    let Some(path) = entry.get("path").and_then(Value::as_str) else {
        return Err(format!(
            "{}: only `patches` with `path` (a JSON 6902 file) are supported",
            dir.display()
        ));
    };
    let Some(target) = entry.get("target").and_then(Value::as_object) else {
        return Err(format!("{}: patch {path} has no target", dir.display()));
    };
    for key in target.keys() {
        if !["group", "version", "kind", "name"].contains(&key.as_str()) {
            return Err(format!(
                "{}: patch {path}: target key `{key}` is not implemented",
                dir.display()
            ));
        }
    }
    let ops = read_yaml(&dir.join(path))?;
    let [Value::Array(ops)] = ops.as_slice() else {
        return Err(format!(
            "{}: patch {path} must be one list of JSON 6902 operations",
            dir.display()
        ));
    };
    let field = |k: &str| target.get(k).and_then(Value::as_str);
    let mut matched = 0;
    for o in objects.iter_mut() {
        let (group, version) = api_group_version(o);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        let obj_name = o.pointer("/metadata/name").and_then(Value::as_str);
        if field("group").is_some_and(|g| g != group)
            || field("version").is_some_and(|v| v != version)
            || field("kind").is_some_and(|k| k != kind)
            || field("name").is_some_and(|n| Some(n) != obj_name)
        {
            continue;
        }
        matched += 1;
        for op in ops {
            json_patch(o, op).map_err(|e| format!("{}: patch {path}: {e}", dir.display()))?;
        }
    }
    if matched == 0 {
        return Err(format!("{}: patch {path} matches no object", dir.display()));
    }
    Ok(())
}

fn set_image(image: &Value, objects: &mut [Value]) -> Result<(), String> {
    let Some(wanted) = image.get("name").and_then(Value::as_str) else {
        return Err("an `images` entry has no name".into());
    };
    let new_name = image.get("newName").and_then(Value::as_str);
    let new_tag = image.get("newTag").and_then(Value::as_str);
    for o in objects.iter_mut() {
        for list in ["containers", "initContainers"] {
            let pointer = format!("/spec/template/spec/{list}");
            let Some(containers) = o.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
                continue;
            };
            for c in containers {
                let Some(current) = c.get("image").and_then(Value::as_str) else {
                    continue;
                };
                let (base, tag) = split_image(current);
                if base != wanted {
                    continue;
                }
                let replaced = format!(
                    "{}{}",
                    new_name.unwrap_or(base),
                    match (new_tag, tag) {
                        (Some(t), _) => format!(":{t}"),
                        (None, Some(t)) => t.to_string(),
                        (None, None) => String::new(),
                    }
                );
                c["image"] = Value::String(replaced);
            }
        }
    }
    Ok(())
}

/// `(name, ":tag" or "@digest")` of an image reference.
pub(crate) fn split_image(image: &str) -> (&str, Option<&str>) {
    if let Some(at) = image.find('@') {
        return (&image[..at], Some(&image[at..]));
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(colon) => (
            &image[..last_slash + colon],
            Some(&image[last_slash + colon..]),
        ),
        None => (image, None),
    }
}

fn pointer_tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path `{path}` must start with /"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Applies one JSON 6902 operation (`add`, `replace`, `remove`, `test`).
pub fn json_patch(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
    let path = op.get("path").and_then(Value::as_str).unwrap_or("");
    let mut tokens = pointer_tokens(path)?;
    let Some(last) = tokens.pop() else {
        return Err("patching the whole document is not supported".into());
    };
    let parent_path: String = tokens.iter().map(|t| format!("/{t}")).collect();
    let value = op.get("value").cloned();
    let parent = doc
        .pointer_mut(&parent_path)
        .ok_or_else(|| format!("{kind} {path}: `{parent_path}` does not exist"))?;
    match (kind, parent) {
        ("add", Value::Object(m)) => {
            m.insert(last, value.ok_or("add without value")?);
        }
        ("add", Value::Array(a)) => {
            let v = value.ok_or("add without value")?;
            if last == "-" {
                a.push(v);
            } else {
                let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                if i > a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.insert(i, v);
            }
        }
        ("replace" | "remove" | "test", parent) => {
            let slot = match parent {
                Value::Object(m) => m.get_mut(&last),
                Value::Array(a) => last.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{kind} {path}: nothing there"))?;
            match kind {
                "replace" => *slot = value.ok_or("replace without value")?,
                "test" => {
                    if Some(&*slot) != value.as_ref() {
                        return Err(format!("test {path} failed"));
                    }
                }
                _ => match parent {
                    Value::Object(m) => {
                        m.remove(&last);
                    }
                    Value::Array(a) => {
                        let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                        a.remove(i);
                    }
                    _ => {}
                },
            }
        }
        _ => return Err(format!("unsupported operation `{kind}` at {path}")),
    }
    Ok(())
}
