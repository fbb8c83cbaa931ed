"""Chat sessions and their messages (written by the gateway's chat log and read by the API)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text

from nasiko.storage.sql.tables import UtcDateTime, metadata

chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
    Column("agent_id", String(36), nullable=True),  # fixed agent; None = routed per message
    Column("agent_slug", String(63), nullable=True),
    Column("context_id", String(128), nullable=False),
    Column("last_agent_id", String(36), nullable=True),
    Column("state", String(24), nullable=True),  # last task state (input-required …)
    Column("task_id", String(128), nullable=True),
    Column("message_count", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ux_chat_sessions_user_context", "user_id", "context_id", unique=True),
    Index("ix_chat_sessions_user_updated", "user_id", "updated_at"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(36), nullable=False),
    Column("role", String(8), nullable=False),  # user | agent
    Column("message_key", String(160), nullable=False),
    Column("parts", JSON, nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("agent_id", String(36), nullable=True),
    Column("agent_slug", String(63), nullable=True),
    Column("task_id", String(128), nullable=True),
    Column("state", String(24), nullable=True),
    Column("partial", Boolean, nullable=False, default=False),
    Column("latency_ms", Float, nullable=True),
    Column("tokens_in", Integer, nullable=True),
    Column("tokens_out", Integer, nullable=True),
    Column("meta", JSON, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # The same message seen twice (a retried batch) is stored once.
    Index("ux_chat_messages_key", "session_id", "role", "message_key", unique=True),
    Index("ix_chat_messages_session", "session_id", "id"),
)
