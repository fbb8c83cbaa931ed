"""Helpers for the gateway tests: a live API + gateway (PlatformThread) with an in-memory
registry view and a recording chat-log sink; agents, callers and the a2a-sdk client."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.types import a2a_pb2 as pb

from nasiko.a2a.cards import normalize_card
from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute, ChatLogEntry
from nasiko.core.users import NewUser
from nasiko.testing.platform import PlatformThread
from nasiko.testing.registry_view import StaticRegistryView, route_for

SYSTEM = Principal(kind="user", id="system", name="system", role="superuser")


class RecordingSink:
    """A chat-log sink that keeps what it is given (the chat store comes later)."""

    def __init__(self) -> None:
        self.entries: list[ChatLogEntry] = []
        self.fail = False
        self._lock = threading.Lock()

    async def write_batch(self, entries: list[ChatLogEntry]) -> None:
        if self.fail:
            raise ConnectionError("chat store is down")
        with self._lock:
            self.entries.extend(entries)

    def wait_for(self, predicate: Callable[[list[ChatLogEntry]], bool]) -> list[ChatLogEntry]:
        for _ in range(200):
            with self._lock:
                snapshot = list(self.entries)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"chat log never matched; it holds {snapshot}")


@dataclass
class Gateway:
    platform: PlatformThread
    view: StaticRegistryView
    sink: RecordingSink
    users: dict[str, tuple[Principal, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.platform.gateway_url

    @property
    def svc(self) -> Any:
        return self.platform.services

    def user(self, name: str, *, role: str = "user") -> tuple[Principal, str]:
        """A user with an API token (nsk_…); created once per name."""
        if name not in self.users:

            async def make() -> tuple[Principal, str]:
                user = await self.svc.users.create(
                    NewUser(
                        username=name,
                        email=f"{name}@example.com",
                        password="password-123",
                        role=role,
                    ),
                    actor=SYSTEM,
                )
                principal = Principal(kind="user", id=user.id, name=name, role=user.role)
                token = await self.svc.auth.create_api_token(principal, name="t", expires_at=None)
                return principal, token.token

            self.users[name] = self.platform.call(make())
        return self.users[name]

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user(name)[1]}"}

    def add_agent(
        self,
        slug: str,
        agent_url: str | list[str],
        *,
        card_path: str = "/.well-known/agent-card.json",
        owner: str = "owner",
        visibility: str = "public",
        rate_limit: float | None = None,
        card: dict[str, Any] | None = None,
    ) -> AgentRoute:
        urls = [agent_url] if isinstance(agent_url, str) else agent_url
        for url in urls if card is None else ():
            try:
                card = normalize_card(httpx.get(url + card_path, timeout=10).json())
                break
            except httpx.ConnectError:
                continue  # a replica that is down on purpose
        assert card is not None, "no replica served a card"
        owner_id = self.user(owner)[0].id
        return self.view.add(
            route_for(
                slug,
                urls,
                card,
                owner_id=owner_id,
                visibility=visibility,
                rate_limit=rate_limit,
            )
        )


def start_gateway(settings: Any) -> Iterator[Gateway]:
    with PlatformThread(settings, ["api", "gateway"]) as p:
        view = StaticRegistryView()
        sink = RecordingSink()
        p.services.extensions["registry_view"] = view
        p.services.extensions["chat_log_sink"] = sink
        p.services.auth.agent_resolver = view.resolve_agent_token
        yield Gateway(p, view, sink)


# --------------------------------------------------------------------------- a2a-sdk client

VARIANTS = [
    ("JSONRPC", "1.0"),
    ("JSONRPC", "0.3"),
    ("HTTP+JSON", "1.0"),
    ("HTTP+JSON", "0.3"),
]


@asynccontextmanager
async def sdk_client(
    card_url: str,
    *,
    binding: str,
    version: str,
    streaming: bool,
    headers: dict[str, str] | None = None,
    timeout: float = 30,  # noqa: ASYNC109 - the httpx client's timeout
) -> AsyncIterator[Client]:
    """An a2a-sdk client pinned to one interface of the card served at `card_url`."""
    async with httpx.AsyncClient(timeout=timeout, headers=headers or {}) as http:
        resp = await http.get(card_url)
        resp.raise_for_status()
        card = parse_agent_card(resp.json())
        keep = [
            i
            for i in card.supported_interfaces
            if i.protocol_binding == binding and i.protocol_version.startswith(version)
        ]
        assert keep, f"card offers no {binding} {version}"
        del card.supported_interfaces[:]
        card.supported_interfaces.extend(keep)
        config = ClientConfig(
            httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
        )
        client = ClientFactory(config).create(card)
        try:
            yield client
        finally:
            await client.close()


def user_message(
    text: str, *, task_id: str = "", context_id: str = "", skill: str | None = None
) -> pb.SendMessageRequest:
    message = pb.Message(
        message_id=uuid.uuid4().hex,
        role=pb.Role.ROLE_USER,
        parts=[pb.Part(text=text)],
        task_id=task_id,
        context_id=context_id,
    )
    if skill is not None:
        message.metadata.update({"skill": skill})
    return pb.SendMessageRequest(message=message)


async def collect(client: Client, request: pb.SendMessageRequest) -> list[pb.StreamResponse]:
    return [event async for event in client.send_message(request)]


def reply_text(events: list[pb.StreamResponse]) -> str:
    out = ""
    for e in events:
        if e.HasField("task"):
            out += "".join(p.text for a in e.task.artifacts for p in a.parts)
        if e.HasField("artifact_update"):
            out += "".join(p.text for p in e.artifact_update.artifact.parts)
        if e.HasField("message"):
            out += "".join(p.text for p in e.message.parts)
    return out


def final_state(events: list[pb.StreamResponse]) -> int:
    last = events[-1]
    return last.task.status.state if last.HasField("task") else last.status_update.status.state


def rpc(text: str, *, method: str = "SendMessage", rid: Any = 1, **meta: Any) -> dict[str, Any]:
    """A raw JSON-RPC SendMessage body (v1.0 names unless `method` says otherwise)."""
    message: dict[str, Any] = {
        "messageId": uuid.uuid4().hex,
        "role": "ROLE_USER",
        "parts": [{"text": text}],
    }
    if "/" in method:
        message = {
            "kind": "message",
            "messageId": message["messageId"],
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
        }
    if meta:
        message["metadata"] = meta
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {"message": message}}
