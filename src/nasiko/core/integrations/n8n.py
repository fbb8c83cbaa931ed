"""n8n for a user: connect an instance, list its workflows, register one as an A2A agent.

The instance's API key lives only in the encrypted credential store (kind ``n8n``, the base URL
in its ``meta``). A registered workflow is an ordinary registry agent whose endpoint is the
built-in adapter (`nasiko.integrations.n8n_adapter`); `resolve` is what the adapter asks.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from nasiko.a2a import agent_origin, normalize_card
from nasiko.core.audit import AuditService
from nasiko.core.models import Principal
from nasiko.core.ports import CredentialRepo
from nasiko.core.registry.models import Agent
from nasiko.core.registry.service import RegistryService, slug_from
from nasiko.errors import Forbidden, InvalidInput
from nasiko.integrations.n8n import N8nClient, Trigger, find_trigger, trigger_kinds, workflow_notes
from nasiko.integrations.n8n_adapter import AdapterTarget

KIND = "n8n"


class N8nConnect(BaseModel):
    url: str = Field(description="Base URL of the n8n instance, e.g. https://n8n.example.com")
    api_key: str = Field(description="An n8n API key (Settings > n8n API).")


class N8nStatus(BaseModel):
    connected: bool
    url: str | None = None
    workflows: int | None = None
    connected_at: str | None = None


class N8nWorkflow(BaseModel):
    id: str
    name: str
    active: bool
    triggers: list[str] = Field(description="'webhook' and/or 'chat' trigger nodes present.")
    usable: Literal["chat", "webhook"] | None = Field(
        None, description="The trigger an agent would call (None: the workflow cannot be one)."
    )
    streaming: bool = False
    tags: list[str] = Field(default_factory=list)
    updated_at: str | None = None


class RegisterWorkflow(BaseModel):
    workflow_id: str
    name: str | None = Field(None, description="Agent name (default: the workflow's name).")
    description: str | None = Field(
        None, description="Agent description (default: the workflow's notes)."
    )
    skills: list[str] = Field(default_factory=list, description="Skill names to advertise.")
    slug: str | None = None
    visibility: Literal["private", "shared", "public"] = "private"
    tags: list[str] = Field(default_factory=list)


def _check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "the n8n URL must be http:// or https:// with a host", details=[{"field": "url"}]
        )
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


def _skill(name: str) -> dict[str, Any]:
    sid = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "skill"
    return {"id": sid, "name": name, "description": name, "tags": [sid, "n8n"]}


def _summary(wf: dict[str, Any]) -> N8nWorkflow:
    trigger = find_trigger(wf)
    return N8nWorkflow(
        id=str(wf["id"]),
        name=str(wf.get("name") or wf["id"]),
        active=bool(wf.get("active")),
        triggers=trigger_kinds(wf),
        usable=trigger.kind if trigger else None,
        streaming=bool(trigger and trigger.streaming),
        tags=[str(t.get("name")) for t in wf.get("tags") or [] if isinstance(t, dict)],
        updated_at=wf.get("updatedAt"),
    )


class N8nService:
    def __init__(
        self,
        *,
        client: N8nClient,
        credentials: CredentialRepo,
        registry: RegistryService,
        audit: AuditService,
        adapter_url: str,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.registry = registry
        self.audit = audit
        self.adapter_url = adapter_url.rstrip("/")

    async def _instance(self, principal: Principal) -> tuple[str, str]:
        cred = await self.credentials.get(user_id=principal.id, kind=KIND)
        if cred is None:
            raise InvalidInput(
                "n8n is not connected; run nasiko n8n connect --url URL",
                code="n8n_not_connected",
            )
        return str((cred.meta or {})["url"]), str(cred.secret)

    async def connect(self, principal: Principal, body: N8nConnect) -> N8nStatus:
        if principal.kind != "user":
            raise Forbidden("only users can connect n8n")
        url = _check_url(body.url)
        if not body.api_key.strip():
            raise InvalidInput("give an n8n API key", details=[{"field": "api_key"}])
        workflows = await self.client.workflows(url, body.api_key.strip())
        await self.credentials.put(
            user_id=principal.id,
            kind=KIND,
            name="default",
            secret=body.api_key.strip(),
            meta={"url": url},
        )
        await self.audit.record(
            "n8n.connected",
            actor=principal,
            target_type="user",
            target_id=principal.id,
            details={"url": url},
        )
        status = await self.status(principal)
        status.workflows = len(workflows)
        return status

    async def status(self, principal: Principal) -> N8nStatus:
        cred = await self.credentials.get(user_id=principal.id, kind=KIND)
        if cred is None:
            return N8nStatus(connected=False)
        return N8nStatus(
            connected=True,
            url=(cred.meta or {}).get("url"),
            connected_at=cred.updated_at.isoformat(),
        )

    async def disconnect(self, principal: Principal) -> bool:
        removed = await self.credentials.delete(user_id=principal.id, kind=KIND)
        if removed:
            await self.audit.record(
                "n8n.disconnected", actor=principal, target_type="user", target_id=principal.id
            )
        return removed

    async def workflows(self, principal: Principal) -> list[N8nWorkflow]:
        url, key = await self._instance(principal)
        return [_summary(wf) for wf in await self.client.workflows(url, key)]

    async def register(self, principal: Principal, body: RegisterWorkflow) -> Agent:
        """The workflow as a registry agent served by the adapter."""
        if principal.kind != "user":
            raise Forbidden("agents cannot register agents")
        url, key = await self._instance(principal)
        wf = await self.client.workflow(url, key, body.workflow_id)
        trigger = find_trigger(wf)
        if trigger is None:
            raise InvalidInput(
                f"workflow '{wf.get('name')}' has no Chat Trigger and no POST Webhook node; "
                "add one so Nasiko can call it",
                details=[{"field": "workflow_id"}],
            )
        agent_id = str(uuid.uuid4())
        name = (body.name or str(wf.get("name") or f"n8n {body.workflow_id}")).strip()
        notes = workflow_notes(wf)
        description = body.description or notes or f"The n8n workflow '{wf.get('name')}'."
        skills = [_skill(s) for s in body.skills] or [
            {
                "id": slug_from(str(wf.get("name") or "workflow")),
                "name": str(wf.get("name") or name),
                "description": notes or description,
                "tags": ["n8n", trigger.kind],
            }
        ]
        base = f"{self.adapter_url}/{agent_id}/"
        card = normalize_card(
            {
                "name": name,
                "description": description,
                "version": "1.0.0",
                "supportedInterfaces": [
                    {"url": base, "protocolBinding": b, "protocolVersion": v}
                    for v in ("1.0", "0.3")
                    for b in ("JSONRPC", "HTTP+JSON")
                ],
                "capabilities": {"streaming": True, "pushNotifications": False},
                "defaultInputModes": ["text/plain"],
                "defaultOutputModes": ["text/plain", "application/json"],
                "skills": skills,
            },
            require_interface=True,
        )
        source = {
            "kind": "n8n",
            "n8n_url": url,
            "workflow_id": str(wf.get("id") or body.workflow_id),
            "workflow_name": wf.get("name"),
            "trigger": trigger.kind,
            "trigger_path": trigger.path,
            "trigger_node": trigger.node,
            "streaming": trigger.streaming,
        }
        origin = agent_origin(card)
        return await self.registry.create(
            principal,
            card=card,
            card_original=None,
            source=source,
            slug=body.slug,
            visibility=body.visibility,
            tags=sorted({"n8n", *body.tags}),
            endpoints=[origin] if origin else [],
            status="running",
            agent_id=agent_id,
        )

    async def resolve(self, agent_id: str) -> AdapterTarget | None:
        agent = await self.registry.repo.get(agent_id)
        source = agent.source if agent is not None else None
        if agent is None or not source or source.get("kind") != "n8n" or agent.id != agent_id:
            return None
        trigger = Trigger(
            kind=source["trigger"], node=source.get("trigger_node", ""), path=source["trigger_path"]
        )
        return AdapterTarget(
            agent_id=agent.id,
            revision=f"{agent.updated_at.isoformat()}#{agent.current_version}",
            card=agent.card,
            trigger_kind=trigger.kind,
            trigger_url=trigger.url(source["n8n_url"]),
        )
