"""Per-agent log files: append, tail, follow."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

MAX_LOG_BYTES = 20 * 1024 * 1024


def rotate_if_large(path: Path, *, max_bytes: int = MAX_LOG_BYTES) -> None:
    """Keep one previous file (``.1``) so a chatty agent cannot fill the disk."""
    if path.exists() and path.stat().st_size > max_bytes:
        os.replace(path, path.with_name(path.name + ".1"))


def tail_lines(path: Path, n: int) -> list[str]:
    """The last ``n`` lines, read backwards in blocks (log files can be large)."""
    if n <= 0 or not path.exists():
        return []
    block = 64 * 1024
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        data = b""
        while end > 0 and data.count(b"\n") <= n:
            start = max(0, end - block)
            fh.seek(start)
            data = fh.read(end - start) + data
            end = start
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-n:]


async def follow(
    path: Path, *, done: Callable[[], bool], poll: float = 0.2, from_start: bool = False
) -> AsyncIterator[str]:
    """New lines as they are written; ends once ``done()`` and everything was read."""
    while not await asyncio.to_thread(path.exists):
        if done():
            return
        await asyncio.sleep(poll)
    with path.open("rb") as fh:
        if not from_start:
            fh.seek(0, os.SEEK_END)
        partial = b""
        while True:
            chunk = fh.read(64 * 1024)
            if chunk:
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
                continue
            if done():
                if partial:
                    yield partial.decode("utf-8", "replace")
                return
            await asyncio.sleep(poll)
