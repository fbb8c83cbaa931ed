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
        # What each agent must say, to the CLI's chat and to the a2a-sdk client alike.
        cases = {
            "compliance-checker": (
                "Reach me at jane.roe@example.org",
                lambda t: "personal-data/email-address" in t and "jane.roe@example.org" not in t,
            ),
            "translator": ("Guten Morgen, wie geht es dir heute?", lambda t: "German" in t),
            "document-expert": (
                "What does the document say?",
                lambda t: "no documents" in t.lower(),
            ),
            # No token and no internet here: the agent explains instead of failing.
            "github-agent": (
                "list my repositories",
                lambda t: (
                    "github" in t.lower()
                    and ("token" in t.lower() or "could not reach" in t.lower())
                ),
            ),
        }
        for slug, (text, ok) in cases.items():
            result = cli.invoke(app, ["chat", "send", "--agent", slug, text])
            assert result.exit_code == 0 and ok(result.output), (slug, result.output)

        async def a2a_calls() -> dict[str, str]:
            headers = {"Authorization": f"Bearer {admin.tokens.access_token}"}
            async with httpx.AsyncClient(headers=headers, timeout=60) as c:
                return {
                    slug: (await send_text(f"{p.gateway_url}/agents/{slug}", text, client=c)).text
                    for slug, (text, _) in cases.items()
                }

        for slug, reply in asyncio.run(a2a_calls()).items():
            assert cases[slug][1](reply), (slug, reply)
        # A second start with nothing changed deploys nothing new.
    with PlatformThread(settings, ["api", "worker"]) as p, NasikoClient(p.api_url) as admin:
        admin.login("admin", "admin-password-1")
        time.sleep(1.0)
        assert admin.get("/uploads")["total"] == 4
