"""Which disagreements between an order and its reservation are drift, and what mends each."""

import pytest

from order_service.audit.drift import (
    Invariant,
    OrderView,
    Repair,
    ReservationView,
    StockView,
    find_drift,
    order_drift,
    orphan_drift,
    stock_drift,
)

LINES = (("A", 2),)


def order(status, lines=LINES):
    return OrderView("o-1", status, lines)


def reservation(status, lines=LINES):
    return ReservationView("o-1", status, lines)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("CONFIRMED", "RESERVED"),
        ("SHIPPED", "COMMITTED"),
        ("DELIVERED", "COMMITTED"),
        ("CANCELLED", "RELEASED"),
        ("CANCELLED", None),
        ("REJECTED", "REJECTED"),
        ("REJECTED", None),
    ],
)
def test_the_pairs_that_agree_are_no_drift(status, state):
    assert order_drift(order(status), reservation(state) if state else None) == []


@pytest.mark.parametrize(
    ("status", "state", "invariant", "repair"),
    [
        ("CONFIRMED", None, Invariant.CONFIRMED_WITHOUT_RESERVATION, Repair.RESERVE),
        ("CONFIRMED", "RELEASED", Invariant.CONFIRMED_WITHOUT_RESERVATION, Repair.NONE),
        ("CONFIRMED", "REJECTED", Invariant.CONFIRMED_WITHOUT_RESERVATION, Repair.NONE),
        ("CONFIRMED", "COMMITTED", Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE),
        ("SHIPPED", "RESERVED", Invariant.SHIPPED_NOT_COMMITTED, Repair.COMMIT),
        ("SHIPPED", None, Invariant.SHIPPED_NOT_COMMITTED, Repair.RESERVE_AND_COMMIT),
        ("DELIVERED", "RELEASED", Invariant.SHIPPED_NOT_COMMITTED, Repair.NONE),
        ("CANCELLED", "RESERVED", Invariant.RESERVED_FOR_CLOSED_ORDER, Repair.RELEASE),
        ("REJECTED", "RESERVED", Invariant.RESERVED_FOR_CLOSED_ORDER, Repair.RELEASE),
        ("CANCELLED", "COMMITTED", Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE),
    ],
)
def test_each_disagreement_is_named_with_the_command_that_mends_it(
    status, state, invariant, repair
):
    [found] = order_drift(order(status), reservation(state) if state else None)
    assert (found.invariant, found.repair, found.subject) == (invariant, repair, "o-1")


def test_a_reservation_with_other_lines_is_drift_no_command_mends():
    [found] = order_drift(order("CONFIRMED"), reservation("RESERVED", (("A", 3),)))
    assert (found.invariant, found.repair) == (Invariant.LINES_DIFFER, Repair.NONE)


def test_a_tombstone_without_lines_is_not_a_difference_of_lines():
    assert order_drift(order("CANCELLED"), reservation("RELEASED", ())) == []


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("RESERVED", [(Invariant.RESERVATION_WITHOUT_ORDER, Repair.RELEASE)]),
        ("COMMITTED", [(Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE)]),
        ("RELEASED", []),
        ("REJECTED", []),
    ],
)
def test_a_reservation_without_an_order(state, expected):
    assert [(f.invariant, f.repair) for f in orphan_drift(reservation(state))] == expected


def test_stock_must_agree_with_its_ledger_and_with_what_reservations_hold():
    # sku, on hand, reserved; the ledger's on hand, reserved, received; held, shipped
    assert stock_drift(StockView("A", 10, 2, 10, 2, 12, 2, 2)) == []
    off_ledger = stock_drift(StockView("A", 10, 2, 9, 2, 12, 2, 2))
    assert [f.invariant for f in off_ledger] == [Invariant.STOCK_OFF_LEDGER]
    not_held = stock_drift(StockView("A", 10, 2, 10, 2, 12, 5, 2))
    assert [f.invariant for f in not_held] == [Invariant.RESERVED_NOT_HELD]
    assert not_held[0].repair is Repair.NONE


def test_on_hand_must_be_what_was_received_less_what_reservations_shipped():
    # The ledger agrees with the stock, but a commit was deducted without a shipped reservation.
    lost = stock_drift(StockView("A", 10, 0, 10, 0, 12, 0, 0))

    assert [f.invariant for f in lost] == [Invariant.ON_HAND_NOT_SHIPMENTS]
    assert "received 12 less shipped 0" in lost[0].detail


def test_find_drift_takes_each_order_with_its_reservation():
    confirmed = OrderView("o-1", "CONFIRMED", LINES)
    shipped = OrderView("o-2", "SHIPPED", LINES)
    found = find_drift(
        [confirmed, shipped],
        {"o-1": None, "o-2": ReservationView("o-2", "COMMITTED", LINES)},
        [ReservationView("r-9", "RESERVED", LINES)],
        [StockView("A", 5, 0, 5, 0, 5, 0, 0)],
    )
    assert [(f.invariant, f.subject) for f in found] == [
        (Invariant.CONFIRMED_WITHOUT_RESERVATION, "o-1"),
        (Invariant.RESERVATION_WITHOUT_ORDER, "r-9"),
    ]
