from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from nasiko.a2a import send_text
from nasiko.client import NasikoClient, iter_sse
from nasiko.testing.packages import zip_folder
from nasiko.testing.platform import PlatformThread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"


def wait_done(client: NasikoClient, upload_id: str, timeout: float = 120) -> dict[str, Any]:
    """Follows the upload's Server-Sent Events until it ends."""
    seen: list[str] = []
    last: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    for event, data in iter_sse(client.stream_lines("GET", f"/uploads/{upload_id}/events")):
        if event == "status":
            last = json.loads(data)
            if not seen or seen[-1] != last["status"]:
                seen.append(last["status"])
        if event == "end" or time.monotonic() > deadline:
            break
    last["_seen"] = seen
    return last


def upload_zip(
    client: NasikoClient, data: bytes, name: str = "echo-agent.zip", **fields: str
) -> dict[str, Any]:
    resp = client.request(
        "POST", "/uploads", files={"file": (name, data, "application/zip")}, data=fields
    )
    assert resp.status_code == 202
    return resp.json()  # type: ignore[no-any-return]


def ask(url: str, text: str) -> str:
    async def go() -> str:
        async with httpx.AsyncClient(timeout=30) as c:
            reply = await send_text(url, text, client=c)
            return reply.text

    return asyncio.run(go())


def test_zip_upload_reaches_registered_and_answers(
    admin: NasikoClient, deploy_platform: PlatformThread
) -> None:
    created = upload_zip(admin, zip_folder(FIXTURES / "echo-agent", wrap="echo-agent"))
    assert created["status"] == "queued"
    done = wait_done(admin, created["id"])
    assert done["status"] == "registered", done
    assert done["_seen"][-1] == "registered" and "building" in done["_seen"]
    assert all(s["status"] == "done" for s in done["steps"])
    agent = admin.get("/registries/echo-agent")
    assert agent["status"] == "running" and agent["current_version"] == 1
    assert agent["card"]["skills"]
    assert ask(agent["endpoints"][0], "hello there")
    # The deployed agent got its identity and telemetry settings, not the platform's secrets.
    logs = admin.get("/registries/echo-agent/logs")["lines"]
    assert any("listening" in line or "Uvicorn" in line or "running" in line for line in logs)
    uploads = admin.get("/uploads")
    assert uploads["total"] == 1 and uploads["items"][0]["result"]["gateway_url"].endswith(
        "/agents/echo-agent"
    )


def test_git_upload_from_a_local_repository(admin: NasikoClient, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "agents").mkdir(parents=True)
    subprocess.run(
        ["cp", "-r", str(FIXTURES / "plain-agent"), str(repo / "agents" / "plainy")], check=True
    )
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "agent"],
    ):
        subprocess.run(cmd, cwd=repo, check=True)
    resp = admin.post(
        "/uploads", json={"url": f"file://{repo}", "ref": "main", "subdir": "agents/plainy"}
    )
    done = wait_done(admin, resp["id"])
    assert done["status"] == "registered", done
    assert done["source"]["commit"]
    agent = admin.get("/registries/plainy")
    assert ask(agent["endpoints"][0], "ping")
    # the card came from the running agent only (the folder has no card file)
    assert agent["card"]["name"]


def test_invalid_packages_get_precise_errors(admin: NasikoClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("agent/README.md", "no dockerfile here")
    done = wait_done(admin, upload_zip(admin, buf.getvalue(), "agent.zip")["id"])
    assert done["status"] == "failed" and "Dockerfile" in done["error"]
    assert done["steps"][0]["status"] == "failed"

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.txt", "escape")
        zf.writestr("agent/Dockerfile", 'FROM python:3.11\nCMD ["python", "x.py"]\n')
    done = wait_done(admin, upload_zip(admin, buf.getvalue(), "slip.zip")["id"])
    assert done["status"] == "failed" and "evil.txt" in json.dumps(done)
    assert not list(Path("/").glob("evil.txt"))


def test_agent_that_never_becomes_healthy_fails_with_its_log_tail(
    admin: NasikoClient, tmp_path: Path
) -> None:
    pkg = tmp_path / "broken-agent"
    pkg.mkdir()
    (pkg / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python", "main.py"]\n')
    (pkg / "main.py").write_text(
        "import sys\nprint('missing OPENAI_KEY, giving up')\nsys.exit(3)\n"
    )
    done = wait_done(
        admin, upload_zip(admin, zip_folder(pkg, wrap="broken-agent"), "broken-agent.zip")["id"]
    )
    assert done["status"] == "failed"
    assert "giving up" in json.dumps(done["steps"])


def test_wrong_file_type_is_refused_at_once(admin: NasikoClient) -> None:
    from nasiko.client import ApiError

    try:
        admin.request("POST", "/uploads", files={"file": ("agent.rar", b"xx", "x")})
    except ApiError as exc:
        assert exc.status == 400 and ".zip or .tar.gz" in exc.message
    else:
        raise AssertionError("a .rar upload was accepted")
