"""Test helpers for observability, shipped with the package (tests, benchmarks, demos).

- `span(...)`: a SpanRecord with sensible defaults;
- `encode(...)`: SpanRecords -> OTLP ExportTraceServiceRequest (protobuf) or OTLP JSON;
- `TraceStack`: a live API (with the traces and OTLP routes) and an OTLP listener on free
  loopback ports, with the TraceService registered, in a background thread.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from nasiko.core.observability.models import SpanRecord
from nasiko.settings import Settings
from nasiko.testing.platform import PlatformThread, free_port

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


class TraceStack(PlatformThread):
    """A live API (with the traces and OTLP routes) and the OTLP listener, on free ports.

    with TraceStack(settings) as stack:
        httpx.post(stack.otlp_url + "/v1/traces", ...)
        stack.call(stack.service.flush())
    """

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        settings.observability.otlp_port = free_port()
        super().__init__(settings, ["api", "otlp"], timeout=timeout)

    @property
    def otlp_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.observability.otlp_port}"

    @property
    def service(self) -> Any:
        return self.services.extensions["traces"]

    def __enter__(self) -> TraceStack:
        super().__enter__()
        self.service.flush_interval = 0.05  # tests read spans right after sending them
        return self
