"""The reconciler's passes on fakes: it settles what the request thread could not."""

import uuid

from order_service import services
from order_service.domain import CommandKind
from order_service.inventory import ReservationState
from order_service.payments.records import Payment
from order_service.reconciler import Reconciler
from shared.resilience.failures import Reason
from tests.fakes.inventory import FakeInventory
from tests.fakes.orders import fake_context
from tests.fakes.payments import FakeProvider
from tests.helpers import place_order


def test_a_pending_order_is_confirmed_once_inventory_is_back():
    inventory = FakeInventory(stock={"A": 5}, down=Reason.CONNECTION)
    ctx, _store, clock = fake_context(inventory)
    order_id = place_order(ctx, "c", [("A", 2)], None, "r").body["id"]
    inventory.down = None
    clock.advance(60)  # past the request thread's grace and the retry backoff

    handled = Reconciler(ctx, pending_ttl_s=900).run_once()

    assert handled == 1
    assert services.get_order(ctx, uuid.UUID(order_id)).status == "CONFIRMED"
    assert inventory.stock["A"] == 3


def test_a_reserve_that_went_through_unseen_is_settled_without_reserving_twice():
    inventory = FakeInventory(stock={"A": 5}, down=Reason.TIMEOUT, apply_then_fail=True)
    ctx, _, clock = fake_context(inventory)
    order_id = place_order(ctx, "c", [("A", 2)], None, "r").body["id"]
    inventory.down = None
    clock.advance(60)

    Reconciler(ctx, pending_ttl_s=900).run_once()

    assert services.get_order(ctx, uuid.UUID(order_id)).status == "CONFIRMED"
    assert inventory.stock["A"] == 3


def test_nothing_is_due_before_the_request_threads_grace_ends():
    inventory = FakeInventory(stock={"A": 5})
    ctx, _store, _ = fake_context(inventory)
    with ctx.uow() as tx:
        tx.outbox.add(
            uuid.uuid4(),
            CommandKind.RELEASE,
            {},
            now=ctx.now(),
            not_before=ctx.delivery_grace(ctx.now()),
        )
        tx.commit()

    assert Reconciler(ctx, pending_ttl_s=900).run_once() == 0


def test_a_pending_order_past_its_ttl_is_cancelled_and_ends_with_its_stock_released():
    inventory = FakeInventory(stock={"A": 5}, down=Reason.BREAKER_OPEN)
    ctx, _, clock = fake_context(inventory)
    order_id = place_order(ctx, "c", [("A", 2)], None, "r").body["id"]
    reconciler = Reconciler(ctx, pending_ttl_s=900)
    clock.advance(901)

    reconciler.run_once()  # inventory still away: the order is cancelled, both commands wait
    inventory.down = None
    clock.advance(60)
    reconciler.run_once()  # inventory back: the reserve, then the release, go through

    order = services.get_order(ctx, uuid.UUID(order_id))
    assert order.status == "CANCELLED"
    assert order.history[-1].reason == "pending too long"
    assert inventory.reservations[order_id][0] is ReservationState.RELEASED
    assert inventory.stock["A"] == 5


def test_expired_idempotency_keys_are_dropped():
    ctx, store, clock = fake_context(FakeInventory(stock={"A": 5}))
    place_order(ctx, "c", [("A", 1)], "k", "r")
    clock.advance(ctx.key_ttl_s + 1)

    Reconciler(ctx, pending_ttl_s=900).run_once()

    assert store.keys == {}


def test_a_pass_claims_no_more_commands_than_it_sends_at_once():
    # Each of them is then sent within the deadline, so within its lease: none is still queued
    # here when the lease runs out and another reconciler may claim it.
    inventory = FakeInventory(stock={"A": 50}, down=Reason.CONNECTION)
    ctx, store, clock = fake_context(inventory)
    for i in range(10):
        place_order(ctx, f"c-{i}", [("A", 1)], None, "r")
    inventory.down = None
    clock.advance(60)
    reconciler = Reconciler(ctx, pending_ttl_s=900, batch_size=50, concurrency=4)

    assert reconciler.run_once() == 4
    assert sum(1 for row in store.outbox.values() if row["delivered"]) == 4


def _queue(ctx, kind, payload):
    with ctx.uow() as tx:
        command = tx.outbox.add(uuid.uuid4(), kind, payload, now=ctx.now(), not_before=ctx.now())
        tx.commit()
    return command


def test_a_refund_is_not_held_up_while_inventorys_breaker_is_open():
    provider = FakeProvider()
    ctx, store, clock = fake_context(FakeInventory(down=Reason.BREAKER_OPEN), provider)
    store.payments["pi_1"] = Payment(
        "pi_1", uuid.uuid4(), 500, "EUR", "captured", "http://p/", ctx.now()
    )
    refund = _queue(ctx, CommandKind.REFUND, {"payment_id": "pi_1", "amount_cents": 500})
    release = _queue(ctx, CommandKind.RELEASE, {})
    clock.advance(1)

    Reconciler(ctx, pending_ttl_s=900).run_once()

    assert provider.refunds == {"refund-pi_1": "pi_1"}
    assert store.outbox[refund.id]["delivered"] is not None
    assert store.payments["pi_1"].status == "refunded"
    assert store.outbox[release.id]["delivered"] is None  # waits for inventory's breaker


def test_inventorys_commands_are_not_held_up_while_the_providers_breaker_is_open():
    inventory = FakeInventory(stock={"A": 5})
    ctx, store, clock = fake_context(inventory, FakeProvider(breaker_open=True))
    refund = _queue(ctx, CommandKind.REFUND, {"payment_id": "pi_1", "amount_cents": 500})
    release = _queue(ctx, CommandKind.RELEASE, {})
    clock.advance(1)

    Reconciler(ctx, pending_ttl_s=900).run_once()

    assert store.outbox[release.id]["delivered"] is not None
    assert store.outbox[refund.id]["delivered"] is None
