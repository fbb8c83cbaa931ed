"""Who is calling and may they: cached authentication and token-bucket rate limits.

Authentication results are kept in-process for at most ``ttl`` seconds (default 1 s),
keyed by a BLAKE2 digest of the credential, so a busy caller costs one database lookup
per second instead of one per request. Revocation takes effect:

* at once, on every replica, when an event arrives on topic ``"auth"`` (any kind:
  ``token.revoked``, ``session.ended``, ``user.deactivated``…): the cache is cleared;
* at the latest after ``ttl`` seconds otherwise.

Failed authentications are never cached.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from nasiko.core.models import Principal
from nasiko.core.ports import Event, RateLimiter
from nasiko.errors import RateLimited, Unauthenticated

__all__ = ["AuthCache", "Limits"]


class AuthCache:
    def __init__(self, auth: Any, *, ttl: float = 1.0, max_entries: int = 100_000) -> None:
        self._auth = auth
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self.hits = 0
        self.misses = 0

    async def authenticate(self, authorization: bytes | None) -> Principal:
        if not authorization:
            raise Unauthenticated(
                "send 'Authorization: Bearer <token>' (a login token, an nsk_ API token "
                "or an nsa_ agent token)"
            )
        scheme, _, token = authorization.partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        key = hashlib.blake2b(token, digest_size=16).digest()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            self.hits += 1
            return entry[0]
        self.misses += 1
        principal: Principal = await self._auth.authenticate(token.decode("latin-1"))
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (principal, time.monotonic() + self.ttl)
        return principal

    def clear(self) -> None:
        self._entries.clear()

    async def on_event(self, _event: Event) -> None:
        self.clear()


class Limits:
    """Per-caller and per-agent token buckets on the platform's rate limiter.

    The in-memory limiter's synchronous ``hit_now`` is used when present (embedded mode:
    no await, no task switch); the Redis limiter is shared by every gateway replica.
    """

    def __init__(
        self, limiter: RateLimiter, *, caller_rate: float, caller_burst: int, agent_rate: float
    ) -> None:
        self._limiter = limiter
        self._now = getattr(limiter, "hit_now", None)
        self.caller_rate = caller_rate
        self.caller_burst = caller_burst
        self.agent_rate = agent_rate

    @staticmethod
    def agent_burst(rate: float, caller_burst: int) -> int:
        return max(caller_burst, int(rate))

    async def check(self, principal: Principal, agent_id: str, agent_rate: float | None) -> None:
        rate = agent_rate or self.agent_rate
        burst = self.agent_burst(rate, self.caller_burst)
        caller_key = f"gw:c:{principal.kind}:{principal.id}"
        agent_key = f"gw:a:{agent_id}"
        hit = self._now
        if hit is not None:
            wait = hit(caller_key, rate=self.caller_rate, burst=self.caller_burst)
            if not wait:
                wait = hit(agent_key, rate=rate, burst=burst)
        else:
            wait = await self._limiter.hit(
                caller_key, rate=self.caller_rate, burst=self.caller_burst
            )
            if not wait:
                wait = await self._limiter.hit(agent_key, rate=rate, burst=burst)
        if wait:
            raise RateLimited(
                "too many requests; slow down and retry after the time in Retry-After",
                retry_after=wait,
            )
