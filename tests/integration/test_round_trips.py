"""Database round trips and commits of one order, counted, so a regression shows.

A healthy ``POST /orders`` is one statement to record the order and one to settle it in the
order database, and one short transaction in the inventory database (lock the stock, write
the reservation with its stock moves). Counted at the driver: every statement, and the BEGIN
and COMMIT that psycopg sends around a transaction (none in autocommit).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event, text

from inventory_service import services as inventory
from inventory_service.domain import Line
from order_service.domain import OrderStatus
from tests.fakes.inventory import FakeInventory
from tests.helpers import place_order
from tests.integration.test_order_store import context


@dataclass
class RoundTrips:
    """What one engine sent the server: statements, BEGINs, COMMITs and transactions."""

    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0  # explicit COMMITs
    autocommitted: int = 0  # statements committed on their own

    @property
    def trips(self) -> int:
        return len(self.statements) + self.begins + self.commits

    @property
    def transactions(self) -> int:
        return self.commits + self.autocommitted


@contextmanager
def counting(engine: Engine) -> Iterator[RoundTrips]:
    """What ``engine`` sends the server inside the block."""
    counted = RoundTrips()

    def before(conn, cursor, statement, params, context, executemany):
        raw = conn.connection.dbapi_connection
        if raw.autocommit:
            counted.autocommitted += 1
        elif raw.info.transaction_status == TransactionStatus.IDLE:
            counted.begins += 1  # psycopg sends BEGIN before the transaction's first statement
        counted.statements.append(" ".join(statement.split())[:60])

    def commit(conn):
        raw = conn.connection.dbapi_connection
        if not raw.autocommit and raw.info.transaction_status != TransactionStatus.IDLE:
            counted.commits += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)


def test_a_confirmed_order_is_two_single_statements_in_the_order_database(
    orders_uow, orders_engine
):
    ctx = context(orders_uow, FakeInventory(stock={"A": 5}))
    place_order(ctx, "c-0", [("A", 1)], "warm-up", "req")  # connections made beforehand
    with counting(orders_engine) as counted:
        placed = place_order(ctx, "c-1", [("A", 2)], "key-1", "req")

    assert placed.status == 201 and placed.body["status"] == OrderStatus.CONFIRMED.value
    assert counted.trips == 2, counted.statements
    assert counted.transactions == 2
    assert counted.begins == counted.commits == 0


def test_a_repeated_key_costs_two_statements_and_writes_nothing_new(orders_uow, orders_engine):
    ctx = context(orders_uow, FakeInventory(stock={"A": 5}))
    first = place_order(ctx, "c-1", [("A", 1)], "key-1", "req")
    with counting(orders_engine) as counted:
        again = place_order(ctx, "c-1", [("A", 1)], "key-1", "req")

    assert again.body == first.body
    assert counted.trips == 2, counted.statements  # the refused claim, the stored answer
    with orders_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 1


def test_a_reservation_is_one_short_transaction_in_the_inventory_database(
    inventory_uow, inventory_engine
):
    inventory.create_product(inventory_uow, "A", "a", 10)
    inventory.create_product(inventory_uow, "B", "b", 10)
    inventory.reserve(inventory_uow, "warm-up", [Line("A", 1)])
    with counting(inventory_engine) as counted:
        outcome = inventory.reserve(inventory_uow, "r-1", [Line("A", 2), Line("B", 3)])

    assert outcome.created and outcome.reservation.status.value == "RESERVED"
    # BEGIN, lock the stock, write reservation + lines + stock + ledger, COMMIT
    assert counted.trips == 4, counted.statements
    assert counted.transactions == 1
    with inventory_engine.connect() as conn:
        rows = conn.execute(text("SELECT sku, reserved FROM products ORDER BY sku")).all()
        ledger = conn.execute(
            text("SELECT count(*) FROM stock_movements WHERE reservation_id = 'r-1'")
        ).scalar_one()
    assert [tuple(r) for r in rows] == [("A", 3), ("B", 3)]
    assert ledger == 2
