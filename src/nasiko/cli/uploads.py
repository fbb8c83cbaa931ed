"""nasiko agent upload-zip|upload-directory|upload-git, and lifecycle commands, with a live
step-by-step view of the deploy."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from nasiko.cli.context import console, emit, err_console, fail, friendly, state
from nasiko.client import NasikoClient, iter_sse

STEP_MARK = {
    "pending": "[dim]·[/dim]",
    "running": "[yellow]…[/yellow]",
    "done": "[green]✓[/green]",
    "failed": "[red]✗[/red]",
}


def _view(upload: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_row(f"[bold]upload {upload['id'][:8]}[/bold]", upload["status"])
    for step in upload["steps"]:
        last = step["log"][-1][:90] if step["log"] and step["status"] == "running" else ""
        table.add_row(STEP_MARK.get(step["status"], "?"), step["name"], f"[dim]{last}[/dim]")
    return table


def follow_upload(client: NasikoClient, upload: dict[str, Any]) -> dict[str, Any]:
    """Live progress from the upload's event stream; returns the final record."""
    final = upload
    show = console.is_terminal and not state.json
    with (
        Live(_view(upload), console=console, refresh_per_second=8, transient=False)
        if show
        else _Null() as live
    ):
        for event, data in iter_sse(client.stream_lines("GET", f"/uploads/{upload['id']}/events")):
            if event == "status":
                final = json.loads(data)
                if show:
                    live.update(_view(final))
                elif not state.json:
                    console.print(f"{final['status']}")
            elif event == "end":
                break
    return final


class _Null:
    """Stands in for Rich's Live display when output is not a terminal."""

    def __enter__(self) -> _Null:
        return self

    def update(self, _renderable: Any) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def finish(upload: dict[str, Any]) -> None:
    if state.json:
        emit(upload)
    if upload["status"] == "registered":
        if not state.json:
            console.print(
                f"[green]registered[/green] {upload['slug']}: {upload['result']['gateway_url']}"
            )
        return
    failed = next((s for s in upload["steps"] if s["status"] == "failed"), None)
    if failed and not state.json:
        err_console.print(f"[red]{failed['name']} failed[/red]; last log lines:")
        for line in failed["log"][-15:]:
            err_console.print(f"  {line}", highlight=False, markup=False)
    fail(upload.get("error") or "the upload failed")


def _send_archive(
    path: Path,
    *,
    slug: str | None,
    runtime: str | None,
    visibility: str,
    tags: list[str],
    wait: bool,
) -> None:
    fields = {
        k: v
        for k, v in {
            "slug": slug,
            "runtime": runtime,
            "visibility": visibility,
            "tags": ",".join(tags),
        }.items()
        if v
    }
    with friendly(), state.client() as client, path.open("rb") as fh:
        resp = client.request(
            "POST", "/uploads", files={"file": (path.name, fh)}, data=fields, timeout=None
        )
        upload = resp.json()
        if not wait:
            emit(upload, table=lambda u: console.print(f"upload {u['id']} queued"))
            return
        final = follow_upload(client, upload)
    finish(final)


def upload_zip(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".zip or .tar.gz"),
    slug: str | None = typer.Option(None, "--slug"),
    runtime: str | None = typer.Option(None, "--runtime", help="process or docker."),
    visibility: str = typer.Option("private", "--visibility"),
    tag: list[str] = typer.Option([], "--tag"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow progress to the end."),
) -> None:
    """Upload an agent archive and deploy it."""
    _send_archive(file, slug=slug, runtime=runtime, visibility=visibility, tags=tag, wait=wait)


def upload_directory(
    directory: Path = typer.Argument(..., exists=True, file_okay=False),
    slug: str | None = typer.Option(None, "--slug"),
    runtime: str | None = typer.Option(None, "--runtime", help="process or docker."),
    visibility: str = typer.Option("private", "--visibility"),
    tag: list[str] = typer.Option([], "--tag"),
    wait: bool = typer.Option(True, "--wait/--no-wait"),
) -> None:
    """Pack a folder (honouring .gitignore and .nasikoignore), upload and deploy it."""
    from nasiko.core.packaging import pack_directory  # packing needs no platform access

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{directory.resolve().name}.tar.gz"
        result = pack_directory(directory, out)
        if not state.json:
            console.print(f"packed {result.files} files ({result.bytes} bytes)")
        _send_archive(out, slug=slug, runtime=runtime, visibility=visibility, tags=tag, wait=wait)


def upload_git(
    url: str = typer.Argument(..., help="Any git remote (https, ssh, file://)."),
    ref: str | None = typer.Option(None, "--ref"),
    subdir: str | None = typer.Option(None, "--subdir"),
    slug: str | None = typer.Option(None, "--slug"),
    runtime: str | None = typer.Option(None, "--runtime"),
    visibility: str = typer.Option("private", "--visibility"),
    wait: bool = typer.Option(True, "--wait/--no-wait"),
) -> None:
    """Deploy an agent from a git repository."""
    start_upload(
        "/uploads",
        {
            "url": url,
            "ref": ref,
            "subdir": subdir,
            "slug": slug,
            "runtime": runtime,
            "visibility": visibility,
        },
        wait=wait,
    )


def start_upload(path: str, fields: dict[str, Any], *, wait: bool) -> None:
    """POST an upload request (empty fields left out), then follow it to the end."""
    body = {k: v for k, v in fields.items() if v}
    with friendly(), state.client() as client:
        upload = client.post(path, json=body)
        if not wait:
            emit(upload, table=lambda u: console.print(f"upload {u['id']} queued"))
            return
        final = follow_upload(client, upload)
    finish(final)


def uploads_list(limit: int = typer.Option(20, min=1, max=200)) -> None:
    """Your recent uploads."""
    from nasiko.cli.context import render_table

    with friendly(), state.client() as client:
        page = client.get("/uploads", params={"limit": limit})
    emit(
        page,
        table=lambda p: render_table(
            p["items"],
            ["id", "slug", "status", "runtime", "created_at", "error"],
            empty="no uploads yet",
        ),
    )


def _lifecycle(action: str, agent: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    with friendly(), state.client() as client:
        result: dict[str, Any] = client.post(f"/registries/{agent}/{action}", json=body or {})
    return result


def stop(agent: str) -> None:
    """Stop a deployed agent."""
    data = _lifecycle("stop", agent)
    emit(data, table=lambda a: console.print(f"{a['slug']}: {a['status']}"))


def start(agent: str) -> None:
    """Start a stopped agent."""
    data = _lifecycle("start", agent)
    emit(data, table=lambda a: console.print(f"{a['slug']}: {a['status']} at {a['gateway_url']}"))


def restart(agent: str) -> None:
    """Restart an agent."""
    data = _lifecycle("restart", agent)
    emit(data, table=lambda a: console.print(f"{a['slug']}: {a['status']}"))


def rollback(agent: str, version: int | None = typer.Option(None, "--version")) -> None:
    """Run an earlier version again (default: the one before the current)."""
    data = _lifecycle("rollback", agent, {"version": version})
    emit(data, table=lambda a: console.print(f"{a['slug']}: now v{a['current_version']}"))


def redeploy(agent: str, wait: bool = typer.Option(True, "--wait/--no-wait")) -> None:
    """Build and deploy the agent's source again as a new version."""
    with friendly(), state.client() as client:
        upload = client.post(f"/registries/{agent}/redeploy")
        if not wait:
            emit(upload)
            return
        final = follow_upload(client, upload)
    finish(final)


def logs(
    agent: str,
    follow: bool = typer.Option(False, "--follow", "-f"),
    tail: int = typer.Option(200, "--tail", min=1),
) -> None:
    """Show an agent's log (and keep following it with --follow)."""
    with friendly(), state.client() as client:
        for line in client.get(f"/registries/{agent}/logs", params={"tail": tail})["lines"]:
            console.print(line, highlight=False, markup=False)
        if follow:
            for event, data in iter_sse(
                client.stream_lines("GET", f"/registries/{agent}/logs/stream")
            ):
                if event == "log":
                    console.print(data, highlight=False, markup=False)


def register_commands(app: typer.Typer) -> None:
    app.command("upload-zip")(upload_zip)
    app.command("upload-directory")(upload_directory)
    app.command("upload-git")(upload_git)
    app.command("uploads")(uploads_list)
    for fn in (stop, start, restart, rollback, redeploy, logs):
        app.command(fn.__name__)(fn)
