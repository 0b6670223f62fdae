"""Prices on real PostgreSQL: a reservation keeps the price it was made at, one reservation is
in one currency, and the schema refuses what no price can be."""

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from inventory_service import domain, services
from inventory_service.app import create_app
from inventory_service.domain import Line, ReservationStatus
from tests.helpers import bearer, serve


@pytest.fixture
def priced(inventory_uow):
    services.create_product(inventory_uow, "A", "a", 10, 1999, "EUR")
    services.create_product(inventory_uow, "B", "b", 10, 250, "EUR")
    services.create_product(inventory_uow, "Y", "y", 10, 500, "JPY")
    return inventory_uow


def test_a_reservation_keeps_each_lines_price_and_a_later_price_change_does_not_reach_it(priced):
    services.reserve(priced, "r1", [Line("A", 2), Line("B", 3)])
    services.set_price(priced, "A", 2999, "EUR")

    stored = services.get_reservation(priced, "r1")
    assert [(ln.sku, ln.unit_price_cents, ln.currency) for ln in stored.lines] == [
        ("A", 1999, "EUR"),
        ("B", 250, "EUR"),
    ]
    assert domain.total(stored.lines) == (2 * 1999 + 3 * 250, "EUR")
    # The next reservation pays the new price.
    services.reserve(priced, "r2", [Line("A", 1)])
    assert services.get_reservation(priced, "r2").lines[0].unit_price_cents == 2999


def test_a_repeat_matches_on_skus_and_quantities_and_answers_the_first_price(priced):
    services.reserve(priced, "r1", [Line("A", 1)])
    services.set_price(priced, "A", 1, "EUR")

    again = services.reserve(priced, "r1", [Line("A", 1)])
    assert not again.created and again.reservation.lines[0].unit_price_cents == 1999


def test_lines_in_two_currencies_are_one_rejection_and_take_nothing(priced):
    outcome = services.reserve(priced, "r1", [Line("A", 1), Line("Y", 1)])

    assert outcome.reservation.status is ReservationStatus.REJECTED
    assert outcome.reservation.rejection["shortages"] == [
        {"sku": "Y", "requested": 1, "available": 10, "reason": "other_currency"}
    ]
    assert services.get_product(priced, "A").reserved == 0
    assert domain.total(outcome.reservation.lines) is None  # a rejection is not priced


def test_setting_the_price_of_an_unknown_product_is_not_found(priced):
    with pytest.raises(domain.ProductNotFound):
        services.set_price(priced, "NOPE", 100, "EUR")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE products SET price_cents = -1 WHERE sku = 'A'",
        "UPDATE products SET currency = 'eur' WHERE sku = 'A'",
    ],
)
def test_the_schema_refuses_a_negative_price_or_a_malformed_currency(
    priced, inventory_engine, statement
):
    with pytest.raises(IntegrityError), inventory_engine.begin() as conn:
        conn.execute(text(statement))


def test_over_http_products_show_their_price_and_a_reservation_its_lines_prices_and_total(
    settings, inventory_engine
):
    admin, service = bearer("admin"), bearer("service", subject="order-service")
    with serve(create_app(settings)) as url:
        created = requests.post(
            f"{url}/api/v1/products",
            headers=admin,
            json={"sku": "P-1", "name": "p", "on_hand": 5, "price_cents": 1999, "currency": "EUR"},
            timeout=5,
        )
        assert (created.status_code, created.json()["price_cents"], created.json()["currency"]) == (
            201,
            1999,
            "EUR",
        )
        reserved = requests.put(
            f"{url}/api/v1/reservations/res-1",
            headers=service,
            json={"lines": [{"sku": "P-1", "quantity": 2}]},
            timeout=5,
        ).json()
        repriced = requests.put(
            f"{url}/api/v1/products/P-1/price",
            headers=admin,
            json={"price_cents": 2500, "currency": "EUR"},
            timeout=5,
        )
        stored = requests.get(f"{url}/api/v1/reservations/res-1", headers=service, timeout=5)

    assert reserved["lines"] == [
        {"sku": "P-1", "quantity": 2, "unit_price_cents": 1999, "currency": "EUR"}
    ]
    assert reserved["total"] == {"amount_cents": 3998, "currency": "EUR"}
    assert repriced.json()["price_cents"] == 2500
    assert stored.json()["total"] == {"amount_cents": 3998, "currency": "EUR"}
