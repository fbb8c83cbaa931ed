"""RegistryService: the registry's use cases, with access checks and audit on every change."""

from __future__ import annotations

import builtins
import re
import uuid
from typing import Any, Protocol

import httpx

from nasiko.a2a import agent_origin, fetch_card, normalize_card, rewrite_card_urls, to_v03_card
from nasiko.core.audit import AuditService
from nasiko.core.models import Page, Principal, utcnow
from nasiko.core.ports import Event, EventBus, UserRepo
from nasiko.core.registry import access
from nasiko.core.registry.models import (
    Agent,
    AgentVersion,
    Grant,
    NewGrant,
    RegisterAgent,
    UpdateAgent,
)
from nasiko.core.security import AGENT_TOKEN_PREFIX, hash_token, new_opaque_token
from nasiko.errors import Conflict, Forbidden, InvalidInput, NotFound

TOPIC = "registry"


class RegistryRepo(Protocol):
    async def add(
        self, agent: Agent, *, card_original: dict[str, Any] | None, version: AgentVersion
    ) -> Agent: ...
    async def update(self, agent_id: str, **fields: Any) -> None: ...
    async def add_version(
        self, version: AgentVersion, *, make_current: bool, extra: dict[str, Any] | None = None
    ) -> None: ...
    async def soft_delete(self, agent_id: str) -> None: ...
    async def get(self, key: str, *, include_deleted: bool = False) -> Agent | None: ...
    async def slug_taken(self, slug: str) -> bool: ...
    async def list(
        self,
        principal: Principal,
        *,
        limit: int,
        offset: int,
        owner: str | None = None,
        visibility: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        q: str | None = None,
    ) -> tuple[builtins.list[tuple[Agent, float | None]], int]: ...
    async def versions(self, agent_id: str) -> builtins.list[AgentVersion]: ...
    async def version(self, agent_id: str, version: int) -> AgentVersion | None: ...
    async def next_version(self, agent_id: str) -> int: ...
    async def grants_for(self, agent_id: str) -> builtins.list[Grant]: ...
    async def put_grant(self, grant: Grant) -> Grant: ...
    async def delete_grant(self, agent_id: str, grantee_type: str, grantee_id: str) -> bool: ...
    async def add_agent_token(
        self,
        *,
        token_id: str,
        agent_id: str,
        token_hash: str,
        prefix: str,
        keep_previous: bool = False,
    ) -> None: ...
    async def revoke_agent_tokens(
        self, agent_id: str, *, only_hash: str | None = None, except_hash: str | None = None
    ) -> None: ...
    async def agent_for_token(self, token_hash: str) -> Agent | None: ...
    async def count(self) -> int: ...
    async def get_deployment(self, agent_id: str) -> dict[str, Any] | None: ...
    async def all_live(self) -> builtins.list[tuple[Agent, builtins.list[Grant]]]: ...


def slug_from(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "agent"


class RegistryService:
    def __init__(
        self,
        *,
        repo: RegistryRepo,
        users: UserRepo,
        events: EventBus,
        audit: AuditService,
        http: httpx.AsyncClient,
        gateway_url: str,
        card_timeout: float = 5.0,
    ) -> None:
        self.repo = repo
        self.users = users
        self.events = events
        self.audit = audit
        self.http = http
        self.gateway_url = gateway_url.rstrip("/")
        self.card_timeout = card_timeout
        # Hooks the deploy layer sets: stop what runs an agent before it is deleted.
        self.on_delete: list[Any] = []

    async def _publish(self, kind: str, agent_id: str, **data: Any) -> None:
        await self.events.publish(Event(TOPIC, kind, {"agent_id": agent_id, **data}))

    # ------------------------------------------------------------------ lookups

    async def get_visible(self, principal: Principal, key: str) -> Agent:
        """The agent if the caller may see it; NotFound otherwise (existence never leaks)."""
        agent = await self.repo.get(key)
        if agent is None:
            raise NotFound(f"no agent '{key}'")
        grants = await self.repo.grants_for(agent.id) if agent.visibility == "shared" else []
        if not access.can_see(
            principal,
            owner_id=agent.owner_id,
            visibility=agent.visibility,
            agent_id=agent.id,
            grants=grants,
        ):
            raise NotFound(f"no agent '{key}'")
        return agent

    async def get_managed(self, principal: Principal, key: str) -> Agent:
        agent = await self.get_visible(principal, key)
        if not access.can_manage(principal, agent.owner_id):
            raise Forbidden(f"only the owner of '{agent.slug}' or a superuser can do that")
        return agent

    async def unique_slug(self, wanted: str | None, name: str) -> str:
        if wanted:
            if await self.repo.slug_taken(wanted):
                raise Conflict(
                    f"the slug '{wanted}' is taken; choose another", details=[{"field": "slug"}]
                )
            return wanted
        base = slug_from(name)
        slug, n = base, 2
        while await self.repo.slug_taken(slug):
            suffix = f"-{n}"
            slug = base[: 63 - len(suffix)] + suffix
            n += 1
        return slug

    # ------------------------------------------------------------------ register

    async def register(
        self, principal: Principal, body: RegisterAgent, *, source_ip: str | None = None
    ) -> Agent:
        if principal.kind != "user":
            raise Forbidden("agents cannot register agents")
        if (body.url is None) == (body.card is None):
            raise InvalidInput(
                "give either 'url' (the card is fetched from it) or 'card'",
                details=[{"field": "url"}, {"field": "card"}],
            )
        if body.url is not None:
            if not re.match(r"^https?://", body.url):
                raise InvalidInput(
                    "url must start with http:// or https://", details=[{"field": "url"}]
                )
            card, fetched_from = await fetch_card(
                body.url, client=self.http, timeout=self.card_timeout
            )
            original: dict[str, Any] | None = None
            source = {"kind": "url", "url": body.url, "card_url": fetched_from}
        else:
            assert body.card is not None
            card = normalize_card(body.card, require_interface=True)
            original = body.card
            source = {"kind": "card"}
        origin = agent_origin(card) or (body.url.rstrip("/") if body.url else None)
        return await self.create(
            principal,
            card=card,
            card_original=original,
            source=source,
            slug=body.slug,
            visibility=body.visibility,
            tags=body.tags or [],
            endpoints=[origin] if origin else [],
            status="running" if body.url else "registered",
            source_ip=source_ip,
        )

    async def create(
        self,
        principal: Principal,
        *,
        card: dict[str, Any],
        card_original: dict[str, Any] | None,
        source: dict[str, Any],
        slug: str | None,
        visibility: str,
        tags: list[str],
        endpoints: list[str],
        status: str,
        runtime: str | None = None,
        artifact: str | None = None,
        source_ip: str | None = None,
        agent_id: str | None = None,
    ) -> Agent:
        now = utcnow()
        agent = Agent(
            id=agent_id or str(uuid.uuid4()),
            slug=await self.unique_slug(slug, card["name"]),
            name=card["name"],
            description=card.get("description", ""),
            owner_id=principal.id,
            visibility=visibility,  # type: ignore[arg-type]
            tags=tags,
            status=status,  # type: ignore[arg-type]
            endpoints=endpoints,
            current_version=1,
            card=card,
            source=source,
            runtime=runtime,
            created_at=now,
            updated_at=now,
        )
        version = AgentVersion(
            agent_id=agent.id,
            version=1,
            card=card,
            card_original=card_original,
            source=source,
            artifact=artifact,
            created_by=principal.id,
            created_at=now,
            note="registered",
        )
        await self.repo.add(agent, card_original=card_original, version=version)
        await self.audit.record(
            "agent.registered",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            source_ip=source_ip,
            details={"slug": agent.slug, "source": source.get("kind")},
        )
        await self._publish("agent.created", agent.id)
        return agent

    # ------------------------------------------------------------------ read

    async def list(
        self, principal: Principal, *, limit: int, offset: int, **filters: Any
    ) -> Page[Agent]:
        rows, total = await self.repo.list(principal, limit=limit, offset=offset, **filters)
        return Page(items=[a for a, _ in rows], total=total, limit=limit, offset=offset)

    async def search(
        self, principal: Principal, q: str, *, limit: int, offset: int = 0
    ) -> tuple[builtins.list[tuple[Agent, float]], int]:
        if not q.strip():
            raise InvalidInput("give a search query", details=[{"field": "q"}])
        rows, total = await self.repo.list(principal, limit=limit, offset=offset, q=q)
        return [(a, s or 0.0) for a, s in rows], total

    def public_card(self, agent: Agent, *, legacy: bool = False) -> dict[str, Any]:
        """The card as A2A clients must see it: every URL points at the gateway."""
        card = rewrite_card_urls(agent.card, f"{self.gateway_url}/agents/{agent.slug}")
        return to_v03_card(card) if legacy else card

    async def versions(self, principal: Principal, key: str) -> builtins.list[AgentVersion]:
        agent = await self.get_visible(principal, key)
        return await self.repo.versions(agent.id)

    async def version(self, principal: Principal, key: str, number: int) -> AgentVersion:
        agent = await self.get_visible(principal, key)
        found = await self.repo.version(agent.id, number)
        if found is None:
            raise NotFound(f"agent '{agent.slug}' has no version {number}")
        return found

    # ------------------------------------------------------------------ change

    async def update(
        self, principal: Principal, key: str, body: UpdateAgent, *, source_ip: str | None = None
    ) -> Agent:
        agent = await self.get_managed(principal, key)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            return agent
        await self.repo.update(agent.id, **changes)
        await self.audit.record(
            "agent.visibility_changed" if "visibility" in changes else "agent.updated",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            source_ip=source_ip,
            details={"changes": changes, "before": {k: getattr(agent, k) for k in changes}},
        )
        await self._publish("agent.updated", agent.id)
        updated = await self.repo.get(agent.id)
        assert updated is not None
        return updated

    async def new_version(
        self,
        principal: Principal | None,
        agent: Agent,
        *,
        card: dict[str, Any],
        card_original: dict[str, Any] | None,
        source: dict[str, Any] | None,
        artifact: str | None,
        note: str,
        make_current: bool = True,
        extra: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> AgentVersion:
        record = AgentVersion(
            agent_id=agent.id,
            version=version or await self.repo.next_version(agent.id),
            card=card,
            card_original=card_original,
            source=source,
            artifact=artifact,
            note=note,
            created_by=principal.id if principal else None,
            created_at=utcnow(),
        )
        await self.repo.add_version(record, make_current=make_current, extra=extra)
        await self._publish("agent.updated", agent.id)
        return record

    async def set_runtime_state(self, agent_id: str, **fields: Any) -> None:
        """Status, endpoints, deployment: written by the deploy worker."""
        await self.repo.update(agent_id, **fields)
        await self._publish("agent.updated", agent_id)

    async def delete(self, principal: Principal, key: str, *, source_ip: str | None = None) -> None:
        agent = await self.get_managed(principal, key)
        for hook in self.on_delete:
            await hook(agent)
        await self.repo.soft_delete(agent.id)
        await self.audit.record(
            "agent.deleted",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            source_ip=source_ip,
            details={"slug": agent.slug},
        )
        await self._publish("agent.deleted", agent.id, slug=agent.slug)

    # ------------------------------------------------------------------ grants

    async def _resolve_grantee(self, body: NewGrant) -> tuple[str, str]:
        if body.grantee_type == "user":
            user = await self.users.get(body.grantee) or await self.users.get_by_username(
                body.grantee
            )
            if user is None:
                raise NotFound(f"no user '{body.grantee}'", details=[{"field": "grantee"}])
            return user.id, user.username
        target = await self.repo.get(body.grantee)
        if target is None:
            raise NotFound(f"no agent '{body.grantee}'", details=[{"field": "grantee"}])
        return target.id, target.slug

    async def grants(self, principal: Principal, key: str) -> builtins.list[Grant]:
        agent = await self.get_managed(principal, key)
        return await self.repo.grants_for(agent.id)

    async def grant(
        self, principal: Principal, key: str, body: NewGrant, *, source_ip: str | None = None
    ) -> Grant:
        agent = await self.get_managed(principal, key)
        grantee_id, grantee_name = await self._resolve_grantee(body)
        if body.skills is not None:
            known = {s.get("id") for s in agent.card.get("skills") or []}
            unknown = [s for s in body.skills if s not in known]
            if unknown:
                raise InvalidInput(
                    f"'{agent.slug}' has no skill {', '.join(unknown)}; its skills are "
                    f"{', '.join(sorted(k for k in known if k)) or 'none'}",
                    details=[{"field": "skills"}],
                )
        if body.expires_at is not None and body.expires_at <= utcnow():
            raise InvalidInput("expiry must be in the future", details=[{"field": "expires_at"}])
        grant = Grant(
            id=str(uuid.uuid4()),
            agent_id=agent.id,
            grantee_type=body.grantee_type,
            grantee_id=grantee_id,
            skills=body.skills,
            expires_at=body.expires_at,
            created_by=principal.id,
            created_at=utcnow(),
        )
        await self.repo.put_grant(grant)
        await self.audit.record(
            "grant.created",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            source_ip=source_ip,
            details={
                "grantee_type": body.grantee_type,
                "grantee": grantee_name,
                "skills": body.skills,
                "expires_at": body.expires_at.isoformat() if body.expires_at else None,
            },
        )
        await self._publish("grants.changed", agent.id)
        return grant

    async def revoke(
        self,
        principal: Principal,
        key: str,
        *,
        grantee: str,
        grantee_type: str,
        source_ip: str | None = None,
    ) -> None:
        agent = await self.get_managed(principal, key)
        grantee_id, grantee_name = await self._resolve_grantee(
            NewGrant(grantee=grantee, grantee_type=grantee_type)
        )  # type: ignore[arg-type]
        if not await self.repo.delete_grant(agent.id, grantee_type, grantee_id):
            raise NotFound(f"{grantee_type} '{grantee}' has no grant on '{agent.slug}'")
        await self.audit.record(
            "grant.revoked",
            actor=principal,
            target_type="agent",
            target_id=agent.id,
            source_ip=source_ip,
            details={"grantee_type": grantee_type, "grantee": grantee_name},
        )
        await self._publish("grants.changed", agent.id)

    # ------------------------------------------------------------------ agent identity

    async def issue_agent_token_for(self, agent_id: str, *, keep_previous: bool = False) -> str:
        """A new identity token (the agent may not be registered yet: deploys issue it first).

        A deploy keeps the running version's token alive (``keep_previous``) until the new
        version is registered; see `retire_agent_tokens`.
        """
        token = new_opaque_token(AGENT_TOKEN_PREFIX)
        await self.repo.add_agent_token(
            token_id=str(uuid.uuid4()),
            agent_id=agent_id,
            token_hash=hash_token(token),
            prefix=token[:8],
            keep_previous=keep_previous,
        )
        return token

    async def retire_agent_tokens(
        self, agent_id: str, *, keep: str | None = None, only: str | None = None
    ) -> None:
        """Revokes the agent's tokens except ``keep`` (or just ``only``); both are hashes."""
        await self.repo.revoke_agent_tokens(agent_id, except_hash=keep, only_hash=only)
        await self._publish("agent.token", agent_id)

    async def issue_agent_token(self, principal: Principal | None, agent: Agent) -> str:
        """A new identity token for the agent (agent → agent calls, span export)."""
        token = await self.issue_agent_token_for(agent.id)
        if principal is not None:
            await self.audit.record(
                "agent.token_issued", actor=principal, target_type="agent", target_id=agent.id
            )
        await self._publish("agent.token", agent.id)
        return token

    async def resolve_agent_token(self, token: str) -> Principal | None:
        agent = await self.repo.agent_for_token(hash_token(token))
        if agent is None:
            return None
        return Principal(kind="agent", id=agent.id, name=agent.slug)
