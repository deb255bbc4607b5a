#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chdb (the real ClickHouse engine, embedded).

Speaks what the Rust `clickhouse` crate (0.15) sends:

* every query is a POST; the SQL is the body, or the `query` URL parameter
  (then the body is data), or the `query` field of a multipart/form-data body;
* `param_<name>` values (URL or multipart fields) bind `{name:Type}` in the SQL;
* `default_format` chooses the output format (RowBinaryWithNamesAndTypes when
  the crate validates rows), `database` the default database;
* other URL parameters are settings (`readonly`, `max_execution_time`,
  `max_result_rows`, `result_overflow_mode`, ...), applied to the query with a
  SETTINGS clause; compression requests (`Accept-Encoding: lz4`,
  `compress`, `enable_http_compression`) are ignored: replies are uncompressed,
  which the crate accepts;
* credentials in `X-ClickHouse-User` / `X-ClickHouse-Key` are checked when
  --user is given;
* errors are a 500 with `X-ClickHouse-Exception-Code` and the message.

chdb allows one session per process, so requests are serialised.

Usage: chdb_http.py --port P --path DIR --setup setup.json [--log queries.jsonl]
setup.json: {"ddl": ["CREATE ...", ...], "seed": [["db.table", "rows.jsonl"], ...],
             "after": ["INSERT ...", ...], "user": "reader", "password": "secret"}
Prints "READY <port>" on stdout once listening.
"""

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

try:
    from chdb import session as chs
except ImportError:
    sys.stderr.write("chdb is not installed in this Python; run scripts/setup-test-deps.sh\n")
    sys.exit(3)

LOCK = threading.Lock()
SESSION = None
CONFIG = {}
LOG = None

NOT_SETTINGS = {
    "query", "database", "default_format", "compress", "decompress",
    "enable_http_compression", "http_zlib_compression_level", "user", "password",
    "query_id", "session_id", "session_timeout", "role", "wait_end_of_query",
    "client_protocol_version",
}


def parse_multipart(body, content_type):
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        return {}
    boundary = ("--" + m.group(1)).encode()
    fields = {}
    for part in body.split(boundary):
        part = part.strip(b"\r\n")
        if not part or part == b"--":
            continue
        head, _, value = part.partition(b"\r\n\r\n")
        nm = re.search(rb'name="([^"]*)"', head)
        if nm:
            fields[nm.group(1).decode()] = value.decode("utf-8")
    return fields


def setting_literal(v):
    return v if re.fullmatch(r"-?\d+(\.\d+)?", v) else "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(sql, fmt, params):
    with LOCK:
        res = SESSION.query(sql, fmt, params=params or None)
        return res.bytes() if hasattr(res, "bytes") else bytes(res)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if urlparse(self.path).path in ("/ping", "/"):
            return self.reply(200, b"Ok.\n")
        return self.handle_query(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        return self.handle_query(body)

    def handle_query(self, body):
        url = urlparse(self.path)
        qs = dict(parse_qsl(url.query, keep_blank_values=True))
        if CONFIG.get("user"):
            user = self.headers.get("X-ClickHouse-User")
            key = self.headers.get("X-ClickHouse-Key") or ""
            if user != CONFIG["user"] or key != CONFIG.get("password", ""):
                msg = f"Code: 516. DB::Exception: {user}: Authentication failed. (AUTHENTICATION_FAILED)"
                return self.reply(401, msg.encode(), {"X-ClickHouse-Exception-Code": "516"})
        ctype = self.headers.get("Content-Type") or ""
        fields = parse_multipart(body, ctype) if ctype.startswith("multipart/form-data") else {}
        if fields:
            sql = fields.pop("query", qs.get("query", ""))
        elif "query" in qs:
            sql = qs["query"] + ("\n" + body.decode("utf-8") if body else "")
        else:
            sql = body.decode("utf-8")
        params = {k[len("param_"):]: v for k, v in list(qs.items()) + list(fields.items()) if k.startswith("param_")}
        settings = {k: v for k, v in qs.items() if k not in NOT_SETTINGS and not k.startswith("param_")}
        fmt = qs.get("default_format") or "TabSeparated"
        full = sql.strip().rstrip(";")
        if settings:
            full += " SETTINGS " + ", ".join(f"{k} = {setting_literal(v)}" for k, v in settings.items())
        if LOG:
            with LOCK:
                LOG.write(json.dumps({"sql": sql, "params": params, "settings": settings, "format": fmt}) + "\n")
                LOG.flush()
        try:
            out = run(full, fmt, params)
        except Exception as e:  # chdb raises its own error type with ClickHouse's message
            msg = str(e).strip()
            code = re.search(r"Code: (\d+)", msg)
            return self.reply(500, (msg + "\n").encode(), {
                "X-ClickHouse-Exception-Code": code.group(1) if code else "1002",
                "Content-Type": "text/plain; charset=UTF-8",
            })
        return self.reply(200, out, {"Content-Type": "application/octet-stream", "X-ClickHouse-Format": fmt})


def main():
    global SESSION, CONFIG, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--setup", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    with open(a.setup) as f:
        CONFIG = json.load(f)
    SESSION = chs.Session(a.path)
    for stmt in CONFIG.get("ddl", []):
        SESSION.query(stmt)
    for table, path in CONFIG.get("seed", []):
        with open(path) as f:
            data = f.read()
        if data.strip():
            SESSION.query(f"INSERT INTO {table} SETTINGS session_timezone = 'UTC' FORMAT JSONEachRow\n{data}")
    # Statements a test runs once the seeds are in: rows in shapes the seeds
    # do not have, tables filled from the seeded ones.
    for stmt in CONFIG.get("after", []):
        SESSION.query(stmt)
    if a.log:
        LOG = open(a.log, "a")
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"READY {a.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
