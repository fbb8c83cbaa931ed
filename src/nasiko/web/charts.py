"""Charts (ECharts, bundled with NiceGUI) over trace summaries: calls, errors, latency,
tokens and cost per time bucket, and the span waterfall of one trace."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import ui

from nasiko.core.observability.models import AgentSummary, SpanNode, TraceSummary
from nasiko.web.layout import testid


def buckets(
    traces: Sequence[TraceSummary], *, since: datetime, until: datetime, count: int = 24
) -> dict[str, list[Any]]:
    """Per-bucket series: the labels, calls, errors, mean latency, tokens and cost."""
    width = max((until - since) / count, timedelta(seconds=1))
    rows = [{"calls": 0, "errors": 0, "ms": 0.0, "tokens": 0, "cost": 0.0} for _ in range(count)]
    for t in traces:
        start = t.start if t.start.tzinfo else t.start.replace(tzinfo=UTC)
        index = math.floor((start - since) / width)  # int() would fold -0.3 into bucket 0
        if not 0 <= index < count:
            continue
        row = rows[index]
        row["calls"] += 1
        row["errors"] += 1 if t.status == "error" else 0
        row["ms"] += t.duration_ms
        row["tokens"] += t.input_tokens + t.output_tokens
        row["cost"] += t.cost_usd
    return {
        "labels": [(since + width * i).strftime("%H:%M") for i in range(count)],
        "calls": [r["calls"] for r in rows],
        "errors": [r["errors"] for r in rows],
        "latency": [round(r["ms"] / r["calls"], 1) if r["calls"] else None for r in rows],
        "tokens": [r["tokens"] for r in rows],
        "cost": [round(r["cost"], 6) for r in rows],
    }


def _chart(title: str, labels: list[str], series: list[dict[str, Any]], mark: str) -> None:
    ui.echart(
        {
            "title": {"text": title, "textStyle": {"fontSize": 13}},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 48, "right": 12, "top": 36, "bottom": 24},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": series,
        }
    ).classes("w-full h-48").props(testid(mark))


def metrics_charts(traces: Sequence[TraceSummary], *, since: datetime, until: datetime) -> None:
    data = buckets(traces, since=since, until=until)
    labels = data["labels"]
    with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-2"):
        _chart(
            "Calls and errors",
            labels,
            [
                {"name": "calls", "type": "bar", "data": data["calls"]},
                {"name": "errors", "type": "bar", "data": data["errors"], "color": "#c10015"},
            ],
            "chart-calls",
        )
        _chart(
            "Mean latency (ms)",
            labels,
            [{"name": "ms", "type": "line", "data": data["latency"], "connectNulls": True}],
            "chart-latency",
        )
        _chart(
            "Tokens", labels, [{"name": "tokens", "type": "bar", "data": data["tokens"]}],
            "chart-tokens",
        )  # fmt: skip
        _chart(
            "Cost (USD)", labels, [{"name": "USD", "type": "line", "data": data["cost"]}],
            "chart-cost",
        )  # fmt: skip


def summary_charts(rows: Sequence[AgentSummary]) -> None:
    names = [r.agent for r in rows]
    with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-2"):
        _chart(
            "Tokens per agent",
            names,
            [
                {"name": "input", "type": "bar", "stack": "t",
                 "data": [r.input_tokens for r in rows]},
                {"name": "output", "type": "bar", "stack": "t",
                 "data": [r.output_tokens for r in rows]},
            ],
            "chart-agent-tokens",
        )  # fmt: skip
        _chart(
            "Cost per agent (USD)",
            names,
            [{"name": "USD", "type": "bar", "data": [round(r.cost_usd, 6) for r in rows]}],
            "chart-agent-cost",
        )


def flatten(roots: Sequence[SpanNode], depth: int = 0) -> list[tuple[int, SpanNode]]:
    out: list[tuple[int, SpanNode]] = []
    for node in sorted(roots, key=lambda n: n.start):
        out.append((depth, node))
        out += flatten(node.children, depth + 1)
    return out


def waterfall_rows(roots: Sequence[SpanNode]) -> list[dict[str, Any]]:
    """Each span's offset and width as a share of the whole trace, for the waterfall bars."""
    spans = flatten(roots)
    if not spans:
        return []
    start = min(s.start for _, s in spans)
    end = max(s.start + timedelta(milliseconds=s.duration_ms) for _, s in spans)
    total_ms = max((end - start).total_seconds() * 1000, 0.001)
    rows = []
    for depth, span in spans:
        offset = (span.start - start).total_seconds() * 1000
        rows.append(
            {
                "span": span,
                "depth": depth,
                "left": 100 * offset / total_ms,
                "width": max(100 * span.duration_ms / total_ms, 0.5),
            }
        )
    return rows
