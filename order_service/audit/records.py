"""What the audit keeps in the order database: each run's findings, and the orders it flags."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, select

from order_service.tables import audit_runs

if TYPE_CHECKING:
    from order_service.audit.run import Report
    from order_service.repository import UnitOfWork


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(audit_runs.insert(), row)

    def last(self) -> RowMapping | None:
        query = select(audit_runs).order_by(audit_runs.c.started_at.desc()).limit(1)
        return self.conn.execute(query).mappings().first()


def record_run(uow: Callable[[], UnitOfWork], report: Report) -> None:
    """Keep the run: ``/metrics`` reports the last one, the dashboard and alerts read that."""
    assert report.finished_at is not None
    with uow() as tx:
        tx.audits.add(
            {
                "started_at": report.started_at,
                "finished_at": report.finished_at,
                "repair": report.repair,
                "orders_checked": report.orders_checked,
                "in_flight": report.in_flight,
                "findings": report.by_invariant(),
            }
        )
        tx.commit()


def flag_order(uow: Callable[[], UnitOfWork], order_id: str, reason: str, now: datetime) -> bool:
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
