"""Chat logging off the hot path: a bounded buffer flushed in batches to a `ChatLogSink`.

``put`` never waits and never fails the proxied call. A background task hands batches to
the sink (``svc.extensions["chat_log_sink"]``, looked up at every flush so it can arrive
late). While the sink is missing, slow or failing, entries stay buffered up to ``capacity``;
past that, new entries are dropped and counted. ``stats()`` feeds ``/readyz`` and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from nasiko.core.ports import ChatLogEntry, ChatLogSink

__all__ = ["ChatLogBuffer"]

log = logging.getLogger(__name__)


class ChatLogBuffer:
    def __init__(
        self,
        sink: Callable[[], ChatLogSink | None],
        *,
        capacity: int,
        batch_size: int = 200,
        interval: float = 0.2,
        retry_delay: float = 1.0,
    ) -> None:
        self._sink = sink
        self.capacity = capacity
        self.batch_size = batch_size
        self.interval = interval
        self.retry_delay = retry_delay
        self._queue: deque[ChatLogEntry] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None

    def put(self, entry: ChatLogEntry) -> None:
        if len(self._queue) >= self.capacity:
            self.dropped += 1
            return
        self._queue.append(entry)
        if len(self._queue) >= self.batch_size:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def stats(self) -> dict[str, Any]:
        ok = self.last_error is None and len(self._queue) < self.capacity
        return {
            "ok": ok,
            "pending": len(self._queue),
            "capacity": self.capacity,
            "written": self.written,
            "dropped": self.dropped,
            "sink": self._sink() is not None,
            "last_error": self.last_error,
        }

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gateway-chatlog")

    async def stop(self, *, flush_timeout: float = 5.0) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), flush_timeout)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.interval)
            self._wakeup.clear()
            if not await self.flush():
                await asyncio.sleep(self.retry_delay)

    async def flush(self) -> bool:
        """Write everything buffered; False when the sink failed (entries are kept)."""
        while self._queue:
            sink = self._sink()
            if sink is None:
                # Nowhere to write: nothing will ever read these, so they count as dropped.
                self.dropped += len(self._queue)
                self._queue.clear()
                return True
            batch = [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]
            try:
                await sink.write_batch(batch)
            except Exception as exc:  # any sink failure: keep the entries, report, retry later
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("chat log sink failed (%s); %d entries kept", exc, len(self._queue))
                return False
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)
            self.last_error = None
        return True
