"""Fetch an agent's card over HTTP, trying the v1.0 location first and then the v0.3 one."""

from __future__ import annotations

import json
from typing import Any

import httpx

from nasiko.a2a.cards import DEFAULT_CARD_LIMIT, normalize_card
from nasiko.errors import PayloadTooLarge, Unavailable, UpstreamTimeout

__all__ = ["CARD_PATHS", "card_urls", "fetch_card"]

CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")


def card_urls(base_url: str) -> list[str]:
    """The URLs `fetch_card` tries, in order (a URL ending in ``.json`` is taken as is)."""
    base = base_url.rstrip("/")
    if base.endswith(".json"):
        return [base]
    return [base + path for path in CARD_PATHS]


class _Miss(Exception):
    def __init__(self, url: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.timed_out = timed_out


async def _get(client: httpx.AsyncClient, url: str, timeout: float, limit: int) -> Any:  # noqa: ASYNC109
    try:
        async with client.stream(
            "GET", url, timeout=timeout, headers={"Accept": "application/json"}
        ) as response:
            if response.status_code != 200:
                raise _Miss(url, f"HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise PayloadTooLarge(
                    f"agent card at {url} is {declared} bytes; the limit is {limit} bytes",
                    details={"url": url, "size": int(declared), "limit": limit},
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise PayloadTooLarge(
                        f"agent card at {url} is larger than the limit of {limit} bytes",
                        details={"url": url, "limit": limit},
                    )
    except httpx.TimeoutException as exc:
        raise _Miss(
            url, f"timed out after {timeout}s ({type(exc).__name__})", timed_out=True
        ) from exc
    except httpx.HTTPError as exc:
        raise _Miss(
            url, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ) from exc
    try:
        return json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Miss(url, f"answered 200 but the body is not JSON ({exc})") from exc


async def fetch_card(
    base_url: str,
    *,
    client: httpx.AsyncClient,
    timeout: float = 5,  # noqa: ASYNC109 - per-request httpx timeout, as the API promises
    limit: int = DEFAULT_CARD_LIMIT,
) -> tuple[dict[str, Any], str]:
    """GET the agent's card and return ``(canonical card, URL it came from)``.

    Tries ``{base}/.well-known/agent-card.json`` (v1.0), then ``{base}/.well-known/agent.json``
    (v0.3). Raises `InvalidCard` when a location answers with JSON that is not a valid card
    (the agent did publish it, so falling back would hide the problem), `PayloadTooLarge`
    past `limit`, `UpstreamTimeout` when every attempt timed out, else `Unavailable` listing
    what happened at each URL.
    """
    misses: list[_Miss] = []
    for url in card_urls(base_url):
        try:
            doc = await _get(client, url, timeout, limit)
        except _Miss as miss:
            misses.append(miss)
            continue
        return normalize_card(doc, limit=limit, require_interface=True), url
    summary = "; ".join(f"{m.url}: {m.reason}" for m in misses)
    details = [{"url": m.url, "error": m.reason} for m in misses]
    if all(m.timed_out for m in misses):
        raise UpstreamTimeout(
            f"no agent card: every location timed out ({summary})", details=details
        )
    raise Unavailable(f"no agent card found at {base_url} ({summary})", details=details)
