#!/usr/bin/env python3
"""Cold-start benchmark for any MCP server command, over stdio.

Spawns the command N times and measures, for each run, the time from spawn to
the `initialize` reply and to the `tools/list` reply, and the process's peak
RSS (VmHWM from /proc, read after the tools/list reply). Prints min/median/max and the size of the
tools/list reply (what a host pays in context before any work).

    scripts/bench/startup.py [-n 30] [--env K=V] -- COMMAND [ARGS...]
    scripts/bench/startup.py --json -- target/release/mcp-kubernetes --snapshot fixtures/k8s/demo

Only the standard library; any python3 works.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench-startup", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def read_reply(proc: subprocess.Popen, want_id: int) -> bytes:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited before replying to id {want_id}")
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("id") == want_id:
            if "error" in msg:
                raise RuntimeError(f"error reply: {msg['error']}")
            return line


def one_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    read_reply(proc, 1)
    t_init = time.perf_counter() - t0
    proc.stdin.write((json.dumps(INITIALIZED) + "\n" + json.dumps(LIST) + "\n").encode())
    proc.stdin.flush()
    listed = read_reply(proc, 2)
    t_list = time.perf_counter() - t0
    # VmHWM is the peak RSS of the process image since exec. (wait4's
    # ru_maxrss would also count the forked Python before exec.)
    hwm_kib = 0
    with open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm_kib = int(line.split()[1])
    proc.stdin.close()
    proc.wait()
    return t_init * 1000, t_list * 1000, hwm_kib, len(listed)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=30, help="runs (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured runs first (page cache)")
    p.add_argument("--env", action="append", default=[], metavar="K=V")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        p.error("give the server command after --")
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in args.env)

    for _ in range(args.warmup):
        one_run(cmd, env)
    runs = [one_run(cmd, env) for _ in range(args.n)]
    init = [r[0] for r in runs]
    lst = [r[1] for r in runs]
    rss = [r[2] / 1024 for r in runs]
    result = {
        "command": " ".join(cmd),
        "runs": args.n,
        "initialize_ms": {"min": min(init), "median": statistics.median(init), "max": max(init)},
        "tools_list_ms": {"min": min(lst), "median": statistics.median(lst), "max": max(lst)},
        "peak_rss_mb": {"min": min(rss), "median": statistics.median(rss), "max": max(rss)},
        "tools_list_bytes": runs[-1][3],
    }
    if args.json:
        print(json.dumps(result))
    else:
        f = lambda d, u: f"min {d['min']:.1f} {u}  median {d['median']:.1f} {u}  max {d['max']:.1f} {u}"  # noqa: E731
        print(f"{result['command']}  ({args.n} runs)")
        print(f"  spawn -> initialize reply : {f(result['initialize_ms'], 'ms')}")
        print(f"  spawn -> tools/list reply : {f(result['tools_list_ms'], 'ms')}")
        print(f"  peak RSS                  : {f(result['peak_rss_mb'], 'MB')}")
        print(f"  tools/list reply          : {result['tools_list_bytes']:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
