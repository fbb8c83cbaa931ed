"""Real a2a-sdk agents driven through a live gateway with the a2a-sdk client: the same
results as direct, over v1.0 and v0.3, JSON-RPC and REST, blocking and streaming."""

from __future__ import annotations

import httpx
import pytest
from a2a.types import a2a_pb2 as pb
from gateway_kit import (
    VARIANTS,
    Gateway,
    collect,
    final_state,
    reply_text,
    rpc,
    sdk_client,
    user_message,
)

from nasiko.testing.agents import echo_agent, echo_reply, long_reply_chunks, v03_agent


@pytest.mark.parametrize(("binding", "version"), VARIANTS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_gateway_gives_the_same_replies_as_direct(
    gw: Gateway, binding: str, version: str, streaming: bool
) -> None:
    with echo_agent(name="echo-a", chunks=4) as agent_url:
        gw.add_agent("echo-a", agent_url)
        card_url = f"{gw.url}/agents/echo-a/.well-known/agent-card.json"
        async with sdk_client(
            card_url,
            binding=binding,
            version=version,
            streaming=streaming,
            headers=gw.headers("alice"),
        ) as client:
            via_gateway = await collect(client, user_message("hello there"))
        async with sdk_client(
            agent_url + "/.well-known/agent-card.json",
            binding=binding,
            version=version,
            streaming=streaming,
        ) as client:
            direct = await collect(client, user_message("hello there"))
    assert reply_text(via_gateway) == reply_text(direct) == echo_reply("echo-a", "hello there")
    assert final_state(via_gateway) == final_state(direct) == pb.TaskState.TASK_STATE_COMPLETED
    assert [e.WhichOneof("payload") for e in via_gateway] == [
        e.WhichOneof("payload") for e in direct
    ]


async def test_long_stream_arrives_whole_and_in_order(gw: Gateway) -> None:
    with echo_agent(name="long", long_stream_chunks=300) as agent_url:
        gw.add_agent("long", agent_url)
        async with sdk_client(
            f"{gw.url}/agents/long/.well-known/agent-card.json",
            binding="JSONRPC",
            version="1.0",
            streaming=True,
            headers=gw.headers("alice"),
        ) as client:
            events = await collect(client, user_message("a long one please"))
    assert reply_text(events) == "".join(long_reply_chunks(300))


async def test_v03_agent_through_the_legacy_card(gw: Gateway) -> None:
    with v03_agent(name="legacy") as agent_url:
        gw.add_agent("legacy", agent_url, card_path="/.well-known/agent.json")
        async with httpx.AsyncClient(headers=gw.headers("alice")) as http:
            legacy = (await http.get(f"{gw.url}/agents/legacy/.well-known/agent.json")).json()
        assert legacy["url"] == f"{gw.url}/agents/legacy/a2a/v1"
        assert legacy["protocolVersion"] == "0.3.0"
        for streaming in (False, True):
            async with sdk_client(
                f"{gw.url}/agents/legacy/.well-known/agent-card.json",
                binding="JSONRPC",
                version="0.3",
                streaming=streaming,
                headers=gw.headers("alice"),
            ) as client:
                events = await collect(client, user_message("old school"))
            assert reply_text(events) == echo_reply("legacy", "old school")


async def test_cards_point_at_the_gateway_and_listing_shows_visible_agents(gw: Gateway) -> None:
    with echo_agent(name="seen") as a, echo_agent(name="hidden") as b:
        gw.add_agent("seen", a)
        gw.add_agent("hidden", b, visibility="private")
        async with httpx.AsyncClient(headers=gw.headers("alice")) as http:
            card = (await http.get(f"{gw.url}/agents/seen/.well-known/agent-card.json")).json()
            listing = (await http.get(f"{gw.url}/agents")).json()
        async with httpx.AsyncClient(headers=gw.headers("owner")) as http:
            owners = (await http.get(f"{gw.url}/agents")).json()
    urls = [i["url"] for i in card["supportedInterfaces"]]
    assert urls and all(u.startswith(f"{gw.url}/agents/seen/") for u in urls)
    assert a not in str(card)
    assert [i["slug"] for i in listing["items"]] == ["seen"]
    assert listing["items"][0]["card"] == card
    assert [i["slug"] for i in owners["items"]] == ["hidden", "seen"]


async def test_input_required_conversation_keeps_task_and_context(gw: Gateway) -> None:
    with echo_agent(name="asker") as agent_url:
        gw.add_agent("asker", agent_url)
        async with sdk_client(
            f"{gw.url}/agents/asker/.well-known/agent-card.json",
            binding="HTTP+JSON",
            version="1.0",
            streaming=False,
            headers=gw.headers("alice"),
        ) as client:
            first = await collect(client, user_message("please ask me something"))
            task = first[-1].task
            assert task.status.state == pb.TaskState.TASK_STATE_INPUT_REQUIRED
            second = await collect(
                client, user_message("bananas", task_id=task.id, context_id=task.context_id)
            )
            # GetTask through the REST binding reaches the same task.
            got = await client.get_task(pb.GetTaskRequest(id=task.id))
    assert reply_text(second) == "asker: thanks, got bananas"
    assert got.id == task.id and got.status.state == pb.TaskState.TASK_STATE_COMPLETED


async def test_chat_log_records_blocking_and_streamed_turns(gw: Gateway) -> None:
    with echo_agent(name="chatty", chunks=5) as agent_url:
        gw.add_agent("chatty", agent_url)
        alice = gw.user("alice")[0]
        card_url = f"{gw.url}/agents/chatty/.well-known/agent-card.json"
        async with sdk_client(
            card_url,
            binding="JSONRPC",
            version="1.0",
            streaming=False,
            headers=gw.headers("alice"),
        ) as client:
            blocking = await collect(client, user_message("first turn"))
        context_id = blocking[-1].task.context_id
        async with sdk_client(
            card_url,
            binding="HTTP+JSON",
            version="0.3",
            streaming=True,
            headers=gw.headers("alice"),
        ) as client:
            await collect(client, user_message("second turn", context_id=context_id))
    entries = gw.sink.wait_for(lambda es: len(es) >= 4)
    assert [(e.role, e.agent_slug, e.user_id) for e in entries] == [
        ("user", "chatty", alice.id),
        ("agent", "chatty", alice.id),
        ("user", "chatty", alice.id),
        ("agent", "chatty", alice.id),
    ]
    user1, agent1, user2, agent2 = entries
    assert user1.parts[0]["text"] == "first turn"
    assert agent1.parts == [{"text": echo_reply("chatty", "first turn")}]
    assert agent1.state == "completed" and not agent1.partial
    assert user1.context_id == agent1.context_id == context_id
    assert user1.task_id == agent1.task_id == blocking[-1].task.id
    assert "second turn" in user2.parts[0]["text"]
    # Five streamed chunks, reassembled into one text.
    assert agent2.parts == [{"text": echo_reply("chatty", "second turn")}]
    assert agent2.state == "completed" and not agent2.partial
    assert user2.context_id == agent2.context_id == context_id
    assert agent2.latency_ms is not None and agent2.latency_ms > 0


async def test_raw_jsonrpc_v03_method_names_pass_through(gw: Gateway) -> None:
    with echo_agent(name="raw") as agent_url:
        gw.add_agent("raw", agent_url)
        async with httpx.AsyncClient(headers=gw.headers("alice")) as http:
            resp = await http.post(
                f"{gw.url}/agents/raw/",
                json=rpc("plain v0.3", method="message/send", rid="abc"),
                headers={"A2A-Version": "0.3"},
            )
            stream = await http.post(
                f"{gw.url}/agents/raw/",
                json=rpc("streamed v0.3", method="message/stream", rid=7),
                headers={"A2A-Version": "0.3"},
            )
    body = resp.json()
    assert resp.status_code == 200 and body["id"] == "abc"
    assert body["result"]["kind"] == "task" and body["result"]["status"]["state"] == "completed"
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.count("data:") >= 3 and '"final":true' in stream.text.replace(" ", "")
