"""gremlin firings pruned by age: an index on their time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 22:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every worker deletes the firings past retention when it reads the gremlins: by index.
    op.create_index(op.f("ix_gremlin_firings_at"), "gremlin_firings", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gremlin_firings_at"), table_name="gremlin_firings")
