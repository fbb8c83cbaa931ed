"""`nasiko router ...`: offline tools for the router (evaluation against a labelled set)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Router tools: evaluate ranking quality on a labelled set.")


@app.callback()
def router() -> None:
    """Router tools."""


class Output(StrEnum):
    table = "table"
    json = "json"


@app.command("eval")
def eval_command(
    agents: Annotated[Path, typer.Option(help="JSON list of agent cards (unique names).")],
    queries: Annotated[
        Path, typer.Option(help="JSONL: query, expected agent name, optional acceptable list.")
    ],
    predictions: Annotated[
        Path | None,
        typer.Option(help="Write one line per query in score.py's format to this file."),
    ] = None,
    offtopic: Annotated[
        Path | None,
        typer.Option(help="JSONL of requests no agent should take (default: the bundled set)."),
    ] = None,
    output: Annotated[Output, typer.Option(help="table or json.")] = Output.table,
) -> None:
    """Load AGENTS into a throwaway index, route every query and print the metrics."""
    # Imported here so `nasiko --help` does not pay for numpy and onnxruntime.
    from nasiko.core.routing.evaluation import evaluate, load_agents, load_offtopic, load_queries
    from nasiko.errors import NasikoError

    try:
        report = evaluate(
            load_agents(agents),
            load_queries(queries),
            offtopic=load_offtopic(offtopic),
            predictions_path=predictions,
        )
    except NasikoError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    if output is Output.json:
        typer.echo(json.dumps(report.model_dump(), indent=2))
        return

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Routing: {report.queries} queries over {report.agents} agents")
    table.add_column("metric")
    table.add_column("strict", justify="right")
    table.add_column("lenient", justify="right")
    table.add_row("top-1", f"{report.top1:.3f}", f"{report.lenient_top1:.3f}")
    table.add_row("top-3", f"{report.top3:.3f}", f"{report.lenient_top3:.3f}")
    table.add_row("MRR", f"{report.mrr:.3f}", f"{report.lenient_mrr:.3f}")
    table.add_row("in-domain answered 'no agent fits'", f"{report.in_domain_no_match:.3f}", "")
    if report.offtopic_no_match is not None:
        table.add_row(
            f"off-topic answered 'no agent fits' ({report.offtopic_queries})",
            f"{report.offtopic_no_match:.3f}",
            "",
        )
    table.add_row(
        "latency p50 / p99 (ms)",
        f"{report.latency_p50_ms:.2f} / {report.latency_p99_ms:.2f}",
        "",
    )
    table.add_row("threshold", f"{report.threshold:.3f}", "")
    Console().print(table)
    if predictions is not None:
        typer.echo(f"predictions written to {predictions}")
