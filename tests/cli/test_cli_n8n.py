"""nasiko n8n … against a live platform and a fake n8n; the registered workflow answers
through the gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nasiko.a2a import send_text
from nasiko.cli.main import app
from nasiko.testing.fake_n8n import FakeN8n
from nasiko.testing.platform import PlatformThread, make_settings

KEY = "n8n_cli_key_0123456789"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PlatformThread]]:
    """API (with the n8n routes and the adapter) + gateway."""
    settings = make_settings(tmp_path_factory.mktemp("cli-n8n") / "data")
    with PlatformThread(settings, ["api", "gateway"]) as p:
        yield p.api_url, p


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_n8n_connect_workflows_register_and_chat(
    live: tuple[str, PlatformThread], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    api_url, platform = live
    monkeypatch.setenv("NASIKO_API_URL", api_url)
    cli = CliRunner()
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
    with FakeN8n(api_key=KEY) as n8n:
        code, out = run(cli, "n8n", "connect", "--url", n8n.url)  # no key, no terminal
        assert code == 2 and "missing" in out
        code, out = run(cli, "n8n", "connect", "--url", n8n.url, "--api-key", "nope")
        assert code == 1 and "rejected the API key" in out
        code, out = run(cli, "n8n", "connect", "--url", n8n.url, "--api-key", KEY)
        assert code == 0 and "7 workflows" in out and KEY not in out

        code, out = run(cli, "n8n", "workflows")
        assert code == 0 and "Support Bot" in out and "chat (streaming)" in out
        assert "no trigger" in out  # the schedule-only workflow
        code, out = run(cli, "-o", "json", "n8n", "workflows")
        assert {w["id"] for w in json.loads(out)["items"]} >= {"wf-support", "wf-lookup"}

        code, out = run(
            cli,
            "n8n",
            "register",
            "wf-lookup",
            "--name",
            "Orders",
            "--description",
            "Looks up orders",
            "--skill",
            "Order status",
            "--visibility",
            "public",
        )
        assert code == 0, out
        assert f"registered orders: {platform.gateway_url}/agents/orders" in out

        from nasiko.cli import config

        access = config.load_credentials()[api_url]["access_token"]

        async def ask() -> str:
            headers = {"Authorization": f"Bearer {access}"}
            async with httpx.AsyncClient(timeout=30, headers=headers) as c:
                reply = await send_text(f"{platform.gateway_url}/agents/orders", "Z-9", client=c)
            return reply.text

        assert asyncio.run(ask()) == "order Z-9: shipped"
        code, out = run(cli, "n8n", "disconnect")
        assert code == 0
        code, out = run(cli, "n8n", "workflows")
        assert code == 1 and "nasiko n8n connect" in out
