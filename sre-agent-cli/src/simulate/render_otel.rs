//! Request traffic through the call graph and its telemetry: OTLP/JSON
//! traces, logs and metrics as the Collector's `file` exporter writes them,
//! plus the container log lines the same requests print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::incident::{Effect, Incident, Timed};
use super::rng::Rng;
use super::surface::{Failure, Worded, esc, log_line, logger, word};
use super::world::{Engine, Role, Stack, World};

pub(super) const S: i64 = 1_000_000_000;
const MS: f64 = 1_000_000.0;
/// Seconds per exported batch (one JSON line per batch and signal).
const BATCH: i64 = 300;
/// Seconds between metric exports.
pub(super) const STEP: i64 = 120;

/// Container log lines by (namespace, pod, container, previous).
pub type PodLogs = BTreeMap<(String, String, String, bool), Vec<(i64, String)>>;

#[derive(Default)]
struct Res {
    attrs: String,
    spans: BTreeMap<i64, Vec<String>>,
    logs: BTreeMap<i64, Vec<String>>,
}

struct Sim<'a> {
    w: &'a World,
    inc: &'a Incident,
    rng: Rng,
    res: Vec<Res>,
    res_idx: BTreeMap<(usize, String, String), usize>,
    reqs: Vec<(i64, usize, u16, f64)>,
    pod_logs: PodLogs,
    log_from: i64,
    base_ms: Vec<f64>,
    /// Spans written for the current trace (traces are capped).
    budget: usize,
}

fn attr_s(out: &mut String, k: &str, v: &str) {
    let _ = write!(
        out,
        "{{\"key\":\"{k}\",\"value\":{{\"stringValue\":\"{}\"}}}}",
        esc(v)
    );
}

fn attr_i(out: &mut String, k: &str, v: i64) {
    let _ = write!(
        out,
        "{{\"key\":\"{k}\",\"value\":{{\"intValue\":\"{v}\"}}}}"
    );
}

/// An attribute to render.
pub(super) enum A<'x> {
    S(&'x str, String),
    I(&'x str, i64),
}

/// Renders OTLP/JSON attributes.
pub(super) fn attrs(list: &[A]) -> String {
    let mut o = String::from("[");
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        match a {
            A::S(k, v) => attr_s(&mut o, k, v),
            A::I(k, v) => attr_i(&mut o, k, *v),
        }
    }
    o.push(']');
    o
}

/// The request a span of [`Sim::run`] serves: the resource and pod it runs
/// on, its trace and its own span, under which its client calls hang.
struct Req<'x> {
    res: usize,
    wi: usize,
    pod: &'x str,
    trace: &'x str,
    sid: &'x str,
}

/// A client call of a request: its span id and name, when it started and
/// how long it took (ns).
struct Call<'x> {
    id: &'x str,
    name: &'x str,
    start: i64,
    dur: i64,
}

impl<'x> Call<'x> {
    fn new(id: &'x str, name: &'x str, start: i64, dur: i64) -> Self {
        Call {
            id,
            name,
            start,
            dur,
        }
    }
}

struct Outcome {
    dur: i64,
    status: u16,
}

impl<'a> Sim<'a> {
    fn intensity(e: &Timed, t: i64) -> f64 {
        e.at(t as f64 / S as f64)
    }

    /// The resource (service, pod, version) serving `wi` at `t` (ns).
    fn resource(&mut self, wi: usize, t: i64) -> Option<(usize, String, usize)> {
        let w = &self.w.workloads[wi];
        let ago = self.w.now - t / S;
        let mut cands: Vec<(&str, usize, Option<usize>)> = Vec::new();
        for p in &w.pods {
            let serving = p.phase == "Running" || p.main.last.is_some();
            if p.age >= ago && serving {
                cands.push((&p.name, p.rev, p.node));
            }
        }
        for (p, gone) in &w.past {
            if p.age >= ago && *gone < ago {
                cands.push((&p.name, p.rev, p.node));
            }
        }
        if cands.is_empty() {
            return None;
        }
        let k = self.rng.below(cands.len());
        let (pod, rev, node) = cands[k];
        let pod = pod.to_string();
        let version = w
            .revisions
            .get(rev)
            .map(|r| r.version.clone())
            .unwrap_or_default();
        let key = (wi, pod.clone(), version.clone());
        if let Some(&i) = self.res_idx.get(&key) {
            return Some((i, pod, rev));
        }
        let mut a = vec![
            A::S("service.name", w.name.clone()),
            A::S("service.version", version),
            A::S("k8s.namespace.name", w.ns.clone()),
            A::S("k8s.pod.name", pod.clone()),
        ];
        if let Some(n) = node {
            a.push(A::S("k8s.node.name", self.w.nodes[n].name.clone()));
        }
        a.push(A::S(
            "telemetry.sdk.language",
            match w.stack {
                Stack::Java => "java",
                Stack::Go => "go",
                Stack::Node => "nodejs",
                Stack::Python => "python",
                Stack::Plain => "dotnet",
            }
            .to_string(),
        ));
        self.res.push(Res {
            attrs: attrs(&a),
            ..Default::default()
        });
        let i = self.res.len() - 1;
        self.res_idx.insert(key, i);
        Some((i, pod, rev))
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        res: usize,
        trace: &str,
        id: &str,
        parent: &str,
        name: &str,
        kind: u8,
        start: i64,
        dur: i64,
        a: &str,
        err: Option<&str>,
    ) {
        let status = match err {
            Some(m) => format!("{{\"code\":2,\"message\":\"{}\"}}", esc(m)),
            None => "{}".to_string(),
        };
        let s = format!(
            "{{\"traceId\":\"{trace}\",\"spanId\":\"{id}\",\"parentSpanId\":\"{parent}\",\"name\":\"{}\",\"kind\":{kind},\"startTimeUnixNano\":\"{start}\",\"endTimeUnixNano\":\"{}\",\"attributes\":{a},\"status\":{status}}}",
            esc(name),
            start + dur
        );
        self.budget += 1;
        let b = (start / S - self.w.t_start) / BATCH;
        self.res[res].spans.entry(b).or_default().push(s);
    }

    /// A log line of `wi` on pod `pod`: to OTel (SDK bridge for Java and
    /// Python, filelog for the others) and to the container log.
    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        res: usize,
        wi: usize,
        pod: &str,
        t: i64,
        level: &str,
        part: &str,
        msg: &str,
        exc: Option<&Worded>,
        trace: &str,
        span: &str,
    ) {
        let w = &self.w.workloads[wi];
        let lg = logger(w.stack, &w.name, part);
        let line = log_line(w.stack, t, level, &lg, msg, exc, &[]);
        let sev = match level {
            "DEBUG" => 5,
            "INFO" => 9,
            "WARN" => 13,
            "ERROR" => 17,
            _ => 21,
        };
        let (body, extra) = match w.stack {
            Stack::Java | Stack::Python => {
                let mut a = vec![A::S("code.namespace", lg.clone())];
                if let Some(e) = exc {
                    a.push(A::S("exception.type", e.ty.clone()));
                    a.push(A::S("exception.message", e.msg.clone()));
                    if !e.trace.is_empty() {
                        a.push(A::S("exception.stacktrace", e.trace.clone()));
                    }
                }
                (msg.to_string(), attrs(&a))
            }
            _ => (
                line.clone(),
                attrs(&[A::S(
                    "log.file.path",
                    format!("/var/log/pods/{}_{pod}/{}/0.log", w.ns, w.name),
                )]),
            ),
        };
        let rec = format!(
            "{{\"timeUnixNano\":\"{t}\",\"severityNumber\":{sev},\"severityText\":\"{level}\",\"body\":{{\"stringValue\":\"{}\"}},\"attributes\":{extra},\"traceId\":\"{trace}\",\"spanId\":\"{span}\"}}",
            esc(&body)
        );
        let b = (t / S - self.w.t_start) / BATCH;
        self.res[res].logs.entry(b).or_default().push(rec);
        if t / S >= self.log_from {
            self.pod_logs
                .entry((w.ns.clone(), pod.to_string(), w.name.clone(), false))
                .or_default()
                .push((t, line));
        }
    }

    /// A client call of `req` that failed with `wd`: its error span (kind
    /// client, attributes `a`) and the ERROR line `msg` (of `part`) the caller
    /// logs when it returns. Returns that moment. Calls to services, stores
    /// and external APIs fail alike.
    fn failed_call(
        &mut self,
        req: &Req,
        call: &Call,
        a: &[A],
        wd: &Worded,
        part: &str,
        msg: &str,
    ) -> i64 {
        let (res, trace) = (req.res, req.trace);
        let (start, end) = (call.start, call.start + call.dur);
        let err = Some(wd.msg.as_str());
        self.span(
            res,
            trace,
            call.id,
            req.sid,
            call.name,
            3,
            start,
            call.dur,
            &attrs(a),
            err,
        );
        self.log_error(req, end, part, msg, wd, call.id);
        end
    }

    /// An ERROR line request `req` logs at `t` about `wd`, `msg` of `part`
    /// (handler, client…), tied to span `span` (its own or a client call's).
    fn log_error(&mut self, req: &Req, t: i64, part: &str, msg: &str, wd: &Worded, span: &str) {
        let (res, wi, pod, trace) = (req.res, req.wi, req.pod, req.trace);
        self.log(res, wi, pod, t, "ERROR", part, msg, Some(wd), trace, span);
    }

    /// The messaging attributes of operation `op` on `topic` of broker `bi`
    /// (Kafka unless the broker is another store), shared by the producer's
    /// publish span and the consumer's process span.
    fn messaging(&self, bi: usize, topic: &str, op: &str) -> Vec<A<'static>> {
        let sys = if let Role::Store(e) = self.w.workloads[bi].role {
            e.system()
        } else {
            "kafka"
        };
        vec![
            A::S("messaging.system", sys.into()),
            A::S("messaging.destination.name", topic.to_string()),
            A::S("messaging.operation", op.into()),
        ]
    }

    fn call_failure(&mut self, caller: usize, callee: usize, t: i64) -> Option<(Failure, f64)> {
        let tsec = t;
        for e in &self.inc.effects {
            if let Effect::Call {
                caller: c,
                callee: ce,
                rate,
                ms,
                failure,
            } = &e.effect
                && *ce == callee
                && c.is_none_or(|c| c == caller)
            {
                let p = rate * Self::intensity(e, tsec);
                if p > 0.0 && self.rng.chance(p) {
                    return Some((failure.clone(), *ms));
                }
            }
        }
        None
    }

    fn run(
        &mut self,
        wi: usize,
        t: i64,
        trace: &str,
        parent: &str,
        depth: usize,
        route: usize,
    ) -> Outcome {
        let Some((res, pod, rev)) = self.resource(wi, t) else {
            return Outcome {
                dur: 1_000_000,
                status: 503,
            };
        };
        let w = &self.w.workloads[wi];
        let sid = self.rng.hex(16);
        let req = Req {
            res,
            wi,
            pod: &pod,
            trace,
            sid: &sid,
        };
        let mut slow = 0.0;
        let mut serve: Option<(u16, Failure)> = None;
        for e in &self.inc.effects {
            let i = Self::intensity(e, t);
            if i <= 0.0 {
                continue;
            }
            match &e.effect {
                Effect::Slow { wi: x, ms } if *x == wi => {
                    slow += ms * i * self.rng.uniform(0.7, 1.3)
                }
                Effect::Serve {
                    wi: x,
                    rate,
                    status,
                    failure,
                    from_rev,
                } if *x == wi
                    && from_rev.is_none_or(|r| rev >= r)
                    && serve.is_none()
                    && self.rng.chance(rate * i) =>
                {
                    serve = Some((*status, failure.clone()));
                }
                _ => {}
            }
        }
        let self_ms = self.base_ms[wi] * self.rng.uniform(0.6, 1.6) + slow;
        let mut cur = t + (self_ms * 0.4 * MS) as i64;
        let mut err: Option<(u16, String)> = None;
        let calls = w.calls.clone();
        let stores = w.stores.clone();
        let stack = w.stack;
        let publishes = w.publishes.clone();
        let external = w.external.clone();
        let wname = w.name.clone();
        let wns = w.ns.clone();
        if let Some((status, f)) = &serve {
            let v = self.rng.below(4);
            let wd = word(stack, f, v);
            err = Some((*status, format!("{}: {}", wd.ty, wd.msg)));
            let what = format!("request failed: {}", wd.msg);
            self.log_error(&req, cur, "Handler", &what, &wd, &sid);
        }
        if err.is_none() && depth < 6 {
            for c in calls {
                if self.budget > 10 || !self.rng.chance(0.6) {
                    continue;
                }
                let cw = &self.w.workloads[c];
                let host = cw.host_from(&wns);
                let csid = self.rng.hex(16);
                let (method, _r) = cw
                    .routes
                    .get(route % cw.routes.len().max(1))
                    .cloned()
                    .unwrap_or(("GET".into(), "/".into()));
                let cname = method.clone();
                if let Some((f, ms)) = self.call_failure(wi, c, cur) {
                    let d = (ms * self.rng.uniform(0.9, 1.1) * MS) as i64;
                    let v = self.rng.below(4);
                    let wd = word(stack, &f, v);
                    let status = match &f {
                        Failure::Forbidden { .. } => 403,
                        Failure::RateLimited { .. } => 429,
                        _ => 0,
                    };
                    let mut a = vec![
                        A::S("http.request.method", method.clone()),
                        A::S("server.address", host.clone()),
                        A::S("error.type", wd.ty.clone()),
                    ];
                    if status > 0 {
                        a.push(A::I("http.response.status_code", status));
                    }
                    let what = format!("call to {} failed", cw.name);
                    let call = Call::new(&csid, &cname, cur, d);
                    cur = self.failed_call(&req, &call, &a, &wd, "Client", &what);
                    err = Some((
                        if status == 403 { 500 } else { 503 },
                        format!("{}: {}", wd.ty, wd.msg),
                    ));
                    break;
                }
                let o = self.run(c, cur + 300_000, trace, &csid, depth + 1, route);
                let d = o.dur + 600_000;
                let a = attrs(&[
                    A::S("http.request.method", method.clone()),
                    A::S("server.address", host.clone()),
                    A::I("http.response.status_code", o.status as i64),
                ]);
                let cerr = if o.status >= 500 {
                    Some(format!("{} {}", o.status, super::surface::reason(o.status)))
                } else {
                    None
                };
                self.span(
                    res,
                    trace,
                    &csid,
                    &sid,
                    &cname,
                    3,
                    cur,
                    d,
                    &a,
                    cerr.as_deref(),
                );
                cur += d + 200_000;
                if o.status >= 500 {
                    let wd = word(
                        stack,
                        &Failure::Http {
                            host: host.clone(),
                            status: o.status,
                        },
                        0,
                    );
                    if self.rng.chance(0.5) {
                        let what = format!("upstream {host} failed");
                        self.log_error(&req, cur, "Client", &what, &wd, &csid);
                    }
                    err = Some((
                        if o.status == 503 { 502 } else { 500 },
                        format!("{}: {}", wd.ty, wd.msg),
                    ));
                    break;
                }
            }
        }
        if err.is_none() {
            for (si, target) in stores {
                let sw = &self.w.workloads[si];
                let Role::Store(engine) = sw.role else {
                    continue;
                };
                let host = sw.host_from(&wns);
                // What differs by engine: the operation, the database, the
                // table or collection and the statement recorded.
                let (op, system, db, object, statement) = match engine {
                    Engine::Postgres => (
                        "SELECT",
                        "postgresql",
                        Some(wname.replace('-', "_")),
                        Some(("db.sql.table", target.clone())),
                        Some(format!("SELECT * FROM {target} WHERE id = $1")),
                    ),
                    Engine::Mongo => (
                        "find",
                        "mongodb",
                        Some(wns.replace('-', "_")),
                        Some(("db.mongodb.collection", target.clone())),
                        None,
                    ),
                    _ => ("GET", "redis", None, None, Some(format!("GET {target}:?"))),
                };
                let mut a = vec![A::S("db.system", system.into())];
                if let Some(db) = db {
                    a.push(A::S("db.name", db));
                }
                a.push(A::S("db.operation", op.into()));
                if let Some((key, name)) = object {
                    a.push(A::S(key, name));
                }
                if let Some(st) = statement {
                    a.push(A::S("db.statement", st));
                }
                a.push(A::S("server.address", host.clone()));
                let name = match engine {
                    Engine::Redis => op.to_string(),
                    Engine::Mongo => format!("{op} {}.{target}", wns.replace('-', "_")),
                    _ => format!("{op} {target}"),
                };
                let mut extra = 0.0;
                for e in &self.inc.effects {
                    if let Effect::StoreSlow {
                        store,
                        target: tg,
                        ms,
                        statement,
                    } = &e.effect
                        && *store == si
                        && tg.as_ref().is_none_or(|x| *x == target)
                    {
                        let i = Self::intensity(e, cur);
                        extra += ms * i * self.rng.uniform(0.6, 1.4);
                        if i > 0.0
                            && let Some(st) = statement
                        {
                            a.push(A::S("db.statement", st.clone()));
                        }
                    }
                }
                let base = if engine == Engine::Redis { 0.6 } else { 3.0 };
                let csid = self.rng.hex(16);
                if let Some((f, ms)) = self.call_failure(wi, si, cur) {
                    let d = (ms * MS) as i64;
                    let v = self.rng.below(4);
                    let wd = super::surface::word_store(stack, engine, &f, v);
                    a.push(A::S("error.type", wd.ty.clone()));
                    let what = format!("{} {} failed", engine.system(), target);
                    let call = Call::new(&csid, &name, cur, d);
                    cur = self.failed_call(&req, &call, &a, &wd, "Repository", &what);
                    err = Some((500, format!("{}: {}", wd.ty, wd.msg)));
                    break;
                }
                let d = ((base * self.rng.uniform(0.5, 2.0) + extra) * MS) as i64;
                self.span(res, trace, &csid, &sid, &name, 3, cur, d, &attrs(&a), None);
                cur += d + 100_000;
            }
        }
        if err.is_none()
            && let Some((bi, topic)) = publishes
        {
            let mut a = self.messaging(bi, &topic, "publish");
            a.push(A::S("server.address", self.w.workloads[bi].host_from(&wns)));
            let a = attrs(&a);
            let d = (self.rng.uniform(0.5, 3.0) * MS) as i64;
            let csid = self.rng.hex(16);
            self.span(
                res,
                trace,
                &csid,
                &sid,
                &format!("{topic} publish"),
                4,
                cur,
                d,
                &a,
                None,
            );
            cur += d;
        }
        if err.is_none()
            && let Some(host) = external
        {
            let csid = self.rng.hex(16);
            let mut fail = None;
            for e in &self.inc.effects {
                if let Effect::External {
                    wi: x,
                    rate,
                    ms,
                    failure,
                } = &e.effect
                    && *x == wi
                    && self.rng.chance(rate * Self::intensity(e, cur))
                {
                    fail = Some((failure.clone(), *ms));
                }
            }
            let d0 = (self.rng.uniform(40.0, 180.0) * MS) as i64;
            match fail {
                Some((f, ms)) => {
                    let v = self.rng.below(4);
                    let wd = word(stack, &f, v);
                    let a = [
                        A::S("http.request.method", "POST".into()),
                        A::S("server.address", host.clone()),
                        A::I("http.response.status_code", 429),
                        A::S("error.type", "429".into()),
                    ];
                    let what = format!("call to {host} failed");
                    let dur = (ms * MS) as i64;
                    let call = Call::new(&csid, "POST", cur, dur);
                    cur = self.failed_call(&req, &call, &a, &wd, "Client", &what);
                    err = Some((503, format!("{}: {}", wd.ty, wd.msg)));
                }
                None => {
                    let a = attrs(&[
                        A::S("http.request.method", "POST".into()),
                        A::S("server.address", host.clone()),
                        A::I("http.response.status_code", 200),
                    ]);
                    self.span(res, trace, &csid, &sid, "POST", 3, cur, d0, &a, None);
                    cur += d0;
                }
            }
        }
        let w = &self.w.workloads[wi];
        let dur = cur - t + (self_ms * 0.6 * MS) as i64;
        let (method, r) = w
            .routes
            .get(route % w.routes.len().max(1))
            .cloned()
            .unwrap_or(("GET".into(), "/".into()));
        let status = match &err {
            Some((s, _)) => *s,
            None => {
                if method == "POST" {
                    201
                } else {
                    200
                }
            }
        };
        if w.role == Role::Worker {
            let (bi, topic) = w.consumes.clone().unwrap_or((0, String::new()));
            let a = attrs(&self.messaging(bi, &topic, "process"));
            self.span(
                res,
                trace,
                &sid,
                parent,
                &format!("{topic} process"),
                5,
                t,
                dur,
                &a,
                err.as_ref().map(|e| e.1.as_str()),
            );
        } else {
            let a = attrs(&[
                A::S("http.request.method", method.clone()),
                A::S("http.route", r.clone()),
                A::I("http.response.status_code", status as i64),
                A::S("url.scheme", "http".into()),
            ]);
            self.span(
                res,
                trace,
                &sid,
                parent,
                &format!("{method} {r}"),
                2,
                t,
                dur,
                &a,
                err.as_ref().map(|e| e.1.as_str()),
            );
        }
        self.reqs.push((t + dur, wi, status, dur as f64 / S as f64));
        if err.is_none() && self.rng.chance(0.25) {
            let msg = match w.stack {
                Stack::Java => format!(
                    "Completed {method} {r} with {status} in {}ms",
                    dur / 1_000_000
                ),
                Stack::Go => "request handled".to_string(),
                Stack::Node => "request completed".to_string(),
                Stack::Python => format!("\"{method} {r} HTTP/1.1\" {status}"),
                Stack::Plain => format!(
                    "Request finished HTTP/1.1 {method} {r} - {status} - {:.1}ms",
                    dur as f64 / MS
                ),
            };
            self.log(
                res,
                wi,
                &pod,
                t + dur,
                "INFO",
                "Access",
                &msg,
                None,
                trace,
                &sid,
            );
        }
        Outcome { dur, status }
    }
}

/// Simulates the traffic, writes `telemetry/` and returns the container log
/// lines the requests printed (the last 30 minutes).
pub fn write(dir: &Path, w: &World, inc: &Incident, rng: &Rng) -> Result<PodLogs> {
    let mut sim = Sim {
        w,
        inc,
        rng: rng.fork("otel"),
        res: Vec::new(),
        res_idx: BTreeMap::new(),
        reqs: Vec::new(),
        pod_logs: BTreeMap::new(),
        log_from: w.now - 1800,
        base_ms: Vec::new(),
        budget: 0,
    };
    for _ in 0..w.workloads.len() {
        let b = sim.rng.uniform(3.0, 30.0);
        sim.base_ms.push(b);
    }
    let entries: Vec<usize> = (0..w.workloads.len())
        .filter(|&i| matches!(w.workloads[i].role, Role::Gateway | Role::Worker))
        .collect();
    let end = w.now * S;
    for &e in &entries {
        let interval = sim.rng.uniform(20.0, 30.0)
            * if w.workloads[e].role == Role::Worker {
                2.0
            } else {
                1.0
            };
        let mut t = w.t_start * S + (sim.rng.f64() * 3.0 * S as f64) as i64;
        let mut route = 0usize;
        while t < end - 2 * S {
            let trace = sim.rng.hex(32);
            sim.budget = 0;
            sim.run(e, t, &trace, "", 0, route);
            route += 1;
            let mut mult = 1.0;
            for x in &inc.effects {
                if let Effect::Traffic { mult: m } = x.effect {
                    mult += (m - 1.0) * x.at((t / S) as f64);
                }
            }
            t += (interval / mult * sim.rng.uniform(0.6, 1.4) * S as f64) as i64;
        }
    }
    // Periodic log effects.
    for x in &inc.effects {
        if let Effect::Log {
            wi,
            every,
            level,
            msg,
            failure,
        } = &x.effect
        {
            let mut t = x.from * S;
            while t < end {
                if (sim.rng.chance(x.at((t / S) as f64)) || x.from <= w.t_start)
                    && let Some((res, pod, _)) = sim.resource(*wi, t)
                {
                    let wd = failure.as_ref().map(|f| word(w.workloads[*wi].stack, f, 0));
                    sim.log(res, *wi, &pod, t, level, "Worker", msg, wd.as_ref(), "", "");
                }
                t += (every * sim.rng.uniform(0.7, 1.3) * S as f64) as i64;
            }
        }
    }
    let tdir = dir.join("telemetry");
    std::fs::create_dir_all(&tdir)?;
    // Traces and logs: one line per batch.
    let nb = (w.now - w.t_start) / BATCH + 1;
    for (file, outer, inner, field, logs) in [
        (
            "traces.jsonl",
            "resourceSpans",
            "scopeSpans",
            "spans",
            false,
        ),
        (
            "logs.jsonl",
            "resourceLogs",
            "scopeLogs",
            "logRecords",
            true,
        ),
    ] {
        let mut out = String::new();
        for b in 0..nb {
            let mut parts = Vec::new();
            for r in &sim.res {
                let items = if logs {
                    r.logs.get(&b)
                } else {
                    r.spans.get(&b)
                };
                let Some(items) = items else { continue };
                parts.push(format!("{{\"resource\":{{\"attributes\":{}}},\"{inner}\":[{{\"scope\":{{\"name\":\"io.opentelemetry.sim\"}},\"{field}\":[{}]}}]}}", r.attrs, items.join(",")));
            }
            if !parts.is_empty() {
                let _ = writeln!(out, "{{\"{outer}\":[{}]}}", parts.join(","));
            }
        }
        if out.is_empty() {
            out.push_str(&format!("{{\"{outer}\":[]}}\n"));
        }
        std::fs::write(tdir.join(file), out)?;
    }
    super::render_metrics::write(&tdir, w, inc, &mut sim.reqs, &sim.rng)?;
    for v in sim.pod_logs.values_mut() {
        v.sort();
        let n = v.len();
        if n > 120 {
            v.drain(..n - 120);
        }
    }
    Ok(sim.pod_logs)
}
