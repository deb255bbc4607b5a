//! Which keys name a secret, and which values under them are one: the key's
//! words decide how sure we are (strong or weak), the value's shape decides
//! the weak cases. Kept apart from the patterns that find keys in text.

/// How sure a key's name makes us that its value is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strength {
    /// Always a secret (`password`, `DB_PASSWORD`, `api_key`).
    Strong,
    /// A secret only when the value looks like one (`pass=1204`, `secrets=14`).
    Weak,
}

/// Secret words that make a key secret when they end it, and whether the
/// word alone (a key of one component) is only a weak hint.
///
/// Multi-word entries are matched against the key's last components, so
/// `api_key`, `apiKey`, `API-KEY` and `x_api_key` all match `api key`.
const SECRET_KEY_ENDINGS: &[(&[&str], bool)] = &[
    (&["password"], false),
    (&["passwd"], false),
    (&["pwd"], false),
    (&["pass"], true),
    (&["passphrase"], false),
    (&["passcode"], false),
    (&["requirepass"], false),
    (&["masterauth"], false),
    (&["secret"], false),
    (&["secrets"], true),
    (&["token"], true),
    (&["apikey"], false),
    (&["api", "key"], false),
    (&["app", "key"], false),
    (&["appkey"], false),
    (&["application", "key"], false),
    (&["access", "key"], false),
    (&["secret", "key"], false),
    (&["private", "key"], false),
    (&["privatekey"], false),
    (&["account", "key"], false),
    (&["signing", "key"], false),
    (&["encryption", "key"], false),
    (&["master", "key"], false),
    (&["admin", "key"], false),
    (&["subscription", "key"], false),
    (&["functions", "key"], false),
    (&["function", "key"], false),
    (&["license", "key"], false),
    (&["key", "data"], false),
    (&["client", "secret"], false),
    (&["credential"], false),
    (&["credentials"], false),
    (&["creds"], true),
    (&["authorization"], true),
    (&["auth"], true),
    (&["cookie"], true),
    (&["session", "id"], true),
    (&["sessionid"], true),
    (&["connection", "string"], false),
    (&["connectionstring"], false),
    (&["conn", "str"], false),
    (&["dsn"], false),
    (&["sas"], true),
    (&["sig"], true),
    (&["signature"], true),
];

/// Endings that stay weak even after a qualifier (`basic_auth=true`,
/// `REQUIRE_AUTH=yes`): only a credential-looking value is masked.
const ALWAYS_WEAK: &[&str] = &["auth", "authorization", "secrets", "cookie", "creds"];

/// Splits a key into lower-case components on `_`, `-`, `.` and camelCase
/// boundaries: `xApiKey` → `["x", "api", "key"]`.
fn key_components(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in key.chars() {
        if matches!(ch, '_' | '-' | '.' | ' ' | ':' | '/') {
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

pub(super) fn key_strength(key: &str) -> Option<Strength> {
    let parts = key_components(key);
    // `PGPASSWORD`, `MYSQL_ROOTPASSWORD`, `HTTP_Passwd`: glued words.
    if let Some(last) = parts.last()
        && ["password", "passwd", "passphrase"]
            .iter()
            .any(|w| last.len() > w.len() && last.ends_with(w))
    {
        return Some(Strength::Strong);
    }
    SECRET_KEY_ENDINGS
        .iter()
        .find(|(ending, _)| {
            parts.len() >= ending.len()
                && parts[parts.len() - ending.len()..]
                    .iter()
                    .zip(ending.iter())
                    .all(|(a, b)| a == b)
        })
        .map(|(ending, weak_bare)| {
            let bare = parts.len() == ending.len();
            let always_weak = ending.len() == 1 && ALWAYS_WEAK.contains(&ending[0]);
            if (*weak_bare && bare) || always_weak {
                Strength::Weak
            } else {
                Strength::Strong
            }
        })
}

/// Whether a key names a secret: its last components are a secret word.
pub fn is_secret_key(key: &str) -> bool {
    key_strength(key).is_some()
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\'', '`'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Values that carry no secret even under a secret key: empty, placeholders,
/// references to where the secret comes from, booleans.
pub(super) fn is_placeholder(value: &str) -> bool {
    let v = unquote(value);
    v.is_empty()
        || v.starts_with("[REDACTED")
        || v.starts_with("[redacted")
        || v.starts_with("[hidden")
        || v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with("{{")
        || v.starts_with('<')
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '•')
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true"
                | "false"
                | "null"
                | "none"
                | "nil"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "required"
                | "optional"
                | "redacted"
                | "bearer"
                | "basic"
                | "digest"
                | "changeme"
                | "undefined"
        )
}

/// Whether a value under a weak key (or in free text) looks like a
/// credential rather than a word or a count: long enough, no spaces, not all
/// digits, not an ordinary lower-case word.
pub(super) fn looks_secret(value: &str) -> bool {
    // Brackets are punctuation around a value (FreeRADIUS's `Auth: (88231)
    // Login incorrect` numbers its request), not part of it.
    let v = unquote(value)
        .trim_start_matches(['(', '['])
        .trim_end_matches(['.', ',', ';', ')', ']', ':']);
    if v.chars().count() < 6 || v.chars().any(char::is_whitespace) {
        return false;
    }
    if v.chars().all(|c| c.is_ascii_digit()) {
        return v.len() >= 10;
    }
    let wordish = v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    if wordish {
        return false;
    }
    // A capitalised word ("Unauthorized", "Forbidden"), a status code with
    // its text, a duration or a size is no credential either.
    let mut chars = v.chars();
    let capitalised = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_lowercase());
    !capitalised
}

pub(super) fn value_is_secret(strength: Strength, value: &str) -> bool {
    if is_placeholder(value) {
        return false;
    }
    match strength {
        Strength::Strong => true,
        Strength::Weak => looks_secret(value),
    }
}
