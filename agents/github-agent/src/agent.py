"""GitHub Agent: read repositories through the REST API; analyse code with a model."""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

from .a2a_app import AgentFailure, Inbound, Reply, SkillExecutor
from .github import GitHub, GitHubError
from .intents import Intent, parse_intent
from .llm import MODEL_HINT, ChatModel, ModelError

TOKEN_METADATA_KEY = "github_token"
_MAX_FILE_CHARS = 40_000
_MANIFESTS = (
    "pyproject.toml",
    "setup.py",
    "requirements.txt",
    "package.json",
    "go.mod",
    "Cargo.toml",
    "pom.xml",
    "build.gradle",
    "Gemfile",
    "Dockerfile",
)
_LANG_BY_EXT = {
    "py": "python",
    "ts": "typescript",
    "js": "javascript",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "rb": "ruby",
    "md": "markdown",
    "yml": "yaml",
    "yaml": "yaml",
    "toml": "toml",
    "json": "json",
    "sh": "bash",
}
HELP = """I can read GitHub for you. Try:
- “list my repositories” or “list repositories of octocat”
- “open issues in owner/repo”, “closed pull requests in owner/repo”
- “read src/app.py in owner/repo” or a github.com/…/blob/… link
- “search code for parse_config in owner/repo”
- “summarise owner/repo”, “recent activity in owner/repo”
- “review src/app.py in owner/repo”, “review PR #12 in owner/repo” (needs a model)"""

ANALYZE_PROMPT = """You are a senior engineer reviewing code. Give a concise review in Markdown:
what the code does, bugs and risky spots (cite line numbers or hunks), security concerns, and
concrete improvements. Do not invent code that is not shown."""


class GitHubExecutor(SkillExecutor):
    def __init__(self, model: ChatModel | None = None) -> None:
        self.model = model

    async def handle(self, inbound: Inbound, reply: Reply) -> None:
        intent = parse_intent(inbound.text, inbound.data)
        if intent.action is None:
            await reply.write(HELP)
            return
        if intent.action not in ("list_repos", "search_code") and not intent.repo:
            raise AgentFailure(
                f"Which repository? Name it as owner/name (e.g. “{inbound.text.strip()[:40]} in "
                "octocat/hello-world”)."
            )
        # A token from the platform (the user's stored credential) wins over the agent's own.
        token = str(
            inbound.metadata.get(TOKEN_METADATA_KEY) or os.environ.get("GITHUB_TOKEN") or ""
        )
        await reply.progress(f"Asking GitHub ({intent.action.replace('_', ' ')})…")
        try:
            async with GitHub(token=token or None) as gh:
                await getattr(self, intent.action)(gh, intent, reply)
        except GitHubError as exc:
            raise AgentFailure(str(exc)) from exc

    async def list_repos(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        repos = await gh.repos(intent.owner)
        whose = intent.owner or "your account"
        rows = [_repo_row(r) for r in repos]
        await reply.data("repositories", rows)
        lines = [f"**{len(repos)} repositories** for {whose} (most recently pushed first):", ""]
        for r in rows:
            lock = " 🔒" if r["private"] else ""
            lang = f" · {r['language']}" if r["language"] else ""
            desc = f" — {r['description']}" if r["description"] else ""
            lines.append(f"- [{r['full_name']}]({r['url']}){lock}{lang} · ★{r['stars']}{desc}")
        await reply.write("\n".join(lines))

    async def list_issues(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        issues = await gh.issues(intent.repo or "", state=intent.state)
        rows = [_issue_row(i) for i in issues]
        await reply.data("issues", rows)
        if not rows:
            await reply.write(f"No {intent.state} issues in {intent.repo}.")
            return
        lines = [f"**{len(rows)} {intent.state} issues** in {intent.repo}:", ""]
        for i in rows:
            labels = f" [{', '.join(i['labels'])}]" if i["labels"] else ""
            lines.append(
                f"- #{i['number']} {i['title']}{labels} — @{i['author']}, "
                f"{i['comments']} comments ({i['url']})"
            )
        await reply.write("\n".join(lines))

    async def list_pulls(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        pulls = await gh.pulls(intent.repo or "", state=intent.state)
        rows = [
            {
                "number": p["number"],
                "title": p["title"],
                "author": p["user"]["login"],
                "state": p["state"],
                "draft": p.get("draft", False),
                "url": p["html_url"],
                "head": p["head"]["ref"],
                "base": p["base"]["ref"],
            }
            for p in pulls
        ]
        await reply.data("pull_requests", rows)
        if not rows:
            await reply.write(f"No {intent.state} pull requests in {intent.repo}.")
            return
        lines = [f"**{len(rows)} {intent.state} pull requests** in {intent.repo}:", ""]
        lines += [
            f"- #{p['number']} {p['title']} — @{p['author']} ({p['head']} → {p['base']}) {p['url']}"
            for p in rows
        ]
        await reply.write("\n".join(lines))

    async def read_file(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        text, info = await gh.read_file(intent.repo or "", intent.path or "", ref=intent.ref)
        await reply.data(
            "file",
            {
                "repo": intent.repo,
                "path": info["path"],
                "size": info["size"],
                "sha": info["sha"],
                "url": info.get("html_url"),
            },
        )
        lang = _LANG_BY_EXT.get(info["path"].rsplit(".", 1)[-1], "")
        shown = text[:_MAX_FILE_CHARS]
        more = (
            f"\n\n(first {_MAX_FILE_CHARS:,} of {len(text):,} characters)"
            if len(text) > len(shown)
            else ""
        )
        await reply.write(
            f"**{intent.repo}/{info['path']}** ({info['size']:,} bytes)\n\n"
            f"```{lang}\n{shown.rstrip()}\n```{more}"
        )

    async def search_code(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        if not intent.query:
            raise AgentFailure(
                "What should I search for? e.g. “search code for load_config in owner/repo”."
            )
        q = f"{intent.query} repo:{intent.repo}" if intent.repo else intent.query
        result = await gh.get("/search/code", q=q, per_page=30)
        items = [
            {"repo": i["repository"]["full_name"], "path": i["path"], "url": i["html_url"]}
            for i in result.get("items", [])
        ]
        await reply.data(
            "search_results", {"query": q, "total": result.get("total_count", 0), "items": items}
        )
        if not items:
            await reply.write(f"No code matches `{q}`.")
            return
        lines = [f"**{result.get('total_count', len(items))} files** match `{q}`:", ""]
        lines += [f"- {i['repo']}: `{i['path']}` ({i['url']})" for i in items]
        await reply.write("\n".join(lines))

    async def recent_activity(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        commits = await gh.get_all(f"/repos/{intent.repo}/commits", limit=10)
        rows = [_commit_row(c) for c in commits]
        await reply.data("commits", rows)
        lines = [f"**Recent commits** in {intent.repo}:", ""]
        lines += [
            f"- {c['date'][:10]} `{c['sha'][:7]}` {c['message']} — {c['author']}" for c in rows
        ]
        await reply.write("\n".join(lines))

    async def summarize_repo(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        repo = intent.repo or ""
        info = await gh.get(f"/repos/{repo}")
        tree = await gh.get(f"/repos/{repo}/git/trees/{info['default_branch']}", recursive=1)
        languages = await gh.get(f"/repos/{repo}/languages")
        commits = [_commit_row(c) for c in await gh.get_all(f"/repos/{repo}/commits", limit=5)]
        pulls = await gh.pulls(repo, limit=100)
        files = [e["path"] for e in tree.get("tree", []) if e["type"] == "blob"]
        top_dirs = Counter(p.split("/")[0] for p in files if "/" in p)
        total = sum(languages.values()) or 1
        summary = {
            "repo": info["full_name"],
            "description": info.get("description"),
            "default_branch": info["default_branch"],
            "stars": info.get("stargazers_count", 0),
            "open_issues": info.get("open_issues_count", 0) - len(pulls),
            "open_pull_requests": len(pulls),
            "license": (info.get("license") or {}).get("spdx_id"),
            "languages": {k: round(100 * v / total, 1) for k, v in languages.items()},
            "files": len(files),
            "top_level_dirs": dict(top_dirs),
            "key_files": [
                p
                for p in files
                if p.split("/")[-1] in _MANIFESTS
                or p.startswith(".github/workflows/")
                or p.split("/")[-1].upper().startswith(("README", "LICENSE"))
            ],
            "recent_commits": commits,
        }
        await reply.data("summary", summary)
        langs = ", ".join(f"{k} {v}%" for k, v in summary["languages"].items()) or "unknown"
        lines = [
            f"## {info['full_name']}",
            f"{info.get('description') or '(no description)'}",
            "",
            f"- ★ {summary['stars']} · default branch `{info['default_branch']}` · "
            f"license {summary['license'] or 'none'}",
            f"- Languages: {langs}",
            f"- {summary['open_issues']} open issues, "
            f"{summary['open_pull_requests']} open pull requests",
            f"- {len(files)} files; top-level folders: "
            + (", ".join(f"`{d}/` ({n})" for d, n in top_dirs.most_common()) or "none"),
            f"- Key files: {', '.join(f'`{p}`' for p in summary['key_files']) or 'none'}",
            "",
            "**Recent activity**",
        ]
        lines += [f"- {c['date'][:10]} {c['message']} — {c['author']}" for c in commits]
        await reply.write("\n".join(lines))

    async def analyze_file(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        text, info = await gh.read_file(intent.repo or "", intent.path or "", ref=intent.ref)
        numbered = "\n".join(f"{n:4} {line}" for n, line in enumerate(text.splitlines(), start=1))
        outline = _outline(text)
        await reply.data(
            "file",
            {
                "repo": intent.repo,
                "path": info["path"],
                "lines": text.count("\n") + 1,
                "outline": outline,
            },
        )
        await reply.write(
            f"**{intent.repo}/{info['path']}**: {text.count(chr(10)) + 1} lines"
            + (f"; defines {', '.join(outline)}" if outline else "")
            + ".\n\n"
        )
        await self._review(
            f"File {info['path']} from {intent.repo}:\n\n{numbered[:_MAX_FILE_CHARS]}", reply
        )

    async def analyze_pr(self, gh: GitHub, intent: Intent, reply: Reply) -> None:
        pull = await gh.get(f"/repos/{intent.repo}/pulls/{intent.number}")
        files = await gh.get_all(f"/repos/{intent.repo}/pulls/{intent.number}/files", limit=100)
        await reply.data(
            "pull_request",
            {
                "number": pull["number"],
                "title": pull["title"],
                "author": pull["user"]["login"],
                "files": [
                    {
                        "path": f["filename"],
                        "status": f["status"],
                        "additions": f["additions"],
                        "deletions": f["deletions"],
                    }
                    for f in files
                ],
            },
        )
        lines = [
            f"**PR #{pull['number']}: {pull['title']}** by @{pull['user']['login']} "
            f"({pull['head']['ref']} → {pull['base']['ref']})",
            "",
        ]
        lines += [
            f"- `{f['filename']}` {f['status']} (+{f['additions']} -{f['deletions']})"
            for f in files
        ]
        await reply.write("\n".join(lines) + "\n\n")
        diff = "\n\n".join(
            f"--- {f['filename']}\n{f.get('patch', '(binary or too large)')}" for f in files
        )
        await self._review(
            f"Pull request: {pull['title']}\n{pull.get('body') or ''}\n\nDiff:\n{diff}", reply
        )

    async def _review(self, material: str, reply: Reply) -> None:
        if self.model is None:
            await reply.write(
                f"A code review needs a language model, and none is configured: {MODEL_HINT}."
            )
            return
        try:
            async for piece in self.model.stream(ANALYZE_PROMPT, material[:_MAX_FILE_CHARS]):
                await reply.write(piece)
        except ModelError as exc:
            raise AgentFailure(f"The model call failed: {exc}") from exc


def _repo_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "full_name": r["full_name"],
        "description": r.get("description"),
        "language": r.get("language"),
        "stars": r.get("stargazers_count", 0),
        "private": r.get("private", False),
        "url": r["html_url"],
        "pushed_at": r.get("pushed_at"),
    }


def _issue_row(i: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": i["number"],
        "title": i["title"],
        "state": i["state"],
        "author": i["user"]["login"],
        "labels": [label["name"] for label in i.get("labels", [])],
        "comments": i.get("comments", 0),
        "url": i["html_url"],
    }


def _commit_row(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "sha": c["sha"],
        "message": c["commit"]["message"].split("\n", 1)[0],
        "author": c["commit"]["author"]["name"],
        "date": c["commit"]["author"]["date"],
    }


def _outline(text: str) -> list[str]:
    """Top-level definitions, for the model-less part of an analysis."""
    found = re.findall(
        r"^(?:async\s+)?(?:def|class|func|function|fn|interface|type)\s+([A-Za-z_]\w*)", text, re.M
    )
    return found[:20]
