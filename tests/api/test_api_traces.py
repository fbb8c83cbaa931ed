"""The traces API over both back-ends: filters, tree, summary, roll-ups, who sees what."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from nasiko.api.app import create_app
from nasiko.api.routes import otlp
from nasiko.bootstrap import Services
from nasiko.core.observability.service import TraceService
from nasiko.observability.wiring import register
from nasiko.testing.otlp import encode, new_trace_id, span
from nasiko.testing.platform import api_login


@pytest.fixture
async def client(svc: Services) -> AsyncIterator[httpx.AsyncClient]:
    service = register(svc)
    app = create_app(svc)
    app.include_router(otlp.router)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://nasiko.test") as c:
        yield c
    await service.close()


async def _user(
    client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> tuple[str, dict[str, str]]:
    resp = await client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": name, "email": f"{name}@example.com", "password": f"{name}-password-1"},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], await api_login(client, name, f"{name}-password-1")


async def _send(
    client: httpx.AsyncClient, *spans: object, headers: dict[str, str] | None = None
) -> None:
    resp = await client.post(
        "/v1/traces",
        content=encode(spans).SerializeToString(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-protobuf", **(headers or {})},
    )
    assert resp.status_code == 200, resp.text


async def test_traces_api(client: httpx.AsyncClient, svc: Services) -> None:
    admin = await api_login(client, "admin", "admin-password-1")
    erin_id, erin = await _user(client, admin, "erin")
    _, finn = await _user(client, admin, "finn")

    erin_trace, other_trace = new_trace_id(), new_trace_id()
    root = span(trace_id=erin_trace, name="call", attributes={"nasiko.agent": "alpha"})
    llm = span(
        trace_id=erin_trace,
        parent=root.span_id,
        name="llm",
        status="error",
        duration_ms=5,
        attributes={
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 100,
        },
    )
    await _send(client, root, llm, headers=erin)  # exported with erin's token: her call
    await _send(
        client,
        span(
            trace_id=other_trace,
            name="other",
            attributes={
                "nasiko.agent": "beta",
                "nasiko.user.id": "someone",
                "nasiko.session.id": "s9",
            },
        ),
    )
    service: TraceService = svc.extensions["traces"]
    await service.flush()

    page = (await client.get("/api/v1/traces", headers=admin)).json()
    assert page["total"] == 2
    only_errors = (await client.get("/api/v1/traces?status=error", headers=admin)).json()
    assert [t["trace_id"] for t in only_errors["items"]] == [erin_trace]
    by_session = (
        await client.get("/api/v1/traces", params={"session": "s9"}, headers=admin)
    ).json()
    assert [t["trace_id"] for t in by_session["items"]] == [other_trace]

    mine = (await client.get("/api/v1/traces", headers=erin)).json()
    assert [t["trace_id"] for t in mine["items"]] == [erin_trace]
    assert mine["items"][0]["user_id"] == erin_id and mine["items"][0]["agent"] == "alpha"
    assert (await client.get("/api/v1/traces", headers=finn)).json()["total"] == 0
    assert (await client.get(f"/api/v1/traces/{erin_trace}", headers=finn)).status_code == 404

    tree = (await client.get(f"/api/v1/traces/{erin_trace}", headers=erin)).json()
    assert tree["roots"][0]["children"][0]["input_tokens"] == 1000
    assert tree["summary"]["cost_usd"] == pytest.approx((1000 * 2.5 + 100 * 10.0) / 1e6)

    summary = (await client.get("/api/v1/traces/summary", headers=admin)).json()
    assert {r["agent"]: r["errors"] for r in summary} == {"alpha": 1, "beta": 0}
    rollups = (await client.get("/api/v1/traces/rollups?by=user", headers=admin)).json()
    assert {r["key"]: r["input_tokens"] for r in rollups} == {erin_id: 1000, "someone": 0}

    assert (await client.get("/api/v1/traces")).status_code == 401
    assert (await client.get("/api/v1/traces/rollups?by=planet", headers=admin)).status_code == 422
    assert (await client.get(f"/api/v1/traces/{new_trace_id()}", headers=admin)).status_code == 404
