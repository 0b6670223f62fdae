"""Bounded storage on real PostgreSQL: a daily cap of orders per customer, and rejected orders
deleted after their retention by the reconciler."""

import uuid

import pytest
from sqlalchemy import func, select

from order_service import services
from order_service.bootstrap import build_context
from order_service.delivery import Deliverer
from order_service.domain import DailyOrderCapReached, OrderStatus
from order_service.reconciler import Reconciler
from order_service.services import OrderContext
from order_service.tables import idempotency_keys, order_history, order_lines, orders, outbox
from shared.config import Settings
from tests.fakes.inventory import FakeInventory
from tests.fakes.orders import Clock
from tests.helpers import place_order


def context(orders_uow, inventory, clock, cap=None):
    return OrderContext(
        uow=orders_uow, deliverer=Deliverer(orders_uow, inventory, clock), daily_order_cap=cap
    )


def order_id(placed):
    """The order's id, from a confirmation or from a rejection's error body."""
    return placed.body.get("id") or placed.body["error"]["details"]["order_id"]


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_customer_at_the_daily_cap_is_refused_with_nothing_stored_until_a_day_has_passed(
    orders_uow, orders_engine
):
    clock = Clock()
    ctx = context(orders_uow, FakeInventory(stock={"A": 100}), clock, cap=3)
    first = place_order(ctx, "c-1", [("A", 1)], "key-1", "r")
    for n in range(2):
        clock.advance(60)
        place_order(ctx, "c-1", [("A", 1)], f"key-{n + 2}", "r")
    stored = count(orders_engine, orders)

    with pytest.raises(DailyOrderCapReached) as refused:
        place_order(ctx, "c-1", [("A", 1)], "key-4", "r")
    assert refused.value.details == {"limit": 3, "window_s": 86400}
    assert count(orders_engine, orders) == stored
    assert count(orders_engine, idempotency_keys) == 3  # the refused request's key is not kept
    assert count(orders_engine, outbox) == 3

    replay = place_order(ctx, "c-1", [("A", 1)], "key-1", "r")  # a repeat still answers
    assert replay.body["id"] == first.body["id"]
    assert place_order(ctx, "c-2", [("A", 1)], None, "r").status == 201  # the cap is per customer

    clock.advance(86400 - 120 + 1)  # the first order is now more than a day old
    assert place_order(ctx, "c-1", [("A", 1)], "key-5", "r").status == 201


def test_rejected_orders_past_their_retention_are_purged_and_nothing_else(
    orders_uow, orders_engine
):
    clock = Clock()
    ctx = context(orders_uow, FakeInventory(stock={"A": 1}), clock)
    old_rejected = order_id(place_order(ctx, "c-1", [("A", 5)], None, "r"))
    kept_confirmed = order_id(place_order(ctx, "c-1", [("A", 1)], None, "r"))
    clock.advance(3600)
    young_rejected = order_id(place_order(ctx, "c-1", [("A", 5)], None, "r"))
    statuses = {
        i: services.get_order(ctx, uuid.UUID(i)).status
        for i in (old_rejected, kept_confirmed, young_rejected)
    }
    assert statuses == {
        old_rejected: OrderStatus.REJECTED,
        kept_confirmed: OrderStatus.CONFIRMED,
        young_rejected: OrderStatus.REJECTED,
    }

    clock.advance(1800)  # the old one is 90 min old, the young one 30 min
    reconciler = Reconciler(ctx, pending_ttl_s=60, rejected_retention_s=3600)
    reconciler.run_once()

    with orders_engine.connect() as conn:
        left = set(conn.execute(select(orders.c.id)).scalars())
        lines = set(conn.execute(select(order_lines.c.order_id)).scalars())
        history = set(conn.execute(select(order_history.c.order_id)).scalars())
        commands = set(conn.execute(select(outbox.c.order_id)).scalars())
    assert {str(i) for i in left} == {kept_confirmed, young_rejected}
    for found in (lines, history, commands):
        assert uuid.UUID(old_rejected) not in found


def test_without_a_retention_nothing_is_purged(orders_uow, orders_engine):
    clock = Clock()
    ctx = context(orders_uow, FakeInventory(stock={"A": 1}), clock)
    place_order(ctx, "c-1", [("A", 5)], None, "r")
    clock.advance(10 * 86400)
    Reconciler(ctx, pending_ttl_s=60).run_once()
    assert count(orders_engine, orders) == 1


def test_a_cap_of_zero_is_no_cap_and_no_count(orders_engine):
    # The count behind a cap reads up to that many index entries per order; the laboratory's
    # single customers place tens of thousands, so "no cap" must not be a large one.
    assert build_context(Settings(), FakeInventory(), orders_engine).daily_order_cap == 1000
    unlimited = Settings(orders_per_customer_per_day=0)
    assert build_context(unlimited, FakeInventory(), orders_engine).daily_order_cap is None
