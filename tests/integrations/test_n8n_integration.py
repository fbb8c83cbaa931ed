"""n8n end to end: connect to a fake n8n (public REST API, cursor pagination), list workflows,
register them as agents and talk to them through the gateway with the a2a-sdk client:
chat trigger with streaming and session memory, webhook with JSON output, failures and
timeouts as failed tasks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from integrations_kit import IntegrationPlatform, chat, integration_platform

from nasiko.a2a import ReplyEvent, stream_text
from nasiko.client import ApiError, NasikoClient
from nasiko.testing.fake_n8n import FakeN8n

KEY = "n8n_api_0123456789_secret_key"


@pytest.fixture(scope="module")
def n8n() -> Iterator[FakeN8n]:
    with FakeN8n(api_key=KEY) as fake:
        fake.max_limit = 2  # seven workflows -> four pages, followed through nextCursor
        fake.slow_seconds = 3.0
        yield fake


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory, n8n: FakeN8n) -> Iterator[IntegrationPlatform]:
    # The adapter fails a workflow silent for 1 s; the slow workflow takes 3 s.
    with integration_platform(
        tmp_path_factory.mktemp("n8n"), components=("api", "gateway"), n8n_timeout=1.0
    ) as p:
        yield p


@pytest.fixture(scope="module")
def admin(plat: IntegrationPlatform, n8n: FakeN8n) -> Iterator[NasikoClient]:
    with plat.admin() as client:
        client.post("/n8n/connect", json={"url": n8n.url, "api_key": KEY})
        yield client


def token(client: NasikoClient) -> str:
    assert client.tokens.access_token
    return client.tokens.access_token


def register(client: NasikoClient, workflow_id: str, **extra: object) -> dict[str, object]:
    agent: dict[str, object] = client.post(
        "/n8n/agents", json={"workflow_id": workflow_id, **extra}
    )
    return agent


def test_connect_checks_the_key(plat: IntegrationPlatform, n8n: FakeN8n) -> None:
    with plat.admin() as client:
        with pytest.raises(ApiError) as bad:
            client.post("/n8n/connect", json={"url": n8n.url, "api_key": "wrong"})
        assert bad.value.code == "n8n_key_rejected"
        with pytest.raises(ApiError) as not_n8n:
            client.post("/n8n/connect", json={"url": "ftp://x", "api_key": KEY})
        assert not_n8n.value.status == 400
        status = client.post("/n8n/connect", json={"url": n8n.url + "/", "api_key": KEY})
        assert status == {
            "connected": True,
            "url": n8n.url,
            "workflows": 7,
            "connected_at": status["connected_at"],
        }


def test_workflows_follow_next_cursor_and_show_triggers(admin: NasikoClient, n8n: FakeN8n) -> None:
    before = len(n8n.calls)
    listing = admin.get("/n8n/workflows")
    pages = [c for c in n8n.calls[before:] if c[1] == "/api/v1/workflows"]
    assert (
        len(pages) == 4 and "cursor" not in pages[0][2] and all("cursor" in p[2] for p in pages[1:])
    )
    by_id = {w["id"]: w for w in listing["items"]}
    assert listing["total"] == 7
    assert by_id["wf-support"] == {
        "id": "wf-support",
        "name": "Support Bot",
        "active": True,
        "triggers": ["chat"],
        "usable": "chat",
        "streaming": True,
        "tags": ["support"],
        "updated_at": "2025-05-01T10:00:00.000Z",
    }
    assert by_id["wf-lookup"]["usable"] == "webhook" and not by_id["wf-lookup"]["streaming"]
    assert by_id["wf-cron"]["active"] is False and by_id["wf-cron"]["usable"] is None


def test_chat_trigger_agent_streams_and_keeps_the_session(
    admin: NasikoClient, plat: IntegrationPlatform, n8n: FakeN8n
) -> None:
    agent = register(admin, "wf-support", skills=["Order questions", "Returns"], slug="support-bot")
    assert agent["slug"] == "support-bot" and agent["status"] == "running"
    card = agent["card"]
    assert isinstance(card, dict)
    assert card["name"] == "Support Bot"
    assert card["description"] == "Answers customer support questions about orders and returns."
    assert [s["id"] for s in card["skills"]] == ["order-questions", "returns"]
    assert card["capabilities"]["streaming"] is True

    # The gateway publishes the card with its own URLs.
    published = httpx.get(
        f"{plat.gateway_url}/agents/support-bot/.well-known/agent-card.json",
        headers={"Authorization": f"Bearer {token(admin)}"},
    ).json()
    assert all(
        i["url"].startswith(f"{plat.gateway_url}/agents/support-bot/")
        for i in published["supportedInterfaces"]
    )

    async def streamed() -> list[ReplyEvent]:
        headers = {"Authorization": f"Bearer {token(admin)}"}
        async with httpx.AsyncClient(timeout=30, headers=headers) as c:
            return [
                e
                async for e in stream_text(
                    f"{plat.gateway_url}/agents/support-bot",
                    "where is my parcel",
                    client=c,
                    context_id="ctx-parcel-1",
                )
            ]

    events = asyncio.run(streamed())
    chunks = [e.text for e in events if e.kind == "artifact"]
    assert "".join(chunks) == "support: where is my parcel (turn 1)"
    assert len(chunks) == 7  # one A2A artifact chunk per n8n stream item (one per word)
    assert events[-1].state == "completed"
    # The A2A context id is n8n's sessionId: the second message is turn 2 of that session.
    again = chat(
        plat.gateway_url, "support-bot", "thanks", token=token(admin), context_id="ctx-parcel-1"
    )
    assert again.text == "support: thanks (turn 2)" and again.state == "completed"
    chat_calls = [c for c in n8n.calls if c[1] == "/webhook/5f1c2a9e-support/chat"]
    assert chat_calls[-1][2] == {
        "action": "sendMessage",
        "sessionId": "ctx-parcel-1",
        "chatInput": "thanks",
    }
    # Over HTTP+JSON too.
    rest = chat(
        plat.gateway_url, "support-bot", "via rest", token=token(admin), binding="HTTP+JSON"
    )
    assert rest.text.startswith("support: via rest")

    # An ordinary agent: the gateway's chat log keeps the conversation (written in batches,
    # so wait for it) under the A2A context id.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sessions = admin.get("/chat/sessions")["items"]
        mine = [s for s in sessions if s["context_id"] == "ctx-parcel-1"]
        if mine and mine[0]["message_count"] >= 4:
            break
        time.sleep(0.1)
    assert mine and mine[0]["agent_slug"] == "support-bot" and mine[0]["message_count"] >= 4


def test_webhook_agent_text_and_json_output(admin: NasikoClient, plat: IntegrationPlatform) -> None:
    lookup = register(admin, "wf-lookup")
    assert lookup["name"] == "Order Lookup" and lookup["slug"] == "order-lookup"
    reply = chat(plat.gateway_url, "order-lookup", "A-1001", token=token(admin))
    assert reply.text == "order A-1001: shipped" and reply.state == "completed"
    data = register(admin, "wf-data", name="Order data", description="Orders as JSON")
    assert data["description"] == "Orders as JSON"
    streamed = chat(plat.gateway_url, str(data["slug"]), "B-7", token=token(admin), stream=True)
    assert streamed.state == "completed"  # a data part: no text, but a completed task


def test_failures_and_timeouts_fail_the_task_with_the_reason(
    admin: NasikoClient, plat: IntegrationPlatform
) -> None:
    register(admin, "wf-broken")
    broken = chat(plat.gateway_url, "broken-flow", "x", token=token(admin))
    assert broken.state == "failed"
    assert "Node 'Parse order' hit an error: bad input" in broken.text

    register(admin, "wf-stream-broken")
    flaky = chat(plat.gateway_url, "flaky-stream", "hi there", token=token(admin), stream=True)
    assert flaky.state == "failed" and "quota exceeded" in flaky.text

    register(admin, "wf-slow")
    slow = chat(plat.gateway_url, "slow-flow", "x", token=token(admin))
    assert slow.state == "failed" and "did not answer within 1s" in slow.text


def test_register_refuses_workflows_without_a_trigger(admin: NasikoClient) -> None:
    with pytest.raises(ApiError) as exc:
        register(admin, "wf-cron")
    assert exc.value.status == 400 and "no Chat Trigger" in exc.value.message
    with pytest.raises(ApiError) as missing:
        register(admin, "wf-nope")
    assert missing.value.status == 404


def test_grants_apply_and_the_adapter_is_not_a_side_door(
    admin: NasikoClient, plat: IntegrationPlatform, n8n: FakeN8n
) -> None:
    admin.post(
        "/users",
        json={"username": "bob", "email": "bob@example.org", "password": "bob-password-1"},
    )
    with NasikoClient(plat.api_url) as bob:
        bob.login("bob", "bob-password-1")
        # private agent: invisible to another user through the gateway
        resp = httpx.post(
            f"{plat.gateway_url}/agents/order-lookup/",
            json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
            headers={"Authorization": f"Bearer {token(bob)}"},
        )
        assert resp.status_code == 404
        admin.patch("/registries/order-lookup", json={"visibility": "shared"})
        admin.post("/registries/order-lookup/grants", json={"grantee": "bob"})
        reply = chat(plat.gateway_url, "order-lookup", "C-3", token=token(bob))
        assert reply.text == "order C-3: shipped"
    # The adapter serves only trusted networks (the gateway's): a public client gets 403.
    adapter = plat.services.extensions["n8n_adapter"]
    saved = adapter.trusted
    adapter.trusted = []
    try:
        direct = httpx.get(f"{plat.api_url}/n8n-agents/x/.well-known/agent-card.json")
        assert direct.status_code == 403
    finally:
        adapter.trusted = saved
