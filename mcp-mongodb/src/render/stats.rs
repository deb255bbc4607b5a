//! `collection_stats`: sizes from `collStats`, index usage from `$indexStats`.

use bson::{Bson, Document};

use crate::fmt::{bytes, bytes_or_na, count, count_or_na, num, num_in, sub, text};
use crate::render::Report;
use crate::shape::key_pattern;

/// A date as `2024-05-01 03:12Z`.
fn date(value: Option<&Bson>) -> String {
    match value {
        Some(Bson::DateTime(d)) => {
            let s = d.try_to_rfc3339_string().unwrap_or_default();
            // 2024-05-01T03:12:44.123Z → 2024-05-01 03:12Z
            if s.len() >= 16 {
                format!("{} {}Z", &s[..10], &s[11..16])
            } else {
                s
            }
        }
        _ => "-".into(),
    }
}

/// Renders collection stats and index stats. `index_stats` is the
/// `$indexStats` output, or the reason it is unavailable together with the
/// `listIndexes` output to fall back on.
pub fn render(
    ns: &str,
    stats: &Document,
    index_stats: Result<Vec<Document>, (String, Vec<Document>)>,
) -> Report {
    let mut summary = format!(
        "{ns}: {} documents, data {} (avg {}), storage {}",
        count_or_na(num(stats, "count")),
        bytes_or_na(num(stats, "size")),
        bytes_or_na(num(stats, "avgObjSize")),
        bytes_or_na(num(stats, "storageSize")),
    );
    if let Some(free) = num(stats, "freeStorageSize") {
        summary.push_str(&format!(" (free {})", bytes(free)));
    }
    summary.push_str(&format!(
        ", indexes {} total",
        bytes_or_na(num(stats, "totalIndexSize"))
    ));
    if stats.get_bool("capped").unwrap_or(false) {
        summary.push_str(", CAPPED");
    }
    let sizes = sub(stats, "indexSizes");
    let size_of = |name: &str| {
        sizes
            // One key, not a path: index names hold dots (`properties.datetime_-1`).
            .and_then(|s| num_in(s, &[name]))
            .map(bytes)
            .unwrap_or_else(|| "n/a".into())
    };
    let (rows, note) = match index_stats {
        Ok(mut entries) => {
            entries.sort_by(|a, b| text(a, "name").cmp(&text(b, "name")));
            let unused = entries
                .iter()
                .filter(|e| num(e, "accesses.ops") == Some(0.0) && text(e, "name") != Some("_id_"))
                .count();
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    let name = text(e, "name").unwrap_or("?");
                    let ops = num(e, "accesses.ops");
                    let mut flags = Vec::new();
                    if ops == Some(0.0) && name != "_id_" {
                        flags.push("UNUSED");
                    }
                    if e.contains_key("building") {
                        flags.push("BUILDING");
                    }
                    if crate::fmt::get(e, "spec.unique").and_then(Bson::as_bool) == Some(true) {
                        flags.push("unique");
                    }
                    vec![
                        name.to_string(),
                        sub(e, "key").map(key_pattern).unwrap_or_default(),
                        size_of(name),
                        count_or_na(ops),
                        date(crate::fmt::get(e, "accesses.since")),
                        if flags.is_empty() {
                            "-".into()
                        } else {
                            flags.join(",")
                        },
                    ]
                })
                .collect();
            let note = format!(
                "index usage since the counters were reset (restart or index change); {unused} UNUSED index(es) cost writes and cache for nothing on this member"
            );
            (rows, note)
        }
        Err((reason, indexes)) => {
            let rows = indexes
                .iter()
                .map(|i| {
                    let name = text(i, "name").unwrap_or("?");
                    vec![
                        name.to_string(),
                        sub(i, "key").map(key_pattern).unwrap_or_default(),
                        size_of(name),
                        "n/a".into(),
                        "-".into(),
                        "-".into(),
                    ]
                })
                .collect();
            (rows, format!("index usage n/a: {reason}"))
        }
    };
    let index_count = rows.len();
    Report::table(
        &format!("{summary}\n{note}\n{} index(es)", count(index_count as f64)),
        &["INDEX", "KEY", "SIZE", "OPS", "SINCE", "FLAGS"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bson::doc;

    use super::*;

    /// Index names hold dots (`collection_1_properties.datetime_-1`): their
    /// sizes are keys of `indexSizes`, not paths into it.
    #[test]
    fn sizes_of_indexes_with_dotted_names() {
        let stats = doc! {"count": 10_i64, "size": 1000_i64, "indexSizes": {
            "_id_": 4096_i64, "collection_1_properties.datetime_-1": 8192_i64
        }};
        let listed = vec![
            doc! {"name": "_id_", "key": {"_id": 1}},
            doc! {"name": "collection_1_properties.datetime_-1", "key": {"collection": 1, "properties.datetime": -1}},
        ];
        let report = render("stac.items", &stats, Err(("not authorized".into(), listed)));
        let row = report
            .lines
            .iter()
            .find(|l| l.starts_with("collection_1_properties.datetime_-1"))
            .unwrap();
        assert!(row.contains("8.0 KiB"), "{row}");
    }
}
