"""What the inventory service layer needs from persistence; the real repository satisfies these
protocols (mypy checks it), and so must any fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from inventory_service.domain import (
    Line,
    Product,
    ReservationStatus,
    Stock,
    StockFigures,
    StoredRestock,
)
from shared.money import DEFAULT_CURRENCY


@dataclass(frozen=True)
class StoredReservation:
    id: str
    status: ReservationStatus
    lines: tuple[Line, ...]
    rejection: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class KeyTaken(Exception):
    """A concurrent transaction stored the same idempotency key first; look again."""


class StockStore(Protocol):
    """Products, reservations and the ledger; every stock change writes its ledger row."""

    def insert_product(
        self,
        sku: str,
        name: str,
        on_hand: int,
        price_cents: int = 0,
        currency: str = DEFAULT_CURRENCY,
    ) -> bool: ...

    def set_price(self, sku: str, price_cents: int, currency: str) -> None: ...

    def get_product(self, sku: str) -> Product | None: ...

    def list_products(self, after: str | None, limit: int) -> Sequence[Product]: ...

    def lock_stock(self, skus: Iterable[str]) -> dict[str, Stock]: ...

    def change_stock(
        self,
        deltas: Iterable[tuple[str, int, int]],
        kind: str,
        reservation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Apply (sku, on hand delta, reserved delta) with their ledger rows; ``KeyTaken`` when
        ``idempotency_key`` is stored already."""
        ...

    def restock_by_key(self, key: str) -> StoredRestock | None: ...

    def get_reservation(
        self, reservation_id: str, *, lock: bool = False
    ) -> StoredReservation | None: ...

    def list_reservations(
        self, status: str | None, since: datetime | None, after: str | None, limit: int
    ) -> list[StoredReservation]: ...

    def stock_check(self) -> Sequence[StockFigures]: ...

    def insert_reservation(
        self,
        reservation_id: str,
        status: ReservationStatus,
        lines: Iterable[Line],
        rejection: dict[str, Any] | None = None,
        *,
        reserve_stock: bool = False,
    ) -> StoredReservation | None: ...

    def set_reservation_status(self, reservation_id: str, status: ReservationStatus) -> None: ...


class InventoryUnitOfWork(Protocol):
    """One transaction over the stock repository; nothing is kept unless committed."""

    @property
    def stock(self) -> StockStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
