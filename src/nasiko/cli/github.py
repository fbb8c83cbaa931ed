"""nasiko github login|logout|status|repos|clone|hook: deploy agents from GitHub repositories."""

from __future__ import annotations

import typer

from nasiko.cli.context import console, emit, friendly, prompt_if_tty, render_table, state
from nasiko.cli.uploads import start_upload

app = typer.Typer(help="Connect GitHub and deploy agents from repositories.", no_args_is_help=True)


@app.command()
def login(
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="NASIKO_GITHUB_TOKEN",
        help="A personal access token (asked for when missing and a terminal is attached).",
    ),
) -> None:
    """Connect GitHub with a personal access token (checked against GitHub, kept encrypted)."""
    value = prompt_if_tty(token, "GitHub personal access token", hide=True)
    with friendly(), state.client() as client:
        data = client.post("/github/connect", json={"token": value})
    emit(data, table=lambda d: console.print(f"GitHub connected as [bold]{d['login']}[/bold]"))


@app.command()
def logout() -> None:
    """Remove the stored GitHub token."""
    with friendly(), state.client() as client:
        client.delete("/github/connect")
    emit({"connected": False}, table=lambda _: console.print("GitHub disconnected"))


@app.command()
def status() -> None:
    """Whether GitHub is connected, and as whom."""
    with friendly(), state.client() as client:
        data = client.get("/github/status")
    emit(
        data,
        table=lambda d: console.print(
            f"connected as {d['login']} ({d['source']})" if d["connected"] else "not connected"
        ),
    )


@app.command()
def repos(
    query: str | None = typer.Option(None, "--query", "-q", help="Filter by name/description."),
) -> None:
    """Your repositories (all pages), newest push first."""
    params = {"query": query} if query else {}
    with friendly(), state.client() as client:
        data = client.get("/github/repos", params=params, timeout=120)
    emit(
        data,
        table=lambda d: render_table(
            [{**r, "private": "yes" if r["private"] else ""} for r in d["items"]],
            ["full_name", "private", "language", "pushed_at", "description"],
            empty="no repositories",
        ),
    )


@app.command()
def clone(
    repository: str = typer.Argument(..., help="OWNER/REPO"),
    ref: str | None = typer.Option(None, "--ref", help="Branch, tag or commit."),
    subdir: str | None = typer.Option(None, "--subdir", help="The agent's folder in the repo."),
    slug: str | None = typer.Option(None, "--slug"),
    runtime: str | None = typer.Option(None, "--runtime", help="process or docker."),
    visibility: str = typer.Option("private", "--visibility"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow progress to the end."),
) -> None:
    """Deploy an agent straight from a GitHub repository."""
    start_upload(
        "/github/clone",
        {
            "repository": repository,
            "ref": ref,
            "subdir": subdir,
            "slug": slug,
            "runtime": runtime,
            "visibility": visibility,
        },
        wait=wait,
    )


@app.command()
def hook(agent: str) -> None:
    """Create (or replace) the push webhook secret of an agent deployed from GitHub."""
    with friendly(), state.client() as client:
        data = client.post(f"/github/hooks/{agent}")
    emit(
        data,
        table=lambda d: console.print(
            f"On GitHub, add a webhook (content type application/json, push events):\n"
            f"  payload URL  {d['url']}\n  secret       {d['secret']}\n"
            f"Pushes to '{d['branch'] or 'the default branch'}' redeploy {d['agent']}."
        ),
    )
