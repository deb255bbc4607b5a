//! The addresses a workload is configured with.
//!
//! A client that cannot connect often does not say to what: a JDBC pool's
//! `SocketTimeoutException: Connect timed out` under `Acquisition timeout`,
//! a bare `connect ETIMEDOUT`. An engineer then reads the workload's
//! settings (`KC_DB_URL_HOST=keycloak-db-rw.data.svc`, `REDIS_URL=redis://
//! sessions-redis:6379`) and follows the address to the Service, its pods
//! and the policies in front of them. So does the engine: the pods whose
//! logs show a connection that got no answer are described
//! ([`describe_reads`]), the hosts their environment names that are the
//! cluster's Services are read like any named peer ([`namespaces`]), and a
//! failure that names no peer is about the one configured Service it can
//! be about ([`peer_of`]).

use serde_json::Value;

use super::collect::Output;
use super::world::World;

/// At most this many workloads are described per investigation.
const DESCRIBED: usize = 2;

/// The `describe` calls for pods whose logs, read so far, show a
/// connection that got no answer (one pod per workload, at most
/// [`DESCRIBED`]), unless described already.
pub(super) fn describe_reads(outputs: &[Output]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut owners: Vec<String> = Vec::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "logs" && !o.outcome.is_error)
    {
        let (Some(pod), Some(namespace)) = (
            o.args.get("pod").and_then(Value::as_str),
            o.args.get("namespace").and_then(Value::as_str),
        ) else {
            continue;
        };
        let owner = super::rules::owner_of(pod);
        if owners.contains(&owner) || !super::leads::dropped_connection(&o.outcome.text) {
            continue;
        }
        owners.push(owner);
        let described = outputs.iter().any(|d| {
            d.name == "describe" && d.args.get("name").and_then(Value::as_str) == Some(pod)
        });
        if !described {
            out.push(serde_json::json!({ "kind": "pod", "name": pod, "namespace": namespace }));
        }
        if out.len() == DESCRIBED {
            break;
        }
    }
    out
}

/// (pod, host) for each address the described pods' environment names: a
/// URL's host, a `host:port`, a cluster DNS name.
pub(super) fn hosts(outputs: &[Output]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "describe" && !o.outcome.is_error)
    {
        let Some(pod) = o.args.get("name").and_then(Value::as_str) else {
            continue;
        };
        let pod = pod.to_string();
        for line in o.outcome.text.lines() {
            let Some((_, env)) = line.split_once("env (secret-looking values hidden): ") else {
                continue;
            };
            for item in env.split(", ") {
                if let Some((_, value)) = item.split_once('=')
                    && let Some(host) = host_in_value(value)
                    && !out.contains(&(pod.clone(), host.clone()))
                {
                    out.push((pod.clone(), host));
                }
            }
        }
    }
    out
}

/// The host a setting's value names, if it looks like one: the host of
/// `scheme://[user@]host[:port][/…]`, or a `host[:port]` whose host has a
/// dot or a port (a bare word is too often not an address).
fn host_in_value(value: &str) -> Option<String> {
    let v = value.trim().trim_matches(['"', '\'']);
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?', ',', ' ']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (h, true),
        _ => (authority, false),
    };
    let named = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && host
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    (named && (port || v.contains("://") || host.contains('.'))).then(|| host.to_lowercase())
}

/// At most this many namespaces are read for the configured addresses.
const NAMESPACES: usize = 2;

/// The namespaces of the cluster Services the described workloads are
/// configured with, not in `read` yet (at most [`NAMESPACES`]).
pub(super) fn namespaces(outputs: &[Output], read: &[String]) -> Vec<String> {
    let world = World::from_outputs(outputs);
    let mut out: Vec<String> = Vec::new();
    for (_, host) in hosts(outputs) {
        if let Some((Some(svc), _)) = world.resolve(&host)
            && !read.contains(&svc.namespace)
            && !out.contains(&svc.namespace)
        {
            out.push(svc.namespace.clone());
        }
    }
    out.truncate(NAMESPACES);
    out
}

/// The configured Service a failure of `workload` that names no peer is
/// about: the one a network policy stops its calls to, else the only one
/// it is configured with.
pub(super) fn peer_of(outputs: &[Output], world: &World, workload: &str) -> Option<String> {
    let services: Vec<(String, &super::world::Service)> = hosts(outputs)
        .into_iter()
        .filter(|(pod, _)| world.owner(pod) == workload)
        .filter_map(|(_, host)| match world.resolve(&host) {
            Some((Some(svc), _)) => Some((host, svc)),
            _ => None,
        })
        .collect();
    let blocked: Vec<&String> = services
        .iter()
        .filter(|(_, svc)| world.blocking_policy(svc, workload).is_some())
        .map(|(host, _)| host)
        .collect();
    match (blocked.as_slice(), services.as_slice()) {
        ([one], _) => Some((*one).clone()),
        ([], [(host, _)]) => Some(host.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls_host_ports_and_dns_names() {
        assert_eq!(
            host_in_value("keycloak-db-rw.data.svc").as_deref(),
            Some("keycloak-db-rw.data.svc")
        );
        assert_eq!(
            host_in_value("redis://:x@sessions-redis:6379/0").as_deref(),
            Some("sessions-redis")
        );
        assert_eq!(
            host_in_value("jdbc:postgresql://civic-pg-rw.data.svc:5432/civic").as_deref(),
            Some("civic-pg-rw.data.svc")
        );
        assert_eq!(host_in_value("ledger:8080").as_deref(), Some("ledger"));
        for not_a_host in ["info", "true", "8080", "-Xmx512m", "/var/lib/data", "a b"] {
            assert_eq!(host_in_value(not_a_host), None, "{not_a_host}");
        }
    }

    #[test]
    fn the_described_environment_names_the_hosts_of_its_workload() {
        let describe = Output::test(
            "k8s.describe",
            serde_json::json!({ "kind": "pod", "name": "keycloak-0", "namespace": "identity" }),
            "Pod identity/keycloak-0 · Running\n  container keycloak: env (secret-looking values hidden): KC_DB=postgres, KC_DB_URL_HOST=keycloak-db-rw.data.svc, KC_DB_PASSWORD(secret keycloak-db/password), KC_LOG_LEVEL=info\n",
        );
        assert_eq!(
            hosts(&[describe]),
            [(
                "keycloak-0".to_string(),
                "keycloak-db-rw.data.svc".to_string()
            )]
        );
        let logs = |pod: &str, text: &str| {
            Output::test(
                "k8s.logs",
                serde_json::json!({ "pod": pod, "namespace": "identity" }),
                text,
            )
        };
        let reads = describe_reads(&[
            logs(
                "keycloak-0",
                "Caused by: java.net.SocketTimeoutException: Connect timed out",
            ),
            logs(
                "keycloak-1",
                "Caused by: java.net.SocketTimeoutException: Connect timed out",
            ),
            logs("theme-sync-7d9f8b6c5d-x2k4q", "synced 12 themes"),
        ]);
        assert_eq!(
            reads,
            [serde_json::json!({ "kind": "pod", "name": "keycloak-0", "namespace": "identity" })]
        );
    }
}
