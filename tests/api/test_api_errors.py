from __future__ import annotations

import json

import httpx
import pytest

from nasiko import errors
from nasiko.asgi import error_response
from nasiko.bootstrap import Services
from nasiko.storage.sql import migrate

EXPECTED = {
    errors.InvalidInput: (400, "invalid_input"),
    errors.InvalidCard: (400, "invalid_card"),
    errors.InvalidPackage: (400, "invalid_package"),
    errors.Unauthenticated: (401, "unauthenticated"),
    errors.Forbidden: (403, "forbidden"),
    errors.NotFound: (404, "not_found"),
    errors.Conflict: (409, "conflict"),
    errors.PayloadTooLarge: (413, "payload_too_large"),
    errors.Unavailable: (503, "unavailable"),
    errors.UpstreamTimeout: (504, "upstream_timeout"),
    errors.BuildFailed: (422, "build_failed"),
    errors.ConfigurationError: (500, "configuration_error"),
}


def _all_error_classes() -> set[type[errors.NasikoError]]:
    seen: set[type[errors.NasikoError]] = set()
    todo = [errors.NasikoError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == "nasiko.errors":
                seen.add(sub)
                todo.append(sub)
    return seen


def test_every_error_class_has_a_status_and_the_one_shape() -> None:
    assert _all_error_classes() - {errors.RateLimited} == set(EXPECTED)
    for cls, (status, code) in EXPECTED.items():
        resp = error_response(cls("what went wrong", details=[{"field": "x"}]))
        assert resp.status_code == status, cls
        assert json.loads(resp.body) == {
            "error": {"code": code, "message": "what went wrong", "details": [{"field": "x"}]}
        }
    limited = error_response(errors.RateLimited("slow down", retry_after=2.2))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"


async def test_framework_errors_use_the_same_shape(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await api.put("/api/v1/auth/login", json={})
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    broken = await api.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "validation_error"
    assert missing.headers["x-request-id"]
    echoed = await api.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert echoed.headers["x-request-id"] == "abc123"


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok", "component": "api"}
    ready = (await api.get("/readyz")).json()
    assert ready["status"] == "ok" and ready["checks"]["database"]["ok"] is True
    docs = await api.get("/openapi.json")
    assert "/api/v1/auth/login" in docs.json()["paths"]


async def test_migrations_on_existing_database_are_idempotent(svc: Services) -> None:
    await svc.storage.credentials.put(user_id=None, kind="x", secret="kept")
    heads = migrate.head_revisions()
    assert await migrate.current_revisions(svc.storage.engine) == heads
    await migrate.upgrade(svc.storage.engine)  # again, on a database already at head
    assert await migrate.is_current(svc.storage.engine)
    got = await svc.storage.credentials.get(user_id=None, kind="x")
    assert got is not None and got.secret == "kept"


@pytest.mark.parametrize("revision", ["base"])
async def test_readiness_reports_outdated_schema(svc: Services, revision: str) -> None:
    from alembic import command

    def down(conn: object) -> None:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with svc.storage.engine.begin() as conn:
        await conn.run_sync(down)
    checks = await svc.readiness()
    assert checks["database"]["ok"] is False and checks["database"]["revisions"] == []
    await migrate.upgrade(svc.storage.engine)
    assert (await svc.readiness())["database"]["ok"] is True
