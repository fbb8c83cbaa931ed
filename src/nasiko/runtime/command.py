"""Turn a package's container command into a host command that runs inside the agent's venv.

- ``python``, ``python3``, ``python3.12``, ``/usr/local/bin/python`` → the venv's interpreter;
  any other program found in the venv's ``bin`` (``uvicorn``, ``gunicorn``…) → that script;
  the venv's ``bin`` also leads ``PATH``, so shell-form commands find the same programs.
- ``uvicorn``'s ``--host``/``--port`` and ``gunicorn``/``hypercorn``'s ``--bind``/``-b`` are
  rewritten to ``127.0.0.1:$PORT``: a container can bind any port on 0.0.0.0, a host process
  must not.
- With ``NASIKO_OTEL_AUTO=1`` and ``opentelemetry-instrument`` in the venv, exec-form commands
  run under it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = {"sh", "bash", "dash", "ash"}
# Environment a host process needs; everything else from the platform (secrets!) stays out.
PASSTHROUGH_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
OTEL_PACKAGES = ["opentelemetry-distro", "opentelemetry-exporter-otlp-proto-http"]


def resolve_program(program: str, venv: Path | None, extra_bin: tuple[Path, ...] = ()) -> str:
    name = os.path.basename(program)
    if venv is not None:
        bindir = venv / "bin"
        if _PYTHON.match(name):
            return str(bindir / "python")
        for folder in (bindir, *extra_bin):
            if (folder / name).exists():
                return str(folder / name)
    if os.path.isabs(program) and not os.path.exists(program):
        found = shutil.which(name)
        if found:
            return found
    return program


def _rewrite_bind(argv: list[str], port: int) -> list[str]:
    """Point uvicorn/gunicorn/hypercorn at 127.0.0.1:port (see module docstring)."""
    names = [os.path.basename(a) for a in argv[:3]]
    is_uvicorn = "uvicorn" in names
    is_bind = any(n in ("gunicorn", "hypercorn") for n in names)
    if not (is_uvicorn or is_bind):
        return argv
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        opt, eq, _ = arg.partition("=")
        if is_uvicorn and opt in ("--host", "--port"):
            value = "127.0.0.1" if opt == "--host" else str(port)
            out.append(f"{opt}={value}")
            i += 1 if eq else 2
            continue
        if is_bind and opt in ("--bind", "-b"):
            out.append(f"--bind=127.0.0.1:{port}")
            i += 1 if eq else 2
            continue
        out.append(arg)
        i += 1
    return out


def host_command(
    argv: list[str],
    *,
    venv: Path | None,
    port: int,
    otel: bool = False,
    extra_bin: tuple[Path, ...] = (),
) -> tuple[list[str], list[str]]:
    """The host argv, plus notes for the agent's log about what was changed and why."""
    notes: list[str] = []
    if not argv:
        return argv, notes
    out = [resolve_program(argv[0], venv, extra_bin), *argv[1:]]
    # ``python -m uvicorn ...`` is a uvicorn command too.
    rewritten = _rewrite_bind(out, port)
    if rewritten != out:
        notes.append(f"bind options rewritten to 127.0.0.1:{port}")
        out = rewritten
    shell = os.path.basename(argv[0]) in _SHELLS and len(argv) >= 2 and argv[1] == "-c"
    if otel and venv is not None:
        wrapper = venv / "bin" / "opentelemetry-instrument"
        if shell:
            notes.append("shell-form command: OpenTelemetry auto-instrumentation not applied")
        elif wrapper.exists():
            out = [str(wrapper), *out]
            notes.append("running under opentelemetry-instrument")
        else:
            notes.append("opentelemetry-instrument is not in the venv; running uninstrumented")
    return out, notes


def host_env(
    *,
    image_env: dict[str, str],
    spec_env: dict[str, str],
    venv: Path | None,
    port: int,
    extra_bin: tuple[Path, ...] = (),
) -> dict[str, str]:
    """The agent's environment; ``extra_bin`` folders follow the venv's ``bin`` on PATH."""
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(image_env)
    env.update(spec_env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        front = [str(venv / "bin"), *(str(p) for p in extra_bin)]
        env["PATH"] = os.pathsep.join([*front, env["PATH"]])
    # The platform decides where the agent listens, whatever the package's env says.
    env["PORT"] = str(port)
    env["HOST"] = "127.0.0.1"
    return env
