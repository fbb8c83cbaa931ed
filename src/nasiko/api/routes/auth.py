from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from nasiko.api.deps import ClientIp, CurrentPrincipal, ServicesDep
from nasiko.core.auth import TokenPair
from nasiko.core.models import TokenRecord

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(BaseModel):
    refresh_token: str


class NewTokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    expires_at: datetime | None = None


class CreatedToken(BaseModel):
    token: str = Field(description="Shown once; store it now.")
    id: str
    name: str | None
    prefix: str
    expires_at: datetime | None


@router.post("/login", response_model=TokenPair)
async def login(body: LoginBody, svc: ServicesDep, ip: ClientIp) -> TokenPair:
    return await svc.auth.login(body.username, body.password, source_ip=ip)


@router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshBody, svc: ServicesDep) -> TokenPair:
    return await svc.auth.refresh(body.refresh_token)


@router.post("/logout", status_code=204)
async def logout(principal: CurrentPrincipal, svc: ServicesDep) -> Response:
    await svc.auth.logout(principal)
    response = Response(status_code=204)
    response.delete_cookie("nasiko_token")
    return response


@router.post("/tokens", response_model=CreatedToken, status_code=201)
async def create_token(
    body: NewTokenBody, principal: CurrentPrincipal, svc: ServicesDep
) -> CreatedToken:
    new = await svc.auth.create_api_token(principal, name=body.name, expires_at=body.expires_at)
    r = new.record
    return CreatedToken(
        token=new.token, id=r.id, name=r.name, prefix=r.prefix, expires_at=r.expires_at
    )


@router.get("/tokens", response_model=list[TokenRecord])
async def list_tokens(principal: CurrentPrincipal, svc: ServicesDep) -> list[TokenRecord]:
    return await svc.auth.list_api_tokens(principal)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, principal: CurrentPrincipal, svc: ServicesDep) -> Response:
    await svc.auth.revoke_api_token(principal, token_id)
    return Response(status_code=204)
