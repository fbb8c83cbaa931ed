"""nasiko github … against a live platform, a fake GitHub and a git repository over file://."""

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
from nasiko.testing.fake_github import OWNER, FakeGitHub, Repo, make_git_repo
from nasiko.testing.platform import PlatformThread, make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"
TOKEN = "ghp_cli0123456789abcdefABCDEFcli"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PlatformThread]]:
    """API + gateway + worker, GitHub at a fake server and a folder of bare repositories."""
    root = tmp_path_factory.mktemp("cli-gh")
    make_git_repo(root / "git", f"{OWNER}/echo-agent", FIXTURES / "echo-agent")
    settings = make_settings(
        root / "data",
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0},
    )
    with FakeGitHub(token=TOKEN) as gh:
        gh.repos["echo-agent"] = Repo("echo-agent", "An A2A echo agent", "Python")
        settings.github.oauth_url = f"file://{root / 'git'}"
        settings.github.api_url = gh.url
        with PlatformThread(settings, ["api", "gateway", "worker"]) as p:
            yield p.api_url, p


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_github_login_repos_clone_logout(
    live: tuple[str, PlatformThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    api_url, platform = live
    monkeypatch.setenv("NASIKO_API_URL", api_url)
    cli = CliRunner()
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0

    code, out = run(cli, "github", "login")  # no option and no terminal: refuses, exit 2
    assert code == 2 and "missing" in out
    code, out = run(cli, "github", "login", "--token", "ghp_bad")
    assert code == 1 and "GitHub rejected the token" in out
    code, out = run(cli, "github", "login", "--token", TOKEN)
    assert code == 0 and f"GitHub connected as {OWNER}" in out and TOKEN not in out
    code, out = run(cli, "-o", "json", "github", "status")
    assert json.loads(out)["connected"] is True and TOKEN not in out

    code, out = run(cli, "-o", "json", "github", "repos")
    assert code == 0 and json.loads(out)["total"] == 36
    code, out = run(cli, "github", "repos", "--query", "echo")
    assert code == 0 and f"{OWNER}/echo-agent" in out and "aurora" not in out

    code, out = run(cli, "github", "clone", f"{OWNER}/echo-agent", "--ref", "main")
    assert code == 0, out
    assert "registered" in out and f"{platform.gateway_url}/agents/echo-agent" in out

    async def ask() -> str:
        from nasiko.cli import config

        creds = config.load_credentials()[api_url]
        headers = {"Authorization": f"Bearer {creds['access_token']}"}
        async with httpx.AsyncClient(timeout=30, headers=headers) as c:
            reply = await send_text(f"{platform.gateway_url}/agents/echo-agent", "hi", client=c)
        return reply.text

    assert "hi" in asyncio.run(ask())

    code, out = run(cli, "github", "logout")
    assert code == 0 and "disconnected" in out
    code, out = run(cli, "github", "repos")
    assert code == 1 and "nasiko github login" in out
