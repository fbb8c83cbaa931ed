from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from nasiko.api.deps import ClientIp, CurrentPrincipal, ServicesDep
from nasiko.core.registry.models import Grant, NewGrant

router = APIRouter(prefix="/registries/{key}/grants", tags=["access"])


@router.get("", response_model=list[Grant])
async def list_grants(key: str, principal: CurrentPrincipal, svc: ServicesDep) -> list[Grant]:
    return await svc.registry.grants(principal, key)


@router.post("", response_model=Grant, status_code=201)
async def grant(
    key: str, body: NewGrant, principal: CurrentPrincipal, svc: ServicesDep, ip: ClientIp
) -> Grant:
    return await svc.registry.grant(principal, key, body, source_ip=ip)


@router.delete("", status_code=204)
async def revoke(
    key: str,
    principal: CurrentPrincipal,
    svc: ServicesDep,
    ip: ClientIp,
    grantee: str = Query(..., description="Username/id, or agent slug/id."),
    grantee_type: Literal["user", "agent"] = Query("user"),
) -> Response:
    await svc.registry.revoke(
        principal, key, grantee=grantee, grantee_type=grantee_type, source_ip=ip
    )
    return Response(status_code=204)
