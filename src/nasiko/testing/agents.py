"""Real a2a-sdk agent servers for tests, benchmarks and the deploy pipeline.

Two agents, both built from a2a-sdk 1.3 server routes (no hand-written protocol code):

* **echo agent** (`build_echo_app`): card at ``/.well-known/agent-card.json``; JSON-RPC at
  ``/`` and HTTP+JSON (REST) at ``/message:send``…, each for v1.0 and, through the SDK's
  compat layer, v0.3 (``message/send``; ``/v1/message:send``). The card lists all four
  interfaces, so the SDK serves it with the v0.3 top-level fields merged in.
* **v0.3-style agent** (`build_v03_app`): a pure v0.3 card (top-level ``url``,
  ``preferredTransport: "JSONRPC"``, ``protocolVersion: "0.3.0"``) only at the legacy
  ``/.well-known/agent.json``; JSON-RPC only at ``/a2a/v1`` and only the v0.3 method names,
  like an agent built with a2a-sdk 0.3.

What the echo executor does with the text of a message (see `EchoBehaviour`):

    contains "fail"    -> task ends in state failed, status message says why
    contains "ask me"  -> task pauses in input-required; the next message on that task
                          completes it with "<name>: thanks, got <text>"
    contains "long"    -> a long stream: `long_stream_chunks` artifact chunks (`long_reply`)
    anything else      -> "<name>: <text>" (`echo_reply`) in `chunks` artifact chunks

Run one: ``python -m nasiko.testing.agents echo --port 0 --name a`` prints
``NASIKO_AGENT_URL=<url>`` once it listens. In-process: ``with echo_agent(name="a") as url``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from a2a.compat.v0_3.conversions import to_compat_agent_card
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import a2a_pb2 as pb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from nasiko.testing.serving import (
    URL_LINE_PREFIX,
    AgentProcess,
    bind_socket,
    serve_asgi,
    socket_url,
    spawn_agent,
)

__all__ = [
    "AgentProcess",
    "EchoBehaviour",
    "build_echo_app",
    "build_echo_card",
    "build_v03_app",
    "echo_agent",
    "echo_reply",
    "long_reply_chunks",
    "serve_asgi",
    "spawn_agent",
    "v03_agent",
]

SkillSpec = str | dict[str, Any]


def echo_reply(name: str, text: str) -> str:
    """The complete reply text the echo agent gives for an ordinary message."""
    return f"{name}: {text}"


def long_reply_chunks(count: int) -> list[str]:
    """The chunks of the long stream, in order (joined, they are the full reply)."""
    return [f"chunk {i:05d}\n" for i in range(count)]


def _split(text: str, pieces: int) -> list[str]:
    """Exactly `pieces` non-empty chunks (fewer only when the text is shorter than that)."""
    pieces = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), pieces)
    out, start = [], 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


@dataclass(frozen=True, slots=True)
class EchoBehaviour:
    """How the echo agent answers; every field has a test-friendly default."""

    name: str = "echo"
    delay_ms: int = 0
    chunks: int = 3
    chunk_delay_ms: int = 0
    long_stream_chunks: int = 500
    reply_as_message: bool = False


def _text_part(text: str) -> pb.Part:
    return pb.Part(text=text)


def _agent_message(text: str, *, task_id: str, context_id: str) -> pb.Message:
    return pb.Message(
        message_id=uuid.uuid4().hex,
        role=pb.Role.ROLE_AGENT,
        parts=[_text_part(text)],
        task_id=task_id,
        context_id=context_id,
    )


class EchoExecutor(AgentExecutor):
    """Answers by echoing, with the scripted special cases listed in the module docstring."""

    def __init__(self, behaviour: EchoBehaviour) -> None:
        self._b = behaviour

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        b = self._b
        text = context.get_user_input()
        lowered = text.lower()
        task_id = context.task_id or uuid.uuid4().hex
        context_id = context.context_id or uuid.uuid4().hex
        if b.delay_ms:
            await asyncio.sleep(b.delay_ms / 1000)

        if b.reply_as_message:
            reply = _agent_message(echo_reply(b.name, text), task_id="", context_id=context_id)
            reply.ClearField("task_id")
            await event_queue.enqueue_event(reply)
            return

        current = context.current_task
        if current is None:
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

        resuming = current is not None and (
            current.status.state == pb.TaskState.TASK_STATE_INPUT_REQUIRED
        )
        if resuming:
            chunks = _split(f"{b.name}: thanks, got {text}", b.chunks)
        elif "fail" in lowered:
            await updater.failed(
                _agent_message(
                    f"{b.name}: failing because the message asked me to fail",
                    task_id=task_id,
                    context_id=context_id,
                )
            )
            return
        elif "ask me" in lowered:
            await updater.requires_input(
                _agent_message(
                    f"{b.name}: what should I echo back?", task_id=task_id, context_id=context_id
                )
            )
            return
        elif "long" in lowered:
            chunks = long_reply_chunks(b.long_stream_chunks)
        else:
            chunks = _split(echo_reply(b.name, text), b.chunks)

        artifact_id = f"reply-{task_id}"
        for i, chunk in enumerate(chunks):
            await updater.add_artifact(
                [_text_part(chunk)],
                artifact_id=artifact_id,
                name="reply",
                append=i > 0,
                last_chunk=i == len(chunks) - 1,
            )
            # Yield even without a delay so SSE writers interleave with the producer.
            await asyncio.sleep(b.chunk_delay_ms / 1000)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(
            event_queue, context.task_id or uuid.uuid4().hex, context.context_id or ""
        )
        await updater.cancel()


def _skill(spec: SkillSpec) -> pb.AgentSkill:
    if isinstance(spec, str):
        skill_id = re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-") or "skill"
        return pb.AgentSkill(id=skill_id, name=spec, description=spec, tags=[skill_id])
    return pb.AgentSkill(
        id=spec["id"],
        name=spec.get("name", spec["id"]),
        description=spec.get("description", spec.get("name", spec["id"])),
        tags=list(spec.get("tags", [])),
        examples=list(spec.get("examples", [])),
    )


DEFAULT_SKILLS: tuple[SkillSpec, ...] = (
    {
        "id": "echo",
        "name": "Echo",
        "description": "Repeats the message back, prefixed with the agent's name.",
        "tags": ["echo", "test"],
        "examples": ["hello there"],
    },
)


def build_echo_card(
    *,
    name: str,
    public_url: str,
    skills: Sequence[SkillSpec] = DEFAULT_SKILLS,
    description: str | None = None,
    rpc_path: str = "/",
    streaming: bool = True,
) -> pb.AgentCard:
    """The card the echo agent serves: JSON-RPC and HTTP+JSON, each in v1.0 and v0.3."""
    base = public_url.rstrip("/")
    rpc_url = base + (rpc_path if rpc_path.startswith("/") else "/" + rpc_path)
    rest_url = base + "/"
    return pb.AgentCard(
        name=name,
        description=description or f"Test agent {name!r} that echoes what it is sent.",
        version="1.0.0",
        supported_interfaces=[
            pb.AgentInterface(url=rpc_url, protocol_binding="JSONRPC", protocol_version="1.0"),
            pb.AgentInterface(url=rest_url, protocol_binding="HTTP+JSON", protocol_version="1.0"),
            pb.AgentInterface(url=rpc_url, protocol_binding="JSONRPC", protocol_version="0.3"),
            pb.AgentInterface(url=rest_url, protocol_binding="HTTP+JSON", protocol_version="0.3"),
        ],
        provider=pb.AgentProvider(organization="Nasiko tests", url="https://nasiko.invalid"),
        capabilities=pb.AgentCapabilities(streaming=streaming, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[_skill(s) for s in skills],
    )


def _handler(card: pb.AgentCard, behaviour: EchoBehaviour) -> DefaultRequestHandler:
    return DefaultRequestHandler(
        agent_executor=EchoExecutor(behaviour), task_store=InMemoryTaskStore(), agent_card=card
    )


def build_echo_app(
    *,
    name: str = "echo",
    public_url: str = "http://127.0.0.1:8000",
    skills: Sequence[SkillSpec] = DEFAULT_SKILLS,
    description: str | None = None,
    delay_ms: int = 0,
    chunks: int = 3,
    chunk_delay_ms: int = 0,
    long_stream_chunks: int = 500,
    reply_as_message: bool = False,
    streaming: bool = True,
    rpc_path: str = "/",
) -> Starlette:
    """An echo agent as a Starlette app; `public_url` is what its card advertises."""
    behaviour = EchoBehaviour(
        name=name,
        delay_ms=delay_ms,
        chunks=chunks,
        chunk_delay_ms=chunk_delay_ms,
        long_stream_chunks=long_stream_chunks,
        reply_as_message=reply_as_message,
    )
    card = build_echo_card(
        name=name,
        public_url=public_url,
        skills=skills,
        description=description,
        rpc_path=rpc_path,
        streaming=streaming,
    )
    handler = _handler(card, behaviour)
    # Order matters: REST adds a catch-all `/{tenant}` mount, so the card and JSON-RPC
    # routes must come first.
    routes: list[BaseRoute] = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_path, enable_v0_3_compat=True),
        *create_rest_routes(handler, enable_v0_3_compat=True),
    ]
    return Starlette(routes=routes)


V03_RPC_PATH = "/a2a/v1"
V03_CARD_PATH = "/.well-known/agent.json"
_V03_METHOD = re.compile(r"^(message|tasks|agent)/")


def build_v03_app(
    *,
    name: str = "legacy",
    public_url: str = "http://127.0.0.1:8000",
    skills: Sequence[SkillSpec] = DEFAULT_SKILLS,
    description: str | None = None,
    delay_ms: int = 0,
    chunks: int = 3,
    chunk_delay_ms: int = 0,
    long_stream_chunks: int = 500,
) -> Starlette:
    """An agent that looks and speaks like one built on a2a-sdk 0.3."""
    behaviour = EchoBehaviour(
        name=name,
        delay_ms=delay_ms,
        chunks=chunks,
        chunk_delay_ms=chunk_delay_ms,
        long_stream_chunks=long_stream_chunks,
    )
    rpc_url = public_url.rstrip("/") + V03_RPC_PATH
    card = pb.AgentCard(
        name=name,
        description=description or f"Legacy (A2A v0.3) test agent {name!r}.",
        version="0.3.0",
        supported_interfaces=[
            pb.AgentInterface(url=rpc_url, protocol_binding="JSONRPC", protocol_version="0.3.0")
        ],
        capabilities=pb.AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[_skill(s) for s in skills],
    )
    card_json = to_compat_agent_card(card).model_dump(mode="json", by_alias=True, exclude_none=True)
    card_json["protocolVersion"] = "0.3.0"
    dispatcher = JsonRpcDispatcher(
        request_handler=_handler(card, behaviour), enable_v0_3_compat=True
    )

    async def serve_card(_: Request) -> Response:
        return JSONResponse(card_json)

    async def rpc(request: Request) -> Response:
        # The SDK would also accept v1.0 names here; a real 0.3 agent would not, and tests
        # of the gateway's protocol translation depend on that refusal.
        try:
            body = await request.json()
        except ValueError:
            body = None
        method = body.get("method") if isinstance(body, dict) else None
        if isinstance(method, str) and not _V03_METHOD.match(method):
            return JSONResponse(
                {
                    "jsonrpc": "2.0",
                    "id": body.get("id") if isinstance(body, dict) else None,
                    "error": {"code": -32601, "message": f"Method not found: {method}"},
                }
            )
        return await dispatcher.handle_requests(request)

    return Starlette(
        routes=[
            Route(V03_CARD_PATH, serve_card, methods=["GET"]),
            Route(V03_RPC_PATH, rpc, methods=["POST"]),
        ]
    )


@contextmanager
def echo_agent(**options: Any) -> Iterator[str]:
    """A running echo agent (options as for `build_echo_app`); yields its base URL."""
    with serve_asgi(app_factory=lambda url: build_echo_app(public_url=url, **options)) as url:
        yield url


@contextmanager
def v03_agent(**options: Any) -> Iterator[str]:
    """A running v0.3-style agent (options as for `build_v03_app`); yields its base URL."""
    with serve_asgi(app_factory=lambda url: build_v03_app(public_url=url, **options)) as url:
        yield url


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m nasiko.testing.agents", description="Run a Nasiko test agent."
    )
    parser.add_argument("kind", choices=["echo", "v03"], help="which agent to run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--name", default=None)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--skill", action="append", default=[], help="skill name; repeatable")
    parser.add_argument("--public-url", default=None, help="URL the card advertises")
    args = parser.parse_args(argv)

    sock = bind_socket(args.host, args.port)
    public_url = args.public_url or socket_url(args.host, sock)
    skills: Sequence[SkillSpec] = args.skill or DEFAULT_SKILLS
    builder = build_echo_app if args.kind == "echo" else build_v03_app
    app = builder(
        name=args.name or args.kind,
        public_url=public_url,
        skills=skills,
        delay_ms=args.delay_ms,
        chunks=args.chunks,
    )
    print(f"{URL_LINE_PREFIX}{socket_url(args.host, sock)}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
