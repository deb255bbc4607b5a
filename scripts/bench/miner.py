#!/usr/bin/env python3
"""Section 3: the log-patterns template miner on Loghub-2k (accuracy and throughput).

Runs the crate's own benchmark (`log-patterns/examples/loghub.rs`, built once with
`cargo build --release -p log-patterns --example loghub`) R times and reports, per dataset,
the grouping accuracy (deterministic) and the median cold/warm throughput over the R runs.
See log-patterns/BENCHMARKS.md for the method.

    scripts/bench/miner.py [--repeats 3] [--passes 20] [--data ../shared/data/loghub-2k] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from common import BIN, ROOT, header, loadavg, table


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--passes", type=int, default=20)
    p.add_argument("--data", default=str((ROOT / ".." / "shared" / "data" / "loghub-2k").resolve()))
    p.add_argument("--json")
    a = p.parse_args()
    exe = BIN / "examples" / "loghub"
    if not exe.exists():
        print(f"{exe} is missing: cargo build --release -p log-patterns --example loghub", file=sys.stderr)
        return 2
    runs = []
    loads = [loadavg()]
    for _ in range(a.repeats):
        out = subprocess.run([str(exe), a.data, "--passes", str(a.passes)], capture_output=True, text=True,
                             check=True).stdout
        rows = {}
        for line in out.splitlines()[1:]:
            f = line.split()
            if f[0] == "average":
                rows["average"] = {"ga": float(f[1]), "cold": float(f[2]), "warm": float(f[3])}
            elif len(f) == 7:
                rows[f[0]] = {"lines": int(f[1]), "templates": int(f[2]), "truth": int(f[3]), "ga": float(f[4]),
                              "cold": float(f[5]), "warm": float(f[6])}
        runs.append(rows)
        loads.append(loadavg())
    names = list(runs[0])
    out_rows = []
    for n in names:
        cold = statistics.median(r[n]["cold"] for r in runs)
        warm = statistics.median(r[n]["warm"] for r in runs)
        r0 = runs[0][n]
        if n == "average":
            out_rows.append(["**average**", "", "", "", f"**{r0['ga']:.4f}**", f"**{cold:,.0f}**", f"**{warm:,.0f}**"])
        else:
            out_rows.append([n, r0["lines"], r0["templates"], r0["truth"], f"{r0['ga']:.4f}", f"{cold:,.0f}",
                             f"{warm:,.0f}"])
    print(header("Template miner (log-patterns) on Loghub-2k"))
    print(f"`{exe.relative_to(ROOT)} {a.data} --passes {a.passes}`, {a.repeats} runs; GA is deterministic, "
          f"throughput is the median of the runs (one thread, file I/O excluded). "
          f"Load average per run: {' → '.join(loads)}.\n")
    print(table(["dataset", "lines", "templates", "truth", "GA", "cold lines/s", "warm lines/s"], out_rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": runs, "loads": loads}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
