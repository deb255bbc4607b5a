//! The server's own access policy, enforced before any request leaves: namespace
//! allow/deny lists for reads, a namespace allowlist for writes, and the Secrets switch.

use crate::error::{K8sError, Result};

/// Namespace and Secret policy. Patterns are exact names or prefixes ending in `*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// If non-empty, reads are limited to these namespaces.
    pub allow_namespaces: Vec<String>,
    /// Namespaces never read or written (wins over the allowlist).
    pub deny_namespaces: Vec<String>,
    /// If non-empty, writes are limited to these namespaces (reads policy still applies).
    pub write_namespaces: Vec<String>,
    /// Whether Secret objects may be listed/described at all (names and keys only; never values).
    pub allow_secrets: bool,
}

fn matches(pattern: &str, ns: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => ns.starts_with(prefix),
        None => pattern == ns,
    }
}

impl Policy {
    /// Whether reads of `ns` are allowed.
    pub fn read_allowed(&self, ns: &str) -> bool {
        self.check_read(ns).is_ok()
    }

    /// Errors unless reads of `ns` are allowed.
    pub fn check_read(&self, ns: &str) -> Result<()> {
        if let Some(p) = self.deny_namespaces.iter().find(|p| matches(p, ns)) {
            return Err(K8sError::NamespaceDenied {
                namespace: ns.to_string(),
                why: format!("denied by {p:?}"),
            });
        }
        if !self.allow_namespaces.is_empty()
            && !self.allow_namespaces.iter().any(|p| matches(p, ns))
        {
            return Err(K8sError::NamespaceDenied {
                namespace: ns.to_string(),
                why: format!("allowed namespaces: {}", self.allow_namespaces.join(", ")),
            });
        }
        Ok(())
    }

    /// Errors unless writes in `ns` are allowed.
    pub fn check_write(&self, ns: &str) -> Result<()> {
        self.check_read(ns)?;
        if !self.write_namespaces.is_empty()
            && !self.write_namespaces.iter().any(|p| matches(p, ns))
        {
            return Err(K8sError::NamespaceDenied {
                namespace: ns.to_string(),
                why: format!(
                    "writes allowed only in: {}",
                    self.write_namespaces.join(", ")
                ),
            });
        }
        Ok(())
    }

    /// The allowlist when it names namespaces exactly (no globs), so reads can be issued per namespace.
    pub fn exact_allowlist(&self) -> Option<Vec<String>> {
        if self.allow_namespaces.is_empty()
            || self.allow_namespaces.iter().any(|p| p.ends_with('*'))
        {
            return None;
        }
        Some(
            self.allow_namespaces
                .iter()
                .filter(|n| self.read_allowed(n))
                .cloned()
                .collect(),
        )
    }

    /// Whether any namespace rule exists.
    pub fn restricts_namespaces(&self) -> bool {
        !self.allow_namespaces.is_empty() || !self.deny_namespaces.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_deny_and_writes() {
        let p = Policy {
            allow_namespaces: vec!["shop".into(), "team-*".into()],
            deny_namespaces: vec!["team-secret".into()],
            write_namespaces: vec!["shop".into()],
            allow_secrets: false,
        };
        assert!(p.read_allowed("shop"));
        assert!(p.read_allowed("team-a"));
        assert!(!p.read_allowed("team-secret"));
        assert!(!p.read_allowed("kube-system"));
        assert!(p.check_write("shop").is_ok());
        assert!(p.check_write("team-a").is_err());
        assert_eq!(p.exact_allowlist(), None);
    }
}
