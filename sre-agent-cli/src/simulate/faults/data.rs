//! Data-store faults: missing indexes, replication lag, lock contention and
//! full volumes.

use serde_json::json;

use super::super::incident::{Ctx, Effect, KubeAlert, Mongo, Symptom};
use super::super::surface::{Failure, iso, iso_ms};
use super::super::world::{Engine, Role};
use super::{backoff_event, blame, calls_from_fail, job_created_pod, pod_uid, store_down, told};

fn store_users(ctx: &Ctx, engine: Engine) -> Vec<(usize, usize, String)> {
    let mut v = Vec::new();
    for (i, w) in ctx.w.workloads.iter().enumerate() {
        for (s, t) in &w.stores {
            if ctx.w.workloads[*s].role == Role::Store(engine)
                && (w.is_http() || w.role == Role::Worker)
            {
                v.push((i, *s, t.clone()));
            }
        }
    }
    v
}

fn mongo_base(ctx: &mut Ctx, si: usize, db: &str) -> Mongo {
    let mut colls: Vec<String> = ctx
        .w
        .workloads
        .iter()
        .flat_map(|w| {
            w.stores
                .iter()
                .filter(|(s, _)| *s == si)
                .map(|(_, t)| t.clone())
        })
        .collect();
    colls.sort();
    colls.dedup();
    let indexes = colls
        .iter()
        .flat_map(|c| {
            vec![
                (c.clone(), "_id_".to_string(), "{\"_id\":1}".to_string()),
                (
                    c.clone(),
                    "createdAt_-1".to_string(),
                    "{\"createdAt\":-1}".to_string(),
                ),
            ]
        })
        .collect();
    Mongo {
        store: si,
        db: db.to_string(),
        collections: colls,
        indexes,
        lag: vec![0, 1],
        conns: (ctx.rng.range(80, 200) as u32, ctx.rng.range(3, 12) as u32),
        ..Default::default()
    }
}

/// Queries scan a whole collection for lack of an index.
pub fn missing_index(ctx: &mut Ctx) -> Option<()> {
    let users = store_users(ctx, Engine::Mongo);
    let (wi, si, coll) = users.get(ctx.rng.below(users.len().max(1))).cloned()?;
    let db = ctx.w.workloads[wi].ns.replace('-', "_");
    let field = ctx
        .rng
        .pick(&["customerId", "status", "externalRef", "tenantId", "email"])
        .to_string();
    let filter = format!("{{\"{field}\":\"?\",\"createdAt\":{{\"$gte\":\"?\"}}}}");
    let mut m = mongo_base(ctx, si, &db);
    let docs = ctx.rng.range(800_000, 9_000_000) as u64;
    let ms = ctx.rng.range(900, 6000) as u64;
    let dropped = ctx.rng.chance(0.4);
    m.profile.push((
        coll.clone(),
        filter.clone(),
        "COLLSCAN".into(),
        docs,
        ctx.rng.range(0, 20) as u64,
        ms,
        ctx.rng.range(200, 3000) as u32,
        ctx.age(),
    ));
    // A query that was slow before too, on another collection (baseline).
    if let Some(other) = m.collections.iter().find(|c| **c != coll).cloned() {
        m.profile.push((
            other,
            "{\"createdAt\":{\"$lt\":\"?\"}}".into(),
            "IXSCAN { createdAt: -1 }".into(),
            40_000,
            40_000,
            180,
            40,
            86_400 * 3,
        ));
    }
    let app_name = ctx.w.workloads[wi].name.clone();
    for k in 0..ctx.rng.range(3, 12) {
        m.ops.push((
            coll.clone(),
            "query".into(),
            format!("{{\"find\":\"{coll}\",\"filter\":{filter}}}"),
            ms / 1000 + k as u64,
            false,
            "COLLSCAN".into(),
            app_name.clone(),
        ));
    }
    m.queue = (ctx.rng.range(5, 60) as u32, 0);
    m.explain = Some((coll.clone(), filter.clone(), "COLLSCAN".into()));
    if dropped {
        m.indexes
            .retain(|(c, n, _)| !(c == &coll && n.starts_with(&field)));
        let t = ctx.onset - ctx.rng.range(10, 120);
        m.log.push(format!("{{\"t\":{{\"$date\":\"{}\"}},\"s\":\"I\",\"c\":\"COMMAND\",\"id\":51806,\"ctx\":\"conn{}\",\"msg\":\"CMD: dropIndexes\",\"attr\":{{\"namespace\":\"{db}.{coll}\",\"uuid\":{{\"uuid\":{{\"$uuid\":\"{}\"}}}},\"indexes\":\"\\\"{field}_1_createdAt_-1\\\"\"}}}}", iso_ms(t * 1_000_000_000), ctx.rng.range(100, 9000), pod_uid(&coll)));
    }
    for k in 0..8 {
        let t = (ctx.w.now - ctx.ago(k as f64 / 8.0)) * 1_000_000_000;
        m.log.push(format!("{{\"t\":{{\"$date\":\"{}\"}},\"s\":\"I\",\"c\":\"COMMAND\",\"id\":51803,\"ctx\":\"conn{}\",\"msg\":\"Slow query\",\"attr\":{{\"type\":\"command\",\"ns\":\"{db}.{coll}\",\"appName\":\"{app_name}\",\"command\":{{\"find\":\"{coll}\",\"filter\":{filter}}},\"planSummary\":\"COLLSCAN\",\"keysExamined\":0,\"docsExamined\":{docs},\"nreturned\":{},\"durationMillis\":{}}}}}", iso_ms(t), ctx.rng.range(100, 9000), ctx.rng.range(0, 20), ms + k * 37));
    }
    ctx.inc.mongo = Some(m);
    let stmt = format!("{{\"find\":\"{coll}\",\"filter\":{filter}}}");
    ctx.effect(Effect::StoreSlow {
        store: si,
        target: Some(coll.clone()),
        ms: ms as f64,
        statement: Some(stmt),
    });
    ctx.inc.symptom = Some((wi, Symptom::Latency));
    ctx.inc.component = format!("{db}.{coll}");
    ctx.inc.aliases = vec![coll.clone(), format!("{db}/{coll}")];
    ctx.inc.culprit = Some(si);
    ctx.inc.summary = if dropped {
        format!(
            "The index on {field} of {db}.{coll} was dropped; {app_name}'s queries by {field} now scan the whole collection ({docs} documents)."
        )
    } else {
        format!(
            "{app_name}'s queries on {db}.{coll} filter by {field}, which no index covers; each scans ~{docs} documents."
        )
    };
    ctx.inc.title = format!("{app_name} slow: collection scans on {db}.{coll}");
    ctx.inc.ns = ctx.w.workloads[wi].ns.clone();
    Some(())
}

/// MongoDB secondaries fall behind; majority writes time out.
pub fn replication_lag(ctx: &mut Ctx) -> Option<()> {
    let users = store_users(ctx, Engine::Mongo);
    let (wi, si, _coll) = users.get(ctx.rng.below(users.len().max(1))).cloned()?;
    let (store, sns) = ctx.names(si);
    let db = ctx.w.workloads[wi].ns.replace('-', "_");
    let mut m = mongo_base(ctx, si, &db);
    let lag = ctx.age().max(60);
    m.lag = vec![lag - ctx.rng.range(0, lag / 4), lag];
    for k in 0..5 {
        let t = (ctx.w.now - ctx.ago(k as f64 / 5.0)) * 1_000_000_000;
        m.log.push(format!("{{\"t\":{{\"$date\":\"{}\"}},\"s\":\"I\",\"c\":\"REPL\",\"id\":21799,\"ctx\":\"conn{}\",\"msg\":\"Waiting for write concern\",\"attr\":{{\"writeConcern\":{{\"w\":\"majority\",\"wtimeout\":5000}},\"durationMillis\":5003}}}}", iso_ms(t), 200 + k));
    }
    ctx.inc.mongo = Some(m);
    // Secondaries' disks are saturated: their pods use a lot of CPU/IO.
    let users_all = ctx.w.callers_of(si);
    calls_from_fail(ctx, &users_all, si, 0.35, 5000.0, || {
        Failure::WriteConcern { ms: 5000 }
    });
    ctx.effect(Effect::StoreSlow {
        store: si,
        target: None,
        ms: 900.0,
        statement: None,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    blame(ctx, si);
    ctx.inc
        .aliases
        .extend([format!("{store}-1"), format!("{store}-2")]);
    ctx.inc.ns = sns;
    let title = format!("writes to {store} timing out");
    let summary = format!(
        "{store}'s secondaries are {lag}s behind the primary, so w:majority writes from its clients time out after 5s."
    );
    told(ctx, title, summary)
}

/// A migration holds a table lock; queries wait and time out.
pub fn lock_contention(ctx: &mut Ctx) -> Option<()> {
    let users = store_users(ctx, Engine::Postgres);
    let (wi, si, table) = users.get(ctx.rng.below(users.len().max(1))).cloned()?;
    let (store, sns) = ctx.names(si);
    let app_name = ctx.w.workloads[wi].name.clone();
    let db = app_name.replace('-', "_");
    let col = ctx
        .rng
        .pick(&["archived_at", "external_ref", "region", "version"])
        .to_string();
    // A migration Job runs ALTER TABLE behind a long transaction.
    let job = format!("{app_name}-migrate-{}", ctx.rng.range(100, 999));
    let age = ctx.age() + ctx.rng.range(5, 60);
    let mut p = ctx.w.new_pod(
        ctx.rng,
        wi,
        format!("{job}-{}", ctx.rng.suffix(5)),
        age,
        ctx.w.workloads[wi].revisions.len() - 1,
    );
    p.usage = Some((2, 40));
    let pname = p.name.clone();
    ctx.w.jobs.push(super::super::world::JobRun {
        wi,
        name: job.clone(),
        age,
        duration: 0,
        ok: None,
        pods: vec![p],
        backoff: 0,
    });
    let now = ctx.w.now;
    let ns = ctx.w.workloads[wi].ns.clone();
    ctx.inc.logs.push(super::super::incident::PodLog {
        ns: ns.clone(),
        pod: pname.clone(),
        container: app_name.clone(),
        previous: false,
        lines: vec![
            (
                (now - age + 3) * 1_000_000_000,
                format!(
                    "Migrating schema `{db}` to version \"2024.{}\" - add column {col}",
                    ctx.rng.range(10, 99)
                ),
            ),
            (
                (now - age + 4) * 1_000_000_000,
                format!("ALTER TABLE {table} ADD COLUMN {col} text NOT NULL DEFAULT ''"),
            ),
        ],
    });
    job_created_pod(ctx, &ns, &job, &pname, age);
    // Postgres logs the waits.
    let mut lines = Vec::new();
    for k in 0..10 {
        let t = (now - ctx.ago(k as f64 / 10.0)) * 1_000_000_000;
        let ts = iso_ms(t)
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_string();
        lines.push((t, format!("{ts} UTC [{}] LOG:  process {} still waiting for RowExclusiveLock on relation {} of database {} after 1000.112 ms", 4100 + k, 4100 + k, 16_384 + k, 16_401)));
        lines.push((
            t + 1000,
            format!(
                "{ts} UTC [{}] DETAIL:  Process holding the lock: {}. Wait queue: {}.",
                4100 + k,
                3977,
                4100 + k
            ),
        ));
        lines.push((
            t + 2000,
            format!(
                "{ts} UTC [{}] ERROR:  canceling statement due to lock timeout",
                4100 + k
            ),
        ));
    }
    if !ctx.w.workloads[si].pods.is_empty() {
        ctx.log(si, 0, false, lines);
    }
    let users_t: Vec<usize> = ctx
        .w
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| w.stores.iter().any(|(s, t)| *s == si && *t == table))
        .map(|(i, _)| i)
        .collect();
    calls_from_fail(ctx, &users_t, si, 0.5, 5000.0, || Failure::LockTimeout {
        engine: Engine::Postgres,
        object: table.clone(),
    });
    ctx.effect(Effect::StoreSlow {
        store: si,
        target: Some(table.clone()),
        ms: 2500.0,
        statement: None,
    });
    ctx.inc.symptom = Some((wi, Symptom::Errors));
    ctx.inc.component = format!("{db}.{table}");
    ctx.inc.aliases = vec![
        table.clone(),
        job.clone(),
        format!("job/{job}"),
        store.clone(),
    ];
    ctx.inc.culprit = Some(si);
    ctx.inc.ns = sns;
    ctx.inc.summary = format!(
        "Migration job {job}'s ALTER TABLE {table} waits for an ACCESS EXCLUSIVE lock behind a long transaction, and every query on {table} queues behind it until its lock timeout."
    );
    ctx.inc.title = format!("queries on {table} timing out");
    let _ = iso;
    Some(())
}

/// A store's volume is full.
pub fn volume_full(ctx: &mut Ctx) -> Option<()> {
    let stores: Vec<usize> = (0..ctx.w.workloads.len())
        .filter(|&i| {
            matches!(ctx.w.workloads[i].role, Role::Store(_)) && !ctx.w.workloads[i].pods.is_empty()
        })
        .collect();
    let &si = stores.get(ctx.rng.below(stores.len().max(1)))?;
    let Role::Store(engine) = ctx.w.workloads[si].role else {
        return None;
    };
    let (name, ns) = ctx.names(si);
    let claim = ctx.w.workloads[si]
        .claims
        .first()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let size = ctx.w.workloads[si]
        .claims
        .first()
        .map(|c| c.size.clone())
        .unwrap_or_default();
    let now = ctx.w.now;
    let (path, lines): (String, Vec<String>) = match engine {
        Engine::Postgres => ("pg_wal/xlogtemp.412".into(), vec![
            "PANIC:  could not write to file \"pg_wal/xlogtemp.412\": No space left on device".into(),
            "LOG:  server process (PID 412) was terminated by signal 6: Aborted".into(),
            "LOG:  terminating any other active server processes".into(),
            "FATAL:  the database system is in recovery mode".into(),
        ]),
        Engine::Mongo => ("/data/db/journal/WiredTigerLog.0000000412".into(), vec![
            "{\"t\":{\"$date\":\"T\"},\"s\":\"E\",\"c\":\"WT\",\"id\":22435,\"ctx\":\"WTJournalFlusher\",\"msg\":\"WiredTiger error message\",\"attr\":{\"error\":28,\"message\":\"[1718000000:1][1:0x7f] __posix_file_write, 617: /data/db/journal/WiredTigerLog.0000000412: handle-write: pwrite: failed to write 128 bytes at offset 9472: No space left on device\"}}".into(),
            "{\"t\":{\"$date\":\"T\"},\"s\":\"F\",\"c\":\"-\",\"id\":23089,\"ctx\":\"WTJournalFlusher\",\"msg\":\"Fatal assertion\",\"attr\":{\"msgid\":50853,\"file\":\"src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp\",\"line\":735}}".into(),
        ]),
        Engine::Redis => ("/data/appendonlydir/appendonly.aof.412.incr.aof".into(), vec![
            "1:M 01 Jan 2025 00:00:00.000 # Error writing to the AOF file: No space left on device".into(),
            "1:M 01 Jan 2025 00:00:00.000 # Background AOF rewrite terminated with error".into(),
            "1:M 01 Jan 2025 00:00:00.000 # Short write while writing to the AOF file: (nwritten=-1, expected=412)".into(),
        ]),
        _ => ("/bitnami/kafka/data/orders-3/00000000000412.log".into(), vec![
            "[2025-01-01 00:00:00,000] ERROR Error while appending records to orders-3 in dir /bitnami/kafka/data (org.apache.kafka.storage.internals.log.LogDirFailureChannel)\njava.io.IOException: No space left on device".into(),
            "[2025-01-01 00:00:00,000] ERROR Shutdown broker because all log dirs in /bitnami/kafka/data have failed (kafka.log.LogManager)".into(),
        ]),
    };
    let p = 0usize;
    ctx.crashloop(
        si,
        &[p],
        "Error",
        if engine == Engine::Postgres { 1 } else { 14 },
        None,
        0.2,
        ctx.rng.chance(0.5),
    );
    let base = ctx.w.now - 400;
    let prev: Vec<(i64, String)> = lines
        .iter()
        .enumerate()
        .map(|(k, l)| {
            (
                (base + k as i64) * 1_000_000_000,
                l.replace("\"T\"", &format!("\"{}\"", iso(now - 400))),
            )
        })
        .collect();
    ctx.log(si, p, true, prev);
    let r = ctx.w.workloads[si].pods[p].main.restarts;
    backoff_event(ctx, si, p, r.max(2), ctx.ago(0.1), ctx.rng.range(5, 60));
    let ip = ctx.w.workloads[si]
        .cluster_ip
        .clone()
        .unwrap_or_else(|| "10.96.0.1".into());
    let single = ctx.w.workloads[si].pods.len() == 1;
    store_down(ctx, si, ip, if single { 0.9 } else { 0.3 }, 2.0);
    ctx.inc.kube_alerts.push(KubeAlert {
        name: "KubePersistentVolumeFillingUp",
        ns: ns.clone(),
        labels: vec![("persistentvolumeclaim".into(), claim.clone())],
        subject: name.clone(),
        severity: "critical",
        age: (ctx.age() - 60).max(60),
    });
    ctx.inc.kube_alerts.push(super::crashlooping(ctx, si, p));
    let cap = super::super::world::parse_mi(&size) as f64 * 1_048_576.0;
    ctx.gauge(super::super::incident::Gauge {
        wi: si,
        name: "k8s.volume.available".into(),
        unit: "By".into(),
        desc: "Available bytes on the volume (kubeletstats)".into(),
        attrs: vec![
            ("k8s.volume.name".into(), "data".into()),
            ("k8s.persistentvolumeclaim.name".into(), claim.clone()),
        ],
        base: cap * 0.08,
        peak: cap * 0.0001,
        int: true,
    });
    let _ = json!(null);
    blame(ctx, si);
    ctx.inc
        .aliases
        .extend([claim.clone(), format!("persistentvolumeclaim/{claim}")]);
    ctx.inc.ns = ns;
    let title = format!("{name} out of disk space");
    let summary = format!(
        "{name}'s volume {claim} ({size}) is full; {} fails writing {path} with ENOSPC and the container keeps restarting.",
        engine.system()
    );
    told(ctx, title, summary)
}
