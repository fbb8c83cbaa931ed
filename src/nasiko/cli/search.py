"""nasiko search agents|users."""

from __future__ import annotations

import typer

from nasiko.cli.context import emit, friendly, render_table, state

app = typer.Typer(help="Search agents and users.", no_args_is_help=True)


@app.command("agents")
def agents(query: str, limit: int = typer.Option(20, min=1, max=100)) -> None:
    """Rank agents by name, description, skills, tags and examples."""
    with friendly(), state.client() as client:
        data = client.get("/search/agents", params={"q": query, "limit": limit})
    emit(
        data,
        table=lambda d: render_table(
            [
                {
                    "slug": h["agent"]["slug"],
                    "name": h["agent"]["name"],
                    "score": f"{h['score']:.3f}",
                    "status": h["agent"]["status"],
                    "description": h["agent"]["description"][:60],
                }
                for h in d["items"]
            ],
            ["slug", "name", "score", "status", "description"],
            empty=f"no agent matches '{query}'",
        ),
    )


@app.command("users")
def users(query: str, limit: int = typer.Option(20, min=1, max=100)) -> None:
    """Find users by name (to grant them access)."""
    with friendly(), state.client() as client:
        data = client.get("/search/users", params={"q": query, "limit": limit})
    emit(
        data,
        table=lambda d: render_table(d, ["username", "id"], empty=f"no user matches '{query}'"),
    )
