"""nasiko observability traces|trace|summary: read traces, spans, tokens and cost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table
from rich.tree import Tree

from nasiko.cli.context import console, emit, fail, friendly, render_table, state

app = typer.Typer(help="Traces, tokens and cost of agent calls.", no_args_is_help=True)

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None) -> str | None:
    """'15m', '2h', '7d' (ago) or an ISO time -> an ISO timestamp for the API."""
    if not value:
        return None
    match = _AGO.match(value.strip().lower())
    if match:
        ago = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        return (datetime.now(UTC) - ago).isoformat()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: use a duration like 30m, 2h, 7d or an ISO time", code=2)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.1f}ms"


def _cost(value: float | None) -> str:
    return "-" if not value else f"${value:.6f}".rstrip("0").rstrip(".")


@app.command("traces")
def list_traces(
    agent: str | None = typer.Option(None, "--agent", "-a", help="Agent slug."),
    since: str | None = typer.Option(None, "--since", help="e.g. 30m, 2h, 7d, or an ISO time."),
    status: str | None = typer.Option(None, "--status", help="ok or error."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=500),
) -> None:
    """Recent traces, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if agent:
        params["agent"] = agent
    if status:
        params["status"] = status
    if (iso := parse_since(since)) is not None:
        params["since"] = iso
    with friendly(), state.client() as client:
        page = client.get("/traces", params=params)

    def table(p: dict[str, Any]) -> None:
        if not p["items"]:
            console.print("[dim]no traces in this window[/dim]")
            return
        # Built here rather than with render_table: the trace id must never wrap, it is what
        # `nasiko observability trace ID` takes.
        t = Table()
        t.add_column("trace", no_wrap=True, min_width=32)
        for col in ("name", "agent", "time", "status", "tokens", "cost"):
            t.add_column(col, overflow="fold")
        for item in p["items"]:
            t.add_row(
                item["trace_id"],
                item["name"] or "-",
                item["agent"] or "-",
                _ms(item["duration_ms"]),
                item["status"],
                f"{item['input_tokens']}/{item['output_tokens']}",
                _cost(item["cost_usd"]),
            )
        console.print(t)
        if p["total"] > len(p["items"]):
            console.print(f"[dim]{len(p['items'])} of {p['total']}; use --limit for more[/dim]")

    emit(page, table=table)


def _label(node: dict[str, Any]) -> str:
    parts = [f"[bold]{node['name']}[/bold]", _ms(node["duration_ms"])]
    if node.get("agent"):
        parts.append(f"[cyan]{node['agent']}[/cyan]")
    if node["status"] == "error":
        parts.append(
            "[red]error[/red]"
            + (f": {node['status_message']}" if node.get("status_message") else "")
        )
    if node.get("input_tokens") is not None or node.get("output_tokens") is not None:
        tokens = f"{node.get('input_tokens') or 0}→{node.get('output_tokens') or 0}"
        parts.append(f"{node.get('model') or '?'} {tokens} tok")
        if node.get("cost_usd"):
            parts.append(_cost(node["cost_usd"]))
    return "  ".join(parts)


def _add(tree: Tree, node: dict[str, Any]) -> None:
    branch = tree.add(_label(node), highlight=False)
    for child in node["children"]:
        _add(branch, child)


@app.command("trace")
def show_trace(trace_id: str = typer.Argument(..., help="The trace id (32 hex digits).")) -> None:
    """One trace as an indented span tree with durations, tokens and cost."""
    with friendly(), state.client() as client:
        data = client.get(f"/traces/{trace_id}")

    def table(d: dict[str, Any]) -> None:
        s = d["summary"]
        head = (
            f"trace {s['trace_id']}  {_ms(s['duration_ms'])}  {s['span_count']} spans  "
            f"{s['status']}  tokens {s['input_tokens']}/{s['output_tokens']}  "
            f"{_cost(s['cost_usd'])}"
        )
        tree = Tree(head, highlight=False)
        for root in d["roots"]:
            _add(tree, root)
        console.print(tree)

    emit(data, table=table)


@app.command("summary")
def summary(
    since: str | None = typer.Option(None, "--since", help="Window start (default: 24h ago)."),
) -> None:
    """Per agent: calls, errors, p50/p95 latency, tokens and cost over a window."""
    params = {}
    if (iso := parse_since(since)) is not None:
        params["since"] = iso
    with friendly(), state.client() as client:
        rows = client.get("/traces/summary", params=params)

    def table(data: list[dict[str, Any]]) -> None:
        shown = [
            {
                "agent": r["agent"],
                "calls": r["calls"],
                "errors": r["errors"],
                "p50": _ms(r["p50_ms"]),
                "p95": _ms(r["p95_ms"]),
                "tokens in": r["input_tokens"],
                "tokens out": r["output_tokens"],
                "cost": _cost(r["cost_usd"]),
            }
            for r in data
        ]
        render_table(shown, list(shown[0]) if shown else [], empty="no agent calls in this window")

    emit(rows, table=table)
