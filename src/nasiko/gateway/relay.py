"""Streaming an agent's reply back to the caller as it arrives.

Plain bodies are passed chunk by chunk (the last chunk closes the response in the same
message). SSE replies are cut at event boundaries (`SseSplitter`): a client never receives
half an event, so when the agent dies or goes silent mid-stream a final ``event: error`` can
always be appended cleanly. A task per SSE reply watches for the client leaving and then
drops the upstream connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Send

from nasiko import errors
from nasiko.core.ports import AgentRoute
from nasiko.gateway.errors import agent_down, sse_error_event
from nasiko.gateway.observe import GatewayMetrics
from nasiko.gateway.replies import ReplyAssembler, SseSplitter
from nasiko.gateway.upstream import UpstreamClosed, UpstreamConnection

__all__ = ["Relay"]


class Relay:
    def __init__(
        self, *, metrics: GatewayMetrics, inspect_limit: int, stream_timeout: float
    ) -> None:
        self.metrics = metrics
        self.inspect_limit = inspect_limit
        self.stream_timeout = stream_timeout

    async def body(
        self,
        conn: UpstreamConnection,
        send: Send,
        assembler: ReplyAssembler | None,
        timeout: float,  # noqa: ASYNC109
    ) -> tuple[int, bool]:
        collected: list[bytes] | None = [] if assembler is not None else None
        size = 0
        try:
            while True:
                chunk = await conn.read(timeout)
                if chunk is None:
                    await send({"type": "http.response.body", "body": b""})
                    break
                size += len(chunk)
                if collected is not None:
                    if size <= self.inspect_limit:
                        collected.append(chunk)
                    else:
                        collected = None
                last = conn.at_end
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last:
                    break
        except (UpstreamClosed, TimeoutError):
            # Status and part of the body are out: all that is left is to cut the reply.
            return size, True
        if collected is not None and assembler is not None:
            assembler.feed_bytes(b"".join(collected))
        return size, False

    async def sse(
        self,
        conn: UpstreamConnection,
        receive: Receive,
        send: Send,
        assembler: ReplyAssembler | None,
        route: AgentRoute,
        jsonrpc: bool,
        req_id: Any,
    ) -> tuple[int, bool]:
        splitter = SseSplitter(collect=assembler is not None)
        size = 0
        watcher = asyncio.ensure_future(_disconnected(receive))

        def client_left(_: Any) -> None:
            conn.abort()

        watcher.add_done_callback(client_left)
        try:
            while True:
                chunk = await conn.read(self.stream_timeout)
                if chunk is None:
                    break
                out, datas = splitter.feed(chunk)
                if assembler is not None:
                    for data in datas:
                        assembler.feed_bytes(data)
                if out:
                    size += len(out)
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            tail = splitter.pending
            if tail:
                size += len(tail)
            await send({"type": "http.response.body", "body": tail})
            return size, False
        except (UpstreamClosed, TimeoutError) as exc:
            if watcher.done() and not watcher.cancelled():
                return size, True  # the client left; nobody to tell
            self.metrics.failure(route.slug, "stream")
            failure: errors.NasikoError
            if isinstance(exc, TimeoutError):
                failure = errors.UpstreamTimeout(
                    f"agent '{route.slug}' went silent for {self.stream_timeout:g}s mid-stream"
                )
            else:
                failure = agent_down(f"agent '{route.slug}' broke off the stream: {exc}")
            event = sse_error_event(failure, jsonrpc=jsonrpc, request_id=req_id)
            await send({"type": "http.response.body", "body": event})
            return size + len(event), True
        finally:
            watcher.remove_done_callback(client_left)
            watcher.cancel()

    # ----------------------------------------------------------------- accounting


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
