"""The API application factory. Nothing runs at import; `create_app(svc)` builds the app."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from nasiko import __version__
from nasiko.api.deps import ServicesDep
from nasiko.api.errors import install_error_handlers
from nasiko.api.routes import (
    access,
    audit,
    auth,
    chat,
    github,
    github_auth,
    lifecycle,
    n8n,
    otlp,
    registries,
    search,
    traces,
    uploads,
    users,
)
from nasiko.asgi import RequestIdMiddleware, health_payload
from nasiko.bootstrap import Services
from nasiko.core.integrations.wiring import N8N_MOUNT
from nasiko.observability.metrics import metrics_app
from nasiko.observability.selftrace import TracingMiddleware

API_PREFIX = "/api/v1"


class StatusOut(BaseModel):
    version: str
    mode: str
    components: dict[str, Any]
    counts: dict[str, int]


def create_app(svc: Services, *, extra_routers: list[APIRouter] | None = None) -> FastAPI:
    app = FastAPI(
        title="Nasiko API",
        version=__version__,
        description="Registry, deployment and orchestration of A2A agents.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.services = svc
    app.state.started = time.time()
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        github_auth,
        users,
        audit,
        registries,
        access,
        search,
        uploads,
        lifecycle,
        traces,
        chat,
        github,
        n8n,
    ):
        api.include_router(module.router)
    for extra in extra_routers or []:
        api.include_router(extra)

    @api.get("/status", response_model=StatusOut, tags=["platform"])
    async def status(svc: ServicesDep) -> StatusOut:
        probes = svc.extensions.get("component_probes", {})
        components: dict[str, Any] = {"api": {"ok": True, "url": svc.settings.api_url}}
        for name, probe in probes.items():
            components[name] = await probe()
        counts = {"users": await svc.storage.users.count()}
        for name, counter in svc.extensions.get("counters", {}).items():
            counts[name] = await counter()
        return StatusOut(
            version=__version__,
            mode="server" if svc.settings.redis_url else "embedded",
            components=components,
            counts=counts,
        )

    app.include_router(api)
    app.include_router(otlp.router)  # OTLP/HTTP lives at the root: POST /v1/traces
    if "n8n_adapter" in svc.extensions:
        app.mount(N8N_MOUNT, svc.extensions["n8n_adapter"])
    app.mount("/metrics", metrics_app())
    app.add_middleware(
        TracingMiddleware, provider=svc.extensions.get("tracer_provider"), component="api"
    )

    @app.get("/healthz", tags=["platform"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "component": "api"}

    @app.get("/readyz", tags=["platform"])
    async def readyz() -> JSONResponse:
        body, code = health_payload("api", await svc.readiness())
        return JSONResponse(body, status_code=code)

    return app
