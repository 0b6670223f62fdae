"""What the order service layer needs from persistence: the real repositories and the fakes
in the tests both satisfy these protocols, and mypy checks that they do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from order_service.domain import CommandKind, Order
from order_service.payments.records import Inbox, Payments


@dataclass(frozen=True)
class StoredKey:
    """An Idempotency-Key as recorded by the first request that used it."""

    fingerprint: str
    order_id: uuid.UUID
    response_status: int
    response_body: str  # the JSON text that was sent, so a replay is the same bytes
    completed: bool
    locked_until: datetime


@dataclass(frozen=True)
class OutboxCommand:
    """An inventory command waiting to be delivered (or delivered)."""

    id: int
    order_id: uuid.UUID
    kind: CommandKind
    payload: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True)
class User:
    """An account: customers sign up; admins are made by ``accounts create-admin``."""

    id: uuid.UUID
    email: str
    password_hash: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class AuditRun:
    """One audit's outcome as kept: ``findings`` is {invariant: {outcome: count}}."""

    started_at: datetime
    finished_at: datetime
    repair: bool
    orders_checked: int
    in_flight: int
    findings: dict[str, dict[str, int]]


# The answer to POST /orders as sent: status and JSON text.
Answer = tuple[int, str]


@dataclass(frozen=True)
class NewKey:
    """An Idempotency-Key to record with a new order, and the answer to give a repeat now."""

    customer_id: str
    key: str
    fingerprint: str
    response: Answer
    completed: bool
    locked_until: datetime
    expires_at: datetime


class Orders(Protocol):
    def add(self, order: Order) -> None: ...

    def save(self, order: Order) -> None: ...

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None: ...

    def page(
        self,
        *,
        status: str | None,
        customer_id: str | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]: ...

    def lock_version(self, order_id: uuid.UUID) -> int | None: ...

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]: ...

    def owing_since(self, placed_before: datetime, limit: int) -> list[uuid.UUID]:
        """CONFIRMED orders with something to pay, placed before ``placed_before``."""
        ...

    def purge_rejected(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` REJECTED orders created before ``before``, with their lines,
        history and (delivered) commands; how many went."""

    def count_pending(self) -> int: ...

    def count_attention(self) -> int:
        """Orders flagged for a person (a refused command, or the audit)."""
        ...


@dataclass(frozen=True)
class DailyCap:
    """At most ``limit`` orders per customer created after ``since`` (a day before now)."""

    limit: int
    since: datetime


@dataclass(frozen=True)
class Holds:
    """At most ``orders`` unpaid orders and ``units`` units in them per customer (None: no
    limit), the new order included."""

    orders: int | None
    units: int | None


class Placements(Protocol):
    """A new order's two writes, each one statement: recording it, settling its reserve.

    Together they are the whole database work of a healthy ``POST /orders``, so each is a
    single round trip, atomic on its own (a unit of work with ``single_statement``).
    """

    def record(
        self,
        order: Order,
        payload: dict[str, Any],
        not_before: datetime,
        key: NewKey | None,
        cap: DailyCap | None = None,
        holds: Holds | None = None,
    ) -> int | None:
        """Store the order, its history, its reserve command and its key; the command's id.

        None, and nothing stored, when ``key`` is live already (a repeat of a request).
        ``DailyOrderCapReached``, and nothing stored, when the customer has ``cap.limit``
        orders since ``cap.since``; ``TooManyUnpaidOrders`` or ``TooManyUnpaidUnits`` when the
        order would hold more than ``holds`` allows.
        """
        ...

    def settle(
        self,
        order: Order,
        command_id: int,
        expected_version: int,
        now: datetime,
        answer: Answer | None,
        key: tuple[str, str] | None,
    ) -> bool:
        """Mark the command delivered; save ``order`` (as the answer moved it) and complete
        ``key`` with ``answer``, only if the stored order is still at ``expected_version``.

        False when it is not (something else moved the order first): the command is delivered
        all the same, and the caller settles again from what is stored.
        """
        ...


@dataclass(frozen=True)
class LoginFailures:
    """The failed logins of one email since its last success (within the window)."""

    failures: int
    last_failed_at: datetime


class Users(Protocol):
    def add(self, user: User) -> bool: ...

    def by_email(self, email: str) -> User | None: ...

    def set_password(self, email: str, password_hash: str, role: str) -> None: ...

    def failures(self, email: str) -> LoginFailures | None: ...

    def record_failure(self, email: str, now: datetime, forget_before: datetime) -> None:
        """One more failure; those before ``forget_before`` no longer count."""

    def clear_failures(self, email: str) -> None: ...

    def purge_failures(self, before: datetime) -> int: ...


class Keys(Protocol):
    def stored(self, customer_id: str, key: str) -> StoredKey | None: ...

    def complete(self, customer_id: str, key: str, response: Answer) -> None: ...

    def purge_expired(self, now: datetime) -> int: ...


class Outbox(Protocol):
    def add(
        self,
        order_id: uuid.UUID,
        kind: CommandKind,
        payload: dict[str, Any],
        *,
        now: datetime,
        not_before: datetime,
    ) -> OutboxCommand: ...

    def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        kinds: frozenset[CommandKind] | None = None,
    ) -> list[OutboxCommand]:
        """Due commands (of ``kinds`` only, when given), leased until ``lease_until``."""
        ...

    def delivered(self, command_id: int, now: datetime) -> None: ...

    def refused(self, command_id: int, error: str, now: datetime) -> None: ...

    def failed(
        self, command_id: int, error: str, retry_at: datetime, *, tried: bool = True
    ) -> None: ...

    def backlog(self) -> tuple[int, datetime | None]:
        """How many commands wait, and when the oldest of them was written."""
        ...


class Audits(Protocol):
    def add(self, run: AuditRun) -> None: ...

    def last(self) -> AuditRun | None: ...


class OrderUnitOfWork(Protocol):
    """One transaction over the order repositories; nothing is kept unless committed."""

    @property
    def orders(self) -> Orders: ...

    @property
    def keys(self) -> Keys: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def users(self) -> Users: ...

    @property
    def placements(self) -> Placements: ...

    @property
    def audits(self) -> Audits: ...

    @property
    def payments(self) -> Payments: ...

    @property
    def inbox(self) -> Inbox: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...


class UowFactory(Protocol):
    """Opens a unit of work; ``single_statement`` for a body that runs one statement only."""

    def __call__(self, *, single_statement: bool = False) -> OrderUnitOfWork: ...
