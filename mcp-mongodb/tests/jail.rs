//! `jail_…` tests: `--snapshot DIR` reads nothing outside DIR. Database and
//! collection names are checked by MongoDB's rules, every path is resolved
//! (symbolic links included) and must stay under the snapshot's root, and
//! errors name files relative to the root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{args, finish, guarded};
use mcp_kit::Guarded;
use mcp_mongodb::MongoServer;
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::backend::{Backend, FindSpec};
use mcp_mongodb::snapshot::Snapshot;
use serde_json::json;

/// What the files outside the snapshot hold: must never be shown.
const OUTSIDE: &str = "OUTSIDE-THE-SNAPSHOT-4242";

struct Jail {
    _tmp: tempfile::TempDir,
    /// The snapshot's root (canonical).
    root: std::path::PathBuf,
    /// A directory next to the root holding `c/documents.json`.
    outside: std::path::PathBuf,
    g: Guarded<MongoServer>,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// tmp/snap (the snapshot) and tmp/outside (not in it), with symbolic links
/// from inside the snapshot to outside it.
fn jail() -> Jail {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let root = base.join("snap");
    let outside = base.join("outside");
    let secret = format!(r#"[{{"_id": 1, "note": "{OUTSIDE}"}}]"#);
    write(&outside.join("c/documents.json"), &secret);
    write(
        &outside.join("c/collStats.json"),
        &format!(r#"{{"ns": "{OUTSIDE}"}}"#),
    );
    write(
        &outside.join("listCollections.json"),
        &format!(r#"[{{"name": "{OUTSIDE}"}}]"#),
    );
    write(
        &root.join("shop/orders/documents.json"),
        r#"[{"_id": 1, "status": "open"}]"#,
    );
    std::fs::create_dir_all(root.join("shop/x")).unwrap();
    // A collection directory that is a link to outside, and a documents file
    // that is a link to a file outside.
    std::os::unix::fs::symlink(outside.join("c"), root.join("shop/evil")).unwrap();
    std::fs::create_dir_all(root.join("shop/leak")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("c/documents.json"),
        root.join("shop/leak/documents.json"),
    )
    .unwrap();
    // A database directory that is a relative link to outside.
    std::os::unix::fs::symlink("../outside", root.join("linked")).unwrap();
    let g = guarded(
        Arc::new(Snapshot::open(&root).unwrap()),
        Allowlist::default(),
    );
    Jail {
        _tmp: tmp,
        root,
        outside,
        g,
    }
}

impl Jail {
    async fn find(&self, db: &str, coll: &str) -> (String, bool) {
        finish(
            &self.g,
            self.g
                .inner()
                .find(args(json!({"database": db, "collection": coll})))
                .await,
        )
    }

    /// The answer is an error that shows nothing from outside the root and
    /// neither the root's nor the outside directory's real path.
    fn refused(&self, (text, is_error): (String, bool), why: &str) -> String {
        assert!(is_error, "not refused: {text}");
        assert!(!text.contains(OUTSIDE), "read outside the snapshot: {text}");
        assert!(
            !text.contains(&*self.root.to_string_lossy()),
            "absolute path in {text}"
        );
        assert!(
            !text.contains(&*self.outside.to_string_lossy()) || why == "echoes the input",
            "outside path in {text}"
        );
        text
    }
}

#[tokio::test]
async fn jail_reads_inside_the_snapshot() {
    let j = jail();
    let (text, is_error) = j.find("shop", "orders").await;
    assert!(!is_error && text.contains("1 document(s)"), "{text}");
    // A missing file is named relative to the root.
    let (text, is_error) = j.find("shop", "nothing").await;
    assert!(is_error, "{text}");
    assert!(
        text.contains("snapshot shop/nothing/documents.json: not recorded"),
        "{text}"
    );
    j.refused((text, is_error), "");
}

#[tokio::test]
async fn jail_refuses_an_absolute_database() {
    let j = jail();
    let abs = j.outside.to_string_lossy().to_string();
    let text = j.refused(j.find(&abs, "c").await, "echoes the input");
    assert!(text.contains("invalid database name"), "{text}");
    let text = j.refused(j.find("/srv/other", "c").await, "");
    assert!(text.contains("invalid database name"), "{text}");
}

#[tokio::test]
async fn jail_refuses_parent_directories() {
    let j = jail();
    for (db, coll, why) in [
        ("../outside", "c", "invalid database name"),
        ("..", "outside", "invalid database name"),
        ("shop", "../../outside/c", "invalid collection name"),
        ("shop", "..", "invalid collection name"),
        // Valid MongoDB collection names, but paths: the snapshot refuses.
        ("shop", "x/../../outside/c", "invalid collection name"),
        ("shop", "a/../../b", "invalid collection name"),
        ("shop", "x\\..\\..\\outside\\c", "invalid collection name"),
    ] {
        let text = j.refused(j.find(db, coll).await, "");
        assert!(text.contains(why), "{db} {coll}: {text}");
    }
    let text = j.refused(
        finish(
            &j.g,
            j.g.inner()
                .list_collections(args(json!({"database": "../outside"})))
                .await,
        ),
        "",
    );
    assert!(text.contains("invalid database name"), "{text}");
    let text = j.refused(
        finish(
            &j.g,
            j.g.inner()
                .collection_stats(args(
                    json!({"database": "shop", "collection": "x/../../../outside/c"}),
                ))
                .await,
        ),
        "",
    );
    assert!(text.contains("invalid collection name"), "{text}");
}

#[tokio::test]
async fn jail_refuses_symbolic_links_leading_outside() {
    let j = jail();
    for (db, coll) in [("shop", "evil"), ("shop", "leak"), ("linked", "c")] {
        let text = j.refused(j.find(db, coll).await, "");
        assert!(
            text.contains("not found") && text.contains("outside the snapshot directory"),
            "{db}.{coll}: {text}"
        );
        assert!(
            text.contains(&format!("{db}/{coll}/documents.json")),
            "{text}"
        );
    }
    let text = j.refused(
        finish(
            &j.g,
            j.g.inner()
                .count(args(json!({"database": "shop", "collection": "evil"})))
                .await,
        ),
        "",
    );
    assert!(text.contains("outside the snapshot directory"), "{text}");
    let text = j.refused(
        finish(
            &j.g,
            j.g.inner()
                .list_collections(args(json!({"database": "linked"})))
                .await,
        ),
        "",
    );
    assert!(text.contains("outside the snapshot directory"), "{text}");
}

#[tokio::test]
async fn jail_refuses_nul_characters() {
    let j = jail();
    let text = j.refused(j.find("sh\0op", "orders").await, "");
    assert!(
        text.contains("invalid database name") && text.contains("NUL"),
        "{text}"
    );
    let text = j.refused(j.find("shop", "ord\0ers").await, "");
    assert!(
        text.contains("invalid collection name") && text.contains("NUL"),
        "{text}"
    );
    assert!(!text.contains('\0'), "{text:?}");
}

#[tokio::test]
async fn jail_holds_for_the_backend_used_directly() {
    // A library user calling the backend without the server's checks.
    let j = jail();
    let snap = Snapshot::open(&j.root).unwrap();
    let spec = || FindSpec {
        limit: 10,
        ..Default::default()
    };
    for (db, coll) in [
        ("..", "outside"),
        ("../outside", "c"),
        ("/abs", "c"),
        ("shop", "x/../../../outside/c"),
        ("shop", "evil"),
        ("linked", "c"),
        ("sh\0op", "orders"),
        ("", "orders"),
    ] {
        let e = snap.find(db, coll, spec()).await.unwrap_err().to_string();
        assert!(
            !e.contains(OUTSIDE) && !e.contains(&*j.root.to_string_lossy()),
            "{e}"
        );
        assert!(
            e.contains("invalid database name")
                || e.contains("invalid collection name")
                || e.contains("outside the snapshot directory"),
            "{db:?} {coll:?}: {e}"
        );
    }
    let e = snap.list_collections("..").await.unwrap_err().to_string();
    assert!(e.contains("invalid database name"), "{e}");
    let e = snap
        .coll_stats("shop", "evil")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outside the snapshot directory") && !e.contains(OUTSIDE),
        "{e}"
    );
}
