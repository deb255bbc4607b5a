#!/usr/bin/env python3
"""Section 5: tokens per LLM investigation, replayed from recordings.

No real LLM is reachable from the benchmark machine, so the model is a **scripted fake** of the
OpenAI chat-completions API on 127.0.0.1 that behaves like a frugal specialist: its first answer
calls up to three of the offered tools (arguments filled from the scenario's namespace and service),
its second gives the final JSON answer, confirming the briefing's top suspect with citations (see
`answer`). Everything the agent sends is real: the system prompt, the
deterministic briefing, the tool schemas, and the real servers' tool outputs fed back. The fake
reports `usage` the way the API does, counted with the o200k_base tokenizer over each request's
messages and tools, so the figures are the prompt tokens our agent would pay for those steps; a real
model choosing more steps costs more (at most `--llm-max-steps`, default 8).

Each scenario is investigated once with `--record fixtures/recordings/llm/NAME.json` (rewritten on
each run), then replayed with `--replay` (no servers, no LLM), which must give the same RCA; the table
sums the recorded `usage` per investigation.

    scripts/bench/llm_context.py [--json FILE] [--scenarios DIR]

`--scenarios DIR` measures another set (e.g. `../shared/scenarios/holmes-k8s`, where the engine's
suspects more often span categories and several specialists are consulted); its recordings go to a
temporary folder, never into the repository. The "router", "specialists" and "synthesis" columns
count the conversations the agent opened: the router's one-word classification when the alert's words
were not enough, each specialist consulted, and the request that asks the model to pick between
disagreeing specialists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import BIN, FIX, ROOT, Tokens, header, loadavg, table

ANSWER = json.dumps({"summary": "scripted benchmark answer", "root_cause": {"component": "scripted",
                     "kind": "bad_deploy", "description": "scripted benchmark answer"}, "confidence": 0.01})


def answer(msgs: list) -> str:
    """A frugal specialist's final answer: it confirms the briefing's top suspect and cites the evidence
    the agent numbered (E1 and the tool results it got), so the agent's verification accepts it the first
    time, as a competent model's answer would be. Without a top suspect, a placeholder the verification
    refuses (one retry, as with a real model that guessed)."""
    briefing = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
    top = re.search(r"^1\. (\S+) \((\w+)\)", briefing, re.M)
    if not top:
        return ANSWER
    tools = [f"T{i + 1}" for i, m in enumerate(m for m in msgs if m.get("role") == "tool")]
    return json.dumps({"summary": f"{top[1]}: {top[2]}",
                       "root_cause": {"component": top[1], "kind": top[2],
                                      "description": "The deterministic analysis's top suspect, confirmed."},
                       "confidence": 0.7,
                       "evidence": [{"id": i, "detail": "supports the top suspect"} for i in ["E1", *tools[:2]]]})

# What the scripted specialist looks at first, in order (tool names without the server prefix).
PLAN = ["workload_health", "service_health", "log_patterns", "rollout_history", "error_traces", "slow_queries",
        "current_ops", "node_health", "events"]


class Stub(BaseHTTPRequestHandler):
    """The scripted model. `scope` is set per scenario: namespace and service for arguments."""
    requests: list = []
    scope: dict = {}
    tok = None

    def plan_calls(self, tools):
        calls = []
        by_name = {t["function"]["name"]: t["function"] for t in tools}
        for want in PLAN:
            for name, fn in by_name.items():
                if name.split("__")[-1] != want or len(calls) >= 3:
                    continue
                props = (fn.get("parameters") or {}).get("properties") or {}
                required = (fn.get("parameters") or {}).get("required") or []
                args, ok = {}, True
                for prop in set(required) | ({"namespace"} & set(props)):
                    if "namespace" in prop and Stub.scope.get("namespace"):
                        args[prop] = Stub.scope["namespace"]
                    elif prop in ("service", "name", "workload") and Stub.scope.get("service"):
                        args[prop] = Stub.scope["service"]
                    elif prop == "kind":
                        args[prop] = "deployment"
                    elif prop in required:
                        ok = False
                if ok:
                    calls.append({"id": f"call_{len(calls) + 1}", "type": "function",
                                  "function": {"name": name, "arguments": json.dumps(args)}})
        return calls

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        Stub.requests.append({"path": self.path, "body": body})
        msgs = body.get("messages", [])
        compact = {"separators": (",", ":"), "ensure_ascii": False}
        prompt = Stub.tok.count(json.dumps(msgs, **compact)) + Stub.tok.count(
            json.dumps(body.get("tools", []), **compact))
        first = not any(m.get("role") == "tool" for m in msgs)
        calls = self.plan_calls(body.get("tools") or []) if first else []
        if calls:
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": answer(msgs)}
            finish = "stop"
        completion = Stub.tok.count(json.dumps(message, **compact))
        reply = json.dumps({"id": f"scripted-{len(Stub.requests)}", "object": "chat.completion", "created": 0,
                            "model": "scripted", "choices": [{"index": 0, "finish_reason": finish,
                                                              "message": message}],
                            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                      "total_tokens": prompt + completion}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


def shown(p: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def has_system(body: dict) -> bool:
    return any(m.get("role") in ("system", "developer") for m in body.get("messages", []))


def scenario_scope(d: Path) -> dict:
    import tomllib
    m = tomllib.loads((d / "scenario.toml").read_text())
    return {"namespace": m.get("namespace"), "service": m.get("service")}


def usage_of(recording: Path):
    d = json.loads(recording.read_text())
    llm = [e for e in d.get("entries", []) if isinstance(e, dict) and e.get("type") == "llm"]
    calls = [e for e in d.get("entries", []) if isinstance(e, dict) and e.get("type") == "tool_call"]
    u = {"prompt_tokens": 0, "completion_tokens": 0}
    for e in llm:
        for k in u:
            u[k] += ((e.get("completion") or {}).get("usage") or {}).get(k, 0)
    return len(llm), len(calls), u


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json")
    p.add_argument("--scenarios", type=Path, default=FIX / "scenarios")
    a = p.parse_args()
    tok = Tokens()
    Stub.tok = tok
    ours = a.scenarios.resolve() == (FIX / "scenarios").resolve()
    out_dir = FIX / "recordings" / "llm" if ours else Path(tempfile.mkdtemp(prefix="llm-recordings-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    names = sorted(n for n in os.listdir(a.scenarios) if (a.scenarios / n / "scenario.toml").is_file())
    rows, first_rows, raw = [], [], {}
    before = loadavg()
    env = dict(os.environ, OPENAI_API_KEY="scripted", SRE_AGENT_LOG="error")
    for n in names:
        d = a.scenarios / n
        Stub.requests.clear()
        Stub.scope = scenario_scope(d)
        rec = out_dir / f"{n}.json"
        cmd = [str(BIN / "sre-agent"), "investigate", "--scenario", str(d),
               "--llm-provider", "openai", "--llm-base-url", f"http://127.0.0.1:{port}/v1", "--llm-model", "scripted",
               "--format", "json", "--record", str(rec)]
        pr = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        if pr.returncode != 0 or not Stub.requests:
            raise RuntimeError(f"{n}: exit {pr.returncode}, {len(Stub.requests)} LLM requests: {pr.stderr[-400:]}")
        live = json.loads(pr.stdout)
        # The recording alone (no servers, no LLM) must give the same RCA.
        rp = subprocess.run([str(BIN / "sre-agent"), "investigate", "--scenario", str(d), "--replay", str(rec),
                             "--format", "json"], cwd=ROOT, capture_output=True, text=True, env=env)
        if rp.returncode != 0 or json.loads(rp.stdout)["rca"] != live["rca"]:
            raise RuntimeError(f"{n}: the replay of {rec} differs from the live run: {rp.stderr[-400:]}")
        llm_calls, tool_calls, u = usage_of(rec)
        opened = [r["body"] for r in Stub.requests
                  if not any(m.get("role") in ("assistant", "tool") for m in r["body"].get("messages", []))]
        # Conversations the agent opened: the router's one-word classification (a lone user message, no
        # tools; only when the alert's words were not enough), each specialist (tools offered), and the
        # synthesis that picks between disagreeing specialists (a system prompt, no tools).
        specialists = sum(1 for b in opened if b.get("tools"))
        router = sum(1 for b in opened if not b.get("tools") and not has_system(b))
        synthesis = len(opened) - specialists - router
        first = next((b for b in opened if b.get("tools")), Stub.requests[0]["body"])
        msgs = first.get("messages", [])
        system = "\n".join(m.get("content") or "" for m in msgs if m.get("role") == "system")
        user = "\n".join(m.get("content") or "" for m in msgs if m.get("role") == "user")
        tools = first.get("tools", [])
        t_sys, t_user = tok.count(system), tok.count(user)
        t_tools = tok.count(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
        rows.append([n, router, specialists, synthesis, llm_calls, f"{u['prompt_tokens']:,}", f"{u['completion_tokens']:,}",
                     f"{u['prompt_tokens'] + u['completion_tokens']:,}", tool_calls])
        first_rows.append([n, f"{t_sys:,}", f"{t_user:,}", f"{len(tools)} / {t_tools:,}"])
        raw[n] = {"router_requests": router, "specialists": specialists, "synthesis_requests": synthesis, "llm_requests": llm_calls, "prompt_tokens": u["prompt_tokens"],
                  "completion_tokens": u["completion_tokens"], "tool_calls_recorded": tool_calls,
                  "first_request": {"system": t_sys, "briefing": t_user, "tools": len(tools),
                                    "tool_schema_tokens": t_tools},
                  "recording": str(rec.relative_to(ROOT)) if ours else None, "recording_bytes": rec.stat().st_size}
        print(f"[llm_context] {n}: {llm_calls} LLM requests, {u['prompt_tokens']} prompt tokens", file=sys.stderr)
    srv.shutdown()
    after = loadavg()

    prompts = sorted(r["prompt_tokens"] for r in raw.values())
    print(header("Tokens per LLM investigation (replayed from recordings)"))
    print(f"Model: the scripted fake described in `scripts/bench/llm_context.py` (three tool calls, then an "
          f"answer confirming the top suspect); tokens: {tok.method}, as the fake's `usage` in each recording. Scenarios: "
          f"`{shown(a.scenarios)}`; recordings: `{shown(out_dir)}` (each replayed with `--replay` to the same RCA). Median prompt tokens per "
          f"investigation {prompts[len(prompts) // 2]:,}, range {prompts[0]:,}–{prompts[-1]:,}. "
          f"Load {before} → {after}.\n")
    several = [r["prompt_tokens"] for r in raw.values() if r["specialists"] > 1]
    one = [r["prompt_tokens"] for r in raw.values() if r["specialists"] == 1]
    for label, xs in (("one specialist", one), ("several specialists", several)):
        if xs:
            xs.sort()
            print(f"- {label}: {len(xs)} investigations, median prompt tokens {xs[len(xs) // 2]:,}, "
                  f"range {xs[0]:,}–{xs[-1]:,}")
    print()
    print(table(["scenario", "router", "specialists", "synthesis", "LLM requests", "prompt tokens", "completion tokens", "total", "tool calls recorded"],
                rows))
    print("\nThe first request, by part (what every investigation pays before the model chooses anything):\n")
    print(table(["scenario", "system prompt", "briefing (user message)", "tools offered / schema tokens"],
                first_rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"scenarios": raw, "token_method": tok.method}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
