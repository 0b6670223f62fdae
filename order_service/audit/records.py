"""What the audit keeps in the order database: each run's findings, and the orders it flags."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from order_service.audit.run import Report
from order_service.ports import AuditRun, OrderUnitOfWork


def record_run(uow: Callable[[], OrderUnitOfWork], report: Report) -> None:
    """Keep the run: ``/metrics`` reports the last one, the dashboard and alerts read that."""
    assert report.finished_at is not None
    with uow() as tx:
        tx.audits.add(
            AuditRun(
                report.started_at,
                report.finished_at,
                report.repair,
                report.orders_checked,
                report.in_flight,
                report.by_invariant(),
            )
        )
        tx.commit()


def flag_order(
    uow: Callable[[], OrderUnitOfWork], order_id: str, reason: str, now: datetime
) -> bool:
    """Flag the order for a person, its state unchanged; False when there is no such order."""
    try:
        key = uuid.UUID(order_id)
    except ValueError:
        return False
    with uow() as tx:
        order = tx.orders.get(key, lock=True)
        if order is None:
            return False
        order.flag("audit", reason, now)
        tx.orders.save(order)
        tx.commit()
    return True
