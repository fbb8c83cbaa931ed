"""Router application factory."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nasiko.asgi import RequestIdMiddleware, health_payload
from nasiko.bootstrap import Services


def create_app(svc: Services) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "component": "router"})

    async def readyz(_: Request) -> JSONResponse:
        body, code = health_payload("router", await svc.readiness())
        return JSONResponse(body, status_code=code)

    app = Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
    app.state.services = svc
    app.add_middleware(RequestIdMiddleware)
    return app
