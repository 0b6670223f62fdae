"""Inventory use cases: primitives in, plain results out, one transaction each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from inventory_service import domain
from inventory_service.domain import Line, Product, ReservationStatus, StockFigures
from inventory_service.ports import InventoryUnitOfWork, KeyTaken, StoredReservation
from shared.money import DEFAULT_CURRENCY

UowFactory = Callable[[], InventoryUnitOfWork]


@dataclass(frozen=True)
class Outcome:
    """A reservation as stored, and whether this call created or changed it."""

    reservation: StoredReservation
    created: bool


def create_product(
    uow: UowFactory,
    sku: str,
    name: str,
    on_hand: int,
    price_cents: int = 0,
    currency: str = DEFAULT_CURRENCY,
) -> Product:
    """Create a product with its initial stock (recorded in the ledger) and its price."""
    with uow() as tx:
        if not tx.stock.insert_product(sku, name, on_hand, price_cents, currency):
            raise domain.ProductExists(sku)
        product = tx.stock.get_product(sku)
        tx.commit()
    assert product is not None
    return product


def set_price(uow: UowFactory, sku: str, price_cents: int, currency: str) -> Product:
    """A product's price from now on; reservations made keep the price they were made at."""
    with uow() as tx:
        if not tx.stock.lock_stock([sku]):
            raise domain.ProductNotFound(sku)
        tx.stock.set_price(sku, price_cents, currency)
        product = tx.stock.get_product(sku)
        tx.commit()
    assert product is not None
    return product


def get_product(uow: UowFactory, sku: str) -> Product:
    """One product with its stock figures."""
    with uow() as tx:
        product = tx.stock.get_product(sku)
    if product is None:
        raise domain.ProductNotFound(sku)
    return product


def list_products(uow: UowFactory, after: str | None, limit: int) -> Sequence[Product]:
    """Products in sku order, ``limit`` at a time after the sku ``after``."""
    with uow() as tx:
        return tx.stock.list_products(after, limit)


def restock(uow: UowFactory, sku: str, quantity: int, key: str | None) -> tuple[Product, bool]:
    """Add stock; with an idempotency key a repeat changes nothing. Returns (product, replayed)."""
    for attempt in range(2):
        try:
            return _restock_once(uow, sku, quantity, key)
        except KeyTaken:
            # The same key raced in through another product's lock: the ledger's unique key
            # refused the second one; look again and the stored restock answers.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _restock_once(
    uow: UowFactory, sku: str, quantity: int, key: str | None
) -> tuple[Product, bool]:
    with uow() as tx:
        stock = tx.stock.lock_stock([sku]).get(sku)
        if stock is None:
            raise domain.ProductNotFound(sku)
        replayed = False
        previous = tx.stock.restock_by_key(key) if key else None
        if previous is not None:
            if (previous.sku, previous.quantity) != (sku, quantity):
                raise domain.IdempotencyKeyReused(
                    "this Idempotency-Key was used for a different restock", {"key": key}
                )
            replayed = True
        elif stock.on_hand + quantity > domain.MAX_STOCK:
            raise domain.StockLimit(sku, stock.on_hand, quantity)
        else:
            tx.stock.change_stock([(sku, quantity, 0)], "restock", idempotency_key=key)
        product = tx.stock.get_product(sku)
        tx.commit()
    assert product is not None
    return product, replayed


def get_reservation(uow: UowFactory, reservation_id: str) -> StoredReservation:
    """The stored outcome of a reservation."""
    with uow() as tx:
        found = tx.stock.get_reservation(reservation_id)
    if found is None:
        raise domain.ReservationNotFound(reservation_id)
    return found


def list_reservations(
    uow: UowFactory, status: str | None, since: datetime | None, after: str | None, limit: int
) -> list[StoredReservation]:
    """Reservations in id order (for the order service's audit), filtered by status and age."""
    with uow() as tx:
        return tx.stock.list_reservations(status, since, after, limit)


def stock_check(uow: UowFactory) -> Sequence[StockFigures]:
    """Per product: its figures, what the ledger sums to, and what RESERVED reservations hold."""
    with uow() as tx:
        return tx.stock.stock_check()


def reserve(uow: UowFactory, reservation_id: str, lines: Iterable[Line]) -> Outcome:
    """Reserve every line or none; a repeat returns the stored outcome.

    A new reservation is the common case, so it is tried first: lock the stock, decide, and
    write the reservation with its stock moves in one statement, which writes nothing when
    the id is taken. Only then is the stored outcome read, for a repeat.
    """
    lines = domain.canonical(lines)
    while True:
        with uow() as tx:
            stock = tx.stock.lock_stock(line.sku for line in lines)
            missing = domain.shortages(lines, stock)
            if missing:
                status = ReservationStatus.REJECTED
                rejection: dict[str, Any] | None = {"shortages": [asdict(s) for s in missing]}
            else:
                status, rejection = ReservationStatus.RESERVED, None
            created = tx.stock.insert_reservation(
                reservation_id,
                status,
                lines if missing else domain.priced(lines, stock),
                rejection,
                reserve_stock=status is ReservationStatus.RESERVED,
            )
            if created is not None:
                tx.commit()
                return Outcome(created, created=True)
            stored = tx.stock.get_reservation(reservation_id)
        if stored is not None:
            return _replayed(stored, lines)
        # The id was taken by a transaction that then rolled back: try again.


def _replayed(stored: StoredReservation, lines: tuple[Line, ...]) -> Outcome:
    # A tombstone (released before it was reserved) has no lines and answers any replay.
    if stored.lines or stored.status is not ReservationStatus.RELEASED:
        domain.check_same_lines(stored.id, stored.lines, lines)
    return Outcome(stored, created=False)


def release(uow: UowFactory, reservation_id: str) -> Outcome:
    """Give reserved stock back; before any reserve, leave a tombstone that blocks a late one."""
    while True:
        with uow() as tx:
            stored = tx.stock.get_reservation(reservation_id, lock=True)
            if stored is None:
                if (
                    tx.stock.insert_reservation(reservation_id, ReservationStatus.RELEASED, [])
                    is None
                ):
                    continue
            elif domain.must_release(reservation_id, stored.status):
                tx.stock.lock_stock(ln.sku for ln in stored.lines)
                tx.stock.change_stock(
                    ((ln.sku, 0, -ln.quantity) for ln in stored.lines), "release", reservation_id
                )
                tx.stock.set_reservation_status(reservation_id, ReservationStatus.RELEASED)
            else:
                return Outcome(stored, created=False)
            changed = tx.stock.get_reservation(reservation_id)
            tx.commit()
        assert changed is not None
        return Outcome(changed, created=True)


def commit(uow: UowFactory, reservation_id: str) -> Outcome:
    """Turn reserved stock into shipped stock for good; a repeat changes nothing."""
    with uow() as tx:
        stored = tx.stock.get_reservation(reservation_id, lock=True)
        if stored is None:
            raise domain.ReservationNotFound(reservation_id)
        if not domain.must_commit(reservation_id, stored.status):
            return Outcome(stored, created=False)
        tx.stock.lock_stock(ln.sku for ln in stored.lines)
        tx.stock.change_stock(
            ((ln.sku, -ln.quantity, -ln.quantity) for ln in stored.lines), "commit", reservation_id
        )
        tx.stock.set_reservation_status(reservation_id, ReservationStatus.COMMITTED)
        changed = tx.stock.get_reservation(reservation_id)
        tx.commit()
    assert changed is not None
    return Outcome(changed, created=True)
