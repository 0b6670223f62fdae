"""The two writes of a new order, one statement each (see ``ports.Placements``).

A healthy ``POST /orders`` writes twice: the order with its key and reserve command, then the
settled order once inventory answered. Each was a transaction of five or six statements, and
the round trips and the statements' overhead cost more CPU than the work. Each is now one
statement of data-modifying CTEs: PostgreSQL runs it atomically, the checks run as before
(the foreign keys at the end of the statement), and the domain still decides everything in
Python; these statements only write what it decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from order_service.domain import (
    DailyOrderCapReached,
    Order,
    TooManyUnpaidOrders,
    TooManyUnpaidUnits,
    address_json,
)
from order_service.ports import Answer, DailyCap, Holds, NewKey

# Without a cap: counted since the order's own time, which no stored order is after.
_NO_CAP = 2**31 - 1

# Every parameter is cast: in a SELECT list a NULL one has no type of its own, and one used
# twice must have a single type.
# The key is claimed first (a live one stops everything else: the CTEs below read
# ``claimed``); an expired one is taken over in the same statement. Without a key
# the claim inserts nothing and the order is written unconditionally.
# ``limits`` counts the customer's orders of the last day, stopping at the cap (an index range
# on orders_customer_newest), and, when there are hold limits, its unpaid orders (stopping at
# the limit) and their units (orders_customer_unpaid); without room nothing is claimed or
# written.
_RECORD = text(
    """
WITH limits AS (
    SELECT (
        SELECT count(*) < CAST(:cap AS int) FROM (
            SELECT 1 FROM orders WHERE customer_id = CAST(:customer_id AS text)
                AND created_at > CAST(:since AS timestamptz)
            LIMIT CAST(:cap AS int)
        ) recent
    ) AS daily, CASE WHEN CAST(:hold_orders AS int) IS NULL THEN true ELSE (
        SELECT count(*) < CAST(:hold_orders AS int) FROM (
            SELECT 1 FROM orders WHERE customer_id = CAST(:customer_id AS text)
                AND status IN ('PENDING', 'CONFIRMED')
            LIMIT CAST(:hold_orders AS int)
        ) unpaid
    ) END AS held_orders, CASE WHEN CAST(:hold_units AS int) IS NULL THEN true ELSE (
        SELECT coalesce(sum(ol.quantity), 0) + CAST(:units AS int) <= CAST(:hold_units AS int)
        FROM orders o JOIN order_lines ol ON ol.order_id = o.id
        WHERE o.customer_id = CAST(:customer_id AS text)
            AND o.status IN ('PENDING', 'CONFIRMED')
    ) END AS held_units
), room AS (
    SELECT daily AND held_orders AND held_units AS ok FROM limits
), claimed AS (
    INSERT INTO idempotency_keys AS k (customer_id, key, fingerprint, order_id, response_status,
        response_body, completed, locked_until, created_at, expires_at)
    SELECT CAST(:customer_id AS text), CAST(:key AS text), CAST(:fingerprint AS text),
        CAST(:order_id AS uuid), CAST(:response_status AS int), CAST(:response_body AS text),
        CAST(:completed AS boolean),
        CAST(:locked_until AS timestamptz), CAST(:now AS timestamptz),
        CAST(:expires_at AS timestamptz)
    WHERE CAST(:key AS text) IS NOT NULL AND (SELECT ok FROM room)
    ON CONFLICT (customer_id, key) DO UPDATE SET
        fingerprint = excluded.fingerprint, order_id = excluded.order_id,
        response_status = excluded.response_status, response_body = excluded.response_body,
        completed = excluded.completed, locked_until = excluded.locked_until,
        created_at = excluded.created_at, expires_at = excluded.expires_at
    WHERE k.expires_at < CAST(:now AS timestamptz)
    RETURNING 1
), placed AS (
    INSERT INTO orders (id, customer_id, status, version, rejection, attention, created_at,
        updated_at, shipping_address)
    SELECT CAST(:order_id AS uuid), CAST(:customer_id AS text), CAST(:status AS text),
        CAST(:version AS int), NULL, NULL,
        CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:address AS jsonb)
    WHERE (SELECT ok FROM room) AND (CAST(:key AS text) IS NULL OR EXISTS (SELECT 1 FROM claimed))
    RETURNING id
), lines AS (
    INSERT INTO order_lines (order_id, sku, quantity)
    SELECT placed.id, l.sku, l.quantity
    FROM placed, unnest(CAST(:skus AS text[]), CAST(:quantities AS int[])) AS l(sku, quantity)
), history AS (
    INSERT INTO order_history (order_id, status, reason, at, actor)
    SELECT placed.id, h.status, h.reason, h.at, h.actor
    FROM placed, unnest(CAST(:h_status AS text[]), CAST(:h_reason AS text[]),
        CAST(:h_at AS timestamptz[]), CAST(:h_actor AS text[])) AS h(status, reason, at, actor)
), queued AS (
    INSERT INTO outbox (order_id, command, payload, created_at, next_attempt_at)
    SELECT placed.id, 'reserve', CAST(:payload AS jsonb), CAST(:now AS timestamptz),
        CAST(:not_before AS timestamptz)
    FROM placed
    RETURNING id
)
SELECT (SELECT id FROM queued) AS command_id, limits.daily, limits.held_orders,
    limits.held_units
FROM limits
"""
).bindparams(
    bindparam("payload", type_=JSONB), bindparam("address", type_=JSONB(none_as_null=True))
)

# Delivered in any case (inventory answered); the order, its history and the key's answer
# only if nobody moved the order since it was placed.
_SETTLE = text(
    """
WITH delivered AS (
    UPDATE outbox SET delivered_at = :now, attempts = attempts + 1, last_error = NULL
    WHERE id = :command_id AND delivered_at IS NULL
), moved AS (
    UPDATE orders SET status = :status, version = :version, rejection = :rejection,
        total_cents = :total_cents, currency = :currency, updated_at = :now
    WHERE id = :order_id AND version = :expected_version
    RETURNING id
), priced AS (
    UPDATE order_lines ol SET unit_price_cents = p.price
    FROM moved, unnest(CAST(:p_skus AS text[]), CAST(:p_prices AS bigint[])) AS p(sku, price)
    WHERE ol.order_id = moved.id AND ol.sku = p.sku
), history AS (
    INSERT INTO order_history (order_id, status, reason, at, actor)
    SELECT moved.id, h.status, h.reason, h.at, h.actor
    FROM moved, unnest(CAST(:h_status AS text[]), CAST(:h_reason AS text[]),
        CAST(:h_at AS timestamptz[]), CAST(:h_actor AS text[])) AS h(status, reason, at, actor)
), answered AS (
    UPDATE idempotency_keys SET response_status = :response_status,
        response_body = :response_body, completed = true
    WHERE customer_id = :customer_id AND key = :key AND EXISTS (SELECT 1 FROM moved)
)
SELECT count(*) FROM moved
"""
).bindparams(bindparam("rejection", type_=JSONB(none_as_null=True)))


class PlacementRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(
        self,
        order: Order,
        payload: dict[str, Any],
        not_before: datetime,
        key: NewKey | None,
        cap: DailyCap | None = None,
        holds: Holds | None = None,
    ) -> int | None:
        command_id, daily, held_orders, held_units = self.conn.execute(
            _RECORD,
            {
                "order_id": order.id,
                "customer_id": order.customer_id,
                "status": order.status.value,
                "version": order.version,
                "now": order.created_at,
                "skus": [ln.sku for ln in order.lines],
                "quantities": [ln.quantity for ln in order.lines],
                **_history(order),
                "payload": payload,
                "address": address_json(order.shipping_address),
                "not_before": not_before,
                "key": key.key if key else None,
                "fingerprint": key.fingerprint if key else None,
                "response_status": key.response[0] if key else None,
                "response_body": key.response[1] if key else None,
                "completed": key.completed if key else None,
                "locked_until": key.locked_until if key else None,
                "expires_at": key.expires_at if key else None,
                "cap": cap.limit if cap else _NO_CAP,
                "since": cap.since if cap else order.created_at,
                "hold_orders": holds.orders if holds else None,
                "hold_units": holds.units if holds else None,
                "units": sum(ln.quantity for ln in order.lines),
            },
        ).one()
        if not daily:
            assert cap is not None
            raise DailyOrderCapReached(cap.limit)
        if not held_orders:
            assert holds is not None and holds.orders is not None
            raise TooManyUnpaidOrders(holds.orders)
        if not held_units:
            assert holds is not None and holds.units is not None
            raise TooManyUnpaidUnits(holds.units)
        if command_id is not None:
            order.new_history.clear()
        return int(command_id) if command_id is not None else None

    def settle(
        self,
        order: Order,
        command_id: int,
        expected_version: int,
        now: datetime,
        answer: Answer | None,
        key: tuple[str, str] | None,
    ) -> bool:
        moved = self.conn.execute(
            _SETTLE,
            {
                "command_id": command_id,
                "now": now,
                "order_id": order.id,
                "expected_version": expected_version,
                "status": order.status.value,
                "version": order.version,
                "rejection": order.rejection,
                "total_cents": order.total_cents,
                "currency": order.currency,
                "p_skus": [ln.sku for ln in order.lines] if order.new_prices else [],
                "p_prices": [ln.unit_price_cents for ln in order.lines] if order.new_prices else [],
                **_history(order),
                "customer_id": key[0] if key else None,
                "key": key[1] if key else None,
                "response_status": answer[0] if answer else None,
                "response_body": answer[1] if answer else None,
            },
        ).scalar_one()
        if moved:
            order.new_history.clear()
            order.new_prices = False
        return bool(moved)


def _history(order: Order) -> dict[str, list[Any]]:
    changes = order.new_history
    return {
        "h_status": [c.status.value for c in changes],
        "h_reason": [c.reason for c in changes],
        "h_at": [c.at for c in changes],
        "h_actor": [c.actor for c in changes],
    }
