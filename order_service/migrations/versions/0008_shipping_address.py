"""shipping address: where an order goes, as its customer gave it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders placed before addresses existed have none.
    op.add_column("orders", sa.Column("shipping_address", postgresql.JSONB()))


def downgrade() -> None:
    op.drop_column("orders", "shipping_address")
