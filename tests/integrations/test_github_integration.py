"""GitHub end to end: a pasted token checked against a fake GitHub, repositories listed
through Link pagination, a repository cloned over file:// and deployed by the worker, then
answering through the gateway; push webhooks redeploy it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integrations_kit import FIXTURES, IntegrationPlatform, chat, integration_platform, wait_upload

from nasiko.client import ApiError, NasikoClient
from nasiko.core.integrations.github import sign
from nasiko.testing.fake_github import OWNER, FakeGitHub, Repo, commit_all, make_git_repo

TOKEN = "ghp_integration0123456789abcdefABCDEF"


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[IntegrationPlatform, FakeGitHub, Path]]:
    root = tmp_path_factory.mktemp("gh")
    git_root = root / "git"
    make_git_repo(
        git_root, f"{OWNER}/echo-service", FIXTURES / "echo-agent", subdir="agents/echo-agent"
    )
    with FakeGitHub(token=TOKEN) as gh:
        gh.repos["echo-service"] = Repo(
            "echo-service",
            "An A2A echo agent",
            "Python",
            private=True,
            pushed_at="2025-01-01T00:00:00Z",
        )
        gh.max_per_page = 10  # 36 repositories -> four pages, followed through Link headers
        with integration_platform(
            root / "data", github={"oauth_url": f"file://{git_root}", "api_url": gh.url}
        ) as plat:
            yield plat, gh, git_root


@pytest.fixture(scope="module")
def admin(world: tuple[IntegrationPlatform, FakeGitHub, Path]) -> Iterator[NasikoClient]:
    with world[0].admin() as client:
        yield client


def test_connect_rejects_a_bad_token_and_keeps_a_good_one(
    admin: NasikoClient, world: tuple[IntegrationPlatform, FakeGitHub, Path]
) -> None:
    assert admin.get("/github/status") == {
        "connected": False,
        "login": None,
        "source": None,
        "connected_at": None,
    }
    with pytest.raises(ApiError) as bad:
        admin.post("/github/connect", json={"token": "ghp_wrong"})
    assert bad.value.status == 400 and bad.value.code == "github_token_rejected"
    status = admin.post("/github/connect", json={"token": TOKEN})
    assert status["connected"] and status["login"] == OWNER and status["source"] == "token"
    assert TOKEN not in json.dumps(status)
    # GitHub saw the token as a bearer credential on GET /user
    assert any(
        path == "/user" and h.get("Authorization") == f"Bearer {TOKEN}"
        for path, _, h in world[1].requests
    )


def test_repos_follow_link_pagination_and_filter(
    admin: NasikoClient, world: tuple[IntegrationPlatform, FakeGitHub, Path]
) -> None:
    admin.post("/github/connect", json={"token": TOKEN})
    gh = world[1]
    before = len([r for r in gh.requests if r[0] == "/user/repos"])
    listing = admin.get("/github/repos")
    pages = [r for r in gh.requests if r[0] == "/user/repos"][before:]
    assert listing["total"] == len(gh.repos) == 36
    assert len(pages) == 4 and [q.get("page") for _, q, _ in pages] == [None, "2", "3", "4"]
    names = [r["full_name"] for r in listing["items"]]
    assert len(set(names)) == 36 and f"{OWNER}/secret-plans" in names
    found = admin.get("/github/repos", params={"query": "ECHO"})
    assert [r["full_name"] for r in found["items"]] == [f"{OWNER}/echo-service"]
    assert found["items"][0]["private"] is True


def test_clone_deploys_and_the_agent_answers_through_the_gateway(
    admin: NasikoClient, world: tuple[IntegrationPlatform, FakeGitHub, Path]
) -> None:
    plat, _, git_root = world
    admin.post("/github/connect", json={"token": TOKEN})
    upload = admin.post(
        "/github/clone",
        json={"repository": f"{OWNER}/echo-service", "ref": "main", "subdir": "agents/echo-agent"},
    )
    assert upload["source"]["url"] == f"file://{git_root}/{OWNER}/echo-service.git"
    done = wait_upload(admin, upload["id"])
    assert done["status"] == "registered", done.get("error")
    assert done["source"]["commit"]
    agent = admin.get(f"/registries/{done['slug']}")
    assert agent["status"] == "running"
    reply = chat(
        plat.gateway_url, agent["slug"], "hello from github", token=admin.tokens.access_token or ""
    )
    assert "hello from github" in reply.text

    # Push webhooks: a secret per agent, an HMAC check, a redeploy on a push to the branch.
    hook = admin.post(f"/github/hooks/{agent['slug']}")
    assert hook["branch"] == "main" and hook["url"].endswith(f"agent={agent['slug']}")
    work = git_root / "_work" / OWNER / "echo-service"
    (work / "agents" / "echo-agent" / "NOTES.md").write_text("second commit\n")
    after = commit_all(work, "second commit")
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": after,
            "repository": {"full_name": f"{OWNER}/echo-service"},
        }
    ).encode()
    url = f"{plat.api_url}/api/v1/github/webhook?agent={agent['slug']}"
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    forged = httpx.post(
        url, content=body, headers={**headers, "X-Hub-Signature-256": sign("nope", body)}
    )
    assert forged.status_code == 401
    other = json.dumps({"ref": "refs/heads/feature", "after": "0" * 40}).encode()
    ignored = httpx.post(
        url, content=other, headers={**headers, "X-Hub-Signature-256": sign(hook["secret"], other)}
    )
    assert ignored.status_code == 200 and ignored.json() == {"redeploy": False}
    resp = httpx.post(
        url, content=body, headers={**headers, "X-Hub-Signature-256": sign(hook["secret"], body)}
    )
    assert resp.status_code == 200 and resp.json()["redeploy"] is True
    redone = wait_upload(admin, resp.json()["upload_id"])
    assert redone["status"] == "registered", redone.get("error")
    assert redone["source"]["commit"] == after
    assert admin.get(f"/registries/{agent['slug']}")["current_version"] == 2


def test_clone_refuses_a_malformed_name_and_needs_a_connection(
    admin: NasikoClient,
) -> None:
    with pytest.raises(ApiError) as bad:
        admin.post("/github/clone", json={"repository": "../../etc"})
    assert bad.value.status == 400
    admin.delete("/github/connect")
    assert admin.get("/github/status")["connected"] is False
    with pytest.raises(ApiError) as missing:
        admin.get("/github/repos")
    assert missing.value.code == "github_not_connected"
