"""The agents list: free-text search and filters over what the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from nasiko.core.registry.models import Agent
from nasiko.web.context import PageContext, resolve
from nasiko.web.layout import empty_state, frame, guarded, status_badge, testid

STATUSES = ["registered", "deploying", "running", "unhealthy", "stopped", "failed"]
VISIBILITIES = ["private", "shared", "public"]
PAGE_SIZE = 50


async def list_agents(ctx: PageContext, filters: dict[str, Any]) -> tuple[list[Agent], int]:
    owner = filters.get("owner") or None
    if owner:
        # The list filters by user id; people type usernames.
        user = await ctx.svc.storage.users.get_by_username(owner)
        owner = user.id if user else owner
    page = await ctx.svc.registry.list(
        ctx.principal,
        limit=PAGE_SIZE,
        offset=0,
        owner=owner,
        visibility=filters.get("visibility") or None,
        tag=(filters.get("tag") or "").strip().lower() or None,
        status=filters.get("status") or None,
        q=(filters.get("q") or "").strip() or None,
    )
    return page.items, page.total


def agent_row(agent: Agent, owners: dict[str, str]) -> None:
    with (
        ui.link(target=f"/agents/{agent.slug}").classes("w-full no-underline text-inherit"),
        ui.card().classes("w-full cursor-pointer").props("flat bordered") as card,
    ):
        card.props(testid(f"agent-{agent.slug}"))
        with ui.row().classes("items-center justify-between w-full no-wrap"):
            with ui.column().classes("gap-0 min-w-0"):
                with ui.row().classes("items-center gap-2"):
                    ui.label(agent.name).classes("text-subtitle1 text-weight-medium")
                    ui.label(agent.slug).classes("text-caption text-grey-7 nasiko-mono")
                ui.label(agent.description or "No description.").classes(
                    "text-body2 text-grey-8 ellipsis-2-lines"
                )
                with ui.row().classes("gap-1 items-center"):
                    ui.label(f"owner {owners.get(agent.owner_id, '?')}").classes(
                        "text-caption text-grey-7"
                    )
                    ui.badge(agent.visibility, color="blue-grey-2", text_color="black")
                    for tag in agent.tags[:6]:
                        ui.badge(tag, color="teal-1", text_color="teal-10")
            status_badge(agent.status)


async def agents_page(request: Request) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    filters: dict[str, Any] = {}
    with frame(ctx, "Agents"):
        with ui.row().classes("w-full items-end gap-2"):
            q = (
                ui.input("Search agents", placeholder="name, skill, description…")
                .props("outlined dense clearable debounce=300 type=search")
                .classes("grow min-w-[200px]")
            )
            status = (
                ui.select(["", *STATUSES], label="Status", value="")
                .props("outlined dense")
                .classes("w-36")
            )
            visibility = (
                ui.select(["", *VISIBILITIES], label="Visibility", value="")
                .props("outlined dense")
                .classes("w-36")
            )
            owner = (
                ui.input("Owner (username)").props("outlined dense debounce=300").classes("w-40")
            )
            tag = ui.input("Tag").props("outlined dense debounce=300").classes("w-32")
            ui.button("Upload", icon="upload", on_click=lambda: ui.navigate.to("/upload")).props(
                "unelevated color=primary"
            )
        summary = ui.label("").classes("text-caption text-grey-7")
        results = ui.column().classes("w-full gap-2")

        @guarded
        async def refresh() -> None:
            filters.update(
                q=q.value, status=status.value, visibility=visibility.value,
                owner=owner.value, tag=tag.value,
            )  # fmt: skip
            agents, total = await list_agents(ctx, filters)
            owners: dict[str, str] = {}
            for agent in agents:
                if agent.owner_id not in owners:
                    user = await ctx.svc.storage.users.get(agent.owner_id)
                    owners[agent.owner_id] = user.username if user else "?"
            results.clear()
            summary.text = f"{total} agent{'s' if total != 1 else ''}"
            with results:
                if not agents:
                    if any(filters.values()):
                        empty_state("search_off", "No agents match", "Clear a filter or search.")
                    else:
                        empty_state(
                            "smart_toy",
                            "No agents yet",
                            "Upload an agent package (a folder with `Agentcard.json` and its "
                            "code, zipped) on the [Upload](/ui/upload) page, or from the CLI: "
                            "`nasiko upload ./my-agent`. Agents shared with you show up here.",
                        )
                for agent in agents:
                    agent_row(agent, owners)

        for element in (q, status, visibility, owner, tag):
            element.on_value_change(refresh)
        await refresh()
    return None


def register() -> None:
    ui.page("/agents")(agents_page)
