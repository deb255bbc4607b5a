//! The deterministic analysis engine: evidence in, ranked suspects and an
//! RCA out, with no LLM.
//!
//! It runs first in every investigation. Without an LLM its RCA is the
//! answer, labelled as such; with one, its evidence pack and ranked
//! suspects are the specialist's starting context, so the model begins where
//! a careful engineer would after the first five minutes rather than from a
//! blank page.
//!
//! Three stages, each its own module:
//!
//! * [`collect`](mod@collect) decides which tools to call and calls them concurrently
//!   through any [`ToolSource`] (live servers, in-process servers, or a
//!   replayed recording);
//! * [`parse`] reads the servers' text back into rows;
//! * [`rules`] turns rows into signals, follows the call graph, and ranks
//!   suspects.
//!
//! [`rca`] then writes the RCA from the ranking.

pub mod across;
pub mod autoscalers;
pub mod calico;
pub mod collect;
pub mod combine;
mod configured;
mod contracts;
mod cues;
mod deepest;
pub mod dns;
pub mod figures;
mod health;
mod history;
pub mod hog;
mod identity;
pub mod inside;
pub mod kinds;
pub mod leads;
pub mod locks;
pub mod mesh;
pub mod metrics;
mod moves;
pub mod named;
pub mod objects;
pub mod parse;
pub mod peers;
mod placed;
pub mod policy;
mod preempt;
pub mod priors;
pub mod producers;
mod pulls;
mod queues;
mod quota;
pub mod rank;
pub mod reach;
mod rotation;
mod rounds;
pub mod rules;
pub mod signatures;
mod startup;
pub mod stores;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod world;

use jiff::{SignedDuration, Timestamp};

pub use collect::{EvidencePack, collect};
pub use rules::{Analysis, Signal, Suspect, analyse};

use crate::alert::Alert;
use crate::rca::{Evidence, Mode, Rca, RootCause};
use crate::router::{Category, Route};
use crate::transcript::ToolSource;

/// What an investigation looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// The alerting service, if known.
    pub service: Option<String>,
    /// The Kubernetes namespace, if known.
    pub namespace: Option<String>,
    /// "Now" for the investigation (the alert's evaluation time, or a
    /// scenario's recorded time).
    pub now: Timestamp,
    /// How far back the incident window reaches, seconds.
    pub window_secs: u64,
    /// When the alert started firing.
    pub alert_at: Option<Timestamp>,
    /// The alert's name.
    pub alert_name: String,
    /// The routed category.
    pub category: Category,
    /// Whether the alert itself points at the database.
    pub database_hint: bool,
    /// What the alert is about, resolved from its labels (see
    /// [`crate::subject`]).
    pub subject: Option<crate::subject::Subject>,
    /// The alert's distinctive words (see [`named`]).
    pub alert_words: Vec<String>,
    /// Whether the alert says something is stale or overdue.
    pub staleness: bool,
    /// How long the alert says its condition held before it fired
    /// ([`named::stated_duration`]): the trouble, and its cause, may be
    /// that much older than the window.
    pub held_secs: u64,
    /// Whether the alert is about an HTTPS endpoint or a certificate (a
    /// label or annotation holds an `https://` URL, or its words say TLS,
    /// SSL or certificate): a blackbox probe that fails on an expired
    /// certificate says only "probe failed", and the Certificates are read.
    pub tls_hint: bool,
    /// The hosts of the `https://` URLs in the alert's labels and
    /// annotations (a blackbox probe's target).
    pub alert_hosts: Vec<String>,
    /// The `(host, path)` of every URL in the alert's labels and
    /// annotations: the Ingress route serving it names the backend the
    /// alert is about.
    pub alert_urls: Vec<(String, String)>,
    /// What gathering the evidence may spend.
    pub limits: collect::Limits,
    /// People's verdicts on past causes of the same alert ([`priors`]).
    pub priors: Vec<priors::Prior>,
}

/// How long before the first complaint a producer's failure can be the
/// cause of stale data: a daily run's output goes stale within a day or two.
pub(crate) const STALE_WITHIN: SignedDuration = SignedDuration::from_hours(48);

impl Scope {
    /// The scope of an alert: service and namespace from its labels, the
    /// window from when it started (at least 15 minutes, at most 2 hours,
    /// with 15 minutes before the start to see what led to it).
    pub fn for_alert(
        alert: &Alert,
        route: &Route,
        now: Timestamp,
        default_namespace: Option<&str>,
    ) -> Self {
        let window_secs = match (alert.lookback_secs, alert.starts_at) {
            (Some(l), _) => l,
            (None, Some(start)) => {
                let since = now.duration_since(start).as_secs().max(0) as u64;
                since + 15 * 60
            }
            (None, None) => 30 * 60,
        }
        .clamp(15 * 60, 2 * 3600);
        Self {
            service: alert.service.clone(),
            namespace: alert
                .namespace
                .clone()
                .or_else(|| default_namespace.map(str::to_string)),
            now,
            window_secs,
            alert_at: alert.starts_at,
            alert_name: alert.name.clone(),
            category: route.category,
            database_hint: route.category == Category::Database,
            subject: crate::subject::resolve(&alert.labels, rules::owner_of),
            alert_words: named::alert_words(alert),
            staleness: named::about_staleness(alert),
            held_secs: named::stated_duration(alert).unwrap_or(0),
            tls_hint: named::about_tls(alert),
            alert_hosts: named::https_hosts(alert),
            alert_urls: named::alert_urls(alert),
            limits: collect::Limits::default(),
            priors: Vec::new(),
        }
    }

    /// The start of the window.
    pub fn from(&self) -> Timestamp {
        self.now
            .checked_sub(SignedDuration::from_secs(self.window_secs as i64))
            .unwrap_or(self.now)
    }

    /// An hour before the window, or longer when the alert says its
    /// condition held longer: evidence older than this is the baseline's,
    /// not the incident's (see [`rank`]).
    pub fn horizon(&self) -> Timestamp {
        // An alert that says its condition held longer than that hour
        // (`no batch has succeeded for 2 hours`) reaches back as far, and
        // a quarter of an hour more.
        let back = (self.held_secs + 15 * 60).max(3600);
        self.from()
            .checked_sub(SignedDuration::from_secs(back as i64))
            .unwrap_or(self.from())
    }

    /// How far back a cause of kind `kind` may have begun: the
    /// [`horizon`](Self::horizon), or for an alert about stale data and
    /// scheduled work that failed or could not start, [`STALE_WITHIN`]
    /// before now (the run that did not happen is as old as the data; a
    /// crash loop of two days is still an older story).
    ///
    /// A failed Job the alert names by its whole name
    /// ([`named::names_fully`]: `RxClaimsPendingAdjudicationHigh` and the
    /// CronJob `claims-adjudication`) reaches back [`STALE_WITHIN`] too: the
    /// alert is about the work that run did not do.
    ///
    /// A certificate that lapsed reaches back [`STALE_WITHIN`] as well: it
    /// is felt at the next handshake, and TLS checks a certificate only as a
    /// connection opens, so open connections hide it for hours, until a pod
    /// is recreated or the morning's traffic needs a new connection. (Not a
    /// password: an old refused login is as often a forgotten job's.)
    pub fn onset_horizon(&self, kind: &str, component: &str) -> Timestamp {
        let lapsed = kind == "certificate_expired";
        if lapsed || kind == "job_failed" && named::names_fully(&self.alert_words, component) {
            return self.stale_horizon();
        }
        if matches!(kind, "job_failed" | "unschedulable") {
            self.scheduled_work_horizon()
        } else {
            self.horizon()
        }
    }

    /// The scope with its service named as the cluster names it, when the
    /// alert named it another way: a Traefik service's `<namespace>-<name>`
    /// (see [`crate::subject::traefik_service`]) is the one Service whose
    /// namespace and name spell it, and its namespace is the alert's (the
    /// `namespace` label is Traefik's own, the scrape target's). `None`
    /// when the service already names something read, or nothing does.
    pub fn resolved(&self, outputs: &[collect::Output]) -> Option<Scope> {
        // Only a name that came from a Traefik service label is spelled so.
        self.subject
            .as_ref()
            .filter(|s| crate::subject::traefik_service(&s.name).is_some())?;
        let service = self.service.as_deref()?;
        let world = world::World::from_outputs(outputs);
        let known = world
            .component_names()
            .any(|c| rules::same_component(c, service));
        if known {
            return None;
        }
        let spelled: Vec<&world::Service> = world
            .services
            .iter()
            .filter(|s| format!("{}-{}", s.namespace, s.name) == service)
            .collect();
        let [svc] = spelled.as_slice() else {
            return None;
        };
        Some(Scope {
            service: Some(svc.name.clone()),
            namespace: Some(svc.namespace.clone()),
            ..self.clone()
        })
    }

    /// [`STALE_WITHIN`] before now, and never later than the
    /// [`horizon`](Self::horizon): how far back work that should have been
    /// done (a scheduled run, a certificate's renewal) may be the cause.
    pub fn stale_horizon(&self) -> Timestamp {
        let back = self.now.checked_sub(STALE_WITHIN).unwrap_or(self.now);
        back.min(self.horizon())
    }

    /// How far back scheduled work that failed or could not start may be
    /// this alert's cause: [`STALE_WITHIN`] for an alert about stale data,
    /// else the [`horizon`](Self::horizon).
    pub fn scheduled_work_horizon(&self) -> Timestamp {
        if self.staleness {
            self.stale_horizon()
        } else {
            self.horizon()
        }
    }
}

/// A step of an investigation, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The router decided.
    Routed {
        /// The category.
        category: Category,
        /// Whether the rules were unsure.
        unsure: bool,
    },
    /// One source answered.
    Source {
        /// `server.tool`.
        tool: String,
        /// How long it took.
        elapsed_ms: u64,
        /// Whether it succeeded.
        ok: bool,
    },
    /// The deterministic analysis finished.
    Analysed {
        /// The top suspect, as `component (kind)`.
        top: Option<String>,
    },
    /// One LLM step finished.
    LlmStep {
        /// Step number, from 1.
        step: usize,
        /// Tool calls the model asked for.
        tool_calls: usize,
        /// Tokens used by this step.
        tokens: u64,
    },
    /// A note (fallbacks, budget exhaustion).
    Note(String),
}

/// Receives progress.
pub trait Observer: Send + Sync {
    /// Called for each step.
    fn progress(&self, event: &Progress);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn progress(&self, _event: &Progress) {}
}

/// The result of the deterministic stage.
#[derive(Debug, Clone)]
pub struct Deterministic {
    /// What was gathered.
    pub pack: EvidencePack,
    /// What the rules made of it.
    pub analysis: Analysis,
    /// The RCA written from it.
    pub rca: Rca,
}

/// Gathers evidence, ranks suspects and writes the deterministic RCA.
pub async fn run(source: &dyn ToolSource, scope: &Scope, observer: &dyn Observer) -> Deterministic {
    let pack = collect(source, scope, observer).await;
    let resolved = scope.resolved(&pack.outputs);
    let scope = resolved.as_ref().unwrap_or(scope);
    let analysis = analyse(scope, &pack);
    observer.progress(&Progress::Analysed {
        top: analysis
            .suspects
            .first()
            .map(|s| format!("{} ({})", s.component, s.kind)),
    });
    let rca = rca(scope, &pack, &analysis);
    Deterministic {
        pack,
        analysis,
        rca,
    }
}

/// The RCA in one line: the cause and since when, the change that
/// triggered it, and the effect on the alerting service (`checkout: cart —
/// containers OOMKilled since 09:26 · change: revision 3 lowered the memory
/// limit: 512Mi → 256Mi (09:18) · effect: checkout error rate up 18.6
/// points`). Each part only when the evidence has it.
fn one_line(scope: &Scope, top: &Suspect, symptoms: &[Evidence]) -> String {
    let hhmm = |t: Timestamp| {
        t.to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%H:%M")
            .to_string()
    };
    let subject = scope.service.as_deref().unwrap_or(&scope.alert_name);
    let own = |s: &&rules::Signal| s.weight > 0.0 && !s.detail.starts_with("consequence: ");
    let mut line = if rules::same_component(subject, &top.component) {
        format!("{} — {}", top.component, kinds::headline(top.kind))
    } else {
        format!(
            "{subject}: {} — {}",
            top.component,
            kinds::headline(top.kind)
        )
    };
    // Since when it fails (the change that caused it is said apart).
    if let Some(since) = top
        .signals
        .iter()
        .filter(own)
        .filter(|s| !s.source.ends_with("rollout_history"))
        .filter_map(|s| s.at)
        .min()
    {
        line.push_str(&format!(" since {}", hhmm(since)));
    }
    if let Some(change) = top
        .signals
        .iter()
        .find(|s| s.source.ends_with("rollout_history"))
    {
        let what: String = change.detail.chars().take(110).collect();
        line.push_str(&format!(" · change: {what}"));
        if let Some(at) = change.at
            && !what.contains(" ago")
        {
            line.push_str(&format!(" ({})", hhmm(at)));
        }
    }
    let effect = symptoms
        .iter()
        .find(|e| e.detail.starts_with(subject))
        .or_else(|| symptoms.first());
    if let Some(e) = effect
        && !rules::same_component(subject, &top.component)
    {
        let what: String = e
            .detail
            .split(['(', ';'])
            .next()
            .unwrap_or(&e.detail)
            .trim()
            .trim_end_matches('.')
            .chars()
            .take(90)
            .collect();
        line.push_str(&format!(" · effect: {what}"));
    }
    line
}

/// Timeline entries kept (the latest).
const TIMELINE_LEN: usize = 20;

/// Repeated Kubernetes events become one entry: nine `OOMKilling` events
/// over twelve minutes read as `OOMKilling ×9 on 3 objects, 09:26–09:38`,
/// at the first one's time, so that a burst does not push the rollout that
/// caused it out of the timeline.
fn group_repeats(events: &[crate::rca::TimelineEvent]) -> Vec<crate::rca::TimelineEvent> {
    let hhmm = |t: Timestamp| {
        t.to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%H:%M")
            .to_string()
    };
    let reason = |e: &crate::rca::TimelineEvent| {
        (e.source == "k8s.events")
            .then(|| e.event.split_whitespace().next().map(str::to_string))
            .flatten()
    };
    let mut sorted: Vec<&crate::rca::TimelineEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut out: Vec<crate::rca::TimelineEvent> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for e in &sorted {
        let Some(r) = reason(e) else {
            out.push((*e).clone());
            continue;
        };
        if done.contains(&r) {
            continue;
        }
        let same: Vec<&&crate::rca::TimelineEvent> = sorted
            .iter()
            .filter(|x| reason(x).as_ref() == Some(&r))
            .collect();
        if same.len() < 3 {
            out.extend(same.iter().map(|x| (**x).clone()));
        } else {
            let objects: std::collections::BTreeSet<&str> = same
                .iter()
                .filter_map(|x| x.event.split_whitespace().nth(1))
                .map(|o| o.trim_end_matches(':'))
                .collect();
            let last = same.last().map_or(e.at, |x| x.at);
            let first_text = e.event.split_once(": ").map_or("", |(_, m)| m);
            let example: String = first_text.chars().take(120).collect();
            out.push(crate::rca::TimelineEvent {
                at: e.at,
                source: e.source.clone(),
                event: format!(
                    "{r} ×{} on {} object{}, {}–{}: {example}",
                    same.len(),
                    objects.len(),
                    if objects.len() == 1 { "" } else { "s" },
                    hhmm(e.at),
                    hhmm(last)
                ),
            });
        }
        done.push(r);
    }
    out.sort_by_key(|e| e.at);
    out
}

/// Writes the RCA from a ranking.
pub fn rca(scope: &Scope, pack: &EvidencePack, analysis: &Analysis) -> Rca {
    let root = |s: &Suspect| RootCause {
        component: s.component.clone(),
        kind: s.kind.to_string(),
        description: kinds::describe(s),
    };
    let verdict = rank::verdict(scope, &analysis.suspects, pack.gaps.len());
    let (root_cause, confidence, category) = match (analysis.suspects.first(), verdict) {
        (Some(top), Some(confidence)) => (
            root(top),
            confidence,
            kinds::category(top.kind).unwrap_or(scope.category),
        ),
        (lead, _) => (
            RootCause {
                component: scope.service.clone().unwrap_or_else(|| "unknown".into()),
                kind: "unknown".into(),
                description: match lead {
                    Some(l) => format!(
                        "Nothing in the window explains the alert well enough to be called its cause. \
                         The best lead is {} ({}), listed with the other leads below; see the data gaps \
                         and the symptoms.",
                        l.component, l.kind
                    ),
                    None => "No failing component was found in the evidence gathered; see the data gaps and the symptoms.".into(),
                },
            },
            0.1,
            scope.category,
        ),
    };
    let mut evidence: Vec<Evidence> = analysis
        .suspects
        .first()
        .map(|s| {
            let mut e = s.evidence();
            e.dedup();
            e.truncate(6);
            e
        })
        .unwrap_or_default();
    for s in analysis.symptoms.iter().take(4) {
        if !evidence.contains(s) {
            evidence.push(s.clone());
        }
    }
    let mut affected: Vec<String> = Vec::new();
    for s in scope
        .service
        .iter()
        .chain(analysis.path.iter())
        .chain(analysis.degraded.iter())
    {
        if !affected.contains(s) {
            affected.push(s.clone());
        }
    }
    let chosen = analysis.suspects.first().filter(|_| verdict.is_some());
    let summary = match chosen {
        Some(top) => one_line(scope, top, &analysis.symptoms),
        None => format!(
            "{}: no root cause found in the evidence",
            scope.service.as_deref().unwrap_or(&scope.alert_name)
        ),
    };
    // Steps run where the cause lives, which is not always where the
    // alert fired.
    let world = world::World::from_pack(pack);
    let remediation = chosen
        .map(|s| {
            let ns = world
                .namespace_of(&s.component)
                .or(scope.namespace.as_deref());
            kinds::remediation(s, ns)
        })
        .unwrap_or_default();
    Rca {
        summary,
        category,
        root_cause,
        // Without a verdict every suspect is a lead, the best one included.
        alternatives: analysis
            .suspects
            .iter()
            .skip(usize::from(verdict.is_some()))
            .take(4)
            .map(root)
            .collect(),
        confidence: (confidence * 100.0).round() / 100.0,
        evidence,
        timeline: {
            let grouped = group_repeats(&analysis.timeline);
            let skip = grouped.len().saturating_sub(TIMELINE_LEN);
            grouped.into_iter().skip(skip).collect()
        },
        remediation,
        affected_services: affected,
        data_gaps: pack.gaps.clone(),
        mode: Mode::Deterministic,
        incomplete: None,
        figures: figures::build(scope, analysis),
    }
}

#[cfg(test)]
impl Scope {
    /// A scope for unit tests: the service `api` in `prod`, the 30 minutes
    /// before 2026-01-01T12:00Z, the default evidence budget.
    pub(crate) fn test() -> Scope {
        Scope {
            service: Some("api".into()),
            namespace: Some("prod".into()),
            now: "2026-01-01T12:00:00Z".parse().expect("ts"),
            window_secs: 1800,
            alert_at: None,
            alert_name: "x".into(),
            category: crate::router::Category::Application,
            database_hint: false,
            subject: None,
            alert_words: Vec::new(),
            staleness: false,
            held_secs: 0,
            tls_hint: false,
            alert_hosts: Vec::new(),
            alert_urls: Vec::new(),
            limits: collect::Limits::default(),
            priors: Vec::new(),
        }
    }
}
