"""Understand a request without a model: regexes over the text, or a structured data part.

Data part form: ``{"action": "list_repos|list_issues|list_pulls|read_file|search_code|
summarize_repo|recent_activity|analyze_file|analyze_pr", "repo": "owner/name", "owner": ...,
"path": ..., "ref": ..., "number": ..., "query": ..., "state": "open|closed|all"}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ACTIONS = (
    "list_repos",
    "list_issues",
    "list_pulls",
    "read_file",
    "search_code",
    "summarize_repo",
    "recent_activity",
    "analyze_file",
    "analyze_pr",
)

_REPO = r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"
_URL_BLOB = re.compile(r"github\.com/" + _REPO + r"/blob/(?P<ref>[^/\s]+)/(?P<path>\S+)")
_URL_PULL = re.compile(r"github\.com/" + _REPO + r"/pull/(?P<number>\d+)")
_URL_REPO = re.compile(r"github\.com/" + _REPO + r"(?:[/\s]|$)")
_REPO_WORD = re.compile(r"(?<![\w/.@-])" + _REPO.replace("?P<repo>", "?P<r>") + r"(?![\w/-])")
_PATH = re.compile(
    r"(?<![\w/])(?P<path>(?:[\w.-]+/)*[\w-]+\.[A-Za-z0-9]{1,8}|(?:[\w.-]+/)+[\w.-]+)(?!\w)"
)
_NUMBER = re.compile(r"(?:#|\b(?:pr|pull request|pull)\s*#?\s*)(?P<n>\d+)\b", re.I)


@dataclass
class Intent:
    action: str | None
    repo: str | None = None
    owner: str | None = None
    path: str | None = None
    ref: str | None = None
    number: int | None = None
    query: str | None = None
    state: str = "open"


def parse_intent(text: str, data: list[dict[str, Any]]) -> Intent:
    intent = _from_text(text)
    for item in data:
        for key in ("action", "repo", "owner", "path", "ref", "query", "state"):
            if item.get(key):
                setattr(intent, key, str(item[key]))
        if item.get("number") is not None:
            intent.number = int(item["number"])
    if intent.action not in ACTIONS:
        intent.action = None
    return intent


def _from_text(text: str) -> Intent:
    lowered = text.lower()
    if m := _URL_PULL.search(text):
        return Intent("analyze_pr", repo=m["repo"], number=int(m["number"]))
    if m := _URL_BLOB.search(text):
        action = (
            "analyze_file"
            if re.search(r"\b(analy[sz]e|review|explain|audit)", lowered)
            else "read_file"
        )
        return Intent(action, repo=m["repo"], ref=m["ref"], path=m["path"])
    url_match = _URL_REPO.search(text)
    repo = url_match["repo"] if url_match else _pick_repo(text)
    state = "closed" if "closed" in lowered else "all" if re.search(r"\ball\b", lowered) else "open"
    number = _NUMBER.search(text)
    # The path is any file-like token that is not the repository itself.
    masked = text.replace(repo, " ") if repo else text
    masked = re.sub(r"https?://\S+", " ", masked)
    path_match = _PATH.search(masked)
    path = path_match["path"] if path_match else None

    if re.search(r"\b(analy[sz]e|review|explain|audit|critique)\b", lowered):
        if number and re.search(r"\b(pr|pull)", lowered):
            return Intent("analyze_pr", repo=repo, number=int(number["n"]))
        if path:
            return Intent("analyze_file", repo=repo, path=path)
    if re.search(r"\bsearch\b|\bfind\b.*\b(code|usages?|where)\b|\bgrep\b", lowered):
        query = re.sub(
            r"(?i)^.*?\b(?:search|find|grep)\b(?:\s+(?:the\s+)?code)?(?:\s+for)?\s*", "", text
        )
        if repo:
            query = query.replace(repo, " ")
        query = re.sub(
            r"(?i)\b(in|within|inside|across)\s*(?:repo(?:sitory)?)?\s*$", "", query.strip()
        )
        return Intent("search_code", repo=repo, query=query.strip(" \"'`?.") or None)
    if re.search(r"\b(pull requests?|prs?|merge requests?)\b", lowered):
        return Intent("list_pulls", repo=repo, state=state)
    if re.search(r"\bissues?\b|\bbugs?\b|\btickets?\b", lowered):
        return Intent("list_issues", repo=repo, state=state)
    if re.search(r"\b(commits?|activity|recent changes|what changed|changelog)\b", lowered):
        return Intent("recent_activity", repo=repo)
    if path and re.search(r"\b(read|show|open|get|cat|print|contents? of|display|view)\b", lowered):
        return Intent("read_file", repo=repo, path=path)
    if re.search(r"\b(repos|repositories|projects)\b", lowered) or (
        not repo and re.search(r"\brepo\b", lowered)
    ):
        owner = re.search(r"\b(?:of|for|by|from)\s+@?(?P<o>[A-Za-z0-9-]+)\b", text)
        mine = re.search(r"\b(my|mine)\b", lowered)
        return Intent("list_repos", owner=None if mine or not owner else owner["o"])
    if repo and re.search(r"\b(summar|overview|describe|structure|about|tell me)", lowered):
        return Intent("summarize_repo", repo=repo)
    if repo and path:
        return Intent("read_file", repo=repo, path=path)
    if repo:
        return Intent("summarize_repo", repo=repo)
    return Intent(None)


def _pick_repo(text: str) -> str | None:
    """The owner/name in ``text``; "src/app.py in owner/name" has two slash-words."""
    candidates = list(_REPO_WORD.finditer(text))
    for m in candidates:
        if re.search(r"\b(?:in|of|from|for|at|on|repo|repository)\s+$", text[: m.start()], re.I):
            return m["r"]
    plain = [m["r"] for m in candidates if not re.search(r"\.[A-Za-z0-9]{1,8}$", m["r"])]
    return plain[-1] if plain else (candidates[0]["r"] if candidates else None)
