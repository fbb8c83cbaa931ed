"""Run real Nasiko components for tests: fresh databases on both back-ends, live servers.

    with PlatformThread(settings, ["api", "gateway"]) as p:
        NasikoClient(p.api_url) ...

Servers run in a background thread with their own event loop, on free loopback ports.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from nasiko.settings import Settings

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_pg_database(admin_url: str = PG_ADMIN_URL, *, template: str | None = None) -> str:
    import asyncpg

    name = f"nasiko_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        tmpl = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
    finally:
        await conn.close()
    return name


async def drop_pg_database(name: str, admin_url: str = PG_ADMIN_URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pg_url(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


class PlatformThread:
    """Runs `nasiko.allinone.serve` for the given components in a background thread."""

    def __init__(self, settings: Settings, components: list[str], *, timeout: float = 30) -> None:
        self.settings = settings
        self.components = components
        self.timeout = timeout
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.services: Any = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="nasiko-test")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api.port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway.port}"

    @property
    def router_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.router.port}"

    def _main(self) -> None:
        from nasiko.allinone import serve

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def ready(svc: Any, _listeners: Any) -> None:
                self.services = svc
                self._ready.set()

            await serve(
                self.settings, self.components, on_ready=ready, stop=self._stop, global_tracer=False
            )

        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the test thread, which re-raises it
            self._error = exc
        finally:
            self._ready.set()

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the platform's loop (to reach its services) and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> PlatformThread:
        self._thread.start()
        if not self._ready.wait(self.timeout):
            raise TimeoutError("platform did not start in time")
        if self._error is not None:
            raise self._error
        if self.services is None:
            raise RuntimeError("platform stopped before it was ready")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.timeout)


def make_settings(data_dir: Any, **overrides: Any) -> Settings:
    """Settings on free ports with a fixed admin password, for tests."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "admin_password": "admin-password-1",
        "api": {"port": free_port()},
        "gateway": {"port": free_port()},
        "router": {"port": free_port()},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@contextmanager
def env(**values: str) -> Iterator[None]:
    import os

    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def api_login(client: Any, username: str, password: str) -> dict[str, str]:
    """Log in through the API with an httpx.AsyncClient; returns the Authorization header."""
    resp = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    if resp.status_code != 200:
        raise AssertionError(f"login as {username} failed: {resp.text}")
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}
