"""Shared helpers for the benchmark suite (standard library only; tiktoken is optional).

The MCP client here is raw JSON-RPC: newline-delimited JSON over a child's
stdin/stdout, and streamable HTTP with `http.client` (one keep-alive connection
per session). It adds far less per-call overhead than the official SDK, so the
figures are closer to the server's own cost. It is still Python: at high
concurrency over HTTP the client shares the machine's cores with the server.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `BENCH_BIN` points the benchmarks at other binaries (a debug build measures tokens and sizes the same;
# only timings need release binaries).
BIN = Path(os.environ["BENCH_BIN"]).resolve() if os.environ.get("BENCH_BIN") else ROOT / "target" / "release"
FIX = ROOT / "fixtures"

PROTOCOL = "2025-06-18"


# --------------------------------------------------------------------------- machine

def loadavg() -> str:
    """The 1/5/15-minute load averages, as `uptime` prints them."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine() -> dict:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    def run(cmd):
        try:
            return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001
            return "?"
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "rustc": run(["rustc", "--version"]),
        "commit": run(["git", "rev-parse", "--short", "HEAD"]) + (" (+ uncommitted changes)" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
    }


def machine_md(m: dict) -> str:
    return (f"{m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
            f"{m['rustc']}, commit {m['commit']}, {m['date']}")


# --------------------------------------------------------------------------- stats / output

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def fmt_ms(x: float) -> str:
    if x != x:  # nan
        return "—"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) / 1024  # MiB
    except FileNotFoundError:
        pass
    return out


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- servers

def scenario_now(d: Path) -> str:
    text = (d / "scenario.toml").read_text()
    return re.search(r'^now\s*=\s*"([^"]+)"', text, re.M).group(1)


FAKE_SLACK = BIN / "examples" / "fake_slack"


class FakeSlackProcess:
    """`mcp-slack/examples/fake_slack.rs`: the crate's fake Slack Web API (`mcp_slack::fake`) as a
    process on 127.0.0.1, seeded with a busy workspace (300 messages in #alerts-prod, a 40-reply
    thread, 40+ users, 60+ channels). Build it with `cargo build --release -p mcp-slack --example
    fake_slack` (separately from the server, so the server binary is not built with the `fake`
    feature). Use as a context manager; `info` holds api_url, bot_token, channel, thread_ts."""

    def __init__(self, tmpdir: str):
        self.proc = subprocess.Popen([str(FAKE_SLACK)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fake_slack exited before printing its URL")
        self.info = json.loads(line)
        self.token_file = Path(tmpdir) / "slack-bot-token"
        self.token_file.write_text(self.info["bot_token"] + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.proc.stdin.close()  # the fake stops when its stdin closes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def servers(slack: FakeSlackProcess | None = None) -> dict:
    """The four servers on the big offline fixtures, with representative read calls. mcp-slack
    needs `slack` (the fake Web API on loopback); without it only its start-up is measured."""
    if slack is None:
        slack_entry = {
            # No offline store: no token, so only start-up and tools/list are measured.
            "cmd": [str(BIN / "mcp-slack"), "--allowed-channels", "incidents"],
            "calls": [],
        }
    else:
        thread = {"channel": slack.info["channel"], "ts": slack.info["thread_ts"]}
        slack_entry = {
            "cmd": [str(BIN / "mcp-slack"), "--slack-api-url", slack.info["api_url"],
                    "--slack-bot-token-file", str(slack.token_file), "--allowed-channels", "alerts-prod,incidents"],
            "calls": [("channel_history", {"channel": slack.info["channel"]}),
                      ("read_thread", thread)],
            "http": ("channel_history", {"channel": slack.info["channel"]}),
        }
    return {
        "mcp-kubernetes": {
            "cmd": [str(BIN / "mcp-kubernetes"), "--snapshot", str(FIX / "k8s" / "shop-300")],
            "calls": [("workload_health", {"namespace": "shop"}),
                      ("list", {"kind": "pods", "namespace": "shop"})],
            "http": ("workload_health", {"namespace": "shop"}),
        },
        "mcp-signoz": {
            "cmd": [str(BIN / "mcp-signoz"), "--telemetry-dir", str(FIX / "telemetry" / "checkout-5xx"),
                    "--now", "2024-06-01T15:00:00Z"],
            "calls": [("services", {}), ("log_patterns", {})],
            "http": ("services", {}),
        },
        "mcp-mongodb": {
            "cmd": [str(BIN / "mcp-mongodb"), "--snapshot", str(FIX / "mongodb" / "missing-index")],
            "calls": [("slow_queries", {"database": "shop"}), ("server_status", {})],
            "http": ("slow_queries", {"database": "shop"}),
        },
        "mcp-slack": slack_entry,
    }


def _fields(obj, depth=0):
    """A `managedFields[].fieldsV1` tree for `obj`, the shape the API server records (`f:` keys,
    `k:{...}` list keys, `{}` leaves)."""
    if isinstance(obj, dict):
        return {f"f:{k}": _fields(v, depth + 1) for k, v in obj.items()} | ({".": {}} if depth else {})
    if isinstance(obj, list):
        return {("k:" + json.dumps({"name": x["name"]}, separators=(",", ":")) if isinstance(x, dict) and "name" in x
                 else f"v:{json.dumps(x)}"): _fields(x, depth + 1) for x in obj}
    return {}


def real_size_k8s(dst: Path) -> Path:
    """A copy of `fixtures/k8s/shop-300` whose pods, workloads and nodes have the size and shape
    of objects a real cluster returns: `managedFields` (three managers, full fieldsV1 trees),
    annotations, volumes and mounts, tolerations, every pod condition, pod IPs, container IDs,
    a pod template in every workload, and 40 images per node. The shop-300 pods are 1.7 KB of
    JSON each; these are ~11 KB (`kubectl get pods -o json` on a real cluster: 5-20 KB), so
    per-call memory is measured on realistic objects. The findings stay the same."""
    import shutil
    src = FIX / "k8s" / "shop-300"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    ts = "2025-05-30T12:00:00Z"

    def managed(o, status_too=True):
        m = o["metadata"]
        spec = {"metadata": {k: m[k] for k in ("labels", "ownerReferences", "annotations") if k in m},
                "spec": o.get("spec", {})}
        entries = [{"apiVersion": o["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": _fields(spec),
                    "manager": "kube-controller-manager", "operation": "Update", "time": ts}]
        if status_too and "status" in o:
            entries.append({"apiVersion": o["apiVersion"], "fieldsType": "FieldsV1",
                            "fieldsV1": _fields({"status": o["status"]}), "manager": "kubelet",
                            "operation": "Update", "subresource": "status", "time": ts})
        m["managedFields"] = entries

    def pod_like(spec, name):
        spec.setdefault("volumes", []).extend([
            {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}}]}},
            {"name": "config", "configMap": {"defaultMode": 420, "name": f"{name}-config"}},
            {"name": "tmp", "emptyDir": {}}])
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            c.setdefault("volumeMounts", []).extend([
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access",
                 "readOnly": True}, {"mountPath": "/etc/app", "name": "config"}, {"mountPath": "/tmp", "name": "tmp"}])
            c.update({"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                      "terminationMessagePolicy": "File",
                      "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                          "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}})
            c.setdefault("env", []).extend([
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability:4317"}])
        spec.update({"dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                     "priority": 0, "schedulerName": "default-scheduler", "securityContext": {"fsGroup": 2000},
                     "serviceAccount": "default", "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
                     "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                                      "operator": "Exists", "tolerationSeconds": 300},
                                     {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                                      "operator": "Exists", "tolerationSeconds": 300}]})

    path = dst / "pods.json"
    doc = json.loads(path.read_text())
    for p in doc["items"]:
        m = p["metadata"]
        m.setdefault("annotations", {}).update({
            "prometheus.io/scrape": "true", "prometheus.io/port": "9090",
            "kubectl.kubernetes.io/restartedAt": "2025-05-29T08:00:00Z"})
        m["generateName"] = m["name"].rsplit("-", 1)[0] + "-"
        pod_like(p["spec"], m["name"].split("-")[0])
        st = p.setdefault("status", {})
        have = {c["type"] for c in st.get("conditions", [])}
        for ty in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "PodScheduled", "Ready"):
            if ty not in have and not (ty == "ContainersReady" and "Ready" in have):
                st.setdefault("conditions", []).append({"lastProbeTime": None, "lastTransitionTime": ts,
                                                        "status": "True", "type": ty})
        if "podIP" in st:
            st["podIPs"] = [{"ip": st["podIP"]}]
        if "hostIP" in st:
            st["hostIPs"] = [{"ip": st["hostIP"]}]
        for c in st.get("containerStatuses", []):
            c["containerID"] = "containerd://" + "0123456789abcdef" * 4
            c["imageID"] = c.get("image", "") + "@sha256:" + "fedcba9876543210" * 4
            c["volumeMounts"] = [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": "kube-api-access", "readOnly": True, "recursiveReadOnly": "Disabled"}]
        managed(p)
    path.write_text(json.dumps(doc, separators=(",", ":")))

    path = dst / "workloads.json"
    doc = json.loads(path.read_text())
    pods = {}
    for p in json.loads((dst / "pods.json").read_text())["items"]:
        pods.setdefault(p["metadata"]["labels"].get("app"), p)
    for o in doc["items"]:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            spec = o.setdefault("spec", {})
            app = o["metadata"].get("labels", {}).get("app") or o["metadata"]["name"]
            tpl = spec.setdefault("template", {"metadata": {"labels": {"app": app}}, "spec": {"containers": []}})
            if not tpl.get("spec", {}).get("containers") and app in pods:
                tpl["spec"] = json.loads(json.dumps(pods[app]["spec"]))
                tpl["spec"].pop("nodeName", None)
            spec.update({"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}
                        if o["kind"] == "Deployment" else {})
            managed(o)
    path.write_text(json.dumps(doc, separators=(",", ":")))

    path = dst / "cluster.json"
    doc = json.loads(path.read_text())
    for o in doc["items"]:
        if o["kind"] == "Node":
            st = o.setdefault("status", {})
            st["images"] = [{"names": [f"registry.example.com/team{i % 7}/service-{i}@sha256:" + "ab" * 32,
                                       f"registry.example.com/team{i % 7}/service-{i}:1.{i}.0"],
                             "sizeBytes": 50_000_000 + i * 1_234_567} for i in range(40)]
            st["addresses"] = [{"address": "192.168.1.10", "type": "InternalIP"},
                               {"address": o["metadata"]["name"], "type": "Hostname"}]
            st["daemonEndpoints"] = {"kubeletEndpoint": {"Port": 10250}}
            st.setdefault("nodeInfo", {}).update({
                "architecture": "amd64", "bootID": "b" * 36, "kernelVersion": "6.8.0-1021-azure",
                "kubeProxyVersion": "v1.33.1", "machineID": "m" * 32, "operatingSystem": "linux",
                "systemUUID": "s" * 36})
            managed(o)
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return dst


KUBECONFIG_STUB = """apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
users:
- name: bench
  user: {token: bench-not-a-secret}
contexts:
- name: bench
  context: {cluster: bench, user: bench, namespace: shop}
current-context: bench
"""


def live_servers(tmpdir: str) -> dict:
    """The servers in live mode, pointed at closed loopback ports: start-up never contacts a backend
    (each connects lazily on the first tool call), so this is the bare server's start."""
    kc = Path(tmpdir) / "kubeconfig"
    kc.write_text(KUBECONFIG_STUB)
    return {
        "mcp-kubernetes (kubeconfig)": [str(BIN / "mcp-kubernetes"), "--kubeconfig", str(kc)],
        "mcp-signoz (ClickHouse URL)": [str(BIN / "mcp-signoz"), "--clickhouse-url", "http://127.0.0.1:9"],
        "mcp-mongodb (URI)": [str(BIN / "mcp-mongodb"), "--uri", "mongodb://127.0.0.1:9/?directConnection=true"],
        "mcp-slack (no token)": [str(BIN / "mcp-slack"), "--allowed-channels", "incidents"],
        "kit example server": [str(BIN / "kit-example-server")],
    }


def quiet_env() -> dict:
    env = dict(os.environ)
    env["RUST_LOG"] = "warn"
    for k in ("SLACK_BOT_TOKEN", "SLACK_USER_TOKEN", "MONGODB_URI"):
        env.pop(k, None)
    return env


class McpSession:
    """What both transports share: request ids, the handshake and tool calls. A transport sends a
    request and returns the reply with its id (`_exchange`), and sends a notification (`_notify`)."""

    next_id = 0

    def _exchange(self, msg: dict) -> dict:
        raise NotImplementedError

    def _notify(self, msg: dict) -> None:
        raise NotImplementedError

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        reply = self._exchange(msg)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def initialize(self) -> dict:
        r = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                        "clientInfo": {"name": "sre-bench", "version": "1"}})
        self._notify({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return r

    def call(self, tool: str, args: dict) -> str:
        r = self.request("tools/call", {"name": tool, "arguments": args})
        if r.get("isError"):
            raise RuntimeError(f"{tool} {args}: {tool_text(r)[:300]}")
        return tool_text(r)


class StdioClient(McpSession):
    """One MCP session over a child's stdio, raw JSON-RPC."""

    def __init__(self, cmd: list[str]):
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=quiet_env(), cwd=ROOT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _notify(self, msg: dict) -> None:
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def _exchange(self, msg: dict) -> dict:
        self._notify(msg)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited before replying to {msg['method']}")
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue
            if reply.get("id") == msg["id"]:
                self.last_reply_bytes = len(line)
                return reply

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def tool_text(result: dict) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


class HttpSession(McpSession):
    """One MCP session over streamable HTTP (POST /mcp; SSE or JSON replies)."""

    def __init__(self, port: int, quickack: bool = False):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        # TCP_QUICKACK: ACK at once instead of delaying it (Linux delays up to 40 ms). A server that
        # writes a reply in two segments without TCP_NODELAY waits for that ACK (Nagle), so with
        # quickack the figure shows the server's own cost, without the delayed-ACK stall.
        self.quickack = quickack
        self.session: str | None = None

    def _notify(self, msg: dict) -> None:
        self._post(msg)

    def _exchange(self, msg: dict) -> dict:
        return self._post(msg)

    def _post(self, msg: dict) -> dict | None:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                   "MCP-Protocol-Version": PROTOCOL}
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        self.conn.request("POST", "/mcp", body=json.dumps(msg), headers=headers)
        if self.quickack:
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        resp = self.conn.getresponse()
        if self.quickack:
            chunks = []
            while True:
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                b = resp.read1()
                if not b:
                    break
                chunks.append(b)
            chunks.append(resp.read())  # marks a fully read Content-Length reply as closed
            body = b"".join(chunks)
        else:
            body = resp.read()
        if resp.status >= 400:
            raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
        sid = resp.getheader("Mcp-Session-Id")
        if sid:
            self.session = sid
        if "id" not in msg:
            return None
        if resp.getheader("Content-Type", "").startswith("text/event-stream"):
            for line in body.split(b"\n"):
                if line.startswith(b"data:"):
                    data = line[5:].strip()
                    if not data:
                        continue
                    reply = json.loads(data)
                    if reply.get("id") == msg["id"]:
                        return reply
            raise RuntimeError(f"no reply in SSE body {body[:200]!r}")
        return json.loads(body)

    def close(self) -> None:
        if self.session:
            try:
                self.conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": self.session})
                self.conn.getresponse().read()
            except Exception:  # noqa: BLE001
                pass
        self.conn.close()


def wait_http(port: int, proc: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("HTTP server exited at start")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("HTTP server did not come up")


# --------------------------------------------------------------------------- tokens

_TIKTOKEN_FILE = "o200k_base.tiktoken"


def _find_o200k() -> str | None:
    """tiktoken-rs (a workspace dependency) ships the o200k_base ranks; use
    that file so nothing is downloaded."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    for p in sorted((home / "registry" / "src").glob(f"*/tiktoken-rs-*/assets/{_TIKTOKEN_FILE}"), reverse=True):
        return str(p)
    return None


class Tokens:
    """o200k_base token counts with tiktoken when available, else chars/4."""

    def __init__(self):
        self.enc = None
        self.method = "approximate: characters / 4 (tiktoken unavailable)"
        try:
            import tiktoken
            import tiktoken.load
            from tiktoken_ext import openai_public
            local = _find_o200k()
            if local:
                orig = tiktoken.load.load_tiktoken_bpe
                openai_public.load_tiktoken_bpe = lambda _url, expected_hash=None: orig(local, expected_hash)
            self.enc = tiktoken.Encoding(**openai_public.o200k_base())
            self.method = f"o200k_base, exact (tiktoken {tiktoken.__version__})"
        except Exception:  # noqa: BLE001
            pass

    def count(self, text: str) -> int:
        if self.enc is None:
            return (len(text) + 3) // 4
        return len(self.enc.encode(text, disallowed_special=()))


def header(title: str) -> str:
    return f"\n## {title}\n"
