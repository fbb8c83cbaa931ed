"""The gateway on the real registry: agents registered through the API, grants and agent
identity tokens from the registry, and (server mode) rate limits shared through Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_kit import collect, reply_text, rpc, sdk_client, user_message

from nasiko.testing.agents import echo_agent, echo_reply
from nasiko.testing.platform import PlatformThread, api_login, make_settings


@pytest.fixture
def gateway_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def live(
    tmp_path: Path, backend_settings: dict[str, Any], gateway_overrides: dict[str, Any]
) -> Iterator[PlatformThread]:
    settings = make_settings(tmp_path / "data", gateway=gateway_overrides, **backend_settings)
    with PlatformThread(settings, ["api", "gateway"]) as p:
        yield p


async def _user(api: httpx.AsyncClient, admin: dict[str, str], name: str) -> dict[str, str]:
    resp = await api.post(
        "/api/v1/users",
        json={"username": name, "email": f"{name}@example.com", "password": "password-123"},
        headers=admin,
    )
    assert resp.status_code == 201, resp.text
    return await api_login(api, name, "password-123")


async def _eventually(check: Any, attempts: int = 40) -> Any:
    """The registry view follows events; give it the moment it needs."""
    for _ in range(attempts):
        result = await check()
        if result is not None:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_registered_agent_grants_and_agent_tokens(live: PlatformThread) -> None:
    with (
        echo_agent(name="reg", skills=["Echo", "Translate"]) as url,
        echo_agent(name="helper") as helper_url,
    ):
        async with httpx.AsyncClient(base_url=live.api_url) as api:
            admin = await api_login(api, "admin", "admin-password-1")
            owner = await _user(api, admin, "olga")
            bob = await _user(api, admin, "bob")
            resp = await api.post(
                "/api/v1/registries",
                json={"url": url, "slug": "reg", "visibility": "shared"},
                headers=owner,
            )
            assert resp.status_code == 201, resp.text
            resp = await api.post(
                "/api/v1/registries", json={"url": helper_url, "slug": "helper"}, headers=owner
            )
            assert resp.status_code == 201, resp.text
            target = f"{live.gateway_url}/agents/reg/"
            async with httpx.AsyncClient() as gw:

                async def status(headers: dict[str, str], **meta: Any) -> int:
                    return (
                        await gw.post(target, json=rpc("hi", **meta), headers=headers)
                    ).status_code

                async def when(headers: dict[str, str], expected: int, **meta: Any) -> Any:
                    async def check() -> Any:
                        return True if await status(headers, **meta) == expected else None

                    return await _eventually(check)

                await when(owner, 200)
                assert await status(bob) == 404  # private, no grant
                resp = await api.post(
                    "/api/v1/registries/reg/grants",
                    json={"grantee": "bob", "skills": ["echo"]},
                    headers=owner,
                )
                assert resp.status_code == 201, resp.text
                await when(bob, 200, skill="echo")
                assert await status(bob, skill="translate") == 403
                assert await status(bob) == 403  # names no skill: not covered

                # The helper agent calls reg with its identity token once granted.
                token = (await api.post("/api/v1/registries/helper/token", headers=owner)).json()[
                    "token"
                ]
                agent = {"Authorization": f"Bearer {token}"}
                await when(agent, 404)
                await api.post(
                    "/api/v1/registries/reg/grants",
                    json={"grantee": "helper", "grantee_type": "agent"},
                    headers=owner,
                )
                await when(agent, 200)

                # Revoking bob's grant reaches the gateway within a second.
                resp = await api.delete(
                    "/api/v1/registries/reg/grants", params={"grantee": "bob"}, headers=owner
                )
                assert resp.status_code == 204
                await when(bob, 404, skill="echo")

            # The a2a-sdk client works from the card the gateway serves for the registry.
            async with sdk_client(
                f"{target}.well-known/agent-card.json",
                binding="HTTP+JSON",
                version="1.0",
                streaming=True,
                headers=owner,
            ) as client:
                events = await collect(client, user_message("via registry"))
    assert reply_text(events) == echo_reply("reg", "via registry")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "gateway_overrides", [{"rate_limit_per_caller": 0.2, "rate_limit_burst": 3}]
)
async def test_rate_limit_is_kept_in_redis(live: PlatformThread) -> None:
    with echo_agent(name="shared") as url:
        async with httpx.AsyncClient(base_url=live.api_url) as api:
            admin = await api_login(api, "admin", "admin-password-1")
            resp = await api.post(
                "/api/v1/registries",
                json={"url": url, "slug": "shared", "visibility": "public"},
                headers=admin,
            )
            assert resp.status_code == 201, resp.text
            async with httpx.AsyncClient() as gw:
                target = f"{live.gateway_url}/agents/shared/"

                async def routed() -> Any:
                    resp = await gw.get(f"{target}.well-known/agent-card.json", headers=admin)
                    return True if resp.status_code == 200 else None

                await _eventually(routed)
                statuses = [
                    (await gw.post(target, json=rpc("x"), headers=admin)).status_code
                    for _ in range(4)
                ]
        assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
        # The bucket lives in Redis, where every gateway replica reads it.
        keys = live.call(live.services.redis.keys("nasiko:rl:gw:c:user:*"))
        assert len(keys) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_metrics_count_calls_per_agent(live: PlatformThread) -> None:
    with echo_agent(name="Counted") as url:
        async with httpx.AsyncClient(base_url=live.api_url) as api:
            admin = await api_login(api, "admin", "admin-password-1")
            resp = await api.post("/api/v1/registries", headers=admin, json={"url": url})
            assert resp.status_code == 201
        async with httpx.AsyncClient(base_url=live.gateway_url, headers=admin) as gw:
            for _ in range(3):
                out = await gw.post(
                    "/agents/counted/", json=rpc("x"), headers={"A2A-Version": "1.0"}
                )
                assert out.status_code == 200
            text = (await gw.get("/metrics")).text
    gateway_line = [
        ln
        for ln in text.splitlines()
        if ln.startswith("nasiko_gateway_requests_total") and 'agent="counted"' in ln
    ]
    shared_line = [
        ln
        for ln in text.splitlines()
        if ln.startswith("nasiko_agent_requests_total")
        and 'agent="counted"' in ln
        and 'status="200"' in ln
    ]
    assert gateway_line and float(gateway_line[0].rsplit(" ", 1)[1]) == 3.0
    assert shared_line and float(shared_line[0].rsplit(" ", 1)[1]) >= 3.0
