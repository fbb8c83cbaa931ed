"""Who is looking at a page: the platform's services, the signed-in principal and the token.

The browser holds the session in httponly cookies (`nasiko_token` for the access token, the
same cookie the GitHub callback sets and the API accepts; `nasiko_refresh` scoped to the
session routes). Every page resolves the principal through `AuthService.authenticate`, so
the UI sees exactly what the API would for the same credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from nasiko.core.models import Principal
from nasiko.errors import NasikoError

if TYPE_CHECKING:
    from nasiko.bootstrap import Services

UI_PREFIX = "/ui"
SCOPE_KEY = "nasiko.services"
ACCESS_COOKIE = "nasiko_token"
REFRESH_COOKIE = "nasiko_refresh"
THEME_COOKIE = "nasiko_theme"


@dataclass
class PageContext:
    svc: Services
    principal: Principal
    token: str  # the caller's own credential, forwarded when the UI calls the gateway
    request: Request

    @property
    def is_superuser(self) -> bool:
        return self.principal.is_superuser

    @property
    def dark(self) -> bool | None:
        value = self.request.cookies.get(THEME_COOKIE)
        return {"dark": True, "light": False}.get(value or "")


def services(request: Request) -> Services:
    svc: Services = request.scope[SCOPE_KEY]
    return svc


def ui_url(path: str) -> str:
    return f"{UI_PREFIX}{path}"


def safe_next(target: str | None) -> str:
    """Only same-site paths under the UI; anything else lands on the agents list."""
    if target and target.startswith(UI_PREFIX + "/") and not target.startswith("//"):
        return target
    return ui_url("/agents")


def current_path(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


async def resolve(request: Request) -> PageContext | RedirectResponse:
    """The signed-in user, or a redirect: to refresh the session, or to the sign-in page."""
    svc = services(request)
    token = request.cookies.get(ACCESS_COOKIE)
    back = quote(current_path(request), safe="")
    if token:
        try:
            principal = await svc.auth.authenticate(token)
        except NasikoError:
            principal = None
        if principal is not None and principal.kind == "user":
            return PageContext(svc=svc, principal=principal, token=token, request=request)
    if request.cookies.get(REFRESH_COOKIE):
        return RedirectResponse(ui_url(f"/session/refresh?next={back}"), status_code=303)
    return RedirectResponse(ui_url(f"/login?next={back}"), status_code=303)
