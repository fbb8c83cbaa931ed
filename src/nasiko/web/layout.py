"""The page frame (header, navigation drawer, theme toggle, user menu) and small shared
pieces: error-safe handlers, status badges, empty states."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ParamSpec

from nicegui import ui
from pydantic import ValidationError

from nasiko.errors import NasikoError
from nasiko.web.context import THEME_COOKIE, PageContext

P = ParamSpec("P")

STATUS_COLORS = {
    "registered": "blue-grey",
    "deploying": "orange",
    "running": "positive",
    "unhealthy": "warning",
    "stopped": "grey",
    "failed": "negative",
    "queued": "grey",
    "validating": "orange",
    "building": "orange",
    "health-checking": "orange",
    "ok": "positive",
    "error": "negative",
    "unset": "grey",
}

NAV = [
    ("Agents", "/agents", "smart_toy"),
    ("Upload", "/upload", "upload"),
    ("Chat", "/chat", "chat"),
    ("Observability", "/traces", "timeline"),
    ("API tokens", "/tokens", "key"),
]

ROW = "items-center gap-3 px-4 py-3 w-full hover:bg-grey-3/20"

CSS = """
.nasiko-main { max-width: 1200px; width: 100%; margin: 0 auto; }
.nasiko-mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.nasiko-log { white-space: pre-wrap; word-break: break-all; font-size: 12px; }
:focus-visible { outline: 2px solid #1976d2; outline-offset: 2px; }
"""


def testid(name: str) -> str:
    """A `data-testid` prop: the browser tests find elements by it."""
    return f'data-testid="{name}"'


def show_error(exc: NasikoError) -> None:
    ui.notify(exc.message, type="negative", multi_line=True, close_button="OK")


def guarded(fn: Callable[P, Any]) -> Callable[P, Awaitable[None]]:
    """Wrap an event handler: a NasikoError becomes a readable notification."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
        except NasikoError as exc:
            show_error(exc)
        except ValidationError as exc:
            # Form input checked by the core's request models (NewUser, NewGrant, …).
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = str(first.get("msg", "invalid input")).removeprefix("Value error, ")
            ui.notify(f"{where}: {message}" if where else message, type="negative")

    return wrapper


def status_badge(status: str) -> ui.badge:
    return ui.badge(status, color=STATUS_COLORS.get(status, "grey")).props(
        f'aria-label="status {status}"'
    )


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def empty_state(icon: str, title: str, text: str) -> None:
    with ui.column().classes("items-center w-full py-10 gap-2 text-center"):
        ui.icon(icon, size="48px").classes("text-grey-6")
        ui.label(title).classes("text-h6")
        ui.markdown(text).classes("text-grey-7 max-w-lg")


def error_panel(exc: NasikoError) -> None:
    with ui.card().classes("w-full bg-red-1 text-red-10"):
        ui.label(exc.message).classes("text-body1").props('role="alert"')


@contextmanager
def frame(ctx: PageContext, title: str) -> Iterator[None]:
    """Header with navigation and account menu; yields inside the main column."""
    ui.add_css(CSS)
    dark = ui.dark_mode(ctx.dark)
    ui.page_title(f"{title} · Nasiko")
    drawer = ui.left_drawer(value=None).props("show-if-above bordered :width=220")
    with ui.header(elevated=True).classes("items-center justify-between px-3"):
        with ui.row().classes("items-center gap-1 no-wrap"):
            ui.button(icon="menu", on_click=drawer.toggle).props(
                'flat round color=white aria-label="Toggle navigation"'
            )
            ui.link("Nasiko", "/agents").classes("text-white text-h6 no-underline")
        with ui.row().classes("items-center gap-1 no-wrap"):

            def toggle_theme() -> None:
                dark.value = not bool(dark.value)
                mode = "dark" if dark.value else "light"
                ui.run_javascript(
                    f"document.cookie = '{THEME_COOKIE}={mode}; path=/; max-age=31536000; "
                    "samesite=lax'"
                )

            ui.button(icon="dark_mode", on_click=toggle_theme).props(
                'flat round color=white aria-label="Toggle dark theme"'
            ).tooltip("Light / dark theme")
            with ui.button(icon="account_circle").props(
                'flat color=white no-caps aria-label="Account menu"'
            ) as account:
                ui.label(ctx.principal.name).classes("gt-xs q-ml-xs")
                with ui.menu():
                    ui.menu_item("API tokens", lambda: ui.navigate.to("/tokens"))

                    async def sign_out() -> None:
                        await ctx.svc.auth.logout(ctx.principal)
                        ui.navigate.to("/session/end")

                    ui.menu_item("Sign out", sign_out)
            account.props(testid("account"))
    with drawer, ui.column().classes("gap-0 w-full").props('role="navigation"'):
        items = list(NAV)
        if ctx.is_superuser:
            items.append(("Admin", "/admin", "admin_panel_settings"))
        for label, path, icon in items:
            link = ui.link(target=path).classes("w-full no-underline text-inherit")
            with link.props(f'aria-label="{label}"'), ui.row().classes(ROW):
                ui.icon(icon)
                ui.label(label)
    with ui.column().classes("nasiko-main p-4 gap-4"):
        ui.label(title).classes("text-h5").props('role="heading" aria-level="1"')
        yield
