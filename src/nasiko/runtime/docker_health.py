"""Waiting for a started agent container to answer, and explaining why it does not.

An agent is healthy once it serves its card (``/.well-known/agent-card.json`` or the v0.3
``agent.json``) through the published port. When it does not, the container's
``/proc/net/tcp{,6}`` tells whether it listens elsewhere (``Moved``: publish that port instead)
or only on its own loopback (a ``BuildFailed`` that says so).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

from nasiko.errors import BuildFailed
from nasiko.runtime import docker_engine as engine
from nasiko.runtime.docker_engine import LABEL_SLUG
from nasiko.runtime.docker_probe import PROC_FILES, parse_proc_net_tcp

if TYPE_CHECKING:
    from docker.models.containers import Container

CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
ENGINE_DNS = "127.0.0.11"


class Moved(Exception):
    """The agent listens on another port than the one it was given."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.port = port


async def wait_loop(
    container: Container, port: int, deadline: float, *, may_move: bool, timeout_label: float
) -> None:
    """Until the agent answers a card path; raises BuildFailed, or Moved(port) when may_move."""
    started = time.monotonic()
    probed = False
    async with httpx.AsyncClient(timeout=3.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            await asyncio.to_thread(container.reload)
            state = container.attrs["State"]
            if (
                state["Status"] in ("exited", "dead")
                or state.get("Restarting")
                or int(container.attrs.get("RestartCount", 0))
            ):
                raise await start_failure(container, f"exited with code {state.get('ExitCode')}")
            endpoint = engine.published_endpoint(container)
            if endpoint and await answers(http, endpoint):
                return
            if time.monotonic() - started > 2.0 and not probed:
                probed = True  # once: a server binds its port within seconds or not at all
                await check_listeners(container, port, may_move=may_move)
            await asyncio.sleep(0.25)
    raise await start_failure(
        container, f"did not answer {CARD_PATHS[0]} within {timeout_label:.0f}s"
    )


async def check_listeners(container: Container, port: int, *, may_move: bool) -> None:
    """Raise when the agent listens, but not on ``port`` where the platform can reach it."""
    text = await asyncio.to_thread(engine.exec_output, container, ["cat", *PROC_FILES])
    # 127.0.0.11 is the engine's DNS resolver inside the container's namespace.
    found = [x for x in parse_proc_net_tcp(text or "") if x.host != ENGINE_DNS]
    if not found or any(x.port == port for x in found):
        return
    reachable = [x for x in found if not x.loopback_only]
    if not reachable:
        where = ", ".join(f"{x.host}:{x.port}" for x in found)
        raise await start_failure(
            container,
            f"listens only on its container's loopback ({where}), which nothing outside "
            f"the container reaches; make it bind 0.0.0.0:$PORT (PORT={port})",
        )
    if may_move:
        raise Moved(reachable[0].port)


async def start_failure(container: Container, what: str) -> BuildFailed:
    tail = await asyncio.to_thread(engine.log_lines, container, 40)
    slug = container.labels.get(LABEL_SLUG, container.name)
    reason = next((ln for ln in reversed(tail) if ln.strip()), "no output").strip()
    return BuildFailed(
        f"{slug} {what} while starting: {reason}",
        details={"log_tail": tail, "container": container.name},
    )


async def answers(http: httpx.AsyncClient, endpoint: str) -> bool:
    for path in CARD_PATHS:
        try:
            resp = await http.get(endpoint + path)
        except httpx.HTTPError:
            return False  # not listening yet (or the proxy has no backend yet)
        if resp.status_code == 200:
            try:
                return isinstance(resp.json(), dict)
            except ValueError:
                return False
    return False
