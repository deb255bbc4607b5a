//! Where replies come from: a live server ([`crate::live::Live`]) or a
//! recorded snapshot ([`crate::snapshot::Snapshot`]).
//!
//! Each method returns a server reply, or the documents of a cursor, exactly as
//! MongoDB sends them; all interpretation happens in the renderers, so a
//! snapshot exercises the same parsing code as production.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bson::Document;

use crate::error::Result;

/// A boxed future, so [`Backend`] can be used as `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What most commands answer: documents.
pub type Docs<'a> = BoxFuture<'a, Vec<Document>>;

/// A bounded `find`.
#[derive(Debug, Clone, Default)]
pub struct FindSpec {
    /// The filter.
    pub filter: Document,
    /// Fields to include or exclude.
    pub projection: Option<Document>,
    /// Sort order.
    pub sort: Option<Document>,
    /// Most documents to return.
    pub limit: i64,
    /// Server-side time limit.
    pub max_time: Duration,
}

/// The commands the tools need, one method each.
pub trait Backend: Send + Sync + 'static {
    /// What is being observed, for headers and errors: the hosts of the
    /// connection string (never its credentials) or the snapshot directory.
    fn target(&self) -> String;

    /// Replies of `{serverStatus: 1}` on `admin`, oldest first: two samples
    /// `interval` apart (for rates), or one when `interval` is zero or the
    /// snapshot holds one.
    fn server_status(&self, interval: Duration) -> Docs<'_>;

    /// The `inprog` array of `{currentOp: 1, $all: all}`: every connection
    /// when `all`, else active operations only.
    fn current_op(&self, all: bool) -> Docs<'_>;

    /// `{profile: -1}` on `db`: the profiler level and `slowms`.
    fn profile_level<'a>(&'a self, db: &'a str) -> BoxFuture<'a, Document>;

    /// The newest `limit` entries of `db.system.profile`, newest first.
    fn profile_entries<'a>(&'a self, db: &'a str, limit: i64) -> Docs<'a>;

    /// The lines of `{getLog: "global"}` (JSON strings since MongoDB 4.4).
    fn get_log(&self) -> BoxFuture<'_, Vec<String>>;

    /// `{replSetGetStatus: 1}` on `admin`.
    fn repl_set_status(&self) -> BoxFuture<'_, Document>;

    /// The first and last entries of `local.oplog.rs` (`ts` at least).
    fn oplog_bounds(&self) -> BoxFuture<'_, Option<(Document, Document)>>;

    /// The `databases` array of `{listDatabases: 1}`.
    fn list_databases(&self) -> Docs<'_>;

    /// The documents of `{listCollections: 1}` on `db`.
    fn list_collections<'a>(&'a self, db: &'a str) -> Docs<'a>;

    /// `{collStats: coll}` on `db`.
    fn coll_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> BoxFuture<'a, Document>;

    /// The output of `[{$indexStats: {}}]` on `db.coll`.
    fn index_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a>;

    /// The documents of `{listIndexes: coll}` on `db`.
    fn list_indexes<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a>;

    /// `{explain: command, verbosity}` on `db`, with `maxTimeMS`.
    fn explain<'a>(
        &'a self,
        db: &'a str,
        command: Document,
        verbosity: &'a str,
        max_time: Duration,
    ) -> BoxFuture<'a, Document>;

    /// A bounded `find` on `db.coll`.
    fn find<'a>(&'a self, db: &'a str, coll: &'a str, spec: FindSpec) -> Docs<'a>;

    /// An `aggregate` on `db.coll` (the caller appends the `$limit`).
    fn aggregate<'a>(
        &'a self,
        db: &'a str,
        coll: &'a str,
        pipeline: Vec<Document>,
        max_time: Duration,
    ) -> Docs<'a>;

    /// `countDocuments` on `db.coll`.
    fn count<'a>(
        &'a self,
        db: &'a str,
        coll: &'a str,
        filter: Document,
        max_time: Duration,
    ) -> BoxFuture<'a, u64>;
}
