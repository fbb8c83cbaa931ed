"""Annotated dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from nasiko.bootstrap import Services
from nasiko.core.models import Principal
from nasiko.errors import Forbidden, Unauthenticated


def get_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    cookie = request.cookies.get("nasiko_token")
    return cookie or None


async def current_principal(request: Request, svc: ServicesDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "log in first (nasiko login), or send 'Authorization: Bearer <token>'"
        )
    principal = await svc.auth.authenticate(token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_superuser(principal: CurrentPrincipal) -> Principal:
    if not principal.is_superuser:
        raise Forbidden("this needs a superuser")
    return principal


Superuser = Annotated[Principal, Depends(current_superuser)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientIp = Annotated[str | None, Depends(client_ip)]
