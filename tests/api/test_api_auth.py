from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from nasiko.bootstrap import Services
from nasiko.testing.platform import api_login as login

ADMIN = ("admin", "admin-password-1")


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_login_good_and_bad_password(api: httpx.AsyncClient) -> None:
    headers = await login(api, *ADMIN)
    me = (await api.get("/api/v1/users/me", headers=headers)).json()
    assert me["username"] == "admin" and me["role"] == "superuser"
    assert "password_hash" not in me
    bad = await api.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert_error(bad, 401, "unauthenticated")
    unknown = await api.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert unknown.json()["error"]["message"] == bad.json()["error"]["message"]


async def test_missing_and_garbage_tokens(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/users/me"), 401, "unauthenticated")
    resp = await api.get("/api/v1/users/me", headers={"Authorization": "Bearer garbage"})
    assert_error(resp, 401, "unauthenticated")
    resp = await api.get("/api/v1/users/me", headers={"Authorization": "Bearer nsk_unknown"})
    assert_error(resp, 401, "unauthenticated")


async def test_expired_access_token(api: httpx.AsyncClient, svc: Services) -> None:
    admin = await svc.storage.users.get_by_username("admin")
    assert admin is not None
    pair = await svc.auth.start_session(admin)
    claims = {"typ": "access", "sid": "x", "name": "admin", "role": "superuser"}
    expired = svc.auth.signer.issue(subject=admin.id, ttl=timedelta(seconds=-5), claims=claims)
    resp = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert_error(resp, 401, "token_expired")
    ok = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair.access_token}"})
    assert ok.status_code == 200


async def test_logout_revokes_session(api: httpx.AsyncClient) -> None:
    headers = await login(api, *ADMIN)
    assert (await api.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert_error(await api.get("/api/v1/users/me", headers=headers), 401, "token_expired")


async def test_refresh_rotates(api: httpx.AsyncClient) -> None:
    resp = await api.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN[1]})
    refresh = resp.json()["refresh_token"]
    new = await api.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert new.status_code == 200
    assert new.json()["refresh_token"] != refresh
    again = await api.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert_error(again, 401, "token_expired")


async def test_api_tokens_lifecycle(api: httpx.AsyncClient) -> None:
    headers = await login(api, *ADMIN)
    created = await api.post("/api/v1/auth/tokens", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("nsk_")
    tok_headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/users/me", headers=tok_headers)).json()["username"] == "admin"
    listed = (await api.get("/api/v1/auth/tokens", headers=headers)).json()
    assert [t["name"] for t in listed] == ["ci"]
    assert listed[0]["last_used_at"] is not None
    assert token not in str(listed)
    token_id = created.json()["id"]
    assert (await api.delete(f"/api/v1/auth/tokens/{token_id}", headers=headers)).status_code == 204
    assert_error(await api.get("/api/v1/users/me", headers=tok_headers), 401, "unauthenticated")


async def test_expired_api_token(api: httpx.AsyncClient, svc: Services) -> None:
    headers = await login(api, *ADMIN)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    created = await api.post(
        "/api/v1/auth/tokens",
        json={"name": "short", "expires_at": soon.isoformat()},
        headers=headers,
    )
    token = created.json()["token"]
    record = await svc.storage.tokens.get(created.json()["id"])
    assert record is not None
    # Move the expiry into the past instead of sleeping.
    from sqlalchemy import update

    from nasiko.storage.sql.tables import tokens

    async with svc.storage.engine.begin() as conn:
        await conn.execute(
            update(tokens)
            .where(tokens.c.id == record.id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    resp = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(resp, 401, "token_expired")
    past = await api.post(
        "/api/v1/auth/tokens",
        headers=headers,
        json={"name": "past", "expires_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
    )
    assert_error(past, 400, "invalid_input")


async def test_lockout_after_repeated_failures(api: httpx.AsyncClient, svc: Services) -> None:
    limit = svc.settings.auth.login_max_failures
    for _ in range(limit):
        r = await api.post("/api/v1/auth/login", json={"username": "admin", "password": "bad"})
        assert r.status_code == 401
    locked = await api.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN[1]})
    err = assert_error(locked, 429, "rate_limited")
    assert int(locked.headers["Retry-After"]) >= 1
    assert "wait" in str(err["message"])
    audit = await svc.storage.audit.list(limit=50, offset=0, action="login.failure")
    assert audit[1] == limit
    assert audit[0][0].source_ip == "10.1.2.3"


async def test_registration_and_user_admin(api: httpx.AsyncClient, svc: Services) -> None:
    body = {"username": "alice", "email": "Alice@Example.com", "password": "alice-password"}
    created = await api.post("/api/v1/users", json=body)
    assert created.status_code == 201 and created.json()["email"] == "alice@example.com"
    assert_error(await api.post("/api/v1/users", json=body), 409, "conflict")
    bad = await api.post("/api/v1/users", json={**body, "username": "x y", "password": "short"})
    err = assert_error(bad, 422, "validation_error")
    fields = {d["field"] for d in err["details"]}  # type: ignore[union-attr]
    assert fields == {"username", "password"}
    sneaky = await api.post("/api/v1/users", json={**body, "username": "bob", "role": "superuser"})
    assert_error(sneaky, 403, "forbidden")

    alice = await login(api, "alice", "alice-password")
    assert_error(await api.get("/api/v1/users", headers=alice), 403, "forbidden")
    admin_id = (await svc.storage.users.get_by_username("admin")).id  # type: ignore[union-attr]
    assert_error(await api.get(f"/api/v1/users/{admin_id}", headers=alice), 404, "not_found")
    assert_error(await api.get("/api/v1/audit", headers=alice), 403, "forbidden")

    admin = await login(api, *ADMIN)
    page = (await api.get("/api/v1/users?q=ali", headers=admin)).json()
    assert [u["username"] for u in page["items"]] == ["alice"] and page["total"] == 1
    assert (await api.delete("/api/v1/users/alice", headers=admin)).status_code == 204
    assert_error(await api.delete("/api/v1/users/alice", headers=admin), 404, "not_found")
    audit = (await api.get("/api/v1/audit?action=user", headers=admin)).json()
    actions = [e["action"] for e in audit["items"]]
    assert actions[:2] == ["user.deleted", "user.created"]


async def test_self_registration_can_be_switched_off(api: httpx.AsyncClient, svc: Services) -> None:
    svc.users.allow_registration = False
    body = {"username": "carol", "email": "c@example.com", "password": "carol-password"}
    assert_error(await api.post("/api/v1/users", json=body), 403, "forbidden")
    admin = await login(api, *ADMIN)
    assert (await api.post("/api/v1/users", json=body, headers=admin)).status_code == 201


async def test_change_password_ends_other_sessions(api: httpx.AsyncClient) -> None:
    await api.post(
        "/api/v1/users",
        json={"username": "dave", "email": "d@example.com", "password": "dave-password"},
    )
    first = await login(api, "dave", "dave-password")
    wrong = await api.post(
        "/api/v1/users/me/password",
        headers=first,
        json={"current_password": "nope", "new_password": "dave-password-2"},
    )
    assert_error(wrong, 401, "unauthenticated")
    ok = await api.post(
        "/api/v1/users/me/password",
        headers=first,
        json={"current_password": "dave-password", "new_password": "dave-password-2"},
    )
    assert ok.status_code == 204
    assert_error(await api.get("/api/v1/users/me", headers=first), 401, "token_expired")
    await login(api, "dave", "dave-password-2")
