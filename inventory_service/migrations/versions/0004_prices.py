"""prices: each product's price and currency, each reserved line's price when reserved

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing products cost 0 EUR until an admin prices them (PUT /products/{sku}/price);
    # existing reservations keep no price: they were made before there was one.
    op.add_column(
        "products", sa.Column("price_cents", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "products", sa.Column("currency", sa.String(3), server_default="EUR", nullable=False)
    )
    op.create_check_constraint("price_not_negative", "products", "price_cents >= 0")
    op.create_check_constraint("currency_code", "products", "currency ~ '^[A-Z]{3}$'")
    op.add_column("reservation_lines", sa.Column("unit_price_cents", sa.BigInteger()))
    op.add_column("reservation_lines", sa.Column("currency", sa.String(3)))


def downgrade() -> None:
    op.drop_column("reservation_lines", "currency")
    op.drop_column("reservation_lines", "unit_price_cents")
    op.drop_constraint("currency_code", "products", type_="check")
    op.drop_constraint("price_not_negative", "products", type_="check")
    op.drop_column("products", "currency")
    op.drop_column("products", "price_cents")
