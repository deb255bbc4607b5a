//! The words that mark a kind of failure in a log line, an event or a span.
//!
//! Each list holds the lower-case fragments real runtimes, drivers and
//! proxies print for one kind of trouble (Go's `dial tcp … connection
//! refused`, Envoy's `no healthy upstream`, HikariCP's `Connection is not
//! available`, the JVM's `OutOfMemoryError`). Readers lower-case a text
//! once and ask [`has`]; fragments are chosen so that they do not fire
//! inside ordinary words (no bare "oom": it is inside "room"). The
//! signatures catalogue (`signatures/`) is the precise counterpart: a
//! signature names its source; a cue only says which family a line is in.

use regex::Regex;

pub(super) const DEP_CUES: &[&str] = &[
    "no such host",
    "nxdomain",
    "name resolution",
    "server misbehaving",
    "connection refused",
    "econnrefused",
    "no route to host",
    "upstream connect error",
    "no healthy upstream",
    "dial tcp",
    "i/o timeout",
    "name or service not known",
];
pub(super) const TLS_CUES: &[&str] = &[
    "x509",
    "certificate has expired",
    "certificate expired",
    "certificate is not yet valid",
    "certificate verify failed",
    "tls handshake",
    "ssl handshake",
];
pub(super) const CRED_CUES: &[&str] = &[
    "invalid credentials",
    "authentication failed",
    "token expired",
    "token has expired",
    "credentials expired",
    "credentials have expired",
    "password authentication failed",
    "401 unauthorized",
    "invalid_client",
    "expired token",
];
pub(super) const POOL_CUES: &[&str] = &[
    "connection pool",
    "pool exhausted",
    "waiting for a connection",
    "waiting for connection",
    "waitqueuetimeout",
    "wait queue",
    "maxpoolsize",
    "too many connections",
    "pool timeout",
    "no available connection",
];
pub(super) const THROTTLE_CUES: &[&str] = &["throttl", "cpu starved", "cpu starvation"];
/// Not a bare "oom": it is inside "room", "zoom", "bloom".
pub(super) const OOM_CUES: &[&str] = &[
    "outofmemory",
    "out of memory",
    "heap space",
    "oomkill",
    "oom-kill",
    "oom_kill",
    "oom killer",
];
pub(super) const CONFIG_CUES: &[&str] = &[
    "environment variable",
    "env var",
    "is not set",
    "missing required",
    "required config",
    "config key",
    "configuration key",
    "missing config",
    "not defined",
];
/// A failure in a line's own words. Beside the words of log levels and
/// exceptions, the verbs of failed decoding and parsing that name no error
/// (Go's `json: cannot unmarshal string into Go struct field`, `unexpected
/// end of JSON input`, Python's `unable to parse`).
pub(super) const ERROR_CUES: &[&str] = &[
    "exception",
    "error",
    "panic",
    "traceback",
    "fatal",
    "failed",
    "nullpointer",
    "undefined",
    "cannot unmarshal",
    "cannot decode",
    "cannot parse",
    "unable to parse",
    "unable to decode",
    "unexpected end of",
];
pub(super) const SLOW_CUES: &[&str] = &[
    "gc pause",
    "slow",
    "took",
    "latency",
    "deadline exceeded",
    "timed out",
    "timeout",
];

pub(super) fn has(text: &str, cues: &[&str]) -> bool {
    cues.iter().any(|c| text.contains(c))
}

/// The host a connection error names (`lookup inventory on …`, `dial tcp
/// inventory:8080`, `https://payments-gateway/…`).
pub(super) fn host_in(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:lookup |dial tcp |https?://|host[=: ]+"?|connect to |connecting to |calling |upstream )([a-z][a-z0-9-]*)"#,
        )
        .ok()
    });
    let re = re.as_ref()?;
    re.captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_lowercase()))
        // Words, not hosts: `eta lookup failed — dial tcp 10.0.0.5:6379`.
        .find(|h| {
            !matches!(
                h.as_str(),
                "localhost"
                    | "tcp"
                    | "udp"
                    | "the"
                    | "a"
                    | "failed"
                    | "failure"
                    | "error"
                    | "timeout"
                    | "timed"
            )
        })
}
