"""ASGI pieces every edge shares: request ids, the one error shape, health endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nasiko import errors
from nasiko.logs import request_id

STATUS: list[tuple[type[errors.NasikoError], int]] = [
    (errors.PayloadTooLarge, 413),
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.RateLimited, 429),
    (errors.UpstreamTimeout, 504),
    (errors.Unavailable, 503),
    (errors.BuildFailed, 422),
    (errors.ConfigurationError, 500),
]


def status_for(exc: errors.NasikoError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(exc: errors.NasikoError) -> JSONResponse:
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=status_for(exc),
        headers=headers,
    )


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller (or makes one), exposes it to logs, echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:128]
                break
        rid = rid or uuid.uuid4().hex
        token = request_id.set(rid)
        raw = rid.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", raw)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]


def health_payload(component: str, checks: dict[str, Any]) -> tuple[dict[str, Any], int]:
    ok = all(bool(c.get("ok")) for c in checks.values() if isinstance(c, dict))
    return {
        "status": "ok" if ok else "unavailable",
        "component": component,
        "checks": checks,
    }, 200 if ok else 503
