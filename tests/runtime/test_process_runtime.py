"""The process runtime, for real: venvs, agent processes, supervision, recovery.

Builds use ``inherit_site_packages=True`` so a2a-sdk comes from the project venv (fast, offline).
Polling loops have an attempt bound only as a safety net; no assertion depends on timing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from nasiko.core.ports import AgentSpec, Deployment, Runtime
from nasiko.errors import BuildFailed
from nasiko.runtime import ProcessRuntime, procutil

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)


async def eventually(check: Callable[[], Awaitable[bool]], *, attempts: int = 600) -> None:
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


def spec_for(name: str, *, slug: str | None = None, source: Path | None = None, **kw) -> AgentSpec:
    return AgentSpec(
        agent_id=f"id-{slug or name}",
        slug=slug or name,
        version=1,
        source_dir=source or FIXTURES / name,
        **kw,
    )


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(
        tmp_path / "data",
        inherit_site_packages=True,
        backoff_initial=0.05,
        backoff_max=0.2,
        stop_grace=5.0,
        start_timeout=60.0,
    )
    yield rt
    await rt.close()


async def deploy(rt: ProcessRuntime, spec: AgentSpec, log: Lines | None = None) -> Deployment:
    log = log or Lines()
    artifact = await rt.build(spec, log=log)
    return await rt.start(spec, artifact, log=log)


async def card(endpoint: str) -> dict:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                resp = await client.get(endpoint + "/.well-known/agent-card.json")
                return resp.raise_for_status().json()
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{endpoint} never answered")


def popen(argv: list[str], **kw) -> subprocess.Popen[bytes]:
    """A process the runtime did not start (kept by PID, stopped by the test)."""
    return subprocess.Popen(argv, **kw)


def make_package(root: Path, server: str) -> Path:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text(
        'FROM python:3.12-slim\nCOPY . /app\nWORKDIR /app\nCMD ["python", "server.py"]\n'
    )
    (root / "server.py").write_text(server)
    return root


TREE_SERVER = """
import http.server, json, os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("child.pid", "w").write(str(child.pid))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"name": "tree"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

FLAKY_SERVER = """
import os, socket, sys, time
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(os.environ["PORT"])))
sock.listen()
print("up, about to crash", flush=True)
time.sleep(0.3)
sys.exit(4)
"""


def test_is_a_runtime(tmp_path: Path) -> None:
    assert isinstance(ProcessRuntime(tmp_path), Runtime)


async def test_echo_agent_builds_starts_and_answers(runtime: ProcessRuntime) -> None:
    log = Lines()
    spec = spec_for("echo-agent", env={"ECHO_PREFIX": "platform"})
    dep = await deploy(runtime, spec, log)
    assert dep.runtime == "process"
    assert dep.endpoints[0] == f"http://127.0.0.1:{dep.extra['port']}"
    assert (await card(dep.endpoints[0]))["name"] == "Echo Agent"
    async with httpx.AsyncClient() as client:
        resp = await client.post(
            dep.endpoints[0] + "/",
            headers={"A2A-Version": "1.0"},
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendMessage",
                "params": {
                    "message": {"role": "ROLE_USER", "messageId": "m1", "parts": [{"text": "hi"}]}
                },
            },
        )
    assert resp.json()["result"]["message"]["parts"][0]["text"] == "platform: hi"
    assert await runtime.status(dep) == "running"
    assert any("listening at" in line for line in log.lines)
    assert any("Uvicorn running on http://127.0.0.1" in line for line in await runtime.logs(dep))

    again = Lines()
    assert await runtime.build(spec, log=again) == dep.artifact
    assert any("reusing the environment" in line for line in again.lines)


async def test_plain_agent_card_comes_from_the_server(runtime: ProcessRuntime) -> None:
    dep = await deploy(runtime, spec_for("plain-agent"))
    assert (await card(dep.endpoints[0]))["name"] == "Plain Agent"


async def test_fixed_port_agent_is_found_and_second_copy_fails(runtime: ProcessRuntime) -> None:
    log = Lines()
    dep = await deploy(runtime, spec_for("fixed-port-agent"), log)
    assert dep.endpoints == ["http://127.0.0.1:47613"]
    assert dep.extra["port"] != 47613 and dep.extra["listen_port"] == 47613
    assert any("ignores PORT" in line for line in log.lines)
    assert (await card(dep.endpoints[0]))["name"] == "Fixed Port Agent"
    assert await runtime.status(dep) == "running"

    with pytest.raises(BuildFailed) as err:
        await deploy(runtime, spec_for("fixed-port-agent", slug="fixed-port-copy"))
    assert "address already in use" in err.value.message.lower()
    assert "exited with code 3" in err.value.message  # uvicorn: startup failure
    assert err.value.details["log_tail"]


async def test_crash_is_restarted(runtime: ProcessRuntime) -> None:
    dep = await deploy(runtime, spec_for("echo-agent"))
    first = dep.extra["pid"]
    os.kill(first, signal.SIGKILL)

    async def restarted() -> bool:
        info = runtime.info(dep)
        return info["restarts"] == 1 and await runtime.status(dep) == "running"

    await eventually(restarted)
    assert dep.extra["pid"] != first and not procutil.alive(first)
    assert (await card(dep.endpoints[0]))["name"] == "Echo Agent"
    assert any("exited with code -9; restarting" in line for line in await runtime.logs(dep))


async def test_repeated_crashes_end_in_failed(tmp_path: Path) -> None:
    rt = ProcessRuntime(
        tmp_path / "data", inherit_site_packages=True, backoff_initial=0.01, max_restarts=2
    )
    try:
        dep = await deploy(
            rt, spec_for("flaky", source=make_package(tmp_path / "flaky", FLAKY_SERVER))
        )

        async def failed() -> bool:
            return await rt.status(dep) == "failed"

        await eventually(failed)
        assert rt.info(dep)["restarts"] == 2
        logs = await rt.logs(dep)
        assert sum("up, about to crash" in line for line in logs) == 3
        assert "giving up after 2 restarts" in logs[-1]
    finally:
        await rt.close()


async def test_exit_during_start_reports_log_tail(runtime: ProcessRuntime, tmp_path: Path) -> None:
    pkg = make_package(
        tmp_path / "bad", "import sys\nprint('missing API key OPENAI_API_KEY')\nsys.exit(3)\n"
    )
    with pytest.raises(BuildFailed) as err:
        await deploy(runtime, spec_for("bad", source=pkg))
    assert (
        err.value.message == "bad exited with code 3 while starting: missing API key OPENAI_API_KEY"
    )


async def test_stop_kills_the_whole_tree(runtime: ProcessRuntime, tmp_path: Path) -> None:
    pkg = make_package(tmp_path / "tree", TREE_SERVER)
    dep = await deploy(runtime, spec_for("tree", source=pkg))
    assert (await card(dep.endpoints[0]))["name"] == "tree"
    child = int((pkg / "child.pid").read_text())
    leader = dep.extra["pid"]
    assert procutil.alive(child) and procutil.alive(leader)
    await runtime.stop(dep)
    assert not procutil.alive(leader) and not procutil.alive(child)
    assert await runtime.status(dep) == "stopped"
    assert (await runtime.logs(dep))[-1].endswith("stopped")


async def test_close_leaves_no_orphans(tmp_path: Path) -> None:
    rt = ProcessRuntime(tmp_path / "data", inherit_site_packages=True)
    pkg = make_package(tmp_path / "tree", TREE_SERVER)
    deps = [
        await deploy(rt, spec_for("tree", source=pkg)),
        await deploy(rt, spec_for("echo-agent")),
    ]
    pids = [d.extra["pid"] for d in deps] + [int((pkg / "child.pid").read_text())]
    assert all(procutil.alive(p) for p in pids)
    await rt.close()
    assert not any(procutil.alive(p) for p in pids)
    with pytest.raises(Exception, match="closed"):
        await rt.start(spec_for("echo-agent"), deps[1].artifact or "", log=Lines())


async def test_follow_logs_yields_new_lines(runtime: ProcessRuntime) -> None:
    dep = await deploy(runtime, spec_for("echo-agent"))
    stream = runtime.follow_logs(dep)

    async def first_card_line() -> str:
        async for line in stream:
            if "agent-card.json" in line:
                return line
        raise AssertionError("log stream ended")

    reader = asyncio.create_task(first_card_line())
    await asyncio.sleep(0)
    await card(dep.endpoints[0])
    line = await asyncio.wait_for(reader, 30)
    assert "GET /.well-known/agent-card.json" in line
    await runtime.stop(dep)


async def test_recover_restarts_a_survivor_of_the_old_platform(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    spec = spec_for("echo-agent")
    artifact = await runtime.build(spec, log=Lines())
    port = procutil.free_port()
    # The "old platform" started this agent and then died: it is still running, unsupervised.
    old = popen(
        [f"{artifact}/bin/python", "src/main.py"],
        cwd=FIXTURES / "echo-agent",
        env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await card(f"http://127.0.0.1:{port}")
        stored = Deployment(
            runtime="process",
            ref=str(old.pid),
            endpoints=[f"http://127.0.0.1:{port}"],
            artifact=artifact,
            extra={"pid": old.pid, "port": port, **procutil.identity(old.pid)},  # type: ignore[dict-item]
        )
        assert await runtime.status(stored) == "running"
        new = await runtime.recover(stored, spec)
        assert old.wait(timeout=10) is not None
        assert new.extra["pid"] != old.pid
        assert new.endpoints == stored.endpoints  # same port: stored URLs stay valid
        assert (await card(new.endpoints[0]))["name"] == "Echo Agent"
        assert await runtime.status(new) == "running"
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()


async def test_recover_never_kills_a_reused_pid(runtime: ProcessRuntime) -> None:
    bystander = popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        ident = procutil.identity(bystander.pid)
        assert ident is not None
        stored = Deployment(
            runtime="process",
            ref=str(bystander.pid),
            endpoints=[],
            extra={"pid": bystander.pid, "create_time": ident["create_time"] - 1000},
        )
        assert await runtime.status(stored) == "stopped"
        await runtime.stop(stored)
        new = await runtime.recover(stored, spec_for("echo-agent"))
        assert bystander.poll() is None  # untouched
        assert (await card(new.endpoints[0]))["name"] == "Echo Agent"
    finally:
        bystander.kill()
        bystander.wait()


async def test_pip_fallback_builds_a_working_venv(tmp_path: Path) -> None:
    rt = ProcessRuntime(tmp_path / "data", inherit_site_packages=True, use_uv=False)
    try:
        log = Lines()
        dep = await deploy(rt, spec_for("echo-agent"), log)
        assert any("with pip" in line for line in log.lines)
        assert "pip" in os.listdir(Path(dep.artifact or "", "bin"))
        assert (await card(dep.endpoints[0]))["name"] == "Echo Agent"
    finally:
        await rt.close()


async def test_requirements_change_rebuilds(runtime: ProcessRuntime, tmp_path: Path) -> None:
    pkg = make_package(tmp_path / "pkg", TREE_SERVER)
    (pkg / "requirements.txt").write_text("httpx\n")
    spec = spec_for("pkg", source=pkg)
    first = Lines()
    venv = await runtime.build(spec, log=first)
    assert any("no dependencies to install" in line for line in first.lines)  # httpx inherited
    (pkg / "requirements.txt").write_text("httpx\npyyaml\n")
    second = Lines()
    assert await runtime.build(spec, log=second) == venv
    assert any("removing the outdated environment" in line for line in second.lines)
