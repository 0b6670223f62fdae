"""Persistence of orders, idempotency keys and the outbox (SQLAlchemy Core on PostgreSQL)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, tuple_, update

from order_service.audits import AuditRepository
from order_service.domain import (
    CommandKind,
    Order,
    OrderLine,
    OrderStatus,
    StatusChange,
    address_from,
    address_json,
)
from order_service.payments.repository import InboxRepository, PaymentRepository
from order_service.placements import PlacementRepository
from order_service.ports import Answer, OutboxCommand, StoredKey
from order_service.tables import idempotency_keys, order_history, order_lines, orders, outbox
from order_service.users import UserRepository
from shared.uow import UnitOfWork as BaseUnitOfWork

# Hot-path statements are built once: building them per request (the ON CONFLICT clause above
# all) cost more CPU than running them. They take their values as bound parameters.
_INSERT_ORDER = orders.insert()
_INSERT_LINES = order_lines.insert()
_INSERT_HISTORY = order_history.insert()
_SAVE_ORDER = (
    update(orders)
    .where(orders.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        version=bindparam("version"),
        rejection=bindparam("rejection"),
        attention=bindparam("attention"),
        total_cents=bindparam("total_cents"),
        currency=bindparam("currency"),
        updated_at=bindparam("updated_at"),
    )
)
_PRICE_LINES = (
    update(order_lines)
    .where(order_lines.c.order_id == bindparam("b_id"), order_lines.c.sku == bindparam("b_sku"))
    .values(unit_price_cents=bindparam("price"))
)
_LOCK_VERSION = select(orders.c.version).where(orders.c.id == bindparam("b_id")).with_for_update()
_COMPLETE_KEY = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.customer_id == bindparam("b_customer"),
        idempotency_keys.c.key == bindparam("b_key"),
    )
    .values(response_status=bindparam("status"), response_body=bindparam("body"), completed=True)
)
_ADD_COMMAND = outbox.insert().returning(outbox.c.id)
_DELIVERED = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"), outbox.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("now"), attempts=outbox.c.attempts + 1, last_error=None)
)
_REFUSED = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"), outbox.c.delivered_at.is_(None))
    .values(
        attempts=outbox.c.attempts + 1, last_error=bindparam("error"), refused_at=bindparam("now")
    )
)
_FAILED = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"), outbox.c.delivered_at.is_(None))
    .values(
        attempts=outbox.c.attempts + bindparam("tried"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at"),
    )
)


class OrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, order: Order) -> None:
        self.conn.execute(_INSERT_ORDER, _order_row(order))
        self.conn.execute(
            _INSERT_LINES,
            [{"order_id": order.id, "sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
        )
        self._flush_history(order)

    def save(self, order: Order) -> None:
        self.conn.execute(
            _SAVE_ORDER,
            {
                "b_id": order.id,
                "status": order.status.value,
                "version": order.version,
                "rejection": order.rejection,
                "attention": order.attention,
                "total_cents": order.total_cents,
                "currency": order.currency,
                "updated_at": order.updated_at,
            },
        )
        if order.new_prices:
            self.conn.execute(
                _PRICE_LINES,
                [
                    {"b_id": order.id, "b_sku": ln.sku, "price": ln.unit_price_cents}
                    for ln in order.lines
                ],
            )
            order.new_prices = False
        self._flush_history(order)

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
        query = select(orders).where(orders.c.id == order_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        history = self.conn.execute(
            select(order_history)
            .where(order_history.c.order_id == order_id)
            .order_by(order_history.c.id)
        ).mappings()
        order = _order(row, self._lines([order_id])[order_id])
        order.history = [
            StatusChange(OrderStatus(h["status"]), h["at"], h["reason"], h["actor"])
            for h in history
        ]
        return order

    def page(
        self,
        *,
        status: str | None,
        customer_id: str | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]:
        """Newest first; ``before`` is the (created_at, id) of the last order already seen."""
        query = select(orders).order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
        if status:
            query = query.where(orders.c.status == status)
        if customer_id:
            query = query.where(orders.c.customer_id == customer_id)
        if before:
            query = query.where(tuple_(orders.c.created_at, orders.c.id) < tuple_(*before))
        rows = self.conn.execute(query).mappings().all()
        lines = self._lines([r["id"] for r in rows])
        return [_order(r, lines[r["id"]]) for r in rows]

    def lock_version(self, order_id: uuid.UUID) -> int | None:
        """Lock the order's row; its version, or None if there is no such order."""
        return self.conn.execute(_LOCK_VERSION, {"b_id": order_id}).scalar_one_or_none()

    def count_attention(self) -> int:
        """Orders flagged because inventory refused a command: each needs a person."""
        return int(
            self.conn.execute(
                select(func.count()).select_from(orders).where(orders.c.attention.is_not(None))
            ).scalar_one()
        )

    def count_pending(self) -> int:
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(orders)
                .where(orders.c.status == OrderStatus.PENDING.value)
            ).scalar_one()
        )

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]:
        """PENDING orders placed before ``older_than``."""
        rows = self.conn.execute(
            select(orders.c.id)
            .where(orders.c.status == OrderStatus.PENDING.value, orders.c.created_at < older_than)
            .order_by(orders.c.created_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def owing_since(self, placed_before: datetime, limit: int) -> list[uuid.UUID]:
        rows = self.conn.execute(
            select(orders.c.id)
            .where(
                orders.c.status == OrderStatus.CONFIRMED.value,
                orders.c.total_cents > 0,
                orders.c.created_at < placed_before,
            )
            .order_by(orders.c.created_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def purge_rejected(self, before: datetime, limit: int) -> int:
        """REJECTED orders placed before ``before``, oldest first, ``limit`` at a time (lines and
        history go with them by cascade; their commands were refused, so nothing is left to do)."""
        doomed = (
            select(orders.c.id)
            .where(orders.c.status == OrderStatus.REJECTED.value, orders.c.created_at < before)
            .order_by(orders.c.created_at)
            .limit(limit)
            .scalar_subquery()
        )
        gone = self.conn.execute(
            delete(orders).where(orders.c.id.in_(doomed)).returning(orders.c.id)
        )
        ids = [r.id for r in gone]
        if ids:
            self.conn.execute(delete(outbox).where(outbox.c.order_id.in_(ids)))
        return len(ids)

    def _lines(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[OrderLine, ...]]:
        found: dict[uuid.UUID, list[OrderLine]] = defaultdict(list)
        if ids:
            rows = self.conn.execute(
                select(order_lines)
                .where(order_lines.c.order_id.in_(ids))
                .order_by(order_lines.c.sku)
            )
            for r in rows:
                found[r.order_id].append(OrderLine(r.sku, r.quantity, r.unit_price_cents))
        return {i: tuple(found[i]) for i in ids}

    def _flush_history(self, order: Order) -> None:
        if order.new_history:
            self.conn.execute(
                _INSERT_HISTORY,
                [
                    {
                        "order_id": order.id,
                        "status": c.status.value,
                        "reason": c.reason,
                        "at": c.at,
                        "actor": c.actor,
                    }
                    for c in order.new_history
                ],
            )
            order.new_history.clear()


def _order_row(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "status": order.status.value,
        "version": order.version,
        "rejection": order.rejection,
        "attention": order.attention,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "shipping_address": address_json(order.shipping_address),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _order(row: Any, lines: tuple[OrderLine, ...]) -> Order:
    return Order(
        id=row["id"],
        customer_id=row["customer_id"],
        lines=lines,
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        rejection=row["rejection"],
        attention=row["attention"],
        total_cents=row["total_cents"],
        currency=row["currency"],
        shipping_address=address_from(row["shipping_address"]),
    )


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stored(self, customer_id: str, key: str) -> StoredKey | None:
        row = (
            self.conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.customer_id == customer_id, idempotency_keys.c.key == key
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return StoredKey(
            fingerprint=row["fingerprint"],
            order_id=row["order_id"],
            response_status=row["response_status"],
            response_body=row["response_body"],
            completed=row["completed"],
            locked_until=row["locked_until"],
        )

    def complete(self, customer_id: str, key: str, response: Answer) -> None:
        self.conn.execute(
            _COMPLETE_KEY,
            {"b_customer": customer_id, "b_key": key, "status": response[0], "body": response[1]},
        )

    def purge_expired(self, now: datetime) -> int:
        result = self.conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.expires_at < now)
        )
        return result.rowcount


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        order_id: uuid.UUID,
        kind: CommandKind,
        payload: dict[str, Any],
        *,
        now: datetime,
        not_before: datetime,
    ) -> OutboxCommand:
        """Queue a command; ``not_before`` keeps the reconciler off while the request delivers."""
        new_id = self.conn.execute(
            _ADD_COMMAND,
            {
                "order_id": order_id,
                "command": kind.value,
                "payload": payload,
                "created_at": now,
                "next_attempt_at": not_before,
            },
        ).scalar_one()
        return OutboxCommand(new_id, order_id, kind, payload)

    def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        kinds: frozenset[CommandKind] | None = None,
    ) -> list[OutboxCommand]:
        """Take due commands for delivery; concurrent reconcilers skip each other's rows."""
        only = [outbox.c.command.in_(sorted(k.value for k in kinds))] if kinds else []
        rows = (
            self.conn.execute(
                select(outbox)
                .where(
                    outbox.c.delivered_at.is_(None),
                    outbox.c.refused_at.is_(None),
                    outbox.c.next_attempt_at <= now,
                    *only,
                )
                .order_by(outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .mappings()
            .all()
        )
        if rows:
            self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]))
                .values(next_attempt_at=lease_until)
            )
        return [
            OutboxCommand(
                r["id"], r["order_id"], CommandKind(r["command"]), r["payload"], r["attempts"]
            )
            for r in rows
        ]

    def delivered(self, command_id: int, now: datetime) -> None:
        self.conn.execute(_DELIVERED, {"b_id": command_id, "now": now})

    def refused(self, command_id: int, error: str, now: datetime) -> None:
        """Inventory will not take it: kept undelivered with the reason, never tried again."""
        self.conn.execute(_REFUSED, {"b_id": command_id, "error": error[:500], "now": now})

    def failed(
        self, command_id: int, error: str, retry_at: datetime, *, tried: bool = True
    ) -> None:
        self.conn.execute(
            _FAILED,
            {"b_id": command_id, "tried": int(tried), "error": error[:500], "retry_at": retry_at},
        )

    def backlog(self) -> tuple[int, datetime | None]:
        """How many commands wait, and when the oldest of them was written."""
        row = self.conn.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(
                outbox.c.delivered_at.is_(None), outbox.c.refused_at.is_(None)
            )
        ).one()
        return int(row[0]), row[1]


class UnitOfWork(BaseUnitOfWork):
    """The order repositories in one transaction."""

    orders: OrderRepository
    keys: IdempotencyRepository
    outbox: OutboxRepository
    users: UserRepository
    placements: PlacementRepository

    @property
    def audits(self) -> AuditRepository:
        # Made when asked (the audit, /metrics), not for every order's transaction.
        return AuditRepository(self._conn)

    @property
    def payments(self) -> PaymentRepository:
        return PaymentRepository(self._conn)

    @property
    def inbox(self) -> InboxRepository:
        return InboxRepository(self._conn)

    def _bind(self, conn: Connection) -> None:
        self.placements = PlacementRepository(conn)
        self.orders = OrderRepository(conn)
        self.keys = IdempotencyRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.users = UserRepository(conn)
