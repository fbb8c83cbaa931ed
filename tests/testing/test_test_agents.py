"""The shipped test agents, driven by the a2a-sdk's own client over every binding."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.types import a2a_pb2 as pb

from nasiko.testing.agents import (
    echo_agent,
    echo_reply,
    long_reply_chunks,
    spawn_agent,
    v03_agent,
)

VARIANTS = [
    ("JSONRPC", "1.0"),
    ("JSONRPC", "0.3"),
    ("HTTP+JSON", "1.0"),
    ("HTTP+JSON", "0.3"),
]


@asynccontextmanager
async def sdk_client(
    url: str,
    *,
    binding: str,
    version: str,
    streaming: bool,
    card_path: str = "/.well-known/agent-card.json",
    wire: list[httpx.Request] | None = None,
) -> AsyncIterator[Client]:
    """An a2a-sdk client pinned to one interface of the agent's served card."""

    async def record(request: httpx.Request) -> None:
        if wire is not None and request.method == "POST":
            wire.append(request)

    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [record]}) as http:
        card = parse_agent_card((await http.get(url + card_path)).json())
        keep = [
            i
            for i in card.supported_interfaces
            if i.protocol_binding == binding and i.protocol_version.startswith(version)
        ]
        assert keep, f"card offers no {binding} {version}"
        del card.supported_interfaces[:]
        card.supported_interfaces.extend(keep)
        config = ClientConfig(
            httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
        )
        client = ClientFactory(config).create(card)
        try:
            yield client
        finally:
            await client.close()


def user_message(text: str, *, task_id: str = "", context_id: str = "") -> pb.SendMessageRequest:
    return pb.SendMessageRequest(
        message=pb.Message(
            message_id=uuid.uuid4().hex,
            role=pb.Role.ROLE_USER,
            parts=[pb.Part(text=text)],
            task_id=task_id,
            context_id=context_id,
        )
    )


async def collect(client: Client, request: pb.SendMessageRequest) -> list[pb.StreamResponse]:
    return [event async for event in client.send_message(request)]


def artifact_text(events: list[pb.StreamResponse]) -> str:
    """Reply text from a blocking Task snapshot or from streamed artifact chunks."""
    out = ""
    for e in events:
        if e.HasField("task"):
            out += "".join(p.text for a in e.task.artifacts for p in a.parts)
        if e.HasField("artifact_update"):
            out += "".join(p.text for p in e.artifact_update.artifact.parts)
    return out


def final_state(events: list[pb.StreamResponse]) -> int:
    last = events[-1]
    return last.task.status.state if last.HasField("task") else last.status_update.status.state


def wire_method(request: httpx.Request) -> str:
    body = json.loads(request.content)
    return str(body.get("method", request.url.path))


@pytest.mark.parametrize(("binding", "version"), VARIANTS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_echo_answers_every_binding_and_version(
    binding: str, version: str, streaming: bool
) -> None:
    wire: list[httpx.Request] = []
    with echo_agent(name="echo-a", chunks=4) as url:
        async with sdk_client(
            url, binding=binding, version=version, streaming=streaming, wire=wire
        ) as client:
            events = await collect(client, user_message("hello there"))
    assert artifact_text(events) == echo_reply("echo-a", "hello there")
    assert final_state(events) == pb.TaskState.TASK_STATE_COMPLETED
    if streaming:
        chunks = [e for e in events if e.HasField("artifact_update")]
        assert len(chunks) == 4
        assert [c.artifact_update.append for c in chunks] == [False, True, True, True]
        assert chunks[-1].artifact_update.last_chunk
    else:
        assert len(events) == 1
    # The SDK really spoke the requested dialect on the wire.
    expected = {
        ("JSONRPC", "1.0"): "SendStreamingMessage" if streaming else "SendMessage",
        ("JSONRPC", "0.3"): "message/stream" if streaming else "message/send",
        ("HTTP+JSON", "1.0"): "/message:stream" if streaming else "/message:send",
        ("HTTP+JSON", "0.3"): "/v1/message:stream" if streaming else "/v1/message:send",
    }[(binding, version)]
    assert [wire_method(r) for r in wire] == [expected]


@pytest.mark.parametrize(("binding", "version"), VARIANTS)
async def test_input_required_round_trip(binding: str, version: str) -> None:
    with echo_agent(name="asker") as url:
        async with sdk_client(url, binding=binding, version=version, streaming=True) as client:
            first = await collect(client, user_message("please ask me something"))
            assert final_state(first) == pb.TaskState.TASK_STATE_INPUT_REQUIRED
            question = first[-1].status_update.status.message.parts[0].text
            assert question == "asker: what should I echo back?"
            task_id = first[-1].status_update.task_id
            context_id = first[-1].status_update.context_id
            second = await collect(
                client, user_message("Ada", task_id=task_id, context_id=context_id)
            )
    assert final_state(second) == pb.TaskState.TASK_STATE_COMPLETED
    assert artifact_text(second) == "asker: thanks, got Ada"
    assert {e.status_update.task_id for e in second if e.HasField("status_update")} == {task_id}


async def test_fail_ends_the_task_failed_with_a_reason() -> None:
    with echo_agent(name="f") as url:
        async with sdk_client(url, binding="JSONRPC", version="1.0", streaming=False) as client:
            (event,) = await collect(client, user_message("please fail"))
    assert event.task.status.state == pb.TaskState.TASK_STATE_FAILED
    assert "fail" in event.task.status.message.parts[0].text


async def test_long_stream_delivers_every_chunk_in_order() -> None:
    with echo_agent(name="l", long_stream_chunks=1000) as url:
        async with sdk_client(url, binding="JSONRPC", version="1.0", streaming=True) as client:
            events = await collect(client, user_message("a long one please"))
    chunks = [
        e.artifact_update.artifact.parts[0].text for e in events if e.HasField("artifact_update")
    ]
    assert chunks == long_reply_chunks(1000)
    assert final_state(events) == pb.TaskState.TASK_STATE_COMPLETED


async def test_message_mode_answers_with_a_plain_message() -> None:
    with echo_agent(name="m", reply_as_message=True) as url:
        async with sdk_client(url, binding="JSONRPC", version="1.0", streaming=True) as client:
            events = await collect(client, user_message("hi"))
    assert [e.WhichOneof("payload") for e in events] == ["message"]
    assert events[0].message.parts[0].text == echo_reply("m", "hi")


def test_echo_card_lists_skills_and_both_versions() -> None:
    skills: list[Any] = ["Summarise Text", {"id": "tr", "name": "Translate", "tags": ["lang"]}]
    with echo_agent(name="s", skills=skills) as url:
        card = httpx.get(url + "/.well-known/agent-card.json").json()
    assert [s["id"] for s in card["skills"]] == ["summarise-text", "tr"]
    assert {(i["protocolBinding"], i["protocolVersion"]) for i in card["supportedInterfaces"]} == {
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    }
    # The SDK merges the v0.3 fields into the same document for older clients.
    assert card["url"] == url + "/" and card["preferredTransport"] == "JSONRPC"


@pytest.mark.parametrize("streaming", [False, True])
async def test_v03_agent_speaks_v03_at_a2a_v1(streaming: bool) -> None:
    wire: list[httpx.Request] = []
    with v03_agent(name="old") as url:
        async with httpx.AsyncClient() as http:
            card = (await http.get(url + "/.well-known/agent.json")).json()
        assert card["protocolVersion"] == "0.3.0"
        assert card["url"] == url + "/a2a/v1"
        assert "supportedInterfaces" not in card
        async with sdk_client(
            url,
            binding="JSONRPC",
            version="0.3",
            streaming=streaming,
            card_path="/.well-known/agent.json",
            wire=wire,
        ) as client:
            events = await collect(client, user_message("legacy hello"))
    assert artifact_text(events) == echo_reply("old", "legacy hello")
    assert [r.url.path for r in wire] == ["/a2a/v1"]
    assert [wire_method(r) for r in wire] == ["message/stream" if streaming else "message/send"]


def test_v03_agent_refuses_v10_method_names() -> None:
    with v03_agent() as url:
        reply = httpx.post(
            url + "/a2a/v1",
            json={"jsonrpc": "2.0", "id": 3, "method": "SendMessage", "params": {}},
            headers={"A2A-Version": "1.0"},
        ).json()
        assert httpx.get(url + "/.well-known/agent-card.json").status_code == 404
    assert reply == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32601, "message": "Method not found: SendMessage"},
    }


@pytest.mark.parametrize("kind", ["echo", "v03"])
async def test_agents_run_as_real_subprocesses(kind: str) -> None:
    agent = spawn_agent(kind, name=f"proc-{kind}", delay_ms=5)
    try:
        card_path = "/.well-known/agent-card.json" if kind == "echo" else "/.well-known/agent.json"
        async with sdk_client(
            agent.url,
            binding="JSONRPC",
            version="1.0" if kind == "echo" else "0.3",
            streaming=True,
            card_path=card_path,
        ) as client:
            events = await collect(client, user_message("from a child"))
        assert artifact_text(events) == echo_reply(f"proc-{kind}", "from a child")
        assert agent.pid != 0
    finally:
        code = agent.stop()
    assert agent.process.poll() is not None
    assert code is not None
