"""Event buses: in-process for embedded mode, Redis pub/sub across processes in server mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as aioredis

from nasiko.core.ports import Event, EventHandler

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "nasiko:events:"


class _Handlers:
    def __init__(self) -> None:
        self._by_topic: dict[str, list[EventHandler]] = defaultdict(list)

    def add(self, topic: str, handler: EventHandler) -> Callable[[], None]:
        self._by_topic[topic].append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._by_topic[topic].remove(handler)

        return unsubscribe

    async def dispatch(self, event: Event) -> None:
        for handler in list(self._by_topic.get(event.topic, ())):
            try:
                await handler(event)
            except Exception:  # one failing subscriber must not starve the others
                log.exception("event handler failed for %s/%s", event.topic, event.kind)


class MemoryEventBus:
    def __init__(self) -> None:
        self._handlers = _Handlers()

    async def publish(self, event: Event) -> None:
        await self._handlers.dispatch(event)

    def subscribe(self, topic: str, handler: EventHandler) -> Callable[[], None]:
        return self._handlers.add(topic, handler)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisEventBus:
    """Publishes to Redis channels; one listener task per process fans events out locally."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._handlers = _Handlers()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def publish(self, event: Event) -> None:
        payload = json.dumps({"topic": event.topic, "kind": event.kind, "data": event.data})
        await self._redis.publish(CHANNEL_PREFIX + event.topic, payload)

    def subscribe(self, topic: str, handler: EventHandler) -> Callable[[], None]:
        return self._handlers.add(topic, handler)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="nasiko-events")
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                self._ready.set()
                async for msg in pubsub.listen():
                    if msg.get("type") != "pmessage":
                        continue
                    data = json.loads(msg["data"])
                    await self._handlers.dispatch(Event(data["topic"], data["kind"], data["data"]))
            except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                log.warning("event bus lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(aioredis.RedisError, OSError):  # closing a dead link
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
