"""nasiko agent list|get|register|delete|versions|card|token (uploads and lifecycle are added
by the deploy commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel

from nasiko.cli.context import (
    confirm_or_fail,
    console,
    emit,
    fail,
    friendly,
    render_table,
    state,
)

app = typer.Typer(help="Agents in the registry.", no_args_is_help=True)

STATUS_STYLE = {
    "running": "green",
    "registered": "cyan",
    "deploying": "yellow",
    "unhealthy": "red",
    "failed": "red",
    "stopped": "dim",
}


def _status(value: str) -> str:
    return f"[{STATUS_STYLE.get(value, 'white')}]{value}[/]"


@app.command("list")
def list_agents(
    q: str | None = typer.Option(None, "--query", "-q", help="Free-text filter."),
    tag: str | None = typer.Option(None, "--tag"),
    status: str | None = typer.Option(None, "--status"),
    visibility: str | None = typer.Option(None, "--visibility"),
    owner: str | None = typer.Option(None, "--owner", help="Username or id."),
    limit: int = typer.Option(50, min=1, max=500),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List the agents you can see."""
    params = {
        k: v
        for k, v in {
            "q": q,
            "tag": tag,
            "status": status,
            "visibility": visibility,
            "owner": owner,
            "limit": limit,
            "offset": offset,
        }.items()
        if v is not None
    }
    with friendly(), state.client() as client:
        page = client.get("/registries", params=params)

    def table(p: dict[str, Any]) -> None:
        rows = [
            {**a, "status": _status(a["status"]), "skills": len(a["card"].get("skills", []))}
            for a in p["items"]
        ]
        render_table(
            rows,
            ["slug", "name", "status", "visibility", "tags", "skills", "current_version"],
            title=f"{p['total']} agents",
            empty="no agents yet: upload one with `nasiko agent upload-directory DIR` "
            "or register a running one with `nasiko agent register --url URL`",
        )

    emit(page, table=table)


@app.command("get")
def get_agent(agent: str = typer.Argument(..., help="Slug or id.")) -> None:
    """Details: card, skills, endpoints, status, versions."""
    with friendly(), state.client() as client:
        data = client.get(f"/registries/{agent}")
        versions = client.get(f"/registries/{agent}/versions") if not state.json else []

    def show(a: dict[str, Any]) -> None:
        card = a["card"]
        lines = [
            f"[bold]{a['name']}[/bold] ({a['slug']})  {_status(a['status'])}  "
            f"{a['visibility']}  v{a['current_version']}",
            a.get("description") or "",
            f"gateway: {a['gateway_url']}",
            f"endpoints: {', '.join(a['endpoints']) or '-'}",
            f"tags: {', '.join(a['tags']) or '-'}",
        ]
        for skill in card.get("skills", []):
            lines.append(
                f"\n[bold]{skill['name']}[/bold] [dim]({skill['id']})[/dim]: "
                f"{skill.get('description', '')}"
            )
            for ex in skill.get("examples", [])[:3]:
                lines.append(f"  e.g. {ex}")
        if versions:
            lines.append(
                "\nversions: "
                + ", ".join(
                    f"v{v['version']} ({v.get('note') or ''} {v['created_at'][:19]})"
                    for v in versions[:5]
                )
            )
        console.print(Panel("\n".join(lines), expand=False))

    emit(data, table=show)


@app.command("register")
def register(
    url: str | None = typer.Option(None, "--url", help="Base URL of a running agent."),
    card_file: Path | None = typer.Option(
        None, "--card", exists=True, dir_okay=False, help="An agent card JSON file."
    ),
    slug: str | None = typer.Option(None, "--slug"),
    visibility: str = typer.Option("private", "--visibility"),
    tags: list[str] = typer.Option([], "--tag"),
) -> None:
    """Register an agent that already runs somewhere."""
    if (url is None) == (card_file is None):
        fail("give --url or --card (one of them)", code=2)
    body: dict[str, Any] = {"visibility": visibility, "tags": tags or None, "slug": slug}
    if url:
        body["url"] = url
    else:
        assert card_file is not None
        try:
            body["card"] = json.loads(card_file.read_text())
        except ValueError as exc:
            fail(f"{card_file} is not JSON: {exc}")
    with friendly(), state.client() as client:
        agent = client.post("/registries", json={k: v for k, v in body.items() if v is not None})
    emit(
        agent,
        table=lambda a: console.print(
            f"Registered [bold]{a['slug']}[/bold]; call it at {a['gateway_url']}"
        ),
    )


@app.command("delete")
def delete(agent: str, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Delete an agent (stops what runs it; history and audit stay)."""
    confirm_or_fail(yes, f"Delete agent {agent}?")
    with friendly(), state.client() as client:
        client.delete(f"/registries/{agent}")
    console.print(f"Deleted {agent}.")


@app.command("versions")
def versions(agent: str) -> None:
    """Versions of an agent, newest first."""
    with friendly(), state.client() as client:
        data = client.get(f"/registries/{agent}/versions")
    emit(
        data,
        table=lambda d: render_table(
            [{**v, "card": v["card"].get("version")} for v in d],
            ["version", "note", "card", "artifact", "created_at"],
        ),
    )


@app.command("card")
def card(agent: str, legacy: bool = typer.Option(False, "--legacy", help="v0.3 layout.")) -> None:
    """The agent card as A2A clients see it (URLs point at the gateway)."""
    with friendly(), state.client() as client:
        data = client.get(f"/registries/{agent}/card", params={"legacy": legacy})
    emit(data)


@app.command("token")
def token(agent: str) -> None:
    """Issue a new identity token for the agent (shown once; the old one stops working)."""
    with friendly(), state.client() as client:
        data = client.post(f"/registries/{agent}/token")
    emit(data, table=lambda d: console.print(d["token"]))
