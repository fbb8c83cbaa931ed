from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from nasiko.api.deps import ClientIp, CurrentPrincipal, ServicesDep, bearer_token
from nasiko.core.models import Page, Principal, User
from nasiko.core.users import NewUser

router = APIRouter(prefix="/users", tags=["users"])


class PasswordChange(BaseModel):
    current_password: str
    new_password: str = Field(min_length=8, max_length=1024)


class ActiveBody(BaseModel):
    is_active: bool


@router.post("", response_model=User, status_code=201)
async def register(body: NewUser, request: Request, svc: ServicesDep, ip: ClientIp) -> User:
    # Anonymous self-registration, or a superuser creating an account.
    actor: Principal | None = None
    token = bearer_token(request)
    if token:
        actor = await svc.auth.authenticate(token)
    return await svc.users.create(body, actor=actor, source_ip=ip)


@router.get("", response_model=Page[User])
async def list_users(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    q: str | None = Query(None, max_length=100),
) -> Page[User]:
    return await svc.users.list(actor=principal, limit=limit, offset=offset, q=q)


@router.get("/me", response_model=User)
async def me(principal: CurrentPrincipal, svc: ServicesDep) -> User:
    return await svc.users.get(principal.id, actor=principal)


@router.post("/me/password", status_code=204)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> Response:
    await svc.users.change_password(
        actor=principal, current=body.current_password, new=body.new_password, source_ip=ip
    )
    return Response(status_code=204)


@router.get("/{user_id}", response_model=User)
async def get_user(user_id: str, principal: CurrentPrincipal, svc: ServicesDep) -> User:
    return await svc.users.get(user_id, actor=principal)


@router.patch("/{user_id}", response_model=User)
async def set_active(
    user_id: str, body: ActiveBody, principal: CurrentPrincipal, svc: ServicesDep
) -> User:
    return await svc.users.set_active(user_id, body.is_active, actor=principal)


@router.delete("/{user_id}", status_code=204)
async def delete_user(
    user_id: str, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> Response:
    await svc.users.delete(user_id, actor=principal, source_ip=ip)
    return Response(status_code=204)
