//! Which proxy, if any, reaches an API server: the kubeconfig's `proxy-url`, else
//! `HTTPS_PROXY` unless `NO_PROXY` covers the server — the rules of kubectl (client-go).
//!
//! `kube` (5.0) reads the same variables but matches `NO_PROXY` against the *proxy's* address
//! instead of the API server's, so `NO_PROXY=10.0.0.1` does not exempt an API server at
//! 10.0.0.1, and `NO_PROXY=localhost` drops a local proxy for every cluster. The client
//! configuration is therefore corrected with [`effective_proxy`] before the client is built.

use std::net::IpAddr;

use http::Uri;

/// The proxy for `server`: `kubeconfig_proxy` (a cluster's `proxy-url`, used as given, as
/// kubectl does), else `https_proxy` unless `no_proxy` covers the server. Empty values count
/// as unset. An unparsable proxy URL is an error naming it.
pub fn effective_proxy(
    kubeconfig_proxy: Option<&str>,
    https_proxy: Option<&str>,
    no_proxy: Option<&str>,
    server: &Uri,
) -> Result<Option<Uri>, String> {
    let parse = |p: &str, from: &str| {
        p.parse::<Uri>()
            .map(Some)
            .map_err(|e| format!("{from} {p:?} is not a URL: {e}"))
    };
    if let Some(p) = nonempty(kubeconfig_proxy) {
        return parse(p, "the kubeconfig's proxy-url");
    }
    let Some(p) = nonempty(https_proxy) else {
        return Ok(None);
    };
    if nonempty(no_proxy).is_some_and(|np| no_proxy_covers(np, server)) {
        return Ok(None);
    }
    parse(p, "HTTPS_PROXY")
}

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// The proxy variables of this process, as [`effective_proxy`] takes them.
pub fn from_env() -> (Option<String>, Option<String>) {
    let var = |names: &[&str]| {
        names
            .iter()
            .filter_map(|n| std::env::var(n).ok())
            .find(|v| !v.trim().is_empty())
    };
    (
        var(&["HTTPS_PROXY", "https_proxy"]),
        var(&["NO_PROXY", "no_proxy"]),
    )
}

/// Whether a `NO_PROXY` list covers `url`: `*`; an IP address or CIDR range; a host name,
/// which also covers its subdomains (`example.com` and `.example.com` both cover
/// `api.example.com`); each optionally with `:port`. Case-insensitive, like curl and Go.
pub fn no_proxy_covers(no_proxy: &str, url: &Uri) -> bool {
    let Some(host) = url.host() else {
        return false;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = url.port_u16().or(match url.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    });
    let ip: Option<IpAddr> = host.parse().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            if let Some((net, bits)) = entry.split_once('/') {
                return match (ip, net.parse::<IpAddr>(), bits.parse::<u32>()) {
                    (Some(ip), Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                    _ => false,
                };
            }
            let (name, entry_port) = split_port(&entry);
            if entry_port.is_some() && entry_port != port {
                return false;
            }
            if let (Some(ip), Ok(want)) = (ip, name.parse::<IpAddr>()) {
                return ip == want;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
        })
}

/// `host:port` → (host, port); bare IPv6 addresses and `[v6]:port` handled.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    if entry.matches(':').count() == 1
        && let Some((h, p)) = entry.split_once(':')
        && let Ok(p) = p.parse()
    {
        return (h, Some(p));
    }
    (entry, None)
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn no_proxy_entries() {
        let api = uri("https://10.0.0.1:6443");
        for (list, covered) in [
            ("10.0.0.1", true),
            ("10.0.0.0/8", true),
            ("10.0.0.2,localhost", false),
            ("*", true),
            ("10.0.0.1:6443", true),
            ("10.0.0.1:443", false),
            (" 192.168.0.0/16 , 10.0.0.0/24 ", true),
        ] {
            assert_eq!(no_proxy_covers(list, &api), covered, "{list}");
        }
        let named = uri("https://api.prod.example.com");
        for (list, covered) in [
            ("example.com", true),
            (".example.com", true),
            ("*.example.com", true),
            ("prod.example.com:443", true),
            ("ample.com", false),
            ("api.prod.example.com.evil", false),
        ] {
            assert_eq!(no_proxy_covers(list, &named), covered, "{list}");
        }
        assert!(no_proxy_covers("::1", &uri("http://[::1]:8080")));
        assert!(no_proxy_covers("fd00::/8", &uri("https://[fd00::5]")));
    }

    /// kubectl's order: the kubeconfig's proxy-url as given; else HTTPS_PROXY unless NO_PROXY
    /// covers the *server* (kube 5 matched it against the proxy's own address).
    #[test]
    fn kubeconfig_proxy_then_environment_minus_no_proxy() {
        let api = uri("https://10.0.0.1:6443");
        let env_proxy = Some("http://proxy.corp:3128");
        assert_eq!(
            effective_proxy(None, env_proxy, Some("10.0.0.1"), &api),
            Ok(None)
        );
        assert_eq!(
            effective_proxy(None, env_proxy, Some("proxy.corp"), &api)
                .unwrap()
                .map(|u| u.to_string()),
            Some("http://proxy.corp:3128/".to_string())
        );
        assert_eq!(
            effective_proxy(Some("http://jump:8080"), env_proxy, Some("*"), &api)
                .unwrap()
                .map(|u| u.to_string()),
            Some("http://jump:8080/".to_string())
        );
        assert_eq!(effective_proxy(None, Some(" "), None, &api), Ok(None));
        assert!(effective_proxy(None, Some("http://bad host"), None, &api).is_err());
    }
}
