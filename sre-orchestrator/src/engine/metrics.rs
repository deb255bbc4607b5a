//! Metrics that name a cause.
//!
//! Logs say what the software noticed; some causes are only ever visible as
//! a number. A throttled container logs nothing, it just gets slow; a
//! connection pool fills up silently until requests time out; a consumer
//! falls behind without an error. An on-call engineer who suspects one of
//! these opens the dashboard of *that* metric and compares the incident with
//! the hour before. This module does the same for every incident.
//!
//! # How
//!
//! The collector lists the metric names SigNoz has (one cheap call), keeps
//! those a *metric signature* names, and queries each over the incident
//! window plus a baseline before it, grouped by the labels that name a
//! component. A signature (the `[[metric]]` tables of
//! `sre-orchestrator/signatures/metrics.toml`, compiled in) says:
//!
//! * which metric names it reads: a regular expression over the name, with
//!   the real name it was written from as `example` and who exports it as
//!   `source` (cAdvisor, the kubelet, the OpenTelemetry conventions,
//!   Micrometer, the common Prometheus exporters), so both the OpenTelemetry
//!   and the Prometheus spelling of a metric are covered;
//! * what movement means the failure kind: `rise` (the window's peak is F
//!   times the baseline), `fall` (the trough is F times the baseline),
//!   `above`/`below` (absolute floors, so that a rise from 0.001 to 0.004 is
//!   not an incident). Every condition given must hold;
//! * which labels name the culprit (`consumergroup`, `persistentvolumeclaim`…)
//!   before the usual ones (`service.name`, `k8s.deployment.name`, `pod`…).
//!   A claim resolves to the workload whose pods mount it, a pod to its
//!   owner, a consumer group to the workload its name starts with.
//!
//! A rise that was already there in the baseline is not this incident's
//! cause; the time the condition first held is the signal's time, which the
//! ranking uses to put causes before their consequences.

use std::collections::BTreeSet;

use jiff::Timestamp;
use regex::Regex;
use serde::Deserialize;

use super::Scope;
use super::collect::EvidencePack;
use super::parse;
use super::rules::{Signal, same_component};
use super::signatures::KINDS;
use super::world::World;

/// The labels that name a component, in the order they are tried after a
/// signature's own `culprit` labels.
pub const COMPONENT_LABELS: &[&str] = &[
    "service.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "deployment",
    "statefulset",
    "k8s.pod.name",
    "pod",
    "k8s.container.name",
    "container",
];

/// At most this many metrics are queried per investigation.
pub const MAX_QUERIES: usize = 8;

/// One metric signature.
#[derive(Debug, Clone)]
pub struct MetricSignature {
    /// Unique id.
    pub id: String,
    /// The failure kind its condition means.
    pub kind: &'static str,
    /// 1..=5, as for text signatures.
    pub strength: u8,
    /// Over the metric name.
    pub name: Regex,
    /// The window's peak is at least this many times the baseline's mean.
    pub rise: Option<f64>,
    /// The window's trough is at most this many times the baseline's mean.
    pub fall: Option<f64>,
    /// The window's peak is at least this.
    pub above: Option<f64>,
    /// The window's trough is at most this.
    pub below: Option<f64>,
    /// Labels naming the culprit, tried first.
    pub culprit: Vec<String>,
}

impl MetricSignature {
    /// The labels to group a query by: the culprit's first, then the usual.
    pub fn group_by(&self) -> Vec<String> {
        let mut labels = self.culprit.clone();
        for l in COMPONENT_LABELS {
            if !labels.iter().any(|x| x == l) {
                labels.push((*l).to_string());
            }
        }
        labels
    }

    /// How values are combined across the series of one group: the
    /// extreme the condition looks at.
    pub fn aggregation(&self) -> &'static str {
        if self.fall.is_some() || self.below.is_some() {
            "min"
        } else {
            "max"
        }
    }

    /// Whether `baseline` (values before the window) and `window` (values
    /// in it) meet every condition; `None` when they cannot be judged.
    fn holds(&self, baseline: &[f64], window: &[f64]) -> Option<bool> {
        let peak = window.iter().copied().reduce(f64::max)?;
        let trough = window.iter().copied().reduce(f64::min)?;
        let base =
            (!baseline.is_empty()).then(|| baseline.iter().sum::<f64>() / baseline.len() as f64);
        if (self.rise.is_some() || self.fall.is_some()) && base.is_none() {
            return None;
        }
        let base = base.unwrap_or(0.0);
        let ok = self.rise.is_none_or(|f| peak > 0.0 && peak >= f * base)
            && self.fall.is_none_or(|f| base > 0.0 && trough <= f * base)
            && self.above.is_none_or(|x| peak >= x)
            && self.below.is_none_or(|x| trough <= x);
        Some(ok)
    }

    /// Whether one value meets the absolute or relative threshold (for the
    /// onset time).
    fn crossed(&self, base: f64, v: f64) -> bool {
        self.rise.is_none_or(|f| v > 0.0 && v >= f * base)
            && self.fall.is_none_or(|f| v <= f * base)
            && self.above.is_none_or(|x| v >= x)
            && self.below.is_none_or(|x| v <= x)
    }
}

/// Why the metric signature file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MetricSignatureError {
    /// TOML syntax or an unknown field.
    #[error("{origin}: {source}")]
    Toml {
        /// The file.
        origin: String,
        /// The parser's message (with the line).
        source: toml::de::Error,
    },
    /// A signature that cannot work.
    #[error("{origin} (id = {id:?}): {reason}")]
    Invalid {
        /// The file.
        origin: String,
        /// The signature.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    metric: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    id: String,
    kind: String,
    strength: i64,
    name: String,
    #[serde(default)]
    rise: Option<f64>,
    #[serde(default)]
    fall: Option<f64>,
    #[serde(default)]
    above: Option<f64>,
    #[serde(default)]
    below: Option<f64>,
    #[serde(default)]
    culprit: Vec<String>,
    example: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: String,
}

/// Parses and checks a metric signature file.
pub fn load(text: &str, origin: &str) -> Result<Vec<MetricSignature>, MetricSignatureError> {
    let raw: RawFile = toml::from_str(text).map_err(|source| MetricSignatureError::Toml {
        origin: origin.to_string(),
        source,
    })?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in raw.metric {
        let invalid = |reason: String| MetricSignatureError::Invalid {
            origin: origin.to_string(),
            id: r.id.clone(),
            reason,
        };
        if !seen.insert(r.id.clone()) {
            return Err(invalid("duplicate id".into()));
        }
        let kind = KINDS
            .iter()
            .find(|k| **k == r.kind)
            .ok_or_else(|| invalid(format!("unknown kind {:?}", r.kind)))?;
        if !(1..=5).contains(&r.strength) {
            return Err(invalid(format!(
                "strength {} is out of range 1..=5",
                r.strength
            )));
        }
        if r.rise.is_none() && r.fall.is_none() && r.above.is_none() && r.below.is_none() {
            return Err(invalid("no condition (rise, fall, above or below)".into()));
        }
        let name = Regex::new(&format!("(?i){}", r.name))
            .map_err(|e| invalid(format!("pattern does not compile: {e}")))?;
        if !name.is_match(&r.example) {
            return Err(invalid(format!(
                "pattern does not match its example {:?}",
                r.example
            )));
        }
        out.push(MetricSignature {
            id: r.id,
            kind,
            strength: r.strength as u8,
            name,
            rise: r.rise,
            fall: r.fall,
            above: r.above,
            below: r.below,
            culprit: r.culprit,
        });
    }
    Ok(out)
}

/// The built-in metric signatures.
pub fn builtin() -> &'static [MetricSignature] {
    static BUILTIN: std::sync::OnceLock<Vec<MetricSignature>> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| {
        load(
            include_str!("../../signatures/metrics.toml"),
            "built-in metrics.toml",
        )
        .unwrap_or_else(|e| {
            // The catalogue's test loads it; a broken build is not a reason
            // to fail investigations.
            tracing::error!("built-in metric signatures: {e}");
            Vec::new()
        })
    })
}

/// The first signature naming `metric`.
pub fn signature_for(metric: &str) -> Option<&'static MetricSignature> {
    builtin().iter().find(|s| s.name.is_match(metric))
}

/// The metric names of a `list_metrics` answer that a signature reads, at
/// most [`MAX_QUERIES`].
pub fn wanted(list_metrics: &str) -> Vec<(String, &'static MetricSignature)> {
    parse::table(list_metrics, "METRIC")
        .into_iter()
        .filter_map(|row| {
            let name = row.get("METRIC")?.clone();
            signature_for(&name).map(|s| (name, s))
        })
        .take(MAX_QUERIES)
        .collect()
}

/// One series of a `query_metric` table: its group values and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The group's label values, in `group_by` order (`-` when absent).
    pub group: Vec<String>,
    /// (time, value) samples.
    pub points: Vec<(Timestamp, f64)>,
}

/// Reads a `query_metric` answer: a title line, a `TIME <group>…` header
/// whose columns are the group values joined by commas, then one row per
/// step.
pub fn series(text: &str, now: Timestamp) -> Vec<Series> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("TIME"));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let mut out: Vec<Series> = header
        .split_whitespace()
        .skip(1)
        .map(|g| Series {
            group: g.split(',').map(str::to_string).collect(),
            points: Vec::new(),
        })
        .collect();
    for line in lines {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = cols.first().and_then(|t| parse::clock(now, t)) else {
            continue;
        };
        if cols.len() != out.len() + 1 {
            continue;
        }
        for (s, v) in out.iter_mut().zip(&cols[1..]) {
            // `2.709M` / `4.7G` for large values (mcp-signoz's `num`), plain numbers else.
            if let Some(v) = parse::count(v) {
                s.points.push((at, v));
            }
        }
    }
    out
}

/// The component one series is about.
fn culprit(sig: &MetricSignature, group: &[String], world: &World) -> Option<String> {
    let labels = sig.group_by();
    // The first label naming a workload; a scraper's own name (cAdvisor,
    // the kubeletstats receiver as the series' `service.name`) is who
    // measured, not who is measured.
    let (label, value) = labels
        .iter()
        .zip(group)
        .find(|(_, v)| !v.is_empty() && v.as_str() != "-" && !crate::subject::is_scraper(v))?;
    let owners: BTreeSet<&str> = world.pods.iter().map(|p| p.owner.as_str()).collect();
    let component = if label.contains("persistentvolumeclaim") {
        world
            .pods
            .iter()
            .find(|p| p.claims.iter().any(|c| c == value))
            .map_or_else(|| value.clone(), |p| p.owner.clone())
    } else if label == "pod" || label.ends_with(".pod.name") {
        world.owner(value)
    } else if label.contains("group") || label.contains("client") {
        // A consumer group or client id is usually named after its service
        // (`orders-consumer`, `orders-group`): the longest workload name it
        // starts with.
        owners
            .iter()
            .filter(|o| !o.is_empty() && value.starts_with(*o))
            .max_by_key(|o| o.len())
            .map_or_else(|| value.clone(), |o| (*o).to_string())
    } else {
        value.clone()
    };
    Some(component)
}

/// Signals from the `query_metric` answers of the pack.
pub fn read(scope: &Scope, pack: &EvidencePack, world: &World) -> Vec<Signal> {
    let start = scope.from();
    let mut out: Vec<Signal> = Vec::new();
    for o in pack.of("query_metric") {
        let Some(metric) = o.args.get("metric").and_then(|m| m.as_str()) else {
            continue;
        };
        let Some(sig) = signature_for(metric) else {
            continue;
        };
        for s in series(&o.outcome.text, scope.now) {
            let baseline: Vec<f64> = s
                .points
                .iter()
                .filter(|(t, _)| *t < start)
                .map(|p| p.1)
                .collect();
            let window: Vec<(Timestamp, f64)> = s
                .points
                .iter()
                .filter(|(t, _)| *t >= start)
                .copied()
                .collect();
            let values: Vec<f64> = window.iter().map(|p| p.1).collect();
            if sig.holds(&baseline, &values) != Some(true) {
                continue;
            }
            let Some(component) = culprit(sig, &s.group, world) else {
                continue;
            };
            if out
                .iter()
                .any(|x| x.kind == sig.kind && same_component(&x.component, &component))
            {
                continue;
            }
            let base = if baseline.is_empty() {
                0.0
            } else {
                baseline.iter().sum::<f64>() / baseline.len() as f64
            };
            let onset = window.iter().find(|(_, v)| sig.crossed(base, *v));
            let extreme = if sig.aggregation() == "min" {
                values.iter().copied().fold(f64::INFINITY, f64::min)
            } else {
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            };
            let since = onset.map_or(String::new(), |(t, _)| {
                format!(
                    " since {}",
                    t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%H:%M")
                )
            });
            out.push(Signal {
                component,
                kind: sig.kind,
                weight: f64::from(sig.strength),
                source: o.tool.clone(),
                detail: format!(
                    "{metric} of {}: {} before the incident, {} in it{since} (metric signature {})",
                    s.group
                        .iter()
                        .filter(|g| g.as_str() != "-")
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("/"),
                    short(base),
                    short(extreme),
                    sig.id
                ),
                at: onset.map(|(t, _)| *t),
            });
        }
    }
    out
}

/// A value in a few significant digits.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_file_loads_and_every_example_names_its_own_signature() {
        let text = include_str!("../../signatures/metrics.toml");
        let sigs = load(text, "metrics.toml").unwrap();
        assert!(sigs.len() >= 20, "{}", sigs.len());
        let raw: RawFile = toml::from_str(text).unwrap();
        for r in raw.metric {
            let first = signature_for(&r.example).unwrap();
            assert_eq!(first.id, r.id, "{} is read by another signature", r.example);
        }
        // Names nothing: ordinary traffic metrics.
        for m in [
            "http.server.request.duration.bucket",
            "http_requests_total",
            "process_cpu_seconds_total",
        ] {
            assert!(signature_for(m).is_none(), "{m}");
        }
    }

    #[test]
    fn a_bad_file_is_a_clear_error() {
        let err = load(
            "[[metric]]\nid = \"x\"\nkind = \"nope\"\nstrength = 3\nname = 'a'\nabove = 1.0\nexample = \"a\"\n",
            "user.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown kind") && err.contains("user.toml"),
            "{err}"
        );
        let err = load(
            "[[metric]]\nid = \"x\"\nkind = \"volume_full\"\nstrength = 3\nname = '^a$'\nfall = 0.2\nexample = \"b\"\n",
            "user.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not match its example"), "{err}");
        let err = load("[[metric]]\nid = 3\n", "user.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user.toml") && err.contains("line"), "{err}");
    }

    const QUERY: &str = "container.cpu.throttled_ratio — max of values across 2 series by service.name,pod, value 1, step 10m, 2025-09-19 01:15:00Z → 02:55:00Z (1h40m)
TIME      billing,-  search,-
01:15:00       0.02      0.30
01:35:00       0.02      0.31
01:55:00       0.03      0.29
02:15:00       0.59      0.32
02:35:00       0.61      0.30
… 3 smaller groups not shown
";

    #[test]
    fn a_rise_in_the_window_is_a_signal_a_chronic_level_is_not() {
        let now: Timestamp = "2025-09-19T02:55:00Z".parse().unwrap();
        let s = series(QUERY, now);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].group, vec!["billing", "-"]);
        assert_eq!(s[0].points.len(), 5);
        let sig = signature_for("container.cpu.throttled_ratio").unwrap();
        let start: Timestamp = "2025-09-19T02:05:00Z".parse().unwrap();
        let split = |s: &Series| {
            let values = |before: bool| {
                s.points
                    .iter()
                    .filter(|(t, _)| (*t < start) == before)
                    .map(|p| p.1)
                    .collect::<Vec<f64>>()
            };
            (values(true), values(false))
        };
        let (b, w) = split(&s[0]);
        assert_eq!(sig.holds(&b, &w), Some(true));
        // Throttled at 30 % all along: not what changed.
        let (b, w) = split(&s[1]);
        assert_eq!(sig.holds(&b, &w), Some(false));
        // No baseline: a rise cannot be judged.
        assert_eq!(sig.holds(&[], &w), None);
    }

    #[test]
    fn a_claim_resolves_to_the_workload_that_mounts_it() {
        let mut world = World::default();
        world.pods.push(super::super::world::Pod {
            name: "mongodb-0".into(),
            owner: "mongodb".into(),
            claims: vec!["datadir-mongodb-0".into()],
            ..Default::default()
        });
        let sig = signature_for("kubelet_volume_stats_available_bytes").unwrap();
        let mut group = vec!["-".to_string(); sig.group_by().len()];
        group[0] = "datadir-mongodb-0".into();
        assert_eq!(culprit(sig, &group, &world).as_deref(), Some("mongodb"));
        let sig = signature_for("kafka_consumergroup_lag").unwrap();
        world.pods[0].owner = "orders".into();
        group[0] = "orders-consumer".into();
        assert_eq!(culprit(sig, &group, &world).as_deref(), Some("orders"));
    }

    #[test]
    fn a_scraper_is_who_measured_the_pod_is_who_is_measured() {
        let sig = signature_for("container_cpu_cfs_throttled_periods_total").unwrap();
        let labels = sig.group_by();
        let mut group = vec!["-".to_string(); labels.len()];
        let at = |name: &str| labels.iter().position(|l| l == name).unwrap();
        group[at("service.name")] = "cadvisor".into();
        group[at("k8s.pod.name")] = "feed-handler-gb8xpr8hj6-cm6fh".into();
        let world = World::default();
        assert_eq!(
            culprit(sig, &group, &world).as_deref(),
            Some("feed-handler")
        );
        group[at("service.name")] = "kubeletstats".into();
        assert_eq!(
            culprit(sig, &group, &world).as_deref(),
            Some("feed-handler")
        );
        // An application's own series keeps its service.
        group[at("service.name")] = "feed-handler".into();
        group[at("k8s.pod.name")] = "-".into();
        assert_eq!(
            culprit(sig, &group, &world).as_deref(),
            Some("feed-handler")
        );
    }
}
