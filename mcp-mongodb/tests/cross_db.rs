//! `cross_db_…` tests: pipeline stages that read another collection
//! (`$lookup`, `$graphLookup`, `$unionWith`), in this database or another
//! one (`{db, coll}`), are checked against the allowlist and MongoDB's name
//! rules before anything is sent to the backend; `$out` and `$merge` are
//! refused whatever they name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bson::{Document, doc};
use common::{args, finish, guarded};
use mcp_kit::Guarded;
use mcp_mongodb::MongoServer;
use mcp_mongodb::allow::Allowlist;
use mcp_mongodb::backend::{Backend, BoxFuture, FindSpec};
use serde_json::{Value, json};

/// A backend that counts what reaches it and answers aggregate/explain.
#[derive(Default)]
struct Recorder {
    calls: AtomicUsize,
}

impl Recorder {
    fn hit<'a, T: Send + 'a>(&self, value: T) -> BoxFuture<'a, T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(value)))
    }
}

impl Backend for Recorder {
    fn target(&self) -> String {
        "recorder".into()
    }
    fn server_status(&self, _: Duration) -> BoxFuture<'_, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn current_op(&self, _: bool) -> BoxFuture<'_, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn profile_level<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Document> {
        self.hit(Document::new())
    }
    fn profile_entries<'a>(&'a self, _: &'a str, _: i64) -> BoxFuture<'a, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn get_log(&self) -> BoxFuture<'_, Vec<String>> {
        self.hit(Vec::new())
    }
    fn repl_set_status(&self) -> BoxFuture<'_, Document> {
        self.hit(Document::new())
    }
    fn oplog_bounds(&self) -> BoxFuture<'_, Option<(Document, Document)>> {
        self.hit(None)
    }
    fn list_databases(&self) -> BoxFuture<'_, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn list_collections<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn coll_stats<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Document> {
        self.hit(Document::new())
    }
    fn index_stats<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn list_indexes<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn explain<'a>(
        &'a self,
        _: &'a str,
        _: Document,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Document> {
        self.hit(doc! {"queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}}})
    }
    fn find<'a>(&'a self, _: &'a str, _: &'a str, _: FindSpec) -> BoxFuture<'a, Vec<Document>> {
        self.hit(Vec::new())
    }
    fn aggregate<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Vec<Document>,
        _: Duration,
    ) -> BoxFuture<'a, Vec<Document>> {
        self.hit(vec![doc! {"_id": 1}])
    }
    fn count<'a>(&'a self, _: &'a str, _: &'a str, _: Document, _: Duration) -> BoxFuture<'a, u64> {
        self.hit(0)
    }
}

fn setup(allow: Allowlist) -> (Arc<Recorder>, Guarded<MongoServer>) {
    let rec = Arc::new(Recorder::default());
    let g = guarded(rec.clone(), allow);
    (rec, g)
}

async fn aggregate(g: &Guarded<MongoServer>, pipeline: Value) -> (String, bool) {
    finish(
        g,
        g.inner()
            .aggregate(args(
                json!({"database": "shop", "collection": "orders", "pipeline": pipeline}),
            ))
            .await,
    )
}

async fn explain(g: &Guarded<MongoServer>, pipeline: Value) -> (String, bool) {
    finish(
        g,
        g.inner()
            .explain(args(
                json!({"database": "shop", "collection": "orders", "pipeline": pipeline}),
            ))
            .await,
    )
}

#[tokio::test]
async fn cross_db_stages_outside_allow_databases_are_refused_before_the_backend() {
    let (rec, g) = setup(Allowlist::new(vec!["shop".into()], vec![]));
    for (pipeline, stage, ns) in [
        (
            json!([{"$lookup": {"from": {"db": "billing", "coll": "invoices"}, "localField": "a", "foreignField": "b", "as": "c"}}]),
            "`$lookup` at pipeline[0].$lookup.from",
            "billing.invoices",
        ),
        (
            json!([{"$match": {"a": 1}}, {"$unionWith": {"db": "billing", "coll": "invoices"}}]),
            "`$unionWith` at pipeline[1].$unionWith",
            "billing.invoices",
        ),
        (
            json!([{"$facet": {"x": [{"$unionWith": {"db": "admin", "coll": "users", "pipeline": []}}]}}]),
            "`$unionWith` at pipeline[0].$facet.x[0].$unionWith",
            "admin.users",
        ),
        (
            json!([{"$lookup": {"from": "orders", "as": "o", "pipeline": [{"$lookup": {"from": {"db": "hr", "coll": "salaries"}, "as": "s", "pipeline": []}}]}}]),
            "`$lookup` at pipeline[0].$lookup.pipeline[0].$lookup.from",
            "hr.salaries",
        ),
    ] {
        for (text, is_error) in [
            aggregate(&g, pipeline.clone()).await,
            explain(&g, pipeline).await,
        ] {
            assert!(is_error, "not refused: {text}");
            assert!(
                text.contains(stage)
                    && text.contains(&format!("reads `{ns}`"))
                    && text.contains("--allow-databases shop")
                    && text.contains("nothing was sent to MongoDB"),
                "{text}"
            );
        }
    }
    assert_eq!(
        rec.calls.load(Ordering::SeqCst),
        0,
        "the backend was called"
    );
    // The same stages inside the allowlist reach the backend.
    let (text, is_error) = aggregate(
        &g,
        json!([{"$lookup": {"from": {"db": "shop", "coll": "users"}, "as": "u", "localField": "a", "foreignField": "b"}},
               {"$unionWith": {"db": "shop", "coll": "archive"}}]),
    )
    .await;
    assert!(!is_error, "{text}");
    assert_eq!(rec.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cross_db_collections_are_checked_against_allow_collections() {
    let (rec, g) = setup(Allowlist::new(vec![], vec!["shop.orders".into()]));
    let (text, is_error) = aggregate(
        &g,
        json!([{"$lookup": {"from": {"db": "shop", "coll": "users"}, "as": "u", "pipeline": []}}]),
    )
    .await;
    assert!(is_error && text.contains("reads `shop.users`"), "{text}");
    let (text, is_error) = aggregate(&g, json!([{"$unionWith": "customers"}])).await;
    assert!(
        is_error && text.contains("reads `shop.customers`"),
        "{text}"
    );
    assert_eq!(rec.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cross_db_names_are_checked_even_without_an_allowlist() {
    let (rec, g) = setup(Allowlist::default());
    for (pipeline, why) in [
        (
            json!([{"$lookup": {"from": {"db": "/srv/other", "coll": "c"}, "as": "x", "pipeline": []}}]),
            "invalid database name `/srv/other` in `pipeline[0].$lookup.from.db`",
        ),
        (
            json!([{"$unionWith": {"db": "../other", "coll": "c"}}]),
            "invalid database name `../other`",
        ),
        (
            json!([{"$unionWith": {"db": "shop", "coll": "system.users"}}]),
            "system collection",
        ),
        (
            json!([{"$lookup": {"from": {"db": "shop", "coll": "a\u{0}b"}, "as": "x", "pipeline": []}}]),
            "invalid collection name",
        ),
        (
            json!([{"$lookup": {"from": {"db": "billing"}, "as": "x", "pipeline": []}}]),
            "refused: `$lookup` at pipeline[0].$lookup.from",
        ),
        (
            json!([{"$unionWith": {"db": "billing"}}]),
            "names a `db` without a `coll`",
        ),
        (
            json!([{"$lookup": {"from": 5, "as": "x"}}]),
            "neither a string nor",
        ),
        // Writes are refused whatever they name.
        (json!([{"$out": {"db": "billing", "coll": "x"}}]), "`$out`"),
        (
            json!([{"$merge": {"into": {"db": "billing", "coll": "x"}}}]),
            "`$merge`",
        ),
    ] {
        let (text, is_error) = aggregate(&g, pipeline.clone()).await;
        assert!(is_error && text.contains(why), "{pipeline}: {text}");
    }
    assert_eq!(
        rec.calls.load(Ordering::SeqCst),
        0,
        "the backend was called"
    );
    // Without an allowlist another database may be read.
    let (text, is_error) = aggregate(
        &g,
        json!([{"$unionWith": {"db": "billing", "coll": "invoices"}}]),
    )
    .await;
    assert!(!is_error, "{text}");
    assert_eq!(rec.calls.load(Ordering::SeqCst), 1);
}
