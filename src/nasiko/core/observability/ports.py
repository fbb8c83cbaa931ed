"""The storage port the trace service is written against (SQL adapter: storage/sql/repos/traces)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from nasiko.core.observability.models import (
    AgentSummary,
    Rollup,
    SpanRecord,
    TraceFilter,
    TraceSummary,
    Visibility,
)

RollupBy = Literal["trace", "session", "user", "agent"]


class TraceRepo(Protocol):
    async def add_many(self, spans: Sequence[SpanRecord]) -> None:
        """Store spans in one transaction; a span already stored (same ids) is skipped."""
        ...

    async def list_traces(
        self, flt: TraceFilter, vis: Visibility, *, limit: int, offset: int
    ) -> tuple[list[TraceSummary], int]: ...

    async def get_spans(self, trace_id: str, vis: Visibility) -> list[SpanRecord]: ...

    async def agent_summary(
        self, *, since_ns: int, until_ns: int | None, vis: Visibility
    ) -> list[AgentSummary]: ...

    async def rollup(
        self, by: RollupBy, *, since_ns: int, until_ns: int | None, vis: Visibility, limit: int
    ) -> list[Rollup]: ...

    async def delete_before(self, cutoff_ns: int) -> int: ...

    async def count(self) -> int: ...
