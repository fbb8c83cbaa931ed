"""The gateway's building blocks on their own: SSE cutting, reply reassembly, the chat-log
buffer's bound and drop count, replica rotation and cooldown, the upstream client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from nasiko.core.ports import ChatLogEntry
from nasiko.gateway.balancer import Balancer
from nasiko.gateway.chatlog import ChatLogBuffer
from nasiko.gateway.replies import ReplyAssembler, SseSplitter, state_name
from nasiko.gateway.upstream import ConnectFailed, UpstreamPool, parse_endpoint
from nasiko.testing.platform import free_port
from nasiko.testing.serving import serve_asgi


def test_sse_splitter_forwards_whole_events_only() -> None:
    splitter = SseSplitter(collect=True)
    out, datas = splitter.feed(b'data: {"a": 1}\r\n\r\ndata: {"b"')
    assert out == b'data: {"a": 1}\r\n\r\n' and datas == [b'{"a": 1}']
    out, datas = splitter.feed(b": 2}\n\n")
    assert out == b'data: {"b": 2}\n\n' and datas == [b'{"b": 2}']
    out, datas = splitter.feed(b"event: x\ndata: 1\ndata: 2\n")
    assert out == b"" and splitter.pending == b"event: x\ndata: 1\ndata: 2\n"
    out, datas = splitter.feed(b"\n")
    assert datas == [b"1\n2"]


def _entry(i: int) -> ChatLogEntry:
    return ChatLogEntry(None, "user", "u", "a", "a", "user", None, None, None, [], None, float(i))


def test_reply_assembler_reads_v10_and_v03_streams() -> None:
    v10 = ReplyAssembler()
    for doc in (
        {
            "result": {
                "task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_SUBMITTED"}}
            }
        },
        {
            "result": {
                "artifactUpdate": {
                    "taskId": "t",
                    "artifact": {"artifactId": "r", "parts": [{"text": "he"}]},
                }
            }
        },
        {
            "result": {
                "artifactUpdate": {
                    "taskId": "t",
                    "append": True,
                    "artifact": {"artifactId": "r", "parts": [{"text": "llo"}]},
                }
            }
        },
        {"result": {"statusUpdate": {"taskId": "t", "status": {"state": "TASK_STATE_COMPLETED"}}}},
    ):
        v10.feed({"jsonrpc": "2.0", "id": 1, **doc})
    assert (v10.text, v10.state, v10.final, v10.task_id, v10.context_id) == (
        "hello",
        "completed",
        True,
        "t",
        "c",
    )
    v03 = ReplyAssembler()
    v03.feed_bytes(
        json.dumps(
            {
                "kind": "artifact-update",
                "taskId": "t",
                "contextId": "c",
                "artifact": {"artifactId": "r", "parts": [{"kind": "text", "text": "a"}]},
            }
        )
    )
    v03.feed_bytes(
        json.dumps(
            {
                "kind": "status-update",
                "taskId": "t",
                "contextId": "c",
                "status": {"state": "working"},
            }
        )
    )
    assert v03.text == "a" and v03.state == "working" and not v03.final
    message = ReplyAssembler()
    message.feed({"msg": {"message_id": "m", "context_id": "c", "content": [{"text": "hi"}]}})
    assert message.parts == [{"text": "hi"}] and message.final and message.message_id == "m"
    failed = ReplyAssembler()
    failed.feed({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "nope"}})
    assert failed.error == {"code": -32001, "message": "nope"} and failed.final
    assert (
        state_name("TASK_STATE_INPUT_REQUIRED") == state_name("input_required") == "input-required"
    )


async def test_chat_log_buffer_bounds_counts_drops_and_retries() -> None:
    class Sink:
        def __init__(self) -> None:
            self.batches: list[list[ChatLogEntry]] = []
            self.down = True

        async def write_batch(self, entries: list[ChatLogEntry]) -> None:
            if self.down:
                raise ConnectionError("store down")
            self.batches.append(entries)

    sink = Sink()
    buffer = ChatLogBuffer(lambda: sink, capacity=5, batch_size=2)
    for i in range(7):
        buffer.put(_entry(i))
    assert buffer.pending == 5 and buffer.dropped == 2
    assert await buffer.flush() is False  # store down: entries kept
    stats = buffer.stats()
    assert stats["pending"] == 5 and not stats["ok"] and "store down" in stats["last_error"]
    sink.down = False
    assert await buffer.flush() is True
    assert [[e.at for e in b] for b in sink.batches] == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert buffer.stats() | {"last_error": None} == buffer.stats()
    assert buffer.written == 5 and buffer.stats()["ok"]

    nowhere = ChatLogBuffer(lambda: None, capacity=10)
    nowhere.put(_entry(1))
    nowhere.start()
    await nowhere.stop()
    assert nowhere.dropped == 1 and nowhere.pending == 0


def test_balancer_rotates_and_cools_down_failed_endpoints() -> None:
    b = Balancer(cooldown=60)
    eps = ["http://a", "http://b", "http://c"]
    firsts = [b.order("x", eps)[0] for _ in range(6)]
    assert firsts == ["http://a", "http://b", "http://c"] * 2
    b.failed("http://b")
    for _ in range(4):
        order = b.order("x", eps)
        assert order[-1] == "http://b" and sorted(order) == eps
    assert b.down() == ["http://b"]
    b.succeeded("http://b")
    assert b.down() == []


async def test_upstream_pool_reuses_connections_and_reports_refusals() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    pool = UpstreamPool(connect_timeout=2)
    with serve_asgi(app) as url:
        endpoint = parse_endpoint(url)
        for i in range(3):
            conn = await pool.connect(endpoint)
            assert conn.reused == (i > 0)
            conn.send(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            await conn.wait_head(5)
            assert conn.status == 200
            assert await conn.read(5) == b"ok" and await conn.read(5) is None
            pool.release(conn)
    assert pool.opened == 1
    await asyncio.sleep(0.1)  # the server closed its side: the idle connection is dropped
    with pytest.raises(ConnectFailed):
        await pool.connect(parse_endpoint(f"http://127.0.0.1:{free_port()}"))
    await pool.close()
