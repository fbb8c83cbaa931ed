"""login, logout, whoami, and API tokens."""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.parse
import webbrowser
from collections.abc import Callable
from datetime import datetime
from typing import Any

import typer

from nasiko.cli.context import console, emit, fail, friendly, prompt_if_tty, render_table, state
from nasiko.client import Tokens

app = typer.Typer(help="API tokens for scripts and CI.", no_args_is_help=True)


def login(
    username: str | None = typer.Option(None, "--username", "-u", help="Your username."),
    password: str | None = typer.Option(
        None,
        "--password",
        "-p",
        help="Your password (prompted when omitted).",
        envvar="NASIKO_PASSWORD",
    ),
    github: bool = typer.Option(False, "--github", help="Log in with GitHub in the browser."),
) -> None:
    """Log in and keep the session in your config directory (mode 0600)."""
    if github:
        github_login()
        return
    username = prompt_if_tty(username, "Username")
    password = prompt_if_tty(password, "Password", hide=True)
    with friendly(), state.client(auth=False) as client:
        tokens = client.login(username, password)
        state.save_tokens(tokens, username)
        me = client.whoami()
    if state.json:
        emit({"username": me["username"], "role": me["role"], "api_url": state.api_url})
    else:
        console.print(
            f"Logged in to {state.api_url} as [bold]{me['username']}[/bold] ({me['role']})."
        )


def github_login(open_url: Callable[[str], Any] = webbrowser.open, timeout: float = 300) -> None:
    """Browser flow: the platform redirects back to a one-shot listener on 127.0.0.1."""
    received: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            received.update({k: v[0] for k, v in query.items()})
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<p>Nasiko: you are logged in. You can close this tab.</p>")

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    callback = f"http://127.0.0.1:{port}/callback"
    with friendly(), state.client(auth=False) as client:
        url = client.github_authorize_url(callback)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    server.timeout = timeout
    thread.start()
    console.print(f"Opening {url}\nIf no browser opens, visit that address yourself.")
    open_url(url)
    thread.join(timeout + 1)
    server.server_close()
    if "code" not in received:
        fail("no answer from the browser login; try again")
    with friendly(), state.client(auth=False) as client:
        data = client.post("/auth/exchange", json={"code": received["code"]}, auth=False)
        tokens = Tokens(data["access_token"], data["refresh_token"])
        client.tokens = tokens
        me = client.whoami()
    state.save_tokens(tokens, me["username"])
    console.print(f"Logged in to {state.api_url} as [bold]{me['username']}[/bold] via GitHub.")


def logout() -> None:
    """End the session on the platform and forget it locally."""
    from nasiko.cli import config
    from nasiko.client import ApiError, PlatformUnreachable

    with state.client() as client:
        if client.tokens.access_token:
            # Forgetting the local credentials is what matters; the server may be gone.
            with contextlib.suppress(ApiError, PlatformUnreachable):
                client.post("/auth/logout")
    config.clear_credentials(state.api_url.rstrip("/"))
    console.print("Logged out.")


def whoami() -> None:
    """Show who you are logged in as."""
    with friendly(), state.client() as client:
        me = client.whoami()
    emit(
        me,
        table=lambda d: console.print(
            f"[bold]{d['username']}[/bold] <{d['email']}> role={d['role']} id={d['id']} "
            f"at {state.api_url}"
        ),
    )


@app.command("create")
def token_create(
    name: str = typer.Argument(..., help="A name that says where the token is used."),
    expires: datetime | None = typer.Option(None, help="Expiry (ISO date/time, UTC)."),
) -> None:
    """Create an API token. It is shown once: store it now."""
    body: dict[str, Any] = {"name": name}
    if expires:
        body["expires_at"] = expires.isoformat()
    with friendly(), state.client() as client:
        data = client.post("/auth/tokens", json=body)
    emit(
        data,
        table=lambda d: console.print(
            f"Token [bold]{d['name']}[/bold] (id {d['id']}):\n{d['token']}\n"
            "[dim]Shown once. Use it as NASIKO_TOKEN or an 'Authorization: Bearer' header.[/dim]"
        ),
    )


@app.command("list")
def token_list() -> None:
    """List your API tokens (never their secrets)."""
    with friendly(), state.client() as client:
        data = client.get("/auth/tokens")
    emit(
        data,
        table=lambda d: render_table(
            d,
            ["id", "name", "prefix", "created_at", "expires_at", "revoked_at"],
            empty="no API tokens; create one with `nasiko token create NAME`",
        ),
    )


@app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an API token."""
    with friendly(), state.client() as client:
        client.delete(f"/auth/tokens/{token_id}")
    console.print(f"Revoked token {token_id}.")
