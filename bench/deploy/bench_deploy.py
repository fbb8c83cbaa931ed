"""Upload-to-registered time for a small agent on the process runtime, cold (empty wheel
cache) and warm, against a bare `pip install` of the same requirements in the same run.

    python bench/deploy/bench_deploy.py [--rounds 2] [--docker]

With --docker the same upload also runs on the docker runtime (the engine from
scripts/ci/container-engine.sh; its local base image replaces python:*, dependencies come
from the host-built wheelhouse): cold is a first build of the image, warm reuses the engine's
layer cache for a second agent version.

The agent is tests/fixtures/agents/echo-agent (requirements: a2a-sdk[http-server]). Builds use
real virtual environments (no inherited site-packages), so dependencies really install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from nasiko.client import NasikoClient
from nasiko.testing.packages import zip_folder
from nasiko.testing.platform import PlatformThread, make_settings

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "tests" / "fixtures" / "agents" / "echo-agent"


def zipped(marker: str | None = None) -> bytes:
    # A new comment in requirements.txt changes the image's dependency layer: no cache fits.
    reqs = (AGENT / "requirements.txt").read_text()
    replace = {"requirements.txt": reqs + f"# build {marker}\n"} if marker else None
    return zip_folder(AGENT, wrap="echo-agent", replace=replace)


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


def deploy(client: NasikoClient, slug: str, data: bytes, runtime: str = "process") -> float:
    start = time.perf_counter()
    resp = client.request(
        "POST",
        "/uploads",
        files={"file": ("echo-agent.zip", data)},
        data={"slug": slug, "runtime": runtime},
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
    ap.add_argument("--docker", action="store_true", help="also the docker runtime")
    args = ap.parse_args()
    data = zipped()
    rows: dict[str, list[float]] = {
        "bare pip install (cold cache)": [],
        "upload → registered, cold cache": [],
        "upload → registered, warm cache": [],
    }
    if args.docker:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "ci" / "container-engine.sh")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows["docker: upload → registered, cold image"] = []
        rows["docker: upload → registered, warm layer cache"] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for r in range(args.rounds):
            rows["bare pip install (cold cache)"].append(bare_pip(tmp))
            settings = make_settings(
                tmp / f"data-{r}",
                worker={"health_timeout": 120.0},
                runtime={
                    "docker_base_images": {"python:*": "nasiko/python-base:bookworm"},
                    "docker_wheelhouse": True,
                },
            )
            with (
                PlatformThread(settings, ["api", "gateway", "worker"]) as p,
                NasikoClient(p.api_url) as client,
            ):
                client.login("admin", "admin-password-1")
                rows["upload → registered, cold cache"].append(deploy(client, f"cold-{r}", data))
                rows["upload → registered, warm cache"].append(deploy(client, f"warm-{r}", data))
                if args.docker:
                    # A never-seen package text makes the first build miss the layer cache.
                    fresh = zipped(marker=f"{time.time_ns()}")
                    rows["docker: upload → registered, cold image"].append(
                        deploy(client, f"dcold-{r}", fresh, "docker")
                    )
                    rows["docker: upload → registered, warm layer cache"].append(
                        deploy(client, f"dwarm-{r}", fresh, "docker")
                    )
                    for slug in (f"dcold-{r}", f"dwarm-{r}"):
                        client.delete(f"/registries/{slug}")
    base = statistics.median(rows["bare pip install (cold cache)"])
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, medians")
    print("| measurement | median s | vs bare pip install |")
    print("| --- | ---: | ---: |")
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
