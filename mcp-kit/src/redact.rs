//! Value-level redaction of secrets in text that leaves a server.
//!
//! Every tool result passes through [`redact`] before it reaches the MCP host,
//! whatever tool produced it. The observed systems are full of secrets that
//! nobody meant to publish: connection strings in env vars, bearer tokens in
//! access logs, keys in ConfigMaps. A host that forwards tool output to a model
//! provider must never see them.
//!
//! # Design
//!
//! Two kinds of rules, each a single regular expression:
//!
//! * **Shape rules** recognise a secret by its own form wherever it appears:
//!   JWTs, PEM private keys, vendor tokens with a fixed prefix (Slack `xox?-`,
//!   GitHub `ghp_`, AWS `AKIA`, Google `AIza`, OpenAI/Stripe `sk-`/`sk_live_`),
//!   `Bearer`/`Basic` credentials, passwords inside URLs, Azure SAS signatures.
//! * **Key rules** recognise a secret by the name it is stored under:
//!   `key=value`, `key: value`, `"key": "value"` and Kubernetes-style
//!   `name: DB_PASSWORD … value: hunter2` pairs, where the key *ends* in a
//!   secret-sounding word (`password`, `secret`, `token`, `api_key`,
//!   `credentials`, `private_key`, `access_key`, …).
//!
//! The key rule looks at the *last components* of a key (split on `_`, `-`, `.`
//! and camelCase), not at substrings: `DB_PASSWORD` and `x-auth-token` are
//! secret, but `tokenizer`, `max_tokens`, `secretName` and `password_file` are
//! not — the first three are ordinary words, and the last names a place where a
//! secret lives, which is useful evidence and no secret itself.
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

use regex::{Captures, Regex, RegexSet};

/// The marker that replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Secret words that make a key secret when they end it.
///
/// Multi-word entries are matched against the key's last components, so
/// `api_key`, `apiKey`, `API-KEY` and `x_api_key` all match `api key`.
const SECRET_KEY_ENDINGS: &[&[&str]] = &[
    &["password"],
    &["passwd"],
    &["pwd"],
    &["pass"],
    &["passphrase"],
    &["secret"],
    &["secrets"],
    &["token"],
    &["apikey"],
    &["api", "key"],
    &["access", "key"],
    &["secret", "key"],
    &["private", "key"],
    &["privatekey"],
    &["account", "key"],
    &["signing", "key"],
    &["encryption", "key"],
    &["master", "key"],
    &["client", "secret"],
    &["credential"],
    &["credentials"],
    &["creds"],
    &["authorization"],
    &["cookie"],
    &["session", "id"],
    &["sessionid"],
    &["connection", "string"],
    &["connectionstring"],
    &["conn", "str"],
    &["dsn"],
    &["sas"],
    &["sig"],
];

struct Rules {
    prefilter: RegexSet,
    pem: Regex,
    jwt: Regex,
    auth_scheme: Regex,
    url_password: Regex,
    vendor: Regex,
    name_value: Regex,
    key_value: Regex,
}

// The patterns are literals checked by the tests below; a failure to compile is
// a bug caught by the first test run, never a runtime condition.
#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("redaction pattern compiles")
}

const PEM: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";
const JWT: &str = r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}";
const AUTH_SCHEME: &str = r"(?i)\b(bearer|basic|token|digest)(\s+)([A-Za-z0-9._~+/=-]{12,})";
// scheme://user:password@host — the password is group 2.
const URL_PASSWORD: &str = r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/?#@]*:)([^\s@/?#]+)@";
const VENDOR: &str = concat!(
    r"\b(?:",
    r"xox[abposre]-[0-9A-Za-z-]{10,}", // Slack bot/user/app tokens
    r"|xapp-\d-[0-9A-Za-z-]{10,}",     // Slack app-level tokens
    r"|hooks\.slack\.com/services/[A-Za-z0-9/]{20,}", // Slack incoming webhooks
    r"|gh[pousr]_[A-Za-z0-9]{36,}",    // GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{40,}",  // GitHub fine-grained tokens
    r"|glpat-[A-Za-z0-9_-]{20,}",      // GitLab tokens
    r"|(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}", // AWS access key ids
    r"|AIza[0-9A-Za-z_-]{35}",         // Google API keys
    r"|ya29\.[0-9A-Za-z_-]{20,}",      // Google OAuth access tokens
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}", // OpenAI / Anthropic keys
    r"|[rs]k_(?:live|test)_[0-9A-Za-z]{16,}", // Stripe keys
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", // SendGrid keys
    r"|npm_[A-Za-z0-9]{36}",           // npm tokens
    r"|[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", // Azure AD client secrets
    r")",
);
// Kubernetes env style: `name: DB_PASSWORD` then `value: hunter2` within the
// same small object, in YAML or JSON. Group 1: everything before the value,
// group 2: the name, group 3: the value.
const NAME_VALUE: &str = r#"(?i)("?name"?\s*[:=]\s*"?([A-Za-z0-9_.-]+)"?\s*,?\s*(?:-\s*)?"?value"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|[^\s,}\]"]+)"#;
// key=value, key: value, "key": "value". Group 1: everything before the value,
// group 2: the key, group 3: the value. A value never starts with `{` or `[`:
// `"secret": {"secretName": …}` (a pod's Secret volume) is a structure whose
// scalars are checked on their own, and masking its brace would break the JSON.
const KEY_VALUE: &str = r#"(([A-Za-z0-9_.-]*[A-Za-z0-9])"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',;&?}\])\[{][^\s"',;&?}\])]*)"#;

static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let patterns = [
        PEM,
        JWT,
        AUTH_SCHEME,
        URL_PASSWORD,
        VENDOR,
        // Cheap pre-check for the key rules: any secret-ish word at all.
        r"(?i)pass|pwd|secret|token|key|cred|auth|cookie|session|conn|dsn|sas|sig",
    ];
    #[allow(clippy::expect_used)]
    let prefilter = RegexSet::new(patterns).expect("redaction prefilter compiles");
    Rules {
        prefilter,
        pem: compile(PEM),
        jwt: compile(JWT),
        auth_scheme: compile(AUTH_SCHEME),
        url_password: compile(URL_PASSWORD),
        vendor: compile(VENDOR),
        name_value: compile(NAME_VALUE),
        key_value: compile(KEY_VALUE),
    }
});

/// Splits a key into lower-case components on `_`, `-`, `.` and camelCase
/// boundaries: `xApiKey` → `["x", "api", "key"]`.
fn key_components(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in key.chars() {
        if matches!(ch, '_' | '-' | '.' | ' ') {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        current.extend(ch.to_lowercase());
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Whether a key names a secret: its last components are a secret word.
pub fn is_secret_key(key: &str) -> bool {
    let parts = key_components(key);
    SECRET_KEY_ENDINGS.iter().any(|ending| {
        parts.len() >= ending.len()
            && parts[parts.len() - ending.len()..]
                .iter()
                .zip(ending.iter())
                .all(|(a, b)| a == b)
    })
}

/// Values that carry no secret even under a secret key: empty, placeholders,
/// references to where the secret comes from, booleans.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    v.is_empty()
        || v.starts_with("[REDACTED")
        || v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with('<')
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X')
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true"
                | "false"
                | "null"
                | "none"
                | "nil"
                | "required"
                | "optional"
                | "redacted"
                | "bearer"
                | "basic"
                | "digest"
        )
}

/// Replaces a value, keeping its quotes so JSON and YAML stay well-formed.
fn mask_value(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        format!("\"{REDACTED}\"")
    } else if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        format!("'{REDACTED}'")
    } else {
        REDACTED.to_string()
    }
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
        if is_secret_key(key.as_str()) && !is_placeholder(value.as_str()) {
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

/// Masks every secret found in `text`. Returns the input unchanged (borrowed)
/// when nothing was found.
pub fn redact(text: &str) -> Cow<'_, str> {
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
    if hits.matched(2) {
        out = replace(out, &rules.auth_scheme, |c| {
            format!("{}{}{REDACTED}", &c[1], &c[2])
        });
    }
    if hits.matched(3) {
        out = replace(out, &rules.url_password, |c| {
            format!("{}{REDACTED}@", &c[1])
        });
    }
    if hits.matched(4) {
        out = replace(out, &rules.vendor, |_| REDACTED.to_string());
    }
    if hits.matched(5) {
        for re in [&rules.name_value, &rules.key_value] {
            out = mask_keyed_values(out, re);
        }
    }
    out
}

/// Redacts every string inside a JSON value, in place. Object keys that name
/// a secret have their string values masked whatever their shape.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(masked) = redact(s) {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(s) if is_secret_key(key) && !is_placeholder(s) => {
                        *s = REDACTED.to_string();
                    }
                    _ => redact_json(v),
                }
            }
        }
        _ => {}
    }
}
