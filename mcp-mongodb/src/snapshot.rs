//! The recorded backend: replies saved as JSON files in a directory.
//!
//! The layout is documented in the crate docs (see [`crate`]); each file holds
//! the reply of one command in MongoDB Extended JSON (relaxed or canonical, as
//! `mongosh` prints with `EJSON.stringify` or `mongoexport` writes), so the
//! same renderers run on it as on a live server. A missing file is an error
//! that names the file and the command whose reply belongs in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bson::{Bson, Document};

use crate::backend::{Backend, BoxFuture, Docs, FindSpec};
use crate::error::{Error, Result};

/// A directory of recorded replies.
///
/// It is a jail: every file read is resolved (symbolic links included) and
/// must lie under the snapshot's root, names that could leave it (`/`, `\\`,
/// `.`, `..`, NUL) are refused before any path is built, and errors name
/// files relative to the root only.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The directory as given (shown by [`Backend::target`]).
    dir: PathBuf,
    /// The same as a jail: every file read must resolve under it.
    jail: mcp_kit::jail::Jail,
}

/// How a path relative to the root is shown: with `/`, never absolute.
fn shown(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Refuses a database or collection name that is not exactly one directory
/// name inside the snapshot.
fn segment(kind: &'static str, name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.contains('\0') {
        Some("it contains a NUL character")
    } else if name.contains('/') || name.contains('\\') {
        Some("a snapshot stores each name as one directory, so it cannot hold `/` or `\\`")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not names in a snapshot")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::InvalidName {
            kind,
            arg: kind.to_string(),
            name: name.escape_debug().to_string(),
            why: why.to_string(),
        }),
        None => Ok(()),
    }
}

impl Snapshot {
    /// A snapshot in `dir`; fails if it is not a directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        let not_dir = |reason: String| Error::Snapshot {
            path: dir.display().to_string(),
            reason,
        };
        let jail = mcp_kit::jail::Jail::open(&dir).map_err(|e| not_dir(e.reason()))?;
        Ok(Self { dir, jail })
    }

    /// `DB/file`, with `db` checked to be one directory name.
    fn db_path(db: &str, file: &str) -> Result<PathBuf> {
        segment("database", db)?;
        Ok(Path::new(db).join(file))
    }

    /// `DB/COLL/file`, with both names checked to be one directory name.
    fn coll_path(db: &str, coll: &str, file: &str) -> Result<PathBuf> {
        segment("database", db)?;
        segment("collection", coll)?;
        Ok(Path::new(db).join(coll).join(file))
    }

    /// The real path of `rel` if it exists under the root; `None` if it does
    /// not exist. A path that is not plain names, or resolves outside the root
    /// (through a symbolic link), is an error that names `rel` only.
    fn resolve(&self, rel: &Path) -> Result<Option<PathBuf>> {
        self.jail.resolve(rel).map_err(|e| Error::Snapshot {
            path: shown(rel),
            reason: e.reason(),
        })
    }

    fn read(&self, rel: &Path, how: &str) -> Result<Bson> {
        let shown = shown(rel);
        let Some(path) = self.resolve(rel)? else {
            return Err(Error::Snapshot {
                path: shown,
                reason: format!("not recorded; to record it, save {how} there"),
            });
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Snapshot {
            path: shown.clone(),
            // The kind only: an io::Error's text could name the real path.
            reason: format!("cannot be read ({})", e.kind()),
        })?;
        // Straight into BSON: keeps key order (index keys, sorts) and reads
        // Extended JSON ($date, $oid, $timestamp, $numberLong).
        serde_json::from_str::<Bson>(&text).map_err(|e| Error::Snapshot {
            path: shown,
            reason: format!("not valid (Extended) JSON: {e}"),
        })
    }

    fn doc(&self, rel: &Path, how: &str) -> Result<Document> {
        match self.read(rel, how)? {
            Bson::Document(d) => Ok(d),
            _ => Err(Error::Snapshot {
                path: shown(rel),
                reason: format!("expected one JSON object: {how}"),
            }),
        }
    }

    /// The items of the array `field` of the reply recorded in `file` at the
    /// root, those `item` keeps; none when the reply has no such array.
    fn reply_items<T>(
        &self,
        file: &str,
        how: &str,
        field: &str,
        item: impl Fn(Bson) -> Option<T>,
    ) -> Result<Vec<T>> {
        let mut reply = self.doc(Path::new(file), how)?;
        Ok(match reply.remove(field) {
            Some(Bson::Array(items)) => items.into_iter().filter_map(item).collect(),
            _ => Vec::new(),
        })
    }

    /// The sample documents of `db.coll`, which `find` and `count` read.
    fn samples(&self, db: &str, coll: &str) -> Result<Vec<Document>> {
        self.coll_docs(
            db,
            coll,
            "documents.json",
            "an array of sample documents (mongoexport --jsonArray)",
        )
    }

    /// The documents recorded in `DB/COLL/file`; `how` says how to record
    /// them.
    fn coll_docs(&self, db: &str, coll: &str, file: &str, how: &str) -> Result<Vec<Document>> {
        self.docs(&Self::coll_path(db, coll, file)?, how)
    }

    fn docs(&self, rel: &Path, how: &str) -> Result<Vec<Document>> {
        match self.read(rel, how)? {
            Bson::Array(items) => Ok(items
                .into_iter()
                .filter_map(|i| match i {
                    Bson::Document(d) => Some(d),
                    _ => None,
                })
                .collect()),
            Bson::Document(d) => Ok(vec![d]),
            _ => Err(Error::Snapshot {
                path: shown(rel),
                reason: format!("expected a JSON array of objects: {how}"),
            }),
        }
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T>) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

/// Whether `doc` matches an equality-only `filter` (dotted paths; an array
/// field matches when it contains the value).
fn matches(doc: &Document, filter: &Document) -> Result<bool> {
    for (key, want) in filter {
        if key.starts_with('$')
            || matches!(want, Bson::Document(d) if d.keys().any(|k| k.starts_with('$')))
        {
            return Err(Error::BadArgument(format!(
                "the snapshot backend evaluates equality filters only (`{key}` uses an operator); \
                 run against a live server for full queries"
            )));
        }
        let got = crate::fmt::get(doc, key);
        let ok = match got {
            Some(Bson::Array(items)) => items.contains(want) || got == Some(want),
            Some(value) => value == want,
            None => matches!(want, Bson::Null),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies a top-level projection: inclusion (`{a: 1}`) or exclusion (`{a: 0}`).
fn project(doc: Document, projection: &Document) -> Document {
    let truthy = |v: &Bson| crate::fmt::as_f64(v).is_none_or(|f| f != 0.0);
    let include: Vec<&str> = projection
        .iter()
        .filter(|(k, v)| *k != "_id" && truthy(v))
        .map(|(k, _)| k.split('.').next().unwrap_or(k))
        .collect();
    let keep_id = projection.get("_id").is_none_or(truthy);
    if include.is_empty() {
        let exclude: Vec<&str> = projection
            .iter()
            .filter(|(_, v)| !truthy(v))
            .map(|(k, _)| k.as_str())
            .collect();
        return doc
            .into_iter()
            .filter(|(k, _)| !exclude.contains(&k.as_str()))
            .collect();
    }
    doc.into_iter()
        .filter(|(k, _)| (k == "_id" && keep_id) || include.contains(&k.as_str()))
        .collect()
}

impl Backend for Snapshot {
    fn target(&self) -> String {
        format!("snapshot {}", self.dir.display())
    }

    fn server_status(&self, _interval: Duration) -> Docs<'_> {
        ready(self.docs(
            Path::new("serverStatus.json"),
            "the reply of db.adminCommand({serverStatus: 1}), or an array of two taken a few seconds apart",
        ))
    }

    fn current_op(&self, all: bool) -> Docs<'_> {
        let reply = self.doc(
            Path::new("currentOp.json"),
            "the reply of db.adminCommand({currentOp: 1, $all: true})",
        );
        ready(reply.and_then(|r| {
            let ops: Vec<Document> = match r.get("inprog") {
                Some(Bson::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_document().cloned())
                    .collect(),
                _ => {
                    return Err(Error::Snapshot {
                        path: "currentOp.json".into(),
                        reason: "no `inprog` array".into(),
                    });
                }
            };
            Ok(if all {
                ops
            } else {
                ops.into_iter()
                    .filter(|o| o.get_bool("active").unwrap_or(false))
                    .collect()
            })
        }))
    }

    fn profile_level<'a>(&'a self, db: &'a str) -> BoxFuture<'a, Document> {
        ready(Self::db_path(db, "profile.json").and_then(|rel| {
            self.doc(
                &rel,
                &format!("the reply of db.getSiblingDB({db:?}).runCommand({{profile: -1}})"),
            )
        }))
    }

    fn profile_entries<'a>(&'a self, db: &'a str, limit: i64) -> Docs<'a> {
        let docs = Self::db_path(db, "system.profile.json").and_then(|rel| {
            self.docs(
                &rel,
                &format!(
                    "the documents of db.getSiblingDB({db:?}).system.profile.find().sort({{$natural: -1}})"
                ),
            )
        });
        ready(docs.map(|mut d| {
            d.truncate(limit.max(0) as usize);
            d
        }))
    }

    fn get_log(&self) -> BoxFuture<'_, Vec<String>> {
        ready(self.reply_items(
            "getLog.json",
            "the reply of db.adminCommand({getLog: \"global\"})",
            "log",
            |line| line.as_str().map(str::to_string),
        ))
    }

    fn repl_set_status(&self) -> BoxFuture<'_, Document> {
        ready(self.doc(
            Path::new("replSetGetStatus.json"),
            "the reply of db.adminCommand({replSetGetStatus: 1})",
        ))
    }

    fn oplog_bounds(&self) -> BoxFuture<'_, Option<(Document, Document)>> {
        let path = Path::new("oplog.json");
        match self.resolve(path) {
            Ok(Some(_)) => {}
            Ok(None) => return ready(Ok(None)),
            Err(e) => return ready(Err(e)),
        }
        let docs = self.docs(
            path,
            "[first, last] entries of local.oplog.rs ({ts: ...} at least)",
        );
        ready(docs.map(|d| match (d.first(), d.last()) {
            (Some(a), Some(b)) if d.len() >= 2 => Some((a.clone(), b.clone())),
            _ => None,
        }))
    }

    fn list_databases(&self) -> Docs<'_> {
        ready(self.reply_items(
            "listDatabases.json",
            "the reply of db.adminCommand({listDatabases: 1})",
            "databases",
            |db| match db {
                Bson::Document(d) => Some(d),
                _ => None,
            },
        ))
    }

    fn list_collections<'a>(&'a self, db: &'a str) -> Docs<'a> {
        ready(Self::db_path(db, "listCollections.json").and_then(|rel| {
            self.docs(
                &rel,
                &format!("the array db.getSiblingDB({db:?}).getCollectionInfos()"),
            )
        }))
    }

    fn coll_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> BoxFuture<'a, Document> {
        ready(Self::coll_path(db, coll, "collStats.json").and_then(|rel| {
            self.doc(
                &rel,
                &format!(
                    "the reply of db.getSiblingDB({db:?}).runCommand({{collStats: {coll:?}}})"
                ),
            )
        }))
    }

    fn index_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a> {
        ready(self.coll_docs(
            db,
            coll,
            "indexStats.json",
            &format!(
                "the documents of db.getSiblingDB({db:?}).getCollection({coll:?}).aggregate([{{$indexStats: {{}}}}])"
            ),
        ))
    }

    fn list_indexes<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a> {
        ready(self.coll_docs(
            db,
            coll,
            "listIndexes.json",
            &format!("the array db.getSiblingDB({db:?}).getCollection({coll:?}).getIndexes()"),
        ))
    }

    fn explain<'a>(
        &'a self,
        db: &'a str,
        command: Document,
        _verbosity: &'a str,
        _max_time: Duration,
    ) -> BoxFuture<'a, Document> {
        let coll = command
            .iter()
            .next()
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("")
            .to_string();
        let rel = match Self::coll_path(db, &coll, "explain.json") {
            Ok(rel) => rel,
            Err(e) => return ready(Err(e)),
        };
        let recorded = self.docs(
            &rel,
            "an array of explain outputs (verbosity executionStats); each output's `command` \
             field selects which request it answers",
        );
        let wanted = crate::shape::command_shape(&command);
        let wanted_canonical = crate::shape::command_shape(&unordered_filters(&command));
        ready(recorded.and_then(|replies| {
            let mut shapes = Vec::new();
            for reply in replies {
                let Some(recorded) = crate::fmt::sub(&reply, "command") else {
                    continue;
                };
                let got = crate::shape::command_shape(recorded);
                // A filter's key order means nothing to MongoDB, and a
                // request's filter arrives through a JSON object whose keys
                // may be reordered: compare filters as sets of keys.
                if crate::shape::command_shape(&unordered_filters(recorded)) == wanted_canonical {
                    return Ok(reply);
                }
                shapes.push(format!("{} {}", got.0, got.1));
            }
            Err(Error::Snapshot {
                path: shown(&rel),
                reason: format!(
                    "no recorded explain for `{} {}`; recorded: {}",
                    wanted.0,
                    wanted.1,
                    if shapes.is_empty() {
                        "none with a `command` field".into()
                    } else {
                        shapes.join(" | ")
                    }
                ),
            })
        }))
    }

    fn find<'a>(&'a self, db: &'a str, coll: &'a str, spec: FindSpec) -> Docs<'a> {
        let docs = self.samples(db, coll);
        ready(docs.and_then(|docs| {
            let mut out = Vec::new();
            for doc in docs {
                if out.len() as i64 >= spec.limit {
                    break;
                }
                if matches(&doc, &spec.filter)? {
                    out.push(match &spec.projection {
                        Some(p) => project(doc, p),
                        None => doc,
                    });
                }
            }
            Ok(out)
        }))
    }

    fn aggregate<'a>(
        &'a self,
        _db: &'a str,
        _coll: &'a str,
        _pipeline: Vec<Document>,
        _max_time: Duration,
    ) -> Docs<'a> {
        ready(Err(Error::Unsupported {
            command: "aggregate".into(),
            detail: "a snapshot holds sample documents, not a query engine; use `find` with an \
                     equality filter, or run against a live server"
                .into(),
        }))
    }

    fn count<'a>(
        &'a self,
        db: &'a str,
        coll: &'a str,
        filter: Document,
        _max_time: Duration,
    ) -> BoxFuture<'a, u64> {
        let docs = self.samples(db, coll);
        ready(docs.and_then(|docs| {
            let mut n = 0;
            for doc in &docs {
                if matches(doc, &filter)? {
                    n += 1;
                }
            }
            Ok(n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn equality_matching() {
        let d = doc! {"a": 1, "b": {"c": "x"}, "tags": ["p", "q"]};
        assert!(matches(&d, &doc! {"a": 1, "b.c": "x"}).unwrap());
        assert!(matches(&d, &doc! {"tags": "q"}).unwrap());
        assert!(!matches(&d, &doc! {"a": 2}).unwrap());
        assert!(matches(&d, &doc! {"a": {"$gt": 0}}).is_err());
    }

    #[test]
    fn projections() {
        let d = doc! {"_id": 1, "a": 1, "b": 2};
        assert_eq!(project(d.clone(), &doc! {"a": 1}), doc! {"_id": 1, "a": 1});
        assert_eq!(project(d.clone(), &doc! {"a": 1, "_id": 0}), doc! {"a": 1});
        assert_eq!(project(d, &doc! {"b": 0}), doc! {"_id": 1, "a": 1});
    }
}

/// `command` with the keys of its `filter` (find) and `query` (count)
/// documents sorted, at every depth: the same filter whatever order its
/// keys were written in. Sorts and pipelines keep their order, which means
/// something.
fn unordered_filters(command: &Document) -> Document {
    fn sorted(value: &Bson) -> Bson {
        match value {
            Bson::Document(d) => {
                let mut keys: Vec<(&String, &Bson)> = d.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                Bson::Document(
                    keys.into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Bson::Array(items) => Bson::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut out = command.clone();
    for key in ["filter", "query"] {
        if let Some(v) = command.get(key) {
            out.insert(key, sorted(v));
        }
    }
    out
}

#[cfg(test)]
mod filter_order_tests {
    use bson::doc;

    use super::unordered_filters;
    use crate::shape::command_shape;

    /// The application wrote `{platform, datetime}`; the request arrives
    /// through a JSON object as `{datetime, platform}`: the same query.
    /// A sort's order is kept: `{a: 1, b: -1}` is not `{b: -1, a: 1}`.
    #[test]
    fn a_filters_key_order_does_not_matter_a_sorts_does() {
        let recorded = doc! {"find": "items", "filter": {"properties.platform": "s2a", "properties.datetime": {"$gte": "x", "$lt": "y"}}, "sort": {"properties.datetime": -1}};
        let asked = doc! {"find": "items", "filter": {"properties.datetime": {"$lt": "y", "$gte": "x"}, "properties.platform": "s2b"}, "sort": {"properties.datetime": -1}};
        assert_ne!(command_shape(&recorded), command_shape(&asked));
        assert_eq!(
            command_shape(&unordered_filters(&recorded)),
            command_shape(&unordered_filters(&asked))
        );
        let a = doc! {"find": "c", "filter": {}, "sort": {"a": 1, "b": -1}};
        let b = doc! {"find": "c", "filter": {}, "sort": {"b": -1, "a": 1}};
        assert_ne!(
            command_shape(&unordered_filters(&a)),
            command_shape(&unordered_filters(&b))
        );
    }
}
