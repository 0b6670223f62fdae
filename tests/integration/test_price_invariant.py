"""The chaos runner's price invariant on real databases: it holds for an order confirmed at its
reservation's prices, and names the order once a price or a total differs."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from inventory_service import services as stock
from inventory_service.domain import Line
from lab.invariants import prices_agree
from order_service import services
from order_service.delivery import Deliverer
from order_service.services import OrderContext
from tests.fakes.inventory import FakeInventory
from tests.helpers import place_order


def test_prices_kept_agree_and_a_changed_price_or_total_is_found(
    orders_uow, inventory_uow, orders_engine, inventory_engine
):
    stock.create_product(inventory_uow, "A", "a", 10, 1999, "EUR")
    fake = FakeInventory(stock={"A": 10}, prices={"A": (1999, "EUR")})
    ctx = OrderContext(
        uow=orders_uow, deliverer=Deliverer(orders_uow, fake, lambda: datetime.now(UTC))
    )
    order_id = place_order(ctx, "c-1", [("A", 2)], None, "req").body["id"]
    stock.reserve(inventory_uow, order_id, [Line("A", 2)])
    assert services.get_order(ctx, uuid.UUID(order_id)).total_cents == 3998
    assert prices_agree(orders_engine, inventory_engine) == []

    with orders_engine.begin() as conn:
        conn.execute(text("UPDATE order_lines SET unit_price_cents = 1 WHERE sku = 'A'"))
    found = prices_agree(orders_engine, inventory_engine)
    assert len(found) == 2 and all(order_id in f for f in found)  # the line, and the total
