from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import redis.asyncio as aioredis

from nasiko.bootstrap import Services
from nasiko.core.ports import Event
from nasiko.storage.queue import RedisStreamQueue
from nasiko.testing.platform import REDIS_URL


async def test_queue_delivers_and_acks(svc: Services) -> None:
    await svc.queue.enqueue("deploy", "upload-1", {"n": 1})
    await svc.queue.enqueue("deploy", "upload-2", {"n": 2})
    first = await svc.queue.claim("w1", block_seconds=1)
    second = await svc.queue.claim("w1", block_seconds=1)
    assert first is not None and second is not None
    assert [first.key, second.key] == ["upload-1", "upload-2"]
    assert first.payload == {"n": 1} and first.kind == "deploy"
    assert await svc.queue.claim("w1", block_seconds=0.1) is None
    assert await svc.queue.depth() == 2  # claimed but not acknowledged
    await svc.queue.ack(first)
    await svc.queue.ack(second)
    assert await svc.queue.depth() == 0


async def test_redis_queue_reclaims_job_of_dead_consumer() -> None:
    client = aioredis.from_url(f"{REDIS_URL}/0")
    stream = f"nasiko:test:{id(client)}"
    try:
        q = RedisStreamQueue(client, stream=stream, claim_idle_seconds=0.2)
        await q.enqueue("deploy", "u-1", {})
        job = await q.claim("worker-that-dies", block_seconds=0.5)
        assert job is not None and job.attempt == 1
        # The first consumer never acks; after the idle time another consumer takes it over.
        other = RedisStreamQueue(client, stream=stream, claim_idle_seconds=0.2)
        await asyncio.sleep(0.3)
        other._last_autoclaim = 0.0
        again = await other.claim("survivor", block_seconds=0.5)
        assert again is not None and again.key == "u-1" and again.attempt >= 2
        await other.ack(again)
        assert await other.depth() == 0
    finally:
        await client.delete(stream)
        await client.aclose()


async def test_event_bus_delivers_to_subscribers(svc: Services) -> None:
    got: list[Event] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        got.append(event)
        done.set()

    unsubscribe = svc.events.subscribe("registry", handler)
    await svc.events.publish(Event("registry", "agent.updated", {"id": "a1"}))
    await asyncio.wait_for(done.wait(), 5)
    assert got == [Event("registry", "agent.updated", {"id": "a1"})]
    unsubscribe()
    done.clear()
    await svc.events.publish(Event("registry", "agent.deleted", {"id": "a1"}))
    await asyncio.sleep(0.2)
    assert len(got) == 1


async def test_redis_event_reaches_a_second_process() -> None:
    """An event published here is received by another OS process subscribed over Redis."""
    url = f"{REDIS_URL}/0"
    script = textwrap.dedent(f"""
        import asyncio, json, sys
        import redis.asyncio as aioredis
        from nasiko.storage.events import RedisEventBus
        async def main():
            client = aioredis.from_url({url!r})
            bus = RedisEventBus(client)
            got = asyncio.Event()
            async def handler(ev):
                print(json.dumps({{"kind": ev.kind, "data": ev.data}}), flush=True)
                got.set()
            bus.subscribe("registry", handler)
            await bus.start()
            print("ready", flush=True)
            await asyncio.wait_for(got.wait(), 20)
            await bus.close()
            await client.aclose()
        asyncio.run(main())
    """)
    proc = subprocess.Popen(  # noqa: ASYNC220 - a short-lived peer, read from a thread below
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        from nasiko.storage.events import RedisEventBus

        client = aioredis.from_url(url)
        await RedisEventBus(client).publish(Event("registry", "agent.created", {"slug": "x"}))
        await client.aclose()
        line = await asyncio.to_thread(proc.stdout.readline)
        assert json.loads(line) == {"kind": "agent.created", "data": {"slug": "x"}}
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_cache_and_rate_limiter(svc: Services) -> None:
    assert await svc.cache.get("k") is None
    await svc.cache.set("k", b"v", ttl=5)
    assert await svc.cache.get("k") == b"v"
    assert await svc.cache.incr("n") == 1
    assert await svc.cache.incr("n") == 2
    await svc.cache.delete("k")
    assert await svc.cache.get("k") is None
    waits = [await svc.rate_limiter.hit("caller", rate=1.0, burst=3) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.0 < waits[3] <= 1.0
