#!/usr/bin/env python3
"""Section 2: how big the main read tools' answers are, in tokens, against the raw API payloads
they summarise (from the same fixture files the servers read).

Token counts: o200k_base with tiktoken when available (see common.Tokens), else chars/4 (said so).
The raw side is the fixture file as stored (compact JSON) or, for SigNoz, the OTLP/JSON lines
restricted to the records/spans the call covers (same window, same filters, same limit), keeping
the exporter's one-object-per-line structure.

    scripts/bench/output_size.py [--json FILE]
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
import time

from common import FIX, StdioClient, Tokens, header, loadavg, servers, table

NOW = "2024-06-01T15:00:00Z"


def epoch_ns(rfc3339: str) -> int:
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")) * 1_000_000_000


def svc_of(resource: dict) -> str:
    for a in resource.get("attributes", []):
        if a["key"] == "service.name":
            return a["value"].get("stringValue", "")
    return ""


def filter_lines(path, rkey, skey, ikey, pred, limit=None, time_key="timeUnixNano"):
    """Generic: keep items for which pred(resource, item) holds, newest `limit` overall."""
    items = []
    docs = []
    for ln, line in enumerate(open(path)):
        d = json.loads(line)
        docs.append(d)
        for ri, r in enumerate(d[rkey]):
            for si, s in enumerate(r[skey]):
                for ii, it in enumerate(s[ikey]):
                    if pred(r["resource"], it):
                        items.append((int(it[time_key]), ln, ri, si, ii))
    items.sort(reverse=True)
    if limit:
        items = items[:limit]
    keep = {i[1:] for i in items}
    lines = []
    for ln, d in enumerate(docs):
        rs = []
        for ri, r in enumerate(d[rkey]):
            ss = []
            for si, s in enumerate(r[skey]):
                kept = [it for ii, it in enumerate(s[ikey]) if (ln, ri, si, ii) in keep]
                if kept:
                    ss.append(dict(s, **{ikey: kept}))
            if ss:
                rs.append(dict(r, **{skey: ss}))
        if rs:
            lines.append(json.dumps({rkey: rs}, separators=(",", ":")))
    return "\n".join(lines), len(items)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json")
    a = p.parse_args()
    tok = Tokens()
    srv = servers()
    k8s = FIX / "k8s" / "shop-300"
    tel = FIX / "telemetry" / "checkout-5xx"
    mongo = FIX / "mongodb" / "missing-index"
    end = epoch_ns(NOW)
    start = end - 15 * 60 * 1_000_000_000
    base_start = start - 3600 * 1_000_000_000

    def read(*paths):
        return "\n".join(open(p).read() for p in paths)

    logs_window_base, n_all = filter_lines(tel / "logs.jsonl", "resourceLogs", "scopeLogs", "logRecords",
                                           lambda r, it: base_start <= int(it["timeUnixNano"]) < end)
    spans_window, n_spans = filter_lines(tel / "traces.jsonl", "resourceSpans", "scopeSpans", "spans",
                                         lambda r, it: start <= int(it["startTimeUnixNano"]) < end,
                                         time_key="startTimeUnixNano")
    err_logs, n_err = filter_lines(tel / "logs.jsonl", "resourceLogs", "scopeLogs", "logRecords",
                                   lambda r, it: start <= int(it["timeUnixNano"]) < end
                                   and svc_of(r) == "payments" and it.get("severityNumber", 0) >= 17, limit=100)
    err_spans, n_err_spans = filter_lines(tel / "traces.jsonl", "resourceSpans", "scopeSpans", "spans",
                                          lambda r, it: start <= int(it["startTimeUnixNano"]) < end
                                          and it.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR"),
                                          limit=50, time_key="startTimeUnixNano")
    health_spans, n_health = filter_lines(tel / "traces.jsonl", "resourceSpans", "scopeSpans", "spans",
                                          lambda r, it: base_start <= int(it["startTimeUnixNano"]) < end
                                          and svc_of(r) == "checkout", time_key="startTimeUnixNano")

    cases = [
        ("mcp-kubernetes", "list", {"kind": "pods", "namespace": "shop"},
         "`pods.json` (PodList, 300 pods, as stored)", read(k8s / "pods.json")),
        ("mcp-kubernetes", "workload_health", {"namespace": "shop"},
         "`pods.json` + `workloads.json` + `events.json`", read(k8s / "pods.json", k8s / "workloads.json", k8s / "events.json")),
        ("mcp-kubernetes", "events", {"namespace": "shop", "limit": 200}, "`events.json` (EventList)",
         read(k8s / "events.json")),
        ("mcp-signoz", "services", {}, f"OTLP spans in the window ({n_spans:,} spans)", spans_window),
        ("mcp-signoz", "service_health", {"service": "checkout"},
         f"OTLP spans of checkout, window + 1 h baseline ({n_health:,} spans)", health_spans),
        ("mcp-signoz", "log_patterns", {}, f"OTLP log records, window + 1 h baseline ({n_all:,} records)",
         logs_window_base),
        ("mcp-signoz", "search_logs", {"service": "payments", "severity": "error", "limit": 100},
         f"the same OTLP log records ({n_err:,})", err_logs),
        ("mcp-signoz", "search_traces", {"errors_only": True, "limit": 50},
         f"the same OTLP spans ({n_err_spans:,})", err_spans),
        ("mcp-mongodb", "slow_queries", {"database": "shop"}, "`shop/system.profile.json` (profiler entries)",
         read(mongo / "shop" / "system.profile.json")),
        ("mcp-mongodb", "current_ops", {}, "`currentOp.json`", read(mongo / "currentOp.json")),
        ("mcp-mongodb", "server_status", {}, "`serverStatus.json` (two samples)", read(mongo / "serverStatus.json")),
    ]
    before = loadavg()
    clients = {}
    rows, raw = [], []
    for name, tool, args, raw_label, raw_text in cases:
        if name not in clients:
            clients[name] = StdioClient(srv[name]["cmd"])
            clients[name].initialize()
        text = clients[name].call(tool, args)
        t_out, t_raw = tok.count(text), tok.count(raw_text)
        cut = "yes" if "truncated by the response budget" in text else "no"
        rows.append([name, f"`{tool} {json.dumps(args)}`", f"{len(text):,}", f"{t_out:,}", raw_label,
                     f"{len(raw_text):,}", f"{t_raw:,}", f"{t_raw / max(t_out, 1):,.0f}×", cut])
        raw.append({"server": name, "tool": tool, "args": args, "out_chars": len(text), "out_tokens": t_out,
                    "raw": raw_label, "raw_chars": len(raw_text), "raw_tokens": t_raw, "truncated": cut})
    for c in clients.values():
        c.close()
    print(header("Output size of the main read tools vs the raw payloads"))
    print(f"Tokens: {tok.method}. Fixtures: `fixtures/k8s/shop-300`, `fixtures/telemetry/checkout-5xx` "
          f"(now = {NOW}, default window 15 min, baseline 1 h), `fixtures/mongodb/missing-index`. Default response "
          f"budget (8,000 tokens). Load {before} → {loadavg()}.\n")
    print(table(["server", "call", "answer (chars)", "answer (tokens)", "raw payload", "raw (chars)", "raw (tokens)",
                 "raw / answer", "cut by budget"], rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"token_method": tok.method, "cases": raw}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
