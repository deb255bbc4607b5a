//! Moving evidence from where it shows to what it is about.
//!
//! Several steps of the analysis find that signals seen on one component are
//! about another: lookups that fail at a resolver, credentials several
//! clients see refused by one store, handshakes failing on a certificate,
//! calls refused by a policy. The messenger keeps a weak copy (it is where
//! the symptom is, and a lead if the move was wrong); the rest of the weight
//! follows the signal to its cause, its detail saying why.

use super::rules::Signal;

/// What stays with the messenger, as a share of the moved weight.
pub(super) const LEFT_BEHIND: f64 = 0.3;

/// Moves every signal `pick` selects (by index and value) to `to`, its
/// detail reworded by `why` (which sees the signal before the move), a copy
/// with [`LEFT_BEHIND`] of its weight staying where it was. Signals already on `to`
/// stay as they are. Returns (from, to) for each component moved from, once.
pub(super) fn move_signals(
    signals: &mut Vec<Signal>,
    to: &str,
    pick: impl Fn(usize, &Signal) -> bool,
    why: impl Fn(&Signal) -> String,
) -> Vec<(String, String)> {
    let mut moved: Vec<(String, String)> = Vec::new();
    let mut stays = Vec::new();
    for (i, s) in signals.iter_mut().enumerate() {
        if s.component == to || !pick(i, s) {
            continue;
        }
        let mut copy = s.clone();
        copy.weight *= LEFT_BEHIND;
        stays.push(copy);
        let pair = (s.component.clone(), to.to_string());
        if !moved.contains(&pair) {
            moved.push(pair);
        }
        s.detail = why(s);
        s.component = to.to_string();
    }
    signals.extend(stays);
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(component: &str) -> Signal {
        Signal {
            component: component.into(),
            kind: "dependency_unreachable",
            weight: 4.0,
            source: "test".into(),
            detail: "lookup failed".into(),
            at: None,
        }
    }

    #[test]
    fn moved_signals_leave_a_weak_copy_and_say_why() {
        let mut signals = vec![signal("a"), signal("b"), signal("a"), signal("coredns")];
        let moved = move_signals(
            &mut signals,
            "coredns",
            |i, _| i != 1,
            |s| format!("the resolver, not {}: {}", s.component, s.detail),
        );
        assert_eq!(moved, vec![("a".to_string(), "coredns".to_string())]);
        let on = |c: &str| signals.iter().filter(|s| s.component == c).count();
        assert_eq!((on("coredns"), on("a"), on("b")), (3, 2, 1));
        assert!(signals[0].detail.starts_with("the resolver, not a: "));
        assert!(
            signals
                .iter()
                .filter(|s| s.component == "a")
                .all(|s| (s.weight - 1.2).abs() < 1e-9)
        );
    }
}
