"""Persistence of payments and of the webhook inbox (SQLAlchemy Core on PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from order_service.payments.records import RANK, InboxEvent, Payment
from order_service.tables import payment_events, payments

_RANK = case(RANK, value=payments.c.status)


class PaymentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, payment: Payment) -> tuple[Payment, bool]:
        inserted = self.conn.execute(
            insert(payments)
            .values(
                id=payment.id,
                order_id=payment.order_id,
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                status=payment.status,
                pay_url=payment.pay_url,
                created_at=payment.created_at,
                updated_at=payment.created_at,
            )
            # Any conflict: two initiates of one order insert the same intent at once, and
            # naming order_id alone would still let the primary key raise.
            .on_conflict_do_nothing()
            .returning(payments.c.id)
        ).scalar_one_or_none()
        found = self.for_order(payment.order_id)
        assert found is not None
        return found, inserted is not None

    def for_order(self, order_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
        return self._one(payments.c.order_id == order_id, lock)

    def get(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        return self._one(payments.c.id == payment_id, lock)

    def _one(self, where: Any, lock: bool) -> Payment | None:
        query = select(payments).where(where)
        row = self.conn.execute(query.with_for_update() if lock else query).one_or_none()
        return _payment(row) if row is not None else None

    def advance(self, payment_id: str, status: str, now: datetime) -> None:
        stamps = {"captured": "captured_at", "refunded": "refunded_at"}
        values: dict[str, Any] = {"status": status, "updated_at": now}
        values[stamps[status]] = func.coalesce(payments.c[stamps[status]], now)
        if status == "refunded":  # a refund implies the capture, whichever event came first
            values["captured_at"] = func.coalesce(payments.c.captured_at, now)
        self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, RANK[status] > _RANK)
            .values(**values)
        )

    def declined(self, payment_id: str, now: datetime) -> None:
        self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.status == "open")
            .values(declines=payments.c.declines + 1, updated_at=now)
        )

    def refund_requested(self, payment_id: str, now: datetime) -> None:
        self.conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.refund_requested_at.is_(None))
            .values(refund_requested_at=now, updated_at=now)
        )

    def totals(self) -> list[tuple[str, str, int, int]]:
        """(currency, status, payments, amount) over every payment: for metrics and audits."""
        rows = self.conn.execute(
            select(
                payments.c.currency,
                payments.c.status,
                func.count(),
                func.coalesce(func.sum(payments.c.amount_cents), 0),
            ).group_by(payments.c.currency, payments.c.status)
        )
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


def _payment(row: Any) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        status=row.status,
        pay_url=row.pay_url,
        created_at=row.created_at,
        declines=row.declines,
        captured_at=row.captured_at,
        refund_requested_at=row.refund_requested_at,
        refunded_at=row.refunded_at,
    )


_OPEN = (payment_events.c.processed_at.is_(None), payment_events.c.dead_at.is_(None))


class InboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, event: InboxEvent, now: datetime) -> bool:
        written = self.conn.execute(
            insert(payment_events)
            .values(
                id=event.id,
                type=event.type,
                payment_id=event.payment_id,
                payload=event.payload,
                received_at=now,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(payment_events.c.id)
        ).scalar_one_or_none()
        return written is not None

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[InboxEvent]:
        rows = self.conn.execute(
            select(payment_events)
            .where(*_OPEN, payment_events.c.next_attempt_at <= now)
            .order_by(payment_events.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if rows:
            self.conn.execute(
                update(payment_events)
                .where(payment_events.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=lease_until)
            )
        return [_event(r) for r in rows]

    def processed(self, event_id: str, now: datetime) -> None:
        self.conn.execute(
            update(payment_events)
            .where(payment_events.c.id == event_id)
            .values(
                processed_at=now,
                attempts=payment_events.c.attempts + 1,
                last_error=None,
            )
        )

    def failed(
        self, event_id: str, error: str, now: datetime, retry_at: datetime, *, dead: bool
    ) -> None:
        self.conn.execute(
            update(payment_events)
            .where(payment_events.c.id == event_id, *_OPEN)
            .values(
                attempts=payment_events.c.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=retry_at,
                dead_at=now if dead else None,
            )
        )

    def dead(self, limit: int) -> list[InboxEvent]:
        rows = self.conn.execute(
            select(payment_events)
            .where(payment_events.c.dead_at.is_not(None))
            .order_by(payment_events.c.dead_at, payment_events.c.id)
            .limit(limit)
        )
        return [_event(r) for r in rows]

    def resolve(self, event_id: str, resolution: str, actor: str, now: datetime) -> bool:
        values: dict[str, Any] = {
            "resolution": resolution,
            "resolved_by": actor,
            "resolved_at": now,
        }
        if resolution == "replayed":
            # Back in the inbox with every try ahead of it again.
            values.update(dead_at=None, attempts=0, next_attempt_at=now)
        else:
            values.update(dead_at=None, processed_at=now)
        found = self.conn.execute(
            update(payment_events)
            .where(payment_events.c.id == event_id, payment_events.c.dead_at.is_not(None))
            .values(**values)
            .returning(payment_events.c.id)
        ).scalar_one_or_none()
        return found is not None

    def lag(self, now: datetime) -> tuple[int, int, float]:
        row = self.conn.execute(
            select(
                func.count().filter(*_OPEN),
                func.count().filter(payment_events.c.dead_at.is_not(None)),
                func.min(payment_events.c.received_at).filter(*_OPEN),
            )
        ).one()
        oldest = (now - row[2]).total_seconds() if row[2] is not None else 0.0
        return int(row[0]), int(row[1]), max(0.0, oldest)


def _event(row: Any) -> InboxEvent:
    return InboxEvent(
        id=row.id,
        type=row.type,
        payment_id=row.payment_id,
        payload=row.payload,
        received_at=row.received_at,
        attempts=row.attempts,
        last_error=row.last_error,
        dead_at=row.dead_at,
        processed_at=row.processed_at,
    )
