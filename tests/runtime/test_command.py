"""Container commands become host commands inside the agent's venv."""

from __future__ import annotations

from pathlib import Path

from nasiko.runtime.command import host_command, host_env


def fake_venv(tmp_path: Path, *scripts: str) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", *scripts):
        (venv / "bin" / name).write_text("#!/bin/sh\n")
    return venv


def test_python_and_tools_resolve_to_the_venv(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path, "uvicorn")
    bindir = venv / "bin"
    for prog in ("python", "python3", "python3.12", "/usr/local/bin/python"):
        argv, _ = host_command([prog, "main.py"], venv=venv, port=9000)
        assert argv == [str(bindir / "python"), "main.py"]
    argv, _ = host_command(["node", "x.js"], venv=venv, port=9000)
    assert argv == ["node", "x.js"]


def test_uvicorn_and_gunicorn_binds_are_rewritten(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path, "uvicorn", "gunicorn")
    argv, notes = host_command(
        ["uvicorn", "app:app", "--host", "0.0.0.0", "--port=8000", "--workers", "2"],
        venv=venv,
        port=9100,
    )
    assert argv[1:] == ["app:app", "--host=127.0.0.1", "--port=9100", "--workers", "2"]
    assert notes == ["bind options rewritten to 127.0.0.1:9100"]
    argv, _ = host_command(["python", "-m", "uvicorn", "a:b", "--port", "1"], venv=venv, port=7)
    assert argv[1:] == ["-m", "uvicorn", "a:b", "--port=7"]
    argv, _ = host_command(["gunicorn", "-b", "0.0.0.0:80", "app:app"], venv=venv, port=7)
    assert argv[1:] == ["--bind=127.0.0.1:7", "app:app"]


def test_otel_wrapper_only_when_installed_and_exec_form(tmp_path: Path) -> None:
    bare = fake_venv(tmp_path / "a")
    argv, notes = host_command(["python", "m.py"], venv=bare, port=1, otel=True)
    assert argv == [str(bare / "bin" / "python"), "m.py"]
    assert "not in the venv" in notes[0]
    venv = fake_venv(tmp_path / "b", "opentelemetry-instrument")
    argv, notes = host_command(["python", "m.py"], venv=venv, port=1, otel=True)
    assert argv == [
        str(venv / "bin" / "opentelemetry-instrument"),
        str(venv / "bin/python"),
        "m.py",
    ]
    argv, notes = host_command(["/bin/sh", "-c", "python m.py"], venv=venv, port=1, otel=True)
    assert argv == ["/bin/sh", "-c", "python m.py"] and "shell-form" in notes[0]


def test_env_keeps_platform_secrets_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret")
    monkeypatch.setenv("NASIKO_SECRET_KEY", "s3cret")
    venv = fake_venv(tmp_path)
    env = host_env(
        image_env={"PORT": "5000", "A": "image"},
        spec_env={"A": "spec", "OTEL_SERVICE_NAME": "echo"},
        venv=venv,
        port=4321,
    )
    assert "DATABASE_URL" not in env and "NASIKO_SECRET_KEY" not in env
    assert env["A"] == "spec" and env["OTEL_SERVICE_NAME"] == "echo"
    assert (env["PORT"], env["HOST"]) == ("4321", "127.0.0.1")
    assert env["PATH"].startswith(str(venv / "bin") + ":")
    assert env["VIRTUAL_ENV"] == str(venv)
