from __future__ import annotations

import json

from typer.testing import CliRunner

from nasiko.cli.main import app
from nasiko.testing.agents import echo_agent
from nasiko.testing.platform import PlatformThread


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_agent_search_and_access_commands(cli: CliRunner, live: PlatformThread) -> None:
    assert run(cli, "login", "-u", "admin", "-p", "admin-password-1")[0] == 0
    assert (
        run(cli, "user", "register", "-u", "frank", "-e", "f@example.com", "-p", "frank-password")[
            0
        ]
        == 0
    )
    with echo_agent(name="Poem Writer") as url:
        code, out = run(
            cli, "agent", "register", "--url", url, "--tag", "poetry", "--visibility", "shared"
        )
        assert code == 0 and "poem-writer" in out and live.gateway_url in out
    code, out = run(cli, "agent", "list")
    assert code == 0 and "poem-writer" in out and "1 agents" in out
    code, out = run(cli, "-o", "json", "agent", "get", "poem-writer")
    assert json.loads(out)["tags"] == ["poetry"]
    code, out = run(cli, "agent", "get", "poem-writer")
    assert code == 0 and "gateway:" in out and "endpoints:" in out
    code, out = run(cli, "-o", "json", "search", "agents", "poem")
    assert json.loads(out)["items"][0]["agent"]["slug"] == "poem-writer"
    code, out = run(cli, "search", "users", "fra")
    assert code == 0 and "frank" in out
    code, out = run(cli, "access", "grant-user", "poem-writer", "frank")
    assert code == 0 and "Granted user frank" in out
    code, out = run(cli, "-o", "json", "access", "list", "poem-writer")
    assert len(json.loads(out)) == 1
    code, out = run(cli, "access", "revoke-user", "poem-writer", "frank")
    assert code == 0
    code, out = run(cli, "access", "revoke-user", "poem-writer", "frank")
    assert code == 1 and "has no grant" in out
    code, out = run(cli, "-o", "json", "agent", "card", "poem-writer")
    assert json.loads(out)["supportedInterfaces"][0]["url"].startswith(live.gateway_url)
    code, out = run(cli, "agent", "versions", "poem-writer")
    assert code == 0 and "registered" in out
    code, out = run(cli, "agent", "delete", "poem-writer", "--yes")
    assert code == 0
    code, out = run(cli, "agent", "get", "poem-writer")
    assert code == 1 and "no agent 'poem-writer'" in out
    code, out = run(cli, "agent", "register")
    assert code == 2
