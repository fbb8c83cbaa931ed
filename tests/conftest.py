"""Shared fixtures. Storage/queue/event tests run on both back-ends through `backend`:
"sqlite" (embedded: SQLite + in-process) and "postgres" (server: PostgreSQL + Redis).
Every test gets a fresh database, created here and dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from nasiko.bootstrap import Services, open_services
from nasiko.settings import Settings
from nasiko.testing.platform import (
    PG_ADMIN_URL,
    REDIS_URL,
    PlatformThread,
    create_pg_database,
    drop_pg_database,
    make_settings,
    pg_url,
)

BACKENDS = ["sqlite", "postgres"]
_REDIS_DB = int(os.environ.get("NASIKO_TEST_REDIS_DB", random.randint(1, 15)))


@pytest.fixture(autouse=True)
def _isolated_cli_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any) -> None:
    # The CLI must never read or write the developer's real credentials during tests.
    monkeypatch.setenv("NASIKO_CONFIG_DIR", str(tmp_path_factory.mktemp("cli-config")))
    monkeypatch.delenv("NASIKO_TOKEN", raising=False)
    monkeypatch.delenv("NASIKO_API_URL", raising=False)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_settings(backend: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Settings overrides for the chosen back-end; the database lives only for this test."""
    if backend == "sqlite":
        yield {}
        return
    yield from _server_backend()


@pytest.fixture
def server_backend() -> Iterator[dict[str, Any]]:
    """PostgreSQL + Redis only, for tests of server mode (several processes)."""
    yield from _server_backend()


def _server_backend() -> Iterator[dict[str, Any]]:
    name = asyncio.run(create_pg_database(PG_ADMIN_URL))
    redis_url = f"{REDIS_URL}/{_REDIS_DB}"
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    try:
        yield {"database_url": pg_url(name), "redis_url": redis_url}
    finally:
        r.flushdb()
        r.close()
        asyncio.run(drop_pg_database(name))


@pytest.fixture
def settings(tmp_path: Path, backend_settings: dict[str, Any]) -> Settings:
    return make_settings(tmp_path / "data", **backend_settings)


@pytest.fixture
async def svc(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as services:
        yield services


@pytest.fixture
def platform(settings: Settings) -> Iterator[PlatformThread]:
    """A live API + gateway + router + worker on free ports, on the chosen back-end."""
    with PlatformThread(settings, ["api", "gateway", "router", "worker"]) as p:
        yield p
