from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nasiko.cli.main import app
from nasiko.testing.platform import PlatformThread, free_port


def run(cli: CliRunner, *args: str, input: str | None = None) -> tuple[int, str]:
    result = cli.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_login_whoami_register_list_status(cli: CliRunner, live: PlatformThread) -> None:
    code, out = run(cli, "login", "-u", "admin", "-p", "admin-password-1")
    assert code == 0, out
    assert "Logged in" in out and "admin" in out
    creds = Path(os.environ["NASIKO_CONFIG_DIR"]) / "credentials.json"
    assert oct(creds.stat().st_mode & 0o777) == "0o600"

    code, out = run(cli, "--output", "json", "whoami")
    assert code == 0 and json.loads(out)["username"] == "admin"

    code, out = run(
        cli, "user", "register", "-u", "erin", "-e", "erin@example.com", "-p", "erin-password"
    )
    assert code == 0 and "Created user erin" in out

    code, out = run(cli, "-o", "json", "user", "list")
    data = json.loads(out)
    assert code == 0 and {u["username"] for u in data["items"]} == {"admin", "erin"}

    code, out = run(cli, "status")
    assert code == 0 and "api" in out and "users: 2" in out
    code, out = run(cli, "-o", "json", "status")
    status = json.loads(out)
    assert status["mode"] == "embedded" and status["counts"]["users"] == 2
    assert status["components"]["gateway"] == {"ok": True, "url": live.gateway_url}
    assert status["components"]["router"]["ok"] is True

    code, out = run(cli, "user", "delete", "erin")
    assert code == 2 and "--yes" in out  # no terminal: never prompts, asks for --yes
    code, out = run(cli, "user", "delete", "erin", "--yes")
    assert code == 0

    code, out = run(cli, "docs")
    assert out.strip() == f"{live.api_url}/docs"


def test_api_tokens_and_logout(cli: CliRunner) -> None:
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
    code, out = run(cli, "-o", "json", "token", "create", "scripts")
    created = json.loads(out)
    assert code == 0 and created["token"].startswith("nsk_")
    code, out = run(cli, "-o", "json", "token", "list")
    assert [t["name"] for t in json.loads(out)] == ["scripts"]
    assert created["token"] not in out
    os.environ["NASIKO_TOKEN"] = created["token"]
    try:
        assert json.loads(run(cli, "-o", "json", "whoami")[1])["username"] == "admin"
    finally:
        del os.environ["NASIKO_TOKEN"]
    assert run(cli, "token", "revoke", created["id"])[0] == 0
    assert run(cli, "logout")[0] == 0
    code, out = run(cli, "whoami")
    assert code == 1 and "nasiko login" in out
    assert "Traceback" not in out


def test_friendly_failures(cli: CliRunner) -> None:
    code, out = run(cli, "login", "-u", "admin", "-p", "wrong-password")
    assert code == 1 and out.count("\n") == 1 and "wrong username or password" in out
    code, out = run(cli, "--api-url", f"http://127.0.0.1:{free_port()}", "status")
    assert code == 1 and "cannot reach Nasiko at" in out and "nasiko up" in out
    code, out = run(cli, "login", "-u", "admin")  # no terminal to ask for the password in
    assert code == 2 and "missing Password" in out
    code, out = run(cli, "user", "list", "--limit", "0")
    assert code == 2
    code, out = run(cli, "serve", "nonsense")
    assert code == 2 and "unknown component" in out
    code, out = run(cli, "user", "register", "-u", "x y", "-e", "bad", "-p", "short")
    assert code == 1 and "validation_error" in out and "Traceback" not in out


def _up(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NASIKO_API__PORT": str(ports["api"]),
        "NASIKO_GATEWAY__PORT": str(ports["gateway"]),
        "NASIKO_ROUTER__PORT": str(ports["router"]),
        "NASIKO_ADMIN_PASSWORD": "",
    }
    env.pop("NASIKO_ADMIN_PASSWORD")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nasiko",
            "up",
            "--data-dir",
            str(data_dir),
            "--agents-dir",
            str(data_dir / "no-agents"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=data_dir.parent,
    )


def test_up_prints_where_things_are_guards_the_data_dir_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    import httpx

    ports = {"api": free_port(), "gateway": free_port(), "router": free_port()}
    data = tmp_path / "data"
    proc = _up(data, ports)
    try:
        assert proc.stdout is not None
        banner = []
        for line in proc.stdout:
            banner.append(line)
            if "Stop with Ctrl-C" in line:
                break
        text = "".join(banner)
        assert f"http://127.0.0.1:{ports['api']}" in text
        assert f"http://127.0.0.1:{ports['gateway']}" in text
        assert str(data.resolve()) in text
        password = text.split("with password ")[1].split()[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['api']}") as c:
            ok = c.post("/api/v1/auth/login", json={"username": "admin", "password": password})
            assert ok.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['gateway']}/healthz").status_code == 200
        # The generated password never reaches the logs.
        second = _up(data, {k: free_port() for k in ports})
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "already running on data directory" in out and "Traceback" not in out
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0
        assert password not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
