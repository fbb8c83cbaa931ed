"""Spans as the platform stores them, and the shapes the trace queries return.

`SpanRecord` is a plain slotted dataclass because ingest handles thousands of them a second;
the query results are Pydantic models because they leave through the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SpanStatus = Literal["unset", "ok", "error"]
SpanKind = Literal["unspecified", "internal", "server", "client", "producer", "consumer"]

# Attribute names Nasiko components put on spans so they can be attributed. The gateway sets
# them on its span per proxied call; deployed agents get the agent ones as resource attributes.
AGENT_ID = "nasiko.agent.id"
AGENT_SLUG = "nasiko.agent.slug"
USER_ID = "nasiko.user.id"
SESSION_ID = "nasiko.session.id"
AGENT_SLUG_KEYS = (AGENT_SLUG, "nasiko.agent")  # the gateway's span says "nasiko.agent"


@dataclass(slots=True)
class SpanRecord:
    """One finished span, normalised from OTLP (or from the platform's own tracer)."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start_ns: int  # unix nanoseconds
    end_ns: int
    status: SpanStatus = "unset"
    status_message: str | None = None
    service_name: str | None = None
    agent_id: str | None = None
    agent_slug: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def datetime_to_ns(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000) * 1000


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class TraceSummary(Usage):
    trace_id: str
    name: str | None = Field(None, description="Name of the root span (or the earliest span).")
    agent: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    start: datetime
    duration_ms: float
    span_count: int
    error_count: int
    status: SpanStatus


class SpanNode(BaseModel):
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start: datetime
    duration_ms: float
    status: SpanStatus
    status_message: str | None = None
    service_name: str | None = None
    agent: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    resource: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    children: list[SpanNode] = Field(default_factory=list)


class TraceTree(BaseModel):
    summary: TraceSummary
    roots: list[SpanNode] = Field(
        description="Top-level spans; a span whose parent never arrived is a root too."
    )


class AgentSummary(Usage):
    agent: str
    calls: int = Field(description="Traces the agent took part in within the window.")
    errors: int = Field(description="Of those, traces where one of its spans failed.")
    p50_ms: float
    p95_ms: float


class Rollup(Usage):
    key: str | None = Field(description="The session, user, agent or trace id (None: unknown).")
    traces: int
    spans: int
    errors: int


class TraceFilter(BaseModel):
    """What `TraceService.list_traces` narrows by; every field is optional."""

    agent: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: Literal["ok", "error"] | None = None
    min_duration_ms: float | None = None


class Visibility(BaseModel):
    """Whose traces a reader may see: everything, or traces of these users and agents."""

    all: bool = False
    user_ids: list[str] = Field(default_factory=list)
    agent_slugs: list[str] = Field(default_factory=list)
