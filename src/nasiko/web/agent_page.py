"""One agent: its card, endpoints, versions, access grants, logs and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from nasiko.core.registry.models import Agent, UpdateAgent
from nasiko.errors import Forbidden, NasikoError
from nasiko.web.agent_tabs import access_tab, logs_tab, metrics_tab, versions_tab
from nasiko.web.context import PageContext, resolve
from nasiko.web.layout import error_panel, frame, guarded, status_badge, testid


def card_section(ctx: PageContext, agent: Agent) -> None:
    card = agent.card
    with ui.card().classes("w-full"):
        ui.label(agent.description or card.get("description") or "No description.")
        with ui.row().classes("gap-4 text-caption text-grey-7"):
            ui.label(f"version {agent.current_version}")
            ui.label(f"visibility {agent.visibility}")
            ui.label(f"runtime {agent.runtime or 'external'}")
            if card.get("version"):
                ui.label(f"card version {card['version']}")
        if agent.tags:
            with ui.row().classes("gap-1"):
                for tag in agent.tags:
                    ui.badge(tag, color="teal-1", text_color="teal-10")
    ui.label("Skills").classes("text-h6")
    skills = card.get("skills") or []
    if not skills:
        ui.label("This agent's card lists no skills.").classes("text-grey-7")
    with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-2"):
        for skill in skills:
            with ui.card().props("flat bordered").classes("w-full") as box:
                box.props(testid(f"skill-{skill.get('id')}"))
                ui.label(skill.get("name") or skill.get("id") or "skill").classes(
                    "text-subtitle1 text-weight-medium"
                )
                ui.label(skill.get("description") or "").classes("text-body2")
                examples = skill.get("examples") or []
                if examples:
                    ui.label("Examples").classes("text-caption text-grey-7 q-mt-sm")
                    for example in examples:

                        def try_it(text: str = example) -> None:
                            ui.navigate.to(f"/chat?agent={agent.slug}&text={_q(text)}")

                        ui.button(example, on_click=try_it).props(
                            "flat dense no-caps align=left"
                        ).classes("text-left")
    ui.label("Endpoints").classes("text-h6")
    with ui.column().classes("gap-1"):
        gateway = f"{ctx.svc.settings.gateway_url}/agents/{agent.slug}"
        ui.label(f"Gateway (use this): {gateway}").classes("nasiko-mono text-body2").props(
            testid("gateway-url")
        )
        for url in agent.endpoints:
            ui.label(f"Upstream: {url}").classes("nasiko-mono text-caption text-grey-7")


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def lifecycle_buttons(
    ctx: PageContext, agent: Agent, reload: Any, hints: dict[str, ui.label]
) -> None:
    lifecycle = ctx.svc.extensions["lifecycle"]

    def action(name: str, verb: str) -> Any:
        @guarded
        async def run() -> None:
            ui.notify(f"{verb} {agent.slug}…")
            await getattr(lifecycle, name)(ctx.principal, agent.slug)
            ui.notify(f"{agent.slug}: {name} done", type="positive")
            reload()

        return run

    with ui.row().classes("gap-2"):
        if agent.runtime:
            ui.button("Stop", icon="stop", on_click=action("stop", "Stopping")).props("outline")
            ui.button("Start", icon="play_arrow", on_click=action("start", "Starting")).props(
                "outline"
            )
            ui.button(
                "Restart", icon="restart_alt", on_click=action("restart", "Restarting")
            ).props("outline")
        visibility = (
            ui.select(["private", "shared", "public"], value=agent.visibility, label="Visibility")
            .props("outlined dense")
            .classes("w-36")
        )
        visibility.props(testid("visibility"))

        @guarded
        async def set_visibility() -> None:
            if visibility.value == agent.visibility:
                return
            updated = await ctx.svc.registry.update(
                ctx.principal,
                agent.slug,
                UpdateAgent.model_validate({"visibility": visibility.value}),
            )
            agent.visibility = updated.visibility
            if hints.get("warning") is not None:  # the Access tab's hint follows it
                hints["warning"].set_visibility(agent.visibility != "shared")
            ui.notify(f"{agent.slug} is now {visibility.value}", type="positive")

        visibility.on_value_change(set_visibility)


async def agent_page(request: Request, slug: str) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    try:
        agent = await ctx.svc.registry.get_visible(ctx.principal, slug)
    except NasikoError as exc:
        with frame(ctx, "Agent"):
            error_panel(exc)
        return None
    try:
        await ctx.svc.registry.get_managed(ctx.principal, slug)
        manager = True
    except Forbidden:
        manager = False

    hints: dict[str, ui.label] = {}

    def reload() -> None:
        ui.navigate.to(f"/agents/{slug}")

    with frame(ctx, agent.name):
        with ui.row().classes("items-center gap-3"):
            status_badge(agent.status).props(testid("agent-status"))
            ui.label(agent.slug).classes("nasiko-mono text-grey-7")
            ui.button(
                "Chat", icon="chat", on_click=lambda: ui.navigate.to(f"/chat?agent={slug}")
            ).props("unelevated color=primary dense")
        if manager:
            await lifecycle_buttons(ctx, agent, reload, hints)
        with ui.tabs().classes("w-full").props("align=left outside-arrows mobile-arrows") as tabs:
            overview = ui.tab("Overview", icon="info")
            metrics = ui.tab("Metrics & traces", icon="timeline")
            if manager:
                versions = ui.tab("Versions", icon="history")
                grants = ui.tab("Access", icon="group")
                logs = ui.tab("Logs", icon="article")
        with ui.tab_panels(tabs, value=overview).classes("w-full"):
            with ui.tab_panel(overview):
                card_section(ctx, agent)
            with ui.tab_panel(metrics):
                await metrics_tab(ctx, agent)
            if manager:
                with ui.tab_panel(versions):
                    await versions_tab(ctx, agent, reload)
                with ui.tab_panel(grants):
                    hints["warning"] = await access_tab(ctx, agent)
                with ui.tab_panel(logs):
                    await logs_tab(ctx, agent)
    return None


def register() -> None:
    ui.page("/agents/{slug}")(agent_page)
