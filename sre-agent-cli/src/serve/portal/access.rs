//! Who is at the portal, and what they may do.
//!
//! A person is who an authenticating reverse proxy says
//! (`--trusted-user-header`), and only on a connection from one of
//! `--trusted-proxies`: anyone else who reaches the bot's port directly
//! could otherwise set the header and name themselves. Their role comes
//! from the proxy's groups header: a member of `--responder-groups` (or
//! anyone signed in, when no responder groups are configured) may work
//! incidents, a member of `--approver-groups` may also approve remediation
//! steps; the rest read. The shared `--portal-token` is for scripts and
//! dashboards and only reads: it names nobody, and actions need a name for
//! the audit log.
//!
//! A form post must come from the portal's own pages (`Sec-Fetch-Site`,
//! else `Origin` against `Host`): the proxy's session cookie would otherwise
//! let any site a responder visits acknowledge or resolve incidents.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use ipnet::IpNet;
use maud::html;
use subtle::ConstantTimeEq;

use super::super::App;
use super::layout;

/// The cookie holding the portal token.
pub const COOKIE: &str = "sre_portal";

/// What a portal user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything.
    Viewer,
    /// Also acknowledge, mitigate, resolve, reopen, assign and add notes.
    Responder,
    /// Also approve and run remediation steps.
    Approver,
}

/// Who the portal user is, once let in.
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// Their name, when a trusted proxy named them.
    pub name: Option<String>,
    /// What they may do.
    pub role: Role,
}

impl PortalUser {
    fn anonymous() -> Self {
        PortalUser {
            name: None,
            role: Role::Viewer,
        }
    }

    /// The name to act under, when they may work incidents.
    pub fn responder(&self) -> Option<&str> {
        self.at_least(Role::Responder)
    }

    /// The name to approve under, when they may approve remediations.
    pub fn approver(&self) -> Option<&str> {
        self.at_least(Role::Approver)
    }

    fn at_least(&self, role: Role) -> Option<&str> {
        (self.role >= role)
            .then_some(self.name.as_deref())
            .flatten()
    }
}

/// Reads `--trusted-proxies` entries: a CIDR, or one address.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR (e.g. 10.0.0.0/8)"))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The query string without `token=`.
pub(super) fn without_token(query: &str) -> String {
    query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect::<Vec<_>>()
        .join("&")
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The person a trusted proxy names on this request, with their role.
fn proxied_user(app: &App, req: &Request) -> Option<PortalUser> {
    let name = app.args.trusted_user_header.as_deref()?;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        // An IPv4 peer on a dual-stack listener shows as ::ffff:a.b.c.d.
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
    if !app.args.trusted_proxies.iter().any(|n| n.contains(&peer)) {
        tracing::debug!(%peer, "portal user header from an untrusted address ignored");
        return None;
    }
    let user = header_text(req.headers(), name)?.to_string();
    let groups: Vec<&str> = app
        .args
        .trusted_groups_header
        .as_deref()
        .and_then(|h| header_text(req.headers(), h))
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    let member = |of: &[String]| groups.iter().any(|g| of.iter().any(|r| r == g));
    let role = if member(&app.args.approver_groups)
        || super::super::remediate::listed(&app.args.approvers, &user)
    {
        Role::Approver
    } else if app.args.responder_groups.is_empty() || member(&app.args.responder_groups) {
        Role::Responder
    } else {
        Role::Viewer
    };
    Some(PortalUser {
        name: Some(user),
        role,
    })
}

/// Whether a state-changing request comes from the portal's own pages.
/// Browsers send `Sec-Fetch-Site` on every request (all current ones) and
/// `Origin` on every POST; a script with neither is not a browser carrying
/// someone's cookie.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = header_text(headers, "sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (
        header_text(headers, header::ORIGIN.as_str()),
        header_text(headers, header::HOST.as_str()),
    ) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The portal's access check (a middleware).
pub async fn guard(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD && !same_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused\n").into_response();
    }
    if let Some(user) = proxied_user(&app, &req) {
        req.extensions_mut().insert(user);
        return next.run(req).await;
    }
    let headers = req.headers();
    if let Some(token) = app.args.portal_token.as_deref().filter(|t| !t.is_empty()) {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| same(t.trim(), token));
        let cookie = cookie_token(headers).is_some_and(|t| same(&t, token));
        if bearer || cookie {
            req.extensions_mut().insert(PortalUser::anonymous());
            return next.run(req).await;
        }
        let query = req.uri().query().unwrap_or("");
        let given = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("token="))
            .next()
            .map(url_decode);
        if given.as_deref().is_some_and(|t| same(t, token)) {
            // Set the cookie and drop the token from the address bar (and
            // from history, logs and Referer headers). Lax, not Strict: the
            // "Open in portal" link is clicked in Slack, a cross-site
            // navigation that would not carry a Strict cookie.
            let rest = without_token(query);
            let target = if rest.is_empty() {
                req.uri().path().to_string()
            } else {
                format!("{}?{rest}", req.uri().path())
            };
            let mut resp = Redirect::to(&target).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
            )) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
        return (
            StatusCode::UNAUTHORIZED,
            Html(layout("Sign in", None, html! {
                p { "This portal needs its access token: open it with " code { "?token=…" } " once, or send " code { "Authorization: Bearer …" } "." }
            }).into_string()),
        )
            .into_response();
    }
    if app.args.trusted_user_header.is_some() {
        return (
            StatusCode::UNAUTHORIZED,
            "no user header from a trusted reverse proxy (see --trusted-proxies)\n",
        )
            .into_response();
    }
    if app.args.listen.ip().is_loopback() {
        req.extensions_mut().insert(PortalUser::anonymous());
        return next.run(req).await;
    }
    (
        StatusCode::FORBIDDEN,
        "the portal needs --portal-token or --trusted-user-header when listening beyond loopback\n",
    )
        .into_response()
}

fn url_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("t={s}"))
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_dropped_from_the_query() {
        assert_eq!(without_token("token=abc&status=done"), "status=done");
        assert_eq!(without_token("token=abc"), "");
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let n = parse_net("10.1.2.3").unwrap();
        assert!(n.contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert!(!n.contains(&"10.1.2.4".parse::<IpAddr>().unwrap()));
        assert!(
            parse_net("127.0.0.0/8")
                .unwrap()
                .contains(&"127.9.9.9".parse::<IpAddr>().unwrap())
        );
        assert!(parse_net("::1/128").is_ok());
        assert!(
            parse_net("proxy.local")
                .unwrap_err()
                .contains("proxy.local")
        );
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&h(&[
            ("origin", "https://sre.example"),
            ("host", "sre.example")
        ])));
        assert!(!same_origin(&h(&[
            ("origin", "https://evil.example"),
            ("host", "sre.example")
        ])));
        // curl and scripts: no browser, no cookie riding along.
        assert!(same_origin(&h(&[("host", "sre.example")])));
    }
}
