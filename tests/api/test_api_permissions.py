"""The permissions matrix of docs/security.md, cell by cell, against the running API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from nasiko.bootstrap import Services
from nasiko.core.models import Principal
from nasiko.testing.platform import api_login

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
VISIBILITIES = ("private", "shared", "public")


def matrix() -> list[tuple[str, str, str, str]]:
    rows = []
    in_table = False
    for line in DOC.read_text().splitlines():
        if line.startswith("| action | role |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            action, role, *codes = cells
            rows += [
                (action, role, vis, code) for vis, code in zip(VISIBILITIES, codes, strict=True)
            ]
    return rows


def card(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} for the matrix",
        "version": "1.0.0",
        "supportedInterfaces": [
            {"url": "http://127.0.0.1:9/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "skills": [
            {"id": "s1", "name": "One", "description": "first", "tags": ["t"]},
            {"id": "s2", "name": "Two", "description": "second", "tags": ["t"]},
        ],
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
    }


async def test_permissions_matrix(api: httpx.AsyncClient, svc: Services) -> None:
    admin = await api_login(api, "admin", "admin-password-1")
    users = {}
    for name in ("owner", "granted", "limited", "other", "bystander"):
        r = await api.post(
            "/api/v1/users",
            headers=admin,
            json={"username": name, "email": f"{name}@example.com", "password": f"{name}-password"},
        )
        assert r.status_code == 201
        users[name] = r.json()["id"]
    headers = {"superuser": admin}
    for name in ("owner", "granted", "limited", "other"):
        headers[name] = await api_login(api, name, f"{name}-password")
    headers["owner"] = headers.pop("owner")

    async def register(name: str, visibility: str) -> dict[str, Any]:
        r = await api.post(
            "/api/v1/registries",
            headers=headers["owner"],
            json={"card": card(name), "visibility": visibility},
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    # Two agents that call others, with their identity tokens.
    callers = {}
    for role in ("granted agent", "other agent"):
        caller = await register(role.replace(" ", "-"), "private")
        tok = await api.post(f"/api/v1/registries/{caller['id']}/token", headers=headers["owner"])
        headers[role] = {"Authorization": f"Bearer {tok.json()['token']}"}
        callers[role] = caller
    targets = {vis: await register(f"target-{vis}", vis) for vis in VISIBILITIES}
    for vis, agent in targets.items():
        for body in (
            {"grantee": "granted"},
            {"grantee": "limited", "skills": ["s1"]},
            {"grantee": callers["granted agent"]["slug"], "grantee_type": "agent"},
        ):
            r = await api.post(
                f"/api/v1/registries/{agent['id']}/grants", headers=headers["owner"], json=body
            )
            assert r.status_code == 201, (vis, r.text)
    headers["granted user"] = headers["granted"]
    headers["other user"] = headers["other"]
    headers["skill-limited user, granted skill"] = headers["limited"]
    headers["skill-limited user, other skill"] = headers["limited"]

    view = svc.registry_view

    async def principal_for(role: str) -> Principal:
        token = headers[role]["Authorization"].split(" ", 1)[1]
        return await svc.auth.authenticate(token)

    async def act(action: str, role: str, agent: dict[str, Any]) -> int:
        h = headers[role]
        base = f"/api/v1/registries/{agent['id']}"
        if action == "get":
            return (await api.get(base, headers=h)).status_code
        if action == "list":
            page = (await api.get("/api/v1/registries?limit=500", headers=h)).json()
            return 200 if agent["id"] in {a["id"] for a in page["items"]} else 404
        if action == "card":
            return (await api.get(f"{base}/card", headers=h)).status_code
        if action == "versions":
            return (await api.get(f"{base}/versions", headers=h)).status_code
        if action == "update":
            return (await api.patch(base, headers=h, json={"description": "x"})).status_code
        if action == "grants":
            return (await api.get(f"{base}/grants", headers=h)).status_code
        if action == "grant":
            return (
                await api.post(f"{base}/grants", headers=h, json={"grantee": "bystander"})
            ).status_code
        if action == "delete":
            return (await api.delete(base, headers=h)).status_code
        if action == "call":
            # The gateway's decision: the in-memory registry view, as it serves requests.
            route = view.route(agent["slug"])
            assert route is not None
            principal = await principal_for(role)
            skill = "s2" if role.endswith("other skill") else "s1"
            if not view.can_see(principal, route):
                return 404
            return 200 if view.can_access(principal, route, skill=skill) else 403
        raise AssertionError(f"unknown action {action}")

    cells = matrix()
    assert len(cells) >= 100
    ordered = sorted(cells, key=lambda c: (c[0] == "delete", c[1] == "owner"))
    failures = []
    for action, role, vis, expected in ordered:
        got = await act(action, role, targets[vis])
        if str(got) != expected:
            failures.append(f"{action} / {role} / {vis}: expected {expected}, got {got}")
    assert failures == []


async def test_grants_and_deletes_are_audited(api: httpx.AsyncClient) -> None:
    admin = await api_login(api, "admin", "admin-password-1")
    await api.post(
        "/api/v1/users",
        json={"username": "bob", "email": "b@example.com", "password": "bob-password"},
    )
    r = await api.post(
        "/api/v1/registries",
        headers=admin,
        json={"card": card("Audited Agent"), "visibility": "shared"},
    )
    slug = r.json()["slug"]
    assert slug == "audited-agent"
    assert (
        await api.post(
            f"/api/v1/registries/{slug}/grants",
            headers=admin,
            json={"grantee": "bob", "skills": ["nope"]},
        )
    ).status_code == 400
    assert (
        await api.post(f"/api/v1/registries/{slug}/grants", headers=admin, json={"grantee": "bob"})
    ).status_code == 201
    assert (
        await api.patch(f"/api/v1/registries/{slug}", headers=admin, json={"visibility": "public"})
    ).status_code == 200
    assert (
        await api.delete(f"/api/v1/registries/{slug}/grants?grantee=bob", headers=admin)
    ).status_code == 204
    assert (await api.delete(f"/api/v1/registries/{slug}", headers=admin)).status_code == 204
    audit = (await api.get("/api/v1/audit?limit=20", headers=admin)).json()["items"]
    actions = [e["action"] for e in audit]
    assert actions[:5] == [
        "agent.deleted",
        "grant.revoked",
        "agent.visibility_changed",
        "grant.created",
        "agent.registered",
    ]
    assert re.fullmatch(r"[0-9a-f-]{36}", audit[0]["target_id"])
