"""Spans ingested per second into SQLite and PostgreSQL, against raw inserts of the same rows.

    .venv/bin/python bench/observability/bench_ingest.py [--spans 30000] [--batch 500]
        [--backends sqlite postgres] [--write-docs]

Ingest is the receiver's whole path minus HTTP: OTLP protobuf bytes -> decode and validate ->
token/cost extraction and attribution -> buffered TraceService -> batched INSERTs (plus the
agent-inheritance pass). The baseline inserts the very rows ingest stored, already built, with
one executemany per batch into an empty copy of the table, in the same run. The ratio
(ingest / raw) is what the pipeline costs on top of the database's own insert speed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from nasiko.bootstrap import open_services
from nasiko.core.observability.models import SpanRecord
from nasiko.observability import otlp
from nasiko.observability.wiring import register
from nasiko.storage.sql.repos.traces import _row
from nasiko.storage.sql.tables_traces import spans as spans_table
from nasiko.testing.otlp import encode, new_trace_id, span
from nasiko.testing.platform import (
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    make_settings,
    pg_url,
)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "benchmarks.md"
MODELS = ["gpt-4o-mini", "claude-3-5-haiku-20241022", "gemini-2.0-flash"]


def make_traces(n_spans: int, seed: int = 7) -> list[SpanRecord]:
    """Traces of three spans, as the gateway + an agent + its model call produce them."""
    rng = random.Random(seed)
    out: list[SpanRecord] = []
    start = time.time_ns() - 3600 * 10**9
    while len(out) < n_spans:
        tid = new_trace_id()
        agent = f"agent-{rng.randrange(20)}"
        gw = span(
            trace_id=tid,
            name="a2a message/send",
            kind="client",
            start_ns=start,
            duration_ms=rng.uniform(50, 900),
            attributes={
                "nasiko.agent": agent,
                "nasiko.user.id": f"user-{rng.randrange(50)}",
                "nasiko.session.id": f"ctx-{rng.randrange(500)}",
                "a2a.method": "message/send",
            },
        )
        srv = span(
            trace_id=tid,
            parent=gw.span_id,
            name="POST /",
            kind="server",
            start_ns=start + 10**6,
            duration_ms=40,
            resource={"service.name": agent},
            attributes={"http.request.method": "POST", "url.path": "/"},
        )
        model = rng.choice(MODELS)
        llm = span(
            trace_id=tid,
            parent=srv.span_id,
            name=f"chat {model}",
            kind="client",
            start_ns=start + 2 * 10**6,
            duration_ms=30,
            resource={"service.name": agent},
            attributes={
                "gen_ai.system": "openai",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": rng.randrange(20, 2000),
                "gen_ai.usage.output_tokens": rng.randrange(5, 500),
            },
        )
        out += [gw, srv, llm]
        start += 10**7
    return out[:n_spans]


async def run_backend(name: str, n_spans: int, batch: int, workdir: Path) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    db = None
    if name == "postgres":
        db = await create_pg_database(PG_ADMIN_URL)
        overrides["database_url"] = pg_url(db)
    try:
        settings = make_settings(workdir / name, **overrides)
        async with open_services(settings) as svc:
            service = register(svc, batch_size=2000)
            records = make_traces(n_spans)
            payloads = [
                encode(records[i : i + batch]).SerializeToString()
                for i in range(0, len(records), batch)
            ]
            # Ingest: the receiver's path for every payload, then wait for the database.
            t0 = time.perf_counter()
            for body in payloads:
                decoded = otlp.decode(body, content_type=otlp.PROTOBUF, content_encoding=None)
                service.submit([service.enrich(s) for s in decoded.spans])
                await asyncio.sleep(0)  # let the flusher run, as it would between requests
            await service.flush()
            ingest_s = time.perf_counter() - t0
            stored = await service.repo.count()

            # Raw: the same rows, prebuilt, one executemany per 2000 rows into an empty table.
            rows = [_row(service.enrich(s)) for s in make_traces(n_spans)]
            engine = svc.storage.engine
            async with engine.begin() as conn:
                await conn.execute(delete(spans_table))
            t0 = time.perf_counter()
            for i in range(0, len(rows), 2000):
                async with engine.begin() as conn:
                    await conn.execute(spans_table.insert(), rows[i : i + 2000])
            raw_s = time.perf_counter() - t0
            await service.close()
        return {
            "backend": name,
            "spans": n_spans,
            "stored": stored,
            "ingest_per_s": n_spans / ingest_s,
            "raw_per_s": n_spans / raw_s,
            "ratio": raw_s / ingest_s,
        }
    finally:
        if db is not None:
            await drop_pg_database(db)


def write_docs(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    lines = [
        "## Observability",
        "",
        "Spans ingested per second (`bench/observability/bench_ingest.py "
        f"--spans {args.spans} --batch {args.batch}`): OTLP protobuf decode and validation, "
        "token and cost extraction, the buffered TraceService and batched inserts, against "
        "raw `executemany` inserts of the same rows into the same table in the same run.",
        "",
        "| back-end | spans | ingest spans/s | raw insert spans/s | ingest / raw |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['spans']} | {r['ingest_per_s']:,.0f} | "
            f"{r['raw_per_s']:,.0f} | {r['ratio']:.2f} |"
        )
    lines.append("")
    section = "\n".join(lines)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = text.find("## Observability")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    DOCS.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=500, help="spans per OTLP request")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends:
            r = asyncio.run(run_backend(name, args.spans, args.batch, Path(tmp)))
            assert r["stored"] == args.spans, r
            results.append(r)
            print(
                f"{name:9s} ingest {r['ingest_per_s']:10,.0f} spans/s   "
                f"raw insert {r['raw_per_s']:10,.0f} spans/s   ingest/raw {r['ratio']:.2f}",
                file=sys.stdout,
            )
    if args.write_docs:
        write_docs(results, args)
        print(f"wrote {DOCS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
