//! A log record's severity when the collector did not parse one: the level
//! its JSON or logfmt body states.
//!
//! A service that logs JSON or logfmt to stdout, collected without a parser,
//! arrives with `severity_number` 0 and no `severity_text`, so a filter for
//! errors would never see its errors. [`effective_severity`] falls back to
//! the level in the body; the ClickHouse store evaluates the very same rules
//! in SQL ([`SQL_EFFECTIVE_SEVERITY`]), and the contract suite holds the two
//! stores to the same answers — which is why the rules are deliberately
//! simple.

use std::sync::LazyLock;

use serde_json::Value;

use crate::model::LogRow;
use crate::structured::LEVEL_KEYS;

/// OTLP severity number of a level name (`error` → 17), 0 when unknown.
pub fn severity_of_name(name: &str) -> u8 {
    match name.trim().to_ascii_lowercase().as_str() {
        "trace" => 1,
        "debug" => 5,
        "info" | "information" | "notice" => 9,
        "warn" | "warning" => 13,
        "error" | "err" => 17,
        "fatal" | "critical" | "crit" | "panic" | "emergency" | "emerg" | "alert" => 21,
        _ => 0,
    }
}

/// OTLP severity number of a pino/bunyan numeric level (50 → error).
pub fn severity_of_pino(level: i64) -> u8 {
    match level {
        60.. => 21,
        50..=59 => 17,
        40..=49 => 13,
        30..=39 => 9,
        20..=29 => 5,
        10..=19 => 1,
        _ => 0,
    }
}

static LOGFMT_LEVEL: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r#"(?:^|[ \t])(?:level|lvl|severity)="?([A-Za-z]+)"#).ok());

/// The level a JSON or logfmt body states, as an OTLP severity number (0 when
/// none). Deliberately simple, so that SQL can say exactly the same: the first
/// non-empty string among [`LEVEL_KEYS`] of a JSON object, else a numeric
/// `level` (pino); in other text, the first `level=`/`lvl=`/`severity=` word.
pub fn body_severity(body: &str) -> u8 {
    let t = body.trim_start_matches(' ');
    if t.starts_with('{') {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(t) else {
            return 0;
        };
        if let Some(name) = LEVEL_KEYS
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        {
            return severity_of_name(name);
        }
        return o
            .get("level")
            .and_then(Value::as_i64)
            .map_or(0, severity_of_pino);
    }
    LOGFMT_LEVEL
        .as_ref()
        .and_then(|re| re.captures(t))
        .and_then(|c| c.get(1))
        .map_or(0, |m| severity_of_name(m.as_str()))
}

/// A record's severity: its number, else its text, else its body's level.
pub fn effective_severity(row: &LogRow) -> u8 {
    if row.severity_number > 0 {
        return row.severity_number;
    }
    match severity_of_name(&row.severity_text) {
        0 => body_severity(&row.body),
        n => n,
    }
}

fn sql_name_to_number(x: &str) -> String {
    format!(
        "multiIf({x} = 'trace', 1, {x} = 'debug', 5, {x} IN ('info', 'information', 'notice'), 9, \
         {x} IN ('warn', 'warning'), 13, {x} IN ('error', 'err'), 17, \
         {x} IN ('fatal', 'critical', 'crit', 'panic', 'emergency', 'emerg', 'alert'), 21, 0)"
    )
}

/// [`effective_severity`] in ClickHouse SQL over `logs_v2` columns.
pub static SQL_EFFECTIVE_SEVERITY: LazyLock<String> = LazyLock::new(|| {
    let text = sql_name_to_number("lower(trimBoth(toString(severity_text)))");
    let json_name = format!(
        "coalesce({}, '')",
        LEVEL_KEYS
            .iter()
            // JSONExtractString also returns numbers as text: strings only.
            .map(|k| {
                format!(
                    "if(JSONType(body, '{k}') = 'String', nullIf(JSONExtractString(body, '{k}'), ''), NULL)"
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let json = format!(
        "if({json_name} != '', {}, multiIf(JSONExtractInt(body, 'level') >= 60, 21, \
         JSONExtractInt(body, 'level') >= 50, 17, JSONExtractInt(body, 'level') >= 40, 13, \
         JSONExtractInt(body, 'level') >= 30, 9, JSONExtractInt(body, 'level') >= 20, 5, \
         JSONExtractInt(body, 'level') >= 10, 1, 0))",
        sql_name_to_number(&format!("lower({json_name})"))
    );
    let logfmt = sql_name_to_number(
        r#"lower(extract(body, '(?:^|[ \\t])(?:level|lvl|severity)="?([A-Za-z]+)'))"#,
    );
    format!(
        "multiIf(severity_number > 0, toUInt8(severity_number), {text} > 0, {text}, \
         startsWith(trimLeft(body), '{{'), {json}, {logfmt})"
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    fn row(body: &str) -> LogRow {
        LogRow {
            body: body.to_string(),
            ..LogRow::default()
        }
    }

    #[test]
    fn severity_precedence() {
        let mut r = row(r#"{"level":"error","msg":"x"}"#);
        assert_eq!(effective_severity(&r), 17);
        r.severity_text = "WARN".into();
        assert_eq!(effective_severity(&r), 13);
        r.severity_number = 9;
        assert_eq!(effective_severity(&r), 9);
        assert_eq!(body_severity("plain text, no level"), 0);
        assert_eq!(body_severity("{not json"), 0);
        assert_eq!(body_severity(r#"{"severity":"CRITICAL"}"#), 21);
        assert_eq!(
            body_severity(r#"{"level":"verbose","severity":"error"}"#),
            0
        );
    }
}
