//! The red-team table through the redaction core, in every format a server
//! produces: raw text, JSON values (also under neutral keys and inside
//! Kubernetes env objects), documents inside strings (a file in a ConfigMap,
//! the last-applied-configuration annotation), serialized JSON text (escaped
//! strings), YAML text, and text cut to length. Prints
//! `leaked N / planted M, masked look-alikes K / L` per format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_kit::redact::{redact, redact_json, redact_then_clip};
use mcp_kit::redteam::{LOOK_ALIKES, PLANTED, Report};
use serde_json::{Value, json};

fn walk_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| walk_strings(x, out)),
        _ => {}
    }
}

/// Whether `text` is one of the strings in `v` (or inside one).
fn has_string(v: &Value, text: &str) -> bool {
    let mut all = Vec::new();
    walk_strings(v, &mut all);
    all.iter().any(|s| s.contains(text))
}

#[test]
fn table_is_well_formed() {
    assert!(PLANTED.len() >= 150, "{} planted", PLANTED.len());
    assert!(
        LOOK_ALIKES.len() >= 150,
        "{} look-alikes",
        LOOK_ALIKES.len()
    );
    for (i, (seen, text, secret)) in PLANTED.iter().enumerate() {
        assert!(!seen.is_empty(), "#{i} needs a source");
        assert!(text.contains(secret), "#{i}: {text:?} lacks {secret:?}");
        assert!(secret.len() >= 6, "#{i}: secret too short");
        for (j, (_, other, _)) in PLANTED.iter().enumerate() {
            assert!(
                i == j || !other.contains(secret),
                "#{i}'s secret is in #{j}"
            );
        }
        for (j, (_, look)) in LOOK_ALIKES.iter().enumerate() {
            assert!(
                !look.contains(secret),
                "#{i}'s secret is in look-alike #{j}"
            );
        }
    }
}

#[test]
fn red_team_through_the_core() {
    let mut total = Report::new("core, all formats");
    let mut reports = Vec::new();

    // Raw text.
    let mut r = Report::new("text");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        r.planted(i, &redact(text));
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        r.look_alike(i, redact(text) == *text);
    }
    reports.push(r);

    // A JSON value under a neutral key, redacted on values, then serialized
    // as JSON and as "YAML-ish" text by the caller.
    let mut r = Report::new("json value");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        let mut v = json!({"data": {"entry": text}});
        redact_json(&mut v);
        r.planted(i, &v.to_string());
        r.planted(i, &format!("{v:#}"));
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        let mut v = json!({"data": {"entry": text}});
        redact_json(&mut v);
        r.look_alike(i, v["data"]["entry"] == *text);
    }
    reports.push(r);

    // A file inside a ConfigMap: every row a line (or lines) of one string.
    let mut r = Report::new("document in a string");
    let file: String = PLANTED
        .iter()
        .map(|(_, t, _)| format!("{t}\n"))
        .collect::<String>();
    let mut v = json!({"kind": "ConfigMap", "data": {"app.conf": file}});
    redact_json(&mut v);
    let out = v.to_string();
    for i in 0..PLANTED.len() {
        r.planted(i, &out);
    }
    let looks: String = LOOK_ALIKES.iter().map(|(_, t)| format!("{t}\n")).collect();
    let mut v = json!({"data": {"notes.txt": looks}});
    redact_json(&mut v);
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        r.look_alike(i, has_string(&v, text));
    }
    reports.push(r);

    // JSON inside a string (the last-applied-configuration annotation).
    let mut r = Report::new("json in a string");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        let inner =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": text}}).to_string();
        let mut v = json!({"metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": inner}}});
        redact_json(&mut v);
        r.planted(i, &v.to_string());
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        let inner = json!({"data": {"k": text}}).to_string();
        let mut v = json!({"a": inner});
        redact_json(&mut v);
        let parsed: Value = serde_json::from_str(v["a"].as_str().unwrap()).unwrap();
        r.look_alike(i, parsed["data"]["k"] == *text);
    }
    reports.push(r);

    // Already-serialized JSON text (the second layer: the kit's redaction of
    // a tool's text), escaped strings and all.
    let mut r = Report::new("serialized json text");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        let serialized = json!({"data": {"app.yaml": text}}).to_string();
        let out = redact(&serialized);
        r.planted(i, &out);
        serde_json::from_str::<Value>(&out)
            .unwrap_or_else(|e| panic!("#{i}: no longer JSON ({e}): {out}"));
        // A JSON-escaped secret leaks as its escaped form too.
        let escaped = serde_json::to_string(PLANTED[i].2).unwrap();
        r.planted(
            i,
            &out.replace(&escaped[1..escaped.len() - 1], PLANTED[i].2),
        );
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        let serialized = json!({"data": {"notes": text}}).to_string();
        let out = redact(&serialized);
        let parsed: Value = serde_json::from_str(&out).unwrap();
        r.look_alike(i, parsed["data"]["notes"] == *text);
    }
    reports.push(r);

    // YAML text as a server writes it: `key: value` with the value indented
    // in a block scalar when it has several lines.
    let mut r = Report::new("yaml text");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        let yaml = if text.contains('\n') {
            let body: String = text.lines().map(|l| format!("    {l}\n")).collect();
            format!("data:\n  app.conf: |\n{body}")
        } else {
            format!("data:\n  entry: {text}\n")
        };
        r.planted(i, &redact(&yaml));
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        let body: String = text.lines().map(|l| format!("    {l}\n")).collect();
        let yaml = format!("data:\n  notes: |\n{body}");
        r.look_alike(i, redact(&yaml) == yaml);
    }
    reports.push(r);

    // Cut to a column: every cut point inside the row's text.
    let mut r = Report::new("text cut to length");
    for (i, (_, text, _)) in PLANTED.iter().enumerate() {
        let n = text.chars().count();
        for max in [n / 2, n.saturating_sub(3), 40, 80] {
            r.planted(i, &redact_then_clip(text, max.max(30)));
        }
    }
    for (i, (_, text)) in LOOK_ALIKES.iter().enumerate() {
        r.look_alike(i, redact_then_clip(text, 1_000) == *text);
    }
    reports.push(r);

    let mut ok = true;
    for r in reports {
        ok &= r.print();
        total.absorb(r);
    }
    ok &= total.print();
    assert!(ok, "{}", total.summary());
}

/// Environment values shown as harmless settings (`shown_env_value`) never include a
/// planted secret: not the planted text as a value under a neutral name, nor the bare
/// secret under one, nor either under the name the planted text gives it.
#[test]
fn harmless_env_values_never_hold_a_planted_secret() {
    use mcp_kit::redact::shown_env_value;
    let mut shown = Vec::new();
    for (i, (seen, text, secret)) in PLANTED.iter().enumerate() {
        let named = text
            .split_once(['=', ':'])
            .map(|(k, _)| {
                k.trim()
                    .trim_start_matches("export ")
                    .trim_matches(['"', '\'', '-', ' '])
            })
            .unwrap_or("VAR");
        for (name, value) in [("VAR", *text), ("VAR", *secret), (named, *secret)] {
            // Neither the whole value nor the part of it shown holds the secret.
            if shown_env_value(name, value).is_some_and(|v| v == *value || v.contains(secret)) {
                shown.push(format!("#{i} ({seen}): {name}={value:?}"));
            }
        }
    }
    println!(
        "harmless env values: shown {} / planted {}",
        shown.len(),
        PLANTED.len() * 3
    );
    assert!(
        shown.is_empty(),
        "planted secrets shown as harmless:\n{}",
        shown.join("\n")
    );
}
