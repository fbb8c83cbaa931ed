"""Stored GitHub and n8n secrets: ciphertext in the database (SQLite and PostgreSQL), absent
from every API response and from every log line written while they were used."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from integrations_kit import FIXTURES, chat, integration_platform, wait_upload

from nasiko.client import NasikoClient
from nasiko.testing.fake_github import OWNER, FakeGitHub, Repo, make_git_repo
from nasiko.testing.fake_n8n import FakeN8n

GH_TOKEN = "ghp_SECRETgithubTOKEN0123456789abcd"
N8N_KEY = "n8n_SECRETapiKEY_0123456789abcdef"
SECRETS = (GH_TOKEN, N8N_KEY)


class Recorder:
    """An API client that keeps every response body it saw."""

    def __init__(self, base: str, token: str) -> None:
        self.bodies: list[str] = []
        self.http = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, path, **kw)
        self.bodies.append(f"{resp.status_code} {resp.headers} {resp.text}")
        assert resp.status_code < 400, resp.text
        return resp.json() if resp.content else None


def raw_ciphertexts(settings: Any) -> list[tuple[str, str]]:
    if settings.is_sqlite:
        with sqlite3.connect(settings.data_dir / "nasiko.db") as db:
            return list(db.execute("SELECT kind, ciphertext FROM credentials"))

    async def pg() -> list[tuple[str, str]]:
        import asyncpg

        url = settings.sql_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT kind, ciphertext FROM credentials")
        finally:
            await conn.close()
        return [(r["kind"], r["ciphertext"]) for r in rows]

    return asyncio.run(pg())


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[FakeGitHub, FakeN8n, Path]]:
    git_root = tmp_path / "git"
    make_git_repo(git_root, f"{OWNER}/echo-agent", FIXTURES / "echo-agent")
    with FakeGitHub(token=GH_TOKEN) as gh, FakeN8n(api_key=N8N_KEY) as n8n:
        gh.repos["echo-agent"] = Repo("echo-agent", "An A2A echo agent", "Python", private=True)
        yield gh, n8n, git_root


def test_secrets_never_leave_the_credential_store(
    tmp_path: Path,
    backend_settings: dict[str, Any],
    fakes: tuple[FakeGitHub, FakeN8n, Path],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    gh, n8n, git_root = fakes
    caplog.set_level(logging.DEBUG)
    with (
        integration_platform(
            tmp_path / "data",
            github={"oauth_url": f"file://{git_root}", "api_url": gh.url},
            **backend_settings,
        ) as plat,
        NasikoClient(plat.api_url) as admin,
    ):
        admin.login("admin", "admin-password-1")
        access = admin.tokens.access_token or ""
        api = Recorder(plat.api_url, access)

        api("POST", "/github/connect", json={"token": GH_TOKEN})
        api("GET", "/github/status")
        api("GET", "/github/repos", params={"query": "echo"})
        upload = api("POST", "/github/clone", json={"repository": f"{OWNER}/echo-agent"})
        done = wait_upload(admin, upload["id"])
        assert done["status"] == "registered", done.get("error")
        api("GET", f"/uploads/{upload['id']}")

        api("POST", "/n8n/connect", json={"url": n8n.url, "api_key": N8N_KEY})
        api("GET", "/n8n/status")
        api("GET", "/n8n/workflows")
        agent = api("POST", "/n8n/agents", json={"workflow_id": "wf-lookup"})
        assert chat(plat.gateway_url, agent["slug"], "Q-1", token=access).state == "completed"
        api("GET", f"/registries/{agent['slug']}")
        api("GET", f"/registries/{agent['slug']}/versions")
        api("GET", "/registries")
        api("GET", "/audit")
        api("GET", "/chat/sessions")

        # Both secrets were really used against the outside services.
        assert any(h.get("Authorization") == f"Bearer {GH_TOKEN}" for *_, h in gh.requests)
        rows = raw_ciphertexts(plat.services.settings)
        assert {k for k, _ in rows} >= {"github", "n8n"}
        api("DELETE", "/github/connect")
        api("DELETE", "/n8n/connect")
        assert {k for k, _ in raw_ciphertexts(plat.services.settings)} & {
            "github",
            "n8n",
        } == set()

    for kind, ciphertext in rows:
        assert all(s not in ciphertext for s in SECRETS), kind
    settings = plat.services.settings
    if settings.is_sqlite:
        for db_file in settings.data_dir.glob("nasiko.db*"):  # the WAL too
            raw = db_file.read_bytes()
            assert all(s.encode() not in raw for s in SECRETS), db_file
    for body in api.bodies:
        assert all(s not in body for s in SECRETS), body[:300]
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text + out + err
    assert len(caplog.records) > 20  # the flows did log; none of it carries a secret
    assert all(s not in logged for s in SECRETS)
    for log_file in settings.data_dir.rglob("*.log"):
        assert all(s not in log_file.read_text(errors="replace") for s in SECRETS)
