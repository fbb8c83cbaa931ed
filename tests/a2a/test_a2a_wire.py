"""inspect_jsonrpc / inspect_rest on request bodies as the a2a-sdk clients write them."""

from __future__ import annotations

import json

import httpx
import pytest

from nasiko.a2a import inspect_jsonrpc, inspect_rest, send_text, upstream_version_header
from nasiko.errors import InvalidInput
from nasiko.testing.agents import echo_agent

V10_SEND = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "SendMessage",
    "params": {
        "message": {
            "messageId": "m-1",
            "contextId": "ctx-1",
            "taskId": "task-1",
            "role": "ROLE_USER",
            "parts": [{"text": "hello"}, {"url": "https://x/y.png"}, {"text": "world"}],
            "metadata": {"skillId": "translate"},
        },
        "configuration": {"returnImmediately": False},
    },
}
V03_STREAM = {
    "jsonrpc": "2.0",
    "id": "r-2",
    "method": "message/stream",
    "params": {
        "message": {
            "kind": "message",
            "messageId": "m-2",
            "role": "user",
            "parts": [{"kind": "text", "text": "hi"}, {"kind": "data", "data": {"a": 1}}],
        },
        "metadata": {"skill": "weather"},
    },
}


def test_v10_send_message() -> None:
    req = inspect_jsonrpc(json.dumps(V10_SEND).encode())
    assert (req.method, req.version, req.binding, req.streaming) == (
        "SendMessage",
        "1.0",
        "JSONRPC",
        False,
    )
    assert (req.request_id, req.message_id, req.context_id, req.task_id) == (
        7,
        "m-1",
        "ctx-1",
        "task-1",
    )
    assert req.skill == "translate"
    assert req.text == "hello\nworld"
    assert len(req.parts) == 3
    assert upstream_version_header(req) == {"A2A-Version": "1.0"}


def test_v03_stream_message() -> None:
    req = inspect_jsonrpc(json.dumps(V03_STREAM))
    assert (req.method, req.canonical_method, req.version, req.streaming) == (
        "message/stream",
        "SendStreamingMessage",
        "0.3",
        True,
    )
    assert req.skill == "weather" and req.text == "hi" and req.context_id is None


@pytest.mark.parametrize(
    ("method", "version", "streaming"),
    [
        ("GetTask", "1.0", False),
        ("tasks/get", "0.3", False),
        ("ListTasks", "1.0", False),
        ("CancelTask", "1.0", False),
        ("tasks/cancel", "0.3", False),
        ("SubscribeToTask", "1.0", True),
        ("tasks/resubscribe", "0.3", True),
        ("SendStreamingMessage", "1.0", True),
    ],
)
def test_task_methods(method: str, version: str, streaming: bool) -> None:
    req = inspect_jsonrpc({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"id": "t-9"}})
    assert (req.version, req.streaming, req.task_id) == (version, streaming, "t-9")


def test_unknown_methods_follow_the_version_header() -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "Custom"}
    assert inspect_jsonrpc(body, {"a2a-version": "0.3"}).version == "0.3"
    assert inspect_jsonrpc(body, {"A2A-Version": "1.0"}).version == "1.0"
    assert inspect_jsonrpc(body).version == "1.0"
    # A known name wins over a contradicting header.
    assert inspect_jsonrpc({**V03_STREAM}, {"A2A-Version": "1.0"}).version == "0.3"


@pytest.mark.parametrize(
    ("body", "path"),
    [(b"{not json", "$"), (b"[1, 2]", "$"), (b'{"jsonrpc": "2.0", "id": 1}', "$.method")],
)
def test_non_requests_are_invalid_input(body: bytes, path: str) -> None:
    with pytest.raises(InvalidInput) as info:
        inspect_jsonrpc(body)
    assert info.value.details[0]["path"] == path


def test_rest_paths() -> None:
    send = {"message": {"messageId": "m", "parts": [{"text": "yo"}], "contextId": "c"}}
    req = inspect_rest("POST", "/message:send", json.dumps(send))
    assert req is not None
    assert (req.method, req.version, req.binding, req.text) == (
        "SendMessage",
        "1.0",
        "HTTP+JSON",
        "yo",
    )
    legacy = inspect_rest("POST", "/v1/message:stream", {"request": {"content": [{"text": "x"}]}})
    assert legacy is not None
    assert (legacy.method, legacy.version, legacy.streaming, legacy.text) == (
        "SendStreamingMessage",
        "0.3",
        True,
        "x",
    )
    got = inspect_rest("GET", "/tenant-a/tasks/abc?historyLength=3")
    assert got is not None and (got.method, got.task_id) == ("GetTask", "abc")
    cancel = inspect_rest("POST", "/v1/tasks/abc:cancel")
    assert cancel is not None and (cancel.method, cancel.version) == ("CancelTask", "0.3")
    assert inspect_rest("GET", "/tasks").method == "ListTasks"  # type: ignore[union-attr]
    assert inspect_rest("GET", "/.well-known/agent-card.json") is None
    assert inspect_rest("DELETE", "/message:send") is None


@pytest.mark.parametrize(
    ("binding", "version", "stream", "expected"),
    [
        ("JSONRPC", "1.0", False, "SendMessage"),
        ("JSONRPC", "1.0", True, "SendStreamingMessage"),
        ("JSONRPC", "0.3", False, "message/send"),
        ("JSONRPC", "0.3", True, "message/stream"),
        ("HTTP+JSON", "1.0", False, "SendMessage"),
        ("HTTP+JSON", "0.3", True, "SendStreamingMessage"),
    ],
)
async def test_what_real_sdk_clients_send_is_understood(
    binding: str, version: str, stream: bool, expected: str
) -> None:
    seen = []

    async def record(request: httpx.Request) -> None:
        if request.method == "POST":
            body = request.content
            if binding == "JSONRPC":
                seen.append(inspect_jsonrpc(body, request.headers))
            else:
                seen.append(inspect_rest("POST", request.url.path, body, request.headers))

    with echo_agent(name="w") as url:
        async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
            await send_text(
                url,
                "inspect me",
                client=client,
                binding=binding,
                version=version,
                stream=stream,
                context_id="ctx-42",
                metadata={"skill": "echo"},
            )
    (req,) = seen
    assert req is not None
    assert req.method == expected
    assert req.version == version
    assert req.text == "inspect me"
    assert req.context_id == "ctx-42"
    assert req.skill == "echo"
    assert req.message_id
