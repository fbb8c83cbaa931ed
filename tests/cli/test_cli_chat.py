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
