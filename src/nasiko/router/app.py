"""Router application factory: POST /route over the core RouterService."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from nasiko.asgi import RequestIdMiddleware, error_response, health_payload
from nasiko.bootstrap import Services
from nasiko.core.models import Principal
from nasiko.core.routing.service import RouterService
from nasiko.errors import InvalidInput, NasikoError, Unauthenticated
from nasiko.observability.metrics import metrics_app
from nasiko.observability.selftrace import TracingMiddleware


class RouteRequest(BaseModel):
    query: str = Field(min_length=1, max_length=10_000)
    session_id: str | None = None
    top_k: int = Field(3, ge=1, le=50)


def create_app(svc: Services) -> Starlette:
    router: RouterService = svc.extensions["router_service"]

    async def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        return await svc.auth.authenticate(token.strip())

    async def route(request: Request) -> JSONResponse:
        try:
            caller = await principal(request)
            try:
                body = RouteRequest.model_validate_json(await request.body())
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "body"
                raise InvalidInput(
                    f"{field}: {first['msg']}",
                    details=[
                        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                        for e in exc.errors()
                    ],
                ) from None
            sticky = None
            if body.session_id:
                chat = svc.extensions["chat"]
                session = await chat.get(caller, body.session_id)
                sticky = session.last_agent_id
            result = await router.route(
                caller, body.query, top_k=body.top_k, sticky_agent_id=sticky
            )
        except NasikoError as exc:
            return error_response(exc)
        out = result.model_dump()
        for cand in out["candidates"]:
            cand["slug"] = router.slug_of(cand["agent_id"])
        return JSONResponse(out)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "component": "router"})

    async def readyz(_: Request) -> JSONResponse:
        checks = await svc.readiness()
        checks["index"] = {"ok": True, "agents": len(router.index)}
        body, code = health_payload("router", checks)
        return JSONResponse(body, status_code=code)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await router.ensure_started()
        yield

    app = Starlette(
        routes=[
            Route("/route", route, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/metrics", metrics_app()),
        ],
        lifespan=lifespan,
    )
    app.state.services = svc
    app.add_middleware(
        TracingMiddleware, provider=svc.extensions.get("tracer_provider"), component="router"
    )
    app.add_middleware(RequestIdMiddleware)
    return app
