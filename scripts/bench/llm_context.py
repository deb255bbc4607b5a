#!/usr/bin/env python3
"""Section 5: tokens per LLM investigation.

No real LLM is reachable from the benchmark machine, so the real figure (the `usage` the LLM
reports, summed over a recorded investigation) is only computed when a recording with LLM entries
exists under fixtures/ (`sre-agent investigate --record FILE` against a real endpoint).

What is measured instead, per scenario, is the specialist's **starting context**: the exact first
chat request the agent sends (system prompt, briefing, tool schemas), captured by a stub
OpenAI-compatible endpoint on 127.0.0.1 that records the request and answers at once with a
minimal final JSON answer (so the loop stops after one step). Token counts of that request are
an estimate of the prompt tokens of the first step only: every further step adds the tool calls and
outputs the model chooses, which a stub cannot predict. The deterministic stage's tool outputs (from
the `--record` transcript) are shown alongside: that is what the briefing condenses.

    scripts/bench/llm_context.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import BIN, FIX, ROOT, Tokens, header, loadavg, table

ANSWER = json.dumps({"summary": "benchmark stub", "root_cause": {"component": "stub", "kind": "bad_deploy",
                                                                 "description": "benchmark stub answer"},
                     "confidence": 0.01})


class Stub(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Stub.requests.append({"path": self.path, "body": json.loads(body)})
        reply = json.dumps({"id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": ANSWER}}],
                            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


def recorded_llm_usage():
    """Sums `usage` over LLM entries of any recording found under fixtures/."""
    found = []
    for p in FIX.rglob("*.json"):
        try:
            if p.stat().st_size > 20_000_000:
                continue
            d = json.loads(p.read_text())
        except Exception:  # noqa: BLE001
            continue
        if isinstance(d, dict) and isinstance(d.get("entries"), list):
            llm = [e for e in d["entries"] if isinstance(e, dict) and e.get("type") == "llm"]
            if llm:
                u = {"prompt_tokens": 0, "completion_tokens": 0}
                for e in llm:
                    for k in u:
                        u[k] += ((e.get("completion") or {}).get("usage") or {}).get(k, 0)
                found.append((str(p.relative_to(ROOT)), len(llm), u))
    return found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json")
    a = p.parse_args()
    tok = Tokens()
    recs = recorded_llm_usage()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    names = sorted(n for n in os.listdir(FIX / "scenarios") if (FIX / "scenarios" / n / "scenario.toml").is_file())
    rows, raw = [], {}
    before = loadavg()
    env = dict(os.environ, OPENAI_API_KEY="stub", SRE_AGENT_LOG="error")
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            Stub.requests.clear()
            rec = Path(tmp) / f"{n}.json"
            cmd = [str(BIN / "sre-agent"), "investigate", "--scenario", str(FIX / "scenarios" / n),
                   "--llm-provider", "openai", "--llm-base-url", f"http://127.0.0.1:{port}/v1", "--llm-model", "stub",
                   "--format", "json", "--record", str(rec)]
            pr = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
            if pr.returncode != 0 or not Stub.requests:
                raise RuntimeError(f"{n}: exit {pr.returncode}, {len(Stub.requests)} LLM requests: {pr.stderr[-400:]}")
            first = Stub.requests[0]["body"]
            msgs = first.get("messages", [])
            system = "\n".join(m.get("content") or "" for m in msgs if m.get("role") == "system")
            user = "\n".join(m.get("content") or "" for m in msgs if m.get("role") == "user")
            tools = first.get("tools", [])
            t_sys, t_user = tok.count(system), tok.count(user)
            t_tools = tok.count(json.dumps(tools, separators=(",", ":")))
            t_req = tok.count(json.dumps(first, separators=(",", ":")))
            tr = json.loads(rec.read_text())
            outs = [e for e in tr.get("entries", []) if e.get("type") == "tool_call"]
            det_tokens = sum(tok.count(json.dumps(e.get("outcome"), ensure_ascii=False)) for e in outs)
            rows.append([n, f"{t_sys:,}", f"{t_user:,}", f"{len(tools)} / {t_tools:,}", f"{t_sys + t_user + t_tools:,}",
                         f"{t_req:,}", f"{len(outs)} / {det_tokens:,}"])
            raw[n] = {"system": t_sys, "briefing": t_user, "tools": len(tools), "tool_schema_tokens": t_tools,
                      "request_json_tokens": t_req, "det_tool_calls": len(outs), "det_output_tokens": det_tokens,
                      "llm_requests": len(Stub.requests)}
            print(f"[llm_context] {n}: briefing {t_user} tokens", file=sys.stderr)
    srv.shutdown()
    after = loadavg()

    print(header("Tokens per LLM investigation"))
    if recs:
        print(table(["recording", "LLM calls", "prompt tokens", "completion tokens"],
                    [[r[0], r[1], f"{r[2]['prompt_tokens']:,}", f"{r[2]['completion_tokens']:,}"] for r in recs]))
    else:
        print("**Blocked on a real LLM endpoint**: no `sre-agent investigate --record` transcript with LLM entries "
              "exists under fixtures/, and no LLM is reachable here, so the real tokens per investigation "
              "(the LLM's reported `usage`, summed) cannot be given.\n")
    print(f"Instead, an **estimate**: the specialist's starting context, i.e. the first chat request the agent "
          f"sends, captured by a stub endpoint on loopback (tokens: {tok.method}; message framing overhead of "
          f"a few tokens per message not included). Every later step adds the tool calls the model chooses. "
          f"Last column: the deterministic stage's tool calls and the tokens of their recorded outputs, which the "
          f"briefing condenses. Load {before} → {after}.\n")
    print(table(["scenario", "system prompt", "briefing (user msg)", "tools offered / schema tokens",
                 "starting context (sum)", "whole request JSON", "deterministic calls / output tokens"], rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"recordings": recs, "scenarios": raw, "token_method": tok.method}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
