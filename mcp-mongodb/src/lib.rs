//! MongoDB diagnostics for incidents: an MCP server that answers "why is the
//! database slow or failing right now", read-only and bounded.
//!
//! # Design
//!
//! The people using this server are on call, and the model helping them pays
//! for every token it reads. So the tools do not return MongoDB's replies —
//! `serverStatus` alone is thousands of lines — but a compact reading of them:
//! one line per item, aligned columns, units on every number, and the problems
//! an SRE looks for flagged in capitals (`COLLSCAN`, `CACHE-FULL`, `LAGGING`,
//! `UNUSED`). Queries are shown as **shapes**, literals replaced by `?`
//! ([`shape`]), which groups a thousand variants of one slow query into one
//! line and keeps customer data out of the output at the same time.
//!
//! The crate is three layers:
//!
//! * A [`backend::Backend`] fetches replies: [`live::Live`] through the
//!   official `mongodb` driver, or [`snapshot::Snapshot`] from recorded JSON
//!   files. Backends return MongoDB's replies untouched; they interpret
//!   nothing.
//! * The renderers in [`render`] turn replies into text. They are pure
//!   functions, so a snapshot exercises exactly the code that runs in
//!   production, and tests pin their output with `insta`.
//! * [`server::MongoServer`] holds the tools: it checks arguments and the
//!   allowlist ([`allow`]), calls the backend, renders, and pages long lists
//!   with the kit's response budget.
//!
//! What every sre-agent server shares — transports, redaction of every result,
//! the response budget, argument validation, write gating — comes from
//! `mcp-kit` and is not repeated here. This server has no write tools.
//!
//! # Safety
//!
//! * **Lazy, fast-failing connection.** `initialize` and `tools/list` never
//!   touch the database. The client is built on the first tool call with short
//!   server-selection and connect timeouts, so an unreachable server gives an
//!   error naming its hosts within seconds. The connection string is never
//!   printed; errors name the hosts only ([`live::display_hosts`]).
//! * **Bounded reads.** `find`/`aggregate`/`count` always carry `maxTimeMS`
//!   and a document limit, both capped by flags. Stages and operators that
//!   write or run code (`$out`, `$merge`, `$where`, `$function`,
//!   `$accumulator`) or never end (`$changeStream`) are refused wherever they
//!   appear, however deeply nested.
//! * **Allowlist.** `--allow-databases`/`--allow-collections` are enforced by
//!   the server, including on collections a pipeline reads through `$lookup`,
//!   `$graphLookup` and `$unionWith` (in another database too: `from: {db,
//!   coll}`, `$unionWith: {db, coll}`), before anything is sent, and on the namespaces shown by
//!   `current_ops` and `slow_queries`. `system.*` collections are never read by
//!   the bounded-read tools.
//! * **Names and the snapshot jail.** Database and collection names are
//!   checked by MongoDB's rules before any backend sees them ([`names`]); a
//!   snapshot reads only files that resolve (symbolic links included) under
//!   its directory, and its errors name files relative to it.
//! * **Untrusted data.** Documents are framed as untrusted data
//!   (`mcp_kit::untrusted`), and every result passes through the kit's
//!   redaction.
//!
//! # Snapshot format
//!
//! `--snapshot DIR` serves recorded replies instead of a live server, for
//! demos, tests and post-mortems. Every file holds MongoDB Extended JSON
//! (relaxed or canonical: what `mongosh` prints with `EJSON.stringify(x)` or
//! `mongoexport --jsonArray` writes). A tool whose file is missing says which
//! file and which command to record; the others keep working.
//!
//! | File | Reply of (in `mongosh`) |
//! |---|---|
//! | `serverStatus.json` | `db.adminCommand({serverStatus: 1})` — one reply, or an array of two taken a few seconds apart (for rates) |
//! | `currentOp.json` | `db.adminCommand({currentOp: 1, $all: true})` (the whole reply, with `inprog`) |
//! | `getLog.json` | `db.adminCommand({getLog: "global"})` |
//! | `replSetGetStatus.json` | `db.adminCommand({replSetGetStatus: 1})` |
//! | `oplog.json` | `[first, last]` entries of `local.oplog.rs`: `db.getSiblingDB("local").oplog.rs.find({}, {ts: 1}).sort({$natural: 1}).limit(1)` and the same with `-1` |
//! | `listDatabases.json` | `db.adminCommand({listDatabases: 1})` |
//! | `DB/listCollections.json` | `db.getSiblingDB(DB).getCollectionInfos()` |
//! | `DB/profile.json` | `db.getSiblingDB(DB).runCommand({profile: -1})` |
//! | `DB/system.profile.json` | `db.getSiblingDB(DB).system.profile.find().sort({$natural: -1}).limit(1000).toArray()` |
//! | `DB/COLL/collStats.json` | `db.getSiblingDB(DB).runCommand({collStats: COLL})` |
//! | `DB/COLL/indexStats.json` | `db.getSiblingDB(DB)[COLL].aggregate([{$indexStats: {}}]).toArray()` |
//! | `DB/COLL/listIndexes.json` | `db.getSiblingDB(DB)[COLL].getIndexes()` |
//! | `DB/COLL/explain.json` | an array of `db.getSiblingDB(DB).runCommand({explain: {find: COLL, filter: …}, verbosity: "executionStats"})` replies; each reply's `command` field says which request it answers (matched by query shape) |
//! | `DB/COLL/documents.json` | sample documents (`mongoexport --jsonArray`); `find` and `count` evaluate equality filters on them |
//!
//! `aggregate` needs a live server. A name that is not one plain directory
//! name (`/`, `\\`, `.`, `..`, NUL) is refused, and a file that resolves outside
//! the directory is not read. An example lives in
//! `fixtures/mongodb/missing-index/` of the repository.

pub mod allow;
pub mod backend;
pub mod error;
pub mod fmt;
pub mod live;
pub mod names;
pub mod render;
pub mod server;
pub mod shape;
pub mod snapshot;

pub use error::{Error, Result};
pub use server::{Limits, MongoServer};
