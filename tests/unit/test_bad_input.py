"""Bad input gets a clear 4xx with a code and per-field messages; it never reaches a database."""

import json

import pytest

from inventory_service.app import create_app as create_inventory
from order_service.app import create_app as create_orders
from shared.config import Settings
from tests.fakes.inventory import FakeInventory
from tests.helpers import authorised, bearer

# Unreachable databases: a test that touched one would fail, which is the point.
SETTINGS = Settings(
    app_env="test",
    orders_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
    inventory_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
    max_body_bytes=4096,
    log_level="WARNING",
)
ITEM = {"sku": "A-1", "quantity": 1}
ADDRESS = {
    "name": "A",
    "line1": "1 Road",
    "city": "Town",
    "postal_code": "AB1 2CD",
    "country": "GB",
}


@pytest.fixture(scope="module")
def orders():
    return authorised(create_orders(SETTINGS, inventory=FakeInventory()).test_client(), "admin")


@pytest.fixture(scope="module")
def inventory():
    return authorised(create_inventory(SETTINGS).test_client(), "admin")


def fields_of(response):
    body = response.get_json()
    assert body["error"]["request_id"]
    return body["error"]["code"], body["error"]["details"].get("fields", {})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": "c"}, "items"),
        ({"customer_id": 5, "items": [ITEM]}, "customer_id"),
        ({"customer_id": "", "items": [ITEM]}, "customer_id"),
        ({"customer_id": "c" * 256, "items": [ITEM]}, "customer_id"),
        ({"customer_id": "c", "items": []}, "items"),
        ({"customer_id": "c", "items": "A-1"}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1"}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": 0}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": -3}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": 1001}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": 10**30}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": 1.5}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": "2"}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "A-1", "quantity": True}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "", "quantity": 1}]}, "items"),
        ({"customer_id": "c", "items": [{"sku": "bad sku!", "quantity": 1}]}, "items"),
        (
            {"customer_id": "c", "items": [{"sku": f"S{i}", "quantity": 1} for i in range(51)]},
            "items",
        ),
        ({"customer_id": "c", "items": [ITEM], "coupon": "FREE"}, "coupon"),
        ({"items": [ITEM], "shipping_address": "London"}, "shipping_address"),
        ({"items": [ITEM], "shipping_address": {**ADDRESS, "country": "UK"}}, "shipping_address"),
        ({"items": [ITEM], "shipping_address": {**ADDRESS, "country": "ZZ"}}, "shipping_address"),
        ({"items": [ITEM], "shipping_address": {**ADDRESS, "name": ""}}, "shipping_address"),
        (
            {"items": [ITEM], "shipping_address": {**ADDRESS, "line1": "x" * 201}},
            "shipping_address",
        ),
        (
            {"items": [ITEM], "shipping_address": {**ADDRESS, "postal_code": "<b>"}},
            "shipping_address",
        ),
        ({"items": [ITEM], "shipping_address": {**ADDRESS, "city": "a\nb"}}, "shipping_address"),
        ({"items": [ITEM], "shipping_address": {**ADDRESS, "floor": 3}}, "shipping_address"),
        ({"items": [ITEM], "shipping_address": {"name": "x"}}, "shipping_address"),
    ],
)
def test_a_malformed_order_is_a_400_naming_the_field(orders, body, field):
    response = orders.post("/api/v1/orders", json=body)

    assert response.status_code == 400
    code, fields = fields_of(response)
    assert code == "VALIDATION_ERROR" and field in fields


@pytest.mark.parametrize("raw", ["{bad", "", "[1, 2]", "null", '"text"'])
def test_a_body_that_is_not_a_json_object_is_a_400(orders, raw):
    response = orders.post("/api/v1/orders", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert fields_of(response)[0] == "VALIDATION_ERROR"


def test_a_body_that_is_not_json_is_a_415(orders):
    response = orders.post("/api/v1/orders", data="customer_id=c", content_type="text/plain")

    assert response.status_code == 415
    assert fields_of(response)[0] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_oversize_body_is_a_413(orders):
    huge = json.dumps({"customer_id": "c" * 10_000, "items": [ITEM]})

    response = orders.post("/api/v1/orders", data=huge, content_type="application/json")

    assert response.status_code == 413
    assert fields_of(response)[0] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_idempotency_key_outside_1_to_255_characters_is_a_400(orders, key):
    response = orders.post(
        "/api/v1/orders",
        json={"customer_id": "c", "items": [ITEM]},
        headers={"Idempotency-Key": key},
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in fields_of(response)[1]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "status=LOST", "cursor=not-a-cursor"]
)
def test_bad_list_parameters_are_a_400(orders, query):
    response = orders.get(f"/api/v1/orders?{query}")

    assert response.status_code == 400


def test_an_order_id_that_is_not_a_uuid_is_a_404_in_the_error_format(orders):
    response = orders.post("/api/v1/orders/123/cancel")

    assert response.status_code == 404
    assert fields_of(response)[0] == "NOT_FOUND"


def test_a_wrong_method_is_a_405_in_the_error_format(orders):
    assert orders.delete("/api/v1/orders").status_code == 405


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/products", {"sku": "A", "name": "x", "on_hand": -1}),
        ("/api/v1/products", {"sku": "A", "name": "", "on_hand": 1}),
        ("/api/v1/products/A/restock", {"quantity": 0}),
        ("/api/v1/products/A/restock", {"quantity": "5"}),
    ],
)
def test_bad_stock_changes_are_a_400(inventory, path, body):
    response = inventory.post(path, json=body)

    assert response.status_code == 400
    assert fields_of(response)[0] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"lines": [{"sku": "A", "quantity": 0}]},
        {"lines": [{"sku": "A", "quantity": 20_000_001}]},  # fifty of them would overflow
        {},
    ],
)
def test_bad_reservations_are_a_400(inventory, body):
    response = inventory.put("/api/v1/reservations/r-1", json=body, headers=bearer("service"))

    assert response.status_code == 400


def test_a_reservation_id_with_odd_characters_is_a_400(inventory):
    response = inventory.put(
        "/api/v1/reservations/a.b",
        json={"lines": [{"sku": "A", "quantity": 1}]},
        headers=bearer("service"),
    )

    assert response.status_code == 400


def test_both_services_publish_an_openapi_document_from_their_schemas(orders, inventory):
    order_doc = orders.get("/openapi.json").get_json()
    inventory_doc = inventory.get("/openapi.json").get_json()

    assert "/api/v1/orders" in order_doc["paths"]
    assert "OrderCreate" in order_doc["components"]["schemas"]
    assert "/api/v1/reservations/{reservation_id}" in inventory_doc["paths"]
    assert orders.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "post",
            "/api/v1/products",
            {"sku": "A", "name": "x", "on_hand": 1, "price_cents": -1},
            "price_cents",
        ),
        (
            "post",
            "/api/v1/products",
            {"sku": "A", "name": "x", "on_hand": 1, "price_cents": 19.99},
            "price_cents",
        ),
        (
            "post",
            "/api/v1/products",
            {"sku": "A", "name": "x", "on_hand": 1, "currency": "eur"},
            "currency",
        ),
        (
            "post",
            "/api/v1/products",
            {"sku": "A", "name": "x", "on_hand": 1, "currency": "DEM"},
            "currency",
        ),
        ("put", "/api/v1/products/A/price", {"price_cents": 100}, "currency"),
        (
            "put",
            "/api/v1/products/A/price",
            {"price_cents": 10**16, "currency": "EUR"},
            "price_cents",
        ),
        (
            "put",
            "/api/v1/products/A/price",
            {"price_cents": "100", "currency": "EUR"},
            "price_cents",
        ),
    ],
)
def test_bad_prices_are_a_400_naming_the_field(inventory, method, path, body, field):
    response = getattr(inventory, method)(path, json=body)

    assert response.status_code == 400
    assert fields_of(response) == ("VALIDATION_ERROR", {field: fields_of(response)[1][field]})


def test_only_an_admin_sets_a_price():
    customer = authorised(create_inventory(SETTINGS).test_client(), "customer")
    response = customer.put("/api/v1/products/A/price", json={"price_cents": 1, "currency": "EUR"})
    assert response.status_code == 403
