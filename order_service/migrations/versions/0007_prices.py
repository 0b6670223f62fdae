"""prices: each line's reserved unit price, each order's total and currency

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders confirmed before prices existed keep no price and no total: inventory never
    # answered one for them, and a price read now would not be the one they were taken at.
    op.add_column("orders", sa.Column("total_cents", sa.BigInteger()))
    op.add_column("orders", sa.Column("currency", sa.String(3)))
    op.create_check_constraint(
        "order_total_currency", "orders", "(total_cents IS NULL) = (currency IS NULL)"
    )
    op.create_check_constraint("order_total_not_negative", "orders", "total_cents >= 0")
    op.add_column("order_lines", sa.Column("unit_price_cents", sa.BigInteger()))
    op.create_check_constraint(
        "order_line_price_not_negative", "order_lines", "unit_price_cents >= 0"
    )


def downgrade() -> None:
    op.drop_constraint("order_line_price_not_negative", "order_lines", type_="check")
    op.drop_column("order_lines", "unit_price_cents")
    op.drop_constraint("order_total_not_negative", "orders", type_="check")
    op.drop_constraint("order_total_currency", "orders", type_="check")
    op.drop_column("orders", "currency")
    op.drop_column("orders", "total_cents")
