"""up, serve, status, docs, db: running and inspecting the platform."""

from __future__ import annotations

import asyncio
import sys
import webbrowser
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel

from nasiko.cli.context import console, emit, fail, friendly, state

db_app = typer.Typer(help="Database maintenance (operators).", no_args_is_help=True)


def _settings(**overrides: Any) -> Any:
    from nasiko.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _run(coro: Any) -> None:
    from nasiko.errors import NasikoError

    try:
        asyncio.run(coro)
    except NasikoError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        pass


def up(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="NASIKO_DATA_DIR", help="Where data lives (default ./.nasiko)."
    ),
    agents_dir: Path | None = typer.Option(
        None, "--agents-dir", help="Agent packages to deploy at start (default ./agents)."
    ),
    host: str | None = typer.Option(None, "--host", help="Interface for every component."),
) -> None:
    """Run the whole platform in this process: API + UI, gateway, router, worker."""
    from nasiko.allinone import COMPONENTS, serve, single_instance
    from nasiko.errors import NasikoError
    from nasiko.logs import configure_logging

    settings = _settings(data_dir=data_dir)
    if host:
        for part in (settings.api, settings.gateway, settings.router):
            part.host = host
    if agents_dir is not None:
        settings.runtime.agents_dir = agents_dir
    elif settings.runtime.agents_dir is None and Path("agents").is_dir():
        settings.runtime.agents_dir = Path("agents")
    configure_logging(level=settings.log_level, json_lines=settings.log_json)

    def ready(svc: Any, listeners: list[Any]) -> None:
        lines = [
            f"[bold]Nasiko is running[/bold] (embedded mode, data in {settings.data_dir.resolve()})"
        ]
        for lst in listeners:
            label = {
                "api": "REST API",
                "gateway": "A2A gateway",
                "router": "Router",
                "otlp": "OTLP/HTTP",
            }.get(lst.name, lst.name)
            lines.append(f"  {label:<14} http://{lst.host}:{lst.port}")
        base = f"http://{settings.api.host}:{settings.api.port}"
        lines.append(f"  {'Web UI':<14} {base}/ui")
        lines.append(f"  {'API docs':<14} {base}/docs")
        if svc.generated_admin_password:
            lines.append(
                f"\nFirst start: superuser [bold]{settings.admin_username}[/bold] with password "
                f"[bold]{svc.generated_admin_password}[/bold] (shown once; change it with "
                "`nasiko user passwd`)."
            )
        else:
            lines.append(f"\nLog in: nasiko login -u {settings.admin_username}")
        lines.append("Stop with Ctrl-C.")
        console.print(Panel("\n".join(lines), expand=False))

    try:
        with single_instance(settings.data_dir):
            _run(serve(settings, [*COMPONENTS, "otlp"], on_ready=ready))
    except NasikoError as exc:
        fail(exc.message)


def serve_cmd(
    component: str = typer.Argument(..., help="api, gateway, router or worker."),
    port: int | None = typer.Option(None, "--port", help="Override the component's port."),
    host: str | None = typer.Option(None, "--host"),
) -> None:
    """Run one component alone (server mode: set DATABASE_URL and REDIS_URL)."""
    from nasiko.allinone import COMPONENTS, serve
    from nasiko.logs import configure_logging

    if component not in COMPONENTS:
        fail(f"unknown component '{component}'; choose one of {', '.join(COMPONENTS)}", code=2)
    settings = _settings()
    part = getattr(settings, component, None)
    if part is not None and component != "worker":
        if port:
            part.port = port
        if host:
            part.host = host
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    if settings.is_sqlite and not settings.redis_url:
        console.print(
            "[yellow]note:[/yellow] no DATABASE_URL/REDIS_URL set; this component "
            "uses the embedded SQLite store and in-process queues.",
            highlight=False,
        )

    def ready(svc: Any, listeners: list[Any]) -> None:
        where = ", ".join(f"http://{lst.host}:{lst.port}" for lst in listeners) or "no port"
        console.print(f"nasiko {component} running ({where})")
        if svc.generated_admin_password:
            console.print(
                f"First start: superuser {settings.admin_username} with password "
                f"{svc.generated_admin_password} (shown once)"
            )

    _run(serve(settings, [component], on_ready=ready))


def status() -> None:
    """Is the platform reachable; version, each component's health, counts."""
    with friendly(), state.client() as client:
        data = client.get("/status")

    def table(d: dict[str, Any]) -> None:
        console.print(f"Nasiko {d['version']} at {state.api_url} ({d['mode']} mode)")
        for name, comp in d["components"].items():
            mark = "[green]ok[/green]" if comp.get("ok") else "[red]down[/red]"
            extra = comp.get("url") or (
                f"queue depth {comp['queue_depth']}" if "queue_depth" in comp else ""
            )
            console.print(f"  {name:<9} {mark} {extra}")
        console.print("  " + ", ".join(f"{k}: {v}" for k, v in d["counts"].items()))

    emit(data, table=table)


def docs(
    open_browser: bool = typer.Option(False, "--open", help="Open the docs in a browser."),
) -> None:
    """Print (or open) the API documentation URL."""
    url = f"{state.api_url.rstrip('/')}/docs"
    if open_browser:
        webbrowser.open(url)
    emit({"url": url}, table=lambda d: console.print(d["url"]))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically at start)."""
    from nasiko.storage.sql import migrate
    from nasiko.storage.sql.engine import create_engine

    settings = _settings()

    async def run() -> None:
        engine = create_engine(settings.sql_url)
        try:
            await migrate.upgrade(engine)
            revs = ", ".join(sorted(await migrate.current_revisions(engine)))
            console.print(f"database at revision(s) {revs}")
        finally:
            await engine.dispose()

    _run(run())


@db_app.command("rotate-keys")
def db_rotate_keys() -> None:
    """Re-encrypt stored secrets with the newest key in NASIKO_SECRET_KEY / secret.key."""
    from nasiko.bootstrap import open_services

    settings = _settings()

    async def run() -> None:
        async with open_services(settings, ensure_admin=False) as svc:
            count = await svc.storage.credentials.rotate()
        console.print(f"re-encrypted {count} secret(s) with the newest key")

    _run(run())


def version_callback(value: bool) -> None:
    if value:
        from nasiko import __version__

        sys.stdout.write(f"nasiko {__version__}\n")
        raise typer.Exit()
