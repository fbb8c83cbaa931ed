"""nasiko chat: sessions, sending (streamed to the terminal), history, interactive mode."""

from __future__ import annotations

import base64
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

import typer

from nasiko.cli.context import console, emit, err_console, fail, friendly, render_table, state
from nasiko.client import NasikoClient, iter_sse

app = typer.Typer(
    help="Talk to agents. With no command: an interactive conversation.",
    invoke_without_command=True,
)


def _new_session(client: NasikoClient, agent: str | None, title: str | None) -> dict[str, Any]:
    body = {"agent": agent or "auto"}
    if title:
        body["title"] = title
    session: dict[str, Any] = client.post("/chat/sessions", json=body)
    return session


def _files(paths: list[Path]) -> list[dict[str, str]]:
    out = []
    for path in paths:
        if not path.is_file():
            fail(f"no such file: {path}", code=2)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append(
            {
                "name": path.name,
                "mime_type": mime,
                "data": base64.b64encode(path.read_bytes()).decode(),
            }
        )
    return out


def _stream(
    client: NasikoClient,
    session_id: str,
    text: str,
    *,
    agent: str | None,
    files: list[dict[str, str]],
) -> dict[str, Any]:
    """Prints the reply as it arrives; returns the final `done` data."""
    body: dict[str, Any] = {"text": text, "stream": True, "files": files}
    if agent:
        body["agent"] = agent
    done: dict[str, Any] = {}
    printed = False
    for event, raw in iter_sse(
        client.stream_lines("POST", f"/chat/sessions/{session_id}/messages", json=body)
    ):
        data = json.loads(raw)
        if event == "routed" and not state.json:
            err_console.print(
                f"[dim]→ {data['agent']} (skill: {data.get('skill')}, "
                f"score {data['score']:.2f})[/dim]"
            )
        elif event == "delta" and not state.json and not data.get("status"):
            if not data.get("append") and printed:
                sys.stdout.write("\n")
            sys.stdout.write(data["text"])
            sys.stdout.flush()
            printed = True
        elif event == "error":
            if printed:
                sys.stdout.write("\n")
            fail(
                f"{data['message']} (the reply was cut off)"
                if data.get("partial")
                else data["message"]
            )
        elif event == "done":
            done = data
    if printed and not state.json:
        sys.stdout.write("\n")
    if not state.json:
        extra = (
            " — the agent is waiting for your answer"
            if done.get("state") == "input-required"
            else ""
        )
        err_console.print(f"[dim]{done.get('agent')} · {done.get('state')}{extra}[/dim]")
    return done


@app.callback()
def chat_main(
    ctx: typer.Context, agent: str | None = typer.Option(None, "--agent", help="Slug, or auto.")
) -> None:
    if ctx.invoked_subcommand is None:
        interactive(agent)


@app.command("create-session")
def create_session(
    agent: str | None = typer.Option(None, "--agent", help="Slug, or auto."),
    title: str | None = typer.Option(None, "--title"),
) -> None:
    """Start a conversation with one agent, or with the router choosing (auto)."""
    with friendly(), state.client() as client:
        session = _new_session(client, agent, title)
    emit(
        session,
        table=lambda s: console.print(
            f"session {s['id']} ({s['agent_slug'] or 'auto'}): {s['title']}"
        ),
    )


@app.command("list-sessions")
def list_sessions(limit: int = typer.Option(20, min=1, max=200)) -> None:
    """Your conversations, newest first."""
    with friendly(), state.client() as client:
        page = client.get("/chat/sessions", params={"limit": limit})
    emit(
        page,
        table=lambda p: render_table(
            [{**s, "agent": s["agent_slug"] or "auto"} for s in p["items"]],
            ["id", "title", "agent", "message_count", "updated_at"],
            empty="no conversations yet: nasiko chat send 'hello' --agent SLUG",
        ),
    )


@app.command("send")
def send(
    message: str = typer.Argument(..., help="What to say."),
    session: str | None = typer.Option(None, "--session", help="Continue this session."),
    agent: str | None = typer.Option(None, "--agent", help="Slug, or auto."),
    file: list[Path] = typer.Option([], "--file", help="Attach a file (repeatable)."),
) -> None:
    """Send a message; the reply streams to the terminal."""
    files = _files(file)
    with friendly(), state.client() as client:
        session_id = session or _new_session(client, agent, None)["id"]
        done = _stream(client, session_id, message, agent=agent if session else None, files=files)
    if state.json:
        emit(done)


@app.command("history")
def history(session_id: str) -> None:
    """A conversation's messages."""
    with friendly(), state.client() as client:
        data = client.get(f"/chat/sessions/{session_id}")

    def show(d: dict[str, Any]) -> None:
        console.print(f"[bold]{d['title']}[/bold] ({d['agent_slug'] or 'auto'})")
        for m in d["messages"]:
            who = "you" if m["role"] == "user" else (m.get("agent_slug") or "agent")
            mark = " [yellow](cut off)[/yellow]" if m.get("partial") else ""
            console.print(f"[bold]{who}[/bold]{mark}: ", end="")
            console.print(m["text"], markup=False, highlight=False)

    emit(data, table=show)


def interactive(agent: str | None) -> None:
    if not sys.stdin.isatty():
        fail("interactive chat needs a terminal; use `nasiko chat send MESSAGE`", code=2)
    with friendly(), state.client() as client:
        session = _new_session(client, agent, None)
        console.print(
            f"Chatting ({session['agent_slug'] or 'auto'}). Commands: /agent SLUG|auto, /new, /quit"
        )
        override: str | None = None
        while True:
            try:
                text = console.input("[bold]you>[/bold] ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/new":
                session = _new_session(client, override or agent, None)
                console.print(f"[dim]new session {session['id']}[/dim]")
                continue
            if text.startswith("/agent"):
                override = text.split(maxsplit=1)[1] if " " in text else "auto"
                console.print(f"[dim]now talking to {override}[/dim]")
                continue
            try:
                _stream(client, session["id"], text, agent=override, files=[])
            except typer.Exit:
                continue  # the error was printed; the conversation goes on
