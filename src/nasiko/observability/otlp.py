"""OTLP/HTTP trace payloads: decompress, decode (protobuf or JSON), validate, normalise.

Validation is all-or-nothing: every span of a request is checked before any is handed on,
and the first problems (with their JSON paths) go back to the sender in `InvalidInput`.

OTLP JSON differs from protobuf's canonical JSON in one way that matters: trace and span ids
are hex strings, not base64. They are rewritten before parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from nasiko.core.observability.models import SpanKind, SpanRecord, SpanStatus
from nasiko.errors import InvalidInput, PayloadTooLarge

# Proposed settings for the lead (settings.observability): max_request_bytes, max_spans.
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # compressed or not: a larger body gets 413
MAX_SPANS_PER_REQUEST = 50_000
MAX_STRING_CHARS = 32 * 1024  # longer attribute values are cut (with a marker)
MAX_NAME_CHARS = 256
MAX_REPORTED_PROBLEMS = 20

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_KINDS: dict[int, SpanKind] = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
_STATUS: dict[int, SpanStatus] = {0: "unset", 1: "ok", 2: "error"}


@dataclass(slots=True)
class Decoded:
    request: ExportTraceServiceRequest
    spans: list[SpanRecord]
    encoding: str  # PROTOBUF or JSON: the response is sent in the same one


def media_type(content_type: str | None) -> str:
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if ct in ("application/x-protobuf", "application/protobuf"):
        return PROTOBUF
    if ct == "application/json":
        return JSON
    raise InvalidInput(
        f"unsupported content type {content_type or '(none)'!r}; "
        "send application/x-protobuf or application/json",
        code="unsupported_media_type",
    )


def decompress(body: bytes, encoding: str | None, *, limit: int = MAX_REQUEST_BYTES) -> bytes:
    if len(body) > limit:
        raise PayloadTooLarge(
            f"the payload is {len(body)} bytes; the limit is {limit}. Export smaller batches",
            details={"limit": limit},
        )
    enc = (encoding or "identity").strip().lower()
    if enc in ("identity", ""):
        return body
    if enc not in ("gzip", "deflate"):
        raise InvalidInput(f"unsupported content encoding {encoding!r}; use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if enc == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        # Inflate at most limit+1 bytes: a decompression bomb stops here.
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(f"the {enc} body could not be decompressed: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(
            f"the decompressed payload exceeds the limit of {limit} bytes; export smaller batches",
            details={"limit": limit},
        )
    if not inflater.eof:
        raise InvalidInput(f"the {enc} body is truncated")
    return out


def _hex_to_b64(value: Any, path: str, problems: list[dict[str, str]]) -> Any:
    if not isinstance(value, str) or value == "":
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        problems.append({"path": path, "message": f"not a hex id: {value[:40]!r}"})
        return ""
    return base64.b64encode(raw).decode()


def _rewrite_json_ids(doc: Any) -> None:
    problems: list[dict[str, str]] = []
    if not isinstance(doc, dict):
        raise InvalidInput("the JSON body must be an object with resourceSpans")
    for ri, rs in enumerate(_list(doc, "resourceSpans", "resource_spans")):
        for si, ss in enumerate(_list(rs, "scopeSpans", "scope_spans")):
            for pi, span in enumerate(_list(ss, "spans")):
                if not isinstance(span, dict):
                    continue
                base = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]"
                for key in (
                    "traceId",
                    "trace_id",
                    "spanId",
                    "span_id",
                    "parentSpanId",
                    "parent_span_id",
                ):
                    if key in span:
                        span[key] = _hex_to_b64(span[key], f"{base}.{key}", problems)
                for li, link in enumerate(_list(span, "links")):
                    if isinstance(link, dict):
                        for key in ("traceId", "trace_id", "spanId", "span_id"):
                            if key in link:
                                path = f"{base}.links[{li}].{key}"
                                link[key] = _hex_to_b64(link[key], path, problems)
    if problems:
        raise InvalidInput(f"{problems[0]['path']}: {problems[0]['message']}", details=problems)


def _list(obj: Any, *keys: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def parse(body: bytes, encoding: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if encoding == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise InvalidInput(
                f"the protobuf body is not an ExportTraceServiceRequest: {exc}"
            ) from None
        return request
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    _rewrite_json_ids(doc)
    try:
        # The OTLP spec asks receivers to ignore unknown fields (newer senders).
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidInput(f"the JSON body is not an OTLP trace export: {exc}") from None
    return request


def any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "string_value":
        s = value.string_value
        return s if len(s) <= MAX_STRING_CHARS else s[:MAX_STRING_CHARS] + "…[truncated]"
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode()
    return None


def attributes(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        out[kv.key] = any_value(kv.value)
    return out


def _check(span: Span, path: str, problems: list[dict[str, str]]) -> None:
    def bad(field: str, message: str) -> None:
        problems.append({"path": f"{path}.{field}", "message": message})

    if len(span.trace_id) != 16 or not any(span.trace_id):
        bad("traceId", "must be 16 bytes (32 hex digits) and not all zero")
    if len(span.span_id) != 8 or not any(span.span_id):
        bad("spanId", "must be 8 bytes (16 hex digits) and not all zero")
    if span.parent_span_id and (
        len(span.parent_span_id) != 8 or span.parent_span_id == span.span_id
    ):
        bad("parentSpanId", "must be empty or 8 bytes, and not the span itself")
    if span.start_time_unix_nano == 0:
        bad("startTimeUnixNano", "is missing")
    if span.end_time_unix_nano < span.start_time_unix_nano:
        bad("endTimeUnixNano", "is before startTimeUnixNano")
    if span.kind not in _KINDS:
        bad("kind", f"unknown span kind {span.kind}")


def to_records(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    """Validates every span, then converts them; raises InvalidInput listing what is wrong."""
    problems: list[dict[str, str]] = []
    count = 0
    for ri, rs in enumerate(request.resource_spans):
        for si, ss in enumerate(rs.scope_spans):
            for pi, span in enumerate(ss.spans):
                count += 1
                _check(span, f"resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]", problems)
    if count > MAX_SPANS_PER_REQUEST:
        raise PayloadTooLarge(
            f"{count} spans in one request; the limit is {MAX_SPANS_PER_REQUEST}",
            details={"limit": MAX_SPANS_PER_REQUEST},
        )
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"{first['path']}: {first['message']} ({len(problems)} problem(s); nothing stored)",
            details=problems[:MAX_REPORTED_PROBLEMS],
        )
    records: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = {"otel.scope.name": ss.scope.name} if ss.scope.name else {}
            for span in ss.spans:
                attrs = attributes(span.attributes)
                attrs.update(scope)
                records.append(
                    SpanRecord(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=(span.name or "(unnamed)")[:MAX_NAME_CHARS],
                        kind=_KINDS[span.kind],
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status=_STATUS.get(span.status.code, "unset"),
                        status_message=span.status.message or None,
                        attributes=attrs,
                        resource=resource,
                        events=[
                            {
                                "name": e.name,
                                "time_unix_nano": e.time_unix_nano,
                                "attributes": attributes(e.attributes),
                            }
                            for e in span.events
                        ],
                    )
                )
    return records


def decode(
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    limit: int = MAX_REQUEST_BYTES,
) -> Decoded:
    encoding = media_type(content_type)
    request = parse(decompress(body, content_encoding, limit=limit), encoding)
    return Decoded(request=request, spans=to_records(request), encoding=encoding)


def success_body(encoding: str) -> bytes:
    response = ExportTraceServiceResponse()
    if encoding == JSON:
        return json_format.MessageToJson(response).encode()
    return response.SerializeToString()
