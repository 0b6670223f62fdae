"""Order use cases: primitives in, plain results out."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from order_service.delivery import Deliverer
from order_service.domain import (
    Address,
    CommandKind,
    DailyOrderCapReached,
    IdempotencyKeyReused,
    Order,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    RequestInProgress,
    TooManyUnpaidOrders,
    TooManyUnpaidUnits,
    address_json,
)
from order_service.inventory.wire import reserve_payload
from order_service.ports import (
    Answer,
    DailyCap,
    Holds,
    NewKey,
    OrderUnitOfWork,
    OutboxCommand,
    StoredKey,
    UowFactory,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderContext:
    """Everything the use cases need, built once by the app factory (or by a test)."""

    uow: UowFactory
    deliverer: Deliverer
    reserve_timeout_s: float = 6.0
    key_lease_s: float = 30.0
    key_ttl_s: float = 86400.0
    daily_order_cap: int | None = None  # orders per customer in 24 hours
    holds: Holds | None = None  # unpaid orders and units per customer

    def now(self) -> datetime:
        return self.deliverer.clock()

    def delivery_grace(self, now: datetime) -> datetime:
        """Until then the request thread owns a new command; after that the reconciler may."""
        return now + timedelta(seconds=self.reserve_timeout_s + 2)


@dataclass(frozen=True)
class Placement:
    """What became of ``POST /orders``: the order, the answer as sent, and whether it replays.

    The answer (status and JSON text) comes from the caller's ``present`` function, so the
    idempotency record stores exactly what was sent and the service layer decides no status.
    """

    order_id: uuid.UUID
    answer: Answer
    replayed: bool


# Renders an order as the answer to POST /orders (the web layer's presenter).
Present = Callable[[Order], Answer]


def fingerprint(
    customer_id: str, lines: Sequence[tuple[str, int]], address: Address | None = None
) -> str:
    """A stable digest of the request, to tell a replay from a different body under one key.
    Without an address it is what it was before addresses existed, so keys stored then still
    recognise their replays."""
    parts: list[Any] = [customer_id, sorted(lines)]
    if address is not None:
        parts.append(address_json(address))
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def place_order(
    ctx: OrderContext,
    customer_id: str,
    lines: Sequence[tuple[str, int]],
    key: str | None,
    present: Present,
    address: Address | None = None,
) -> Placement:
    """Record the order and its reserve command, then try to reserve at once."""
    now = ctx.now()
    order = Order.place(customer_id, [OrderLine(sku, qty) for sku, qty in lines], now, address)
    # With the breaker open the answer is known before anything is written: the order is
    # recorded PENDING with its command due at once, and the key's answer is final, in one
    # statement. That is what keeps the 202 path fast while inventory is away.
    refused = not ctx.deliverer.inventory.available()
    pending = present(order)  # the answer while the order waits: a repeat's, or the 202 now
    digest = fingerprint(customer_id, lines, address) if key is not None else ""
    new_key = _new_key(ctx, customer_id, key, digest, pending, refused, now)
    payload = reserve_payload(order.lines)
    recorded = _record(ctx, order, payload, now if refused else ctx.delivery_grace(now), new_key)
    if isinstance(recorded, StoredKey):
        return _replay(recorded, digest, now)
    if refused:
        return Placement(order.id, pending, replayed=False)
    command = OutboxCommand(recorded, order.id, CommandKind.RESERVE, payload)
    scoped = (customer_id, key) if key is not None else None
    return _reserve_now(ctx, command, order, present, scoped, pending)


def _new_key(
    ctx: OrderContext,
    customer_id: str,
    key: str | None,
    digest: str,
    pending: Answer,
    refused: bool,
    now: datetime,
) -> NewKey | None:
    if key is None:
        return None
    return NewKey(
        customer_id,
        key,
        digest,
        pending,
        completed=refused,
        locked_until=now + timedelta(seconds=ctx.key_lease_s),
        expires_at=now + timedelta(seconds=ctx.key_ttl_s),
    )


def _record(
    ctx: OrderContext,
    order: Order,
    payload: dict[str, Any],
    not_before: datetime,
    new_key: NewKey | None,
) -> int | StoredKey:
    """The reserve command's id once the order is stored, or the live key that stopped it."""
    cap = None
    if ctx.daily_order_cap is not None:
        cap = DailyCap(ctx.daily_order_cap, order.created_at - timedelta(days=1))
    while True:
        try:
            with ctx.uow(single_statement=True) as tx:
                command_id = tx.placements.record(
                    order, payload, not_before, new_key, cap, ctx.holds
                )
                tx.commit()
        except (DailyOrderCapReached, TooManyUnpaidOrders, TooManyUnpaidUnits):
            # A repeat of an order placed before the cap was reached is still its answer.
            stored = _stored(ctx, new_key)
            if stored is None:
                raise
            return stored
        if command_id is not None:
            return command_id
        assert new_key is not None  # only a live key stops the order from being recorded
        stored = _stored(ctx, new_key)
        if stored is not None:
            return stored
        # The key expired and was purged between the two statements: claim it again.


def _stored(ctx: OrderContext, key: NewKey | None) -> StoredKey | None:
    if key is None:
        return None
    with ctx.uow(single_statement=True) as tx:
        return tx.keys.stored(key.customer_id, key.key)


def _reserve_now(
    ctx: OrderContext,
    command: OutboxCommand,
    order: Order,
    present: Present,
    key: tuple[str, str] | None,
    pending: Answer,
) -> Placement:
    """One round trip to inventory, then one statement: the answer, the command's state and
    the idempotency record's final response are written together."""
    try:
        outcome = ctx.deliverer.attempt(command, ctx.reserve_timeout_s)
        answer = ctx.deliverer.settle_placed(command, outcome, order, present, key)
    except Exception:
        # The order and its command are stored, so the reconciler settles it whatever went
        # wrong here (the database going away between the two statements, say). An error
        # answer would be a lie a client without an Idempotency-Key retries as a second order.
        log.exception(
            "order recorded, settling it failed; answered 202", extra={"order_id": str(order.id)}
        )
        return Placement(order.id, pending, replayed=False)
    return Placement(order.id, answer, replayed=False)


def _replay(stored: StoredKey, digest: str, now: datetime) -> Placement:
    if stored.fingerprint != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request body",
            {"order_id": str(stored.order_id)},
        )
    if not stored.completed and stored.locked_until > now:
        wait = (stored.locked_until - now).total_seconds()
        raise RequestInProgress(retry_after_s=max(1, min(5, math.ceil(wait))))
    answer = (stored.response_status, stored.response_body)
    return Placement(stored.order_id, answer, replayed=True)


def get_order(ctx: OrderContext, order_id: uuid.UUID, owner: str | None = None) -> Order:
    """One order with its items and status history; ``owner`` None may see any order.

    Another customer's order is ``OrderNotFound``, exactly as if it did not exist.
    """
    with ctx.uow() as tx:
        order = tx.orders.get(order_id)
    if order is None or not order.owned_by(owner):
        raise OrderNotFound(order_id)
    return order


def list_orders(
    ctx: OrderContext,
    *,
    status: str | None,
    customer_id: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[Order], tuple[datetime, uuid.UUID] | None]:
    """Newest first; returns the page and the position to continue from (None at the end)."""
    with ctx.uow() as tx:
        page = tx.orders.page(status=status, customer_id=customer_id, before=before, limit=limit)
    last = page[-1] if len(page) == limit else None
    return page, (last.created_at, last.id) if last else None


def cancel_order(
    ctx: OrderContext,
    order_id: uuid.UUID,
    reason: str = "cancelled by request",
    *,
    owner: str | None = None,
    actor: str | None = None,
) -> Order:
    """Cancel a PENDING, CONFIRMED or PAID order: its stock is released and a captured payment
    refunded (the refund queued in the same transaction)."""
    return _change(ctx, order_id, OrderStatus.CANCELLED, reason, owner, actor)


def expire_unpaid(ctx: OrderContext, order_id: uuid.UUID) -> Order:
    """Cancel an order still CONFIRMED and unpaid at the end of its payment window; one paid
    meanwhile is left as it is."""
    return _change(
        ctx,
        order_id,
        OrderStatus.CANCELLED,
        "payment window passed",
        None,
        None,
        only_from=OrderStatus.CONFIRMED,
    )


def ship_order(ctx: OrderContext, order_id: uuid.UUID, *, actor: str | None = None) -> Order:
    """Ship a PAID order (or a CONFIRMED one with nothing to pay); its reserved stock is
    deducted for good."""
    return _change(ctx, order_id, OrderStatus.SHIPPED, "shipped", None, actor)


def deliver_order(ctx: OrderContext, order_id: uuid.UUID, *, actor: str | None = None) -> Order:
    """Record that a SHIPPED order reached the customer."""
    return _change(ctx, order_id, OrderStatus.DELIVERED, "delivered", None, actor)


def _change(
    ctx: OrderContext,
    order_id: uuid.UUID,
    target: OrderStatus,
    reason: str,
    owner: str | None,
    actor: str | None,
    *,
    only_from: OrderStatus | None = None,
) -> Order:
    # The commands are queued in the same transaction as the change, so none can be lost; the
    # attempt to send them now only makes a healthy system settle at once.
    now = ctx.now()
    commands: list[OutboxCommand] = []
    with ctx.uow() as tx:
        order = tx.orders.get(order_id, lock=True)
        if order is None or not order.owned_by(owner):
            raise OrderNotFound(order_id)
        if only_from is not None and order.status is not only_from:
            return order
        effect = order.transition(target, now, reason, actor)
        tx.orders.save(order)
        grace = ctx.delivery_grace(now)
        if effect:
            commands.append(tx.outbox.add(order.id, effect, {}, now=now, not_before=grace))
        if target is OrderStatus.CANCELLED:
            refund = queue_refund(tx, order.id, now, grace)
            commands += [refund] if refund else []
        tx.commit()
    for command in commands:
        ctx.deliverer.deliver(command, ctx.reserve_timeout_s)
    return order


def queue_refund(
    tx: OrderUnitOfWork, order_id: uuid.UUID, now: datetime, not_before: datetime
) -> OutboxCommand | None:
    """Queue the refund of the order's captured payment, once; the command, or None when
    there is nothing (more) to refund. The order's row must be locked by the caller."""
    payment = tx.payments.for_order(order_id, lock=True)
    if payment is None or payment.status != "captured" or payment.refund_requested_at:
        return None
    tx.payments.refund_requested(payment.id, now)
    payload = {"payment_id": payment.id, "amount_cents": payment.amount_cents}
    return tx.outbox.add(order_id, CommandKind.REFUND, payload, now=now, not_before=not_before)
