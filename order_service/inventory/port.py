"""What the order service may ask of inventory, and the only failures it has to handle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from order_service.domain import OrderLine
from shared.resilience.failures import Refused, Unavailable


class ReservationState(StrEnum):
    RESERVED = "RESERVED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


@dataclass(frozen=True)
class InventoryReply:
    """The reservation's state after the command, the shortages of a rejection, and the price
    each line was reserved at (sku -> unit price in minor units, currency)."""

    state: ReservationState
    shortages: list[dict[str, Any]] = field(default_factory=list)
    prices: dict[str, tuple[int, str]] = field(default_factory=dict)


class InventoryUnavailable(Unavailable):
    """Inventory did not give an answer; the command may or may not have taken effect."""

    dependency = "inventory"


class InventoryRefused(Refused):
    """Inventory answered with a business refusal (4xx); repeating the call will not help."""

    dependency = "inventory"


class InventoryPort(Protocol):
    """Reservation commands; every one is idempotent because the caller picks the id."""

    def reserve(
        self, reservation_id: str, lines: Sequence[OrderLine], *, timeout_s: float | None = None
    ) -> InventoryReply: ...

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply: ...

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply: ...

    def available(self) -> bool:
        """False while calls would be refused without trying (an open breaker)."""
        ...
