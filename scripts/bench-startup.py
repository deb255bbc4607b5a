#!/usr/bin/env python3
"""Moved to scripts/bench/startup.py (same flags); kept so older commands still work.

    scripts/bench-startup.py [-n 30] [--env K=V] -- COMMAND [ARGS...]

The whole suite is scripts/bench/run.sh.
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
target = os.path.join(here, "bench", "startup.py")
os.execv(sys.executable, [sys.executable, target] + sys.argv[1:])
