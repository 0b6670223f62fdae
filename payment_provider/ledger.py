"""What the provider does with money: intents, payments, declines, refunds, and the events
each change emits. Every function runs in the caller's transaction, so a change and its event
are written together (a crash after the commit loses neither)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from payment_provider import faults
from payment_provider.tables import deliveries, events, idempotency, intents, refunds
from shared.errors import Conflict, NotFound, Unprocessable


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def intent_json(row: Any, pay_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "payment_intent",
        "amount_cents": row.amount_cents,
        "currency": row.currency,
        "reference": row.reference,
        "status": row.status,
        "declines": row.declines,
        "pay_url": pay_url,
        "created": row.created_at.isoformat(),
    }


def _remembered(conn: Connection, key: str | None, operation: str) -> str | None:
    if key is None:
        return None
    row = conn.execute(
        select(idempotency.c.operation, idempotency.c.object_id).where(idempotency.c.key == key)
    ).one_or_none()
    if row is None:
        return None
    if row.operation != operation:
        raise Unprocessable(f"this Idempotency-Key was used for {row.operation}", {"key": key})
    return str(row.object_id)


def _remember(
    conn: Connection, key: str | None, operation: str, object_id: str, now: datetime
) -> str:
    """Claim ``key`` for ``object_id``; the id already claimed if a concurrent request won."""
    if key is None:
        return object_id
    claimed = conn.execute(
        pg_insert(idempotency)
        .values(key=key, operation=operation, object_id=object_id, created_at=now)
        .on_conflict_do_nothing()
        .returning(idempotency.c.object_id)
    ).scalar_one_or_none()
    return object_id if claimed is not None else str(_remembered(conn, key, operation))


def create_intent(
    conn: Connection,
    *,
    key: str | None,
    amount_cents: int,
    currency: str,
    reference: str,
    return_url: str | None,
    now: datetime,
) -> tuple[Any, bool]:
    """A new intent, or the one this key made before; (row, created?)."""
    known = _remembered(conn, key, "create_intent")
    if known is None:
        intent_id = new_id("pi")
        if _remember(conn, key, "create_intent", intent_id, now) == intent_id:
            conn.execute(
                insert(intents).values(
                    id=intent_id,
                    amount_cents=amount_cents,
                    currency=currency,
                    reference=reference,
                    return_url=return_url,
                    status="requires_payment",
                    created_at=now,
                    updated_at=now,
                )
            )
            return get_intent(conn, intent_id), True
        known = _remembered(conn, key, "create_intent")
    row = get_intent(conn, str(known))
    if (row.amount_cents, row.currency, row.reference) != (amount_cents, currency, reference):
        raise Unprocessable(
            "this Idempotency-Key was used with a different amount, currency or reference",
            {"payment_intent": row.id},
        )
    return row, False


def get_intent(conn: Connection, intent_id: str, *, lock: bool = False) -> Any:
    query = select(intents).where(intents.c.id == intent_id)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(f"no payment intent {intent_id}", {"payment_intent": intent_id})
    return row


def pay(conn: Connection, intent_id: str, now: datetime) -> Any:
    """The customer paid (card authorised and captured at once): succeeded, and its event.
    Paying a paid intent again changes nothing."""
    row = get_intent(conn, intent_id, lock=True)
    if row.status == "succeeded":
        return row
    if row.status != "requires_payment":
        raise Conflict(f"payment intent {intent_id} is {row.status}", {"status": row.status})
    conn.execute(
        update(intents).where(intents.c.id == intent_id).values(status="succeeded", updated_at=now)
    )
    row = get_intent(conn, intent_id)
    emit(conn, "payment_intent.succeeded", row, now)
    return row


def decline(conn: Connection, intent_id: str, now: datetime) -> Any:
    """The card was declined: the intent may still be paid; a payment_failed event."""
    row = get_intent(conn, intent_id, lock=True)
    if row.status != "requires_payment":
        raise Conflict(f"payment intent {intent_id} is {row.status}", {"status": row.status})
    conn.execute(
        update(intents)
        .where(intents.c.id == intent_id)
        .values(declines=intents.c.declines + 1, updated_at=now)
    )
    row = get_intent(conn, intent_id)
    emit(conn, "payment_intent.payment_failed", row, now)
    return row


def refund(conn: Connection, intent_id: str, key: str | None, now: datetime) -> dict[str, Any]:
    """Give the whole amount back, once: a second refund of the intent answers the first."""
    row = get_intent(conn, intent_id, lock=True)
    existing = conn.execute(select(refunds).where(refunds.c.intent_id == intent_id)).one_or_none()
    if existing is None:
        if row.status != "succeeded":
            raise Conflict(
                f"payment intent {intent_id} has nothing captured to refund",
                {"status": row.status},
            )
        refund_id = _remember(conn, key, "refund", new_id("re"), now)
        conn.execute(
            insert(refunds).values(
                id=refund_id, intent_id=intent_id, amount_cents=row.amount_cents, created_at=now
            )
        )
        conn.execute(
            update(intents)
            .where(intents.c.id == intent_id)
            .values(status="refunded", updated_at=now)
        )
        emit(conn, "charge.refunded", get_intent(conn, intent_id), now)
        existing = conn.execute(select(refunds).where(refunds.c.intent_id == intent_id)).one()
    return {
        "id": existing.id,
        "object": "refund",
        "payment_intent": intent_id,
        "amount_cents": existing.amount_cents,
        "status": "succeeded",
        "created": existing.created_at.isoformat(),
    }


def emit(conn: Connection, kind: str, row: Any, now: datetime) -> str:
    """Record an event and the copies of it to send, as the webhook faults in force say."""
    event_id = new_id("evt")
    payload = {
        "id": event_id,
        "type": kind,
        "created": int(now.timestamp()),
        "data": {
            "object": {
                "id": row.id,
                "object": "payment_intent",
                "amount_cents": row.amount_cents,
                "currency": row.currency,
                "reference": row.reference,
                "status": row.status,
            }
        },
    }
    conn.execute(
        insert(events).values(
            id=event_id, type=kind, intent_id=row.id, payload=payload, created_at=now
        )
    )
    plan = faults.plan(faults.current(conn), event_id)
    conn.execute(
        insert(deliveries),
        [
            {
                "event_id": event_id,
                "due_at": now + timedelta(milliseconds=c.delay_ms),
                "forged": c.forged,
            }
            for c in plan
        ],
    )
    return event_id
