"""The docker SDK calls the docker runtime makes, each small and blocking (run them in a thread),
except the two streaming ones (``build_image``, ``follow``), which are async.

The SDK is an optional dependency (``pip install 'nasiko[docker]'``) imported on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from nasiko.core.ports import LogSink
from nasiko.errors import BuildFailed, Unavailable

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

LABEL_ID = "nasiko.agent.id"
LABEL_SLUG = "nasiko.agent.slug"
LABEL_VERSION = "nasiko.agent.version"
LABEL_MANAGED = "nasiko.managed"
_TAIL = 60
_DONE = object()


def sdk() -> ModuleType:
    try:
        import docker
    except ImportError as exc:
        raise ImportError(
            "the docker runtime needs the docker SDK: pip install 'nasiko[docker]'"
        ) from exc
    return docker


def connect(docker_host: str | None) -> DockerClient:
    """A client for ``docker_host`` (default: ``DOCKER_HOST``, else the local socket)."""
    docker = sdk()
    try:
        if docker_host:
            client = docker.DockerClient(base_url=docker_host, version="auto")
        else:
            client = docker.from_env(version="auto")
        client.ping()
    except docker.errors.DockerException as exc:
        raise Unavailable(
            f"no container engine answers at {docker_host or 'DOCKER_HOST'}: {exc}; start "
            "Docker or `podman system service` and set DOCKER_HOST "
            "(scripts/ci/container-engine.sh does both on Debian)",
            details={"docker_host": docker_host},
        ) from exc
    return client


def ensure_network(client: DockerClient, name: str) -> None:
    errors = sdk().errors
    try:
        client.networks.get(name)
        return
    except errors.NotFound:
        pass
    try:
        client.networks.create(name, driver="bridge", labels={"nasiko.managed": "true"})
    except errors.APIError as exc:
        if exc.status_code != 409:  # created meanwhile by another worker
            raise


def image_exists(client: DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except sdk().errors.ImageNotFound:
        return False
    return True


def remove_image(client: DockerClient, ref: str) -> None:
    with contextlib.suppress(sdk().errors.ImageNotFound):
        client.images.remove(ref)


async def ensure_base(client: DockerClient, image: str, *, pull: bool, log: LogSink) -> None:
    if await asyncio.to_thread(image_exists, client, image):
        return
    hint = (
        "load it into the engine (docker load / docker import), or map it to a local image "
        "with the base image map (NASIKO_RUNTIME_BASE_IMAGE_MAP)"
    )
    if not pull:
        raise BuildFailed(
            f"base image {image} is not in the container engine and pulling is off; {hint}",
            details={"image": image},
        )
    await log(f"pulling base image {image}")
    errors = sdk().errors
    try:
        await asyncio.to_thread(client.images.pull, image)
    except errors.APIError as exc:
        raise BuildFailed(
            f"cannot pull base image {image}: {exc.explanation or exc}; {hint}",
            details={"image": image},
        ) from exc


async def _pump(iterator: Iterator[Any]) -> AsyncGenerator[Any, None]:
    """Iterate a blocking iterator in a thread, yielding its items on the event loop.

    A consumer that stops early must also end the iterator's source (close its response), or the
    thread stays blocked until the source yields again.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def _put(item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while the source was blocked
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def _run() -> None:
        try:
            for item in iterator:
                _put(item)
        except BaseException as exc:
            _put(exc)
        finally:
            _put(_DONE)

    worker = asyncio.create_task(asyncio.to_thread(_run))
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # _run reports its own errors through the queue; the task only ends the thread.
        worker.add_done_callback(lambda t: t.cancelled() or t.exception())


async def build_image(
    client: DockerClient,
    *,
    context: Path,
    tag: str,
    build_args: dict[str, str],
    network_mode: str | None,
    labels: dict[str, str],
    max_seconds: float | None,
    log: LogSink,
) -> str:
    """Build ``context`` as ``tag``, streaming the engine's output to ``log``; the image id."""
    errors = sdk().errors
    tail: deque[str] = deque(maxlen=_TAIL)
    deadline = time.monotonic() + max_seconds if max_seconds else None
    # The call uploads the context before it returns the stream: not on the event loop.
    stream = await asyncio.to_thread(
        client.api.build,
        path=str(context),
        tag=tag,
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        buildargs=build_args or None,
        network_mode=network_mode,
        labels=labels,
    )
    image_id: str | None = None
    error: str | None = None
    chunks = _pump(stream)
    try:
        async for chunk in chunks:
            if "stream" in chunk:
                for line in str(chunk["stream"]).splitlines():
                    if line.strip():
                        tail.append(line)
                        await log(line)
            elif "status" in chunk:
                tail.append(str(chunk["status"]))
            if "aux" in chunk and isinstance(chunk["aux"], dict):
                image_id = chunk["aux"].get("ID", image_id)
            if "error" in chunk:
                error = str(chunk.get("errorDetail", {}).get("message") or chunk["error"])
                tail.append(error)
                await log(error)
            if deadline is not None and time.monotonic() > deadline:
                raise BuildFailed(
                    f"building {tag} took longer than {max_seconds:.0f}s",
                    details={"image": tag, "log_tail": list(tail)},
                )
    except errors.APIError as exc:
        error = str(exc.explanation or exc)
        tail.append(error)
    finally:
        await chunks.aclose()
    if error is not None:
        raise BuildFailed(
            f"building the image {tag} failed: {error.strip()}",
            details={"image": tag, "log_tail": list(tail)},
        )
    if image_id is None:
        image_id = str((await asyncio.to_thread(client.images.get, tag)).id)
    return image_id


def run_container(client: DockerClient, image: str, **options: Any) -> Container:
    errors = sdk().errors
    try:
        return client.containers.run(image, detach=True, **options)
    except errors.APIError as exc:
        raise BuildFailed(
            f"the engine refused to run {image}: {exc.explanation or exc}",
            details={"image": image, "container": options.get("name")},
        ) from exc


def set_restart_policy(container: Container, policy: dict[str, Any]) -> bool:
    """False when the engine cannot update a container's restart policy."""
    try:
        container.update(restart_policy=policy)
    except sdk().errors.APIError:
        return False
    return True


def get_container(client: DockerClient, ref: str) -> Container | None:
    try:
        return client.containers.get(ref)
    except sdk().errors.NotFound:
        return None


def find_by_labels(client: DockerClient, labels: dict[str, str]) -> list[Container]:
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    return list(client.containers.list(all=True, filters=filters))


def published(container: Container) -> tuple[int, int] | None:
    """(container port, host port) of the first TCP port published on the host."""
    ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
    for key, bindings in ports.items():
        if key.endswith("/tcp") and bindings:
            return int(key.split("/")[0]), int(bindings[0]["HostPort"])
    # Not running yet: the request, as created.
    for key, bindings in (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).items():
        if key.endswith("/tcp") and bindings and bindings[0].get("HostPort"):
            return int(key.split("/")[0]), int(bindings[0]["HostPort"])
    return None


def published_endpoint(container: Container) -> str | None:
    found = published(container)
    return f"http://127.0.0.1:{found[1]}" if found else None


def exec_output(container: Container, cmd: list[str]) -> str | None:
    """Output of ``cmd`` run in the container, or None (not running, no such program)."""
    errors = sdk().errors
    try:
        result = container.exec_run(cmd, demux=False)
    except errors.APIError:
        return None
    if result.exit_code not in (0, None) and not result.output:
        return None
    return bytes(result.output or b"").decode("utf-8", "replace")


def log_lines(container: Container, tail: int) -> list[str]:
    try:
        raw = container.logs(tail=tail, stdout=True, stderr=True)
    except sdk().errors.NotFound:
        return []
    return bytes(raw).decode("utf-8", "replace").splitlines()


def save_logs(container: Container, path: Path) -> None:
    """Keep the container's whole log beside the platform once the container is removed."""
    with contextlib.suppress(sdk().errors.NotFound):
        raw = container.logs(stdout=True, stderr=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)


def stop_and_remove(container: Container, grace: float) -> None:
    errors = sdk().errors
    with contextlib.suppress(errors.NotFound):
        container.stop(timeout=max(1, int(grace)))
    remove(container)


def remove(container: Container) -> None:
    errors = sdk().errors
    try:
        container.remove(force=True)
    except errors.NotFound:
        return
    except errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            raise


async def follow(container: Container) -> AsyncIterator[str]:
    """New log lines until the container stops (or the caller stops iterating)."""
    stream = await asyncio.to_thread(
        container.logs, stream=True, follow=True, stdout=True, stderr=True, tail=0
    )
    chunks = _pump(stream)
    partial = b""
    try:
        async for chunk in chunks:
            partial += bytes(chunk)
            *lines, partial = partial.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace")
        if partial:
            yield partial.decode("utf-8", "replace")
    finally:
        # Closing the response ends the blocked read in the pump thread.
        with contextlib.suppress(OSError, AttributeError):
            await asyncio.to_thread(stream.close)
        await chunks.aclose()
