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
//!
//! A consumer may not name its producer at all, only what it misses:
//! `schedule stale, reporting not ready` from `kiln-planner`, four hours
//! after `kiln-schedule-export` failed in another namespace. An engineer
//! reads "stale", asks what makes the schedule, and finds the failed run.
//! [`stale_inputs`] does that: a component whose own lines say its input is
//! stale ([`super::named::says_stale`]) fails through a failed Job or
//! CronJob whose name shares a word with those lines (not one of the
//! consumer's own name) and whose failure came before the first of them.
//! A record that lapsed (`License 0748… expired on 2026-06-15`, the answer
//! a distributor gives when a licence the nightly reconcile should have
//! retired is offered) is as stale as data that stopped arriving; a
//! certificate, credential or lease that expired is its own story.
//! A line may name neither: `daily_load missing for 2026-07-13, computing
//! from activity_samples` says only which day's product it lacks. The one
//! run that failed between that day's start and the first such line is
//! the run that should have made it.
//! The whole cluster's scheduled work counts when such a line shows
//! ([`inputs_stale`]): the producer rarely lives beside its readers.

use jiff::Timestamp;
use serde_json::Value;

use super::collect::{EvidencePack, Output};
use super::moves::move_signals;
use super::named::{distinctive, says_stale, split_case, words};
use super::parse;
use super::rules::{Signal, same_component};
use super::world::World;

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

/// Whether `text` says `phrase` (words in order, adjacent), a name's word
/// also read as what its bearer makes: a Job called `irrigation-planner`
/// is named by `no irrigation plan for zone`.
fn says(text: &str, phrase: &[String]) -> bool {
    let text = name_words(text);
    phrase.len() >= 2
        && text.windows(phrase.len()).any(|w| {
            w.iter()
                .zip(phrase)
                .all(|(said, name)| said == name || makes(name, said))
        })
}

/// Whether a name's word is the agent noun of a word said: what a
/// `planner`, an `exporter`, an `aggregator` or a `builder` makes is a
/// `plan`, an `export`, an `aggregate`, a `build`.
fn makes(agent: &str, made: &str) -> bool {
    if made.len() < 3 {
        return false;
    }
    let Some(stem) = agent
        .strip_suffix("er")
        .or_else(|| agent.strip_suffix("or"))
    else {
        return false;
    };
    // `plan` + `n` + `er` (a doubled consonant), `compute` − `e` + `er`.
    stem == made
        || stem.strip_suffix(|c: char| made.ends_with(c)) == Some(made)
        || made.strip_suffix('e') == Some(stem)
}

/// Whether a log line reads as a failure: a line that only mentions a
/// Job's name (`scheduling night audit at 02:00`) names no missing output.
fn reads_as_failure(line: &str) -> bool {
    let l = line.to_lowercase();
    [
        "error",
        "fail",
        "exception",
        "missing",
        "not ",
        "no ",
        "cannot",
        "unable",
        "skipp",
        "reject",
    ]
    .iter()
    .any(|cue| l.contains(cue))
}

/// Moves to each failed Job or CronJob the new errors of other components
/// that name it (and those components' error surges); returns (from, to)
/// for each move.
///
/// A consumer's lines in `pack` name the producer as well as its signals
/// do: a new or surging template, or a container's failure line (which a
/// signal's detail may have cut, or which matched no signature). A consumer
/// that names it in its lines alone, with no error of its own to move,
/// gives the producer the line as evidence.
pub fn failed_producers(
    signals: &mut Vec<Signal>,
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
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
        let mut consumers: Vec<String> = signals
            .iter()
            .filter(|s| {
                s.component != producer && s.kind == "new_error" && says(&s.detail, &phrase)
            })
            .map(|s| s.component.clone())
            .collect();
        let said = lines(pack.outputs.iter(), world, |l| {
            reads_as_failure(l) && says(l, &phrase)
        });
        let mut quiet: Vec<&Complaint> = Vec::new();
        // Not the producer's own runs (a Job's pods are owned by the run).
        for c in said.iter().filter(|c| {
            !same_component(&c.consumer, &producer)
                && !same_component(&super::world::job_owner(&c.consumer), &producer)
        }) {
            if !consumers.contains(&c.consumer) {
                consumers.push(c.consumer.clone());
            }
            let has_errors = signals
                .iter()
                .any(|s| s.component == c.consumer && CONSUMER_KINDS.contains(&s.kind));
            if !has_errors && !quiet.iter().any(|q| q.consumer == c.consumer) {
                quiet.push(c);
            }
        }
        if consumers.is_empty() {
            continue;
        }
        for c in quiet {
            signals.push(Signal {
                component: producer.clone(),
                kind: "job_failed",
                weight: 2.0,
                source: c.source.clone(),
                detail: format!(
                    "{} {WANTS} {producer} makes, and it failed (it says: {})",
                    c.consumer, c.line
                ),
                at: c.at,
            });
            moved.push((c.consumer.clone(), producer.clone()));
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

/// The kinds of a consumer's failure when its input went stale: its own
/// errors, the readiness it gives up or the crash it dies of, and the
/// failure of a scheduled consumer (a weekly report's Job that refuses to
/// send without the day a nightly rollup did not write).
const STALE_CONSUMER_KINDS: &[&str] = &[
    "new_error",
    "error_surge",
    "probe_failing",
    "crash_loop",
    "job_failed",
];

use super::STALE_WITHIN;

/// A line a component logged (saying its input is stale, or naming a
/// producer), where it was read, and when.
#[derive(Debug, Clone)]
struct Complaint {
    consumer: String,
    line: String,
    source: String,
    at: Option<Timestamp>,
}

/// The staleness lines of the containers' logs (timestamped by the runtime)
/// and of the telemetry's new or surging log templates.
fn complaints<'a>(outputs: impl Iterator<Item = &'a Output>, world: &World) -> Vec<Complaint> {
    lines(outputs, world, |l| {
        says_stale(l) || says_lapsed(l) || missing_day(l).is_some()
    })
}

/// The day a line says it has no data for (`daily_load missing for
/// 2026-07-13`, `no usage rollup for 2026-11-02`, `report not found for
/// 2026-03-01`): a dated product of scheduled work, from that day's start.
fn missing_day(line: &str) -> Option<Timestamp> {
    // ASCII classes: a Unicode `\w` repeated forty times compiles to
    // megabytes of automaton, held for the life of the process.
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| {
            regex::Regex::new(
                r"(?i)\b(?:missing|not found|absent|unavailable|not available|no [a-z_][a-z0-9_ -]{0,40}?)\s+(?:for|of|on)\s+(?:date\s+|day\s+)?(\d{4}-\d{2}-\d{2})\b",
            )
            .ok()
        })
        .as_ref()?;
    let day = re.captures(line)?.get(1)?.as_str();
    format!("{day}T00:00:00Z").parse().ok()
}

/// What expires by itself and has a kind of its own: a certificate, a
/// credential, a lease (`x509: certificate has expired`, `token expired`).
const OWN_EXPIRY: &[&str] = &[
    "certificate",
    "x509",
    "tls",
    "ssl",
    "token",
    "password",
    "credential",
    "secret",
    "jwt",
    "session",
    "lease",
];

/// Whether a line says a record it holds has lapsed (`License 0748…
/// expired on 2026-06-15`, `offer expired`): data a scheduled refresh
/// should have renewed, as stale as data that stopped arriving. Not a
/// certificate's or a credential's expiry, which are their own story.
fn says_lapsed(line: &str) -> bool {
    let l = line.to_lowercase();
    l.contains("expired") && !OWN_EXPIRY.iter().any(|w| l.contains(w))
}

/// The lines of the containers' logs and the telemetry's new or surging
/// log templates that `keep` keeps.
fn lines<'a>(
    outputs: impl Iterator<Item = &'a Output>,
    world: &World,
    keep: impl Fn(&str) -> bool,
) -> Vec<Complaint> {
    let mut out = Vec::new();
    for o in outputs.filter(|o| !o.outcome.is_error) {
        match o.name.as_str() {
            "logs" => {
                let Some(pod) = o.args.get("pod").and_then(Value::as_str) else {
                    continue;
                };
                let consumer = world.owner(pod);
                for line in o.outcome.text.lines().filter(|l| keep(l)) {
                    // The runtime's prefix, else the line's own time.
                    let (text, at) = super::inside::log_body(line);
                    let at = at.or_else(|| parse::time_in_line(text));
                    out.push(Complaint {
                        consumer: consumer.clone(),
                        line: text.trim().chars().take(160).collect(),
                        source: o.tool.clone(),
                        at,
                    });
                }
            }
            "log_patterns" => {
                for p in parse::log_patterns(&o.outcome.text)
                    .into_iter()
                    .filter(|p| matches!(p.kind.as_str(), "NEW" | "SURGED") && keep(&p.template))
                {
                    // Its first time in the window, on the window's date.
                    let to = o.args.get("to").and_then(Value::as_str);
                    let at = to
                        .and_then(|t| t.parse::<Timestamp>().ok())
                        .zip(p.first.as_deref())
                        .and_then(|(to, first)| parse::clock(to, first));
                    for service in &p.services {
                        out.push(Complaint {
                            consumer: service.clone(),
                            line: p.template.clone(),
                            source: o.tool.clone(),
                            at,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether any log read says a component's input is stale: then the whole
/// cluster's scheduled work counts (`health::read`).
pub(super) fn inputs_stale(outputs: &[Output], world: &World) -> bool {
    !complaints(outputs.iter(), world).is_empty()
}

/// Whether two words are one (`schedule`, `schedules`).
fn same_word(a: &str, b: &str) -> bool {
    a == b
        || a.strip_suffix('s').is_some_and(|x| x == b)
        || b.strip_suffix('s').is_some_and(|x| x == a)
}

/// Moves to a failed Job or CronJob the failures of a component whose own
/// lines say its input is stale, when the producer's name shares a word
/// with those lines and its failure came first (see the module docs);
/// returns (consumer, producer) for each move.
pub fn stale_inputs(
    signals: &mut Vec<Signal>,
    pack: &EvidencePack,
    world: &World,
) -> Vec<(String, String)> {
    // Each failed producer, with when it failed (its earliest failure seen).
    let mut failed: Vec<(String, Option<Timestamp>)> = Vec::new();
    for s in signals
        .iter()
        .filter(|s| s.kind == "job_failed" && s.weight > 0.0)
    {
        match failed.iter_mut().find(|(c, _)| *c == s.component) {
            Some((_, at)) => {
                if let Some(t) = s.at {
                    *at = Some(at.map_or(t, |a| a.min(t)));
                }
            }
            None => failed.push((s.component.clone(), s.at)),
        }
    }
    if failed.is_empty() {
        return Vec::new();
    }
    let all = complaints(pack.outputs.iter(), world);
    let mut consumers: Vec<&str> = all.iter().map(|c| c.consumer.as_str()).collect();
    consumers.sort_unstable();
    consumers.dedup();
    let mut moved = Vec::new();
    for consumer in consumers {
        let own = name_words(consumer);
        let lines: Vec<&Complaint> = all.iter().filter(|c| c.consumer == consumer).collect();
        let said: Vec<String> = lines
            .iter()
            .flat_map(|c| words(&split_case(&c.line)))
            .filter(|w| distinctive(w) && !own.iter().any(|o| same_word(o, w)))
            .collect();
        let first = lines.iter().filter_map(|c| c.at).min();
        // The producer that failed last before the complaint, of those whose
        // name shares a word with it.
        let producer = failed
            .iter()
            .filter(|(p, _)| p != consumer)
            .filter(|(p, _)| {
                name_words(p)
                    .iter()
                    .any(|n| distinctive(n) && said.iter().any(|w| same_word(n, w)))
            })
            .filter(|(_, at)| match (at, first) {
                (Some(at), Some(first)) => {
                    *at <= first && first.duration_since(*at) <= STALE_WITHIN
                }
                _ => true,
            })
            .max_by_key(|(_, at)| *at)
            .map(|(p, _)| p.clone());
        // Else a line that says which day it has no data for names the one
        // run that failed between that day's start and the first complaint:
        // the run that should have made it.
        let producer = producer.or_else(|| {
            let day = lines.iter().find_map(|c| missing_day(&c.line))?;
            let first = first?;
            let mut runs = failed
                .iter()
                .filter(|(p, at)| p != consumer && at.is_some_and(|at| at >= day && at <= first));
            let (one, _) = runs.next()?;
            runs.next().is_none().then(|| one.clone())
        });
        let Some(producer) = producer else { continue };
        let line = lines.first().map(|c| c.line.clone()).unwrap_or_default();
        let took = move_signals(
            signals,
            &producer,
            |_, s| STALE_CONSUMER_KINDS.contains(&s.kind) && s.component == consumer,
            |s| {
                format!(
                    "{} {WANTS} {producer} makes, and it failed (it says: {line}): {}",
                    s.component, s.detail
                )
            },
        );
        // A consumer that copes (a warning, a slower fallback) has no error
        // to hand over: what it says is the evidence, dated when it began.
        if took.is_empty() {
            let source = lines.first().map_or_else(String::new, |c| c.source.clone());
            signals.push(Signal {
                component: producer.clone(),
                kind: "job_failed",
                weight: 3.0,
                source,
                detail: format!(
                    "{consumer} {WANTS} {producer} makes, and it failed ({} lines say so; first: {line})",
                    lines.len()
                ),
                at: first,
            });
            moved.push((consumer.to_string(), producer.clone()));
        }
        moved.extend(took);
        for s in signals.iter_mut().filter(|s| {
            s.component == producer
                && STALE_CONSUMER_KINDS.contains(&s.kind)
                && s.detail.contains(WANTS)
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
        Signal::test(component, kind, detail)
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
        let moved = failed_producers(&mut signals, &EvidencePack::default(), &World::default());
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

    /// A consumer that logs, with no error template or signal of its own,
    /// that what a failed Job makes is missing: the Job takes the line, with
    /// the line's own time; a line that only mentions the Job does not.
    #[test]
    fn a_failed_job_named_only_in_a_consumers_log_lines_takes_them() {
        let mut world = World::default();
        world.pods.push(crate::engine::world::Pod {
            name: "irrigation-scheduler-26m9tx6gmx-x7529".into(),
            owner: "irrigation-scheduler".into(),
            ..Default::default()
        });
        let pack = EvidencePack {
            outputs: vec![logs(
                "irrigation-scheduler-26m9tx6gmx-x7529",
                "timestamp=2026-07-29T05:00:00.10Z level=info event=\"waiting for the irrigation planner run\"\n\
                 timestamp=2026-07-29T05:02:25.22Z level=error event=\"no irrigation plan for zone, cycle skipped\" zone=w-1",
            )],
            ..Default::default()
        };
        let mut signals = vec![signal(
            "irrigation-planner",
            "job_failed",
            "BackoffLimitExceeded",
        )];
        let moved = failed_producers(&mut signals, &pack, &world);
        assert_eq!(
            moved,
            [(
                "irrigation-scheduler".to_string(),
                "irrigation-planner".to_string()
            )]
        );
        let taken = signals.last().expect("the consumer's line");
        assert_eq!(taken.component, "irrigation-planner");
        assert!(
            taken.detail.contains("no irrigation plan for zone"),
            "{taken:?}"
        );
        assert_eq!(taken.at, at("2026-07-29T05:02:25.22Z"));
        // Another Job's name the line does not say.
        let mut signals = vec![signal(
            "irrigation-report",
            "job_failed",
            "BackoffLimitExceeded",
        )];
        assert!(failed_producers(&mut signals, &pack, &world).is_empty());
    }

    #[test]
    fn names_are_read_in_their_spellings_and_one_word_is_not_enough() {
        let rollup = name_words("usage-rollup");
        assert!(says("UsageRollupMissing for cycle", &rollup));
        assert!(says("no usage_rollup row", &rollup));
        assert!(!says("rollup of usage failed", &rollup));
        // What a planner, an exporter or an aggregator makes.
        assert!(says(
            "no irrigation plan for zone",
            &name_words("irrigation-planner")
        ));
        assert!(says("feed export missing", &name_words("feed-exporter")));
        assert!(says(
            "usage aggregate not found",
            &name_words("usage-aggregator")
        ));
        assert!(!says("irrigation plans", &name_words("irrigation-plant")));
        assert!(!says(
            "the irrigation planet",
            &name_words("irrigation-planner")
        ));
        assert!(!says("reports missing", &name_words("reports")));
        assert_eq!(name_words("feed-export-29364480"), ["feed", "export"]);
        let mut signals = vec![
            signal("reports", "job_failed", "BackoffLimitExceeded"),
            signal("api", "new_error", "no reports for today"),
        ];
        assert!(
            failed_producers(&mut signals, &EvidencePack::default(), &World::default()).is_empty()
        );
    }

    fn logs(pod: &str, text: &str) -> Output {
        Output::test(
            "k8s.logs",
            serde_json::json!({ "namespace": "kilns", "pod": pod }),
            text,
        )
    }

    fn at(t: &str) -> Option<Timestamp> {
        t.parse().ok()
    }

    /// The consumer names what went stale, not who makes it: the failed run
    /// whose name shares the word, and which failed first, takes its failure.
    #[test]
    fn a_consumer_whose_input_went_stale_fails_through_the_run_that_failed_first() {
        let pack = EvidencePack {
            outputs: vec![logs(
                "kiln-planner-xrm2jsb54h-gkhr7",
                "2025-11-18T02:47:00Z {\"level\":\"warn\",\"msg\":\"no schedule for today yet\"}\n\
                 2025-11-18T06:31:00Z {\"level\":\"error\",\"msg\":\"schedule stale, reporting not ready\",\"age\":\"26h0m9s\"}",
            )],
            ..Default::default()
        };
        assert!(inputs_stale(&pack.outputs, &World::from_pack(&pack)));
        let world = World::default();
        let run = |export_failed: &str, backup_failed: &str| {
            let mut signals = vec![
                Signal {
                    at: at(export_failed),
                    ..signal(
                        "kiln-schedule-export",
                        "job_failed",
                        "Job/kiln-schedule-export-29391720: JobFailed",
                    )
                },
                Signal {
                    at: at(backup_failed),
                    ..signal(
                        "pg-backup",
                        "job_failed",
                        "Job/pg-backup-29381550: JobFailed",
                    )
                },
                signal(
                    "kiln-planner",
                    "probe_failing",
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                ),
            ];
            let moved = stale_inputs(&mut signals, &pack, &world);
            (moved, signals)
        };
        let (moved, signals) = run("2025-11-18T02:19:00Z", "2025-11-11T06:47:00Z");
        assert_eq!(
            moved,
            vec![(
                "kiln-planner".to_string(),
                "kiln-schedule-export".to_string()
            )]
        );
        assert!(signals.iter().any(|s| s.component == "kiln-schedule-export"
            && s.kind == "job_failed"
            && s.detail.contains("schedule stale, reporting not ready")));
        // A run that failed after the complaint did not cause it.
        let (moved, _) = run("2025-11-18T07:00:00Z", "2025-11-11T06:47:00Z");
        assert!(moved.is_empty());
    }

    /// A line that says which day it has no data for names the one run that
    /// failed since that day began; a consumer that copes (a warning, a
    /// slower fallback) hands the run its words, dated.
    #[test]
    fn a_day_without_its_data_fails_through_the_one_run_that_failed_since() {
        assert_eq!(
            missing_day("daily_load missing for 2026-07-13, computing from activity_samples"),
            at("2026-07-13T00:00:00Z")
        );
        assert_eq!(
            missing_day("no usage rollup for 2026-11-02"),
            at("2026-11-02T00:00:00Z")
        );
        assert_eq!(
            missing_day("2026-07-14T06:28:15Z request missing header"),
            None
        );
        let pack = EvidencePack {
            outputs: vec![logs(
                "insights-api-dmpxkjbtml-lcx74",
                "2026-07-14T05:34:43Z {\"level\":\"warning\",\"message\":\"daily_load missing for 2026-07-13, computing from activity_samples\"}",
            )],
            ..Default::default()
        };
        let run = |runs: &[(&str, &str)]| {
            let mut signals: Vec<Signal> = runs
                .iter()
                .map(|(job, failed)| Signal {
                    at: at(failed),
                    ..signal(job, "job_failed", "BackoffLimitExceeded")
                })
                .collect();
            let moved = stale_inputs(&mut signals, &pack, &World::default());
            (moved, signals)
        };
        let (moved, signals) = run(&[
            ("nightly-aggregates", "2026-07-14T02:52:00Z"),
            // Failed before the day it lacks began: not that day's run.
            ("streak-reminders", "2026-07-10T06:52:00Z"),
        ]);
        assert_eq!(
            moved,
            vec![("insights-api".to_string(), "nightly-aggregates".to_string())]
        );
        assert!(signals.iter().any(|s| s.component == "nightly-aggregates"
            && s.at == at("2026-07-14T05:34:43Z")
            && s.detail.contains("daily_load missing")));
        // Two runs failed since: the line does not say which.
        let (moved, _) = run(&[
            ("nightly-aggregates", "2026-07-14T02:52:00Z"),
            ("hr-zone-backfill", "2026-07-13T22:10:00Z"),
        ]);
        assert!(moved.is_empty());
    }

    /// A record that lapsed is what the nightly refresh did not renew; a
    /// certificate or a token that expired is not.
    #[test]
    fn a_lapsed_record_fails_through_the_refresh_that_failed_first() {
        let pack = |line: &str| EvidencePack {
            outputs: vec![logs(
                "drm-gateway-6c9f8d7b5-q2x7k",
                &format!("2026-06-16T09:59:40Z {line}"),
            )],
            ..Default::default()
        };
        let run = |line: &str| {
            let mut signals = vec![
                Signal {
                    at: at("2026-06-16T02:18:41Z"),
                    ..signal(
                        "license-reconcile",
                        "job_failed",
                        "Job/license-reconcile-29692935: BackoffLimitExceeded",
                    )
                },
                signal("drm-gateway", "error_surge", "Loan request failed"),
            ];
            stale_inputs(&mut signals, &pack(line), &World::default())
        };
        assert_eq!(
            run("Loan request failed: 409 Conflict: License 07487623 expired on 2026-06-15"),
            vec![("drm-gateway".to_string(), "license-reconcile".to_string())]
        );
        assert!(run("x509: certificate has expired; license service unreachable").is_empty());
        assert!(run("license token expired, re-authenticating").is_empty());
        assert!(says_lapsed("offer expired"));
        assert!(!says_lapsed("Session expired"));
    }

    #[test]
    fn a_stale_line_shares_no_word_with_an_unrelated_failed_job() {
        let pack = EvidencePack {
            outputs: vec![logs(
                "rates-api-5c8d9f7b6d-xk2lp",
                "2025-11-18T06:31:00Z exchange rates older than 6h, refusing quotes",
            )],
            ..Default::default()
        };
        let mut signals = vec![
            signal("pg-backup", "job_failed", "Job/pg-backup-1: JobFailed"),
            signal("rates-api", "new_error", "exchange rates older than 6h"),
        ];
        assert!(stale_inputs(&mut signals, &pack, &World::default()).is_empty());
        // The consumer's own name is not a link: `rates-api` and a failed
        // `rates-api-warmup` share "rates" because of whose they are.
        let mut signals = vec![
            signal(
                "rates-api-warmup",
                "job_failed",
                "Job/rates-api-warmup-1: JobFailed",
            ),
            signal("rates-api", "new_error", "exchange rates older than 6h"),
        ];
        assert!(stale_inputs(&mut signals, &pack, &World::default()).is_empty());
    }
}
