"""Traces: the spans table for the OTLP receiver.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("traces",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text, nullable=True),
        sa.Column("service_name", sa.String(128), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("agent_slug", sa.String(128), nullable=True),
        sa.Column("session_id", sa.String(256), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("input_tokens", sa.Integer, nullable=True),
        sa.Column("output_tokens", sa.Integer, nullable=True),
        sa.Column("cost_usd", sa.Float, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=True),
        sa.Column("resource", sa.JSON, nullable=True),
        sa.Column("events", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
    )
    op.create_index("ix_spans_start", "spans", ["start_ns"])
    op.create_index("ix_spans_agent_start", "spans", ["agent_slug", "start_ns"])
    op.create_index("ix_spans_session", "spans", ["session_id"])
    op.create_index("ix_spans_user", "spans", ["user_id"])
    op.create_index("ix_spans_status_start", "spans", ["status", "start_ns"])


def downgrade() -> None:
    op.drop_table("spans")
