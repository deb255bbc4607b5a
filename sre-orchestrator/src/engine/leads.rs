//! Where the evidence points beyond the alert's namespace.
//!
//! An engineer reading round one's answers follows what they name: an
//! address in a log line (`ledger.payments.svc`), a Service a troubled call
//! reaches, a database known only by its system, a warning that began
//! elsewhere in the cluster during the incident. Some failures name the
//! object to list: a TLS handshake that fails sends one to the cert-manager
//! Certificates, a sidecar's `RBAC: access denied` to the mesh's
//! AuthorizationPolicies. The collector asks for what these point at; this
//! module decides what that is.

use std::collections::BTreeSet;

use serde_json::Value;

use super::collect::Output;
use super::parse;

/// cert-manager's Certificates, by their fully qualified resource name
/// (`certificates` alone could be another group's).
pub const CERTIFICATES: &str = "certificates.cert-manager.io";

/// Istio's AuthorizationPolicies.
pub const AUTHORIZATION_POLICIES: &str = "authorizationpolicies.security.istio.io";

/// Whether a tool's text shows a failure a custom resource explains.
pub(super) type Shows = fn(&str) -> bool;

/// Custom resources read when the evidence shows their failure (a cluster
/// without them answers an error, which is not a data gap).
pub(super) const ON_DEMAND: &[(&str, Shows)] = &[
    (CERTIFICATES, tls_failure),
    (AUTHORIZATION_POLICIES, mesh_denial),
    (super::calico::GLOBAL_NETWORK_POLICIES, dropped_connection),
    (super::calico::NETWORK_POLICIES, dropped_connection),
];

/// Those of [`ON_DEMAND`] that live in no namespace: listed once.
const CLUSTER_SCOPED: &[&str] = &[super::calico::GLOBAL_NETWORK_POLICIES];

/// The custom resources [`ON_DEMAND`] names, listed in each namespace read
/// and cluster-wide, when `outputs` show their failure (or, for
/// Certificates, the alert is about TLS) and they are not in `listed`
/// already: the cert-manager Certificates when a client fails a TLS
/// handshake (their `notAfter`, their Ready condition), the mesh's
/// AuthorizationPolicies when a sidecar answers `RBAC: access denied`,
/// Calico's GlobalNetworkPolicies (cluster-wide only) and namespaced
/// NetworkPolicies when a connection got no answer.
pub(super) fn on_demand_reads(
    outputs: &[Output],
    namespaces: &[String],
    tls_hint: bool,
    listed: &[&str],
) -> Vec<Value> {
    let mut out = Vec::new();
    for (kind, shows) in ON_DEMAND {
        if listed.contains(kind) {
            continue;
        }
        let asked = *kind == super::leads::CERTIFICATES && tls_hint;
        if asked
            || outputs
                .iter()
                .any(|o| !o.outcome.is_error && shows(&o.outcome.text))
        {
            for namespace in namespaces.iter().filter(|_| !CLUSTER_SCOPED.contains(kind)) {
                out.push(serde_json::json!({ "kind": kind, "namespace": namespace, "output": "json", "compact": true, "limit": super::collect::PAGE }));
            }
            // Few and small: the whole cluster's too, since the component
            // presenting the certificate (a gateway that relays the error
            // in a 502) may live where nothing else points. Where the
            // cluster-wide list is not allowed, the namespaces' lists above
            // still answer.
            out.push(serde_json::json!({ "kind": kind, "output": "json", "compact": true, "limit": super::collect::PAGE }));
        }
    }
    out
}

/// The pods behind the Services a failing Certificate's DNS names resolve
/// to, when none of them was read: what presents the certificate (a
/// Service `s3` in front of Deployment `s3-gateway`, in a namespace nothing
/// else pointed at). At most three Services, `page` pods each.
pub(super) fn certificate_backend_reads(outputs: &[Output], page: usize) -> Vec<Value> {
    let world = super::world::World::from_outputs(outputs);
    let mut out: Vec<Value> = Vec::new();
    for c in world.certificates.iter().filter(|c| c.not_ready.is_some()) {
        for dns in &c.dns_names {
            if let Some((Some(svc), _)) = world.resolve(dns)
                && !svc.selector.is_empty()
                && world.backends(svc).next().is_none()
            {
                let selector: Vec<String> = svc
                    .selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let args = serde_json::json!({ "kind": "pods", "namespace": svc.namespace, "label_selector": selector.join(","), "output": "json", "compact": true, "limit": page });
                if !out.contains(&args) {
                    out.push(args);
                }
            }
        }
    }
    out.truncate(3);
    out
}

/// Whether `text` reports a connection that got no answer, as a dropped
/// packet leaves it (a network policy's deny drops silently): a connect
/// timeout in the words of Go, Java, Netty, Apache HttpAsyncClient (the
/// Elasticsearch and OpenSearch Java clients), Node and curl, or no route.
pub(super) fn dropped_connection(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)connect(?:ion)? timed out|ConnectTimeoutException|Timeout connecting to \[|connect: connection timed out|dial tcp [^ ]+: i/o timeout|connect ETIMEDOUT|Connection timed out after|no route to host|EHOSTUNREACH",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// Whether `text` holds a service mesh's refusal: Envoy's RBAC filter
/// (`RBAC: access denied`, the access log's `rbac_access_denied_matched_policy`).
fn mesh_denial(text: &str) -> bool {
    text.contains("RBAC: access denied") || text.contains("rbac_access_denied")
}

/// Whether `text` reports a failed TLS handshake or certificate check, in
/// the words of the common stacks (Go's crypto/tls and x509, OpenSSL,
/// Java's JSSE, .NET, Node).
fn tls_failure(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)x509:|certificate has expired|certificate verify failed|CERTIFICATE_VERIFY_FAILED|CERT_HAS_EXPIRED|handshake failed|SSLHandshakeException|PKIX path|certificate (?:is )?not yet valid|RemoteCertificateValidation|tls: (?:bad|unknown|expired) certificate",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// Whether `text` reports a name that did not resolve, in the words of the
/// common stacks (Go's resolver, glibc's `getaddrinfo`, Node, Java, curl,
/// musl): the cue to look at the cluster's resolver (see
/// [`super::dns`]).
pub(super) fn dns_failure(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)no such host|NXDOMAIN|SERVFAIL|ENOTFOUND|EAI_AGAIN|Name or service not known|Temporary failure in name resolution|could not resolve host|UnknownHostException|nodename nor servname|Name does not resolve|lookup \S+ on [\d.]+:53",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// The `list` calls that show the cluster's resolver when some answer
/// reports a name that did not resolve: the pods behind each Service that
/// serves port 53 (who it is) and its namespace's events (whether it was
/// just rolled out or restarted). `page` objects per call.
pub(super) fn resolver_reads(outputs: &[Output], page: usize) -> Vec<Value> {
    if !outputs
        .iter()
        .any(|o| !o.outcome.is_error && dns_failure(&o.outcome.text))
    {
        return Vec::new();
    }
    let world = super::world::World::from_outputs(outputs);
    let mut out = Vec::new();
    for svc in world
        .services
        .iter()
        .filter(|s| s.ports.iter().any(|(_, p)| *p == 53) && !s.selector.is_empty())
        .take(2)
    {
        let selector: Vec<String> = svc
            .selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push(serde_json::json!({ "kind": "pods", "namespace": svc.namespace, "label_selector": selector.join(","), "output": "json", "compact": true, "limit": page }));
        out.push(serde_json::json!({ "kind": "events", "namespace": svc.namespace, "output": "json", "compact": true, "limit": page }));
    }
    out
}

/// At most this many namespaces besides the alert's are read.
const LINKED_NAMESPACES: usize = 3;

/// Follow-up reads of the workloads the subject's own failing lines name as
/// the callee that answered it with an error (`quote-engine responded 502`,
/// `"upstream":"warranty-checker"`): without traces, the callee's log (its
/// application's and its sidecar's) says why it answered so, which is where
/// an engineer looks next. A callee that could not be reached is not read:
/// its log cannot say why. One running pod per workload, two workloads at
/// most, none already read.
pub(super) fn callee_log_reads(outputs: &[Output], subject: Option<&str>) -> Vec<Value> {
    let Some(subject) = subject else {
        return Vec::new();
    };
    // With traces the call graph already says who failed whom.
    let traced = outputs
        .iter()
        .filter(|o| o.name == "service_dependencies" && !o.outcome.is_error)
        .any(|o| !parse::edges(&o.outcome.text).is_empty());
    if traced {
        return Vec::new();
    }
    let world = super::world::World::from_outputs(outputs);
    let read: BTreeSet<&str> = outputs
        .iter()
        .filter(|o| o.name == "logs")
        .filter_map(|o| o.args.get("pod").and_then(Value::as_str))
        .collect();
    let mut callees: Vec<String> = Vec::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "logs" && !o.outcome.is_error)
    {
        let of_subject = o
            .args
            .get("pod")
            .and_then(Value::as_str)
            .and_then(|pod| world.pods.iter().find(|p| p.name == pod))
            .is_some_and(|p| super::rules::same_component(&p.owner, subject));
        if !of_subject {
            continue;
        }
        for line in o.outcome.text.lines() {
            let Some((svc, mut behind)) =
                super::peers::answering_peer(line).and_then(|peer| world.resolve(&peer))
            else {
                continue;
            };
            if let Some(svc) = svc {
                behind.extend(world.backends(svc).map(|p| p.owner.clone()));
            }
            for w in behind {
                if !super::rules::same_component(&w, subject) && !callees.contains(&w) {
                    callees.push(w);
                }
            }
        }
    }
    let mut out = Vec::new();
    for w in callees.iter().take(2) {
        let Some(pod) = world
            .pods
            .iter()
            .find(|p| &p.owner == w && p.phase == "Running" && !read.contains(p.name.as_str()))
        else {
            continue;
        };
        for c in pod.containers.iter().filter(|c| !c.init).take(2) {
            out.push(serde_json::json!({
                "namespace": pod.namespace, "pod": pod.name, "container": c.name,
                "tail": 120, "max_bytes": 12000,
            }));
        }
    }
    out
}

/// The namespaces, other than `home`, that round one's evidence links to
/// the incident: named in an address in a log template or trace
/// (`ledger.payments.svc`), or holding a Service that a troubled call of the
/// service graph reaches (errors, or a slow p99).
pub(super) fn linked_namespaces(
    outputs: &[Output],
    home: Option<&str>,
    subject: Option<&str>,
    horizon_secs: u64,
) -> Vec<String> {
    static DNS: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let dns = DNS.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.svc\b",
        )
        .ok()
    });
    let Some(home) = home else {
        return Vec::new();
    };
    let world = super::world::World::from_outputs(outputs);
    let mut found: Vec<String> = Vec::new();
    let mut add = |ns: &str| {
        if ns != home && !found.iter().any(|f| f == ns) {
            found.push(ns.to_string());
        }
    };
    // The alert's namespace label can be the exporter's (kafka-exporter in
    // `streaming` reporting consumer group `ledger-writer`): the subject
    // lives where its Service or its pods are.
    if let Some(subject) = subject {
        let is_subject = |name: &str| super::rules::same_component(name, subject);
        let mut homes: Vec<String> = world
            .services
            .iter()
            .filter(|s| is_subject(&s.name))
            .map(|s| s.namespace.clone())
            .collect();
        for o in outputs
            .iter()
            .filter(|o| o.name == "resource_usage" && !o.outcome.is_error)
        {
            for row in parse::table(&o.outcome.text, "NAMESPACE") {
                if let (Some(ns), Some(pod)) = (row.get("NAMESPACE"), row.get("POD"))
                    && is_subject(&super::rules::owner_of(pod))
                    && !homes.contains(ns)
                {
                    homes.push(ns.clone());
                }
            }
        }
        if !homes.iter().any(|h| h == home)
            && let Some(ns) = homes.first()
        {
            add(ns);
        }
    }
    for o in outputs.iter().filter(|o| {
        matches!(o.name.as_str(), "log_patterns" | "search_traces" | "logs") && !o.outcome.is_error
    }) {
        if let Some(re) = dns {
            for c in re.captures_iter(&o.outcome.text) {
                let ns = c[2].to_lowercase();
                if world.services.iter().any(|s| s.namespace == ns) {
                    add(&ns);
                }
            }
        }
        // A bare name or a ClusterIP in an error: the Service it is.
        for line in o.outcome.text.lines() {
            if let Some(peer) = super::peers::named_peer(line)
                && let Some((Some(svc), _)) = world.resolve(&peer)
            {
                add(&svc.namespace);
            }
        }
    }
    // A server's state its clients relay, naming no host: where that
    // system's server lives.
    for system in relayed_systems(outputs, &world) {
        if let Some(ns) = system_home(&system, &world) {
            add(ns);
        }
    }
    for o in outputs
        .iter()
        .filter(|o| o.name == "service_dependencies" && !o.outcome.is_error)
    {
        for e in parse::edges(&o.outcome.text) {
            if e.err_pct < 1.0 && e.p99_ms.is_none_or(|p| p < 250.0) {
                continue;
            }
            for (name, callee) in [(&e.caller, false), (&e.callee, true)] {
                let name = name.trim_end_matches(" (db)");
                let homes: Vec<&str> = world
                    .services
                    .iter()
                    .filter(|s| super::rules::same_component(&s.name, name))
                    .map(|s| s.namespace.as_str())
                    .collect();
                // A name served in the alert's namespace is that one.
                if !homes.contains(&home)
                    && let Some(ns) = homes.first()
                {
                    add(ns);
                }
                // `postgresql (db)` names a system, not a Service: the one
                // Service serving that system is the store.
                // (A StatefulSet's headless twin serves the same port in
                // the same namespace: one store.)
                if homes.is_empty()
                    && e.db
                    && callee
                    && let Some(ns) = system_home(name, &world)
                {
                    add(ns);
                }
            }
        }
    }
    // The database that refused a client's login, and the pooler between
    // them: every namespace serving that system (a pooler's and its
    // database's, at most two).
    let refused = refused_logins(outputs);
    for e in outputs
        .iter()
        .filter(|o| o.name == "service_dependencies" && !o.outcome.is_error)
        .flat_map(|o| parse::edges(&o.outcome.text))
        .filter(|e| {
            e.db && refused
                .iter()
                .any(|c| super::rules::same_component(c, &e.caller))
        })
    {
        let homes = system_homes(e.callee.trim_end_matches(" (db)"), &world);
        if homes.len() <= 2 {
            for ns in homes {
                add(ns);
            }
        }
    }
    // The subject's own callees, troubled or not: a callee that answers
    // 200 with a body its caller can no longer read (a changed contract)
    // shows no trouble of its own, and what changed there is read only
    // when its namespace is.
    if let Some(subject) = subject {
        for e in outputs
            .iter()
            .filter(|o| o.name == "service_dependencies" && !o.outcome.is_error)
            .flat_map(|o| parse::edges(&o.outcome.text))
            .filter(|e| !e.db && super::rules::same_component(&e.caller, subject))
        {
            let homes: Vec<&str> = world
                .services
                .iter()
                .filter(|s| super::rules::same_component(&s.name, &e.callee))
                .map(|s| s.namespace.as_str())
                .collect();
            if !homes.contains(&home)
                && let Some(ns) = homes.first()
            {
                add(ns);
            }
        }
    }
    // A workload down elsewhere in the cluster since the incident's
    // horizon (no replica available, its pods stuck before they start): a
    // queue whose consumer is gone backs up, a proxy whose backend is gone
    // answers 503, one namespace away. The warnings then say the rest.
    for o in outputs.iter().filter(|o| {
        o.name == "workload_health"
            && !o.outcome.is_error
            && o.args.get("namespace").is_none_or(Value::is_null)
    }) {
        for f in parse::health_findings(&o.outcome.text) {
            // Most of its replicas unavailable (`1 of 4 replicas
            // available`): what is left cannot carry the load.
            let mostly_unavailable = f.details.iter().any(|d| {
                let mut words = d.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some(up), Some("of"), Some(want)) => {
                        match (up.parse::<u32>(), want.parse::<u32>()) {
                            (Ok(up), Ok(want)) => up * 2 < want,
                            _ => false,
                        }
                    }
                    _ => false,
                }
            });
            let down = matches!(f.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
                && f.reason == "UnavailableReplicas"
                && mostly_unavailable;
            let recent = f.since_secs.is_some_and(|s| s <= horizon_secs as i64);
            if down
                && recent
                && let Some(ns) = f.namespace.as_deref()
            {
                add(ns);
            }
        }
    }
    // Trouble that began in the incident's horizon elsewhere in the
    // cluster (a ReplicaSet that cannot create pods, a claim that cannot
    // bind): the alert may be its symptom one namespace away. Read last,
    // busiest first.
    let mut warnings: Vec<(i64, String)> = Vec::new();
    for o in outputs.iter().filter(|o| {
        o.name == "events"
            && !o.outcome.is_error
            && o.args.get("namespace").is_none_or(Value::is_null)
    }) {
        for row in parse::table(&o.outcome.text, "LAST") {
            let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
            let ns = get("NAMESPACE");
            let new = parse::age_secs(get("FIRST")).is_some_and(|a| a <= horizon_secs as i64);
            if new && !ns.is_empty() && ns != "default" && !get("OBJECT").starts_with("Node/") {
                let count = get("COUNT").parse().unwrap_or(1);
                warnings.push((count, ns.to_string()));
            }
        }
    }
    warnings.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, ns) in warnings {
        add(&ns);
    }
    found.truncate(LINKED_NAMESPACES);
    found
}

/// The systems whose servers' state the logs and spans read so far relay,
/// naming no host (`Connection.Blocked(['reason=low on disk'])` from the
/// broker, `Vault is sealed`, a pooler's `no more connections allowed` ←
/// caused by a pool's timeout): their servers' own logs say why
/// ([`super::signatures::Signature::relayed_system`]).
pub(super) fn relayed_systems(outputs: &[Output], world: &super::world::World) -> BTreeSet<String> {
    let catalogue = super::signatures::Catalogue::active();
    let mut systems = BTreeSet::new();
    for o in outputs.iter().filter(|o| {
        matches!(o.name.as_str(), "log_patterns" | "search_traces" | "logs") && !o.outcome.is_error
    }) {
        for line in o.outcome.text.lines() {
            // A line that names a Service it called is read through it.
            if super::peers::named_peer(line).is_some_and(|p| world.resolve(&p).is_some()) {
                continue;
            }
            let cause = super::telemetry::innermost_cause(line).unwrap_or(line);
            if let Some(system) = catalogue
                .best(super::signatures::Field::Log, cause)
                .and_then(|hit| hit.signature.relayed_system().map(str::to_string))
            {
                systems.insert(system);
            }
        }
    }
    systems
}

/// The services whose new log lines say their database refused their
/// login (`password authentication failed`, a pooler's `backend
/// authentication failed`, as the line's innermost cause or anywhere in
/// it): the refused connections never become spans, so the database calls
/// look healthy while the pool empties.
pub(super) fn refused_logins(outputs: &[Output]) -> BTreeSet<String> {
    let catalogue = super::signatures::Catalogue::active();
    let refusal = |text: &str| {
        catalogue
            .matches(super::signatures::Field::Log, text)
            .iter()
            .any(|hit| {
                hit.signature.kind == "credentials_expired"
                    && hit.signature.server_system().is_some()
            })
    };
    let mut services = BTreeSet::new();
    for o in outputs
        .iter()
        .filter(|o| o.name == "log_patterns" && !o.outcome.is_error)
    {
        for p in parse::log_patterns(&o.outcome.text)
            .into_iter()
            .filter(|p| p.kind == "NEW" || p.kind == "SURGED")
        {
            let text = p.example.as_deref().unwrap_or(&p.template);
            if refusal(super::telemetry::innermost_cause(text).unwrap_or(text)) || refusal(text) {
                services.extend(p.services.iter().cloned());
            }
        }
    }
    services
}

/// The namespaces whose Services serve `system`.
fn system_homes<'w>(system: &str, world: &'w super::world::World) -> BTreeSet<&'w str> {
    world
        .services
        .iter()
        .filter(|s| s.serves(system))
        .map(|s| s.namespace.as_str())
        .collect()
}

/// The one namespace whose Services serve `system` (`postgresql`,
/// `rabbitmq`), if one. (A StatefulSet's headless twin serves the same port
/// in the same namespace: one home.)
fn system_home<'w>(system: &str, world: &'w super::world::World) -> Option<&'w str> {
    let mut homes = system_homes(system, world).into_iter();
    match (homes.next(), homes.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Warnings that began elsewhere in the cluster link their namespace
    /// when they are younger than the horizon asked for: three hours is
    /// too old for an incident's hour and a half, not for stale data's
    /// two days (see `Scope::onset_horizon`).
    #[test]
    fn warnings_elsewhere_link_their_namespace_within_the_horizon() {
        let events = output(
            "events",
            serde_json::json!({ "event_type": "Warning" }),
            "LAST  FIRST  NAMESPACE       TYPE     REASON            OBJECT                                   COUNT  MESSAGE\n\
             2m    3h     analytics-jobs  Warning  FailedScheduling  Pod/store-inventory-rollup-20251001-driver  40  0/7 nodes are available: 2 Insufficient memory.\n",
        );
        let outputs = [events];
        assert!(linked_namespaces(&outputs, Some("bi"), None, 5_400).is_empty());
        assert_eq!(
            linked_namespaces(&outputs, Some("bi"), None, 172_800),
            ["analytics-jobs"]
        );
    }

    /// A workload with most of its replicas unavailable since the horizon
    /// links its namespace (the queue's consumer, the proxy's backend);
    /// one short of a replica, or down for days, does not.
    #[test]
    fn a_workload_down_elsewhere_links_its_namespace() {
        let health = output(
            "workload_health",
            serde_json::json!({}),
            "# workload health in all allowed namespaces: 3 findings\n\
             WARNING   driver/Deployment/driver-bff  UnavailableReplicas  (since 28m ago)\n\
             \x20   1 of 4 replicas available, 4 updated, 1 ready\n\
             WARNING   billing/Deployment/billing-api  UnavailableReplicas  (since 20m ago)\n\
             \x20   3 of 4 replicas available, 4 updated, 3 ready\n\
             CRITICAL  legacy/Deployment/fax-gateway  UnavailableReplicas  (since 6d ago)\n\
             \x20   0 of 2 replicas available, 2 updated, 0 ready\n",
        );
        assert_eq!(
            linked_namespaces(&[health], Some("edge"), None, 5_400),
            ["driver"]
        );
    }

    /// A Traefik service (`booking-booking-engine-8080@kubernetes`) is the
    /// one Service its namespace and name spell; its namespace becomes the
    /// scope's. A name the cluster knows stays as it is.
    #[test]
    fn a_traefik_service_resolves_to_the_service_it_spells() {
        let services = output(
            "list",
            serde_json::json!({ "kind": "services", "output": "json" }),
            "{\"metadata\": {\"name\": \"booking-engine\", \"namespace\": \"booking\"}, \"spec\": {\"selector\": {\"app\": \"booking-engine\"}}}\n{\"metadata\": {\"name\": \"traefik\", \"namespace\": \"traefik\"}, \"spec\": {\"selector\": {\"app\": \"traefik\"}}}",
        );
        let mut scope = super::super::Scope::test();
        scope.subject = crate::subject::resolve(
            &[(
                "service".to_string(),
                "booking-booking-engine-8080@kubernetes".to_string(),
            )]
            .into(),
            crate::subject::owner_of,
        );
        scope.service = Some("booking-booking-engine".into());
        scope.namespace = Some("traefik".into());
        let resolved = scope
            .resolved(std::slice::from_ref(&services))
            .expect("resolved");
        assert_eq!(
            (resolved.service.as_deref(), resolved.namespace.as_deref()),
            (Some("booking-engine"), Some("booking"))
        );
        scope.service = Some("booking-engine".into());
        assert!(scope.resolved(std::slice::from_ref(&services)).is_none());
        // The same spelling from any other label is a name of its own.
        scope.subject = None;
        scope.service = Some("booking-booking-engine".into());
        assert!(scope.resolved(&[services]).is_none());
    }

    /// An expired Certificate whose DNS name is a Service of a namespace
    /// not read: the pods behind that Service are listed, once; a ready
    /// Certificate, or one whose backends are known, asks for nothing.
    #[test]
    fn a_failing_certificate_sends_the_collector_to_the_pods_that_present_it() {
        let services = output(
            "list",
            serde_json::json!({ "kind": "services", "output": "json" }),
            r#"{"metadata": {"name": "s3", "namespace": "lakehouse"}, "spec": {"selector": {"app": "s3-gateway"}, "clusterIP": "10.96.4.4"}}"#,
        );
        let certificate = |ready: &str| {
            output(
                "list",
                serde_json::json!({ "kind": CERTIFICATES, "output": "json" }),
                &format!(
                    r#"{{"metadata": {{"name": "s3-gateway-tls", "namespace": "lakehouse"}}, "spec": {{"dnsNames": ["s3.lakehouse.svc.cluster.local", "s3.lakehouse.svc"]}}, "status": {{"notAfter": "2025-09-27T03:14:07Z", "conditions": [{{"type": "Ready", "status": "{ready}", "reason": "Expired"}}]}}}}"#
                ),
            )
        };
        let reads = certificate_backend_reads(&[services.clone(), certificate("False")], 20);
        assert_eq!(
            reads,
            vec![
                serde_json::json!({ "kind": "pods", "namespace": "lakehouse", "label_selector": "app=s3-gateway", "output": "json", "compact": true, "limit": 20 })
            ]
        );
        assert!(certificate_backend_reads(&[services.clone(), certificate("True")], 20).is_empty());
        let pods = output(
            "list",
            serde_json::json!({ "kind": "pods", "output": "json" }),
            r#"{"metadata": {"name": "s3-gateway-7d9f8b6c5d-x2k4q", "namespace": "lakehouse", "labels": {"app": "s3-gateway"}}, "status": {"phase": "Running"}}"#,
        );
        assert!(certificate_backend_reads(&[services, certificate("False"), pods], 20).is_empty());
    }

    #[test]
    fn tls_failures_are_recognised_in_the_words_of_each_stack() {
        for line in [
            // Go (crypto/tls, grpc-go)
            r#"transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid"#,
            // Java (JSSE)
            "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
            // Python (ssl / requests)
            "SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
            // Node
            "Error: certificate has expired code: 'CERT_HAS_EXPIRED'",
            // .NET
            "The remote certificate is invalid because of errors in the certificate chain: NotTimeValid (RemoteCertificateValidationCallback)",
        ] {
            assert!(tls_failure(line), "{line}");
        }
        assert!(!tls_failure(
            "dial tcp 10.0.0.1:5432: connect: connection refused"
        ));
        assert!(!tls_failure("GET /healthz 200 1ms"));
    }

    fn output(name: &str, args: Value, text: &str) -> Output {
        Output::test(&format!("k8s.{name}"), args, text)
    }

    /// Without traces, the callee the subject's errors say answered 502 has
    /// its logs read (application and sidecar); one it could not reach
    /// does not, nor any when traces already give the call graph.
    #[test]
    fn the_callee_that_answered_with_an_error_is_read_next() {
        let pod = |name: &str, ns: &str, app: &str, owner_rs: &str, containers: &[&str]| {
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| serde_json::json!({"name": c, "ready": true, "state": {"running": {}}}))
                .collect();
            serde_json::json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": app},
                "ownerReferences": [{"kind": "ReplicaSet", "name": owner_rs}]},
                "status": {"phase": "Running", "containerStatuses": statuses}})
            .to_string()
        };
        let svc = |name: &str, ns: &str| {
            serde_json::json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
            .to_string()
        };
        let pods = [
            pod(
                "scan-bff-9lmfr9wvhv-w6m65",
                "web",
                "scan-bff",
                "scan-bff-9lmfr9wvhv",
                &["scan-bff"],
            ),
            pod(
                "quote-engine-vpzz85fw4v-57b25",
                "buyback",
                "quote-engine",
                "quote-engine-vpzz85fw4v",
                &["quote-engine", "istio-proxy"],
            ),
        ]
        .join("\n");
        let services = [svc("quote-engine", "buyback"), svc("pricing", "buyback")].join("\n");
        let list = |kind: &str, text: &str| {
            output(
                "list",
                serde_json::json!({"kind": kind, "output": "json"}),
                text,
            )
        };
        let subject_log = |text: &str| {
            output(
                "logs",
                serde_json::json!({"namespace": "web", "pod": "scan-bff-9lmfr9wvhv-w6m65", "container": "scan-bff"}),
                text,
            )
        };
        let mut outputs = vec![
            list("pods", &pods),
            list("services", &services),
            subject_log(r#"{"level":50,"msg":"quote request failed: quote-engine responded 502"}"#),
        ];
        let reads = callee_log_reads(&outputs, Some("scan-bff"));
        let read: Vec<(&str, &str)> = reads
            .iter()
            .filter_map(|a| Some((a["pod"].as_str()?, a["container"].as_str()?)))
            .collect();
        assert_eq!(
            read,
            [
                ("quote-engine-vpzz85fw4v-57b25", "quote-engine"),
                ("quote-engine-vpzz85fw4v-57b25", "istio-proxy")
            ]
        );
        // Unreachable is not an answer: nothing to read there.
        outputs[2] =
            subject_log("dial tcp 10.96.1.2:80: connect: connection refused (quote-engine)");
        assert!(callee_log_reads(&outputs, Some("scan-bff")).is_empty());
        // With traces, no reads.
        outputs[2] = subject_log("quote-engine responded 502");
        outputs.push(output(
            "service_dependencies",
            serde_json::json!({}),
            "CALLER    CALLEE        CALLS  RATE  ERRORS  ERR%  P99  UNREACHED  SERVER  NOTE\nscan-bff  quote-engine  10  0.1/s  5  50.0%  3ms  0  -  -",
        ));
        assert_eq!(parse::edges(&outputs[3].outcome.text).len(), 1);
        assert!(callee_log_reads(&outputs, Some("scan-bff")).is_empty());
    }

    /// A store's own reply its client relays, naming no host it called,
    /// names the system whose server to read; one relayed through a named
    /// Service is read through that Service instead.
    #[test]
    fn a_relayed_store_reply_names_its_system() {
        let world = crate::engine::world::World::default();
        let log = |text: &str| output("logs", serde_json::json!({"pod": "publisher-1"}), text);
        let minio = "upload chunk failed: operation error S3: UploadPart, https response error StatusCode: 507, api error XMinioStorageFull: Storage backend has reached its minimum free drive threshold.";
        let systems = relayed_systems(&[log(minio)], &world);
        assert_eq!(systems.into_iter().collect::<Vec<_>>(), ["minio"]);
        // A client's own refusal is not the server's state.
        assert!(
            relayed_systems(
                &[log(
                    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN"
                )],
                &world
            )
            .is_empty()
        );
    }
}
