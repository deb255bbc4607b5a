//! Who may reach the bot, and how much.
//!
//! The bot's port carries webhooks that start investigations and a portal
//! that shows RCAs, so three doors are guarded here:
//!
//! - **Host** (every route): a page on `attacker.example` whose name later
//!   resolves to 127.0.0.1 (DNS rebinding) makes the browser send
//!   `Host: attacker.example` to a bot bound to loopback. Only names on the
//!   allowlist (`localhost`, the `--public-url`'s host, `--allowed-hosts`)
//!   are answered. A Host that is an IP literal is always let through: the
//!   browser sends one only when the page's own origin is that address,
//!   which is no rebinding, and it is what kubelet probes and Prometheus
//!   scrapes send (the pod's IP).
//! - **Webhook credentials**: a bearer token (Alertmanager's
//!   `http_config.authorization`, SigNoz's webhook "Bearer" header), or the
//!   same token as the password of Basic auth (`http_config.basic_auth`).
//!   Without a token the bot refuses to listen beyond loopback unless told
//!   `--insecure-open-webhooks`.
//! - **Volume**: webhook bodies must be `application/json` (a browser cannot
//!   send that cross-site without a CORS preflight, which the bot never
//!   grants), at most `--webhook-max-bytes`, and each source may open at
//!   most `--webhook-rate` incidents a minute (a token bucket; the excess is
//!   answered 429, which Alertmanager retries, and counted in `/metrics`).
//!   A body refused as too large (413) is left unread, so that response
//!   also closes the connection ([`close_after_refused_body`]): a client
//!   that reused it would send its next request into the rest of the old
//!   body and see the connection drop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::App;

/// The names this bot answers to, from its flags.
pub fn allowed_hosts(args: &super::ServeArgs) -> Vec<String> {
    let mut hosts: Vec<String> = vec!["localhost".into()];
    if let Some(url) = args.public_url.as_deref()
        && let Ok(u) = url::Url::parse(url)
        && let Some(h) = u.host_str()
    {
        hosts.push(h.to_ascii_lowercase());
    }
    hosts.extend(
        args.allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty()),
    );
    hosts
}

/// The host part of a `Host` header: without the port, IPv6 brackets kept
/// out, lower case.
fn host_name(value: &str) -> String {
    let v = value.trim();
    let name = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match v.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => v,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a request with this `Host` header may be answered.
pub fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    // HTTP/1.0 clients may send none; browsers always do.
    let Some(host) = host else { return true };
    if allowed.iter().any(|a| a == "*") {
        return true;
    }
    let name = host_name(host);
    name.parse::<IpAddr>().is_ok() || allowed.contains(&name)
}

/// Middleware on every route: 403 for a `Host` not on the allowlist.
pub async fn check_host(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host());
    if host_allowed(host, &app.allowed_hosts) {
        return next.run(req).await;
    }
    app.metrics.webhook_rejected("any", "host");
    (
        StatusCode::FORBIDDEN,
        "this host name is not served here (see --allowed-hosts)\n",
    )
        .into_response()
}

/// Whether the request carries the webhook token, as a bearer token or as
/// the password of Basic auth (any user name).
pub fn credentials_ok(headers: &HeaderMap, want: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let same = |got: &[u8]| bool::from(got.ct_eq(want.as_bytes()));
    if let Some(token) = value.strip_prefix("Bearer ") {
        return same(token.trim().as_bytes());
    }
    if let Some(b64) = value.strip_prefix("Basic ")
        && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim())
        && let Some(colon) = raw.iter().position(|&b| b == b':')
    {
        return same(&raw[colon + 1..]);
    }
    false
}

/// Adds `Connection: close` to a 413: the refused body was not read, so
/// the connection cannot carry another request.
pub async fn close_after_refused_body(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Whether the body is declared JSON (`application/json`, any parameters,
/// or a `+json` type).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// A token bucket per source: `per_minute` tokens, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// At most `per_minute` a minute per source (0: unlimited).
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `source`; false when its bucket is empty.
    pub fn take(&self, source: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let cap = f64::from(self.per_minute);
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            // A panic elsewhere while holding the lock leaves counts that
            // are still usable.
            Err(poisoned) => poisoned.into_inner(),
        };
        let (tokens, last) = buckets.entry(source.to_string()).or_insert((cap, now));
        let refill = now.duration_since(*last).as_secs_f64() * cap / 60.0;
        *tokens = (*tokens + refill).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hosts_on_the_list_and_ip_literals_pass_names_off_it_do_not() {
        let allowed = vec!["localhost".to_string(), "sre.example.com".to_string()];
        for ok in [
            "localhost:8080",
            "LOCALHOST",
            "sre.example.com",
            "sre.example.com.:443",
            "127.0.0.1:8080",
            "10.1.2.3",
            "[::1]:8080",
        ] {
            assert!(host_allowed(Some(ok), &allowed), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "localhost.attacker.example",
            "sre.example.com.evil",
        ] {
            assert!(!host_allowed(Some(bad), &allowed), "{bad}");
        }
        assert!(host_allowed(Some("anything"), &["*".to_string()]));
    }

    #[test]
    fn bearer_and_basic_carry_the_token() {
        let mut h = HeaderMap::new();
        assert!(!credentials_ok(&h, "s3cret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(credentials_ok(&h, "s3cret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cre"),
        );
        assert!(!credentials_ok(&h, "s3cret"));
        // alertmanager:s3cret
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alertmanager:s3cret")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&basic).unwrap(),
        );
        assert!(credentials_ok(&h, "s3cret"));
        let wrong = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("s3cret:nope")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&wrong).unwrap(),
        );
        assert!(!credentials_ok(&h, "s3cret"));
    }

    #[test]
    fn only_json_bodies_are_webhooks() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (v, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("multipart/form-data; boundary=x", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            assert_eq!(is_json(&h), ok, "{v}");
        }
    }

    #[test]
    fn a_bucket_empties_and_sources_are_apart() {
        let l = RateLimiter::new(3);
        assert!((0..3).all(|_| l.take("alertmanager")));
        assert!(!l.take("alertmanager"));
        assert!(l.take("signoz"));
        let open = RateLimiter::new(0);
        assert!((0..10_000).all(|_| open.take("x")));
    }
}
