from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nasiko.cli.router import app
from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.evaluation import evaluate, load_agents, load_offtopic, load_queries


def test_offtopic_set_is_large_and_unique() -> None:
    queries = load_offtopic()
    assert len(queries) >= 60
    assert len(set(queries)) == len(queries)


def test_dev_set_meets_the_quality_targets(
    embedder: Embedder, dev_set: Path, tmp_path: Path
) -> None:
    predictions = tmp_path / "preds.jsonl"
    report = evaluate(
        load_agents(dev_set / "agents.json"),
        load_queries(dev_set / "queries.jsonl"),
        offtopic=load_offtopic(),
        embedder=embedder,
        predictions_path=predictions,
    )
    assert report.queries == 308 and report.agents == 45
    # Deterministic: the model, the cards and the queries are fixed.
    assert report.lenient_top1 >= 0.92
    assert report.lenient_mrr >= 0.95
    assert report.lenient_top3 >= 0.97
    assert report.offtopic_no_match is not None and report.offtopic_no_match >= 0.90
    assert report.in_domain_no_match <= 0.02
    # The predictions file is what the team's scorer reads, and it agrees with the harness.
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 308
    assert set(lines[0]) == {"query", "ranked", "latency_ms"}
    scorer = dev_set.parent / "score.py"
    out = subprocess.run(
        [
            sys.executable,
            str(scorer),
            "--agents",
            str(dev_set / "agents.json"),
            "--queries",
            str(dev_set / "queries.jsonl"),
            "--predictions",
            str(predictions),
            "--json",
            str(tmp_path / "score.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "lenient top-1" in out.stdout
    scored = json.loads((tmp_path / "score.json").read_text())
    assert abs(scored["lenient_top1"] - report.lenient_top1) < 1e-9
    assert abs(scored["lenient_mrr"] - report.lenient_mrr) < 1e-9


def test_cli_eval_prints_json(dev_set: Path, tmp_path: Path) -> None:
    agents = json.loads((dev_set / "agents.json").read_text())[:6]
    names = {a["name"] for a in agents}
    queries = [
        json.loads(line)
        for line in (dev_set / "queries.jsonl").read_text().splitlines()
        if json.loads(line)["expected"] in names
    ]
    (tmp_path / "agents.json").write_text(json.dumps(agents))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (tmp_path / "off.jsonl").write_text(json.dumps({"query": "how do bees make honey?"}))
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--agents",
            str(tmp_path / "agents.json"),
            "--queries",
            str(tmp_path / "queries.jsonl"),
            "--offtopic",
            str(tmp_path / "off.jsonl"),
            "--predictions",
            str(tmp_path / "p.jsonl"),
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["agents"] == 6 and report["queries"] == len(queries)
    assert report["offtopic_queries"] == 1 and report["offtopic_no_match"] == 1.0
    assert report["lenient_top1"] > 0.8
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == len(queries)


def test_cli_eval_table_and_bad_input(dev_set: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--agents", str(tmp_path / "missing.json"), "--queries", "x.jsonl"]
    )
    assert result.exit_code == 2
    assert "cannot read agents file" in result.output
    agents = json.loads((dev_set / "agents.json").read_text())[:3]
    (tmp_path / "agents.json").write_text(json.dumps(agents))
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"query": "set an alarm for 7am", "expected": agents[0]["name"]})
    )
    result = CliRunner().invoke(
        app,
        ["eval", "--agents", str(tmp_path / "agents.json"), "--queries", str(tmp_path / "q.jsonl")],
    )
    assert result.exit_code == 0, result.output
    assert "top-1" in result.output and "MRR" in result.output
