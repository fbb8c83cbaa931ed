"""`nasiko observability ...` through the CLI runner against a live API with traces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from nasiko.cli import observability
from nasiko.cli.main import app as nasiko_app
from nasiko.cli.main import main_options
from nasiko.testing.otlp import TraceStack, encode, new_trace_id, span
from nasiko.testing.platform import make_settings


def _cli() -> typer.Typer:
    # The lead mounts the group in cli/main.py; here it is mounted the same way on its own.
    app = typer.Typer(no_args_is_help=True)
    app.callback()(main_options)
    app.add_typer(observability.app, name="observability")
    for cmd in nasiko_app.registered_commands:
        if cmd.name is None and cmd.callback and cmd.callback.__name__ == "login":
            app.command()(cmd.callback)
    return app


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceStack]:
    with TraceStack(make_settings(tmp_path_factory.mktemp("obs-cli"))) as s:
        yield s


def test_traces_trace_and_summary(
    stack: TraceStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NASIKO_API_URL", stack.api_url)
    cli, runner = _cli(), CliRunner()
    tid = new_trace_id()
    root = span(
        trace_id=tid,
        name="a2a message/send",
        duration_ms=1500,
        attributes={"nasiko.agent": "translator"},
    )
    llm = span(
        trace_id=tid,
        parent=root.span_id,
        name="chat gpt-4o-mini",
        duration_ms=40,
        attributes={
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 300,
        },
    )
    failed = span(name="broken call", status="error", attributes={"nasiko.agent": "summariser"})
    resp = httpx.post(
        stack.otlp_url + "/v1/traces",
        content=encode([root, llm, failed]).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert resp.status_code == 200
    stack.call(stack.service.flush())

    result = runner.invoke(cli, ["observability", "traces"])
    assert result.exit_code == 1 and "nasiko login" in result.output  # not logged in yet
    assert runner.invoke(cli, ["login", "-u", "admin", "-p", "admin-password-1"]).exit_code == 0

    result = runner.invoke(cli, ["observability", "traces", "--since", "1h"])
    assert result.exit_code == 0, result.output
    # 80 columns in the runner: the id never wraps, the other cells may.
    assert tid in result.output and "1.50" in result.output and "1200" in result.output
    result = runner.invoke(cli, ["-o", "json", "observability", "traces", "--agent", "translator"])
    page = json.loads(result.output)
    assert [t["trace_id"] for t in page["items"]] == [tid]
    assert page["items"][0]["input_tokens"] == 1200

    result = runner.invoke(cli, ["observability", "trace", tid])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    top = next(i for i, line in enumerate(lines) if "a2a message/send" in line)
    child = next(i for i, line in enumerate(lines) if "chat gpt-4o-mini" in line)
    assert child > top
    assert lines[child].index("chat") > lines[top].index("a2a")  # indented under its parent
    assert "1200→300 tok" in lines[child] and "40.0ms" in lines[child]
    result = runner.invoke(cli, ["-o", "json", "observability", "trace", tid])
    assert json.loads(result.output)["roots"][0]["children"][0]["output_tokens"] == 300

    result = runner.invoke(cli, ["observability", "summary", "--since", "2h"])
    assert result.exit_code == 0, result.output
    assert "translator" in result.output and "p95" in result.output
    rows = json.loads(runner.invoke(cli, ["-o", "json", "observability", "summary"]).output)
    by_agent = {r["agent"]: r for r in rows}
    assert by_agent["translator"]["output_tokens"] == 300 and by_agent["summariser"]["errors"] == 1

    result = runner.invoke(cli, ["observability", "trace", new_trace_id()])
    assert result.exit_code == 1 and "not_found" in result.output
    result = runner.invoke(cli, ["observability", "traces", "--since", "yesterday"])
    assert result.exit_code == 2 and "--since" in result.output
