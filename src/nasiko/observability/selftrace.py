"""The platform traces itself with the OpenTelemetry SDK; its spans go straight to the local
TraceService (no network hop), beside the spans agents export over OTLP.

    provider = setup_tracing(svc)            # also at svc.extensions["tracer_provider"]
    app.add_middleware(TracingMiddleware, provider=provider, component="api")

Library instrumentation (httpx, Redis, SQLAlchemy, FastAPI) is switched on when the matching
``opentelemetry-instrumentation-*`` package is installed; without them, `TracingMiddleware`
gives every HTTP edge its server span and the gateway makes its own span per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nasiko.core.observability.models import SpanRecord
from nasiko.core.observability.service import TraceService
from nasiko.observability import metrics

log = logging.getLogger(__name__)

# Paths whose requests would only trace the tracing (or the scrapers and probes).
UNTRACED_PATHS = ("/v1/traces", "/metrics", "/healthz", "/readyz")
_STATUS = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def record_from_sdk(span: ReadableSpan) -> SpanRecord | None:
    ctx = span.context
    if ctx is None or span.start_time is None:
        return None
    return SpanRecord(
        trace_id=format(ctx.trace_id, "032x"),
        span_id=format(ctx.span_id, "016x"),
        parent_span_id=format(span.parent.span_id, "016x") if span.parent else None,
        name=span.name[:256],
        kind=span.kind.name.lower(),  # type: ignore[arg-type]
        start_ns=span.start_time,
        end_ns=span.end_time or span.start_time,
        status=_STATUS[span.status.status_code],  # type: ignore[arg-type]
        status_message=span.status.description,
        attributes={k: _plain(v) for k, v in (span.attributes or {}).items()},
        resource={k: _plain(v) for k, v in span.resource.attributes.items()},
        events=[
            {
                "name": e.name,
                "time_unix_nano": e.timestamp,
                "attributes": {k: _plain(v) for k, v in (e.attributes or {}).items()},
            }
            for e in span.events
        ],
    )


class LocalSpanExporter(SpanExporter):
    """An SDK exporter that hands spans to a TraceService in the same process."""

    def __init__(self, service: TraceService) -> None:
        self.service = service

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        records = [r for s in spans if (r := record_from_sdk(s)) is not None]
        enriched = [self.service.enrich(r) for r in records]
        self.service.submit_threadsafe(enriched)
        metrics.SPANS_RECEIVED.labels(source="self").inc(len(enriched))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def setup_tracing(
    svc: Any,
    *,
    service_name: str = "nasiko",
    set_global: bool = True,
    instrument_libraries: bool = True,
) -> TracerProvider:
    """A TracerProvider exporting into `svc.extensions["traces"]`; call from the event loop."""
    service: TraceService = svc.extensions["traces"]
    # The flusher task copies this context: its own database writes must not be traced, or
    # every flush would produce spans to flush. It also binds the loop the exporter uses.
    token = otel_context.attach(
        otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
    )
    try:
        service.start()
    finally:
        otel_context.detach(token)
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # A second: spans of a call show up in the trace view while the user still looks at it.
    provider.add_span_processor(
        BatchSpanProcessor(LocalSpanExporter(service), schedule_delay_millis=1000)
    )
    svc.extensions["tracer_provider"] = provider
    if set_global:
        trace.set_tracer_provider(provider)
    if instrument_libraries:
        instrument(svc, provider)
    return provider


def instrument(svc: Any, provider: TracerProvider) -> list[str]:
    """Switches on the optional library instrumentations that are installed; returns names."""
    done: list[str] = []
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError:
        pass
    else:
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        done.append("httpx")
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor
    except ImportError:
        pass
    else:
        RedisInstrumentor().instrument(tracer_provider=provider)
        done.append("redis")
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    except ImportError:
        pass
    else:
        SQLAlchemyInstrumentor().instrument(
            engine=svc.storage.engine.sync_engine, tracer_provider=provider
        )
        done.append("sqlalchemy")
    if done:
        log.info("OpenTelemetry instrumentation on: %s", ", ".join(done))
    return done


class TracingMiddleware:
    """ASGI middleware: one SERVER span per HTTP request (continuing the caller's
    `traceparent`), plus the shared request counters and latency histogram."""

    def __init__(self, app: ASGIApp, *, provider: Any | None = None, component: str) -> None:
        self.app = app
        self.component = component
        self.tracer = (provider or trace.get_tracer_provider()).get_tracer(f"nasiko.{component}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTRACED_PATHS):
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = extract(carrier)
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            f"{method} {scope['path']}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "nasiko.component": self.component,
            },
        ) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                metrics.HTTP_REQUESTS.labels(self.component, method, str(status)).inc()
                metrics.HTTP_LATENCY.labels(self.component).observe(time.perf_counter() - started)
