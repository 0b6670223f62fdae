"""Inputs that used to reach the database or the JSON parser and come back as a 500.

Each is a regression test on real PostgreSQL: the answer is a 4xx with a machine-readable code
(and the field, where there is one), and nothing was written.
"""

import pytest
from sqlalchemy import func, select, text

from inventory_service.app import create_app as create_inventory
from inventory_service.schemas import MAX_STOCK
from inventory_service.tables import products
from order_service.app import create_app as create_orders
from order_service.tables import orders as orders_table
from order_service.tables import users
from tests.fakes.inventory import FakeInventory
from tests.helpers import authorised

SKU_64 = "S" * 64
ITEM = {"sku": "A-1", "quantity": 1}


@pytest.fixture
def orders(settings, orders_engine):
    app = create_orders(settings, inventory=FakeInventory())
    yield authorised(app.test_client(), "admin")
    app.extensions["engine"].dispose()


@pytest.fixture
def customer_app(settings, orders_engine):
    app = create_orders(settings, inventory=FakeInventory())
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def inventory(settings, inventory_engine):
    app = create_inventory(settings)
    yield authorised(app.test_client(), "admin")
    app.extensions["engine"].dispose()


def refused(response, status=400, code="VALIDATION_ERROR", field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in error["details"]["fields"], error
    return error


def order_count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(orders_table)).scalar_one()


HOSTILE_TEXT = {
    "nul": "c\x00d",
    "control": "c\x01d",
    "escape": "c\x1b[31m",
    "delete": "c\x7f",
    "lone_surrogate": "c\ud800",
    "newline": "c\n",
}


@pytest.mark.parametrize("value", HOSTILE_TEXT.values(), ids=HOSTILE_TEXT.keys())
def test_control_characters_in_a_customer_id_are_refused(orders, orders_engine, value):
    response = orders.post("/api/v1/orders", json={"customer_id": value, "items": [ITEM]})

    refused(response, field="customer_id")
    assert order_count(orders_engine) == 0


@pytest.mark.parametrize("raw", ["a%00b", "a%01b", "a%1B%5B2J", "a%C2%9Bb"])
def test_control_characters_in_a_query_string_are_refused(orders, raw):
    refused(orders.get(f"/api/v1/orders?customer_id={raw}"), field="customer_id")


@pytest.mark.parametrize("value", [SKU_64 + "\n", "A\x00", "A\n"])
def test_a_sku_must_match_whole_in_orders(orders, orders_engine, value):
    response = orders.post("/api/v1/orders", json={"items": [{"sku": value, "quantity": 1}]})

    refused(response, field="items")
    assert order_count(orders_engine) == 0


@pytest.mark.parametrize("value", [SKU_64 + "\n", "A\x00", "A\n"])
def test_a_sku_must_match_whole_in_inventory(inventory, inventory_engine, value):
    response = inventory.post("/api/v1/products", json={"sku": value, "name": "n", "on_hand": 1})

    refused(response, field="sku")
    with inventory_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == 0


@pytest.mark.parametrize("path", ["A%00", SKU_64 + "%0A", "S" * 65, "A%01B"])
def test_a_sku_in_the_path_is_checked_before_the_database(inventory, path):
    refused(inventory.get(f"/api/v1/products/{path}"), field="sku")
    refused(inventory.post(f"/api/v1/products/{path}/restock", json={"quantity": 1}), field="sku")


@pytest.mark.parametrize("path", ["r%00", "r" * 64 + "%0A"])
def test_a_reservation_id_in_the_path_must_match_whole(inventory, path):
    refused(inventory.get(f"/api/v1/reservations/{path}"), field="id")


@pytest.mark.parametrize("value", ["n\x00", "n\x07", "n\ud800"])
def test_a_product_name_refuses_control_characters(inventory, value):
    response = inventory.post("/api/v1/products", json={"sku": "A", "name": value, "on_hand": 1})

    refused(response, field="name")


@pytest.mark.parametrize("key", ["k\x01", "k\x7f"])
def test_an_idempotency_key_refuses_control_characters(orders, key):
    response = orders.post(
        "/api/v1/orders", json={"items": [ITEM]}, headers={"Idempotency-Key": key}
    )

    refused(response, field="Idempotency-Key")


def test_a_signup_with_a_nul_in_the_email_is_refused(customer_app, orders_engine):
    client = customer_app.test_client()
    body = {"email": "a\x00b@example.com", "password": "long-enough-password"}

    refused(client.post("/api/v1/auth/signup", json=body), field="email")
    refused(client.post("/api/v1/auth/login", json=body), field="email")
    with orders_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0


@pytest.mark.parametrize("depth", [33, 1_000, 10_000])
def test_deeply_nested_json_is_a_400(orders, depth):
    for body in ("[" * depth + "]" * depth, '{"items": ' + "[" * depth + "]" * depth + "}"):
        response = orders.post("/api/v1/orders", data=body, content_type="application/json")

        refused(response, field="body")


def test_nesting_inside_strings_does_not_count(orders):
    # Brackets inside a string are text, not depth.
    response = orders.post("/api/v1/orders", json={"customer_id": "[" * 200, "items": [ITEM]})

    # Parsed and judged on its merits (the fake inventory knows no sku), not refused as deep.
    assert response.status_code in (201, 422), response.get_data(as_text=True)


def test_restocking_past_the_stock_limit_is_refused_with_the_limit(inventory):
    inventory.post("/api/v1/products", json={"sku": "A", "name": "a", "on_hand": MAX_STOCK})
    for _ in range(3):  # three times the limit would overflow the INTEGER column
        response = inventory.post("/api/v1/products/A/restock", json={"quantity": MAX_STOCK})
        error = refused(response, status=409, code="STOCK_LIMIT")

    assert str(MAX_STOCK) in error["message"]
    assert inventory.get("/api/v1/products/A").get_json()["on_hand"] == MAX_STOCK


def test_a_database_data_error_is_a_400_not_a_500(settings, inventory_engine):
    # A last line of defence: a value the schemas let through but the column refuses.
    app = create_inventory(settings)

    @app.get("/probe-data-error")
    def _probe():
        with app.extensions["engine"].connect() as conn:
            conn.execute(text("SELECT CAST(:v AS integer)"), {"v": "not a number"})
        return {}

    error = refused(app.test_client().get("/probe-data-error"), code="INVALID_VALUE")
    assert "not a number" not in error["message"]  # the parameter is not echoed back
    app.extensions["engine"].dispose()


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "BREW"])
def test_an_unknown_method_is_refused_and_never_becomes_a_metric_label(orders, method):
    refused(orders.open("/api/v1/orders", method=method), status=405, code="METHOD_NOT_ALLOWED")

    metrics = orders.get("/metrics").get_data(as_text=True)
    assert "flask_http_request_total" in metrics or "flask_http_request_duration" in metrics
    assert f'method="{method}"' not in metrics
