"""What the order service may ask of inventory, and the only failures it has to handle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ReservationState(StrEnum):
    RESERVED = "RESERVED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


class UnavailableReason(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    BREAKER_OPEN = "breaker_open"
    BULKHEAD_FULL = "bulkhead_full"
    DEADLINE = "deadline"
    # Inventory did not accept our credentials: our configuration is wrong, not the order, so
    # the command waits (and the outbox-age alert fires) instead of rejecting anything.
    UNAUTHORISED = "unauthorised"


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class InventoryReply:
    """The reservation's state after the command, and the shortages of a rejection."""

    state: ReservationState
    shortages: list[dict[str, Any]] = field(default_factory=list)


class InventoryUnavailable(Exception):
    """Inventory did not give an answer; the command may or may not have taken effect."""

    def __init__(self, reason: UnavailableReason, detail: str = "") -> None:
        super().__init__(f"inventory unavailable: {reason.value} {detail}".strip())
        self.reason = reason
        self.detail = detail


class InventoryRefused(Exception):
    """Inventory answered with a business refusal (4xx); repeating the call will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"inventory refused ({status} {code}): {message}")
        self.status = status
        self.code = code


class InventoryPort(Protocol):
    """Reservation commands; every one is idempotent because the caller picks the id."""

    def reserve(
        self, reservation_id: str, lines: Sequence[Line], *, timeout_s: float | None = None
    ) -> InventoryReply: ...

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply: ...

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply: ...

    def available(self) -> bool:
        """False while calls would be refused without trying (an open breaker)."""
        ...
