"""rewrite_card_urls / upstream_url / to_v03_card, including a round trip through a minimal
proxy that applies the documented path rule to real agents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from a2a.client.card_resolver import parse_agent_card
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nasiko.a2a import (
    agent_origin,
    card_interfaces,
    fetch_card,
    normalize_card,
    rewrite_card_urls,
    send_text,
    to_v03_card,
    upstream_url,
)
from nasiko.errors import InvalidCard
from nasiko.testing.agents import echo_agent, echo_reply, serve_asgi, v03_agent

CARDS = Path(__file__).parent / "cards"
GW = "http://gw.example:9100/agents/currency"


def card(name: str) -> dict[str, Any]:
    return normalize_card(json.loads((CARDS / name).read_text()))


def test_interface_urls_keep_their_path_under_the_gateway_prefix() -> None:
    out = rewrite_card_urls(card("currency_v1.json"), GW + "/")
    assert card_interfaces(out) == [
        ("JSONRPC", f"{GW}/a2a/v1", "1.0"),
        ("HTTP+JSON", f"{GW}/", "1.0"),
    ]
    assert out["documentationUrl"] == f"{GW}/docs"


@pytest.mark.parametrize("name", ["currency_v1.json", "currency_v03.json", "seed_AgentCard.json"])
def test_nothing_of_the_private_address_survives(name: str) -> None:
    original = card(name)
    origin = agent_origin(original)
    assert origin is not None
    host = urlsplit(origin).netloc
    published = json.dumps(rewrite_card_urls(original, GW))
    assert host not in published
    assert urlsplit(origin).hostname not in published
    # The v0.3 rendering of the rewritten card is just as clean.
    assert host not in json.dumps(to_v03_card(rewrite_card_urls(original, GW)))


def test_the_mapping_rule_inverts_the_rewrite() -> None:
    original = card("currency_v1.json")
    origin = agent_origin(original)
    assert origin == "http://10.0.0.7:8001"
    published = rewrite_card_urls(original, GW)
    for (_, public, _), (_, private, _) in zip(
        card_interfaces(published), card_interfaces(original), strict=True
    ):
        rest = public.removeprefix(GW)
        assert upstream_url(origin, rest) == private
    assert upstream_url(origin, "tasks/abc", "historyLength=2") == (
        "http://10.0.0.7:8001/tasks/abc?historyLength=2"
    )


def test_private_links_on_other_hosts_are_dropped_public_ones_kept() -> None:
    doc = card("currency_v1.json")
    doc["iconUrl"] = "http://127.0.0.1:9000/icon.png"
    doc["documentationUrl"] = "https://docs.example.org/currency"
    out = rewrite_card_urls(doc, GW)
    assert "iconUrl" not in out
    assert out["documentationUrl"] == "https://docs.example.org/currency"
    assert out["provider"] == doc["provider"]


def test_grpc_interfaces_and_signatures_are_not_published() -> None:
    doc = card("currency_v1.json")
    doc["supportedInterfaces"].append(
        {"url": "10.0.0.7:50051", "protocolBinding": "GRPC", "protocolVersion": "1.0"}
    )
    doc["signatures"] = [{"protected": "e30", "signature": "c2ln"}]
    out = rewrite_card_urls(doc, GW)
    assert [b for b, _, _ in card_interfaces(out)] == ["JSONRPC", "HTTP+JSON"]
    assert "signatures" not in out
    assert len(doc["supportedInterfaces"]) == 3, "the input is not modified"


def test_interfaces_on_two_origins_cannot_share_one_gateway_prefix() -> None:
    doc = card("currency_v1.json")
    doc["supportedInterfaces"][1]["url"] = "http://10.0.0.7:8002/"
    with pytest.raises(InvalidCard) as info:
        rewrite_card_urls(doc, GW)
    assert info.value.details == [
        {
            "path": "$.supportedInterfaces[1].url",
            "message": "origin http://10.0.0.7:8002 differs from http://10.0.0.7:8001",
        }
    ]


def test_v03_layout_dicts_are_rewritten_too() -> None:
    legacy = to_v03_card(card("currency_v03.json"))
    out = rewrite_card_urls(legacy, GW)
    assert out["url"] == f"{GW}/a2a/v1"
    assert [i["url"] for i in out["additionalInterfaces"]] == [f"{GW}/"]


def test_to_v03_card_round_trips_a_v03_agent() -> None:
    original = card("currency_v03.json")
    legacy = to_v03_card(original)
    assert legacy["protocolVersion"] == "0.3.0"
    assert legacy["url"] == "http://10.0.0.7:8001/a2a/v1"
    assert legacy["preferredTransport"] == "JSONRPC"
    assert legacy["additionalInterfaces"] == [
        {"transport": "HTTP+JSON", "url": "http://10.0.0.7:8001/"}
    ]
    assert legacy["securitySchemes"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    }
    assert normalize_card(legacy) == original
    # The SDK's own legacy parser reads it as the same agent.
    assert parse_agent_card(dict(legacy)).skills[0].id == "convert_currency"


def test_to_v03_card_of_a_v1_only_agent_says_what_it_speaks() -> None:
    legacy = to_v03_card(card("currency_v1.json"))
    assert legacy["url"] == "http://10.0.0.7:8001/a2a/v1"
    assert legacy["protocolVersion"] == "1.0"


def test_to_v03_card_needs_an_interface() -> None:
    with pytest.raises(InvalidCard):
        to_v03_card(card("seed_capabilities.json"))


def _mini_gateway(upstreams: dict[str, str], public_base: str) -> Starlette:
    """Only the path rule of the real gateway: /agents/{slug}/{rest} -> origin/{rest}."""

    async def proxy(request: Request) -> Response:
        slug, rest = request.path_params["slug"], request.path_params["rest"]
        client = httpx.AsyncClient(timeout=30)
        try:
            agent_card, _ = await fetch_card(upstreams[slug], client=client)
            if rest in (".well-known/agent-card.json", ".well-known/agent.json"):
                public = rewrite_card_urls(agent_card, f"{public_base}/agents/{slug}")
                await client.aclose()
                return JSONResponse(public)
            origin = agent_origin(agent_card)
            assert origin is not None
            upstream = client.build_request(
                request.method,
                upstream_url(origin, rest, request.url.query),
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
            response = await client.send(upstream, stream=True)
        except BaseException:
            await client.aclose()
            raise

        async def body() -> AsyncIterator[bytes]:
            async for chunk in response.aiter_raw():
                yield chunk

        async def close() -> None:
            await response.aclose()
            await client.aclose()

        return StreamingResponse(
            body(),
            status_code=response.status_code,
            headers={
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            },
            background=BackgroundTask(close),
        )

    return Starlette(routes=[Route("/agents/{slug}/{rest:path}", proxy, methods=["GET", "POST"])])


@pytest.mark.parametrize("stream", [False, True])
async def test_agents_stay_reachable_through_the_documented_path_rule(stream: bool) -> None:
    with echo_agent(name="modern") as modern, v03_agent(name="legacy") as legacy:
        upstreams = {"modern": modern, "legacy": legacy}
        with serve_asgi(app_factory=lambda url: _mini_gateway(upstreams, url)) as gw:
            async with httpx.AsyncClient(timeout=30) as client:
                for slug, version in (("modern", "1.0"), ("legacy", "0.3")):
                    published, source = await fetch_card(f"{gw}/agents/{slug}", client=client)
                    assert source.startswith(gw)
                    assert all(url.startswith(gw) for _, url, _ in card_interfaces(published))
                    reply = await send_text(
                        published, "via gateway", client=client, version=version, stream=stream
                    )
                    assert reply.text == echo_reply(slug, "via gateway")
                    assert reply.state == "completed"
