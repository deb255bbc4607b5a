//! Where `service_health`'s baseline ends when the caller did not choose the window.
//!
//! The default window is the last 15 minutes and the baseline the hour before it. An
//! incident that began 40 minutes ago then has 25 minutes of itself in the baseline, and
//! the verdict reads "no change" exactly when it matters. So, for the default window only,
//! the two hours before the window are read in 5-minute buckets; when the window's error
//! rate or p99 stands out from that lookback's typical (median) bucket, the run of buckets
//! just before the window that already look like the window is the change's beginning,
//! and the baseline is moved to end where that run begins. A window chosen by the caller
//! (`from`/`to`) is taken as meant: its baseline stays just before it.

use crate::model::{Nanos, RedRow, SECOND, TimeRange};

/// How far before the window the change's beginning is looked for.
pub const LOOKBACK: Nanos = 2 * 3600 * SECOND;

/// Width of the lookback's buckets.
pub const STEP: Nanos = 300 * SECOND;

fn err(r: &RedRow) -> f64 {
    r.errors as f64 / r.calls.max(1) as f64
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The start of the change the window shows, when it began before the window: the first
/// of the contiguous lookback buckets ending at `window.start` that look like the window
/// (error rate at least half the window's, or p99 at least half the window's, for whichever
/// of the two stands out). `None` when the window does not stand out from the lookback's
/// median bucket, or the bucket just before the window does not look like it.
pub fn change_onset(window: &RedRow, lookback: &[RedRow], window_start: Nanos) -> Option<Nanos> {
    let busy: Vec<&RedRow> = lookback.iter().filter(|r| r.calls > 0).collect();
    let typical_err = median(busy.iter().map(|r| err(r)).collect())?;
    let typical_p99 = median(busy.iter().map(|r| r.p99).collect())?;
    let errors_up =
        window.errors >= 5 && err(window) >= (typical_err * 2.0).max(typical_err + 0.01);
    let slow = typical_p99 > 0.0 && window.p99 >= typical_p99 * 1.5;
    if !errors_up && !slow {
        return None;
    }
    let like_window = |r: &RedRow| {
        r.calls > 0
            && ((errors_up && err(r) >= (err(window) * 0.5).max(typical_err * 2.0))
                || (slow && r.p99 >= (window.p99 * 0.5).max(typical_p99 * 1.5)))
    };
    let mut onset = None;
    let mut expect = window_start - STEP;
    let mut rows: Vec<&RedRow> = busy;
    rows.sort_by_key(|r| std::cmp::Reverse(r.bucket));
    for r in rows {
        // Contiguous only: an empty bucket ends the run.
        if r.bucket != expect || !like_window(r) {
            break;
        }
        onset = Some(r.bucket);
        expect -= STEP;
    }
    onset
}

/// The baseline of a default window: `len` long, ending at the change's beginning when it
/// predates the window ([`change_onset`]), else just before the window. The second value
/// is the beginning, when the baseline was moved.
pub fn default_baseline(
    window: TimeRange,
    cur: Option<&RedRow>,
    lookback: &[RedRow],
    len: Nanos,
) -> (TimeRange, Option<Nanos>) {
    match cur.and_then(|c| change_onset(c, lookback, window.start)) {
        Some(onset) => (TimeRange::new(onset - len, onset), Some(onset)),
        None => (TimeRange::new(window.start - len, window.start), None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(bucket: Nanos, calls: u64, errors: u64, p99_ms: f64) -> RedRow {
        RedRow {
            key: "checkout".into(),
            bucket,
            calls,
            errors,
            p50: 0.0,
            p95: 0.0,
            p99: p99_ms * 1e6,
        }
    }

    const W: Nanos = 10 * 3600 * SECOND;

    /// 2 h of lookback: quiet until 40 minutes ago, failing since (25 of them before the
    /// window); the baseline moves to end where the failures began.
    #[test]
    fn baseline_ends_where_the_change_began() {
        let lookback: Vec<RedRow> = (0..24)
            .map(|i| {
                let b = W - LOOKBACK + i * STEP;
                if b >= W - 25 * 60 * SECOND {
                    row(b, 100, 40, 900.0)
                } else {
                    row(b, 100, 0, 120.0)
                }
            })
            .collect();
        let window = TimeRange::new(W, W + 15 * 60 * SECOND);
        let cur = row(W, 300, 120, 950.0);
        let (base, moved) = default_baseline(window, Some(&cur), &lookback, 3600 * SECOND);
        let onset = W - 25 * 60 * SECOND;
        assert_eq!(moved, Some(onset));
        assert_eq!(base, TimeRange::new(onset - 3600 * SECOND, onset));
    }

    /// A window like its lookback, or a change that began in the window: the baseline
    /// stays just before the window.
    #[test]
    fn baseline_stays_when_nothing_began_before_the_window() {
        let quiet: Vec<RedRow> = (0..24)
            .map(|i| row(W - LOOKBACK + i * STEP, 100, 1, 120.0))
            .collect();
        let window = TimeRange::new(W, W + 15 * 60 * SECOND);
        let same = row(W, 300, 3, 125.0);
        let (base, moved) = default_baseline(window, Some(&same), &quiet, 3600 * SECOND);
        assert_eq!((base.start, base.end, moved), (W - 3600 * SECOND, W, None));
        let failing = row(W, 300, 150, 125.0);
        assert_eq!(
            default_baseline(window, Some(&failing), &quiet, 3600 * SECOND).1,
            None
        );
    }
}
