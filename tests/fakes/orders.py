"""An in-memory unit of work for the order service layer, with the real repositories' rules."""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from order_service.delivery import Deliverer
from order_service.domain import (
    UNPAID,
    CommandKind,
    DailyOrderCapReached,
    Order,
    OrderStatus,
    TooManyUnpaidOrders,
    TooManyUnpaidUnits,
)
from order_service.payments.port import PaymentsPort
from order_service.payments.records import RANK, InboxEvent, Payment
from order_service.ports import (
    Answer,
    AuditRun,
    DailyCap,
    Holds,
    LoginFailures,
    NewKey,
    OutboxCommand,
    StoredKey,
    User,
)
from order_service.services import OrderContext
from tests.fakes.inventory import FakeInventory


@dataclass
class Store:
    orders: dict[uuid.UUID, Order] = field(default_factory=dict)
    keys: dict[tuple[str, str], tuple[StoredKey, datetime]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    login_failures: dict[str, LoginFailures] = field(default_factory=dict)
    outbox: dict[int, dict[str, Any]] = field(default_factory=dict)
    audits: list[AuditRun] = field(default_factory=list)
    payments: dict[str, Payment] = field(default_factory=dict)
    inbox: dict[str, InboxEvent] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class FakeOrders:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, order: Order) -> None:
        order.new_history.clear()
        self.store.orders[order.id] = copy.deepcopy(order)

    save = add

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
        found = self.store.orders.get(order_id)
        return copy.deepcopy(found) if found else None

    def page(
        self,
        *,
        status: str | None,
        customer_id: str | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]:
        rows = sorted(self.store.orders.values(), key=lambda o: (o.created_at, o.id), reverse=True)
        rows = [
            o
            for o in rows
            if (not status or o.status == status)
            and (not customer_id or o.customer_id == customer_id)
            and (before is None or (o.created_at, o.id) < before)
        ]
        return copy.deepcopy(rows[:limit])

    def lock_version(self, order_id: uuid.UUID) -> int | None:
        found = self.store.orders.get(order_id)
        return found.version if found else None

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        return [
            o.id
            for o in self.store.orders.values()
            if o.status is OrderStatus.PENDING and o.created_at < older_than
        ][:limit]

    def owing_since(self, placed_before: datetime, limit: int) -> list[uuid.UUID]:
        return [
            o.id for o in self.store.orders.values() if o.owes and o.created_at < placed_before
        ][:limit]

    def purge_rejected(self, before: datetime, limit: int) -> int:
        doomed = sorted(
            (o for o in self.store.orders.values()
             if o.status is OrderStatus.REJECTED and o.created_at < before),
            key=lambda o: o.created_at,
        )[:limit]  # fmt: skip
        for order in doomed:
            del self.store.orders[order.id]
        return len(doomed)

    def count_pending(self) -> int:
        return sum(1 for o in self.store.orders.values() if o.status is OrderStatus.PENDING)

    def count_attention(self) -> int:
        return sum(1 for o in self.store.orders.values() if o.attention is not None)


class FakeKeys:
    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(
        self,
        customer_id: str,
        key: str,
        fingerprint: str,
        order_id: uuid.UUID,
        response: Answer,
        *,
        now: datetime,
        locked_until: datetime,
        expires_at: datetime,
        completed: bool = False,
    ) -> StoredKey | None:
        scoped = (customer_id, key)
        if scoped in self.store.keys and self.store.keys[scoped][1] >= now:
            return self.store.keys[scoped][0]
        self.store.keys[scoped] = (
            StoredKey(fingerprint, order_id, response[0], response[1], completed, locked_until),
            expires_at,
        )
        return None

    def stored(self, customer_id: str, key: str) -> StoredKey | None:
        found = self.store.keys.get((customer_id, key))
        return found[0] if found else None

    def complete(self, customer_id: str, key: str, response: Answer) -> None:
        stored, expires = self.store.keys[(customer_id, key)]
        self.store.keys[(customer_id, key)] = (
            replace(stored, response_status=response[0], response_body=response[1], completed=True),
            expires,
        )

    def purge_expired(self, now: datetime) -> int:
        expired = [k for k, (_, exp) in self.store.keys.items() if exp < now]
        for k in expired:
            del self.store.keys[k]
        return len(expired)


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        order_id: uuid.UUID,
        kind: CommandKind,
        payload: dict[str, Any],
        *,
        now: datetime,
        not_before: datetime,
    ) -> OutboxCommand:
        command = OutboxCommand(next(self.store.ids), order_id, kind, payload)
        self.store.outbox[command.id] = {
            "command": command,
            "next": not_before,
            "created": now,
            "delivered": None,
            "error": None,
        }
        return command

    def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        kinds: frozenset[CommandKind] | None = None,
    ) -> list[OutboxCommand]:
        due = [
            r
            for r in self.store.outbox.values()
            if r["delivered"] is None
            and r["next"] <= now
            and (kinds is None or r["command"].kind in kinds)
        ]
        for row in due[:limit]:
            row["next"] = lease_until
        return [row["command"] for row in due[:limit]]

    def delivered(self, command_id: int, now: datetime) -> None:
        self.store.outbox[command_id]["delivered"] = now

    def refused(self, command_id: int, error: str, now: datetime) -> None:
        row = self.store.outbox[command_id]
        row["error"], row["refused"], row["next"] = error, now, datetime.max.replace(tzinfo=UTC)

    def failed(
        self, command_id: int, error: str, retry_at: datetime, *, tried: bool = True
    ) -> None:
        row = self.store.outbox[command_id]
        row["error"], row["next"] = error, retry_at
        row["command"] = replace(row["command"], attempts=row["command"].attempts + int(tried))

    def backlog(self) -> tuple[int, datetime | None]:
        waiting = [
            r["command"].id
            for r in self.store.outbox.values()
            if r["delivered"] is None and r.get("refused") is None
        ]
        return len(waiting), (
            min(self.store.outbox[i]["created"] for i in waiting) if waiting else None
        )


class FakePlacements:
    """The single statements, as the repositories' steps they stand for."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        order: Order,
        payload: dict[str, Any],
        not_before: datetime,
        key: NewKey | None,
        cap: DailyCap | None = None,
        holds: Holds | None = None,
    ) -> int | None:
        now = order.created_at
        mine = [o for o in self.store.orders.values() if o.customer_id == order.customer_id]
        if cap is not None:
            recent = [o for o in mine if o.created_at > cap.since]
            if len(recent) >= cap.limit:
                raise DailyOrderCapReached(cap.limit)
        unpaid = [o for o in mine if o.status in UNPAID]
        if holds is not None and holds.orders is not None and len(unpaid) >= holds.orders:
            raise TooManyUnpaidOrders(holds.orders)
        units = sum(ln.quantity for o in [*unpaid, order] for ln in o.lines)
        if holds is not None and holds.units is not None and units > holds.units:
            raise TooManyUnpaidUnits(holds.units)
        if key is not None:
            live = FakeKeys(self.store).claim(
                key.customer_id,
                key.key,
                key.fingerprint,
                order.id,
                key.response,
                now=now,
                locked_until=key.locked_until,
                expires_at=key.expires_at,
                completed=key.completed,
            )
            if live is not None:
                return None
        FakeOrders(self.store).add(order)
        outbox = FakeOutbox(self.store)
        return outbox.add(order.id, CommandKind.RESERVE, payload, now=now, not_before=not_before).id

    def settle(
        self,
        order: Order,
        command_id: int,
        expected_version: int,
        now: datetime,
        answer: Answer | None,
        key: tuple[str, str] | None,
    ) -> bool:
        FakeOutbox(self.store).delivered(command_id, now)
        if self.store.orders[order.id].version != expected_version:
            return False
        FakeOrders(self.store).save(order)
        if key is not None and answer is not None:
            FakeKeys(self.store).complete(*key, answer)
        return True


class FakeUsers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, user: User) -> bool:
        if user.email in self.store.users:
            return False
        self.store.users[user.email] = user
        return True

    def by_email(self, email: str) -> User | None:
        return self.store.users.get(email)

    def set_password(self, email: str, password_hash: str, role: str) -> None:
        self.store.users[email] = replace(
            self.store.users[email], password_hash=password_hash, role=role
        )

    def failures(self, email: str) -> LoginFailures | None:
        return self.store.login_failures.get(email)

    def record_failure(self, email: str, now: datetime, forget_before: datetime) -> None:
        known = self.store.login_failures.get(email)
        count = 1 if known is None or known.last_failed_at < forget_before else known.failures + 1
        self.store.login_failures[email] = LoginFailures(count, now)

    def clear_failures(self, email: str) -> None:
        self.store.login_failures.pop(email, None)

    def purge_failures(self, before: datetime) -> int:
        stale = [e for e, f in self.store.login_failures.items() if f.last_failed_at < before]
        for email in stale:
            del self.store.login_failures[email]
        return len(stale)


class FakeAudits:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, run: AuditRun) -> None:
        self.store.audits.append(run)

    def last(self) -> AuditRun | None:
        return max(self.store.audits, key=lambda run: run.started_at, default=None)


class FakePayments:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, payment: Payment) -> tuple[Payment, bool]:
        found = self.for_order(payment.order_id)
        if found is not None:
            return found, False
        self.store.payments[payment.id] = payment
        return payment, True

    def for_order(self, order_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
        return next((p for p in self.store.payments.values() if p.order_id == order_id), None)

    def get(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        return self.store.payments.get(payment_id)

    def advance(self, payment_id: str, status: str, now: datetime) -> None:
        p = self.store.payments.get(payment_id)
        if p is not None and RANK[p.status] < RANK[status]:
            refunded = (p.refunded_at or now) if status == "refunded" else None
            self.store.payments[payment_id] = replace(
                p, status=status, captured_at=p.captured_at or now, refunded_at=refunded
            )

    def declined(self, payment_id: str, now: datetime) -> None:
        p = self.store.payments[payment_id]
        if p.status == "open":
            self.store.payments[payment_id] = replace(p, declines=p.declines + 1)

    def refund_requested(self, payment_id: str, now: datetime) -> None:
        p = self.store.payments[payment_id]
        self.store.payments[payment_id] = replace(
            p, refund_requested_at=p.refund_requested_at or now
        )

    def totals(self) -> list[tuple[str, str, int, int]]:
        found: dict[tuple[str, str], list[int]] = {}
        for p in self.store.payments.values():
            entry = found.setdefault((p.currency, p.status), [0, 0])
            entry[0] += 1
            entry[1] += p.amount_cents
        return [(c, s, n, a) for (c, s), (n, a) in sorted(found.items())]


class FakeInbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, event: InboxEvent, now: datetime) -> bool:
        if event.id in self.store.inbox:
            return False
        self.store.inbox[event.id] = replace(event, received_at=now)
        return True

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[InboxEvent]:
        due = [
            e
            for e in self.store.inbox.values()
            if e.processed_at is None and e.dead_at is None and e.received_at
        ]
        return due[:limit]

    def processed(self, event_id: str, now: datetime) -> None:
        e = self.store.inbox[event_id]
        self.store.inbox[event_id] = replace(e, processed_at=now, attempts=e.attempts + 1)

    def failed(
        self, event_id: str, error: str, now: datetime, retry_at: datetime, *, dead: bool
    ) -> None:
        e = self.store.inbox[event_id]
        self.store.inbox[event_id] = replace(
            e, attempts=e.attempts + 1, last_error=error, dead_at=now if dead else None
        )

    def dead(self, limit: int) -> list[InboxEvent]:
        return [e for e in self.store.inbox.values() if e.dead_at is not None][:limit]

    def resolve(self, event_id: str, resolution: str, actor: str, now: datetime) -> bool:
        e = self.store.inbox.get(event_id)
        if e is None or e.dead_at is None:
            return False
        done = now if resolution == "discarded" else None
        self.store.inbox[event_id] = replace(e, dead_at=None, processed_at=done, attempts=0)
        return True

    def lag(self, now: datetime) -> tuple[int, int, float]:
        waiting = [e for e in self.store.inbox.values() if e.processed_at is None and not e.dead_at]
        dead = [e for e in self.store.inbox.values() if e.dead_at is not None]
        return len(waiting), len(dead), 0.0


# One lock per store: a transaction copies the whole store and puts the whole copy back on
# commit, so two at once from two threads (the reconciler's deliveries) would each undo the
# other's changes. Held for the transaction, they run one after the other, as if serializable.
_LOCKS: dict[int, threading.RLock] = {}


class FakeUnitOfWork:
    """Changes become visible on commit only, like a real transaction."""

    def __init__(self, store: Store, *, single_statement: bool = False) -> None:
        self.committed = store
        self._lock = _LOCKS.setdefault(id(store), threading.RLock())

    def __enter__(self) -> FakeUnitOfWork:
        self._lock.acquire()
        self.working = copy.deepcopy(self.committed)
        self.orders = FakeOrders(self.working)
        self.keys = FakeKeys(self.working)
        self.outbox = FakeOutbox(self.working)
        self.users = FakeUsers(self.working)
        self.placements = FakePlacements(self.working)
        self.audits = FakeAudits(self.working)
        self.payments = FakePayments(self.working)
        self.inbox = FakeInbox(self.working)
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def commit(self) -> None:
        self.committed.__dict__.update(self.working.__dict__)
        self.working = copy.deepcopy(self.committed)
        self.orders.store = self.keys.store = self.outbox.store = self.working
        self.users.store = self.placements.store = self.audits.store = self.working
        self.payments.store = self.inbox.store = self.working


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fake_context(
    inventory: FakeInventory | None = None, payments: PaymentsPort | None = None
) -> tuple[OrderContext, Store, Clock]:
    store, clock = Store(), Clock()
    deliverer = Deliverer(
        uow=partial(FakeUnitOfWork, store),
        inventory=inventory or FakeInventory(),
        clock=clock,
        payments=payments,
    )
    ctx = OrderContext(
        uow=partial(FakeUnitOfWork, store),
        deliverer=deliverer,
    )
    return ctx, store, clock
