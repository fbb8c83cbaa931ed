"""A tiny in-memory `RegistryView` for tests and benchmarks (the real one follows registry
events). Same visibility rules as the registry:

* the owner and superusers always see an agent;
* ``public``: every authenticated user (agents need a grant);
* ``shared`` / ``private``: only users or agents holding a grant;
* a grant may be limited to skills: then ``can_access(..., skill=s)`` is true only for those
  skills, and false for a request naming no skill (it could reach any skill); ``can_see``
  stays true.

    view = StaticRegistryView()
    view.add(route)
    view.grant("user", user_id, route.agent_id, skills=["echo"])
    svc.extensions["registry_view"] = view
    svc.auth.agent_resolver = view.resolve_agent_token   # nsa_ tokens added with add_agent_token
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute

__all__ = ["StaticRegistryView", "route_for"]


def route_for(
    slug: str,
    endpoints: Iterable[str],
    card: dict[str, Any],
    *,
    owner_id: str = "owner",
    visibility: str = "public",
    agent_id: str | None = None,
    rate_limit: float | None = None,
) -> AgentRoute:
    return AgentRoute(
        agent_id=agent_id or f"agent-{slug}",
        slug=slug,
        name=str(card.get("name", slug)),
        owner_id=owner_id,
        visibility=visibility,
        status="running",
        endpoints=tuple(endpoints),
        card=card,
        rate_limit=rate_limit,
    )


class StaticRegistryView:
    def __init__(self, routes: Iterable[AgentRoute] = ()) -> None:
        self._routes: dict[str, AgentRoute] = {r.slug: r for r in routes}
        # (principal kind, principal id, agent id) -> allowed skills (None: all)
        self._grants: dict[tuple[str, str, str], frozenset[str] | None] = {}
        self._agent_tokens: dict[str, Principal] = {}

    # ----------------------------------------------------------------- RegistryView

    def route(self, slug: str) -> AgentRoute | None:
        return self._routes.get(slug)

    def _grant(self, principal: Any, route: AgentRoute) -> frozenset[str] | bool:
        """True: unconditional access; False: none; a set: those skills only."""
        if principal.is_superuser or (principal.kind == "user" and principal.id == route.owner_id):
            return True
        key = (principal.kind, principal.id, route.agent_id)
        if key in self._grants:
            skills = self._grants[key]
            return True if skills is None else skills
        return route.visibility == "public" and principal.kind == "user"

    def can_see(self, principal: Any, route: AgentRoute) -> bool:
        return self._grant(principal, route) is not False

    def can_access(self, principal: Any, route: AgentRoute, *, skill: str | None = None) -> bool:
        grant = self._grant(principal, route)
        if isinstance(grant, bool):
            return grant
        return skill is not None and skill in grant

    def visible(self, principal: Any) -> list[AgentRoute]:
        return [r for r in self._routes.values() if self.can_see(principal, r)]

    # ----------------------------------------------------------------- test controls

    def add(self, route: AgentRoute) -> AgentRoute:
        self._routes[route.slug] = route
        return route

    def remove(self, slug: str) -> None:
        self._routes.pop(slug, None)

    def grant(
        self, kind: str, principal_id: str, agent_id: str, *, skills: Iterable[str] | None = None
    ) -> None:
        self._grants[(kind, principal_id, agent_id)] = (
            frozenset(skills) if skills is not None else None
        )

    def revoke(self, kind: str, principal_id: str, agent_id: str) -> None:
        self._grants.pop((kind, principal_id, agent_id), None)

    def add_agent_token(self, token: str, agent_id: str, name: str) -> None:
        self._agent_tokens[token] = Principal(kind="agent", id=agent_id, name=name)

    async def resolve_agent_token(self, token: str) -> Principal | None:
        return self._agent_tokens.get(token)

    # ----------------------------------------------------------------- file form (bench)

    @classmethod
    def from_file(cls, path: str | Path) -> StaticRegistryView:
        """Routes from JSON: ``{"routes": [{"slug", "endpoints", "card", ...}]}``."""
        doc = json.loads(Path(path).read_text())
        view = cls()
        for item in doc.get("routes", []):
            view.add(
                route_for(
                    item["slug"],
                    item["endpoints"],
                    item["card"],
                    owner_id=item.get("owner_id", "owner"),
                    visibility=item.get("visibility", "public"),
                    agent_id=item.get("agent_id"),
                    rate_limit=item.get("rate_limit"),
                )
            )
        return view
