//! Redaction of secrets in everything that leaves a server.
//!
//! Every tool result passes through [`redact`] (text) and [`redact_json`]
//! (structured values) before it reaches the MCP host, whatever tool produced
//! it. The observed systems are full of secrets that nobody meant to publish:
//! connection strings in env vars, bearer tokens in access logs, keys in
//! ConfigMaps. A host that forwards tool output to a model provider must never
//! see them.
//!
//! # Values, not serialized text
//!
//! A secret must be found whatever format carries it. Servers redact their
//! structured outputs on the *values* ([`redact_json`], before serializing them
//! as JSON or YAML): every string is redacted on its own, raw (unescaped), and a
//! string under a key that names a secret is masked whatever its shape. A
//! string that is itself a document (a YAML, `.env`, INI, HCL or properties file
//! inside a ConfigMap, or the JSON of the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation) is redacted
//! inside: JSON is parsed and walked, line formats are read line by line.
//!
//! Text that is already serialized is handled too, as a second layer: string
//! literals holding JSON escapes (`"app.yaml": "api_key: x\npassword: y"`) are
//! decoded, redacted and re-encoded, so `\napi_key` is never read as a key
//! `napi_key` and escaped quotes cannot hide `\"auth_token\": \"…\"`.
//!
//! # Rules
//!
//! * **Shape rules** recognise a secret by its own form wherever it appears:
//!   JWTs, PEM private keys (also when a page cut their end away), vendor
//!   tokens with a fixed prefix (Slack, GitHub, GitLab, AWS, Google, OpenAI,
//!   Anthropic, Stripe, Stripe/Svix webhook secrets `whsec_`, Vault `hvs.`, …),
//!   `Bearer`/`Basic`/`token` credentials, passwords inside URLs (reserved
//!   characters such as `#` and `?` included), presigned URL signatures.
//! * **Command-line rules**: a secret-named flag followed by its value as the
//!   next argument (`--cache-password VALUE`), `curl -u user:pass`,
//!   `mysql -pPASS`, `sshpass -p`, `redis-cli -a`, `docker login -p`,
//!   `ldapsearch -w`, `aws configure set aws_secret_access_key V`,
//!   `CONFIG SET requirepass V`, SQL `PASSWORD '…'` / `IDENTIFIED BY '…'`,
//!   `user/pass@db` for Oracle, and free text such as
//!   "temporary password is X7!kq".
//! * **Key rules** recognise a secret by the name it is stored under:
//!   `key=value`, `key: value`, `"key": "value"`, `<password>…</password>`,
//!   Kubernetes-style `name: DB_PASSWORD … value: hunter2` pairs, whole-line
//!   values in YAML/INI/.env files and YAML block scalars, where the key
//!   *ends* in a secret word (`password`, `secret`, `token`, `api_key`,
//!   `app_key`, `credentials`, `private_key`, …).
//!
//! The key rule looks at the *last components* of a key (split on `_`, `-`, `.`
//! and camelCase), not at substrings: `DB_PASSWORD` and `x-auth-token` are
//! secret, but `tokenizer`, `max_tokens`, `secretName` and `password_file` are
//! not. Some words are secret only when their value looks like one: a bare
//! `pass`, `secrets`, `token`, `sig`, `authorization` or `cookie` followed by a
//! small number or an ordinary word (`pass=1204`, `secrets=14`,
//! `authorization=denied`, `oauth token: unexpected status …`) is diagnostic
//! text, kept as is.
//!
//! Only the value is replaced, by `[REDACTED]` (or a type-specific marker such
//! as `[REDACTED:jwt]`), so the output stays readable: a reader still sees that
//! a password *was* set, and where.
//!
//! The regexes compile once, on first use, so a server that never produces
//! output pays nothing at start-up. A [`regex::RegexSet`] pre-check lets clean
//! text (the common case) through without allocating.

use std::borrow::Cow;
use std::sync::LazyLock;

mod harmless;
mod keys;
pub use harmless::{SECRET_NAME_PARTS, harmless_env_value, shown_env_value};
pub use keys::is_secret_key;
use keys::{Strength, is_placeholder, key_strength, looks_secret, value_is_secret};

use regex::{Captures, Regex, RegexSet};

/// The marker that replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

struct Rules {
    prefilter: RegexSet,
    escaped: Regex,
    pem: Regex,
    jwt: Regex,
    auth_scheme: Regex,
    url_password: Regex,
    vendor: Regex,
    commands: Vec<(Regex, Check)>,
    line: Regex,
    xml: Regex,
    name_value: Regex,
    key_value: Regex,
}

/// `pattern` with its word boundaries made ASCII (`(?-u:\b)`). A Unicode
/// `\b` makes the regex crate's fast engines give up on any text holding a
/// non-ASCII character (an arrow, a dash, a name) and fall back to its
/// slowest one, the PikeVM: with Unicode boundaries the prefilter alone took
/// 40 % of mcp-kubernetes' CPU under concurrent `workload_health` calls
/// (BENCHMARKS.md, 1.5). Every token these rules look for is ASCII, so
/// an ASCII boundary finds the same secrets; next to a non-ASCII letter it
/// finds a boundary where Unicode sees none, which can only mask more.
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

// The patterns are literals checked by the tests; a failure to compile is a
// bug caught by the first test run, never a runtime condition.
#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
    Regex::new(&ascii_boundaries(pattern)).expect("redaction pattern compiles")
}

/// A JSON string literal that holds at least one escape.
const ESCAPED: &str = r#""(?:[^"\\\n]|\\.)*""#;
/// A PEM private key; without its end (a page or a cell cut it away), the key
/// runs as long as base64 lines (or `\n` escapes) follow.
const PEM: &str = concat!(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    r"|-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,]|\\[nr])*",
);
const JWT: &str = r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}";
const AUTH_SCHEME: &str = r"(?i)\b(bearer|basic|token)(\s+)([A-Za-z0-9._~+/=-]{12,})";
// scheme://user:password@host — the password is group 2. It may hold `#`, `?`
// and other reserved characters that a careless writer did not encode.
const URL_PASSWORD: &str = r#"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/?#@"'<>]*:)([^\s@/"'<>]+)@"#;
const VENDOR: &str = concat!(
    r"\b(?:",
    r"xox[abposre]-[0-9A-Za-z-]{10,}", // Slack bot/user/app tokens
    r"|xoxe\.xox[bp]-[0-9A-Za-z-]{10,}", // Slack refresh tokens
    r"|xapp-\d-[0-9A-Za-z-]{10,}",     // Slack app-level tokens
    r"|hooks\.slack\.com/services/[A-Za-z0-9/]{20,}", // Slack incoming webhooks
    r"|discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{30,}", // Discord webhooks
    r"|webhook\.office\.com/webhookb2/[^\s\x22'<>]{20,}", // Teams webhooks
    r"|gh[pousr]_[A-Za-z0-9]{36,}",    // GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{40,}",  // GitHub fine-grained tokens
    r"|glpat-[A-Za-z0-9_-]{20,}",      // GitLab tokens
    r"|gl(?:rt|dt|ptt|cbt|soat)-[A-Za-z0-9_-]{20,}", // GitLab runner/deploy/trigger tokens
    r"|(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}", // AWS access key ids
    r"|AIza[0-9A-Za-z_-]{35}",         // Google API keys
    r"|ya29\.[0-9A-Za-z_-]{20,}",      // Google OAuth access tokens
    r"|1//0[0-9A-Za-z_-]{30,}",        // Google OAuth refresh tokens
    r"|GOCSPX-[0-9A-Za-z_-]{20,}",     // Google OAuth client secrets
    r"|sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", // OpenAI / Anthropic keys
    r"|[rs]k_(?:live|test)_[0-9A-Za-z]{16,}", // Stripe keys
    r"|whsec_[0-9A-Za-z+/=_-]{16,}",   // Stripe / Svix webhook signing secrets
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", // SendGrid keys
    r"|npm_[A-Za-z0-9]{36,}",          // npm tokens
    r"|pypi-AgE[A-Za-z0-9_-]{30,}",    // PyPI tokens
    r"|hv[sbr]\.[A-Za-z0-9_-]{20,}",   // Vault tokens
    r"|dop_v1_[a-f0-9]{64}",           // DigitalOcean tokens
    r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", // Shopify tokens
    r"|gl(?:sa|c)_[A-Za-z0-9+/_=]{32,}", // Grafana service account / cloud tokens
    r"|hf_[A-Za-z]{30,}",              // Hugging Face tokens
    r"|r8_[A-Za-z0-9]{30,}",           // Replicate tokens
    r"|sntry[su]_[A-Za-z0-9+/=_]{40,}", // Sentry tokens
    r"|dapi[a-f0-9]{32}",              // Databricks tokens
    r"|ATATT3[A-Za-z0-9_=-]{40,}",     // Atlassian API tokens
    r"|AGE-SECRET-KEY-1[0-9A-Z]{50,}", // age secret keys
    r"|lin_api_[A-Za-z0-9]{32,}",      // Linear API keys
    r"|pul-[a-f0-9]{40}",              // Pulumi tokens
    r"|dckr_pat_[A-Za-z0-9_-]{20,}",   // Docker Hub tokens
    r"|NRAK-[A-Z0-9]{27}",             // New Relic user keys
    r"|gsk_[A-Za-z0-9]{40,}",          // Groq keys
    r"|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}", // Brevo keys
    r"|ntn_[A-Za-z0-9]{40,}",          // Notion tokens
    r"|tskey-(?:auth|api|client)-[A-Za-z0-9]+-[A-Za-z0-9]{16,}", // Tailscale keys
    r"|sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}", // Square tokens
    r"|ops_eyJ[A-Za-z0-9_-]{40,}",     // 1Password service account tokens
    r"|LTAI[A-Za-z0-9]{12,20}",        // Alibaba Cloud access key ids
    r"|SK[0-9a-f]{32}",                // Twilio API keys
    r"|key-[0-9a-f]{32}",              // Mailgun keys
    r"|[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", // Azure AD client secrets
    r")",
);

/// How a command-line rule decides that its value is a secret.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The context leaves no doubt (`mysql -pPASS`): mask unless a placeholder.
    Always,
    /// The value must look like a credential (free text, `vault login X`).
    LooksSecret,
    /// The key (group `k`) must name a secret.
    Key,
    /// Free text: a credential-looking word, or a code of six digits or more.
    FreeText,
    /// Not a pair of numbers (`docker run -u 1000:1000` is a uid and a gid).
    NotNumeric,
}

/// Command-line and free-text shapes. Each has a group `v`, the value to
/// mask; [`Check::Key`] rules also a group `k`.
const COMMANDS: &[(&str, Check)] = &[
    // --cache-password VALUE, -password VALUE (the value as the next argument).
    (
        r#"(?:^|[\s'"(\[])(?P<k>--?[A-Za-z][A-Za-z0-9_.-]*)[ \t]+['"]?(?P<v>[^\s'"\\-][^\s'"\\]*)"#,
        Check::Key,
    ),
    // curl -u user:pass, --user user:pass, --proxy-user, smbclient -U user%pass.
    (
        r#"(?:^|\s)(?:-u|--user|--proxy-user|-U)(?:[ \t]+|=)['"]?[^\s:'"%]+[:%](?P<v>[^\s'"\\]+)"#,
        Check::NotNumeric,
    ),
    // mysql -pPASS (the password glued to -p; `-p NAME` prompts).
    (
        r#"(?i)\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlsh|mariadb|mariadb-dump)\b[^\n|;"]*?\s['"]?-p(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    // Tools whose -p/-P/--password takes the password as the next argument.
    (
        r#"(?i)\b(?:sshpass|mongo|mongosh|mongodump|mongorestore|mongoexport|mongoimport|sqlcmd|bcp|(?:docker|podman|buildah|skopeo|nerdctl|oras|az|helm(?:\s+registry)?)\s+login)\b[^\n|;"]*?\s(?:-p|-P|--password)(?:[ \t]+|=)['"]?(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    (
        r#"(?i)\bredis-cli\b[^\n|;"]*?\s-a[ \t]+['"]?(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    (
        r#"(?i)\bldap(?:search|modify|add|delete|whoami|passwd)\b[^\n|;"]*?\s-w[ \t]+['"]?(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    // aws configure set aws_secret_access_key V, CONFIG SET requirepass V.
    (
        r#"(?i)\b(?:configure[ \t]+set|config[ \t]+set|config-set)[ \t]+(?P<k>[A-Za-z0-9_.-]+)[ \t]+['"]?(?P<v>[^\s'"\\]+)"#,
        Check::Key,
    ),
    // redis: requirepass V, masterauth V (redis.conf, CONFIG SET, --requirepass).
    (
        r#"(?i)\b(?:requirepass|masterauth)[ \t]+['"]?(?P<v>[^\s'"\\]+)"#,
        Check::LooksSecret,
    ),
    // rabbitmqctl add_user NAME PASS / change_password NAME PASS.
    (
        r#"(?i)\brabbitmqctl\s+(?:add_user|change_password)\s+\S+\s+['"]?(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    // vault login TOKEN.
    (
        r#"(?i)\bvault\s+login\s+(?:-\S+\s+)*(?P<v>[^\s='"\\-][^\s='"\\]*)(?:[\s'"\\]|$)"#,
        Check::LooksSecret,
    ),
    // .netrc: machine HOST login USER password PASS.
    (
        r#"(?i)\blogin\s+\S+\s+password\s+(?P<v>[^\s'"\\]+)"#,
        Check::Always,
    ),
    // SQL: ALTER USER … PASSWORD '…', IDENTIFIED BY '…', PASSWORD('…').
    (
        r#"(?i)\b(?:password|identified\s+by|identified\s+with\s+\w+\s+by)(?:\s*=\s*|\s*\(\s*|\s+)(?:password\s*\(\s*)?(?P<v>'(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|\\.)*")"#,
        Check::Always,
    ),
    // SQL: SET PASSWORD FOR 'u'@'h' = '…'.
    (
        r#"(?i)\bset\s+password\s+for\s+\S+\s*=\s*(?P<v>'(?:[^'\\]|''|\\.)*')"#,
        Check::Always,
    ),
    // Oracle: user/pass@db (sqlplus, jdbc:oracle:thin:).
    (
        r#"(?i)(?:\bsqlplus(?:\s+-\w+)*\s+|jdbc:oracle:thin:)[A-Za-z0-9_$#]+/(?P<v>[^@\s'"\\]+)@"#,
        Check::Always,
    ),
    // Free text: "temporary password is X7!kq", "the new token was: abc…".
    (
        r#"(?i)\b(?:password|passcode|passphrase|passwd|pin|secret|token|api[ _-]?key|otp)\s+(?:(?:is\s+|was\s+|has\s+been\s+)?(?:set|changed|reset)\s+to|is\s+now|is|was|will\s+be)\s*:?\s+['"`]?(?P<v>[^\s'"`\\]+)"#,
        Check::FreeText,
    ),
];

// Kubernetes env style: `name: DB_PASSWORD` then `value: hunter2` within the
// same small object, in YAML or JSON. Group 1: everything before the value,
// group 2: the name, group 3: the value.
const NAME_VALUE: &str = r#"(?i)("?(?:name|key)"?\s*[:=]\s*"?([A-Za-z0-9_.-]+)"?\s*,?\s*(?:-\s*)?"?value"?\s*[:=][ \t]*)("(?:[^"\\]|\\.)*"|[^\s,}\]"]+)"#;
// key=value, key: value, "key": "value". Group 1: everything before the value,
// group 2: the key, group 3: the value. A value never starts with `{` or `[`:
// `"secret": {"secretName": …}` (a pod's Secret volume) is a structure whose
// scalars are checked on their own, and masking its brace would break the JSON.
const KEY_VALUE: &str = r#"(([A-Za-z0-9_.-]*[A-Za-z0-9])["']?[ \t]*(?::=|=>|[:=])[ \t]*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',;&?}\])\[{\\](?:[^\s"',;&?}\])\\]|\\[^"\\\s])*)"#;
// A whole line of a YAML, INI, .env, HCL or properties file: group `k` the
// key, `v` the rest of the line.
const LINE: &str = r#"^[ \t]*(?:export[ \t]+|-[ \t]+)?["']?(?P<k>[A-Za-z_][A-Za-z0-9_.-]*)["']?(?P<s>[ \t]*(?::=|[:=])[ \t]*)(?P<v>.*?)[ \t]*$"#;
// <password>…</password>, one line.
const XML: &str =
    r#"<(?P<k>[A-Za-z_][A-Za-z0-9_.:-]*)>(?P<v>[^<\n"\\]+)</(?P<e>[A-Za-z_][A-Za-z0-9_.:-]*)>"#;

/// Another `key=value` or `key: value` pair further on a line.
static PAIRS: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"[\s,;][A-Za-z_][A-Za-z0-9_.-]*(?:=|: )"#));

/// A YAML block scalar opened at the end of a line that does not start with
/// its key: a log line that prints a config (`ERROR config dump:
/// credentials: |`), the block's lines following, indented.
static BLOCK_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?:^|[\s:])(?P<k>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:[ \t]*(?:!vault[ \t]*)?[|>][+-]?\d*[ \t]*$",
    )
});

/// A line of a space-separated config file (redis.conf, Fluent Bit):
/// `KEY VALUE`.
static SPACED: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^[ \t]*(?P<k>[A-Za-z_][A-Za-z0-9_.-]*)[ \t]+(?P<v>[^\s;]+);?[ \t]*$")
});

static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let patterns = [
        PEM,
        JWT,
        AUTH_SCHEME,
        URL_PASSWORD,
        VENDOR,
        // Cheap pre-check for the key and command rules: any secret-ish word.
        r"(?i)pass|pwd|secret|token|key|cred|auth|cookie|session|conn|dsn|sas|sig|identified|pin|otp|login|rabbitmqctl|masterauth|\s-[upPwaU]|/",
        // Any JSON escape: string literals to decode first.
        r#"\\[nrt"\\/u]"#,
    ];
    #[allow(clippy::expect_used)]
    let prefilter =
        RegexSet::new(patterns.map(ascii_boundaries)).expect("redaction prefilter compiles");
    Rules {
        prefilter,
        escaped: compile(ESCAPED),
        pem: compile(PEM),
        jwt: compile(JWT),
        auth_scheme: compile(AUTH_SCHEME),
        url_password: compile(URL_PASSWORD),
        vendor: compile(VENDOR),
        commands: COMMANDS.iter().map(|(p, c)| (compile(p), *c)).collect(),
        line: compile(LINE),
        xml: compile(XML),
        name_value: compile(NAME_VALUE),
        key_value: compile(KEY_VALUE),
    }
});

/// Replaces a value, keeping its quotes so JSON and YAML stay well-formed.
fn mask_value(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return format!("{q}{REDACTED}{q}");
        }
    }
    REDACTED.to_string()
}

fn replace<'a>(
    text: Cow<'a, str>,
    re: &Regex,
    f: impl FnMut(&Captures<'_>) -> String,
) -> Cow<'a, str> {
    match re.replace_all(&text, f) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// Masks group `v` of every match of `re` for which `keep(captures)` is
/// false; matches are searched again from the value on, so one rule can
/// match several times on a line.
fn mask_group<'a>(
    text: Cow<'a, str>,
    re: &Regex,
    mut should_mask: impl FnMut(&Captures<'_>) -> bool,
) -> Cow<'a, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    while pos < text.len() {
        let Some(c) = re.captures_at(&text, pos) else {
            break;
        };
        let Some(value) = c.name("v") else {
            break;
        };
        if value.start() >= copied && should_mask(&c) {
            out.push_str(&text[copied..value.start()]);
            out.push_str(&mask_value(value.as_str()));
            copied = value.end();
            pos = value.end().max(pos + 1);
        } else {
            pos = value.start().max(pos + 1);
        }
        while pos < text.len() && !text.is_char_boundary(pos) {
            pos += 1;
        }
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Applies a key rule (group 1: text before the value, 2: the key, 3: the
/// value). Unlike a plain `replace_all`, a match whose key is *not* secret
/// only consumes its key: the value is scanned again, because it may itself
/// hold a pair — in `checkout-1: DB_PASSWORD=hunter2` the first match is the
/// key `checkout-1` with the value `DB_PASSWORD=hunter2`.
fn mask_keyed_values<'a>(text: Cow<'a, str>, re: &Regex) -> Cow<'a, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    let mut changed = false;
    while pos < text.len() {
        let Some(c) = re.captures_at(&text, pos) else {
            break;
        };
        let (Some(value), Some(key)) = (c.get(3), c.get(2)) else {
            break;
        };
        let mut strength = key_strength(key.as_str());
        // `\napi_key` in escaped text: the key is `api_key`, not `napi_key`.
        if strength.is_none()
            && key.start() > 0
            && text.as_bytes()[key.start() - 1] == b'\\'
            && key.as_str().len() > 1
            && matches!(key.as_str().as_bytes()[0], b'n' | b'r' | b't')
        {
            strength = key_strength(&key.as_str()[1..]);
        }
        let sep = &text[key.end()..value.start()];
        let prose_or_path = (sep.trim_start_matches(['"', '\'']).starts_with([' ', '\t'])
            && sep.contains(':'))
            || (sep == ":" && key.start() > 0 && text.as_bytes()[key.start() - 1] == b':')
            || (!value.as_str().starts_with(['"', '\'']) && value.as_str().ends_with(':'));
        if let Some(strength) = strength
            && !prose_or_path
            && value_is_secret(strength, value.as_str())
        {
            out.push_str(&text[copied..value.start()]);
            out.push_str(&mask_value(value.as_str()));
            copied = value.end();
            pos = value.end();
            changed = true;
        } else {
            pos = value.start().max(pos + 1);
            while !text.is_char_boundary(pos) {
                pos += 1;
            }
        }
    }
    if !changed {
        return text;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Appends a line (`body` and its end of line) to `out`, with
/// `body[secret]` masked.
fn push_masked(out: &mut String, body: &str, secret: std::ops::Range<usize>, eol: &str) {
    out.push_str(&body[..secret.start]);
    out.push_str(REDACTED);
    out.push_str(&body[secret.end..]);
    out.push_str(eol);
}

/// Whole-line values of YAML, INI, `.env`, HCL and properties files: a value
/// of several words under a secret key, and the lines of a YAML block scalar
/// (`password: |`) under one.
fn mask_lines<'a>(text: Cow<'a, str>, re: &Regex) -> Cow<'a, str> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let indent = body.len() - body.trim_start().len();
        if let Some(key_indent) = block {
            if body.trim().is_empty() {
                out.push_str(line);
                continue;
            }
            if indent > key_indent {
                push_masked(&mut out, body, indent..body.len(), eol);
                changed = true;
                continue;
            }
            block = None;
        }
        if let Some(k) = BLOCK_TAIL.captures(body).and_then(|c| c.name("k"))
            && key_strength(k.as_str()).is_some()
        {
            block = Some(indent);
            out.push_str(line);
            continue;
        }
        if let Some(c) = re.captures(body)
            && let (Some(k), Some(v)) = (c.name("k"), c.name("v"))
            && let Some(strength) = key_strength(k.as_str())
        {
            let value = v.as_str();
            let bare = value.trim_start_matches("!vault").trim();
            if matches!(bare.chars().next(), Some('|' | '>'))
                && bare[1..]
                    .chars()
                    .all(|c| matches!(c, '+' | '-') || c.is_ascii_digit())
            {
                block = Some(indent);
            } else if strength == Strength::Strong
                && value.contains([' ', '\t'])
                // `KEY=a b` is no .env line, and `k=v k2=v2` is logfmt: the
                // pairs are read one by one below.
                && c.name("s").is_some_and(|s| s.as_str() != "=")
                && !PAIRS.is_match(value)
                && !value.starts_with(['"', '\'', '{', '['])
                && !is_placeholder(value)
            {
                push_masked(&mut out, body, v.range(), eol);
                changed = true;
                continue;
            }
        }
        // `requirepass VALUE`, `HTTP_Passwd VALUE`: space-separated config.
        if let Some(c) = SPACED.captures(body)
            && let (Some(k), Some(v)) = (c.name("k"), c.name("v"))
            && key_strength(k.as_str()) == Some(Strength::Strong)
            && looks_secret(v.as_str())
        {
            push_masked(&mut out, body, v.range(), eol);
            changed = true;
            continue;
        }
        out.push_str(line);
    }
    if changed { Cow::Owned(out) } else { text }
}

/// Decodes every JSON string literal holding escapes, redacts it raw and
/// encodes it again.
fn redact_escaped<'a>(text: Cow<'a, str>, re: &Regex) -> Cow<'a, str> {
    replace(text, re, |c| {
        let literal = &c[0];
        if !literal.contains('\\') {
            return literal.to_string();
        }
        match serde_json::from_str::<String>(literal) {
            Ok(raw) => match redact(&raw) {
                Cow::Owned(masked) => {
                    serde_json::to_string(&masked).unwrap_or_else(|_| literal.to_string())
                }
                Cow::Borrowed(_) => literal.to_string(),
            },
            Err(_) => literal.to_string(),
        }
    })
}

/// Masks every secret found in `text`. Returns the input unchanged (borrowed)
/// when nothing was found.
pub fn redact(text: &str) -> Cow<'_, str> {
    let rules = &*RULES;
    let hits = rules.prefilter.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let out = if hits.matched(6) {
        redact_escaped(Cow::Borrowed(text), &rules.escaped)
    } else {
        Cow::Borrowed(text)
    };
    match out {
        Cow::Borrowed(t) => redact_plain(t),
        Cow::Owned(t) => Cow::Owned(redact_plain(&t).into_owned()),
    }
}

/// The rules on raw (unescaped) text.
fn redact_plain(text: &str) -> Cow<'_, str> {
    let rules = &*RULES;
    let hits = rules.prefilter.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    if hits.matched(0) {
        out = replace(out, &rules.pem, |_| "[REDACTED:private-key]".to_string());
    }
    if hits.matched(1) {
        out = replace(out, &rules.jwt, |_| "[REDACTED:jwt]".to_string());
    }
    if hits.matched(3) {
        out = replace(out, &rules.url_password, |c| {
            format!("{}{REDACTED}@", &c[1])
        });
    }
    if hits.matched(4) {
        out = replace(out, &rules.vendor, |_| REDACTED.to_string());
    }
    if hits.matched(2) {
        out = replace(out, &rules.auth_scheme, |c| {
            if looks_secret(&c[3]) {
                format!("{}{}{REDACTED}", &c[1], &c[2])
            } else {
                c[0].to_string()
            }
        });
    }
    if hits.matched(5) {
        for (re, check) in &rules.commands {
            out = mask_group(out, re, |c| {
                let value = c.name("v").map_or("", |m| m.as_str());
                if is_placeholder(value) {
                    return false;
                }
                match check {
                    Check::Always => true,
                    Check::LooksSecret => looks_secret(value),
                    Check::FreeText => {
                        looks_secret(value)
                            || (value.len() >= 6 && value.chars().all(|c| c.is_ascii_digit()))
                    }
                    Check::NotNumeric => !value.chars().all(|c| c.is_ascii_digit()),
                    Check::Key => c
                        .name("k")
                        .and_then(|k| key_strength(k.as_str().trim_start_matches('-')))
                        .is_some_and(|s| value_is_secret(s, value)),
                }
            });
        }
        out = mask_lines(out, &rules.line);
        out = mask_group(out, &rules.xml, |c| {
            let (k, e) = (c.name("k"), c.name("e"));
            let value = c.name("v").map_or("", |m| m.as_str());
            k.zip(e).is_some_and(|(k, e)| k.as_str() == e.as_str())
                && k.and_then(|k| key_strength(k.as_str()))
                    .is_some_and(|s| value_is_secret(s, value))
        });
        for re in [&rules.name_value, &rules.key_value] {
            out = mask_keyed_values(out, re);
        }
    }
    out
}

/// Redacts a string value that may itself be a document: JSON is parsed,
/// walked and written back (compact) when something in it was masked; any
/// other text (YAML, `.env`, INI, HCL, log lines) goes through [`redact`].
fn redact_string(s: &mut String) {
    let trimmed = s.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut inner) = serde_json::from_str::<serde_json::Value>(s)
        && (inner.is_object() || inner.is_array())
    {
        let before = inner.clone();
        redact_json(&mut inner);
        if inner != before {
            *s = inner.to_string();
        }
        return;
    }
    if let Cow::Owned(masked) = redact(s) {
        *s = masked;
    }
}

/// Redacts every string inside a JSON value, in place: each string on its
/// own (and inside the documents strings hold), and the string under an
/// object key that names a secret whatever its shape. Servers call this on
/// their structured results *before* serializing them as JSON or YAML.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => redact_string(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            // Kubernetes env style: {"name": "DB_PASSWORD", "value": "…"}.
            let named_secret = map
                .get("name")
                .and_then(serde_json::Value::as_str)
                .and_then(key_strength);
            for (key, v) in map.iter_mut() {
                let strength =
                    key_strength(key).or(if key == "value" { named_secret } else { None });
                match v {
                    serde_json::Value::String(s)
                        if strength.is_some_and(|st| value_is_secret(st, s)) =>
                    {
                        *s = REDACTED.to_string();
                    }
                    _ => redact_json(v),
                }
            }
        }
        _ => {}
    }
}

/// [`redact_json`] under the name the structured outputs use it by.
pub fn redact_value(value: &mut serde_json::Value) {
    redact_json(value);
}

/// Redacts `text`, then cuts it to at most `max` characters, keeping the
/// head and the tail (where a message's reason usually is) around a marker
/// that says how much was cut. Redacting first means a secret straddling the
/// cut cannot leave its prefix behind.
pub fn redact_then_clip(text: &str, max: usize) -> String {
    let text = redact(text);
    let count = text.chars().count();
    if count <= max {
        return text.into_owned();
    }
    let marker_room = 24;
    let keep = max.saturating_sub(marker_room).max(2);
    let head_n = keep * 3 / 5;
    let tail_n = keep - head_n;
    let head: String = text.chars().take(head_n).collect();
    let tail: String = text.chars().skip(count - tail_n).collect();
    format!("{head} …[{} chars cut]… {tail}", count - head_n - tail_n)
}
