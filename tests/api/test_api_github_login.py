from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from nasiko.storage.sql.tables import credentials
from nasiko.testing.fake_github_oauth import FakeGitHubOAuth
from nasiko.testing.platform import PlatformThread, make_settings


@pytest.fixture
def github() -> FakeGitHubOAuth:
    with FakeGitHubOAuth() as fake:
        yield fake  # type: ignore[misc]


def _platform(tmp_path: Path, fake: FakeGitHubOAuth | None) -> PlatformThread:
    gh = (
        {}
        if fake is None
        else {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "oauth_url": fake.url,
            "api_url": fake.url,
        }
    )
    return PlatformThread(make_settings(tmp_path / "data", github=gh), ["api"])


def test_cli_github_login_flow_against_fake_github(
    tmp_path: Path, github: FakeGitHubOAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasiko.cli import auth
    from nasiko.cli.context import state

    with _platform(tmp_path, github) as p:
        state.api_url = p.api_url
        visited: list[str] = []

        def browser(url: str) -> None:
            # Plays the user's browser: follows GitHub's and the platform's redirects.
            visited.append(url)
            with httpx.Client(follow_redirects=True, timeout=10) as b:
                b.get(url)

        auth.github_login(open_url=browser, timeout=20)
        with state.client() as client:
            me = client.whoami()
        assert me["username"] == "octocat" and me["github_id"] == "4242"
        assert me["email"] == "octocat@github.example"
        # The GitHub token is kept, encrypted.
        svc = p.services

        async def raw() -> list[str]:
            async with svc.storage.engine.connect() as conn:
                return list((await conn.execute(select(credentials.c.ciphertext))).scalars())

        stored = p.call(raw())
        assert len(stored) == 1 and not any(t in stored[0] for t in github.tokens)
        cred = p.call(svc.storage.credentials.get(user_id=me["id"], kind="github"))
        assert cred.secret in github.tokens
        # A second login finds the same account.
        auth.github_login(open_url=browser, timeout=20)
        with state.client() as client:
            assert client.whoami()["id"] == me["id"]


def test_github_login_rejects_foreign_redirect_and_bad_state(
    tmp_path: Path, github: FakeGitHubOAuth
) -> None:
    with _platform(tmp_path, github) as p, httpx.Client(base_url=p.api_url) as c:
        evil = c.get("/api/v1/auth/github/login", params={"redirect": "https://evil.example/x"})
        assert evil.status_code == 400 and evil.json()["error"]["code"] == "invalid_input"
        start = c.get("/api/v1/auth/github/login", params={"redirect": "/"})
        assert start.status_code == 302
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["client_id"] == [github.client_id]
        forged = c.get("/api/v1/auth/github/callback", params={"code": "x", "state": "forged"})
        assert forged.status_code == 401
        bad_code = c.get(
            "/api/v1/auth/github/callback", params={"code": "wrong", "state": query["state"][0]}
        )
        assert bad_code.status_code == 401
        assert "GitHub refused" in bad_code.json()["error"]["message"]


def test_github_login_not_configured_is_a_clear_error(tmp_path: Path) -> None:
    with _platform(tmp_path, None) as p, httpx.Client(base_url=p.api_url) as c:
        resp = c.get("/api/v1/auth/github/login")
        assert resp.status_code == 400
        err = resp.json()["error"]
        assert err["code"] == "github_not_configured"
        assert "NASIKO_GITHUB_CLIENT_ID" in err["message"]
