"""Observability: traces with filters, one trace as a waterfall, per-agent summary."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from nasiko.core.models import utcnow
from nasiko.core.observability.models import SpanNode, TraceFilter
from nasiko.core.observability.service import TraceService
from nasiko.errors import NasikoError, Unavailable
from nasiko.web.agent_tabs import trace_rows
from nasiko.web.charts import summary_charts, waterfall_rows
from nasiko.web.context import PageContext, resolve
from nasiko.web.layout import STATUS_COLORS, empty_state, error_panel, frame, guarded, testid, when

WINDOWS = {1: "last hour", 6: "last 6 hours", 24: "last 24 hours", 168: "last 7 days"}


def _service(ctx: PageContext) -> TraceService:
    service: TraceService | None = ctx.svc.extensions.get("traces")
    if service is None:
        raise Unavailable("tracing is not set up on this platform")
    return service


async def traces_page(request: Request, agent: str = "") -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    with frame(ctx, "Observability"):
        try:
            service = _service(ctx)
        except NasikoError as exc:
            error_panel(exc)
            return None
        vis = await service.visibility(ctx.principal)
        with ui.tabs().classes("w-full").props("align=left") as tabs:
            list_tab = ui.tab("Traces", icon="list")
            summary_tab = ui.tab("Per-agent summary", icon="bar_chart")
        with ui.tab_panels(tabs, value=list_tab).classes("w-full"):
            with ui.tab_panel(list_tab):
                with ui.row().classes("w-full items-end gap-2"):
                    f_agent = ui.input("Agent slug", value=agent).props("outlined dense")
                    f_agent.props(testid("filter-agent"))
                    f_status = ui.select(
                        {"": "any", "ok": "ok", "error": "error"}, value="", label="Status"
                    )
                    f_status.props("outlined dense").classes("w-28")
                    f_window = (
                        ui.select(WINDOWS, value=24, label="Window")
                        .props("outlined dense")
                        .classes("w-40")
                    )
                    f_min = ui.number("Min duration (ms)", min=0).props("outlined dense")
                    f_session = ui.input("Session id").props("outlined dense")
                results = ui.column().classes("w-full")

                @guarded
                async def refresh() -> None:
                    flt = TraceFilter(
                        agent=(f_agent.value or "").strip() or None,
                        session_id=(f_session.value or "").strip() or None,
                        since=utcnow() - timedelta(hours=int(f_window.value or 24)),
                        status=f_status.value or None,
                        min_duration_ms=float(f_min.value) if f_min.value else None,
                    )
                    page = await service.list_traces(flt, vis, limit=100, offset=0)
                    results.clear()
                    with results:
                        ui.label(f"{page.total} traces").classes("text-caption text-grey-7")
                        if not page.items:
                            empty_state(
                                "timeline",
                                "No traces in this window",
                                "Every call through the gateway is traced. Chat with an agent "
                                "([Chat](/ui/chat)) and its trace appears here.",
                            )
                        else:
                            trace_rows(page.items)

                for element in (f_agent, f_status, f_window, f_min, f_session):
                    element.on_value_change(refresh)
                await refresh()
            with ui.tab_panel(summary_tab):
                rows = await service.summary(vis)
                if not rows:
                    empty_state("bar_chart", "Nothing in the last 24 hours", "")
                else:
                    summary_charts(rows)
                    columns = [
                        {"name": k, "label": label, "field": k, "align": "left"}
                        for k, label in (
                            ("agent", "Agent"), ("calls", "Calls"), ("errors", "Errors"),
                            ("p50", "p50 ms"), ("p95", "p95 ms"), ("tokens", "Tokens"),
                            ("cost", "Cost USD"),
                        )
                    ]  # fmt: skip
                    ui.table(
                        columns=columns,
                        rows=[
                            {
                                "agent": r.agent,
                                "calls": r.calls,
                                "errors": r.errors,
                                "p50": round(r.p50_ms, 1),
                                "p95": round(r.p95_ms, 1),
                                "tokens": r.input_tokens + r.output_tokens,
                                "cost": round(r.cost_usd, 6),
                            }
                            for r in rows
                        ],
                        row_key="agent",
                    ).classes("w-full").props("flat bordered dense").props(testid("summary-table"))
    return None


def span_details(span: SpanNode) -> None:
    with ui.column().classes("gap-1 w-full"):
        ui.label(
            f"{span.kind} · {span.service_name or '?'} · {span.duration_ms:.1f} ms · "
            f"started {when(span.start)}"
        ).classes("text-caption")
        if span.status_message:
            ui.label(span.status_message).classes("text-negative")
        if span.model or span.input_tokens or span.output_tokens:
            ui.label(
                f"model {span.model or '?'} · tokens in {span.input_tokens or 0} / out "
                f"{span.output_tokens or 0} · cost {span.cost_usd or 0:.6f} USD"
            ).classes("text-caption")
        attrs = {**span.attributes}
        if attrs:
            ui.label("Attributes").classes("text-caption text-grey-7")
            ui.code(json.dumps(attrs, indent=2, default=str), language="json").classes(
                "w-full text-xs"
            )
        if span.events:
            ui.label("Events").classes("text-caption text-grey-7")
            ui.code(json.dumps(span.events, indent=2, default=str), language="json").classes(
                "w-full text-xs"
            )


async def trace_page(request: Request, trace_id: str) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    with frame(ctx, "Trace"):
        try:
            service = _service(ctx)
            tree = await service.get_trace(trace_id, await service.visibility(ctx.principal))
        except NasikoError as exc:
            error_panel(exc)
            return None
        s = tree.summary
        with ui.row().classes("items-center gap-3"):
            ui.badge(s.status, color=STATUS_COLORS.get(s.status, "grey"))
            ui.label(s.name or s.trace_id).classes("text-subtitle1")
            ui.label(
                f"{s.duration_ms:.1f} ms · {s.span_count} spans · {s.error_count} errors · "
                f"agent {s.agent or '?'} · {when(s.start)}"
            ).classes("text-caption text-grey-7")
        ui.label(s.trace_id).classes("nasiko-mono text-caption text-grey-7")
        with ui.column().classes("w-full gap-0").props(testid("waterfall")):
            for row in waterfall_rows(tree.roots):
                span: SpanNode = row["span"]
                color = "#c10015" if span.status == "error" else "#1976d2"
                with ui.expansion().classes("w-full").props("dense") as exp:
                    exp.props(testid(f"span-{span.name}"))
                    with (
                        exp.add_slot("header"),
                        ui.row().classes("w-full items-center no-wrap gap-2"),
                    ):
                        ui.label(span.name).classes("text-body2 ellipsis").style(
                            f"width: 40%; padding-left: {row['depth'] * 16}px"
                        )
                        with ui.element("div").classes("relative h-4").style("width: 45%"):
                            ui.element("div").classes("absolute h-4 rounded-borders").style(
                                f"left: {row['left']:.2f}%; width: {row['width']:.2f}%; "
                                f"background: {color}"
                            )
                        ui.label(f"{span.duration_ms:.1f} ms").classes(
                            "text-caption text-right"
                        ).style("width: 15%")
                    span_details(span)
    return None


def register() -> None:
    ui.page("/traces")(traces_page)
    ui.page("/traces/{trace_id}")(trace_page)
