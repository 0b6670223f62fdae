"""One contract, two implementations: the fake used by fast tests must behave like the real thing.

The real side is the HTTP adapter talking to the inventory app served on 127.0.0.1 with a real
database behind it.
"""

from functools import partial

import pytest
import requests

from inventory_service import services as stock_services
from inventory_service.app import create_app
from inventory_service.repository import UnitOfWork
from order_service.bootstrap import build_issuer
from order_service.domain import OrderLine
from order_service.inventory import InventoryRefused, InventoryUnavailable, ReservationState
from order_service.inventory.http import HttpInventory
from shared.auth.tokens import ServiceTokens
from shared.resilience.failures import Reason
from tests.fakes.inventory import FakeInventory
from tests.helpers import bearer, serve


@pytest.fixture
def served_inventory(settings, inventory_engine):
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(params=["fake", "http"])
def port(request):
    """An inventory port holding product A with 5 units at 19.99 EUR."""
    if request.param == "fake":
        yield FakeInventory(stock={"A": 5}, prices={"A": (1999, "EUR")})
        return
    url = request.getfixturevalue("served_inventory")
    engine = request.getfixturevalue("inventory_engine")
    stock_services.create_product(partial(UnitOfWork, engine), "A", "a", 5, 1999, "EUR")
    settings = request.getfixturevalue("settings")
    client = HttpInventory(
        url,
        connect_timeout_s=1,
        read_timeout_s=5,
        token=ServiceTokens(build_issuer(settings)),  # the order service's own identity
    )
    yield client
    client.session.close()


def test_reserve_within_stock_is_reserved_and_repeatable(port):
    assert port.reserve("r1", [OrderLine("A", 2)]).state is ReservationState.RESERVED
    assert port.reserve("r1", [OrderLine("A", 2)]).state is ReservationState.RESERVED


def test_reserve_beyond_stock_is_rejected_with_shortages(port):
    reply = port.reserve("r1", [OrderLine("A", 6)])

    assert reply.state is ReservationState.REJECTED
    assert reply.shortages == [
        {"sku": "A", "requested": 6, "available": 5, "reason": "insufficient_stock"}
    ]


def test_an_unknown_sku_is_rejected_as_unknown(port):
    reply = port.reserve("r1", [OrderLine("NOPE", 1)])

    assert reply.state is ReservationState.REJECTED
    assert reply.shortages[0]["reason"] == "unknown_sku"


def test_the_same_id_with_other_lines_is_refused(port):
    port.reserve("r1", [OrderLine("A", 2)])

    with pytest.raises(InventoryRefused) as refused:
        port.reserve("r1", [OrderLine("A", 3)])
    assert (refused.value.status, refused.value.code) == (422, "RESERVATION_MISMATCH")


def test_release_before_reserve_makes_the_reserve_a_no_op(port):
    assert port.release("r1").state is ReservationState.RELEASED
    assert port.reserve("r1", [OrderLine("A", 2)]).state is ReservationState.RELEASED
    assert port.reserve("r2", [OrderLine("A", 5)]).state is ReservationState.RESERVED


def test_commit_is_idempotent_and_final(port):
    port.reserve("r1", [OrderLine("A", 2)])

    assert port.commit("r1").state is ReservationState.COMMITTED
    assert port.commit("r1").state is ReservationState.COMMITTED
    with pytest.raises(InventoryRefused) as refused:
        port.release("r1")
    assert refused.value.code == "INVALID_TRANSITION"


def test_commit_of_an_unknown_reservation_is_refused_as_not_found(port):
    with pytest.raises(InventoryRefused) as refused:
        port.commit("nope")
    assert refused.value.status == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("customer", "c-1"),
        bearer("admin", "ops"),
        bearer("service", audience="orders-api"),
    ],
    ids=["anonymous", "customer", "admin", "service-token-for-another-audience"],
)
@pytest.mark.parametrize("command", ["release", "commit"])
def test_only_the_order_services_token_moves_reserved_stock(
    served_inventory, inventory_engine, settings, headers, command
):
    # The attack: release someone's reservation straight at inventory, then have it shipped.
    stock_services.create_product(partial(UnitOfWork, inventory_engine), "A", "a", 5)
    owner = HttpInventory(
        served_inventory,
        connect_timeout_s=1,
        read_timeout_s=5,
        token=ServiceTokens(build_issuer(settings)),
    )
    owner.reserve("victim", [OrderLine("A", 2)])

    response = requests.post(
        f"{served_inventory}/api/v1/reservations/victim/{command}", headers=headers, timeout=5
    )

    assert response.status_code in (401, 403)
    assert owner.reserve("victim", [OrderLine("A", 2)]).state is ReservationState.RESERVED
    owner.session.close()


def test_without_its_token_the_order_service_hears_unauthorised_not_rejected(served_inventory):
    client = HttpInventory(served_inventory, connect_timeout_s=1, read_timeout_s=5)

    with pytest.raises(InventoryUnavailable) as refused:
        client.reserve("r1", [OrderLine("A", 1)])

    assert refused.value.reason is Reason.UNAUTHORISED
    client.session.close()


def test_a_reservation_answers_the_price_each_line_was_reserved_at_and_a_repeat_the_same(port):
    first = port.reserve("r-price", [OrderLine("A", 2)])
    again = port.reserve("r-price", [OrderLine("A", 2)])

    assert first.prices == again.prices == {"A": (1999, "EUR")}
