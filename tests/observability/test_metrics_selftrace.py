from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from nasiko.bootstrap import open_services
from nasiko.core.observability.models import TraceFilter, Visibility
from nasiko.observability import metrics
from nasiko.observability.selftrace import TracingMiddleware, setup_tracing
from nasiko.observability.wiring import register
from nasiko.testing.platform import make_settings


async def test_metrics_endpoint_exposes_the_shared_metrics() -> None:
    metrics.AGENT_REQUESTS.labels(agent="metrics-test", status="200").inc()
    metrics.DEPLOY_DURATION.labels(runtime="process", outcome="succeeded").observe(3.0)
    metrics.CHAT_LOG_DROPPED.inc(2)
    transport = httpx.ASGITransport(app=metrics.metrics_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        resp = await client.get("/")
    assert resp.status_code == 200
    text = resp.text
    assert 'nasiko_agent_requests_total{agent="metrics-test",status="200"}' in text
    assert 'nasiko_deploy_duration_seconds_count{outcome="succeeded",runtime="process"} 1.0' in text
    for name in (
        "nasiko_queue_depth",
        "nasiko_chat_log_dropped_total",
        "nasiko_spans_received",
        "nasiko_span_buffer",
        "nasiko_http_request_duration_seconds",
    ):
        assert name in text


async def test_the_platform_traces_its_own_requests(tmp_path: Path) -> None:
    async with open_services(make_settings(tmp_path / "d")) as svc:
        service = register(svc)
        provider = setup_tracing(svc, set_global=False)
        app = FastAPI()

        @app.get("/things/{n}")
        async def thing(n: int) -> dict[str, int]:
            with provider.get_tracer("t").start_as_current_span("inner"):
                return {"n": n}

        app.add_middleware(TracingMiddleware, provider=provider, component="api")
        transport = httpx.ASGITransport(app=app)
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (
                await client.get("/things/1", headers={"traceparent": parent})
            ).status_code == 200
            assert (await client.get("/healthz")).status_code == 404  # not traced either way
        before = metrics.SPANS_STORED._value.get()
        provider.force_flush()
        await service.flush()
        tree = await service.get_trace("0af7651916cd43dd8448eb211c80319c", Visibility(all=True))
        (root,) = tree.roots  # its parent lives in the caller, so it is the root here
        assert root.name == "GET /things/1" and root.kind == "server"
        assert root.parent_span_id == "b7ad6b7169203331"
        assert root.attributes["http.response.status_code"] == 200
        assert [c.name for c in root.children] == ["inner"]
        assert metrics.SPANS_STORED._value.get() >= before + 2
        page = await service.list_traces(TraceFilter(), Visibility(all=True))
        assert page.total == 1
        provider.shutdown()
        await service.close()


def test_grafana_dashboard_uses_only_defined_metrics() -> None:
    import json
    import re

    dashboard = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "nasiko.json"
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"nasiko_[a-z_]+", e)}
    exposed = (
        {sample.name for family in metrics.REGISTRY.collect() for sample in family.samples}
        | {f.name for f in metrics.REGISTRY.collect()}
        | {f"{f.name}_total" for f in metrics.REGISTRY.collect() if f.type == "counter"}
        | {f"{f.name}_bucket" for f in metrics.REGISTRY.collect() if f.type == "histogram"}
    )
    assert used and used <= exposed, used - exposed
