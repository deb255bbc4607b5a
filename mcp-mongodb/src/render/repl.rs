//! `replica_set_status`: members, state, health, lag and the oplog window.

use bson::{Bson, Document};

use crate::fmt::{duration, epoch_seconds, num, text};
use crate::render::Report;

/// Lag above which a member is flagged.
pub const LAG_WARN_SECONDS: f64 = 10.0;

/// The member's last applied operation, in seconds since the epoch. A member
/// that has applied nothing yet (an initial sync in progress reports
/// `Timestamp(0, 0)` / 1970-01-01) has none: its lag is not decades.
fn optime(member: &Document) -> Option<f64> {
    member
        .get("optimeDate")
        .and_then(epoch_seconds)
        .or_else(|| member.get("optime").and_then(epoch_seconds))
        .filter(|t| *t > 86_400.0)
}

/// Renders a `replSetGetStatus` reply and, if known, the first and last
/// oplog entries of the member answering.
pub fn render(status: &Document, oplog: Option<(&Document, &Document)>) -> Report {
    let members: Vec<&Document> = match status.get("members") {
        Some(Bson::Array(items)) => items.iter().filter_map(Bson::as_document).collect(),
        _ => Vec::new(),
    };
    let set = text(status, "set").unwrap_or("?");
    let primary = members
        .iter()
        .find(|m| text(m, "stateStr") == Some("PRIMARY"))
        .copied();
    let reference = primary
        .and_then(optime)
        .or_else(|| members.iter().filter_map(|m| optime(m)).reduce(f64::max));
    let mut worst_lag: f64 = 0.0;
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            let state = text(m, "stateStr").unwrap_or("?");
            let healthy = num(m, "health").is_none_or(|h| h > 0.0);
            let data_bearing = matches!(state, "PRIMARY" | "SECONDARY" | "RECOVERING" | "STARTUP2");
            let lag = match (reference, optime(m)) {
                (Some(r), Some(o)) if data_bearing && healthy => Some((r - o).max(0.0)),
                _ => None,
            };
            let mut flags = Vec::new();
            if !healthy {
                flags.push("UNHEALTHY");
            }
            if let Some(l) = lag {
                worst_lag = worst_lag.max(l);
                if l > LAG_WARN_SECONDS {
                    flags.push("LAGGING");
                }
            }
            if !matches!(state, "PRIMARY" | "SECONDARY" | "ARBITER") {
                flags.push("NOT-SERVING");
            }
            if state == "STARTUP2" {
                flags.push("INITIAL-SYNC");
            }
            let mut name = text(m, "name").unwrap_or("?").to_string();
            if m.get_bool("self").unwrap_or(false) {
                name.push_str(" (self)");
            }
            vec![
                name,
                state.to_string(),
                if healthy { "up".into() } else { "DOWN".into() },
                lag.map(|l| format!("{l:.0}s"))
                    .unwrap_or_else(|| "-".into()),
                num(m, "pingMs")
                    .map(|p| format!("{p:.0}ms"))
                    .unwrap_or_else(|| "-".into()),
                text(m, "syncSourceHost")
                    .filter(|s| !s.is_empty())
                    .unwrap_or("-")
                    .to_string(),
                {
                    let mut f = if flags.is_empty() {
                        "-".to_string()
                    } else {
                        flags.join(",")
                    };
                    if let Some(msg) = text(m, "lastHeartbeatMessage").filter(|s| !s.is_empty()) {
                        f.push_str(&format!(" ({})", crate::fmt::clip(msg, 60)));
                    }
                    f
                },
            ]
        })
        .collect();
    let mut summary = format!(
        "replica set {set}: {} member(s), primary {}",
        members.len(),
        primary
            .and_then(|p| text(p, "name"))
            .unwrap_or("NONE (NO-PRIMARY: writes fail)")
    );
    summary.push_str(&format!(", max lag {}", duration(worst_lag)));
    let window = oplog.and_then(|(first, last)| {
        let a = first.get("ts").and_then(epoch_seconds)?;
        let b = last.get("ts").and_then(epoch_seconds)?;
        Some(b - a)
    });
    match window {
        Some(w) => {
            summary.push_str(&format!(", oplog window {}", duration(w)));
            if w > 0.0 && worst_lag > 0.5 * w {
                summary.push_str(&format!(
                    "  OPLOG-RISK: lag is {:.0}% of the window; a member that falls off the oplog needs a full resync",
                    worst_lag * 100.0 / w
                ));
            }
        }
        None => summary.push_str(", oplog window n/a"),
    }
    Report::table(
        &summary,
        &[
            "MEMBER",
            "STATE",
            "HEALTH",
            "LAG",
            "PING",
            "SYNC SOURCE",
            "FLAGS",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    /// A member in initial sync reports an optime of the epoch, as MongoDB does: that is
    /// "nothing applied yet", not a lag of fifty years that would hide the member really
    /// behind.
    #[test]
    fn a_member_in_initial_sync_has_no_lag_and_says_so() {
        let at = |secs: i64| bson::DateTime::from_millis(secs * 1000);
        let status = doc! {
            "set": "rs0",
            "members": [
                {"name": "m-0:27017", "stateStr": "PRIMARY", "health": 1.0, "optimeDate": at(1_764_000_000)},
                {"name": "m-1:27017", "stateStr": "SECONDARY", "health": 1.0, "optimeDate": at(1_764_000_000 - 97)},
                {"name": "m-2:27017", "stateStr": "STARTUP2", "health": 1.0, "optimeDate": at(0)},
            ],
        };
        let text = render(&status, None).text();
        assert!(
            text.contains("max lag 1m37s") || text.contains("max lag 97s"),
            "{text}"
        );
        let m2 = text.lines().find(|l| l.starts_with("m-2")).unwrap();
        assert!(
            m2.contains("INITIAL-SYNC") && !m2.contains("LAGGING"),
            "{m2}"
        );
        let m1 = text.lines().find(|l| l.starts_with("m-1")).unwrap();
        assert!(m1.contains("97s") && m1.contains("LAGGING"), "{m1}");
    }
}
