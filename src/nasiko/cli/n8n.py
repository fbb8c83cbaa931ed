"""nasiko n8n connect|disconnect|status|workflows|register: n8n workflows as A2A agents."""

from __future__ import annotations

import typer

from nasiko.cli.context import console, emit, friendly, prompt_if_tty, render_table, state

app = typer.Typer(help="Connect n8n and register workflows as A2A agents.", no_args_is_help=True)


@app.command()
def connect(
    url: str = typer.Option(..., "--url", help="Base URL of the n8n instance."),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="NASIKO_N8N_API_KEY",
        help="An n8n API key (asked for when missing and a terminal is attached).",
    ),
) -> None:
    """Store an n8n instance's URL and API key (checked against its public API, encrypted)."""
    key = prompt_if_tty(api_key, "n8n API key", hide=True)
    with friendly(), state.client() as client:
        data = client.post("/n8n/connect", json={"url": url, "api_key": key})
    emit(
        data,
        table=lambda d: console.print(f"n8n connected: {d['url']} ({d['workflows']} workflows)"),
    )


@app.command()
def disconnect() -> None:
    """Remove the stored n8n URL and API key."""
    with friendly(), state.client() as client:
        client.delete("/n8n/connect")
    emit({"connected": False}, table=lambda _: console.print("n8n disconnected"))


@app.command()
def status() -> None:
    """Whether an n8n instance is connected."""
    with friendly(), state.client() as client:
        data = client.get("/n8n/status")
    emit(
        data,
        table=lambda d: console.print(
            f"connected to {d['url']}" if d["connected"] else "not connected"
        ),
    )


@app.command()
def workflows() -> None:
    """The instance's workflows: active or not, and which can become agents."""
    with friendly(), state.client() as client:
        data = client.get("/n8n/workflows", timeout=120)

    def table(d: dict[str, object]) -> None:
        rows = [
            {
                "id": w["id"],
                "name": w["name"],
                "active": "yes" if w["active"] else "no",
                "triggers": w["triggers"] or "-",
                "agent": (w["usable"] + (" (streaming)" if w["streaming"] else ""))
                if w["usable"]
                else "no trigger",
            }
            for w in d["items"]  # type: ignore[attr-defined]
        ]
        render_table(rows, ["id", "name", "active", "triggers", "agent"], empty="no workflows")

    emit(data, table=table)


@app.command()
def register(
    workflow_id: str = typer.Argument(..., help="The workflow's id (see nasiko n8n workflows)."),
    name: str | None = typer.Option(None, "--name", help="Default: the workflow's name."),
    description: str | None = typer.Option(
        None, "--description", help="Default: the workflow's notes."
    ),
    skill: list[str] = typer.Option([], "--skill", help="A skill to advertise; repeatable."),
    slug: str | None = typer.Option(None, "--slug"),
    visibility: str = typer.Option("private", "--visibility"),
    tag: list[str] = typer.Option([], "--tag"),
) -> None:
    """Register a workflow as an A2A agent behind the gateway."""
    body: dict[str, object] = {
        "workflow_id": workflow_id,
        "skills": skill,
        "visibility": visibility,
        "tags": tag,
    }
    for key, value in (("name", name), ("description", description), ("slug", slug)):
        if value:
            body[key] = value
    with friendly(), state.client() as client:
        data = client.post("/n8n/agents", json=body)
    emit(
        data,
        table=lambda a: console.print(f"[green]registered[/green] {a['slug']}: {a['gateway_url']}"),
    )
