//! The signature catalogue: what a line of evidence says went wrong.
//!
//! An on-call engineer who has seen a few hundred incidents reads
//! `HikariPool-1 - Connection is not available, request timed out after
//! 30000ms` and knows, before reading anything else, that the service ran out
//! of database connections. This module is that reflex, written down: a
//! catalogue of *signatures*, each a regular expression over one piece of
//! evidence text (a log line, an exception, a span status, a Kubernetes event,
//! a container's termination reason or message) that names a failure kind
//! from the engine's vocabulary ([`KINDS`]).
//!
//! # Why data, not code
//!
//! The texts that betray a failure are endless and specific to each library
//! and server; the logic that uses them is small and general. Keeping the
//! texts as data means that:
//!
//! * every signature carries the real-world `example` it was written from and
//!   the `source` that prints it, and a test checks that each pattern matches
//!   its own example and that no stronger signature of another kind steals
//!   it: the catalogue is self-checking;
//! * adding a signature is a reviewable three-line change that needs no
//!   knowledge of the engine;
//! * users add their own (their in-house libraries, their error codes)
//!   without a rebuild: [`Catalogue::load`] reads a file in the same format and
//!   [`Catalogue::extended`] puts it in front of the built-in catalogue. The
//!   engine takes the path from its configuration
//!   (`[engine] signatures = "path.toml"`).
//!
//! The built-in catalogue lives in `sre-orchestrator/signatures/*.toml`, one
//! file per stack, compiled into the binary.
//!
//! # The format
//!
//! A TOML file holding an array of `[[signature]]` tables:
//!
//! ```toml
//! [[signature]]
//! id = "hikari-pool-timeout"               # unique; a user file may reuse a built-in id to replace it
//! kind = "connection_pool_exhausted"       # one of KINDS
//! strength = 5                             # 1..=5, see below
//! stack = "java/hikaricp"                  # where the text comes from (free text)
//! fields = ["log", "exception"]            # optional; the evidence it reads
//! culprit = "emitter"                      # optional; "emitter" (default), "peer", "own" or "server"
//! pattern = 'HikariPool-\d+ - Connection is not available, request timed out after \d+ms'
//! example = "HikariPool-1 - Connection is not available, request timed out after 30000ms."
//! source = "HikariCP HikariPool.java createTimeoutException"
//! # case_sensitive = true                  # optional; patterns are case-insensitive by default
//! ```
//!
//! * `fields` lists the evidence a signature reads (see [`Field`]): `log`,
//!   `exception`, `span_status`, `event_reason`, `event_message`,
//!   `container_reason`, `termination_message`. The default is `["log",
//!   "exception", "span_status", "termination_message"]`: free text written
//!   by the software itself.
//! * `culprit` says whom the text blames: the component that wrote it
//!   (`emitter`: it ran out of memory, its configuration is missing) or the
//!   remote it names (`peer`: connection refused *by* `10.96.12.7`). A peer
//!   signature's pattern must have a named group `peer` capturing the host,
//!   service name or IP; the matcher returns it with the port, scheme and
//!   path stripped. `own` keeps a kind that is usually the far side's on
//!   the writer (`remote error: tls: expired certificate` is the peer
//!   refusing the writer's own client certificate).
//! * `pattern` is a [`regex`] pattern, unanchored, case-insensitive unless
//!   `case_sensitive = true`. Use single-quoted TOML strings so that
//!   backslashes need no escaping. Patterns are compiled with Unicode mode
//!   off (`(?i-u)` is prepended, `(?-u)` for a case-sensitive one): `\w`,
//!   `\d`, `\s` and case-insensitivity
//!   are ASCII, which is what log texts need and keeps compiling a few
//!   hundred patterns cheap; a literal non-ASCII character still matches,
//!   and `(?u:...)` turns Unicode back on for a group.
//! * `example` must be matched by `pattern`: loading fails otherwise.
//!
//! Loading reports the file and line of the first problem: TOML syntax, an
//! unknown field or kind, a pattern that does not compile, a strength out of
//! range, an example its pattern does not match, a duplicate id, a peer
//! signature without a `peer` group.
//!
//! # Strengths
//!
//! How sure the text alone makes us of its kind:
//!
//! * **5** names the cause unambiguously: `OOMKilled`, `No space left on
//!   device`, `exceeded quota`, `x509: certificate has expired`.
//! * **4** is specific: a refused connection to a named host, a Kafka
//!   consumer kicked out of its group.
//! * **3** is a strong hint: a gRPC `Unavailable`, a `BackOff` event, a
//!   connect timeout.
//! * **2** is weak or ambiguous: a read timeout (slow peer? network policy?
//!   dead peer?), a Python traceback, a `502 Bad Gateway`.
//! * **1** is a generic error that only says *something* is wrong.
//!
//! [`Catalogue::matches`] returns every hit strongest first; among equal
//! strengths a user's signature comes before a built-in one and then the
//! longer (more specific) match first. One text often has several readings
//! (a connect timeout is `dependency_unreachable` at 3 and
//! `network_policy_blocked` at 2): all are returned, for the engine to weigh
//! against its other evidence.
//!
//! # Adding a signature
//!
//! Start from the text: find where the library or server prints it (its
//! source, or its documentation), copy a real instance with realistic values
//! into `example`, name the place in `source`, then write the narrowest
//! pattern that still matches every variant of the message. `cargo test -p
//! sre-orchestrator --lib signatures` checks that it loads, matches its
//! example, and is not outranked there by a signature of another kind.
//!
//! # Why a `RegexSet`, and over what
//!
//! The engine reads a few hundred texts per investigation against a few
//! hundred signatures, and the whole investigation has a budget of a few
//! hundred milliseconds. Trying each regex in turn scans every text hundreds
//! of times. A [`regex::RegexSet`] over the full patterns scans it once, but
//! with a few hundred patterns (some with `.*` in the middle) its lazy DFA
//! keeps meeting new states and runs close to NFA speed: it was measured
//! slower than the regexes one by one.
//!
//! What every pattern does have is a literal that any match must contain
//! (`connection is not available` in the Hikari pattern above). The loader
//! extracts the longest such literal of each top-level alternative (see
//! `required_literals`) and builds one `RegexSet` over those literals: a
//! set of plain strings compiles to a small automaton that scans a text
//! once, fast. Only the signatures whose literal is present (and the few
//! patterns without a usable literal) are then run on their own, which also
//! captures the matched text and the peer. Each signature's own regex is
//! compiled on first use, so loading the built-in catalogue costs one small
//! set; a user's file is compiled in full at load, to report its errors.
//!
//! Patterns are compiled with Unicode mode off for the same reason: Unicode
//! classes (`\w` is some 140,000 code points) make automata several times
//! larger and slower to build. Texts longer than 4 KiB are cut before
//! matching: the words that name a failure are at the start of a message,
//! and a 2 MB stack trace must not cost 2 MB of scanning.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexSet};
use serde::Deserialize;

mod load;
mod prefilter;

use load::{parse_builtin, parse_file};
use prefilter::{Prefilter, SET_SIZE_LIMIT, required_literals};

/// Every kind a signature may name (the engine's vocabulary).
pub const KINDS: &[&str] = &[
    "oom_killed",
    "hpa_maxed",
    "noisy_neighbor",
    "cpu_throttling",
    "bad_deploy",
    "missing_config",
    "crash_loop",
    "new_error",
    "latency_regression",
    "error_surge",
    "missing_index",
    "connection_pool_exhausted",
    "dependency_unreachable",
    "certificate_expired",
    "credentials_expired",
    "node_failure",
    "image_pull_error",
    "unschedulable",
    "evicted",
    "probe_failing",
    "job_failed",
    "pvc_unbound",
    "volume_full",
    "quota_exceeded",
    "network_policy_blocked",
    "replication_lag",
    "lock_contention",
    "init_container_stuck",
    "hpa_misconfigured",
    "consumer_lag",
    "rate_limited",
    "authorization_denied",
];

/// The built-in catalogue's files, in order: (origin, text).
const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "signatures/kubernetes.toml",
        include_str!("../../../signatures/kubernetes.toml"),
    ),
    (
        "signatures/jvm.toml",
        include_str!("../../../signatures/jvm.toml"),
    ),
    (
        "signatures/go.toml",
        include_str!("../../../signatures/go.toml"),
    ),
    (
        "signatures/node.toml",
        include_str!("../../../signatures/node.toml"),
    ),
    (
        "signatures/python.toml",
        include_str!("../../../signatures/python.toml"),
    ),
    (
        "signatures/dotnet.toml",
        include_str!("../../../signatures/dotnet.toml"),
    ),
    (
        "signatures/databases.toml",
        include_str!("../../../signatures/databases.toml"),
    ),
    (
        "signatures/messaging.toml",
        include_str!("../../../signatures/messaging.toml"),
    ),
    (
        "signatures/proxies.toml",
        include_str!("../../../signatures/proxies.toml"),
    ),
    (
        "signatures/generic.toml",
        include_str!("../../../signatures/generic.toml"),
    ),
];

/// Texts longer than this (bytes) are cut before matching.
const MAX_TEXT: usize = 4096;
/// A hit's `matched` text is cut to this many characters.
const MAX_MATCHED: usize = 200;

/// Which piece of evidence a signature reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Any log line or log template: an OpenTelemetry log body, a container
    /// log line (`kubectl logs`, current and `--previous`), a structured
    /// `msg` or `error` field.
    Log,
    /// An exception as `Type: message` (OpenTelemetry `exception.type` and
    /// `exception.message`).
    Exception,
    /// A span's status message.
    SpanStatus,
    /// A Kubernetes event's reason (`FailedScheduling`, `BackOff`).
    EventReason,
    /// A Kubernetes event's message.
    EventMessage,
    /// A container's waiting or terminated reason (`OOMKilled`,
    /// `CrashLoopBackOff`, `ImagePullBackOff`).
    ContainerReason,
    /// A container's termination message.
    TerminationMessage,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 7] = [
        Field::Log,
        Field::Exception,
        Field::SpanStatus,
        Field::EventReason,
        Field::EventMessage,
        Field::ContainerReason,
        Field::TerminationMessage,
    ];

    /// The fields a signature reads when its `fields` is not given.
    pub const DEFAULT: [Field; 4] = [
        Field::Log,
        Field::Exception,
        Field::SpanStatus,
        Field::TerminationMessage,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Who the matched text blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Culprit {
    /// The component that wrote the text is the cause (it ran out of memory,
    /// its configuration is missing).
    #[default]
    Emitter,
    /// The remote named in the text (the pattern's `peer` group) is the
    /// cause: it refused the connection, does not resolve, timed out.
    Peer,
    /// The component that wrote the text, even for a kind that is usually
    /// the far side's: Go's `remote error: tls: expired certificate` is
    /// the alert the *peer* sent about the certificate *this* side
    /// presented (its client certificate), so no peer is inferred from the
    /// line.
    Own,
    /// The server whose own state the text is, whoever logs it: `Vault is
    /// sealed` is what Vault answers every client, and no client setting
    /// makes it. The stack names the system (`vault/server`); the one
    /// store of that system in view is blamed, else the emitter.
    Server,
}

/// One entry of the catalogue: a pattern over one piece of evidence that
/// names a failure kind.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Unique id, e.g. `hikari-pool-timeout`.
    pub id: String,
    /// The failure kind it names (one of [`KINDS`]).
    pub kind: String,
    /// How unambiguously the text names the kind, 1 (generic) to 5 (certain).
    pub strength: u8,
    /// The evidence it reads.
    pub fields: Vec<Field>,
    /// Whom the text blames.
    pub culprit: Culprit,
    /// Where the text comes from, e.g. `java/hikaricp`.
    pub stack: String,
    /// A real-world text the pattern was written from (it matches it).
    pub example: String,
    /// The software (and file or document) that prints the example.
    pub source: String,
    pattern: String,
    /// The pattern with its inline flags, as compiled.
    full: String,
    /// The compiled pattern: at load for a user's file (to check it), on
    /// first use for the built-in catalogue (its test checks them all).
    regex: OnceLock<Option<Regex>>,
    /// What a text must contain for the pattern to match (see
    /// [`required_literals`]).
    literals: Option<Vec<String>>,
    field_mask: u8,
    origin: String,
    line: usize,
    /// Lower wins ties: a user's signatures come before the built-in ones.
    tier: u32,
}

impl Signature {
    /// The system whose own words the text is, when a server's: a stack of
    /// `system/server` or `system/broker` (`redis/server`, `kafka/broker`),
    /// or the bare product (`elasticsearch`, `rabbitmq`, `minio`). `None`
    /// for a client library's account (`mongodb/node-driver`). Bare generic
    /// stacks (`http`, `aws`) come back too: no Service serves them, so
    /// looking for their store finds none.
    pub fn server_system(&self) -> Option<&str> {
        match self.stack.split_once('/') {
            None => Some(self.stack.as_str()),
            Some((system, "server" | "broker")) => Some(system),
            Some(_) => None,
        }
    }

    /// Whether the text is a state of the server that no client setting
    /// makes, whoever logs it: its disk full (Elasticsearch's flood stage,
    /// RabbitMQ's disk alarm, MinIO's `XMinioStorageFull`), its memory spent
    /// (Redis' `maxmemory`, RabbitMQ's memory alarm), its replicas short or
    /// behind (Kafka's `NOT_ENOUGH_REPLICAS`), or so by its signature
    /// (`culprit = "server"`: `Vault is sealed`). A refused login or an
    /// unknown queue is not: the client's setting may be what changed.
    pub fn server_state(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "volume_full" | "replication_lag" | "oom_killed"
        ) || self.culprit == Culprit::Server
    }

    /// The system whose server a client relaying this text speaks for,
    /// when no client setting can have made it: a pooler's refusal
    /// (PgBouncer's `query_wait_timeout`: the pooler's pool ran out) or a
    /// server's own state ([`Self::server_state`]). A database's other
    /// replies (a refused password, too many clients) stay the client's:
    /// its configuration usually is what changed.
    pub fn relayed_system(&self) -> Option<&str> {
        const POOLERS: &[&str] = &["pgbouncer"];
        self.server_system()
            .filter(|s| POOLERS.contains(s) || self.server_state())
    }

    /// The pattern as written in the file (without the `(?i)` added for
    /// case-insensitive matching).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The compiled pattern (`None` only if it does not compile, which
    /// loading rules out).
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| Regex::new(&self.full).ok())
            .as_ref()
    }

    /// Whether the signature reads `field`.
    pub fn applies_to(&self, field: Field) -> bool {
        self.field_mask & field.bit() != 0
    }

    /// The file the signature was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The line of its `id` in that file.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// A signature that matched a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The signature.
    pub signature: &'a Signature,
    /// The remote the text blames (the `peer` group of a
    /// [`Culprit::Peer`] signature, without port, scheme or path), if any.
    pub peer: Option<String>,
    /// The matched text, cut to 200 characters.
    pub matched: String,
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.tier == other.tier && self.origin == other.origin
    }
}

impl Eq for Signature {}

/// Why a signature file could not be loaded. Every message names the file
/// and, where there is one, the line and the signature's id.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The file could not be read.
    #[error("{origin}: cannot read signatures: {source}")]
    Read {
        /// The file.
        origin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or not in the signature format (unknown
    /// or missing field, wrong type, unknown `fields` or `culprit` value).
    #[error("{origin} line {line}: {message}")]
    Syntax {
        /// The file.
        origin: String,
        /// The line (1-based; 0 if unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern does not compile.
    #[error("{origin} line {line} (id = {id:?}): pattern does not compile: {message}")]
    Pattern {
        /// The file.
        origin: String,
        /// The line of the pattern.
        line: usize,
        /// The signature's id.
        id: String,
        /// The regex compiler's message.
        message: String,
    },
    /// The kind is not one of [`KINDS`].
    #[error("{origin} line {line} (id = {id:?}): unknown kind {kind:?} (known kinds: {known})", known = KINDS.join(", "))]
    UnknownKind {
        /// The file.
        origin: String,
        /// The line of the kind.
        line: usize,
        /// The signature's id.
        id: String,
        /// The unknown kind.
        kind: String,
    },
    /// The strength is not in 1..=5.
    #[error("{origin} line {line} (id = {id:?}): strength {strength} is out of range 1..=5")]
    Strength {
        /// The file.
        origin: String,
        /// The line of the strength.
        line: usize,
        /// The signature's id.
        id: String,
        /// The strength given.
        strength: i64,
    },
    /// The example does not match the signature's own pattern.
    #[error(
        "{origin} line {line} (id = {id:?}): the example does not match the pattern: {example:?}"
    )]
    ExampleMismatch {
        /// The file.
        origin: String,
        /// The line of the example.
        line: usize,
        /// The signature's id.
        id: String,
        /// The example.
        example: String,
    },
    /// Two signatures have the same id.
    #[error(
        "{origin} line {line} (id = {id:?}): duplicate id (first defined in {first_origin} line {first_line})"
    )]
    DuplicateId {
        /// The file of the second one.
        origin: String,
        /// The line of the second one's id.
        line: usize,
        /// The id.
        id: String,
        /// The file of the first one.
        first_origin: String,
        /// The line of the first one's id.
        first_line: usize,
    },
    /// A `culprit = "peer"` signature whose pattern has no `peer` group.
    #[error(
        "{origin} line {line} (id = {id:?}): culprit = \"peer\" but the pattern has no (?P<peer>...) group"
    )]
    MissingPeerGroup {
        /// The file.
        origin: String,
        /// The line of the pattern.
        line: usize,
        /// The signature's id.
        id: String,
    },
    /// A signature has an empty `fields` list.
    #[error("{origin} line {line} (id = {id:?}): `fields` is empty")]
    NoFields {
        /// The file.
        origin: String,
        /// The line of `fields`.
        line: usize,
        /// The signature's id.
        id: String,
    },
    /// The patterns together are too large to compile into one set.
    #[error("{origin}: the signature set does not compile: {message}")]
    Set {
        /// The file(s).
        origin: String,
        /// The regex compiler's message.
        message: String,
    },
}

/// A set of signatures, matched together.
#[derive(Debug, Clone)]
pub struct Catalogue {
    signatures: Vec<Signature>,
    /// One pattern per required literal of every signature that has them.
    prefilter: RegexSet,
    /// The signature of each prefilter pattern.
    prefilter_owner: Vec<usize>,
    /// Signatures without required literals: tried on every text.
    always: Vec<usize>,
    /// The fields at least one signature reads.
    field_mask: u8,
}

/// The catalogue installed at start-up, if any (see [`Catalogue::active`]).
static ACTIVE: OnceLock<Catalogue> = OnceLock::new();

impl Catalogue {
    /// The built-in catalogue (`sre-orchestrator/signatures/*.toml`), parsed
    /// once.
    ///
    /// # Panics
    ///
    /// If the compiled-in files do not load; a unit test guarantees they do.
    pub fn builtin() -> &'static Catalogue {
        static BUILTIN: OnceLock<Catalogue> = OnceLock::new();
        BUILTIN.get_or_init(|| match parse_builtin(false) {
            Ok(c) => c,
            Err(e) => panic!("the built-in signature catalogue does not load: {e}"),
        })
    }

    /// The catalogue investigations use: the built-in one, or what
    /// [`Catalogue::install`] set at start-up (the user's files in front).
    pub fn active() -> &'static Catalogue {
        ACTIVE.get().unwrap_or_else(|| Catalogue::builtin())
    }

    /// Makes `catalogue` the one every later investigation of this process
    /// reads (the binary calls it once, after loading `--signatures` files).
    /// False when one was installed already (the first stays).
    pub fn install(catalogue: Catalogue) -> bool {
        ACTIVE.set(catalogue).is_ok()
    }

    /// Parses a catalogue from TOML text; `origin` names it in errors (a
    /// file name).
    pub fn from_toml(text: &str, origin: &str) -> Result<Catalogue, SignatureError> {
        let signatures = parse_file(text, origin, true)?;
        Catalogue::build(signatures, origin)
    }

    /// Loads a user's signature file.
    pub fn load(path: &Path) -> Result<Catalogue, SignatureError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SignatureError::Read {
            origin: origin.clone(),
            source,
        })?;
        Catalogue::from_toml(&text, &origin)
    }

    /// This catalogue with `user`'s signatures in front: they win ties with
    /// built-in ones of the same strength, and a user signature whose id is
    /// already here replaces the existing one.
    pub fn extended(&self, user: Catalogue) -> Catalogue {
        let offset = user.signatures.iter().map(|s| s.tier).max().unwrap_or(0) + 1;
        let mut signatures = user.signatures;
        for s in &self.signatures {
            if signatures.iter().any(|u| u.id == s.id) {
                continue;
            }
            let mut s = s.clone();
            s.tier += offset;
            signatures.push(s);
        }
        // Both parts compiled on their own, so only the size limit can fail
        // the union: lift it rather than drop the user's file.
        match Prefilter::of(&signatures, SET_SIZE_LIMIT)
            .or_else(|_| Prefilter::of(&signatures, usize::MAX))
        {
            Ok(prefilter) => Catalogue::assemble(signatures, prefilter),
            Err(_) => self.clone(),
        }
    }

    /// The number of signatures.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// The signatures, in catalogue order (a user's first).
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The signature with this id.
    pub fn get(&self, id: &str) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.id == id)
    }

    /// Every signature that matches `text` read as `field`, strongest first
    /// (then a user's before built-in ones, then the longer match first).
    pub fn matches<'a>(&'a self, field: Field, text: &str) -> Vec<Hit<'a>> {
        if self.field_mask & field.bit() == 0 || text.is_empty() {
            return Vec::new();
        }
        let text = unescaped(truncate_bytes(text, MAX_TEXT));
        let text = text.as_ref();
        let mut candidate = vec![false; self.signatures.len()];
        // The literals are lowercase: so is the text they are looked for in.
        let lower = text.to_ascii_lowercase();
        for i in self.prefilter.matches(lower.as_bytes()).iter() {
            candidate[self.prefilter_owner[i]] = true;
        }
        for &i in &self.always {
            candidate[i] = true;
        }
        let mut hits: Vec<(usize, usize, Hit<'a>)> = Vec::new();
        for (i, signature) in self.signatures.iter().enumerate() {
            if !candidate[i] || !signature.applies_to(field) {
                continue;
            }
            let Some(regex) = signature.regex() else {
                continue;
            };
            let Some(caps) = regex.captures(text.as_bytes()) else {
                continue;
            };
            let Some(whole) = caps.get(0) else { continue };
            let peer = match signature.culprit {
                Culprit::Peer => caps
                    .name("peer")
                    .and_then(|m| normalize_peer(&String::from_utf8_lossy(m.as_bytes()))),
                Culprit::Emitter | Culprit::Own | Culprit::Server => None,
            };
            let whole = String::from_utf8_lossy(whole.as_bytes());
            let len = whole.chars().count();
            hits.push((
                i,
                len,
                Hit {
                    signature,
                    peer,
                    matched: truncate_chars(&whole, MAX_MATCHED).to_string(),
                },
            ));
        }
        hits.sort_by(|(ia, la, a), (ib, lb, b)| {
            b.signature
                .strength
                .cmp(&a.signature.strength)
                .then(a.signature.tier.cmp(&b.signature.tier))
                .then(lb.cmp(la))
                .then(ia.cmp(ib))
        });
        hits.into_iter().map(|(_, _, h)| h).collect()
    }

    /// The strongest hit, if any.
    pub fn best<'a>(&'a self, field: Field, text: &str) -> Option<Hit<'a>> {
        self.matches(field, text).into_iter().next()
    }

    fn build(signatures: Vec<Signature>, origin: &str) -> Result<Catalogue, SignatureError> {
        let mut first: HashMap<&str, &Signature> = HashMap::new();
        for s in &signatures {
            if let Some(f) = first.get(s.id.as_str()) {
                return Err(SignatureError::DuplicateId {
                    origin: s.origin.clone(),
                    line: s.line,
                    id: s.id.clone(),
                    first_origin: f.origin.clone(),
                    first_line: f.line,
                });
            }
            first.insert(&s.id, s);
        }
        let prefilter =
            Prefilter::of(&signatures, SET_SIZE_LIMIT).map_err(|e| SignatureError::Set {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
        Ok(Catalogue::assemble(signatures, prefilter))
    }

    fn assemble(signatures: Vec<Signature>, prefilter: Prefilter) -> Catalogue {
        let field_mask = signatures.iter().fold(0, |m, s| m | s.field_mask);
        Catalogue {
            signatures,
            prefilter: prefilter.set,
            prefilter_owner: prefilter.owner,
            always: prefilter.always,
            field_mask,
        }
    }
}

/// `text` with JSON string escapes undone. Structured logs (pino, zap,
/// logrus, ECS, Serilog…) carry an error's text inside a JSON string, its
/// quotes escaped: `"error":"jobs.batch is forbidden: User
/// \"system:serviceaccount:farm:farm-dispatcher\" cannot create …"`. The
/// signatures are written from the text as the software printed it, so they
/// are matched against that text. Line breaks and tabs become spaces (a
/// pattern reads one line).
fn unescaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('n' | 'r' | 't') => out.push(' '),
            // Not a JSON escape (a Windows path, a regex in a message): kept.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` cut to at most `max` characters.
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The host, service or IP in a captured peer: without quotes, scheme,
/// user, path or port. Java's `host/1.2.3.4:5432` gives the host name (or the
/// IP when the host name is empty).
fn normalize_peer(raw: &str) -> Option<String> {
    let trim = |c: char| {
        matches!(
            c,
            '"' | '\'' | '`' | '(' | ')' | '<' | '>' | ',' | ';' | '.' | '{' | '}'
        ) || c.is_whitespace()
    };
    let mut p = raw.trim_matches(trim);
    if let Some(i) = p.find("://") {
        p = &p[i + 3..];
    }
    if let Some(i) = p.rfind('@') {
        p = &p[i + 1..];
    }
    if let Some(i) = p.find('/') {
        let (before, after) = (&p[..i], &p[i + 1..]);
        p = if before.is_empty() { after } else { before };
        if let Some(j) = p.find('/') {
            p = &p[..j];
        }
    }
    if let Some(rest) = p.strip_prefix('[') {
        // [::1]:8080
        p = rest.split(']').next().unwrap_or(rest);
    } else if p.matches(':').count() == 1
        && let Some((host, port)) = p.split_once(':')
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        p = host;
    }
    let p = p.trim_matches(trim);
    (!p.is_empty()).then(|| p.to_string())
}

#[cfg(test)]
mod tests;
