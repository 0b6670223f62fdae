"""The provider's own database: created by the provider itself when it starts, as a stand-in
needs no migrations (its data is test data)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

INTENT_STATUSES = "'requires_payment', 'succeeded', 'refunded'"

intents = Table(
    "payment_intents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # The merchant's reference (the order id) and where the pay page sends the customer back.
    Column("reference", String(64), nullable=False),
    Column("return_url", Text, nullable=True),
    Column("status", String(20), nullable=False),
    # Declined attempts so far; a declined intent may still be paid (another card, say).
    Column("declines", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"status IN ({INTENT_STATUSES})", name="intent_status"),
    CheckConstraint("amount_cents > 0", name="intent_amount_positive"),
)

# The answer to a request with an Idempotency-Key: a repeat gets the same intent or refund.
idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("operation", String(20), nullable=False),
    Column("object_id", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(40), primary_key=True),
    # One refund per intent, of its whole amount: what the order service asks for.
    Column("intent_id", String(40), nullable=False, unique=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("intent_id", String(40), nullable=False, index=True),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per copy of an event to send: the webhook faults may add copies, delay them, or
# sign one with a wrong secret.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, index=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("forged", Boolean, nullable=False, server_default="false"),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    # A forged copy is sent once; a real one until it is answered 2xx or has used every attempt.
    Column("given_up_at", DateTime(timezone=True), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Index(
        "deliveries_due",
        "due_at",
        postgresql_where=text("delivered_at IS NULL AND given_up_at IS NULL"),
    ),
)

# The webhook faults in force (one row, name 'webhooks'); see payment_provider.faults.
faults = Table(
    "webhook_faults",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("copies", Integer, nullable=False),
    Column("delay_ms", Integer, nullable=False),
    Column("spread_ms", Integer, nullable=False),
    Column("forged", Float, nullable=False),
    Column("seed", Integer, nullable=False),
)
