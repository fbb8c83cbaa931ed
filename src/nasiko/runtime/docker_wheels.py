"""A wheelhouse for image builds that cannot reach a package index.

Before the engine builds an image, the platform resolves the package's Python dependencies on
the host (with the host's pip configuration: its indexes, certificates and caches) into
``<data_dir>/wheelhouse/<digest>/``, then serves that folder over HTTP on 127.0.0.1. The build
runs with host networking and the build arguments ``PIP_FIND_LINKS=<that URL>`` and
``PIP_NO_INDEX=1``, so an unmodified ``RUN pip install -r requirements.txt`` installs from the
wheelhouse and nothing else. Build arguments are not kept in the image's environment, and the
wheels are not copied into any layer.

The wheels are built by the host's interpreter, so binary wheels fit images whose Python has the
same minor version and C library (the local base image nasiko/python-base:bookworm has Python
3.11 on glibc 2.36, like the machine). Other images need an index (leave the wheelhouse off).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.server
import json
import sys
import threading
import tomllib
from functools import partial
from pathlib import Path
from typing import Any

from nasiko.core.ports import LogSink
from nasiko.runtime.venv import read_requirements, run_logged

_RECIPE = 1  # bump when what goes into a wheelhouse changes
_TAIL = 60
# What pip assumes for a pyproject.toml without [build-system].
_DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]


def _build_requires(source_dir: Path) -> list[str]:
    pyproject = source_dir / "pyproject.toml"
    if not pyproject.is_file():
        return []
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError:
        return []  # read_requirements reports a broken pyproject.toml
    requires = data.get("build-system", {}).get("requires")
    if isinstance(requires, list) and all(isinstance(r, str) for r in requires):
        return list(requires)
    return list(_DEFAULT_BUILD_REQUIRES)


class WheelHouse:
    """Builds and caches one wheel folder per distinct set of requirements."""

    def __init__(self, root: Path, *, python: str | None = None, timeout: float | None = None):
        self.root = Path(root)
        self.python = python or sys.executable
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    def plan(self, source_dir: Path) -> tuple[str, list[str], list[str], str | None]:
        """(digest, requirement lines, build requirements, origin) for ``source_dir``."""
        lines, origin = read_requirements(source_dir)
        build = _build_requires(source_dir)
        key = json.dumps(
            {
                "recipe": _RECIPE,
                "python": list(sys.version_info[:2]),
                "origin": origin,
                "lines": [ln.strip() for ln in lines],
                "build": build,
            },
            sort_keys=True,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16], lines, build, origin

    async def ensure(self, source_dir: Path, *, log: LogSink) -> str | None:
        """The digest of the ready wheel folder, or None when the package has no requirements."""
        digest, lines, build, origin = self.plan(source_dir)
        if origin is None:
            return None
        # Two builds of agents with the same requirements share one resolution.
        async with self._locks.setdefault(digest, asyncio.Lock()):
            return await self._ensure(digest, source_dir, lines, build, origin, log)

    async def _ensure(
        self,
        digest: str,
        source_dir: Path,
        lines: list[str],
        build: list[str],
        origin: str,
        log: LogSink,
    ) -> str:
        folder = self.root / digest
        if (folder / ".complete").is_file():
            await log(f"wheelhouse {digest} is cached ({origin})")
            return digest
        partial_dir = self.root / f"{digest}.partial"
        if partial_dir.exists():
            await asyncio.to_thread(_rmtree, partial_dir)
        partial_dir.mkdir(parents=True)
        pip = [self.python, "-m", "pip"]
        if origin == "requirements.txt":
            # Relative paths in requirements.txt (-e ., -r other.txt) are relative to the package.
            await self._run(
                [*pip, "wheel", "-r", "requirements.txt", "-w", str(partial_dir)],
                log,
                cwd=source_dir,
            )
        elif lines:
            await self._run([*pip, "wheel", *lines, "-w", str(partial_dir)], log, cwd=source_dir)
        if build:
            # `pip install .` in the image builds the project: its backend must be here too.
            await self._run([*pip, "wheel", *build, "-w", str(partial_dir)], log, cwd=source_dir)
        (partial_dir / ".complete").write_text(digest)
        if folder.exists():
            await asyncio.to_thread(_rmtree, folder)
        partial_dir.rename(folder)
        count = sum(1 for p in folder.iterdir() if p.suffix == ".whl")
        await log(f"wheelhouse {digest}: {count} wheels for {origin}")
        return digest

    async def _run(self, cmd: list[str], log: LogSink, *, cwd: Path) -> None:
        await run_logged(
            cmd,
            log,
            cwd=cwd,
            env={"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            timeout=self.timeout,
            what="resolving the package's Python dependencies on the host",
            failure="resolving the package's Python dependencies on the host failed",
        )


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class WheelServer:
    """Serves the wheelhouse root on 127.0.0.1, on the same port across platform restarts.

    A stable URL keeps build arguments stable, and so keeps the engine's layer cache valid.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, digest: str) -> str:
        return f"http://127.0.0.1:{self.port}/{digest}/"

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            self.root.mkdir(parents=True, exist_ok=True)
            port_file = self.root / ".port"
            handler = partial(_QuietHandler, directory=str(self.root))
            server: http.server.ThreadingHTTPServer | None = None
            with contextlib.suppress(ValueError, OSError):
                server = http.server.ThreadingHTTPServer(
                    ("127.0.0.1", int(port_file.read_text().strip())), handler
                )
            if server is None:
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                port_file.write_text(str(server.server_address[1]))
            server.daemon_threads = True
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, name="nasiko-wheelhouse", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._server is None:
                return
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None
