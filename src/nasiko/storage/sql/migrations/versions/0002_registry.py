"""Registry: agents, versions, tags, grants, agent identity tokens, full-text search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("registry",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("endpoints", sa.JSON, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("card", sa.JSON, nullable=False),
        sa.Column("card_original", sa.JSON, nullable=True),
        sa.Column("source", sa.JSON, nullable=True),
        sa.Column("runtime", sa.String(16), nullable=True),
        sa.Column("deployment", sa.JSON, nullable=True),
        sa.Column("rate_limit", sa.Float, nullable=True),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )
    op.create_index("ix_agents_owner_id", "agents", ["owner_id"])
    op.create_index("ix_agents_visibility_status", "agents", ["visibility", "status"])
    op.create_index("ix_agents_updated", "agents", ["updated_at"])
    op.create_index(
        "ux_agents_live_slug",
        "agents",
        ["slug"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "agent_tags",
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "tag", name="pk_agent_tags"),
    )
    op.create_index("ix_agent_tags_tag", "agent_tags", ["tag"])
    op.create_table(
        "agent_versions",
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("card", sa.JSON, nullable=False),
        sa.Column("card_original", sa.JSON, nullable=True),
        sa.Column("source", sa.JSON, nullable=True),
        sa.Column("artifact", sa.String(500), nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "version", name="pk_agent_versions"),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("grantee_type", sa.String(8), nullable=False),
        sa.Column("grantee_id", sa.String(36), nullable=False),
        sa.Column("skills", sa.JSON, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grants"),
    )
    op.create_index(
        "ux_grants_agent_grantee", "grants", ["agent_id", "grantee_type", "grantee_id"], unique=True
    )
    op.create_index("ix_grants_grantee", "grants", ["grantee_type", "grantee_id"])
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_agent_tokens_token_hash"),
    )
    op.create_index("ix_agent_tokens_agent_id", "agent_tokens", ["agent_id"])

    if op.get_bind().dialect.name == "sqlite":
        # Weighted columns; kept in sync by the repository (one row per live agent).
        op.execute(
            "CREATE VIRTUAL TABLE agents_fts USING fts5("
            "agent_id UNINDEXED, name, description, skills, tags, examples, "
            "tokenize='porter unicode61')"
        )
    else:
        op.execute(
            "ALTER TABLE agents ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(search_text, '')), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_agents_search_tsv ON agents USING gin (search_tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS agents_fts")
    for name in ("agent_tokens", "grants", "agent_versions", "agent_tags", "agents"):
        op.drop_table(name)
