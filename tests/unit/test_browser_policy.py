"""What the APIs tell browsers: CORS from the allow-list only, and the security headers."""

from __future__ import annotations

import pytest

from inventory_service.app import create_app as create_inventory
from order_service.app import create_app as create_orders
from shared.config import Settings, load_settings
from tests.fakes.inventory import FakeInventory
from tests.unit.test_production_mode import SAFE_PRODUCTION

SHOP = "https://shop.example.com"


def build(service, settings):
    if service == "orders":
        return create_orders(settings, inventory=FakeInventory())
    return create_inventory(settings)


@pytest.fixture(params=["orders", "inventory"])
def client(request):
    app = build(request.param, Settings(app_env="test", cors_origins=SHOP))
    yield app.test_client()
    app.extensions["engine"].dispose()


def test_a_page_of_an_allowed_origin_may_call_the_api(client):
    preflight = client.options(
        "/api/v1/products",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Idempotency-Key".lower() in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers  # bearer, not cookies


def test_any_other_origin_is_told_nothing(client):
    answer = client.get("/health/live", headers={"Origin": "https://evil.example"})
    preflight = client.options(
        "/api/v1/products",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_every_answer_carries_the_security_headers_and_json_may_load_nothing(client):
    answer = client.get("/health/live")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Strict-Transport-Security" not in answer.headers  # not behind TLS outside production
    docs = client.get("/docs")
    assert "Content-Security-Policy" not in docs.headers  # Swagger UI needs its scripts


def test_behind_tls_in_production_browsers_are_told_to_stay_on_https():
    app = build("inventory", load_settings(SAFE_PRODUCTION))
    try:
        answer = app.test_client().get("/health/live")
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        app.extensions["engine"].dispose()


def test_without_an_allow_list_no_origin_may_call():
    orders = create_orders(Settings(app_env="test"), inventory=FakeInventory())
    try:
        answer = orders.test_client().options(
            "/api/v1/orders",
            headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"},
        )
        assert "Access-Control-Allow-Origin" not in answer.headers
    finally:
        orders.extensions["engine"].dispose()


@pytest.mark.parametrize(
    ("environment", "served"),
    [({}, False), ({"API_DOCS": "true"}, True)],
    ids=["production", "production, asked for"],
)
def test_production_serves_no_map_of_its_routes_unless_asked(environment, served):
    app = build("inventory", load_settings({**SAFE_PRODUCTION, **environment}))
    try:
        client = app.test_client()
        codes = {client.get(path).status_code for path in ("/openapi.json", "/docs")}
        assert codes == ({200} if served else {404})
    finally:
        app.extensions["engine"].dispose()


def test_development_serves_the_documents():
    app = build("orders", Settings(app_env="development"))
    try:
        assert app.test_client().get("/openapi.json").status_code == 200
    finally:
        app.extensions["engine"].dispose()
