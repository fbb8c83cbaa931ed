"""The ``process`` runtime: agents as supervised local processes, one venv per version.

Layout under ``data_dir``::

    venvs/<slug>/v<version>/     the agent version's virtual environment (see venv.py)
    cache/{uv,pip}/              wheel cache shared by all builds
    logs/<slug>-v<version>.log   the agent's stdout+stderr and the runtime's own [nasiko] notes

``start`` runs the package's command (``AgentSpec.command`` or, when None, the one
``inspect_package`` derives from the Dockerfile/compose/nasiko.toml) in its own session, with
``PORT``/``HOST=127.0.0.1`` set, and returns once the process tree listens on TCP: on ``$PORT``
normally, or wherever an agent that ignores ``$PORT`` really listens. A crashed agent is
restarted with exponential backoff; after ``max_restarts`` consecutive crashes (the count resets
once it ran ``stable_after`` seconds) it is left ``failed``. Agents are children of the platform,
so after a platform restart ``recover`` stops any survivor (checked by pid *and* start time, as
pids get reused) and starts the agent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nasiko.core.ports import AgentSpec, Deployment, LogSink, RuntimeName, RuntimeState
from nasiko.errors import BuildFailed, ConfigurationError
from nasiko.runtime import logfile, procutil
from nasiko.runtime.command import OTEL_PACKAGES, host_command, host_env
from nasiko.runtime.venv import VenvBuilder, default_python, read_requirements

_ERROR_LINE = re.compile(
    r"error|exception|failed|fatal|denied|not found|in use|no such|cannot|refused", re.I
)
_PYTHONISH = ("python", "uvicorn", "gunicorn", "hypercorn", "fastapi", "flask")


@dataclasses.dataclass(slots=True)
class _Agent:
    key: str
    spec: AgentSpec
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    port: int
    log_path: Path
    deployment: Deployment | None = None
    proc: asyncio.subprocess.Process | None = None
    state: RuntimeState = "starting"
    started_at: float = 0.0
    attempts: int = 0  # consecutive crashes
    restarts: int = 0  # total restarts
    stopping: bool = False
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class ProcessRuntime:
    name: RuntimeName = "process"

    def __init__(
        self,
        data_dir: Path,
        *,
        python: str | None = None,
        inherit_site_packages: bool = False,
        use_uv: bool | None = None,
        build_timeout: float | None = None,
        start_timeout: float = 60.0,
        stop_grace: float = 10.0,
        max_restarts: int = 5,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 60.0,
    ) -> None:
        """``inherit_site_packages``: venvs see the platform's packages (tests, offline use)."""
        self.data_dir = Path(data_dir)
        self.log_dir = self.data_dir / "logs"
        self.venvs = VenvBuilder(
            self.data_dir,
            base_python=python or default_python(),
            inherit_site_packages=inherit_site_packages,
            use_uv=use_uv,
            timeout=build_timeout,
        )
        # Inherited packages bring their console scripts (uvicorn…) in the platform's bin folder.
        self._extra_bin: tuple[Path, ...] = (
            (Path(sysconfig.get_path("scripts")),) if inherit_site_packages else ()
        )
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.max_restarts = max_restarts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self._agents: dict[str, _Agent] = {}
        self._closed = False

    # ------------------------------------------------------------------ build

    async def build(self, spec: AgentSpec, *, log: LogSink) -> str:
        extra = OTEL_PACKAGES if self._wants_otel(spec) else []
        venv = await self.venvs.ensure(
            slug=spec.slug,
            version=spec.version,
            source_dir=spec.source_dir,
            extra=extra,
            log=log,
        )
        return str(venv)

    def _wants_otel(self, spec: AgentSpec) -> bool:
        if spec.env.get("NASIKO_OTEL_AUTO") != "1":
            return False
        _, origin = read_requirements(spec.source_dir)
        if origin is not None:
            return True
        argv, _, _ = self._plan(spec)
        return bool(argv) and any(p in Path(argv[0]).name for p in _PYTHONISH)

    # ------------------------------------------------------------------ start

    def _plan(self, spec: AgentSpec) -> tuple[list[str], Path, dict[str, str]]:
        """argv, working directory and image environment for ``spec``."""
        if spec.command:
            argv, cwd, image_env = list(spec.command), spec.source_dir, {}
        else:
            from nasiko.core.packaging import inspect_package

            plan = inspect_package(spec.source_dir, check_names=False).process
            argv, cwd, image_env = plan.command, plan.workdir, plan.env
        if spec.workdir:
            cwd = spec.source_dir / spec.workdir  # an absolute workdir replaces source_dir
        return argv, cwd, image_env

    async def start(self, spec: AgentSpec, artifact: str, *, log: LogSink) -> Deployment:
        if self._closed:
            raise ConfigurationError("this ProcessRuntime was closed")
        venv = Path(artifact) if artifact else None
        argv, cwd, image_env = self._plan(spec)
        port = spec.port or procutil.free_port()
        cmd, notes = host_command(
            argv,
            venv=venv,
            port=port,
            otel=spec.env.get("NASIKO_OTEL_AUTO") == "1",
            extra_bin=self._extra_bin,
        )
        env = host_env(
            image_env=image_env,
            spec_env=spec.env,
            venv=venv,
            port=port,
            extra_bin=self._extra_bin,
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        agent = _Agent(
            key=uuid.uuid4().hex,
            spec=spec,
            argv=cmd,
            cwd=cwd,
            env=env,
            port=port,
            log_path=self.log_dir / f"{spec.slug}-v{spec.version}.log",
        )
        for note in notes:
            self._note(agent, note)
            await log(note)
        await log(f"starting {spec.slug} v{spec.version}: {' '.join(cmd)} (in {cwd}, PORT={port})")
        await self._spawn(agent)
        try:
            endpoint_port = await self._wait_listening(agent, log)
        except BaseException:
            await self._kill(agent)
            raise
        agent.state = "running"
        agent.deployment = Deployment(
            runtime="process",
            ref=str(self._pid(agent)),
            endpoints=[f"http://127.0.0.1:{endpoint_port}"],
            artifact=artifact or None,
            extra={},
        )
        self._record(agent, listen_port=endpoint_port)
        self._agents[agent.key] = agent
        agent.task = asyncio.create_task(self._supervise(agent), name=f"supervise-{spec.slug}")
        await log(f"{spec.slug} is listening at {agent.deployment.endpoints[0]}")
        return agent.deployment

    @staticmethod
    def _pid(agent: _Agent) -> int:
        assert agent.proc is not None
        return agent.proc.pid

    def _record(self, agent: _Agent, *, listen_port: int | None = None) -> None:
        assert agent.deployment is not None
        pid = self._pid(agent)
        ident = procutil.identity(pid) or {}
        agent.deployment.ref = str(pid)
        agent.deployment.extra.update(
            {
                "key": agent.key,
                "pid": pid,
                "create_time": ident.get("create_time"),
                "cmdline": ident.get("cmdline"),
                "port": agent.port,
                "log_path": str(agent.log_path),
                "slug": agent.spec.slug,
                "version": agent.spec.version,
                "agent_id": agent.spec.agent_id,
                "restarts": agent.restarts,
            }
        )
        if listen_port is not None:
            agent.deployment.extra["listen_port"] = listen_port

    def _note(self, agent: _Agent, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with agent.log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"[nasiko {stamp}] {message}\n")

    def _pidfile(self, spec: AgentSpec) -> Path:
        return self.data_dir / "pids" / f"{spec.slug}-v{spec.version}.json"

    async def _kill_leftover(self, spec: AgentSpec) -> None:
        """A process of this agent version left by a worker that died before recording it."""
        path = self._pidfile(spec)
        try:
            recorded = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        pid = recorded.get("pid")
        if isinstance(pid, int) and procutil.same_process(pid, recorded):
            await procutil.kill_tree(pid, grace=self.stop_grace)
        path.unlink(missing_ok=True)

    def _write_pidfile(self, agent: _Agent) -> None:
        path = self._pidfile(agent.spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        ident = procutil.identity(self._pid(agent)) or {}
        path.write_text(json.dumps({"pid": self._pid(agent), **ident}, default=str))

    async def _spawn(self, agent: _Agent) -> None:
        if agent.restarts == 0 and agent.attempts == 0:
            await self._kill_leftover(agent.spec)
        logfile.rotate_if_large(agent.log_path)
        self._note(agent, f"$ {' '.join(agent.argv)}")
        with agent.log_path.open("ab") as out:
            try:
                agent.proc = await asyncio.create_subprocess_exec(
                    *agent.argv,
                    cwd=agent.cwd,
                    env=agent.env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop kills the whole tree
                )
            except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
                self._note(agent, f"cannot start: {exc}")
                raise BuildFailed(
                    f"cannot start {agent.spec.slug}: {exc}",
                    details={"command": agent.argv, "cwd": str(agent.cwd)},
                ) from exc
        agent.started_at = time.monotonic()
        self._write_pidfile(agent)

    async def _wait_listening(self, agent: _Agent, log: LogSink) -> int:
        """The port the agent's process tree listens on; ``$PORT`` preferred."""
        assert agent.proc is not None
        deadline = time.monotonic() + self.start_timeout
        other_since: float | None = None
        while time.monotonic() < deadline:
            if agent.proc.returncode is not None:
                raise self._start_failure(agent, f"exited with code {agent.proc.returncode}")
            ports = await asyncio.to_thread(procutil.listening_ports, agent.proc.pid)
            numbers = [p for _, p in ports]
            if agent.port in numbers:
                return agent.port
            if numbers:
                # Give a server that opens a side port first a moment to open $PORT too.
                other_since = other_since or time.monotonic()
                if time.monotonic() - other_since > 1.0:
                    found = numbers[0]
                    msg = f"the agent ignores PORT={agent.port} and listens on {found}"
                    self._note(agent, msg)
                    await log(msg)
                    return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(agent.proc.wait()), 0.1)
        raise self._start_failure(
            agent, f"did not listen on any TCP port within {self.start_timeout:.0f}s"
        )

    def _start_failure(self, agent: _Agent, what: str) -> BuildFailed:
        tail = logfile.tail_lines(agent.log_path, 40)
        output = [line for line in tail if line.strip() and not line.startswith("[nasiko")]
        # Servers log shutdown chatter after the real error; prefer the last line that looks
        # like the cause.
        reason = next(
            (line for line in reversed(output) if _ERROR_LINE.search(line)),
            output[-1] if output else "no output",
        ).strip()
        return BuildFailed(
            f"{agent.spec.slug} {what} while starting: {reason}",
            details={"log_tail": tail, "log_path": str(agent.log_path), "command": agent.argv},
        )

    # ------------------------------------------------------------------ supervision

    async def _supervise(self, agent: _Agent) -> None:
        while True:
            assert agent.proc is not None
            code = await agent.proc.wait()
            if agent.stopping:
                return
            old_pid = agent.proc.pid
            # Children of a crashed leader may still hold the port.
            await procutil.kill_tree(old_pid, grace=self.stop_grace)
            if time.monotonic() - agent.started_at >= self.stable_after:
                agent.attempts = 0
            agent.attempts += 1
            if agent.attempts > self.max_restarts:
                agent.state = "failed"
                self._note(
                    agent,
                    f"exited with code {code}; giving up after {self.max_restarts} restarts",
                )
                return
            delay = min(self.backoff_initial * 2 ** (agent.attempts - 1), self.backoff_max)
            agent.state = "starting"
            self._note(
                agent,
                f"exited with code {code}; restarting in {delay:.1f}s "
                f"(attempt {agent.attempts}/{self.max_restarts})",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.wake.wait(), delay)
            if agent.stopping:
                return
            try:
                await self._spawn(agent)
            except BuildFailed:
                agent.state = "failed"
                return
            agent.restarts += 1
            agent.state = "running"
            self._record(agent)

    # ------------------------------------------------------------------ stop / status / logs

    def _find(self, deployment: Deployment) -> _Agent | None:
        key = deployment.extra.get("key")
        return self._agents.get(key) if isinstance(key, str) else None

    async def _kill(self, agent: _Agent) -> None:
        agent.stopping = True
        agent.wake.set()
        if agent.proc is not None:
            await procutil.kill_tree(agent.proc.pid, grace=self.stop_grace, child=agent.proc)
        if agent.task is not None and agent.task is not asyncio.current_task():
            agent.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agent.task
        agent.state = "stopped"

    async def stop(self, deployment: Deployment) -> None:
        agent = self._find(deployment)
        if agent is not None:
            self._agents.pop(agent.key, None)
            await self._kill(agent)
            self._note(agent, "stopped")
            return
        pid = _recorded_pid(deployment)
        if pid is not None and procutil.same_process(pid, deployment.extra):
            await procutil.kill_tree(pid, grace=self.stop_grace)

    async def status(self, deployment: Deployment) -> RuntimeState:
        agent = self._find(deployment)
        if agent is None:
            pid = _recorded_pid(deployment)
            if pid is not None and procutil.same_process(pid, deployment.extra):
                return "running"  # left over from a previous platform run, unsupervised
            return "stopped"
        if agent.state != "running" or agent.proc is None:
            return agent.state
        if agent.proc.returncode is not None:
            return "starting"  # crashed; the supervisor is about to restart it
        listen = int(deployment.extra.get("listen_port", agent.port))
        ports = await asyncio.to_thread(procutil.listening_ports, agent.proc.pid)
        return "running" if listen in [p for _, p in ports] else "starting"

    def info(self, deployment: Deployment) -> dict[str, Any]:
        """Supervision details for display: state, pid, restarts."""
        agent = self._find(deployment)
        if agent is None:
            return {"supervised": False}
        return {
            "supervised": True,
            "state": agent.state,
            "pid": agent.proc.pid if agent.proc else None,
            "restarts": agent.restarts,
            "consecutive_failures": agent.attempts,
        }

    def _log_path(self, deployment: Deployment) -> Path:
        path = deployment.extra.get("log_path")
        if isinstance(path, str):
            return Path(path)
        slug, version = deployment.extra.get("slug"), deployment.extra.get("version")
        return self.log_dir / f"{slug}-v{version}.log"

    async def logs(self, deployment: Deployment, *, tail: int = 200) -> list[str]:
        return await asyncio.to_thread(logfile.tail_lines, self._log_path(deployment), tail)

    def follow_logs(self, deployment: Deployment) -> AsyncIterator[str]:
        key = deployment.extra.get("key")

        def _done() -> bool:
            agent = self._agents.get(key) if isinstance(key, str) else None
            return agent is None or agent.stopping or agent.state == "failed"

        return logfile.follow(self._log_path(deployment), done=_done)

    # ------------------------------------------------------------------ recovery / close

    async def recover(
        self, deployment: Deployment, spec: AgentSpec, *, log: LogSink | None = None
    ) -> Deployment:
        """Bring a stored deployment back after a platform restart (restarts the process)."""
        agent = self._find(deployment)
        if agent is not None and agent.state in ("running", "starting"):
            return agent.deployment or deployment
        pid = _recorded_pid(deployment)
        if pid is not None and procutil.same_process(pid, deployment.extra):
            # A survivor of the previous platform run: we cannot supervise a process that is not
            # our child, so stop it (freeing its port) and start a supervised one.
            await procutil.kill_tree(pid, grace=self.stop_grace)

        async def _discard(line: str) -> None:
            return None

        sink = log or _discard
        artifact = deployment.artifact
        if not artifact or not self.venvs.is_built(Path(artifact)):
            artifact = await self.build(spec, log=sink)
        old_port = deployment.extra.get("port")
        if spec.port is None and isinstance(old_port, int) and _port_free(old_port):
            spec = dataclasses.replace(spec, port=old_port)  # stored endpoints stay valid
        return await self.start(spec, artifact, log=sink)

    async def close(self) -> None:
        """Stop every agent this runtime started."""
        self._closed = True
        agents = list(self._agents.values())
        self._agents.clear()
        await asyncio.gather(*(self._kill(a) for a in agents))


def _recorded_pid(deployment: Deployment) -> int | None:
    pid = deployment.extra.get("pid", deployment.ref)
    try:
        return int(pid)
    except (TypeError, ValueError):
        return None


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers agents run: a port in TIME_WAIT is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
