"""Stock rules on real PostgreSQL: all-or-nothing, idempotency, tombstones, ledger, constraints."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from inventory_service import services
from inventory_service.domain import (
    IdempotencyKeyReused,
    Line,
    ProductExists,
    ReservationMismatch,
    ReservationStatus,
)
from shared.errors import InvalidTransition, NotFound
from tests.helpers import run_threads
from tests.integration.ledger import assert_ledger_matches_stock


def stock(uow, sku):
    product = services.get_product(uow, sku)
    return product.on_hand, product.reserved


@pytest.fixture
def two_products(inventory_uow):
    services.create_product(inventory_uow, "A", "a", 10)
    services.create_product(inventory_uow, "B", "b", 1)
    return inventory_uow


def test_a_reservation_takes_every_line(two_products, inventory_engine):
    outcome = services.reserve(two_products, "r1", [Line("A", 4), Line("B", 1)])

    assert outcome.created and outcome.reservation.status is ReservationStatus.RESERVED
    assert stock(two_products, "A") == (10, 4) and stock(two_products, "B") == (1, 1)
    assert_ledger_matches_stock(inventory_engine)


def test_a_reservation_with_one_short_line_takes_nothing(two_products, inventory_engine):
    outcome = services.reserve(two_products, "r1", [Line("A", 4), Line("B", 2)])

    assert outcome.reservation.status is ReservationStatus.REJECTED
    assert outcome.reservation.rejection["shortages"] == [
        {"sku": "B", "requested": 2, "available": 1, "reason": "insufficient_stock"}
    ]
    assert stock(two_products, "A") == (10, 0) and stock(two_products, "B") == (1, 0)
    assert_ledger_matches_stock(inventory_engine)


def test_repeating_a_reservation_returns_the_stored_outcome_and_changes_nothing(two_products):
    services.reserve(two_products, "r1", [Line("A", 4)])

    again = services.reserve(two_products, "r1", [Line("A", 4)])

    assert not again.created and again.reservation.status is ReservationStatus.RESERVED
    assert stock(two_products, "A") == (10, 4)


def test_the_same_id_with_other_lines_is_a_mismatch(two_products):
    services.reserve(two_products, "r1", [Line("A", 4)])

    with pytest.raises(ReservationMismatch):
        services.reserve(two_products, "r1", [Line("A", 5)])


def test_a_release_before_the_reserve_leaves_a_tombstone_that_blocks_it(two_products):
    released = services.release(two_products, "r1")

    late = services.reserve(two_products, "r1", [Line("A", 4)])

    assert released.reservation.status is ReservationStatus.RELEASED
    assert late.reservation.status is ReservationStatus.RELEASED and not late.created
    assert stock(two_products, "A") == (10, 0)


def test_release_gives_the_stock_back_once(two_products, inventory_engine):
    services.reserve(two_products, "r1", [Line("A", 4)])

    first = services.release(two_products, "r1")
    second = services.release(two_products, "r1")

    assert first.created and not second.created
    assert stock(two_products, "A") == (10, 0)
    assert_ledger_matches_stock(inventory_engine)


def test_commit_deducts_the_stock_once(two_products, inventory_engine):
    services.reserve(two_products, "r1", [Line("A", 4)])

    services.commit(two_products, "r1")
    again = services.commit(two_products, "r1")

    assert not again.created and again.reservation.status is ReservationStatus.COMMITTED
    assert stock(two_products, "A") == (6, 0)
    assert_ledger_matches_stock(inventory_engine)


def test_a_committed_reservation_cannot_be_released(two_products):
    services.reserve(two_products, "r1", [Line("A", 4)])
    services.commit(two_products, "r1")

    with pytest.raises(InvalidTransition):
        services.release(two_products, "r1")


def test_a_released_reservation_cannot_be_committed(two_products):
    services.reserve(two_products, "r1", [Line("A", 4)])
    services.release(two_products, "r1")

    with pytest.raises(InvalidTransition):
        services.commit(two_products, "r1")


def test_commit_of_an_unknown_reservation_is_not_found(two_products):
    with pytest.raises(NotFound):
        services.commit(two_products, "nope")


def test_a_product_can_be_created_once(two_products):
    with pytest.raises(ProductExists):
        services.create_product(two_products, "A", "again", 5)


def test_a_restock_with_a_key_is_applied_once(two_products, inventory_engine):
    first, replayed_first = services.restock(two_products, "A", 5, "key-1")
    second, replayed_second = services.restock(two_products, "A", 5, "key-1")

    assert (replayed_first, replayed_second) == (False, True)
    assert first.on_hand == second.on_hand == 15
    assert_ledger_matches_stock(inventory_engine)


def test_a_restock_key_reused_for_another_restock_is_refused(two_products):
    services.restock(two_products, "A", 5, "key-1")

    with pytest.raises(IdempotencyKeyReused):
        services.restock(two_products, "A", 6, "key-1")


def test_restocks_without_a_key_each_add_stock(two_products):
    services.restock(two_products, "A", 5, None)
    services.restock(two_products, "A", 5, None)

    assert stock(two_products, "A") == (20, 0)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE products SET on_hand = -1 WHERE sku = 'A'",
        "UPDATE products SET reserved = -1 WHERE sku = 'A'",
        "UPDATE products SET reserved = on_hand + 1 WHERE sku = 'A'",
    ],
)
def test_the_schema_itself_refuses_impossible_stock(two_products, inventory_engine, statement):
    with pytest.raises(IntegrityError), inventory_engine.begin() as conn:
        conn.execute(text(statement))


def test_concurrent_buyers_racing_for_the_last_units_never_oversell(
    inventory_uow, inventory_engine
):
    services.create_product(inventory_uow, "LAST", "scarce", 5)

    results, errors = run_threads(
        20, lambda i: services.reserve(inventory_uow, f"buyer-{i}", [Line("LAST", 1)])
    )

    assert errors == []
    statuses = [r.reservation.status for r in results]
    assert statuses.count(ReservationStatus.RESERVED) == 5
    assert statuses.count(ReservationStatus.REJECTED) == 15
    assert stock(inventory_uow, "LAST") == (5, 5)
    assert_ledger_matches_stock(inventory_engine)


def test_multi_line_reservations_in_opposite_orders_do_not_deadlock(
    inventory_uow, inventory_engine
):
    for sku in ("X", "Y", "Z"):
        services.create_product(inventory_uow, sku, sku, 1000)
    orders = [
        [Line("X", 1), Line("Y", 1), Line("Z", 1)],
        [Line("Z", 1), Line("Y", 1), Line("X", 1)],
    ]

    results, errors = run_threads(
        16, lambda i: services.reserve(inventory_uow, f"r-{i}", orders[i % 2])
    )

    assert errors == []
    assert all(r.reservation.status is ReservationStatus.RESERVED for r in results)
    assert [stock(inventory_uow, s) for s in "XYZ"] == [(1000, 16)] * 3
    assert_ledger_matches_stock(inventory_engine)


def test_concurrent_repeats_of_one_reservation_reserve_once(inventory_uow):
    services.create_product(inventory_uow, "A", "a", 100)

    results, errors = run_threads(
        10, lambda i: services.reserve(inventory_uow, "same", [Line("A", 3)])
    )

    assert errors == []
    assert sum(r.created for r in results) == 1
    assert stock(inventory_uow, "A") == (100, 3)


def test_a_release_racing_its_reserve_ends_with_all_stock_back(inventory_uow):
    services.create_product(inventory_uow, "A", "a", 100)

    def either(i):
        if i % 2:
            return services.release(inventory_uow, f"r-{i // 2}")
        return services.reserve(inventory_uow, f"r-{i // 2}", [Line("A", 1)])

    _, errors = run_threads(20, either)

    assert errors == []
    assert stock(inventory_uow, "A") == (100, 0)
