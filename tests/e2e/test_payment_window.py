"""Unpaid orders expire, a success that comes too late is refunded, and a customer can hold only
so much unpaid. A system of its own, with a payment window of two seconds."""

from __future__ import annotations

import pytest

from lab.system import System
from tests.helpers import wait_until

WINDOW = {
    "PAYMENT_WINDOW_S": "2",
    "UNPAID_ORDERS_PER_CUSTOMER": "2",
    "UNPAID_UNITS_PER_CUSTOMER": "5",
}


@pytest.fixture(scope="module")
def windowed(settings, tmp_path_factory):
    logs = tmp_path_factory.mktemp("window-logs")
    with System(settings, logs, env_overrides=WINDOW).started() as running:
        yield running


@pytest.fixture
def shop(windowed, orders_engine, inventory_engine):
    windowed.create_product("WIN-A", 10, price_cents=700)
    yield windowed
    windowed.ensure_running()


def test_an_unpaid_order_is_cancelled_when_its_window_passes(shop):
    order_id = shop.place("c-win", [("WIN-A", 3)]).json()["id"]
    assert shop.product("WIN-A")["reserved"] == 3

    wait_until(lambda: shop.order(order_id)["status"] == "CANCELLED", timeout_s=15)

    assert shop.order(order_id)["history"][-1]["reason"] == "payment window passed"
    wait_until(lambda: shop.product("WIN-A")["reserved"] == 0, timeout_s=10)


def test_a_success_after_the_window_is_refunded_never_lost(shop):
    order_id = shop.place("c-win", [("WIN-A", 1)]).json()["id"]
    started = shop.start_payment(order_id).json()
    wait_until(lambda: shop.order(order_id)["status"] == "CANCELLED", timeout_s=15)

    paid = shop.provider("POST", f"/v1/payment_intents/{started['payment_id']}/capture")
    assert paid.json()["status"] == "succeeded"

    def refunded() -> bool:
        intent = shop.provider("GET", f"/v1/payment_intents/{started['payment_id']}").json()
        return intent["status"] == "refunded"

    wait_until(refunded, timeout_s=15)
    assert shop.order(order_id)["status"] == "CANCELLED"


def test_a_customer_holds_only_so_many_unpaid_orders_and_units(shop):
    too_many_units = shop.place("c-hold", [("WIN-A", 6)])
    first = shop.place("c-hold", [("WIN-A", 1)])
    second = shop.place("c-hold", [("WIN-A", 1)])
    third = shop.place("c-hold", [("WIN-A", 1)])
    someone_else = shop.place("c-other", [("WIN-A", 1)])

    assert (too_many_units.status_code, too_many_units.json()["error"]["code"]) == (
        422,
        "TOO_MANY_UNPAID_UNITS",
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert (third.status_code, third.json()["error"]["code"]) == (429, "TOO_MANY_UNPAID_ORDERS")
    assert someone_else.status_code == 201
    # Nothing was stored for the refused ones: only three orders hold stock.
    assert shop.product("WIN-A")["reserved"] == 3
