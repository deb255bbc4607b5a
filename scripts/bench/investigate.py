#!/usr/bin/env python3
"""Section 4: deterministic investigation latency per scenario.

* `sre-agent eval fixtures/scenarios --format json`: the CLI's own load_ms and investigate_ms;
* `sre-agent investigate --scenario DIR --no-llm --format json`: wall time from process start to
  exit (the servers run in-process on the scenario's recorded data), median/min/max of N runs.

Target: < 300 ms wall time per deterministic investigation.

    scripts/bench/investigate.py [--runs 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import BIN, FIX, ROOT, fmt_ms, header, loadavg, median, table

TARGET_MS = 300


def eval_json():
    before = loadavg()
    t0 = time.perf_counter()
    p = subprocess.run([str(BIN / "sre-agent"), "eval", str(FIX / "scenarios"), "--format", "json"],
                       cwd=ROOT, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1000
    if p.returncode not in (0, 4):
        raise RuntimeError(f"eval failed ({p.returncode}): {p.stderr[-500:]}")
    return json.loads(p.stdout), wall, before, loadavg()


def scenario_rows(data):
    """Finds per-scenario entries with load_ms/investigate_ms wherever the JSON keeps them."""
    if isinstance(data, dict):
        for key in ("scenarios", "results", "cases"):
            if isinstance(data.get(key), list):
                return data[key]
    if isinstance(data, list):
        return data
    raise RuntimeError("unexpected eval JSON shape: " + json.dumps(data)[:300])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json")
    a = p.parse_args()

    data, eval_wall, ev_before, ev_after = eval_json()
    rows = scenario_rows(data)
    by_name = {}
    for r in rows:
        name = r.get("name") or r.get("scenario")
        by_name[name] = r

    names = sorted(n for n in os.listdir(FIX / "scenarios") if (FIX / "scenarios" / n / "scenario.toml").is_file())
    wall = {}
    rss = {}
    loads = {}
    env = dict(os.environ, SRE_AGENT_LOG="error")
    for n in names:
        cmd = [str(BIN / "sre-agent"), "investigate", "--scenario", str(FIX / "scenarios" / n), "--no-llm",
               "--format", "json"]
        subprocess.run(cmd, cwd=ROOT, capture_output=True, env=env)  # warm-up (page cache)
        before = loadavg()
        times = []
        peak = 0
        for _ in range(a.runs):
            t0 = time.perf_counter()
            pr = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            # wait4 gives this child's own rusage: its peak resident set (KiB on
            # Linux), the in-process servers and their recorded data included.
            _, status, usage = os.wait4(pr.pid, 0)
            pr.returncode = os.waitstatus_to_exitcode(status)
            times.append((time.perf_counter() - t0) * 1000)
            peak = max(peak, usage.ru_maxrss)
            if pr.returncode != 0:
                raise RuntimeError(f"{n}: investigate exited {pr.returncode}")
        wall[n] = times
        rss[n] = peak / 1024
        loads[n] = (before, loadavg())
        print(f"[investigate] {n} {median(times):.0f} ms", file=sys.stderr)

    print(header("Deterministic investigation latency per scenario"))
    print(f"`sre-agent eval` figures (one run of all 12: {eval_wall:,.0f} ms wall, load {ev_before} → {ev_after}) "
          f"and `sre-agent investigate --scenario DIR --no-llm --format json` wall time, process start to exit, "
          f"{a.runs} runs after a warm-up. Target < {TARGET_MS} ms wall.\n")
    out_rows = []
    for n in names:
        r = by_name.get(n, {})
        t = wall[n]
        out_rows.append([n, fmt_ms(r.get("load_ms", float("nan"))), fmt_ms(r.get("investigate_ms", float("nan"))),
                         fmt_ms(min(t)), fmt_ms(median(t)), fmt_ms(max(t)),
                         "yes" if median(t) < TARGET_MS else "**no**", f"{rss[n]:.1f}",
                         f"{loads[n][0]} → {loads[n][1]}"])
    meds = [median(wall[n]) for n in names]
    out_rows.append(["**all (median of medians / worst median)**", "", "", "", f"{median(meds):.1f} / {max(meds):.1f}", "",
                     "yes" if max(meds) < TARGET_MS else "**no**", f"max {max(rss.values()):.1f}", ""])
    print(table(["scenario", "eval load_ms", "eval investigate_ms", "wall min (ms)", "wall median (ms)",
                 "wall max (ms)", f"< {TARGET_MS} ms", "peak RSS (MB)", "load avg before → after"], out_rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"eval": data, "eval_wall_ms": eval_wall, "wall_ms": wall, "peak_rss_mb": rss, "loads": loads},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
