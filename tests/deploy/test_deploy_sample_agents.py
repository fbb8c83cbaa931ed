"""`nasiko up`'s start-up sweep deploys the four sample agents; each answers through the gateway
with the CLI's chat command and with the a2a-sdk client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nasiko.a2a import send_text
from nasiko.cli.main import app
from nasiko.client import NasikoClient
from nasiko.testing.platform import PlatformThread, make_settings

AGENTS = Path(__file__).resolve().parents[2] / "agents"
SLUGS = ["compliance-checker", "document-expert", "github-agent", "translator"]


def test_sample_agents_deploy_at_start_and_answer_through_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        tmp_path / "data",
        runtime={"inherit_site_packages": True, "agents_dir": AGENTS},
        worker={"health_timeout": 90.0, "concurrency": 4},
    )
    with (
        PlatformThread(settings, ["api", "gateway", "router", "worker"]) as p,
        NasikoClient(p.api_url) as admin,
    ):
        admin.login("admin", "admin-password-1")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            uploads = admin.get("/uploads")["items"]
            if len(uploads) == 4 and all(u["status"] in ("registered", "failed") for u in uploads):
                break
            time.sleep(0.5)
        assert sorted(u["slug"] for u in uploads) == SLUGS
        assert [u["status"] for u in uploads] == ["registered"] * 4, [u["error"] for u in uploads]
        agents = {a["slug"]: a for a in admin.get("/registries")["items"]}
        assert all(
            agents[s]["visibility"] == "public" and agents[s]["status"] == "running" for s in SLUGS
        )

        monkeypatch.setenv("NASIKO_API_URL", p.api_url)
        cli = CliRunner()
        assert cli.invoke(app, ["login", "-u", "admin", "-p", "admin-password-1"]).exit_code == 0
        out = cli.invoke(
            app,
            ["chat", "send", "--agent", "compliance-checker", "Reach me at jane.roe@example.org"],
        ).output
        assert "personal-data/email-address" in out and "jane.roe@example.org" not in out
        out = cli.invoke(
            app, ["chat", "send", "--agent", "translator", "Guten Morgen, wie geht es dir heute?"]
        ).output
        assert "German" in out

        async def a2a_calls() -> list[str]:
            headers = {"Authorization": f"Bearer {admin.tokens.access_token}"}
            async with httpx.AsyncClient(headers=headers, timeout=60) as c:
                replies = []
                for slug, text in (
                    ("document-expert", "What does the document say?"),
                    ("github-agent", "list my repositories"),
                ):
                    reply = await send_text(f"{p.gateway_url}/agents/{slug}", text, client=c)
                    replies.append(reply.text)
                return replies

        doc, gh = asyncio.run(a2a_calls())
        assert "no documents" in doc.lower()
        # No token and no internet here: the agent explains instead of failing.
        assert "github" in gh.lower() and ("token" in gh.lower() or "could not reach" in gh.lower())
        # A second start with nothing changed deploys nothing new.
    with PlatformThread(settings, ["api", "worker"]) as p, NasikoClient(p.api_url) as admin:
        admin.login("admin", "admin-password-1")
        time.sleep(1.0)
        assert admin.get("/uploads")["total"] == 4
