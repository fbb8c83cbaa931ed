"""The ``docker`` runtime: one image per agent version, one container per running copy.

Talks to ``DOCKER_HOST`` (a Docker Engine, or Podman's Docker-compatible API) through the docker
SDK, installed with the extra ``nasiko[docker]`` and imported only when this runtime is created.

- ``build`` copies the package into a private build context (``docker_context``: base images
  substituted from the base image map, the agent's files untouched), optionally resolves its
  Python dependencies into a wheelhouse served to the build (``docker_wheels``), and builds
  ``nasiko/agent-<slug>:v<version>``. The returned artefact is the image id.
- ``start`` runs the image on the network ``network`` (default ``agents-net``, created when
  missing) with the package's environment, ``PORT``/``HOST=0.0.0.0``, the memory and CPU limits,
  restart-on-failure, and the labels ``nasiko.agent.id``, ``nasiko.agent.slug``,
  ``nasiko.agent.version``. The container port is published on 127.0.0.1 on a free host port
  chosen by the platform, and that is the deployment's endpoint: the gateway runs on the host and
  always reaches it, whatever the engine's networking (rootless Podman, a VM). Other containers
  on the network reach the agent at ``extra["network_endpoint"]`` (container IP and port).
- ``start`` returns once the agent answers ``/.well-known/agent-card.json`` (or ``agent.json``);
  an agent that exits, never answers, or listens somewhere unreachable fails with ``BuildFailed``
  and its log tail, and its container is removed.
- ``stop`` saves the container's log under ``<data_dir>/logs`` and removes the container; the
  image stays for rollback. Containers outlive the platform: ``recover`` finds them by label.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasiko.core.ports import AgentSpec, Deployment, LogSink, RuntimeName, RuntimeState
from nasiko.errors import BuildFailed
from nasiko.runtime import docker_engine as engine
from nasiko.runtime import docker_health as health
from nasiko.runtime import logfile, procutil
from nasiko.runtime.docker_context import parse_base_image_map, prepare_context
from nasiko.runtime.docker_engine import LABEL_ID, LABEL_MANAGED, LABEL_SLUG, LABEL_VERSION
from nasiko.runtime.docker_wheels import WheelHouse, WheelServer

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

    from nasiko.settings import Settings

HOST_ALIAS = "host.docker.internal"
_LOOPBACK_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?:127\.0\.0\.1|localhost)(?=[:/]|$)")
_DEFAULT_PORT = 8080


def _safe(slug: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", slug.lower()).strip("-.") or "agent"


def image_name(slug: str) -> str:
    """The repository agent images are tagged in: ``nasiko/agent-<slug>:v<version>``."""
    return f"nasiko/agent-{_safe(slug)}"


async def _discard(_: str) -> None:
    return None


class DockerRuntime:
    name: RuntimeName = "docker"

    def __init__(
        self,
        data_dir: Path,
        *,
        docker_host: str | None = None,
        network: str = "agents-net",
        base_images: Mapping[str, str] | None = None,
        wheelhouse: bool = False,
        wheel_python: str | None = None,
        pull_missing_bases: bool = True,
        build_timeout: float | None = 900.0,
        start_timeout: float = 120.0,
        stop_grace: float = 10.0,
        restart_retries: int = 5,
    ) -> None:
        """``base_images``: ``{"python:3.12-slim": "nasiko/python-base:bookworm"}`` (fnmatch keys).

        ``wheelhouse``: resolve Python dependencies on the host and build with them offline.
        ``pull_missing_bases=False``: a base image the engine lacks fails the build at once,
        without the engine trying a registry.
        """
        engine.sdk()  # fail at construction, naming the extra, when the SDK is missing
        self.data_dir = Path(data_dir)
        self.docker_host = docker_host
        self.network = network
        self.base_images = dict(base_images or {})
        self.wheelhouse = wheelhouse
        self.pull_missing_bases = pull_missing_bases
        self.build_timeout = build_timeout
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.restart_retries = restart_retries
        self.wheels = WheelHouse(
            self.data_dir / "wheelhouse", python=wheel_python, timeout=build_timeout
        )
        self.wheel_server = WheelServer(self.data_dir / "wheelhouse")
        self.log_dir = self.data_dir / "logs"
        self._client_obj: DockerClient | None = None
        self._client_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> DockerRuntime:
        """From settings (``runtime.docker_*``); ``NASIKO_RUNTIME_BASE_IMAGE_MAP`` (JSON or
        ``a=b,c=d``) adds substitutions from the environment."""
        images = dict(settings.runtime.docker_base_images)
        images.update(parse_base_image_map(os.environ.get("NASIKO_RUNTIME_BASE_IMAGE_MAP")) or {})
        return cls(
            settings.data_dir / "docker",
            network=settings.runtime.docker_network,
            base_images=images or None,
            wheelhouse=settings.runtime.docker_wheelhouse
            or os.environ.get("NASIKO_RUNTIME_DOCKER_WHEELHOUSE", "") in ("1", "true"),
            build_timeout=settings.worker.build_timeout,
            start_timeout=settings.worker.health_timeout,
        )

    async def client(self) -> DockerClient:
        async with self._client_lock:
            if self._client_obj is None:
                self._client_obj = await asyncio.to_thread(engine.connect, self.docker_host)
            return self._client_obj

    # ------------------------------------------------------------------ build

    async def build(self, spec: AgentSpec, *, log: LogSink) -> str:
        client = await self.client()
        build_args: dict[str, str] = {}
        if self.wheelhouse:
            digest = await self.wheels.ensure(spec.source_dir, log=log)
            if digest is not None:
                await asyncio.to_thread(self.wheel_server.start)
                build_args = {"PIP_FIND_LINKS": self.wheel_server.url(digest), "PIP_NO_INDEX": "1"}
        ctx_dir = self.data_dir / "build" / f"{_safe(spec.slug)}-v{spec.version}"
        ctx = await asyncio.to_thread(
            prepare_context,
            spec.source_dir,
            ctx_dir,
            self.base_images,
            declare_args=list(build_args),
        )
        for original, replacement in ctx.substituted.items():
            await log(f"base image {original} -> {replacement} (base image map)")
        for base in ctx.bases:
            await engine.ensure_base(client, base, pull=self.pull_missing_bases, log=log)
        tag = f"{image_name(spec.slug)}:v{spec.version}"
        await log(f"building {tag}")
        image_id = await engine.build_image(
            client,
            context=ctx.path,
            tag=tag,
            build_args=build_args,
            # Host networking only to reach the wheelhouse on the host's loopback.
            network_mode="host" if build_args else None,
            labels=self._labels(spec),
            max_seconds=self.build_timeout,
            log=log,
        )
        await log(f"built {tag} ({image_id[:19]})")
        return image_id

    @staticmethod
    def _labels(spec: AgentSpec) -> dict[str, str]:
        return {
            LABEL_MANAGED: "true",
            LABEL_ID: spec.agent_id,
            LABEL_SLUG: spec.slug,
            LABEL_VERSION: str(spec.version),
        }

    # ------------------------------------------------------------------ start

    def _plan(self, spec: AgentSpec) -> tuple[int, dict[str, str], list[str]]:
        """Container port, environment and notes for the agent's log."""
        from nasiko.core.packaging import inspect_package

        info = inspect_package(spec.source_dir, check_names=False)
        env = {**info.env, **spec.env}
        port = spec.port or _as_port(env.get("PORT")) or info.port or _DEFAULT_PORT
        notes: list[str] = []
        for key, value in list(env.items()):
            # The platform's own loopback is not the container's: point at the host instead.
            if _LOOPBACK_URL.match(value):
                env[key] = _LOOPBACK_URL.sub(lambda m: m["scheme"] + HOST_ALIAS, value, count=1)
                notes.append(f"{key}: loopback URL rewritten to {HOST_ALIAS}")
        env["PORT"] = str(port)
        env["HOST"] = "0.0.0.0"
        env.setdefault("PYTHONUNBUFFERED", "1")
        return port, env, notes

    async def start(self, spec: AgentSpec, artifact: str, *, log: LogSink) -> Deployment:
        client = await self.client()
        port, env, notes = await asyncio.to_thread(self._plan, spec)
        for note in notes:
            await log(note)
        await asyncio.to_thread(engine.ensure_network, client, self.network)
        memory_mb, cpus = spec.memory_mb, spec.cpus
        if memory_mb is None or cpus is None:
            from nasiko.core.packaging import inspect_package

            info = await asyncio.to_thread(inspect_package, spec.source_dir, check_names=False)
            memory_mb = memory_mb if memory_mb is not None else info.memory_mb
            cpus = cpus if cpus is not None else info.cpus
        name = f"nasiko-{_safe(spec.slug)}-v{spec.version}-{uuid.uuid4().hex[:6]}"
        options: dict[str, Any] = {
            "name": name,
            "labels": self._labels(spec),
            "environment": env,
            "network": self.network,
            "extra_hosts": {HOST_ALIAS: "host-gateway"},
        }
        if memory_mb:
            options["mem_limit"] = f"{memory_mb}m"
        if cpus:
            options["nano_cpus"] = int(cpus * 1e9)
        container = await self._run(client, artifact, port, options, log)
        container, listen = await self._wait_healthy(
            client, container, artifact, port, options, log
        )
        # Only a healthy agent is restarted by the engine: a crash while starting is reported
        # with its real exit code instead of being retried.
        policy = {"Name": "on-failure", "MaximumRetryCount": self.restart_retries}
        if not await asyncio.to_thread(engine.set_restart_policy, container, policy):
            await log("this engine cannot change a restart policy; the agent is not restarted")
        deployment = self._deployment(container, artifact)
        deployment.extra["listen_port"] = listen
        await log(f"{spec.slug} answers at {deployment.endpoints[0]} (container {name})")
        return deployment

    async def _run(
        self, client: DockerClient, image: str, port: int, options: dict[str, Any], log: LogSink
    ) -> Container:
        host_port = procutil.free_port()
        await log(
            f"starting container {options['name']} on network {self.network}: "
            f"port {port} published on 127.0.0.1:{host_port}"
        )
        return await asyncio.to_thread(
            engine.run_container,
            client,
            image,
            ports={f"{port}/tcp": ("127.0.0.1", host_port)},
            **options,
        )

    async def _wait_healthy(
        self,
        client: DockerClient,
        container: Container,
        image: str,
        port: int,
        options: dict[str, Any],
        log: LogSink,
    ) -> tuple[Container, int]:
        """Wait for an agent card; follows an agent that ignores ``$PORT`` to its own port.

        On failure the container (or its replacement) is removed. Returns the healthy
        container and the port it listens on inside.
        """
        deadline = time.monotonic() + self.start_timeout
        try:
            try:
                await health.wait_loop(
                    container, port, deadline, may_move=True, timeout_label=self.start_timeout
                )
                return container, port
            except health.Moved as moved:
                await log(f"the agent ignores PORT={port} and listens on {moved.port}")
                # Ports are published at creation: replace the container.
                await asyncio.to_thread(engine.remove, container)
                options = {**options, "name": options["name"] + "-p"}
                container = await self._run(client, image, moved.port, options, log)
                await health.wait_loop(
                    container,
                    moved.port,
                    deadline,
                    may_move=False,
                    timeout_label=self.start_timeout,
                )
                return container, moved.port
        except BaseException:
            await asyncio.to_thread(engine.remove, container)
            raise

    def _deployment(self, container: Container, image: str | None) -> Deployment:
        labels = container.labels
        net = container.attrs["NetworkSettings"]["Networks"].get(self.network) or {}
        published = engine.published(container)
        container_port, host_port = published if published else (None, None)
        extra: dict[str, Any] = {
            "container": container.name,
            "network": self.network,
            "container_port": container_port,
            "host_port": host_port,
            "agent_id": labels.get(LABEL_ID),
            "slug": labels.get(LABEL_SLUG),
            "version": _as_int(labels.get(LABEL_VERSION)),
            "log_path": str(self.log_dir / f"{container.name}.log"),
        }
        if net.get("IPAddress") and container_port:
            extra["network_endpoint"] = f"http://{net['IPAddress']}:{container_port}"
        return Deployment(
            runtime="docker",
            ref=container.id,
            endpoints=[f"http://127.0.0.1:{host_port}"] if host_port else [],
            artifact=image or container.attrs.get("Image"),
            extra=extra,
        )

    # ------------------------------------------------------------------ stop / status / logs

    async def _container(self, deployment: Deployment) -> Container | None:
        client = await self.client()
        return await asyncio.to_thread(engine.get_container, client, deployment.ref)

    async def stop(self, deployment: Deployment) -> None:
        container = await self._container(deployment)
        if container is None:
            return
        path = self.log_dir / f"{container.name}.log"
        await asyncio.to_thread(engine.save_logs, container, path)
        await asyncio.to_thread(engine.stop_and_remove, container, self.stop_grace)

    async def status(self, deployment: Deployment) -> RuntimeState:
        container = await self._container(deployment)
        if container is None:
            return "stopped"
        state = container.attrs["State"]
        status = state.get("Status")
        if status == "running":
            return "starting" if state.get("Restarting") else "running"
        if status in ("created", "restarting"):
            return "starting"
        if status == "paused":
            return "unhealthy"
        if status in ("exited", "dead"):
            return "stopped" if state.get("ExitCode") == 0 else "failed"
        return "unknown"

    async def logs(self, deployment: Deployment, *, tail: int = 200) -> list[str]:
        container = await self._container(deployment)
        if container is not None:
            return await asyncio.to_thread(engine.log_lines, container, tail)
        path = deployment.extra.get("log_path")
        if isinstance(path, str):
            return await asyncio.to_thread(logfile.tail_lines, Path(path), tail)
        return []

    async def follow_logs(self, deployment: Deployment) -> AsyncIterator[str]:
        """New lines as the agent writes them; ends when the container stops."""
        container = await self._container(deployment)
        if container is None:
            return
        async for line in engine.follow(container):
            yield line

    # ------------------------------------------------------------------ recovery / close

    async def recover(
        self, deployment: Deployment, spec: AgentSpec, *, log: LogSink | None = None
    ) -> Deployment:
        """After a platform restart: adopt the agent's container (found by its labels), start it
        again if it stopped, or run a new one from the image (rebuilt if it is gone)."""
        sink = log or _discard
        client = await self.client()
        found = await asyncio.to_thread(
            engine.find_by_labels,
            client,
            {LABEL_ID: spec.agent_id, LABEL_VERSION: str(spec.version)},
        )
        found.sort(key=lambda c: (c.id != deployment.ref, c.status != "running"))
        for container in found:
            if container.status == "running":
                await sink(f"adopted running container {container.name}")
                return self._deployment(container, deployment.artifact)
            await sink(f"starting stopped container {container.name}")
            try:
                await asyncio.to_thread(container.start)
                published = engine.published(container)
                port = published[0] if published else _DEFAULT_PORT
                container, _ = await self._wait_healthy(
                    client,
                    container,
                    container.attrs["Image"],
                    port,
                    {"name": container.name},
                    sink,
                )
            except BuildFailed as exc:
                await sink(f"container {container.name} did not come back: {exc.message}")
                await asyncio.to_thread(engine.remove, container)
                continue
            except engine.sdk().errors.APIError as exc:
                await sink(f"container {container.name} cannot start again: {exc}")
                await asyncio.to_thread(engine.remove, container)
                continue
            return self._deployment(container, deployment.artifact)
        artifact = deployment.artifact
        if not artifact or not await asyncio.to_thread(engine.image_exists, client, artifact):
            artifact = await self.build(spec, log=sink)
        return await self.start(spec, artifact, log=sink)

    async def remove_image(self, artifact: str) -> None:
        """Delete a version's image (when its history is purged); a missing image is fine."""
        client = await self.client()
        await asyncio.to_thread(engine.remove_image, client, artifact)

    async def close(self) -> None:
        """Stop serving the wheelhouse and close the engine connection; containers keep running."""
        await asyncio.to_thread(self.wheel_server.stop)
        if self._client_obj is not None:
            await asyncio.to_thread(self._client_obj.close)
            self._client_obj = None


def _as_port(value: str | None) -> int | None:
    port = _as_int(value)
    return port if port is not None and 0 < port < 65536 else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
