"""Sign in (password or GitHub), and the signed-in user's API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from nasiko.errors import NasikoError
from nasiko.web.context import resolve, safe_next, services, ui_url
from nasiko.web.layout import CSS, empty_state, frame, guarded, testid, when
from nasiko.web.session import park_tokens


async def login_page(request: Request, next: str = "", expired: str = "") -> None:
    svc = services(request)
    target = safe_next(next or None)
    ui.add_css(CSS)
    ui.page_title("Sign in · Nasiko")
    with ui.column().classes("absolute-center items-stretch w-80 max-w-full gap-3 p-4"):
        ui.label("Nasiko").classes("text-h4 text-center").props('role="heading" aria-level="1"')
        ui.label("Sign in to the agent registry").classes("text-center text-grey-7")
        if expired:
            ui.label("Your session ended; sign in again.").classes("text-warning text-center")
        username = ui.input("Username").props("autofocus autocomplete=username outlined")
        password = ui.input("Password", password=True, password_toggle_button=True).props(
            "autocomplete=current-password outlined"
        )
        message = ui.label("").classes("text-negative").props('role="alert"')

        async def submit() -> None:
            message.text = ""
            if not username.value or not password.value:
                message.text = "Enter your username and password."
                return
            ip = request.client.host if request.client else None
            try:
                pair = await svc.auth.login(username.value, password.value, source_ip=ip)
            except NasikoError as exc:
                message.text = exc.message
                return
            code = await park_tokens(svc, pair)
            ui.navigate.to(f"/session/complete?code={code}&next={quote(target, safe='')}")

        password.on("keydown.enter", submit)
        username.on("keydown.enter", submit)
        ui.button("Sign in", on_click=submit).props("unelevated color=primary")
        github = svc.extensions.get("github_login")
        if github is not None and github.client.oauth_enabled:
            ui.separator()
            ui.button(
                "Sign in with GitHub",
                icon="login",
                on_click=lambda: ui.navigate.to(
                    f"/api/v1/auth/github/login?redirect={quote(target, safe='')}"
                ),
            ).props("outline")


async def tokens_page(request: Request) -> RedirectResponse | None:
    ctx = await resolve(request)
    if isinstance(ctx, RedirectResponse):
        return ctx
    svc = ctx.svc
    with frame(ctx, "API tokens"):
        ui.markdown(
            "Personal tokens for the CLI and scripts: `Authorization: Bearer nsk_…`. "
            "A token acts as you; revoke it when you no longer need it."
        ).classes("text-grey-7")
        with ui.card().classes("w-full"):
            with ui.row().classes("items-end gap-3 w-full"):
                name = ui.input("Token name").props("outlined dense").classes("grow")
                days = ui.number("Expires in days (empty: never)", min=1, max=3650).props(
                    "outlined dense"
                )
                create = ui.button("Create token").props("unelevated color=primary")
            created = ui.column().classes("w-full")
        table = ui.column().classes("w-full")

        async def refresh() -> None:
            items = await svc.auth.list_api_tokens(ctx.principal)
            table.clear()
            with table:
                live = [t for t in items if t.revoked_at is None]
                if not live:
                    empty_state("key", "No API tokens", "Create one above to use the CLI.")
                    return
                for record in live:
                    with (
                        ui.card().classes("w-full").props("flat bordered"),
                        ui.row().classes("items-center justify-between w-full"),
                    ):
                        with ui.column().classes("gap-0"):
                            ui.label(record.name or "(unnamed)").classes("text-subtitle1")
                            ui.label(
                                f"{record.prefix}… · created {when(record.created_at)} · "
                                f"expires {when(record.expires_at)} · "
                                f"last used {when(record.last_used_at)}"
                            ).classes("text-caption text-grey-7 nasiko-mono")

                        @guarded
                        async def revoke(token_id: str = record.id) -> None:
                            await svc.auth.revoke_api_token(ctx.principal, token_id)
                            ui.notify("Token revoked", type="positive")
                            await refresh()

                        ui.button("Revoke", on_click=revoke).props(
                            f'flat color=negative aria-label="Revoke {record.name}"'
                        )

        @guarded
        async def on_create() -> None:
            expires = datetime.now(UTC) + timedelta(days=float(days.value)) if days.value else None
            new = await svc.auth.create_api_token(
                ctx.principal, name=name.value or "", expires_at=expires
            )
            created.clear()
            with created:
                ui.label("Copy it now: it is shown only once.").classes("text-warning")
                ui.input(value=new.token).props("readonly outlined dense").classes(
                    "w-full nasiko-mono"
                ).props(testid("new-token"))
            name.value = ""
            await refresh()

        create.on_click(on_create)
        await refresh()
    return None


def register() -> None:
    ui.page("/login")(login_page)
    ui.page("/tokens")(tokens_page)
    ui.page("/")(index)


async def index() -> RedirectResponse:
    return RedirectResponse(ui_url("/agents"), status_code=303)
