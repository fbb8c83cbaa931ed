"""The OTLP receiver, live: a real OpenTelemetry SDK exporting over HTTP, auth, bad input,
forwarding to a second platform."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nasiko.core.models import Principal
from nasiko.core.observability.models import TraceFilter, Visibility
from nasiko.settings import Settings
from nasiko.testing.otlp import TraceStack, encode, encode_json, new_trace_id, span
from nasiko.testing.platform import make_settings

ALL = Visibility(all=True)
PB = {"content-type": "application/x-protobuf"}

SDK_EXPORTER = textwrap.dedent(
    """
    import sys
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    provider = TracerProvider(resource=Resource.create(
        {"service.name": "sdk-agent", "nasiko.agent.slug": "sdk-agent"}))
    exporter = OTLPSpanExporter(endpoint=sys.argv[1], compression=Compression.Gzip)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("handle", kind=SpanKind.SERVER) as root:
        for i in range(3):
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as s:
                s.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                s.set_attribute("gen_ai.usage.input_tokens", 10 * (i + 1))
                s.set_attribute("gen_ai.usage.output_tokens", 5)
                s.add_event("retry", {"attempt": i})
        with tracer.start_as_current_span("broken") as b:
            b.set_status(Status(StatusCode.ERROR, "boom"))
        print(format(root.get_span_context().trace_id, "032x"))
    assert provider.force_flush(10_000)
    provider.shutdown()
    """
)


@pytest.fixture
def stack(settings: Settings) -> Iterator[TraceStack]:
    with TraceStack(settings) as s:
        yield s


def test_real_sdk_exporter_in_a_subprocess(stack: TraceStack) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SDK_EXPORTER, stack.otlp_url + "/v1/traces"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    trace_id = out.stdout.strip()
    stack.call(stack.service.flush())
    tree = stack.call(stack.service.get_trace(trace_id, ALL))
    root = tree.roots[0]
    assert root.name == "handle" and root.kind == "server" and root.agent == "sdk-agent"
    assert [c.name for c in root.children] == ["chat gpt-4o-mini"] * 3 + ["broken"]
    assert root.children[0].events[0]["name"] == "retry"
    assert root.children[3].status == "error" and root.children[3].status_message == "boom"
    summary = tree.summary
    assert (summary.span_count, summary.input_tokens, summary.output_tokens) == (5, 60, 15)
    assert summary.cost_usd == pytest.approx((60 * 0.15 + 15 * 0.60) / 1e6)
    assert summary.status == "error"


def _login(url: str) -> str:
    resp = httpx.post(
        url + "/api/v1/auth/login", json={"username": "admin", "password": "admin-password-1"}
    )
    return str(resp.json()["access_token"])


def test_auth_tokens_attribution_and_loopback_rule(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "d", observability={"allow_unauthenticated_loopback": False}
    )
    with TraceStack(settings) as stack:
        body = encode([span(name="anon")]).SerializeToString()
        resp = httpx.post(stack.otlp_url + "/v1/traces", content=body, headers=PB)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthenticated"

        admin_id = stack.call(stack.services.storage.users.get_by_username("admin")).id
        token = _login(stack.api_url)
        user_span = span(name="as-user")
        resp = httpx.post(
            stack.api_url + "/v1/traces",
            headers={**PB, "authorization": f"Bearer {token}"},
            content=encode([user_span]).SerializeToString(),
        )
        assert resp.status_code == 200, resp.text

        async def resolver(credential: str) -> Principal | None:
            if credential == "nsa_test-agent-token":
                return Principal(kind="agent", id="agent-1", name="my-agent")
            return None

        stack.services.auth.agent_resolver = resolver
        agent_span = span(name="as-agent")
        resp = httpx.post(
            stack.otlp_url + "/v1/traces",
            headers={**PB, "authorization": "Bearer nsa_test-agent-token"},
            content=encode([agent_span]).SerializeToString(),
        )
        assert resp.status_code == 200, resp.text
        resp = httpx.post(
            stack.otlp_url + "/v1/traces",
            headers={**PB, "authorization": "Bearer nsa_wrong"},
            content=body,
        )
        assert resp.status_code == 401

        stack.call(stack.service.flush())
        page = stack.call(stack.service.list_traces(TraceFilter(), ALL))
        by_name = {t.name: t for t in page.items}
        assert set(by_name) == {"as-user", "as-agent"}
        assert by_name["as-user"].user_id == admin_id
        assert by_name["as-agent"].agent == "my-agent"


async def test_non_loopback_needs_a_token(tmp_path: Path) -> None:
    from nasiko.api.routes.otlp import create_otlp_app
    from nasiko.bootstrap import open_services
    from nasiko.observability.wiring import register

    async with open_services(make_settings(tmp_path / "d")) as svc:
        service = register(svc)
        transport = httpx.ASGITransport(app=create_otlp_app(svc), client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://otlp") as client:
            resp = await client.post(
                "/v1/traces", headers=PB, content=encode([span()]).SerializeToString()
            )
        assert resp.status_code == 401
        await service.close()
        assert await service.repo.count() == 0


def test_malformed_is_400_with_nothing_stored_and_oversize_is_413(tmp_path: Path) -> None:
    with TraceStack(make_settings(tmp_path / "d")) as stack:
        url = stack.otlp_url + "/v1/traces"
        good = span(name="good")
        doc = encode_json([good, span(name="bad")])
        doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "not-hex"
        resp = httpx.post(url, json=doc)
        assert resp.status_code == 400
        err = resp.json()["error"]
        assert err["code"] == "invalid_input" and "spans[1].spanId" in err["message"]
        resp = httpx.post(url, content=b"\x0a\xff\xff", headers=PB)
        assert resp.status_code == 400 and "protobuf" in resp.json()["error"]["message"]

        resp = httpx.post(url, content=b"\0" * (16 * 1024 * 1024 + 1), headers=PB)
        assert resp.status_code == 413
        bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
        resp = httpx.post(url, content=bomb, headers={**PB, "content-encoding": "gzip"})
        assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"

        stack.call(stack.service.flush())
        assert stack.call(stack.service.repo.count()) == 0  # not even the good span

        resp = httpx.post(
            url,
            content=json.dumps(encode_json([good])),
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 200 and resp.json() == {}
        stack.call(stack.service.flush())
        assert stack.call(stack.service.repo.count()) == 1


def test_forwarding_to_another_otlp_backend(tmp_path: Path) -> None:
    with TraceStack(make_settings(tmp_path / "downstream")) as downstream:
        upstream_settings = make_settings(
            tmp_path / "up", observability={"forward_endpoint": downstream.otlp_url}
        )
        with TraceStack(upstream_settings) as upstream:
            tid = new_trace_id()
            spans = [span(trace_id=tid, name=f"s{i}") for i in range(5)]
            for batch in (spans[:2], spans[2:]):
                resp = httpx.post(upstream.otlp_url + "/v1/traces", json=encode_json(batch))
                assert resp.status_code == 200
            forwarder = upstream.services.extensions["otlp_forwarder"]
            upstream.call(forwarder.flush())
        # Both requests arrived downstream (as one concatenated protobuf batch or two).
        downstream.call(downstream.service.flush())
        tree = downstream.call(downstream.service.get_trace(tid, ALL))
        assert tree.summary.span_count == 5
        assert forwarder.dropped_payloads == 0
