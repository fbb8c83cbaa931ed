"""Talk to an agent in one call: send text, get the reply text (blocking or streamed).

Built on the a2a-sdk client, which picks the wire format from the chosen interface:
v1.0 JSON-RPC (``SendMessage``), v0.3 JSON-RPC (``message/send``) through the SDK's compat
transport, and HTTP+JSON in either version. Used by the chat service and the tests.

Errors: a timeout is `UpstreamTimeout`; a transport failure or a protocol error returned by
the agent is `Unavailable` (its ``details`` carry the agent's error); asking for a binding
or version the card does not offer is `InvalidInput`.

Note: the SDK sets a default ``A2A-Version: 1.0`` header on the ``httpx.AsyncClient`` it is
given (the v0.3 transports override it per request), so give these helpers a client of
their own rather than the gateway's forwarding client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from nasiko.a2a._fields import canonical_version
from nasiko.a2a.cards import normalize_card, parse_card_proto
from nasiko.a2a.fetch import fetch_card
from nasiko.errors import InvalidInput, Unavailable, UpstreamTimeout

__all__ = ["AgentReply", "ReplyCollector", "ReplyEvent", "send_text", "stream_text"]


@dataclass(frozen=True, slots=True)
class ReplyEvent:
    """One event of a reply, flattened. `kind` is task | message | status | artifact."""

    kind: str
    text: str = ""
    state: str | None = None
    """Task state in v0.3 spelling: submitted, working, input-required, completed, failed…"""
    task_id: str | None = None
    context_id: str | None = None
    artifact_id: str | None = None
    append: bool = False


@dataclass(slots=True)
class AgentReply:
    """The whole reply: final text and state, plus the events it was assembled from."""

    text: str
    state: str
    """Final task state, or ``"message"`` when the agent answered with a plain message."""
    task_id: str | None
    context_id: str | None
    events: list[ReplyEvent] = field(default_factory=list)


class ReplyCollector:
    """Assembles events into the reply a blocking call would have given."""

    def __init__(self, *, task_id: str | None = None, context_id: str | None = None) -> None:
        self.events: list[ReplyEvent] = []
        self.artifacts: dict[str, str] = {}
        self.status_text = ""
        self.message_text: str | None = None
        self.state = "unknown"
        self.task_id = task_id
        self.context_id = context_id

    def add(self, event: ReplyEvent) -> None:
        self.events.append(event)
        self.task_id = event.task_id or self.task_id
        self.context_id = event.context_id or self.context_id
        if event.kind == "message":
            self.message_text, self.state = event.text, "message"
        elif event.kind == "artifact":
            key = event.artifact_id or ""
            self.artifacts[key] = (self.artifacts.get(key, "") if event.append else "") + event.text
        else:
            self.state = event.state or self.state
            self.status_text = event.text or self.status_text

    @property
    def text(self) -> str:
        if self.message_text is not None:
            return self.message_text
        if self.artifacts:
            return "\n".join(v for v in self.artifacts.values() if v)
        return self.status_text

    def reply(self) -> AgentReply:
        return AgentReply(self.text, self.state, self.task_id, self.context_id, self.events)


def _state_name(value: int) -> str:
    from a2a.types import a2a_pb2 as pb

    name = pb.TaskState.Name(value)  # TASK_STATE_INPUT_REQUIRED
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _text(parts: Any, sep: str = "\n") -> str:
    return sep.join(p.text for p in parts if p.HasField("text"))


def _artifact_text(artifact: Any) -> str:
    # Streamed chunks with append=true end up as consecutive parts of one artifact, so the
    # parts are joined without a separator to give the same text as the stream did.
    return _text(artifact.parts, "")


def _flatten(event: Any) -> ReplyEvent:
    if event.HasField("message"):
        m = event.message
        return ReplyEvent("message", _text(m.parts), None, m.task_id or None, m.context_id or None)
    if event.HasField("task"):
        t = event.task
        text = "\n".join(filter(None, (_artifact_text(a) for a in t.artifacts)))
        if not text and t.status.HasField("message"):
            text = _text(t.status.message.parts)
        return ReplyEvent("task", text, _state_name(t.status.state), t.id, t.context_id)
    if event.HasField("status_update"):
        s = event.status_update
        text = _text(s.status.message.parts) if s.status.HasField("message") else ""
        return ReplyEvent("status", text, _state_name(s.status.state), s.task_id, s.context_id)
    a = event.artifact_update
    return ReplyEvent(
        "artifact",
        _artifact_text(a.artifact),
        None,
        a.task_id,
        a.context_id,
        artifact_id=a.artifact.artifact_id,
        append=a.append,
    )


async def _card(target: Mapping[str, Any] | str, client: httpx.AsyncClient) -> dict[str, Any]:
    if isinstance(target, str):
        card, _ = await fetch_card(target, client=client)
        return card
    return normalize_card(target, require_interface=True)


def _pick(card: dict[str, Any], binding: str, version: str) -> Any:
    wanted = canonical_version(version) or version
    proto = parse_card_proto(card)
    keep = [
        i
        for i in proto.supported_interfaces
        if i.protocol_binding == binding
        and canonical_version(i.protocol_version or "1.0") == wanted
    ]
    if not keep:
        offered = [
            f"{i.protocol_binding} {i.protocol_version} at {i.url}"
            for i in proto.supported_interfaces
        ]
        raise InvalidInput(
            f"agent {card['name']!r} offers no {binding} interface for A2A {wanted}",
            details={"offered": offered},
        )
    del proto.supported_interfaces[:]
    proto.supported_interfaces.extend(keep)
    return proto


async def stream_text(
    target: Mapping[str, Any] | str,
    text: str,
    *,
    client: httpx.AsyncClient,
    binding: str = "JSONRPC",
    version: str = "1.0",
    stream: bool = True,
    context_id: str | None = None,
    task_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - handed to the SDK per call
    files: Sequence[tuple[str, str, bytes]] = (),
    message_id: str | None = None,
) -> AsyncIterator[ReplyEvent]:
    """Send `text` to an agent (a card dict, or a base URL to fetch the card from).

    Yields events as they arrive; with ``stream=False`` (or an agent without streaming) it
    is one blocking call and a single event.
    """
    from a2a.client import ClientCallContext, ClientConfig, ClientFactory
    from a2a.client.errors import A2AClientTimeoutError
    from a2a.types import a2a_pb2 as pb
    from a2a.utils.errors import A2AError
    from google.protobuf.json_format import ParseDict

    proto = _pick(await _card(target, client), binding, version)
    factory = ClientFactory(
        ClientConfig(httpx_client=client, streaming=stream, supported_protocol_bindings=[binding])
    )
    parts = [pb.Part(text=text)] if text else []
    parts += [pb.Part(raw=data, filename=name, media_type=mime) for name, mime, data in files]
    message = pb.Message(
        message_id=message_id or uuid.uuid4().hex,
        role=pb.Role.ROLE_USER,
        parts=parts,
        context_id=context_id or "",
        task_id=task_id or "",
    )
    if metadata:
        ParseDict(dict(metadata), message.metadata)
    request = pb.SendMessageRequest(message=message)
    a2a_client = factory.create(proto)
    url = proto.supported_interfaces[0].url
    try:
        async for event in a2a_client.send_message(
            request, context=ClientCallContext(timeout=timeout)
        ):
            yield _flatten(event)
    except A2AClientTimeoutError as exc:
        raise UpstreamTimeout(
            f"agent at {url} did not answer within {timeout}s", details={"url": url}
        ) from exc
    except (A2AError, httpx.HTTPError) as exc:
        raise Unavailable(
            f"agent at {url} failed: {exc}",
            details={"url": url, "error": type(exc).__name__, "message": str(exc)},
        ) from exc
    finally:
        await a2a_client.close()


async def send_text(
    target: Mapping[str, Any] | str,
    text: str,
    *,
    client: httpx.AsyncClient,
    binding: str = "JSONRPC",
    version: str = "1.0",
    stream: bool = False,
    context_id: str | None = None,
    task_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - handed to the SDK per call
    files: Sequence[tuple[str, str, bytes]] = (),
    message_id: str | None = None,
) -> AgentReply:
    """Send `text` and collect the whole reply (streamed chunks are joined in order)."""
    collector = ReplyCollector(task_id=task_id, context_id=context_id)
    async for event in stream_text(
        target,
        text,
        client=client,
        binding=binding,
        version=version,
        stream=stream,
        context_id=context_id,
        task_id=task_id,
        metadata=metadata,
        timeout=timeout,
        files=files,
        message_id=message_id,
    ):
        collector.add(event)
    return collector.reply()
