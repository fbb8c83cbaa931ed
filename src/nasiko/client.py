"""Typed HTTP client for Nasiko's REST API, used by the CLI, tests and scripts.

Errors come back as :class:`ApiError` carrying the API's error code and message. With a
refresh token, an expired access token is renewed once, transparently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

API = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class PlatformUnreachable(Exception):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach Nasiko at {url} ({reason})")
        self.url = url
        self.reason = reason


@dataclass
class Tokens:
    access_token: str | None = None
    refresh_token: str | None = None


def _url(path: str) -> str:
    return path if path.startswith(("/api/", "/healthz", "/readyz")) else API + path


def _raise_for(resp: httpx.Response) -> None:
    if resp.is_success:
        return
    try:
        err = resp.json()["error"]
        raise ApiError(
            resp.status_code, err.get("code", "error"), err.get("message", ""), err.get("details")
        )
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            resp.status_code, "http_error", f"HTTP {resp.status_code}: {resp.text[:200]}"
        ) from None


class NasikoClient:
    def __init__(
        self,
        base_url: str,
        *,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens or Tokens()
        self.on_tokens = on_tokens
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NasikoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        if self.tokens.access_token:
            return {"Authorization": f"Bearer {self.tokens.access_token}"}
        return {}

    def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        url = _url(path)
        headers = {**(self._headers() if auth else {}), **kwargs.pop("headers", {})}
        try:
            resp = self._http.request(method, url, headers=headers, **kwargs)
            if (
                resp.status_code == 401
                and auth
                and self.tokens.refresh_token
                and self._try_refresh()
            ):
                headers.update(self._headers())
                resp = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise PlatformUnreachable(self.base_url, type(exc).__name__) from exc
        _raise_for(resp)
        return resp

    def _try_refresh(self) -> bool:
        resp = self._http.post(
            f"{API}/auth/refresh", json={"refresh_token": self.tokens.refresh_token}
        )
        if not resp.is_success:
            return False
        data = resp.json()
        self.tokens = Tokens(data["access_token"], data["refresh_token"])
        if self.on_tokens:
            self.on_tokens(self.tokens)
        return True

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, **kw: Any) -> Any:
        resp = self.request("POST", path, **kw)
        return resp.json() if resp.content else None

    def patch(self, path: str, **kw: Any) -> Any:
        resp = self.request("PATCH", path, **kw)
        return resp.json() if resp.content else None

    def delete(self, path: str, **kw: Any) -> None:
        self.request("DELETE", path, **kw)

    def stream_lines(self, method: str, path: str, **kw: Any) -> Iterator[str]:
        """Yields the lines of a streamed response (for Server-Sent Events)."""
        url = _url(path)
        headers = {**self._headers(), **kw.pop("headers", {})}
        try:
            with self._http.stream(method, url, headers=headers, timeout=None, **kw) as resp:
                if not resp.is_success:
                    resp.read()
                    _raise_for(resp)
                yield from resp.iter_lines()
        except httpx.TransportError as exc:
            raise PlatformUnreachable(self.base_url, type(exc).__name__) from exc

    # -------------------------------------------------------------- typed helpers

    def login(self, username: str, password: str) -> Tokens:
        data = self.post(
            "/auth/login", json={"username": username, "password": password}, auth=False
        )
        self.tokens = Tokens(data["access_token"], data["refresh_token"])
        return self.tokens

    def github_authorize_url(self, redirect: str) -> str:
        """Where the browser must go to log in with GitHub (the platform checks it first)."""
        try:
            resp = self._http.get(f"{API}/auth/github/login", params={"redirect": redirect})
        except httpx.TransportError as exc:
            raise PlatformUnreachable(self.base_url, type(exc).__name__) from exc
        if resp.status_code in (302, 303, 307):
            return str(resp.headers["location"])
        _raise_for(resp)
        raise ApiError(resp.status_code, "http_error", "the platform did not redirect to GitHub")

    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/users/me")
        return result


def iter_sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Parses Server-Sent Events into (event, data) pairs."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield event, "\n".join(data)
