"""Payment use cases: start a payment, take in the provider's webhooks, process them, and let a
person decide on the ones that could not be processed (the dead-letter queue).

A webhook is verified on its raw bytes, written to the inbox in one statement that also
deduplicates it by event id, and answered at once; the reconciler processes the inbox. What an
event does is decided under the order's row lock (the same lock a cancel or the payment window
takes), so a success racing an expiry ends one way or the other, never both:

- ``payment_intent.succeeded``: the payment is captured; a CONFIRMED order becomes PAID; an
  order cancelled or expired meanwhile gets its payment refunded (queued in the outbox);
- ``payment_intent.payment_failed``: the payment counts a decline; the order stays payable
  until its window ends;
- ``charge.refunded``: the payment is refunded.

An event for a payment this service does not know, or whose amount is not the payment's, is an
error: retried with backoff, and dead after ``attempts`` tries.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from order_service.domain import NotPayable, OrderNotFound, OrderStatus
from order_service.payments.port import PaymentsPort, PaymentsUnavailable
from order_service.payments.records import InboxEvent, Payment
from order_service.ports import OrderUnitOfWork, OutboxCommand
from order_service.services import OrderContext, queue_refund
from shared import signing
from shared.errors import DomainError, NotFound, Overloaded, RequestInvalid

log = logging.getLogger(__name__)

SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"
KNOWN = (SUCCEEDED, FAILED, REFUNDED)


class SignatureRefused(DomainError):
    """A webhook whose signature does not verify (its credential is wrong: a 401); nothing
    was recorded."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, {"reason": reason})
        self.reason = reason


class ProviderUnavailable(Overloaded):
    """The provider gave no answer in time; nothing was recorded, asking again is safe."""


class EventFailed(Exception):
    """Processing an event cannot succeed as things are (it is retried, then dead)."""


def _none(*_: object) -> None:
    return None


@dataclass(frozen=True)
class PaymentContext:
    """What the payment use cases need, built once by the app factory and the reconciler."""

    orders: OrderContext
    provider: PaymentsPort
    secrets: tuple[str, ...]
    tolerance_s: float = 300.0
    attempts: int = 3
    retry_base_s: float = 1.0
    call_timeout_s: float = 8.0
    wall_clock: Callable[[], float] = time.time
    # Metrics plug in here: (event type, outcome) after each processing, and the reason of
    # every refused signature.
    on_event: Callable[[str, str], None] = field(default=_none)
    on_refused: Callable[[str], None] = field(default=_none)


def initiate(
    pctx: PaymentContext, order_id: uuid.UUID, owner: str | None, return_url: str | None = None
) -> tuple[Payment, bool]:
    """The order's payment, made at the provider if it has none yet; (payment, made now?).

    Idempotent by order: the provider is asked with the order's id as Idempotency-Key, and the
    payment is stored only if the order has none, so two initiates at once make one payment."""
    ctx = pctx.orders
    with ctx.uow() as tx:
        order = tx.orders.get(order_id)
        if order is None or not order.owned_by(owner):
            raise OrderNotFound(order_id)
        existing = tx.payments.for_order(order_id)
    if existing is not None:
        return existing, False
    if not order.owes:
        raise NotPayable(order)
    assert order.total_cents is not None and order.currency is not None
    try:
        intent = pctx.provider.create(
            key=f"order-{order_id}",
            amount_cents=order.total_cents,
            currency=order.currency,
            reference=str(order_id),
            return_url=return_url,
            timeout_s=pctx.call_timeout_s,
        )
    except PaymentsUnavailable as exc:
        raise ProviderUnavailable(
            "the payment provider did not answer in time; nothing was recorded, ask again",
            retry_after_s=max(1, round(exc.retry_after_s or 1)),
        ) from exc
    with ctx.uow() as tx:
        stored, made = tx.payments.add(
            Payment(
                id=intent.id,
                order_id=order_id,
                amount_cents=intent.amount_cents,
                currency=intent.currency,
                status="open",
                pay_url=intent.pay_url,
                created_at=ctx.now(),
            )
        )
        tx.commit()
    return stored, made


def payment_of(pctx: PaymentContext, order_id: uuid.UUID, owner: str | None) -> Payment:
    with pctx.orders.uow() as tx:
        order = tx.orders.get(order_id)
        payment = tx.payments.for_order(order_id)
    if order is None or not order.owned_by(owner):
        raise OrderNotFound(order_id)
    if payment is None:
        raise NotFound(f"order {order_id} has no payment yet", {"order_id": str(order_id)})
    return payment


def receive(pctx: PaymentContext, body: bytes, signature: str | None) -> bool:
    """Verify a webhook and keep it in the inbox; False when this event came before."""
    try:
        signing.verify(
            signature,
            body,
            pctx.secrets,
            now=pctx.wall_clock(),
            tolerance_s=pctx.tolerance_s,
        )
    except signing.SignatureInvalid as exc:
        pctx.on_refused(exc.reason)
        raise SignatureRefused(exc.reason, str(exc)) from exc
    event = _parse(body)
    with pctx.orders.uow(single_statement=True) as tx:
        new = tx.inbox.add(event, pctx.orders.now())
        tx.commit()
    return new


def _parse(body: bytes) -> InboxEvent:
    """The event's envelope; a signed body that is not one is the provider's bug, refused."""
    problems: dict[str, list[str]] = {}
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise RequestInvalid("the event is not a JSON object", {"fields": {"body": ["an object"]}})
    for name, limit in (("id", 64), ("type", 64)):
        if not isinstance(doc.get(name), str) or not 0 < len(doc[name]) <= limit:
            problems[name] = [f"a string of 1 to {limit} characters"]
    obj = (doc.get("data") or {}).get("object") if isinstance(doc.get("data"), dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or len(obj["id"]) > 40:
        problems["data.object.id"] = ["the payment intent's id"]
    if problems:
        raise RequestInvalid("the event is not one this service reads", {"fields": problems})
    assert isinstance(obj, dict)
    return InboxEvent(doc["id"], doc["type"], obj["id"], doc)


def process_due(pctx: PaymentContext, limit: int = 20) -> int:
    """Process the inbox's due events, each in its own transaction; how many were tried."""
    ctx = pctx.orders
    now = ctx.now()
    with ctx.uow() as tx:
        # A reconciler that dies mid-processing leaves its events to others after the lease.
        due = tx.inbox.claim_due(now, now + timedelta(seconds=10), limit)
        tx.commit()
    for event in due:
        _process(pctx, event)
    return len(due)


def _process(pctx: PaymentContext, event: InboxEvent) -> None:
    ctx = pctx.orders
    refund = None
    try:
        with ctx.uow() as tx:
            now = ctx.now()
            refund = apply(pctx, tx, event, now)
            tx.inbox.processed(event.id, now)
            tx.commit()
    except Exception as exc:  # whatever it was, the event stays and is tried again
        tries = event.attempts + 1
        dead = tries >= pctx.attempts
        delay = random.uniform(0.5, 1.0) * pctx.retry_base_s * 2 ** (tries - 1)
        with ctx.uow() as tx:
            now = ctx.now()
            error = f"{type(exc).__name__}: {exc}"
            tx.inbox.failed(event.id, error, now, now + timedelta(seconds=delay), dead=dead)
            tx.commit()
        pctx.on_event(event.type, "dead" if dead else "failed")
        log.warning(
            "payment event %s",
            "moved to the dead-letter queue" if dead else "failed; it will be tried again",
            extra={
                "event": event.id,
                "type": event.type,
                "attempt": tries,
                "error": str(exc)[:300],
            },
        )
        return
    pctx.on_event(event.type, "processed")
    if refund is not None:
        ctx.deliverer.deliver(refund, ctx.reserve_timeout_s)


def apply(
    pctx: PaymentContext, tx: OrderUnitOfWork, event: InboxEvent, now: datetime
) -> OutboxCommand | None:
    """What one event changes, in ``tx``; the refund command it queued, if any."""
    if event.type not in KNOWN:
        return None  # acknowledged and kept; nothing this service acts on
    assert event.payment_id is not None
    known = tx.payments.get(event.payment_id)
    if known is None:
        raise EventFailed(f"no payment {event.payment_id} here")
    obj = event.payload["data"]["object"]
    if (obj.get("amount_cents"), obj.get("currency")) != (known.amount_cents, known.currency):
        raise EventFailed(
            f"the event's amount {obj.get('amount_cents')} {obj.get('currency')} is not the "
            f"payment's {known.amount_cents} {known.currency}"
        )
    # The order's row first, as a cancel and the payment window take it: one order of locks.
    order = tx.orders.get(known.order_id, lock=True)
    payment = tx.payments.get(event.payment_id, lock=True)
    assert order is not None and payment is not None  # a payment's order is never deleted
    if event.type == FAILED:
        tx.payments.declined(payment.id, now)
        return None
    if event.type == REFUNDED:
        tx.payments.advance(payment.id, "refunded", now)
        return None
    tx.payments.advance(payment.id, "captured", now)
    if order.status is OrderStatus.CONFIRMED:
        order.transition(OrderStatus.PAID, now, "payment captured")
        tx.orders.save(order)
        return None
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        # Paid after it was cancelled or its window passed: the money goes back.
        return queue_refund(tx, order.id, now, pctx.orders.delivery_grace(now))
    return None  # PAID, SHIPPED, DELIVERED: this success was applied before


def dead_letters(pctx: PaymentContext, limit: int = 100) -> list[InboxEvent]:
    with pctx.orders.uow() as tx:
        return tx.inbox.dead(limit)


def resolve(pctx: PaymentContext, event_id: str, resolution: str, actor: str) -> None:
    """Replay (back in the inbox, every try ahead of it) or discard a dead event; audited on
    the event's row (who, when, what) and in the log."""
    with pctx.orders.uow() as tx:
        found = tx.inbox.resolve(event_id, resolution, actor, pctx.orders.now())
        tx.commit()
    if not found:
        raise NotFound(f"no event {event_id} in the dead-letter queue", {"event_id": event_id})
    log.warning("dead payment event %s", resolution, extra={"event": event_id, "actor": actor})
