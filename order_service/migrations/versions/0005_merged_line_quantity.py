"""an order line may hold up to 50 x 1000 units: the items of one sku are merged into one line

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("order_line_quantity", "order_lines", type_="check")
    op.create_check_constraint("order_line_quantity", "order_lines", "quantity BETWEEN 1 AND 50000")


def downgrade() -> None:
    op.drop_constraint("order_line_quantity", "order_lines", type_="check")
    op.create_check_constraint("order_line_quantity", "order_lines", "quantity BETWEEN 1 AND 1000")
