"""Test helpers for observability, shipped with the package (tests, benchmarks, demos).

- `span(...)`: a SpanRecord with sensible defaults;
- `encode(...)`: SpanRecords -> OTLP ExportTraceServiceRequest (protobuf) or OTLP JSON;
- `TraceStack`: a live API (with the traces and OTLP routes) and an OTLP listener on free
  loopback ports, with the TraceService registered, in a background thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from nasiko.core.observability.models import SpanRecord
from nasiko.settings import Settings

_KIND = {"unspecified": 0, "internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
_STATUS = {"unset": 0, "ok": 1, "error": 2}


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def span(
    *,
    trace_id: str | None = None,
    span_id: str | None = None,
    parent: str | None = None,
    name: str = "work",
    kind: str = "internal",
    start_ns: int | None = None,
    duration_ms: float = 10.0,
    status: str = "unset",
    attributes: dict[str, Any] | None = None,
    resource: dict[str, Any] | None = None,
) -> SpanRecord:
    start = start_ns if start_ns is not None else time.time_ns()
    return SpanRecord(
        trace_id=trace_id or new_trace_id(),
        span_id=span_id or new_span_id(),
        parent_span_id=parent,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        start_ns=start,
        end_ns=start + int(duration_ms * 1_000_000),
        status=status,  # type: ignore[arg-type]
        attributes=dict(attributes or {}),
        resource=dict(resource or {"service.name": "test"}),
    )


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def _kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in attrs.items()]


def encode(records: Sequence[SpanRecord]) -> ExportTraceServiceRequest:
    """One ResourceSpans per distinct resource, in the order first seen."""
    request = ExportTraceServiceRequest()
    by_resource: dict[str, Any] = {}
    for rec in records:
        key = json.dumps(rec.resource, sort_keys=True)
        if key not in by_resource:
            rs = request.resource_spans.add()
            rs.resource.attributes.extend(_kvs(rec.resource))
            by_resource[key] = rs.scope_spans.add()
            by_resource[key].scope.name = "nasiko.test"
        by_resource[key].spans.append(
            Span(
                trace_id=bytes.fromhex(rec.trace_id),
                span_id=bytes.fromhex(rec.span_id),
                parent_span_id=bytes.fromhex(rec.parent_span_id) if rec.parent_span_id else b"",
                name=rec.name,
                kind=_KIND[rec.kind],  # type: ignore[arg-type]
                start_time_unix_nano=rec.start_ns,
                end_time_unix_nano=rec.end_ns,
                attributes=_kvs(rec.attributes),
                status=Status(code=_STATUS[rec.status], message=rec.status_message or ""),  # type: ignore[arg-type]
            )
        )
    return request


def encode_json(records: Sequence[SpanRecord]) -> dict[str, Any]:
    """OTLP JSON: protobuf JSON with lowerCamelCase names and hex (not base64) ids."""
    doc: dict[str, Any] = json_format.MessageToDict(encode(records))
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in sp:
                        sp[key] = base64.b64decode(sp[key]).hex()
    return doc


class TraceStack:
    """API (with traces + OTLP routes) and the OTLP app, live, on their own event loop.

    with TraceStack(settings) as stack:
        httpx.post(stack.otlp_url + "/v1/traces", ...)
        stack.call(stack.service.flush())
    """

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.services: Any = None
        self.api_url = ""
        self.otlp_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="trace-stack")

    @property
    def service(self) -> Any:
        return self.services.extensions["traces"]

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # handed to the test thread, which re-raises it
            self._error = exc
        finally:
            self._ready.set()

    async def _run(self) -> None:
        import uvicorn

        from nasiko.api.app import create_app
        from nasiko.api.routes import otlp
        from nasiko.bootstrap import open_services
        from nasiko.observability.wiring import register
        from nasiko.testing.serving import bind_socket, socket_url

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with open_services(self.settings) as svc:
            register(svc, flush_interval=0.05)
            app = create_app(svc)
            app.include_router(otlp.router)
            apps = [app, otlp.create_otlp_app(svc)]
            socks = [bind_socket("127.0.0.1", 0) for _ in apps]
            self.api_url, self.otlp_url = (socket_url("127.0.0.1", s) for s in socks)
            servers = [
                uvicorn.Server(uvicorn.Config(a, log_level="warning", lifespan="off")) for a in apps
            ]
            tasks = [
                asyncio.create_task(srv.serve(sockets=[sock]))
                for srv, sock in zip(servers, socks, strict=True)
            ]
            tasks += [asyncio.create_task(job(self._stop)) for job in svc.extensions["background"]]
            while not all(s.started for s in servers):  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.01)
            self.services = svc
            self._ready.set()
            await self._stop.wait()
            for srv in servers:
                srv.should_exit = True
            await asyncio.gather(*tasks)
            for closer in reversed(svc.extensions.get("closers", [])):
                await closer()
            for sock in socks:
                sock.close()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> TraceStack:
        self._thread.start()
        if not self._ready.wait(self.timeout):
            raise TimeoutError("the trace stack did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.timeout)
        if self._error is not None and exc is None:
            raise self._error
