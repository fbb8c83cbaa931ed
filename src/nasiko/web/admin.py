"""Admin (superusers): users, the audit log, and the health of each component."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from nasiko.core.models import utcnow
from nasiko.core.users import NewUser
from nasiko.errors import Forbidden
from nasiko.web.context import PageContext, resolve
from nasiko.web.layout import error_panel, frame, guarded, testid, when


async def component_health(ctx: PageContext) -> dict[str, dict[str, Any]]:
    """Readiness of storage (and Redis), plus the `/healthz` of gateway and router."""
    svc = ctx.svc
    out: dict[str, dict[str, Any]] = {"api": {"ok": True, "url": svc.settings.api_url}}
    out.update(await svc.readiness())
    for name, probe in svc.extensions.get("component_probes", {}).items():
        out[name] = await probe()
    s = svc.settings
    for name, base in (
        ("gateway", s.gateway_url),
        ("router", f"http://{s.router.host}:{s.router.port}"),
    ):
        if name in out:
            continue
        try:
            resp = await svc.http.get(f"{base}/healthz", timeout=3)
            out[name] = {"ok": resp.status_code == 200, "url": base}
        except httpx.HTTPError as exc:
            out[name] = {"ok": False, "url": base, "error": type(exc).__name__}
    return out


def health_section(checks: dict[str, dict[str, Any]]) -> None:
    with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 md:grid-cols-3 gap-2"):
        for name, check in checks.items():
            ok = bool(check.get("ok"))
            with ui.card().props("flat bordered").classes("w-full") as box:
                box.props(testid(f"health-{name}"))
                with ui.row().classes("items-center gap-2"):
                    ui.icon(
                        "check_circle" if ok else "error", color="positive" if ok else "negative"
                    )
                    ui.label(name).classes("text-subtitle1")
                    ui.label("up" if ok else "down").classes("text-caption")
                detail = {k: v for k, v in check.items() if k != "ok"}
                if detail:
                    ui.label(", ".join(f"{k}: {v}" for k, v in detail.items())).classes(
                        "text-caption text-grey-7 nasiko-mono"
                    )


async def users_section(ctx: PageContext) -> None:
    svc = ctx.svc
    with (
        ui.expansion("Create a user", icon="person_add").classes("w-full").props("dense"),
        ui.row().classes("items-end gap-2 w-full"),
    ):
        username = ui.input("Username").props("outlined dense").props(testid("new-username"))
        email = ui.input("E-mail").props("outlined dense").props(testid("new-email"))
        password = ui.input("Password", password=True).props("outlined dense")
        password.props(testid("new-password"))
        role = ui.select(["user", "superuser"], value="user", label="Role").props("outlined dense")
        create = ui.button("Create").props("unelevated color=primary")
    search = ui.input("Search users").props("outlined dense clearable debounce=300")
    listing = ui.column().classes("w-full gap-1")

    async def refresh() -> None:
        page = await svc.users.list(
            actor=ctx.principal, limit=200, offset=0, q=search.value or None
        )
        listing.clear()
        with listing:
            for user in page.items:
                with ui.row().classes("w-full items-center justify-between") as row:
                    row.props(testid(f"user-{user.username}"))
                    with ui.column().classes("gap-0"):
                        ui.label(f"{user.username} ({user.role})").classes("text-body1")
                        ui.label(
                            f"{user.email} · {'active' if user.is_active else 'deactivated'} · "
                            f"since {when(user.created_at)}"
                        ).classes("text-caption text-grey-7")
                    if user.id == ctx.principal.id:
                        continue
                    with ui.row().classes("gap-1"):

                        @guarded
                        async def toggle(uid: str = user.id, active: bool = user.is_active) -> None:
                            await svc.users.set_active(uid, not active, actor=ctx.principal)
                            await refresh()

                        ui.button(
                            "Deactivate" if user.is_active else "Activate", on_click=toggle
                        ).props("flat dense")

                        @guarded
                        async def delete(uid: str = user.id, name: str = user.username) -> None:
                            with ui.dialog() as dialog, ui.card():
                                ui.label(f"Delete {name}? Their agents and tokens go too.")
                                with ui.row():
                                    ui.button("Cancel", on_click=lambda: dialog.submit(False))
                                    ui.button("Delete", on_click=lambda: dialog.submit(True)).props(
                                        "color=negative"
                                    )
                            if await dialog:
                                await svc.users.delete(uid, actor=ctx.principal, source_ip=None)
                                ui.notify(f"Deleted {name}", type="positive")
                                await refresh()

                        ui.button("Delete", on_click=delete).props("flat dense color=negative")

    @guarded
    async def on_create() -> None:
        await svc.users.create(
            NewUser(
                username=(username.value or "").strip(),
                email=(email.value or "").strip(),
                password=password.value or "",
                role=role.value,
            ),
            actor=ctx.principal,
            source_ip=None,
        )
        ui.notify(f"Created {username.value}", type="positive")
        username.value = email.value = password.value = ""
        await refresh()

    create.on_click(on_create)
    search.on_value_change(refresh)
    await refresh()


async def audit_section(ctx: PageContext) -> None:
    with ui.row().classes("items-end gap-2 w-full"):
        action = ui.input("Action (or prefix, e.g. login)").props("outlined dense debounce=300")
        outcome = ui.select({"": "any", "success": "success", "failure": "failure"}, value="",
                            label="Outcome").props("outlined dense").classes("w-32")  # fmt: skip
        days = ui.select({1: "1 day", 7: "7 days", 30: "30 days"}, value=7, label="Window")
        days.props("outlined dense").classes("w-28")
    table = (
        ui.table(
            columns=[
                {"name": k, "label": k.capitalize(), "field": k, "align": "left"}
                for k in ("at", "actor", "action", "target", "outcome", "ip")
            ],
            rows=[],
            row_key="id",
            pagination=25,
        )
        .classes("w-full")
        .props("flat bordered dense")
    )
    table.props(testid("audit-table"))

    @guarded
    async def refresh() -> None:
        items, _total = await ctx.svc.storage.audit.list(
            limit=200,
            offset=0,
            actor_id=None,
            action=(action.value or "").strip() or None,
            target_id=None,
            outcome=outcome.value or None,
            since=utcnow() - timedelta(days=int(days.value)),
            until=None,
        )
        table.rows = [
            {
                "id": e.id,
                "at": when(e.at),
                "actor": e.actor_name or e.actor_id or "",
                "action": e.action,
                "target": f"{e.target_type or ''} {e.target_id or ''}".strip(),
                "outcome": e.outcome,
                "ip": e.source_ip or "",
            }
            for e in items
        ]

    for element in (action, outcome, days):
        element.on_value_change(refresh)
    await refresh()


async def admin_page(request: Request) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    with frame(ctx, "Admin"):
        if not ctx.is_superuser:
            error_panel(Forbidden("this page is for superusers"))
            return None
        with ui.tabs().classes("w-full").props("align=left") as tabs:
            health = ui.tab("Health", icon="monitor_heart")
            users = ui.tab("Users", icon="people")
            audit = ui.tab("Audit log", icon="policy")
        with ui.tab_panels(tabs, value=health).classes("w-full"):
            with ui.tab_panel(health):
                health_section(await component_health(ctx))
            with ui.tab_panel(users):
                await users_section(ctx)
            with ui.tab_panel(audit):
                await audit_section(ctx)
    return None


def register() -> None:
    ui.page("/admin")(admin_page)
