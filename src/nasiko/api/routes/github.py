"""/api/v1/github: connect a token, list repositories, deploy one, push webhooks.

No response carries a token: status answers say only whether and as whom GitHub is connected.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.core.deploy.models import Upload
from nasiko.core.integrations.github import (
    CloneRequest,
    GitHubRepo,
    GitHubService,
    GitHubStatus,
    HookSecret,
)
from nasiko.errors import InvalidInput

router = APIRouter(prefix="/github", tags=["github"])


class ConnectBody(BaseModel):
    token: str = Field(description="A GitHub personal access token (classic or fine-grained).")


class RepoList(BaseModel):
    items: list[GitHubRepo]
    total: int


def _gh(svc: ServicesDep) -> GitHubService:
    service: GitHubService = svc.extensions["github_integration"]
    return service


@router.get("/status", response_model=GitHubStatus)
async def status(principal: CurrentPrincipal, svc: ServicesDep) -> GitHubStatus:
    return await _gh(svc).status(principal)


@router.post("/connect", response_model=GitHubStatus)
async def connect(body: ConnectBody, principal: CurrentPrincipal, svc: ServicesDep) -> GitHubStatus:
    """Check the token against GitHub's ``GET /user`` and keep it, encrypted."""
    return await _gh(svc).connect(principal, body.token)


@router.delete("/connect", status_code=204)
async def disconnect(principal: CurrentPrincipal, svc: ServicesDep) -> Response:
    await _gh(svc).disconnect(principal)
    return Response(status_code=204)


@router.get("/repos", response_model=RepoList)
async def repos(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    query: str | None = Query(None, description="Keep names/descriptions containing this."),
) -> RepoList:
    items = await _gh(svc).repos(principal, query=query)
    return RepoList(items=items, total=len(items))


@router.post("/clone", response_model=Upload, status_code=202)
async def clone(body: CloneRequest, principal: CurrentPrincipal, svc: ServicesDep) -> Upload:
    """Deploy OWNER/REPO like a git upload; follow it at /uploads/{id}/events."""
    return await _gh(svc).clone(principal, body)


@router.post("/hooks/{agent}", response_model=HookSecret, status_code=201)
async def create_hook(agent: str, principal: CurrentPrincipal, svc: ServicesDep) -> HookSecret:
    """A (new) push-webhook secret for an agent deployed from git; shown only this once."""
    return await _gh(svc).create_hook(principal, agent)


@router.post("/webhook")
async def webhook(
    request: Request,
    svc: ServicesDep,
    agent: str = Query(..., description="The agent the delivery is for."),
    x_github_event: str = Header("push"),
    x_hub_signature_256: str | None = Header(None),
) -> dict[str, object]:
    """GitHub push deliveries (HMAC ``X-Hub-Signature-256``); a push to the agent's branch
    redeploys it."""
    body = await request.body()
    try:
        payload = json.loads(body) if body else None
    except ValueError as exc:
        raise InvalidInput(
            "the delivery is not JSON; choose content type application/json"
        ) from exc
    upload = await _gh(svc).push(
        agent_key=agent,
        event=x_github_event,
        signature=x_hub_signature_256,
        body=body,
        payload=payload,
    )
    if upload is None:
        return {"redeploy": False}
    return {"redeploy": True, "upload_id": upload.id}
