//! What the alert names in its own words.
//!
//! An alert about a queue, a topic, a feed or a dataset rarely carries the
//! name of the workload behind it, but it says what it is about:
//! `PayslipRenderQueueBacklog` with `queue="payslip.render"` is about
//! `payslip-renderer`, the consumer that cannot keep up;
//! `WeatherObservationsStale` is about `obs-ingest`, the job that stopped
//! producing observations. An engineer reads the alert and goes to the
//! workload it names; the engine does the same with the words:
//!
//! * [`alert_words`] takes the alert's name (split at case changes), its
//!   summary and description, and the values of its labels that describe
//!   the subject (not the scrape target: `instance`, `endpoint`,
//!   `prometheus`, `job`…), minus words every alert uses (`high`, `error`,
//!   `rate`) and the namespace's own name, which every workload shares.
//! * [`names`] tells whether a workload's name shares a distinctive word
//!   with them, whole or as a prefix of at least three letters (`obs` of
//!   `observations`, `render` of `renderer`).
//!
//! A workload the alert names is related to it the way a peer named in an
//! error is ([`super::rank`]'s reach), and a staleness alert sends the
//! collector to the cluster's scheduled work ([`about_staleness`]).

use crate::alert::Alert;

/// Labels that describe where a series was scraped, not what it is about.
const SCRAPE_LABELS: &[&str] = &[
    "alertname",
    "severity",
    "prometheus",
    "endpoint",
    "instance",
    "job",
    "namespace",
    "container",
    "pod",
    "service",
    "uid",
    "cluster",
    "region",
    "env",
    "environment",
    "team",
    "receiver",
    "le",
    "quantile",
];

/// Words that say nothing about which workload: how alerts and workloads
/// are commonly worded.
const GENERIC: &[&str] = &[
    "the",
    "and",
    "for",
    "from",
    "has",
    "have",
    "been",
    "with",
    "than",
    "above",
    "below",
    "over",
    "under",
    "not",
    "are",
    "was",
    "were",
    "this",
    "that",
    "into",
    "per",
    "its",
    "all",
    "any",
    "high",
    "low",
    "too",
    "many",
    "much",
    "more",
    "less",
    "rate",
    "ratio",
    "error",
    "errors",
    "fail",
    "failed",
    "failing",
    "failure",
    "failures",
    "alert",
    "alerts",
    "warning",
    "critical",
    "minutes",
    "minute",
    "seconds",
    "hours",
    "current",
    "currently",
    "percent",
    "total",
    "count",
    "latency",
    "slow",
    "p99",
    "p95",
    "http",
    "https",
    "grpc",
    "request",
    "requests",
    "response",
    "responses",
    "service",
    "services",
    "svc",
    "api",
    "app",
    "apps",
    "web",
    "server",
    "backend",
    "frontend",
    "worker",
    "workers",
    "job",
    "jobs",
    "cron",
    "pod",
    "pods",
    "kube",
    "k8s",
    "deployment",
    "container",
    "node",
    "nodes",
    "cluster",
    "prod",
    "production",
    "staging",
    "main",
    "core",
    "default",
    "down",
    "up",
    "unavailable",
    "available",
    "burn",
    "budget",
    "slo",
    "sli",
    "objective",
    "messages",
    "message",
    "ready",
    "queue",
    "queues",
    "backlog",
    "lag",
    "stale",
    "data",
    "age",
    "old",
    "last",
    "time",
    "run",
    "runs",
    "new",
    "now",
    "increase",
    "increased",
    "spike",
    "spikes",
    "degraded",
    "health",
    "healthy",
    "status",
    "check",
    "checks",
    "probe",
    "gateway",
    "proxy",
    "ingress",
    "nginx",
    "5xx",
    "4xx",
    "timeout",
    "timeouts",
    "missing",
    "none",
    "exceeded",
    "threshold",
];

/// Words of an alert's text that say which workload it is about (see the
/// module docs), lower-case, each once.
pub fn alert_words(alert: &Alert) -> Vec<String> {
    let mut text = split_case(&alert.name);
    text.push(' ');
    text.push_str(&alert.summary);
    if let Some(d) = &alert.description {
        text.push(' ');
        text.push_str(d);
    }
    for (k, v) in &alert.labels {
        if !SCRAPE_LABELS.contains(&k.as_str()) {
            text.push(' ');
            text.push_str(v);
        }
    }
    let namespace = alert.namespace.as_deref().map(words).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for w in words(&text) {
        if distinctive(&w) && !namespace.contains(&w) && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Whether the alert is about an HTTPS endpoint or a certificate: a label
/// or annotation holding an `https://` URL (a blackbox probe's `instance`),
/// or TLS, SSL or certificate in its name or text (`BlackboxSslCertificate
/// WillExpireSoon`, `CertManagerCertExpirySoon`).
pub fn about_tls(alert: &Alert) -> bool {
    let mut text = split_case(&alert.name).to_lowercase();
    for v in alert.labels.values().chain(alert.annotations.values()) {
        text.push(' ');
        text.push_str(&v.to_lowercase());
    }
    text.push(' ');
    text.push_str(&alert.summary.to_lowercase());
    text.contains("https://")
        || words(&text)
            .iter()
            .any(|w| matches!(w.as_str(), "tls" | "ssl" | "certificate" | "cert" | "x509"))
}

/// The hosts of the `https://` URLs in the alert's labels and annotations.
pub fn https_hosts(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in alert.labels.values().chain(alert.annotations.values()) {
        for (_, rest) in v.match_indices("https://").map(|(i, _)| v.split_at(i + 8)) {
            let host: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                .collect::<String>()
                .to_ascii_lowercase();
            if host.contains('.') && !out.contains(&host) {
                out.push(host);
            }
        }
    }
    out
}

/// The `(host, path)` of every `http://` or `https://` URL in the alert's
/// labels and annotations: what a blackbox probe requests (its `instance`
/// or `target`), which says which backend the alert is about. The path is
/// `/` when the URL has none; query and fragment are dropped.
pub fn alert_urls(alert: &Alert) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // An ingress controller's series name the Ingress and the host its
    // requests asked for (ingress-nginx's `ingress` and `host` labels): the
    // backend serving that host is what the alert is about, as for a probe.
    if let (Some(host), Some(_)) = (alert.labels.get("host"), alert.labels.get("ingress")) {
        let host = host.trim().to_ascii_lowercase();
        if host.contains('.') && !host.contains('/') {
            out.push((host, "/".to_string()));
        }
    }
    for v in alert.labels.values().chain(alert.annotations.values()) {
        for scheme in ["https://", "http://"] {
            for (i, _) in v.match_indices(scheme) {
                let rest = &v[i + scheme.len()..];
                let end = rest
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ',')
                    })
                    .unwrap_or(rest.len());
                let url = &rest[..end];
                let (authority, path) = url.split_at(url.find('/').unwrap_or(url.len()));
                let host = authority
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let path = path.split(['?', '#']).next().unwrap_or("");
                let path = if path.is_empty() { "/" } else { path };
                let pair = (host, path.to_string());
                if !pair.0.is_empty() && !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}

/// Whether the alert's words ([`alert_words`]) name `workload`.
pub fn names(alert_words: &[String], workload: &str) -> bool {
    let own = words(workload);
    own.iter().filter(|w| distinctive(w)).any(|w| {
        alert_words.iter().any(|a| {
            a == w
                || (w.len() >= 3 && a.starts_with(w.as_str()))
                || (a.len() >= 3 && w.starts_with(a.as_str()))
        })
    })
}

/// Whether the alert's words name `workload` by every distinctive word of
/// its name, two at least (`claims` and `adjudication` for
/// `claims-adjudication`): stricter than [`names`], for a workload found
/// anywhere in the cluster.
pub fn names_fully(alert_words: &[String], workload: &str) -> bool {
    let own: Vec<String> = words(workload)
        .into_iter()
        .filter(|w| distinctive(w) && !w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    own.len() >= 2 && own.iter().all(|w| alert_words.iter().any(|a| a == w))
}

/// How long the alert says its condition held before it fired, in seconds:
/// `No catalog index batch has succeeded for 2 hours`, `above 5% for 10
/// minutes`, `in the last 30m`, a range selector `[2h]` in its expression.
/// The trouble began that long before `startsAt`, and so may its cause.
/// The longest such duration its summary and description state, at most
/// six hours.
pub fn stated_duration(alert: &Alert) -> Option<u64> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| {
            regex::Regex::new(
                r"(?i)(?:\bfor (?:the (?:last|past) )?|\b(?:in|over) the (?:last|past) |\[)(\d{1,3})\s*(hours?|hrs?|h|minutes?|mins?|m)\b",
            )
            .ok()
        })
        .as_ref()?;
    let text = format!(
        "{} {}",
        alert.summary,
        alert.description.as_deref().unwrap_or("")
    );
    re.captures_iter(&text)
        .filter_map(|c| {
            let n: u64 = c[1].parse().ok()?;
            let unit = if c[2].to_lowercase().starts_with('h') {
                3600
            } else {
                60
            };
            Some(n * unit)
        })
        .max()
        .map(|secs| secs.min(6 * 3600))
}

/// Whether the alert says something is stale or overdue: data that stopped
/// arriving, a run that did not happen.
pub fn about_staleness(alert: &Alert) -> bool {
    let mut text = split_case(&alert.name).to_lowercase();
    text.push(' ');
    text.push_str(&alert.summary.to_lowercase());
    STALE
        .iter()
        .chain(["freshness", "last success", "not run", "missed"].iter())
        .chain(REPORTED_STALE.iter())
        .any(|cue| text.contains(cue))
}

/// How people report data that stopped arriving (an analyst in a channel,
/// a support ticket): "the dashboard still shows Sunday as the latest day",
/// "last refreshed 30 Sep 06:10", "today's figures aren't there".
const REPORTED_STALE: &[&str] = &[
    "last refreshed",
    "last updated",
    "not refreshed",
    "hasn't refreshed",
    "hasn't updated",
    "has not updated",
    "stopped updating",
    "still shows",
    "latest day",
    "no data since",
    "aren't there",
    "isn't there",
    "is missing",
    "are missing",
    "sla miss",
];

/// What a service says when the data it reads stopped arriving. A log
/// line is read with fewer words than an alert: a log's "missed" or "not
/// run" is rarely about its input.
const STALE: &[&str] = &[
    "stale",
    "outdated",
    "not updated",
    "no new data",
    "overdue",
    "older than",
    "too old",
    // What a scheduled producer should have published by now
    // (`TariffNotPublishedException: no tariff published for week 28`).
    "not published",
    "not yet published",
    "never published",
];

/// Whether a line a service logged says its input is stale (`schedule
/// stale, reporting not ready`, `rates older than 26h`), in words or in an
/// exception's name (`TariffNotPublishedException`).
pub(super) fn says_stale(line: &str) -> bool {
    let l = split_case(line).to_lowercase();
    STALE.iter().any(|cue| l.contains(cue))
}

/// `PayslipRenderQueueBacklog` → `Payslip Render Queue Backlog`.
pub(super) fn split_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// Lower-case alphanumeric words of `text`.
pub(super) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

pub(super) fn distinctive(w: &str) -> bool {
    w.len() >= 3 && !w.bytes().all(|b| b.is_ascii_digit()) && !GENERIC.contains(&w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_input_is_said_in_words_or_in_an_exceptions_name() {
        assert!(says_stale("rates older than 26h"));
        assert!(says_stale(
            "Vialink.Rating.TariffNotPublishedException: zone AMS-CZ1"
        ));
        assert!(says_stale("tariffs for 2026-W28 not yet published"));
        assert!(!says_stale("published 412 tariffs for 2026-W28"));
        assert!(!says_stale("NotificationPublisher started"));
    }

    #[test]
    fn an_alert_says_how_long_its_condition_held() {
        let mut a = crate::alert::parse_command("investigate service=x").expect("alert");
        a.summary = "No catalog index batch has succeeded for 2 hours".into();
        a.description = Some("sum(increase(x[2h])) == 0 for 15m.".into());
        assert_eq!(stated_duration(&a), Some(7200));
        a.summary = "Error rate above 5% for 10 minutes".into();
        a.description = None;
        assert_eq!(stated_duration(&a), Some(600));
        a.summary = "p99 over 2s in the last 30m".into();
        assert_eq!(stated_duration(&a), Some(1800));
        a.summary = "Checkout is failing for 3 customers".into();
        assert_eq!(stated_duration(&a), None);
        a.summary = "stale for 48h".into();
        assert_eq!(stated_duration(&a), Some(6 * 3600));
        // The horizon reaches back as far as the condition held, when
        // that is longer than its usual hour.
        let mut scope = crate::engine::Scope::test();
        let usual = scope.horizon();
        scope.held_secs = 600;
        assert_eq!(scope.horizon(), usual);
        scope.held_secs = 7200;
        assert_eq!(
            usual.duration_since(scope.horizon()),
            jiff::SignedDuration::from_mins(75)
        );
    }

    fn alert(name: &str, summary: &str, labels: &[(&str, &str)]) -> Alert {
        let mut a = crate::alert::parse_command("investigate service=x").expect("alert");
        a.name = name.into();
        a.summary = summary.into();
        a.namespace = Some("payroll".into());
        a.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        a
    }

    #[test]
    fn a_queue_alert_names_its_consumer_not_its_neighbours() {
        let a = alert(
            "PayslipRenderQueueBacklog",
            "payslip.render has 51k messages ready",
            &[
                ("queue", "payslip.render"),
                ("pod", "payroll-rabbitmq-0"),
                ("vhost", "payroll"),
            ],
        );
        let words = alert_words(&a);
        assert!(names(&words, "payslip-renderer"), "{words:?}");
        for other in [
            "benefits-sync",
            "payroll-api",
            "timesheet-api",
            "payroll-rabbitmq",
        ] {
            assert!(!names(&words, other), "{other}: {words:?}");
        }
    }

    #[test]
    fn abbreviations_are_prefixes_and_generic_words_name_nothing() {
        let a = alert(
            "WeatherObservationsStale",
            "observations are 84 minutes old",
            &[],
        );
        let words = alert_words(&a);
        assert!(names(&words, "obs-ingest"), "{words:?}");
        assert!(!names(&words, "grib-archive"));
        assert!(about_staleness(&a));
        let generic = alert("HighErrorRate", "5xx rate above 5% on the api", &[]);
        let words = alert_words(&generic);
        assert!(words.is_empty(), "{words:?}");
        assert!(!names(&words, "checkout-api"));
        assert!(!about_staleness(&generic));
        for reported in [
            "the Weekly Trading dashboard still shows Sun 14 Sep as the latest day",
            "Store Inventory Health says last refreshed 30 Sep 06:10",
        ] {
            assert!(
                about_staleness(&alert("AnalystReport", reported, &[])),
                "{reported}"
            );
        }
    }

    #[test]
    fn an_alert_about_an_https_endpoint_or_a_certificate() {
        let probe = alert(
            "ProbeFailure",
            "probe failed",
            &[
                ("instance", "https://efile.courts.example.gov/healthz"),
                ("job", "blackbox-https"),
            ],
        );
        assert!(about_tls(&probe));
        assert_eq!(
            https_hosts(&probe),
            vec!["efile.courts.example.gov".to_string()]
        );
        assert!(about_tls(&alert("CertManagerCertExpirySoon", "", &[])));
        let plain = alert(
            "ProbeFailure",
            "probe failed",
            &[("instance", "http://api:8080/health")],
        );
        assert!(!about_tls(&plain));
        assert!(https_hosts(&plain).is_empty());
        // An ingress controller's series: the host its requests asked for.
        let nginx = alert(
            "NginxIngressHigh5xxRate",
            "5xx",
            &[("ingress", "bff-mobile"), ("host", "api.Example.app")],
        );
        assert_eq!(
            alert_urls(&nginx),
            vec![("api.example.app".to_string(), "/".to_string())]
        );
        assert_eq!(
            alert_urls(&plain),
            vec![("api".to_string(), "/health".to_string())]
        );
        assert_eq!(
            alert_urls(&probe),
            vec![(
                "efile.courts.example.gov".to_string(),
                "/healthz".to_string()
            )]
        );
        let deep = alert(
            "BlackboxProbeFailed",
            "probe failed",
            &[(
                "instance",
                "https://ondemand.uni.example/pun/sys/myjobs?x=1",
            )],
        );
        assert_eq!(
            alert_urls(&deep),
            vec![(
                "ondemand.uni.example".to_string(),
                "/pun/sys/myjobs".to_string()
            )]
        );
    }
}
