from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasiko.cli.main import app
from nasiko.testing.agents import echo_agent
from nasiko.testing.platform import PlatformThread, make_settings


def run(cli: CliRunner, *args: str, input: str | None = None) -> tuple[int, str]:
    result = cli.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_chat_commands_against_a_live_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        PlatformThread(make_settings(tmp_path / "data"), ["api", "gateway", "router"]) as p,
        echo_agent(name="Poet", chunks=4) as url,
    ):
        monkeypatch.setenv("NASIKO_API_URL", p.api_url)
        cli = CliRunner()
        assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
        assert run(cli, "agent", "register", "--url", url, "--visibility", "public")[0] == 0
        code, out = run(cli, "chat", "send", "--agent", "poet", "hello there")
        assert code == 0, out
        assert "Poet: hello there" in out and "poet · completed" in out
        code, out = run(
            cli, "-o", "json", "chat", "create-session", "--agent", "poet", "--title", "Verses"
        )
        session = json.loads(out)
        assert session["title"] == "Verses"
        code, out = run(cli, "chat", "send", "--session", session["id"], "ask me")
        assert code == 0 and "waiting for your answer" in out
        code, out = run(cli, "chat", "send", "--session", session["id"], "green")
        assert code == 0 and "completed" in out
        code, out = run(cli, "chat", "list-sessions")
        assert code == 0 and "Verses" in out
        import time

        for _ in range(100):
            code, out = run(cli, "-o", "json", "chat", "history", session["id"])
            if len(json.loads(out)["messages"]) >= 4:
                break
            time.sleep(0.05)
        msgs = json.loads(out)["messages"]
        assert [m["role"] for m in msgs] == ["user", "agent", "user", "agent"]
        code, out = run(cli, "chat", "history", session["id"])
        assert "you: ask me" in out
        code, out = run(cli, "chat", "send", "--session", "nope", "hi")
        assert code == 1 and "no chat session" in out
        code, out = run(cli, "chat")
        assert code == 2 and "needs a terminal" in out


def test_interactive_chat_in_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nasiko chat` in a real pseudo-terminal: prompt, streamed replies, /agent, /new, /quit."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    with (
        PlatformThread(make_settings(tmp_path / "data"), ["api", "gateway", "router"]) as p,
        echo_agent(name="Poet") as poet,
        echo_agent(name="Bard") as bard,
    ):
        monkeypatch.setenv("NASIKO_API_URL", p.api_url)
        cli = CliRunner()
        assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
        for url in (poet, bard):
            assert run(cli, "agent", "register", "--url", url, "--visibility", "public")[0] == 0
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "nasiko", "chat", "--agent", "poet"],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env={**os.environ, "COLUMNS": "120"},
            close_fds=True,
        )
        os.close(follower)
        seen = b""

        def expect(text: str, timeout: float = 30) -> None:
            nonlocal seen
            deadline = time.monotonic() + timeout
            while text.encode() not in seen:
                assert time.monotonic() < deadline, f"never saw {text!r} in {seen.decode()!r}"
                ready, _, _ = select.select([leader], [], [], 0.2)
                if ready:
                    try:
                        seen += os.read(leader, 4096)
                    except OSError:
                        break
            assert text.encode() in seen, seen.decode()

        try:
            expect("you>")
            os.write(leader, b"hello there\n")
            expect("Poet: hello there")
            os.write(leader, b"/agent bard\n")
            expect("now talking to bard")
            os.write(leader, b"second line\n")
            expect("Bard: second line")
            os.write(leader, b"/new\n")
            expect("new session")
            os.write(leader, b"/quit\n")
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(leader)
