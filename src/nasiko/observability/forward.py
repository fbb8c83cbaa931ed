"""Forward received spans to another OTLP/HTTP back-end (a collector, LangTrace, Phoenix).

Payloads are kept as serialized protobuf `ExportTraceServiceRequest`s. Protobuf concatenation
merges messages and appends repeated fields, so a batch is just the payloads joined: no
re-encoding. Memory is bounded in bytes; when the back-end is slower than the senders, the
oldest payloads are dropped (and counted) rather than the platform growing without limit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)

RETRYABLE = {408, 429, 502, 503, 504}


def traces_url(endpoint: str) -> str:
    """`http://collector:4318` -> `http://collector:4318/v1/traces` (a full path is kept)."""
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


class OtlpForwarder:
    def __init__(
        self,
        endpoint: str,
        *,
        headers: dict[str, str] | None = None,
        max_buffer_bytes: int = 32 * 1024 * 1024,
        batch_bytes: int = 4 * 1024 * 1024,
        flush_interval: float = 1.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_dropped: Callable[[int], None] | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self.url = traces_url(endpoint)
        self.max_buffer_bytes = max_buffer_bytes
        self.batch_bytes = batch_bytes
        self.flush_interval = flush_interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.on_dropped = on_dropped
        self.on_sent = on_sent
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            headers={"content-type": "application/x-protobuf", **(headers or {})},
        )
        self._queue: collections.deque[bytes] = collections.deque()
        self._bytes = 0
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped_payloads = 0

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def enqueue(self, payload: bytes) -> None:
        if self._closed or not payload:
            return
        self._queue.append(payload)
        self._bytes += len(payload)
        while self._bytes > self.max_buffer_bytes and len(self._queue) > 1:
            self._drop(self._queue.popleft())
        self._start()
        if self._bytes >= self.batch_bytes:
            self._wakeup.set()

    def _drop(self, payload: bytes) -> None:
        self._bytes -= len(payload)
        self.dropped_payloads += 1
        if self.on_dropped:
            self.on_dropped(1)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="otlp-forward")

    async def _run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.flush_interval)
            self._wakeup.clear()
            while self._queue and not self._closed:
                await self._send_batch()

    def _take_batch(self) -> list[bytes]:
        batch: list[bytes] = []
        size = 0
        while self._queue and (not batch or size + len(self._queue[0]) <= self.batch_bytes):
            payload = self._queue.popleft()
            self._bytes -= len(payload)
            size += len(payload)
            batch.append(payload)
        return batch

    async def _send_batch(self) -> None:
        async with self._lock:
            batch = self._take_batch()
            if not batch:
                return
            body = b"".join(batch)
            for attempt in range(1, self.max_attempts + 1):
                try:
                    resp = await self._http.post(self.url, content=body)
                except httpx.TransportError as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                else:
                    if resp.is_success:
                        if self.on_sent:
                            self.on_sent(len(batch))
                        return
                    reason = f"HTTP {resp.status_code}"
                    if resp.status_code not in RETRYABLE:
                        break
                log.warning(
                    "forwarding spans to %s failed (%s), attempt %d", self.url, reason, attempt
                )
                if attempt < self.max_attempts and not self._closed:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            log.error("dropping %d span payload(s) for %s after retries", len(batch), self.url)
            self.dropped_payloads += len(batch)
            if self.on_dropped:
                self.on_dropped(len(batch))

    async def flush(self) -> None:
        while self._queue:
            await self._send_batch()
        async with self._lock:
            pass

    async def close(self) -> None:
        await self.flush()
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._http.aclose()
