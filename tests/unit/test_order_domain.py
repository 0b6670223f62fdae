from datetime import UTC, datetime

import pytest

from order_service.domain import CommandKind, Order, OrderLine, OrderStatus, PaymentRequired
from shared.errors import InvalidTransition

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = OrderStatus
LEGAL = {
    (S.PENDING, S.CONFIRMED): None,
    (S.PENDING, S.REJECTED): None,
    (S.PENDING, S.CANCELLED): CommandKind.RELEASE,
    (S.CONFIRMED, S.SHIPPED): CommandKind.COMMIT,
    (S.CONFIRMED, S.CANCELLED): CommandKind.RELEASE,
    (S.CONFIRMED, S.PAID): None,
    (S.PAID, S.SHIPPED): CommandKind.COMMIT,
    (S.PAID, S.CANCELLED): CommandKind.RELEASE,
    (S.SHIPPED, S.DELIVERED): None,
}


def order_in(status: OrderStatus) -> Order:
    order = Order.place("c-1", [OrderLine("A", 1)], NOW)
    order.status = status
    return order


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_a_legal_transition_moves_the_order_and_names_its_inventory_command(current, target):
    order = order_in(current)

    command = order.transition(target, NOW, "why")

    assert order.status is target
    assert command is LEGAL[(current, target)]
    assert order.history[-1].status is target and order.version == 2


ILLEGAL = [(a, b) for a in OrderStatus for b in OrderStatus if (a, b) not in LEGAL]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_other_transition_is_refused_and_changes_nothing(current, target):
    order = order_in(current)

    with pytest.raises(InvalidTransition) as refused:
        order.transition(target, NOW)

    assert order.status is current and order.version == 1
    assert refused.value.details == {"current_status": current, "requested_status": target}


def test_a_new_order_is_pending_with_one_history_entry():
    order = Order.place("c-1", [OrderLine("A", 2)], NOW)

    assert order.status is OrderStatus.PENDING
    assert [c.status for c in order.history] == [OrderStatus.PENDING]


def test_a_rejection_keeps_the_shortages():
    order = order_in(OrderStatus.PENDING)
    shortage = {"sku": "A", "requested": 2, "available": 1, "reason": "insufficient_stock"}

    order.reject([shortage], NOW)

    assert order.status is OrderStatus.REJECTED
    assert order.rejection == {"shortages": [shortage]}


def test_an_order_with_something_to_pay_ships_only_once_paid():
    order = order_in(OrderStatus.PENDING)
    order.confirm({"A": (250, "EUR")}, NOW)
    assert order.owes

    with pytest.raises(PaymentRequired):
        order.transition(OrderStatus.SHIPPED, NOW)

    assert order.status is OrderStatus.CONFIRMED
    order.transition(OrderStatus.PAID, NOW, "payment captured")
    assert not order.owes
    assert order.transition(OrderStatus.SHIPPED, NOW) is CommandKind.COMMIT


def test_a_free_order_owes_nothing_and_ships_from_confirmed():
    order = order_in(OrderStatus.PENDING)
    order.confirm({"A": (0, "EUR")}, NOW)

    assert (order.total_cents, order.owes) == (0, False)
    assert order.transition(OrderStatus.SHIPPED, NOW) is CommandKind.COMMIT
