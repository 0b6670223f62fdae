"""The inventory database schema (SQLAlchemy Core); migrations create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.money import DEFAULT_CURRENCY

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    # Minor units of ``currency`` (cents, or yen for JPY): money is never a float.
    Column("price_cents", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default=DEFAULT_CURRENCY),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The invariants live in the schema, so no code path can break them.
    CheckConstraint("price_cents >= 0", name="price_not_negative"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

reservations = Table(
    "reservations",
    metadata,
    # Chosen by the caller (the order id): a repeated PUT finds the stored outcome.
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("rejection", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "status IN ('RESERVED', 'REJECTED', 'RELEASED', 'COMMITTED')", name="reservation_status"
    ),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column(
        "reservation_id",
        String(64),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    # The product's price when reserved; NULL for lines of a rejection (and of reservations
    # made before prices existed).
    Column("unit_price_cents", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    CheckConstraint("quantity > 0", name="line_quantity_positive"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("sku", String(64), ForeignKey("products.sku"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("reservation_id", String(64), nullable=True, index=True),
    # Restocks are idempotent by the caller's key; the ledger row is the record of it.
    Column("idempotency_key", String(255), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "kind IN ('initial', 'restock', 'reserve', 'release', 'commit')", name="movement_kind"
    ),
)
