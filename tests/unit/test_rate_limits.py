"""The per-customer limit on placing orders answers 429 RATE_LIMITED with Retry-After."""

from order_service.app import create_app
from shared.config import Settings
from tests.fakes.inventory import FakeInventory
from tests.helpers import bearer

SETTINGS = Settings(
    orders_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
    rate_limit_orders_per_customer="2/minute",
    log_level="WARNING",
)
BODY = {"items": [{"sku": "A-1", "quantity": 1}]}


def test_a_customer_over_its_order_limit_is_told_when_to_come_back():
    client = create_app(SETTINGS, inventory=FakeInventory()).test_client()
    alice, bob = bearer("customer", "alice"), bearer("customer", "bob")

    # Counted before any work: the database being away here does not matter (503 twice).
    statuses = [client.post("/api/v1/orders", json=BODY, headers=alice).status_code for _ in "xyz"]
    limited = client.post("/api/v1/orders", json=BODY, headers=alice)
    other = client.post("/api/v1/orders", json=BODY, headers=bob)

    assert statuses[2] == 429 and limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert other.status_code != 429  # the limit is per customer
