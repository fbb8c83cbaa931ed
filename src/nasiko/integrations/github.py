"""GitHub's OAuth web flow and REST API (base URLs are settings: github.com, GHE, or a fake)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from nasiko.errors import Unauthenticated, Unavailable


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

    async def close(self) -> None:
        await self._http.aclose()
