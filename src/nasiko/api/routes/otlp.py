"""OTLP/HTTP trace receiver: ``POST /v1/traces`` (protobuf or JSON, optionally gzip).

The path is at the root, as OTLP exporters expect (endpoint + ``/v1/traces``):
`router` has no prefix and is mounted beside the API, and `create_otlp_app(svc)` is the small
app `nasiko up` serves on the OTLP port (4318).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from nasiko.api.deps import bearer_token
from nasiko.asgi import RequestIdMiddleware, error_response
from nasiko.errors import NasikoError, Unavailable
from nasiko.observability import receiver

router = APIRouter(tags=["otlp"])


async def _export(svc: object, request: StarletteRequest) -> Response:
    extensions = getattr(svc, "extensions", {})
    service = extensions.get("traces")
    if service is None:
        raise Unavailable("tracing is not set up on this platform")
    client = request.client.host if request.client else None
    principal = await receiver.authenticate(svc, bearer_token(request), client)  # type: ignore[arg-type]
    body = await receiver.read_limited(
        request.stream(), declared=request.headers.get("content-length")
    )
    reply = await receiver.receive(
        service,
        body,
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
        principal=principal,
        forwarder=extensions.get("otlp_forwarder"),
    )
    return Response(reply.body, media_type=reply.media_type)


@router.post("/v1/traces", summary="OTLP/HTTP trace export")
async def export_traces(request: Request) -> Response:
    return await _export(request.app.state.services, request)


def create_otlp_app(svc: object) -> Starlette:
    """The OTLP listener: only ``POST /v1/traces`` and ``/healthz``."""

    async def traces(request: StarletteRequest) -> Response:
        try:
            return await _export(svc, request)
        except NasikoError as exc:
            return error_response(exc)

    async def healthz(_: StarletteRequest) -> JSONResponse:
        return JSONResponse({"status": "ok", "component": "otlp"})

    app = Starlette(
        routes=[Route("/v1/traces", traces, methods=["POST"]), Route("/healthz", healthz)]
    )
    app.state.services = svc
    app.add_middleware(RequestIdMiddleware)
    return app
