"""Shared CLI state: global options, the API client, output rendering, friendly failures."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nasiko.cli import config
from nasiko.client import ApiError, NasikoClient, PlatformUnreachable, Tokens

console = Console()
err_console = Console(stderr=True)
DEFAULT_API_URL = "http://127.0.0.1:8000"


@dataclass
class CliState:
    api_url: str = field(default_factory=lambda: os.environ.get("NASIKO_API_URL", DEFAULT_API_URL))
    output: str = "table"

    def client(self, *, auth: bool = True) -> NasikoClient:
        creds = config.load_credentials().get(self.api_url.rstrip("/"), {}) if auth else {}
        tokens = Tokens(creds.get("access_token"), creds.get("refresh_token"))
        if token := os.environ.get("NASIKO_TOKEN"):
            tokens = Tokens(token, None)
        return NasikoClient(self.api_url, tokens=tokens, on_tokens=self.save_tokens)

    def save_tokens(self, tokens: Tokens, username: str | None = None) -> None:
        data = config.load_credentials()
        entry = data.get(self.api_url.rstrip("/"), {})
        entry.update({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})
        if username:
            entry["username"] = username
        data[self.api_url.rstrip("/")] = entry
        config.save_credentials(data)

    @property
    def json(self) -> bool:
        return self.output == "json"


state = CliState()


def fail(message: str, *, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def friendly() -> Iterator[None]:
    """Turns API and connection failures into one readable line and exit code 1."""
    try:
        yield
    except PlatformUnreachable as exc:
        fail(
            f"cannot reach Nasiko at {exc.url} ({exc.reason}). Start it with `nasiko up` "
            "(or `python3 run.py up` from a checkout), or point --api-url / NASIKO_API_URL at it."
        )
    except ApiError as exc:
        if exc.status == 401:
            hint = " Run `nasiko login`." if "login" not in exc.message else ""
            fail(f"{exc.message}.{hint}" if not exc.message.endswith(".") else exc.message + hint)
        msg = exc.message
        if (
            isinstance(exc.details, list)
            and exc.details
            and exc.code in ("validation_error", "invalid_card", "invalid_package")
        ):
            extra = "; ".join(
                f"{d.get('field') or d.get('path')}: {d.get('message')}"
                for d in exc.details[1:4]
                if isinstance(d, dict)
            )
            if extra:
                msg += f" ({extra})"
        fail(f"{msg} [{exc.code}]")


def emit(data: Any, *, table: Callable[[Any], None] | None = None) -> None:
    if state.json or table is None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        table(data)


def render_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    empty: str = "nothing here yet",
) -> None:
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    t = Table(title=title)
    for i, col in enumerate(columns):
        t.add_column(col, no_wrap=i == 0)  # ids stay copy-pasteable
    for row in rows:
        t.add_row(*[_cell(row.get(col)) for col in columns])
    console.print(t)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def prompt_if_tty(value: str | None, label: str, *, hide: bool = False) -> str:
    if value:
        return value
    if not sys.stdin.isatty():
        fail(f"missing {label}; pass it as an option (no terminal to ask in)", code=2)
    result: str = typer.prompt(label, hide_input=hide)
    return result


def confirm_or_fail(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail("this deletes data; pass --yes to confirm (no terminal to ask in)", code=2)
    typer.confirm(question, abort=True)
