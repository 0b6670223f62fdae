"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:49:18.950771
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejection", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('RESERVED', 'REJECTED', 'RELEASED', 'COMMITTED')", name="reservation_status"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("reservation_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="line_quantity_positive"),
        sa.ForeignKeyConstraint(["reservation_id"], ["reservations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("reservation_id", "sku"),
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('initial', 'restock', 'reserve', 'release', 'commit')", name="movement_kind"
        ),
        sa.ForeignKeyConstraint(
            ["sku"],
            ["products.sku"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(
        op.f("ix_stock_movements_reservation_id"),
        "stock_movements",
        ["reservation_id"],
        unique=False,
    )
    op.create_index(op.f("ix_stock_movements_sku"), "stock_movements", ["sku"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_stock_movements_sku"), table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_reservation_id"), table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
    op.drop_table("products")
