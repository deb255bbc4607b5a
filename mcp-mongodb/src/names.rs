//! Database and collection names, checked by MongoDB's own rules before they
//! reach a backend.
//!
//! A name the server would refuse is refused here too, with a clear error,
//! and a snapshot never sees a name that could leave its directory:
//!
//! * **database**: not empty, fewer than 64 bytes, none of `/\. "$*<>:|?`
//!   and no NUL (MongoDB's rules for every platform);
//! * **collection**: not empty, no NUL, no `$`, not starting with `.`, and
//!   not starting with `system.` unless it is one the server reads itself
//!   ([`KNOWN_SYSTEM`]); `db.collection` fits in 255 bytes.
//!
//! Collection names may legally hold `/` or `..` (`a/../../b` is a valid
//! MongoDB collection); the snapshot backend refuses those on its own
//! ([`crate::snapshot`]), because it stores a collection as one directory.

use crate::error::Error;

/// Characters MongoDB forbids in database names (on any platform).
const DB_FORBIDDEN: &[char] = &['/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?'];

/// Longest database name, in bytes (MongoDB: fewer than 64).
pub const MAX_DB_BYTES: usize = 63;

/// Longest namespace `db.collection`, in bytes.
pub const MAX_NS_BYTES: usize = 255;

/// `system.` collections this server reads (the profiler, through
/// `slow_queries`); every other `system.*` name is refused.
pub const KNOWN_SYSTEM: &[&str] = &["system.profile"];

fn invalid(kind: &'static str, what: &str, name: &str, why: &str) -> Error {
    Error::InvalidName {
        kind,
        arg: what.to_string(),
        name: name.escape_debug().to_string(),
        why: why.to_string(),
    }
}

/// The rules every name keeps, checked first: it is not blank (an error
/// naming the argument) and holds no NUL.
fn check_basic(kind: &'static str, name: &str, what: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::BadArgument(format!("`{what}` must not be empty")));
    }
    if name.contains('\0') {
        return Err(invalid(kind, what, name, "it contains a NUL character"));
    }
    Ok(())
}

/// Checks a database name (`what` names the argument, e.g. `database`).
pub fn check_database(name: &str, what: &str) -> Result<(), Error> {
    check_basic("database", name, what)?;
    let why = if let Some(c) = name.chars().find(|c| DB_FORBIDDEN.contains(c)) {
        format!("a database name cannot contain `{c}` (nor any of / \\ . space \" $ * < > : | ?)")
    } else if name.len() > MAX_DB_BYTES {
        format!(
            "a database name has fewer than 64 bytes (this one has {})",
            name.len()
        )
    } else {
        return Ok(());
    };
    Err(invalid("database", what, name, &why))
}

/// Checks a collection name of database `db` (already checked).
pub fn check_collection(db: &str, name: &str, what: &str) -> Result<(), Error> {
    check_basic("collection", name, what)?;
    let why = if name.contains('$') {
        "a collection name cannot contain `$` (and this server reads no `$` system collection)"
            .to_string()
    } else if name.starts_with('.') {
        "a collection name cannot start with `.`".to_string()
    } else if name.starts_with("system.") && !KNOWN_SYSTEM.contains(&name) {
        "it is a system collection (users, roles and keys live in those) and is not read by this \
         server; for the profiler use slow_queries"
            .to_string()
    } else if db.len() + 1 + name.len() > MAX_NS_BYTES {
        format!("the namespace `db.collection` is longer than {MAX_NS_BYTES} bytes")
    } else {
        return Ok(());
    };
    Err(invalid("collection", what, name, &why))
}

/// Checks both names of a namespace.
pub fn check_namespace(db: &str, coll: &str) -> Result<(), Error> {
    check_database(db, "database")?;
    check_collection(db, coll, "collection")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_follow_mongodb_rules() {
        for ok in ["shop", "app_eu-1", "Shop2", &"a".repeat(63)] {
            assert!(check_database(ok, "database").is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "/srv/other",
            "../x",
            "a/../../b",
            "..",
            ".",
            "a.b",
            "a b",
            "a\\b",
            "a$b",
            "a*",
            "a<b",
            "a>b",
            "a:b",
            "a|b",
            "a?",
            "a\"b",
            "a\0b",
            &"a".repeat(64),
        ] {
            let e = check_database(bad, "database").unwrap_err().to_string();
            assert!(
                e.contains("invalid database name") || e.contains("must not be empty"),
                "{bad:?}: {e}"
            );
            assert!(!e.contains('\0'), "{e:?}");
        }
    }

    #[test]
    fn collection_names_follow_mongodb_rules() {
        for ok in [
            "orders",
            "orders.archive",
            "a/b",
            "a/../../b",
            "system.profile",
            "x y",
        ] {
            assert!(check_collection("shop", ok, "collection").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "$cmd",
            "a$b",
            "oplog.$main",
            ".hidden",
            "..",
            "../x",
            "system.users",
            "system.js",
            "a\0b",
        ] {
            let e = check_collection("shop", bad, "collection")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("invalid collection name") || e.contains("must not be empty"),
                "{bad:?}: {e}"
            );
        }
        let long = "c".repeat(251);
        assert!(check_collection("shop", &long, "collection").is_err());
        assert!(check_collection("shop", &long[..250], "collection").is_ok());
    }
}
