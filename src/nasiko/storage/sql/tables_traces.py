"""The spans table. Migration ``0005_traces`` must match."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text

from nasiko.storage.sql.tables import metadata

spans = Table(
    "spans",
    metadata,
    # The primary key doubles as the trace-id index, and makes a retried export a no-op.
    Column("trace_id", String(32), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_span_id", String(16), nullable=True),
    Column("name", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    # Unix nanoseconds: exact, and subtraction works the same on SQLite and PostgreSQL.
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status", String(8), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("service_name", String(128), nullable=True),
    Column("agent_id", String(64), nullable=True),
    Column("agent_slug", String(128), nullable=True),
    Column("session_id", String(256), nullable=True),
    Column("user_id", String(64), nullable=True),
    Column("model", String(128), nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("cost_usd", Float, nullable=True),
    Column("attributes", JSON, nullable=True),
    Column("resource", JSON, nullable=True),
    Column("events", JSON, nullable=True),
    Index("ix_spans_start", "start_ns"),
    Index("ix_spans_agent_start", "agent_slug", "start_ns"),
    Index("ix_spans_session", "session_id"),
    Index("ix_spans_user", "user_id"),
    Index("ix_spans_status_start", "status", "start_ns"),
)
