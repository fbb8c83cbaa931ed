"""The docker runtime against a real engine (dockerd started by scripts/ci/container-engine.sh).

Images build offline: ``python:*`` bases map to the local nasiko/python-base:bookworm and pip
installs from the host-built wheelhouse. Every test's containers live on a network of their own,
removed afterwards with everything attached to it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from docker_fixtures import (
    BASE_IMAGE,
    BASE_IMAGES,
    CARD,
    FIXTURES,
    echo_package,
    ensure_engine,
    write_package,
)

from nasiko.a2a import fetch_card, rewrite_card_urls, send_text
from nasiko.core.ports import AgentSpec, Deployment, Runtime
from nasiko.errors import BuildFailed, ConfigurationError
from nasiko.runtime.docker import LABEL_ID, LABEL_SLUG, LABEL_VERSION, DockerRuntime
from nasiko.runtime.docker_context import map_base, parse_base_image_map, rewrite_dockerfile
from nasiko.runtime.docker_probe import Listener, parse_proc_net_tcp

# The first run on a clean machine installs docker.io and debootstraps the base image.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines)


# --------------------------------------------------------------------------- engine and runtime


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    host = ensure_engine()
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    yield host
    if old is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = old


@pytest.fixture(scope="session")
def engine(docker_host: str) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=docker_host, version="auto")
    yield client
    # Rebuilt tags leave their previous images dangling; keep the engine's disk use bounded.
    client.images.prune(filters={"dangling": True, "label": "nasiko.managed=true"})
    client.close()


@pytest.fixture
def network(engine: docker.DockerClient) -> Iterator[str]:
    name = f"nasiko-test-{uuid.uuid4().hex[:8]}"
    yield name
    for container in engine.containers.list(all=True, filters={"network": name}):
        container.remove(force=True)
    for net in engine.networks.list(names=[name]):
        net.remove()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by all tests, so the wheelhouse is resolved once.
    return tmp_path_factory.mktemp("docker-runtime")


def make_runtime(data_root: Path, network: str, **kw: Any) -> DockerRuntime:
    options: dict[str, Any] = {
        "network": network,
        "base_images": BASE_IMAGES,
        "wheelhouse": True,
        "pull_missing_bases": False,
        "start_timeout": 90.0,
        "stop_grace": 2.0,
    }
    return DockerRuntime(data_root, **{**options, **kw})


@pytest.fixture
async def runtime(data_root: Path, network: str, docker_host: str) -> AsyncIterator[DockerRuntime]:
    rt = make_runtime(data_root, network)
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
def echo_build(docker_host: str, data_root: Path) -> tuple[AgentSpec, str, str]:
    """The echo fixture agent, built once: (spec, image id, build log)."""
    spec = AgentSpec(
        agent_id=f"agent-{uuid.uuid4().hex[:8]}",
        slug="echo-agent",
        version=1,
        source_dir=echo_package(data_root / "packages"),
    )
    log = Lines()

    async def build() -> str:
        rt = make_runtime(data_root, "unused")
        try:
            return await rt.build(spec, log=log)
        finally:
            await rt.close()

    image = asyncio.run(build())
    return spec, image, log.text()


async def ask(endpoint: str, text: str) -> str:
    """Talk A2A to the agent as the gateway does: its card, with URLs pointing where it runs."""
    async with httpx.AsyncClient() as client:
        card, _ = await fetch_card(endpoint, client=client)
        reply = await send_text(rewrite_card_urls(card, endpoint), text, client=client)
    return reply.text


# --------------------------------------------------------------------------- build


def test_runtime_satisfies_the_port(runtime: DockerRuntime) -> None:
    assert isinstance(runtime, Runtime)
    assert runtime.name == "docker"


def test_build_uses_local_base_and_wheelhouse(
    echo_build: tuple[AgentSpec, str, str], engine: docker.DockerClient
) -> None:
    spec, image_id, log = echo_build
    assert "base image python:3.12-slim -> nasiko/python-base:bookworm" in log
    assert "wheelhouse" in log and "Successfully installed" in log
    image = engine.images.get(image_id)
    assert "nasiko/agent-echo-agent:v1" in image.tags
    assert image.labels[LABEL_ID] == spec.agent_id
    assert image.labels[LABEL_SLUG] == "echo-agent"
    assert image.labels[LABEL_VERSION] == "1"
    # Build arguments (the wheelhouse URL, PIP_NO_INDEX) do not stay in the image.
    env = image.attrs["Config"]["Env"]
    assert not [e for e in env if e.startswith(("PIP_NO_INDEX", "PIP_FIND_LINKS"))]
    assert "ECHO_PREFIX=echo" in env
    # The agent's own files are untouched: only the build context copy was rewritten.
    assert "FROM python:3.12-slim" in (spec.source_dir / "Dockerfile").read_text()
    assert "FROM python:3.12-slim" in (FIXTURES / "echo-agent" / "Dockerfile").read_text()


async def test_failing_build_reports_its_log_tail(runtime: DockerRuntime, tmp_path: Path) -> None:
    pkg = write_package(
        tmp_path,
        "broken",
        """
        FROM python:3.12-slim
        RUN echo "compiling the flux capacitor" && exit 3
        CMD ["python", "-m", "http.server"]
        """,
    )
    spec = AgentSpec(agent_id="id-broken", slug="broken", version=1, source_dir=pkg)
    with pytest.raises(BuildFailed) as info:
        await runtime.build(spec, log=Lines())
    assert "non-zero code: 3" in info.value.message
    assert info.value.message.startswith("building the image nasiko/agent-broken:v1 failed")
    assert any("compiling the flux capacitor" in line for line in info.value.details["log_tail"])


async def test_missing_base_image_fails_without_pulling(
    runtime: DockerRuntime, tmp_path: Path
) -> None:
    pkg = write_package(tmp_path, "orphan", 'FROM registry.example.invalid/none:1\nCMD ["true"]\n')
    spec = AgentSpec(agent_id="id-orphan", slug="orphan", version=1, source_dir=pkg)
    with pytest.raises(BuildFailed) as info:
        await runtime.build(spec, log=Lines())
    assert "registry.example.invalid/none:1 is not in the container engine" in info.value.message
    assert "NASIKO_RUNTIME_BASE_IMAGE_MAP" in info.value.message


# --------------------------------------------------------------------------- run


async def test_echo_agent_runs_with_labels_limits_network_and_answers_a2a(
    runtime: DockerRuntime,
    echo_build: tuple[AgentSpec, str, str],
    engine: docker.DockerClient,
    network: str,
) -> None:
    spec, image, _ = echo_build
    log = Lines()
    dep = await runtime.start(spec, image, log=log)
    assert dep.runtime == "docker" and dep.artifact == image
    assert await ask(dep.endpoints[0], "hello docker") == "echo: hello docker"
    assert await runtime.status(dep) == "running"

    container = engine.containers.get(dep.ref)
    assert container.labels[LABEL_ID] == spec.agent_id
    assert container.labels[LABEL_SLUG] == "echo-agent"
    assert container.labels[LABEL_VERSION] == "1"
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 256 * 1024 * 1024  # mem_limit: 256m in docker-compose.yml
    assert host["NanoCpus"] == 500_000_000  # cpus: 0.5
    assert host["RestartPolicy"]["Name"] == "on-failure"
    env = container.attrs["Config"]["Env"]
    assert "ECHO_GREETING=hello from compose" in env and "PORT=5000" in env
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [network]
    binding = container.attrs["NetworkSettings"]["Ports"]["5000/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1"
    assert dep.endpoints == [f"http://127.0.0.1:{binding['HostPort']}"]

    # Another container on the agents' network reaches it at its network endpoint.
    probe = (
        "import json, sys, urllib.request; "
        "print(json.load(urllib.request.urlopen(sys.argv[1] + '/.well-known/agent-card.json'))"
        "['name'])"
    )
    out = engine.containers.run(
        BASE_IMAGE,
        ["python", "-c", probe, dep.extra["network_endpoint"]],
        network=network,
        remove=True,
    )
    assert out.decode().strip() == spec_card_name(spec)


def spec_card_name(spec: AgentSpec) -> str:
    import json

    return str(json.loads((spec.source_dir / "AgentCard.json").read_text())["name"])


async def test_logs_follow_stop_keeps_image_and_log(
    runtime: DockerRuntime, echo_build: tuple[AgentSpec, str, str], engine: docker.DockerClient
) -> None:
    spec, image, _ = echo_build
    dep = await runtime.start(spec, image, log=Lines())
    assert any("Uvicorn running" in line for line in await runtime.logs(dep, tail=50))

    seen: list[str] = []

    async def follow() -> None:
        async for line in runtime.follow_logs(dep):
            seen.append(line)
            if "POST /" in line:
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.5)  # let the follow request reach the engine
    for _ in range(100):
        await ask(dep.endpoints[0], "follow me")
        if follower.done():
            break
        await asyncio.sleep(0.2)
    await asyncio.wait_for(follower, 30)
    assert any("POST /" in line for line in seen)

    await runtime.stop(dep)
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(dep.ref)
    assert await runtime.status(dep) == "stopped"
    assert engine.images.get(image).id == image  # kept for rollback
    kept = await runtime.logs(dep, tail=200)
    assert any("Uvicorn running" in line for line in kept)
    await runtime.stop(dep)  # stopping twice is fine


async def test_follow_logs_ends_when_the_container_stops(
    runtime: DockerRuntime, echo_build: tuple[AgentSpec, str, str], engine: docker.DockerClient
) -> None:
    spec, image, _ = echo_build
    dep = await runtime.start(spec, image, log=Lines())
    lines: list[str] = []

    async def follow() -> None:
        async for line in runtime.follow_logs(dep):
            lines.append(line)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    await runtime.stop(dep)
    await asyncio.wait_for(follower, 30)
    assert any("Shutting down" in line or "Finished server process" in line for line in lines)


async def test_recover_by_label_after_platform_restart(
    data_root: Path,
    network: str,
    echo_build: tuple[AgentSpec, str, str],
    engine: docker.DockerClient,
) -> None:
    spec, image, _ = echo_build
    first = make_runtime(data_root, network)
    dep = await first.start(spec, image, log=Lines())
    await first.close()  # the platform stops; the container keeps running

    second = make_runtime(data_root, network)
    try:
        # Only what the database kept; the stored ref may even be stale.
        stored = Deployment(runtime="docker", ref="gone", endpoints=[], artifact=image)
        log = Lines()
        adopted = await second.recover(stored, spec, log=log)
        assert adopted.ref == dep.ref and adopted.endpoints == dep.endpoints
        assert "adopted running container" in log.text()
        assert await ask(adopted.endpoints[0], "still there?") == "echo: still there?"

        # Stopped while the platform was down: started again, same container and endpoint.
        engine.containers.get(dep.ref).stop(timeout=2)
        assert await second.status(adopted) == "stopped"
        again = await second.recover(adopted, spec, log=log)
        assert again.ref == dep.ref and again.endpoints == dep.endpoints
        assert await second.status(again) == "running"
        assert await ask(again.endpoints[0], "back") == "echo: back"

        # Removed: a new container from the kept image.
        engine.containers.get(dep.ref).remove(force=True)
        fresh = await second.recover(again, spec, log=log)
        assert fresh.ref != dep.ref and fresh.artifact == image
        assert await ask(fresh.endpoints[0], "new") == "echo: new"
        await second.stop(fresh)
    finally:
        await second.close()


async def test_plain_contract_agent_with_pyproject_and_arg_in_from(
    runtime: DockerRuntime, tmp_path: Path
) -> None:
    """`ARG PY` + `FROM python:${PY}-slim`, `pip install .` (its build backend comes from the
    wheelhouse too), a shell-form uvicorn CMD, and a card that exists only at run time."""
    import shutil

    pkg = tmp_path / "plain-agent"
    shutil.copytree(FIXTURES / "plain-agent", pkg)
    spec = AgentSpec(agent_id=f"id-{uuid.uuid4().hex[:6]}", slug="plain", version=3, source_dir=pkg)
    log = Lines()
    image = await runtime.build(spec, log=log)
    assert "base image python:3.12-slim -> nasiko/python-base:bookworm" in log.text()
    dep = await runtime.start(spec, image, log=log)
    assert dep.extra["container_port"] == 8080  # no EXPOSE, no compose: the default PORT
    assert await ask(dep.endpoints[0], "docker") == "plain hello, docker"
    await runtime.stop(dep)


# --------------------------------------------------------------------------- start failures


async def test_agent_that_exits_fails_with_log_tail(
    runtime: DockerRuntime, tmp_path: Path, engine: docker.DockerClient
) -> None:
    pkg = write_package(
        tmp_path,
        "crasher",
        """
        FROM python:3.12-slim
        CMD ["python", "-c", "import sys; print('model file missing: /models/x.bin'); sys.exit(4)"]
        """,
    )
    spec = AgentSpec(
        agent_id=f"id-{uuid.uuid4().hex[:6]}", slug="crasher", version=1, source_dir=pkg
    )
    image = await runtime.build(spec, log=Lines())
    with pytest.raises(BuildFailed) as info:
        await runtime.start(spec, image, log=Lines())
    assert "crasher exited with code 4 while starting" in info.value.message
    assert "model file missing" in info.value.message
    assert "model file missing: /models/x.bin" in info.value.details["log_tail"]
    # The failed container is removed.
    assert engine.containers.list(all=True, filters={"label": f"{LABEL_ID}={spec.agent_id}"}) == []


async def test_agent_bound_to_its_own_loopback_gets_a_clear_reason(
    runtime: DockerRuntime, tmp_path: Path
) -> None:
    pkg = write_package(
        tmp_path,
        "shy",
        """
        FROM python:3.12-slim
        CMD ["python", "-m", "http.server", "--bind", "127.0.0.1", "7000"]
        """,
    )
    spec = AgentSpec(agent_id=f"id-{uuid.uuid4().hex[:6]}", slug="shy", version=1, source_dir=pkg)
    image = await runtime.build(spec, log=Lines())
    with pytest.raises(BuildFailed) as info:
        await runtime.start(spec, image, log=Lines())
    assert "listens only on its container's loopback (127.0.0.1:7000)" in info.value.message
    assert "0.0.0.0:$PORT" in info.value.message


async def test_agent_ignoring_port_is_published_where_it_listens(
    runtime: DockerRuntime, tmp_path: Path
) -> None:
    import json

    pkg = write_package(
        tmp_path,
        "stubborn",
        """
        FROM python:3.12-slim
        WORKDIR /srv
        COPY agent-card.json /srv/.well-known/agent-card.json
        CMD ["python", "-m", "http.server", "7001"]
        """,
        {"agent-card.json": json.dumps(CARD)},
    )
    spec = AgentSpec(
        agent_id=f"id-{uuid.uuid4().hex[:6]}", slug="stubborn", version=1, source_dir=pkg
    )
    image = await runtime.build(spec, log=Lines())
    log = Lines()
    dep = await runtime.start(spec, image, log=log)
    assert "the agent ignores PORT=8080 and listens on 7001" in log.text()
    assert dep.extra["container_port"] == 7001 and dep.extra["listen_port"] == 7001
    async with httpx.AsyncClient() as client:
        card, _ = await fetch_card(dep.endpoints[0], client=client)
    assert card["name"] == "Static card"
    await runtime.stop(dep)


# --------------------------------------------------------------------------- pure parts


def test_from_lines_are_mapped_with_args_stages_and_patterns() -> None:
    text = (
        "ARG PY=3.12\n"
        "FROM --platform=linux/amd64 python:${PY}-slim AS builder\n"
        "RUN pip wheel -w /w .\n"
        "FROM builder AS test\n"
        "FROM debian:bookworm\n"
        "COPY --from=builder /w /w\n"
    )
    ctx = rewrite_dockerfile(
        text,
        {"python:3.11*": "other", "python:*": "local/py:1", "debian:bookworm": "local/deb"},
        declare_args=["PIP_NO_INDEX"],
    )
    lines = ctx.dockerfile.splitlines()
    assert lines[1] == "FROM --platform=linux/amd64 local/py:1 AS builder"
    assert lines[2] == "ARG PIP_NO_INDEX"
    assert "FROM builder AS test" in lines  # a stage, not an image
    assert "FROM local/deb" in lines
    assert ctx.bases == ["local/py:1", "local/deb"]
    assert ctx.substituted == {"python:3.12-slim": "local/py:1", "debian:bookworm": "local/deb"}
    # Build arguments override ARG defaults, as they do in the engine.
    ctx = rewrite_dockerfile(text, {"python:3.11-slim": "x/y"}, build_args={"PY": "3.11"})
    assert ctx.bases == ["x/y", "debian:bookworm"]


def test_base_image_map_forms() -> None:
    assert parse_base_image_map('{"python:3.12-slim": "a/b:1"}') == {"python:3.12-slim": "a/b:1"}
    assert parse_base_image_map("python:*=a/b:1, node:20=c") == {
        "python:*": "a/b:1",
        "node:20": "c",
    }
    assert parse_base_image_map("") == {}
    assert map_base("python", {"python:latest": "p"}) == "p"
    assert map_base("ubuntu:24.04", {"python:*": "p"}) is None
    with pytest.raises(ConfigurationError):
        parse_base_image_map("python:3.12-slim")
    with pytest.raises(ConfigurationError):
        parse_base_image_map('{"a": 1}')


def test_proc_net_tcp_listeners() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        "   2: 0100007F:1B58 0100007F:9C40 01 00000000:00000000 00:00000000 00000000\n"
        "   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A\n"
    )
    found = parse_proc_net_tcp(text)
    assert found == [
        Listener("127.0.0.1", 7000),
        Listener("0.0.0.0", 8080),
        Listener("::1", 8081),
    ]
    assert [x.loopback_only for x in found] == [True, False, True]


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(ImportError, match=r"nasiko\[docker\]"):
        DockerRuntime(tmp_path)
