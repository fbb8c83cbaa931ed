from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from nasiko.a2a import send_text
from nasiko.cli.main import app
from nasiko.errors import NasikoError
from nasiko.testing.platform import PlatformThread, make_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


@pytest.fixture(scope="module")
def deploy_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("deploy-cli"),
        runtime={"inherit_site_packages": True},
        worker={"health_timeout": 30.0},
    )
    with PlatformThread(settings, ["api", "gateway", "worker"]) as p:
        yield p


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def ask(url: str, text: str) -> str:
    async def go() -> str:
        async with httpx.AsyncClient(timeout=30) as c:
            return (await send_text(url, text, client=c)).text

    return asyncio.run(go())


def test_upload_directory_lifecycle_and_logs(
    deploy_live: PlatformThread, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NASIKO_API_URL", deploy_live.api_url)
    cli = CliRunner()
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
    pkg = tmp_path / "echo-agent"
    import shutil

    shutil.copytree(FIXTURES / "echo-agent", pkg)
    (pkg / ".nasikoignore").write_text("secrets.txt\n")
    (pkg / "secrets.txt").write_text("do not upload")
    code, out = run(cli, "agent", "upload-directory", str(pkg), "--visibility", "public")
    assert code == 0, out
    assert "registered" in out and f"{deploy_live.gateway_url}/agents/echo-agent" in out
    code, out = run(cli, "-o", "json", "agent", "get", "echo-agent")
    import json

    agent = json.loads(out)
    assert agent["status"] == "running"
    first_endpoint = agent["endpoints"][0]
    assert ask(first_endpoint, "hi")
    uploads = deploy_live.services.settings.data_dir / "uploads"
    assert not list(uploads.rglob("secrets.txt"))

    code, out = run(cli, "agent", "logs", "echo-agent", "--tail", "5")
    assert code == 0 and out.strip()

    code, out = run(cli, "agent", "stop", "echo-agent")
    assert code == 0 and "stopped" in out
    with pytest.raises((httpx.TransportError, NasikoError)):
        ask(first_endpoint, "anyone?")
    code, out = run(cli, "agent", "start", "echo-agent")
    assert code == 0 and "running" in out
    endpoint = json.loads(run(cli, "-o", "json", "agent", "get", "echo-agent")[1])["endpoints"][0]
    assert ask(endpoint, "back?")

    # A second upload of the same slug is a new version; rollback returns to v1.
    code, out = run(cli, "agent", "redeploy", "echo-agent")
    assert code == 0, out
    versions = json.loads(run(cli, "-o", "json", "agent", "versions", "echo-agent")[1])
    assert [v["version"] for v in versions] == [2, 1]
    code, out = run(cli, "agent", "rollback", "echo-agent")
    assert code == 0 and "now v1" in out
    endpoint = json.loads(run(cli, "-o", "json", "agent", "get", "echo-agent")[1])["endpoints"][0]
    assert ask(endpoint, "v1 again?")

    pid_port = endpoint.rsplit(":", 1)[1]
    code, out = run(cli, "agent", "delete", "echo-agent", "--yes")
    assert code == 0
    with pytest.raises((httpx.TransportError, NasikoError)):
        ask(f"http://127.0.0.1:{pid_port}", "gone?")


def test_failing_upload_exits_non_zero_with_the_log_tail(
    deploy_live: PlatformThread, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NASIKO_API_URL", deploy_live.api_url)
    cli = CliRunner()
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
    pkg = tmp_path / "crashy"
    pkg.mkdir()
    (pkg / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python", "main.py"]\n')
    (pkg / "main.py").write_text("raise SystemExit('cannot find my config file')\n")
    code, out = run(cli, "agent", "upload-directory", str(pkg))
    assert code == 1
    assert "cannot find my config file" in out
    assert "Traceback (most recent call last)" not in out.split("last log lines")[0]
