"""The n8n client on its own: trigger detection, notes, output shapes, streamed chunks,
cursor pagination and errors, against the fake n8n."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nasiko.errors import InvalidInput, Unavailable, UpstreamTimeout
from nasiko.integrations.n8n import (
    N8nClient,
    Output,
    WorkflowFailed,
    find_trigger,
    parse_output,
    workflow_notes,
)
from nasiko.testing.fake_n8n import FakeN8n, chat_node, sticky, webhook_node
from nasiko.testing.platform import free_port

KEY = "k-123"


@pytest.fixture
async def client() -> AsyncIterator[N8nClient]:
    c = N8nClient()
    yield c
    await c.close()


def test_trigger_prefers_chat_and_skips_disabled_or_get_webhooks() -> None:
    get_hook = webhook_node("read", method="GET")
    post_hook = webhook_node("write", mode="streaming")
    chat = chat_node("abc", streaming=False)
    assert find_trigger({"nodes": [get_hook]}) is None
    t = find_trigger({"nodes": [get_hook, post_hook]})
    assert t is not None and (t.kind, t.path, t.streaming) == ("webhook", "write", True)
    assert t.url("http://n8n:5678/") == "http://n8n:5678/webhook/write"
    c = find_trigger({"nodes": [post_hook, chat]})
    assert c is not None and c.kind == "chat" and not c.streaming
    assert c.url("http://n8n") == "http://n8n/webhook/abc/chat"
    assert find_trigger({"nodes": [{**chat, "disabled": True}, post_hook]}).kind == "webhook"  # type: ignore[union-attr]


def test_notes_come_from_description_then_stickies_then_trigger_notes() -> None:
    hook = {**webhook_node("x"), "notes": "trigger note"}
    assert workflow_notes({"nodes": [hook]}) == "trigger note"
    assert workflow_notes({"nodes": [hook, sticky("## Does things")]}) == "## Does things"
    assert workflow_notes({"description": "Desc", "nodes": [hook]}) == "Desc"
    assert workflow_notes({"nodes": []}) == ""


def test_output_shapes() -> None:
    assert parse_output(b'{"output": "hi"}', "application/json") == [Output(text="hi")]
    assert parse_output(b'[{"output": "hi"}]', "application/json") == [Output(text="hi")]
    assert parse_output(b'{"a": 1}', "application/json") == [Output(data={"a": 1})]
    assert parse_output(b"plain words", "text/plain") == [Output(text="plain words")]
    assert parse_output(b"", "text/plain") == []


async def test_workflows_follow_the_cursor_and_check_the_key(client: N8nClient) -> None:
    with FakeN8n(api_key=KEY) as n8n:
        n8n.max_limit = 3
        flows = await client.workflows(n8n.url, KEY)
        assert [f["id"] for f in flows] == sorted(n8n.workflows)
        assert len([c for c in n8n.calls if c[1] == "/api/v1/workflows"]) == 3
        with pytest.raises(InvalidInput) as bad:
            await client.workflows(n8n.url, "wrong")
        assert bad.value.code == "n8n_key_rejected"
        assert (await client.workflow(n8n.url, KEY, "wf-support"))["name"] == "Support Bot"


async def test_run_streams_items_and_maps_failures(client: N8nClient) -> None:
    with FakeN8n(api_key=KEY) as n8n:
        n8n.slow_seconds = 2
        chat = f"{n8n.url}/webhook/5f1c2a9e-support/chat"
        body = {"action": "sendMessage", "sessionId": "s1", "chatInput": "a b"}
        outs = [o async for o in client.run(chat, body, timeout=10)]
        assert [o.text for o in outs] == ["support:", " a", " b", " (turn", " 1)"]
        with pytest.raises(WorkflowFailed, match="bad input"):
            [o async for o in client.run(f"{n8n.url}/webhook/broken", {}, timeout=10)]
        with pytest.raises(WorkflowFailed, match="is not registered"):
            [o async for o in client.run(f"{n8n.url}/webhook/missing", {}, timeout=10)]
        with pytest.raises(WorkflowFailed, match="quota exceeded"):
            [o async for o in client.run(f"{n8n.url}/webhook/9e2b-flaky/chat", body, timeout=10)]
        with pytest.raises(UpstreamTimeout):
            [o async for o in client.run(f"{n8n.url}/webhook/slow", {}, timeout=0.3)]
    with pytest.raises(Unavailable):
        [o async for o in client.run(f"http://127.0.0.1:{free_port()}/webhook/x", {}, timeout=5)]
