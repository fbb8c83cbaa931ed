"""Virtual environments for agent versions: ``uv`` when available, else ``venv`` + pip.

One venv per agent version under ``<data_dir>/venvs/<slug>/v<version>``, marked with a hash of
its inputs (requirements, interpreter, options) once it is complete; a later build with the same
hash reuses it. Wheels are cached between builds in ``<data_dir>/cache``. With
``inherit_site_packages`` the venv also sees the platform's own packages (a ``.pth`` file) and
requirements they already satisfy are not installed again — fast, offline-safe test builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import site
import sys
import tomllib
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from nasiko.errors import BuildFailed, InvalidPackage

LogSink = Callable[[str], Awaitable[None]]
MARKER = ".nasiko-build.json"
_BUILDER_VERSION = 1
_TAIL = 60


def find_uv() -> str | None:
    """The ``uv`` binary: on PATH, or shipped by the ``uv`` Python package."""
    path = shutil.which("uv")
    if path:
        return path
    try:
        import uv  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return str(uv.find_uv_bin())
    except FileNotFoundError:
        return None


def read_requirements(source_dir: Path) -> tuple[list[str], str | None]:
    """Requirement lines from requirements.txt, else pyproject's [project].dependencies."""
    req = source_dir / "requirements.txt"
    if req.is_file():
        return req.read_text(encoding="utf-8").splitlines(), "requirements.txt"
    pyproject = source_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPackage(
                f"pyproject.toml: {exc}", details={"file": "pyproject.toml"}
            ) from exc
        deps = data.get("project", {}).get("dependencies", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise InvalidPackage(
                "pyproject.toml: [project].dependencies must be a list of strings",
                details={"file": "pyproject.toml", "field": "project.dependencies"},
            )
        return list(deps), "pyproject.toml"
    return [], None


def _satisfied_here(line: str) -> bool:
    """True when the running interpreter already has a distribution that meets ``line``."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return False
    if req.url:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
        return False
    if not req.specifier.contains(dist.version, prereleases=True):
        return False
    for extra in req.extras:
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is None or not sub.marker.evaluate({"extra": extra}):
                continue
            sub.marker = None
            if not _satisfied_here(str(sub)):
                return False
    return True


def missing_requirements(lines: list[str]) -> list[str]:
    """Drop comments and the requirements this interpreter already satisfies."""
    out = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-") or not _satisfied_here(line):
            out.append(line)
    return out


class VenvBuilder:
    def __init__(
        self,
        data_dir: Path,
        *,
        base_python: str,
        inherit_site_packages: bool,
        use_uv: bool | None,
        timeout: float | None,
    ) -> None:
        self.root = data_dir / "venvs"
        self.cache = data_dir / "cache"
        self.base_python = base_python
        self.inherit = inherit_site_packages
        self.uv = find_uv() if use_uv in (None, True) else None
        if use_uv is True and self.uv is None:
            raise BuildFailed("use_uv=True but no uv binary was found; pip install uv")
        self.timeout = timeout
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, slug: str, version: int) -> Path:
        return self.root / slug / f"v{version}"

    def _hash(self, requirements: list[str], extra: list[str]) -> str:
        blob = json.dumps(
            {
                "v": _BUILDER_VERSION,
                "python": self.base_python,
                "inherit": self.inherit,
                "requirements": requirements,
                "extra": extra,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def is_built(self, venv: Path, digest: str | None = None) -> bool:
        marker = venv / MARKER
        if not marker.is_file():
            return False
        if digest is None:
            return True
        try:
            return bool(json.loads(marker.read_text()).get("hash") == digest)
        except (json.JSONDecodeError, OSError):
            return False

    async def ensure(
        self, *, slug: str, version: int, source_dir: Path, extra: list[str], log: LogSink
    ) -> Path:
        """Build (or reuse) the venv for one agent version; returns its path."""
        requirements, origin = read_requirements(source_dir)
        digest = self._hash(requirements, extra)
        venv = self.path_for(slug, version)
        lock = self._locks.setdefault(venv, asyncio.Lock())
        async with lock:
            venv.parent.mkdir(parents=True, exist_ok=True)
            # Another worker process may be building the same version: serialise on a file lock.
            with (venv.parent / f"v{version}.lock").open("w") as lockfile:
                await asyncio.to_thread(fcntl.flock, lockfile.fileno(), fcntl.LOCK_EX)
                try:
                    if self.is_built(venv, digest):
                        await log(f"reusing the environment at {venv} (requirements unchanged)")
                        return venv
                    await self._build(venv, requirements, origin, extra, source_dir, log)
                    (venv / MARKER).write_text(json.dumps({"hash": digest, "origin": origin}))
                    return venv
                finally:
                    fcntl.flock(lockfile.fileno(), fcntl.LOCK_UN)

    async def _build(
        self,
        venv: Path,
        requirements: list[str],
        origin: str | None,
        extra: list[str],
        source_dir: Path,
        log: LogSink,
    ) -> None:
        if await asyncio.to_thread(venv.exists):
            await log(f"removing the outdated environment at {venv}")
            await asyncio.to_thread(shutil.rmtree, venv)
        tool = "uv" if self.uv else "pip"
        await log(f"creating a virtual environment with {tool} at {venv}")
        if self.uv:
            await self._run([self.uv, "venv", "--python", self.base_python, str(venv)], log)
        else:
            await self._run([self.base_python, "-m", "venv", str(venv)], log)
        if self.inherit:
            self._link_site_packages(venv)

        wanted = [*requirements, *extra]
        if self.inherit:
            wanted = missing_requirements(wanted)
        else:
            wanted = [r for r in (x.split(" #", 1)[0].strip() for x in wanted) if r]
            wanted = [r for r in wanted if not r.startswith("#")]
        if not wanted:
            await log(f"no dependencies to install ({origin or 'no requirements file'})")
            return
        reqfile = venv / "nasiko-requirements.txt"
        reqfile.write_text("\n".join(wanted) + "\n")
        await log(f"installing {len(wanted)} requirement(s) from {origin or 'the platform'}")
        python = str(venv / "bin" / "python")
        await self._run(self._install_command(python, reqfile), log, cwd=source_dir)
        if any(r.startswith("opentelemetry-distro") for r in extra):
            await self._install_instrumentations(venv, python, log, source_dir)

    async def _install_instrumentations(
        self, venv: Path, python: str, log: LogSink, source_dir: Path
    ) -> None:
        """The OpenTelemetry instrumentations for the libraries the agent has (ASGI servers,
        HTTP clients…), so its server span continues the gateway's trace."""
        bootstrap = venv / "bin" / "opentelemetry-bootstrap"
        if not bootstrap.exists():
            return
        proc = await asyncio.create_subprocess_exec(
            str(bootstrap),
            "-a",
            "requirements",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "VIRTUAL_ENV": str(venv)},
        )
        out, _ = await proc.communicate()
        # Unpinned: the index may not carry the exact beta that the bootstrap names, and the
        # resolver then picks a set that fits the distro.
        wanted = [ln.strip().split("==")[0] for ln in out.decode().splitlines() if ln.strip()]
        if proc.returncode != 0 or not wanted:
            await log("no OpenTelemetry instrumentations apply to this agent")
            return
        reqfile = venv / "nasiko-otel-requirements.txt"
        reqfile.write_text("\n".join(wanted) + "\n")
        await log(f"adding {len(wanted)} OpenTelemetry instrumentation(s)")
        try:
            await self._run(self._install_command(python, reqfile), log, cwd=source_dir)
        except BuildFailed as exc:
            # Tracing inside the agent is a bonus: the agent still deploys without it.
            await log(f"warning: OpenTelemetry instrumentations not installed: {exc.message}")

    def _link_site_packages(self, venv: Path) -> None:
        targets = [p for p in venv.glob("lib/python*/site-packages")]
        if not targets:
            raise BuildFailed(f"{venv} has no site-packages folder", details={"venv": str(venv)})
        parents = [*site.getsitepackages(), site.getusersitepackages()]
        lines = [p for p in parents if os.path.isdir(p)]
        (targets[0] / "_nasiko_platform.pth").write_text("\n".join(lines) + "\n")

    def _install_command(self, python: str, reqfile: Path) -> list[str]:
        if self.uv:
            return [self.uv, "pip", "install", "--python", python, "-r", str(reqfile)]
        return [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--cache-dir",
            str(self.cache / "pip"),
            "-r",
            str(reqfile),
        ]

    async def _run(self, cmd: list[str], log: LogSink, *, cwd: Path | None = None) -> None:
        env = {"UV_CACHE_DIR": str(self.cache / "uv"), "PIP_CACHE_DIR": str(self.cache / "pip")}
        await run_logged(
            cmd, log, cwd=cwd, env=env, timeout=self.timeout, what="building the environment"
        )


async def run_logged(
    cmd: list[str],
    log: LogSink,
    *,
    cwd: Path | None,
    env: dict[str, str],
    timeout: float | None,  # noqa: ASYNC109 - bounds the child process, not this call
    what: str,
    failure: str | None = None,
) -> None:
    """Runs a build command in its own session, streaming its output to ``log``.

    A non-zero exit, or ``timeout`` seconds passing, raises `BuildFailed` with the last lines
    of output; a cancelled build kills the whole process group so pip/uv never linger.
    ``failure`` replaces the default "`cmd …` failed" wording of the exit-code error.
    """
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    full_env.pop("VIRTUAL_ENV", None)
    await log("$ " + " ".join(cmd))
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        cwd=cwd,
        env=full_env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    tail: deque[str] = deque(maxlen=_TAIL)

    async def _pump() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            tail.append(line)
            await log(line)

    try:
        await asyncio.wait_for(_pump(), timeout)
        code = await proc.wait()
    except TimeoutError as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        await proc.wait()
        raise BuildFailed(
            f"{what} took longer than {timeout:.0f}s",
            details={"command": cmd, "log_tail": list(tail)},
        ) from exc
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        raise
    if code != 0:
        last = tail[-1] if tail else "no output"
        message = (
            f"{failure} (exit code {code}): {last}"
            if failure
            else f"`{' '.join(cmd[:3])} …` failed with exit code {code}: {last}"
        )
        raise BuildFailed(
            message, details={"command": cmd, "exit_code": code, "log_tail": list(tail)}
        )


def default_python() -> str:
    return sys.executable
