#!/usr/bin/env python3
"""Drive an MCP server with the official Python MCP SDK and check it conforms.

Used by the conformance harness (mcp-kit's `conformance` feature); it can also
be run by hand:

    .cache/venv/bin/python mcp-kit/conformance/check_server.py \
        --stdio '["target/debug/kit-example-server"]' --mode auto \
        --call echo '{"text":"hi"}' --invalid echo '{"text":1}' text

Two ways a host uses the SDK, chosen with --mode:
  legacy   `ClientSession` and the `initialize` handshake (protocol 2025-11-25);
  auto     the SDK's `Client` as it comes: it probes `server/discover` and talks
           the 2026-07-28 protocol (no handshake, per-request metadata) when the
           server offers it, as ours do.

Checks, each reported as a line "PASS name" or "FAIL name: why", then a JSON
summary on the last line:
  initialize            the server answers initialize (or discover) with its name
  protocol              (--mode auto) the session runs the 2026-07-28 protocol,
                        not a silent fall-back to the handshake
  schemas               every tool input schema is valid JSON Schema, and every
                        property (nested ones too) has a description
  portable-schemas      no property admits null (`type: [X, "null"]` or a
                        `{"type": "null"}` alternative), which hosts flag as
                        not portable: optional means "not in required"
  annotations           every tool says whether it is read-only
  no-write-tools        (with --expect-read-only) no tool is a write tool
  absent:NAME           (with --absent NAME) the tool is not listed
  call:TOOL             a tools/call round trip succeeds (isError false)
  invalid:TOOL          invalid arguments give isError with the field named
  unauthorized          (HTTP) a request without the token is refused with 403
                        and no WWW-Authenticate challenge (a 401 would make
                        MCP clients start OAuth discovery), naming the token
  server-stderr         (stdio) the server wrote no warning or error on stderr,
                        which a host shows its user: only log lines at INFO and
                        below (mcp-kit's conformance::complaints reads it alike)
  clean-close           the SDK logged no warning or error and Python raised no
                        warning (deprecations included), including when it
                        ends the session (HTTP: `DELETE` must answer 200/204)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import warnings
from typing import Any

import httpx2
import jsonschema
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

results: list[dict[str, Any]] = []


class SdkWarnings(logging.Handler):
    """Collects what is logged at WARNING or above (e.g. the SDK's "Session
    termination failed: 202" when a server answers DELETE oddly; any logger,
    so the HTTP and async libraries under it count too) and every Python
    warning (a deprecated protocol feature the session used, say)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")

    def showwarning(self, message: Warning | str, category: type[Warning], filename: str,
                    lineno: int, file: Any = None, line: str | None = None) -> None:
        self.messages.append(f"{category.__name__}: {message} ({os.path.basename(filename)}:{lineno})")


sdk_warnings = SdkWarnings()


def record(name: str, ok: bool, why: str = "") -> None:
    results.append({"check": name, "ok": ok, "why": why})
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {why}"), flush=True)


def undocumented_properties(schema: Any, path: str = "") -> list[str]:
    """Properties without a description, searched through nested objects,
    arrays and $defs."""
    missing: list[str] = []
    if not isinstance(schema, dict):
        return missing
    for name, prop in (schema.get("properties") or {}).items():
        where = f"{path}.{name}" if path else name
        if not isinstance(prop, dict):
            continue
        described = "description" in prop or (
            "$ref" in prop and "description" in prop
        )
        if not described:
            missing.append(where)
        missing += undocumented_properties(prop, where)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            missing += undocumented_properties(schema[key], path + "[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            missing += undocumented_properties(sub, path)
    for name, sub in (schema.get("$defs") or schema.get("definitions") or {}).items():
        missing += undocumented_properties(sub, f"$defs.{name}")
    return missing


def nullable_properties(schema: Any, path: str = "") -> list[str]:
    """Properties whose schema admits null, searched like
    undocumented_properties."""
    found: list[str] = []
    if not isinstance(schema, dict):
        return found

    def is_null(s: Any) -> bool:
        return isinstance(s, dict) and (s.get("type") == "null" or ("const" in s and s["const"] is None))

    for name, prop in (schema.get("properties") or {}).items():
        where = f"{path}.{name}" if path else name
        if not isinstance(prop, dict):
            continue
        t = prop.get("type")
        if (isinstance(t, list) and "null" in t) or t == "null" or any(
            is_null(sub) for key in ("anyOf", "oneOf") for sub in prop.get(key) or []
        ):
            found.append(where)
        found += nullable_properties(prop, where)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += nullable_properties(schema[key], path + "[]")
    for name, sub in (schema.get("$defs") or schema.get("definitions") or {}).items():
        found += nullable_properties(sub, f"$defs.{name}")
    return found


def complaints(stderr: str) -> list[str]:
    """The lines of a server's stderr a host would show as a problem: all but
    log lines at INFO and below (`<time> <LEVEL> <target>: ...`, or JSON with
    a "level" field). A WARN or ERROR line, a panic, an `error: ...` line."""
    quiet = ("INFO", "DEBUG", "TRACE")
    bad = []
    for line in stderr.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) > 1 and words[0][:1].isdigit() and words[1] in quiet:
            continue
        try:
            if json.loads(line).get("level") in quiet:
                continue
        except (ValueError, AttributeError):
            pass
        bad.append(line)
    return bad


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def run_checks(peer: ClientSession | Client, args: argparse.Namespace) -> None:
    """The checks, on a legacy `ClientSession` (initialized here) or an
    entered `Client` (already negotiated)."""
    if isinstance(peer, ClientSession):
        init = await peer.initialize()
        info, version = init.server_info, init.protocol_version
    else:
        info, version = peer.server_info, peer.protocol_version
    print(f"INFO protocol {version}", flush=True)
    record("initialize", bool(info and info.name), f"serverInfo={info}")
    if args.mode == "auto":
        record("protocol", version in MODERN_PROTOCOL_VERSIONS,
               f"negotiated {version}, expected one of {MODERN_PROTOCOL_VERSIONS}")

    listed = await peer.list_tools()
    tools = {t.name: t for t in listed.tools}
    bad_schema, undocumented, unannotated, writes, nullable = [], [], [], [], []
    for tool in listed.tools:
        schema = tool.input_schema
        try:
            validator = jsonschema.validators.validator_for(schema)
            validator.check_schema(schema)
            if schema.get("type") != "object":
                raise jsonschema.SchemaError("inputSchema type must be object")
        except jsonschema.SchemaError as e:
            bad_schema.append(f"{tool.name}: {e.message}")
        undocumented += [f"{tool.name}.{p}" for p in undocumented_properties(schema)]
        nullable += [f"{tool.name}.{p}" for p in nullable_properties(schema)]
        ann = tool.annotations
        if ann is None or ann.read_only_hint is None:
            unannotated.append(tool.name)
        elif not ann.read_only_hint:
            writes.append(tool.name)
    record("schemas", not bad_schema and not undocumented,
           "; ".join(bad_schema + [f"no description: {p}" for p in undocumented]))
    record("portable-schemas", not nullable,
           f"{len(nullable)} properties admit null: {', '.join(nullable[:40])}")
    record("annotations", not unannotated, f"no readOnlyHint: {unannotated}")
    if args.expect_read_only:
        record("no-write-tools", not writes, f"write tools listed: {writes}")
    for name in args.absent or []:
        record(f"absent:{name}", name not in tools, f"{name} is listed")
    for name in args.present or []:
        record(f"present:{name}", name in tools, f"{name} is not listed")

    for tool, raw in args.call or []:
        try:
            result = await peer.call_tool(tool, json.loads(raw))
            ok = not result.is_error and bool(text_of(result) or result.structured_content)
            record(f"call:{tool}", ok, f"isError={result.is_error} text={text_of(result)[:300]!r}")
        except Exception as e:  # noqa: BLE001 - report, don't crash
            record(f"call:{tool}", False, repr(e))

    for tool, raw, field in args.invalid or []:
        try:
            result = await peer.call_tool(tool, json.loads(raw))
            text = text_of(result)
            record(f"invalid:{tool}", bool(result.is_error) and field in text,
                   f"isError={result.is_error} text={text[:300]!r} (expected to name {field!r})")
        except Exception as e:  # noqa: BLE001
            record(f"invalid:{tool}", False, f"protocol error instead of isError result: {e!r}")


async def session_checks(transport: Any, args: argparse.Namespace) -> None:
    """Runs the checks over `transport` the way --mode says."""
    if args.mode == "auto":
        async with Client(transport) as client:
            await run_checks(client, args)
        return
    async with transport as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await run_checks(session, args)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--stdio", metavar="JSON", help='server command and arguments as a JSON array, e.g. \'["srv", "--flag"]\'')
    target.add_argument("--http", metavar="URL", help="streamable HTTP endpoint, e.g. http://127.0.0.1:8080/mcp")
    p.add_argument("--token", help="bearer token for --http")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="environment for --stdio")
    p.add_argument("--call", nargs=2, action="append", metavar=("TOOL", "ARGS_JSON"))
    p.add_argument("--invalid", nargs=3, action="append", metavar=("TOOL", "ARGS_JSON", "FIELD"))
    p.add_argument("--absent", action="append", metavar="TOOL")
    p.add_argument("--present", action="append", metavar="TOOL")
    p.add_argument("--expect-read-only", action="store_true")
    p.add_argument("--mode", choices=["legacy", "auto"], default="legacy",
                   help="legacy: ClientSession + initialize; auto: the SDK's Client as it comes")
    args = p.parse_args()
    logging.getLogger().addHandler(sdk_warnings)
    # Every warning once per place, whichever module raises it (the default
    # filters hide deprecations outside __main__), into the clean-close check.
    warnings.simplefilter("default")
    warnings.showwarning = sdk_warnings.showwarning

    server_log = tempfile.TemporaryFile("w+", encoding="utf-8")
    try:
        if args.stdio:
            env = dict(os.environ)
            env.update(kv.split("=", 1) for kv in args.env)
            argv = json.loads(args.stdio)
            params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
            await session_checks(stdio_client(params, errlog=server_log), args)
            server_log.seek(0)
            bad = complaints(server_log.read())
            record("server-stderr", not bad, f"the server wrote on stderr: {bad[:10]!r}")
        else:
            async with httpx2.AsyncClient(timeout=30) as bare:
                r = await bare.post(args.http, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                    headers={"Accept": "application/json, text/event-stream"})
                challenge = r.headers.get("www-authenticate")
                refused = (r.status_code == 403 and challenge is None
                           and "bearer token" in r.text)
                record("unauthorized", refused or not args.token,
                       f"status {r.status_code}, WWW-Authenticate {challenge!r}, body {r.text[:200]!r} "
                       "without a token (expected 403, no challenge, a body naming the bearer token)")
            headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
            async with httpx2.AsyncClient(headers=headers, timeout=30) as client:
                await session_checks(streamable_http_client(args.http, http_client=client), args)
    except Exception as e:  # noqa: BLE001
        record("session", False, repr(e))
    record("clean-close", not sdk_warnings.messages, "; ".join(sdk_warnings.messages[:5]))

    ok = all(r["ok"] for r in results)
    print(json.dumps({"ok": ok, "results": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
