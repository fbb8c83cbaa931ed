"""Uploads: one row per upload, the deploy pipeline's source of truth."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from nasiko.storage.sql.tables import UtcDateTime, metadata

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner_id", String(36), nullable=False),
    Column("agent_id", String(36), nullable=True),
    Column("slug", String(63), nullable=True),
    Column("status", String(24), nullable=False),
    Column("runtime", String(16), nullable=False),
    Column("source", JSON, nullable=False),
    Column("options", JSON, nullable=True),
    Column("steps", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_uploads_owner_created", "owner_id", "created_at"),
    Index("ix_uploads_status", "status"),
)
