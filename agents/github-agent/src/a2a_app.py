"""A2A server scaffolding shared by the sample agents (each package carries its own copy).

The card comes from the package's AgentCard.json; every interface URL in it is rewritten to
the address this process is reachable at (``PUBLIC_URL``, else ``http://HOST:PORT``). One
Starlette app serves the card, JSON-RPC at ``/`` and HTTP+JSON, both with v0.3 compatibility.

An agent subclasses :class:`SkillExecutor` and implements ``handle(inbound, reply)``; the base
class turns each request into a task and streams what ``reply`` is given as artifact chunks.
"""

from __future__ import annotations

import json
import logging
import os
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2a.helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    create_agent_card_routes,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCard, AgentInterface
from google.protobuf import json_format
from starlette.applications import Starlette

log = logging.getLogger(__name__)

# Interfaces every sample agent offers, all at the same base URL: JSON-RPC at "/", HTTP+JSON at
# "/message:send" (v1.0) and "/v1/message:send" (v0.3). JSON-RPC 0.3 comes first among the
# legacy entries so v0.3 clients read it as the card's primary `url`.
INTERFACES = (("JSONRPC", "1.0"), ("HTTP+JSON", "1.0"), ("JSONRPC", "0.3"), ("HTTP+JSON", "0.3"))


class AgentFailure(Exception):
    """A failure the user can act on; its message becomes the failed task's status text."""


def public_url(*, default_port: int) -> str:
    """The base URL clients should use: ``PUBLIC_URL`` or one built from ``HOST``/``PORT``."""
    explicit = os.environ.get("PUBLIC_URL", "").strip()
    if explicit:
        return explicit.rstrip("/") + "/"
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", str(default_port)))
    # A wildcard bind address is not something a client can dial.
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}/"


def load_card(card_path: Path, *, url: str) -> AgentCard:
    """Parse AgentCard.json (A2A v1.0 JSON) and point every interface at ``url``."""
    raw = json.loads(card_path.read_text(encoding="utf-8"))
    card = json_format.ParseDict(raw, AgentCard(), ignore_unknown_fields=True)
    del card.supported_interfaces[:]
    for binding, version in INTERFACES:
        card.supported_interfaces.append(
            AgentInterface(url=url, protocol_binding=binding, protocol_version=version)
        )
    return card


@dataclass
class InboundFile:
    """A document attached to the request, as bytes or as a URL still to be fetched."""

    name: str
    media_type: str
    content: bytes | None = None
    url: str | None = None


@dataclass
class Inbound:
    """What the user sent, flattened out of the A2A message."""

    text: str
    context_id: str
    task_id: str
    files: list[InboundFile] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_context(cls, context: RequestContext) -> Inbound:
        texts: list[str] = []
        files: list[InboundFile] = []
        data: list[dict[str, Any]] = []
        message = context.message
        metadata = dict(context.metadata)
        if message is not None:
            metadata.update(json_format.MessageToDict(message.metadata))
            for part in message.parts:
                kind = part.WhichOneof("content")
                if kind == "text":
                    texts.append(part.text)
                elif kind == "raw":
                    files.append(
                        InboundFile(
                            name=part.filename or "document",
                            media_type=part.media_type,
                            content=part.raw,
                        )
                    )
                elif kind == "url":
                    files.append(
                        InboundFile(
                            name=part.filename or part.url.rsplit("/", 1)[-1],
                            media_type=part.media_type,
                            url=part.url,
                        )
                    )
                elif kind == "data":
                    value = json_format.MessageToDict(part.data)
                    if isinstance(value, dict):
                        data.append(value)
        return cls(
            text="\n".join(texts).strip(),
            context_id=context.context_id or "",
            task_id=context.task_id or "",
            files=files,
            data=data,
            metadata=metadata,
        )


class Reply:
    """Streams one task's answer: progress as status updates, content as artifact chunks."""

    def __init__(self, updater: TaskUpdater) -> None:
        self._updater = updater
        self._text_started = False
        self.text_parts: list[str] = []

    async def progress(self, text: str) -> None:
        await self._updater.start_work(self._updater.new_agent_message([new_text_part(text)]))

    async def write(self, text: str) -> None:
        """Append ``text`` to the answer artifact (first call creates it)."""
        if not text:
            return
        self.text_parts.append(text)
        await self._updater.add_artifact(
            [new_text_part(text, media_type="text/markdown")],
            artifact_id="answer",
            name="answer",
            append=self._text_started,
            last_chunk=False,
        )
        self._text_started = True

    async def data(self, name: str, value: Any) -> None:
        """Attach structured results (findings, citations, listings) as their own artifact."""
        await self._updater.add_artifact(
            [new_data_part(value, media_type="application/json")],
            artifact_id=name,
            name=name,
            last_chunk=True,
        )

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    async def finish(self) -> None:
        if self._text_started:
            await self._updater.add_artifact(
                [new_text_part("")], artifact_id="answer", append=True, last_chunk=True
            )
        await self._updater.complete()

    async def fail(self, text: str) -> None:
        await self._updater.failed(self._updater.new_agent_message([new_text_part(text)]))


class SkillExecutor(AgentExecutor):
    """Runs ``handle`` for each request inside a task that streams its progress."""

    @abstractmethod
    async def handle(self, inbound: Inbound, reply: Reply) -> None: ...

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        if context.current_task is None and context.message is not None:
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        reply = Reply(updater)
        await reply.progress("Working on it…")
        try:
            await self.handle(Inbound.from_context(context), reply)
        except AgentFailure as exc:
            await reply.fail(str(exc))
            return
        await reply.finish()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def build_app(executor: AgentExecutor, card: AgentCard) -> Starlette:
    handler = DefaultRequestHandler(
        agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card
    )
    # The card route goes first: the REST routes mount "/{tenant}", which would shadow it.
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
        *create_rest_routes(handler, enable_v0_3_compat=True),
    ]
    return Starlette(routes=routes)


def serve(
    make_executor: Callable[[], AgentExecutor], *, package_dir: Path, default_port: int
) -> None:
    """Entry point used by each agent's ``src/main.py``."""
    import uvicorn

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper())
    card = load_card(package_dir / "AgentCard.json", url=public_url(default_port=default_port))
    app = build_app(make_executor(), card)
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", str(default_port)))
    log.info("serving %s on %s:%s", card.name, host, port)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("LOG_LEVEL", "info").lower())
