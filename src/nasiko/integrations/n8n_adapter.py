"""The built-in A2A adapter that makes an n8n workflow an A2A agent.

One ASGI app serves every registered workflow under ``/{agent_id}/``: its card at
``/{agent_id}/.well-known/agent-card.json``, JSON-RPC (v1.0 and v0.3) at ``/{agent_id}/`` and
HTTP+JSON at ``/{agent_id}/message:send``…, all from a2a-sdk 1.3's server routes. A message
becomes one call of the workflow's trigger:

    webhook  POST {n8n}/webhook/{path}        {"sessionId", "chatInput", "taskId", "metadata"}
    chat     POST {n8n}/webhook/{id}/chat     {"action": "sendMessage", "sessionId", "chatInput"}

``sessionId`` is the A2A context id, so n8n's chat memory follows the conversation. The answer
comes back as artifact chunks of one artifact named ``output`` (one chunk per streamed n8n
``item``, or a single chunk), then the task completes. A failing workflow, an n8n error
answer or `timeout` seconds of silence end the task as *failed*, its status message giving
the reason.

Only callers from `trusted_networks` (default: loopback and private ranges, where the gateway
runs) are served, so the adapter is no way around the gateway's grants.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import a2a_pb2 as pb
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from nasiko.a2a.cards import parse_card_proto
from nasiko.errors import NasikoError
from nasiko.integrations.n8n import N8nClient, Output

log = logging.getLogger(__name__)

DEFAULT_TRUSTED = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True, slots=True)
class AdapterTarget:
    """What the adapter needs to serve one registered workflow."""

    agent_id: str
    revision: str  # changes whenever the agent record changes (rebuilds the cached app)
    card: dict[str, Any]
    trigger_kind: str  # "webhook" | "chat"
    trigger_url: str


Resolver = Callable[[str], Awaitable[AdapterTarget | None]]


def _part(out: Output) -> pb.Part:
    if out.text is not None:
        return pb.Part(text=out.text)
    value = struct_pb2.Value()
    ParseDict(out.data, value)
    return pb.Part(data=value, media_type="application/json")


def _message(text: str, *, task_id: str, context_id: str) -> pb.Message:
    return pb.Message(
        message_id=uuid.uuid4().hex,
        role=pb.Role.ROLE_AGENT,
        parts=[pb.Part(text=text)],
        task_id=task_id,
        context_id=context_id,
    )


class WorkflowExecutor(AgentExecutor):
    def __init__(self, target: AdapterTarget, client: N8nClient, *, timeout: float) -> None:
        self.target = target
        self.client = client
        self.timeout = timeout

    def payload(self, context: RequestContext, text: str, context_id: str) -> dict[str, Any]:
        if self.target.trigger_kind == "chat":
            return {"action": "sendMessage", "sessionId": context_id, "chatInput": text}
        metadata: dict[str, Any] = dict(context.metadata or {})
        return {
            "sessionId": context_id,
            "chatInput": text,
            "taskId": context.task_id,
            "metadata": metadata,
        }

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task_id = context.task_id or uuid.uuid4().hex
        context_id = context.context_id or uuid.uuid4().hex
        if context.current_task is None:
            assert context.message is not None
            await event_queue.enqueue_event(
                pb.Task(
                    id=task_id,
                    context_id=context_id,
                    status=pb.TaskStatus(state=pb.TaskState.TASK_STATE_SUBMITTED),
                    history=[context.message],
                )
            )
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.start_work()
        artifact_id = f"output-{task_id}"
        sent = 0
        held: Output | None = None  # one chunk behind, so the last one can say last_chunk

        async def emit(out: Output, *, last: bool) -> None:
            nonlocal sent
            await updater.add_artifact(
                [_part(out)],
                artifact_id=artifact_id,
                name="output",
                append=sent > 0,
                last_chunk=last,
            )
            sent += 1

        try:
            async for out in self.client.run(
                self.target.trigger_url,
                self.payload(context, text, context_id),
                timeout=self.timeout,
            ):
                if held is not None:
                    await emit(held, last=False)
                held = out
            if held is not None:
                await emit(held, last=True)
        except NasikoError as exc:
            log.info("n8n workflow for agent %s failed: %s", self.target.agent_id, exc.message)
            await updater.failed(_message(exc.message, task_id=task_id, context_id=context_id))
            return
        if sent == 0:
            await updater.complete(
                _message("(the workflow returned nothing)", task_id=task_id, context_id=context_id)
            )
            return
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(
            event_queue, context.task_id or uuid.uuid4().hex, context.context_id or ""
        )
        await updater.cancel()


def build_workflow_app(target: AdapterTarget, client: N8nClient, *, timeout: float) -> Starlette:
    """One workflow's A2A server (card, JSON-RPC v1.0 + v0.3, HTTP+JSON)."""
    card = parse_card_proto(target.card)
    handler = DefaultRequestHandler(
        agent_executor=WorkflowExecutor(target, client, timeout=timeout),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )
    # The card and JSON-RPC routes come first: REST adds a catch-all tenant mount.
    return Starlette(
        routes=[
            *create_agent_card_routes(card),
            *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
            *create_rest_routes(handler, enable_v0_3_compat=True),
        ]
    )


class N8nAdapterApp:
    """ASGI dispatcher: ``/{agent_id}/<rest>`` -> that workflow's A2A app (built on first use,
    rebuilt when the agent record changes)."""

    def __init__(
        self,
        resolve: Resolver,
        client: N8nClient,
        *,
        timeout: float = 120.0,
        trusted_networks: Sequence[str] = DEFAULT_TRUSTED,
    ) -> None:
        self.resolve = resolve
        self.client = client
        self.timeout = timeout
        self.trusted = [ipaddress.ip_network(n) for n in trusted_networks]
        self._apps: dict[str, tuple[str, ASGIApp]] = {}

    def _trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            ip = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        route_path = path[len(root) :] if root and path.startswith(root) else path
        agent_id, _, _ = route_path.lstrip("/").partition("/")
        if not self._trusted(scope):
            await _error(403, "forbidden", "call this agent through the Nasiko gateway")(
                scope, receive, send
            )
            return
        target = await self.resolve(agent_id) if agent_id else None
        if target is None:
            self._apps.pop(agent_id, None)  # deleted agents leave no app behind
            await _error(404, "not_found", f"no n8n agent '{agent_id}'")(scope, receive, send)
            return
        cached = self._apps.get(agent_id)
        if cached is None or cached[0] != target.revision:
            cached = (
                target.revision,
                build_workflow_app(target, self.client, timeout=self.timeout),
            )
            self._apps[agent_id] = cached
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + "/" + agent_id
        await cached[1](child, receive, send)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
