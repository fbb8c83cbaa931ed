"""Process helpers: identity checks against pid reuse, listening ports, killing a tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket

import psutil

_LOOPBACK_OR_ANY = {"127.0.0.1", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def identity(pid: int) -> dict[str, object] | None:
    """What identifies this process beyond its pid (start time, command line)."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return {"create_time": proc.create_time(), "cmdline": proc.cmdline()}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def same_process(pid: int, recorded: dict[str, object]) -> bool:
    """Is ``pid`` still the process that was recorded (not a new one reusing the number)?"""
    now = identity(pid)
    if now is None or not alive(pid):
        return False
    created = recorded.get("create_time")
    if not isinstance(created, int | float) or abs(float(now["create_time"]) - created) > 0.05:  # type: ignore[arg-type]
        return False
    cmdline = recorded.get("cmdline")
    return cmdline is None or cmdline == now["cmdline"]


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def listening_ports(pid: int) -> list[tuple[str, int]]:
    """(address, port) pairs the process tree listens on with TCP, loopback/any only."""
    found: set[tuple[str, int]] = set()
    for proc in tree(pid):
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for conn in conns:
            if (
                conn.status == psutil.CONN_LISTEN
                and conn.laddr
                and conn.laddr.ip in _LOOPBACK_OR_ANY
            ):
                found.add((conn.laddr.ip, conn.laddr.port))
    return sorted(found, key=lambda a: (a[1], a[0]))


async def kill_tree(
    pid: int, *, grace: float, child: asyncio.subprocess.Process | None = None
) -> None:
    """SIGTERM the process group (and strays that left it), SIGKILL what is left after grace.

    ``child`` is the asyncio handle when ``pid`` is our own child: it is awaited through asyncio
    so the event loop's child watcher, not psutil, reaps it.
    """
    procs = tree(pid)
    others = procs[1:] if child is not None else procs
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    for proc in others:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    leader_gone = await _wait_child(child, grace)
    _, left = await asyncio.to_thread(_wait_gone, others, grace)
    if left or not leader_gone:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        for proc in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        await _wait_child(child, grace)
        await asyncio.to_thread(_wait_gone, left, grace)


async def _wait_child(child: asyncio.subprocess.Process | None, seconds: float) -> bool:
    if child is None:
        return True
    try:
        await asyncio.wait_for(child.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _wait_gone(
    procs: list[psutil.Process], timeout: float
) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """Like psutil.wait_procs, but a zombie (nobody reaped it yet) counts as gone."""
    import time

    deadline = time.monotonic() + timeout
    left = list(procs)
    while left and time.monotonic() < deadline:
        left = [p for p in left if alive(p.pid) and _same(p)]
        if left:
            time.sleep(0.05)
    left = [p for p in left if alive(p.pid) and _same(p)]
    return [p for p in procs if p not in left], left


def _same(proc: psutil.Process) -> bool:
    try:
        return proc.is_running()  # False when the pid was reused
    except psutil.NoSuchProcess:
        return False
