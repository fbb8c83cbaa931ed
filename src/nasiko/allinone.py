"""Run components: `nasiko up` (everything, one process, embedded) and `nasiko serve X` (one).

Each HTTP component is a uvicorn server on its own port inside one event loop; the worker is
a task in the same loop. Shutdown (Ctrl-C / SIGTERM) stops the servers, the worker and every
agent the runtime started, then closes storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from nasiko.bootstrap import Services, open_services
from nasiko.errors import Conflict
from nasiko.settings import Settings

log = logging.getLogger(__name__)
COMPONENTS = ("api", "gateway", "router", "worker")


class _Server(uvicorn.Server):
    # Signals are handled once for all servers in the process, not by each server.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Listener:
    name: str
    host: str
    port: int
    app: Any


@contextlib.contextmanager
def single_instance(data_dir: Path) -> Iterator[None]:
    """Holds an exclusive lock on the data directory for as long as the platform runs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "nasiko.lock"
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise Conflict(
            f"Nasiko is already running on data directory {data_dir.resolve()} (pid {holder}); "
            "stop it first, or start this one with another --data-dir"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def build_listeners(svc: Services, names: list[str]) -> list[Listener]:
    s = svc.settings
    out: list[Listener] = []
    if "api" in names:
        from nasiko.api.app import create_app as api_app
        from nasiko.web.app import mount_ui

        app = api_app(svc)
        mount_ui(app, svc)  # the web UI is served same-origin by the API process
        out.append(Listener("api", s.api.host, s.api.port, app))
    if "gateway" in names:
        from nasiko.gateway.app import create_app as gateway_app

        out.append(Listener("gateway", s.gateway.host, s.gateway.port, gateway_app(svc)))
    if "otlp" in names:
        from nasiko.api.routes.otlp import create_otlp_app

        out.append(Listener("otlp", s.api.host, s.observability.otlp_port, create_otlp_app(svc)))
    if "router" in names:
        from nasiko.router.app import create_app as router_app

        out.append(Listener("router", s.router.host, s.router.port, router_app(svc)))
    return out


def bind(lst: Listener) -> socket.socket:
    """Bind before serving, so a taken port is a clear error rather than uvicorn's exit."""
    family = socket.AF_INET6 if ":" in lst.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio only disables Nagle on accepted sockets of an IPPROTO_TCP listener; without it
    # every small response waits for the peer's delayed ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((lst.host, lst.port))
    except OSError as exc:
        sock.close()
        raise Conflict(
            f"the {lst.name} cannot listen on {lst.host}:{lst.port}: {exc.strerror}; "
            f"free the port or set another one (see docs/configuration.md)"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def serve(
    settings: Settings,
    names: list[str],
    *,
    on_ready: Callable[[Services, list[Listener]], None] | None = None,
    stop: asyncio.Event | None = None,
    global_tracer: bool = True,
) -> None:
    stop = stop or asyncio.Event()
    async with open_services(settings, ensure_admin="api" in names) as svc:
        from nasiko.observability.selftrace import setup_tracing

        # Tests run several platforms in one process: only a real one owns the global provider.
        setup_tracing(svc, set_global=global_tracer)
        listeners = build_listeners(svc, names)
        servers = [
            _Server(
                uvicorn.Config(
                    lst.app,
                    host=lst.host,
                    port=lst.port,
                    log_config=None,
                    access_log=False,
                    lifespan="on",
                    timeout_graceful_shutdown=5,
                )
            )
            for lst in listeners
        ]
        sockets = [bind(lst) for lst in listeners]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

        tasks = [
            asyncio.create_task(srv.serve(sockets=[sock]), name=f"serve-{lst.name}")
            for srv, lst, sock in zip(servers, listeners, sockets, strict=True)
        ]
        if "worker" in names:
            from nasiko.worker.loop import run_housekeeping, run_worker

            tasks.append(asyncio.create_task(run_worker(svc, stop), name="worker"))
            tasks.append(asyncio.create_task(run_housekeeping(svc, stop), name="housekeeping"))
        for starter in svc.extensions.get("background", []):
            tasks.append(asyncio.create_task(starter(stop)))

        while not all(srv.started for srv in servers):
            failed = [t for t in tasks if t.done()]
            if failed:
                break
            await asyncio.sleep(0.05)
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed or any(srv.should_exit for srv in servers):
            stop.set()
        elif on_ready is not None:
            on_ready(svc, listeners)

        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for srv in servers:
            srv.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
        for closer in reversed(svc.extensions.get("closers", [])):
            await closer()
        for lst, res in zip(listeners, results, strict=False):
            if isinstance(res, BaseException) and not isinstance(res, asyncio.CancelledError):
                log.error("%s stopped with an error: %s", lst.name, res)
