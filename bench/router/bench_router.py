"""Routing latency and index memory at 100, 1,000 and 10,000 agents.

    .venv/bin/python bench/router/bench_router.py [--sizes 100 1000 10000] [--queries 300]
        [--results bench/router/RESULTS.md]

The agents are the routing dev set's 45 cards expanded synthetically: each copy gets a region
and a brand woven into its description and skills so that no two agents embed alike. Every
request is routed once, as a caller would (top_k=3, query cache off), and compared with the
time of the embedding call alone for the same requests in the same run: the ratio says what the
ranking adds on top of the unavoidable model call.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from nasiko.core.routing.embedder import Embedder
from nasiko.core.routing.evaluation import evaluate, load_offtopic, load_queries
from nasiko.core.routing.index import RouterIndex

REPO = Path(__file__).resolve().parents[2]
DEV_SET = REPO.parent / "shared" / "evals" / "routing" / "dev"

REGIONS = [
    "Nordic", "Andean", "Pacific", "Alpine", "Baltic", "Iberian", "Saharan", "Caribbean",
    "Balkan", "Bengal", "Patagonian", "Siberian", "Aegean", "Celtic", "Mekong", "Sahel",
]  # fmt: skip
BRANDS = [
    "Acme", "Zenith", "Orbit", "Harbor", "Summit", "Nimbus", "Pioneer", "Lumen", "Vertex",
    "Beacon", "Cobalt", "Maple", "Quartz", "Juniper", "Falcon", "Willow", "Atlas", "Ember",
]  # fmt: skip
STYLES = ["premium", "budget", "family", "business", "express", "local", "24/7", "eco"]


def synthetic_cards(base: list[dict[str, Any]], n: int, *, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cards = []
    for i in range(n):
        src = base[i % len(base)]
        region, brand, style = rng.choice(REGIONS), rng.choice(BRANDS), rng.choice(STYLES)
        cards.append(
            {
                "name": f"{brand} {src['name']} {i}",
                "description": f"{src['description']} ({style}, by {brand}, {region} region)",
                "skills": [
                    {
                        **skill,
                        "description": f"{skill['description']} in the {region} region",
                        "tags": [*skill.get("tags", []), region.lower()],
                    }
                    for skill in src.get("skills", [])
                ],
            }
        )
    return cards


class _CachedOnly(Embedder):
    """Serves precomputed query vectors, so a route call measures ranking alone."""

    def __init__(self, inner: Embedder, queries: list[str]) -> None:
        super().__init__()
        self._vectors = dict(zip(queries, inner.embed(queries), strict=True))

    def embed_query(self, text: str) -> np.ndarray:
        return self._vectors[text]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(size: int, base: list[dict[str, Any]], queries: list[str], embedder: Embedder) -> dict:
    cards = synthetic_cards(base, size)
    rss_before = rss_bytes()
    index = RouterIndex(embedder)
    start = time.perf_counter()
    index.upsert_many((card["name"], card) for card in cards)
    build_s = time.perf_counter() - start
    rss_after = rss_bytes()
    # One agent changes: only its texts are embedded again.
    changed = dict(cards[0], description=cards[0]["description"] + " Now with live support.")
    start = time.perf_counter()
    index.upsert(changed["name"], changed)
    update_ms = (time.perf_counter() - start) * 1000

    embed_ms, route_ms, rank_ms = [], [], []
    # Interleaved, alternating which goes first, so both see the same machine load and caches.
    for i, query in enumerate(queries):
        for kind in ("embed", "route") if i % 2 else ("route", "embed"):
            start = time.perf_counter()
            if kind == "embed":
                embedder.embed([query])
            else:
                index.route(query, top_k=3)
            (embed_ms if kind == "embed" else route_ms).append((time.perf_counter() - start) * 1000)
    # Ranking alone: the same requests again with their embeddings cached.
    index.embedder = _CachedOnly(embedder, queries)
    for query in queries:
        start = time.perf_counter()
        index.route(query, top_k=3)
        rank_ms.append((time.perf_counter() - start) * 1000)
    index.embedder = embedder
    return {
        "rank_p50": pct(rank_ms, 50),
        "rank_p99": pct(rank_ms, 99),
        "agents": size,
        "vectors": index.memory_bytes(),
        "rss_growth": max(rss_after - rss_before, 0),
        "build_s": build_s,
        "update_ms": update_ms,
        "embed_p50": pct(embed_ms, 50),
        "embed_p99": pct(embed_ms, 99),
        "route_p50": pct(route_ms, 50),
        "route_p99": pct(route_ms, 99),
    }


def render(rows: list[dict], *, queries: int, quality: str) -> str:
    lines = [
        quality,
        "",
        f"Router latency and memory ({queries} dev-set requests routed one at a time, top_k=3,"
        f" {os.cpu_count()} CPU cores, no LLM). `embed` is the MiniLM int8 call alone on the same"
        " requests in the same run; `x embed` is route / embed at p50; `ranking alone` is the"
        " same route calls with the request's embedding already cached. Past 2,000 agents,"
        " skill rows are scored for the 300 best"
        " agents by passage and lexical score only. `index vectors` is the allocated matrices;"
        " `RSS growth` also counts the model runtime's buffers from embedding the cards.",
        "",
        "| agents | embed p50 / p99 ms | route p50 / p99 ms | x embed (p50) |"
        " ranking alone p50 / p99 ms |"
        " index vectors MiB | RSS growth MiB | build s | update 1 agent ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['agents']:,} | {r['embed_p50']:.2f} / {r['embed_p99']:.2f}"
            f" | {r['route_p50']:.2f} / {r['route_p99']:.2f}"
            f" | {r['route_p50'] / r['embed_p50']:.2f}"
            f" | {r['rank_p50']:.2f} / {r['rank_p99']:.2f}"
            f" | {r['vectors'] / 2**20:.1f} | {r['rss_growth'] / 2**20:.1f}"
            f" | {r['build_s']:.1f} | {r['update_ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "RESULTS.md")
    args = parser.parse_args()

    base = json.loads((DEV_SET / "agents.json").read_text())
    queries = [
        json.loads(line)["query"]
        for line in (DEV_SET / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ][: args.queries]
    embedder = Embedder(cache_size=0)  # every route pays for its embedding
    embedder.warm_up()
    report = evaluate(
        base, load_queries(DEV_SET / "queries.jsonl"), offtopic=load_offtopic(), embedder=embedder
    )
    quality = (
        f"Dev set ({report.queries} requests, {report.agents} agents): lenient top-1"
        f" {report.lenient_top1:.3f}, top-3 {report.lenient_top3:.3f}, MRR"
        f" {report.lenient_mrr:.3f}; strict top-1 {report.top1:.3f}; off-topic requests answered"
        f" 'no agent fits' {report.offtopic_no_match or 0:.3f} ({report.offtopic_queries});"
        f" in-domain requests wrongly refused {report.in_domain_no_match:.3f}."
    )
    print(quality, flush=True)
    rows = []
    for size in args.sizes:
        rows.append(measure(size, base, queries, embedder))
        print(json.dumps(rows[-1]), flush=True)
    table = render(rows, queries=len(queries), quality=quality)
    load = os.getloadavg()
    table += f"\nLoad average while measuring: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.\n"
    print(table)
    args.results.write_text(table)
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
