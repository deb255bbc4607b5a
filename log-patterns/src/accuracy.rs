//! Grouping accuracy, the metric of the loghub benchmark.

use std::collections::HashMap;
use std::hash::Hash;

/// The sixteen Loghub-2k datasets (their folder names), in the order the
/// benchmark reports them: `examples/loghub.rs` and mcp-kit's token-count
/// example read the same logs, from one list.
pub const LOGHUB_2K: [&str; 16] = [
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HPC",
    "Hadoop",
    "HealthApp",
    "Linux",
    "Mac",
    "OpenSSH",
    "OpenStack",
    "Proxifier",
    "Spark",
    "Thunderbird",
    "Windows",
    "Zookeeper",
];

/// Grouping accuracy (GA) of a predicted grouping against the truth.
///
/// A line counts as correct only when the set of lines sharing its predicted group is exactly the
/// set of lines sharing its true group. Returns the share of correct lines (1.0 for no lines).
/// `truth` and `predicted` are parallel: one group label per line.
pub fn grouping_accuracy<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> f64 {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return 1.0;
    }
    let mut truth_size: HashMap<&T, usize> = HashMap::new();
    for t in &truth[..n] {
        *truth_size.entry(t).or_default() += 1;
    }
    // Per predicted group: its size, and the single true label it covers (None if mixed).
    let mut pred: HashMap<&P, (usize, Option<&T>, bool)> = HashMap::new();
    for (t, p) in truth[..n].iter().zip(&predicted[..n]) {
        let e = pred.entry(p).or_insert((0, Some(t), true));
        e.0 += 1;
        if e.1 != Some(t) {
            e.2 = false;
        }
    }
    let correct: usize = pred
        .values()
        .filter(|(size, t, pure)| *pure && t.is_some_and(|t| truth_size.get(t) == Some(size)))
        .map(|(size, _, _)| size)
        .sum();
    correct as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::grouping_accuracy;

    #[test]
    fn exact_sets_only() {
        // Truth groups {0,1}, {2}, {3,4}. Prediction merges 2 into 3,4's group.
        let truth = ["a", "a", "b", "c", "c"];
        assert_eq!(grouping_accuracy(&truth, &[1, 1, 2, 3, 3]), 1.0);
        assert_eq!(grouping_accuracy(&truth, &[1, 1, 3, 3, 3]), 0.4);
        // Splitting a truth group fails all its lines.
        assert_eq!(grouping_accuracy(&truth, &[1, 9, 2, 3, 3]), 0.6);
        assert_eq!(grouping_accuracy::<&str, u8>(&[], &[]), 1.0);
    }
}
