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

from order_service.domain import CommandKind, OrderStatus
from order_service.repository import OutboxCommand, UnitOfWork
from shared.inventory import (
    InventoryPort,
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    Line,
    ReservationState,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deliverer:
    """What delivery needs: transactions, the inventory port and a clock."""

    uow: Callable[[], UnitOfWork]
    inventory: InventoryPort
    clock: Callable[[], datetime]
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0

    def deliver(self, command: OutboxCommand, timeout_s: float | None = None) -> bool:
        """Send one command and settle its answer; False when inventory gave none (retry later)."""
        try:
            reply = send(self.inventory, command, timeout_s)
        except InventoryUnavailable as exc:
            log.info(
                "inventory gave no answer; command kept for later",
                extra={
                    "order_id": str(command.order_id),
                    "command": command.kind.value,
                    "reason": exc.reason.value,
                    "detail": exc.detail[:200],
                },
            )
            self._retry_later(command, exc)
            return False
        except InventoryRefused as exc:
            # A refusal will not change on a retry: close the command and say why.
            log.error("inventory refused %s for order %s: %s", command.kind, command.order_id, exc)
            self._settle(command, None, refusal=exc)
            return True
        self._settle(command, reply)
        return True

    def _settle(
        self,
        command: OutboxCommand,
        reply: InventoryReply | None,
        refusal: InventoryRefused | None = None,
    ) -> None:
        now = self.clock()
        with self.uow() as tx:
            if command.kind is CommandKind.RESERVE:
                order = tx.orders.get(command.order_id, lock=True)
                if order is not None and order.status is OrderStatus.PENDING:
                    if refusal is not None:
                        order.transition(
                            OrderStatus.REJECTED, now, f"inventory refused: {refusal.code}"
                        )
                        order.rejection = {"reason": str(refusal), "shortages": []}
                    elif reply is not None and reply.state is ReservationState.RESERVED:
                        order.transition(OrderStatus.CONFIRMED, now, "stock reserved")
                    elif reply is not None and reply.state is ReservationState.REJECTED:
                        order.reject(reply.shortages, now)
                    tx.orders.save(order)
            tx.outbox.delivered(command.id, now)
            tx.commit()

    def _retry_later(self, command: OutboxCommand, exc: InventoryUnavailable) -> None:
        now = self.clock()
        delay = retry_delay(command.attempts, self.retry_base_s, self.retry_max_s)
        with self.uow() as tx:
            tx.outbox.failed(command.id, str(exc), now + timedelta(seconds=delay))
            tx.commit()


def send(
    inventory: InventoryPort, command: OutboxCommand, timeout_s: float | None
) -> InventoryReply:
    """The port call for one outbox command; the order id is the reservation id."""
    rid = str(command.order_id)
    if command.kind is CommandKind.RESERVE:
        lines = [Line(ln["sku"], ln["quantity"]) for ln in command.payload["lines"]]
        return inventory.reserve(rid, lines, timeout_s=timeout_s)
    if command.kind is CommandKind.RELEASE:
        return inventory.release(rid, timeout_s=timeout_s)
    return inventory.commit(rid, timeout_s=timeout_s)


def retry_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential backoff with full jitter for the next delivery attempt."""
    return random.uniform(0, min(max_s, base_s * 2 ** min(attempts, 16)))
