from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from nasiko.bootstrap import Services
from nasiko.testing.agents import echo_agent, v03_agent
from nasiko.testing.platform import api_login

CARDS = Path(__file__).resolve().parents[1] / "a2a" / "cards"
ADMIN = ("admin", "admin-password-1")


@pytest.fixture
def agent_url() -> str:
    with echo_agent(name="Echo Writer") as url:
        yield url  # type: ignore[misc]


async def test_register_by_url_list_search_card(
    api: httpx.AsyncClient, svc: Services, agent_url: str
) -> None:
    h = await api_login(api, *ADMIN)
    r = await api.post(
        "/api/v1/registries",
        headers=h,
        json={"url": agent_url, "tags": ["Demo", "echo"], "visibility": "public"},
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["slug"] == "echo-writer" and agent["tags"] == ["demo", "echo"]
    assert agent["endpoints"] == [agent_url.rstrip("/")]
    assert agent["status"] == "running"
    assert agent["gateway_url"] == f"{svc.settings.gateway_url}/agents/echo-writer"
    assert agent["card"]["supportedInterfaces"]

    page = (await api.get("/api/v1/registries?tag=demo", headers=h)).json()
    assert [a["slug"] for a in page["items"]] == ["echo-writer"]
    assert (await api.get("/api/v1/registries?tag=nope", headers=h)).json()["total"] == 0
    assert (await api.get("/api/v1/registries?status=running&visibility=public", headers=h)).json()[
        "total"
    ] == 1

    skill_word = agent["card"]["skills"][0]["name"].split()[0]
    hits = (await api.get(f"/api/v1/search/agents?q={skill_word}", headers=h)).json()
    assert hits["items"][0]["agent"]["slug"] == "echo-writer" and hits["items"][0]["score"] > 0
    assert (await api.get("/api/v1/search/agents?q=zzzqqq", headers=h)).json()["total"] == 0

    public = (await api.get("/api/v1/registries/echo-writer/card", headers=h)).json()
    text = json.dumps(public)
    port = agent_url.rsplit(":", 1)[1].strip("/")
    assert f":{port}" not in text
    assert all(
        i["url"].startswith(f"{svc.settings.gateway_url}/agents/echo-writer")
        for i in public["supportedInterfaces"]
    )
    legacy = (await api.get("/api/v1/registries/echo-writer/card?legacy=true", headers=h)).json()
    assert legacy["url"].startswith(f"{svc.settings.gateway_url}/agents/echo-writer")

    # Same name again: a fresh slug; delete frees the slug and keeps versions readable.
    again = await api.post("/api/v1/registries", headers=h, json={"url": agent_url})
    assert again.json()["slug"] == "echo-writer-2"
    taken = await api.post(
        "/api/v1/registries", headers=h, json={"url": agent_url, "slug": "echo-writer"}
    )
    assert taken.status_code == 409
    versions = (await api.get("/api/v1/registries/echo-writer/versions", headers=h)).json()
    assert [v["version"] for v in versions] == [1]
    assert (await api.delete("/api/v1/registries/echo-writer", headers=h)).status_code == 204
    assert (await api.get("/api/v1/registries/echo-writer", headers=h)).status_code == 404
    reused = await api.post(
        "/api/v1/registries", headers=h, json={"url": agent_url, "slug": "echo-writer"}
    )
    assert reused.status_code == 201


async def test_register_v03_agent_by_url_falls_back_to_agent_json(
    api: httpx.AsyncClient, svc: Services
) -> None:
    h = await api_login(api, *ADMIN)
    with v03_agent(name="Legacy Weather") as url:
        r = await api.post("/api/v1/registries", headers=h, json={"url": url})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["source"]["card_url"].endswith("/.well-known/agent.json")
    iface = agent["card"]["supportedInterfaces"][0]
    assert iface["protocolVersion"] == "0.3" and iface["url"].endswith("/a2a/v1")
    public = (await api.get(f"/api/v1/registries/{agent['slug']}/card", headers=h)).json()
    assert public["supportedInterfaces"][0]["url"] == (
        f"{svc.settings.gateway_url}/agents/{agent['slug']}/a2a/v1"
    )


async def test_unreachable_and_invalid_cards_are_clear_errors(api: httpx.AsyncClient) -> None:
    h = await api_login(api, *ADMIN)
    from nasiko.testing.platform import free_port

    down = await api.post(
        "/api/v1/registries", headers=h, json={"url": f"http://127.0.0.1:{free_port()}"}
    )
    assert down.status_code == 503
    err = down.json()["error"]
    assert "agent-card.json" in err["message"] and "agent.json" in err["message"]
    bad = await api.post(
        "/api/v1/registries",
        headers=h,
        json={"card": json.loads((CARDS / "broken_types.json").read_text())},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_card"
    assert all(d["path"].startswith("$") for d in bad.json()["error"]["details"])
    both = await api.post("/api/v1/registries", headers=h, json={})
    assert both.status_code == 400
    huge = {"name": "x", "description": "y" * 300_000, "url": "http://127.0.0.1:1/"}
    assert (await api.post("/api/v1/registries", headers=h, json={"card": huge})).status_code == 413


async def test_v03_v1_and_seed_cards_normalise_to_the_same_shape(api: httpx.AsyncClient) -> None:
    h = await api_login(api, *ADMIN)
    shapes = []
    for name in ("currency_v1.json", "currency_v03.json"):
        r = await api.post(
            "/api/v1/registries", headers=h, json={"card": json.loads((CARDS / name).read_text())}
        )
        assert r.status_code == 201, r.text
        card = r.json()["card"]
        shapes.append({k: v for k, v in card.items() if k != "supportedInterfaces"})
    assert shapes[0] == shapes[1]
    seed = json.loads((CARDS / "seed_AgentCard.json").read_text())
    r = await api.post("/api/v1/registries", headers=h, json={"card": seed})
    assert r.status_code == 201, r.text
    assert set(r.json()["card"]) >= {
        "name",
        "description",
        "skills",
        "supportedInterfaces",
        "capabilities",
        "defaultInputModes",
    }


async def test_registry_events_update_the_view_within_a_second(
    api: httpx.AsyncClient, svc: Services, agent_url: str
) -> None:
    h = await api_login(api, *ADMIN)
    agent = (await api.post("/api/v1/registries", headers=h, json={"url": agent_url})).json()

    async def wait_for(check: object) -> None:
        for _ in range(100):
            if check():  # type: ignore[operator]
                return
            await asyncio.sleep(0.01)
        raise AssertionError("view did not update within a second")

    await wait_for(lambda: svc.registry_view.route(agent["slug"]) is not None)
    await api.patch(
        f"/api/v1/registries/{agent['slug']}",
        headers=h,
        json={"visibility": "public", "rate_limit": 5},
    )
    await wait_for(lambda: svc.registry_view.route(agent["slug"]).visibility == "public")  # type: ignore[union-attr]
    assert svc.registry_view.route(agent["slug"]).rate_limit == 5  # type: ignore[union-attr]
    await api.delete(f"/api/v1/registries/{agent['slug']}", headers=h)
    await wait_for(lambda: svc.registry_view.route(agent["slug"]) is None)


async def test_search_users_and_pagination(api: httpx.AsyncClient) -> None:
    h = await api_login(api, *ADMIN)
    for i in range(3):
        await api.post(
            "/api/v1/users",
            json={"username": f"zed{i}", "email": f"z{i}@e.com", "password": "zed-password"},
        )
    found = (await api.get("/api/v1/search/users?q=zed", headers=h)).json()
    assert [u["username"] for u in found] == ["zed0", "zed1", "zed2"]
    assert "email" not in found[0]
    cards = [json.loads((CARDS / "currency_v1.json").read_text()) for _ in range(5)]
    for c in cards:
        await api.post("/api/v1/registries", headers=h, json={"card": c})
    first = (await api.get("/api/v1/registries?limit=2", headers=h)).json()
    second = (await api.get("/api/v1/registries?limit=2&offset=2", headers=h)).json()
    assert first["total"] == 5 and len(first["items"]) == 2
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
