//! The database/collection allowlist, enforced by the server whatever the
//! caller asks.
//!
//! `--allow-databases shop,analytics_*` and `--allow-collections
//! shop.orders,shop.cust*` take names or `*` globs. Empty lists allow
//! everything. A namespace is allowed when its database matches
//! `--allow-databases` (if given) and `db.collection` matches
//! `--allow-collections` (if given). Collections named `system.*` are never
//! read by the bounded-read tools (they hold users, roles and keys); the
//! profiler is read only by `slow_queries`.

use crate::error::Error;

/// Allowed databases and collections.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    databases: Vec<String>,
    collections: Vec<String>,
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Allowlist {
    /// An allowlist from the flags' values (empty entries are ignored).
    pub fn new(databases: Vec<String>, collections: Vec<String>) -> Self {
        let clean = |v: Vec<String>| {
            v.into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Self {
            databases: clean(databases),
            collections: clean(collections),
        }
    }

    /// Whether any restriction is in force.
    pub fn is_restricted(&self) -> bool {
        !self.databases.is_empty() || !self.collections.is_empty()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.databases.is_empty() {
            parts.push(format!("--allow-databases {}", self.databases.join(",")));
        }
        if !self.collections.is_empty() {
            parts.push(format!(
                "--allow-collections {}",
                self.collections.join(",")
            ));
        }
        parts.join(" ")
    }

    /// Whether anything in database `db` may be seen.
    pub fn database_allowed(&self, db: &str) -> bool {
        (self.databases.is_empty() || self.databases.iter().any(|p| glob(p, db)))
            && (self.collections.is_empty()
                || self.collections.iter().any(|p| {
                    let db_part = p.split_once('.').map_or(p.as_str(), |(d, _)| d);
                    glob(db_part, db)
                }))
    }

    /// Whether `db.coll` may be seen.
    pub fn namespace_allowed(&self, db: &str, coll: &str) -> bool {
        (self.databases.is_empty() || self.databases.iter().any(|p| glob(p, db)))
            && (self.collections.is_empty()
                || self
                    .collections
                    .iter()
                    .any(|p| glob(p, &format!("{db}.{coll}"))))
    }

    /// Whether a namespace string (`db.coll`, `db.$cmd` or empty) reported by
    /// the server may be shown. Empty namespaces carry no data and are shown.
    pub fn ns_allowed(&self, ns: &str) -> bool {
        if ns.is_empty() || !self.is_restricted() {
            return true;
        }
        match ns.split_once('.') {
            Some((db, "$cmd")) => self.database_allowed(db),
            Some((db, coll)) => self.namespace_allowed(db, coll),
            None => self.database_allowed(ns),
        }
    }

    /// Refuses a database outside the allowlist.
    pub fn check_database(&self, db: &str) -> Result<(), Error> {
        if self.database_allowed(db) {
            Ok(())
        } else {
            Err(Error::NotAllowed {
                what: format!("database `{db}`"),
                allowed: self.describe(),
            })
        }
    }

    /// Refuses a namespace outside the allowlist, and `system.*` collections.
    pub fn check_namespace(&self, db: &str, coll: &str) -> Result<(), Error> {
        if coll.starts_with("system.") {
            return Err(Error::BadArgument(format!(
                "`{db}.{coll}` is a system collection and is not read by this tool (users, roles \
                 and keys live there); for the profiler use slow_queries"
            )));
        }
        if self.namespace_allowed(db, coll) {
            Ok(())
        } else {
            Err(Error::NotAllowed {
                what: format!("collection `{db}.{coll}`"),
                allowed: self.describe(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("shop", "shop"));
        assert!(!glob("shop", "shop2"));
        assert!(glob("analytics_*", "analytics_eu"));
        assert!(glob("*", "x"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abcd"));
    }

    #[test]
    fn empty_allows_all() {
        let a = Allowlist::default();
        assert!(a.namespace_allowed("x", "y"));
        assert!(a.check_namespace("x", "system.users").is_err());
    }

    #[test]
    fn databases_and_collections() {
        let a = Allowlist::new(vec!["shop".into()], vec!["shop.orders".into()]);
        assert!(a.database_allowed("shop"));
        assert!(!a.database_allowed("admin"));
        assert!(a.namespace_allowed("shop", "orders"));
        assert!(!a.namespace_allowed("shop", "users"));
        assert!(a.ns_allowed("shop.$cmd"));
        assert!(!a.ns_allowed("billing.invoices"));
        let e = a.check_namespace("shop", "users").unwrap_err().to_string();
        assert!(
            e.contains("shop.users") && e.contains("--allow-collections shop.orders"),
            "{e}"
        );
        let c = Allowlist::new(vec![], vec!["shop.*".into()]);
        assert!(c.database_allowed("shop") && !c.database_allowed("billing"));
    }
}
