"""A real container engine for the docker runtime's tests, and small agent packages for it.

``ensure_engine`` runs scripts/ci/container-engine.sh (idempotent: it installs docker.io,
starts dockerd and builds the local base image only when they are missing) and returns the
``DOCKER_HOST`` it prints. There is no fallback: without an engine these tests fail.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = ROOT / "scripts" / "ci" / "container-engine.sh"
FIXTURES = ROOT / "tests" / "fixtures" / "agents"
BASE_IMAGE = "nasiko/python-base:bookworm"
# Public Dockerfiles name python:3.x-slim; no registry is reachable, so they build on ours.
BASE_IMAGES = {"python:*": BASE_IMAGE}


def ensure_engine() -> str:
    proc = subprocess.run(
        ["bash", str(ENGINE_SCRIPT)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{ENGINE_SCRIPT.name} failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    last = proc.stdout.strip().splitlines()[-1]
    key, _, value = last.partition("=")
    if key != "DOCKER_HOST" or not value:
        raise RuntimeError(f"{ENGINE_SCRIPT.name} did not end with DOCKER_HOST=…:\n{proc.stdout}")
    return value


def echo_package(dest: Path) -> Path:
    """A copy of the echo fixture agent, as it would be uploaded.

    The fixture imports uvicorn but its requirements.txt names only a2a-sdk[http-server]
    (which does not bring uvicorn); the process-runtime tests never noticed because their venvs
    see the platform's packages. A clean image does notice, so the copy declares it. Once the
    fixture lists uvicorn itself this changes nothing.
    """
    pkg = dest / "echo-agent"
    shutil.copytree(FIXTURES / "echo-agent", pkg)
    req = pkg / "requirements.txt"
    lines = req.read_text().splitlines()
    if not any(line.strip().lower().startswith("uvicorn") for line in lines):
        req.write_text("\n".join([*lines, "uvicorn>=0.30"]) + "\n")
    return pkg


CARD = {
    "name": "Static card",
    "description": "Serves only its card",
    "version": "1.0.0",
    "supportedInterfaces": [
        {"url": "http://localhost/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
    ],
    "capabilities": {},
    "defaultInputModes": ["text/plain"],
    "defaultOutputModes": ["text/plain"],
    "skills": [],
}


def write_package(
    dest: Path, name: str, dockerfile: str, files: dict[str, str] | None = None
) -> Path:
    """A plain-contract package: a Dockerfile (dedented) and any other files."""
    pkg = dest / name
    pkg.mkdir(parents=True)
    (pkg / "Dockerfile").write_text(textwrap.dedent(dockerfile).lstrip())
    for rel, text in (files or {}).items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pkg
