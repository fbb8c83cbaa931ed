"""Registry list/get/search latency at 100, 1,000 and 10,000 agents, on SQLite and PostgreSQL,
against a plain primary-key read of the same table measured in the same run.

    python bench/registry/bench_registry.py [--sizes 100,1000,10000] [--reads 200]
        [--backends sqlite,postgres]

Agents are inserted through the real repository (indexes, tags, FTS rows) with varied cards;
queries run as a non-superuser, so the visibility filter (public, own, granted) is in play.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from nasiko.core.models import Principal, utcnow
from nasiko.core.registry.models import Agent, AgentVersion
from nasiko.storage.crypto import KeyRing
from nasiko.storage.sql.store import SqlStorage
from nasiko.storage.sql.tables_registry import agents
from nasiko.testing.platform import PG_ADMIN_URL, create_pg_database, drop_pg_database, pg_url

_PROSE = """weather forecast translate document summarise invoice calendar booking flight hotel
music playlist recipe fitness stock price news legal contract code review github compliance
privacy email support ticket sales report chart database query poem story image caption travel
currency convert tax expense hiring interview"""
WORDS = _PROSE.split()


def card(i: int, rng: random.Random) -> dict[str, Any]:
    words = rng.sample(WORDS, 6)
    return {
        "name": f"{words[0].title()} {words[1].title()} Agent {i}",
        "description": f"Helps with {words[0]} and {words[1]}: {' '.join(words[2:])}.",
        "version": "1.0.0",
        "supportedInterfaces": [
            {
                "url": f"http://10.0.{i // 250}.{i % 250}:8000/",
                "protocolBinding": "JSONRPC",
                "protocolVersion": "1.0",
            }
        ],
        "skills": [
            {
                "id": f"s{j}",
                "name": f"{w.title()} skill",
                "tags": [w],
                "description": f"Does {w} tasks for {words[(j + 1) % 6]}.",
                "examples": [f"please {w} this for me"],
            }
            for j, w in enumerate(words[:3])
        ],
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
    }


async def fill(store: SqlStorage, start: int, stop: int, owners: list[str]) -> None:
    rng = random.Random(start)
    for i in range(start, stop):
        c = card(i, rng)
        now = utcnow()
        agent = Agent(
            id=str(uuid.uuid4()),
            slug=f"agent-{i}",
            name=c["name"],
            description=c["description"],
            owner_id=owners[i % len(owners)],
            visibility=("public", "shared", "private")[i % 3],
            tags=[c["skills"][0]["tags"][0]],
            status="running",
            endpoints=[],
            card=c,
            created_at=now,
            updated_at=now,
        )
        version = AgentVersion(agent_id=agent.id, version=1, card=c, created_at=now)
        await store.registry.add(agent, card_original=None, version=version)


async def timed(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


async def run_backend(name: str, url: str, sizes: list[int], reads: int) -> list[dict[str, Any]]:
    store = SqlStorage.open(url, KeyRing([b"bench-secret-key-0123"]))
    await store.migrate()
    user = Principal(kind="user", id="user-1", name="u", role="user")
    rows: list[dict[str, Any]] = []
    have = 0
    rng = random.Random(7)
    try:
        for size in sizes:
            await fill(store, have, size, ["user-1", "user-2", "user-3"])
            have = size
            # Steady state: the platform analyses SQLite at start and hourly, and PostgreSQL's
            # autovacuum would have analysed a table this size by now.
            if name == "postgres":
                async with store.engine.begin() as conn:
                    await conn.execute(text("ANALYZE"))
            else:
                await store.analyze()
            async with store.engine.connect() as conn:
                ids = [r[0] for r in (await conn.execute(select(agents.c.id).limit(500))).all()]

            async def pk(ids: list[str] = ids) -> None:
                async with store.engine.connect() as conn:
                    await conn.execute(select(agents).where(agents.c.id == rng.choice(ids)))

            async def get(size: int = size) -> None:
                await store.registry.get(f"agent-{rng.randrange(size)}")

            async def list_page() -> None:
                await store.registry.list(user, limit=50, offset=0)

            async def list_tag() -> None:
                await store.registry.list(user, limit=50, offset=0, tag=rng.choice(WORDS))

            async def search() -> None:
                await store.registry.list(
                    user, limit=20, offset=0, q=" ".join(rng.sample(WORDS, 2))
                )

            base = await timed(pk, reads)
            for op, fn in (
                ("get", get),
                ("list", list_page),
                ("list tag", list_tag),
                ("search", search),
            ):
                p50, p99 = await timed(fn, reads)
                rows.append(
                    {
                        "backend": name,
                        "agents": size,
                        "op": op,
                        "p50": p50,
                        "p99": p99,
                        "pk_p50": base[0],
                        "ratio": p50 / base[0],
                    }
                )
    finally:
        await store.close()
    return rows


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                rows += await run_backend(
                    "sqlite", f"sqlite+aiosqlite:///{Path(tmp)}/b.db", sizes, args.reads
                )
        else:
            db = await create_pg_database(PG_ADMIN_URL)
            try:
                rows += await run_backend("postgres", pg_url(db), sizes, args.reads)
            finally:
                await drop_pg_database(db)
    print("| back-end | agents | operation | p50 ms | p99 ms | PK read p50 ms | p50 / PK read |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['backend']} | {r['agents']:,} | {r['op']} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['pk_p50']:.3f} | {r['ratio']:.1f}x |"
        )


if __name__ == "__main__":
    asyncio.run(main())
