from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.api.routes.registries import AgentOut, out
from nasiko.core.deploy.models import Upload
from nasiko.core.deploy.service import AgentLifecycle

router = APIRouter(prefix="/registries/{key}", tags=["lifecycle"])


class RollbackBody(BaseModel):
    version: int | None = None


class Logs(BaseModel):
    lines: list[str]


def _lc(svc: ServicesDep) -> AgentLifecycle:
    lifecycle: AgentLifecycle = svc.extensions["lifecycle"]
    return lifecycle


@router.post("/stop", response_model=AgentOut)
async def stop(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> AgentOut:
    return out(svc, await _lc(svc).stop(principal, key))


@router.post("/start", response_model=AgentOut)
async def start(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> AgentOut:
    return out(svc, await _lc(svc).start(principal, key))


@router.post("/restart", response_model=AgentOut)
async def restart(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> AgentOut:
    return out(svc, await _lc(svc).restart(principal, key))


@router.post("/rollback", response_model=AgentOut)
async def rollback(
    key: str, body: RollbackBody, principal: CurrentPrincipal, svc: ServicesDep
) -> AgentOut:
    return out(svc, await _lc(svc).rollback(principal, key, body.version))


@router.post("/redeploy", response_model=Upload, status_code=202)
async def redeploy(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> Upload:
    return await _lc(svc).redeploy(principal, key)


@router.get("/logs", response_model=Logs)
async def logs(
    key: str, principal: CurrentPrincipal, svc: ServicesDep, tail: int = Query(200, ge=1, le=10_000)
) -> Logs:
    return Logs(lines=await _lc(svc).logs(principal, key, tail=tail))


@router.get("/logs/stream")
async def follow(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> EventSourceResponse:
    lifecycle = _lc(svc)
    await lifecycle.logs(principal, key, tail=1)  # errors (404, not deployed) before streaming

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for line in lifecycle.follow(principal, key):
            yield {"event": "log", "data": line}

    return EventSourceResponse(stream(), ping=15)
