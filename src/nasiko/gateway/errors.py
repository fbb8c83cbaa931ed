"""Gateway failures as HTTP replies: JSON-RPC error bodies for JSON-RPC calls (id echoed),
the platform's ``{"error": {...}}`` shape otherwise, and SSE error events mid-stream.

Statuses differ from the API's in one place: an agent that is down is a bad gateway (502),
not an unavailable service (503, kept for the gateway's own dependencies).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

from nasiko import errors
from nasiko.asgi import status_for

__all__ = [
    "AGENT_DOWN",
    "JSONRPC_CODES",
    "agent_down",
    "gateway_status",
    "send_error",
    "send_json",
    "sse_error_event",
]

AGENT_DOWN = "agent_unavailable"

# JSON-RPC error codes in the implementation-defined server range (-32000..-32099).
JSONRPC_CODES: dict[str, int] = {
    "unauthenticated": -32040,
    "forbidden": -32043,
    "not_found": -32044,
    "payload_too_large": -32045,
    "rate_limited": -32049,
    AGENT_DOWN: -32052,
    "upstream_timeout": -32054,
    "unavailable": -32053,
    "invalid_input": -32600,
}


def agent_down(message: str, details: Any = None) -> errors.Unavailable:
    return errors.Unavailable(message, details=details, code=AGENT_DOWN)


def gateway_status(exc: errors.NasikoError) -> int:
    if exc.code == AGENT_DOWN:
        return 502
    return status_for(exc)


def _body(exc: errors.NasikoError, jsonrpc: bool, request_id: Any) -> bytes:
    data: dict[str, Any] = {"code": exc.code, "details": exc.details}
    if isinstance(exc, errors.RateLimited):
        data["retry_after"] = exc.retry_after
    if jsonrpc:
        doc: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {
                "code": JSONRPC_CODES.get(exc.code, -32000),
                "message": exc.message,
                "data": data,
            },
        }
    else:
        doc = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return json.dumps(doc, default=str).encode()


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    exc: errors.NasikoError,
    *,
    jsonrpc: bool,
    request_id: Any,
    extra_headers: list[tuple[bytes, bytes]],
) -> int:
    status = gateway_status(exc)
    headers = list(extra_headers)
    if isinstance(exc, errors.RateLimited):
        headers.append((b"retry-after", str(max(1, int(exc.retry_after + 0.999))).encode()))
    if isinstance(exc, errors.Unauthenticated):
        headers.append((b"www-authenticate", b"Bearer"))
    await send_json(send, status, _body(exc, jsonrpc, request_id), headers)
    return status


def sse_error_event(exc: errors.NasikoError, *, jsonrpc: bool, request_id: Any) -> bytes:
    """A final ``event: error`` the a2a-sdk clients turn into a readable exception."""
    return b"event: error\ndata: " + _body(exc, jsonrpc, request_id) + b"\n\n"
