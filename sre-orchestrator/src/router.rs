//! The router: which specialist should investigate an alert.
//!
//! Rules first, because they are instant, free, explainable and right for
//! the alerts teams actually run (kube-prometheus' `KubePodCrashLooping`,
//! `KubeNodeNotReady`, SigNoz's latency and error-rate rules…). Each category
//! has weighted cues matched against the alert's name, summary, description
//! and labels; the best score wins when it leads clearly. When it does not,
//! the decision is marked *unsure* and the caller may ask the LLM to break the
//! tie (with no LLM, the rules' best guess stands and says it was a guess).
//!
//! An explicit `category` label always wins: teams that know better can say so.

use serde::{Deserialize, Serialize};

use crate::alert::Alert;

/// The five kinds of specialist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// DNS, connection refused/reset, TLS, ingress, service endpoints.
    Network,
    /// Slow queries, missing indexes, locks, replication, connection pools.
    Database,
    /// Nodes, scheduling, images, volumes, evictions.
    Infrastructure,
    /// Error rates, exceptions, bad deploys, crash loops, latency.
    Application,
    /// Memory and CPU limits, OOM kills, throttling, autoscaling.
    Resource,
}

impl Category {
    /// All categories, in a fixed order.
    pub const ALL: [Category; 5] = [
        Category::Network,
        Category::Database,
        Category::Infrastructure,
        Category::Application,
        Category::Resource,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Database => "database",
            Category::Infrastructure => "infrastructure",
            Category::Application => "application",
            Category::Resource => "resource",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The router's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// The chosen category.
    pub category: Category,
    /// Score per category, highest first.
    pub scores: Vec<(Category, u32)>,
    /// The cues that matched for the chosen category.
    pub matched: Vec<String>,
    /// True when the rules could not decide clearly.
    pub unsure: bool,
}

/// (cue, weight) per category. Cues are matched as lower-case substrings of
/// the alert's text; a cue ending in `_` must be followed by a non-letter.
const CUES: &[(Category, &[(&str, u32)])] = &[
    (
        Category::Network,
        &[
            ("dns", 5),
            ("nxdomain", 6),
            ("no such host", 6),
            ("connection refused", 5),
            ("econnrefused", 5),
            ("connection reset", 4),
            ("econnreset", 4),
            ("tls", 4),
            ("certificate", 5),
            ("x509", 5),
            ("handshake", 4),
            ("ingress", 3),
            ("no endpoints", 5),
            ("endpoint", 2),
            ("unreachable", 3),
            ("network", 3),
            ("packet", 3),
            ("blackbox", 3),
            ("probe_success", 3),
            ("upstream connect", 4),
            ("503", 1),
            ("gateway", 2),
            ("expir", 2),
        ],
    ),
    (
        Category::Database,
        &[
            ("mongo", 6),
            ("postgres", 6),
            ("mysql", 6),
            ("redis", 4),
            ("database", 5),
            ("db_", 2),
            ("query", 3),
            ("slow quer", 5),
            ("collscan", 6),
            ("index", 3),
            ("replication", 5),
            ("replica set", 5),
            ("replication lag", 6),
            ("oplog", 5),
            ("deadlock", 5),
            ("lock wait", 5),
            ("connection pool", 5),
            ("pool exhausted", 6),
            ("too many connections", 6),
            ("wiredtiger", 5),
        ],
    ),
    (
        Category::Infrastructure,
        &[
            ("node", 3),
            ("notready", 6),
            ("not ready", 3),
            ("kubelet", 5),
            ("diskpressure", 6),
            ("disk pressure", 6),
            ("pidpressure", 5),
            ("evict", 5),
            ("unschedulable", 6),
            ("failedscheduling", 6),
            ("pending", 2),
            ("imagepullbackoff", 6),
            ("errimagepull", 6),
            ("image pull", 5),
            ("persistentvolume", 5),
            ("pvc", 4),
            ("volume", 3),
            ("filesystem", 4),
            ("disk", 3),
            ("kube-proxy", 4),
            ("etcd", 5),
            ("apiserver", 4),
        ],
    ),
    (
        Category::Application,
        &[
            ("error rate", 5),
            ("errorrate", 5),
            ("5xx", 5),
            ("http 500", 5),
            ("exception", 5),
            ("panic", 4),
            ("crashloop", 4),
            ("crash loop", 4),
            ("crashlooping", 4),
            ("deploy", 2),
            ("rollout", 2),
            ("latency", 3),
            ("p99", 3),
            ("p95", 2),
            ("apdex", 4),
            ("slo", 3),
            ("errors", 2),
            ("failing", 2),
            ("requests", 1),
            ("stacktrace", 4),
            ("nullpointer", 5),
            ("config", 2),
            ("env var", 3),
        ],
    ),
    (
        Category::Resource,
        &[
            ("oom", 6),
            ("oomkilled", 7),
            ("out of memory", 6),
            ("memory", 4),
            ("cpu", 4),
            ("throttl", 6),
            ("hpa", 5),
            ("autoscal", 4),
            ("maxreplicas", 5),
            ("max replicas", 5),
            ("saturat", 4),
            ("quota", 4),
            ("limit", 2),
            ("exit code 137", 6),
            ("noisy neighbo", 5),
            ("resource", 2),
        ],
    ),
];

/// How far ahead the winner must be, as a fraction of its score, for the
/// rules to be sure.
const MARGIN: f64 = 0.25;

fn alert_text(alert: &Alert) -> String {
    let mut text = String::new();
    text.push_str(&alert.name);
    text.push(' ');
    text.push_str(&alert.summary);
    if let Some(d) = &alert.description {
        text.push(' ');
        text.push_str(d);
    }
    if let Some(q) = &alert.question {
        text.push(' ');
        text.push_str(q);
    }
    for (k, v) in &alert.labels {
        if matches!(
            k.as_str(),
            "alertname" | "severity" | "prometheus" | "receiver"
        ) {
            continue;
        }
        text.push(' ');
        text.push_str(k);
        text.push('=');
        text.push_str(v);
    }
    // Split CamelCase alert names (KubeNodeNotReady → kube node not ready)
    // as well as keeping them whole (notready).
    let mut spaced = String::with_capacity(alert.name.len() + 8);
    let mut prev_lower = false;
    for ch in alert.name.chars() {
        if ch.is_uppercase() && prev_lower {
            spaced.push(' ');
        }
        prev_lower = ch.is_lowercase();
        spaced.push(ch);
    }
    text.push(' ');
    text.push_str(&spaced);
    text.to_lowercase()
}

/// Routes an alert by the rules.
pub fn route(alert: &Alert) -> Route {
    if let Some(c) = alert
        .labels
        .get("category")
        .and_then(|c| Category::parse(c))
    {
        return Route {
            category: c,
            scores: vec![(c, 100)],
            matched: vec!["label category".into()],
            unsure: false,
        };
    }
    let text = alert_text(alert);
    let mut scores: Vec<(Category, u32, Vec<String>)> = CUES
        .iter()
        .map(|(category, cues)| {
            let mut score = 0;
            let mut matched = Vec::new();
            for (cue, weight) in *cues {
                if text.contains(cue) {
                    score += weight;
                    matched.push((*cue).to_string());
                }
            }
            (*category, score, matched)
        })
        .collect();
    scores.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (best, best_score, matched) = scores[0].clone();
    let second = scores.get(1).map_or(0, |s| s.1);
    let unsure = best_score == 0 || f64::from(best_score - second) < MARGIN * f64::from(best_score);
    // With no cue at all, an alert about a service is most often an
    // application problem.
    let category = if best_score == 0 {
        Category::Application
    } else {
        best
    };
    Route {
        category,
        scores: scores.iter().map(|(c, s, _)| (*c, *s)).collect(),
        matched,
        unsure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::parse_webhook;

    fn am(name: &str, labels: &str, summary: &str) -> Alert {
        let body = format!(
            r#"{{"alerts":[{{"labels":{{"alertname":"{name}"{labels}}},"annotations":{{"summary":"{summary}"}}}}]}}"#
        );
        parse_webhook(&body).unwrap().remove(0)
    }

    #[test]
    fn routes_a_table_of_real_world_alerts() {
        let table = [
            (
                "KubePodCrashLooping",
                r#","namespace":"shop","container":"checkout""#,
                "Pod is crash looping.",
                Category::Application,
            ),
            (
                "KubeNodeNotReady",
                r#","node":"ip-10-0-1-23""#,
                "Node is not ready.",
                Category::Infrastructure,
            ),
            (
                "KubeContainerOOMKilled",
                r#","container":"cart""#,
                "Container cart was OOMKilled",
                Category::Resource,
            ),
            (
                "KubeHpaMaxedOut",
                r#","horizontalpodautoscaler":"web""#,
                "HPA is running at max replicas",
                Category::Resource,
            ),
            (
                "CPUThrottlingHigh",
                r#","container":"search""#,
                "Processes experience elevated CPU throttling.",
                Category::Resource,
            ),
            (
                "MongodbReplicationLag",
                r#","service":"orders-db""#,
                "MongoDB replication lag is high",
                Category::Database,
            ),
            (
                "SlowQueries",
                r#","service":"orders""#,
                "COLLSCAN slow queries on orders.orders",
                Category::Database,
            ),
            (
                "HighErrorRate",
                r#","service.name":"checkout","ruleId":"7""#,
                "checkout 5xx error rate above 5%",
                Category::Application,
            ),
            (
                "BlackboxProbeFailed",
                r#","instance":"https://api.example.com""#,
                "TLS certificate expired: x509",
                Category::Network,
            ),
            (
                "DNSResolutionErrors",
                r#","service":"payments""#,
                "lookup ledger.svc: no such host",
                Category::Network,
            ),
            (
                "KubePodNotScheduled",
                r#","pod":"etl-1""#,
                "Pod is Pending: FailedScheduling 0/3 nodes are available",
                Category::Infrastructure,
            ),
            (
                "KubePersistentVolumeFillingUp",
                r#","persistentvolumeclaim":"data""#,
                "disk filling up",
                Category::Infrastructure,
            ),
            (
                "PostgresTooManyConnections",
                r#","service":"billing""#,
                "too many connections; pool exhausted",
                Category::Database,
            ),
        ];
        for (name, labels, summary, want) in table {
            let r = route(&am(name, labels, summary));
            assert_eq!(r.category, want, "{name}: {r:?}");
        }
    }

    #[test]
    fn category_label_wins_and_nothing_is_unsure_application() {
        let r = route(&am("Whatever", r#","category":"database""#, "x"));
        assert_eq!(r.category, Category::Database);
        assert!(!r.unsure);
        let r = route(&am("Whatever", "", "something odd"));
        assert_eq!(r.category, Category::Application);
        assert!(r.unsure);
    }

    #[test]
    fn close_calls_are_unsure() {
        // Memory (resource) and mongo (database) both match strongly.
        let r = route(&am(
            "MongoMemoryHigh",
            r#","service":"orders-db""#,
            "mongodb memory usage high",
        ));
        assert!(r.unsure || r.category == Category::Database, "{r:?}");
    }
}
