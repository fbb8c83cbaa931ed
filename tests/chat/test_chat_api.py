from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from nasiko.client import ApiError, NasikoClient, iter_sse
from nasiko.testing.agents import echo_agent
from nasiko.testing.platform import PlatformThread, make_settings
from nasiko.testing.serving import spawn_agent

POEMS = [
    {
        "id": "write-poem",
        "name": "Write a poem",
        "description": "Writes rhyming poems and haiku about any subject the user names.",
        "tags": ["poetry", "writing", "verse"],
        "examples": ["write a haiku about autumn leaves", "compose a short poem for my mum"],
    }
]
WEATHER = [
    {
        "id": "forecast",
        "name": "Weather forecast",
        "description": "Gives the weather forecast: temperature, rain and wind for a city.",
        "tags": ["weather", "forecast", "rain"],
        "examples": ["will it rain in Paris tomorrow", "what's the temperature in Oslo"],
    }
]


@pytest.fixture
def chat_env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with ExitStack() as stack:
        platform = stack.enter_context(
            PlatformThread(make_settings(tmp_path / "data"), ["api", "gateway", "router"])
        )
        admin = stack.enter_context(NasikoClient(platform.api_url))
        admin.login("admin", "admin-password-1")
        admin.post(
            "/users", json={"username": "una", "email": "u@e.com", "password": "una-password"}
        )
        user = stack.enter_context(NasikoClient(platform.api_url))
        user.login("una", "una-password")
        poet = stack.enter_context(echo_agent(name="Poet", skills=POEMS, chunks=3))
        weather = stack.enter_context(echo_agent(name="Weatherman", skills=WEATHER))
        secret = stack.enter_context(echo_agent(name="Secret Weather", skills=WEATHER))
        admin.post("/registries", json={"url": poet, "visibility": "public"})
        admin.post("/registries", json={"url": weather, "visibility": "public"})
        admin.post("/registries", json={"url": secret, "visibility": "private"})
        yield {"platform": platform, "admin": admin, "user": user}


def sse(client: NasikoClient, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(e, json.loads(d)) for e, d in iter_sse(client.stream_lines("POST", path, json=body))]


def history(client: NasikoClient, session_id: str, count: int) -> list[dict[str, Any]]:
    """The gateway records asynchronously: wait until `count` messages are in."""
    for _ in range(100):
        data = client.get(f"/chat/sessions/{session_id}")
        if len(data["messages"]) >= count:
            return data["messages"]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"history has {len(data['messages'])} messages, wanted {count}")


def test_blocking_multi_turn_and_history(chat_env: dict[str, Any]) -> None:
    user: NasikoClient = chat_env["user"]
    session = user.post("/chat/sessions", json={"agent": "poet"})
    assert session["agent_slug"] == "poet" and session["title"] == "Chat with poet"
    first = user.post(f"/chat/sessions/{session['id']}/messages", json={"text": "hello poet"})
    assert first["agent"] == "poet" and first["text"] == "Poet: hello poet"
    assert first["context_id"] == session["context_id"]
    second = user.post(f"/chat/sessions/{session['id']}/messages", json={"text": "again"})
    assert second["context_id"] == session["context_id"]
    messages = history(user, session["id"], 4)
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "hello poet"),
        ("agent", "Poet: hello poet"),
        ("user", "again"),
        ("agent", "Poet: again"),
    ]
    assert all(not m["partial"] for m in messages)
    # The history now sits in the recent-history cache, under the session's current state;
    # a new message changes that state, so the next read is fresh.
    platform: PlatformThread = chat_env["platform"]
    cached = None
    for _ in range(50):  # the writer may still be stamping the session after the messages
        user.get(f"/chat/sessions/{session['id']}")
        current = platform.call(platform.services.storage.chat.get_session(session["id"]))
        stamp = f"{current.message_count}:{current.updated_at.timestamp():.6f}"
        key = f"chat:recent:{session['id']}:{stamp}"
        cached = platform.call(platform.services.cache.get(key))
        if cached is not None:
            break
    assert cached is not None and b"Poet: again" in cached
    user.post(f"/chat/sessions/{session['id']}/messages", json={"text": "third"})
    assert history(user, session["id"], 6)[-1]["text"] == "Poet: third"
    listed = user.get("/chat/sessions")
    assert listed["items"][0]["id"] == session["id"] and listed["total"] == 1
    renamed = user.patch(f"/chat/sessions/{session['id']}", json={"title": "Poems"})
    assert renamed["title"] == "Poems"
    # Another user cannot see it.
    with pytest.raises(ApiError) as err:
        chat_env["admin"].get(f"/chat/sessions/{session['id']}")
    assert err.value.status == 404
    user.delete(f"/chat/sessions/{session['id']}")
    assert user.get("/chat/sessions")["total"] == 0


def test_streamed_reply_and_input_required_round_trip(chat_env: dict[str, Any]) -> None:
    user: NasikoClient = chat_env["user"]
    session = user.post("/chat/sessions", json={"agent": "poet"})
    events = sse(
        user,
        f"/chat/sessions/{session['id']}/messages",
        {"text": "stream this please", "stream": True},
    )
    kinds = [e for e, _ in events]
    assert kinds.count("delta") >= 3 and kinds[-1] == "done"
    assert events[-1][1]["text"] == "Poet: stream this please"
    asked = user.post(f"/chat/sessions/{session['id']}/messages", json={"text": "ask me"})
    assert asked["state"] == "input-required"
    answered = user.post(f"/chat/sessions/{session['id']}/messages", json={"text": "blue"})
    assert answered["state"] == "completed" and answered["task_id"] == asked["task_id"]
    messages = history(user, session["id"], 6)
    assert messages[1]["text"] == "Poet: stream this please"
    assert messages[3]["state"] == "input-required"


def test_auto_routing_picks_the_right_visible_agent(chat_env: dict[str, Any]) -> None:
    user: NasikoClient = chat_env["user"]
    session = user.post("/chat/sessions", json={"agent": "auto"})
    reply = user.post(
        f"/chat/sessions/{session['id']}/messages",
        json={"text": "please write a short poem about the sea"},
    )
    assert reply["agent"] == "poet" and reply["routed"]["skill"] == "Write a poem"
    weather = user.post(
        f"/chat/sessions/{session['id']}/messages",
        json={"text": "will it rain in Berlin tomorrow, what is the forecast?"},
    )
    # The private "Secret Weather" agent is never chosen for a user who cannot see it.
    assert weather["agent"] == "weatherman"
    assert all(c["name"] != "Secret Weather" for c in weather["routed"]["candidates"])
    fresh = user.post("/chat/sessions", json={"agent": "auto"})
    with pytest.raises(ApiError) as err:
        user.post(f"/chat/sessions/{fresh['id']}/messages", json={"text": "qwzx vbnm plokij fdsa"})
    assert err.value.code == "no_agent_fits" and err.value.status == 404
    routed = [
        e
        for e in sse(
            user,
            f"/chat/sessions/{session['id']}/messages",
            {"text": "a haiku about snow", "stream": True},
        )
        if e[0] == "routed"
    ]
    assert routed[0][1]["agent"] == "poet"


def test_router_endpoint_and_index_updates(chat_env: dict[str, Any]) -> None:
    platform: PlatformThread = chat_env["platform"]
    admin: NasikoClient = chat_env["admin"]
    import httpx

    headers = {"Authorization": f"Bearer {admin.tokens.access_token}"}
    with httpx.Client(base_url=platform.router_url, headers=headers, timeout=30) as r:
        out = r.post("/route", json={"query": "weather forecast for rome", "top_k": 3}).json()
        slugs = [c["slug"] for c in out["candidates"]]
        assert not out["no_match"] and set(slugs[:2]) == {"weatherman", "secret-weather"}
        assert r.post("/route", json={"query": ""}).status_code == 400
        assert httpx.post(f"{platform.router_url}/route", json={"query": "x"}).status_code == 401
        admin.delete("/registries/secret-weather")
        for _ in range(100):
            out = r.post("/route", json={"query": "weather forecast for rome"}).json()
            if "secret-weather" not in [c["slug"] for c in out["candidates"]]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("deleted agent still routed after a second")


def test_stream_broken_by_a_dying_agent_is_marked_partial(chat_env: dict[str, Any]) -> None:
    user: NasikoClient = chat_env["user"]
    admin: NasikoClient = chat_env["admin"]
    agent = spawn_agent(name="Fragile", extra_args=["--chunks", "3"])
    try:
        admin.post("/registries", json={"url": agent.url, "visibility": "public"})
        session = user.post("/chat/sessions", json={"agent": "fragile"})
        events = []
        for event, _data in iter_sse(
            user.stream_lines(
                "POST",
                f"/chat/sessions/{session['id']}/messages",
                json={"text": "long", "stream": True},
            )
        ):
            events.append(event)
            if event == "delta" and len(events) == 5:
                agent.process.kill()  # SIGKILL mid-stream
        assert events[-1] == "error"
        messages = history(user, session["id"], 2)
        assert messages[-1]["role"] == "agent" and messages[-1]["partial"] is True
    finally:
        agent.stop()
