"""Round-robin over an agent's replicas with passive health checks.

No probes: an endpoint that refuses a connection, resets it, or times out is taken out of
rotation for ``cooldown`` seconds. When every endpoint is cooling down the one that comes
back first is tried anyway, so an agent that restarted is found without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

__all__ = ["Balancer"]


class Balancer:
    def __init__(self, *, cooldown: float) -> None:
        self.cooldown = cooldown
        self._next: dict[str, int] = {}
        self._down_until: dict[str, float] = {}

    def order(self, key: str, endpoints: Sequence[str]) -> list[str]:
        """Endpoints to try for one call, best first."""
        n = len(endpoints)
        if n == 1 and not self._down_until:
            return [endpoints[0]]
        start = self._next.get(key, 0) % n if n else 0
        self._next[key] = start + 1
        rotated = [endpoints[(start + i) % n] for i in range(n)]
        if not self._down_until:
            return rotated
        now = time.monotonic()
        healthy = [e for e in rotated if self._down_until.get(e, 0.0) <= now]
        cooling = sorted(
            (e for e in rotated if self._down_until.get(e, 0.0) > now),
            key=lambda e: self._down_until[e],
        )
        return healthy + cooling

    def failed(self, endpoint: str) -> None:
        self._down_until[endpoint] = time.monotonic() + self.cooldown

    def succeeded(self, endpoint: str) -> None:
        if self._down_until:
            self._down_until.pop(endpoint, None)

    def down(self) -> list[str]:
        now = time.monotonic()
        return [e for e, until in self._down_until.items() if until > now]
