"""The `nasiko` command: global options and the command groups."""

from __future__ import annotations

import sys

import typer

from nasiko.cli import (
    access,
    agents,
    auth,
    chat,
    github,
    n8n,
    observability,
    platform,
    router,
    search,
    uploads,
    users,
)
from nasiko.cli.context import DEFAULT_API_URL, state

app = typer.Typer(
    name="nasiko",
    help="Nasiko: registry, gateway and orchestration for A2A agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    api_url: str = typer.Option(
        None,
        "--api-url",
        envvar="NASIKO_API_URL",
        help="Platform API URL.",
        show_default="http://127.0.0.1:8000",
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json (exact API data)."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=platform.version_callback,
        is_eager=True,
        help="Show the version.",
    ),
) -> None:
    state.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
    if output not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--output")
    state.output = output


app.command()(auth.login)
app.command()(auth.logout)
app.command()(auth.whoami)
app.command()(platform.status)
app.command()(platform.docs)
app.command()(platform.up)
app.command("serve")(platform.serve_cmd)
app.add_typer(users.app, name="user")
app.add_typer(auth.app, name="token")
app.add_typer(platform.db_app, name="db")
uploads.register_commands(agents.app)
app.add_typer(agents.app, name="agent")
app.add_typer(search.app, name="search")
app.add_typer(access.app, name="access")
app.add_typer(chat.app, name="chat")
app.add_typer(github.app, name="github")
app.add_typer(n8n.app, name="n8n")
app.add_typer(observability.app, name="observability", help="Traces, tokens and cost.")
app.add_typer(router.app, name="router", help="The router: evaluate ranking quality.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
