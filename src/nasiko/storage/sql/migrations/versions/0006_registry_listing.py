"""Registry: a covering index for listing agents newest first under the visibility rule.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_agents_listing", "agents", ["deleted_at", "updated_at", "visibility", "owner_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_agents_listing", "agents")
