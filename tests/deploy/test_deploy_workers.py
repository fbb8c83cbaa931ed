"""Server mode: two `nasiko serve worker` processes on PostgreSQL + Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nasiko.client import NasikoClient
from nasiko.testing.packages import deploy_settings, zip_folder
from nasiko.testing.platform import PlatformThread

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "echo-agent"
# The echo fixture agent, starting slowly enough to be killed mid-deploy.
SLOW_MAIN = (
    "import runpy, time\ntime.sleep(6)\nrunpy.run_path('src/main.py', run_name='__main__')\n"
)


@pytest.fixture
def server_mode(
    tmp_path: Path, server_backend: dict[str, Any]
) -> Iterator[tuple[PlatformThread, list[subprocess.Popen[bytes]]]]:
    backend_settings = server_backend
    settings = deploy_settings(tmp_path / "data", **backend_settings)
    settings.worker.lease_seconds = 3
    env = {
        **os.environ,
        "DATABASE_URL": backend_settings["database_url"],
        "REDIS_URL": backend_settings["redis_url"],
        "NASIKO_DATA_DIR": str(settings.data_dir),
        "NASIKO_WORKER__LEASE_SECONDS": "3",
        "NASIKO_WORKER__CLAIM_IDLE_SECONDS": "2",
        "NASIKO_WORKER__HEALTH_TIMEOUT": "60",
        "NASIKO_RUNTIME__INHERIT_SITE_PACKAGES": "true",
        "NASIKO_GATEWAY__PORT": str(settings.gateway.port),
        "NASIKO_API__PORT": str(settings.api.port),
    }
    with PlatformThread(settings, ["api"]) as api:
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "nasiko", "serve", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        try:
            yield api, workers
        finally:
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.wait(20)
                except subprocess.TimeoutExpired:
                    w.kill()


def _wait(
    client: NasikoClient, upload_id: str, statuses: set[str], timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = client.get(f"/uploads/{upload_id}")
        if up["status"] in statuses:
            return up  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"upload {upload_id} stuck in {up['status']}")


def test_killed_worker_job_is_finished_by_the_other(
    server_mode: tuple[PlatformThread, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    api, workers = server_mode
    import shutil

    pkg = tmp_path / "slow-agent"
    shutil.copytree(FIXTURE, pkg)
    (pkg / "docker-compose.yml").unlink()
    (pkg / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCOPY . /app\nWORKDIR /app\nCMD ["python", "slow_main.py"]\n'
    )
    (pkg / "slow_main.py").write_text(SLOW_MAIN)
    with NasikoClient(api.api_url) as client:
        client.login("admin", "admin-password-1")
        resp = client.request(
            "POST",
            "/uploads",
            files={"file": ("slow-agent.zip", zip_folder(pkg, wrap="slow-agent"))},
        )
        upload_id = resp.json()["id"]
        _wait(client, upload_id, {"deploying", "health-checking"})
        holder = api.call(api.services.storage.uploads.lease_holder(upload_id))
        assert holder
        pid = int(holder.split(":")[0].rsplit("-", 1)[1])
        victim = next(w for w in workers if w.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        done = _wait(client, upload_id, {"registered", "failed"}, timeout=120)
        assert done["status"] == "registered", done["error"]
        assert done["attempts"] == 2
        agent = client.get("/registries/slow-agent")
        assert agent["status"] == "running"
        assert [v["version"] for v in client.get("/registries/slow-agent/versions")] == [1]
        client.delete("/registries/slow-agent")


def test_each_job_runs_once_across_two_workers(
    server_mode: tuple[PlatformThread, list[subprocess.Popen[bytes]]],
) -> None:
    api, _ = server_mode
    fixture = FIXTURE
    with NasikoClient(api.api_url) as client:
        client.login("admin", "admin-password-1")
        ids = []
        for i in range(4):
            resp = client.request(
                "POST",
                "/uploads",
                data={"slug": f"echo-{i}"},
                files={"file": ("echo-agent.zip", zip_folder(fixture, wrap="echo-agent"))},
            )
            ids.append(resp.json()["id"])
        results = [_wait(client, i, {"registered", "failed"}) for i in ids]
        assert [r["status"] for r in results] == ["registered"] * 4, [r["error"] for r in results]
        assert [r["attempts"] for r in results] == [1, 1, 1, 1]
        for i in range(4):
            client.delete(f"/registries/echo-{i}")
