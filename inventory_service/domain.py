"""Stock rules in plain Python: reservation states, the all-or-nothing decision, transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from shared.errors import Conflict, DomainError, InvalidTransition, NotFound
from shared.money import DEFAULT_CURRENCY


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


@dataclass(frozen=True, order=True)
class Line:
    sku: str
    quantity: int
    # The unit price the line was reserved at (minor units), kept for good: a later price
    # change never reaches a reservation made. None until reserved. Not part of what a
    # repeated reserve must match: the caller sends skus and quantities only.
    unit_price_cents: int | None = field(default=None, compare=False)
    currency: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int
    reason: str  # "insufficient_stock", "unknown_sku" or "other_currency"


@dataclass(frozen=True)
class Stock:
    on_hand: int
    reserved: int
    price_cents: int = 0
    currency: str = DEFAULT_CURRENCY

    @property
    def available(self) -> int:
        """What a new reservation may take: the one definition of it."""
        return self.on_hand - self.reserved


@dataclass(frozen=True, kw_only=True)
class Product(Stock):
    sku: str
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class StockFigures(Stock):
    """One product's figures beside what its ledger sums to and what reservations hold."""

    sku: str
    ledger_on_hand: int
    ledger_reserved: int
    ledger_received: int
    held_by_reservations: int
    shipped_by_reservations: int


@dataclass(frozen=True)
class StoredRestock:
    """A restock made with an idempotency key, as its ledger row keeps it."""

    sku: str
    quantity: int


# Stock per product stays far inside PostgreSQL's INTEGER (2,147,483,647): a restock that would
# pass it is refused with this figure instead of overflowing the column.
MAX_STOCK = 1_000_000_000


class StockLimit(Conflict):
    def __init__(self, sku: str, on_hand: int, quantity: int) -> None:
        super().__init__(
            f"restocking {quantity} would take {sku!r} past the limit of {MAX_STOCK} units "
            f"per product (on hand: {on_hand})",
            {"sku": sku, "on_hand": on_hand, "quantity": quantity, "limit": MAX_STOCK},
        )


class ProductNotFound(NotFound):
    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with sku {sku!r}", {"sku": sku})


class ProductExists(Conflict):
    def __init__(self, sku: str) -> None:
        super().__init__(f"a product with sku {sku!r} already exists", {"sku": sku})


class ReservationNotFound(NotFound):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"no reservation {reservation_id!r}", {"id": reservation_id})


class ReservationMismatch(DomainError):
    """The same reservation id was sent again with different lines."""


class IdempotencyKeyReused(DomainError):
    """The same idempotency key was sent again with a different request."""


def canonical(lines: Iterable[Line]) -> tuple[Line, ...]:
    """One line per sku (a sku named twice is one line of both quantities), in sku order: the
    order locks are taken in, and the form compared on replays."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(Line(sku, quantity) for sku, quantity in sorted(totals.items()))


def shortages(lines: Iterable[Line], stock: Mapping[str, Stock]) -> list[Shortage]:
    """Every line that cannot be reserved in full; empty means reserve them all.

    One reservation is paid in one currency: a line priced in another currency than the
    first known product's (in sku order) cannot be reserved with it."""
    found = []
    lines = canonical(lines)
    currency = next((stock[ln.sku].currency for ln in lines if ln.sku in stock), None)
    for line in lines:
        current = stock.get(line.sku)
        if current is None:
            found.append(Shortage(line.sku, line.quantity, 0, "unknown_sku"))
        elif current.currency != currency:
            found.append(Shortage(line.sku, line.quantity, current.available, "other_currency"))
        elif current.available < line.quantity:
            found.append(Shortage(line.sku, line.quantity, current.available, "insufficient_stock"))
    return found


def priced(lines: Iterable[Line], stock: Mapping[str, Stock]) -> tuple[Line, ...]:
    """The lines with the price each product has now: what a reservation keeps."""
    return tuple(
        replace(ln, unit_price_cents=stock[ln.sku].price_cents, currency=stock[ln.sku].currency)
        for ln in lines
    )


def total(lines: Iterable[Line]) -> tuple[int, str] | None:
    """What the priced lines come to, in their one currency; None when any is unpriced."""
    lines = tuple(lines)
    if not lines or any(ln.unit_price_cents is None for ln in lines):
        return None
    currencies = {ln.currency for ln in lines}
    assert len(currencies) == 1, "a reservation is priced in one currency"
    return sum(ln.quantity * (ln.unit_price_cents or 0) for ln in lines), lines[0].currency or ""


def check_same_lines(reservation_id: str, stored: Iterable[Line], sent: Iterable[Line]) -> None:
    """A repeated reserve must carry the lines of the first one."""
    if canonical(stored) != canonical(sent):
        raise ReservationMismatch(
            f"reservation {reservation_id!r} exists with different lines",
            {"id": reservation_id},
        )


def must_release(reservation_id: str, status: ReservationStatus) -> bool:
    """True when a release has stock to give back; False when it is already a no-op."""
    if status is ReservationStatus.COMMITTED:
        raise InvalidTransition(f"reservation {reservation_id}", status, "RELEASED")
    return status is ReservationStatus.RESERVED


def must_commit(reservation_id: str, status: ReservationStatus) -> bool:
    """True when a commit has reserved stock to deduct; False when already committed."""
    if status in (ReservationStatus.RELEASED, ReservationStatus.REJECTED):
        raise InvalidTransition(f"reservation {reservation_id}", status, "COMMITTED")
    return status is ReservationStatus.RESERVED
