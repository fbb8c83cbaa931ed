"""Gateway benchmark: direct vs through the Nasiko gateway vs through nginx, one run.

    python bench/gateway/run.py [--rounds 3] [--quick]

Starts an a2a-sdk echo agent (20 ms reply delay) as a child process, registers it in a
fresh embedded (SQLite) data directory through the real registry, starts
``python -m nasiko serve gateway`` on that directory as a separate process (every feature
on: auth, grants, rate limit, chat logging, span), and nginx (Debian package) as a reference
proxy with a generated config. Rounds interleave the three targets so drift on a shared
machine hits them alike. Reports requests/s and p50/p90/p99 for JSON-RPC ``SendMessage`` at
1, 16 and 64 concurrent clients, a streamed reply's time to first event, and each proxy's
CPU time per proxied request read from /proc over the whole run. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nasiko.gateway.upstream import UpstreamPool, parse_endpoint
from nasiko.testing.platform import free_port
from nasiko.testing.serving import spawn_agent

CLK_TCK = os.sysconf("SC_CLK_TCK")
AS_SHIPPED = "--as-shipped" in sys.argv


# --------------------------------------------------------------------------- processes


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime+stime of a process (and of its direct children, for nginx's workers)."""
    pids = [pid]
    if children:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            pids.extend(int(k) for k in kids)
    total = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


async def setup_platform(data_dir: Path, agent_url: str) -> str:
    """User, API token and the agent registered through the registry; returns the token."""
    from nasiko.bootstrap import open_services
    from nasiko.core.models import Principal
    from nasiko.core.registry.models import RegisterAgent
    from nasiko.settings import Settings

    settings = Settings(data_dir=data_dir, admin_password="bench-admin-password")
    async with open_services(settings) as svc:
        admin = await svc.storage.users.get_by_username("admin")
        principal = Principal(kind="user", id=admin.id, name="admin", role="superuser")
        await svc.registry.register(
            principal, RegisterAgent(url=agent_url, slug="bench", visibility="public")
        )
        token = await svc.auth.create_api_token(principal, name="bench", expires_at=None)
        return token.token


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


# Until nasiko.allinone.bind sets TCP_NODELAY itself, asyncio leaves Nagle on for sockets
# created without IPPROTO_TCP: every small reply then waits ~40 ms for a delayed ACK.
_NODELAY_LAUNCHER = """
import runpy, socket, sys
import nasiko.allinone as allinone
_bind = allinone.bind
def bind(lst):
    sock = _bind(lst)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
allinone.bind = bind
sys.argv = ["nasiko", "serve", "gateway"]
runpy.run_module("nasiko", run_name="__main__")
"""


def bind_sets_nodelay() -> bool:
    import socket

    from nasiko.allinone import Listener, bind

    sock = bind(Listener("probe", "127.0.0.1", free_port(), None))
    try:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        sock.close()


def start_gateway(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NASIKO_DATA_DIR": str(data_dir),
        "NASIKO_GATEWAY__PORT": str(port),
        "NASIKO_LOG_LEVEL": "WARNING",
        # Limits on but out of the way: the bench measures their cost, not their effect.
        "NASIKO_GATEWAY__RATE_LIMIT_PER_CALLER": "100000",
        "NASIKO_GATEWAY__RATE_LIMIT_BURST": "100000",
        "NASIKO_GATEWAY__RATE_LIMIT_PER_AGENT": "100000",
    }
    if bind_sets_nodelay():
        cmd = [sys.executable, "-m", "nasiko", "serve", "gateway"]
    else:
        print(
            "note: nasiko.allinone.bind leaves TCP_NODELAY off; the gateway is started with "
            "it set (pass --as-shipped to measure without)"
        )
        cmd = [sys.executable, "-c", _NODELAY_LAUNCHER]
    if AS_SHIPPED:
        cmd = [sys.executable, "-m", "nasiko", "serve", "gateway"]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc


NGINX_CONF = """
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream agent {{ server {agent}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port};
        location /agents/bench/ {{
            proxy_pass http://agent/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def start_nginx(tmp: Path, agent_hostport: str, port: int) -> subprocess.Popen[bytes] | None:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        print("nginx not installed (apt-get install nginx-light); skipping the nginx column")
        return None
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, agent=agent_hostport, port=port))
    proc = subprocess.Popen(
        [binary, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/agents/bench/.well-known/agent-card.json")
    return proc


# --------------------------------------------------------------------------- load


def send_message_body(stream: bool) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": uuid.uuid4().hex[:8],
            "method": "SendStreamingMessage" if stream else "SendMessage",
            "params": {
                "message": {
                    "messageId": uuid.uuid4().hex,
                    "role": "ROLE_USER",
                    "parts": [{"text": "benchmark hello"}],
                    "metadata": {"skill": "echo"},
                }
            },
        }
    ).encode()


@dataclass
class Target:
    name: str
    base: str  # e.g. http://127.0.0.1:9100/agents/bench
    headers: bytes
    latencies: dict[int, list[float]] = field(default_factory=dict)
    elapsed: dict[int, float] = field(default_factory=dict)
    count: dict[int, int] = field(default_factory=dict)
    ttfe: list[float] = field(default_factory=list)
    errors: int = 0
    proxied: int = 0


class Loader:
    """Keep-alive HTTP/1.1 clients from the gateway's own lean client (cheap on CPU)."""

    def __init__(self) -> None:
        self.pool = UpstreamPool(connect_timeout=5)

    def request(self, target: Target, body: bytes) -> tuple[Any, bytes]:
        endpoint = parse_endpoint(target.base)
        head = (
            b"POST "
            + (endpoint.prefix + "/").encode()
            + b" HTTP/1.1\r\nhost: "
            + endpoint.host_header
            + b"\r\ncontent-type: application/json\r\na2a-version: 1.0\r\n"
            + target.headers
            + b"content-length: %d\r\n\r\n" % len(body)
        )
        return endpoint, head + body

    async def one(self, target: Target, *, stream: bool) -> tuple[float, float]:
        endpoint, raw = self.request(target, send_message_body(stream))
        start = time.perf_counter()
        conn = await self.pool.connect(endpoint)
        conn.send(raw)
        await conn.wait_head(60)
        first = 0.0
        ok = conn.status == 200
        while (chunk := await conn.read(60)) is not None:
            if not first and (not stream or b"data:" in chunk):
                first = time.perf_counter() - start
            if b'"error"' in chunk:
                ok = False
        total = time.perf_counter() - start
        self.pool.release(conn)
        if not ok:
            target.errors += 1
        return total, first

    async def blocking(self, target: Target, clients: int, requests: int) -> None:
        latencies: list[float] = []
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                total, _ = await self.one(target, stream=False)
                latencies.append(total)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        target.elapsed[clients] = target.elapsed.get(clients, 0.0) + time.perf_counter() - start
        target.count[clients] = target.count.get(clients, 0) + len(latencies)
        target.latencies.setdefault(clients, []).extend(latencies)
        target.proxied += len(latencies)

    async def streams(self, target: Target, count: int) -> None:
        for _ in range(count):
            _, first = await self.one(target, stream=True)
            target.ttfe.append(first)
            target.proxied += 1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --------------------------------------------------------------------------- main


async def bench(targets: list[Target], cpu_pids: dict[str, tuple[int, bool]], args: Any) -> None:
    loader = Loader()
    plan = {1: args.n1, 16: args.n16, 64: args.n64}
    cpu: dict[str, float] = {name: 0.0 for name in cpu_pids}
    for target in targets:  # warm-up: connections, caches, JIT-free but page-cache warm
        await loader.blocking(target, 4, 40)
        target.latencies.clear(), target.elapsed.clear(), target.count.clear()
        target.proxied = 0
    for rnd in range(args.rounds):
        order = targets[:]
        random.Random(rnd).shuffle(order)
        for target in order:
            pid = cpu_pids.get(target.name)
            before = cpu_seconds(pid[0], children=pid[1]) if pid else 0.0
            for clients, requests in plan.items():
                await loader.blocking(target, clients, requests)
            await loader.streams(target, args.streams)
            if pid:
                cpu[target.name] += cpu_seconds(pid[0], children=pid[1]) - before
        print(f"round {rnd + 1}/{args.rounds} done", flush=True)
    await loader.pool.close()

    direct = targets[0]
    print()
    print("SendMessage (JSON-RPC, agent reply delay 20 ms)")
    print(
        f"{'target':<9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
        f" {'p50 +ms':>8}"
    )
    rows = []
    for clients in plan:
        base50 = pct(direct.latencies[clients], 0.5)
        for t in targets:
            lat = t.latencies[clients]
            rps = t.count[clients] / t.elapsed[clients]
            p50, p90, p99 = pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99)
            rows.append((t.name, clients, rps, p50, p90, p99, p50 - base50))
            print(
                f"{t.name:<9} {clients:>7} {rps:>8.1f} {p50:>8.2f} {p90:>8.2f} {p99:>8.2f}"
                f" {p50 - base50:>+8.2f}"
            )
    print()
    print("Streamed reply, time to first event (1 client)")
    base_ttfe = statistics.median(direct.ttfe) * 1000
    for t in targets:
        med = statistics.median(t.ttfe) * 1000
        print(
            f"{t.name:<9} p50 {med:7.2f} ms  p90 {pct(t.ttfe, 0.9):7.2f} ms  "
            f"(+{med - base_ttfe:.2f} ms over direct)"
        )
    print()
    print("Proxy CPU per proxied request (from /proc, whole run)")
    for name, seconds in cpu.items():
        t = next(t for t in targets if t.name == name)
        print(
            f"{name:<9} {seconds * 1000 / t.proxied:6.3f} ms  ({t.proxied} requests, "
            f"{seconds:.2f} s CPU)"
        )
    if "nginx" in cpu and "gateway" in cpu:
        g = cpu["gateway"] / next(t for t in targets if t.name == "gateway").proxied
        n = cpu["nginx"] / next(t for t in targets if t.name == "nginx").proxied
        print(f"gateway / nginx CPU ratio: {g / n:.1f}x")
    print()
    print("errors:", {t.name: t.errors for t in targets})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument(
        "--as-shipped", action="store_true", help="start the gateway exactly as `nasiko serve`"
    )
    args = parser.parse_args()
    args.n1, args.n16, args.n64, args.streams = (
        (30, 64, 128, 10) if args.quick else (150, 480, 960, 40)
    )
    tmp = Path(tempfile.mkdtemp(prefix="nasiko-bench-gw-"))
    procs: list[Any] = []
    try:
        agent = spawn_agent("echo", name="bench", delay_ms=args.delay_ms)
        procs.append(agent)
        token = asyncio.run(setup_platform(tmp / "data", agent.url))
        gw_port, ng_port = free_port(), free_port()
        gateway = start_gateway(tmp / "data", gw_port)
        procs.append(gateway)
        nginx = start_nginx(tmp / "nginx", agent.url.removeprefix("http://"), ng_port)
        if nginx is not None:
            procs.append(nginx)
        auth = b"authorization: Bearer " + token.encode() + b"\r\n"
        targets = [
            Target("direct", agent.url, b""),
            Target("gateway", f"http://127.0.0.1:{gw_port}/agents/bench", auth),
        ]
        cpu_pids = {"gateway": (gateway.pid, False)}
        if nginx is not None:
            targets.append(Target("nginx", f"http://127.0.0.1:{ng_port}/agents/bench", auth))
            cpu_pids["nginx"] = (nginx.pid, True)
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(bench(targets, cpu_pids, args))
    finally:
        for proc in reversed(procs):
            if hasattr(proc, "stop"):
                proc.stop()
            else:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
