//! `server_status`: one screen answering "is the server itself in trouble?".

use bson::Document;

use crate::fmt::{
    bytes_or_na, count, count_or_na, duration, num, num_in, percent, short, sub, text,
};

/// Counters whose rates are shown.
const OPS: [&str; 6] = ["insert", "query", "update", "delete", "getmore", "command"];

/// Seconds between two samples, from the server's own clock.
fn interval(prev: &Document, cur: &Document) -> Option<f64> {
    let by_uptime = num(cur, "uptimeMillis")
        .zip(num(prev, "uptimeMillis"))
        .map(|(a, b)| (a - b) / 1000.0);
    let by_clock = || {
        let t = |d: &Document| d.get("localTime").and_then(crate::fmt::epoch_seconds);
        t(cur).zip(t(prev)).map(|(a, b)| a - b)
    };
    by_uptime.or_else(by_clock).filter(|s| *s > 0.0)
}

/// Renders one or two `serverStatus` replies (oldest first).
pub fn render(samples: &[Document]) -> String {
    let Some(cur) = samples.last() else {
        return "serverStatus returned nothing".into();
    };
    let prev = samples.len().checked_sub(2).and_then(|i| samples.get(i));
    let window = prev.and_then(|p| interval(p, cur));
    let uptime = num(cur, "uptime");
    // Per-second rate of the counter at `path`: between the samples, else the
    // average since start-up.
    let rate = |path: &[&str]| -> Option<f64> {
        let now = num_in(cur, path)?;
        match (prev, window) {
            (Some(p), Some(w)) => num_in(p, path).map(|before| (now - before).max(0.0) / w),
            _ => uptime.filter(|u| *u > 0.0).map(|u| now / u),
        }
    };
    let rate_label = match window {
        Some(w) => format!("rates over the last {}", duration(w)),
        None => "rates are averages since start-up (one sample)".into(),
    };

    let mut lines = Vec::new();
    let mut flags: Vec<String> = Vec::new();

    let repl = match (text(cur, "repl.setName"), cur.get("repl")) {
        (Some(set), Some(_)) => {
            let role = if crate::fmt::num(cur, "repl.isWritablePrimary")
                .or_else(|| num(cur, "repl.ismaster"))
                == Some(1.0)
            {
                "PRIMARY"
            } else if num(cur, "repl.secondary") == Some(1.0) {
                "SECONDARY"
            } else {
                "other"
            };
            format!(", replica set {set} {role}")
        }
        _ => String::new(),
    };
    lines.push(format!(
        "{} {} on {}, up {}{repl}; {rate_label}",
        text(cur, "process").unwrap_or("mongod"),
        text(cur, "version").unwrap_or("?"),
        text(cur, "host").unwrap_or("?"),
        uptime.map(duration).unwrap_or_else(|| "n/a".into()),
    ));

    // Connections.
    let current = num(cur, "connections.current");
    let available = num(cur, "connections.available");
    let mut conn = format!(
        "{} current, {} available",
        count_or_na(current),
        count_or_na(available)
    );
    if let Some(r) = rate(&["connections", "totalCreated"]) {
        conn.push_str(&format!(", {:.1} new/s", r));
    }
    if let Some(active) = num(cur, "connections.active") {
        conn.push_str(&format!(", {} active", count(active)));
    }
    if let (Some(c), Some(a)) = (current, available)
        && c + a > 0.0
        && c / (c + a) > 0.8
    {
        flags.push("CONNECTIONS-HIGH".into());
        conn.push_str("  CONNECTIONS-HIGH");
    }
    lines.push(format!("connections  {conn}"));

    // Opcounters.
    if sub(cur, "opcounters").is_some() {
        let parts: Vec<String> = OPS
            .iter()
            .map(|op| {
                let total = num_in(cur, &["opcounters", op]).unwrap_or(0.0);
                let r = rate(&["opcounters", op]).unwrap_or(0.0);
                format!("{op} {}/s ({})", short(r), short(total))
            })
            .collect();
        lines.push(format!("opcounters   {}", parts.join("  ")));
    } else {
        lines.push("opcounters   n/a (not in this server's reply)".into());
    }

    // Memory.
    let mib = |path: &str| num(cur, path).map(|m| m * 1024.0 * 1024.0);
    let (resident, virt) = if text(cur, "process") == Some("nx_27017") {
        // nx-27017 reports bytes, not MiB.
        (num(cur, "mem.resident"), num(cur, "mem.virtual"))
    } else {
        (mib("mem.resident"), mib("mem.virtual"))
    };
    lines.push(format!(
        "memory       resident {}, virtual {}",
        bytes_or_na(resident),
        bytes_or_na(virt)
    ));

    // WiredTiger cache.
    let wt = |key: &str| num_in(cur, &["wiredTiger", "cache", key]);
    match (
        wt("bytes currently in the cache"),
        wt("maximum bytes configured"),
    ) {
        (Some(used), Some(max)) if max > 0.0 => {
            let dirty = wt("tracked dirty bytes in the cache").unwrap_or(0.0);
            let mut line = format!(
                "wt cache     used {} of {} ({}), dirty {} ({})",
                crate::fmt::bytes(used),
                crate::fmt::bytes(max),
                percent(used, max),
                crate::fmt::bytes(dirty),
                percent(dirty, max)
            );
            if let Some(r) = rate(&["wiredTiger", "cache", "pages read into cache"]) {
                line.push_str(&format!(", {}/s pages read in", short(r)));
            }
            if used / max > 0.95 {
                line.push_str("  CACHE-FULL (>95%: application threads evict)");
                flags.push("CACHE-FULL".into());
            }
            if dirty / max > 0.20 {
                line.push_str("  DIRTY-HIGH (>20%)");
                flags.push("DIRTY-HIGH".into());
            }
            lines.push(line);
        }
        _ => lines.push("wt cache     n/a (no wiredTiger section)".into()),
    }

    // Tickets: 7.0+ `queues.execution`, older `wiredTiger.concurrentTransactions`.
    let tickets =
        sub(cur, "queues.execution").or_else(|| sub(cur, "wiredTiger.concurrentTransactions"));
    match tickets {
        Some(t) => {
            let mut part = |kind: &str| {
                let out = num(t, &format!("{kind}.out"));
                let total = num(t, &format!("{kind}.totalTickets"));
                let avail = num(t, &format!("{kind}.available"));
                if avail == Some(0.0) {
                    flags.push(format!("{}-TICKETS-EXHAUSTED", kind.to_ascii_uppercase()));
                }
                format!("{kind} {}/{} in use", count_or_na(out), count_or_na(total))
            };
            let read = part("read");
            let write = part("write");
            let exhausted: Vec<&String> = flags
                .iter()
                .filter(|f| f.ends_with("TICKETS-EXHAUSTED"))
                .collect();
            let mark = if exhausted.is_empty() {
                String::new()
            } else {
                format!(
                    "  {}",
                    exhausted
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            lines.push(format!("tickets      {read}, {write}{mark}"));
        }
        None => lines.push("tickets      n/a".into()),
    }

    // Queues and lock waits.
    let readers = num(cur, "globalLock.currentQueue.readers");
    let writers = num(cur, "globalLock.currentQueue.writers");
    let mut queue = format!(
        "queued       readers {}, writers {}",
        count_or_na(readers),
        count_or_na(writers)
    );
    if let (Some(a), Some(b)) = (
        num(cur, "globalLock.activeClients.readers"),
        num(cur, "globalLock.activeClients.writers"),
    ) {
        queue.push_str(&format!(
            "; active readers {}, writers {}",
            count(a),
            count(b)
        ));
    }
    if readers.unwrap_or(0.0) + writers.unwrap_or(0.0) > 0.0 {
        queue.push_str("  QUEUED");
        flags.push("QUEUED".into());
    }
    lines.push(queue);

    if let Some(locks) = sub(cur, "locks") {
        let mut waits = 0.0;
        let mut wait_us = 0.0;
        let mut waits_rate = 0.0;
        let mut have_rate = false;
        for (name, _) in locks {
            for mode in ["r", "w", "R", "W"] {
                waits += num_in(locks, &[name, "acquireWaitCount", mode]).unwrap_or(0.0);
                wait_us += num_in(locks, &[name, "timeAcquiringMicros", mode]).unwrap_or(0.0);
                if let Some(r) = rate(&["locks", name, "acquireWaitCount", mode]) {
                    waits_rate += r;
                    have_rate = true;
                }
            }
        }
        lines.push(format!(
            "lock waits   {} waits ({}/s), {} spent waiting",
            count(waits),
            if have_rate {
                short(waits_rate)
            } else {
                "n/a".into()
            },
            duration(wait_us / 1e6)
        ));
    } else {
        lines.push("lock waits   n/a".into());
    }

    // Network.
    if sub(cur, "network").is_some() {
        let r = |k: &str| rate(&["network", k]);
        lines.push(format!(
            "network      in {}/s, out {}/s, {} requests/s (totals in {}, out {})",
            bytes_or_na(r("bytesIn")),
            bytes_or_na(r("bytesOut")),
            r("numRequests").map(short).unwrap_or_else(|| "n/a".into()),
            bytes_or_na(num(cur, "network.bytesIn")),
            bytes_or_na(num(cur, "network.bytesOut")),
        ));
    } else {
        lines.push("network      n/a".into());
    }

    // Asserts.
    if sub(cur, "asserts").is_some() {
        let parts: Vec<String> = ["regular", "warning", "msg", "user", "rollovers"]
            .iter()
            .map(|k| format!("{k} {}", count_or_na(num_in(cur, &["asserts", k]))))
            .collect();
        let mut line = format!("asserts      {}", parts.join(", "));
        if let Some(r) = rate(&["asserts", "user"]).filter(|r| *r >= 1.0) {
            line.push_str(&format!("  USER-ASSERTS {}/s", short(r)));
        }
        lines.push(line);
    }

    // Flow control: the primary throttles writes because majority-committed lags.
    if let Some(fc) = sub(cur, "flowControl") {
        let lagged = fc.get("isLagged").and_then(bson::Bson::as_bool) == Some(true);
        let enabled = fc.get("enabled").and_then(bson::Bson::as_bool) != Some(false);
        let mut line = format!(
            "flow control {}, target {} lock acquisitions/s",
            if enabled { "enabled" } else { "disabled" },
            count_or_na(num(fc, "targetRateLimit"))
        );
        if let Some(n) = num(fc, "isLaggedCount") {
            line.push_str(&format!(", lagged {} times", count(n)));
        }
        if let Some(us) = num(fc, "isLaggedTimeMicros") {
            line.push_str(&format!(" ({} in all)", duration(us / 1e6)));
        }
        if let Some(r) = rate(&["flowControl", "timeAcquiringMicros"]).filter(|r| *r > 0.0) {
            line.push_str(&format!(
                ", writers waiting {:.0}ms/s for flow-control tickets",
                r / 1e3
            ));
        }
        if lagged && enabled {
            line.push_str("  FLOW-CONTROL-LAGGED (majority commit point lags: writes throttled)");
            flags.push("FLOW-CONTROL-LAGGED".into());
        }
        lines.push(line);
    }

    // Write concern: waits for replication, and the ones that timed out.
    if sub(cur, "metrics.getLastError").is_some() {
        let wtimeouts = num(cur, "metrics.getLastError.wtimeouts").unwrap_or(0.0)
            + num(cur, "metrics.getLastError.default.wtimeouts").unwrap_or(0.0);
        let waits = num(cur, "metrics.getLastError.wtime.num");
        let wait_ms = num(cur, "metrics.getLastError.wtime.totalMillis");
        let mut line = format!("write conc.  {} wtimeouts", count(wtimeouts));
        let timeout_rate = rate(&["metrics", "getLastError", "wtimeouts"]);
        if let Some(r) = timeout_rate {
            line.push_str(&format!(" ({}/s)", short(r)));
        }
        if let (Some(n), Some(ms)) = (waits, wait_ms)
            && n > 0.0
        {
            line.push_str(&format!(
                ", {} waits for replication averaging {}",
                count(n),
                duration(ms / n / 1e3)
            ));
        }
        // Between two samples: timeouts now; with one sample: any since start-up.
        let timing_out = match (prev, window) {
            (Some(_), Some(_)) => timeout_rate.is_some_and(|r| r > 0.0),
            _ => wtimeouts > 0.0,
        };
        if timing_out {
            line.push_str("  WRITE-CONCERN-TIMEOUTS");
            flags.push("WRITE-CONCERN-TIMEOUTS".into());
        }
        lines.push(line);
    }

    let verdict = if flags.is_empty() {
        "flags: none".to_string()
    } else {
        format!("flags: {}", flags.join(" "))
    };
    lines.push(verdict);
    lines.join("\n")
}
