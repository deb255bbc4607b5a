//! A failed producer named by its consumers' errors.
//!
//! Scheduled work often produces what an online service later reads: a
//! nightly rollup, an export, a cache warm-up, a report. When the Job fails,
//! nothing breaks at once; hours later the service that reads its output
//! fails with an error that says what is missing in its own words (`no
//! usage rollup for cycle 2026-11`, `price snapshot not found`,
//! `feed export missing`). The service is loud and recent, the Job quiet and
//! old, so by timing alone the service looks like the cause. An engineer
//! reads the error, recognises the Job's name in it, sees the Job failed,
//! and goes there. So does the engine: a failed Job or CronJob whose name's
//! words (`usage-rollup` → `usage rollup`, also `UsageRollup`,
//! `usage_rollup`) appear, in order, in another component's new error takes
//! that error, and the component's error surge with it.
//!
//! Only names of two words or more are read this way: one word (`billing`,
//! `reports`) says too little to tie an error to a workload.

use super::moves::move_signals;
use super::named::{split_case, words};
use super::rules::Signal;

/// How a moved signal's detail says why it moved.
const WANTS: &str = "fails for want of what";

/// The error kinds of a consumer that lacks its input.
const CONSUMER_KINDS: &[&str] = &["new_error", "error_surge"];

/// The words a workload's name is read as: lower case, split at dashes,
/// dots, underscores and case changes, numbers dropped (a Job's run suffix).
fn name_words(name: &str) -> Vec<String> {
    words(&split_case(name))
        .into_iter()
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

/// Whether `text` says `phrase` (words in order, adjacent).
fn says(text: &str, phrase: &[String]) -> bool {
    let text = name_words(text);
    phrase.len() >= 2 && text.windows(phrase.len()).any(|w| w == phrase)
}

/// Moves to each failed Job or CronJob the new errors of other components
/// that name it (and those components' error surges); returns (from, to)
/// for each move.
pub fn failed_producers(signals: &mut Vec<Signal>) -> Vec<(String, String)> {
    let mut failed: Vec<String> = signals
        .iter()
        .filter(|s| s.kind == "job_failed" && s.weight > 0.0)
        .map(|s| s.component.clone())
        .collect();
    failed.sort();
    failed.dedup();
    let mut moved = Vec::new();
    for producer in failed {
        let phrase = name_words(&producer);
        let consumers: Vec<String> = signals
            .iter()
            .filter(|s| {
                s.component != producer && s.kind == "new_error" && says(&s.detail, &phrase)
            })
            .map(|s| s.component.clone())
            .collect();
        if consumers.is_empty() {
            continue;
        }
        moved.extend(move_signals(
            signals,
            &producer,
            |_, s| CONSUMER_KINDS.contains(&s.kind) && consumers.contains(&s.component),
            |s| {
                format!(
                    "{} {WANTS} {producer} makes, and it failed: {}",
                    s.component, s.detail
                )
            },
        ));
        // The consumer's errors are how the producer's failure shows.
        for s in signals.iter_mut().filter(|s| {
            s.component == producer && CONSUMER_KINDS.contains(&s.kind) && s.detail.contains(WANTS)
        }) {
            s.kind = "job_failed";
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(component: &str, kind: &'static str, detail: &str) -> Signal {
        Signal {
            component: component.into(),
            kind,
            weight: 4.0,
            source: "test".into(),
            detail: detail.into(),
            at: None,
        }
    }

    #[test]
    fn a_failed_job_named_by_a_new_error_takes_it() {
        let mut signals = vec![
            signal(
                "usage-rollup",
                "job_failed",
                "Job/usage-rollup-29364480: BackoffLimitExceeded",
            ),
            signal(
                "bill-api",
                "new_error",
                "NEW log template in bill-api: BillNotReadyException: no usage rollup for cycle 2026-11",
            ),
            signal("bill-api", "error_surge", "error rate up 65 points"),
            signal(
                "payment-portal",
                "bad_deploy",
                "revision 2 rolled out 52m ago",
            ),
        ];
        let moved = failed_producers(&mut signals);
        assert_eq!(
            moved,
            vec![("bill-api".to_string(), "usage-rollup".to_string())]
        );
        let on = |c: &str| -> f64 {
            signals
                .iter()
                .filter(|s| s.component == c)
                .map(|s| s.weight)
                .sum()
        };
        assert!(on("usage-rollup") > 3.0 * on("bill-api"), "{signals:?}");
        assert!(signals.iter().any(|s| {
            s.component == "usage-rollup"
                && s.kind == "job_failed"
                && s.detail
                    .starts_with("bill-api fails for want of what usage-rollup makes")
        }));
        // The rollout elsewhere is not the consumer's error.
        assert_eq!(on("payment-portal"), 4.0);
    }

    #[test]
    fn names_are_read_in_their_spellings_and_one_word_is_not_enough() {
        let rollup = name_words("usage-rollup");
        assert!(says("UsageRollupMissing for cycle", &rollup));
        assert!(says("no usage_rollup row", &rollup));
        assert!(!says("rollup of usage failed", &rollup));
        assert!(!says("reports missing", &name_words("reports")));
        assert_eq!(name_words("feed-export-29364480"), ["feed", "export"]);
        let mut signals = vec![
            signal("reports", "job_failed", "BackoffLimitExceeded"),
            signal("api", "new_error", "no reports for today"),
        ];
        assert!(failed_producers(&mut signals).is_empty());
    }
}
