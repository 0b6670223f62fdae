"""The order use cases on in-memory fakes: fast, and every branch of the placement logic."""

import json
import uuid

import pytest

from order_service import presenters, services
from order_service.domain import IdempotencyKeyReused, OrderNotFound, OrderStatus, RequestInProgress
from order_service.inventory import ReservationState
from shared.errors import InvalidTransition
from shared.resilience.failures import Reason
from tests.fakes.inventory import FakeInventory
from tests.fakes.orders import fake_context
from tests.helpers import place_order

LINES = [("A", 2)]


def place(ctx, lines=LINES, key=None, customer="c-1"):
    return place_order(ctx, customer, lines, key, "req-1")


def test_an_order_with_stock_is_confirmed_at_once_and_its_command_delivered():
    inventory = FakeInventory(stock={"A": 5})
    ctx, store, _ = fake_context(inventory)

    placed = place(ctx)

    assert (placed.status, placed.body["status"]) == (201, "CONFIRMED")
    assert inventory.stock["A"] == 3
    assert all(row["delivered"] for row in store.outbox.values())


def test_a_sku_named_twice_is_one_line_of_both_quantities():
    inventory = FakeInventory(stock={"A": 5, "B": 5})
    ctx, _, _ = fake_context(inventory)

    placed = place(ctx, lines=[("B", 1), ("A", 1), ("B", 2)])

    assert [(i["sku"], i["quantity"]) for i in placed.body["items"]] == [("A", 1), ("B", 3)]
    assert (inventory.stock["A"], inventory.stock["B"]) == (4, 2)


def test_an_order_without_enough_stock_is_rejected_with_the_shortages():
    ctx, _store, _ = fake_context(FakeInventory(stock={"A": 1}))

    placed = place(ctx)

    assert placed.status == 422
    error = placed.body["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["details"]["status"] == "REJECTED"
    assert error["details"]["shortages"][0] == {
        "sku": "A",
        "requested": 2,
        "available": 1,
        "reason": "insufficient_stock",
    }


def test_an_unknown_sku_is_rejected_with_its_own_code():
    ctx, _, _ = fake_context(FakeInventory(stock={}))

    assert place(ctx).body["error"]["code"] == "UNKNOWN_SKU"


# With the breaker open nothing is tried at all (see the test below).
@pytest.mark.parametrize("reason", [r for r in Reason if r is not Reason.BREAKER_OPEN])
def test_when_inventory_gives_no_answer_the_order_is_pending_and_its_command_kept(reason):
    ctx, store, _ = fake_context(FakeInventory(stock={"A": 5}, down=reason))

    placed = place(ctx)

    assert (placed.status, placed.body["status"]) == (202, "PENDING")
    assert placed.body["links"]["self"] in placed.body["message"]
    (row,) = store.outbox.values()
    assert row["delivered"] is None and row["error"]


def test_the_same_key_and_body_replays_the_first_answer_without_a_second_order():
    inventory = FakeInventory(stock={"A": 5})
    ctx, store, _ = fake_context(inventory)
    first = place(ctx, key="k-1")

    again = place(ctx, key="k-1")

    assert again.replayed and not first.replayed
    assert (again.status, again.text) == (first.status, first.text)
    assert len(store.orders) == 1 and inventory.stock["A"] == 3


def test_the_same_key_with_another_body_is_refused():
    ctx, _, _ = fake_context(FakeInventory(stock={"A": 5}))
    place(ctx, key="k-1")

    with pytest.raises(IdempotencyKeyReused):
        place(ctx, lines=[("A", 3)], key="k-1")


def test_the_same_key_while_the_first_request_runs_is_in_progress():
    ctx, _store, clock = fake_context(FakeInventory(stock={"A": 5}))
    # The first request claimed the key and has not completed it yet.
    with ctx.uow() as tx:
        tx.keys.claim(
            "c-1",
            "k-1",
            services.fingerprint("c-1", LINES),
            uuid.uuid4(),
            (202, "{}"),
            now=clock(),
            locked_until=clock.now.replace(year=2027),
            expires_at=clock.now.replace(year=2027),
        )
        tx.commit()

    with pytest.raises(RequestInProgress) as busy:
        place(ctx, key="k-1")
    assert 1 <= busy.value.retry_after_s <= 5


def test_a_crashed_first_request_is_replayed_as_pending_once_its_lease_ran_out():
    ctx, store, clock = fake_context(FakeInventory(stock={"A": 5}, down=Reason.TIMEOUT))
    first = place(ctx, key="k-1")
    # Simulate the crash: the key was never completed.
    key, expires = store.keys[("c-1", "k-1")]
    store.keys[("c-1", "k-1")] = (key.__class__(**{**key.__dict__, "completed": False}), expires)
    clock.advance(ctx.key_lease_s + 1)

    again = place(ctx, key="k-1")

    assert again.replayed and again.status == 202
    assert again.body["id"] == first.body["id"]


def test_an_expired_key_places_a_new_order():
    ctx, store, clock = fake_context(FakeInventory(stock={"A": 5}))
    place(ctx, key="k-1")
    clock.advance(ctx.key_ttl_s + 1)

    again = place(ctx, key="k-1")

    assert not again.replayed and len(store.orders) == 2


def test_cancelling_a_confirmed_order_releases_its_stock():
    inventory = FakeInventory(stock={"A": 5})
    ctx, _, _ = fake_context(inventory)
    order_id = place(ctx).body["id"]

    cancelled = services.cancel_order(ctx, uuid.UUID(order_id))

    assert cancelled.status is OrderStatus.CANCELLED
    assert inventory.stock["A"] == 5
    assert inventory.reservations[order_id][0] is ReservationState.RELEASED


def test_shipping_commits_the_reservation():
    inventory = FakeInventory(stock={"A": 5})
    ctx, _, _ = fake_context(inventory)
    order_id = place(ctx).body["id"]

    shipped = services.ship_order(ctx, uuid.UUID(order_id))

    assert shipped.status is OrderStatus.SHIPPED
    assert inventory.reservations[order_id][0] is ReservationState.COMMITTED


def test_cancel_and_ship_succeed_while_inventory_is_away_and_their_commands_wait():
    inventory = FakeInventory(stock={"A": 9})
    ctx, store, _ = fake_context(inventory)

    first = uuid.UUID(place(ctx).body["id"])
    second = uuid.UUID(place(ctx).body["id"])
    inventory.down = Reason.CONNECTION

    assert services.cancel_order(ctx, first).status is OrderStatus.CANCELLED
    assert services.ship_order(ctx, second).status is OrderStatus.SHIPPED
    waiting = [r["command"].kind.value for r in store.outbox.values() if r["delivered"] is None]
    assert waiting == ["release", "commit"]


def test_an_illegal_transition_is_refused():
    ctx, _, _ = fake_context(FakeInventory(stock={"A": 1}))

    rejected = uuid.UUID(place(ctx).body["error"]["details"]["order_id"])

    with pytest.raises(InvalidTransition):
        services.ship_order(ctx, rejected)


def test_an_unknown_order_is_not_found():
    ctx, _, _ = fake_context()

    with pytest.raises(OrderNotFound):
        services.get_order(ctx, uuid.uuid4())


def test_listing_is_newest_first_and_pages_with_a_cursor():
    ctx, _, clock = fake_context(FakeInventory(stock={"A": 100}))
    ids = []
    for _ in range(5):
        ids.append(place(ctx).body["id"])
        clock.advance(1)

    page1, position = services.list_orders(ctx, status=None, customer_id=None, before=None, limit=3)
    page2, end = services.list_orders(ctx, status=None, customer_id=None, before=position, limit=3)

    assert [str(o.id) for o in page1 + page2] == ids[::-1]
    assert end is None


def test_with_the_breaker_open_an_order_is_recorded_pending_in_one_step_and_due_at_once():
    inventory = FakeInventory(stock={"A": 5}, down=Reason.BREAKER_OPEN)
    ctx, store, clock = fake_context(inventory)

    placed = place(ctx, key="k-open")

    assert (placed.status, placed.body["status"]) == (202, "PENDING")
    assert inventory.calls == []  # no call was even tried
    (row,) = store.outbox.values()
    assert row["delivered"] is None and row["next"] <= clock()  # the reconciler may take it now
    stored, _ = store.keys[("c-1", "k-open")]
    assert stored.completed and stored.response_status == 202


def test_a_key_replayed_after_a_breaker_open_answer_gets_the_same_202():
    ctx, _, _ = fake_context(FakeInventory(stock={"A": 5}, down=Reason.BREAKER_OPEN))
    first = place(ctx, key="k-open")

    again = place(ctx, key="k-open")

    assert again.replayed and (again.status, again.body) == (first.status, first.body)


def test_the_same_key_from_two_customers_places_two_unrelated_orders():
    ctx, store, _ = fake_context(FakeInventory(stock={"A": 5}))

    first = place(ctx, key="shared-key", customer="alice")
    second = place(ctx, key="shared-key", customer="bob", lines=[("A", 1)])

    assert not second.replayed and second.body["id"] != first.body["id"]
    assert second.body["customer_id"] == "bob" and len(store.orders) == 2


def test_another_customers_order_is_not_found_as_if_it_did_not_exist():
    ctx, _, _ = fake_context(FakeInventory(stock={"A": 5}))
    order_id = uuid.UUID(place(ctx, customer="alice").body["id"])

    with pytest.raises(OrderNotFound):
        services.get_order(ctx, order_id, owner="bob")
    with pytest.raises(OrderNotFound):
        services.cancel_order(ctx, order_id, owner="bob")
    assert services.get_order(ctx, order_id, owner="alice").customer_id == "alice"
    assert services.get_order(ctx, order_id, owner=None).customer_id == "alice"


def test_a_change_records_who_asked_for_it():
    ctx, _, _ = fake_context(FakeInventory(stock={"A": 5}))
    order_id = uuid.UUID(place(ctx).body["id"])

    shipped = services.ship_order(ctx, order_id, actor="admin:ops-1")

    assert (shipped.history[-1].status, shipped.history[-1].actor) == (
        OrderStatus.SHIPPED,
        "admin:ops-1",
    )


def test_a_commit_inventory_refuses_flags_the_order_and_is_never_delivered():
    inventory = FakeInventory(stock={"A": 5})
    ctx, store, _ = fake_context(inventory)
    order_id = uuid.UUID(place(ctx).body["id"])
    # Someone released the reservation behind the order's back (the attack the trust issue
    # describes): inventory now refuses to commit it.
    _, lines = inventory.reservations[str(order_id)]
    inventory.reservations[str(order_id)] = (ReservationState.RELEASED, lines)

    services.ship_order(ctx, order_id, actor="admin:ops-1")

    order = services.get_order(ctx, order_id)
    assert order.attention is not None and order.attention["command"] == "commit"
    commit = [r for r in store.outbox.values() if r["command"].kind.value == "commit"]
    assert commit[0]["delivered"] is None and commit[0]["refused"] is not None


@pytest.mark.parametrize("failing", ["attempt", "settle_placed"])
def test_a_recorded_order_is_answered_202_whatever_fails_after(failing, monkeypatch):
    # The database going away between recording and settling, say: an error answer would make
    # a client without an Idempotency-Key order twice, and the reconciler settles it anyway.
    ctx, store, clock = fake_context(FakeInventory(stock={"A": 5}))

    def database_gone(*args, **kwargs):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(type(ctx.deliverer), failing, database_gone)
    placed = place(ctx, key="k-1")

    assert (placed.status, placed.body["status"]) == (202, "PENDING")
    (order,) = store.orders.values()
    assert str(order.id) == placed.body["id"]
    (row,) = store.outbox.values()
    assert row["delivered"] is None
    clock.advance(60)  # once the first request's lease is over, a retry gets the same answer
    assert place(ctx, key="k-1").body == placed.body


def test_items_of_one_sku_may_add_up_past_the_per_item_limit():
    inventory = FakeInventory(stock={"A": 5000})
    ctx, _, _ = fake_context(inventory)

    placed = place(ctx, lines=[("A", 1000), ("A", 1000), ("A", 73)])

    assert [(i["sku"], i["quantity"]) for i in placed.body["items"]] == [("A", 2073)]
    assert inventory.stock["A"] == 5000 - 2073


def test_a_confirmed_order_keeps_the_prices_inventory_reserved_at_and_their_total():
    inventory = FakeInventory(
        stock={"A": 5, "B": 5}, prices={"A": (1999, "EUR"), "B": (250, "EUR")}
    )
    ctx, _, _ = fake_context(inventory)

    placed = place(ctx, lines=[("A", 2), ("B", 3)])
    inventory.prices["A"] = (9999, "EUR")  # a later price change reaches no order placed

    assert placed.body["items"] == [
        {"sku": "A", "quantity": 2, "unit_price_cents": 1999},
        {"sku": "B", "quantity": 3, "unit_price_cents": 250},
    ]
    assert placed.body["total"] == {"amount_cents": 2 * 1999 + 3 * 250, "currency": "EUR"}
    again = services.get_order(ctx, uuid.UUID(placed.body["id"]), None)
    assert again.total_cents == 4748 and again.currency == "EUR"


def test_a_pending_order_has_no_total_until_inventory_confirms_it():
    inventory = FakeInventory(stock={"A": 5}, prices={"A": (1999, "EUR")}, down=Reason.TIMEOUT)
    ctx, _, _ = fake_context(inventory)

    placed = place(ctx)

    assert (placed.status, placed.body["total"]) == (202, None)
    assert placed.body["items"][0]["unit_price_cents"] is None


def test_items_in_two_currencies_are_answered_mixed_currencies_naming_them():
    from datetime import UTC, datetime

    from order_service.domain import Order, OrderLine

    order = Order.place("c-1", [OrderLine("A", 1), OrderLine("Y", 1)], datetime.now(UTC))
    shortage = {"sku": "Y", "requested": 1, "available": 9, "reason": "other_currency"}
    order.reject([shortage], datetime.now(UTC))

    status, text = presenters.placement(order, "req-1")

    error = json.loads(text)["error"]
    assert (status, error["code"]) == (422, "MIXED_CURRENCIES")
    assert "Y" in error["message"] and error["details"]["shortages"] == [shortage]


ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": None,
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def test_a_shipping_address_is_kept_with_the_order_and_part_of_what_a_key_must_match():
    from order_service.domain import address_from

    inventory = FakeInventory(stock={"A": 5})
    ctx, _, _ = fake_context(inventory)

    def present(order):
        return presenters.placement(order, "r")

    placed = services.place_order(ctx, "c-1", LINES, "k-1", present, address_from(ADDRESS))
    elsewhere = {**ADDRESS, "city": "Paris", "country": "FR", "postal_code": "75001"}

    assert json.loads(placed.answer[1])["shipping_address"] == ADDRESS
    order = services.get_order(ctx, placed.order_id, None)
    assert order.shipping_address == address_from(ADDRESS)
    with pytest.raises(IdempotencyKeyReused):
        services.place_order(ctx, "c-1", LINES, "k-1", present, address_from(elsewhere))


def test_without_an_address_a_keys_fingerprint_is_what_it_was_before_addresses():
    import hashlib

    before = hashlib.sha256(json.dumps(["c-1", [["A", 2]]], separators=(",", ":")).encode())
    assert services.fingerprint("c-1", [("A", 2)]) == before.hexdigest()
