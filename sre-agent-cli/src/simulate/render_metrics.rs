//! Metrics of the simulated services (`telemetry/metrics.jsonl`): request
//! counters and latency histograms computed from the simulated requests, and
//! the gauges a fault moves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::incident::Incident;
use super::render_otel::{A, S, STEP, attrs};
use super::rng::Rng;
use super::surface::esc;
use super::world::World;

/// Writes `metrics.jsonl`: every STEP seconds, cumulative request counts
/// by status and a delta duration histogram per HTTP service, and the
/// incident's gauges.
pub fn write(
    tdir: &Path,
    w: &World,
    inc: &Incident,
    reqs: &mut [(i64, usize, u16, f64)],
    rng: &Rng,
) -> Result<()> {
    reqs.sort_by_key(|r| r.0);
    let bounds = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let mut cum: BTreeMap<(usize, u16), u64> = BTreeMap::new();
    let mut ei = 0;
    let mut out = String::new();
    let steps = (w.now - w.t_start) / STEP;
    let http: Vec<usize> = (0..w.workloads.len())
        .filter(|&i| w.workloads[i].is_http())
        .collect();
    let mrng = rng.fork("metrics");
    for step in 1..=steps {
        let ts = (w.t_start + step * STEP) * S;
        let mut hist: BTreeMap<usize, (u64, f64, Vec<u64>)> = BTreeMap::new();
        while ei < reqs.len() && reqs[ei].0 < ts {
            let (_, wi, status, dur) = reqs[ei];
            *cum.entry((wi, status)).or_default() += 1;
            let h = hist
                .entry(wi)
                .or_insert_with(|| (0, 0.0, vec![0; bounds.len() + 1]));
            h.0 += 1;
            h.1 += dur;
            let b = bounds
                .iter()
                .position(|x| dur <= *x)
                .unwrap_or(bounds.len());
            h.2[b] += 1;
            ei += 1;
        }
        let mut per: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for &wi in &http {
            let pts: Vec<String> = cum.iter().filter(|((x, _), _)| *x == wi).map(|((_, st), n)| format!("{{\"attributes\":[{{\"key\":\"http.response.status_code\",\"value\":{{\"intValue\":\"{st}\"}}}}],\"startTimeUnixNano\":\"{}\",\"timeUnixNano\":\"{ts}\",\"asInt\":\"{n}\"}}", w.t_start * S)).collect();
            if !pts.is_empty() {
                per.entry(wi).or_default().push(format!("{{\"name\":\"http.server.request.count\",\"unit\":\"{{request}}\",\"description\":\"HTTP server requests\",\"sum\":{{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{}]}}}}", pts.join(",")));
            }
            let (c, sum, b) = hist
                .get(&wi)
                .cloned()
                .unwrap_or((0, 0.0, vec![0; bounds.len() + 1]));
            let bc: Vec<String> = b.iter().map(|x| format!("\"{x}\"")).collect();
            per.entry(wi).or_default().push(format!("{{\"name\":\"http.server.request.duration\",\"unit\":\"s\",\"description\":\"HTTP server request duration\",\"histogram\":{{\"aggregationTemporality\":1,\"dataPoints\":[{{\"attributes\":[],\"startTimeUnixNano\":\"{}\",\"timeUnixNano\":\"{ts}\",\"count\":\"{c}\",\"sum\":{sum:.6},\"bucketCounts\":[{}],\"explicitBounds\":[0.005,0.01,0.025,0.05,0.1,0.25,0.5,1.0,2.5,5.0,10.0]}}]}}}}", ts - STEP * S, bc.join(",")));
        }
        for g in &inc.gauges {
            let t = (ts / S) as f64;
            let i = if t < g.from as f64 {
                0.0
            } else if t >= g.full as f64 || g.full <= g.from {
                1.0
            } else {
                (t - g.from as f64) / (g.full - g.from) as f64
            };
            let v = g.gauge.base + (g.gauge.peak - g.gauge.base) * i;
            let v = v * mrng.uniform(0.93, 1.07);
            let a: Vec<A> = g
                .gauge
                .attrs
                .iter()
                .map(|(k, x)| A::S(k.as_str(), x.clone()))
                .collect();
            let val = if g.gauge.int {
                format!("\"asInt\":\"{}\"", v.max(0.0).round() as i64)
            } else {
                format!("\"asDouble\":{v:.4}")
            };
            per.entry(g.gauge.wi).or_default().push(format!("{{\"name\":\"{}\",\"unit\":\"{}\",\"description\":\"{}\",\"gauge\":{{\"dataPoints\":[{{\"attributes\":{},\"timeUnixNano\":\"{ts}\",{val}}}]}}}}", g.gauge.name, esc(&g.gauge.unit), esc(&g.gauge.desc), attrs(&a)));
        }
        let mut rm = Vec::new();
        for (wi, ms) in per {
            let x = &w.workloads[wi];
            let pod = x
                .pods
                .first()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| x.name.clone());
            let ra = attrs(&[
                A::S("service.name", x.name.clone()),
                A::S("service.version", x.current().version.clone()),
                A::S("k8s.namespace.name", x.ns.clone()),
                A::S("k8s.pod.name", pod),
            ]);
            rm.push(format!("{{\"resource\":{{\"attributes\":{ra}}},\"scopeMetrics\":[{{\"scope\":{{\"name\":\"io.opentelemetry.sim\"}},\"metrics\":[{}]}}]}}", ms.join(",")));
        }
        if !rm.is_empty() {
            let _ = writeln!(out, "{{\"resourceMetrics\":[{}]}}", rm.join(","));
        }
    }
    if out.is_empty() {
        out.push_str("{\"resourceMetrics\":[]}\n");
    }
    std::fs::write(tdir.join("metrics.jsonl"), out)?;
    Ok(())
}
