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
//! culprit = "emitter"                      # optional; "emitter" (default) or "peer"
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
//!   path stripped.
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

use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use toml::Spanned;

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
        include_str!("../../signatures/kubernetes.toml"),
    ),
    (
        "signatures/jvm.toml",
        include_str!("../../signatures/jvm.toml"),
    ),
    (
        "signatures/go.toml",
        include_str!("../../signatures/go.toml"),
    ),
    (
        "signatures/node.toml",
        include_str!("../../signatures/node.toml"),
    ),
    (
        "signatures/python.toml",
        include_str!("../../signatures/python.toml"),
    ),
    (
        "signatures/dotnet.toml",
        include_str!("../../signatures/dotnet.toml"),
    ),
    (
        "signatures/databases.toml",
        include_str!("../../signatures/databases.toml"),
    ),
    (
        "signatures/messaging.toml",
        include_str!("../../signatures/messaging.toml"),
    ),
    (
        "signatures/proxies.toml",
        include_str!("../../signatures/proxies.toml"),
    ),
    (
        "signatures/generic.toml",
        include_str!("../../signatures/generic.toml"),
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
        let text = truncate_bytes(text, MAX_TEXT);
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
                Culprit::Emitter => None,
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

/// The candidate finder of a catalogue (see the module's essay).
struct Prefilter {
    set: RegexSet,
    owner: Vec<usize>,
    always: Vec<usize>,
}

impl Prefilter {
    fn of(signatures: &[Signature], size_limit: usize) -> Result<Prefilter, regex::Error> {
        let mut literals = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        for (i, s) in signatures.iter().enumerate() {
            match &s.literals {
                Some(lits) => {
                    for l in lits {
                        literals.push(format!("(?-u){}", regex::escape(l)));
                        owner.push(i);
                    }
                }
                None => always.push(i),
            }
        }
        let set = RegexSetBuilder::new(literals)
            .size_limit(size_limit)
            .dfa_size_limit(SET_DFA_SIZE_LIMIT)
            .build()?;
        Ok(Prefilter { set, owner, always })
    }
}

/// Compiled size limits of the set: a few hundred patterns need more than the
/// defaults (10 MiB, 2 MiB).
const SET_SIZE_LIMIT: usize = 64 << 20;
const SET_DFA_SIZE_LIMIT: usize = 16 << 20;

/// The built-in catalogue; `validate` as in [`parse_file`].
fn parse_builtin(validate: bool) -> Result<Catalogue, SignatureError> {
    let mut all = Vec::new();
    for (origin, text) in BUILTIN_FILES {
        all.extend(parse_file(text, origin, validate)?);
    }
    Catalogue::build(all, "built-in signatures")
}

/// One `[[signature]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    id: Spanned<String>,
    kind: Spanned<String>,
    strength: Spanned<i64>,
    #[serde(default)]
    stack: String,
    #[serde(default)]
    fields: Option<Spanned<Vec<Field>>>,
    #[serde(default)]
    culprit: Culprit,
    pattern: Spanned<String>,
    example: Spanned<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    case_sensitive: bool,
}

/// A signature file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    signature: Vec<RawSignature>,
}

/// Parses one file; `validate` also compiles every pattern and checks it
/// against its example (skipped for the built-in catalogue at run time, whose
/// test does it).
fn parse_file(text: &str, origin: &str, validate: bool) -> Result<Vec<Signature>, SignatureError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| SignatureError::Syntax {
        origin: origin.to_string(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let lines = Lines::of(text);
    raw.signature
        .into_iter()
        .map(|r| compile(r, &lines, origin, validate))
        .collect()
}

fn compile(
    r: RawSignature,
    lines: &Lines,
    origin: &str,
    validate: bool,
) -> Result<Signature, SignatureError> {
    let id = r.id.get_ref().clone();
    let line = |span: std::ops::Range<usize>| lines.line(span.start);
    let origin_s = origin.to_string();

    if !KINDS.contains(&r.kind.get_ref().as_str()) {
        return Err(SignatureError::UnknownKind {
            origin: origin_s,
            line: line(r.kind.span()),
            id,
            kind: r.kind.into_inner(),
        });
    }
    let strength = *r.strength.get_ref();
    if !(1..=5).contains(&strength) {
        return Err(SignatureError::Strength {
            origin: origin_s,
            line: line(r.strength.span()),
            id,
            strength,
        });
    }
    let pattern_line = line(r.pattern.span());
    let flags = if r.case_sensitive { "(?-u)" } else { "(?i-u)" };
    let full = format!("{flags}{}", r.pattern.get_ref());
    let fields = match r.fields {
        None => Field::DEFAULT.to_vec(),
        Some(f) if f.get_ref().is_empty() => {
            return Err(SignatureError::NoFields {
                origin: origin_s,
                line: line(f.span()),
                id,
            });
        }
        Some(f) => {
            let mut v = f.into_inner();
            v.dedup();
            v
        }
    };
    let field_mask = fields.iter().fold(0, |m, f| m | f.bit());
    let signature = Signature {
        line: line(r.id.span()),
        id,
        kind: r.kind.into_inner(),
        strength: strength as u8,
        fields,
        culprit: r.culprit,
        stack: r.stack,
        example: r.example.get_ref().clone(),
        source: r.source,
        literals: required_literals(r.pattern.get_ref()),
        pattern: r.pattern.get_ref().clone(),
        full,
        regex: OnceLock::new(),
        field_mask,
        origin: origin_s,
        tier: 0,
    };
    if !validate {
        return Ok(signature);
    }
    let id = signature.id.clone();
    let origin_s = signature.origin.clone();
    let regex = Regex::new(&signature.full).map_err(|e| {
        // Report the error against the pattern as written, without the flags.
        let message = match Regex::new(r.pattern.get_ref()) {
            Err(plain) => plain.to_string(),
            Ok(_) => e.to_string(),
        };
        SignatureError::Pattern {
            origin: origin_s.clone(),
            line: pattern_line,
            id: id.clone(),
            message,
        }
    })?;
    if r.culprit == Culprit::Peer && !regex.capture_names().any(|n| n == Some("peer")) {
        return Err(SignatureError::MissingPeerGroup {
            origin: origin_s,
            line: pattern_line,
            id,
        });
    }
    if !regex.is_match(truncate_bytes(r.example.get_ref(), MAX_TEXT).as_bytes()) {
        return Err(SignatureError::ExampleMismatch {
            origin: origin_s,
            line: line(r.example.span()),
            id,
            example: r.example.into_inner(),
        });
    }
    let _ = signature.regex.set(Some(regex));
    Ok(signature)
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    Lines::of(text).line(at)
}

/// Where each line of a text starts, to turn many offsets into lines.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    /// The 1-based line of byte offset `at`.
    fn line(&self, at: usize) -> usize {
        self.0.partition_point(|&start| start <= at).max(1)
    }
}

/// The shortest literal worth prefiltering on: shorter ones match nearly
/// every text and save nothing.
const MIN_LITERAL: usize = 3;

/// The literals a text must contain (ASCII-lowercased) for `pattern` to
/// match it: one per top-level alternative, the longest run of plain
/// characters in it. `None` when some alternative has no such run (or the
/// pattern uses flags this simple reading does not follow), in which case
/// the signature is tried on every text.
///
/// This reads a conservative subset of the syntax: groups, classes, `.`,
/// anchors and escapes other than escaped punctuation end a run; a character
/// made optional by `?`, `*` or `{0,...}` is dropped from it. Whatever it
/// returns is a necessary condition for a match, never a sufficient one.
fn required_literals(pattern: &str) -> Option<Vec<String>> {
    if pattern.contains("(?x") || pattern.contains("(?u") || pattern.contains("(?-x") {
        return None;
    }
    let mut out = Vec::new();
    for alternative in split_top_level(pattern) {
        let lit = longest_run(alternative)?;
        if lit.len() < MIN_LITERAL {
            return None;
        }
        out.push(lit);
    }
    Some(out)
}

/// `pattern` split at its top-level `|`.
fn split_top_level(pattern: &str) -> Vec<&str> {
    let b = pattern.as_bytes();
    let (mut depth, mut in_class, mut i, mut start) = (0usize, false, 0usize, 0usize);
    let mut parts = Vec::new();
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => {
                in_class = true;
                // A `]` right after `[` or `[^` is a literal.
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => depth = depth.saturating_sub(1),
            b'|' if !in_class && depth == 0 => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&pattern[start..]);
    parts
}

/// The longest run of plain characters in one alternative, lowercased;
/// `None` if the alternative cannot be read.
fn longest_run(alt: &str) -> Option<String> {
    let chars: Vec<char> = alt.chars().collect();
    let (mut best, mut run) = (String::new(), String::new());
    let end_run = |run: &mut String, best: &mut String| {
        if run.len() > best.len() {
            *best = run.clone();
        }
        run.clear();
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // The character (if any) this token contributes, and where it ends.
        let (lit, next) = match c {
            '\\' => {
                let e = *chars.get(i + 1)?;
                if matches!(e, 'x' | 'u' | 'U' | 'p' | 'P') {
                    return None;
                }
                let lit = match e {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    e if e.is_ascii_punctuation() => Some(e),
                    _ => None,
                };
                (lit, i + 2)
            }
            '[' => {
                let mut j = i + 1;
                if chars.get(j) == Some(&'^') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return None;
                }
                (None, j + 1)
            }
            '(' => {
                let (mut depth, mut j, mut in_class) = (0usize, i, false);
                loop {
                    match *chars.get(j)? {
                        '\\' => j += 1,
                        '[' if !in_class => in_class = true,
                        ']' if in_class => in_class = false,
                        '(' if !in_class => depth += 1,
                        ')' if !in_class => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                (None, j + 1)
            }
            '.' | '^' | '$' => (None, i + 1),
            ')' | '|' | '*' | '+' | '?' | '{' => return None,
            c => (Some(c), i + 1),
        };
        // A quantifier after the token.
        let (optional, repeated, after) = match chars.get(next) {
            Some('?') | Some('*') => (true, true, next + 1),
            Some('+') => (false, true, next + 1),
            Some('{') => {
                let close = chars[next..].iter().position(|&c| c == '}')? + next;
                let min: String = chars[next + 1..close]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                (min.is_empty() || min == "0", true, close + 1)
            }
            _ => (false, false, next),
        };
        // A lazy or possessive marker after the quantifier.
        let after = if repeated && chars.get(after) == Some(&'?') {
            after + 1
        } else {
            after
        };
        match lit {
            Some(l) if !optional => {
                run.push(l.to_ascii_lowercase());
                if repeated {
                    end_run(&mut run, &mut best);
                }
            }
            _ => end_run(&mut run, &mut best),
        }
        i = after;
    }
    end_run(&mut run, &mut best);
    Some(best)
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
mod tests {
    use super::*;

    fn builtin() -> &'static Catalogue {
        Catalogue::builtin()
    }

    #[test]
    fn the_builtin_catalogue_loads() {
        match parse_builtin(true) {
            Ok(c) => assert!(!c.is_empty()),
            Err(e) => panic!("{e}"),
        }
        assert!(builtin().len() >= 200, "{}", builtin().len());
    }

    #[test]
    fn every_builtin_signature_is_complete() {
        for s in builtin().signatures() {
            assert!(!s.source.trim().is_empty(), "{}: no source", s.id);
            assert!(!s.stack.trim().is_empty(), "{}: no stack", s.id);
            assert!(!s.example.trim().is_empty(), "{}: no example", s.id);
            assert!(
                s.id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}: ids are lowercase-with-dashes",
                s.id
            );
        }
    }

    #[test]
    fn every_builtin_signature_matches_its_own_example_in_each_of_its_fields() {
        for s in builtin().signatures() {
            for &f in &s.fields {
                let hits = builtin().matches(f, &s.example);
                assert!(
                    hits.iter().any(|h| h.signature.id == s.id),
                    "{} ({f:?}) does not match its own example {:?}",
                    s.id,
                    s.example
                );
            }
        }
    }

    /// Examples whose best hit is, on purpose, a signature of another kind:
    /// (example's signature id, kind that wins, why).
    const STOLEN: &[(&str, &str, &str)] = &[];

    /// Whether `s` losing its own example to `winner` is by design: a
    /// connect timeout with no refusal is first read as the dependency being
    /// unreachable (strength 3); a network policy dropping the SYNs is the
    /// weaker second reading of the same text (strength 2), kept in the hits
    /// for the engine to weigh against other evidence.
    fn stolen_by_design(s: &Signature, winner: &Signature) -> bool {
        (s.kind == "network_policy_blocked"
            && s.strength <= 2
            && winner.kind == "dependency_unreachable")
            || STOLEN
                .iter()
                .any(|(id, kind, _)| *id == s.id && *kind == winner.kind)
    }

    #[test]
    fn the_best_hit_for_each_example_is_of_the_same_kind() {
        let mut wrong = Vec::new();
        for s in builtin().signatures() {
            for &f in &s.fields {
                let Some(best) = builtin().best(f, &s.example) else {
                    wrong.push(format!("{}: no hit", s.id));
                    continue;
                };
                if best.signature.kind == s.kind {
                    continue;
                }
                if stolen_by_design(s, best.signature) {
                    continue;
                }
                wrong.push(format!(
                    "{} [{}] ({f:?}): best hit is {} [{}] for {:?}",
                    s.id, s.kind, best.signature.id, best.signature.kind, s.example
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// Peer signatures whose example names no peer (the peer group is
    /// optional because the library does not always print the address).
    const NO_PEER_IN_EXAMPLE: &[&str] = &["java-connect-exception"];

    #[test]
    fn peer_signatures_capture_a_peer_from_their_example() {
        let mut missing = Vec::new();
        for s in builtin().signatures() {
            if s.culprit != Culprit::Peer || NO_PEER_IN_EXAMPLE.contains(&s.id.as_str()) {
                continue;
            }
            let hits = builtin().matches(s.fields[0], &s.example);
            let Some(hit) = hits.iter().find(|h| h.signature.id == s.id) else {
                panic!("{} does not match its example", s.id)
            };
            if hit.peer.is_none() {
                missing.push(format!("{}: no peer in {:?}", s.id, s.example));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    fn peer(field: Field, text: &str) -> Option<String> {
        builtin()
            .matches(field, text)
            .into_iter()
            .find_map(|h| h.peer)
    }

    #[test]
    fn peers_are_captured_without_port_or_address() {
        assert_eq!(
            peer(
                Field::Log,
                "dial tcp 10.96.12.7:5432: connect: connection refused"
            )
            .as_deref(),
            Some("10.96.12.7")
        );
        assert_eq!(
            peer(
                Field::Log,
                "lookup inventory on 10.96.0.10:53: no such host"
            )
            .as_deref(),
            Some("inventory")
        );
        assert_eq!(
            peer(
                Field::Exception,
                "Error: getaddrinfo ENOTFOUND redis-master"
            )
            .as_deref(),
            Some("redis-master")
        );
        assert_eq!(
            peer(
                Field::Exception,
                "io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: prod-db/10.0.0.5:3333"
            )
            .as_deref(),
            Some("prod-db")
        );
    }

    #[test]
    fn normalize_peer_strips_what_is_not_the_host() {
        let n = |s| normalize_peer(s);
        assert_eq!(n("10.0.0.5:3333").as_deref(), Some("10.0.0.5"));
        assert_eq!(n("prod-db/10.0.0.5:3333").as_deref(), Some("prod-db"));
        assert_eq!(n("/10.0.0.5:3333").as_deref(), Some("10.0.0.5"));
        assert_eq!(
            n("http://user:pw@api.example.com:8443/v1/x").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            n("\"payments.shop.svc.cluster.local\"").as_deref(),
            Some("payments.shop.svc.cluster.local")
        );
        assert_eq!(n("[fd00::1]:80").as_deref(), Some("fd00::1"));
        assert_eq!(n("fd00::1").as_deref(), Some("fd00::1"));
        assert_eq!(n("\"\""), None);
    }

    #[test]
    fn matching_reads_only_the_signatures_fields() {
        let c = Catalogue::from_toml(
            r#"
[[signature]]
id = "oom-reason"
kind = "oom_killed"
strength = 5
fields = ["container_reason"]
pattern = '^OOMKilled$'
example = "OOMKilled"
"#,
            "t.toml",
        )
        .unwrap();
        assert!(c.best(Field::ContainerReason, "OOMKilled").is_some());
        assert!(c.best(Field::ContainerReason, "oomkilled").is_some());
        assert!(c.best(Field::Log, "OOMKilled").is_none());
        assert!(c.best(Field::ContainerReason, "").is_none());
    }

    #[test]
    fn case_sensitive_patterns_are_case_sensitive() {
        let c = Catalogue::from_toml(
            r#"
[[signature]]
id = "loading"
kind = "replication_lag"
strength = 3
case_sensitive = true
pattern = '^LOADING Redis is loading'
example = "LOADING Redis is loading the dataset in memory"
"#,
            "t.toml",
        )
        .unwrap();
        assert!(
            c.best(Field::Log, "LOADING Redis is loading the dataset in memory")
                .is_some()
        );
        assert!(
            c.best(Field::Log, "loading redis is loading the dataset in memory")
                .is_none()
        );
    }

    #[test]
    fn hits_are_strongest_first_then_longest() {
        let c = Catalogue::from_toml(
            r#"
[[signature]]
id = "weak"
kind = "new_error"
strength = 1
pattern = 'error'
example = "error"

[[signature]]
id = "short"
kind = "dependency_unreachable"
strength = 4
pattern = 'refused'
example = "refused"

[[signature]]
id = "long"
kind = "dependency_unreachable"
strength = 4
pattern = 'connection refused'
example = "connection refused"
"#,
            "t.toml",
        )
        .unwrap();
        let ids: Vec<_> = c
            .matches(Field::Log, "error: connection refused")
            .iter()
            .map(|h| h.signature.id.as_str())
            .collect();
        assert_eq!(ids, ["long", "short", "weak"]);
    }

    #[test]
    fn long_texts_are_cut_and_matched_text_is_bounded() {
        let c = Catalogue::from_toml(
            r#"
[[signature]]
id = "any"
kind = "new_error"
strength = 1
pattern = 'x+'
example = "x"

[[signature]]
id = "tail"
kind = "new_error"
strength = 1
pattern = 'TAIL'
example = "TAIL"
"#,
            "t.toml",
        )
        .unwrap();
        let long = format!("{}é{}TAIL", "x".repeat(4095), "y".repeat(5000));
        let hits = c.matches(Field::Log, &long);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matched.chars().count(), 200);
    }

    #[test]
    fn extended_puts_user_signatures_first_and_overrides_ids() {
        let base = builtin();
        let some = &base.signatures()[0];
        let user = Catalogue::from_toml(
            &format!(
                r#"
[[signature]]
id = "in-house-db-timeout"
kind = "connection_pool_exhausted"
strength = 5
stack = "acme"
pattern = 'AcmeDb: no connection in \d+ms'
example = "AcmeDb: no connection in 500ms"

[[signature]]
id = "{}"
kind = "new_error"
strength = 1
pattern = 'never-matches-anything-real-\d{{9}}'
example = "never-matches-anything-real-123456789"
"#,
                some.id
            ),
            "user.toml",
        )
        .unwrap();
        let all = base.extended(user);
        assert_eq!(all.len(), base.len() + 1);
        assert_eq!(all.signatures()[0].id, "in-house-db-timeout");
        let replaced = all.get(&some.id).unwrap();
        assert_eq!(replaced.kind, "new_error");
        assert_eq!(replaced.origin(), "user.toml");
        let hit = all
            .best(Field::Log, "AcmeDb: no connection in 500ms")
            .unwrap();
        assert_eq!(hit.signature.id, "in-house-db-timeout");
        // The replaced built-in signature no longer matches its example.
        assert!(
            all.matches(some.fields[0], &some.example)
                .iter()
                .all(|h| h.signature.id != some.id)
        );
    }

    #[test]
    fn a_user_signature_wins_a_tie_with_a_builtin_one() {
        let base = Catalogue::from_toml(
            r#"
[[signature]]
id = "refused"
kind = "dependency_unreachable"
strength = 4
pattern = 'connect: connection refused'
example = "connect: connection refused"
"#,
            "builtin.toml",
        )
        .unwrap();
        let user = Catalogue::from_toml(
            r#"
[[signature]]
id = "our-refused"
kind = "network_policy_blocked"
strength = 4
pattern = 'refused'
example = "refused"
"#,
            "user.toml",
        )
        .unwrap();
        let all = base.extended(user);
        let best = all.best(Field::Log, "connect: connection refused").unwrap();
        assert_eq!(best.signature.id, "our-refused");
    }

    fn error_of(toml_text: &str) -> String {
        match Catalogue::from_toml(toml_text, "user.toml") {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD: &str = r#"
[[signature]]
id = "ok"
kind = "oom_killed"
strength = 5
pattern = 'OOMKilled'
example = "OOMKilled"
"#;

    #[test]
    fn a_bad_regex_is_reported_with_its_line() {
        let e = error_of(&format!(
            "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'x(y'\nexample = \"x(y\"\n"
        ));
        assert!(
            e.starts_with("user.toml line 13 (id = \"bad\"): pattern does not compile"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_kind_is_reported_with_its_line() {
        let e = error_of(&format!(
            "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"disk_on_fire\"\nstrength = 5\npattern = 'x'\nexample = \"x\"\n"
        ));
        assert!(
            e.starts_with("user.toml line 11 (id = \"bad\"): unknown kind \"disk_on_fire\""),
            "{e}"
        );
    }

    #[test]
    fn an_example_that_does_not_match_is_reported_with_its_line() {
        let e = error_of(&format!(
            "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'OOM'\nexample = \"out of memory\"\n"
        ));
        assert!(
            e.starts_with("user.toml line 14 (id = \"bad\"): the example does not match"),
            "{e}"
        );
    }

    #[test]
    fn a_duplicate_id_is_reported_with_its_line() {
        let e = error_of(&format!("{GOOD}{GOOD}"));
        assert!(
            e.starts_with(
                "user.toml line 10 (id = \"ok\"): duplicate id (first defined in user.toml line 3)"
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_toml_is_reported_with_its_line() {
        let e = error_of(&format!("{GOOD}\n[[signature]]\nid = \"bad\nkind = 3\n"));
        assert!(e.starts_with("user.toml line 10:"), "{e}");
        let e = error_of(&format!(
            "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'x'\nexample = \"x\"\nsevirity = 3\n"
        ));
        assert!(e.starts_with("user.toml line 15:"), "{e}");
        assert!(e.contains("sevirity"), "{e}");
        let e = error_of(&format!(
            "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\nfields = [\"logs\"]\npattern = 'x'\nexample = \"x\"\n"
        ));
        assert!(e.starts_with("user.toml line 13:"), "{e}");
    }

    #[test]
    fn strength_and_peer_group_are_checked() {
        let e = error_of(
            "[[signature]]\nid = \"s\"\nkind = \"oom_killed\"\nstrength = 6\npattern = 'x'\nexample = \"x\"\n",
        );
        assert!(
            e.starts_with("user.toml line 4 (id = \"s\"): strength 6 is out of range"),
            "{e}"
        );
        let e = error_of(
            "[[signature]]\nid = \"p\"\nkind = \"dependency_unreachable\"\nstrength = 4\nculprit = \"peer\"\npattern = 'refused'\nexample = \"refused\"\n",
        );
        assert!(
            e.starts_with(
                "user.toml line 6 (id = \"p\"): culprit = \"peer\" but the pattern has no"
            ),
            "{e}"
        );
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, GOOD).unwrap();
        assert_eq!(Catalogue::load(&path).unwrap().len(), 1);
        let missing = dir.path().join("missing.toml");
        let e = Catalogue::load(&missing).unwrap_err().to_string();
        assert!(e.contains("missing.toml"), "{e}");
    }

    #[test]
    fn required_literals_are_necessary_conditions() {
        let r = |p: &str| required_literals(p);
        let v = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            r(r"HikariPool-\d+ - Connection is not available, request timed out after \d+ms"),
            v(&[" - connection is not available, request timed out after "])
        );
        assert_eq!(r("^OOMKilled$"), v(&["oomkilled"]));
        assert_eq!(r("Back-off (?:restarting|pulling)"), v(&["back-off "]));
        assert_eq!(
            r(r"deadlock detected|Lock wait timeout"),
            v(&["deadlock detected", "lock wait timeout"])
        );
        // Optional characters are dropped, repeated ones end the run.
        assert_eq!(r("colou?r scheme"), v(&["r scheme"]));
        assert_eq!(r("abcx*defg"), v(&["defg"]));
        assert_eq!(r("abcd+efg"), v(&["abcd"]));
        assert_eq!(r(r"ab{0,3}cdef"), v(&["cdef"]));
        assert_eq!(r(r"ab{2}cdef"), v(&["cdef"]));
        // Escaped punctuation is literal; classes and groups end a run.
        assert_eq!(
            r(r"java\.lang\.OutOfMemoryError: [A-Z]"),
            v(&["java.lang.outofmemoryerror: "])
        );
        assert_eq!(
            r(r"\[Errno 111\] Connection refused"),
            v(&["[errno 111] connection refused"])
        );
        assert_eq!(r(r"x[]a]yzw"), v(&["yzw"]));
        // An alternative without a literal, or syntax this reading does not
        // follow, leaves the signature unfiltered.
        assert_eq!(r("abcdef|x"), None);
        assert_eq!(r(r"\d+"), None);
        assert_eq!(r(r"(?x) a b c d"), None);
        assert_eq!(r(r"\x41BCD"), None);
        assert_eq!(r(r"\p{Greek}+abc"), None);
    }

    #[test]
    fn every_kind_is_known_to_the_vocabulary() {
        for s in builtin().signatures() {
            assert!(KINDS.contains(&s.kind.as_str()), "{}", s.id);
        }
    }
}
