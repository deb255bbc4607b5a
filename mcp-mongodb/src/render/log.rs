//! `server_log`: the lines of `getLog "global"` that are not slow queries, filtered and
//! one line each.
//!
//! The log is where MongoDB records what no other reply keeps: `CMD: dropIndexes` and
//! "Dropping index", index builds, client metadata naming the application and driver
//! behind a connection, replica-set state transitions. Each entry (structured JSON since
//! MongoDB 4.4) becomes `time severity component id msg · attr…`, keeping only the
//! attributes that identify what happened (namespace, index, application, driver, remote,
//! state change, error, duration); pre-4.4 text lines are shown as they are, clipped.

use serde_json::Value;

use crate::allow::Allowlist;
use crate::fmt::clip;

/// The string at a JSON pointer.
fn text<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// What `server_log` keeps.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Component, case-insensitive (`COMMAND`, `INDEX`, `NETWORK`, `REPL`, `STORAGE`…).
    pub component: Option<String>,
    /// Least severe level kept: `F`, `E`, `W`, `I` (or `fatal`, `error`, `warning`, `info`).
    pub severity: Option<String>,
    /// Case-insensitive text the raw line must contain.
    pub contains: Option<String>,
    /// Whether "Slow query" lines are kept (they are `slow_queries`' business).
    pub include_slow: bool,
}

/// Rank of a severity letter: fatal 0 … info 3, debug 4.
fn rank(s: &str) -> Option<u8> {
    match s.to_ascii_lowercase().as_str() {
        "f" | "fatal" => Some(0),
        "e" | "error" => Some(1),
        "w" | "warning" | "warn" => Some(2),
        "i" | "info" => Some(3),
        d if d.starts_with('d') => Some(4),
        _ => None,
    }
}

/// Checks a severity argument; the error names the accepted values.
pub fn check_severity(s: &str) -> Result<(), String> {
    match rank(s) {
        Some(_) => Ok(()),
        None => Err(format!(
            "severity {s:?}: use F, E, W or I (fatal, error, warning, info)"
        )),
    }
}

/// A string, array or index spec as a short list of names (`status_1, createdAt_-1`).
fn names(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim_matches('"').to_string(),
        Value::Array(items) => items.iter().map(names).collect::<Vec<_>>().join(", "),
        Value::Object(_) => text(v, "/name")
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

/// The first JSON object after `label` in `raw`, as written (balanced braces; strings
/// are skipped so a `}` inside one does not end it).
fn raw_object<'a>(raw: &'a str, label: &str) -> Option<&'a str> {
    let start = raw.find(label)? + label.len();
    let rest = raw[start..].trim_start();
    let offset = raw.len() - rest.len();
    if !rest.starts_with('{') {
        return None;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&raw[offset..offset + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The attributes that say what a line is about, as `key value` parts; `raw` is the
/// line as the server wrote it.
fn attr_parts(attr: &Value, raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(ns) = text(attr, "/namespace").or_else(|| text(attr, "/ns")) {
        parts.push(format!("ns {ns}"));
    }
    // A rename (ids 20400, 20401) replaces one collection with another: which two, and
    // whether the target was dropped, is the whole line (a staging copy without the
    // live collection's indexes swapped in).
    let from = text(attr, "/sourceNamespace").or_else(|| text(attr, "/fromName"));
    let to = text(attr, "/targetNamespace").or_else(|| text(attr, "/toName"));
    if let (Some(from), Some(to)) = (from, to) {
        parts.push(format!("rename {from} → {to}"));
        if let Some(drop) = attr.get("dropTarget").filter(|d| !d.is_null()) {
            let drop = drop
                .as_str()
                .map_or_else(|| drop.to_string(), str::to_string);
            parts.push(format!("dropTarget {drop}"));
        }
    }
    for ptr in [
        "/index",
        "/indexName",
        "/indexes",
        "/spec/name",
        "/properties/name",
    ] {
        if let Some(v) = attr.pointer(ptr) {
            parts.push(format!("index {}", clip(&names(v), 120)));
            break;
        }
    }
    // An index build names what it builds under `properties` (id 20384): the keys and
    // whether it is unique, which is what a failed build or a new slow plan turns on.
    // From the raw line: a parsed JSON object forgets its keys' order, and an index's
    // key order is the index.
    if attr
        .pointer("/properties/key")
        .or_else(|| attr.pointer("/spec/key"))
        .is_some()
        && let Some(key) = raw_object(raw, "\"key\":")
    {
        parts.push(format!("key {}", clip(key, 120)));
    }
    if attr
        .pointer("/properties/unique")
        .or_else(|| attr.pointer("/spec/unique"))
        == Some(&Value::Bool(true))
    {
        parts.push("unique".into());
    }
    // Client metadata names the application under `doc`; a slow-query line as `appName`.
    if let Some(app) = text(attr, "/doc/application/name").or_else(|| text(attr, "/appName")) {
        parts.push(format!("app {app}"));
    }
    if let Some(driver) = text(attr, "/doc/driver/name") {
        let version = text(attr, "/doc/driver/version").unwrap_or("");
        parts.push(format!("driver {driver} {version}").trim_end().to_string());
    }
    // Who: a failed or successful login (ids 20249, 5286306) names the user as
    // `principalName` and its database as `authenticationDatabase`; which
    // client's credentials are wrong is the first question of an auth incident.
    if let Some(user) = text(attr, "/principalName").or_else(|| text(attr, "/user")) {
        match text(attr, "/authenticationDatabase").or_else(|| text(attr, "/db")) {
            Some(db) => parts.push(format!("user {user}@{db}")),
            None => parts.push(format!("user {user}")),
        }
        if let Some(mech) = text(attr, "/mechanism") {
            parts.push(format!("mechanism {mech}"));
        }
    }
    if let Some(remote) = text(attr, "/remote") {
        parts.push(format!("remote {remote}"));
    }
    if let Some(new) = text(attr, "/newState") {
        let old = text(attr, "/oldState").unwrap_or("?");
        parts.push(format!("state {old} → {new}"));
    }
    if let Some(member) = text(attr, "/member") {
        parts.push(format!("member {member}"));
    }
    match attr.get("error") {
        Some(e @ Value::Object(_)) => parts.push(format!(
            "error {}: {}",
            text(e, "/codeName").unwrap_or("?"),
            clip(text(e, "/errmsg").unwrap_or(""), 200)
        )),
        Some(Value::String(e)) => parts.push(format!("error {}", clip(e, 200))),
        _ => {}
    }
    if let Some(reason) = text(attr, "/reason") {
        parts.push(format!("reason {}", clip(reason, 160)));
    }
    // A slow query's plan and what it read for what it returned: a COLLSCAN examining
    // millions of documents to return three is the whole story of a missing index.
    if let Some(plan) = text(attr, "/planSummary") {
        parts.push(format!("plan {}", clip(plan, 80)));
    }
    let count = |k: &str| attr.get(k).and_then(Value::as_f64);
    if let Some(docs) = count("docsExamined") {
        let keys = count("keysExamined").unwrap_or(0.0);
        let returned = count("nreturned")
            .or_else(|| count("nMatched"))
            .unwrap_or(0.0);
        parts.push(format!(
            "examined keys {keys} docs {docs} → returned {returned}"
        ));
    }
    if let Some(ms) = attr.get("durationMillis").and_then(Value::as_f64) {
        parts.push(format!("{ms} ms"));
    }
    parts
}

/// One entry as a line, or `None` when the filter leaves it out (or the allowlist hides
/// its namespace: `Some(Err(()))`).
fn entry_line(line: &str, f: &LogFilter, allow: &Allowlist) -> Option<Result<String, ()>> {
    if let Some(want) = f.contains.as_deref().filter(|c| !c.is_empty())
        && !line.to_lowercase().contains(&want.to_lowercase())
    {
        return None;
    }
    let Ok(e @ Value::Object(_)) = serde_json::from_str::<Value>(line) else {
        // Pre-4.4 text logs: no fields to filter on but the text itself.
        if f.component.is_some() || f.severity.is_some() {
            return None;
        }
        return Some(Ok(clip(line, 300)));
    };
    let msg = text(&e, "/msg").unwrap_or("");
    if msg == "Slow query" && !f.include_slow {
        return None;
    }
    let sev = text(&e, "/s").unwrap_or("?");
    if let Some(min) = f.severity.as_deref().and_then(rank)
        && rank(sev).is_none_or(|r| r > min)
    {
        return None;
    }
    let component = text(&e, "/c").unwrap_or("?");
    if let Some(want) = f.component.as_deref().filter(|c| !c.is_empty())
        && !component.eq_ignore_ascii_case(want)
    {
        return None;
    }
    let attr = e.get("attr");
    // Every namespace the line names must be allowed (a rename names two).
    let named = [
        "/namespace",
        "/ns",
        "/sourceNamespace",
        "/targetNamespace",
        "/fromName",
        "/toName",
    ];
    if named
        .iter()
        .filter_map(|p| attr.and_then(|a| text(a, p)))
        .any(|ns| !allow.ns_allowed(ns))
    {
        return Some(Err(()));
    }
    let time = match e.pointer("/t/$date") {
        Some(Value::String(t)) => t.replace("+00:00", "Z"),
        _ => "?".to_string(),
    };
    let id = e.get("id").map(Value::to_string).unwrap_or_default();
    let mut out = format!("{time} {sev} {component:<8} {id:>5} {}", clip(msg, 160));
    for part in attr.map(|a| attr_parts(a, line)).unwrap_or_default() {
        out.push_str(" · ");
        out.push_str(&part);
    }
    Some(Ok(out))
}

/// The matching entries, the newest `limit` in time order, and a summary line.
pub fn render(
    lines: &[String],
    f: &LogFilter,
    allow: &Allowlist,
    limit: usize,
) -> (String, Vec<String>) {
    let mut hidden = 0;
    let mut kept = Vec::new();
    for line in lines {
        match entry_line(line, f, allow) {
            Some(Ok(l)) => kept.push(l),
            Some(Err(())) => hidden += 1,
            None => {}
        }
    }
    let matched = kept.len();
    let shown = kept.split_off(matched.saturating_sub(limit));
    let mut head = format!(
        "server log (getLog \"global\": the last {} lines): {matched} match",
        lines.len()
    );
    if matched > shown.len() {
        head.push_str(&format!(
            ", the newest {} shown (raise limit or narrow with component/severity/contains)",
            shown.len()
        ));
    }
    if !f.include_slow {
        head.push_str("; \"Slow query\" lines are left to slow_queries");
    }
    if hidden > 0 {
        head.push_str(&format!(
            "; {hidden} about namespaces outside the allowlist not shown"
        ));
    }
    (head, shown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lines() -> Vec<String> {
        [
            r#"{"t":{"$date":"2024-05-14T03:09:00.000+00:00"},"s":"I","c":"NETWORK","id":51800,"ctx":"conn7","msg":"client metadata","attr":{"remote":"10.4.7.21:51522","client":"conn7","doc":{"driver":{"name":"nodejs","version":"6.3.0"},"application":{"name":"orders-api"}}}}"#,
            r#"{"t":{"$date":"2024-05-14T03:10:00.000+00:00"},"s":"I","c":"COMMAND","id":51806,"ctx":"conn7","msg":"CMD: dropIndexes","attr":{"namespace":"shop.orders","uuid":{"uuid":{"$uuid":"8a6c"}},"indexes":"\"status_1_createdAt_-1\""}}"#,
            r#"{"t":{"$date":"2024-05-14T03:10:00.100+00:00"},"s":"I","c":"INDEX","id":20344,"ctx":"conn7","msg":"Dropping index","attr":{"namespace":"shop.orders","index":"status_1_createdAt_-1"}}"#,
            r#"{"t":{"$date":"2024-05-14T03:11:00.000+00:00"},"s":"I","c":"COMMAND","id":51803,"ctx":"conn9","msg":"Slow query","attr":{"type":"command","ns":"shop.orders","appName":"fleet-analytics","command":{"find":"orders","filter":{"fittingId":"F-1"}},"planSummary":"COLLSCAN","keysExamined":0,"docsExamined":2400000,"nreturned":3,"durationMillis":900}}"#,
            r#"{"t":{"$date":"2024-05-14T03:12:00.000+00:00"},"s":"I","c":"REPL","id":21358,"ctx":"ReplCoord","msg":"Replica set state transition","attr":{"newState":"SECONDARY","oldState":"PRIMARY"}}"#,
            r#"{"t":{"$date":"2024-05-14T03:12:30.000+00:00"},"s":"W","c":"COMMAND","id":20525,"ctx":"conn3","msg":"Failed to gather storage statistics","attr":{"ns":"billing.invoices","error":{"code":11601,"codeName":"Interrupted","errmsg":"operation was interrupted"}}}"#,
            r#"{"t":{"$date":"2024-05-14T03:13:00.000+00:00"},"s":"I","c":"ACCESS","id":20249,"ctx":"conn12","msg":"Authentication failed","attr":{"mechanism":"SCRAM-SHA-256","speculative":false,"principalName":"observations","authenticationDatabase":"citsci","remote":"10.4.7.30:40112","extraInfo":{},"error":"AuthenticationFailed: SCRAM authentication failed, storedKey mismatch"}}"#,
        ]
        .map(str::to_string)
        .to_vec()
    }

    #[test]
    fn renders_what_happened_and_filters() {
        let all = Allowlist::default();
        let (head, out) = render(&lines(), &LogFilter::default(), &all, 50);
        assert!(
            head.starts_with("server log (getLog \"global\": the last 7 lines): 6 match"),
            "{head}"
        );
        let text = out.join("\n");
        assert!(text.contains("2024-05-14T03:10:00.000Z I COMMAND  51806 CMD: dropIndexes · ns shop.orders · index status_1_createdAt_-1"), "{text}");
        assert!(
            text.contains(
                "client metadata · app orders-api · driver nodejs 6.3.0 · remote 10.4.7.21:51522"
            ),
            "{text}"
        );
        assert!(text.contains("state PRIMARY → SECONDARY"), "{text}");
        assert!(
            text.contains("error Interrupted: operation was interrupted"),
            "{text}"
        );
        assert!(!text.contains("Slow query"), "{text}");
        // A failed login names its user, database and mechanism.
        assert!(
            text.contains("Authentication failed · user observations@citsci · mechanism SCRAM-SHA-256 · remote 10.4.7.30:40112 · error AuthenticationFailed: SCRAM authentication failed, storedKey mismatch"),
            "{text}"
        );

        let f = LogFilter {
            component: Some("index".into()),
            ..Default::default()
        };
        let (_, out) = render(&lines(), &f, &all, 50);
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("Dropping index"));
        let f = LogFilter {
            severity: Some("warning".into()),
            ..Default::default()
        };
        assert_eq!(render(&lines(), &f, &all, 50).1.len(), 1);
        let f = LogFilter {
            contains: Some("ORDERS-API".into()),
            ..Default::default()
        };
        assert_eq!(render(&lines(), &f, &all, 50).1.len(), 1);
        // The newest `limit`, in time order.
        let (head, out) = render(&lines(), &LogFilter::default(), &all, 2);
        assert!(head.contains("the newest 2 shown"), "{head}");
        assert!(out[0].contains("Failed to gather"), "{out:?}");
        assert!(out[1].contains("Authentication failed"), "{out:?}");
    }

    /// A rename says which collection replaced which, and whether the target was dropped.
    #[test]
    fn renames_name_both_collections() {
        let lines = [
            r#"{"t":{"$date":"2026-05-17T18:05:41.000+00:00"},"s":"I","c":"COMMAND","id":20400,"ctx":"conn3","msg":"renameCollectionForCommand","attr":{"sourceNamespace":"cookbook.recipes_staging","targetNamespace":"cookbook.recipes","dropTarget":"yes"}}"#.to_string(),
            r#"{"t":{"$date":"2026-05-17T18:05:41.030+00:00"},"s":"I","c":"COMMAND","id":20401,"ctx":"conn3","msg":"renameCollection","attr":{"fromName":"cookbook.recipes_staging","toName":"cookbook.recipes"}}"#.to_string(),
        ];
        let (_, out) = render(&lines, &LogFilter::default(), &Allowlist::default(), 50);
        assert!(
            out[0].contains("rename cookbook.recipes_staging → cookbook.recipes · dropTarget yes"),
            "{out:?}"
        );
        assert!(
            out[1]
                .ends_with("renameCollection · rename cookbook.recipes_staging → cookbook.recipes"),
            "{out:?}"
        );
    }

    /// An index build says which index it builds, on which keys, and whether unique.
    #[test]
    fn index_builds_name_their_index_keys_and_uniqueness() {
        let line = r#"{"t":{"$date":"2026-09-21T13:08:32.000+00:00"},"s":"I","c":"INDEX","id":20384,"ctx":"IndexBuildsCoordinatorMongod-3","msg":"Index build: starting","attr":{"namespace":"rota.shifts","properties":{"v":2,"key":{"siteId":1,"shiftDate":1},"name":"siteId_1_shiftDate_1","unique":true}}}"#;
        let (_, out) = render(
            &[line.to_string()],
            &LogFilter::default(),
            &Allowlist::default(),
            50,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].contains(
                "Index build: starting · ns rota.shifts · index siteId_1_shiftDate_1 · key {\"siteId\":1,\"shiftDate\":1} · unique"
            ),
            "{out:?}"
        );
    }

    /// With `include_slow`, a slow query says who ran it, its plan and what it read for
    /// what it returned, not only its namespace and duration.
    #[test]
    fn slow_query_lines_keep_app_plan_and_documents_examined() {
        let f = LogFilter {
            include_slow: true,
            contains: Some("Slow query".into()),
            ..Default::default()
        };
        let (_, out) = render(&lines(), &f, &Allowlist::default(), 50);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].contains(
                "Slow query · ns shop.orders · app fleet-analytics · plan COLLSCAN · examined keys 0 docs 2400000 → returned 3 · 900 ms"
            ),
            "{out:?}"
        );
    }

    #[test]
    fn a_rename_touching_a_hidden_namespace_is_hidden() {
        let line = r#"{"t":{"$date":"2026-05-17T18:05:41.000+00:00"},"s":"I","c":"COMMAND","id":20400,"ctx":"conn3","msg":"renameCollectionForCommand","attr":{"sourceNamespace":"billing.tmp","targetNamespace":"shop.orders","dropTarget":"yes"}}"#;
        let shop = Allowlist::new(vec!["shop".into()], vec![]);
        let (head, out) = render(&[line.to_string()], &LogFilter::default(), &shop, 50);
        assert!(out.is_empty(), "{out:?}");
        assert!(
            head.contains("1 about namespaces outside the allowlist not shown"),
            "{head}"
        );
    }

    #[test]
    fn hides_namespaces_outside_the_allowlist() {
        let shop = Allowlist::new(vec!["shop".into()], vec![]);
        let (head, out) = render(&lines(), &LogFilter::default(), &shop, 50);
        assert!(
            head.contains("1 about namespaces outside the allowlist not shown"),
            "{head}"
        );
        assert!(!out.join("\n").contains("billing"));
        assert!(check_severity("x").is_err() && check_severity("E").is_ok());
    }
}
