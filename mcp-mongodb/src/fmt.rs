//! Small helpers shared by the renderers: lenient field access on server
//! replies, human units, and aligned tables.
//!
//! Server replies differ between versions (an `Int32` here, an `Int64` or a
//! `Double` there) and between MongoDB and compatible servers (fields simply
//! missing). Every accessor is therefore lenient: a number is a number
//! whatever its BSON type, and a missing field is `None`, rendered as `n/a`.

use bson::{Bson, Document};

/// The value at a dotted `path`, e.g. `connections.current`.
pub fn get<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    get_in(doc, &path.split('.').collect::<Vec<_>>())
}

/// The value at the path given as segments.
pub fn get_in<'a>(doc: &'a Document, path: &[&str]) -> Option<&'a Bson> {
    let (first, rest) = path.split_first()?;
    let value = doc.get(*first)?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        Bson::Document(inner) => get_in(inner, rest),
        _ => None,
    }
}

/// A BSON value as a number, whatever its numeric type.
pub fn as_f64(value: &Bson) -> Option<f64> {
    match value {
        Bson::Double(f) => Some(*f),
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        Bson::Decimal128(d) => d.to_string().parse().ok(),
        _ => None,
    }
}

/// The number at a dotted path.
pub fn num(doc: &Document, path: &str) -> Option<f64> {
    get(doc, path).and_then(as_f64)
}

/// The number at a path given as segments.
pub fn num_in(doc: &Document, path: &[&str]) -> Option<f64> {
    get_in(doc, path).and_then(as_f64)
}

/// The string at a dotted path.
pub fn text<'a>(doc: &'a Document, path: &str) -> Option<&'a str> {
    match get(doc, path)? {
        Bson::String(s) => Some(s),
        _ => None,
    }
}

/// The sub-document at a dotted path.
pub fn sub<'a>(doc: &'a Document, path: &str) -> Option<&'a Document> {
    match get(doc, path)? {
        Bson::Document(d) => Some(d),
        _ => None,
    }
}

/// A BSON date or timestamp as seconds since the epoch.
pub fn epoch_seconds(value: &Bson) -> Option<f64> {
    match value {
        Bson::DateTime(d) => Some(d.timestamp_millis() as f64 / 1000.0),
        Bson::Timestamp(t) => Some(f64::from(t.time)),
        Bson::Document(d) => d.get("ts").and_then(epoch_seconds),
        _ => None,
    }
}

/// `1234567` → `1,234,567`; fractions are rounded.
pub fn count(n: f64) -> String {
    if !n.is_finite() || n < 0.0 {
        return format!("{n}");
    }
    mcp_kit::budget::group(n.round() as usize)
}

/// A count, or `n/a`.
pub fn count_or_na(n: Option<f64>) -> String {
    n.map(count).unwrap_or_else(|| "n/a".into())
}

/// Compact count: `950`, `12.3k`, `4.1M`, `2.0G`.
pub fn short(n: f64) -> String {
    let abs = n.abs();
    if abs >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if abs >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if abs >= 1e4 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{}", n.round())
    }
}

/// Bytes in binary units: `512 B`, `3.4 MiB`, `11.8 GiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", value.round())
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Bytes, or `n/a`.
pub fn bytes_or_na(n: Option<f64>) -> String {
    n.map(bytes).unwrap_or_else(|| "n/a".into())
}

/// Seconds as a short duration: `850ms`, `42s`, `3m12s`, `5h04m`, `12d03h`.
pub fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        return format!("{}ms", (seconds * 1000.0).round());
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Milliseconds, grouped: `1,234ms`.
pub fn millis(ms: f64) -> String {
    format!("{}ms", count(ms))
}

/// A percentage with one decimal.
pub fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        return "n/a".into();
    }
    format!("{:.1}%", part * 100.0 / whole)
}

/// Cuts `s` to at most `max` characters, ending in `…` when cut. Secrets are
/// masked first, so a token straddling the cut cannot leave its prefix.
pub fn clip(s: &str, max: usize) -> String {
    let s = mcp_kit::redact::redact(s);
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Aligns `rows` under `headers`, two spaces between columns; the last column
/// is not padded. Returns the header line and the row lines.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> (String, Vec<String>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_string()
    };
    let header = line(&mut headers.iter().copied());
    let lines = rows
        .iter()
        .map(|r| line(&mut r.iter().map(String::as_str)))
        .collect();
    (header, lines)
}

/// A document as one line of relaxed Extended JSON, redacted on its values
/// (each string raw, documents inside strings, values under secret keys)
/// before it is serialized.
pub fn json_line(doc: &Document) -> String {
    let mut value = Bson::Document(doc.clone()).into_relaxed_extjson();
    mcp_kit::redact::redact_json(&mut value);
    value.to_string()
}

/// Reads a cursor argument (`"212"`) into a line index.
pub fn cursor(arg: Option<&str>) -> crate::Result<usize> {
    match arg.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(c) => c.parse().map_err(|_| {
            crate::Error::BadArgument(format!(
                "`cursor` must be the number from a previous result's footer, not {c:?}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn numbers_of_any_type() {
        let d = doc! {"a": {"b": 3_i32, "c": 4_i64, "d": 2.5, "e": "x"}};
        assert_eq!(num(&d, "a.b"), Some(3.0));
        assert_eq!(num(&d, "a.c"), Some(4.0));
        assert_eq!(num(&d, "a.d"), Some(2.5));
        assert_eq!(num(&d, "a.e"), None);
        assert_eq!(num(&d, "a.z"), None);
    }

    #[test]
    fn units() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0), "3.5 MiB");
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(192.0), "3m12s");
        assert_eq!(duration(3.0 * 86_400.0 + 7200.0), "3d02h");
        assert_eq!(short(12_345.0), "12.3k");
        assert_eq!(clip("abcdef", 4), "abc…");
    }

    #[test]
    fn table_aligns_columns() {
        let (h, rows) = table(
            &["NAME", "N", "NOTE"],
            &[
                vec!["a".into(), "100".into(), "x".into()],
                vec!["long-name".into(), "2".into(), "".into()],
            ],
        );
        assert_eq!(h, "NAME       N    NOTE");
        assert_eq!(rows[0], "a          100  x");
        assert_eq!(rows[1], "long-name  2");
    }
}
