//! Small helpers over `serde_json::Value` objects and the compact text the tools print.
//!
//! Every operation works on untyped JSON so that one code path serves built-in kinds,
//! custom resources, live clusters and offline snapshots alike.

use jiff::Timestamp;
use serde_json::Value;

/// The string at a JSON pointer, or `""` when absent or not a string.
pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at a JSON pointer, `None` when absent or empty.
pub fn opt_s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
}

/// The integer at a JSON pointer, or `0`.
pub fn i(v: &Value, ptr: &str) -> i64 {
    opt_i(v, ptr).unwrap_or(0)
}

/// The integer at a JSON pointer, if present.
pub fn opt_i(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// The status condition of type `ty` (`Ready`, `Available`, …) of an object.
pub fn cond<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
}

/// The array at a JSON pointer, or an empty slice.
pub fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The timestamp at a JSON pointer, if present and RFC 3339.
pub fn ts(v: &Value, ptr: &str) -> Option<Timestamp> {
    opt_s(v, ptr).and_then(|x| x.parse().ok())
}

/// `metadata.name`.
pub fn name(v: &Value) -> &str {
    s(v, "/metadata/name")
}

/// `metadata.namespace`.
pub fn namespace(v: &Value) -> &str {
    s(v, "/metadata/namespace")
}

/// `namespace/name`, or just `name` for cluster-scoped objects.
pub fn ns_name(v: &Value) -> String {
    match namespace(v) {
        "" => name(v).to_string(),
        ns => format!("{ns}/{}", name(v)),
    }
}

/// The creation timestamp.
pub fn created(v: &Value) -> Option<Timestamp> {
    ts(v, "/metadata/creationTimestamp")
}

/// Formats the time elapsed from `then` to `now` the way kubectl does (`45s`, `12m`, `5h`, `3d`).
pub fn age(now: Timestamp, then: Option<Timestamp>) -> String {
    let Some(then) = then else {
        return "-".to_string();
    };
    let secs = now.as_second() - then.as_second();
    if secs < 0 {
        return "0s".to_string();
    }
    fmt_secs(secs)
}

/// Formats a duration in seconds compactly (`45s`, `12m`, `5h`, `3d`).
pub fn fmt_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 120 * 60 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Like [`age`] with an " ago" suffix.
pub fn ago(now: Timestamp, then: Option<Timestamp>) -> String {
    match then {
        Some(_) => format!("{} ago", age(now, then)),
        None => "-".to_string(),
    }
}

/// The controller owner reference (`kind`, `name`), if any.
pub fn controller_owner(v: &Value) -> Option<(&str, &str)> {
    let owners = arr(v, "/metadata/ownerReferences");
    owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| owners.first())
        .map(|o| (s(o, "/kind"), s(o, "/name")))
}

/// Labels as `k=v,k=v` (sorted, since they come from a JSON map).
pub fn labels(v: &Value) -> String {
    map_pairs(v, "/metadata/labels")
}

/// A string map at `ptr` rendered as `k=v,k=v`.
pub fn map_pairs(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Truncates a string to at most `max` characters, marking the cut with `…`.
/// Secrets are masked first, so a token straddling the cut cannot leave its
/// prefix behind.
pub fn clip(s: &str, max: usize) -> String {
    let s = mcp_kit::redact::redact(s.trim());
    let s = s.trim();
    if s.chars().count() <= max {
        s.replace('\n', " ")
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.replace('\n', " "))
    }
}

/// A message on one line, whole up to `max` characters; a longer one keeps
/// its head and its tail (where kubelet, containerd and scheduler messages
/// put the reason: `… 401 Unauthorized`, `… Preemption is not helpful`)
/// around a note of how much was cut. Redacted before it is cut.
pub fn clip_middle(s: &str, max: usize) -> String {
    mcp_kit::redact::redact_then_clip(s.trim(), max).replace(['\n', '\r'], " ")
}

/// How much of a message (a condition's, a container's termination or waiting message, an
/// event's) is shown whole; longer ones keep their head and tail ([`clip_middle`]).
pub const MESSAGE_MAX: usize = 1_000;

/// A status message on one line, whole up to [`MESSAGE_MAX`] characters, else head and tail
/// around a note of the cut (see [`clip_middle`]).
pub fn message(s: &str) -> String {
    clip_middle(s, MESSAGE_MAX)
}

/// Parses a CPU quantity (`250m`, `1`, `0.5`, `100u`, `5n`) into millicores.
pub fn cpu_millis(q: &str) -> Option<f64> {
    let q = q.trim();
    let (num, mult) = if let Some(n) = q.strip_suffix('n') {
        (n, 1e-6)
    } else if let Some(n) = q.strip_suffix('u') {
        (n, 1e-3)
    } else if let Some(n) = q.strip_suffix('m') {
        (n, 1.0)
    } else {
        (q, 1000.0)
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

/// Parses a memory quantity (`128Mi`, `1Gi`, `500M`, `1024`, `1e3`) into bytes.
pub fn mem_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suf, mult) in SUFFIXES {
        if let Some(n) = q.strip_suffix(suf) {
            return n.parse::<f64>().ok().map(|n| n * mult);
        }
    }
    if let Some(n) = q.strip_suffix('m') {
        return n.parse::<f64>().ok().map(|n| n / 1000.0);
    }
    q.parse::<f64>().ok()
}

/// Formats bytes as `Mi` (or `Gi` above 10 GiB).
pub fn fmt_mem(bytes: f64) -> String {
    let mi = bytes / 1048576.0;
    if mi >= 10240.0 {
        format!("{:.1}Gi", mi / 1024.0)
    } else {
        format!("{}Mi", mi.round() as i64)
    }
}

/// An aligned text table: columns separated by two spaces, no trailing padding.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells render empty.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders the table with the given indent before each line.
    pub fn render(&self, indent: &str) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (c, cell) in r.iter().enumerate().take(n) {
                widths[c] = widths[c].max(cell.chars().count());
            }
        }
        // Drop columns that are empty in every row.
        let keep: Vec<bool> = (0..n)
            .map(|c| {
                self.rows.is_empty()
                    || self
                        .rows
                        .iter()
                        .any(|r| r.get(c).is_some_and(|x| !x.is_empty()))
            })
            .collect();
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let mut l = String::from(indent);
            let mut first = true;
            for (c, cell) in cells.enumerate() {
                if !keep[c] {
                    continue;
                }
                if !first {
                    l.push_str("  ");
                }
                first = false;
                l.push_str(cell);
                let pad = widths[c].saturating_sub(cell.chars().count());
                l.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().map(String::as_str), &mut out);
        for r in &self.rows {
            let mut cells = (0..n).map(|c| r.get(c).map(String::as_str).unwrap_or(""));
            line(&mut cells, &mut out);
        }
        out
    }
}

/// Finds the latest RFC 3339 timestamp anywhere inside a value (used as the clock of snapshots).
pub fn latest_timestamp(v: &Value, best: &mut Option<Timestamp>) {
    match v {
        Value::String(x) => {
            if x.len() >= 20
                && x.len() <= 35
                && x.as_bytes().get(4) == Some(&b'-')
                && x.contains('T')
                && let Ok(t) = x.parse::<Timestamp>()
                && best.is_none_or(|b| t > b)
            {
                *best = Some(t);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| latest_timestamp(x, best)),
        Value::Object(m) => m.values().for_each(|x| latest_timestamp(x, best)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(cpu_millis("250m"), Some(250.0));
        assert_eq!(cpu_millis("2"), Some(2000.0));
        assert_eq!(cpu_millis("1500000n"), Some(1.5));
        assert_eq!(mem_bytes("128Mi"), Some(134217728.0));
        assert_eq!(mem_bytes("1G"), Some(1e9));
        assert_eq!(mem_bytes("abc"), None);
    }

    #[test]
    fn table_aligns_and_drops_empty_columns() {
        let mut t = Table::new(&["NAME", "EMPTY", "AGE"]);
        t.row(vec!["a".into(), "".into(), "1d".into()]);
        t.row(vec!["long-name".into(), "".into(), "2d".into()]);
        assert_eq!(
            t.render(""),
            "NAME       AGE\na          1d\nlong-name  2d\n"
        );
    }

    #[test]
    fn ages_are_compact() {
        let now: Timestamp = "2025-01-10T00:00:00Z".parse().unwrap();
        let then: Timestamp = "2025-01-07T00:00:00Z".parse().unwrap();
        assert_eq!(age(now, Some(then)), "3d");
        assert_eq!(fmt_secs(90), "90s");
        assert_eq!(fmt_secs(3 * 3600), "3h");
    }
}
