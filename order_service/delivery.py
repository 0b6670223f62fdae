"""Delivering outbox commands to inventory and applying what inventory answered.

The request thread and the reconciler both deliver through ``deliver``. A command may be sent
more than once (a lost response, a crashed worker, two deliverers after a lease ran out): every
inventory command is idempotent by reservation id, and ``settle`` only moves an order that is
still waiting, so repeating changes nothing.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.domain import CommandKind, Order, OrderStatus
from order_service.inventory import (
    InventoryPort,
    InventoryRefused,
    InventoryReply,
    ReservationState,
)
from order_service.inventory.wire import reserve_lines
from order_service.payments.port import PaymentsPort, RefundReply
from order_service.ports import Answer, OrderUnitOfWork, OutboxCommand, UowFactory
from shared.resilience.failures import Reason, Refused, Unavailable

log = logging.getLogger(__name__)
NOT_TRIED = frozenset({Reason.BREAKER_OPEN, Reason.BULKHEAD_FULL})


Outcome = InventoryReply | RefundReply | Refused | Unavailable


@dataclass(frozen=True)
class Deliverer:
    """What delivery needs: transactions, the inventory port, the payment provider's port
    (refunds go through the outbox too) and a clock."""

    uow: UowFactory
    inventory: InventoryPort
    clock: Callable[[], datetime]
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0
    payments: PaymentsPort | None = None

    def deliver(self, command: OutboxCommand, timeout_s: float | None = None) -> bool:
        """Send one command and settle its answer; False when inventory gave none (retry later)."""
        outcome = self.attempt(command, timeout_s)
        with self.uow() as tx:
            self.settle(tx, command, outcome)
            tx.commit()
        return not isinstance(outcome, Unavailable)

    def attempt(self, command: OutboxCommand, timeout_s: float | None = None) -> Outcome:
        """Send one command; whatever happened is returned, to be settled in a transaction."""
        try:
            if command.kind is CommandKind.REFUND:
                return self._refund(command, timeout_s)
            return send(self.inventory, command, timeout_s)
        except Unavailable as exc:
            log.info(
                "%s gave no answer; command kept for later",
                exc.dependency,
                extra={
                    "order_id": str(command.order_id),
                    "command": command.kind.value,
                    "reason": exc.reason.value,
                    "detail": exc.detail[:200],
                },
            )
            return exc
        except Refused as exc:
            log.error(
                "%s refused %s for order %s: %s",
                exc.dependency,
                command.kind,
                command.order_id,
                exc,
            )
            return exc

    def _refund(self, command: OutboxCommand, timeout_s: float | None) -> RefundReply:
        assert self.payments is not None, "a refund was queued without a payment provider"
        payment_id = command.payload["payment_id"]
        # The payment names the refund: however often it is sent, the provider refunds once.
        return self.payments.refund(payment_id, key=f"refund-{payment_id}", timeout_s=timeout_s)

    def settle(
        self,
        tx: OrderUnitOfWork,
        command: OutboxCommand,
        outcome: Outcome,
        placed: Order | None = None,
    ) -> Order | None:
        """Apply what inventory answered within ``tx``; returns the order when it was loaded.

        ``placed`` is the order as the caller created it: when its row is unchanged, the answer
        is applied to it directly instead of reading the order back.
        """
        now = self.clock()
        if isinstance(outcome, Unavailable):
            self._not_delivered(tx, command, outcome, now)
            return placed
        if isinstance(outcome, Refused) and command.kind is not CommandKind.RESERVE:
            return _refused(tx, command, outcome, now)
        tx.outbox.delivered(command.id, now)
        if isinstance(outcome, RefundReply):
            tx.payments.advance(outcome.payment_id, "refunded", now)
        if command.kind is not CommandKind.RESERVE:
            return placed
        order = placed
        if placed is None or tx.orders.lock_version(placed.id) != placed.version:
            order = tx.orders.get(command.order_id, lock=True)
        if order is None or order.status is not OrderStatus.PENDING:
            return order  # settled meanwhile (or cancelled): nothing is left to decide
        assert isinstance(outcome, InventoryReply | InventoryRefused)
        if decide(order, outcome, now):
            tx.orders.save(order)
        return order

    def _not_delivered(
        self,
        tx: OrderUnitOfWork,
        command: OutboxCommand,
        failure: Unavailable,
        now: datetime,
    ) -> None:
        # Refused without a try (breaker open, bulkhead full): not an attempt, so the backoff
        # does not grow and the command is due again as soon as inventory may be called.
        tried = failure.reason not in NOT_TRIED
        delay = retry_delay(command.attempts if tried else 0, self.retry_base_s, self.retry_max_s)
        tx.outbox.failed(command.id, str(failure), now + timedelta(seconds=delay), tried=tried)

    def settle_placed(
        self,
        command: OutboxCommand,
        outcome: Outcome,
        placed: Order,
        present: Callable[[Order], Answer],
        key: tuple[str, str] | None,
    ) -> Answer:
        """Settle the reserve of an order this request has just placed; complete its key.

        The common case, inventory answered and nothing else touched the order since, is one
        statement; anything else goes through ``settle`` in a transaction, from what is stored.
        """
        known: Order | None = placed
        if isinstance(outcome, InventoryReply | InventoryRefused):
            expected, now = placed.version, self.clock()
            if decide(placed, outcome, now):
                answer = present(placed)
                with self.uow(single_statement=True) as single:
                    moved = single.placements.settle(placed, command.id, expected, now, answer, key)
                    single.commit()
                if moved:
                    return answer
                known = None  # something else moved it meanwhile: settle from what is stored
        with self.uow() as tx:
            current = self.settle(tx, command, outcome, placed=known)
            assert current is not None  # the order was stored before its command was sent
            answer = present(current)
            if key is not None:
                tx.keys.complete(*key, answer)
            tx.commit()
        return answer


def decide(order: Order, outcome: InventoryReply | InventoryRefused, now: datetime) -> bool:
    """Move a PENDING order as inventory's answer to its reserve says; False if it stays."""
    if isinstance(outcome, InventoryRefused):
        # A refusal will not change on a retry: close the order and say why.
        order.transition(OrderStatus.REJECTED, now, f"inventory refused: {outcome.code}")
        order.rejection = {"reason": str(outcome), "shortages": []}
    elif outcome.state is ReservationState.RESERVED:
        order.confirm(outcome.prices, now)
    elif outcome.state is ReservationState.REJECTED:
        order.reject(outcome.shortages, now)
    else:
        return False  # RELEASED: a cancel overtook the reserve; the order is not PENDING
    return True


def _refused(
    tx: OrderUnitOfWork, command: OutboxCommand, refusal: Refused, now: datetime
) -> Order | None:
    """A release or commit inventory will not take (the reservation is in another state than
    this order says), or a refund the provider will not make: never recorded as delivered, and
    a person must look."""
    tx.outbox.refused(command.id, str(refusal), now)
    order = tx.orders.get(command.order_id, lock=True)
    if order is not None:
        order.flag(command.kind, str(refusal), now)
        tx.orders.save(order)
    log.error(
        "a command was refused; order flagged for attention",
        extra={"order_id": str(command.order_id), "command": command.kind.value},
    )
    return order


def send(
    inventory: InventoryPort, command: OutboxCommand, timeout_s: float | None
) -> InventoryReply:
    """The port call for one outbox command; the order id is the reservation id."""
    rid = str(command.order_id)
    if command.kind is CommandKind.RESERVE:
        return inventory.reserve(rid, reserve_lines(command.payload), timeout_s=timeout_s)
    if command.kind is CommandKind.RELEASE:
        return inventory.release(rid, timeout_s=timeout_s)
    return inventory.commit(rid, timeout_s=timeout_s)


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential backoff with full jitter for the next delivery attempt."""
    return random.uniform(0, min(max_s, base_s * 2 ** min(attempts, 16)))
