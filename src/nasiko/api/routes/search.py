from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.api.routes.registries import AgentOut, out

router = APIRouter(prefix="/search", tags=["search"])


class AgentHit(BaseModel):
    agent: AgentOut
    score: float


class AgentResults(BaseModel):
    query: str
    total: int
    items: list[AgentHit]


class UserHit(BaseModel):
    id: str
    username: str


@router.get("/agents", response_model=AgentResults)
async def search_agents(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    q: str = Query(..., min_length=1, max_length=200),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
) -> AgentResults:
    hits, total = await svc.registry.search(principal, q, limit=limit, offset=offset)
    return AgentResults(
        query=q, total=total, items=[AgentHit(agent=out(svc, a), score=s) for a, s in hits]
    )


@router.get("/users", response_model=list[UserHit])
async def search_users(
    _: CurrentPrincipal,
    svc: ServicesDep,
    q: str = Query(..., min_length=1, max_length=100),
    limit: int = Query(20, ge=1, le=100),
) -> list[UserHit]:
    # Only what is needed to grant access: no e-mail addresses to non-superusers.
    return [UserHit(id=u.id, username=u.username) for u in await svc.users.search(q, limit=limit)]
