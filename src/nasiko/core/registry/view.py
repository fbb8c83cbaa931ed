"""The registry as the gateway and router need it on their hot path: routes and grants held
in memory, refreshed from the database when a registry event names an agent (events cross
processes over Redis in server mode), so a lookup never touches the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute, Event, EventBus
from nasiko.core.registry import access
from nasiko.core.registry.models import Agent, Grant

log = logging.getLogger(__name__)
Listener = Callable[[str, AgentRoute | None], Awaitable[None]]


def to_route(agent: Agent) -> AgentRoute:
    return AgentRoute(
        agent_id=agent.id,
        slug=agent.slug,
        name=agent.name,
        owner_id=agent.owner_id,
        visibility=agent.visibility,
        status=agent.status,
        endpoints=tuple(agent.endpoints),
        card=agent.card,
        rate_limit=agent.rate_limit,
    )


class MemoryRegistryView:
    def __init__(self, repo: Any, events: EventBus) -> None:
        self.repo = repo
        self.events = events
        self._by_slug: dict[str, AgentRoute] = {}
        self._by_id: dict[str, AgentRoute] = {}
        self._grants: dict[str, list[Grant]] = {}
        self.listeners: list[Listener] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._unsubscribe = self.events.subscribe("registry", self._on_event)
        await self.reload()

    async def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()

    async def reload(self) -> None:
        rows = await self.repo.all_live()
        async with self._lock:
            self._by_slug.clear()
            self._by_id.clear()
            self._grants.clear()
            for agent, grants in rows:
                route = to_route(agent)
                self._by_slug[route.slug] = route
                self._by_id[route.agent_id] = route
                self._grants[route.agent_id] = grants
        for listener in self.listeners:
            for route in list(self._by_id.values()):
                await listener("agent.created", route)

    async def _on_event(self, event: Event) -> None:
        agent_id = event.data.get("agent_id")
        if not agent_id:
            return
        agent = await self.repo.get(agent_id)
        grants = await self.repo.grants_for(agent_id) if agent else []
        async with self._lock:
            old = self._by_id.pop(agent_id, None)
            if old is not None:
                self._by_slug.pop(old.slug, None)
            route = to_route(agent) if agent else None
            if route is not None:
                self._by_id[agent_id] = route
                self._by_slug[route.slug] = route
                self._grants[agent_id] = grants
            else:
                self._grants.pop(agent_id, None)
        for listener in self.listeners:
            try:
                await listener("agent.deleted" if route is None else event.kind, route or old)
            except Exception:  # a listener's failure must not stop the view updating
                log.exception("registry view listener failed")

    # ------------------------------------------------------------------ RegistryView

    def route(self, slug: str) -> AgentRoute | None:
        return self._by_slug.get(slug)

    def by_id(self, agent_id: str) -> AgentRoute | None:
        return self._by_id.get(agent_id)

    def grants(self, agent_id: str) -> list[Grant]:
        return self._grants.get(agent_id, [])

    def can_see(self, principal: Principal, route: AgentRoute) -> bool:
        return access.can_see(
            principal,
            owner_id=route.owner_id,
            visibility=route.visibility,
            agent_id=route.agent_id,
            grants=self.grants(route.agent_id),
        )

    def can_access(
        self, principal: Principal, route: AgentRoute, *, skill: str | None = None
    ) -> bool:
        return access.can_call_skill(
            principal,
            owner_id=route.owner_id,
            visibility=route.visibility,
            agent_id=route.agent_id,
            grants=self.grants(route.agent_id),
            skill=skill,
        )

    def visible(self, principal: Principal) -> list[AgentRoute]:
        return [r for r in self._by_id.values() if self.can_see(principal, r)]

    def all(self) -> list[AgentRoute]:
        return list(self._by_id.values())
