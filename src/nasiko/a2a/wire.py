"""Cheap looks at incoming A2A requests, for the gateway and the chat log.

Plain ``json`` and dict lookups only: no a2a-sdk models, no validation beyond what is
needed to answer "which method, which protocol version, which task, what text". The
gateway forwards the original bytes, so nothing here rewrites a request.

Protocol version: v0.3 method names contain a slash (``message/send``), v1.0 names are
PascalCase (``SendMessage``). The ``A2A-Version`` header decides only when the method name
does not. Note for forwarding: a2a-sdk 1.x servers treat a request *without* the header as
v0.3, so a v1.0 call must carry ``A2A-Version: 1.0`` upstream (`upstream_version_header`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nasiko.errors import InvalidInput

__all__ = [
    "STREAMING_METHODS",
    "V03_METHODS",
    "V10_METHODS",
    "A2ARequest",
    "inspect_jsonrpc",
    "inspect_rest",
    "parts_text",
    "upstream_version_header",
]

Version = Literal["1.0", "0.3"]

# v1.0 name -> v0.3 name (None where v0.3 had no equivalent).
V10_METHODS: dict[str, str | None] = {
    "SendMessage": "message/send",
    "SendStreamingMessage": "message/stream",
    "GetTask": "tasks/get",
    "ListTasks": None,
    "CancelTask": "tasks/cancel",
    "SubscribeToTask": "tasks/resubscribe",
    "CreateTaskPushNotificationConfig": "tasks/pushNotificationConfig/set",
    "GetTaskPushNotificationConfig": "tasks/pushNotificationConfig/get",
    "ListTaskPushNotificationConfigs": "tasks/pushNotificationConfig/list",
    "DeleteTaskPushNotificationConfig": "tasks/pushNotificationConfig/delete",
    "GetExtendedAgentCard": "agent/getAuthenticatedExtendedCard",
}
V03_METHODS: dict[str, str] = {v: k for k, v in V10_METHODS.items() if v}
STREAMING_METHODS = frozenset(
    {"SendStreamingMessage", "SubscribeToTask", "message/stream", "tasks/resubscribe"}
)
_SKILL_KEYS = ("skill", "skillId", "skill_id", "nasiko.skill")


@dataclass(frozen=True, slots=True)
class A2ARequest:
    """What the gateway and chat log need to know about one A2A call."""

    method: str
    """As sent: ``SendMessage``, ``message/send``… (REST calls get the v1.0 name)."""
    version: Version
    binding: Literal["JSONRPC", "HTTP+JSON"]
    streaming: bool
    request_id: str | int | None = None
    message_id: str | None = None
    context_id: str | None = None
    task_id: str | None = None
    skill: str | None = None
    """A skill hint from request or message metadata (``skill``/``skillId``), if any."""
    text: str = ""
    """All text parts of the message, joined by newlines."""
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def canonical_method(self) -> str:
        """The v1.0 method name, whatever the caller sent."""
        return V03_METHODS.get(self.method, self.method)


def parts_text(parts: Any) -> str:
    """Text of v1.0 (``{"text": …}``) and v0.3 (``{"kind": "text", "text": …}``) parts."""
    if not isinstance(parts, list):
        return ""
    return "\n".join(
        p["text"] for p in parts if isinstance(p, Mapping) and isinstance(p.get("text"), str)
    )


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name) or headers.get(name.lower())
    if value is None and not hasattr(headers, "getlist"):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _version_from_header(headers: Mapping[str, str] | None, default: Version) -> Version:
    value = _header(headers, "A2A-Version")
    if not value:
        return default
    return "0.3" if value.strip().startswith("0.") else "1.0"


def _load(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    try:
        doc = json.loads(body) if body else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "request body is not valid JSON", details=[{"path": "$", "message": str(exc)}]
        ) from exc
    if not isinstance(doc, Mapping):
        raise InvalidInput(
            "request body must be a JSON object",
            details=[{"path": "$", "message": "batch requests and bare values are not supported"}],
        )
    return doc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _field(doc: Mapping[str, Any], camel: str, snake: str) -> str | None:
    # v0.3 REST bodies are protobuf JSON with the original snake_case names.
    return _str(doc.get(camel)) or _str(doc.get(snake))


def _skill(*metadatas: Any) -> str | None:
    for metadata in metadatas:
        if isinstance(metadata, Mapping):
            for key in _SKILL_KEYS:
                if isinstance(metadata.get(key), str) and metadata[key]:
                    return str(metadata[key])
    return None


def _from_params(
    params: Mapping[str, Any],
    *,
    method: str,
    version: Version,
    binding: Literal["JSONRPC", "HTTP+JSON"],
    request_id: str | int | None,
    task_id: str | None = None,
) -> A2ARequest:
    message = params.get("message") or params.get("request")  # v0.3 REST used "request"
    message = message if isinstance(message, Mapping) else {}
    # v0.3 protobuf-JSON (REST) called the parts "content".
    parts = message.get("parts", message.get("content"))
    parts = [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []
    return A2ARequest(
        method=method,
        version=version,
        binding=binding,
        streaming=method in STREAMING_METHODS,
        request_id=request_id,
        message_id=_field(message, "messageId", "message_id"),
        context_id=_field(message, "contextId", "context_id")
        or _field(params, "contextId", "context_id"),
        task_id=task_id or _field(message, "taskId", "task_id") or _str(params.get("id")),
        skill=_skill(params.get("metadata"), message.get("metadata")),
        text=parts_text(parts),
        parts=[dict(p) for p in parts],
    )


def inspect_jsonrpc(
    body: bytes | str | Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> A2ARequest:
    """Read a JSON-RPC request body. Raises `InvalidInput` when it is not a JSON-RPC call."""
    doc = _load(body)
    method = doc.get("method")
    if not isinstance(method, str) or not method:
        raise InvalidInput(
            "JSON-RPC request has no method",
            details=[{"path": "$.method", "message": "must be a non-empty string"}],
        )
    request_id = doc.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | type(None)):
        request_id = None
    if method in V10_METHODS:
        version: Version = "1.0"
    elif method in V03_METHODS or "/" in method:
        version = "0.3"
    else:
        version = _version_from_header(headers, "1.0")
    params = doc.get("params")
    return _from_params(
        params if isinstance(params, Mapping) else {},
        method=method,
        version=version,
        binding="JSONRPC",
        request_id=request_id,
    )


_REST_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/message:send$"), "SendMessage"),
    ("POST", re.compile(r"/message:stream$"), "SendStreamingMessage"),
    ("POST", re.compile(r"/tasks/(?P<id>[^/:]+):cancel$"), "CancelTask"),
    ("GET", re.compile(r"/tasks/(?P<id>[^/:]+):subscribe$"), "SubscribeToTask"),
    ("POST", re.compile(r"/tasks/(?P<id>[^/:]+):subscribe$"), "SubscribeToTask"),
    ("GET", re.compile(r"/tasks/(?P<id>[^/:]+)$"), "GetTask"),
    ("GET", re.compile(r"/tasks$"), "ListTasks"),
    ("GET", re.compile(r"/extendedAgentCard$"), "GetExtendedAgentCard"),
    ("GET", re.compile(r"/card$"), "GetExtendedAgentCard"),
]


def inspect_rest(
    http_method: str,
    path: str,
    body: bytes | str | Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> A2ARequest | None:
    """Read an HTTP+JSON (REST) call; None when the path is no A2A operation.

    `path` is the agent-relative path (``/message:send``, ``/v1/tasks/abc``…); a ``/v1/``
    prefix is the v0.3 REST layout. Push-notification config paths are not classified.
    """
    clean = path.split("?", 1)[0].rstrip("/") or "/"
    for verb, pattern, method in _REST_ROUTES:
        match = pattern.search(clean)
        if verb != http_method.upper() or match is None:
            continue
        prefix = clean[: match.start()]
        legacy = prefix == "/v1" or prefix.endswith("/v1")
        version = "0.3" if legacy else _version_from_header(headers, "1.0")
        params = _load(body) if body else {}
        return _from_params(
            params,
            method=method,
            version=version,
            binding="HTTP+JSON",
            request_id=None,
            task_id=match.groupdict().get("id"),
        )
    return None


def upstream_version_header(request: A2ARequest) -> dict[str, str]:
    """The ``A2A-Version`` header to send upstream so an a2a-sdk 1.x server dispatches right."""
    return {"A2A-Version": request.version}
