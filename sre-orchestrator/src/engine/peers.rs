//! Who an error is about.
//!
//! A failed call is logged by the caller and names the callee, in as many
//! ways as there are clients: a URL (`Post "https://billing.pay.svc/…"`), a
//! host argument (`HTTPSConnectionPool(host='billing', port=443)`,
//! `servers=[{address=db-0.db.data.svc:27017`), an address (`dial tcp
//! 10.96.3.4:8080`), the words of the message (`call to billing failed`).
//! This module finds the peer in a line, learns which address is which name
//! from the whole pack, and resolves a peer to the component it stands for.

use std::collections::BTreeMap;

use super::collect::EvidencePack;
use super::rules::same_component;
use super::world::World;

/// `backend-service:80 (172.20.118.31:80)`, `db.prod/10.0.0.5:5432`: a
/// name with its address, as busybox wget and the JVM print them. The port
/// (or the JVM's slash) is required: `remote host (10.0.0.7)` names no one.
pub(super) fn named_address(line: &str) -> Option<(String, String)> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*)(?::\d+\s*\(\s*|/)(\d{1,3}(?:\.\d{1,3}){3})\b",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    Some((c[1].to_lowercase(), c[2].to_string()))
}

/// The host of the first URL in a line that is not an XML namespace.
pub(super) fn url_host(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?([a-z0-9][a-z0-9.-]*[a-z0-9])")
            .ok()
    });
    // Not an XML namespace in Clark notation (`{http://rating.partner.example/}
    // PartnerRatingService`, as Apache CXF and JAX-WS name a service and its
    // operation): a namespace is a name, not where the call went.
    // Nor a help link (`Visit https://aka.ms/NewClientSecret`, pydantic's
    // `For further information visit https://errors.pydantic.dev/…`): where
    // to read about the error, not where the call went.
    re.as_ref()?
        .captures_iter(line)
        .find(|c| {
            c.get(0).is_some_and(|m| {
                let before = line[..m.start()].to_lowercase();
                // The last 32 characters (not bytes: a dash or an
                // ellipsis before the link is several).
                let cut = before.char_indices().rev().nth(31).map_or(0, |(i, _)| i);
                let recent = &before[cut..];
                let path = &line[m.end()..];
                !before.ends_with('{')
                    && !HELP_WORDS.iter().any(|w| recent.contains(w))
                    && !help_host(&c[1].to_lowercase())
                    && !["/docs/", "/docs#", "/errors/"]
                        .iter()
                        .any(|p| path.to_lowercase().starts_with(p))
            })
        })
        .map(|c| c[1].to_lowercase())
}

/// Words that introduce a help link.
const HELP_WORDS: &[&str] = &[
    "visit ",
    "refer to ",
    "learn more",
    "more information",
    "more info",
];

/// Hosts that serve documentation, not calls: link shorteners and docs
/// sites that error messages point to.
fn help_host(host: &str) -> bool {
    const HOSTS: &[&str] = &[
        "aka.ms",
        "go.microsoft.com",
        "learn.microsoft.com",
        "docs.microsoft.com",
        "errors.pydantic.dev",
        "developer.mozilla.org",
    ];
    HOSTS.contains(&host) || (host.starts_with("docs.") && !host.contains(".svc"))
}

/// The peer a line says it is about to call (`Connecting to backend:80`,
/// `Trying inventory...`, `calling http://pricing/quote`).
pub(super) fn connecting_to(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(?:connecting to|trying to connect to|connect to|calling|dialing|requesting|trying)\s+(?:https?://)?([a-z0-9][a-z0-9.-]*[a-z0-9])",
        )
        .ok()
    });
    let c = re.as_ref()?.captures(line)?;
    let host = c[1].to_lowercase();
    (!matches!(
        host.as_str(),
        "the" | "a" | "an" | "it" | "again" | "localhost"
    ))
    .then_some(host)
}
/// Kinds whose failure sits on the far side of a call: a TLS error is about
/// the server's certificate, a 401 about the credentials it refused.
pub(super) const PEER_SIDE: &[&str] = &[
    "certificate_expired",
    "credentials_expired",
    "dependency_unreachable",
    "rate_limited",
    "authorization_denied",
];

/// The peer a failure line implies when its signature captured none: the
/// host of the URL it was calling, for kinds that sit on the far side.
pub fn implied_peer(kind: &str, line: &str) -> Option<String> {
    if PEER_SIDE.contains(&kind) {
        url_host(line).or_else(|| called_host(line))
    } else {
        None
    }
}

/// The peer a line names, by URL, by the words of a failed call, or by the
/// address it dialled (Go's `dial tcp 10.96.175.57:8080`, Node's `connect
/// ECONNREFUSED 10.96.175.57:80`, Unbound's `tcp connect: Connection
/// refused for 10.96.53.53 port 53`).
pub fn named_peer(line: &str) -> Option<String> {
    static DIAL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let dial = DIAL.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(?:dial tcp|connect to|connecting to|connect E[A-Z]+|(?:connection refused|connection timed out|no route to host) for)\s+(\d{1,3}(?:\.\d{1,3}){3})",
        )
        .ok()
    });
    url_host(line)
        .or_else(|| called_host(line))
        .or_else(|| dial.as_ref()?.captures(line).map(|c| c[1].to_string()))
}

/// The host a failed call names without a URL: urllib3's
/// `HTTPSConnectionPool(host='billing.svc', port=443)`, the `host: 'x'`
/// of Node's error objects, the MongoDB Java driver's `servers=[{address=db-0.db.data.svc:27017`, or the words of the message (`call to billing
/// failed`, `request to billing timed out`, `error calling billing`,
/// `upstream billing failed`).
fn called_host(line: &str) -> Option<String> {
    named_in(line, false)
}

/// The callee a failed call says answered it with an error: `quote-engine
/// responded 502`, a gateway's `{"upstream":"warranty-checker"}` body. Not
/// one that could not be reached: its own log cannot say why.
pub fn answering_peer(line: &str) -> Option<String> {
    named_in(line, true)
}

/// [`called_host`], or with `answered` only the forms that say the callee
/// answered ([`answering_peer`]).
fn named_in(line: &str, answered: bool) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)(?:\b(?:host|address)\s*[=:]\s*['"]?|\b(?:call|request|requests|connection)\s+to\s+|\berror\s+calling\s+)([a-z0-9][a-z0-9.-]*[a-z0-9])"#,
        )
        .ok()
    });
    static UPSTREAM: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let upstream = UPSTREAM.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\bupstream\s+([a-z0-9][a-z0-9.-]*[a-z0-9])\s+(?:failed|returned|responded|timed\s+out|is\s+unavailable)",
        )
        .ok()
    });
    // A gateway's JSON error body names the upstream it gave up on:
    // `{"error":"warranty check failed","upstream":"warranty-checker"}`,
    // quoted or escaped inside another JSON line.
    static UPSTREAM_KEY: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let upstream_key = UPSTREAM_KEY.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)\\?"upstream(?:_service|_host)?\\?"\s*:\s*\\?"([a-z0-9][a-z0-9.-]*[a-z0-9])\\?""#,
        )
        .ok()
    });
    static RETURNED: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let returned = RETURNED.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b([a-z][a-z0-9.-]*[a-z0-9])\s+(?:returned|responded(?:\s+with)?)\s+(?:http\s+|status\s+)?[45]\d\d\b",
        )
        .ok()
    });
    // The first name that is a name: in `upstream call failed — zone-api
    // returned 504` the gateway's words say "call", the next clause who.
    let forms: &[&Option<regex::Regex>] = if answered {
        &[upstream_key, returned]
    } else {
        &[re, upstream, upstream_key, returned]
    };
    forms
        .iter()
        .filter_map(|r| r.as_ref())
        .flat_map(|r| r.captures_iter(line))
        .map(|c| c[1].to_lowercase())
        .find(|host| {
            !matches!(
                host.as_str(),
                "the"
                    | "a"
                    | "an"
                    | "it"
                    | "upstream"
                    | "server"
                    | "localhost"
                    | "connect"
                    | "request"
                    | "requests"
                    | "call"
                    | "calls"
                    | "connection"
                    | "dependency"
                    | "backend"
                    | "service"
                    | "response"
                    | "host"
                    | "origin"
                    | "peer"
                    | "remote"
            )
        })
}

/// Addresses named with their host anywhere in the pack's logs: `Post
/// "http://inventory.shop.svc/reserve": dial tcp 10.96.87.14:80` says that
/// 10.96.87.14 is inventory, which serves for lines that give only the
/// address.
pub fn address_book(pack: &EvidencePack) -> BTreeMap<String, String> {
    static DIAL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let dial = DIAL.get_or_init(|| {
        regex::Regex::new(
            r"(?i)(?:dial tcp|connect to|connecting to|->)\s*(\d{1,3}(?:\.\d{1,3}){3})",
        )
        .ok()
    });
    let mut book = BTreeMap::new();
    let texts = pack
        .of("logs")
        .chain(pack.of("log_patterns"))
        .chain(pack.of("search_logs"));
    for o in texts {
        for line in o.outcome.text.lines() {
            if let Some((name, ip)) = named_address(line) {
                book.entry(ip).or_insert(name);
            }
            if let (Some(host), Some(c)) =
                (url_host(line), dial.as_ref().and_then(|d| d.captures(line)))
            {
                book.entry(c[1].to_string()).or_insert(host);
            }
        }
    }
    book
}

/// The component a peer named in an error stands for: a Service or pod of
/// the cluster, a service the telemetry knows, a cluster-local DNS name's
/// first label (`billing.payments.svc` → `billing`), or the host itself for
/// an external one; `None` for an address nothing resolves.
pub fn peer_component(peer: &str, world: &World, known: &[String]) -> Option<String> {
    if let Some((svc, workloads)) = world.resolve(peer) {
        return svc
            .map(|s| s.name.clone())
            .or_else(|| workloads.first().cloned());
    }
    // A service account none of the pods read runs as: its name, which is
    // usually its workload's.
    if let Some(account) = peer
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, account)| account)
    {
        return Some(
            known
                .iter()
                .find(|k| same_component(k, account))
                .cloned()
                .unwrap_or_else(|| account.to_string()),
        );
    }
    let host = peer
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split([':', '/'])
        .next()
        .unwrap_or(peer)
        .to_lowercase();
    if host.is_empty() || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let label = host.split('.').next().unwrap_or(&host).to_string();
    if let Some(k) = known.iter().find(|k| same_component(k, &label)) {
        return Some(k.clone());
    }
    let cluster_local = !host.contains('.') || host.contains(".svc");
    Some(if cluster_local { label } else { host })
}

#[cfg(test)]
mod peer_tests {
    use super::*;

    #[test]
    fn a_dialled_address_is_the_peer() {
        for (line, want) in [
            (
                "dial tcp 10.96.14.22:5432: connect: connection refused",
                "10.96.14.22",
            ),
            (
                "Error: connect ECONNREFUSED 172.20.103.68:80",
                "172.20.103.68",
            ),
            ("connect ETIMEDOUT 10.0.3.7:6379", "10.0.3.7"),
            (
                "[1762121701] unbound[1:1] error: tcp connect: Connection refused for 10.96.53.53 port 53 (len 16)",
                "10.96.53.53",
            ),
            // A gateway's JSON error body, escaped inside the caller's JSON log line.
            (
                r#"{"stack_trace":"HttpServerErrorException$BadGateway: 502 Bad Gateway: \"{\"error\":\"warranty check failed\",\"upstream\":\"warranty-checker\"}\""}"#,
                "warranty-checker",
            ),
            (
                r#"{"error": "timeout", "upstream": "rates.pricing.svc"}"#,
                "rates.pricing.svc",
            ),
        ] {
            assert_eq!(named_peer(line).as_deref(), Some(want), "{line}");
        }
        assert_eq!(named_peer("connection refused"), None);
    }

    #[test]
    fn a_help_link_is_no_peer() {
        let aad = r#"oauth2: "invalid_client" "AADSTS7000222: The provided client secret keys for app '3f1c' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds." "https://login.microsoftonline.com/error?code=7000222""#;
        assert_eq!(
            super::url_host(aad).as_deref(),
            Some("login.microsoftonline.com")
        );
        let pydantic = "1 validation error for Quote\nprice\n  Input should be a valid number [type=float_parsing] For further information visit https://errors.pydantic.dev/2.5/v/float_parsing";
        assert_eq!(super::url_host(pydantic), None);
        assert_eq!(
            super::url_host("GET http://pricing.shop.svc/quote failed: see logs").as_deref(),
            Some("pricing.shop.svc")
        );
        // Characters of several bytes right before the link: no panic.
        let dashes = format!("fetch failed {} http://ledger:8080/x", "— …".repeat(12));
        assert_eq!(super::url_host(&dashes).as_deref(), Some("ledger"));
    }

    #[test]
    fn an_xml_namespace_is_no_peer() {
        let cxf = "Interceptor for {http://rating.partner.example/}PartnerRatingService#{http://rating.partner.example/}rate has thrown exception, unwinding now";
        assert_eq!(super::url_host(cxf), None);
        assert_eq!(
            super::url_host(&format!(
                "{cxf}: Could not send Message to https://soap-gateway.integration.svc:8443/rate"
            )),
            Some("soap-gateway.integration.svc".to_string())
        );
    }

    #[test]
    fn a_failed_call_names_its_peer_without_a_url() {
        let line = "call to collector-api failed — requests.exceptions.SSLError: HTTPSConnectionPool(host='collector-api.ingest.svc', port=443): Max retries exceeded";
        assert_eq!(
            implied_peer("certificate_expired", line).as_deref(),
            Some("collector-api")
        );
        let line = "requests.exceptions.SSLError: HTTPSConnectionPool(host='collector-api.ingest.svc', port=443)";
        assert_eq!(
            implied_peer("certificate_expired", line).as_deref(),
            Some("collector-api.ingest.svc")
        );
        let line = "call to email-sender failed — AxiosError: Request failed with status code 403";
        assert_eq!(
            implied_peer("authorization_denied", line).as_deref(),
            Some("email-sender")
        );
        // A gateway's words for its upstream, but not Envoy's own.
        let line = r#"upstream collector-api failed — HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable"#;
        assert_eq!(
            implied_peer("dependency_unreachable", line).as_deref(),
            Some("collector-api")
        );
        let line = "upstream call failed — zone-api returned 504 Gateway Timeout";
        assert_eq!(called_host(line).as_deref(), Some("zone-api"));
        let line = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
        assert_eq!(implied_peer("dependency_unreachable", line), None);
        // Only for failures that sit on the far side.
        assert_eq!(implied_peer("oom_killed", line), None);
        let world = World::default();
        assert_eq!(
            peer_component("collector-api.ingest.svc:443", &world, &[]).as_deref(),
            Some("collector-api")
        );
        assert_eq!(
            peer_component("api.surescripts.net", &world, &[]).as_deref(),
            Some("api.surescripts.net")
        );
        assert_eq!(peer_component("10.96.3.4:80", &world, &[]), None);
    }
}
