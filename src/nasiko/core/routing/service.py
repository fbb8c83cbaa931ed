"""RouterService: the router index kept in step with the registry, and the access rules.

The index is fed by the in-memory registry view (which follows registry events), so a
registered, changed or deleted agent is re-ranked within a second on every replica. Every
query is filtered by the same visibility rule as the API and gateway: nobody is ever routed
to an agent they may not see.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute
from nasiko.core.routing.index import RouterConfig, RouterIndex
from nasiko.core.routing.models import RouteResult
from nasiko.errors import InvalidInput

log = logging.getLogger(__name__)
ROUTABLE = ("running", "registered", "unhealthy")


class RouterService:
    def __init__(
        self, view: Any, *, index: RouterIndex | None = None, threshold: float | None = None
    ) -> None:
        self.view = view
        config = RouterConfig() if threshold is None else RouterConfig(threshold=threshold)
        self.index = index or RouterIndex(config=config)
        self._ready = asyncio.Event()
        self._starting: asyncio.Task[None] | None = None

    async def ensure_started(self) -> None:
        """Builds the index once, on first use (processes that never route pay nothing)."""
        if self._starting is None:
            self._starting = asyncio.create_task(self.start())
        await asyncio.shield(self._starting)

    async def start(self) -> None:
        self.view.listeners.append(self._on_change)
        routes = [r for r in self.view.all() if r.status in ROUTABLE]
        # Embedding every card is CPU work: keep the event loop answering meanwhile.
        await asyncio.to_thread(self.index.upsert_many, [(r.agent_id, r.card) for r in routes])
        self._ready.set()
        log.info("router index holds %d agents", len(self.index))

    async def _on_change(self, kind: str, route: AgentRoute | None) -> None:
        if route is None:
            return
        if kind == "agent.deleted" or route.status not in ROUTABLE:
            self.index.discard(route.agent_id)
        elif kind in ("agent.created", "agent.updated"):
            await asyncio.to_thread(self.index.upsert, route.agent_id, route.card)

    async def route(
        self,
        principal: Principal,
        query: str,
        *,
        top_k: int = 3,
        sticky_agent_id: str | None = None,
    ) -> RouteResult:
        if not query.strip():
            raise InvalidInput("the query is empty", details=[{"field": "query"}])
        await self.ensure_started()

        def allowed(agent_id: str) -> bool:
            route = self.view.by_id(agent_id)
            return (
                route is not None
                and route.status in ROUTABLE
                and self.view.can_see(principal, route)
            )

        return await self.index.aroute(
            query, top_k=top_k, allowed=allowed, sticky_agent_id=sticky_agent_id
        )

    def slug_of(self, agent_id: str) -> str | None:
        route = self.view.by_id(agent_id)
        return route.slug if route else None
