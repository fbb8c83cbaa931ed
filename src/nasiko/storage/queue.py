"""Job queues: an in-process queue (embedded) and Redis Streams with a consumer group (server).

Both are at-least-once: a job stays pending until ``ack``. With Redis, a job whose consumer
went silent for ``claim_idle_seconds`` is taken over by another consumer with XAUTOCLAIM, so
a worker killed mid-job does not lose it. Handlers are idempotent per ``Job.key``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import redis.asyncio as aioredis

from nasiko.core.ports import Job


class MemoryJobQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._pending: dict[str, Job] = {}

    async def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        job = Job(id=str(next(self._ids)), kind=kind, key=key, payload=payload)
        await self._queue.put(job)
        return job.id

    async def claim(self, consumer: str, *, block_seconds: float = 1.0) -> Job | None:
        try:
            job = await asyncio.wait_for(self._queue.get(), timeout=block_seconds)
        except TimeoutError:
            return None
        self._pending[job.id] = job
        return job

    async def ack(self, job: Job) -> None:
        self._pending.pop(job.id, None)

    async def depth(self) -> int:
        return self._queue.qsize() + len(self._pending)

    async def close(self) -> None:
        return None


class RedisStreamQueue:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str = "nasiko:jobs",
        group: str = "workers",
        claim_idle_seconds: float = 60.0,
    ) -> None:
        self._redis = client
        self.stream = stream
        self.group = group
        self.claim_idle_ms = int(claim_idle_seconds * 1000)
        self._group_ready = False
        self._last_autoclaim = 0.0

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        await self._ensure_group()
        fields = {"kind": kind, "key": key, "payload": json.dumps(payload)}
        entry_id = await self._redis.xadd(self.stream, fields)  # type: ignore[arg-type]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    @staticmethod
    def _job(entry_id: Any, fields: dict[Any, Any], attempt: int = 1) -> Job:
        f = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return Job(
            id=eid, kind=f["kind"], key=f["key"], payload=json.loads(f["payload"]), attempt=attempt
        )

    async def claim(self, consumer: str, *, block_seconds: float = 1.0) -> Job | None:
        await self._ensure_group()
        # Orphaned jobs first, at most every second, so a dead worker's job is not starved.
        now = time.monotonic()
        if now - self._last_autoclaim >= 1.0:
            self._last_autoclaim = now
            res: Any = await self._redis.xautoclaim(
                self.stream,
                self.group,
                consumer,
                min_idle_time=self.claim_idle_ms,
                start_id="0-0",
                count=1,
            )
            claimed = res[1] if len(res) > 1 else []
            for entry_id, fields in claimed:
                if fields:  # entries deleted from the stream come back as None
                    info = await self._redis.xpending_range(
                        self.stream, self.group, min=entry_id, max=entry_id, count=1
                    )
                    attempt = int(info[0]["times_delivered"]) if info else 2
                    return self._job(entry_id, fields, attempt)
        res = await self._redis.xreadgroup(
            self.group,
            consumer,
            {self.stream: ">"},
            count=1,
            block=max(1, int(block_seconds * 1000)),
        )
        if not res:
            return None
        _stream, entries = res[0]
        entry_id, fields = entries[0]
        return self._job(entry_id, fields)

    async def ack(self, job: Job) -> None:
        await self._redis.xack(self.stream, self.group, job.id)
        await self._redis.xdel(self.stream, job.id)

    async def depth(self) -> int:
        await self._ensure_group()
        return int(await self._redis.xlen(self.stream))

    async def close(self) -> None:
        return None
