"""The order service's persistence on real PostgreSQL: idempotency races, paging, the outbox."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from order_service import services
from order_service.delivery import Deliverer
from order_service.domain import CommandKind, OrderStatus, RequestInProgress
from order_service.services import OrderContext
from order_service.tables import orders
from shared.resilience.failures import Reason
from tests.fakes.inventory import FakeInventory
from tests.fakes.orders import Clock
from tests.helpers import place_order, run_threads


def context(orders_uow, inventory, clock=None):
    clock = clock or (lambda: datetime.now(UTC))
    return OrderContext(uow=orders_uow, deliverer=Deliverer(orders_uow, inventory, clock))


def count_orders(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(orders)).scalar_one()


def test_a_placed_order_is_stored_with_items_and_history(orders_uow):
    ctx = context(orders_uow, FakeInventory(stock={"A": 5}))

    placed = place_order(ctx, "c-1", [("A", 2)], None, "req")
    stored = services.get_order(ctx, uuid.UUID(placed.body["id"]))

    assert stored.status is OrderStatus.CONFIRMED
    assert [(ln.sku, ln.quantity) for ln in stored.lines] == [("A", 2)]
    assert [c.status for c in stored.history] == [OrderStatus.PENDING, OrderStatus.CONFIRMED]


def test_concurrent_requests_with_one_key_make_one_order(orders_uow, orders_engine):
    ctx = context(orders_uow, FakeInventory(stock={"A": 100}))

    def client(_):
        try:
            return place_order(ctx, "c-1", [("A", 1)], "same-key", "req").status
        except RequestInProgress:
            return 409

    outcomes, errors = run_threads(8, client)

    assert errors == []
    assert count_orders(orders_engine) == 1
    assert sorted(set(outcomes)) <= [201, 409] and 201 in outcomes


def test_listing_pages_newest_first_with_filters(orders_uow):
    clock = Clock()
    ctx = context(orders_uow, FakeInventory(stock={"A": 100}), clock)
    placed = []
    for i in range(7):
        placed.append(place_order(ctx, f"c-{i % 2}", [("A", 1)], None, "r").body["id"])
        clock.advance(1)

    seen, position = [], None
    for _ in range(10):  # a cursor that never ends would fail here, not hang
        page, position = services.list_orders(
            ctx, status="CONFIRMED", customer_id="c-0", before=position, limit=2
        )
        seen += [str(o.id) for o in page]
        if position is None:
            break

    assert seen == placed[::-2]


def test_concurrent_claims_of_the_outbox_never_take_the_same_command(orders_uow):
    now = datetime.now(UTC)
    with orders_uow() as tx:
        for _ in range(10):
            tx.outbox.add(
                uuid.uuid4(),
                CommandKind.RELEASE,
                {},
                now=now,
                not_before=now - timedelta(seconds=1),
            )
        tx.commit()

    first, second = orders_uow(), orders_uow()
    with first, second:
        mine = first.outbox.claim_due(now, now + timedelta(seconds=30), 6)
        theirs = second.outbox.claim_due(now, now + timedelta(seconds=30), 6)

    assert len(mine) == 6 and len(theirs) == 4
    assert not {c.id for c in mine} & {c.id for c in theirs}


def test_expired_keys_are_purged_and_live_ones_kept(orders_uow):
    clock = Clock()
    ctx = context(orders_uow, FakeInventory(stock={"A": 100}), clock)
    place_order(ctx, "c", [("A", 1)], "old", "r")
    clock.advance(ctx.key_ttl_s - 10)
    place_order(ctx, "c", [("A", 1)], "new", "r")
    clock.advance(20)

    with orders_uow() as tx:
        purged = tx.keys.purge_expired(clock())
        tx.commit()

    assert purged == 1
    assert place_order(ctx, "c", [("A", 1)], "new", "r").replayed


def test_prices_and_the_total_are_stored_whichever_path_confirms_the_order(orders_uow):
    inventory = FakeInventory(stock={"A": 5, "B": 5}, prices={"A": (1999, "EUR"), "B": (5, "EUR")})
    ctx = context(orders_uow, inventory)
    # At once: the placement's own settle statement writes them.
    at_once = place_order(ctx, "c-1", [("A", 2), ("B", 1)], None, "req-1")
    # Later: inventory down at placement, the outbox delivery confirms it.
    inventory.down = Reason.TIMEOUT
    later = place_order(ctx, "c-1", [("B", 3)], None, "req-2")
    inventory.down = None
    now = datetime.now(UTC)
    with orders_uow() as tx:
        (command,) = tx.outbox.claim_due(now + timedelta(hours=1), now + timedelta(hours=2), 10)
        tx.commit()
    ctx.deliverer.deliver(command)

    first = services.get_order(ctx, uuid.UUID(at_once.body["id"]))
    second = services.get_order(ctx, uuid.UUID(later.body["id"]))
    assert [(ln.sku, ln.unit_price_cents) for ln in first.lines] == [("A", 1999), ("B", 5)]
    assert (first.total_cents, first.currency) == (4003, "EUR")
    assert second.status is OrderStatus.CONFIRMED
    assert [ln.unit_price_cents for ln in second.lines] == [5]
    assert (second.total_cents, second.currency) == (15, "EUR")


def test_a_shipping_address_is_stored_with_the_order(orders_uow):
    from order_service import presenters
    from order_service.domain import Address

    ctx = context(orders_uow, FakeInventory(stock={"A": 5}))
    address = Address("Ada", "1 Road", "Town", "AB1 2CD", "GB", line2="Flat 2")

    placed = services.place_order(
        ctx, "c-1", [("A", 1)], "key-1", lambda o: presenters.placement(o, "r"), address
    )

    assert services.get_order(ctx, placed.order_id).shipping_address == address
