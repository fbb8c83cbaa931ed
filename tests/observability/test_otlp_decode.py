from __future__ import annotations

import gzip
import json
import zlib

import pytest

from nasiko.errors import InvalidInput, PayloadTooLarge
from nasiko.observability import otlp
from nasiko.testing.otlp import encode, encode_json, new_trace_id, span

PB = "application/x-protobuf"


def _spans() -> list:  # type: ignore[type-arg]
    tid = new_trace_id()
    root = span(
        trace_id=tid,
        name="root",
        kind="server",
        status="ok",
        attributes={"n": 3, "f": 1.5, "b": True, "s": "x"},
    )
    child = span(trace_id=tid, parent=root.span_id, name="child", kind="client", status="error")
    return [root, child]


def test_protobuf_and_json_decode_to_the_same_records() -> None:
    spans = _spans()
    pb = otlp.decode(encode(spans).SerializeToString(), content_type=PB, content_encoding=None)
    js = otlp.decode(
        json.dumps(encode_json(spans)).encode(),
        content_type="application/json; charset=utf-8",
        content_encoding=None,
    )
    assert pb.encoding == otlp.PROTOBUF and js.encoding == otlp.JSON
    for got in (pb.spans, js.spans):
        assert [(s.trace_id, s.span_id, s.parent_span_id) for s in got] == [
            (s.trace_id, s.span_id, s.parent_span_id) for s in spans
        ]
        root = got[0]
        assert root.kind == "server" and root.status == "ok" and got[1].status == "error"
        assert root.attributes["n"] == 3 and root.attributes["f"] == 1.5
        assert root.attributes["b"] is True and root.attributes["s"] == "x"
        assert root.attributes["otel.scope.name"] == "nasiko.test"
        assert root.resource == {"service.name": "test"}
    assert otlp.success_body(otlp.JSON) == b"{}"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies(encoding: str) -> None:
    raw = encode(_spans()).SerializeToString()
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    assert len(otlp.decode(body, content_type=PB, content_encoding=encoding).spans) == 2


def _bad_json(span_patch: dict[str, object]) -> bytes:
    doc = encode_json(_spans())
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1].update(span_patch)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "reason"),
    [
        (b"\xff\xff\xff", PB, None, "not an ExportTraceServiceRequest"),
        (b"{not json", "application/json", None, "not valid JSON"),
        (b"[1, 2]", "application/json", None, "must be an object"),
        (b'{"resourceSpans": "nope"}', "application/json", None, "not an OTLP trace export"),
        (_bad_json({"traceId": "xyz"}), "application/json", None, "not a hex id"),
        (_bad_json({"spanId": "00" * 8}), "application/json", None, "spanId"),
        (_bad_json({"traceId": "ab" * 4}), "application/json", None, "traceId"),
        (_bad_json({"endTimeUnixNano": "1"}), "application/json", None, "before"),
        (_bad_json({"startTimeUnixNano": "0"}), "application/json", None, "startTimeUnixNano"),
        (b"x", "text/plain", None, "unsupported content type"),
        (b"x", PB, "br", "unsupported content encoding"),
        (b"not gzip at all", PB, "gzip", "could not be decompressed"),
        (gzip.compress(b"12345678")[:-6], PB, "gzip", "truncated"),
    ],
)
def test_malformed_payloads_name_the_reason(
    body: bytes, content_type: str, encoding: str | None, reason: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        otlp.decode(body, content_type=content_type, content_encoding=encoding)
    assert reason in err.value.message


def test_one_bad_span_rejects_the_request_with_its_path() -> None:
    with pytest.raises(InvalidInput) as err:
        otlp.decode(
            _bad_json({"spanId": "00" * 8}), content_type="application/json", content_encoding=None
        )
    assert err.value.details[0]["path"] == "resourceSpans[0].scopeSpans[0].spans[1].spanId"
    assert "nothing stored" in err.value.message


def test_oversize_and_decompression_bombs_are_413() -> None:
    with pytest.raises(PayloadTooLarge):
        otlp.decode(b"x" * 101, content_type=PB, content_encoding=None, limit=100)
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(PayloadTooLarge):
        otlp.decode(bomb, content_type=PB, content_encoding="gzip", limit=1_000_000)


def test_long_strings_are_cut() -> None:
    s = span(attributes={"prompt": "x" * (otlp.MAX_STRING_CHARS + 10)}, name="n" * 1000)
    got = otlp.decode(encode([s]).SerializeToString(), content_type=PB, content_encoding=None)
    assert got.spans[0].attributes["prompt"].endswith("[truncated]")
    assert len(got.spans[0].name) == otlp.MAX_NAME_CHARS
