"""Paying for an order through the provider stand-in, over HTTP, with its signed webhooks."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.helpers import run_threads, wait_until


def _status(live, order_id: str) -> str:
    return live.order(order_id)["status"]


@pytest.fixture
def priced(live):
    live.create_product("PAY-A", 10, price_cents=1999, currency="EUR")
    return live


def test_price_order_pay_webhook_paid_ship(priced):
    live = priced
    order = live.place("c-pay", [("PAY-A", 2)]).json()
    assert (order["status"], order["total"]) == (
        "CONFIRMED",
        {"amount_cents": 3998, "currency": "EUR"},
    )
    refused = live.act(order["id"], "ship")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "PAYMENT_REQUIRED")

    started = live.start_payment(order["id"])
    again = live.start_payment(order["id"])
    seed_shape = live.http.post(
        f"{live.orders}/payments/initiate",
        json={"order_id": order["id"]},
        headers=live.auth(),
        timeout=10,
    )

    assert started.status_code == 201
    assert (again.status_code, seed_shape.status_code) == (200, 200)
    payment = started.json()
    assert again.json()["payment_id"] == seed_shape.json()["payment_id"] == payment["payment_id"]
    assert (payment["amount_cents"], payment["currency"], payment["status"]) == (
        3998,
        "EUR",
        "open",
    )
    assert payment["redirect_url"].endswith(f"/pay/{payment['payment_id']}")

    paid = live.provider("POST", f"/v1/payment_intents/{payment['payment_id']}/capture")
    assert paid.json()["status"] == "succeeded"
    wait_until(lambda: _status(live, order["id"]) == "PAID", timeout_s=15)

    shipped = live.act(order["id"], "ship")
    assert (shipped.status_code, shipped.json()["status"]) == (200, "SHIPPED")
    history = [h["status"] for h in live.order(order["id"])["history"]]
    assert history == ["PENDING", "CONFIRMED", "PAID", "SHIPPED"]
    captured = live.http.get(
        f"{live.orders}/orders/{order['id']}/payments", headers=live.auth(), timeout=10
    ).json()
    assert (captured["status"], captured["captured_at"] is not None) == ("captured", True)


def test_cancelling_a_paid_order_refunds_it_once(priced):
    live = priced
    order_id = live.place("c-pay", [("PAY-A", 1)]).json()["id"]
    payment = live.pay(order_id)
    wait_until(lambda: _status(live, order_id) == "PAID", timeout_s=15)

    cancelled = live.act(order_id, "cancel")
    again = live.act(order_id, "cancel")

    assert cancelled.json()["status"] == "CANCELLED"
    assert again.json()["error"]["code"] == "INVALID_TRANSITION"
    intent = live.provider("GET", f"/v1/payment_intents/{payment['payment_id']}")
    assert intent.json()["status"] == "refunded"
    wait_until(
        lambda: (
            live.http.get(
                f"{live.orders}/orders/{order_id}/payments", headers=live.auth(), timeout=10
            ).json()["status"]
            == "refunded"
        ),
        timeout_s=15,
    )
    assert live.product("PAY-A")["reserved"] == 0


def test_a_free_order_ships_without_paying_and_cannot_be_paid(live):
    live.create_product("FREE-A", 5)
    order_id = live.place("c-pay", [("FREE-A", 1)]).json()["id"]

    refused = live.start_payment(order_id)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "NOT_PAYABLE")
    assert live.act(order_id, "ship").json()["status"] == "SHIPPED"


def test_a_customer_pays_only_its_own_orders(priced):
    live = priced
    order_id = live.place("c-owner", [("PAY-A", 1)]).json()["id"]

    other = live.http.post(
        f"{live.orders}/orders/{order_id}/payments",
        json={},
        headers=live.auth("c-other", Role.CUSTOMER),
        timeout=10,
    )

    assert other.status_code == 404


def test_two_initiates_at_once_make_one_payment(priced):
    live = priced
    order_id = live.place("c-pay", [("PAY-A", 1)]).json()["id"]

    results, errors = run_threads(8, lambda _: live.start_payment(order_id))

    assert not errors
    assert sorted(r.status_code for r in results).count(201) <= 1
    assert len({r.json()["payment_id"] for r in results}) == 1
