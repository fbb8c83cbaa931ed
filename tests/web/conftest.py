"""A live platform (API with the UI mounted, gateway, router, worker) and a Chromium browser.

The UI is mounted by wrapping `create_app` the way the API's factory will call `mount_ui`;
`mount_ui` is idempotent, so this keeps working once the factory does it itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from nasiko.client import NasikoClient
from nasiko.testing.platform import PlatformThread, make_settings

CHROMIUM = os.environ.get("NASIKO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN_PASSWORD = "admin-password-1"


def _with_ui(original: Any) -> Any:
    def create_app(svc: Any, **kwargs: Any) -> Any:
        from nasiko.web.app import mount_ui

        app = original(svc, **kwargs)
        mount_ui(app, svc)
        return app

    return create_app


@pytest.fixture(scope="module")
def ui_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformThread]:
    import nasiko.api.app as api_app

    settings = make_settings(
        tmp_path_factory.mktemp("web") / "data",
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0, "claim_idle_seconds": 2.0},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(api_app, "create_app", _with_ui(api_app.create_app))
        with PlatformThread(settings, ["api", "gateway", "router", "worker"]) as platform:
            yield platform


@pytest.fixture(scope="module")
def admin_api(ui_platform: PlatformThread) -> Iterator[NasikoClient]:
    with NasikoClient(ui_platform.api_url) as client:
        client.login("admin", ADMIN_PASSWORD)
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
