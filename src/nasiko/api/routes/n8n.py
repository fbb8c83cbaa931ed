"""/api/v1/n8n: connect an instance, list its workflows, register one as an A2A agent.

The API key is never in a response; the registered agent is served by the adapter mounted at
``/n8n-agents`` and reached, like every agent, through the gateway.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.api.routes.registries import AgentOut, out
from nasiko.core.integrations.n8n import (
    N8nConnect,
    N8nService,
    N8nStatus,
    N8nWorkflow,
    RegisterWorkflow,
)

router = APIRouter(prefix="/n8n", tags=["n8n"])


class WorkflowList(BaseModel):
    items: list[N8nWorkflow]
    total: int


def _n8n(svc: ServicesDep) -> N8nService:
    service: N8nService = svc.extensions["n8n"]
    return service


@router.get("/status", response_model=N8nStatus)
async def status(principal: CurrentPrincipal, svc: ServicesDep) -> N8nStatus:
    return await _n8n(svc).status(principal)


@router.post("/connect", response_model=N8nStatus)
async def connect(body: N8nConnect, principal: CurrentPrincipal, svc: ServicesDep) -> N8nStatus:
    """Check the key with n8n's ``GET /api/v1/workflows`` and keep URL + key (encrypted)."""
    return await _n8n(svc).connect(principal, body)


@router.delete("/connect", status_code=204)
async def disconnect(principal: CurrentPrincipal, svc: ServicesDep) -> Response:
    await _n8n(svc).disconnect(principal)
    return Response(status_code=204)


@router.get("/workflows", response_model=WorkflowList)
async def workflows(principal: CurrentPrincipal, svc: ServicesDep) -> WorkflowList:
    items = await _n8n(svc).workflows(principal)
    return WorkflowList(items=items, total=len(items))


@router.post("/agents", response_model=AgentOut, status_code=201)
async def register(
    body: RegisterWorkflow, principal: CurrentPrincipal, svc: ServicesDep
) -> AgentOut:
    """Register a workflow as an A2A agent (an ordinary registry entry)."""
    return out(svc, await _n8n(svc).register(principal, body))
