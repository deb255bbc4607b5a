//! MongoDB's recorded replies (`mongodb/`), in the format
//! `mcp-mongodb --snapshot` serves (Extended JSON, one file per command).

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use super::incident::Mongo;
use super::surface::iso_ms;
use super::world::World;

fn date(now: i64, ago: i64) -> Value {
    json!({"$date": iso_ms((now - ago) * 1_000_000_000)})
}

fn put(dir: &Path, rel: &str, v: &Value) -> Result<()> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, serde_json::to_string_pretty(v)? + "\n")?;
    Ok(())
}

/// Writes `mongodb/` for the state `m`.
pub fn write(dir: &Path, w: &World, m: &Mongo) -> Result<()> {
    let d = dir.join("mongodb");
    let now = w.now;
    let store = &w.workloads[m.store];
    let host = |i: usize| format!("{}-{i}.{}.{}.svc:27017", store.name, store.name, store.ns);
    let status = |k: i64| {
        json!({"host": host(0), "version": "7.0.12", "process": "mongod", "pid": 1, "uptime": 3_456_000 + k * 5, "localTime": date(now, 5 - k * 5),
            "asserts": {"regular": 0, "warning": 0, "msg": 0, "user": 1920 + k, "rollovers": 0},
            "connections": {"current": m.conns.0, "available": 838_860 - m.conns.0, "totalCreated": 48_211 + k * 3, "active": m.conns.1},
            "globalLock": {"totalTime": 1, "currentQueue": {"total": m.queue.0 + m.queue.1, "readers": m.queue.0, "writers": m.queue.1}, "activeClients": {"total": m.conns.1, "readers": m.queue.0.min(128), "writers": 1}},
            "mem": {"bits": 64, "resident": 5210, "virtual": 7380},
            "opcounters": {"insert": 4_120_331 + k * 410, "query": 31_200_331 + k * 5200, "update": 6_120_044 + k * 900, "delete": 12_021, "getmore": 401_122 + k * 80, "command": 42_002_311 + k * 2600},
            "queues": {"execution": {"write": {"out": 2, "available": 126, "totalTickets": 128}, "read": {"out": m.queue.0.min(128), "available": 128 - m.queue.0.min(128), "totalTickets": 128}}},
            "repl": {"setName": "rs0", "isWritablePrimary": true, "secondary": false, "primary": host(0), "me": host(0)},
            "wiredTiger": {"cache": {"maximum bytes configured": 4_294_967_296_u64, "bytes currently in the cache": 2_684_354_560_u64, "tracked dirty bytes in the cache": 61_234_567, "pages read into cache": 2_811_021 + k * 4000}},
            "ok": 1})
    };
    put(&d, "serverStatus.json", &json!([status(0), status(1)]))?;
    let mut inprog = Vec::new();
    for (i, (coll, op, cmd, secs, waiting, plan, app)) in m.ops.iter().enumerate() {
        let command: Value = serde_json::from_str(cmd).unwrap_or(json!({}));
        inprog.push(json!({"type": "op", "host": host(0), "desc": format!("conn{}", 9100 + i * 7), "connectionId": 9100 + i * 7, "client": format!("10.244.{}.{}:{}", 1 + i % 4, 20 + i, 40_000 + i * 13),
            "appName": app, "active": true, "currentOpTime": iso_ms((now - 5) * 1_000_000_000), "opid": 771_000 + i, "secs_running": secs, "microsecs_running": secs * 1_000_000 + 1234,
            "op": op, "ns": format!("{}.{coll}", m.db), "command": command, "numYields": secs * 37, "waitingForLock": waiting, "locks": {"FeatureCompatibilityVersion": "r", "Global": "r"}, "planSummary": plan}));
    }
    for k in 0..6 {
        inprog.push(json!({"type": "op", "desc": format!("conn{}", 12_000 + k), "client": format!("10.244.{}.{}:{}", 1 + k % 4, 10 + k, 50_000 + k), "active": false, "currentOpTime": iso_ms((now - 5) * 1_000_000_000)}));
    }
    put(&d, "currentOp.json", &json!({"inprog": inprog, "ok": 1}))?;
    let mut log = vec![json!({"t": date(now, 40 * 3600), "s": "I", "c": "NETWORK", "id": 22_943, "ctx": "listener", "msg": "Connection accepted", "attr": {"remote": "10.244.1.17:51234", "connectionCount": 88}}).to_string()];
    log.extend(m.log.iter().cloned());
    put(
        &d,
        "getLog.json",
        &json!({"totalLinesWritten": 48_211 + log.len(), "log": log, "ok": 1}),
    )?;
    let members: Vec<Value> = (0..3)
        .map(|i| {
            let lag = if i == 0 { 0 } else { m.lag.get(i - 1).copied().unwrap_or(0) };
            let mut x = json!({"_id": i, "name": host(i), "health": 1, "state": if i == 0 { 1 } else { 2 }, "stateStr": if i == 0 { "PRIMARY" } else { "SECONDARY" }, "uptime": 3_456_000,
                "optime": {"ts": {"$timestamp": {"t": now - 5 - lag, "i": 1}}, "t": 17}, "optimeDate": date(now, 5 + lag), "syncSourceHost": if i == 0 { String::new() } else { host(0) },
                "syncSourceId": if i == 0 { -1 } else { 0 }, "infoMessage": "", "configVersion": 5, "configTerm": 17, "lastHeartbeatMessage": ""});
            if i == 0 {
                x["self"] = json!(true);
            } else {
                x["pingMs"] = json!(1);
                x["lastHeartbeat"] = date(now, 2);
            }
            x
        })
        .collect();
    put(
        &d,
        "replSetGetStatus.json",
        &json!({"set": "rs0", "date": date(now, 5), "myState": 1, "term": 17, "heartbeatIntervalMillis": 2000, "members": members, "ok": 1}),
    )?;
    put(
        &d,
        "oplog.json",
        &json!([{"ts": {"$timestamp": {"t": now - 41 * 3600, "i": 1}}}, {"ts": {"$timestamp": {"t": now - 5, "i": 1}}}]),
    )?;
    put(
        &d,
        "listDatabases.json",
        &json!({"databases": [{"name": "admin", "sizeOnDisk": 217_088, "empty": false}, {"name": "config", "sizeOnDisk": 110_592, "empty": false}, {"name": "local", "sizeOnDisk": 6_442_450_944_u64, "empty": false}, {"name": m.db, "sizeOnDisk": 3_221_225_472_u64, "empty": false}], "totalSize": 9_664_000_000_u64, "ok": 1}),
    )?;
    let db = &m.db;
    put(&d, &format!("{db}/listCollections.json"), &json!(m.collections.iter().map(|c| json!({"name": c, "type": "collection", "options": {}, "info": {"readOnly": false}})).collect::<Vec<_>>()))?;
    put(
        &d,
        &format!("{db}/profile.json"),
        &json!({"was": 1, "slowms": 100, "sampleRate": 1.0, "ok": 1}),
    )?;
    let mut prof = Vec::new();
    for (coll, filter, plan, docs, nret, ms, count, first) in &m.profile {
        let f: Value = serde_json::from_str(filter).unwrap_or(json!({}));
        let n = (*count).min(40) as i64;
        for k in 0..n {
            let ago = first - (first * k / n.max(1));
            prof.push(json!({"op": "query", "ns": format!("{db}.{coll}"), "command": {"find": coll, "filter": f, "$db": db}, "keysExamined": if plan == "COLLSCAN" { 0 } else { *nret }, "docsExamined": docs,
                "nreturned": nret, "millis": ms + (k as u64 * 13) % 400, "planSummary": plan, "ts": date(now, ago.max(1)), "client": "10.244.2.31", "appName": "app", "user": ""}));
        }
    }
    put(&d, &format!("{db}/system.profile.json"), &json!(prof))?;
    for c in &m.collections {
        let idx: Vec<Value> = m.indexes.iter().filter(|(x, _, _)| x == c).map(|(_, n, k)| json!({"v": 2, "key": serde_json::from_str::<Value>(k).unwrap_or(json!({})), "name": n})).collect();
        put(&d, &format!("{db}/{c}/listIndexes.json"), &json!(idx))?;
        let stats: Vec<Value> = m.indexes.iter().filter(|(x, _, _)| x == c).map(|(_, n, k)| json!({"name": n, "key": serde_json::from_str::<Value>(k).unwrap_or(json!({})), "host": host(0), "accesses": {"ops": 40_112, "since": date(now, 40 * 86_400)}})).collect();
        put(&d, &format!("{db}/{c}/indexStats.json"), &json!(stats))?;
        put(
            &d,
            &format!("{db}/{c}/collStats.json"),
            &json!({"ns": format!("{db}.{c}"), "size": 2_483_120_011_u64, "count": 1_812_331, "avgObjSize": 1370, "storageSize": 920_419_328, "capped": false, "nindexes": idx.len(), "totalIndexSize": 114_695_936, "scaleFactor": 1, "ok": 1}),
        )?;
        put(&d, &format!("{db}/{c}/documents.json"), &json!((0..3).map(|i| json!({"_id": {"$oid": format!("665f1c{:018x}", i * 7919)}, "status": "active", "createdAt": date(now, 3600 * (i + 1))})).collect::<Vec<_>>()))?;
    }
    if let Some((c, filter, stage)) = &m.explain {
        let f: Value = serde_json::from_str(filter).unwrap_or(json!({}));
        let docs = m.profile.first().map(|p| p.3).unwrap_or(0);
        put(
            &d,
            &format!("{db}/{c}/explain.json"),
            &json!({"queryPlanner": {"namespace": format!("{db}.{c}"), "parsedQuery": f, "winningPlan": {"stage": stage, "filter": f, "direction": "forward"}, "rejectedPlans": []},
            "executionStats": {"executionSuccess": true, "nReturned": 3, "executionTimeMillis": m.profile.first().map(|p| p.5).unwrap_or(0), "totalKeysExamined": 0, "totalDocsExamined": docs}, "ok": 1}),
        )?;
    }
    Ok(())
}
