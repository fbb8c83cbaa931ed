from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from nasiko.api.deps import ServicesDep, Superuser
from nasiko.core.models import AuditEntry, Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntry])
async def list_audit(
    _: Superuser,
    svc: ServicesDep,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    actor_id: str | None = None,
    action: str | None = Query(None, description="Exact action, or a prefix like 'login'."),
    target_id: str | None = None,
    outcome: str | None = Query(None, pattern="^(success|failure)$"),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEntry]:
    items, total = await svc.storage.audit.list(
        limit=limit,
        offset=offset,
        actor_id=actor_id,
        action=action,
        target_id=target_id,
        outcome=outcome,
        since=since,
        until=until,
    )
    return Page(items=items, total=total, limit=limit, offset=offset)
