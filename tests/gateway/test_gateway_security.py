"""Who may call what through the gateway: authentication, visibility, per-skill grants,
revocation, rate limits, size limits, and what reaches the agent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from gateway_kit import Gateway, rpc

from nasiko.core.ports import Event
from nasiko.testing.agents import echo_agent, echo_reply
from nasiko.testing.platform import api_login
from nasiko.testing.serving import serve_asgi

CARD = {
    "name": "recorder",
    "description": "Records what reaches it.",
    "version": "1.0.0",
    "supportedInterfaces": [
        {"url": "http://placeholder/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
    ],
    "capabilities": {"streaming": False, "pushNotifications": False},
    "defaultInputModes": ["text/plain"],
    "defaultOutputModes": ["text/plain"],
    "skills": [{"id": "rec", "name": "rec", "description": "rec", "tags": ["rec"]}],
}


class Recorder:
    """A raw ASGI upstream that answers every request with the headers it received."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append({**headers, ":path": scope["path"], ":query": scope["query_string"]})
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"headers": headers}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"set-cookie", b"x=1")],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def test_no_token_and_bad_token_are_401(gw: Gateway) -> None:
    with echo_agent(name="guarded") as url:
        gw.add_agent("guarded", url)
        async with httpx.AsyncClient() as http:
            target = f"{gw.url}/agents/guarded/"
            none = await http.post(target, json=rpc("hi", rid=5))
            bad = await http.post(
                target, json=rpc("hi", rid=6), headers={"Authorization": "Bearer nsk_nope"}
            )
            card = await http.get(f"{target}.well-known/agent-card.json")
            listing = await http.get(f"{gw.url}/agents")
    assert none.status_code == bad.status_code == card.status_code == listing.status_code == 401
    # JSON-RPC callers get a JSON-RPC error with their id echoed.
    assert none.json()["id"] == 5 and none.json()["error"]["data"]["code"] == "unauthenticated"
    assert bad.json()["id"] == 6
    assert none.headers["www-authenticate"] == "Bearer"
    assert card.json()["error"]["code"] == "unauthenticated"


async def test_jwt_api_token_and_agent_token_all_authenticate(gw: Gateway) -> None:
    with echo_agent(name="multi") as url:
        route = gw.add_agent("multi", url, visibility="shared")
        gw.user("carol")
        async with httpx.AsyncClient(base_url=gw.platform.api_url) as api:
            jwt_headers = await api_login(api, "owner", "password-123")
        gw.view.add_agent_token("nsa_caller_agent_token", "agent-caller", "caller")
        gw.view.grant("agent", "agent-caller", route.agent_id)
        async with httpx.AsyncClient() as http:
            target = f"{gw.url}/agents/multi/"
            by_jwt = await http.post(target, json=rpc("jwt"), headers=jwt_headers)
            by_api = await http.post(target, json=rpc("api"), headers=gw.headers("owner"))
            by_agent = await http.post(
                target,
                json=rpc("agent"),
                headers={"Authorization": "Bearer nsa_caller_agent_token"},
            )
            # carol has no grant on a shared agent: it does not exist for her.
            carol = await http.post(target, json=rpc("carol", rid=9), headers=gw.headers("carol"))
    for resp, text in ((by_jwt, "jwt"), (by_api, "api"), (by_agent, "agent")):
        assert resp.status_code == 200, resp.text
        artifacts = resp.json()["result"]["task"]["artifacts"]
        assert "".join(p["text"] for a in artifacts for p in a["parts"]) == echo_reply(
            "multi", text
        )
    assert carol.status_code == 404
    assert carol.json()["id"] == 9 and carol.json()["error"]["data"]["code"] == "not_found"


async def test_unknown_and_invisible_agents_are_404_alike(gw: Gateway) -> None:
    with echo_agent(name="secret") as url:
        gw.add_agent("secret", url, visibility="private")
        async with httpx.AsyncClient(headers=gw.headers("dave")) as http:
            hidden = await http.get(f"{gw.url}/agents/secret/.well-known/agent-card.json")
            missing = await http.get(f"{gw.url}/agents/nothing/.well-known/agent-card.json")
            listing = await http.get(f"{gw.url}/agents")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert listing.json()["items"] == []


async def test_skill_limited_grant_is_403_for_other_skills(gw: Gateway) -> None:
    with echo_agent(name="skilled", skills=["Echo", "Translate"]) as url:
        route = gw.add_agent("skilled", url, visibility="shared")
        erin = gw.user("erin")[0]
        gw.view.grant("user", erin.id, route.agent_id, skills=["echo"])
        async with httpx.AsyncClient(headers=gw.headers("erin")) as http:
            target = f"{gw.url}/agents/skilled/"
            granted = await http.post(target, json=rpc("ok", skill="echo"))
            other = await http.post(target, json=rpc("no", rid=3, skill="translate"))
            unnamed = await http.post(target, json=rpc("which?", rid=4))
            card = await http.get(f"{target}.well-known/agent-card.json")
    assert granted.status_code == 200 and "result" in granted.json()
    assert other.status_code == 403
    assert other.json()["id"] == 3 and other.json()["error"]["data"]["code"] == "forbidden"
    assert "translate" in other.json()["error"]["message"]
    assert unnamed.status_code == 403
    assert card.status_code == 200  # erin may see the agent, so 403 leaks nothing


async def test_revocations_take_effect_within_a_second(gw: Gateway) -> None:
    with echo_agent(name="revoc") as url:
        route = gw.add_agent("revoc", url, visibility="shared")
        frank, token = gw.user("frank")
        gw.view.grant("user", frank.id, route.agent_id)
        headers = {"Authorization": f"Bearer {token}"}
        target = f"{gw.url}/agents/revoc/"
        async with httpx.AsyncClient(headers=headers) as http:
            assert (await http.post(target, json=rpc("before"))).status_code == 200
            # Grant revoked: the view is in memory, so the very next call is refused.
            gw.view.revoke("user", frank.id, route.agent_id)
            assert (await http.post(target, json=rpc("after grant"))).status_code == 404
            gw.view.grant("user", frank.id, route.agent_id)
            assert (await http.post(target, json=rpc("again"))).status_code == 200

            # Token revoked in the database, no event: the cached authentication lapses
            # within its one-second lifetime.
            async def revoke() -> None:
                await gw.svc.auth.revoke_api_token(frank, frank_token_id)

            frank_token_id = (await gw_tokens(gw, frank))[0]
            gw.platform.call(revoke())
            await asyncio.sleep(1.05)
            assert (await http.post(target, json=rpc("after token"))).status_code == 401

        # With the revocation event (topic "auth"), the cache is cleared at once.
        george, gtoken = gw.user("george")
        gw.view.grant("user", george.id, route.agent_id)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {gtoken}"}) as http:
            assert (await http.post(target, json=rpc("cached"))).status_code == 200
            george_token_id = (await gw_tokens(gw, george))[0]

            async def revoke_and_announce() -> None:
                await gw.svc.auth.revoke_api_token(george, george_token_id)
                await gw.svc.events.publish(
                    Event("auth", "token.revoked", {"token_id": george_token_id})
                )

            gw.platform.call(revoke_and_announce())
            assert (await http.post(target, json=rpc("now"))).status_code == 401


async def gw_tokens(gw: Gateway, principal: Any) -> list[str]:
    records = gw.platform.call(gw.svc.auth.list_api_tokens(principal))
    return [r.id for r in records]


@pytest.mark.parametrize(
    "gateway_settings", [{"rate_limit_per_caller": 1.0, "rate_limit_burst": 3}]
)
async def test_rate_limit_429_then_recovers(gw: Gateway) -> None:
    with echo_agent(name="limited") as url:
        gw.add_agent("limited", url)
        target = f"{gw.url}/agents/limited/"
        async with httpx.AsyncClient(headers=gw.headers("henry")) as http:
            statuses = [
                (await http.post(target, json=rpc("x", rid=i))).status_code for i in range(5)
            ]
            limited = await http.post(target, json=rpc("x", rid="over"))
            assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.json()["id"] == "over"
            await asyncio.sleep(float(limited.headers["retry-after"]))
            recovered = await http.post(target, json=rpc("x"))
            # Another caller has a bucket of their own.
            other = await http.post(target, json=rpc("x"), headers=gw.headers("irene"))
    assert recovered.status_code == 200 and other.status_code == 200


@pytest.mark.parametrize("gateway_settings", [{"rate_limit_per_agent": 0.2, "rate_limit_burst": 2}])
async def test_per_agent_limit_covers_all_callers(gw: Gateway) -> None:
    with echo_agent(name="busy") as url:
        gw.add_agent("busy", url, rate_limit=0.2)
        target = f"{gw.url}/agents/busy/"
        # Callers made first: creating users is slow enough to refill the bucket.
        callers = [gw.headers(f"u{i}") for i in range(4)]
        async with httpx.AsyncClient() as http:
            statuses = [
                (await http.post(target, json=rpc("x"), headers=h)).status_code for h in callers
            ]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]


@pytest.mark.parametrize("gateway_settings", [{"max_body_bytes": 4096}])
async def test_oversize_bodies_are_413(gw: Gateway) -> None:
    with echo_agent(name="small") as url:
        gw.add_agent("small", url)
        target = f"{gw.url}/agents/small/"
        big = rpc("x" * 10_000, rid=11)
        async with httpx.AsyncClient(headers=gw.headers("jack")) as http:
            declared = await http.post(target, json=big)

            async def chunks() -> Any:
                data = json.dumps(big).encode()
                for i in range(0, len(data), 1000):
                    yield data[i : i + 1000]

            streamed = await http.post(
                target, content=chunks(), headers={"content-type": "application/json"}
            )
            fine = await http.post(target, json=rpc("small enough"))
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"]["data"]["code"] == "payload_too_large"
    assert fine.status_code == 200


async def test_only_allowed_headers_reach_the_agent(gw: Gateway) -> None:
    recorder = Recorder()
    with serve_asgi(recorder) as url:
        gw.add_agent(
            "rec",
            url,
            card={
                **CARD,
                "supportedInterfaces": [{**CARD["supportedInterfaces"][0], "url": url + "/"}],
            },
        )
        async with httpx.AsyncClient(headers=gw.headers("kate")) as http:
            resp = await http.post(
                f"{gw.url}/agents/rec/deep/path?x=1",
                json=rpc("hello"),
                headers={
                    "Cookie": "session=secret",
                    "X-Secret-Internal": "nope",
                    "Proxy-Authorization": "Basic abc",
                    "X-Request-ID": "req-123",
                    "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "A2A-Extensions": "https://example.com/ext",
                },
            )
            await http.post(f"{gw.url}/agents/rec/", json=rpc("no trace"))
    assert resp.status_code == 200
    assert "set-cookie" not in resp.headers
    assert resp.headers["x-request-id"] == "req-123"
    seen, second = recorder.seen
    assert "authorization" not in seen and "cookie" not in seen
    assert "x-secret-internal" not in seen and "proxy-authorization" not in seen
    assert seen[":path"] == "/deep/path" and seen[":query"] == b"x=1"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == gw.url.removeprefix("http://")
    assert seen["x-request-id"] == "req-123"
    assert seen["a2a-extensions"] == "https://example.com/ext"
    assert seen["a2a-version"] == "1.0"  # added: SendMessage is a v1.0 name
    # The caller's trace continues (same trace id).
    assert seen["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    # No incoming traceparent: the gateway starts one.
    parts = second["traceparent"].split("-")
    assert len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16
