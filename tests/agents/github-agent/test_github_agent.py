"""The GitHub Agent as a real A2A server against the fake GitHub REST server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_harness import ask, data_part

from nasiko.testing.fake_github import AURORA_FILES, FakeGitHub


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server


async def test_lists_all_repositories_across_pages(start_agent, github) -> None:
    github.max_per_page = 20
    agent = start_agent("github-agent", github.env())
    reply = await ask(agent.url, "List my GitHub repositories")
    assert reply.state == "TASK_STATE_COMPLETED", reply.status_texts
    repos = reply.data["repositories"]
    assert len(repos) == len(github.repos) == 35
    assert repos[0]["full_name"] == "octo-dev/aurora"  # most recently pushed
    assert any(r["private"] for r in repos)
    pages = [q.get("page") for path, q, _ in github.requests if path == "/user/repos"]
    assert pages == [None, "2"]  # followed the Link header once
    headers = next(h for path, _, h in github.requests if path == "/user/repos")
    assert headers["Authorization"] == f"Bearer {github.token}"
    assert "**35 repositories** for your account" in reply.text
    assert "[octo-dev/aurora](https://github.com/octo-dev/aurora) · Python · ★128" in reply.text


async def test_issues_exclude_pull_requests(start_agent, github) -> None:
    agent = start_agent("github-agent", github.env())
    reply = await ask(agent.url, "Open issues in octo-dev/aurora")
    assert [i["number"] for i in reply.data["issues"]] == [42, 41]
    assert "- #41 Pump stalls below 500 rpm [bug] — @river, 3 comments" in reply.text
    closed = await ask(agent.url, "closed issues in octo-dev/aurora")
    assert [i["number"] for i in closed.data["issues"]] == [40]
    pulls = await ask(agent.url, "pull requests in octo-dev/aurora")
    assert pulls.data["pull_requests"][0]["head"] == "validate-speed"


async def test_reads_files_by_path_and_link(start_agent, github) -> None:
    agent = start_agent("github-agent", github.env())
    reply = await ask(agent.url, "Read src/aurora/pump.py in octo-dev/aurora")
    assert f"```python\n{AURORA_FILES['src/aurora/pump.py'].rstrip()}\n```" in reply.text
    link = await ask(agent.url, "https://github.com/octo-dev/aurora/blob/main/README.md")
    assert "Control software for the Aurora water pump." in link.text
    assert ("/repos/octo-dev/aurora/contents/README.md", {"ref": "main"}) in [
        (p, q) for p, q, _ in github.requests
    ]
    missing = await ask(agent.url, "Read src/nope.py in octo-dev/aurora")
    assert missing.state == "TASK_STATE_FAILED"
    assert "Not found on GitHub: /repos/octo-dev/aurora/contents/src/nope.py" in missing.failure


async def test_search_and_summary(start_agent, github) -> None:
    agent = start_agent("github-agent", github.env())
    found = await ask(agent.url, "Search code for set_speed in octo-dev/aurora")
    paths = [i["path"] for i in found.data["search_results"]["items"]]
    assert paths == ["src/aurora/cli.py", "src/aurora/pump.py"]
    summary = await ask(agent.url, "Summarise octo-dev/aurora")
    data = summary.data["summary"]
    assert data["languages"]["Python"] > 90 and data["files"] == len(AURORA_FILES)
    assert data["open_issues"] == 2 and data["open_pull_requests"] == 1
    assert {"README.md", "pyproject.toml", ".github/workflows/ci.yml", "LICENSE"} <= set(
        data["key_files"]
    )
    assert data["top_level_dirs"] == {".github": 1, "src": 3, "tests": 1, "docs": 1}
    assert "- 2024-03-04 Add prime() to warm up the pump — River" in summary.text
    activity = await ask(
        agent.url, data_part({"action": "recent_activity", "repo": "octo-dev/aurora"})
    )
    assert len(activity.data["commits"]) == 5


async def test_token_from_message_metadata(start_agent, github) -> None:
    agent = start_agent("github-agent", {"GITHUB_API_URL": github.url})  # no GITHUB_TOKEN
    anonymous = await ask(agent.url, "List my repositories")
    assert anonymous.state == "TASK_STATE_FAILED"
    assert "requires authentication" in anonymous.failure and "github_token" in anonymous.failure
    reply = await ask(agent.url, "List my repositories", metadata={"github_token": github.token})
    assert len(reply.data["repositories"]) == 35


async def test_bad_token_is_explained(start_agent, github) -> None:
    agent = start_agent(
        "github-agent", {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghp_revoked"}
    )
    reply = await ask(agent.url, "Open issues in octo-dev/aurora")
    assert reply.state == "TASK_STATE_FAILED"
    assert "GitHub rejected the token (HTTP 401: Bad credentials)" in reply.failure


@pytest.mark.parametrize("status", [403, 429])
async def test_rate_limit_is_explained(start_agent, github, status: int) -> None:
    agent = start_agent("github-agent", github.env())
    github.rate_limit_remaining = 0
    github.rate_limit_status = status
    reply = await ask(agent.url, "Open issues in octo-dev/aurora")
    assert reply.state == "TASK_STATE_FAILED"
    assert f"rate limit is used up (HTTP {status}: API rate limit exceeded" in reply.failure
    assert "It resets at" in reply.failure and "(in about 30 min)" in reply.failure


async def test_pr_review_with_and_without_model(start_agent, github, fake_llm) -> None:
    plain = start_agent("github-agent", github.env())
    reply = await ask(plain.url, "Review PR #43 in octo-dev/aurora")
    assert "- `src/aurora/pump.py` modified (+2 -1)" in reply.text
    assert "A code review needs a language model" in reply.text and "OPENAI_API_KEY" in reply.text

    fake_llm.responder = lambda request: "Looks good; consider a test for the new ValueError."
    modelled = start_agent("github-agent", {**github.env(), **fake_llm.env("anthropic")})
    reply = await ask(modelled.url, "Review https://github.com/octo-dev/aurora/pull/43")
    assert reply.text.endswith("Looks good; consider a test for the new ValueError.")
    sent = fake_llm.requests[-1]
    assert sent.api == "anthropic"
    assert 'raise ValueError(f"rpm out of range: {rpm}")' in sent.user


async def test_file_analysis_numbers_lines_for_the_model(start_agent, github, fake_llm) -> None:
    fake_llm.responder = lambda request: "set_speed (line 11) does not validate its input."
    agent = start_agent("github-agent", {**github.env(), **fake_llm.env("gemini")})
    reply = await ask(agent.url, "Analyse src/aurora/pump.py in octo-dev/aurora")
    assert reply.data["file"]["outline"] == ["Pump", "flow_rate"]
    assert "set_speed (line 11) does not validate its input." in reply.text
    numbered = "  11     def set_speed(self, rpm):\n  12         # TODO: validate the range"
    assert numbered in fake_llm.requests[-1].user
