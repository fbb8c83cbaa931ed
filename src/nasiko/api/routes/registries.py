from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from nasiko.api.deps import ClientIp, CurrentPrincipal, ServicesDep
from nasiko.core.models import Page
from nasiko.core.registry.models import (
    Agent,
    AgentStatus,
    AgentVersion,
    RegisterAgent,
    UpdateAgent,
    Visibility,
)

router = APIRouter(prefix="/registries", tags=["registry"])


class AgentOut(Agent):
    gateway_url: str


class AgentToken(BaseModel):
    token: str


def out(svc: ServicesDep, agent: Agent) -> AgentOut:
    return AgentOut(
        **agent.model_dump(), gateway_url=f"{svc.settings.gateway_url}/agents/{agent.slug}"
    )


@router.post("", response_model=AgentOut, status_code=201)
async def register(
    body: RegisterAgent, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> AgentOut:
    return out(svc, await svc.registry.register(principal, body, source_ip=ip))


@router.get("", response_model=Page[AgentOut])
async def list_agents(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    owner: str | None = Query(None, description="Owner user id or username."),
    visibility: Visibility | None = None,
    tag: str | None = None,
    status: AgentStatus | None = None,
    q: str | None = Query(None, max_length=200, description="Free-text filter."),
) -> Page[AgentOut]:
    if owner:
        user = await svc.storage.users.get_by_username(owner)
        owner = user.id if user else owner
    page = await svc.registry.list(
        principal,
        limit=limit,
        offset=offset,
        owner=owner,
        visibility=visibility,
        tag=tag,
        status=status,
        q=q,
    )
    return Page(
        items=[out(svc, a) for a in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/{key}", response_model=AgentOut)
async def get_agent(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> AgentOut:
    return out(svc, await svc.registry.get_visible(principal, key))


@router.patch("/{key}", response_model=AgentOut)
async def update_agent(
    key: str, body: UpdateAgent, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> AgentOut:
    return out(svc, await svc.registry.update(principal, key, body, source_ip=ip))


@router.delete("/{key}", status_code=204)
async def delete_agent(
    key: str, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> Response:
    await svc.registry.delete(principal, key, source_ip=ip)
    return Response(status_code=204)


@router.get("/{key}/versions", response_model=list[AgentVersion])
async def versions(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> list[AgentVersion]:
    return await svc.registry.versions(principal, key)


@router.get("/{key}/versions/{number}", response_model=AgentVersion)
async def version(
    key: str, number: int, principal: CurrentPrincipal, svc: ServicesDep
) -> AgentVersion:
    return await svc.registry.version(principal, key, number)


@router.get("/{key}/card")
async def card(
    key: str,
    principal: CurrentPrincipal,
    svc: ServicesDep,
    legacy: bool = Query(False, description="A2A v0.3 layout."),
) -> dict[str, Any]:
    agent = await svc.registry.get_visible(principal, key)
    return svc.registry.public_card(agent, legacy=legacy)


@router.post("/{key}/token", response_model=AgentToken, status_code=201)
async def issue_token(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> AgentToken:
    """A new identity token for the agent (shown once; the previous one stops working)."""
    agent = await svc.registry.get_managed(principal, key)
    return AgentToken(token=await svc.registry.issue_agent_token(principal, agent))
