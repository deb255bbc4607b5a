//! The live backend: the official `mongodb` driver, connected lazily.
//!
//! Nothing touches the network until the first tool call: the client is
//! built then (parsing a `mongodb+srv://` string needs DNS), with short
//! server-selection and connect timeouts so an unreachable server fails fast
//! with an error naming its hosts. The connection string is kept only to
//! build the client; errors and headers use [`display_hosts`].

use std::time::Duration;

use bson::{Document, doc};
use mongodb::Client;
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use tokio::sync::OnceCell;

use crate::backend::{Backend, BoxFuture, Docs, FindSpec};
use crate::error::{Error, Result};

/// Connection settings.
#[derive(Clone)]
pub struct LiveConfig {
    /// The connection string (secret: never printed).
    pub uri: String,
    /// How long to wait for a usable server.
    pub server_selection_timeout: Duration,
    /// How long to wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("hosts", &display_hosts(&self.uri))
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A MongoDB deployment reached through the driver.
pub struct Live {
    config: LiveConfig,
    hosts: String,
    client: OnceCell<Client>,
}

/// The host list of a connection string, without scheme, credentials,
/// database or options: `mongodb://u:p@a:27017,b/db?x=1` → `a:27017,b`.
/// Needs no DNS, so it works for `mongodb+srv://` strings too.
pub fn display_hosts(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hosts = &rest[..end];
    if hosts.is_empty() {
        "(no host)".into()
    } else {
        hosts.to_string()
    }
}

/// Checks a connection string's syntax and options without contacting
/// anything (`mongodb+srv://` is resolved later, on first use), so a typo
/// fails at start-up instead of on the first tool call.
pub fn check_uri(uri: &str) -> Result<()> {
    mongodb::options::ConnectionString::parse(uri)
        .map(|_| ())
        .map_err(|e| {
            let detail = match e.kind.as_ref() {
                ErrorKind::InvalidArgument { message, .. } => message.clone(),
                _ => e.to_string(),
            };
            Error::InvalidUri(scrub(&detail, uri))
        })
}

/// Removes the connection string's password from a text, in case a driver
/// message ever quotes it.
fn scrub(text: &str, uri: &str) -> String {
    let password = uri
        .split_once("://")
        .and_then(|(_, r)| r.rsplit_once('@'))
        .and_then(|(creds, _)| creds.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| p.len() >= 3);
    let mut out = match password {
        Some(p) => text.replace(p, "[REDACTED]"),
        None => text.to_string(),
    };
    if out.chars().count() > 400 {
        out = crate::fmt::clip(&out, 400);
    }
    out
}

impl Live {
    /// A backend for `config`; connects on first use.
    pub fn new(config: LiveConfig) -> Self {
        let hosts = display_hosts(&config.uri);
        Self {
            config,
            hosts,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let mut options =
                    ClientOptions::parse(&self.config.uri)
                        .await
                        .map_err(|e| match *e.kind {
                            ErrorKind::DnsResolve { .. } | ErrorKind::Io(_) => Error::Unreachable {
                                hosts: self.hosts.clone(),
                                timeout_s: self.config.server_selection_timeout.as_secs(),
                                detail: scrub(&e.to_string(), &self.config.uri),
                            },
                            _ => Error::InvalidUri(scrub(&e.to_string(), &self.config.uri)),
                        })?;
                options.server_selection_timeout = Some(self.config.server_selection_timeout);
                options.connect_timeout = Some(self.config.connect_timeout);
                if options.app_name.is_none() {
                    options.app_name = Some("mcp-mongodb".into());
                }
                tracing::debug!(hosts = %self.hosts, "creating MongoDB client");
                Client::with_options(options)
                    .map_err(|e| Error::InvalidUri(scrub(&e.to_string(), &self.config.uri)))
            })
            .await
    }

    /// Turns a driver error into one that names the hosts and says what to do.
    fn error(&self, command: &str, e: &mongodb::error::Error, max_time: Duration) -> Error {
        // A server that sends an error without a `code` (some
        // MongoDB-compatible servers) makes the driver fail to parse it; its
        // `errmsg` is still in the raw reply.
        if !matches!(e.kind.as_ref(), ErrorKind::Command(_))
            && let Some(reply) = e
                .server_response()
                .and_then(|raw| Document::try_from(raw).ok())
            && let Ok(message) = reply.get_str("errmsg")
        {
            let message = scrub(message, &self.config.uri);
            let lower = message.to_ascii_lowercase();
            return if lower.contains("not supported") || lower.contains("unrecognized") {
                Error::Unsupported {
                    command: command.into(),
                    detail: message,
                }
            } else {
                Error::Command {
                    command: command.into(),
                    hosts: self.hosts.clone(),
                    detail: message,
                }
            };
        }
        let detail = scrub(&e.to_string(), &self.config.uri);
        match e.kind.as_ref() {
            ErrorKind::ServerSelection { message, .. } => Error::Unreachable {
                hosts: self.hosts.clone(),
                timeout_s: self.config.server_selection_timeout.as_secs(),
                detail: scrub(&short_selection(message), &self.config.uri),
            },
            ErrorKind::DnsResolve { .. } | ErrorKind::Io(_) => Error::Unreachable {
                hosts: self.hosts.clone(),
                timeout_s: self.config.server_selection_timeout.as_secs(),
                detail,
            },
            ErrorKind::Authentication { .. } => Error::Unauthorized {
                hosts: self.hosts.clone(),
                command: command.into(),
                detail,
            },
            ErrorKind::Command(c) => {
                let message = scrub(&c.message, &self.config.uri);
                let lower = message.to_ascii_lowercase();
                match c.code {
                    13 | 18 => Error::Unauthorized {
                        hosts: self.hosts.clone(),
                        command: command.into(),
                        detail: format!("{} ({})", message, c.code_name),
                    },
                    50 => Error::TimedOut {
                        command: command.into(),
                        max_time_ms: max_time.as_millis() as u64,
                    },
                    59 | 115 | 40324 => Error::Unsupported {
                        command: command.into(),
                        detail: format!("{message} ({})", c.code_name),
                    },
                    _ if lower.contains("not supported")
                        || lower.contains("unrecognized")
                        || lower.contains("no such command") =>
                    {
                        Error::Unsupported {
                            command: command.into(),
                            detail: message,
                        }
                    }
                    _ => Error::Command {
                        command: command.into(),
                        hosts: self.hosts.clone(),
                        detail: if c.code_name.is_empty() {
                            message
                        } else {
                            format!("{message} ({} {})", c.code_name, c.code)
                        },
                    },
                }
            }
            _ => Error::Command {
                command: command.into(),
                hosts: self.hosts.clone(),
                detail,
            },
        }
    }

    async fn admin(&self, command: Document) -> Result<Document> {
        self.run("admin", command).await
    }

    async fn run(&self, db: &str, command: Document) -> Result<Document> {
        let name = command.keys().next().cloned().unwrap_or_default();
        let client = self.client().await?;
        client
            .database(db)
            .run_command(command)
            .await
            .map_err(|e| self.error(&name, &e, Duration::ZERO))
    }

    async fn drain(
        &self,
        command: &str,
        cursor: mongodb::error::Result<mongodb::Cursor<Document>>,
        max_time: Duration,
        limit: usize,
    ) -> Result<Vec<Document>> {
        let mut cursor = cursor.map_err(|e| self.error(command, &e, max_time))?;
        let mut out = Vec::new();
        while out.len() < limit
            && cursor
                .advance()
                .await
                .map_err(|e| self.error(command, &e, max_time))?
        {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| self.error(command, &e, max_time))?,
            );
        }
        Ok(out)
    }
}

/// The useful part of a server-selection error: the per-server errors, not
/// the whole topology dump.
fn short_selection(message: &str) -> String {
    match message.find("Error: ") {
        Some(i) => {
            let rest = &message[i + "Error: ".len()..];
            let end = rest.find(", labels").unwrap_or(rest.len());
            rest[..end].trim().to_string()
        }
        None => message.to_string(),
    }
}

/// The array at `key` of a command reply, or an [`Error::Unsupported`] saying
/// the server did not report it.
fn array_of(reply: &Document, key: &str, command: &str) -> Result<Vec<Document>> {
    match reply.get(key) {
        Some(bson::Bson::Array(items)) => Ok(items
            .iter()
            .filter_map(|i| i.as_document().cloned())
            .collect()),
        _ => Err(Error::Unsupported {
            command: command.into(),
            detail: format!(
                "its reply has no `{key}` array (keys: {}); MongoDB-compatible servers and proxies \
                 often omit it",
                reply.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

impl Backend for Live {
    fn target(&self) -> String {
        self.hosts.clone()
    }

    fn server_status(&self, interval: Duration) -> Docs<'_> {
        Box::pin(async move {
            let first = self.admin(doc! {"serverStatus": 1}).await?;
            if interval.is_zero() {
                return Ok(vec![first]);
            }
            tokio::time::sleep(interval).await;
            let second = self.admin(doc! {"serverStatus": 1}).await?;
            Ok(vec![first, second])
        })
    }

    fn current_op(&self, all: bool) -> Docs<'_> {
        Box::pin(async move {
            let command = if all {
                doc! {"currentOp": 1, "$all": true}
            } else {
                doc! {"currentOp": 1, "active": true}
            };
            let reply = self.admin(command).await?;
            array_of(&reply, "inprog", "currentOp")
        })
    }

    fn profile_level<'a>(&'a self, db: &'a str) -> BoxFuture<'a, Document> {
        Box::pin(self.run(db, doc! {"profile": -1}))
    }

    fn profile_entries<'a>(&'a self, db: &'a str, limit: i64) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let max_time = Duration::from_secs(10);
            let cursor = client
                .database(db)
                .collection::<Document>("system.profile")
                .find(doc! {})
                .sort(doc! {"$natural": -1})
                .limit(limit)
                .max_time(max_time)
                .await;
            self.drain("find system.profile", cursor, max_time, limit as usize)
                .await
        })
    }

    fn get_log(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            let reply = self.admin(doc! {"getLog": "global"}).await?;
            match reply.get("log") {
                Some(bson::Bson::Array(lines)) => Ok(lines
                    .iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()),
                _ => Err(Error::Unsupported {
                    command: "getLog".into(),
                    detail: "its reply has no `log` array".into(),
                }),
            }
        })
    }

    fn repl_set_status(&self) -> BoxFuture<'_, Document> {
        Box::pin(self.admin(doc! {"replSetGetStatus": 1}))
    }

    fn oplog_bounds(&self) -> BoxFuture<'_, Option<(Document, Document)>> {
        Box::pin(async move {
            let client = self.client().await?;
            let oplog = client.database("local").collection::<Document>("oplog.rs");
            let max_time = Duration::from_secs(5);
            let mut ends = Vec::new();
            for dir in [1, -1] {
                let cursor = oplog
                    .find(doc! {})
                    .sort(doc! {"$natural": dir})
                    .projection(doc! {"ts": 1, "wall": 1})
                    .limit(1)
                    .max_time(max_time)
                    .await;
                let mut docs = self
                    .drain("find local.oplog.rs", cursor, max_time, 1)
                    .await?;
                match docs.pop() {
                    Some(d) => ends.push(d),
                    None => return Ok(None),
                }
            }
            let last = ends.pop();
            let first = ends.pop();
            Ok(first.zip(last))
        })
    }

    fn list_databases(&self) -> Docs<'_> {
        Box::pin(async move {
            let reply = self.admin(doc! {"listDatabases": 1}).await?;
            array_of(&reply, "databases", "listDatabases")
        })
    }

    fn list_collections<'a>(&'a self, db: &'a str) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let cursor = client.database(db).list_collections().await;
            let cursor = cursor.map(|c| c.with_type::<Document>());
            self.drain("listCollections", cursor, Duration::ZERO, 10_000)
                .await
        })
    }

    fn coll_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> BoxFuture<'a, Document> {
        Box::pin(self.run(db, doc! {"collStats": coll}))
    }

    fn index_stats<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let max_time = Duration::from_secs(10);
            let cursor = client
                .database(db)
                .collection::<Document>(coll)
                .aggregate([doc! {"$indexStats": {}}])
                .max_time(max_time)
                .await;
            self.drain("$indexStats", cursor, max_time, 10_000).await
        })
    }

    fn list_indexes<'a>(&'a self, db: &'a str, coll: &'a str) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let cursor = client
                .database(db)
                .collection::<Document>(coll)
                .list_indexes()
                .await;
            let cursor = cursor.map(|c| c.with_type::<Document>());
            self.drain("listIndexes", cursor, Duration::ZERO, 10_000)
                .await
        })
    }

    fn explain<'a>(
        &'a self,
        db: &'a str,
        command: Document,
        verbosity: &'a str,
        max_time: Duration,
    ) -> BoxFuture<'a, Document> {
        Box::pin(async move {
            let client = self.client().await?;
            let command = doc! {
                "explain": command,
                "verbosity": verbosity,
                "maxTimeMS": max_time.as_millis() as i64,
            };
            client
                .database(db)
                .run_command(command)
                .await
                .map_err(|e| self.error("explain", &e, max_time))
        })
    }

    fn find<'a>(&'a self, db: &'a str, coll: &'a str, spec: FindSpec) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let collection = client.database(db).collection::<Document>(coll);
            let mut find = collection
                .find(spec.filter)
                .limit(spec.limit)
                .max_time(spec.max_time);
            if let Some(p) = spec.projection {
                find = find.projection(p);
            }
            if let Some(s) = spec.sort {
                find = find.sort(s);
            }
            let cursor = find.await;
            self.drain("find", cursor, spec.max_time, spec.limit.max(0) as usize)
                .await
        })
    }

    fn aggregate<'a>(
        &'a self,
        db: &'a str,
        coll: &'a str,
        pipeline: Vec<Document>,
        max_time: Duration,
    ) -> Docs<'a> {
        Box::pin(async move {
            let client = self.client().await?;
            let cursor = client
                .database(db)
                .collection::<Document>(coll)
                .aggregate(pipeline)
                .max_time(max_time)
                .await;
            self.drain("aggregate", cursor, max_time, 10_000).await
        })
    }

    fn count<'a>(
        &'a self,
        db: &'a str,
        coll: &'a str,
        filter: Document,
        max_time: Duration,
    ) -> BoxFuture<'a, u64> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .database(db)
                .collection::<Document>(coll)
                .count_documents(filter)
                .max_time(max_time)
                .await
                .map_err(|e| self.error("count", &e, max_time))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_without_credentials() {
        assert_eq!(
            display_hosts("mongodb://app:s3cret@db-0:27017,db-1:27017/shop?replicaSet=rs0"),
            "db-0:27017,db-1:27017"
        );
        assert_eq!(
            display_hosts("mongodb+srv://u:p%40ss@cluster0.abcd.mongodb.net/?retryWrites=true"),
            "cluster0.abcd.mongodb.net"
        );
        assert_eq!(display_hosts("mongodb://localhost"), "localhost");
        let debug = format!(
            "{:?}",
            LiveConfig {
                uri: "mongodb://a:hunter22@h:1".into(),
                server_selection_timeout: Duration::from_secs(1),
                connect_timeout: Duration::from_secs(1),
            }
        );
        assert!(
            !debug.contains("hunter22") && debug.contains("h:1"),
            "{debug}"
        );
    }

    #[test]
    fn connection_strings_are_checked_without_showing_them() {
        assert!(check_uri("mongodb://diag:pw@db-0:27017,db-1:27017/?replicaSet=rs0").is_ok());
        assert!(check_uri("mongodb+srv://diag:pw@cluster0.example.net/").is_ok());
        for bad in [
            "db-0:27017",
            "http://db-0:27017",
            "mongodb://diag:hunter22@db-0:27017/?replicaSet=rs0&w=bogus&tls=maybe",
            "mongodb://diag:hunter22@db-0:99999/",
        ] {
            let e = check_uri(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("the MongoDB connection string is invalid"),
                "{bad}: {e}"
            );
            assert!(!e.contains("hunter22"), "{e}");
        }
    }

    #[test]
    fn scrub_removes_the_password() {
        let out = scrub(
            "failed for mongodb://a:hunter22@h:1",
            "mongodb://a:hunter22@h:1",
        );
        assert!(!out.contains("hunter22"));
    }
}
