"""Composition for observability: build the TraceService (and forwarder) for a Services.

    register(svc)   # inside `open_services(...)`, before the listeners are built

puts into ``svc.extensions``:

- ``traces``: the TraceService;
- ``otlp_forwarder``: an OtlpForwarder when ``settings.observability.forward_endpoint`` is set;
- ``background``: + the retention job and the gauge sampler (``async def (stop_event)``);
- ``closers``: + a final flush of the span buffer and of the forwarder;
- ``counters["spans"]``: the stored span count, for ``/api/v1/status``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.exceptions import RedisError

from nasiko.core.models import Principal
from nasiko.core.observability.prices import PriceTable
from nasiko.core.observability.service import TraceService
from nasiko.observability import metrics
from nasiko.observability.forward import OtlpForwarder
from nasiko.storage.sql.repos.traces import SqlTraceRepo

GAUGE_INTERVAL = 5.0


def _owned_agents(svc: Any) -> Any:
    async def owned(principal: Principal) -> list[str]:
        view = svc.extensions.get("registry_view")
        if view is None:
            return []
        return [r.slug for r in view.visible(principal) if r.owner_id == principal.id]

    return owned


def build_service(svc: Any, **options: Any) -> TraceService:
    obs = svc.settings.observability
    return TraceService(
        SqlTraceRepo(svc.storage.engine),
        PriceTable.load(obs.model_prices),
        retention_days=obs.retention_days,
        owned_agents=_owned_agents(svc),
        on_stored=metrics.SPANS_STORED.inc,
        on_dropped=metrics.SPANS_DROPPED.inc,
        **options,
    )


def register(svc: Any, **options: Any) -> TraceService:
    """Idempotent: a second call returns the service already registered."""
    existing: TraceService | None = svc.extensions.get("traces")
    if existing is not None:
        return existing
    service = build_service(svc, **options)
    svc.extensions["traces"] = service
    closers: list[Any] = svc.extensions.setdefault("closers", [])
    background: list[Any] = svc.extensions.setdefault("background", [])
    endpoint = svc.settings.observability.forward_endpoint
    if endpoint:
        forwarder = OtlpForwarder(endpoint, on_dropped=metrics.FORWARD_DROPPED.inc)
        svc.extensions["otlp_forwarder"] = forwarder
        closers.append(forwarder.close)
    closers.append(service.close)
    background.append(service.run_retention)
    background.append(_gauge_sampler(svc, service))
    svc.extensions.setdefault("counters", {})["spans"] = service.repo.count
    return service


def _gauge_sampler(svc: Any, service: TraceService) -> Any:
    async def sample(stop: asyncio.Event) -> None:
        while not stop.is_set():
            metrics.SPAN_BUFFER.set(service.pending)
            with contextlib.suppress(RedisError, OSError):  # an outage shows in /readyz
                metrics.QUEUE_DEPTH.labels(queue="deploy").set(await svc.queue.depth())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), GAUGE_INTERVAL)

    return sample
