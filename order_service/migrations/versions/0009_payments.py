"""payments: the PAID state, one payment per order, the webhook inbox, refunds in the outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED', 'SHIPPED', 'DELIVERED'"
NEW_STATUSES = "'PENDING', 'CONFIRMED', 'PAID', 'REJECTED', 'CANCELLED', 'SHIPPED', 'DELIVERED'"


def upgrade() -> None:
    # Orders confirmed before payments existed keep their state: an order with a total then
    # has to be paid before it ships, like every other.
    op.drop_constraint("order_status", "orders", type_="check")
    op.create_check_constraint("order_status", "orders", f"status IN ({NEW_STATUSES})")
    op.drop_constraint("outbox_command", "outbox", type_="check")
    op.create_check_constraint(
        "outbox_command", "outbox", "command IN ('reserve', 'release', 'commit', 'refund')"
    )
    op.create_index(
        "orders_owing",
        "orders",
        ["created_at"],
        postgresql_where=sa.text("status = 'CONFIRMED' AND total_cents > 0"),
    )
    op.create_index(
        "orders_customer_unpaid",
        "orders",
        ["customer_id"],
        postgresql_where=sa.text("status IN ('PENDING', 'CONFIRMED')"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.id"), nullable=False, unique=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pay_url", sa.Text(), nullable=False),
        sa.Column("declines", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True)),
        sa.Column("refund_requested_at", sa.DateTime(timezone=True)),
        sa.Column("refunded_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('open', 'captured', 'refunded')", name="payment_status"),
        sa.CheckConstraint("amount_cents > 0", name="payment_amount_positive"),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payment_id", sa.String(40)),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("dead_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.String(16)),
        sa.Column("resolved_by", sa.String(300)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "resolution IN ('replayed', 'discarded')", name="payment_event_resolution"
        ),
    )
    op.create_index(
        "payment_events_due",
        "payment_events",
        ["next_attempt_at"],
        postgresql_where=sa.text("processed_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index(
        "payment_events_dead",
        "payment_events",
        ["dead_at"],
        postgresql_where=sa.text("dead_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("payment_events")
    op.drop_table("payments")
    op.drop_index("orders_customer_unpaid", "orders")
    op.drop_index("orders_owing", "orders")
    op.drop_constraint("outbox_command", "outbox", type_="check")
    op.create_check_constraint(
        "outbox_command", "outbox", "command IN ('reserve', 'release', 'commit')"
    )
    op.drop_constraint("order_status", "orders", type_="check")
    op.create_check_constraint("order_status", "orders", f"status IN ({OLD_STATUSES})")
