"""The chart and waterfall arithmetic, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nasiko.core.observability.models import SpanNode, TraceSummary
from nasiko.web.charts import buckets, waterfall_rows
from nasiko.web.context import safe_next

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def trace(minute: int, *, ms: float, status: str = "ok", tokens: int = 0) -> TraceSummary:
    return TraceSummary(
        trace_id=f"{minute:032x}",
        start=T0 + timedelta(minutes=minute),
        duration_ms=ms,
        span_count=1,
        error_count=1 if status == "error" else 0,
        status=status,  # type: ignore[arg-type]
        input_tokens=tokens,
        output_tokens=tokens,
        cost_usd=0.5,
    )


def test_buckets_count_calls_errors_latency_tokens_and_cost() -> None:
    traces = [
        trace(1, ms=10),
        trace(2, ms=30, status="error", tokens=5),
        trace(59, ms=7),
        trace(-5, ms=1000),  # before the window: ignored
        trace(60, ms=1000),  # at the end: ignored
    ]
    data = buckets(traces, since=T0, until=T0 + timedelta(hours=1), count=4)
    assert data["labels"] == ["12:00", "12:15", "12:30", "12:45"]
    assert data["calls"] == [2, 0, 0, 1]
    assert data["errors"] == [1, 0, 0, 0]
    assert data["latency"] == [20.0, None, None, 7.0]
    assert data["tokens"] == [10, 0, 0, 0]
    assert data["cost"] == [1.0, 0.0, 0.0, 0.5]


def span(name: str, start_ms: float, ms: float, children: list[SpanNode] | None = None) -> SpanNode:
    return SpanNode(
        span_id=name,
        parent_span_id=None,
        name=name,
        kind="server",
        start=T0 + timedelta(milliseconds=start_ms),
        duration_ms=ms,
        status="ok",
        children=children or [],
    )


def test_waterfall_places_children_under_parents_in_time_order() -> None:
    root = span("root", 0, 100, [span("late", 60, 40), span("early", 10, 20)])
    rows = waterfall_rows([root])
    assert [(r["span"].name, r["depth"]) for r in rows] == [
        ("root", 0),
        ("early", 1),
        ("late", 1),
    ]
    assert rows[0]["left"] == 0 and rows[0]["width"] == 100
    assert rows[1]["left"] == 10 and rows[1]["width"] == 20
    assert rows[2]["left"] == 60 and rows[2]["width"] == 40
    assert waterfall_rows([]) == []


def test_sign_in_redirects_stay_inside_the_ui() -> None:
    assert safe_next("/ui/chat/abc?x=1") == "/ui/chat/abc?x=1"
    for bad in (None, "", "https://evil.example/ui/", "//evil.example/ui/x", "/api/v1/users"):
        assert safe_next(bad) == "/ui/agents"
