"""Payments and webhook events as the order database keeps them, and what the service layer
needs from their persistence (the repositories satisfy these protocols)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# A payment only moves forward: an event that arrives late (a success after the refund's
# event, say) cannot move it back.
RANK = {"open": 0, "captured": 1, "refunded": 2}


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: uuid.UUID
    amount_cents: int
    currency: str
    status: str
    pay_url: str
    created_at: datetime
    declines: int = 0
    captured_at: datetime | None = None
    refund_requested_at: datetime | None = None
    refunded_at: datetime | None = None


@dataclass(frozen=True)
class InboxEvent:
    id: str
    type: str
    payment_id: str | None
    payload: dict[str, Any]
    received_at: datetime | None = None  # None until the inbox keeps it
    attempts: int = 0
    last_error: str | None = None
    dead_at: datetime | None = None
    processed_at: datetime | None = None


class Payments(Protocol):
    def add(self, payment: Payment) -> tuple[Payment, bool]:
        """Store it unless the order has one already; the order's payment either way, and
        whether this call stored it."""
        ...

    def for_order(self, order_id: uuid.UUID, *, lock: bool = False) -> Payment | None: ...

    def get(self, payment_id: str, *, lock: bool = False) -> Payment | None: ...

    def advance(self, payment_id: str, status: str, now: datetime) -> None:
        """Move to ``status`` if that is further along; stamps when it was captured/refunded."""
        ...

    def declined(self, payment_id: str, now: datetime) -> None: ...

    def refund_requested(self, payment_id: str, now: datetime) -> None: ...

    def totals(self) -> list[tuple[str, str, int, int]]:
        """(currency, status, payments, amount) over every payment."""
        ...


class Inbox(Protocol):
    def add(self, event: InboxEvent, now: datetime) -> bool:
        """Keep a verified event; False when its id was received before (nothing written)."""
        ...

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[InboxEvent]: ...

    def processed(self, event_id: str, now: datetime) -> None: ...

    def failed(
        self, event_id: str, error: str, now: datetime, retry_at: datetime, *, dead: bool
    ) -> None:
        """One more failed try: due again at ``retry_at``, or (``dead``) in the dead-letter
        queue from ``now``."""
        ...

    def dead(self, limit: int) -> list[InboxEvent]:
        """The dead-letter queue, oldest first: events nobody has replayed or discarded."""
        ...

    def resolve(self, event_id: str, resolution: str, actor: str, now: datetime) -> bool:
        """A person's decision on a dead event; False if it is not in the queue."""
        ...

    def lag(self, now: datetime) -> tuple[int, int, float]:
        """Events waiting, events dead, and the age in seconds of the oldest waiting."""
        ...
