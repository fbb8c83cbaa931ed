"""fetch_card against real servers on loopback: v1.0 agent, v0.3 agent, and broken servers."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nasiko.a2a import card_interfaces, card_urls, fetch_card
from nasiko.errors import InvalidCard, PayloadTooLarge, Unavailable, UpstreamTimeout
from nasiko.testing.agents import echo_agent, serve_asgi, v03_agent


async def test_a_v1_agent_card_comes_from_agent_card_json() -> None:
    with echo_agent(name="modern") as url:
        async with httpx.AsyncClient() as client:
            card, source = await fetch_card(url, client=client)
    assert source == f"{url}/.well-known/agent-card.json"
    assert card["name"] == "modern"
    assert ("JSONRPC", f"{url}/", "1.0") in card_interfaces(card)
    assert ("HTTP+JSON", f"{url}/", "0.3") in card_interfaces(card)


async def test_a_v03_agent_is_found_at_the_legacy_location() -> None:
    with v03_agent(name="legacy") as url:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/.well-known/agent-card.json")).status_code == 404
            card, source = await fetch_card(url + "/", client=client)
    assert source == f"{url}/.well-known/agent.json"
    assert card_interfaces(card) == [("JSONRPC", f"{url}/a2a/v1", "0.3")]


async def test_a_card_url_can_be_given_directly() -> None:
    with v03_agent(name="legacy") as url:
        async with httpx.AsyncClient() as client:
            card, source = await fetch_card(f"{url}/.well-known/agent.json", client=client)
    assert source == f"{url}/.well-known/agent.json"
    assert card["name"] == "legacy"
    assert card_urls("http://a/x.json") == ["http://a/x.json"]


def _app(routes: dict[str, Response | float]) -> Starlette:
    """Serves fixed responses; a float value means 'sleep that long first'."""

    def endpoint(value: Response | float):
        async def handle(_: Request) -> Response:
            if isinstance(value, float):
                await asyncio.sleep(value)
                return JSONResponse({})
            return value

        return handle

    return Starlette(routes=[Route(p, endpoint(v)) for p, v in routes.items()])


async def test_a_server_with_neither_card_is_unavailable_and_says_what_it_tried() -> None:
    app = _app({"/.well-known/agent.json": PlainTextResponse("<html>", status_code=200)})
    with serve_asgi(app) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(Unavailable) as info:
                await fetch_card(url, client=client)
    err = info.value
    assert not isinstance(err, UpstreamTimeout)
    assert f"{url}/.well-known/agent-card.json: HTTP 404" in err.message
    assert f"{url}/.well-known/agent.json: answered 200 but the body is not JSON" in err.message
    assert [d["url"] for d in err.details] == card_urls(url)


async def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as client:
        with pytest.raises(Unavailable) as info:
            await fetch_card(f"http://127.0.0.1:{port}", client=client)
    assert all("ConnectError" in d["error"] for d in info.value.details)
    assert len(info.value.details) == 2


async def test_a_server_that_never_answers_times_out() -> None:
    app = _app({"/.well-known/agent-card.json": 30.0, "/.well-known/agent.json": 30.0})
    with serve_asgi(app) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(UpstreamTimeout) as info:
                await fetch_card(url, client=client, timeout=0.2)
    assert "timed out" in info.value.message


async def test_an_invalid_card_is_reported_not_skipped() -> None:
    bad = JSONResponse({"name": "x", "description": "d", "url": "nowhere"})
    good = JSONResponse({"name": "x", "description": "d", "url": "http://127.0.0.1:1/"})
    with serve_asgi(
        _app({"/.well-known/agent-card.json": bad, "/.well-known/agent.json": good})
    ) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(InvalidCard) as info:
                await fetch_card(url, client=client)
    assert info.value.details[0]["path"] == "$.url"


async def test_a_card_without_an_address_is_invalid_when_fetched() -> None:
    body = JSONResponse({"name": "x", "description": "d", "skills": []})
    with serve_asgi(_app({"/.well-known/agent-card.json": body})) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(InvalidCard):
                await fetch_card(url, client=client)


async def test_an_oversize_card_is_refused_while_downloading() -> None:
    huge = {"name": "x", "description": "y" * 100_000, "url": "http://127.0.0.1:1/"}
    body = Response(json.dumps(huge), media_type="application/json")
    with serve_asgi(_app({"/.well-known/agent-card.json": body})) as url:
        async with httpx.AsyncClient() as client:
            with pytest.raises(PayloadTooLarge) as info:
                await fetch_card(url, client=client, limit=10_000)
            card, _ = await fetch_card(url, client=client)
    assert info.value.details["limit"] == 10_000
    assert len(card["description"]) == 100_000
