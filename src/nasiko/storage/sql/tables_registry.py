"""Registry tables: agents, their versions, tags, access grants and identity tokens."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, String, Table, Text, text

from nasiko.storage.sql.tables import UtcDateTime, metadata

agents = Table(
    "agents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(63), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("owner_id", String(36), nullable=False, index=True),
    Column("visibility", String(16), nullable=False, default="private"),
    Column("tags", JSON, nullable=False, default=list),
    Column("status", String(16), nullable=False, default="registered"),
    Column("endpoints", JSON, nullable=False, default=list),
    Column("current_version", Integer, nullable=False, default=1),
    Column("card", JSON, nullable=False),
    Column("card_original", JSON, nullable=True),
    Column("source", JSON, nullable=True),
    Column("runtime", String(16), nullable=True),
    Column("deployment", JSON, nullable=True),
    Column("rate_limit", Float, nullable=True),
    Column("search_text", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("deleted_at", UtcDateTime(), nullable=True),
    # A deleted agent keeps its row (history, audit) but frees its slug.
    Index(
        "ux_agents_live_slug",
        "slug",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_agents_visibility_status", "visibility", "status"),
    Index("ix_agents_updated", "updated_at"),
    Index("ix_agents_listing", "deleted_at", "updated_at", "visibility", "owner_id", "id"),
)

agent_tags = Table(
    "agent_tags",
    metadata,
    Column("agent_id", String(36), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index("ix_agent_tags_tag", "tag"),
)

agent_versions = Table(
    "agent_versions",
    metadata,
    Column("agent_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("card", JSON, nullable=False),
    Column("card_original", JSON, nullable=True),
    Column("source", JSON, nullable=True),
    Column("artifact", String(500), nullable=True),
    Column("note", String(200), nullable=True),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agent_id", String(36), nullable=False),
    Column("grantee_type", String(8), nullable=False),  # "user" | "agent"
    Column("grantee_id", String(36), nullable=False),
    Column("skills", JSON, nullable=True),  # None: every skill
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ux_grants_agent_grantee", "agent_id", "grantee_type", "grantee_id", unique=True),
    Index("ix_grants_grantee", "grantee_type", "grantee_id"),
)

agent_tokens = Table(
    "agent_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agent_id", String(36), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
