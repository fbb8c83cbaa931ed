"""A small HTTP/1.1 keep-alive client for the proxy hot path: asyncio protocols + httptools.

Why not httpx or aiohttp: the gateway's CPU budget is ~1 ms per proxied call, and a bare
httpx forwarding proxy alone spends 2-7 ms on this hardware (aiohttp ~1-1.7 ms). Forwarding
needs very little of a general client: one request head written in one ``write``, the
response head and body parsed by httptools (the parser uvicorn uses), body chunks handed
over as they arrive with read-side back-pressure, connections kept per origin and reused.

    pool = UpstreamPool(connect_timeout=5)
    conn = await pool.connect(endpoint)          # reused idle connection, or a new one
    conn.send_head(head_bytes, body)             # or send_head + write_body/end_body
    await conn.wait_head(timeout)                # conn.status, conn.headers
    while (chunk := await conn.read(timeout)) is not None: ...
    pool.release(conn)                           # back to the pool when reusable

Failures raise `UpstreamClosed` (connect refused, reset, closed before or during the reply)
or `TimeoutError`; ``conn.got_bytes`` tells whether any of the reply had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

__all__ = [
    "ConnectFailed",
    "Endpoint",
    "UpstreamClosed",
    "UpstreamConnection",
    "UpstreamPool",
    "parse_endpoint",
]

_HIGH_WATER = 256 * 1024  # buffered reply bytes before reading from the agent pauses
_LOW_WATER = 64 * 1024


class UpstreamClosed(ConnectionError):
    """The agent refused, reset or closed the connection."""


class ConnectFailed(UpstreamClosed):
    """No connection could be made: nothing of the request reached the agent."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    host: str
    port: int
    prefix: str  # path prefix of the endpoint ("" for a bare origin)
    host_header: bytes

    @property
    def key(self) -> tuple[str, int]:
        return (self.host, self.port)


@functools.lru_cache(maxsize=4096)
def parse_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        # TLS to agents is left to a sidecar/mesh: agents sit on a private network.
        raise ValueError(f"agent endpoint {url!r} is not an http:// URL")
    port = parts.port or 80
    return Endpoint(
        url=url,
        host=parts.hostname,
        port=port,
        prefix=parts.path.rstrip("/"),
        host_header=parts.netloc.encode("latin-1"),
    )


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to an agent, carrying one request at a time."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, int]) -> None:
        self._pool = pool
        self.key = key
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._begin()

    def _begin(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = True
        self.complete = False
        self.got_bytes = False
        self.timed_out = False
        self.error: BaseException | None = None
        self._head: asyncio.Future[None] = self._loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._read_paused = False
        self._waiter: asyncio.Future[None] | None = None

    # ----------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamClosed(f"agent sent a malformed HTTP reply: {exc}"))
            self._close_transport()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if not self.complete:
            self._fail(UpstreamClosed(f"agent closed the connection: {exc or 'EOF'}"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # ----------------------------------------------------------------- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        if not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._read_paused and self.transport:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # ----------------------------------------------------------------- internals

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if not self._head.done():
            self._head.set_exception(exc)
            self._head.exception()  # retrieved: nobody may be waiting yet
        self._wake()

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _arm(self, timeout: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(timeout, self._on_timeout)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self) -> None:
        self._timer = None
        self.timed_out = True
        self._fail(TimeoutError("the agent did not answer in time"))
        self._close_transport()

    # ----------------------------------------------------------------- request / response

    def send(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise UpstreamClosed("the connection to the agent is closed")
        self.transport.write(data)

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drain = self._loop.create_future()
            await self._drain
        if self.error is not None and not self.got_bytes:
            raise self.error

    async def wait_head(self, timeout: float) -> None:  # noqa: ASYNC109 - one timer per call
        self._arm(timeout)
        await self._head

    async def read(self, timeout: float | None) -> bytes | None:  # noqa: ASYNC109
        """Next body chunk, or None at the end; ``timeout`` re-arms the silence timer."""
        if timeout is not None:
            self._arm(timeout)
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._read_paused and self._buffered < _LOW_WATER and self.transport:
                    self._read_paused = False
                    self.transport.resume_reading()
                return chunk
            if self.complete:
                self._disarm()
                return None
            if self.error is not None:
                self._disarm()
                raise self.error
            self._waiter = self._loop.create_future()
            await self._waiter
            self._waiter = None

    @property
    def at_end(self) -> bool:
        """The whole reply has been read (so a chunk just returned was the last one)."""
        return self.complete and not self._chunks

    def abort(self) -> None:
        self._disarm()
        self.closed = True
        self._close_transport()


class UpstreamPool:
    """Idle keep-alive connections per agent origin; one per process, opened in the lifespan."""

    def __init__(self, *, connect_timeout: float, max_idle_per_origin: int = 256) -> None:
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle_per_origin
        self._idle: dict[tuple[str, int], list[UpstreamConnection]] = {}
        self.opened = 0

    async def connect(self, endpoint: Endpoint, *, fresh: bool = False) -> UpstreamConnection:
        idle = None if fresh else self._idle.get(endpoint.key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                conn._begin()
                return conn
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: UpstreamConnection(self, endpoint.key), endpoint.host, endpoint.port
                ),
                self.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {endpoint.url}: {exc}") from exc
        self.opened += 1
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        conn._disarm()
        if not (conn.complete and conn.keep_alive and not conn.closed and not conn._chunks):
            conn.abort()
            return
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= self.max_idle:
            conn.abort()
            return
        idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            with contextlib.suppress(ValueError):
                idle.remove(conn)

    def idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    async def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.abort()
        self._idle.clear()
