"""Chat sessions and messages.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("chat",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("agent_slug", sa.String(63), nullable=True),
        sa.Column("context_id", sa.String(128), nullable=False),
        sa.Column("last_agent_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(24), nullable=True),
        sa.Column("task_id", sa.String(128), nullable=True),
        sa.Column("message_count", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_sessions"),
    )
    op.create_index(
        "ux_chat_sessions_user_context", "chat_sessions", ["user_id", "context_id"], unique=True
    )
    op.create_index("ix_chat_sessions_user_updated", "chat_sessions", ["user_id", "updated_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("message_key", sa.String(160), nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=True),
        sa.Column("agent_slug", sa.String(63), nullable=True),
        sa.Column("task_id", sa.String(128), nullable=True),
        sa.Column("state", sa.String(24), nullable=True),
        sa.Column("partial", sa.Boolean, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("tokens_in", sa.Integer, nullable=True),
        sa.Column("tokens_out", sa.Integer, nullable=True),
        sa.Column("meta", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    op.create_index(
        "ux_chat_messages_key", "chat_messages", ["session_id", "role", "message_key"], unique=True
    )
    op.create_index("ix_chat_messages_session", "chat_messages", ["session_id", "id"])


def downgrade() -> None:
    op.drop_table("chat_messages")
    op.drop_table("chat_sessions")
