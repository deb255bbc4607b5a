//! Who holds the lock.
//!
//! A lock timeout is logged by the victims: every service whose statements
//! queue behind a lock says so, and none of them is the cause. The cause is
//! the session that holds (or is queued first for) the lock: usually a
//! schema migration (`ALTER TABLE` needs an `ACCESS EXCLUSIVE` lock and, while
//! it waits behind one long transaction, every later statement on the table
//! waits behind it), a batch job, a `VACUUM FULL` or a manual `LOCK TABLE`.
//! PostgreSQL's own words are `canceling statement due to lock timeout` and
//! `process 4100 still waiting for RowExclusiveLock on relation 16384`; the
//! context line names the relation (`while updating tuple (0,1) in relation
//! "orders"`).
//!
//! An on-call engineer asks "what started just before the first timeout,
//! and does it touch that table?". This module asks the same of the
//! evidence: the pods created during the incident whose logs were read (the
//! collector reads new pods' logs), a statement in them that takes a
//! table-level lock, on the relation the victims name when they name one.
//! When one is found, the victims' `lock_contention` signals are evidence
//! against it: they move to the holder, which becomes the suspect. When none
//! is found, the relation itself is the component: the contended table, not
//! the service that happened to report it.
//!
//! A row lock has no statement that announces it: a batch that updates many
//! rows and keeps its transaction open (an export uploading a file, a job
//! waiting on an API between statements) blocks every writer of those rows
//! with an ordinary `UPDATE`. PostgreSQL names the holder itself, though:
//! with `log_lock_waits` each wait is followed by `DETAIL:  Process holding
//! the lock: 47102.` (a deadlock by `blocked by process 47102`), and the
//! log's prefix on that session's own lines says who it is (`[47102]
//! settlement@auction/settlement-export`: user, database, application name).
//! The collector reads those lines when a store's log shows waits
//! (`holder_reads`, then `session_reads`), and the session the database
//! names most often is the holder, whatever statement it ran.

use regex::Regex;
use serde_json::Value;

use super::collect::EvidencePack;
use super::rules::{Signal, same_component};
use super::world::World;

/// The relation a lock error names: `relation "orders"`, `on table
/// orders`, `table 'shop.orders'`.
fn relation_in(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"(?i)\b(?:relation|on table|table)\s+[`"']?([a-z_][\w.]*)"#).ok()
    });
    let c = re.as_ref()?.captures(text)?;
    let name = c[1].to_string();
    // `relation 16384` is an OID: it names nothing a person knows.
    (!name.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// Whether a client's error says its statement was cancelled for running
/// too long (PostgreSQL's `statement_timeout`, MySQL's `max_execution_time`).
fn statement_timeout(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)canceling statement due to statement timeout|maximum statement execution time exceeded",
        )
        .ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(text))
}

/// A statement that takes a table-level lock, and the table.
fn locking_statement(line: &str) -> Option<String> {
    // JSON log lines escape the quotes the tools print around names.
    let unescaped = line.replace("\\\"", "\"");
    let line = unescaped.as_str();
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?i)\b(?:alter\s+table|lock\s+table|truncate(?:\s+table)?|vacuum\s+full|reindex\s+table|create\s+(?:unique\s+)?index\s+(?:\w+\s+)?on|drop\s+table)\s+(?:if\s+exists\s+|only\s+)?[`"']?([a-z_][\w.]*)"#,
        )
        .ok()
    });
    if let Some(c) = re.as_ref()?.captures(line) {
        return Some(c[1].to_string());
    }
    // A schema migration tool at work: its DDL takes table locks even when
    // the tool logs only the migration's name. The table is unknown ("").
    static TOOL: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let tool = TOOL.get_or_init(|| {
        Regex::new(
            // Flyway (which quotes the schema as its database does: "public"
            // on PostgreSQL, `vt_pms` on MySQL); Liquibase; Alembic; Django; Rails and Sequelize;
            // Prisma and EF Core; Laravel (the migration's file name and
            // its dots, `RUNNING` until it is `DONE`); golang-migrate with
            // -verbose; Atlas.
            r#"Migrating schema [`"]?[\w.]+[`"]? to version|Running Changeset:|Running upgrade \S+ -> \S+|\bApplying [a-z_]+\.\d{4}_\w+|\bRunning migrations[.:]|^== \d+[ _-][\w-]+: migrating|Applying migration [`'"]|\b\d{4}_\d{2}_\d{2}_\d{6}_\w+ \.{3,}|\bStart buffering \d+/[ud] |\bMigrating to version \d+"#,
        )
        .ok()
    });
    tool.as_ref()?.is_match(line).then(String::new)
}

/// Whether `pod` runs a data store: a Service in front of it serves a
/// database system's port.
fn is_store(pod: &super::world::Pod, world: &World) -> bool {
    const SYSTEMS: &[&str] = &["postgresql", "mysql", "mongodb", "mssql", "cassandra"];
    world.services.iter().any(|svc| {
        SYSTEMS.iter().any(|s| svc.serves(s)) && world.backends(svc).any(|b| b.name == pod.name)
    })
}

/// The user of the session a database log line is about, as a workload
/// name would spell it: PostgreSQL's `%u@%d` prefix (`[30112]
/// cms_admin@cms LOG:`) or `user=cms_admin`; MySQL's `'app'@'10.0.0.3'`.
fn session_user(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?:\]\s+|\buser=)'?([A-Za-z][\w-]*)'?(?:@[\w.'-]+)?[\s,:]+(?:db=|LOG|STATEMENT|ERROR|DETAIL|FATAL)",
        )
        .ok()
    });
    let user = re.as_ref()?.captures(line)?.get(1)?.as_str();
    Some(user.to_lowercase().replace('_', "-"))
}

/// Whether a database user (or application) name names a workload: its
/// prefix (`cms-admin` → `cms-admin-db-migrate`) or one of its dash-separated
/// words (`flyway` → `loanbook-flyway-v212`, the tool a migration Job runs).
fn named_by(workload: &str, user: &str) -> bool {
    workload.starts_with(user) || format!("-{workload}-").contains(&format!("-{user}-"))
}

/// Whether `a` and `b` name the same table (`shop.orders` and `orders`).
fn same_table(a: &str, b: &str) -> bool {
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_lowercase();
    last(a) == last(b)
}

/// The `grep` that picks the lines naming a lock's holder out of a
/// database's log.
const HOLDER_GREP: &str = "Process holding the lock|blocked by process";

/// The session a waiter's line names as holding its lock: PostgreSQL's
/// `Process holding the lock: 47102.` and a deadlock's `blocked by process
/// 47102`.
fn holder_pid(line: &str) -> Option<&str> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)(?:Process holding the lock|blocked by process):?\s+(\d+)").ok()
    });
    Some(re.as_ref()?.captures(line)?.get(1)?.as_str())
}

/// The session a database names most often as holding the locks in `text`.
fn busiest_holder(text: &str) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for pid in text.lines().filter_map(holder_pid) {
        *counts.entry(pid).or_default() += 1;
    }
    let top = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == top)
        .map(|(pid, _)| pid.to_string())
}

/// Whether a database log line is about session `pid`: the `%p` of the
/// prefix (`[47102]`, `pid=47102`).
fn of_session(line: &str, pid: &str) -> bool {
    line.contains(&format!("[{pid}]")) || line.contains(&format!("pid={pid} "))
}

/// The application name a database log line's prefix gives its session:
/// PostgreSQL's `%u@%d/%a` (`settlement@auction/settlement-export`) or
/// `app=settlement-export`.
fn session_app(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?:\]\s+[\w-]+@[\w.-]+/|\bapp(?:lication_name)?=)([A-Za-z0-9][\w.-]*)").ok()
    });
    let app = re.as_ref()?.captures(line)?.get(1)?.as_str();
    Some(app.to_lowercase().replace('_', "-"))
}

/// The lock holder the database names (see the module docs): the busiest
/// holder session in a store's log, who it is (a workload whose name its
/// application or user name begins, else the application name itself), and
/// the line that says so. `None` when the holder is one of the waiters'
/// own services (a deadlock among one service's sessions).
fn named_holder(
    pack: &EvidencePack,
    world: &World,
    victims: &[String],
) -> Option<(String, String, String)> {
    let logs: Vec<_> = pack
        .of("logs")
        .filter_map(|o| {
            let pod = o.args.get("pod").and_then(Value::as_str)?;
            let p = world.pods.iter().find(|p| p.name == pod)?;
            is_store(p, world).then_some((pod, o.outcome.text.as_str()))
        })
        .collect();
    let (store, pid) = logs
        .iter()
        .find_map(|(pod, text)| Some((*pod, busiest_holder(text)?)))?;
    let own: Vec<&str> = logs
        .iter()
        .filter(|(pod, _)| *pod == store)
        .flat_map(|(_, text)| text.lines())
        .filter(|l| of_session(l, &pid) && holder_pid(l).is_none())
        .collect();
    let line = own
        .iter()
        .find(|l| !l.contains("still waiting"))
        .or(own.first())?;
    let names = [session_app(line), session_user(line)];
    let workload = names.iter().flatten().find_map(|name| {
        world
            .pods
            .iter()
            .find(|q| named_by(&q.owner, name) || q.name.starts_with(name.as_str()))
            .map(|q| q.owner.clone())
    });
    let owner = workload.or_else(|| names.into_iter().flatten().next())?;
    if victims.iter().any(|v| same_component(v, &owner)) {
        return None;
    }
    let line: String = line.trim().chars().take(200).collect();
    Some((
        owner,
        store.to_string(),
        format!(
            "the database's log ({store}) names session {pid} as holding the lock its waiters queue for: {line}"
        ),
    ))
}

/// Jobs (name, creation) of the cluster-wide `list kind=jobs` answers in
/// the pack.
fn jobs_in(pack: &EvidencePack) -> Vec<(String, Option<jiff::Timestamp>)> {
    pack.of("list")
        .filter(|o| o.args.get("kind").and_then(Value::as_str) == Some("jobs"))
        .flat_map(|o| o.outcome.text.lines())
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let name = v.pointer("/metadata/name")?.as_str()?.to_string();
            let created = v
                .pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok());
            Some((name, created))
        })
        .collect()
}

/// How long before the first lock wait a Job may have started and still be
/// what an engineer asks about ("what started just before the first
/// timeout?").
const JOB_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// The one Job started in the minutes before the first lock wait (and in
/// the window): a migration or a backfill is started by hand or by a
/// pipeline, once, so a Job that a CronJob starts every few minutes counts
/// only when no one-off Job started then. `None` when none or several did.
fn job_started_before(
    pack: &EvidencePack,
    since: jiff::Timestamp,
    first_wait: Option<jiff::Timestamp>,
) -> Option<String> {
    let first = first_wait?;
    let from = since.max(first.checked_sub(JOB_BEFORE).unwrap_or(since));
    let mut recent: Vec<String> = jobs_in(pack)
        .into_iter()
        .filter(|(_, created)| {
            // A wait's time may be its minute's bucket.
            created.is_some_and(|c| c >= from && c <= first + jiff::SignedDuration::from_mins(1))
        })
        .map(|(job, _)| job)
        .collect();
    recent.sort();
    recent.dedup();
    let one_off: Vec<&String> = recent
        .iter()
        .filter(|j| super::world::job_owner(j) == **j)
        .collect();
    match (one_off.as_slice(), recent.as_slice()) {
        ([one], _) => Some((*one).clone()),
        ([], [one]) => Some(one.clone()),
        _ => None,
    }
}

/// Whether a data store's log (read as templates) shows sessions waiting
/// for a lock, or its clients' new lines say their statements timed out
/// waiting for one ([`says_lock_timeout`]).
fn shows_lock_waits(o: &super::collect::Output) -> bool {
    if o.outcome.is_error {
        return false;
    }
    match o.name.as_str() {
        "logs" => {
            o.args.get("mode").and_then(Value::as_str) == Some("patterns")
                && o.outcome.text.contains("still waiting for")
        }
        "log_patterns" => super::parse::log_patterns(&o.outcome.text)
            .iter()
            .filter(|p| p.kind == "NEW" || p.kind == "SURGED")
            .any(|p| {
                // The template may be cut where the first line is whole.
                std::iter::once(&p.template)
                    .chain(p.example.as_ref())
                    .any(|t| says_lock_timeout(t))
            }),
        _ => false,
    }
}

/// Whether a client's line says its statement timed out waiting for a lock:
/// PostgreSQL's `canceling statement due to lock timeout`, MySQL's `Lock
/// wait timeout exceeded` (1205), SQL Server's `Lock request time out
/// period exceeded` (1222).
fn says_lock_timeout(line: &str) -> bool {
    let t = line.to_lowercase();
    [
        "due to lock timeout",
        "lock wait timeout exceeded",
        "lock request time out period exceeded",
    ]
    .iter()
    .any(|cue| t.contains(cue))
}

/// The cluster's Jobs, listed when a data store's sessions wait for a lock:
/// the session that holds or queues for it is often a migration or a batch
/// Job in a namespace nothing else linked to the incident.
pub(super) fn jobs_read(outputs: &[super::collect::Output], page: usize) -> Option<Value> {
    outputs.iter().any(shows_lock_waits).then(
        || serde_json::json!({ "kind": "jobs", "output": "json", "compact": true, "limit": page }),
    )
}

/// Follow-up reads when a data store's log (read as templates) shows its
/// sessions queueing for a lock: the lines that name the holder.
pub(super) fn holder_reads(outputs: &[super::collect::Output]) -> Vec<Value> {
    outputs
        .iter()
        .filter(|o| o.name == "logs" && !o.outcome.is_error)
        .filter(|o| o.args.get("mode").and_then(Value::as_str) == Some("patterns"))
        .filter(|o| o.outcome.text.lines().any(|l| holder_pid(&l.replace("<*>", "0")).is_some()))
        .map(|o| {
            serde_json::json!({
                "namespace": o.args["namespace"], "pod": o.args["pod"], "container": o.args["container"],
                "grep": HOLDER_GREP, "tail": 60, "max_bytes": 8000,
            })
        })
        .take(2)
        .collect()
}

/// Follow-up reads after [`holder_reads`]: the lines of the session named
/// most often as the holder, whose prefix says who it is.
pub(super) fn session_reads(outputs: &[super::collect::Output]) -> Vec<Value> {
    outputs
        .iter()
        .filter(|o| o.name == "logs" && !o.outcome.is_error)
        .filter(|o| o.args.get("grep").and_then(Value::as_str) == Some(HOLDER_GREP))
        .filter_map(|o| {
            let pid = busiest_holder(&o.outcome.text)?;
            Some(serde_json::json!({
                "namespace": o.args["namespace"], "pod": o.args["pod"], "container": o.args["container"],
                "grep": format!(r"\[{pid}\]|pid={pid}\b"), "tail": 20, "max_bytes": 6000,
            }))
        })
        .collect()
}

/// Moves the victims' `lock_contention` signals to the lock holder, or to
/// the contended relation when no holder shows (see the module docs), and
/// returns the component they moved to (the victims' errors name it, so it
/// is as close to the failing path as they are) and the victims.
pub fn attribute(
    signals: &mut Vec<Signal>,
    pack: &EvidencePack,
    world: &World,
    since: jiff::Timestamp,
) -> Option<(String, Vec<String>)> {
    let mut victims: Vec<usize> = signals
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "lock_contention")
        .map(|(i, _)| i)
        .collect();
    if victims.is_empty() {
        return None;
    }
    // While statements queue for a lock, the clients' statement timeouts
    // are those waits seen from the other end: `canceling statement due to
    // statement timeout` says the statement waited, the lock says on what.
    for (i, s) in signals.iter_mut().enumerate() {
        if matches!(s.kind, "new_error" | "error_surge" | "latency_regression")
            && statement_timeout(&s.detail)
        {
            s.kind = "lock_contention";
            victims.push(i);
        }
    }
    // A pool whose connections all wait on a lock runs dry: its clients'
    // "connection is not available" is the same wait, one step later.
    let waiting: Vec<String> = victims
        .iter()
        .map(|&i| signals[i].component.clone())
        .collect();
    for (i, s) in signals.iter().enumerate() {
        if s.kind == "connection_pool_exhausted"
            && waiting.iter().any(|w| same_component(w, &s.component))
            && !victims.contains(&i)
        {
            victims.push(i);
        }
    }
    let victim_components: Vec<String> = victims
        .iter()
        .map(|&i| signals[i].component.clone())
        .collect();
    let relation = victims
        .iter()
        .find_map(|&i| relation_in(&signals[i].detail));
    // The first wait a line dates: a span bucket's start or a metric's
    // step is a lower bound minutes wide, and would put the wait before
    // the Job that caused it.
    let dated = |exact: bool| {
        victims
            .iter()
            .filter(|&&i| !super::telemetry::coarse_time(&signals[i]))
            .filter(|&&i| !exact || !signals[i].source.ends_with("query_metric"))
            .filter_map(|&i| signals[i].at)
            .min()
    };
    let first_wait = dated(true).or_else(|| dated(false));
    // The holder: a pod whose logs show a locking statement, on the named
    // relation when there is one, started before the first wait.
    let started_before = |p: &super::world::Pod| !matches!((p.created, first_wait), (Some(created), Some(first)) if created > first);
    let mut hits: Vec<Hit> = pack
        .of("logs")
        .filter_map(|o| {
            let pod = o.args.get("pod").and_then(Value::as_str)?;
            let p = world.pods.iter().find(|p| p.name == pod)?;
            // The database's own log names the statement that holds or queues
            // for the lock, and the session's user: the pod that session
            // belongs to when it is a new one (a migration Job), else the
            // table itself. The database is where it shows, not who did it.
            if is_store(p, world) {
                return o.outcome.text.lines().find_map(|line| {
                    let table = locking_statement(line).filter(|t| !t.is_empty())?;
                    if relation.as_deref().is_some_and(|r| !same_table(r, &table)) {
                        return None;
                    }
                    let session = session_user(line)
                        .and_then(|user| {
                            let pod = world
                                .pods
                                .iter()
                                .filter(|q| {
                                    q.created.is_some_and(|c| c >= since) && started_before(q)
                                })
                                .find(|q| named_by(&q.owner, &user) || q.name.starts_with(&user))
                                .map(|q| (q.owner.clone(), q.name.clone()));
                            // A migration Job in a namespace nothing else linked:
                            // the cluster's Jobs, listed when a store's sessions wait.
                            pod.or_else(|| {
                                jobs_in(pack)
                                    .into_iter()
                                    .filter(|(_, created)| {
                                        // A wait's time may be its minute's bucket.
                                        created.is_some_and(|c| {
                                            c >= since
                                                && first_wait.is_none_or(|f| {
                                                    c <= f + jiff::SignedDuration::from_mins(1)
                                                })
                                        })
                                    })
                                    .find(|(job, _)| named_by(job, &user))
                                    .map(|(job, _)| (super::world::job_owner(&job), job))
                            })
                        })
                        // A session named after no workload (`flyway_migrator`,
                        // `Flyway by Redgate`) running DDL: the one Job that
                        // started just before the first wait.
                        .or_else(|| {
                            job_started_before(pack, since, first_wait)
                                .map(|job| (super::world::job_owner(&job), job))
                        });
                    let named = session.is_some();
                    let (owner, by) = session.unwrap_or_else(|| (table.clone(), pod.to_string()));
                    Some(Hit {
                        owner,
                        pod: by,
                        table,
                        line: line.trim().to_string(),
                        store: Some(pod),
                        named,
                    })
                });
            }
            if !started_before(p) {
                return None;
            }
            o.outcome.text.lines().find_map(|line| {
                let table = locking_statement(line)?;
                (table.is_empty() || relation.as_deref().is_none_or(|r| same_table(r, &table)))
                    .then(|| Hit {
                        owner: p.owner.clone(),
                        pod: pod.to_string(),
                        table,
                        line: line.trim().to_string(),
                        store: None,
                        named: true,
                    })
            })
        })
        .collect();
    // The database shows the statement but not whose session it is: a pod
    // that started before the first wait and runs a migration or a locking
    // statement is who an engineer would name, on the table the database
    // shows (`ALTER TABLE lots` queued behind an export, every later writer
    // of `lots` queued behind it, and the migration Job's log printing only
    // the migration's name).
    let unnamed_table = hits
        .iter()
        .find(|h| h.store.is_some() && !h.named)
        .map(|h| h.table.clone());
    let holder = hits
        .iter()
        .position(|h| h.named)
        .or((!hits.is_empty()).then_some(0))
        .map(|i| {
            let h = hits.swap_remove(i);
            let queued = match (&unnamed_table, h.store) {
                (Some(t), None) if h.table.is_empty() || same_table(t, &h.table) => Some(t.clone()),
                _ => None,
            };
            (h, queued)
        });
    match holder {
        Some((
            Hit {
                owner,
                pod,
                table,
                line,
                store,
                ..
            },
            queued,
        )) => {
            let table = queued.clone().unwrap_or(table);
            let on = if table.is_empty() {
                "a migrated table"
            } else {
                table.as_str()
            };
            move_to_holder(signals, &victims, &owner, on);
            let line: String = line.chars().take(200).collect();
            signals.push(Signal {
                component: owner.clone(),
                kind: "lock_contention",
                weight: 5.0,
                source: "k8s.logs".into(),
                detail: if let Some(store) = store {
                    format!(
                        "the database's log ({store}) shows the statement queued for or holding the lock on {table}: {line}"
                    )
                } else if queued.is_some() {
                    format!("pod {pod} started before the first lock wait and runs a schema migration, while the database's log shows DDL on {table} queued for its lock: {line}")
                } else if table.is_empty() {
                    format!("pod {pod} started before the first lock wait and runs a schema migration: {line}")
                } else {
                    format!(
                        "pod {pod} started before the first lock wait and runs a statement that locks {table}: {line}"
                    )
                },
                // A database's log line has no start of its own here.
                at: world
                    .pods
                    .iter()
                    .find(|p| p.name == pod && store.is_none_or(|s| s != pod))
                    .and_then(|p| p.created),
            });
            Some((owner, victim_components))
        }
        None => {
            // No statement that locks a table: the session the database itself names
            // as holding the lock (a transaction keeping row locks), whatever it ran.
            if let Some((owner, store, detail)) = named_holder(pack, world, &victim_components) {
                let on = relation.as_deref().unwrap_or("rows it holds");
                move_to_holder(signals, &victims, &owner, on);
                signals.push(Signal {
                    component: owner.clone(),
                    kind: "lock_contention",
                    weight: 5.0,
                    source: "k8s.logs".into(),
                    detail,
                    // A database's log line has no start of its own here; the
                    // holder's pod, when it is known, started its session.
                    at: world
                        .pods
                        .iter()
                        .find(|p| p.owner == owner && p.name != store)
                        .and_then(|p| p.created),
                });
                return Some((owner, victim_components));
            }
            // Nothing names the holder: the one Job that started just
            // before the first wait (a backfill keeping one transaction
            // open over its batches holds every row it touched).
            if let Some(job) = job_started_before(pack, since, first_wait) {
                let owner = super::world::job_owner(&job);
                if !victim_components.iter().any(|v| same_component(v, &owner)) {
                    let on = relation.as_deref().unwrap_or("rows it holds");
                    move_to_holder(signals, &victims, &owner, on);
                    let at = jobs_in(pack)
                        .into_iter()
                        .find(|(j, _)| *j == job)
                        .and_then(|(_, created)| created);
                    signals.push(Signal {
                        component: owner.clone(),
                        kind: "lock_contention",
                        weight: 4.0,
                        source: "k8s.jobs".into(),
                        detail: format!(
                            "Job {job} started just before the first lock wait, and nothing else that could hold {on} did"
                        ),
                        at,
                    });
                    return Some((owner, victim_components));
                }
            }
            let r = relation?;
            for &i in &victims {
                let s = &mut signals[i];
                s.detail = format!("on {r} ({}): {}", s.component, s.detail);
                s.component = r.clone();
            }
            Some((r, victim_components))
        }
    }
}

/// A place whose log shows a statement that takes (or queues for) a table
/// lock: the workload it is, the pod, the table (`""` when a migration tool
/// names only its migration), the line, the store when the database's own
/// log showed it, and whether the session's owner is known.
struct Hit<'a> {
    owner: String,
    pod: String,
    table: String,
    line: String,
    store: Option<&'a str>,
    named: bool,
}

/// Moves the victims' signals to the holder `owner`, saying on what they
/// waited.
fn move_to_holder(signals: &mut [Signal], victims: &[usize], owner: &str, on: &str) {
    for &i in victims {
        let s = &mut signals[i];
        if same_component(&s.component, owner) {
            continue;
        }
        s.detail = format!("waits on a lock on {on} ({}): {}", s.component, s.detail);
        s.component = owner.to_string();
        // An exhausted pool whose connections wait on the lock is that wait.
        s.kind = "lock_contention";
    }
}

#[cfg(test)]
#[path = "locks_tests.rs"]
mod tests;
