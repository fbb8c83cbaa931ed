"""Agents written the way public A2A samples are written deploy unmodified; the platform
brings running agents back after a restart and deploys its agents folder at start."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nasiko.a2a import send_text
from nasiko.client import ApiError, NasikoClient
from nasiko.runtime import procutil
from nasiko.testing.packages import deploy_settings, zip_folder
from nasiko.testing.platform import PlatformThread

ADMIN = ("admin", "admin-password-1")
FIXED_PORT = 47613  # hard-wired in tests/fixtures/agents/fixed-port-agent/server.py

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 180) -> Any:
    """Poll until ``check`` returns something truthy (a generous bound, not a timing claim)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}; last saw {last!r}")


def upload(client: NasikoClient, folder: Path, **fields: str) -> dict[str, Any]:
    name = fields.pop("name", folder.name)
    resp = client.request(
        "POST",
        "/uploads",
        files={"file": (f"{name}.zip", zip_folder(folder, wrap=name), "application/zip")},
        data=fields,
    )
    assert resp.status_code == 202, resp.text
    return resp.json()  # type: ignore[no-any-return]


def finished(client: NasikoClient, upload_id: str, timeout: float = 300) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        up: dict[str, Any] = client.get(f"/uploads/{upload_id}")
        return up if up["status"] in ("registered", "failed") else None

    return wait_for(check, f"upload {upload_id} to end", timeout)  # type: ignore[no-any-return]


def step_log(up: dict[str, Any], name: str) -> list[str]:
    return next(s["log"] for s in up["steps"] if s["name"] == name)


def ask(target: dict[str, Any] | str, text: str, *, version: str = "1.0", token: str = "") -> str:
    async def go() -> str:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(timeout=30, headers=headers) as c:
            return (await send_text(target, text, client=c, version=version)).text

    return asyncio.run(go())


def interface_urls(card: dict[str, Any]) -> list[str]:
    return [i["url"] for i in card["supportedInterfaces"]]


# ---------------------------------------------------------------- a2a-sdk 0.3 sample


def test_v03_sample_agent_deploys_unmodified(
    admin: NasikoClient, deploy_platform: PlatformThread
) -> None:
    folder = FIXTURES / "legacy-v03-agent"
    done = finished(admin, upload(admin, folder)["id"])
    assert done["status"] == "registered", (done["error"], done["steps"])
    # It serves its card only at the v0.3 location; the platform found it there.
    assert any(
        "agent card found at" in line and line.endswith("/.well-known/agent.json")
        for line in step_log(done, "health-checking")
    )

    agent = admin.get("/registries/legacy-v03-agent")
    endpoint = agent["endpoints"][0]
    assert agent["status"] == "running"
    # The registry keeps a v0.3 JSON-RPC interface at /a2a/v1 on the agent itself.
    [iface] = agent["card"]["supportedInterfaces"]
    assert iface["protocolBinding"] == "JSONRPC" and iface["protocolVersion"] == "0.3"
    assert iface["url"].endswith("/a2a/v1")
    original = admin.get("/registries/legacy-v03-agent/versions/1")["card_original"]
    assert original is None  # no card file in the package: the card came from the agent

    # The card clients see points at the gateway, never at the agent's own address.
    gateway = f"{deploy_platform.gateway_url}/agents/legacy-v03-agent"
    public = admin.get("/registries/legacy-v03-agent/card")
    assert interface_urls(public) == [f"{gateway}/a2a/v1"]
    legacy = admin.request("GET", "/registries/legacy-v03-agent/card?legacy=true").json()
    assert legacy["url"] == f"{gateway}/a2a/v1" and legacy["protocolVersion"].startswith("0.3")
    agent_origin = endpoint.removeprefix("http://")
    assert agent_origin not in json.dumps(public) and agent_origin not in json.dumps(legacy)

    # The agent's venv runs the SDK it asked for, not the platform's a2a-sdk 1.x.
    venv = Path(done["result"]["artifact"])
    sdk = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.metadata as m; print(m.version('a2a-sdk'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert sdk.startswith("0.3."), sdk

    # A v0.3 `message/send`, straight to the agent and through the gateway.
    assert ask(endpoint, "stressed", version="0.3") == "reversed: desserts"
    assert ask(public, "drawer", version="0.3", token=admin.tokens.access_token) == (
        "reversed: reward"
    )


# ---------------------------------------------------------------- fixed port


def test_fixed_port_agent_is_found_where_it_listens(
    admin: NasikoClient, deploy_platform: PlatformThread
) -> None:
    folder = FIXTURES / "fixed-port-agent"
    done = finished(admin, upload(admin, folder)["id"])
    assert done["status"] == "registered", (done["error"], done["steps"])
    assert any("ignores PORT=" in line for line in step_log(done, "deploying"))

    agent = admin.get("/registries/fixed-port-agent")
    assert agent["endpoints"] == [f"http://127.0.0.1:{FIXED_PORT}"]
    # Its card names its own address; the published card names the gateway only.
    assert interface_urls(agent["card"]) == [f"http://127.0.0.1:{FIXED_PORT}/"]
    public = admin.get("/registries/fixed-port-agent/card")
    assert interface_urls(public) == [f"{deploy_platform.gateway_url}/agents/fixed-port-agent/"]
    assert f"127.0.0.1:{FIXED_PORT}" not in json.dumps(public)
    assert agent["gateway_url"] == f"{deploy_platform.gateway_url}/agents/fixed-port-agent"
    assert ask(agent["endpoints"][0], "quiet please") == "QUIET PLEASE"
    assert ask(public, "via gateway", token=admin.tokens.access_token) == "VIA GATEWAY"

    # A second copy cannot have the same port: it fails and says why.
    second = finished(admin, upload(admin, folder, slug="fixed-port-copy")["id"])
    assert second["status"] == "failed"
    assert "address already in use" in second["error"].lower(), second["error"]
    assert any("address already in use" in line.lower() for line in step_log(second, "deploying"))
    # The failed copy is not registered and the first one still answers.
    with pytest.raises(ApiError) as missing:
        admin.get("/registries/fixed-port-copy")
    assert missing.value.status == 404
    assert ask(agent["endpoints"][0], "still here") == "STILL HERE"


# ---------------------------------------------------------------- no card file


def test_agent_without_a_card_file_gets_its_card_from_the_running_agent(
    admin: NasikoClient,
) -> None:
    folder = FIXTURES / "plain-agent"
    assert not [p for p in folder.iterdir() if p.suffix == ".json"]
    done = finished(admin, upload(admin, folder)["id"])
    assert done["status"] == "registered", (done["error"], done["steps"])
    assert any("plain layout" in line for line in step_log(done, "validating"))
    health = step_log(done, "health-checking")
    assert any(line.endswith("/.well-known/agent-card.json") for line in health)
    assert not any("package's card file" in line for line in health)

    version = admin.get("/registries/plain-agent/versions/1")
    assert version["card_original"] is None  # nothing came from the package
    assert version["card"]["name"] == "Plain Agent"
    assert [s["id"] for s in version["card"]["skills"]] == ["greet"]
    agent = admin.get("/registries/plain-agent")
    # The Dockerfile's ENV reached the process; the card's URL was built from $PORT.
    assert ask(agent["endpoints"][0], "Ada") == "plain hello, Ada"
    assert interface_urls(agent["card"]) == [agent["endpoints"][0] + "/"]


# ---------------------------------------------------------------- platform restart


def login(platform: PlatformThread) -> NasikoClient:
    client = NasikoClient(platform.api_url)
    client.login(*ADMIN)
    return client


def deployment(platform: PlatformThread, agent_id: str) -> dict[str, Any]:
    dep: dict[str, Any] = platform.call(platform.services.registry.repo.get_deployment(agent_id))
    return dep


def test_running_agent_comes_back_after_a_platform_restart(tmp_path: Path) -> None:
    settings = deploy_settings(tmp_path / "data")
    with PlatformThread(settings, ["api", "gateway", "worker"]) as p, login(p) as client:
        done = finished(client, upload(client, FIXTURES / "echo-agent")["id"])
        assert done["status"] == "registered", (done["error"], done["steps"])
        agent = client.get("/registries/echo-agent")
        assert agent["status"] == "running"
        before = deployment(p, agent["id"])
        assert ask(agent["endpoints"][0], "one") == "echo: one"
    # The platform stopped its agent processes with it.
    assert not procutil.alive(before["extra"]["pid"])

    with PlatformThread(settings, ["api", "gateway", "worker"]) as p, login(p) as client:

        def restarted() -> dict[str, Any] | None:
            dep = deployment(p, agent["id"])
            pid = dep["extra"]["pid"]
            return dep if pid != before["extra"]["pid"] and procutil.alive(pid) else None

        after = wait_for(restarted, "the process runtime to start echo-agent again")
        again = client.get("/registries/echo-agent")
        assert again["status"] == "running"
        assert again["current_version"] == 1 and again["endpoints"] == after["endpoints"]
        assert ask(again["endpoints"][0], "two") == "echo: two"
        assert client.get("/uploads")["total"] == 1  # restarted, not redeployed


# ---------------------------------------------------------------- start-up sweep


def uploads_of(client: NasikoClient, folder: str) -> list[dict[str, Any]]:
    """Uploads the sweep made of one folder (queued ones have no slug yet: match the source)."""
    items = client.get("/uploads", params={"limit": 200})["items"]
    return [u for u in items if u["source"].get("name") == folder]


def registered(client: NasikoClient, slug: str, version: int) -> dict[str, Any] | None:
    try:
        agent: dict[str, Any] = client.get(f"/registries/{slug}")
    except ApiError:
        return None
    ok = agent["current_version"] == version and agent["status"] == "running"
    return agent if ok else None


def test_start_up_sweep_deploys_new_and_changed_folders(tmp_path: Path) -> None:
    settings = deploy_settings(tmp_path / "data")
    agents_dir = tmp_path / "agents"
    agents_dir.mkdir()
    shutil.copytree(FIXTURES / "echo-agent", agents_dir / "echo-agent")
    settings.runtime.agents_dir = agents_dir
    components = ["api", "gateway", "worker"]

    with PlatformThread(settings, components) as p, login(p) as client:
        agent = wait_for(lambda: registered(client, "echo-agent", 1), "echo-agent from the sweep")
        me = client.get("/users/me")
        assert agent["owner_id"] == me["id"] and agent["visibility"] == "public"
        assert agent["source"]["kind"] == "directory" and agent["source"]["hash"]
        assert ask(agent["endpoints"][0], "swept") == "echo: swept"

    # Nothing changed in echo-agent; a new folder appears. Only the new folder is deployed
    # (once it is, the sweep has looked at every folder: it goes through them in one pass).
    shutil.copytree(FIXTURES / "plain-agent", agents_dir / "greeter", ignore=_no_pycache)
    with PlatformThread(settings, components) as p, login(p) as client:
        wait_for(lambda: registered(client, "greeter", 1), "greeter from the sweep")
        assert len(uploads_of(client, "echo-agent")) == 1
        assert wait_for(lambda: registered(client, "echo-agent", 1), "echo-agent restarted")

    # A changed file makes the next start deploy a new version of that agent only.
    dockerfile = agents_dir / "echo-agent" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("ECHO_PREFIX=echo", "ECHO_PREFIX=v2"))
    with PlatformThread(settings, components) as p, login(p) as client:

        def both_registered() -> list[int] | None:
            ups = uploads_of(client, "echo-agent")
            done = sorted(u["result"]["version"] for u in ups if u["status"] == "registered")
            return done if len(done) == 2 else None

        assert wait_for(both_registered, "the new version of echo-agent") == [1, 2]
        agent = client.get("/registries/echo-agent")
        assert agent["current_version"] == 2 and agent["status"] == "running"
        assert sorted(v["version"] for v in client.get("/registries/echo-agent/versions")) == [1, 2]
        assert ask(agent["endpoints"][0], "changed") == "v2: changed"
        assert len(uploads_of(client, "greeter")) == 1


def _no_pycache(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


# ---------------------------------------------------------------- docs/agent-contract.md

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "agent-contract.md"


def contract_files() -> dict[str, str]:
    """The example package of docs/agent-contract.md: each file is a caption then a code block."""
    found = re.findall(
        r"^`(hello-agent/[\w./-]+)`\n\n```\w*\n(.*?)^```", CONTRACT.read_text(), re.M | re.S
    )
    return dict(found)


def test_the_contract_example_deploys_and_answers(admin: NasikoClient, tmp_path: Path) -> None:
    files = contract_files()
    assert set(files) == {
        "hello-agent/src/main.py",
        "hello-agent/requirements.txt",
        "hello-agent/Dockerfile",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    done = finished(admin, upload(admin, tmp_path / "hello-agent")["id"])
    assert done["status"] == "registered", (done["error"], done["steps"])
    agent = admin.get("/registries/hello-agent")
    assert ask(agent["endpoints"][0], "Ada") == "hello, Ada"


def test_the_contract_names_only_real_settings() -> None:
    documented = set(re.findall(r"`(NASIKO_[A-Z]+__[A-Z_]+)`", CONTRACT.read_text()))
    configuration = (CONTRACT.parent / "configuration.md").read_text()
    assert documented and all(f"`{name}`" in configuration for name in documented), documented
