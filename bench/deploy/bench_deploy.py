"""Upload-to-registered time for a small agent on the process runtime, cold (empty wheel
cache) and warm, against a bare `pip install` of the same requirements in the same run.

    python bench/deploy/bench_deploy.py [--rounds 2]

The agent is tests/fixtures/agents/echo-agent (requirements: a2a-sdk[http-server]). Builds use
real virtual environments (no inherited site-packages), so dependencies really install.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

from nasiko.client import NasikoClient
from nasiko.testing.platform import PlatformThread, make_settings

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "tests" / "fixtures" / "agents" / "echo-agent"


def zipped() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(AGENT.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"echo-agent/{path.relative_to(AGENT).as_posix()}")
    return buf.getvalue()


def bare_pip(tmp: Path) -> float:
    """A fresh venv plus `pip install -r requirements.txt` with an empty pip cache."""
    target = tmp / f"venv-{time.monotonic_ns()}"
    start = time.perf_counter()
    venv.create(target, with_pip=True)
    env = {**os.environ, "PIP_CACHE_DIR": str(tmp / f"pipcache-{time.monotonic_ns()}")}
    subprocess.run(
        [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(AGENT / "requirements.txt"),
        ],
        check=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return elapsed


def deploy(client: NasikoClient, slug: str, data: bytes) -> float:
    start = time.perf_counter()
    resp = client.request(
        "POST", "/uploads", files={"file": ("echo-agent.zip", data)}, data={"slug": slug}
    )
    upload_id = resp.json()["id"]
    while True:
        up = client.get(f"/uploads/{upload_id}")
        if up["status"] in ("registered", "failed"):
            break
        time.sleep(0.05)
    if up["status"] != "registered":
        raise SystemExit(f"deploy failed: {up['error']}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    data = zipped()
    rows: dict[str, list[float]] = {
        "bare pip install (cold cache)": [],
        "upload → registered, cold cache": [],
        "upload → registered, warm cache": [],
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for r in range(args.rounds):
            rows["bare pip install (cold cache)"].append(bare_pip(tmp))
            settings = make_settings(tmp / f"data-{r}", worker={"health_timeout": 120.0})
            with (
                PlatformThread(settings, ["api", "gateway", "worker"]) as p,
                NasikoClient(p.api_url) as client,
            ):
                client.login("admin", "admin-password-1")
                rows["upload → registered, cold cache"].append(deploy(client, f"cold-{r}", data))
                rows["upload → registered, warm cache"].append(deploy(client, f"warm-{r}", data))
    base = statistics.median(rows["bare pip install (cold cache)"])
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, medians")
    print("| measurement | median s | vs bare pip install |")
    print("| --- | ---: | ---: |")
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
