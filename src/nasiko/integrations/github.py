"""GitHub's OAuth web flow and REST API (base URLs are settings: github.com, GHE, or a fake)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx

from nasiko.errors import InvalidInput, Unauthenticated, Unavailable

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a GitHub ``Link`` header, if there is one."""
    match = _NEXT.search(header or "")
    return match.group(1) if match else None


class GitHubClient:
    def __init__(
        self,
        *,
        oauth_url: str,
        api_url: str,
        client_id: str | None,
        client_secret: str | None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.oauth_url = oauth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._http = http or httpx.AsyncClient(timeout=15)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str, scope: str) -> str:
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": scope,
                "allow_signup": "false",
            }
        )
        return f"{self.oauth_url}/login/oauth/authorize?{query}"

    async def exchange_code(self, code: str, *, redirect_uri: str) -> str:
        try:
            resp = await self._http.post(
                f"{self.oauth_url}/login/oauth/access_token",
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"GitHub did not answer at {self.oauth_url}: {exc}") from exc
        data = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        token = data.get("access_token")
        if resp.status_code != 200 or not token:
            reason = (
                data.get("error_description") or data.get("error") or f"HTTP {resp.status_code}"
            )
            raise Unauthenticated(f"GitHub refused the login: {reason}")
        return str(token)

    async def api(self, method: str, path: str, *, token: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        try:
            return await self._http.request(
                method, f"{self.api_url}{path}", headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"GitHub API did not answer at {self.api_url}: {exc}") from exc

    async def current_user(self, token: str) -> dict[str, Any]:
        resp = await self.api("GET", "/user", token=token)
        if resp.status_code == 401:
            raise Unauthenticated("GitHub rejected the token (401); log in to GitHub again")
        if resp.status_code != 200:
            raise Unavailable(f"GitHub /user answered HTTP {resp.status_code}")
        user: dict[str, Any] = resp.json()
        if not user.get("email"):
            emails = await self.api("GET", "/user/emails", token=token)
            if emails.status_code == 200:
                primary = [e for e in emails.json() if e.get("primary") and e.get("verified")]
                if primary:
                    user["email"] = primary[0]["email"]
        return user

    def clone_url(self, full_name: str) -> str:
        """``{web base}/{owner}/{repo}.git``: the web base is the OAuth URL (github.com, a GHE
        host, or in tests a ``file://`` folder of bare repositories)."""
        if not REPO_NAME.match(full_name) or ".." in full_name:
            raise InvalidInput(
                f"'{full_name}' is not OWNER/REPO", details=[{"field": "repository"}]
            )
        return f"{self.oauth_url}/{full_name}.git"

    async def token_user(self, token: str) -> dict[str, Any]:
        """``GET /user`` for a pasted token; a rejected token is the caller's input error."""
        resp = await self.api("GET", "/user", token=token)
        if resp.status_code in (401, 403):
            raise InvalidInput(
                "GitHub rejected the token; create a personal access token with the 'repo' "
                "scope and try again",
                code="github_token_rejected",
                details=[{"field": "token"}],
            )
        if resp.status_code != 200:
            raise Unavailable(f"GitHub /user answered HTTP {resp.status_code}")
        user: dict[str, Any] = resp.json()
        return user

    async def paginate(
        self, path: str, *, token: str, params: dict[str, Any] | None = None, max_pages: int = 20
    ) -> list[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"`` up to `max_pages`."""
        items: list[Any] = []
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        for _ in range(max_pages):
            if url is None:
                break
            if url.startswith(self.api_url):
                url = url[len(self.api_url) :]
            resp = await self.api("GET", url, token=token, params=query)
            if resp.status_code in (401, 403):
                message = resp.json().get("message", "") if resp.content else ""
                raise InvalidInput(
                    f"GitHub refused the request ({resp.status_code} {message}); "
                    "connect again with nasiko github login",
                    code="github_token_rejected",
                )
            if resp.status_code != 200:
                raise Unavailable(f"GitHub {path} answered HTTP {resp.status_code}")
            page = resp.json()
            items.extend(page["items"] if isinstance(page, dict) else page)
            url, query = next_link(resp.headers.get("link")), None  # next URL carries its query
        return items

    async def close(self) -> None:
        await self._http.aclose()
