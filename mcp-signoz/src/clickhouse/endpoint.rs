//! Where ClickHouse is, as people configure it and as errors show it.
//!
//! The URL is checked once at start-up ([`check_url`]) so a typo fails there,
//! with one line, instead of on the first tool call. Every error that leaves
//! the store names the URL without its credentials ([`display_url`]) and the
//! innermost cause the HTTP stack gave (`Connection refused`, a DNS failure),
//! never a bare `client error (Connect)`.

use std::error::Error as StdError;

use crate::store::StoreError;

/// Why a configured ClickHouse URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--clickhouse-url `{shown}` {why}; use the HTTP(S) interface, e.g. http://clickhouse:8123")]
pub struct UrlError {
    /// The URL as given, credentials removed.
    pub shown: String,
    /// What is wrong with it.
    pub why: String,
}

/// Checks that `raw` is an `http://` or `https://` URL with a host.
///
/// Nothing is contacted: the store still connects on first use.
pub fn check_url(raw: &str) -> Result<(), UrlError> {
    let err = |why: &str| UrlError {
        shown: display_url(raw),
        why: why.to_string(),
    };
    let parsed = url::Url::parse(raw.trim()).map_err(|e| err(&format!("is not a URL ({e})")))?;
    match parsed.scheme() {
        "http" | "https" => {}
        "tcp" | "clickhouse" => {
            return Err(err(
                "uses the native protocol (port 9000); this server speaks ClickHouse's HTTP interface (port 8123, or 8443 with TLS)",
            ));
        }
        other => return Err(err(&format!("has the scheme `{other}`, not http or https"))),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err("has no host"));
    }
    Ok(())
}

/// The URL for messages: scheme, host, port and path, without user,
/// password or query (which may carry credentials too).
pub fn display_url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(u) if u.has_host() => {
            let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
            if let Some(port) = u.port() {
                out.push_str(&format!(":{port}"));
            }
            if u.path() != "/" {
                out.push_str(u.path());
            }
            out
        }
        // Not a URL: show it only up to a possible `user:password@`.
        _ => match raw.rfind('@') {
            Some(i) => format!("…@{}", &raw[i + 1..]),
            None => raw.trim().to_string(),
        },
    }
}

/// The messages of an error and its sources, outermost first, without the
/// ones that only repeat what the previous said or wrap it generically.
fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let redundant = out.last().is_some_and(|prev| prev.ends_with(&text));
        if !redundant && !text.is_empty() {
            out.push(text);
        }
        next = err.source();
    }
    out
}

/// Renders a ClickHouse crate error for `url`: what failed, where, and why.
pub fn store_error(url: &str, e: clickhouse::error::Error) -> StoreError {
    let shown = display_url(url);
    if let clickhouse::error::Error::Network(_) = &e {
        // The first two links are "network error: client error (Connect)"
        // and hyper's own "client error (Connect)": the cause is below them.
        let causes: Vec<String> = chain(&e)
            .into_iter()
            .skip(1)
            .filter(|c| !c.starts_with("client error ("))
            .collect();
        let cause = if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        };
        return StoreError::Unreachable { url: shown, cause };
    }
    let text = e.to_string();
    // ClickHouse appends its version to every exception; it is noise here.
    let short = text
        .split(" (version ")
        .next()
        .unwrap_or(&text)
        .trim()
        .to_string();
    StoreError::ClickHouse {
        url: shown,
        message: short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_credentials() {
        assert!(check_url("http://localhost:8123").is_ok());
        assert!(check_url("https://ch.example:8443/").is_ok());
        let e = check_url("not-a-url").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--clickhouse-url `not-a-url` is not a URL"),
            "{e}"
        );
        let e = check_url("tcp://ch:9000").unwrap_err();
        assert!(e.to_string().contains("native protocol"), "{e}");
        let e = check_url("ftp://ch").unwrap_err();
        assert!(e.to_string().contains("`ftp`"), "{e}");
        assert_eq!(
            display_url("http://reader:s3cret@ch:8123/?password=x"),
            "http://ch:8123"
        );
        let e = check_url("http://reader:s3cret@/").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert_eq!(display_url("reader:s3cret@ch"), "…@ch");
    }
}
