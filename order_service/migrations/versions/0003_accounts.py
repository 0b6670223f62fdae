"""accounts, keys per customer, who changed an order, refused commands

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('customer', 'admin')", name="user_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    # Existing keys belonged to the customer of the order they created.
    op.add_column("idempotency_keys", sa.Column("customer_id", sa.String(255), nullable=True))
    op.execute(
        "UPDATE idempotency_keys k SET customer_id = o.customer_id "
        "FROM orders o WHERE o.id = k.order_id"
    )
    op.execute("UPDATE idempotency_keys SET customer_id = '' WHERE customer_id IS NULL")
    op.alter_column("idempotency_keys", "customer_id", nullable=False)
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", type_="primary")
    op.create_primary_key("idempotency_keys_pkey", "idempotency_keys", ["customer_id", "key"])
    op.add_column("order_history", sa.Column("actor", sa.String(300), nullable=True))
    op.add_column(
        "orders", sa.Column("attention", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column("outbox", sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "refused_at")
    op.drop_column("orders", "attention")
    op.drop_column("order_history", "actor")
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", type_="primary")
    op.drop_column("idempotency_keys", "customer_id")
    op.create_primary_key("idempotency_keys_pkey", "idempotency_keys", ["key"])
    op.drop_table("users")
