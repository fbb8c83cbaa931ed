"""The proxy hot path: ``/agents/{slug}/<rest>`` -> ``<endpoint>/<rest>``.

One call, in order: read headers once (allow-list, credentials, ids) -> authenticate
(cached) -> route + visibility from the in-memory registry view (404 when invisible) ->
size limit (413) -> read the body when it is small enough to inspect (method, ids, skill)
-> per-skill grant (403) -> rate limits (429) -> pick a replica -> forward -> stream the
reply back as it arrives (SSE cut at event boundaries, so an error event can always be
appended cleanly) -> account (metrics, debug line, span) -> chat log (buffered).

Bodies larger than the inspection limit are streamed both ways without being looked at.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from typing import Any

from starlette.types import Receive, Scope, Send

from nasiko import errors
from nasiko.a2a.wire import A2ARequest, inspect_jsonrpc, inspect_rest
from nasiko.core.models import Principal
from nasiko.core.ports import AgentRoute, RegistryView
from nasiko.gateway.access import AuthCache, Limits
from nasiko.gateway.accounting import Accounting
from nasiko.gateway.balancer import Balancer
from nasiko.gateway.chatlog import ChatLogBuffer
from nasiko.gateway.errors import agent_down, send_error
from nasiko.gateway.observe import GatewayMetrics, Tracing
from nasiko.gateway.relay import Relay
from nasiko.gateway.replies import ReplyAssembler
from nasiko.gateway.upstream import (
    ConnectFailed,
    UpstreamClosed,
    UpstreamConnection,
    UpstreamPool,
    parse_endpoint,
)
from nasiko.logs import request_id as request_id_var

__all__ = ["INSPECT_LIMIT", "Proxy"]

log = logging.getLogger("nasiko.gateway")

INSPECT_LIMIT = 1024 * 1024
"""Request bodies up to this size are read whole and inspected; larger ones stream."""

_NEVER_FORWARD = frozenset(
    {
        b"authorization",
        b"cookie",
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"traceparent",
        b"x-request-id",
    }
)
_RESPONSE_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"set-cookie",
        b"date",
        b"server",
    }
)
_CHAT_METHODS = frozenset({"SendMessage", "SendStreamingMessage"})
_SSE = b"text/event-stream"


class Proxy:
    def __init__(
        self,
        svc: Any,
        *,
        auth: AuthCache,
        limits: Limits,
        balancer: Balancer,
        chatlog: ChatLogBuffer,
        metrics: GatewayMetrics,
        tracing: Tracing,
    ) -> None:
        s = svc.settings.gateway
        self.svc = svc
        self.auth = auth
        self.limits = limits
        self.balancer = balancer
        self.chatlog = chatlog
        self.metrics = metrics
        self.tracing = tracing
        self.pool: UpstreamPool | None = None
        self.allow = frozenset(h.lower().encode() for h in s.forward_headers) - _NEVER_FORWARD
        self.max_body = s.max_body_bytes
        self.inspect_limit = min(INSPECT_LIMIT, s.max_body_bytes)
        self.request_timeout = s.request_timeout
        self.stream_timeout = s.stream_timeout
        self.relay = Relay(
            metrics=metrics, inspect_limit=self.inspect_limit, stream_timeout=self.stream_timeout
        )
        self.accounting = Accounting(metrics=metrics, chatlog=chatlog)

    def view(self) -> RegistryView:
        view = self.svc.extensions.get("registry_view")
        if view is None:
            raise errors.Unavailable(
                "the gateway has no agent routes yet (the registry is not loaded); retry shortly"
            )
        return view  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- entry point

    async def handle(self, scope: Scope, receive: Receive, send: Send, slug: str, sub: str) -> None:
        started = time.perf_counter()
        auth = clen = ctype = traceparent = rid = xff = host = None
        forwarded: list[bytes] = []
        allow = self.allow
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name == b"content-length":
                clen = value
            elif name == b"host":
                host = value
            elif name == b"x-request-id":
                rid = value[:128]
            elif name == b"traceparent":
                traceparent = value
            elif name == b"x-forwarded-for":
                xff = value
            elif name in allow:
                forwarded.append(b"%s: %s\r\n" % (name, value))
                if name == b"content-type":
                    ctype = value
        rid = rid or uuid.uuid4().hex.encode()
        token = request_id_var.set(rid.decode("latin-1"))
        method: str = scope["method"]
        call: A2ARequest | None = None
        principal: Principal | None = None
        route: AgentRoute | None = None
        body = b""
        more = False
        try:
            try:
                view = self.view()
                principal = await self.auth.authenticate(auth)
                route = view.route(slug)
                if route is None or not can_see(view, principal, route):
                    raise errors.NotFound(f"no agent '{slug}' (or you may not use it)")
                if clen is not None:
                    try:
                        length = int(clen)
                    except ValueError:
                        raise errors.InvalidInput("Content-Length is not a number") from None
                    if length > self.max_body:
                        raise self._too_large()
                if method in ("POST", "PUT", "PATCH"):
                    body, more = await self._read_prefix(receive)
                if not more:
                    call = self._inspect(method, sub, body, ctype, scope)
                self._check_skill(view, principal, route, call)
                await self.limits.check(principal, route.agent_id, route.rate_limit)
            except errors.NasikoError as exc:
                jsonrpc, req_id = await self._jsonrpc_identity(
                    call, method, sub, ctype, body, more, receive, exc
                )
                status = await send_error(
                    send,
                    exc,
                    jsonrpc=jsonrpc,
                    request_id=req_id,
                    extra_headers=[(b"x-request-id", rid)],
                )
                self.accounting.rejected(principal, slug, call, status, started, exc)
                return
            head_tail = self._head_tail(
                forwarded, scope, host, xff, rid, call, ctype, has_body=bool(body) or more
            )
            await self._forward(
                scope,
                receive,
                send,
                sub=sub,
                route=route,
                principal=principal,
                call=call,
                body=body,
                more=more,
                head_tail=head_tail,
                traceparent=traceparent,
                rid=rid,
                started=started,
            )
        finally:
            request_id_var.reset(token)

    # ----------------------------------------------------------------- request side

    @staticmethod
    def _check_skill(
        view: RegistryView, principal: Principal, route: AgentRoute, call: A2ARequest | None
    ) -> None:
        """Per-skill grants: sending a message needs a grant covering the skill it names.

        Task reads and cancels (GetTask, ListTasks, CancelTask, SubscribeToTask) need only
        visibility. A request the gateway did not read (too large, or not A2A) is checked as
        one naming no skill, which a skill-limited grant does not cover.
        """
        if call is not None and call.canonical_method not in _CHAT_METHODS:
            return
        skill = call.skill if call is not None else None
        if view.can_access(principal, route, skill=skill):
            return
        if skill is not None:
            message = f"your grant on agent '{route.slug}' does not cover skill '{skill}'"
        else:
            message = (
                f"your grant on agent '{route.slug}' is limited to some skills; name one in "
                "the message metadata ('skill')"
            )
        raise errors.Forbidden(message, details={"skill": skill})

    def _too_large(self) -> errors.PayloadTooLarge:
        return errors.PayloadTooLarge(
            f"request body is larger than the gateway's limit of {self.max_body} bytes",
            details={"limit": self.max_body},
        )

    async def _read_prefix(self, receive: Receive) -> tuple[bytes, bool]:
        """The body if it fits the inspection limit (more=False), else the part read so far."""
        message = await receive()
        chunk: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(chunk) > self.max_body:
                raise self._too_large()
            return chunk, False
        chunks = [chunk]
        size = len(chunk)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise errors.InvalidInput("the client went away while sending the request")
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            if not message.get("more_body", False):
                return b"".join(chunks), False
            if size > self.inspect_limit:
                return b"".join(chunks), True

    def _inspect(
        self, method: str, sub: str, body: bytes, ctype: bytes | None, scope: Scope
    ) -> A2ARequest | None:
        try:
            if method == "POST" and body and ":" not in sub.rsplit("/", 1)[-1]:
                if ctype is not None and b"json" not in ctype:
                    return None
                return inspect_jsonrpc(body)
            return inspect_rest(method, sub, body or None)
        except errors.InvalidInput:
            return None  # not an A2A call we understand: forwarded untouched

    async def _jsonrpc_identity(
        self,
        call: A2ARequest | None,
        method: str,
        sub: str,
        ctype: bytes | None,
        body: bytes,
        more: bool,
        receive: Receive,
        exc: errors.NasikoError,
    ) -> tuple[bool, Any]:
        """Was the failed request JSON-RPC, and with which id? Reads a small unread body."""
        if call is not None:
            return call.binding == "JSONRPC", call.request_id
        if method != "POST" or ":" in sub.rsplit("/", 1)[-1]:
            return False, None
        if ctype is not None and b"json" not in ctype:
            return False, None
        if not body and not more and not isinstance(exc, errors.PayloadTooLarge):
            with contextlib.suppress(errors.NasikoError):
                body, more = await self._read_prefix(receive)
        if body and not more:
            try:
                doc = json.loads(body)
            except ValueError:
                return False, None
            if isinstance(doc, dict) and "jsonrpc" in doc:
                rid = doc.get("id")
                return True, rid if isinstance(rid, str | int) else None
            return False, None
        # Too big to look at: a JSON body on a non-REST path is JSON-RPC in A2A.
        return ctype is not None, None

    def _head_tail(
        self,
        forwarded: list[bytes],
        scope: Scope,
        host: bytes | None,
        xff: bytes | None,
        rid: bytes,
        call: A2ARequest | None,
        ctype: bytes | None,
        *,
        has_body: bool,
    ) -> bytes:
        client = scope.get("client")
        peer = client[0].encode() if client else b"unknown"
        tail = [
            *forwarded,
            b"x-forwarded-for: %s\r\n" % ((xff + b", " + peer) if xff else peer),
            b"x-forwarded-proto: %s\r\n" % scope.get("scheme", "http").encode(),
            b"x-request-id: %s\r\n" % rid,
        ]
        if host:
            tail.append(b"x-forwarded-host: %s\r\n" % host)
        if call is not None and not any(f.startswith(b"a2a-version:") for f in forwarded):
            # a2a-sdk 1.x servers read a request without the header as v0.3.
            tail.append(b"a2a-version: %s\r\n" % call.version.encode())
        return b"".join(tail)

    # ----------------------------------------------------------------- forwarding

    async def _exchange(
        self,
        endpoint_url: str,
        request_head: bytes,
        body: bytes,
        more: bool,
        receive: Receive,
        timeout: float,  # noqa: ASYNC109
    ) -> UpstreamConnection:
        assert self.pool is not None
        endpoint = parse_endpoint(endpoint_url)
        for _ in range(2):
            conn = await self.pool.connect(endpoint, fresh=more)
            try:
                if more:
                    await self._send_streamed_body(conn, request_head, body, receive)
                else:
                    conn.send(request_head + body)
                await conn.wait_head(timeout)
                return conn
            except UpstreamClosed:
                conn.abort()
                # A pooled connection the agent had already closed: retry once on a new one.
                if conn.reused and not conn.got_bytes and not more:
                    continue
                raise
            except BaseException:
                conn.abort()
                raise
        raise UpstreamClosed("the agent closed the connection twice")  # pragma: no cover

    async def _send_streamed_body(
        self, conn: UpstreamConnection, head: bytes, prefix: bytes, receive: Receive
    ) -> None:
        conn.send(head + b"%x\r\n%s\r\n" % (len(prefix), prefix))
        size = len(prefix)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise UpstreamClosed("the client went away while sending the request")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            if chunk:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await conn.drain()
            if not message.get("more_body", False):
                conn.send(b"0\r\n\r\n")
                return

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        sub: str,
        route: AgentRoute,
        principal: Principal,
        call: A2ARequest | None,
        body: bytes,
        more: bool,
        head_tail: bytes,
        traceparent: bytes | None,
        rid: bytes,
        started: float,
    ) -> None:
        method_name = call.canonical_method if call is not None else scope["method"]
        jsonrpc = call is not None and call.binding == "JSONRPC"
        req_id = call.request_id if call is not None else None
        streaming = call is not None and call.streaming
        timeout = self.stream_timeout if streaming else self.request_timeout
        span, upstream_tp = self.tracing.start(
            f"a2a {method_name}",
            traceparent,
            {"nasiko.agent": route.slug, "a2a.method": method_name},
        )
        query: bytes = scope.get("query_string", b"")
        length_header = (
            b"transfer-encoding: chunked\r\n"
            if more
            else (
                b"content-length: %d\r\n" % len(body) if body or scope["method"] == "POST" else b""
            )
        )
        status = 502
        bytes_out = 0
        endpoint_used: str | None = None
        error: errors.NasikoError | None = None
        assembler: ReplyAssembler | None = (
            ReplyAssembler() if call is not None and method_name in _CHAT_METHODS else None
        )
        broken = False
        conn: UpstreamConnection | None = None
        try:
            for endpoint_url in self.balancer.order(route.agent_id, route.endpoints):
                endpoint = parse_endpoint(endpoint_url)
                path = (endpoint.prefix + sub).encode()
                request_head = b"".join(
                    (
                        scope["method"].encode(),
                        b" ",
                        path,
                        b"?" + query if query else b"",
                        b" HTTP/1.1\r\nhost: ",
                        endpoint.host_header,
                        b"\r\n",
                        head_tail,
                        b"traceparent: ",
                        upstream_tp,
                        b"\r\n",
                        length_header,
                        b"\r\n",
                    )
                )
                try:
                    conn = await self._exchange(
                        endpoint_url, request_head, body, more, receive, timeout
                    )
                except UpstreamClosed as exc:
                    self.balancer.failed(endpoint_url)
                    self.metrics.failure(route.slug, "connect")
                    error = agent_down(
                        f"agent '{route.slug}' is not reachable", details={"reason": str(exc)}
                    )
                    if isinstance(exc, ConnectFailed):
                        continue  # nothing reached the agent: the next replica may answer
                    break
                except errors.NasikoError as exc:  # e.g. a streamed body over the limit
                    error = exc
                    break
                except TimeoutError:
                    self.balancer.failed(endpoint_url)
                    self.metrics.failure(route.slug, "timeout")
                    error = errors.UpstreamTimeout(
                        f"agent '{route.slug}' did not answer within {timeout:g}s",
                        details={"timeout": timeout},
                    )
                    break
                endpoint_used = endpoint_url
                error = None
                break
            if conn is None or error is not None:
                error = error or agent_down(f"agent '{route.slug}' has no reachable endpoint")
                status = await send_error(
                    send,
                    error,
                    jsonrpc=jsonrpc,
                    request_id=req_id,
                    extra_headers=[(b"x-request-id", rid)],
                )
                return
            self.balancer.succeeded(endpoint_used)  # type: ignore[arg-type]
            status = conn.status
            is_sse = False
            headers: list[tuple[bytes, bytes]] = [(b"x-request-id", rid)]
            for name, value in conn.headers:
                if name in _RESPONSE_DROP:
                    continue
                if name == b"content-type" and value.startswith(_SSE):
                    is_sse = True
                headers.append((name, value))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if is_sse:
                bytes_out, broken = await self.relay.sse(
                    conn, receive, send, assembler, route, jsonrpc, req_id
                )
            else:
                bytes_out, broken = await self.relay.body(conn, send, assembler, timeout)
            if not broken:
                assert self.pool is not None
                self.pool.release(conn)
            conn = None
        finally:
            if conn is not None:
                conn.abort()
            latency = time.perf_counter() - started
            self.accounting.finish(
                principal=principal,
                route=route,
                call=call,
                method_name=method_name,
                status=status,
                latency=latency,
                bytes_in=len(body) if not more else -1,
                bytes_out=bytes_out,
                endpoint=endpoint_used,
                error=error,
                span=span,
                assembler=assembler,
                broken=broken,
            )


def can_see(view: RegistryView, principal: Principal, route: AgentRoute) -> bool:
    """Visibility (404 when false); views without ``can_see`` answer with ``can_access``."""
    see = getattr(view, "can_see", None)
    if see is not None:
        return bool(see(principal, route))
    return view.can_access(principal, route)
