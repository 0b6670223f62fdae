"""The order database schema (SQLAlchemy Core); migrations create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from order_service.domain import MAX_LINE_QUANTITY

metadata = MetaData()

STATUSES = "'PENDING', 'CONFIRMED', 'PAID', 'REJECTED', 'CANCELLED', 'SHIPPED', 'DELIVERED'"

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("rejection", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Set when inventory refused a command it should have taken: a person must look.
    Column("attention", JSONB(none_as_null=True), nullable=True),
    # What the lines come to at their reserved prices (minor units of ``currency``); set when
    # the order is confirmed, never re-read from inventory.
    Column("total_cents", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    # Where it goes ({"name", "line1", "line2", "city", "postal_code", "country"}), as given.
    Column("shipping_address", JSONB(none_as_null=True), nullable=True),
    CheckConstraint(f"status IN ({STATUSES})", name="order_status"),
    CheckConstraint("(total_cents IS NULL) = (currency IS NULL)", name="order_total_currency"),
    CheckConstraint("total_cents >= 0", name="order_total_not_negative"),
    # Newest-first listing, overall and per filter, with (created_at, id) as the cursor.
    Index("orders_newest", text("created_at DESC"), text("id DESC")),
    Index("orders_customer_newest", "customer_id", text("created_at DESC"), text("id DESC")),
    Index("orders_status_newest", "status", text("created_at DESC"), text("id DESC")),
    # The reconciler's scan for orders past their payment window, and the hold limits' count
    # of a customer's unpaid orders: both read only what is unpaid.
    Index(
        "orders_owing",
        "created_at",
        postgresql_where=text("status = 'CONFIRMED' AND total_cents > 0"),
    ),
    Index(
        "orders_customer_unpaid",
        "customer_id",
        postgresql_where=text("status IN ('PENDING', 'CONFIRMED')"),
    ),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    # The unit price inventory reserved the line at; NULL until the order is confirmed.
    Column("unit_price_cents", BigInteger, nullable=True),
    CheckConstraint(f"quantity BETWEEN 1 AND {MAX_LINE_QUANTITY}", name="order_line_quantity"),
    CheckConstraint("unit_price_cents >= 0", name="order_line_price_not_negative"),
)

order_history = Table(
    "order_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "order_id", Uuid, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # Who made the change ("customer:<id>", "admin:<id>"); empty when the system did.
    Column("actor", String(300), nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Keys are scoped per customer: the same key from two customers are two requests.
    Column("customer_id", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    # sha256 of the canonical request: a different body under the same key is refused.
    Column("fingerprint", String(64), nullable=False),
    Column("order_id", Uuid, nullable=False),
    # The response to replay; provisional (202 PENDING) until the first request completes.
    # Text, not JSONB: a replay sends the very bytes of the first answer (JSONB reorders keys).
    Column("response_status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("completed", Boolean, nullable=False, server_default="false"),
    # While the first request runs, repeats get 409; a crashed request's lease runs out.
    Column("locked_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("command", String(16), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Inventory refused it (409/422): never delivered, never retried; its order is flagged.
    Column("refused_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("command IN ('reserve', 'release', 'commit', 'refund')", name="outbox_command"),
    # The reconciler scans only what is still to deliver.
    Index("outbox_due", "next_attempt_at", postgresql_where=text("delivered_at IS NULL")),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Stored lower-cased, so one person cannot sign up twice by changing case.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('customer', 'admin')", name="user_role"),
)

# Failed logins per email (known or not): each one delays the next attempt a little longer, and
# a success clears them (order_service.accounts.throttle). Kept for a window, then purged.
login_failures = Table(
    "login_failures",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Index("login_failures_oldest", "last_failed_at"),
)

audit_runs = Table(
    "audit_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("repair", Boolean, nullable=False),
    Column("orders_checked", Integer, nullable=False),
    Column("in_flight", Integer, nullable=False),
    # {invariant: {outcome: count}}: what the run found and what became of it.
    Column("findings", JSONB, nullable=False),
    Index("audit_runs_newest", text("started_at DESC")),
)

PAYMENT_STATUSES = "'open', 'captured', 'refunded'"

# One payment per order: the provider's payment intent, and what its events said of it.
payments = Table(
    "payments",
    metadata,
    Column("id", String(40), primary_key=True),  # the provider's intent id
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, unique=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # open (nothing captured yet), captured (the money came), refunded (it went back).
    Column("status", String(16), nullable=False),
    Column("pay_url", Text, nullable=False),
    Column("declines", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("captured_at", DateTime(timezone=True), nullable=True),
    # When a refund was queued in the outbox (set once: one refund per payment).
    Column("refund_requested_at", DateTime(timezone=True), nullable=True),
    Column("refunded_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(f"status IN ({PAYMENT_STATUSES})", name="payment_status"),
    CheckConstraint("amount_cents > 0", name="payment_amount_positive"),
)

# The webhook inbox: a verified event is written here (its id deduplicates it) and answered
# at once; the reconciler processes it. One that keeps failing is dead: the dead-letter queue.
payment_events = Table(
    "payment_events",
    metadata,
    Column("id", String(64), primary_key=True),  # the provider's event id
    Column("type", String(64), nullable=False),
    Column("payment_id", String(40), nullable=True),
    Column("payload", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("dead_at", DateTime(timezone=True), nullable=True),
    # A person's decision on a dead event: replayed (back in the inbox) or discarded, by whom.
    Column("resolution", String(16), nullable=True),
    Column("resolved_by", String(300), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("resolution IN ('replayed', 'discarded')", name="payment_event_resolution"),
    Index(
        "payment_events_due",
        "next_attempt_at",
        postgresql_where=text("processed_at IS NULL AND dead_at IS NULL"),
    ),
    Index("payment_events_dead", "dead_at", postgresql_where=text("dead_at IS NOT NULL")),
)
