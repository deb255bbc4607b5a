//! An autoscaler blind to the load its workload is drowning in.
//!
//! A HorizontalPodAutoscaler scales on what its metrics say. When they
//! measure the wrong thing (a KEDA trigger still reading the consumer group
//! a release renamed, a custom metric whose query selects nothing, a queue
//! that no longer fills) they read zero while the work piles up elsewhere,
//! and the autoscaler sits at its minimum, content. Nothing reports an
//! error: the HPA's conditions are green, its metric is found, only small.
//! An engineer sees the contradiction: every pod of the workload burns its
//! whole CPU limit, yet its autoscaler measures next to nothing against its
//! target and has not added a replica. Pods at their limit with room to
//! grow (current at minimum, below maximum) and a metric far below target
//! cannot both be true of the load; the metric is what is wrong.
//!
//! The autoscalers are read (`list horizontalpodautoscalers`, every
//! namespace) only when some pod is at its CPU limit.

use serde_json::Value;

use super::parse;
use super::rules::{Ctx, owner_of, same_component};

/// The kind the collector lists.
pub(super) const AUTOSCALERS: &str = "horizontalpodautoscalers";

/// Share of its limit from which a pod counts as held at it.
const AT_LIMIT: f64 = 90.0;

/// Share of its target under which a metric reads "no load".
const BLIND: f64 = 0.25;

/// One HorizontalPodAutoscaler, as much of it as the rule reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Autoscaler {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `spec.scaleTargetRef.name`.
    pub target: String,
    /// `spec.minReplicas` (1 when unset, as the API defaults it).
    pub min: u64,
    /// `spec.maxReplicas`.
    pub max: u64,
    /// `status.currentReplicas`.
    pub current: Option<u64>,
    /// Each metric: its name, the current reading, its target.
    pub metrics: Vec<(String, Option<f64>, Option<f64>)>,
}

impl Autoscaler {
    /// Reads one `autoscaling/v2` object.
    pub(super) fn from_value(v: &Value) -> Autoscaler {
        let str_at = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("");
        let spec_metrics = v
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let current_metrics = v
            .pointer("/status/currentMetrics")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let metrics = spec_metrics
            .iter()
            .map(|m| {
                let name = metric_name(m);
                let now = current_metrics
                    .iter()
                    .find(|c| metric_name(c) == name)
                    .and_then(|c| reading(c, "current"));
                (name, now, reading(m, "target"))
            })
            .collect();
        Autoscaler {
            name: str_at("/metadata/name").to_string(),
            namespace: str_at("/metadata/namespace").to_string(),
            target: str_at("/spec/scaleTargetRef/name").to_string(),
            min: v
                .pointer("/spec/minReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(1),
            max: v
                .pointer("/spec/maxReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            current: v.pointer("/status/currentReplicas").and_then(Value::as_u64),
            metrics,
        }
    }

    /// At its minimum with room above, every metric read and far below
    /// its target: it sees no load.
    fn sees_no_load(&self) -> bool {
        self.current == Some(self.min)
            && self.max > self.min
            && !self.metrics.is_empty()
            && self.metrics.iter().all(|(_, now, target)| {
                matches!((now, target), (Some(n), Some(t)) if *t > 0.0 && *n <= BLIND * t)
            })
    }
}

/// The field of an `autoscaling/v2` metric that holds its source, by
/// the metric's `type`.
fn source_key(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "External" => "external",
        "Pods" => "pods",
        "Object" => "object",
        _ => return None,
    })
}

/// The metric's name: `cpu` for a resource, the external, pods or object
/// metric's own name otherwise.
fn metric_name(m: &Value) -> String {
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(key) = source_key(kind) else {
        return kind.to_string();
    };
    let inner = m.get(key);
    inner
        .and_then(|i| i.pointer("/metric/name").or_else(|| i.get("name")))
        .and_then(Value::as_str)
        .unwrap_or(kind)
        .to_string()
}

/// A metric's `target` or `current` figure: a utilisation, an average value
/// or a value, whichever it states.
fn reading(m: &Value, which: &str) -> Option<f64> {
    let key = source_key(m.get("type").and_then(Value::as_str)?)?;
    let figure = m.get(key)?.get(which)?;
    if let Some(u) = figure.get("averageUtilization").and_then(Value::as_f64) {
        return Some(u);
    }
    ["averageValue", "value"]
        .iter()
        .find_map(|k| figure.get(*k))
        .and_then(|q| match q {
            Value::String(s) => quantity(s),
            Value::Number(n) => n.as_f64(),
            _ => None,
        })
}

/// A Kubernetes quantity as a number: `400`, `174m`, `1.5k`, `2Gi`.
fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(n * mult)
}

/// Signals the autoscalers that see no load on a workload whose every pod
/// read is at its CPU limit (see the module docs).
pub(super) fn blind_to_load(
    ctx: &mut Ctx<'_>,
    autoscalers: &[Autoscaler],
    usage: &[(String, Option<f64>)],
) {
    for a in autoscalers.iter().filter(|a| a.sees_no_load()) {
        let shares: Vec<f64> = usage
            .iter()
            .filter(|(pod, _)| same_component(&owner_of(pod), &a.target))
            .filter_map(|(_, share)| *share)
            .collect();
        if shares.is_empty() || shares.iter().any(|s| *s < AT_LIMIT) {
            continue;
        }
        let readings: Vec<String> = a
            .metrics
            .iter()
            .map(|(name, now, target)| {
                format!(
                    "{name} reads {} against a target of {}",
                    now.map_or("-".into(), fmt),
                    target.map_or("-".into(), fmt)
                )
            })
            .collect();
        ctx.signal(
            &a.target,
            "hpa_misconfigured",
            4.0,
            "k8s.horizontalpodautoscalers",
            format!(
                "HorizontalPodAutoscaler {}/{} holds {} at its minimum of {} replicas (max {}) while every pod of it read uses its whole CPU limit: its metric {}; the autoscaler does not measure the load",
                a.namespace,
                a.name,
                a.target,
                a.min,
                a.max,
                readings.join(", ")
            ),
            None,
        );
    }
}

fn fmt(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The pods' CPU as a share of their limit, from every `resource_usage`
/// read (`None` where no limit applies).
pub(super) fn cpu_shares(outputs: &[super::collect::Output]) -> Vec<(String, Option<f64>)> {
    super::telemetry::pod_usage_rows(outputs)
        .into_iter()
        .filter_map(|(_, row)| {
            let share = row.get("CPU/LIM").and_then(|c| parse::percent(c));
            Some((row.get("POD")?.clone(), share))
        })
        .collect()
}

/// Whether any pod read is held at its CPU limit: then the autoscalers are
/// worth a list.
pub(super) fn any_at_limit(outputs: &[super::collect::Output]) -> bool {
    cpu_shares(outputs)
        .iter()
        .any(|(_, share)| share.is_some_and(|s| s >= AT_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scope;
    use serde_json::json;

    fn keda(current: &str) -> Autoscaler {
        Autoscaler::from_value(&json!({
            "metadata": {"name": "keda-hpa-plate-ingest", "namespace": "roadside"},
            "spec": {"minReplicas": 2, "maxReplicas": 16,
                     "scaleTargetRef": {"kind": "Deployment", "name": "plate-ingest"},
                     "metrics": [{"type": "External", "external": {
                        "metric": {"name": "s0-redis-streams-reads"},
                        "target": {"type": "AverageValue", "averageValue": "400"}}}]},
            "status": {"currentReplicas": 2, "desiredReplicas": 2,
                       "currentMetrics": [{"type": "External", "external": {
                          "metric": {"name": "s0-redis-streams-reads"},
                          "current": {"averageValue": current}}}]}
        }))
    }

    #[test]
    fn an_autoscaler_reading_nothing_under_saturated_pods_is_misconfigured() {
        let scope = Scope::test();
        let usage = vec![
            ("plate-ingest-42qfl5sdjn-5q2bc".to_string(), Some(99.6)),
            ("plate-ingest-42qfl5sdjn-8lmt4".to_string(), Some(99.1)),
            ("trip-matcher-kfsgg8xrtg-4sl8f".to_string(), Some(40.0)),
        ];
        let mut ctx = Ctx::new(&scope);
        blind_to_load(&mut ctx, &[keda("0")], &usage);
        let s = ctx
            .signals
            .iter()
            .find(|s| s.kind == "hpa_misconfigured")
            .expect("a signal");
        assert_eq!(s.component, "plate-ingest");
        assert!(
            s.detail.contains("reads 0 against a target of 400"),
            "{}",
            s.detail
        );
        // A metric that sees the load (350 of 400): no contradiction.
        let mut ctx = Ctx::new(&scope);
        blind_to_load(&mut ctx, &[keda("350")], &usage);
        assert!(ctx.signals.is_empty());
        // One pod with headroom: the load is not what holds them.
        let mut ctx = Ctx::new(&scope);
        let mixed = vec![
            usage[0].clone(),
            ("plate-ingest-42qfl5sdjn-zq7wd".to_string(), Some(45.0)),
        ];
        blind_to_load(&mut ctx, &[keda("0")], &mixed);
        assert!(ctx.signals.is_empty());
        // At its maximum it is out of room, not blind (another kind's story).
        let mut maxed = keda("0");
        maxed.current = Some(16);
        let mut ctx = Ctx::new(&scope);
        blind_to_load(&mut ctx, &[maxed], &usage);
        assert!(ctx.signals.is_empty());
    }

    #[test]
    fn quantities_and_utilisations_are_read() {
        assert!(quantity("174m").is_some_and(|q| (q - 0.174).abs() < 1e-9));
        assert_eq!(quantity("1.5k"), Some(1500.0));
        assert_eq!(quantity("2Ki"), Some(2048.0));
        assert_eq!(quantity("lots"), None);
        let cpu = Autoscaler::from_value(&json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"minReplicas": 3, "maxReplicas": 8, "scaleTargetRef": {"name": "web"},
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [{"type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 58, "averageValue": "174m"}}}]}
        }));
        assert_eq!(
            cpu.metrics,
            vec![("cpu".to_string(), Some(58.0), Some(70.0))]
        );
        assert!(!cpu.sees_no_load());
    }
}
