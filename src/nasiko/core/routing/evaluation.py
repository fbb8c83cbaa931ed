"""Evaluation harness: load a labelled set into a throwaway index and measure routing.

Input formats are those of ``shared/evals/routing`` (agents.json: a list of cards with unique
names; queries.jsonl: ``query``, ``expected`` and optionally ``acceptable``). A query the router
answers with "no agent fits" counts as a miss, so the accuracy figures already pay for the
threshold. Predictions are written in score.py's format: ``query``, ``ranked`` (names, best
first; empty on "no agent fits") and ``latency_ms``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.index import RouterConfig, RouterIndex
from nasiko.errors import InvalidInput


class EvalReport(BaseModel):
    agents: int
    queries: int
    top1: float
    top3: float
    mrr: float
    lenient_top1: float
    lenient_top3: float
    lenient_mrr: float
    in_domain_no_match: float
    offtopic_queries: int
    offtopic_no_match: float | None
    latency_p50_ms: float
    latency_p99_ms: float
    threshold: float


def default_offtopic_path() -> Path:
    """The bundled set of requests no agent in the dev set or the sample agents should take."""
    return Path(str(resources.files("nasiko.core.routing") / "offtopic.jsonl"))


def _read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} file {path}: {exc}") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{what} file {path} line {n} is not JSON: {exc}", details={"line": n}
            ) from exc
        if not isinstance(row, dict) or not isinstance(row.get("query"), str):
            raise InvalidInput(
                f"{what} file {path} line {n} needs a string 'query'", details={"line": n}
            )
        rows.append(row)
    return rows


def load_agents(path: Path) -> list[dict[str, Any]]:
    try:
        cards = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read agents file {path}: {exc}") from exc
    if not isinstance(cards, list) or not cards:
        raise InvalidInput(f"agents file {path} must hold a non-empty JSON list of cards")
    names = [c.get("name") if isinstance(c, dict) else None for c in cards]
    if any(not isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise InvalidInput(f"every card in {path} needs a unique string 'name'")
    return cards


def load_queries(path: Path) -> list[dict[str, Any]]:
    rows = _read_jsonl(path, "queries")
    for n, row in enumerate(rows, 1):
        if not isinstance(row.get("expected"), str):
            raise InvalidInput(f"query {n} in {path} needs a string 'expected'")
    return rows


def load_offtopic(path: Path | None = None) -> list[str]:
    return [row["query"] for row in _read_jsonl(path or default_offtopic_path(), "off-topic")]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, as score.py computes it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100.0 * len(ordered))) - 1]


def build_index(
    cards: Iterable[dict[str, Any]],
    *,
    embedder: Embedder | None = None,
    config: RouterConfig | None = None,
) -> RouterIndex:
    index = RouterIndex(embedder, config=config)
    index.upsert_many((card["name"], card) for card in cards)
    return index


def evaluate(
    cards: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    *,
    offtopic: list[str] | None = None,
    embedder: Embedder | None = None,
    config: RouterConfig | None = None,
    predictions_path: Path | None = None,
) -> EvalReport:
    """Route every query one at a time, as a caller would, and score the answers."""
    index = build_index(cards, embedder=embedder, config=config)
    index.embedder.warm_up()
    n_agents = len(index)
    totals = dict.fromkeys(("top1", "top3", "rr", "l_top1", "l_top3", "l_rr", "no_match"), 0.0)
    latencies: list[float] = []
    predictions = []
    for row in queries:
        start = time.perf_counter()
        result = index.route(row["query"], top_k=n_agents)
        elapsed = (time.perf_counter() - start) * 1000.0
        latencies.append(elapsed)
        ranked = [] if result.no_match else [c.agent_id for c in result.candidates]
        totals["no_match"] += result.no_match
        predictions.append({"query": row["query"], "ranked": ranked, "latency_ms": elapsed})
        lenient = set(row.get("acceptable") or ()) | {row["expected"]}
        for prefix, gold in (("", {row["expected"]}), ("l_", lenient)):
            rank = next((i + 1 for i, name in enumerate(ranked) if name in gold), None)
            if rank is not None:
                totals[prefix + "top1"] += rank == 1
                totals[prefix + "top3"] += rank <= 3
                totals[prefix + "rr"] += 1.0 / rank
    offtopic_rate = None
    if offtopic:
        rejected = sum(index.route(q, top_k=3).no_match for q in offtopic)
        offtopic_rate = rejected / len(offtopic)
    if predictions_path is not None:
        with predictions_path.open("w", encoding="utf-8") as fh:
            for p in predictions:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    n = max(len(queries), 1)
    return EvalReport(
        agents=n_agents,
        queries=len(queries),
        top1=totals["top1"] / n,
        top3=totals["top3"] / n,
        mrr=totals["rr"] / n,
        lenient_top1=totals["l_top1"] / n,
        lenient_top3=totals["l_top3"] / n,
        lenient_mrr=totals["l_rr"] / n,
        in_domain_no_match=totals["no_match"] / n,
        offtopic_queries=len(offtopic or ()),
        offtopic_no_match=offtopic_rate,
        latency_p50_ms=percentile(latencies, 50),
        latency_p99_ms=percentile(latencies, 99),
        threshold=index.config.threshold,
    )
