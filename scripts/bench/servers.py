#!/usr/bin/env python3
"""Section 1: each MCP server on its offline store.

* cold start: spawn → `initialize` reply → `tools/list` reply, N spawns over stdio (after warm-ups);
* RSS: VmRSS of an idle server 0.5 s after `tools/list`; VmHWM (peak) after the stdio latency run;
* tool-call latency over stdio: one session, N calls of each representative read tool;
* streamable HTTP: 1, 8, 32 concurrent sessions (each its own `initialize` and keep-alive
  connection), p50/p99 per call, throughput, and the server's RSS at start and its peak: every
  level runs on a fresh server process, so the peak is that level's (the allocator keeps freed
  memory, so one process for all levels would only show the largest).

mcp-slack runs against the fake Slack Web API on loopback (`mcp-slack/examples/fake_slack.rs`,
built with `cargo build --release -p mcp-slack --example fake_slack`): Slack's own latency is
not in its figures. Without that binary only its start-up is measured.

    scripts/bench/servers.py [--spawns 20] [--calls 500] [--http-calls 400] [--concurrency 1,8,32]
                             [--only mcp-signoz,...] [--bin mcp-kubernetes=/tmp/old-build] [--json FILE]

`--bin NAME=PATH` runs another build of a server in place of target/release/NAME (before/after
comparisons). `mcp-kubernetes (real-size objects)` serves shop-300 with its pods, workloads and
nodes grown to the size real clusters return (managedFields etc.; common.real_size_k8s), since
the per-call memory of list-heavy tools scales with the objects' size, not with the answer's.

The client is raw JSON-RPC (stdlib only): see common.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import tempfile
from pathlib import Path

from common import (FAKE_SLACK, FakeSlackProcess, HttpSession, StdioClient, fmt_ms, free_port, header,
                    live_servers, loadavg, median, pct, proc_status, quiet_env, real_size_k8s, servers, table,
                    wait_http)


def cold_start(cmd, spawns, warmup=3):
    runs = []
    for i in range(warmup + spawns):
        c = StdioClient(cmd)
        c.initialize()
        t_init = time.perf_counter() - c.t_spawn
        listed = c.request("tools/list")
        t_list = time.perf_counter() - c.t_spawn
        st = proc_status(c.pid)
        c.close()
        if i >= warmup:
            runs.append((t_init * 1000, t_list * 1000, st.get("VmHWM", 0), c.last_reply_bytes,
                         len(listed.get("tools", []))))
    return {
        "init_ms_median": median([r[0] for r in runs]),
        "list_ms_min": min(r[1] for r in runs),
        "list_ms_median": median([r[1] for r in runs]),
        "list_ms_max": max(r[1] for r in runs),
        "hwm_at_list_mb_median": median([r[2] for r in runs]),
        "tools_list_bytes": runs[-1][3],
        "tools": runs[-1][4],
    }


def stdio_latency(cmd, calls, n):
    c = StdioClient(cmd)
    c.initialize()
    c.request("tools/list")
    time.sleep(0.5)
    idle = proc_status(c.pid)
    out = {"idle_rss_mb": idle.get("VmRSS"), "idle_hwm_mb": idle.get("VmHWM"), "tools": []}
    for tool, args in calls:
        text = c.call(tool, args)  # warm-up (lazy tokenizer, caches)
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            c.call(tool, args)
            lat.append((time.perf_counter() - t0) * 1000)
        out["tools"].append({"tool": tool, "args": args, "n": n, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                             "mean_ms": sum(lat) / n, "reply_chars": len(text)})
    after = proc_status(c.pid)
    out["peak_rss_mb"] = after.get("VmHWM")
    out["rss_after_mb"] = after.get("VmRSS")
    c.close()
    return out


def http_level(port, tool, args, sessions, total_calls, max_seconds, quickack):
    per = max(10, total_calls // sessions)
    barrier = threading.Barrier(sessions)
    lat_all: list[float] = []
    lock = threading.Lock()
    spans = []

    def worker(_):
        s = HttpSession(port, quickack)
        s.initialize()
        s.call(tool, args)  # warm-up
        barrier.wait()
        t0 = time.perf_counter()
        deadline = t0 + max_seconds
        lat = []
        for _ in range(per):
            if time.perf_counter() > deadline:
                break
            a = time.perf_counter()
            s.call(tool, args)
            lat.append((time.perf_counter() - a) * 1000)
        t1 = time.perf_counter()
        s.close()
        with lock:
            lat_all.extend(lat)
            spans.append((t0, t1))

    with ThreadPoolExecutor(max_workers=sessions) as ex:
        list(ex.map(worker, range(sessions)))
    wall = max(s[1] for s in spans) - min(s[0] for s in spans)
    return {"sessions": sessions, "calls": len(lat_all), "p50_ms": pct(lat_all, 50), "p99_ms": pct(lat_all, 99),
            "calls_per_s": len(lat_all) / wall}


def http_bench(cmd, tool, args, levels, total_calls, max_seconds):
    rows = []
    for quickack in (False, True):
        for n in levels:
            port = free_port()
            proc = subprocess.Popen(cmd + ["--transport", "http", "--listen", f"127.0.0.1:{port}", "--no-auth"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=quiet_env())
            try:
                wait_http(port, proc)
                start_rss = proc_status(proc.pid).get("VmRSS")
                r = http_level(port, tool, args, n, total_calls, max_seconds, quickack)
                r.update(tool=tool, quickack=quickack, start_rss_mb=start_rss,
                         peak_rss_mb=proc_status(proc.pid).get("VmHWM"))
                rows.append(r)
            finally:
                proc.terminate()
                proc.wait()
    return {"levels": rows, "peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawns", type=int, default=20)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--http-calls", type=int, default=400, help="calls per concurrency level (split over sessions)")
    p.add_argument("--http-seconds", type=float, default=6,
                   help="stop a level after this long (each session stops after its next call)")
    p.add_argument("--concurrency", default="1,8,32")
    p.add_argument("--only", default="")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--bin", action="append", default=[], metavar="NAME=PATH",
                   help="run PATH instead of target/release/NAME (repeatable)")
    p.add_argument("--json", help="also write the raw results here")
    a = p.parse_args()
    levels = [int(x) for x in a.concurrency.split(",")]
    wanted = lambda n: not a.only or n in a.only.split(",")  # noqa: E731
    tmp = tempfile.TemporaryDirectory()
    fake = None
    if wanted("mcp-slack"):
        if FAKE_SLACK.exists():
            fake = FakeSlackProcess(tmp.name)
        else:
            print(f"[servers] {FAKE_SLACK} missing: mcp-slack start-up only", file=sys.stderr)
    srv = servers(fake)
    if wanted("mcp-kubernetes (real-size objects)"):
        k8s = srv["mcp-kubernetes"]
        snap = real_size_k8s(Path(tmp.name) / "k8s-real-size")
        srv["mcp-kubernetes (real-size objects)"] = {
            "cmd": [k8s["cmd"][0], "--snapshot", str(snap)],
            "calls": [k8s["calls"][0]],
            "http": k8s["http"],
        }
    overrides = a.overrides = dict(kv.split("=", 1) for kv in a.bin)
    for s in srv.values():
        s["cmd"][0] = overrides.get(Path(s["cmd"][0]).name, s["cmd"][0])
    try:
        return run(a, levels, srv, wanted, fake is not None)
    finally:
        if fake:
            fake.__exit__()
        tmp.cleanup()


def run(a, levels, srv, wanted, slack_fake) -> int:
    names = [n for n in srv if wanted(n)]
    results = {}
    for name in names:
        s = srv[name]
        r = {"cmd": " ".join(s["cmd"])}
        r["load_before"] = loadavg()
        r["cold"] = cold_start(s["cmd"], a.spawns)
        r["load_after_cold"] = loadavg()
        r["stdio"] = stdio_latency(s["cmd"], s["calls"], a.calls)
        r["load_after_stdio"] = loadavg()
        if s.get("http") and not a.skip_http:
            r["http"] = http_bench(s["cmd"], *s["http"], levels, a.http_calls, a.http_seconds)
            r["load_after_http"] = loadavg()
        results[name] = r
        print(f"[servers] {name} done (load {loadavg()})", file=sys.stderr)

    live = {}
    if not a.only:
        with tempfile.TemporaryDirectory() as tmp:
            for name, cmd in live_servers(tmp).items():
                cmd[0] = a.overrides.get(Path(cmd[0]).name, cmd[0])
                before = loadavg()
                live[name] = cold_start(cmd, a.spawns)
                live[name]["loads"] = (before, loadavg())
                c = StdioClient(cmd)
                c.initialize()
                c.request("tools/list")
                time.sleep(0.5)
                live[name]["idle_rss_mb"] = proc_status(c.pid).get("VmRSS")
                c.close()
        results["_live"] = live

    print(header("Servers: cold start and memory (stdio, raw JSON-RPC client)"))
    print(f"{a.spawns} measured spawns after 3 warm-ups; times from spawn. Idle RSS: VmRSS 0.5 s after "
          f"`tools/list`. Peak RSS: VmHWM after the {a.calls}-call stdio latency run."
          + (" mcp-slack: against the fake Slack Web API on loopback (its background warm-up lists channels "
             "and users at start)." if slack_fake else "") + "\n")
    rows = []
    for name, r in results.items():
        if name.startswith("_"):
            continue
        c, st = r["cold"], r["stdio"]
        rows.append([name, fmt_ms(c["init_ms_median"]),
                     f"{fmt_ms(c['list_ms_min'])} / {fmt_ms(c['list_ms_median'])} / {fmt_ms(c['list_ms_max'])}",
                     f"{c['hwm_at_list_mb_median']:.1f}", f"{st['idle_rss_mb']:.1f}", f"{st['peak_rss_mb']:.1f}",
                     f"{c['tools']} / {c['tools_list_bytes']:,} B", f"{r['load_before']} → {r['load_after_cold']}"])
    print(table(["server", "→ initialize (median ms)", "→ tools/list (min / median / max ms)",
                 "peak RSS at tools/list (MB)", "idle RSS (MB)", "peak RSS after calls (MB)",
                 "tools / tools/list size", "load avg before → after"], rows))

    if live:
        print(header("Servers: cold start without data (live mode, backend never contacted)"))
        print("Each server pointed at a closed loopback port (mcp-kubernetes: a stub kubeconfig); they connect lazily, "
              "so this is the bare server. Same method as above.\n")
        rows = []
        for name, c in live.items():
            rows.append([name, fmt_ms(c["init_ms_median"]),
                         f"{fmt_ms(c['list_ms_min'])} / {fmt_ms(c['list_ms_median'])} / {fmt_ms(c['list_ms_max'])}",
                         f"{c['hwm_at_list_mb_median']:.1f}", f"{c['idle_rss_mb']:.1f}",
                         f"{c['tools']} / {c['tools_list_bytes']:,} B", f"{c['loads'][0]} → {c['loads'][1]}"])
        print(table(["server", "→ initialize (median ms)", "→ tools/list (min / median / max ms)",
                     "peak RSS at tools/list (MB)", "idle RSS (MB)", "tools / tools/list size",
                     "load avg before → after"], rows))

    print(header("Servers: tool-call latency over stdio (one session)"))
    rows = []
    for name, r in results.items():
        if name.startswith("_"):
            continue
        for t in r["stdio"]["tools"]:
            rows.append([name, f"`{t['tool']} {json.dumps(t['args'])}`", t["n"], fmt_ms(t["p50_ms"]),
                         fmt_ms(t["p99_ms"]), f"{t['reply_chars']:,}", f"{r['load_after_cold']} → {r['load_after_stdio']}"])
    print(table(["server", "call", "calls", "p50 (ms)", "p99 (ms)", "reply (chars)", "load avg before → after"], rows))
    if slack_fake:
        print("\nmcp-slack: the fake Slack Web API runs on loopback in its own process (one thread), so Slack's own "
              "latency (typically tens to hundreds of ms per Web API call) is excluded.")

    if not a.skip_http:
        print(header("Servers: streamable HTTP, concurrent sessions"))
        print("Each session: its own `initialize`, `Mcp-Session-Id` and keep-alive connection, one Python thread; "
              f"up to {a.http_calls} calls per level split over the sessions, or {a.http_seconds:g} s per level, "
              "whichever comes first. The Python client shares the 2 cores with "
              "the server, so throughput is a lower bound. *client ACKs*: `default` is what any client sees; `quick` sets "
              "TCP_QUICKACK on the client socket (before the kit set TCP_NODELAY this removed a ~40 ms delayed-ACK/Nagle "
              "stall per call; now the two should agree). Each row is a fresh server process: *RSS* is its resident "
              "memory once listening → its peak after the row's calls.\n")
        rows = []
        for name, r in results.items():
            if name.startswith("_") or "http" not in r:
                continue
            for lv in r["http"]["levels"]:
                rows.append([name, lv["tool"], "quick" if lv["quickack"] else "default", lv["sessions"], lv["calls"], fmt_ms(lv["p50_ms"]), fmt_ms(lv["p99_ms"]),
                             f"{lv['calls_per_s']:,.0f}", f"{lv['start_rss_mb']:.1f} → {lv['peak_rss_mb']:.1f}",
                             f"{r['load_after_stdio']} → {r['load_after_http']}"])
        print(table(["server", "tool", "client ACKs", "sessions", "calls", "p50 (ms)", "p99 (ms)", "calls/s", "RSS (MB)",
                     "load avg before → after"], rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
