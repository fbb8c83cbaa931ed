"""A live platform (API + gateway + worker) whose n8n adapter has a test-sized timeout.

The platform wires the integrations itself; this serves a second API app on the platform's
loop with the integrations wired again under a short `n8n_timeout` (so timeout tests take a
second, not the default 90 % of the gateway's request timeout), on its own port.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from nasiko.a2a import AgentReply, send_text
from nasiko.client import NasikoClient, iter_sse
from nasiko.testing.platform import PlatformThread, free_port, make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


class IntegrationPlatform:
    def __init__(self, platform: PlatformThread, api_url: str) -> None:
        self.platform = platform
        self.api_url = api_url
        self.gateway_url = platform.gateway_url

    @property
    def services(self) -> Any:
        return self.platform.services

    def admin(self) -> NasikoClient:
        client = NasikoClient(self.api_url)
        client.login("admin", "admin-password-1")
        return client


@contextmanager
def integration_platform(
    data_dir: Path,
    *,
    components: tuple[str, ...] = ("api", "gateway", "worker"),
    n8n_timeout: float = 30.0,
    **overrides: Any,
) -> Iterator[IntegrationPlatform]:
    settings = make_settings(
        data_dir,
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0, "claim_idle_seconds": 2.0},
        **overrides,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with PlatformThread(settings, list(components)) as p:
        box: dict[str, Any] = {}

        async def start() -> None:
            from nasiko.api.app import create_app
            from nasiko.api.routes import github, n8n
            from nasiko.core.integrations.wiring import N8N_MOUNT, wire_integrations

            svc = p.services
            wire_integrations(svc, adapter_url=f"{url}{N8N_MOUNT}", n8n_timeout=n8n_timeout)
            app = create_app(svc, extra_routers=[github.router, n8n.router])
            app.mount(N8N_MOUNT, svc.extensions["n8n_adapter"])
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
            )
            box["server"] = server
            box["task"] = asyncio.create_task(server.serve())
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
                await asyncio.sleep(0.02)

        async def stop() -> None:
            box["server"].should_exit = True
            await box["task"]

        p.call(start())
        try:
            yield IntegrationPlatform(p, url)
        finally:
            p.call(stop())


def wait_upload(client: NasikoClient, upload_id: str, timeout: float = 180) -> dict[str, Any]:
    last: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    for event, data in iter_sse(client.stream_lines("GET", f"/uploads/{upload_id}/events")):
        if event == "status":
            last = json.loads(data)
        if event == "end" or time.monotonic() > deadline:
            break
    return last


def chat(
    gateway_url: str,
    slug: str,
    text: str,
    *,
    token: str,
    stream: bool = False,
    context_id: str | None = None,
    binding: str = "JSONRPC",
) -> AgentReply:
    """One message to an agent through the gateway, as the holder of `token`."""

    async def go() -> AgentReply:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=60, headers=headers) as c:
            return await send_text(
                f"{gateway_url}/agents/{slug}",
                text,
                client=c,
                stream=stream,
                context_id=context_id,
                binding=binding,
            )

    return asyncio.run(go())
