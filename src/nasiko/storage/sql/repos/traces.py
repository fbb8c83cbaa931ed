"""Spans in SQL: bulk inserts, trace lists, span trees, per-agent summaries and roll-ups.

Traces are aggregated from spans at query time (GROUP BY trace_id over an indexed window), so
spans from several exporters and replicas never race on a shared roll-up row. Percentiles use
the nearest-rank method with ROW_NUMBER()/COUNT() window functions, which SQLite (3.25+) and
PostgreSQL both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from nasiko.core.observability.models import (
    AgentSummary,
    Rollup,
    SpanRecord,
    TraceFilter,
    TraceSummary,
    Visibility,
    datetime_to_ns,
    ns_to_datetime,
)
from nasiko.core.observability.ports import RollupBy
from nasiko.storage.sql.tables_traces import spans as t

_ID_CHUNK = 500
_MAX_DEPTH = 16
_COLUMNS = [c.name for c in t.columns if c.name != "duration_ms"]


def _row(span: SpanRecord) -> dict[str, Any]:
    row = {name: getattr(span, name) for name in _COLUMNS}
    row["duration_ms"] = span.duration_ms
    return row


def _record(row: Any) -> SpanRecord:
    data = dict(row)
    data.pop("duration_ms", None)
    data["attributes"] = data.get("attributes") or {}
    data["resource"] = data.get("resource") or {}
    data["events"] = data.get("events") or []
    return SpanRecord(**data)


def _visible(vis: Visibility) -> list[ColumnElement[bool]]:
    if vis.all:
        return []
    inner = select(t.c.trace_id).where(
        or_(t.c.user_id.in_(vis.user_ids), t.c.agent_slug.in_(vis.agent_slugs))
    )
    return [t.c.trace_id.in_(inner)]


def _window(since_ns: int | None, until_ns: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since_ns is not None:
        where.append(t.c.start_ns >= since_ns)
    if until_ns is not None:
        where.append(t.c.start_ns < until_ns)
    return where


_ERR = case((t.c.status == "error", 1), else_=0)


class SqlTraceRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self._insert = (
            postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
        ).on_conflict_do_nothing()

    async def add_many(self, spans: Sequence[SpanRecord]) -> None:
        if not spans:
            return
        async with self.engine.begin() as conn:
            await conn.execute(self._insert, [_row(s) for s in spans])
            ids = list({s.trace_id for s in spans})
            for start in range(0, len(ids), _ID_CHUNK):
                await self._inherit_agents(conn, ids[start : start + _ID_CHUNK])

    async def _inherit_agents(self, conn: Any, trace_ids: list[str]) -> None:
        """A span with no agent of its own belongs to its parent's agent (an agent's LLM call
        under its server span under the gateway's span). Parents and children may arrive in
        any order and in different requests, so this runs for every batch's traces, one
        tree level per pass."""
        parent = t.alias("parent")
        parent_agent = (
            select(parent.c.agent_slug)
            .where(parent.c.trace_id == t.c.trace_id, parent.c.span_id == t.c.parent_span_id)
            .scalar_subquery()
        )
        stmt = (
            update(t)
            .where(
                t.c.trace_id.in_(trace_ids),
                t.c.agent_slug.is_(None),
                t.c.parent_span_id.is_not(None),
                parent_agent.is_not(None),
            )
            .values(agent_slug=parent_agent)
        )
        for _ in range(_MAX_DEPTH):
            if not (await conn.execute(stmt)).rowcount:
                break

    # ------------------------------------------------------------------ traces

    def _trace_groups(self, flt: TraceFilter, vis: Visibility) -> Select[Any]:
        where = _window(
            datetime_to_ns(flt.since) if flt.since else None,
            datetime_to_ns(flt.until) if flt.until else None,
        )
        where += _visible(vis)
        for column, value in (
            (t.c.agent_slug, flt.agent),
            (t.c.session_id, flt.session_id),
            (t.c.user_id, flt.user_id),
        ):
            if value is not None:
                where.append(t.c.trace_id.in_(select(t.c.trace_id).where(column == value)))
        start = func.min(t.c.start_ns)
        end = func.max(t.c.end_ns)
        errors = func.sum(_ERR)
        query = (
            select(
                t.c.trace_id,
                start.label("start_ns"),
                end.label("end_ns"),
                func.count().label("span_count"),
                errors.label("error_count"),
                func.sum(func.coalesce(t.c.input_tokens, 0)).label("input_tokens"),
                func.sum(func.coalesce(t.c.output_tokens, 0)).label("output_tokens"),
                func.sum(func.coalesce(t.c.cost_usd, 0.0)).label("cost_usd"),
                func.max(t.c.session_id).label("session_id"),
                func.max(t.c.user_id).label("user_id"),
                func.max(case((t.c.status == "ok", 1), else_=0)).label("any_ok"),
            )
            .where(*where)
            .group_by(t.c.trace_id)
        )
        if flt.status == "error":
            query = query.having(errors > 0)
        elif flt.status == "ok":
            query = query.having(errors == 0)
        if flt.min_duration_ms is not None:
            query = query.having(end - start >= int(flt.min_duration_ms * 1_000_000))
        return query

    async def list_traces(
        self, flt: TraceFilter, vis: Visibility, *, limit: int, offset: int
    ) -> tuple[list[TraceSummary], int]:
        groups = self._trace_groups(flt, vis)
        sub = groups.subquery()
        async with self.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(sub))).scalar_one()
            rows = (
                (
                    await conn.execute(
                        groups.order_by(func.min(t.c.start_ns).desc(), t.c.trace_id)
                        .limit(limit)
                        .offset(offset)
                    )
                )
                .mappings()
                .all()
            )
            ids = [r["trace_id"] for r in rows]
            names, agents = await self._names_and_agents(conn, ids)
        out = []
        for r in rows:
            errors = int(r["error_count"] or 0)
            out.append(
                TraceSummary(
                    trace_id=r["trace_id"],
                    name=names.get(r["trace_id"]),
                    agent=agents.get(r["trace_id"]),
                    session_id=r["session_id"],
                    user_id=r["user_id"],
                    start=ns_to_datetime(r["start_ns"]),
                    duration_ms=(r["end_ns"] - r["start_ns"]) / 1e6,
                    span_count=int(r["span_count"]),
                    error_count=errors,
                    status="error" if errors else ("ok" if r["any_ok"] else "unset"),
                    input_tokens=int(r["input_tokens"] or 0),
                    output_tokens=int(r["output_tokens"] or 0),
                    cost_usd=float(r["cost_usd"] or 0.0),
                )
            )
        return out, int(total)

    async def _names_and_agents(
        self, conn: Any, ids: list[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The earliest span's name, and the agent of the earliest span that names one."""
        if not ids:
            return {}, {}
        rows = await conn.execute(
            select(t.c.trace_id, t.c.name, t.c.agent_slug, t.c.parent_span_id)
            .where(t.c.trace_id.in_(ids))
            .where(or_(t.c.parent_span_id.is_(None), t.c.agent_slug.is_not(None)))
            .order_by(t.c.trace_id, t.c.start_ns)
        )
        names: dict[str, str] = {}
        agents: dict[str, str] = {}
        for trace_id, name, agent, parent in rows:
            if parent is None:
                names.setdefault(trace_id, name)
            if agent is not None:
                agents.setdefault(trace_id, agent)
        missing = [i for i in ids if i not in names]
        if missing:
            # No root arrived (the caller's span lives elsewhere): name it by its first span.
            rows = await conn.execute(
                select(t.c.trace_id, t.c.name)
                .where(t.c.trace_id.in_(missing))
                .order_by(t.c.trace_id, t.c.start_ns)
            )
            for trace_id, name in rows:
                names.setdefault(trace_id, name)
        return names, agents

    async def get_spans(self, trace_id: str, vis: Visibility) -> list[SpanRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t)
                .where(t.c.trace_id == trace_id, *_visible(vis))
                .order_by(t.c.start_ns, t.c.span_id)
            )
            return [_record(r) for r in rows.mappings()]

    # ------------------------------------------------------------------ aggregates

    def _per_trace(
        self, key: ColumnElement[Any], *, by_agent: bool, where: list[ColumnElement[bool]]
    ) -> Any:
        group = [t.c.trace_id, t.c.agent_slug] if by_agent else [t.c.trace_id]
        return (
            select(
                t.c.trace_id,
                key.label("key"),
                (func.max(t.c.end_ns) - func.min(t.c.start_ns)).label("dur_ns"),
                func.count().label("spans"),
                func.max(_ERR).label("err"),
                func.sum(func.coalesce(t.c.input_tokens, 0)).label("tin"),
                func.sum(func.coalesce(t.c.output_tokens, 0)).label("tout"),
                func.sum(func.coalesce(t.c.cost_usd, 0.0)).label("cost"),
            )
            .where(*where)
            .group_by(*group)
            .subquery()
        )

    async def agent_summary(
        self, *, since_ns: int, until_ns: int | None, vis: Visibility
    ) -> list[AgentSummary]:
        where = [*_window(since_ns, until_ns), *_visible(vis), t.c.agent_slug.is_not(None)]
        calls = self._per_trace(t.c.agent_slug, by_agent=True, where=where)
        ranked = select(
            calls,
            func.row_number().over(partition_by=calls.c.key, order_by=calls.c.dur_ns).label("rn"),
            func.count().over(partition_by=calls.c.key).label("cnt"),
        ).subquery()

        def rank(p: int) -> Any:
            # Nearest rank: the ceil(p/100 * n)-th smallest, in integer arithmetic.
            wanted = (ranked.c.cnt * p + 99) // 100
            return func.max(case((ranked.c.rn == wanted, ranked.c.dur_ns), else_=None))

        query = (
            select(
                ranked.c.key,
                func.count().label("calls"),
                func.sum(ranked.c.err).label("errors"),
                rank(50).label("p50"),
                rank(95).label("p95"),
                func.sum(ranked.c.tin).label("tin"),
                func.sum(ranked.c.tout).label("tout"),
                func.sum(ranked.c.cost).label("cost"),
            )
            .group_by(ranked.c.key)
            .order_by(ranked.c.key)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AgentSummary(
                agent=r["key"],
                calls=int(r["calls"]),
                errors=int(r["errors"] or 0),
                p50_ms=int(r["p50"] or 0) / 1e6,
                p95_ms=int(r["p95"] or 0) / 1e6,
                input_tokens=int(r["tin"] or 0),
                output_tokens=int(r["tout"] or 0),
                cost_usd=float(r["cost"] or 0.0),
            )
            for r in rows
        ]

    async def rollup(
        self, by: RollupBy, *, since_ns: int, until_ns: int | None, vis: Visibility, limit: int
    ) -> list[Rollup]:
        where = [*_window(since_ns, until_ns), *_visible(vis)]
        key: ColumnElement[Any] = {
            "trace": t.c.trace_id,
            "session": func.max(t.c.session_id),
            "user": func.max(t.c.user_id),
            "agent": t.c.agent_slug,
        }[by]
        per = self._per_trace(key, by_agent=by == "agent", where=where)
        cost = func.sum(per.c.cost)
        query = (
            select(
                per.c.key,
                func.count().label("traces"),
                func.sum(per.c.spans).label("spans"),
                func.sum(per.c.err).label("errors"),
                func.sum(per.c.tin).label("tin"),
                func.sum(per.c.tout).label("tout"),
                cost.label("cost"),
            )
            .group_by(per.c.key)
            .order_by(cost.desc(), func.count().desc(), per.c.key)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            Rollup(
                key=r["key"],
                traces=int(r["traces"]),
                spans=int(r["spans"] or 0),
                errors=int(r["errors"] or 0),
                input_tokens=int(r["tin"] or 0),
                output_tokens=int(r["tout"] or 0),
                cost_usd=float(r["cost"] or 0.0),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ housekeeping

    async def delete_before(self, cutoff_ns: int) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.start_ns < cutoff_ns))
            return int(result.rowcount or 0)

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
