"""Traces: list, one trace as a span tree, per-agent summary, roll-ups.

Who sees what (`TraceService.visibility`): superusers see every trace; other users see the
traces of calls they made (spans carrying their user id) and traces touching agents they own.
Agent tokens may export spans but not read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query

from nasiko.api.deps import CurrentPrincipal, ServicesDep
from nasiko.core.models import Page
from nasiko.core.observability.models import (
    AgentSummary,
    Rollup,
    TraceFilter,
    TraceSummary,
    TraceTree,
)
from nasiko.core.observability.service import TraceService
from nasiko.errors import Unavailable

router = APIRouter(prefix="/traces", tags=["traces"])


def _service(svc: ServicesDep) -> TraceService:
    service: TraceService | None = svc.extensions.get("traces")
    if service is None:
        raise Unavailable("tracing is not set up on this platform")
    return service


@router.get("", response_model=Page[TraceSummary])
async def list_traces(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    agent: str | None = Query(None, description="Agent slug taking part in the trace."),
    session: str | None = Query(None, description="Session (A2A context) id."),
    user: str | None = Query(None, description="User id of the caller."),
    since: datetime | None = Query(None, description="Spans starting at or after this time."),
    until: datetime | None = Query(None, description="Spans starting before this time."),
    status: Literal["ok", "error"] | None = Query(None, description="error: any span failed."),
    min_duration_ms: float | None = Query(None, ge=0),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Page[TraceSummary]:
    service = _service(svc)
    flt = TraceFilter(
        agent=agent,
        session_id=session,
        user_id=user,
        since=since,
        until=until,
        status=status,
        min_duration_ms=min_duration_ms,
    )
    vis = await service.visibility(principal)
    return await service.list_traces(flt, vis, limit=limit, offset=offset)


@router.get("/summary", response_model=list[AgentSummary])
async def summary(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    since: datetime | None = Query(None, description="Default: the last 24 hours."),
    until: datetime | None = None,
) -> list[AgentSummary]:
    service = _service(svc)
    return await service.summary(await service.visibility(principal), since=since, until=until)


@router.get("/rollups", response_model=list[Rollup])
async def rollups(
    principal: CurrentPrincipal,
    svc: ServicesDep,
    by: Literal["trace", "session", "user", "agent"] = Query("agent"),
    since: datetime | None = Query(None, description="Default: the last 24 hours."),
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[Rollup]:
    service = _service(svc)
    vis = await service.visibility(principal)
    return await service.rollup(by, vis, since=since, until=until, limit=limit)


@router.get("/{trace_id}", response_model=TraceTree)
async def get_trace(principal: CurrentPrincipal, svc: ServicesDep, trace_id: str) -> TraceTree:
    service = _service(svc)
    return await service.get_trace(trace_id, await service.visibility(principal))
