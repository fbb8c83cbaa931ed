"""send_text / stream_text against real agents, including the ways a call can go wrong."""

from __future__ import annotations

import socket

import httpx
import pytest

from nasiko.a2a import fetch_card, send_text, stream_text
from nasiko.errors import InvalidInput, Unavailable, UpstreamTimeout
from nasiko.testing.agents import echo_agent, echo_reply, long_reply_chunks, v03_agent


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
@pytest.mark.parametrize("version", ["1.0", "0.3"])
@pytest.mark.parametrize("stream", [False, True])
async def test_reply_text_is_the_same_however_it_travels(
    binding: str, version: str, stream: bool
) -> None:
    with echo_agent(name="e", chunks=5) as url:
        async with httpx.AsyncClient() as client:
            reply = await send_text(
                url, "same text", client=client, binding=binding, version=version, stream=stream
            )
    assert reply.text == echo_reply("e", "same text")
    assert reply.state == "completed"
    assert reply.task_id and reply.context_id
    kinds = [e.kind for e in reply.events]
    if stream:
        assert kinds.count("artifact") == 5
        assert kinds[-1] == "status"
    else:
        assert kinds == ["task"]


async def test_stream_yields_chunks_as_they_arrive() -> None:
    with echo_agent(name="s", long_stream_chunks=50) as url:
        async with httpx.AsyncClient() as client:
            card, _ = await fetch_card(url, client=client)
            chunks = [
                e.text
                async for e in stream_text(card, "long please", client=client)
                if e.kind == "artifact"
            ]
    assert chunks == long_reply_chunks(50)


@pytest.mark.parametrize("stream", [False, True])
async def test_input_required_then_resume_on_the_same_task(stream: bool) -> None:
    with echo_agent(name="q") as url:
        async with httpx.AsyncClient() as client:
            card, _ = await fetch_card(url, client=client)
            first = await send_text(card, "ask me first", client=client, stream=stream)
            assert (first.state, first.text) == ("input-required", "q: what should I echo back?")
            second = await send_text(
                card,
                "Grace",
                client=client,
                stream=stream,
                task_id=first.task_id,
                context_id=first.context_id,
            )
    assert (second.state, second.text) == ("completed", "q: thanks, got Grace")
    assert (second.task_id, second.context_id) == (first.task_id, first.context_id)


async def test_a_failed_task_reports_state_and_reason() -> None:
    with echo_agent(name="x") as url:
        async with httpx.AsyncClient() as client:
            reply = await send_text(url, "fail please", client=client, stream=True)
    assert reply.state == "failed"
    assert "fail" in reply.text


async def test_message_replies() -> None:
    with echo_agent(name="m", reply_as_message=True) as url:
        async with httpx.AsyncClient() as client:
            reply = await send_text(url, "hey", client=client)
    assert (reply.state, reply.text) == ("message", echo_reply("m", "hey"))


async def test_legacy_agent_by_url() -> None:
    with v03_agent(name="legacy") as url:
        async with httpx.AsyncClient() as client:
            reply = await send_text(url, "hi", client=client, version="0.3", stream=True)
            with pytest.raises(InvalidInput) as info:
                await send_text(url, "hi", client=client, version="1.0")
    assert reply.text == echo_reply("legacy", "hi")
    assert "offers no JSONRPC interface for A2A 1.0" in info.value.message
    assert info.value.details["offered"] == [f"JSONRPC 0.3 at {url}/a2a/v1"]


async def test_an_agent_that_is_gone_is_unavailable() -> None:
    with echo_agent(name="gone") as url:
        async with httpx.AsyncClient() as client:
            card, _ = await fetch_card(url, client=client)
    async with httpx.AsyncClient() as client:
        with pytest.raises(Unavailable) as info:
            await send_text(card, "anyone?", client=client)
    assert info.value.details["url"] == url + "/"


async def test_a_slow_agent_times_out() -> None:
    with echo_agent(name="slow", delay_ms=5000) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(UpstreamTimeout):
                await send_text(url, "hurry", client=client, timeout=0.3)


async def test_a_card_whose_url_nobody_listens_on() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    card = {"name": "ghost", "description": "d", "url": f"http://127.0.0.1:{port}/a2a/v1"}
    async with httpx.AsyncClient() as client:
        with pytest.raises(Unavailable):
            await send_text(card, "boo", client=client, version="0.3")
