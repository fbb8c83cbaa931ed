"""Request parsing without a model."""

from __future__ import annotations

import pytest
from agent_harness import load_agent_module

intents = load_agent_module("github-agent", "intents")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("List my GitHub repositories", {"action": "list_repos", "owner": None}),
        (
            "Which repositories does octocat have? list repos of octocat",
            {"action": "list_repos", "owner": "octocat"},
        ),
        (
            "Open issues in octo-dev/aurora",
            {"action": "list_issues", "repo": "octo-dev/aurora", "state": "open"},
        ),
        (
            "show closed bugs in facebook/react",
            {"action": "list_issues", "repo": "facebook/react", "state": "closed"},
        ),
        (
            "List pull requests in octo-dev/aurora",
            {"action": "list_pulls", "repo": "octo-dev/aurora"},
        ),
        (
            "Read src/aurora/pump.py in octo-dev/aurora",
            {"action": "read_file", "repo": "octo-dev/aurora", "path": "src/aurora/pump.py"},
        ),
        (
            "https://github.com/octo-dev/aurora/blob/dev/README.md",
            {"action": "read_file", "repo": "octo-dev/aurora", "ref": "dev", "path": "README.md"},
        ),
        (
            "Search code for set_speed in octo-dev/aurora",
            {"action": "search_code", "repo": "octo-dev/aurora", "query": "set_speed"},
        ),
        ("Summarise octo-dev/aurora", {"action": "summarize_repo", "repo": "octo-dev/aurora"}),
        (
            "What changed recently in octo-dev/aurora?",
            {"action": "recent_activity", "repo": "octo-dev/aurora"},
        ),
        (
            "Review PR #43 in octo-dev/aurora",
            {"action": "analyze_pr", "repo": "octo-dev/aurora", "number": 43},
        ),
        (
            "Review https://github.com/octo-dev/aurora/pull/43",
            {"action": "analyze_pr", "number": 43},
        ),
        (
            "Analyse src/aurora/pump.py in octo-dev/aurora",
            {"action": "analyze_file", "path": "src/aurora/pump.py"},
        ),
        ("hello there", {"action": None}),
    ],
)
def test_text_intents(text: str, expected: dict) -> None:
    intent = intents.parse_intent(text, [])
    assert {k: getattr(intent, k) for k in expected} == expected


def test_data_part_overrides_text() -> None:
    intent = intents.parse_intent(
        "", [{"action": "read_file", "repo": "a/b", "path": "x.py", "ref": "v1"}]
    )
    assert (intent.action, intent.repo, intent.path, intent.ref) == (
        "read_file",
        "a/b",
        "x.py",
        "v1",
    )
