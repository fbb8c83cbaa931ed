"""A fake GitHub REST API server with realistic payloads, for testing GitHub clients.

A real HTTP server on a loopback port (daemon thread). It serves a small in-memory world and
behaves like api.github.com where clients notice:

- ``GET /user``, ``/user/repos`` and ``/users/{u}/repos`` (paginated with ``Link`` headers,
  ``per_page``/``page``), ``/repos/{o}/{r}``, ``/repos/{o}/{r}/languages``,
  ``/repos/{o}/{r}/issues`` (pull requests included, marked by a ``pull_request`` key, as on
  GitHub), ``/repos/{o}/{r}/pulls``, ``/pulls/{n}``, ``/pulls/{n}/files``,
  ``/repos/{o}/{r}/commits``, ``/repos/{o}/{r}/contents/{path}`` (base64 files, directory
  arrays), ``/repos/{o}/{r}/git/trees/{ref}?recursive=1``, ``/search/code?q=… repo:o/r``,
  ``/rate_limit``;
- ``401 Bad credentials`` for a wrong token, ``401 Requires authentication`` for ``/user*``
  without one; ``403`` with ``X-RateLimit-Remaining: 0`` once ``rate_limit_remaining`` hits 0
  (or ``429`` when ``rate_limit_status`` is set to 429); ``404 Not Found`` for unknown paths.

    with FakeGitHub(token="ghp_test") as gh:
        env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": "ghp_test"}
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from nasiko.testing.fake_llm import BackgroundHTTPServer, JSONHandler

OWNER = "octo-dev"
_T0 = "2024-03-01T09:00:00Z"

AURORA_FILES: dict[str, str] = {
    "README.md": "# Aurora\n\nControl software for the Aurora water pump.\n\n"
    "Run `pip install aurora-pump` and then `aurora run`.\n",
    "LICENSE": "Apache License\nVersion 2.0, January 2004\n",
    "pyproject.toml": '[project]\nname = "aurora-pump"\nversion = "1.4.0"\n'
    'dependencies = ["httpx>=0.27", "pydantic>=2"]\n',
    ".github/workflows/ci.yml": "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: actions/checkout@v4\n      - run: pytest\n",
    "src/aurora/__init__.py": '"""Aurora pump control."""\n\n__version__ = "1.4.0"\n',
    "src/aurora/pump.py": "import time\n\n\nclass Pump:\n"
    '    """Drive the pump motor."""\n\n'
    "    def __init__(self, max_rpm: int = 3000) -> None:\n        self.max_rpm = max_rpm\n"
    "        self.rpm = 0\n\n"
    "    def set_speed(self, rpm):\n        # TODO: validate the range\n        self.rpm = rpm\n\n"
    "    def prime(self, seconds: float = 2.0) -> None:\n        time.sleep(seconds)\n\n\n"
    "def flow_rate(rpm: int) -> float:\n    return rpm * 0.0133\n",
    "src/aurora/cli.py": "import argparse\n\nfrom .pump import Pump\n\n\ndef main() -> None:\n"
    "    parser = argparse.ArgumentParser()\n    parser.add_argument('--rpm', type=int)\n"
    "    Pump().set_speed(parser.parse_args().rpm)\n",
    "tests/test_pump.py": "from aurora.pump import Pump, flow_rate\n\n\ndef test_flow_rate():\n"
    "    assert flow_rate(3000) == 39.9\n",
    "docs/maintenance.md": "# Maintenance\n\nReplace the seal every 18 months.\n",
}


def _user(login: str, uid: int) -> dict[str, Any]:
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "type": "User",
        "site_admin": False,
        "avatar_url": f"https://avatars.example/u/{uid}",
        "html_url": f"https://github.com/{login}",
        "url": f"/users/{login}",
    }


@dataclass
class Repo:
    name: str
    description: str
    language: str | None
    files: dict[str, str] = field(default_factory=dict)
    stars: int = 0
    private: bool = False
    issues: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)
    pushed_at: str = _T0

    def payload(self, owner: str, rid: int) -> dict[str, Any]:
        full = f"{owner}/{self.name}"
        return {
            "id": rid,
            "node_id": f"R_{rid}",
            "name": self.name,
            "full_name": full,
            "private": self.private,
            "owner": _user(owner, 1),
            "description": self.description,
            "fork": False,
            "html_url": f"https://github.com/{full}",
            "url": f"/repos/{full}",
            "language": self.language,
            "stargazers_count": self.stars,
            "watchers_count": self.stars,
            "forks_count": self.stars // 10,
            "open_issues_count": sum(1 for i in self.issues if i["state"] == "open"),
            "default_branch": "main",
            "topics": [],
            "visibility": "private" if self.private else "public",
            "created_at": "2022-01-10T08:00:00Z",
            "updated_at": self.pushed_at,
            "pushed_at": self.pushed_at,
            "size": sum(len(v) for v in self.files.values()) // 1024,
            "license": {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"}
            if "LICENSE" in self.files
            else None,
        }


def _issue(
    owner: str,
    repo: str,
    number: int,
    title: str,
    *,
    state: str = "open",
    labels: tuple[str, ...] = (),
    author: str = "river",
    pr: bool = False,
    body: str = "",
    comments: int = 0,
) -> dict[str, Any]:
    full = f"{owner}/{repo}"
    item: dict[str, Any] = {
        "id": 1000 + number,
        "node_id": f"I_{number}",
        "number": number,
        "title": title,
        "state": state,
        "user": _user(author, 7),
        "body": body,
        "comments": comments,
        "labels": [{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(labels)],
        "html_url": f"https://github.com/{full}/{'pull' if pr else 'issues'}/{number}",
        "url": f"/repos/{full}/issues/{number}",
        "created_at": f"2024-02-{10 + number:02d}T12:00:00Z",
        "updated_at": f"2024-02-{12 + number:02d}T12:00:00Z",
        "closed_at": None,
        "assignees": [],
        "locked": False,
    }
    if pr:
        item["pull_request"] = {
            "url": f"/repos/{full}/pulls/{number}",
            "html_url": f"https://github.com/{full}/pull/{number}",
        }
    return item


def default_world() -> dict[str, Repo]:
    aurora = Repo(
        "aurora",
        "Control software for the Aurora water pump",
        "Python",
        files=dict(AURORA_FILES),
        stars=128,
        languages={"Python": 48210, "Shell": 1210, "Dockerfile": 410},
        pushed_at="2024-03-04T16:20:00Z",
    )
    aurora.issues = [
        _issue(
            OWNER,
            "aurora",
            41,
            "Pump stalls below 500 rpm",
            labels=("bug",),
            comments=3,
            body="Setting 400 rpm stops the motor.",
        ),
        _issue(OWNER, "aurora", 42, "Add dry-run protection", labels=("enhancement",)),
        _issue(OWNER, "aurora", 40, "Crash on Windows paths", state="closed", labels=("bug",)),
        _issue(OWNER, "aurora", 43, "Validate speed range in set_speed", pr=True, author="kit"),
    ]
    pr_patch = (
        "@@ -12,5 +12,7 @@ class Pump:\n     def set_speed(self, rpm):\n"
        "-        # TODO: validate the range\n+        if not 0 <= rpm <= self.max_rpm:\n"
        '+            raise ValueError(f"rpm out of range: {rpm}")\n         self.rpm = rpm\n'
    )
    aurora.pulls = [
        {
            "id": 5043,
            "number": 43,
            "state": "open",
            "title": "Validate speed range in set_speed",
            "user": _user("kit", 9),
            "body": "Fixes #41 partly: reject speeds above max_rpm.",
            "html_url": f"https://github.com/{OWNER}/aurora/pull/43",
            "draft": False,
            "created_at": "2024-03-02T10:00:00Z",
            "updated_at": "2024-03-03T10:00:00Z",
            "head": {"ref": "validate-speed", "sha": "a1b2c3d"},
            "base": {"ref": "main", "sha": "9f8e7d6"},
            "additions": 2,
            "deletions": 1,
            "changed_files": 1,
            "mergeable": True,
            "_files": [
                {
                    "sha": "c0ffee",
                    "filename": "src/aurora/pump.py",
                    "status": "modified",
                    "additions": 2,
                    "deletions": 1,
                    "changes": 3,
                    "patch": pr_patch,
                }
            ],
        }
    ]
    aurora.commits = [
        {
            "sha": f"{i:040x}",
            "commit": {
                "author": {"name": name, "email": f"{name.lower()}@example.org", "date": date},
                "committer": {"name": name, "email": f"{name.lower()}@example.org", "date": date},
                "message": msg,
            },
            "author": _user(name.lower(), 20 + i),
            "html_url": f"https://github.com/{OWNER}/aurora/commit/{i:040x}",
        }
        for i, (name, date, msg) in enumerate(
            [
                ("River", "2024-03-04T16:20:00Z", "Add prime() to warm up the pump\n\nLong body."),
                ("Kit", "2024-03-02T09:15:00Z", "CI: run tests on push"),
                ("River", "2024-02-27T11:00:00Z", "Fix flow-rate constant"),
                ("Sam", "2024-02-20T08:30:00Z", "Document seal maintenance"),
                ("River", "2024-02-12T14:45:00Z", "Initial import"),
            ],
            start=1,
        )
    ]
    world = {"aurora": aurora}
    world["website"] = Repo(
        "website",
        "Marketing site",
        "TypeScript",
        files={"index.ts": "export const x = 1;\n"},
        stars=12,
    )
    world["secret-plans"] = Repo(
        "secret-plans", "Private roadmap", None, files={"plan.md": "# Plans\n"}, private=True
    )
    for i in range(1, 33):  # enough repositories to need a second page of 30
        world[f"sandbox-{i:02d}"] = Repo(
            f"sandbox-{i:02d}", f"Experiment {i}", "Go", pushed_at=f"2023-0{1 + i % 9}-01T00:00:00Z"
        )
    return world


class _GitHubHandler(JSONHandler):
    @property
    def fake(self) -> FakeGitHub:
        return self.server.owner  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.fake.requests.append((parts.path, dict(query), dict(self.headers.items())))
        if not self._allowed(parts.path):
            return
        self.fake.rate_limit_remaining -= 1
        try:
            status, payload, headers = self.fake.route(parts.path, query)
        except LookupError:
            status, payload, headers = (
                404,
                {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
                {},
            )
        headers.update(self._rate_headers())
        self.send_json(status, payload, headers)

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(self.fake.rate_limit_remaining, 0)),
            "X-RateLimit-Reset": str(self.fake.rate_limit_reset),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3",
        }

    def _allowed(self, path: str) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        if token and token != self.fake.token:
            self.send_json(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
            return False
        if not token and path.startswith("/user"):
            self.send_json(
                401,
                {
                    "message": "Requires authentication",
                    "documentation_url": "https://docs.github.com/rest",
                },
            )
            return False
        if self.fake.rate_limit_remaining <= 0:
            status = self.fake.rate_limit_status
            message = (
                "API rate limit exceeded for user ID 1. If you reach out to GitHub "
                "Support for help, please include the request ID."
            )
            headers = self._rate_headers()
            if status == 429:
                headers["Retry-After"] = "60"
            self.send_json(
                status,
                {
                    "message": message,
                    "documentation_url": "https://docs.github.com/rest/rate-limit",
                },
                headers,
            )
            return False
        return True


class FakeGitHub(BackgroundHTTPServer):
    """The fake API. ``token``: the one valid token (None accepts any and none)."""

    def __init__(
        self, token: str | None = "ghp_fake_token_for_tests", *, owner: str = OWNER
    ) -> None:
        super().__init__(_GitHubHandler)
        self.token = token
        self.owner = owner
        self.repos = default_world()
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.rate_limit_remaining = 5000
        self.rate_limit_status = 403
        self.rate_limit_reset = int(time.time()) + 1800
        self.max_per_page = 100  # GitHub's cap; lower it to make clients follow Link headers

    def env(self) -> dict[str, str]:
        env = {"GITHUB_API_URL": self.url}
        if self.token:
            env["GITHUB_TOKEN"] = self.token
        return env

    # --- routing --------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if path == "/user":
            return 200, _user(self.owner, 1), {}
        if path == "/rate_limit":
            core = {
                "limit": 5000,
                "remaining": self.rate_limit_remaining,
                "reset": self.rate_limit_reset,
            }
            return 200, {"resources": {"core": core}, "rate": core}, {}
        if path in ("/user/repos", f"/users/{self.owner}/repos"):
            visible = [r for r in self.repos.values() if path == "/user/repos" or not r.private]
            ordered = sorted(visible, key=lambda r: r.pushed_at, reverse=True)
            items = [r.payload(self.owner, 100 + i) for i, r in enumerate(ordered)]
            return self._page(path, query, items)
        if path == "/search/code":
            return 200, self._search(query.get("q", "")), {}
        m = re.match(rf"^/repos/{re.escape(self.owner)}/(?P<repo>[^/]+)(?P<rest>/.*)?$", path)
        if not m or m["repo"] not in self.repos:
            raise LookupError(path)
        repo, rest = self.repos[m["repo"]], m["rest"] or ""
        if repo.private and not self.token:
            raise LookupError(path)
        return self._repo_route(repo, rest, query)

    def _repo_route(
        self, repo: Repo, rest: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        base = f"/repos/{self.owner}/{repo.name}"
        if rest == "":
            return 200, repo.payload(self.owner, 100), {}
        if rest == "/languages":
            return 200, repo.languages, {}
        if rest == "/issues":
            state = query.get("state", "open")
            items = [i for i in repo.issues if state == "all" or i["state"] == state]
            return self._page(base + rest, query, sorted(items, key=lambda i: -i["number"]))
        if rest == "/pulls":
            state = query.get("state", "open")
            items = [_public(p) for p in repo.pulls if state == "all" or p["state"] == state]
            return self._page(base + rest, query, items)
        if m := re.fullmatch(r"/pulls/(\d+)(/files)?", rest):
            pull = next((p for p in repo.pulls if p["number"] == int(m[1])), None)
            if pull is None:
                raise LookupError(rest)
            return 200, (pull["_files"] if m[2] else _public(pull)), {}
        if rest == "/commits":
            return self._page(base + rest, query, repo.commits)
        if m := re.fullmatch(r"/git/trees/([^/]+)", rest):
            tree = [
                {
                    "path": p,
                    "mode": "100644",
                    "type": "blob",
                    "sha": f"{abs(hash(p)):040x}"[:40],
                    "size": len(c),
                }
                for p, c in sorted(repo.files.items())
            ]
            dirs = sorted(
                {"/".join(p.split("/")[:i]) for p in repo.files for i in range(1, p.count("/") + 1)}
            )
            tree += [{"path": d, "mode": "040000", "type": "tree", "sha": "0" * 40} for d in dirs]
            return (
                200,
                {"sha": m[1], "tree": sorted(tree, key=lambda e: e["path"]), "truncated": False},
                {},
            )
        if m := re.fullmatch(r"/contents(?:/(.*))?", rest):
            return 200, self._contents(repo, (m[1] or "").strip("/")), {}
        raise LookupError(rest)

    def _contents(self, repo: Repo, path: str) -> Any:
        full = f"{self.owner}/{repo.name}"
        if path in repo.files:
            raw = repo.files[path].encode()
            encoded = base64.encodebytes(raw).decode()  # GitHub wraps base64 at 60-76 chars too
            return {
                "type": "file",
                "encoding": "base64",
                "size": len(raw),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": encoded,
                "sha": f"{abs(hash(path)):040x}"[:40],
                "html_url": f"https://github.com/{full}/blob/main/{path}",
                "download_url": f"https://raw.example/{full}/main/{path}",
            }
        prefix = f"{path}/" if path else ""
        children = sorted(
            {p[len(prefix) :].split("/")[0] for p in repo.files if p.startswith(prefix)}
        )
        if not children:
            raise LookupError(path)
        return [
            {
                "type": "file" if f"{prefix}{c}" in repo.files else "dir",
                "name": c,
                "path": f"{prefix}{c}",
                "size": len(repo.files.get(f"{prefix}{c}", "")),
            }
            for c in children
        ]

    def _search(self, q: str) -> dict[str, Any]:
        scope = re.search(r"\brepo:(\S+)", q)
        terms = [t for t in q.split() if ":" not in t]
        items = []
        for name, repo in self.repos.items():
            if scope and scope[1] != f"{self.owner}/{name}":
                continue
            for path, text in sorted(repo.files.items()):
                if terms and all(t.lower() in text.lower() for t in terms):
                    items.append(
                        {
                            "name": path.rsplit("/", 1)[-1],
                            "path": path,
                            "sha": "0" * 40,
                            "html_url": f"https://github.com/{self.owner}/{name}/blob/main/{path}",
                            "repository": repo.payload(self.owner, 100),
                            "score": 1.0,
                        }
                    )
        return {"total_count": len(items), "incomplete_results": False, "items": items}

    def _page(
        self, path: str, query: dict[str, str], items: list[Any]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), self.max_per_page)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def link(p: int, rel: str) -> str:
            params = urlencode({**query, "page": p, "per_page": per_page})
            return f'<{self.url}{path}?{params}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page : page * per_page], headers


def _public(pull: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pull.items() if not k.startswith("_")}


# --- git repositories behind the fake -----------------------------------------------------
# The fake's clone URLs are `{oauth_url}/{owner}/{repo}.git`. Point the GitHub web base
# (settings.github.oauth_url) at `file://<root>` and keep bare repositories at
# `<root>/<owner>/<repo>.git`: git clones them over file:// like it would from github.com.


def make_git_repo(
    root: Any, full_name: str, files_from: Any, *, subdir: str = "", branch: str = "main"
) -> Any:
    """A bare repository at ``root/OWNER/REPO.git`` holding a copy of `files_from` (under
    `subdir` when given), one commit on `branch`. Returns the bare repository's path."""
    import shutil
    import subprocess
    from pathlib import Path

    bare = Path(root) / f"{full_name}.git"
    work = Path(root) / "_work" / full_name
    shutil.copytree(Path(files_from), work / subdir if subdir else work, dirs_exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", branch], cwd=work, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(bare)], cwd=work, check=True)
    commit_all(work, "initial import", branch=branch)
    return bare


def commit_all(work: Any, message: str, *, branch: str = "main") -> str:
    """Commit everything in the working copy and push it; returns the new commit id."""
    import subprocess

    ident = ["-c", "user.email=dev@example.org", "-c", "user.name=Dev"]
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    subprocess.run(["git", *ident, "commit", "-qm", message], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", branch], cwd=work, check=True)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()
