//! What the cluster says happened: its events and its rollouts.
//!
//! The two Kubernetes readers of the record of changes. Events carry what
//! the cluster did on its own (a node that went NotReady, a pod evicted);
//! rollout histories carry what people did (a new image, a removed
//! variable, a lowered limit). Either is a signal only inside the
//! incident's horizon: older changes go on the timeline, for people.

use super::collect::EvidencePack;
use super::parse;
use super::rules::{Ctx, owner_of};

/// Node failures, evictions and the changes people made, from the
/// cluster's events.
pub(super) fn read_events(ctx: &mut Ctx<'_>, pack: &EvidencePack) {
    let namespaced =
        |o: &&super::collect::Output| o.args.get("namespace").is_some_and(|v| !v.is_null());
    let has_namespaced = pack.of("events").any(|o| namespaced(&o));
    for o in pack.of("events") {
        // The cluster-wide call is only there for node events.
        let nodes_only = has_namespaced && !namespaced(&o);
        for row in parse::table(&o.outcome.text, "LAST") {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            let (reason, object, message) = (get("REASON"), get("OBJECT"), get("MESSAGE"));
            let first = ctx.ago(parse::age_secs(get("FIRST")));
            let (kind, name) = object.split_once('/').unwrap_or(("", object));
            if nodes_only && kind != "Node" {
                continue;
            }
            let warning = get("TYPE") == "Warning";
            let interesting = warning
                || matches!(
                    reason,
                    "ScalingReplicaSet" | "SuccessfulRescale" | "Killing" | "Started"
                );
            if interesting && !matches!(reason, "Started" | "Killing") {
                let short: String = message.chars().take(140).collect();
                ctx.event(first, "k8s.events", format!("{reason} {object}: {short}"));
            }
            if kind == "Node" && warning {
                let weight = match reason {
                    "NodeNotReady" | "NodeHasDiskPressure" | "EvictionThresholdMet" => 2.0,
                    _ => 0.5,
                };
                ctx.signal(
                    name,
                    "node_failure",
                    weight,
                    &o.tool,
                    format!("event {reason} on {object}: {message}"),
                    first,
                );
            }
            if reason == "Evicted" {
                let m = message.to_lowercase();
                let weight =
                    if m.contains("ephemeral") || m.contains("disk") || m.contains("memory") {
                        0.5
                    } else {
                        0.2
                    };
                ctx.signal(
                    &owner_of(name),
                    "evicted",
                    weight,
                    &o.tool,
                    format!("{object} evicted: {message}"),
                    first,
                );
            }
        }
    }
}

/// Every rollout inside the incident's horizon: a new image, a changed
/// environment, a lowered limit; older ones are context on the timeline.
pub(super) fn read_rollouts(ctx: &mut Ctx<'_>, pack: &EvidencePack) {
    let horizon = (ctx.scope.window_secs + 3600) as i64;
    for o in pack.of("rollout_history") {
        let name = o.args.get("name").and_then(|v| v.as_str()).unwrap_or("");
        for change in parse::revision_changes(&o.outcome.text) {
            let Some(ago) = change.ago_secs else { continue };
            let at = ctx.ago(Some(ago));
            let items = change.items.join("; ");
            if ago > horizon {
                // Old changes are context for people, not suspects.
                if ago <= 3 * 86_400 {
                    ctx.event(
                        at,
                        "k8s.rollout",
                        format!("{name} revision {}: {items}", change.to),
                    );
                }
                continue;
            }
            ctx.event(
                at,
                "k8s.rollout",
                format!("{name} rolled out revision {}: {items}", change.to),
            );
            let lower = items.to_lowercase();
            if lower.contains(" image ") {
                ctx.signal(
                    name,
                    "recent_deploy",
                    1.0,
                    &o.tool,
                    format!(
                        "revision {} rolled out {}m ago: {items}",
                        change.to,
                        ago / 60
                    ),
                    at,
                );
            }
            if lower.contains("env removed") || lower.contains("env renamed") {
                ctx.signal(
                    name,
                    "missing_config",
                    1.5,
                    &o.tool,
                    format!("revision {} changed the environment: {items}", change.to),
                    at,
                );
            }
            for item in &change.items {
                if let Some(lowered) =
                    limit_lowered(item, "memory").filter(|_| item.contains("limits"))
                {
                    ctx.signal(
                        name,
                        "oom_killed",
                        2.0,
                        &o.tool,
                        format!("revision {} lowered the memory limit: {lowered}", change.to),
                        at,
                    );
                }
                // A lowered CPU limit makes the same work take longer:
                // throttling, and whatever waits on the service.
                if let Some(lowered) =
                    limit_lowered(item, "cpu").filter(|_| item.contains("limits"))
                {
                    ctx.signal(
                        name,
                        "cpu_throttling",
                        2.0,
                        &o.tool,
                        format!("revision {} lowered the CPU limit: {lowered}", change.to),
                        at,
                    );
                }
            }
        }
    }
}

/// `limits cpu=2,memory=1Gi → cpu=500m,memory=768Mi`: the `resource`
/// (`cpu` or `memory`) limit a rollout lowered, as `before → after`.
fn limit_lowered(item: &str, resource: &str) -> Option<String> {
    let (before, after) = item.split_once('→')?;
    let quantity = |side: &str| -> Option<(String, f64)> {
        let at = side.find(&format!("{resource}="))? + resource.len() + 1;
        let text: String = side[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let n: f64 = text[..split].parse().ok()?;
        let mult = match &text[split..] {
            "m" => 1e-3,
            "Ki" => 1024.0,
            "Mi" => 1024.0 * 1024.0,
            "Gi" => 1024.0 * 1024.0 * 1024.0,
            "K" | "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "" => 1.0,
            _ => return None,
        };
        Some((text, n * mult))
    };
    let (b_text, b) = quantity(before)?;
    let (a_text, a) = quantity(after)?;
    (a < b).then(|| format!("{b_text} → {a_text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowered_limits_count() {
        assert_eq!(
            limit_lowered(
                "cart limits cpu=500m,memory=512Mi → cpu=500m,memory=256Mi",
                "memory"
            )
            .as_deref(),
            Some("512Mi → 256Mi")
        );
        assert_eq!(
            limit_lowered("cart limits memory=256Mi → memory=1Gi", "memory"),
            None
        );
        let item = "enricher limits cpu=2,memory=1Gi → cpu=500m,memory=768Mi";
        assert_eq!(limit_lowered(item, "cpu").as_deref(), Some("2 → 500m"));
        assert_eq!(
            limit_lowered("enricher limits cpu=250m → cpu=1", "cpu"),
            None
        );
    }
}
