"""Mount the web UI on the API app: `mount_ui(app, svc)`.

NiceGUI keeps one application object per process (its pages, socket.io server and event
loop are module state). So the pages are registered once, and each API app gets a thin ASGI
wrapper that hands the request its own `Services` through the ASGI scope. Only one API app
per process can serve the UI at a time: the first whose lifespan starts owns NiceGUI until
it stops. Others (several platforms inside one test process) answer 503 on `/ui`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.types import Receive, Scope, Send

from nasiko.web.context import SCOPE_KEY, UI_PREFIX

if TYPE_CHECKING:
    from nasiko.bootstrap import Services

_state: dict[str, Any] = {"configured": False, "owner": None}


def _configure_once() -> None:
    """Register pages and NiceGUI's run configuration; NiceGUI allows this once per process."""
    if _state["configured"]:
        return
    from nicegui import core

    from nasiko.web import admin, agent_page, agents, auth, chat, session, traces, upload

    core.app.config.add_run_config(
        reload=False,
        title="Nasiko",
        viewport="width=device-width, initial-scale=1",
        favicon=None,
        dark=None,
        language=None,
        # No bindings are used; the default 0.1 s polling loop would only burn CPU.
        binding_refresh_interval=None,
        reconnect_timeout=10.0,
        message_history_length=1000,
        tailwind=True,
        unocss=None,
        prod_js=True,
        show_welcome_message=False,
        cache_control_directives="public, max-age=31536000, immutable",
        markdown=False,
    )
    from nicegui.middlewares import SetCacheControlMiddleware

    core.app.add_middleware(SetCacheControlMiddleware)
    for module in (session, auth, agents, agent_page, upload, chat, traces, admin):
        module.register()
    _state["configured"] = True


def mount_ui(app: FastAPI, svc: Services) -> None:
    """Serve the UI at `/ui` of `app` (and redirect `/` there). Call once, after the API
    routes are added. A second call on the same app does nothing."""
    if getattr(app.state, "ui_mounted", False):
        return
    app.state.ui_mounted = True
    _configure_once()
    from nicegui import core

    async def ui(scope: Scope, receive: Receive, send: Send) -> None:
        if _state["owner"] is not app:
            if scope["type"] == "http":
                response = PlainTextResponse(
                    "the web UI is served by another Nasiko app in this process", 503
                )
                await response(scope, receive, send)
            return
        scope[SCOPE_KEY] = svc
        await core.app(scope, receive, send)

    app.mount(UI_PREFIX, ui, name="ui")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{UI_PREFIX}/", status_code=307)

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(parent: Any) -> AsyncIterator[Any]:
        owns = await _start(app)
        try:
            async with inner(parent) as state:
                yield state
        finally:
            if owns:
                await _stop()

    app.router.lifespan_context = lifespan


async def _start(app: FastAPI) -> bool:
    if _state["owner"] is not None:
        return False
    from nicegui.nicegui import _startup

    _state["owner"] = app
    await _startup()
    return True


async def _stop() -> None:
    from nicegui.nicegui import _shutdown

    try:
        await _shutdown()
    finally:
        _state["owner"] = None
