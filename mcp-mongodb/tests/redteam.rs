//! The red-team table (`mcp_kit::redteam`) planted in a recorded database and
//! read back with `find` as a host reads it (after the kit's `finish`): each
//! row as a free-text field, nested in a sub-document, inside an array, as a
//! JSON document stored in a string, and (for secrets) under a secret-named
//! key. Prints `leaked N / planted M, masked look-alikes K / L`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::{args, finish};
use mcp_kit::budget::Budget;
use mcp_kit::redteam::{LOOK_ALIKES, PLANTED, Report};
use mcp_kit::{Guarded, ToolPolicy};
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::snapshot::Snapshot;
use mcp_mongodb::{Limits, MongoServer};
use serde_json::{Value, json};

fn doc(i: usize, text: &str) -> Value {
    json!({"_id": i, "note": text, "profile": {"bio": text}, "history": [text],
        "raw": json!({"message": text}).to_string()})
}

#[tokio::test]
async fn red_team_through_find() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rt");
    for (coll, docs) in [
        (
            "planted",
            PLANTED
                .iter()
                .enumerate()
                .map(|(i, (_, t, s))| {
                    let mut d = doc(i, t);
                    d["credentials"] = json!({"password": s});
                    d
                })
                .collect::<Vec<_>>(),
        ),
        (
            "looks",
            LOOK_ALIKES
                .iter()
                .enumerate()
                .map(|(i, (_, t))| doc(i, t))
                .collect(),
        ),
    ] {
        std::fs::create_dir_all(db.join(coll)).unwrap();
        std::fs::write(
            db.join(coll).join("documents.json"),
            Value::Array(docs).to_string(),
        )
        .unwrap();
    }
    let limits = Limits {
        max_documents: 1_000,
        ..Limits::default()
    };
    let budget = Budget::new(5_000_000);
    let server = MongoServer::new(
        Arc::new(Snapshot::open(dir.path()).unwrap()),
        Allowlist::default(),
        budget,
        limits,
    );
    let g = Guarded::new(server, &ToolPolicy::default(), budget).unwrap();
    let find = |coll: &'static str| {
        let g = &g;
        async move {
            let (text, is_error) = finish(
                g,
                g.inner()
                    .find(args(
                        json!({"database": "rt", "collection": coll, "limit": 1000}),
                    ))
                    .await,
            );
            assert!(!is_error, "{text}");
            text
        }
    };

    let mut r = Report::new("find documents");
    let out = find("planted").await;
    assert!(out.matches("\"_id\"").count() >= PLANTED.len(), "{out}");
    for i in 0..PLANTED.len() {
        r.planted(i, &out);
    }
    let out = find("looks").await;
    let docs: Vec<Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(docs.len(), LOOK_ALIKES.len(), "{out}");
    for (i, (_, look)) in LOOK_ALIKES.iter().enumerate() {
        let d = docs.iter().find(|d| d["_id"] == json!(i)).unwrap();
        let raw: Value = serde_json::from_str(d["raw"].as_str().unwrap()).unwrap();
        r.look_alike(
            i,
            d["note"] == *look
                && d["profile"]["bio"] == *look
                && d["history"][0] == *look
                && raw["message"] == *look,
        );
    }
    let ok = r.print();
    assert!(ok, "{}", r.summary());
}
