//! Baseline versus incident: which templates are new, surged, gone or steady.
//!
//! Both windows are mined by *one* [`Miner`], so a template has the same id in both and no fuzzy
//! matching of template texts across two miners is needed (a template seen once in the baseline
//! may still read `user alice` while the incident generalized it to `user <*>`; one miner sees
//! they are the same event). Each line is tagged with its [`Window`]; counts are kept per id and
//! folded onto the surviving template when the miner merges templates.

use serde::Serialize;

use crate::miner::{Config, Miner, TemplateId};

/// Which side of the comparison a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The reference period before the incident.
    Baseline,
    /// The period under investigation.
    Incident,
}

/// Fewest baseline lines, all in the baseline's second half, for a template to count as having
/// begun there ([`CompareOptions::baseline_start_ms`]): under a steady rate, five lines all
/// falling in one half happen one time in thirty-two.
const MIN_ONSET_LINES: u64 = 5;

/// How a template's rate changed from baseline to incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    /// Seen in the incident window, never in the baseline.
    New,
    /// Its rate in the incident window is at least [`CompareOptions::surge_ratio`] times the
    /// baseline rate.
    Surged,
    /// Seen in the baseline, absent from the incident window.
    Gone,
    /// Anything else.
    Steady,
}

/// Options of [`WindowedMiner::compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Length of the baseline window in milliseconds, to turn counts into rates. `None` with
    /// `incident_span_ms` also `None` compares raw counts (windows of equal length).
    pub baseline_span_ms: Option<u64>,
    /// Length of the incident window in milliseconds.
    pub incident_span_ms: Option<u64>,
    /// Rate ratio from which a template is [`ChangeKind::Surged`].
    pub surge_ratio: f64,
    /// Fewest incident lines for [`ChangeKind::Surged`], so that 2 lines against 0.5 expected
    /// do not count as a surge.
    pub min_surge_count: u64,
    /// When the baseline window starts (milliseconds, the clock of [`WindowedMiner::add_at`]).
    /// With it and `baseline_span_ms`, a template whose first line falls in the second half of
    /// the baseline is [`ChangeKind::New`]: it began in the lead-up to the window (an error
    /// that started 40 minutes ago, asked about over the last 15), and comparing the window
    /// with a baseline it already fills half of would call it steady. Its
    /// [`PatternChange::baseline_first_seen`] says when it began.
    pub baseline_start_ms: Option<i64>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            baseline_span_ms: None,
            incident_span_ms: None,
            surge_ratio: 3.0,
            min_surge_count: 3,
            baseline_start_ms: None,
        }
    }
}

/// One template's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternChange {
    /// The verdict.
    pub kind: ChangeKind,
    /// Id of the template in [`WindowedMiner::miner`].
    #[serde(skip)]
    pub id: TemplateId,
    /// The template text, variables as `<*>`.
    pub template: String,
    /// One raw line of this template.
    pub sample: String,
    /// Lines in the baseline window.
    pub baseline_count: u64,
    /// Lines in the incident window.
    pub incident_count: u64,
    /// Incident rate over baseline rate; `None` when the baseline count is zero.
    pub ratio: Option<f64>,
    /// Earliest timestamp of an incident line (when lines were added with timestamps).
    pub incident_first_seen: Option<i64>,
    /// Latest timestamp of an incident line.
    pub incident_last_seen: Option<i64>,
    /// Earliest timestamp of a baseline line.
    pub baseline_first_seen: Option<i64>,
    /// Whether the template contains a word such as `error`, `fail`, `timeout`, `refused`:
    /// ranked first within its kind.
    pub looks_like_error: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    count: [u64; 2],
    first: [Option<i64>; 2],
    last: [Option<i64>; 2],
}

impl Tally {
    fn add(&mut self, w: usize, ts: Option<i64>) {
        self.count[w] += 1;
        if let Some(ts) = ts {
            self.first[w] = Some(self.first[w].map_or(ts, |f| f.min(ts)));
            self.last[w] = Some(self.last[w].map_or(ts, |l| l.max(ts)));
        }
    }

    fn absorb(&mut self, o: &Tally) {
        for w in 0..2 {
            self.count[w] += o.count[w];
            self.first[w] = min_opt(self.first[w], o.first[w]);
            self.last[w] = max_opt(self.last[w], o.last[w]);
        }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A [`Miner`] fed from two windows, reporting how each template changed between them.
///
/// ```
/// use log_patterns::{ChangeKind, CompareOptions, Window, WindowedMiner};
///
/// let mut w = WindowedMiner::default();
/// for i in 0..50 {
///     w.add(Window::Baseline, &format!("GET /api/items/{i} 200 in {i}ms"));
///     w.add(Window::Incident, &format!("GET /api/items/{i} 200 in {i}ms"));
/// }
/// for i in 0..20 {
///     w.add(Window::Incident, &format!("connection to db-{i} refused after 3 retries"));
/// }
/// let changes = w.compare(&CompareOptions::default());
/// assert_eq!(changes[0].kind, ChangeKind::New);
/// assert_eq!(changes[0].template, "connection to <*> refused after <*> retries");
/// assert_eq!(changes[1].kind, ChangeKind::Steady);
/// ```
#[derive(Debug, Clone, Default)]
pub struct WindowedMiner {
    miner: Miner,
    tallies: Vec<Tally>,
}

impl WindowedMiner {
    /// A windowed miner whose [`Miner`] runs with `config`.
    pub fn new(config: Config) -> Self {
        Self {
            miner: Miner::new(config),
            tallies: Vec::new(),
        }
    }

    /// Adds a line of `window`.
    pub fn add(&mut self, window: Window, line: &str) -> TemplateId {
        self.add_inner(window, line, None)
    }

    /// Adds a line of `window` seen at `ts_millis`.
    pub fn add_at(&mut self, window: Window, line: &str, ts_millis: i64) -> TemplateId {
        self.add_inner(window, line, Some(ts_millis))
    }

    fn add_inner(&mut self, window: Window, line: &str, ts: Option<i64>) -> TemplateId {
        let id = match ts {
            Some(ts) => self.miner.add_at(line, ts),
            None => self.miner.add(line),
        };
        let i = id.0 as usize;
        if self.tallies.len() <= i {
            self.tallies.resize(i + 1, Tally::default());
        }
        self.tallies[i].add(window as usize, ts);
        id
    }

    /// The underlying miner (templates over both windows).
    pub fn miner(&self) -> &Miner {
        &self.miner
    }

    /// Consolidates the miner and returns every template's verdict, most important first:
    /// new, then surged, then gone, then steady; within a kind, error-looking templates first,
    /// then by size of the change (incident count for new, ratio weighted by count for surged,
    /// baseline count for gone, incident count for steady).
    pub fn compare(&mut self, opts: &CompareOptions) -> Vec<PatternChange> {
        self.miner.consolidate();
        // Fold tallies onto surviving templates.
        let mut folded: Vec<Tally> = vec![Tally::default(); self.tallies.len()];
        for (i, t) in self.tallies.iter().enumerate() {
            let root = self.miner.resolve(TemplateId(i as u32)).0 as usize;
            if let Some(f) = folded.get_mut(root) {
                f.absorb(t);
            }
        }
        let span = |s: Option<u64>| s.filter(|&s| s > 0).map_or(1.0, |s| s as f64);
        let scale = span(opts.baseline_span_ms) / span(opts.incident_span_ms);
        let mut out: Vec<PatternChange> = Vec::new();
        for (i, t) in folded.iter().enumerate() {
            let [base, inc] = t.count;
            if base == 0 && inc == 0 {
                continue;
            }
            let Some(tpl) = self.miner.template(TemplateId(i as u32)) else {
                continue;
            };
            let ratio = (base > 0).then(|| inc as f64 / base as f64 * scale);
            // Began in the second half of the baseline, and often enough
            // there that its absence from the first half is no chance: a
            // rare line (one in the baseline, a few now) that happened to
            // fall late is a surge at most, not an onset.
            let began_late = match (opts.baseline_start_ms, opts.baseline_span_ms, t.first[0]) {
                (Some(start), Some(span), Some(first)) => {
                    first >= start + (span / 2) as i64 && base >= MIN_ONSET_LINES
                }
                _ => false,
            };
            let kind = if base == 0 || (began_late && inc > 0) {
                ChangeKind::New
            } else if inc == 0 {
                ChangeKind::Gone
            } else if ratio.is_some_and(|r| r >= opts.surge_ratio) && inc >= opts.min_surge_count {
                ChangeKind::Surged
            } else {
                ChangeKind::Steady
            };
            let template = tpl.text();
            out.push(PatternChange {
                kind,
                id: tpl.id(),
                looks_like_error: looks_like_error(&template),
                template,
                sample: tpl.sample().to_owned(),
                baseline_count: base,
                incident_count: inc,
                ratio,
                incident_first_seen: t.first[1],
                incident_last_seen: t.last[1],
                baseline_first_seen: t.first[0],
            });
        }
        out.sort_by(|a, b| {
            rank(a.kind)
                .cmp(&rank(b.kind))
                .then(b.looks_like_error.cmp(&a.looks_like_error))
                .then(magnitude(b).total_cmp(&magnitude(a)))
                .then(a.id.cmp(&b.id))
        });
        out
    }
}

fn rank(k: ChangeKind) -> u8 {
    match k {
        ChangeKind::New => 0,
        ChangeKind::Surged => 1,
        ChangeKind::Gone => 2,
        ChangeKind::Steady => 3,
    }
}

fn magnitude(c: &PatternChange) -> f64 {
    match c.kind {
        ChangeKind::New | ChangeKind::Steady => c.incident_count as f64,
        // A 10x surge of 1,000 lines matters more than a 50x surge of 3.
        ChangeKind::Surged => c.ratio.unwrap_or(1.0).log2() * (c.incident_count as f64).sqrt(),
        ChangeKind::Gone => c.baseline_count as f64,
    }
}

/// Whether `text` contains a word that usually marks a failure. ASCII case-insensitive, on word
/// starts, so `errors`, `Failed` and `TIMEOUT` match while `terror` does not.
pub fn looks_like_error(text: &str) -> bool {
    const WORDS: [&str; 14] = [
        "error",
        "err",
        "fail",
        "fatal",
        "panic",
        "exception",
        "timeout",
        "timed out",
        "refused",
        "denied",
        "unavailable",
        "unreachable",
        "killed",
        "oom",
    ];
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| i == 0 || !bytes[i - 1].is_ascii_alphabetic())
        .any(|i| {
            WORDS.iter().any(|w| {
                let w = w.as_bytes();
                bytes.len() >= i + w.len()
                    && bytes[i..i + w.len()].eq_ignore_ascii_case(w)
                    // `err` and `oom` only as whole words (not `errand`, `room`).
                    && (w.len() > 3
                        || bytes
                            .get(i + w.len())
                            .is_none_or(|b| !b.is_ascii_alphabetic()))
            })
        })
}

/// Renders changes as a plain-text table for humans and language models, at most `max_rows`
/// rows (the rest summarized in one line).
///
/// ```text
/// KIND     BASE  INCIDENT  RATIO  TEMPLATE
/// NEW         0        20      -  connection to <*> refused after <*> retries
/// ```
pub fn render_changes(changes: &[PatternChange], max_rows: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("KIND     BASE  INCIDENT   RATIO  TEMPLATE\n");
    for c in changes.iter().take(max_rows) {
        let kind = match c.kind {
            ChangeKind::New => "NEW",
            ChangeKind::Surged => "SURGED",
            ChangeKind::Gone => "GONE",
            ChangeKind::Steady => "STEADY",
        };
        let ratio = c
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
        let _ = writeln!(
            s,
            "{kind:<7} {:>5} {:>9} {ratio:>7}  {}",
            c.baseline_count, c.incident_count, c.template
        );
    }
    if changes.len() > max_rows {
        let _ = writeln!(s, "... {} more templates", changes.len() - max_rows);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Baseline: one hour of steady traffic. Incident: fifteen minutes with a new error,
    /// a surge of timeouts, a vanished heartbeat and the same steady traffic rate.
    fn scenario() -> WindowedMiner {
        let mut w = WindowedMiner::default();
        let base_t0 = 0i64;
        for i in 0..400 {
            let ts = base_t0 + i * 9_000;
            w.add_at(
                Window::Baseline,
                &format!("GET /api/v1/orders/{i} 200 in {}ms", i % 90),
                ts,
            );
            if i % 40 == 0 {
                w.add_at(
                    Window::Baseline,
                    &format!("upstream timeout after {}ms to payments", 1000 + i),
                    ts,
                );
            }
            if i % 10 == 0 {
                w.add_at(Window::Baseline, "heartbeat ok from scheduler", ts);
            }
        }
        let inc_t0 = 3_600_000i64;
        for i in 0..100 {
            let ts = inc_t0 + i * 9_000;
            w.add_at(
                Window::Incident,
                &format!("GET /api/v1/orders/{i} 200 in {}ms", i % 90),
                ts,
            );
            if i % 2 == 0 {
                w.add_at(
                    Window::Incident,
                    &format!("upstream timeout after {}ms to payments", 1000 + i),
                    ts,
                );
            }
            if i >= 30 && i % 5 == 0 {
                w.add_at(
                    Window::Incident,
                    &format!(
                        "ERROR pool exhausted: 0 of {} connections free (db-{})",
                        50,
                        i % 3
                    ),
                    ts,
                );
            }
        }
        w
    }

    fn opts() -> CompareOptions {
        CompareOptions {
            baseline_span_ms: Some(3_600_000),
            incident_span_ms: Some(900_000),
            ..CompareOptions::default()
        }
    }

    #[test]
    fn new_surged_gone_steady() {
        let changes = scenario().compare(&opts());
        let kinds: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.kind,
                    c.template.as_str(),
                    c.baseline_count,
                    c.incident_count,
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    ChangeKind::New,
                    "ERROR pool exhausted: <*> of <*> connections free (<*>)",
                    0,
                    14
                ),
                (
                    ChangeKind::Surged,
                    "upstream timeout after <*> to payments",
                    10,
                    50
                ),
                (ChangeKind::Gone, "heartbeat ok from scheduler", 40, 0),
                (ChangeKind::Steady, "GET <*> <*> in <*>", 400, 100),
            ]
        );
        // 50 per 15 min against 10 per hour: a 20x rate.
        assert!((changes[1].ratio.unwrap() - 20.0).abs() < 1e-9);
        assert!((changes[3].ratio.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(changes[0].incident_first_seen, Some(3_600_000 + 30 * 9_000));
        assert!(changes[0].looks_like_error && changes[1].looks_like_error);
        assert!(!changes[3].looks_like_error);
    }

    #[test]
    fn without_spans_counts_compare_directly() {
        let changes = scenario().compare(&CompareOptions::default());
        let steady = changes
            .iter()
            .find(|c| c.template.starts_with("GET"))
            .unwrap();
        assert_eq!(steady.kind, ChangeKind::Steady);
        assert!((steady.ratio.unwrap() - 0.25).abs() < 1e-9);
        let timeouts = changes
            .iter()
            .find(|c| c.template.starts_with("upstream"))
            .unwrap();
        assert_eq!(timeouts.kind, ChangeKind::Surged); // 50 vs 10 lines: 5x
    }

    /// An error that began 40 minutes before a 15-minute window fills a third of the hour's
    /// baseline at the same rate: without the baseline's start it reads steady; with it, new.
    #[test]
    fn a_template_that_began_in_the_baselines_second_half_is_new() {
        let mut w = WindowedMiner::default();
        let minute = 60_000;
        for m in 0..60 {
            w.add_at(Window::Baseline, &format!("GET /items/{m} 200"), m * minute);
            // The cron's WARN, all hour long: stays steady.
            if m % 10 == 0 {
                w.add_at(Window::Baseline, "cache warm-up skipped", m * minute);
            }
            // The error, from minute 35 on.
            if m >= 35 {
                w.add_at(
                    Window::Baseline,
                    &format!("ERROR lock wait timeout on row {m}"),
                    m * minute,
                );
            }
        }
        for m in 60..75 {
            w.add_at(Window::Incident, &format!("GET /items/{m} 200"), m * minute);
            w.add_at(
                Window::Incident,
                &format!("ERROR lock wait timeout on row {m}"),
                m * minute,
            );
            if m % 10 == 0 {
                w.add_at(Window::Incident, "cache warm-up skipped", m * minute);
            }
        }
        let without = w.clone().compare(&opts());
        let error = |c: &[PatternChange]| {
            c.iter()
                .find(|c| c.template.starts_with("ERROR"))
                .cloned()
                .unwrap()
        };
        assert_eq!(error(&without).kind, ChangeKind::Steady);
        let with = w.compare(&CompareOptions {
            baseline_start_ms: Some(0),
            ..opts()
        });
        let e = error(&with);
        assert_eq!(e.kind, ChangeKind::New);
        assert_eq!(e.baseline_first_seen, Some(35 * minute));
        for c in &with {
            if !c.template.starts_with("ERROR") {
                assert_eq!(c.kind, ChangeKind::Steady, "{}", c.template);
            }
        }
    }

    /// One baseline line late in the hour and a few now: a rare error, not one that began.
    #[test]
    fn a_single_late_baseline_line_is_no_onset() {
        let mut w = WindowedMiner::default();
        w.add_at(
            Window::Baseline,
            "request failed: AttributeError",
            50 * 60_000,
        );
        for m in 60..64 {
            w.add_at(
                Window::Incident,
                "request failed: AttributeError",
                m * 60_000,
            );
        }
        let c = w.compare(&CompareOptions {
            baseline_start_ms: Some(0),
            ..opts()
        });
        assert_eq!(c[0].kind, ChangeKind::Surged);
    }

    #[test]
    fn small_counts_do_not_surge() {
        let mut w = WindowedMiner::default();
        w.add(Window::Baseline, "rare event happened");
        w.add(Window::Incident, "rare event happened");
        w.add(Window::Incident, "rare event happened");
        let c = w.compare(&CompareOptions {
            baseline_span_ms: Some(10),
            incident_span_ms: Some(1),
            ..CompareOptions::default()
        });
        assert_eq!(c[0].kind, ChangeKind::Steady);
        assert_eq!(c[0].ratio, Some(20.0));
    }

    #[test]
    fn error_words() {
        for t in [
            "Error: x",
            "request FAILED",
            "read timed out",
            "OOM killer",
            "errors: 3",
            "err=5",
        ] {
            assert!(looks_like_error(t), "{t}");
        }
        for t in ["terror", "room booked", "errand", "all good", "mirror"] {
            assert!(!looks_like_error(t), "{t}");
        }
    }

    #[test]
    fn rendered_report() {
        let changes = scenario().compare(&opts());
        insta::assert_snapshot!(render_changes(&changes, 3));
    }

    #[test]
    fn serializes_for_tools() {
        let changes = scenario().compare(&opts());
        let v = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(v["kind"], "NEW");
        assert_eq!(v["incident_count"], 14);
        assert!(v.get("id").is_none());
    }
}
