//! Time as people type it at 3 a.m. (`now-1h`, `15m`, `2024-06-01T14:00:00Z`)
//! and as tools print it (UTC, milliseconds, short durations).

use crate::model::{Nanos, SECOND, TimeRange, parse_datetime_text};

/// A time or duration that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read time `{0}`: use `now`, `now-15m`, `-2h`, an RFC 3339 time \
     (2024-06-01T14:00:00Z) or epoch seconds/milliseconds"
)]
pub struct TimeError(pub String);

/// Parses a duration in the workspace's grammar ([`mcp_kit::duration`]:
/// `90s`, `15m`, `1h30m`, `2d`, `250ms`, `PT1H`; a bare number is seconds)
/// into nanoseconds.
pub fn parse_duration(text: &str) -> Result<Nanos, mcp_kit::duration::DurationError> {
    let d = mcp_kit::duration::parse(text)?;
    // The grammar caps a duration at i64::MAX nanoseconds, so this holds.
    Ok(Nanos::try_from(d.as_nanos()).unwrap_or(Nanos::MAX))
}

/// Parses a point in time; relative forms count back from `now`.
pub fn parse_time(text: &str, now: Nanos) -> Result<Nanos, TimeError> {
    let t = text.trim();
    let err = || TimeError(text.to_string());
    if t.is_empty() || t == "now" {
        return Ok(now);
    }
    if let Some(rel) = t.strip_prefix("now-").or_else(|| t.strip_prefix('-')) {
        return parse_duration(rel).map(|d| now - d).map_err(|_| err());
    }
    // A duration alone means "that long ago"; but a bare number alone is an
    // epoch time (below), so only a duration that ends in a unit counts here.
    if t.ends_with(|c: char| c.is_alphabetic())
        && let Ok(d) = parse_duration(t)
    {
        return Ok(now - d);
    }
    if let Ok(n) = t.parse::<i64>() {
        // Epoch seconds, milliseconds, microseconds or nanoseconds by size.
        return Ok(match n.unsigned_abs() {
            0..100_000_000_000 => n * SECOND,
            100_000_000_000..100_000_000_000_000 => n * 1_000_000,
            100_000_000_000_000..100_000_000_000_000_000 => n * 1_000,
            _ => n,
        });
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return i64::try_from(ts.as_nanosecond()).map_err(|_| err());
    }
    parse_datetime_text(t).ok_or_else(err)
}

/// Resolves `from`/`to` texts into a range (defaults: the last `default_span`
/// before `now`).
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    now: Nanos,
    default_span: Nanos,
) -> Result<TimeRange, TimeError> {
    let (start, end) = bounds(from, to, now, default_span)?;
    Ok(TimeRange::new(start, end))
}

/// Resolves `from`/`to` texts into `(start, end)` as given, even reversed
/// ([`TimeRange::new`] would raise the end to the start, hiding which end
/// the caller typed).
pub fn bounds(
    from: Option<&str>,
    to: Option<&str>,
    now: Nanos,
    default_span: Nanos,
) -> Result<(Nanos, Nanos), TimeError> {
    let end = match to {
        Some(t) => parse_time(t, now)?,
        None => now,
    };
    let start = match from {
        Some(f) => parse_time(f, now)?,
        None => end - default_span,
    };
    Ok((start, end))
}

/// `2024-06-01 14:02:07.123` (UTC).
pub fn fmt_ts(ns: Nanos) -> String {
    let secs = ns.div_euclid(SECOND);
    let millis = ns.rem_euclid(SECOND) / 1_000_000;
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => format!("{}.{millis:03}", ts.strftime("%Y-%m-%d %H:%M:%S")),
        Err(_) => format!("{ns}ns"),
    }
}

/// `14:02:07` (UTC), for time buckets within a day.
pub fn fmt_hms(ns: Nanos) -> String {
    match jiff::Timestamp::from_second(ns.div_euclid(SECOND)) {
        Ok(ts) => ts.strftime("%H:%M:%S").to_string(),
        Err(_) => format!("{ns}ns"),
    }
}

/// `2024-06-01 14:00:00Z → 15:00:00Z (1h)`.
pub fn fmt_range(r: &TimeRange) -> String {
    let (a, b) = (fmt_ts(r.start), fmt_ts(r.end));
    let end = if a.get(..10) == b.get(..10) {
        b.get(11..19).unwrap_or(&b)
    } else {
        b.get(..19).unwrap_or(&b)
    };
    format!(
        "{}Z → {end}Z ({})",
        a.get(..19).unwrap_or(&a),
        fmt_span(r.len())
    )
}

/// A span of time in the largest fitting units: `1h`, `15m`, `1h30m`, `45s`.
pub fn fmt_span(ns: Nanos) -> String {
    let s = ns / SECOND;
    if s == 0 {
        return fmt_duration(ns as f64);
    }
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    out
}

/// A duration with three significant digits: `850µs`, `12.3ms`, `1.25s`.
pub fn fmt_duration(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v >= 100.0 || unit == "ns" {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Nanos = 1_717_250_400 * SECOND; // 2024-06-01 14:00:00Z

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Ok(15 * 60 * SECOND));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * SECOND));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("90"), Ok(90 * SECOND), "bare seconds");
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("now", NOW), Ok(NOW));
        assert_eq!(parse_time("now-1h", NOW), Ok(NOW - 3600 * SECOND));
        assert_eq!(parse_time("-15m", NOW), Ok(NOW - 900 * SECOND));
        assert_eq!(parse_time("2h", NOW), Ok(NOW - 7200 * SECOND));
        assert_eq!(parse_time("1h 30m", NOW), Ok(NOW - 5400 * SECOND));
        assert_eq!(parse_time("now-PT1H", NOW), Ok(NOW - 3600 * SECOND));
        assert_eq!(parse_time("now-90", NOW), Ok(NOW - 90 * SECOND));
        assert_eq!(parse_time("2024-06-01T14:00:00Z", 0), Ok(NOW));
        assert_eq!(parse_time("2024-06-01 14:00:00", 0), Ok(NOW));
        assert_eq!(parse_time("1717250400", 0), Ok(NOW));
        assert_eq!(parse_time("1717250400000", 0), Ok(NOW));
        assert!(parse_time("yesterday-ish", NOW).is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_ts(NOW + 123_456_789), "2024-06-01 14:00:00.123");
        assert_eq!(fmt_duration(850_000.0), "850µs");
        assert_eq!(fmt_duration(12_345_678.0), "12.3ms");
        assert_eq!(fmt_duration(1_250_000_000.0), "1.25s");
        assert_eq!(fmt_span(5400 * SECOND), "1h30m");
        assert_eq!(
            fmt_range(&TimeRange::new(NOW, NOW + 3600 * SECOND)),
            "2024-06-01 14:00:00Z → 15:00:00Z (1h)"
        );
    }
}
