"""A small GitHub REST client: the calls this agent needs, pagination and readable errors."""

from __future__ import annotations

import base64
import os
import re
import time
from typing import Any

import httpx

DEFAULT_API_URL = "https://api.github.com"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(Exception):
    """A GitHub call failed; the message explains why and what to do about it."""


def api_url() -> str:
    return os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")


class GitHub:
    def __init__(
        self, *, token: str | None, base_url: str | None = None, timeout: float = 20
    ) -> None:
        self.token = token
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "nasiko-github-agent",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=base_url or api_url(), headers=headers, timeout=timeout
        )

    async def __aenter__(self) -> GitHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        return (await self._request(path, params)).json()

    async def get_all(self, path: str, *, limit: int = 100, **params: Any) -> list[Any]:
        """Follow ``Link: rel="next"`` until ``limit`` items are collected."""
        params.setdefault("per_page", min(limit, 100))
        items: list[Any] = []
        url: str | None = path
        while url and len(items) < limit:
            resp = await self._request(url, params)
            items.extend(resp.json())
            found = _NEXT.search(resp.headers.get("Link", ""))
            url, params = (found.group(1), {}) if found else (None, {})
        return items[:limit]

    async def _request(self, url: str, params: dict[str, Any]) -> httpx.Response:
        try:
            # An empty params mapping would wipe the query of a Link URL, so pass None then.
            resp = await self._http.get(url, params=params or None)
        except httpx.HTTPError as exc:
            raise GitHubError(f"Could not reach GitHub at {self._http.base_url}: {exc}") from exc
        if resp.status_code < 400:
            return resp
        raise GitHubError(self._explain(resp))

    def _explain(self, resp: httpx.Response) -> str:
        try:
            message = resp.json().get("message", "")
        except ValueError:
            message = resp.text[:200]
        status = resp.status_code
        if status in (403, 429) and (
            resp.headers.get("X-RateLimit-Remaining") == "0" or status == 429
        ):
            reset = resp.headers.get("X-RateLimit-Reset")
            wait = ""
            if reset and reset.isdigit():
                minutes = max(0, round((int(reset) - time.time()) / 60))
                when = time.strftime("%H:%M UTC", time.gmtime(int(reset)))
                wait = f" It resets at {when} (in about {minutes} min)."
            elif resp.headers.get("Retry-After"):
                wait = f" Retry after {resp.headers['Retry-After']} seconds."
            advice = ""
            if not self.token:
                advice = (
                    " Unauthenticated requests get only 60 per hour; set GITHUB_TOKEN or connect "
                    "a GitHub credential to get 5,000."
                )
            return f"GitHub's API rate limit is used up (HTTP {status}: {message}).{wait}{advice}"
        if status == 401:
            if self.token:
                return (
                    f"GitHub rejected the token (HTTP 401: {message}). It may be expired or "
                    "revoked; update GITHUB_TOKEN or the GitHub credential stored in Nasiko."
                )
            return (
                f"GitHub requires authentication for this (HTTP 401: {message}). Set "
                "GITHUB_TOKEN or pass a token in the message metadata key 'github_token'."
            )
        if status == 403:
            return f"GitHub refused access (HTTP 403: {message}). The token may lack a scope."
        if status == 404:
            return (
                f"Not found on GitHub: {resp.request.url.path}. Check the owner, repository and "
                "path; private repositories also look like this when the token cannot see them."
            )
        return f"GitHub returned HTTP {status} for {resp.request.url.path}: {message}"

    # --- the calls the agent uses ---------------------------------------------------------

    async def repos(self, owner: str | None, *, limit: int = 100) -> list[dict[str, Any]]:
        if owner:
            return await self.get_all(f"/users/{owner}/repos", limit=limit, sort="pushed")
        return await self.get_all("/user/repos", limit=limit, sort="pushed")

    async def issues(
        self, repo: str, *, state: str = "open", limit: int = 30
    ) -> list[dict[str, Any]]:
        items = await self.get_all(f"/repos/{repo}/issues", limit=limit, state=state)
        return [i for i in items if "pull_request" not in i]  # the issues API includes PRs

    async def pulls(
        self, repo: str, *, state: str = "open", limit: int = 30
    ) -> list[dict[str, Any]]:
        return await self.get_all(f"/repos/{repo}/pulls", limit=limit, state=state)

    async def read_file(
        self, repo: str, path: str, *, ref: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        params = {"ref": ref} if ref else {}
        info = await self.get(f"/repos/{repo}/contents/{path.lstrip('/')}", **params)
        if isinstance(info, list):
            raise GitHubError(f"{path} is a directory in {repo}; ask to list it or name a file.")
        if info.get("encoding") != "base64":
            raise GitHubError(f"{path} in {repo} is too large for the contents API.")
        raw = base64.b64decode(info.get("content", ""))
        try:
            return raw.decode("utf-8"), info
        except UnicodeDecodeError as exc:
            raise GitHubError(f"{path} in {repo} is a binary file ({len(raw)} bytes).") from exc
