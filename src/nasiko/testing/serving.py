"""Run ASGI apps and agent processes for tests: in a uvicorn thread, or as a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp

__all__ = [
    "URL_LINE_PREFIX",
    "AgentProcess",
    "bind_socket",
    "serve_asgi",
    "socket_url",
    "spawn_agent",
]

URL_LINE_PREFIX = "NASIKO_AGENT_URL="
"""What ``python -m nasiko.testing.agents`` prints, followed by its base URL, once it listens."""


def bind_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def socket_url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextmanager
def serve_asgi(
    app: ASGIApp | None = None,
    *,
    app_factory: Callable[[str], ASGIApp] | None = None,
    host: str = "127.0.0.1",
    start_timeout: float = 10.0,
) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a background thread; yield its base URL.

    The socket is bound before the app is built, so `app_factory(url)` can put the real
    port into an agent card.
    """
    if (app is None) == (app_factory is None):
        raise TypeError("pass exactly one of app or app_factory")
    sock = bind_socket(host, 0)
    url = socket_url(host, sock)
    asgi = app if app is not None else app_factory(url)  # type: ignore[misc]
    server = uvicorn.Server(
        uvicorn.Config(asgi, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn {url}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"test server at {url} did not start")
        time.sleep(0.005)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class AgentProcess:
    """A test agent running as a child process; stop it with `stop()` (by its PID)."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def spawn_agent(
    kind: str = "echo",
    *,
    name: str = "echo",
    port: int = 0,
    delay_ms: int = 0,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    start_timeout: float = 30.0,
) -> AgentProcess:
    """Start ``python -m nasiko.testing.agents`` with this interpreter; wait until it listens."""
    cmd = [
        sys.executable,
        "-m",
        "nasiko.testing.agents",
        kind,
        "--port",
        str(port),
        "--name",
        name,
        "--delay-ms",
        str(delay_ms),
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + start_timeout
    # readline blocks; the child prints the URL line right after binding, or exits.
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(URL_LINE_PREFIX):
            return AgentProcess(proc, line[len(URL_LINE_PREFIX) :].strip(), lines)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"agent process {cmd} did not start; output:\n" + "\n".join(lines))
