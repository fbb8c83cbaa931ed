"""Gateway application factory: a plain ASGI app (no per-request router or middleware stack).

    /healthz, /readyz, /metrics                 health, readiness (+ chat-log buffer), Prometheus
    GET /agents                                 cards the caller may see, URLs on the gateway
    /agents/{slug}/.well-known/agent-card.json  the agent's card, URLs rewritten (v1.0 layout)
    /agents/{slug}/.well-known/agent.json       the same card in the legacy v0.3 layout
    /agents/{slug}/<rest>                       proxied to <endpoint>/<rest>  (proxy.py)

The upstream connection pool, the chat-log flusher and the auth-event subscription are
opened in the lifespan and closed with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send

from nasiko import errors
from nasiko.asgi import health_payload
from nasiko.bootstrap import Services
from nasiko.core.ports import AgentRoute
from nasiko.gateway.access import AuthCache, Limits
from nasiko.gateway.balancer import Balancer
from nasiko.gateway.chatlog import ChatLogBuffer
from nasiko.gateway.errors import send_error, send_json
from nasiko.gateway.observe import GatewayMetrics, Tracing
from nasiko.gateway.proxy import Proxy, can_see
from nasiko.gateway.upstream import UpstreamPool
from nasiko.observability import metrics as shared_metrics

__all__ = ["ROUTES_FILE_ENV", "GatewayApp", "create_app"]

CARD_PATHS = {
    "/.well-known/agent-card.json": "v1",
    "/.well-known/agent.json": "v03",
}
ROUTES_FILE_ENV = "NASIKO_GATEWAY_ROUTES_FILE"
"""Bench/dev only: a JSON file of routes served when no registry view is installed."""


class GatewayApp:
    def __init__(self, svc: Services, *, auth_ttl: float = 1.0) -> None:
        s = svc.settings.gateway
        self.svc = svc
        self.auth = AuthCache(svc.auth, ttl=auth_ttl)
        self.chatlog = ChatLogBuffer(
            lambda: svc.extensions.get("chat_log_sink"), capacity=s.chat_log_buffer
        )
        self.metrics = GatewayMetrics(self.chatlog.stats)
        self.balancer = Balancer(cooldown=s.endpoint_cooldown)
        self.proxy = Proxy(
            svc,
            auth=self.auth,
            limits=Limits(
                svc.rate_limiter,
                caller_rate=s.rate_limit_per_caller,
                caller_burst=s.rate_limit_burst,
                agent_rate=s.rate_limit_per_agent,
            ),
            balancer=self.balancer,
            chatlog=self.chatlog,
            metrics=self.metrics,
            tracing=Tracing(lambda: svc.extensions.get("tracer_provider")),
        )
        self._cards: dict[str, tuple[AgentRoute, dict[str, bytes]]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    # ----------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith("/agents/"):
                slug, _, rest = path[8:].partition("/")
                sub = "/" + rest
                card_kind = CARD_PATHS.get(sub)
                if card_kind is not None and scope["method"] in ("GET", "HEAD"):
                    await self._card(scope, send, slug, card_kind)
                else:
                    await self.proxy.handle(scope, receive, send, slug, sub)
            elif path == "/agents" or path == "/agents/":
                await self._list(scope, send)
            elif path == "/healthz":
                await send_json(send, 200, b'{"status":"ok","component":"gateway"}')
            elif path == "/readyz":
                await self._readyz(send)
            elif path == "/metrics":
                await self._metrics(send)
            else:
                await send_error(
                    send,
                    errors.NotFound(f"no such path {path}; agents live under /agents/<slug>/"),
                    jsonrpc=False,
                    request_id=None,
                    extra_headers=[],
                )
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported to the server, which refuses to start
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        s = self.svc.settings.gateway
        self.proxy.pool = UpstreamPool(connect_timeout=s.connect_timeout)
        self.chatlog.start()
        self._unsubscribe = self.svc.events.subscribe("auth", self.auth.on_event)
        routes_file = os.environ.get(ROUTES_FILE_ENV)
        if routes_file and "registry_view" not in self.svc.extensions:
            from nasiko.testing.registry_view import StaticRegistryView

            self.svc.extensions["registry_view"] = StaticRegistryView.from_file(routes_file)

    async def shutdown(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.chatlog.stop()
        if self.proxy.pool is not None:
            await self.proxy.pool.close()
            self.proxy.pool = None

    # ----------------------------------------------------------------- small endpoints

    async def _readyz(self, send: Send) -> None:
        checks: dict[str, Any] = await self.svc.readiness()
        checks["registry"] = {"ok": "registry_view" in self.svc.extensions}
        checks["chat_log"] = self.chatlog.stats()
        checks["upstream"] = {
            "ok": self.proxy.pool is not None,
            "idle_connections": self.proxy.pool.idle_count() if self.proxy.pool else 0,
            "endpoints_down": self.balancer.down(),
        }
        body, code = health_payload("gateway", checks)
        await send_json(send, code, json.dumps(body, default=str).encode())

    async def _metrics(self, send: Send) -> None:
        # This gateway's own series, then the platform-wide ones (agents, spans, deploys).
        body = generate_latest(self.metrics.registry) + generate_latest(shared_metrics.REGISTRY)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _caller(self, scope: Scope) -> Any:
        auth = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        return await self.auth.authenticate(auth)

    def _card_bytes(self, route: AgentRoute, kind: str) -> bytes:
        from nasiko.a2a.rewrite import rewrite_card_urls, to_v03_card

        cached = self._cards.get(route.slug)
        if cached is None or cached[0] is not route:
            cached = (route, {})
            self._cards[route.slug] = cached
        out = cached[1].get(kind)
        if out is None:
            base = f"{self.svc.settings.gateway_url}/agents/{route.slug}"
            card = rewrite_card_urls(route.card, base)
            doc = to_v03_card(card) if kind == "v03" else card
            out = cached[1][kind] = json.dumps(doc).encode()
        return out

    async def _card(self, scope: Scope, send: Send, slug: str, kind: str) -> None:
        try:
            principal = await self._caller(scope)
            view = self.proxy.view()
            route = view.route(slug)
            if route is None or not can_see(view, principal, route):
                raise errors.NotFound(f"no agent '{slug}' (or you may not use it)")
            body = self._card_bytes(route, kind)
        except errors.NasikoError as exc:
            await send_error(send, exc, jsonrpc=False, request_id=None, extra_headers=[])
            return
        await send_json(send, 200, body)

    async def _list(self, scope: Scope, send: Send) -> None:
        try:
            principal = await self._caller(scope)
            view = self.proxy.view()
            items = []
            for route in sorted(view.visible(principal), key=lambda r: r.slug):
                items.append(
                    {
                        "slug": route.slug,
                        "name": route.name,
                        "status": route.status,
                        "card_url": f"{self.svc.settings.gateway_url}/agents/{route.slug}"
                        "/.well-known/agent-card.json",
                        "card": json.loads(self._card_bytes(route, "v1")),
                    }
                )
        except errors.NasikoError as exc:
            await send_error(send, exc, jsonrpc=False, request_id=None, extra_headers=[])
            return
        await send_json(send, 200, json.dumps({"items": items, "total": len(items)}).encode())


def create_app(svc: Services) -> GatewayApp:
    return GatewayApp(svc)
