import pytest

from inventory_service import domain
from inventory_service.domain import Line, ReservationStatus, Stock
from shared.errors import InvalidTransition


def test_shortages_name_every_line_that_cannot_be_reserved_in_full():
    stock = {"A": Stock(10, 8), "B": Stock(5, 0)}

    found = domain.shortages([Line("B", 5), Line("A", 3), Line("Z", 1)], stock)

    assert found == [
        domain.Shortage("A", 3, 2, "insufficient_stock"),
        domain.Shortage("Z", 1, 0, "unknown_sku"),
    ]


def test_no_shortage_when_every_line_fits_exactly():
    assert domain.shortages([Line("A", 2)], {"A": Stock(10, 8)}) == []


def test_a_sku_named_twice_is_one_line_of_both_quantities_checked_as_one():
    lines = domain.canonical([Line("B", 1), Line("A", 2), Line("A", 3)])

    assert lines == (Line("A", 5), Line("B", 1))
    assert domain.shortages(lines, {"A": Stock(4, 0), "B": Stock(1, 0)}) == [
        domain.Shortage("A", 5, 4, "insufficient_stock")
    ]


def test_a_replay_with_the_same_lines_in_another_order_is_accepted():
    domain.check_same_lines("r", [Line("A", 1), Line("B", 2)], [Line("B", 2), Line("A", 1)])


def test_a_replay_with_other_lines_is_a_mismatch():
    with pytest.raises(domain.ReservationMismatch):
        domain.check_same_lines("r", [Line("A", 1)], [Line("A", 2)])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ReservationStatus.RESERVED, True),
        (ReservationStatus.RELEASED, False),
        (ReservationStatus.REJECTED, False),
    ],
)
def test_release_gives_stock_back_only_from_reserved(status, expected):
    assert domain.must_release("r", status) is expected


def test_a_committed_reservation_cannot_be_released():
    with pytest.raises(InvalidTransition):
        domain.must_release("r", ReservationStatus.COMMITTED)


@pytest.mark.parametrize("status", [ReservationStatus.RELEASED, ReservationStatus.REJECTED])
def test_only_reserved_stock_can_be_committed(status):
    with pytest.raises(InvalidTransition):
        domain.must_commit("r", status)


def test_commit_twice_is_a_no_op_the_second_time():
    assert domain.must_commit("r", ReservationStatus.RESERVED) is True
    assert domain.must_commit("r", ReservationStatus.COMMITTED) is False
