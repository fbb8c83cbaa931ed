"""Plain HTTP routes that set and clear the session cookies.

The sign-in form runs over NiceGUI's websocket, which cannot set an httponly cookie. So the
form signs in through `AuthService.login`, parks the token pair in the cache under a one-time
code for a minute, and sends the browser to `/ui/session/complete?code=…`, which turns it
into cookies. Refresh and sign-out end here too.
"""

from __future__ import annotations

import json
import secrets

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.routing import Route

from nasiko.bootstrap import Services
from nasiko.core.auth import TokenPair
from nasiko.errors import NasikoError
from nasiko.web.context import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    UI_PREFIX,
    safe_next,
    services,
    ui_url,
)

CODE_TTL = 60.0


async def park_tokens(svc: Services, pair: TokenPair) -> str:
    code = secrets.token_urlsafe(24)
    await svc.cache.set(f"ui_login:{code}", pair.model_dump_json().encode(), ttl=CODE_TTL)
    return code


async def _take_tokens(svc: Services, code: str) -> TokenPair | None:
    key = f"ui_login:{code}"
    raw = await svc.cache.get(key)
    await svc.cache.delete(key)
    return TokenPair.model_validate(json.loads(raw)) if raw else None


def _set_cookies(request: Request, response: RedirectResponse, pair: TokenPair) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        ACCESS_COOKIE,
        pair.access_token,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=pair.expires_in,
    )
    svc = services(request)
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        httponly=True,
        samesite="strict",
        secure=secure,
        path=UI_PREFIX,
        max_age=int(svc.auth.refresh_ttl.total_seconds()),
    )


def _clear_cookies(response: RedirectResponse) -> None:
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path=UI_PREFIX)


async def complete(request: Request) -> RedirectResponse:
    pair = await _take_tokens(services(request), request.query_params.get("code", ""))
    if pair is None:
        return RedirectResponse(ui_url("/login?expired=1"), status_code=303)
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    _set_cookies(request, response, pair)
    return response


async def refresh(request: Request) -> RedirectResponse:
    svc = services(request)
    target = safe_next(request.query_params.get("next"))
    token = request.cookies.get(REFRESH_COOKIE)
    try:
        pair = await svc.auth.refresh(token or "")
    except NasikoError:
        response = RedirectResponse(ui_url("/login?expired=1"), status_code=303)
        _clear_cookies(response)
        return response
    response = RedirectResponse(target, status_code=303)
    _set_cookies(request, response, pair)
    return response


async def end(request: Request) -> RedirectResponse:
    # The session itself was revoked by the sign-out button (AuthService.logout); this only
    # drops the cookies, so a forged link here signs nobody out of anything on the server.
    response = RedirectResponse(ui_url("/login"), status_code=303)
    _clear_cookies(response)
    return response


def register() -> None:
    from nicegui import core

    for path, endpoint in (
        ("/session/complete", complete),
        ("/session/refresh", refresh),
        ("/session/end", end),
    ):
        core.app.router.routes.append(Route(path, endpoint, methods=["GET"]))
