"""nasiko user register|list|delete|passwd."""

from __future__ import annotations

import typer

from nasiko.cli.context import (
    confirm_or_fail,
    console,
    emit,
    friendly,
    prompt_if_tty,
    render_table,
    state,
)

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("register")
def register(
    username: str | None = typer.Option(None, "--username", "-u"),
    email: str | None = typer.Option(None, "--email", "-e"),
    password: str | None = typer.Option(None, "--password", "-p", envvar="NASIKO_NEW_PASSWORD"),
    superuser: bool = typer.Option(False, "--superuser", help="Create a superuser (superusers)."),
) -> None:
    """Create an account (yourself, or anyone when you are a superuser)."""
    username = prompt_if_tty(username, "Username")
    email = prompt_if_tty(email, "E-mail")
    password = prompt_if_tty(password, "Password", hide=True)
    body = {
        "username": username,
        "email": email,
        "password": password,
        "role": "superuser" if superuser else "user",
    }
    with friendly(), state.client() as client:
        user = client.post("/users", json=body)
    emit(
        user,
        table=lambda u: console.print(
            f"Created user [bold]{u['username']}[/bold] ({u['role']}, id {u['id']})."
        ),
    )


@app.command("list")
def list_users(
    q: str | None = typer.Option(None, "--query", "-q", help="Filter by name or e-mail."),
    limit: int = typer.Option(50, min=1, max=500),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List users (superusers)."""
    params: dict[str, str | int] = {"limit": limit, "offset": offset}
    if q:
        params["q"] = q
    with friendly(), state.client() as client:
        page = client.get("/users", params=params)
    emit(
        page,
        table=lambda p: render_table(
            p["items"],
            ["username", "email", "role", "is_active", "created_at", "id"],
            title=f"{p['total']} users",
        ),
    )


@app.command("delete")
def delete(
    user: str = typer.Argument(..., help="Username or id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a user (superusers)."""
    confirm_or_fail(yes, f"Delete user {user}?")
    with friendly(), state.client() as client:
        client.delete(f"/users/{user}")
    console.print(f"Deleted user {user}.")


@app.command("passwd")
def passwd(
    current: str | None = typer.Option(None, "--current", envvar="NASIKO_PASSWORD"),
    new: str | None = typer.Option(None, "--new", envvar="NASIKO_NEW_PASSWORD"),
) -> None:
    """Change your password."""
    current = prompt_if_tty(current, "Current password", hide=True)
    new = prompt_if_tty(new, "New password", hide=True)
    with friendly(), state.client() as client:
        client.post("/users/me/password", json={"current_password": current, "new_password": new})
    console.print("Password changed; other sessions were logged out.")
