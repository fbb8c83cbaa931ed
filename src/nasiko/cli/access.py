"""nasiko access grant-user|grant-agent|revoke-user|revoke-agent|list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from nasiko.cli.context import console, emit, friendly, render_table, state

app = typer.Typer(help="Who may see and call an agent.", no_args_is_help=True)


def _grant(
    agent: str, grantee: str, kind: str, skills: list[str], expires: datetime | None
) -> None:
    body: dict[str, Any] = {"grantee": grantee, "grantee_type": kind}
    if skills:
        body["skills"] = skills
    if expires:
        body["expires_at"] = expires.isoformat()
    with friendly(), state.client() as client:
        data = client.post(f"/registries/{agent}/grants", json=body)
    emit(
        data,
        table=lambda _: console.print(
            f"Granted {kind} {grantee} access to {agent}"
            + (f" (skills: {', '.join(skills)})" if skills else "")
        ),
    )


@app.command("grant-user")
def grant_user(
    agent: str,
    user: str,
    skill: list[str] = typer.Option([], "--skill", help="Limit to these skill ids."),
    expires: datetime | None = typer.Option(None, "--expires"),
) -> None:
    """Let a user see and call an agent (visibility 'shared')."""
    _grant(agent, user, "user", skill, expires)


@app.command("grant-agent")
def grant_agent(
    agent: str,
    caller: str = typer.Argument(..., help="The calling agent's slug."),
    skill: list[str] = typer.Option([], "--skill"),
    expires: datetime | None = typer.Option(None, "--expires"),
) -> None:
    """Let another agent call this one through the gateway."""
    _grant(agent, caller, "agent", skill, expires)


def _revoke(agent: str, grantee: str, kind: str) -> None:
    with friendly(), state.client() as client:
        client.delete(
            f"/registries/{agent}/grants", params={"grantee": grantee, "grantee_type": kind}
        )
    console.print(f"Revoked {kind} {grantee} on {agent}.")


@app.command("revoke-user")
def revoke_user(agent: str, user: str) -> None:
    """Take a user's access away."""
    _revoke(agent, user, "user")


@app.command("revoke-agent")
def revoke_agent(agent: str, caller: str) -> None:
    """Take an agent's access away."""
    _revoke(agent, caller, "agent")


@app.command("list")
def list_grants(agent: str) -> None:
    """Grants on an agent."""
    with friendly(), state.client() as client:
        data = client.get(f"/registries/{agent}/grants")
    emit(
        data,
        table=lambda d: render_table(
            d,
            ["grantee_type", "grantee_id", "skills", "expires_at", "created_at"],
            empty="no grants",
        ),
    )
