//! One grammar for durations, shared by every flag, tool argument, Slack
//! command and portal filter that takes one (`--since`, `since=`, a tool's
//! `since`, `step` or `baseline`, `--dedup-window`, `--query-timeout`).
//!
//! Before this module each crate had its own parser and they disagreed: a bare
//! `90` was 90 seconds in one, 90 minutes in another and an error in a third.
//! A person typing at 3 a.m. should not have to know which surface they are on.
//!
//! # The grammar
//!
//! | Form | Examples | Meaning |
//! |---|---|---|
//! | number + unit, repeated | `30s`, `15m`, `2h`, `1d`, `1w`, `1h30m`, `1h 30m`, `1.5h`, `250ms` | the sum of the parts |
//! | ISO 8601 | `PT1H30M`, `P1D`, `P1W`, `PT0.5S` | a day is 24 hours |
//! | a bare number | `90`, `0` | **seconds** |
//!
//! Units are case-insensitive, and whitespace around the text, between parts
//! and between a number and its unit is ignored:
//!
//! | Unit | Spellings |
//! |---|---|
//! | nanoseconds | `ns` |
//! | microseconds | `us`, `µs` |
//! | milliseconds | `ms` |
//! | seconds | `s`, `sec`, `secs`, `second`, `seconds` |
//! | minutes | `m`, `min`, `mins`, `minute`, `minutes` |
//! | hours | `h`, `hr`, `hrs`, `hour`, `hours` |
//! | days (24 hours) | `d`, `day`, `days` |
//! | weeks (7 days) | `w`, `wk`, `wks`, `week`, `weeks` |
//!
//! Not durations: months and years (their length varies; `P1M` and `1y` are
//! errors), negative values (a surface that means "ago" says so itself, as
//! mcp-signoz's `now-15m`), a number without a unit after another part (`1h30`:
//! thirty what?), and anything over 292 years (so every caller can hold the
//! value as `i64` nanoseconds).
//!
//! # Why a bare number is seconds
//!
//! mcp-kubernetes documents `since` as "`30m`, `2h`, `1d`, or seconds" in its
//! tool schema, so models calling it may send `3600`; seconds are also the unit
//! of the Kubernetes API's own `sinceSeconds`. One rule for every surface means
//! that one documented form wins. The other surfaces never documented a bare
//! number: `sre-agent --since 90` and Slack's `since=90` used to mean 90
//! *minutes*, and now mean 90 seconds like everywhere else.

use std::time::Duration;

/// Why a text is not a duration. Every message quotes the text and says
/// what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("an empty text is not a duration; {HINT}")]
    Empty,
    /// A leading minus sign.
    #[error("`{0}`: a duration cannot be negative; {HINT}")]
    Negative(String),
    /// A unit, or something else, where a number was expected (`h`, `1h m`).
    #[error("`{text}`: expected a number before `{at}`; {HINT}")]
    MissingNumber {
        /// The whole text.
        text: String,
        /// What came where the number should be.
        at: String,
    },
    /// A number with no unit after another part (`1h30`).
    #[error(
        "`{text}`: `{number}` needs a unit (only a duration that is a bare number \
         is read as seconds); {HINT}"
    )]
    MissingUnit {
        /// The whole text.
        text: String,
        /// The number without a unit.
        number: String,
    },
    /// Digits and dots that are not a number (`1.2.3`).
    #[error("`{text}`: `{number}` is not a number; {HINT}")]
    BadNumber {
        /// The whole text.
        text: String,
        /// The malformed number.
        number: String,
    },
    /// A word that is not one of the units.
    #[error(
        "`{text}`: unknown unit `{unit}`; use ns, us, ms, s, m, h, d or w \
         (months and years have no fixed length)"
    )]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unknown unit, as typed.
        unit: String,
    },
    /// An ISO 8601 duration jiff could not read, or one with months or years.
    #[error("`{text}`: not an ISO 8601 duration of fixed-length units ({reason}); {HINT}")]
    Iso {
        /// The whole text.
        text: String,
        /// jiff's explanation.
        reason: String,
    },
    /// More than 292 years.
    #[error("`{0}`: too long a duration (at most 292 years)")]
    TooLarge(String),
}

/// The tail of every error message: what is accepted.
const HINT: &str = "use e.g. 30s, 15m, 2h, 1d, 1h30m or PT1H30M (a bare number is seconds)";

/// The longest duration accepted: `i64::MAX` nanoseconds, about 292 years,
/// so callers that keep nanoseconds or seconds in an `i64` never overflow.
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// Parses a duration in the grammar of this module (see the module
/// documentation); usable directly as a clap `value_parser`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(DurationError::Negative(trimmed.to_string()));
    }
    let nanos = if trimmed.starts_with(['p', 'P']) {
        parse_iso(trimmed)?
    } else if trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        // The one rule for a bare number (see the module documentation).
        number_nanos(trimmed, trimmed, NANOS_PER_SECOND)?
    } else {
        parse_parts(trimmed)?
    };
    if nanos > MAX.as_nanos() {
        return Err(DurationError::TooLarge(trimmed.to_string()));
    }
    let secs = u64::try_from(nanos / NANOS_PER_SECOND)
        .map_err(|_| DurationError::TooLarge(trimmed.to_string()))?;
    // The remainder of a division by 10^9 always fits a u32.
    let sub = u32::try_from(nanos % NANOS_PER_SECOND).unwrap_or(0);
    Ok(Duration::new(secs, sub))
}

/// [`parse`], in whole seconds rounded up: for surfaces that count in
/// seconds (a look-back window, Kubernetes' `sinceSeconds`), where `500ms`
/// should still look back one second rather than not at all.
pub fn parse_secs(text: &str) -> Result<u64, DurationError> {
    let d = parse(text)?;
    Ok(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// `1h30m`, `1 h 30 min`, `250ms`: number-unit parts, summed.
fn parse_parts(text: &str) -> Result<u128, DurationError> {
    let mut total: u128 = 0;
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(total);
        }
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        if number.is_empty() {
            let at = rest.split_whitespace().next().unwrap_or(rest);
            return Err(DurationError::MissingNumber {
                text: text.to_string(),
                at: at.to_string(),
            });
        }
        let after = after.trim_start();
        let letters = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(letters);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit {
                text: text.to_string(),
                number: number.to_string(),
            });
        }
        let scale = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            text: text.to_string(),
            unit: unit.to_string(),
        })?;
        total = total
            .checked_add(number_nanos(text, number, scale)?)
            .ok_or_else(|| DurationError::TooLarge(text.to_string()))?;
        rest = after;
    }
}

/// Nanoseconds in one `unit` (case-insensitive), if it is one.
fn unit_nanos(unit: &str) -> Option<u128> {
    const SECOND: u128 = NANOS_PER_SECOND;
    Some(match unit.to_lowercase().as_str() {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * SECOND,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * SECOND,
        "d" | "day" | "days" => 86_400 * SECOND,
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 86_400 * SECOND,
        _ => return None,
    })
}

/// `number` (digits, at most one `.`) times `scale` nanoseconds, exactly:
/// in integers, so `0.1h` is 360 s and not 359.999… s.
fn number_nanos(text: &str, number: &str, scale: u128) -> Result<u128, DurationError> {
    let bad = || DurationError::BadNumber {
        text: text.to_string(),
        number: number.to_string(),
    };
    let too_large = || DurationError::TooLarge(text.to_string());
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    // Digits past the ninth are below a nanosecond at any unit: dropped.
    let fraction = &fraction[..fraction.len().min(9)];
    let mut part: u128 = 0;
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| bad())?;
        part = digits * scale / 10u128.pow(fraction.len() as u32);
    }
    whole
        .checked_mul(scale)
        .and_then(|n| n.checked_add(part))
        .ok_or_else(too_large)
}

/// `PT1H30M`, `P1D`: ISO 8601 through jiff, a day being 24 hours.
fn parse_iso(text: &str) -> Result<u128, DurationError> {
    let iso_error = |reason: String| DurationError::Iso {
        text: text.to_string(),
        reason,
    };
    let span: jiff::Span = text
        .to_ascii_uppercase()
        .parse()
        .map_err(|e: jiff::Error| iso_error(e.to_string()))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| iso_error(e.to_string()))?;
    if signed.is_negative() {
        return Err(DurationError::Negative(text.to_string()));
    }
    u128::try_from(signed.as_nanos()).map_err(|_| DurationError::TooLarge(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1;
    const M: u64 = 60;
    const H: u64 = 3_600;
    const D: u64 = 86_400;

    #[test]
    fn accepted_forms() {
        let table: &[(&str, Duration)] = &[
            // One part per unit.
            ("30s", Duration::from_secs(30 * S)),
            ("15m", Duration::from_secs(15 * M)),
            ("2h", Duration::from_secs(2 * H)),
            ("1d", Duration::from_secs(D)),
            ("1w", Duration::from_secs(7 * D)),
            ("250ms", Duration::from_millis(250)),
            ("5us", Duration::from_micros(5)),
            ("5µs", Duration::from_micros(5)),
            ("7ns", Duration::from_nanos(7)),
            // Compound, whitespace, case and long unit names.
            ("1h30m", Duration::from_secs(H + 30 * M)),
            ("1h 30m", Duration::from_secs(H + 30 * M)),
            ("  1 h 30 min  ", Duration::from_secs(H + 30 * M)),
            ("1d2h3m4s", Duration::from_secs(D + 2 * H + 3 * M + 4 * S)),
            ("2H", Duration::from_secs(2 * H)),
            ("15M", Duration::from_secs(15 * M)),
            ("1 hour 5 minutes", Duration::from_secs(H + 5 * M)),
            ("3 Days", Duration::from_secs(3 * D)),
            ("90sec", Duration::from_secs(90)),
            ("2 weeks", Duration::from_secs(14 * D)),
            // Fractions, exact.
            ("1.5h", Duration::from_secs(H + 30 * M)),
            ("0.1h", Duration::from_secs(360)),
            ("1.5s", Duration::from_millis(1_500)),
            (".5m", Duration::from_secs(30)),
            // A bare number is seconds.
            ("90", Duration::from_secs(90)),
            ("0", Duration::ZERO),
            (" 3600 ", Duration::from_secs(H)),
            ("1.5", Duration::from_millis(1_500)),
            ("0s", Duration::ZERO),
            // ISO 8601.
            ("PT1H30M", Duration::from_secs(H + 30 * M)),
            ("pt15m", Duration::from_secs(15 * M)),
            ("P1D", Duration::from_secs(D)),
            ("P1W", Duration::from_secs(7 * D)),
            ("P1DT12H", Duration::from_secs(D + 12 * H)),
            ("PT0.5S", Duration::from_millis(500)),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), Ok(*want), "{text:?}");
        }
    }

    #[test]
    fn rejected_forms_say_why() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("-5m", "cannot be negative"),
            ("-90", "cannot be negative"),
            ("h", "expected a number before `h`"),
            ("1h m", "expected a number before `m`"),
            ("soon", "expected a number before `soon`"),
            ("1h30", "`30` needs a unit"),
            ("1.2.3s", "`1.2.3` is not a number"),
            (".s", "`.` is not a number"),
            ("5x", "unknown unit `x`"),
            ("5y", "unknown unit `y`"),
            ("1mo", "unknown unit `mo`"),
            ("5 parsecs", "unknown unit `parsecs`"),
            ("P1M", "not an ISO 8601 duration"),
            ("P1Y", "not an ISO 8601 duration"),
            ("Pfoo", "not an ISO 8601 duration"),
            ("300y", "unknown unit"),
            ("107000d", "too long"),
            ("99999999999999999999999999999999999999999h", "too long"),
        ];
        for (text, want) in table {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn every_message_shows_the_accepted_forms() {
        for text in ["", "-1s", "h", "1h30", "1.2.3s", "P1M"] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains("a bare number is seconds"), "{text:?}: {err}");
        }
        let unit = parse("5y").expect_err("5y").to_string();
        assert!(unit.contains("use ns, us, ms, s, m, h, d or w"), "{unit}");
    }

    #[test]
    fn whole_seconds_round_up() {
        assert_eq!(parse_secs("90"), Ok(90));
        assert_eq!(parse_secs("1h30m"), Ok(5_400));
        assert_eq!(parse_secs("500ms"), Ok(1));
        assert_eq!(parse_secs("0"), Ok(0));
        assert!(parse_secs("soon").is_err());
    }

    #[test]
    fn the_maximum_fits_i64_nanoseconds() {
        assert_eq!(parse("106751d"), Ok(Duration::from_secs(106_751 * D)));
        assert!(i64::try_from(MAX.as_nanos()).is_ok());
        assert!(parse("106752d").is_err());
    }
}
