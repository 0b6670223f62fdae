"""Orders in plain Python: the state machine and the inventory command each change causes."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import Conflict, DomainError, InvalidTransition, NotFound, RateLimited


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    PAID = "PAID"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    # CONFIRMED -> SHIPPED only for an order with nothing to pay (``Order.transition`` checks).
    OrderStatus.CONFIRMED: frozenset(
        {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
}


class CommandKind(StrEnum):
    RESERVE = "reserve"
    RELEASE = "release"
    COMMIT = "commit"
    REFUND = "refund"  # to the payment provider: give a captured payment back


# The inventory command a transition causes; a PENDING order may already hold stock (its
# reserve may have gone through unseen), so cancelling it releases too.
EFFECTS: dict[tuple[OrderStatus, OrderStatus], CommandKind] = {
    (OrderStatus.PENDING, OrderStatus.CANCELLED): CommandKind.RELEASE,
    (OrderStatus.CONFIRMED, OrderStatus.CANCELLED): CommandKind.RELEASE,
    (OrderStatus.CONFIRMED, OrderStatus.SHIPPED): CommandKind.COMMIT,
    (OrderStatus.PAID, OrderStatus.CANCELLED): CommandKind.RELEASE,
    (OrderStatus.PAID, OrderStatus.SHIPPED): CommandKind.COMMIT,
}
# Orders that hold stock without being paid for: what the payment window and the hold limits
# count (a free order, total 0, holds stock too until it ships).
UNPAID = frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED})


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    # What inventory reserved one unit at (minor units of the order's currency), kept for good;
    # None until the order is confirmed.
    unit_price_cents: int | None = None


@dataclass(frozen=True)
class Address:
    """Where an order goes; checked and bounded by the request schema."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    line2: str | None = None


def address_json(address: Address | None) -> dict[str, Any] | None:
    return dataclasses.asdict(address) if address is not None else None


def address_from(raw: Mapping[str, Any] | None) -> Address | None:
    return Address(**raw) if raw else None


@dataclass(frozen=True)
class StatusChange:
    status: OrderStatus
    at: datetime
    reason: str | None = None
    actor: str | None = None  # who asked for it ("admin:<id>"); None when the system did


# An order names 1..50 items of 1..1000 units; the items of one sku are one line, so a line
# holds up to 50 x 1000 (the order_lines table's check says the same).
MAX_ITEMS = 50
MAX_ITEM_QUANTITY = 1000
MAX_LINE_QUANTITY = MAX_ITEMS * MAX_ITEM_QUANTITY


def merge_lines(lines: Iterable[OrderLine]) -> tuple[OrderLine, ...]:
    """One line per sku, in sku order: a sku named twice is one line of both quantities."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(OrderLine(sku, quantity) for sku, quantity in sorted(totals.items()))


@dataclass
class Order:
    id: uuid.UUID
    customer_id: str
    lines: tuple[OrderLine, ...]
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1
    rejection: dict[str, Any] | None = None
    # Set when inventory refused a command it should have taken; a person must look.
    attention: dict[str, Any] | None = None
    # What the lines come to at the prices inventory reserved them at; None until confirmed
    # (and for orders confirmed before prices existed).
    total_cents: int | None = None
    currency: str | None = None
    shipping_address: Address | None = None
    # The lines' prices were set since the order was loaded; the repository writes them.
    new_prices: bool = field(default=False, repr=False)
    history: list[StatusChange] = field(default_factory=list)
    # Changes made since the order was loaded; the repository persists and clears them.
    new_history: list[StatusChange] = field(default_factory=list, repr=False)

    @classmethod
    def place(
        cls,
        customer_id: str,
        lines: list[OrderLine],
        now: datetime,
        shipping_address: Address | None = None,
    ) -> Order:
        """A new order, PENDING until inventory answers."""
        first = StatusChange(OrderStatus.PENDING, now, "placed")
        return cls(
            id=uuid.uuid4(),
            customer_id=customer_id,
            lines=merge_lines(lines),
            shipping_address=shipping_address,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            history=[first],
            new_history=[first],
        )

    def transition(
        self,
        target: OrderStatus,
        now: datetime,
        reason: str | None = None,
        actor: str | None = None,
    ) -> CommandKind | None:
        """Move to ``target`` or raise ``InvalidTransition``; returns the command to send."""
        if target not in ALLOWED.get(self.status, frozenset()):
            raise InvalidTransition(f"order {self.id}", self.status, target)
        if target is OrderStatus.SHIPPED and self.owes:
            raise PaymentRequired(self)
        effect = EFFECTS.get((self.status, target))
        change = StatusChange(target, now, reason, actor)
        self.status = target
        self.updated_at = now
        self.version += 1
        self.history.append(change)
        self.new_history.append(change)
        return effect

    def confirm(self, prices: Mapping[str, tuple[int, str]], now: datetime) -> None:
        """Inventory reserved every line, each at the price it answered (sku -> unit price in
        minor units, currency): the order keeps those prices and their total. Without a price
        for every line (an inventory from before prices), the order has no total."""
        self.transition(OrderStatus.CONFIRMED, now, "stock reserved")
        if not self.lines or any(ln.sku not in prices for ln in self.lines):
            return
        currencies = {prices[ln.sku][1] for ln in self.lines}
        assert len(currencies) == 1, "inventory reserves one order in one currency"
        self.lines = tuple(replace(ln, unit_price_cents=prices[ln.sku][0]) for ln in self.lines)
        self.total_cents = sum(ln.quantity * prices[ln.sku][0] for ln in self.lines)
        self.currency = currencies.pop()
        self.new_prices = True

    @property
    def owes(self) -> bool:
        """Confirmed with something to pay and not paid yet: it may be paid, not shipped."""
        return self.status is OrderStatus.CONFIRMED and bool(self.total_cents)

    def flag(self, command: CommandKind | str, reason: str, now: datetime) -> None:
        """Inventory refused ``command`` (or the audit found drift no command can mend): the
        order keeps its state and waits for a person."""
        self.attention = {"command": str(command), "reason": reason, "at": now.isoformat()}
        self.updated_at = now
        self.version += 1

    def owned_by(self, customer_id: str | None) -> bool:
        """May this customer see it? ``None`` stands for a caller who may see every order."""
        return customer_id is None or self.customer_id == customer_id

    def reject(self, shortages: list[dict[str, Any]], now: datetime) -> None:
        """Inventory refused: record why, per sku."""
        self.transition(OrderStatus.REJECTED, now, "insufficient stock")
        self.rejection = {"shortages": shortages}


class PaymentRequired(Conflict):
    """Shipping an order that has something to pay and is not PAID."""

    def __init__(self, order: Order) -> None:
        super().__init__(
            f"order {order.id} is not paid; it ships once PAID",
            {"order_id": str(order.id), "current_status": order.status.value},
        )


class NotPayable(Conflict):
    """A payment for an order that is not CONFIRMED with a total above 0."""

    def __init__(self, order: Order) -> None:
        super().__init__(
            f"order {order.id} is {order.status.value}"
            + (" with nothing to pay" if not order.total_cents else "")
            + "; only a CONFIRMED order with a total is paid",
            {"order_id": str(order.id), "current_status": order.status.value},
        )


class TooManyUnpaidOrders(RateLimited):
    """The customer holds as many unpaid orders as allowed; nothing was recorded."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"at most {limit} unpaid orders at once; pay or cancel one first. Nothing was recorded",
            {"limit": limit},
            retry_after_s=60,
        )


class TooManyUnpaidUnits(DomainError):
    """The order would take the customer's unpaid units past the limit; nothing was recorded."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"at most {limit} units in unpaid orders at once; nothing was recorded",
            {"limit": limit},
        )


class EmailTaken(Conflict):
    """Someone signed up with this email already."""


class InvalidCredentials(DomainError):
    """Wrong email or password (which one is not said)."""


class LoginDelayed(RateLimited):
    """This email failed to log in just now; the next attempt is checked after the wait."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(
            "too many failed logins for this email; try again after Retry-After",
            {"retry_after_ms": math.ceil(wait_s * 1000)},
            retry_after_s=max(1, math.ceil(wait_s)),
        )


class DailyOrderCapReached(DomainError):
    """The customer placed as many orders as a day allows; nothing was recorded."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"at most {cap} orders per customer in 24 hours; nothing was recorded",
            {"limit": cap, "window_s": 86400},
        )


class OrderNotFound(NotFound):
    def __init__(self, order_id: object) -> None:
        super().__init__(f"no order {order_id}", {"order_id": str(order_id)})


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key was sent with a different body."""


class RequestInProgress(Conflict):
    """The first request with this Idempotency-Key has not finished yet."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "a request with this Idempotency-Key is still in progress; retry shortly",
            {"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s
