"""The agent page's tabs: metrics and recent traces, versions, access grants, live logs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from nicegui import background_tasks, ui

from nasiko.core.models import utcnow
from nasiko.core.observability.models import TraceFilter
from nasiko.core.registry.models import Agent, AgentVersion, Grant, NewGrant
from nasiko.errors import NasikoError
from nasiko.web.charts import metrics_charts
from nasiko.web.context import PageContext
from nasiko.web.layout import empty_state, error_panel, guarded, status_badge, testid, when


def run_in_page(stream: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    """Runs a page's live feed; it stops when the browser tab goes away."""
    client = ui.context.client

    async def feed() -> None:
        await client.connected()
        await stream()

    task = background_tasks.create(feed(), name="ui feed", context=client)
    client.on_delete(task.cancel)
    return task


def trace_rows(traces: list[Any]) -> None:
    columns = [
        {"name": "start", "label": "Start", "field": "start", "align": "left"},
        {"name": "name", "label": "Name", "field": "name", "align": "left"},
        {"name": "agent", "label": "Agent", "field": "agent", "align": "left"},
        {"name": "ms", "label": "ms", "field": "ms"},
        {"name": "spans", "label": "Spans", "field": "spans"},
        {"name": "status", "label": "Status", "field": "status"},
        {"name": "tokens", "label": "Tokens", "field": "tokens"},
    ]
    rows = [
        {
            "id": t.trace_id,
            "start": when(t.start),
            "name": t.name or "",
            "agent": t.agent or "",
            "ms": round(t.duration_ms, 1),
            "spans": t.span_count,
            "status": t.status,
            "tokens": t.input_tokens + t.output_tokens,
        }
        for t in traces
    ]
    table = ui.table(columns=columns, rows=rows, row_key="id").classes("w-full")
    table.props("flat bordered dense")
    table.add_slot(
        "body-cell-name",
        r"""<q-td :props="props"><a :href="'/ui/traces/' + props.row.id"
            class="text-primary">{{ props.value || props.row.id.slice(0, 12) }}</a></q-td>""",
    )
    table.props(testid("traces-table"))


async def metrics_tab(ctx: PageContext, agent: Agent) -> None:
    service = ctx.svc.extensions.get("traces")
    if service is None:
        ui.label("Tracing is not set up on this platform.").classes("text-grey-7")
        return
    until = utcnow()
    since = until - timedelta(hours=24)
    vis = await service.visibility(ctx.principal)
    page = await service.list_traces(
        TraceFilter(agent=agent.slug, since=since), vis, limit=500, offset=0
    )
    ui.label("Last 24 hours").classes("text-caption text-grey-7")
    metrics_charts(page.items, since=since, until=until)
    ui.label("Recent traces").classes("text-h6")
    if not page.items:
        empty_state("timeline", "No calls yet", "Chat with the agent and its calls show up here.")
        return
    trace_rows(page.items[:20])


async def versions_tab(ctx: PageContext, agent: Agent, reload: Callable[[], None]) -> None:
    # Annotated: RegistryService.list shadows the builtin in its own signatures for mypy.
    versions: list[AgentVersion] = await ctx.svc.registry.versions(ctx.principal, agent.slug)
    lifecycle = ctx.svc.extensions["lifecycle"]
    for version in sorted(versions, key=lambda v: v.version, reverse=True):
        with (
            ui.card().props("flat bordered").classes("w-full"),
            ui.row().classes("items-center justify-between w-full"),
        ):
            with ui.column().classes("gap-0"):
                ui.label(f"Version {version.version}").classes("text-subtitle1")
                ui.label(f"{when(version.created_at)} · {version.note or ''}").classes(
                    "text-caption text-grey-7"
                )
            if version.version == agent.current_version:
                ui.badge("current", color="positive")
            else:

                @guarded
                async def roll_back(number: int = version.version) -> None:
                    ui.notify(f"Rolling back to version {number}…")
                    await lifecycle.rollback(ctx.principal, agent.slug, number)
                    ui.notify(f"Now on version {number}", type="positive")
                    reload()

                ui.button("Roll back", icon="undo", on_click=roll_back).props(
                    f'outline aria-label="Roll back to version {version.version}"'
                )


async def _grantee_name(ctx: PageContext, kind: str, grantee_id: str) -> str:
    if kind == "user":
        user = await ctx.svc.storage.users.get(grantee_id)
        return user.username if user else grantee_id
    target = await ctx.svc.registry.repo.get(grantee_id)
    return target.slug if target else grantee_id


async def access_tab(ctx: PageContext, agent: Agent) -> ui.label:
    svc = ctx.svc
    warning = ui.label(
        "Grants take effect only while the agent's visibility is 'shared' (set it above)."
    ).classes("text-warning")
    warning.set_visibility(agent.visibility != "shared")
    with ui.row().classes("items-end gap-2 w-full"):
        grantee = ui.input("Username, or agent slug").props("outlined dense").classes("grow")
        grantee.props(testid("grantee"))
        kind = (
            ui.select(["user", "agent"], value="user", label="Type")
            .props("outlined dense")
            .classes("w-28")
        )
        add = ui.button("Grant access", icon="person_add").props("unelevated color=primary")
    listing = ui.column().classes("w-full gap-1")

    async def refresh() -> None:
        grants: list[Grant] = await svc.registry.grants(ctx.principal, agent.slug)
        listing.clear()
        with listing:
            if not grants:
                ui.label("No grants: only you (and superusers) can use it.").classes("text-grey-7")
            for grant in grants:
                name = await _grantee_name(ctx, grant.grantee_type, grant.grantee_id)
                with ui.row().classes("items-center justify-between w-full"):
                    ui.label(f"{grant.grantee_type} {name}").props(testid(f"grant-{name}"))
                    ui.label(
                        f"skills {', '.join(grant.skills) if grant.skills else 'all'} · "
                        f"expires {when(grant.expires_at)}"
                    ).classes("text-caption text-grey-7")

                    @guarded
                    async def revoke(
                        who: str = grant.grantee_id, t: str = grant.grantee_type
                    ) -> None:
                        await svc.registry.revoke(
                            ctx.principal, agent.slug, grantee=who, grantee_type=t
                        )
                        ui.notify("Access revoked", type="positive")
                        await refresh()

                    ui.button("Revoke", on_click=revoke).props(
                        f'flat color=negative aria-label="Revoke {name}"'
                    )

    @guarded
    async def on_add() -> None:
        await svc.registry.grant(
            ctx.principal,
            agent.slug,
            NewGrant.model_validate(
                {"grantee": (grantee.value or "").strip(), "grantee_type": kind.value}
            ),
        )
        ui.notify(f"Granted {grantee.value} access", type="positive")
        grantee.value = ""
        await refresh()

    add.on_click(on_add)
    grantee.on("keydown.enter", on_add)
    await refresh()
    return warning


async def logs_tab(ctx: PageContext, agent: Agent) -> None:
    lifecycle = ctx.svc.extensions["lifecycle"]
    try:
        lines = await lifecycle.logs(ctx.principal, agent.slug, tail=200)
    except NasikoError as exc:
        error_panel(exc)
        return
    log = ui.log(max_lines=2000).classes("w-full h-96 nasiko-mono")
    log.props(testid("logs"))
    for line in lines:
        log.push(line)
    follow = ui.switch("Live tail", value=False).props(testid("live-tail"))
    state: dict[str, asyncio.Task[None] | None] = {"task": None}

    async def tail() -> None:
        feed: AsyncIterator[str] = lifecycle.follow(ctx.principal, agent.slug)
        try:
            async for line in feed:
                log.push(line)
        except NasikoError as exc:
            ui.notify(exc.message, type="negative")
        finally:
            with contextlib.suppress(RuntimeError):
                await feed.aclose()  # type: ignore[attr-defined]

    def toggle() -> None:
        task = state["task"]
        if follow.value and task is None:
            state["task"] = run_in_page(tail)
        elif not follow.value and task is not None:
            task.cancel()
            state["task"] = None

    follow.on_value_change(toggle)
    ui.label(f"status now: {agent.status}").classes("text-caption text-grey-7")
    status_badge(agent.status)
