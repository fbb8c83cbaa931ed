"""The OTLP/HTTP trace receiver, shared by the API route and the port-4318 app.

Who may export: a request with a bearer token is authenticated like any API call (an agent's
identity token or a user token) and its spans are attributed to that agent or user unless the
spans say otherwise; a request without a token is accepted only from loopback when
`settings.observability.allow_unauthenticated_loopback` is on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nasiko.core.models import Principal
from nasiko.core.observability.service import TraceService
from nasiko.errors import InvalidInput, PayloadTooLarge, Unauthenticated, Unavailable
from nasiko.observability import metrics, otlp
from nasiko.observability.forward import OtlpForwarder


@dataclass(slots=True)
class Reply:
    body: bytes
    media_type: str


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


async def authenticate(svc: Any, token: str | None, client_host: str | None) -> Principal | None:
    if token:
        principal: Principal = await svc.auth.authenticate(token)
        return principal
    if svc.settings.observability.allow_unauthenticated_loopback and is_loopback(client_host):
        return None
    metrics.SPANS_REJECTED.labels(reason="unauthenticated").inc()
    raise Unauthenticated(
        "send spans with 'Authorization: Bearer <agent or API token>' "
        "(unauthenticated export is allowed only from loopback, when enabled)"
    )


async def read_limited(
    chunks: AsyncIterator[bytes], *, declared: str | None, limit: int = otlp.MAX_REQUEST_BYTES
) -> bytes:
    """Reads a request body, refusing it as soon as it is known to exceed `limit`."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        metrics.SPANS_REJECTED.labels(reason="too_large").inc()
        raise PayloadTooLarge(
            f"the payload is {declared} bytes; the limit is {limit}. Export smaller batches",
            details={"limit": limit},
        )
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            metrics.SPANS_REJECTED.labels(reason="too_large").inc()
            raise PayloadTooLarge(
                f"the payload exceeds the limit of {limit} bytes; export smaller batches",
                details={"limit": limit},
            )
    return bytes(body)


async def receive(
    service: TraceService,
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    principal: Principal | None,
    forwarder: OtlpForwarder | None = None,
) -> Reply:
    try:
        decoded = otlp.decode(body, content_type=content_type, content_encoding=content_encoding)
    except PayloadTooLarge:
        metrics.SPANS_REJECTED.labels(reason="too_large").inc()
        raise
    except InvalidInput:
        metrics.SPANS_REJECTED.labels(reason="invalid").inc()
        raise
    who: dict[str, str | None] = {}
    if principal is not None and principal.kind == "agent":
        who = {"agent_id": principal.id, "agent_slug": principal.name}
    elif principal is not None:
        who = {"user_id": principal.id}
    spans = [service.enrich(s, **who) for s in decoded.spans]
    try:
        service.submit(spans)
    except Unavailable:
        metrics.SPANS_REJECTED.labels(reason="busy").inc()
        raise
    encoding = "protobuf" if decoded.encoding == otlp.PROTOBUF else "json"
    metrics.SPANS_RECEIVED.labels(source=encoding).inc(len(spans))
    if forwarder is not None and spans:
        forwarder.enqueue(decoded.request.SerializeToString())
    return Reply(otlp.success_body(decoded.encoding), decoded.encoding)
