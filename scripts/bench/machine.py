#!/usr/bin/env python3
"""The machine the figures come from (printed at the top of a suite run)."""

import sys

from common import header, loadavg, machine, machine_md

m = machine()
print(header("Machine"))
print(machine_md(m))
print(f"\nLoad average at start: {loadavg()}")
sys.exit(0)
